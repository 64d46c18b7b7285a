//! Built-in marketplace verticals: versioned packs of persona, knowledge base, catalog and tool
//! config, embedded in the crate from `engine/verticals/*.toml`.

use serde::{Deserialize, Serialize};

use crate::catalog::CatalogItem;
use crate::error::{Error, Result};
use crate::persona::Persona;

/// The embedded packs: (key, TOML text).
const PACKS: &[(&str, &str)] = &[
    ("party_supplies", include_str!("../verticals/party_supplies.toml")),
    ("restaurant", include_str!("../verticals/restaurant.toml")),
    ("salon_spa", include_str!("../verticals/salon_spa.toml")),
    ("dental_clinic", include_str!("../verticals/dental_clinic.toml")),
    ("real_estate", include_str!("../verticals/real_estate.toml")),
    ("fashion_store", include_str!("../verticals/fashion_store.toml")),
    ("saas_support", include_str!("../verticals/saas_support.toml")),
];

/// A vertical pack: everything a tenant needs to start answering customers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerticalPack {
    /// Stable key (`party_supplies`).
    pub key: String,
    /// Content version; re-applying a newer version updates a tenant.
    pub version: u32,
    /// Display name.
    pub name: String,
    /// `commerce` or `services`.
    pub kind: String,
    /// One sentence.
    pub summary: String,
    /// ISO 4217 currency of every price.
    pub currency: String,
    /// The persona (`[persona]` table; `tools.enabled` becomes its allowlist).
    pub persona: Persona,
    /// Tool configuration.
    #[serde(default)]
    pub tools: ToolConfig,
    /// Knowledge base documents.
    #[serde(default)]
    pub documents: Vec<Document>,
    /// Catalog.
    #[serde(default)]
    pub catalog: Vec<CatalogItem>,
    /// Labelled questions with substrings their answers must contain (used as end-to-end tests).
    #[serde(default)]
    pub examples: Vec<Example>,
}

/// Which tools a persona may call, and their settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolConfig {
    /// Enabled tool names.
    #[serde(default)]
    pub enabled: Vec<String>,
    /// Booking settings for services verticals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking: Option<toml::Table>,
}

/// A knowledge base document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Unique within the tenant.
    pub id: String,
    /// Title.
    pub title: String,
    /// Markdown or plain text.
    pub body: String,
}

/// A labelled question of a pack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// What a customer asks.
    pub question: String,
    /// Substrings the reply must contain (case-insensitive).
    pub expect: Vec<String>,
    /// hours, location, contact, policy, price, stock, service, faq.
    pub topic: String,
}

/// One line of `brain marketplace list`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerticalInfo {
    /// Key to apply.
    pub key: String,
    /// Version.
    pub version: u32,
    /// Display name.
    pub name: String,
    /// `commerce` or `services`.
    pub kind: String,
    /// One sentence.
    pub summary: String,
    /// Assistant name.
    pub assistant_name: String,
    /// Counts.
    pub documents: usize,
    /// Counts.
    pub catalog_items: usize,
}

impl VerticalPack {
    /// Parses and validates a pack from TOML.
    ///
    /// # Errors
    /// `BadRequest` with the parser's message or the first invalid field.
    pub fn from_toml_str(text: &str) -> Result<VerticalPack> {
        let mut pack: VerticalPack =
            toml::from_str(text).map_err(|e| Error::bad_request(format!("vertical pack TOML is invalid: {e}")))?;
        pack.persona.validate()?;
        if pack.persona.tools.is_empty() {
            pack.persona.tools = pack.tools.enabled.clone();
        }
        let mut ids = std::collections::HashSet::new();
        for d in &pack.documents {
            if !ids.insert(d.id.as_str()) {
                return Err(Error::bad_request(format!("pack {}: duplicate document id {}", pack.key, d.id)));
            }
        }
        let mut skus = std::collections::HashSet::new();
        for c in &pack.catalog {
            c.validate()?;
            if !skus.insert(c.sku.as_str()) {
                return Err(Error::bad_request(format!("pack {}: duplicate sku {}", pack.key, c.sku)));
            }
        }
        Ok(pack)
    }

    /// The built-in pack named `key`.
    ///
    /// # Errors
    /// `NotFound` naming the valid keys.
    pub fn builtin(key: &str) -> Result<VerticalPack> {
        match PACKS.iter().find(|(k, _)| *k == key) {
            Some((_, text)) => VerticalPack::from_toml_str(text),
            None => Err(Error::not_found(format!(
                "unknown vertical {key:?}; valid keys: {}",
                builtin_keys().join(", ")
            ))),
        }
    }

    /// A summary for listings.
    pub fn info(&self) -> VerticalInfo {
        VerticalInfo {
            key: self.key.clone(),
            version: self.version,
            name: self.name.clone(),
            kind: self.kind.clone(),
            summary: self.summary.clone(),
            assistant_name: self.persona.assistant_name.clone(),
            documents: self.documents.len(),
            catalog_items: self.catalog.len(),
        }
    }
}

/// Keys of the built-in verticals.
pub fn builtin_keys() -> Vec<&'static str> {
    PACKS.iter().map(|(k, _)| *k).collect()
}

/// All built-in verticals.
///
/// # Errors
/// `Internal` if an embedded pack fails to parse (a packaging bug, caught by the tests).
pub fn builtin_verticals() -> Result<Vec<VerticalInfo>> {
    PACKS
        .iter()
        .map(|(k, _)| {
            VerticalPack::builtin(k)
                .map(|p| p.info())
                .map_err(|e| Error::internal(format!("embedded vertical {k} is invalid: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_pack_parses_and_meets_the_content_bar() {
        for key in builtin_keys() {
            let p = VerticalPack::builtin(key).unwrap();
            assert_eq!(p.key, key);
            assert!(p.documents.len() >= 15, "{key}: {} documents", p.documents.len());
            let min_items = if p.kind == "commerce" { 20 } else { 10 };
            assert!(p.catalog.len() >= min_items, "{key}: {} items", p.catalog.len());
            assert!(p.examples.len() >= 15, "{key}: {} examples", p.examples.len());
            assert!(!p.persona.tools.is_empty(), "{key}: no tools");
            if p.kind == "services" {
                assert!(p.catalog.iter().any(|c| c.duration_minutes.is_some()), "{key}: no service durations");
            } else {
                assert!(p.catalog.iter().all(|c| c.stock.is_some()), "{key}: commerce items need stock");
            }
        }
    }

    #[test]
    fn unknown_vertical_names_the_valid_keys() {
        let e = VerticalPack::builtin("bakery").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
        assert!(e.to_string().contains("party_supplies"), "{e}");
    }
}
