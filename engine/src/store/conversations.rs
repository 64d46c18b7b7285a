//! Conversations, their messages, and turn traces.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Store, now_millis};
use crate::error::{Error, Result};

/// A conversation and its carried-over state, as loaded at the start of a turn.
#[derive(Clone, Debug)]
pub(crate) struct ConversationRow {
    pub state: serde_json::Value,
}

/// One stored message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRow {
    /// `user` or `assistant`.
    pub role: String,
    /// The text.
    pub text: String,
    /// The turn that produced it.
    pub request_id: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// What the persist stage writes, in one transaction.
pub(crate) struct TurnRecord<'a> {
    pub tenant: &'a str,
    pub channel: &'a str,
    pub channel_user_id: &'a str,
    pub request_id: &'a str,
    pub user_text: &'a str,
    pub reply_text: &'a str,
    pub retrieved_json: &'a str,
    pub latency_ms: u64,
    pub tokens_in: u32,
    pub tokens_out: u32,
    pub state: &'a serde_json::Value,
    pub trace_json: &'a str,
    /// The dedup key this turn claimed, and the response JSON to store under it.
    pub dedup: Option<(&'a str, &'a str)>,
}

impl Store {
    /// The conversation of (tenant, channel, user) and its last `window` messages, oldest first.
    /// A conversation that does not exist yet is returned with no id and no messages.
    pub(crate) fn load_conversation(
        &self,
        tenant: &str,
        channel: &str,
        user: &str,
        window: usize,
    ) -> Result<(ConversationRow, Vec<MessageRow>)> {
        self.with(|c| {
            let row = c
                .prepare_cached(
                    "SELECT id, state_json FROM conversations WHERE tenant_id = ?1 AND channel = ?2 AND channel_user_id = ?3",
                )?
                .query_row([tenant, channel, user], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .optional()?;
            let Some((id, state)) = row else {
                return Ok((ConversationRow { state: serde_json::json!({}) }, Vec::new()));
            };
            let mut st = c.prepare_cached(
                "SELECT role, text, request_id, created_at FROM messages WHERE conversation_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let mut msgs: Vec<MessageRow> = st
                .query_map(params![id, window as i64], |r| {
                    Ok(MessageRow { role: r.get(0)?, text: r.get(1)?, request_id: r.get(2)?, created_at: r.get(3)? })
                })?
                .collect::<rusqlite::Result<_>>()?;
            msgs.reverse();
            let state = serde_json::from_str(&state).unwrap_or_else(|_| serde_json::json!({}));
            Ok((ConversationRow { state }, msgs))
        })
    }

    /// Writes the user message, the reply, the conversation state and the trace atomically.
    pub(crate) fn record_turn(&self, t: &TurnRecord<'_>) -> Result<()> {
        let now = now_millis();
        let state = serde_json::to_string(t.state).map_err(|e| Error::internal(e.to_string()))?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO conversations (tenant_id, channel, channel_user_id, state_json, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT (tenant_id, channel, channel_user_id) DO UPDATE SET state_json = ?4, updated_at = ?5",
                params![t.tenant, t.channel, t.channel_user_id, state, now],
            )?;
            let id: i64 = tx.query_row(
                "SELECT id FROM conversations WHERE tenant_id = ?1 AND channel = ?2 AND channel_user_id = ?3",
                [t.tenant, t.channel, t.channel_user_id],
                |r| r.get(0),
            )?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO messages (conversation_id, role, text, request_id, created_at, retrieved_json, latency_ms, tokens_in, tokens_out)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            ins.execute(params![id, "user", t.user_text, t.request_id, now, None::<String>, None::<i64>, None::<i64>, None::<i64>])?;
            ins.execute(params![
                id,
                "assistant",
                t.reply_text,
                t.request_id,
                now,
                t.retrieved_json,
                t.latency_ms as i64,
                t.tokens_in,
                t.tokens_out
            ])?;
            tx.execute(
                "INSERT INTO traces (request_id, tenant_id, created_at, trace_json) VALUES (?1, ?2, ?3, ?4)",
                params![t.request_id, t.tenant, now, t.trace_json],
            )?;
            if let Some((key, response_json)) = t.dedup {
                let n = tx.execute(
                    "UPDATE dedup SET status = 'done', response_json = ?4
                     WHERE tenant_id = ?1 AND dedup_key = ?2 AND request_id = ?3 AND status = 'pending'",
                    params![t.tenant, key, t.request_id, response_json],
                )?;
                if n != 1 {
                    // Our claim expired and was taken over: do not record a second answer.
                    return Err(crate::Error::new(
                        crate::ErrorKind::Internal,
                        format!("the claim on dedup_key {key:?} was lost while the turn ran; retry the request"),
                    ));
                }
            }
            Ok(())
        })
    }

    pub(crate) fn trace(&self, request_id: &str) -> Result<Option<String>> {
        self.with(|c| {
            Ok(c.query_row("SELECT trace_json FROM traces WHERE request_id = ?1", [request_id], |r| r.get(0)).optional()?)
        })
    }

    pub(crate) fn conversations(&self, tenant: &str) -> Result<Vec<crate::ConversationSummary>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT c.channel, c.channel_user_id, c.created_at, c.updated_at,
                        (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id),
                        (SELECT text FROM messages m WHERE m.conversation_id = c.id ORDER BY m.id DESC LIMIT 1)
                 FROM conversations c WHERE c.tenant_id = ?1 ORDER BY c.updated_at DESC",
            )?;
            let rows = st.query_map([tenant], |r| {
                Ok(crate::ConversationSummary {
                    channel: r.get(0)?,
                    channel_user_id: r.get(1)?,
                    created_at: r.get(2)?,
                    updated_at: r.get(3)?,
                    messages: r.get::<_, i64>(4)? as u64,
                    last_message: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub(crate) fn messages(&self, tenant: &str, channel: &str, user: &str) -> Result<Vec<MessageRow>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT m.role, m.text, m.request_id, m.created_at FROM messages m
                 JOIN conversations c ON c.id = m.conversation_id
                 WHERE c.tenant_id = ?1 AND c.channel = ?2 AND c.channel_user_id = ?3 ORDER BY m.id",
            )?;
            let rows = st.query_map([tenant, channel, user], |r| {
                Ok(MessageRow { role: r.get(0)?, text: r.get(1)?, request_id: r.get(2)?, created_at: r.get(3)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
