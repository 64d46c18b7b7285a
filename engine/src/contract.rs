//! The `respond` contract: request, response and error body, exactly as the reference's JSON.
//!
//! These types are the one source of truth for every binding: the C ABI and the Python module
//! exchange exactly this JSON. Within v1 fields are only ever added, never removed or renamed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Largest accepted `message_text`, in bytes of UTF-8 (8 KiB): longer messages are `bad_request`.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;
/// Largest accepted `channel_user_id` and `dedup_key`, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Largest accepted `metadata`, in bytes of its JSON serialization (16 KiB).
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Largest accepted request body for [`RespondRequest::from_json`] (64 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The channel a message arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A website chat.
    Web,
    /// WhatsApp (Meta Cloud API).
    Whatsapp,
    /// Instagram direct messages.
    Instagram,
    /// Facebook Messenger.
    Messenger,
    /// SMS.
    Sms,
    /// Email.
    Email,
    /// A direct API integration.
    Api,
}

impl Channel {
    /// Every channel, in the reference's order.
    pub const ALL: [Channel; 7] = [
        Channel::Web,
        Channel::Whatsapp,
        Channel::Instagram,
        Channel::Messenger,
        Channel::Sms,
        Channel::Email,
        Channel::Api,
    ];

    /// The wire name (`web`, `whatsapp`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Whatsapp => "whatsapp",
            Channel::Instagram => "instagram",
            Channel::Messenger => "messenger",
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Api => "api",
        }
    }

    /// Parses a wire name.
    ///
    /// # Errors
    /// `BadRequest` naming the valid channels.
    pub fn parse(s: &str) -> Result<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            Error::bad_request(format!(
                "field `channel` must be one of web, whatsapp, instagram, messenger, sms, email, api (got {s:?})"
            ))
        })
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of `POST /api/v1/respond`: one customer message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RespondRequest {
    /// Where the message came from.
    pub channel: Channel,
    /// Stable id of the conversation participant on that channel.
    pub channel_user_id: String,
    /// The customer's message.
    pub message_text: String,
    /// Pass-through metadata (a JSON object); stored with the turn and its trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Idempotency key: a repeat returns the stored response instead of running the turn again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// Hint for the smart router that the message carries an image.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub has_image: bool,
}

impl RespondRequest {
    /// A request with the three required fields.
    pub fn new(channel: Channel, channel_user_id: impl Into<String>, message_text: impl Into<String>) -> Self {
        RespondRequest {
            channel,
            channel_user_id: channel_user_id.into(),
            message_text: message_text.into(),
            metadata: None,
            dedup_key: None,
            has_image: false,
        }
    }

    /// Parses and validates a JSON request body.
    ///
    /// # Errors
    /// `BadRequest` with a message naming the field: invalid JSON, a body that is not an object,
    /// a missing, empty or mistyped field, an unknown channel, `metadata` that is not an object,
    /// or a value over its size limit.
    pub fn from_json(body: &str) -> Result<RespondRequest> {
        if body.len() > MAX_BODY_BYTES {
            return Err(Error::bad_request(format!(
                "request body is {} bytes; the limit is {MAX_BODY_BYTES}",
                body.len()
            )));
        }
        let value: Value = serde_json::from_str(body)
            .map_err(|e| Error::bad_request(format!("request body is not valid JSON: {e}")))?;
        let Value::Object(mut obj) = value else {
            return Err(Error::bad_request("request body must be a JSON object"));
        };
        let channel = Channel::parse(&take_string(&mut obj, "channel")?)?;
        let channel_user_id = take_string(&mut obj, "channel_user_id")?;
        let message_text = take_string(&mut obj, "message_text")?;
        let metadata = match obj.remove("metadata") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => return Err(Error::bad_request("field `metadata` must be a JSON object")),
        };
        let dedup_key = match obj.remove("dedup_key") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(Error::bad_request("field `dedup_key` must be a string")),
        };
        let has_image = match obj.remove("has_image") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => return Err(Error::bad_request("field `has_image` must be a boolean")),
        };
        let req = RespondRequest { channel, channel_user_id, message_text, metadata, dedup_key, has_image };
        req.validate()?;
        Ok(req)
    }

    /// Checks the limits that the type system cannot: non-empty fields and sizes.
    ///
    /// # Errors
    /// `BadRequest` naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.channel_user_id.trim().is_empty() {
            return Err(Error::bad_request("field `channel_user_id` must not be empty"));
        }
        if self.channel_user_id.len() > MAX_ID_BYTES {
            return Err(Error::bad_request(format!(
                "field `channel_user_id` is {} bytes; the limit is {MAX_ID_BYTES}",
                self.channel_user_id.len()
            )));
        }
        if self.message_text.trim().is_empty() {
            return Err(Error::bad_request("field `message_text` must not be empty"));
        }
        if self.message_text.len() > MAX_MESSAGE_BYTES {
            return Err(Error::bad_request(format!(
                "field `message_text` is {} bytes; the limit is {MAX_MESSAGE_BYTES}",
                self.message_text.len()
            )));
        }
        if let Some(key) = &self.dedup_key {
            if key.trim().is_empty() {
                return Err(Error::bad_request("field `dedup_key` must not be empty when given"));
            }
            if key.len() > MAX_ID_BYTES {
                return Err(Error::bad_request(format!(
                    "field `dedup_key` is {} bytes; the limit is {MAX_ID_BYTES}",
                    key.len()
                )));
            }
        }
        if let Some(m) = &self.metadata {
            let n = serde_json::to_string(m).map(|s| s.len()).unwrap_or(usize::MAX);
            if n > MAX_METADATA_BYTES {
                return Err(Error::bad_request(format!(
                    "field `metadata` is {n} bytes as JSON; the limit is {MAX_METADATA_BYTES}"
                )));
            }
        }
        Ok(())
    }
}

