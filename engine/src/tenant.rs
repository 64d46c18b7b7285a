//! Tenants: the businesses an engine serves. Each owns a persona, a knowledge base, a catalog, a
//! tool config and a plan.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A tenant's plan; it sets the per-key rate limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// 60 requests per minute per key.
    #[default]
    Starter,
    /// 600 requests per minute per key.
    Pro,
    /// 6,000 requests per minute per key.
    Enterprise,
}

impl Plan {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Starter => "starter",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    /// Requests per minute per API key.
    pub fn requests_per_minute(self) -> u32 {
        match self {
            Plan::Starter => 60,
            Plan::Pro => 600,
            Plan::Enterprise => 6000,
        }
    }

    /// Parses `starter`, `pro` or `enterprise`.
    ///
    /// # Errors
    /// `BadRequest` naming the valid plans.
    pub fn parse(s: &str) -> Result<Plan> {
        match s {
            "starter" => Ok(Plan::Starter),
            "pro" => Ok(Plan::Pro),
            "enterprise" => Ok(Plan::Enterprise),
            _ => Err(Error::bad_request(format!("unknown plan {s:?}; valid plans: starter, pro, enterprise"))),
        }
    }
}

/// A tenant as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    /// Stable id: 1-64 characters of `a-z`, `0-9`, `-`, `_`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Plan.
    pub plan: Plan,
    /// The applied vertical's key, if any.
    pub vertical_key: Option<String>,
    /// The applied vertical's version, if any.
    pub vertical_version: Option<u32>,
    /// The persona's assistant name, if a persona is set.
    pub assistant_name: Option<String>,
    /// Counts of what the tenant owns.
    pub documents: u64,
    /// Counts of what the tenant owns.
    pub catalog_items: u64,
    /// Unix seconds.
    pub created_at: i64,
}

/// Checks a tenant id.
///
/// # Errors
/// `BadRequest` saying which characters are allowed.
pub fn validate_tenant_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "tenant id {id:?} is invalid: use 1-64 characters of a-z, 0-9, '-' and '_'"
        )))
    }
}
