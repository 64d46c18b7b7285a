//! A tenant's catalog: products, bundles, services, listings and plans with prices.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One thing a tenant sells or books.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogItem {
    /// Unique id within the tenant.
    pub sku: String,
    /// The name a customer uses.
    pub name: String,
    /// `product`, `bundle`, `service`, `listing` or `plan`.
    #[serde(rename = "type", default = "default_type")]
    pub item_type: String,
    /// A grouping such as `bundles` or `menu`.
    #[serde(default)]
    pub category: String,
    /// Price in the tenant's currency.
    pub price: f64,
    /// What the price is for ("each", "per month", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Units in stock (none for services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<i64>,
    /// Length of a service, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<i64>,
    /// One to three sentences.
    #[serde(default)]
    pub description: String,
    /// Search tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free-form attributes (theme, serves, sizes, bedrooms, ...).
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeValue>,
}

/// A catalog attribute: text or a number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// An integer such as `serves = 12`.
    Int(i64),
    /// A number such as `weight_kg = 1.5`.
    Float(f64),
    /// Text such as `theme = "unicorn"`.
    Text(String),
}

impl std::fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttributeValue::Int(i) => write!(f, "{i}"),
            AttributeValue::Float(x) => write!(f, "{x}"),
            AttributeValue::Text(s) => f.write_str(s),
        }
    }
}

fn default_type() -> String {
    "product".to_string()
}

impl CatalogItem {
    /// Checks the fields every reply relies on.
    ///
    /// # Errors
    /// `BadRequest` naming the item and the field.
    pub fn validate(&self) -> Result<()> {
        if self.sku.trim().is_empty() {
            return Err(Error::bad_request(format!("catalog item {:?} has an empty `sku`", self.name)));
        }
        if self.name.trim().is_empty() {
            return Err(Error::bad_request(format!("catalog item {} has an empty `name`", self.sku)));
        }
        if !self.price.is_finite() || self.price < 0.0 {
            return Err(Error::bad_request(format!(
                "catalog item {} has an invalid `price` {} (a non-negative number is required)",
                self.sku, self.price
            )));
        }
        Ok(())
    }

    /// The text indexed for retrieval: name, type, category, description, tags and attributes.
    pub fn search_text(&self) -> String {
        let mut s = format!("{}. {} {}. {}", self.name, self.item_type, self.category, self.description);
        if !self.tags.is_empty() {
            s.push_str(&format!(" Tags: {}.", self.tags.join(", ")));
        }
        for (k, v) in &self.attributes {
            s.push_str(&format!(" {}: {v}.", k.replace('_', " ")));
        }
        s
    }
}

/// Formats a price in `currency` the way replies print it: `$89.00`, `€55.00`, `£12.50`, else
/// `12.50 CHF`.
pub fn format_price(amount: f64, currency: &str) -> String {
    match currency {
        "USD" | "" => format!("${amount:.2}"),
        "EUR" => format!("€{amount:.2}"),
        "GBP" => format!("£{amount:.2}"),
        other => format!("{amount:.2} {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_print_with_two_decimals_and_symbol() {
        assert_eq!(format_price(89.0, "USD"), "$89.00");
        assert_eq!(format_price(7.5, "EUR"), "€7.50");
        assert_eq!(format_price(12.0, "CHF"), "12.00 CHF");
    }
}
