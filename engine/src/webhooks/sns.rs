//! Email via Amazon SES → SNS: SNS message signatures (SignatureVersion 1 = SHA1withRSA, 2 =
//! SHA256withRSA, over the documented string-to-sign), the signing certificate's URL check, the
//! topic check, SubscriptionConfirmation, and the SES notification's raw MIME.

use base64::Engine as _;
use rsa::RsaPublicKey;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::DecodePublicKey;
use serde_json::{Value, json};
use sha2::Digest;
use x509_cert::der::{DecodePem, Encode};

use super::{ChannelConfig, EventOutcome, Inbound, Outbound, WebhookRequest, WebhookResponse};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};

fn unauthorized(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Forbidden, msg)
}

/// `https://sns.<region>.amazonaws.com[.cn]/<...>.pem` and nothing else.
pub(crate) fn cert_url_ok(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else { return false };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_ok = host.strip_prefix("sns.").is_some_and(|h| {
        let region = h.strip_suffix(".amazonaws.com").or_else(|| h.strip_suffix(".amazonaws.com.cn"));
        region.is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    });
    host_ok && path.ends_with(".pem") && !path.contains("..") && !rest.contains('@')
}

/// The documented string-to-sign of an SNS message.
pub(crate) fn string_to_sign(m: &Value) -> Result<String> {
    let kind = m["Type"].as_str().unwrap_or_default();
    let keys: &[&str] = match kind {
        "Notification" => &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
        other => return Err(Error::bad_request(format!("unknown SNS message type {other:?}"))),
    };
    let mut out = String::new();
    for k in keys {
        match m.get(*k).and_then(Value::as_str) {
            Some(v) => out.push_str(&format!("{k}\n{v}\n")),
            None if *k == "Subject" => {}
            None => return Err(Error::bad_request(format!("SNS message lacks {k}"))),
        }
    }
    Ok(out)
}

/// Checks an SNS message's signature with the PEM certificate of its signing URL.
pub(crate) fn verify_sns(m: &Value, certificate: &dyn Fn(&str) -> Option<String>) -> Result<()> {
    let url = m["SigningCertURL"].as_str().ok_or_else(|| unauthorized("SNS message lacks SigningCertURL"))?;
    if !cert_url_ok(url) {
        return Err(unauthorized(format!("SigningCertURL {url:?} is not an SNS certificate URL")));
    }
    let pem = certificate(url).ok_or_else(|| unauthorized("the signing certificate is not available"))?;
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes()).map_err(|e| unauthorized(format!("bad signing certificate: {e}")))?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| unauthorized(format!("bad certificate key: {e}")))?;
    let key = RsaPublicKey::from_public_key_der(&spki).map_err(|e| unauthorized(format!("the certificate key is not RSA: {e}")))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(m["Signature"].as_str().unwrap_or_default())
        .map_err(|_| unauthorized("SNS Signature is not base64"))?;
    let text = string_to_sign(m)?;
    let ok = match m["SignatureVersion"].as_str() {
        Some("1") => key.verify(Pkcs1v15Sign::new::<sha1::Sha1>(), &sha1::Sha1::digest(text.as_bytes()), &signature).is_ok(),
        Some("2") => key.verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &sha2::Sha256::digest(text.as_bytes()), &signature).is_ok(),
        other => return Err(unauthorized(format!("unsupported SNS SignatureVersion {other:?}"))),
    };
    if ok { Ok(()) } else { Err(unauthorized("SNS signature does not verify")) }
}

/// The customer's new text of an email: the text part (or the HTML part as text), with quoted
/// replies and signatures trimmed.
pub(crate) fn email_text(raw: &[u8]) -> Option<(String, String, String, String)> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    let from = msg.from().and_then(|f| f.first()).and_then(|a| a.address()).unwrap_or_default().to_string();
    let subject = msg.subject().unwrap_or_default().to_string();
    let message_id = msg.message_id().map(|m| format!("<{m}>")).unwrap_or_default();
    let body = msg.body_text(0).map(|t| t.into_owned()).or_else(|| msg.body_html(0).map(|h| strip_html(&h)))?;
    Some((from, subject, message_id, trim_quoted(&body)))
}

