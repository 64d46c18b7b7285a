//! Inbound channel webhooks (`/v1/webhook/{channel}/{tenant_id}`): a host forwards the raw HTTP
//! request its server received; Brain verifies it (fail closed), deduplicates each event with the
//! provider's id, runs a turn per inbound message and hands back provider-ready outbound payloads.
//! Brain makes no network calls: the host sends the payloads, fetches SNS signing certificates
//! (Brain validates their URL) and visits SNS subscription URLs.
//!
//! Ingress is off unless the deployment enables it (`BRAIN_WEBHOOK_ENABLED=1`, or
//! [`crate::EngineBuilder::webhooks_enabled`]); while off every webhook route answers 404, as the
//! reference says.

mod meta;
mod sns;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};

/// A channel's credentials and ids for one tenant. Secrets are stored with the tenant and never
/// appear in traces, logs or `Debug` output.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelConfig {
    /// Meta app secret: the HMAC key of `X-Hub-Signature-256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<String>,
    /// The token Meta echoes in the GET subscription handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<String>,
    /// WhatsApp phone number id (the send API's path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    /// Messenger page id / Instagram account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_id: Option<String>,
    /// The SNS topic ARN SES publishes to (email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sns_topic_arn: Option<String>,
    /// The address replies are sent from (email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_address: Option<String>,
}

impl std::fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "<secret>");
        f.debug_struct("ChannelConfig")
            .field("app_secret", &hidden(&self.app_secret))
            .field("verify_token", &hidden(&self.verify_token))
            .field("phone_number_id", &self.phone_number_id)
            .field("page_id", &self.page_id)
            .field("sns_topic_arn", &self.sns_topic_arn)
            .field("from_address", &self.from_address)
            .finish()
    }
}

/// The raw HTTP request a host's server received on a webhook route.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// `/v1/webhook/{channel}/{tenant_id}`, optionally with `?query`.
    pub path: String,
    /// Headers as received (names matched case-insensitively).
    pub headers: Vec<(String, String)>,
    /// The raw body bytes, exactly as received (signatures cover these bytes).
    pub body: Vec<u8>,
}

impl WebhookRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A reply ready for a provider's send API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outbound {
    /// `whatsapp`, `messenger`, `instagram` or `email`.
    pub channel: String,
    /// The recipient (WhatsApp id, page-scoped id, email address).
    pub to: String,
    /// Where it goes, e.g. `POST /{phone_number_id}/messages` of the Graph API.
    pub endpoint: String,
    /// The request body of the provider's send API (or, for email, the message to send).
    pub payload: Value,
    /// The turn that produced it.
    pub request_id: String,
}

/// What happened to one event of a delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventOutcome {
    /// The provider's event id.
    pub id: String,
    /// `answered`, `duplicate`, `echo`, `status`, `unsupported`.
    pub outcome: String,
}

/// What to send back to the provider, and what the host should do next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookResponse {
    /// HTTP status for the provider (200 acknowledges; 401/403 reject; 404 when disabled).
    pub status: u16,
    /// HTTP body (the `hub.challenge` of a handshake, or a short JSON note).
    pub body: String,
    /// Replies to send, in order.
    pub outbound: Vec<Outbound>,
    /// For an SNS SubscriptionConfirmation: the URL the host must GET to confirm.
    pub subscribe_url: Option<String>,
    /// Each event of the delivery and what became of it.
    pub events: Vec<EventOutcome>,
}

impl WebhookResponse {
    fn status(status: u16, message: &str) -> WebhookResponse {
        WebhookResponse {
            status,
            body: serde_json::json!({ "ok": status == 200, "message": message }).to_string(),
            outbound: vec![],
            subscribe_url: None,
            events: vec![],
        }
    }
}

/// One inbound customer message, channel-neutral.
pub(crate) struct Inbound {
    pub event_id: String,
    pub from: String,
    pub text: String,
    pub has_image: bool,
    /// A message type Brain cannot read (audio, sticker...): answered with a canned request.
    pub unsupported: Option<String>,
    /// Email threading: subject, Message-ID, References.
    pub email: Option<(String, String, String)>,
}

