//! API key rows, dedup rows and trace housekeeping.

use rusqlite::{OptionalExtension, params};

use super::{Store, now_millis};
use crate::access::ApiKeyInfo;
use crate::error::Result;

/// A key as stored: everything but the plaintext, which is never stored.
#[derive(Clone, Debug)]
pub(crate) struct KeyRow {
    pub info: ApiKeyInfo,
    pub secret_hash: String,
}

/// What claiming a dedup key found.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Claim {
    /// This request owns the key: run the turn.
    Claimed,
    /// A previous request finished: its request hash and exact response JSON.
    Done { request_hash: String, response_json: String },
    /// Another request with this key is running.
    Pending { request_hash: String },
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    let scopes: String = r.get(3)?;
    Ok(KeyRow {
        info: ApiKeyInfo {
            prefix: r.get(0)?,
            tenant_id: r.get(1)?,
            label: r.get(2)?,
            scopes: scopes.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            rate_limit_rpm: r.get::<_, Option<i64>>(5)?.map(|v| v as u32),
            created_at: r.get(6)?,
            last_used_at: r.get(7)?,
            call_count: r.get::<_, i64>(8)? as u64,
            revoked_at: r.get(9)?,
        },
        secret_hash: r.get(4)?,
    })
}

const KEY_COLUMNS: &str =
    "prefix, tenant_id, label, scopes, secret_hash, rpm_override, created_at, last_used_at, call_count, revoked_at";

impl Store {
    /// Inserts a key; `false` if the prefix is taken (the caller draws another).
    pub(crate) fn insert_key(&self, row: &KeyRow) -> Result<bool> {
        let i = &row.info;
        self.write(|tx| {
            let n = tx.execute(
                "INSERT OR IGNORE INTO api_keys (prefix, tenant_id, label, scopes, secret_hash, rpm_override, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![i.prefix, i.tenant_id, i.label, i.scopes.join(","), row.secret_hash, i.rate_limit_rpm, i.created_at],
            )?;
            Ok(n == 1)
        })
    }

    pub(crate) fn key(&self, prefix: &str) -> Result<Option<KeyRow>> {
        self.with(|c| {
            Ok(c.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE prefix = ?1"))?
                .query_row([prefix], key_row)
                .optional()?)
        })
    }

    pub(crate) fn keys(&self, tenant: Option<&str>) -> Result<Vec<ApiKeyInfo>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {KEY_COLUMNS} FROM api_keys WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY tenant_id, created_at, prefix"
            ))?;
            let rows = st.query_map([tenant], key_row)?;
            Ok(rows.map(|r| r.map(|k| k.info)).collect::<rusqlite::Result<_>>()?)
        })
    }

    pub(crate) fn revoke_key(&self, prefix: &str) -> Result<Option<bool>> {
        self.write(|tx| {
            let revoked: Option<Option<i64>> =
                tx.query_row("SELECT revoked_at FROM api_keys WHERE prefix = ?1", [prefix], |r| r.get(0)).optional()?;
            match revoked {
                None => Ok(None),
                Some(Some(_)) => Ok(Some(false)),
                Some(None) => {
                    tx.execute("UPDATE api_keys SET revoked_at = ?2 WHERE prefix = ?1", params![prefix, now_millis()])?;
                    Ok(Some(true))
                }
            }
        })
    }

    /// Records one authenticated call: last used now, lifetime count + 1.
    pub(crate) fn touch_key(&self, prefix: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE api_keys SET last_used_at = ?2, call_count = call_count + 1 WHERE prefix = ?1",
                params![prefix, now_millis()],
            )?;
            Ok(())
        })
    }

    /// Claims `(tenant, key)` for `request_id`, atomically. Expired rows, and pending rows older
    /// than `stale_ms` (their owner died), are taken over.
    pub(crate) fn claim_dedup(
        &self,
        tenant: &str,
        key: &str,
        request_hash: &str,
        request_id: &str,
        window_ms: i64,
        stale_ms: i64,
    ) -> Result<Claim> {
        let now = now_millis();
        self.write(|tx| {
            let row: Option<(String, String, Option<String>, i64, i64)> = tx
                .query_row(
                    "SELECT status, request_hash, response_json, created_at, expires_at FROM dedup WHERE tenant_id = ?1 AND dedup_key = ?2",
                    [tenant, key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            if let Some((status, hash, response, created, expires)) = row {
                let expired = expires <= now;
                let abandoned = status == "pending" && now - created > stale_ms;
                if !expired && !abandoned {
                    return Ok(match (status.as_str(), response) {
                        ("done", Some(json)) => Claim::Done { request_hash: hash, response_json: json },
                        _ => Claim::Pending { request_hash: hash },
                    });
                }
                tx.execute("DELETE FROM dedup WHERE tenant_id = ?1 AND dedup_key = ?2", [tenant, key])?;
            }
            tx.execute(
                "INSERT INTO dedup (tenant_id, dedup_key, request_hash, request_id, status, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)",
                params![tenant, key, request_hash, request_id, now, now + window_ms],
            )?;
            Ok(Claim::Claimed)
        })
    }

    /// Gives a claim back (the turn failed): a retry may run it.
    pub(crate) fn release_dedup(&self, tenant: &str, key: &str, request_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM dedup WHERE tenant_id = ?1 AND dedup_key = ?2 AND request_id = ?3 AND status = 'pending'",
                [tenant, key, request_id],
            )?;
            Ok(())
        })
    }

    /// Stores a trace on its own (turns that failed, and requests that never reached a tenant).
    pub(crate) fn put_trace(&self, request_id: &str, tenant: &str, trace_json: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO traces (request_id, tenant_id, created_at, trace_json) VALUES (?1, ?2, ?3, ?4)",
                params![request_id, tenant, now_millis(), trace_json],
            )?;
            Ok(())
        })
    }

    /// Deletes traces older than `trace_ms` and dedup rows past their expiry.
    pub(crate) fn purge(&self, trace_ms: i64) -> Result<(usize, usize)> {
        let now = now_millis();
        self.write(|tx| {
            let t = tx.execute("DELETE FROM traces WHERE created_at < ?1", [now - trace_ms])?;
            let d = tx.execute("DELETE FROM dedup WHERE expires_at <= ?1 AND status = 'done'", [now])?;
            Ok((t, d))
        })
    }
}
