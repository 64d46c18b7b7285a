//! Rows the built-in tools write: handoffs (orders, bookings and leads are read here too).

use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

use super::{Store, now_millis};
use crate::error::Result;

impl Store {
    pub(crate) fn handoff_open(&self, tenant: &str, channel: &str, user: &str) -> Result<bool> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT 1 FROM handoffs WHERE tenant_id = ?1 AND channel = ?2 AND channel_user_id = ?3 AND released_at IS NULL",
            )?
            .query_row([tenant, channel, user], |_| Ok(()))
            .optional()?
            .is_some())
        })
    }

    pub(crate) fn release_handoff(&self, tenant: &str, channel: &str, user: &str) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE handoffs SET released_at = ?4 WHERE tenant_id = ?1 AND channel = ?2 AND channel_user_id = ?3 AND released_at IS NULL",
                params![tenant, channel, user, now_millis()],
            )? > 0)
        })
    }

    /// Rows of one of the tools' tables for a tenant, newest first, as JSON objects.
    pub(crate) fn tool_rows(&self, table: &str, tenant: &str, open_only: bool) -> Result<Vec<Value>> {
        let (cols, filter): (&[&str], &str) = match table {
            "orders" => (&["id", "channel", "channel_user_id", "status", "currency", "total", "lines_json", "created_at"], ""),
            "bookings" => (
                &["id", "service_sku", "service_name", "resource", "date", "start_min", "end_min", "party_size", "name", "channel", "channel_user_id", "status", "created_at"],
                "",
            ),
            "leads" => (&["id", "name", "email", "phone", "event_date", "notes", "channel", "channel_user_id", "created_at"], ""),
            "handoffs" => (
                &["id", "channel", "channel_user_id", "reason", "created_at", "released_at"],
                if open_only { " AND released_at IS NULL" } else { "" },
            ),
            _ => return Ok(Vec::new()),
        };
        self.with(|c| {
            let sql = format!("SELECT {} FROM {table} WHERE tenant_id = ?1{filter} ORDER BY created_at DESC", cols.join(", "));
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([tenant], |r| {
                let mut obj = serde_json::Map::new();
                for (i, col) in cols.iter().enumerate() {
                    let v: rusqlite::types::Value = r.get(i)?;
                    let v = match v {
                        rusqlite::types::Value::Null => Value::Null,
                        rusqlite::types::Value::Integer(n) => json!(n),
                        rusqlite::types::Value::Real(x) => json!(x),
                        rusqlite::types::Value::Text(s) if col.ends_with("_json") => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                        rusqlite::types::Value::Text(s) => Value::String(s),
                        rusqlite::types::Value::Blob(_) => Value::Null,
                    };
                    obj.insert(col.trim_end_matches("_json").to_string(), v);
                }
                Ok(Value::Object(obj))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

impl Store {
    /// User messages of a conversation in the last `window_secs` seconds (for the flood rail).
    pub(crate) fn recent_user_messages(&self, tenant: &str, channel: &str, user: &str, window_secs: u32) -> Result<u32> {
        let since = now_millis() - window_secs as i64 * 1000;
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
                 WHERE c.tenant_id = ?1 AND c.channel = ?2 AND c.channel_user_id = ?3 AND m.role = 'user' AND m.created_at >= ?4",
            )?
            .query_row(params![tenant, channel, user, since], |r| r.get::<_, i64>(0))? as u32)
        })
    }
}