/// The longest text each provider accepts in one message.
pub(crate) fn text_limit(channel: &str) -> usize {
    match channel {
        "whatsapp" => 4096,
        "messenger" => 2000,
        "instagram" => 1000,
        _ => 100_000,
    }
}

/// Splits `text` into pieces of at most `limit` characters, at sentence ends, else at spaces.
pub(crate) fn split_text(text: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while rest.chars().count() > limit {
        let cut_byte = rest.char_indices().nth(limit).map_or(rest.len(), |(i, _)| i);
        let window = &rest[..cut_byte];
        let at = window.rfind(". ").map(|i| i + 1).or_else(|| window.rfind(' ')).filter(|&i| i > 0).unwrap_or(cut_byte);
        out.push(rest[..at].trim().to_string());
        rest = rest[at..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

impl Engine {
    /// Stores a tenant's configuration of one inbound channel (`whatsapp`, `messenger`,
    /// `instagram`, `email`).
    ///
    /// # Errors
    /// `BadRequest` for another channel; `NotFound` for an unknown tenant.
    pub fn set_channel_config(&self, tenant_id: &str, channel: &str, config: &ChannelConfig) -> Result<()> {
        if !["whatsapp", "messenger", "instagram", "email"].contains(&channel) {
            return Err(Error::bad_request(format!("webhooks exist for whatsapp, messenger, instagram and email, not {channel:?}")));
        }
        if self.inner().store.tenant(tenant_id)?.is_none() {
            return Err(Error::not_found(format!("tenant {tenant_id:?} does not exist")));
        }
        let json = serde_json::to_string(config).map_err(|e| Error::internal(e.to_string()))?;
        self.inner().store.write(|tx| {
            tx.execute(
                "INSERT INTO channel_configs (tenant_id, channel, config_json, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant_id, channel) DO UPDATE SET config_json = ?3, updated_at = ?4",
                rusqlite::params![tenant_id, channel, json, crate::store::now_millis()],
            )?;
            Ok(())
        })
    }

    fn channel_config(&self, tenant_id: &str, channel: &str) -> Result<Option<ChannelConfig>> {
        use rusqlite::OptionalExtension;
        let json: Option<String> = self.inner().store.with(|c| {
            Ok(c.query_row("SELECT config_json FROM channel_configs WHERE tenant_id = ?1 AND channel = ?2", [tenant_id, channel], |r| r.get(0))
                .optional()?)
        })?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| Error::new(ErrorKind::Storage, format!("stored channel config is corrupt: {e}")))).transpose()
    }

    /// Handles one webhook delivery. `certificate` returns the PEM of an SNS signing certificate
    /// for its URL (the host fetches and caches it; Brain first checks the URL is an SNS host).
    /// Never fails: every problem is a status for the provider.
    pub fn handle_webhook(&self, request: &WebhookRequest, certificate: &dyn Fn(&str) -> Option<String>) -> WebhookResponse {
        if !self.inner().config.webhooks_enabled {
            return WebhookResponse::status(404, "webhook ingress is not enabled for this deployment");
        }
        let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (channel, tenant) = match parts.as_slice() {
            ["v1", "webhook", channel, tenant] => (*channel, *tenant),
            _ => return WebhookResponse::status(404, "no such webhook route"),
        };
        let config = match self.channel_config(tenant, channel) {
            Ok(Some(c)) => c,
            Ok(None) => return WebhookResponse::status(404, "this channel is not configured for this tenant"),
            Err(_) => return WebhookResponse::status(500, "storage error"),
        };
        let outcome = match (channel, request.method.to_ascii_uppercase().as_str()) {
            ("whatsapp" | "messenger" | "instagram", "GET") => Ok(meta::handshake(&config, query)),
            ("whatsapp" | "messenger" | "instagram", "POST") => meta::verify(&config, request).and_then(|()| {
                let inbound = meta::parse(channel, &request.body)?;
                Ok(self.answer(tenant, channel, &config, inbound))
            }),
            ("email", "POST") => sns::handle(self, tenant, &config, request, certificate),
            _ => Ok(WebhookResponse::status(405, "method not allowed on this webhook")),
        };
        outcome.unwrap_or_else(|e| {
            let status = match e.kind() {
                ErrorKind::Unauthorized => 401,
                ErrorKind::Forbidden => 403,
                ErrorKind::BadRequest => 400,
                _ => 500,
            };
            WebhookResponse::status(status, e.message())
        })
    }

    /// Runs a turn per inbound message (deduplicated by the provider's id) and builds replies.
    pub(crate) fn answer(&self, tenant: &str, channel: &str, config: &ChannelConfig, inbound: (Vec<Inbound>, Vec<EventOutcome>)) -> WebhookResponse {
        let (messages, mut events) = inbound;
        let mut outbound = Vec::new();
        let ch = crate::Channel::parse(channel).unwrap_or(crate::Channel::Api);
        for m in messages {
            let mut req = crate::RespondRequest::new(ch, m.from.clone(), if m.text.trim().is_empty() { "(no text)".to_string() } else { m.text.clone() });
            req.dedup_key = Some(format!("{channel}:{}", m.event_id));
            req.has_image = m.has_image;
            let reply = match &m.unsupported {
                Some(kind) => {
                    events.push(EventOutcome { id: m.event_id.clone(), outcome: "unsupported".into() });
                    Some((format!("Thanks! I can't open {kind} messages here — could you type your question instead?"), String::new()))
                }
                None => match self.respond_once(tenant, &req) {
                    Ok((_, true)) => {
                        events.push(EventOutcome { id: m.event_id.clone(), outcome: "duplicate".into() });
                        None
                    }
                    Ok((r, false)) => {
                        events.push(EventOutcome { id: m.event_id.clone(), outcome: "answered".into() });
                        (!r.response.is_empty()).then_some((r.response, r.request_id))
                    }
                    Err(e) => {
                        events.push(EventOutcome { id: m.event_id.clone(), outcome: format!("error:{}", e.code()) });
                        None
                    }
                },
            };
            let Some((text, request_id)) = reply else { continue };
            for piece in split_text(&text, text_limit(channel)) {
                outbound.push(match channel {
                    "whatsapp" => meta::whatsapp_payload(config, &m.from, &piece, &request_id),
                    "email" => sns::email_payload(config, &m, &piece, &request_id),
                    _ => meta::send_api_payload(channel, config, &m.from, &piece, &request_id),
                });
            }
        }
        WebhookResponse { status: 200, body: serde_json::json!({ "ok": true }).to_string(), outbound, subscribe_url: None, events }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_replies_split_at_sentences_within_the_limit() {
        let text = "One sentence here. ".repeat(300);
        let parts = split_text(&text, 4096);
        assert!(parts.len() >= 2);
        assert!(parts.iter().all(|p| p.chars().count() <= 4096 && p.ends_with('.')));
        assert_eq!(split_text("short", 10), vec!["short"]);
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = ChannelConfig { app_secret: Some("s3cr3t".into()), verify_token: Some("tok".into()), ..Default::default() };
        let d = format!("{c:?}");
        assert!(!d.contains("s3cr3t") && !d.contains("tok\"") && d.contains("<secret>"));
    }
}

/// Entry points for the fuzz targets in `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    /// Meta delivery parsing for `channel` on arbitrary bytes: must never panic.
    pub fn meta_parse(channel: &str, body: &[u8]) {
        let _ = super::meta::parse(channel, body);
    }

    /// SNS string-to-sign on arbitrary JSON, and the certificate URL check.
    pub fn sns_message(body: &[u8]) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            let _ = super::sns::string_to_sign(&v);
            let _ = super::sns::cert_url_ok(v["SigningCertURL"].as_str().unwrap_or_default());
        }
    }

    /// MIME parsing and quoted-reply trimming on arbitrary bytes.
    pub fn email(raw: &[u8]) {
        let _ = super::sns::email_text(raw);
        let _ = super::split_text(&String::from_utf8_lossy(raw), 64);
    }
}