fn strip_html(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts the quoted history ("On ... wrote:", "> ...", "-----Original Message-----") and the
/// signature ("-- ").
pub(crate) fn trim_quoted(body: &str) -> String {
    let mut kept = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        let starts_quote = t.starts_with('>')
            || (t.starts_with("On ") && t.ends_with("wrote:"))
            || t.starts_with("-----Original Message-----")
            || t == "--"
            || t == "-- "
            || (t.starts_with("From:") && !kept.is_empty());
        if starts_quote {
            break;
        }
        kept.push(t);
    }
    kept.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn handle(engine: &Engine, tenant: &str, config: &ChannelConfig, request: &WebhookRequest, certificate: &dyn Fn(&str) -> Option<String>) -> Result<WebhookResponse> {
    let m: Value = serde_json::from_slice(&request.body).map_err(|e| Error::bad_request(format!("SNS body is not JSON: {e}")))?;
    verify_sns(&m, certificate)?;
    let topic = m["TopicArn"].as_str().unwrap_or_default();
    match &config.sns_topic_arn {
        Some(expected) if expected == topic => {}
        _ => return Err(unauthorized(format!("topic {topic:?} is not this tenant's email topic"))),
    }
    match m["Type"].as_str() {
        Some("SubscriptionConfirmation") => Ok(WebhookResponse {
            status: 200,
            body: json!({ "ok": true, "message": "confirm the subscription by visiting subscribe_url" }).to_string(),
            outbound: vec![],
            subscribe_url: m["SubscribeURL"].as_str().map(str::to_string),
            events: vec![EventOutcome { id: m["MessageId"].as_str().unwrap_or_default().to_string(), outcome: "subscription".into() }],
        }),
        Some("UnsubscribeConfirmation") => Ok(WebhookResponse::status(200, "unsubscribed")),
        _ => {
            let ses: Value = serde_json::from_str(m["Message"].as_str().unwrap_or_default()).map_err(|e| Error::bad_request(format!("SES notification is not JSON: {e}")))?;
            let ses_id = ses["mail"]["messageId"].as_str().unwrap_or_default().to_string();
            let raw = ses["content"].as_str().unwrap_or_default();
            let bytes = match ses["receipt"]["action"]["encoding"].as_str() {
                Some("BASE64") => base64::engine::general_purpose::STANDARD.decode(raw.trim()).map_err(|_| Error::bad_request("SES content is not base64"))?,
                _ => raw.as_bytes().to_vec(),
            };
            let Some((from, subject, message_id, text)) = email_text(&bytes) else {
                return Ok(WebhookResponse { events: vec![EventOutcome { id: ses_id, outcome: "unsupported".into() }], ..WebhookResponse::status(200, "no readable text") });
            };
            let from = if from.is_empty() { ses["mail"]["source"].as_str().unwrap_or_default().to_string() } else { from };
            let inbound = Inbound { event_id: ses_id, from, text, has_image: false, unsupported: None, email: Some((subject, message_id, String::new())) };
            Ok(engine.answer(tenant, "email", config, (vec![inbound], vec![])))
        }
    }
}

/// An email reply that threads under the customer's message.
pub(crate) fn email_payload(config: &ChannelConfig, m: &Inbound, text: &str, request_id: &str) -> Outbound {
    let (subject, message_id, _) = m.email.clone().unwrap_or_default();
    let subject = if subject.to_lowercase().starts_with("re:") { subject } else { format!("Re: {subject}") };
    Outbound {
        channel: "email".into(),
        to: m.from.clone(),
        endpoint: "SES SendEmail".into(),
        payload: json!({
            "from": config.from_address, "to": m.from, "subject": subject,
            "in_reply_to": message_id, "references": message_id, "text": text,
        }),
        request_id: request_id.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sns_certificate_urls_are_accepted() {
        assert!(cert_url_ok("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"));
        assert!(cert_url_ok("https://sns.cn-north-1.amazonaws.com.cn/x.pem"));
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com/x.txt",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://s3.amazonaws.com/x.pem",
        ] {
            assert!(!cert_url_ok(bad), "{bad}");
        }
    }

    #[test]
    fn quoted_history_and_signatures_are_trimmed() {
        let body = "Can I book a table for 4 on Friday?\nThanks, Ana\n--\nAna Silva\n\nOn Mon, Dec 1, 2026 at 9:00 Bistro wrote:\n> Hello";
        assert_eq!(trim_quoted(body), "Can I book a table for 4 on Friday? Thanks, Ana");
    }
}
