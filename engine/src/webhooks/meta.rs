//! Meta (WhatsApp Cloud API, Messenger, Instagram): the subscription handshake, the
//! `X-Hub-Signature-256` check, event parsing, and Send API bodies.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{ChannelConfig, EventOutcome, Inbound, Outbound, WebhookResponse};
use crate::access::ct_eq;
use crate::error::{Error, ErrorKind, Result};

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The GET subscription handshake: echo `hub.challenge` when `hub.verify_token` matches.
pub(crate) fn handshake(config: &ChannelConfig, query: &str) -> WebhookResponse {
    let mode = query_param(query, "hub.mode");
    let token = query_param(query, "hub.verify_token");
    let challenge = query_param(query, "hub.challenge");
    let ok = match (&config.verify_token, mode.as_deref(), token, &challenge) {
        (Some(expected), Some("subscribe"), Some(given), Some(_)) => ct_eq(expected.as_bytes(), given.as_bytes()),
        _ => false,
    };
    if ok {
        WebhookResponse { status: 200, body: challenge.unwrap_or_default(), outbound: vec![], subscribe_url: None, events: vec![] }
    } else {
        WebhookResponse::status(403, "verification failed")
    }
}

/// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`, checked
/// in constant time. Anything missing, malformed or different is rejected.
pub(crate) fn verify(config: &ChannelConfig, request: &super::WebhookRequest) -> Result<()> {
    let secret = config
        .app_secret
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::new(ErrorKind::Forbidden, "no app secret is configured for this channel; refusing unsigned deliveries"))?;
    let header = request.header("x-hub-signature-256").ok_or_else(|| {
        let sha1_only = request.header("x-hub-signature").is_some();
        Error::new(
            ErrorKind::Unauthorized,
            if sha1_only { "only an SHA-1 signature was sent; X-Hub-Signature-256 is required" } else { "missing X-Hub-Signature-256" },
        )
    })?;
    let hex = header
        .trim()
        .strip_prefix("sha256=")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| Error::new(ErrorKind::Unauthorized, "malformed X-Hub-Signature-256"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| Error::internal("hmac key"))?;
    mac.update(&request.body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    if ct_eq(expected.as_bytes(), hex.to_ascii_lowercase().as_bytes()) {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Forbidden, "X-Hub-Signature-256 does not match the body"))
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Every message of a delivery, and what happened to the events that need no reply.
pub(crate) fn parse(channel: &str, body: &[u8]) -> Result<(Vec<Inbound>, Vec<EventOutcome>)> {
    let v: Value = serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("webhook body is not JSON: {e}")))?;
    let mut messages = Vec::new();
    let mut events = Vec::new();
    let entries = v["entry"].as_array().cloned().unwrap_or_default();
    for entry in &entries {
        if channel == "whatsapp" {
            for change in entry["changes"].as_array().into_iter().flatten() {
                let value = &change["value"];
                for m in value["messages"].as_array().into_iter().flatten() {
                    let kind = s(&m["type"]);
                    let (text, has_image, unsupported) = match kind.as_str() {
                        "text" => (s(&m["text"]["body"]), false, None),
                        "image" => (s(&m["image"]["caption"]), true, None),
                        "interactive" => (
                            m["interactive"]["button_reply"]["title"].as_str().or(m["interactive"]["list_reply"]["title"].as_str()).unwrap_or_default().to_string(),
                            false,
                            None,
                        ),
                        "button" => (s(&m["button"]["text"]), false, None),
                        other => (String::new(), false, Some(if other.is_empty() { "this kind of".to_string() } else { other.to_string() })),
                    };
                    messages.push(Inbound { event_id: s(&m["id"]), from: s(&m["from"]), text, has_image, unsupported, email: None });
                }
                for st in value["statuses"].as_array().into_iter().flatten() {
                    events.push(EventOutcome { id: format!("{}:{}", s(&st["id"]), s(&st["status"])), outcome: "status".into() });
                }
            }
        } else {
            for m in entry["messaging"].as_array().into_iter().flatten() {
                let from = s(&m["sender"]["id"]);
                if let Some(msg) = m.get("message") {
                    let mid = s(&msg["mid"]);
                    if msg["is_echo"].as_bool() == Some(true) {
                        events.push(EventOutcome { id: mid, outcome: "echo".into() });
                        continue;
                    }
                    // A quick reply carries the button's title as `text` (its payload is for bots).
                    let text = s(&msg["text"]);
                    let attachments = msg["attachments"].as_array().cloned().unwrap_or_default();
                    let has_image = attachments.iter().any(|a| a["type"] == "image");
                    let unsupported = (text.is_empty() && !has_image)
                        .then(|| attachments.first().map(|a| s(&a["type"])).filter(|t| !t.is_empty()).unwrap_or_else(|| "this kind of".into()));
                    messages.push(Inbound { event_id: mid, from, text, has_image, unsupported, email: None });
                } else if let Some(pb) = m.get("postback") {
                    let id = pb["mid"].as_str().map(str::to_string).unwrap_or_else(|| format!("postback:{from}:{}", m["timestamp"]));
                    let text = pb["title"].as_str().or(pb["payload"].as_str()).unwrap_or_default().to_string();
                    messages.push(Inbound { event_id: id, from, text, has_image: false, unsupported: None, email: None });
                } else {
                    events.push(EventOutcome { id: format!("{}:{}", from, m["timestamp"]), outcome: "status".into() });
                }
            }
        }
    }
    Ok((messages, events))
}

/// A WhatsApp Cloud API text message body.
pub(crate) fn whatsapp_payload(config: &ChannelConfig, to: &str, text: &str, request_id: &str) -> Outbound {
    Outbound {
        channel: "whatsapp".into(),
        to: to.into(),
        endpoint: format!("POST /{}/messages", config.phone_number_id.as_deref().unwrap_or("{phone_number_id}")),
        payload: json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text", "text": { "preview_url": false, "body": text } }),
        request_id: request_id.into(),
    }
}

/// A Messenger / Instagram Send API body.
pub(crate) fn send_api_payload(channel: &str, config: &ChannelConfig, to: &str, text: &str, request_id: &str) -> Outbound {
    Outbound {
        channel: channel.into(),
        to: to.into(),
        endpoint: format!("POST /{}/messages", config.page_id.as_deref().unwrap_or("me")),
        payload: json!({ "recipient": { "id": to }, "messaging_type": "RESPONSE", "message": { "text": text } }),
        request_id: request_id.into(),
    }
}