fn take_string(obj: &mut Map<String, Value>, field: &str) -> Result<String> {
    match obj.remove(field) {
        None | Some(Value::Null) => Err(Error::bad_request(format!("missing required field `{field}`"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Error::bad_request(format!("field `{field}` must be a string"))),
    }
}

/// The successful reply of a turn (`"ok": true`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RespondResponse {
    /// Always `true` for a response; errors use [`ErrorBody`].
    pub ok: bool,
    /// `req_` + a ULID; also the id of the turn's trace.
    pub request_id: String,
    /// The assistant's reply text.
    pub response: String,
    /// The persona's name.
    pub assistant_name: String,
    /// Facts about how the reply was made.
    pub metadata: ResponseMetadata,
}

/// The `metadata` object of a response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseMetadata {
    /// Namespaced names of the tools the turn ran, in order.
    pub tools_called: Vec<String>,
    /// Wall time of the turn, in milliseconds.
    pub latency_ms: u64,
    /// Tokens of input the composer consumed (the model's tokenizer when a model ran; otherwise
    /// Brain's lexical tokenizer over the passages and history it read).
    pub tokens_in: u32,
    /// Tokens of the reply, counted the same way.
    pub tokens_out: u32,
    /// Present (true) when the conversation is handed to a human: the bot did not answer and
    /// `response` is empty. Additive to v1; omitted otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub handoff: bool,
    /// Guardrails that acted on this turn, as `rail:action` (`pii:redact`, `injection:block`,
    /// `grounding:repair`). Additive to v1; omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardrails: Vec<String>,
    /// Who answered, when not the default grounded composer: `local_model`, `host_generator`,
    /// `image_generator` or `describe_image` (the trace always records it).
    #[serde(default, skip_serializing_if = "route_is_default")]
    pub route: String,
}

/// The error body of the wire contract (`"ok": false`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always `false`.
    pub ok: bool,
    /// The wire code: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `rate_limited`,
    /// `server_error`.
    pub error: String,
    /// What went wrong and how to fix it.
    pub message: String,
    /// The id of the failed request.
    pub request_id: String,
}

impl ErrorBody {
    /// The body for `error`, with its request id (or `fallback_request_id` if it has none).
    pub fn from_error(error: &Error, fallback_request_id: &str) -> ErrorBody {
        ErrorBody {
            ok: false,
            error: error.code().to_string(),
            message: error.message().to_string(),
            request_id: error.request_id().unwrap_or(fallback_request_id).to_string(),
        }
    }
}

/// A new request id: `req_` followed by a ULID.
pub fn new_request_id() -> String {
    format!("req_{}", ulid::Ulid::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn bad(body: &str) -> String {
        let e = RespondRequest::from_json(body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadRequest, "{body}");
        e.to_string()
    }

    #[test]
    fn parses_the_reference_request_and_round_trips() {
        let body = r#"{"channel":"web","channel_user_id":"user-abc","message_text":"I need party supplies for 12 kids"}"#;
        let req = RespondRequest::from_json(body).unwrap();
        assert_eq!(req.channel, Channel::Web);
        assert_eq!(serde_json::to_string(&req).unwrap(), body);
    }

    #[test]
    fn every_validation_error_names_its_field() {
        assert!(bad("{").contains("not valid JSON"));
        assert!(bad("[1]").contains("JSON object"));
        assert!(bad(r#"{"channel_user_id":"u","message_text":"hi"}"#).contains("`channel`"));
        assert!(bad(r#"{"channel":"fax","channel_user_id":"u","message_text":"hi"}"#).contains("one of web"));
        assert!(bad(r#"{"channel":"web","message_text":"hi"}"#).contains("`channel_user_id`"));
        assert!(bad(r#"{"channel":"web","channel_user_id":" ","message_text":"hi"}"#).contains("`channel_user_id` must not be empty"));
        assert!(bad(r#"{"channel":"web","channel_user_id":"u"}"#).contains("`message_text`"));
        assert!(bad(r#"{"channel":"web","channel_user_id":"u","message_text":""}"#).contains("`message_text` must not be empty"));
        assert!(bad(r#"{"channel":"web","channel_user_id":"u","message_text":5}"#).contains("`message_text` must be a string"));
        assert!(bad(r#"{"channel":"web","channel_user_id":"u","message_text":"hi","metadata":[1]}"#).contains("`metadata`"));
        assert!(bad(r#"{"channel":"web","channel_user_id":"u","message_text":"hi","has_image":"yes"}"#).contains("`has_image`"));
        assert!(bad(r#"{"channel":"web","channel_user_id":"u","message_text":"hi","dedup_key":""}"#).contains("`dedup_key`"));
        let long = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert!(bad(&format!(r#"{{"channel":"web","channel_user_id":"u","message_text":"{long}"}}"#)).contains("limit is 8192"));
    }
}

fn route_is_default(route: &String) -> bool {
    route.is_empty() || route == "grounded"
}
