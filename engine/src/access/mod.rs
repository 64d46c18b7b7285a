//! Access: API keys (hashed at rest, scoped, revocable, counted), per-key rate limits, and the
//! admin token that gates operator routes.

mod ratelimit;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub(crate) use ratelimit::{Admission, RateLimiter};

use crate::error::{Error, ErrorKind, Result};

/// The scopes a key can hold.
pub const SCOPES: [&str; 4] = ["respond", "admin", "ingest", "trace"];
/// The scope a key gets when none is asked for.
pub const DEFAULT_SCOPE: &str = "respond";

const KEY_PREFIX: &str = "pk_live_";

/// An API key as listed: everything but the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    /// The 8 hex characters after `pk_live_`: the key's public id.
    pub prefix: String,
    /// The tenant the key belongs to.
    pub tenant_id: String,
    /// The operator's note on where the key lives.
    pub label: String,
    /// Granted scopes (`respond`, `admin`, `ingest`, `trace`).
    pub scopes: Vec<String>,
    /// Per-key requests-per-minute override of the plan's limit.
    pub rate_limit_rpm: Option<u32>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last authenticated call.
    pub last_used_at: Option<i64>,
    /// Lifetime count of authenticated calls.
    pub call_count: u64,
    /// Unix milliseconds; revoked keys stay listed for audit.
    pub revoked_at: Option<i64>,
}

/// A newly issued key: the plaintext is here once and never stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuedKey {
    /// `pk_live_<8 hex>_<48 hex>`: show it once, then forget it.
    pub api_key: String,
    /// The key's listing.
    pub key: ApiKeyInfo,
}

/// The rate-limit state a response reports (`X-RateLimit-*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Requests allowed per window (minute).
    pub limit: u32,
    /// Requests left in the current window.
    pub remaining: u32,
    /// Unix seconds when the window resets.
    pub reset: u64,
}

/// Hex of SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares in time independent of where the inputs differ.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("the operating system's random source failed: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// A fresh key from the OS CSPRNG: (prefix, plaintext).
pub(crate) fn generate_key() -> Result<(String, String)> {
    let prefix = random_hex(4)?;
    let secret = random_hex(24)?;
    let key = format!("{KEY_PREFIX}{prefix}_{secret}");
    Ok((prefix, key))
}

/// Checks requested scopes; empty means the default.
pub(crate) fn normalize_scopes(scopes: &[&str]) -> Result<Vec<String>> {
    if scopes.is_empty() {
        return Ok(vec![DEFAULT_SCOPE.to_string()]);
    }
    let mut out: Vec<String> = Vec::new();
    for s in scopes {
        // `tools:<namespace>` narrows the tools a key's turns may run (e.g. `tools:kb`).
        let tool_scope = s.strip_prefix("tools:").is_some_and(|ns| !ns.is_empty() && ns.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        if !SCOPES.contains(s) && !tool_scope {
            return Err(Error::bad_request(format!("unknown scope {s:?}; valid scopes: {}, tools:<namespace>", SCOPES.join(", "))));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

/// The credential of an `Authorization` header value.
#[derive(Debug, PartialEq)]
pub(crate) enum Bearer<'a> {
    /// `Bearer pk_live_<prefix>_<secret>`.
    Key { prefix: &'a str, key: &'a str },
    /// Any other bearer token (checked against the admin token).
    Token(&'a str),
}

/// Parses `Bearer <token>`.
///
/// # Errors
/// `Unauthorized` for a missing header, another scheme, or a `pk_live_` token of the wrong shape.
pub(crate) fn parse_authorization(header: Option<&str>) -> Result<Bearer<'_>> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or_else(|| {
        Error::new(ErrorKind::Unauthorized, "missing Authorization header: send `Authorization: Bearer pk_live_...`")
    })?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::new(ErrorKind::Unauthorized, "malformed Authorization header: expected `Bearer <token>`"))?;
    let Some(rest) = token.strip_prefix(KEY_PREFIX) else {
        return Ok(Bearer::Token(token));
    };
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match rest.split_once('_') {
        Some((prefix, secret)) if hex(prefix, 8) && hex(secret, 48) => Ok(Bearer::Key { prefix, key: token }),
        _ => Err(Error::new(
            ErrorKind::Unauthorized,
            "malformed API key: expected pk_live_ followed by 8 hex characters, '_' and 48 hex characters",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_reference_format_and_parse_back() {
        let (prefix, key) = generate_key().unwrap();
        assert_eq!(key.len(), "pk_live_".len() + 8 + 1 + 48);
        assert_eq!(parse_authorization(Some(&format!("Bearer {key}"))).unwrap(), Bearer::Key { prefix: &prefix, key: &key });
        assert_ne!(generate_key().unwrap().1, key);
    }

    #[test]
    fn malformed_headers_are_unauthorized() {
        for h in [None, Some(""), Some("Basic abc"), Some("Bearer "), Some("Bearer pk_live_1234"), Some("Bearer pk_live_ABCDEF12_00")] {
            let e = parse_authorization(h).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unauthorized, "{h:?}");
        }
        assert_eq!(parse_authorization(Some("Bearer admin-secret")).unwrap(), Bearer::Token("admin-secret"));
    }

    #[test]
    fn scopes_default_and_are_checked() {
        assert_eq!(normalize_scopes(&[]).unwrap(), vec!["respond"]);
        assert_eq!(normalize_scopes(&["trace", "trace", "respond"]).unwrap(), vec!["trace", "respond"]);
        assert!(normalize_scopes(&["root"]).unwrap_err().to_string().contains("valid scopes"));
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"ab", b"abc"));
    }
}
