//! Channel webhooks end to end: signatures (fail closed), handshakes, every event shape, dedup of
//! redeliveries, batches, replies ready for the providers' send APIs, and SES over SNS with real
//! RSA signatures made by openssl.

use std::process::Command;

use brain::webhooks::{ChannelConfig, WebhookRequest};
use brain::{Engine, Plan};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

const SECRET: &str = "meta-app-secret";

fn engine() -> Engine {
    let engine = Engine::builder().in_memory().webhooks_enabled(true).open().unwrap();
    engine.create_tenant("bistro", "", Plan::Pro).unwrap();
    engine.marketplace_apply("bistro", "restaurant").unwrap();
    for ch in ["whatsapp", "messenger", "instagram"] {
        let cfg = ChannelConfig {
            app_secret: Some(SECRET.into()),
            verify_token: Some("verify-me".into()),
            phone_number_id: Some("1098765".into()),
            page_id: Some("555".into()),
            ..Default::default()
        };
        engine.set_channel_config("bistro", ch, &cfg).unwrap();
    }
    engine
}

fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn post(engine: &Engine, channel: &str, body: &[u8], signature: Option<String>) -> brain::webhooks::WebhookResponse {
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    if let Some(s) = signature {
        headers.push(("X-Hub-Signature-256".to_string(), s));
    }
    let req = WebhookRequest { method: "POST".into(), path: format!("/v1/webhook/{channel}/bistro"), headers, body: body.to_vec() };
    engine.handle_webhook(&req, &|_| None)
}

fn wa_message(id: &str, from: &str, message: Value) -> Value {
    let mut m = message;
    m["id"] = json!(id);
    m["from"] = json!(from);
    m["timestamp"] = json!("1733300000");
    m
}

fn wa_delivery(messages: Vec<Value>, statuses: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "WABA", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15035550100", "phone_number_id": "1098765" },
            "contacts": [{ "profile": { "name": "Ana" }, "wa_id": "15035550123" }],
            "messages": messages, "statuses": statuses
        }}]}]
    }))
    .unwrap()
}

#[test]
fn whatsapp_text_is_answered_once_with_a_cloud_api_body() {
    let engine = engine();
    let body = wa_delivery(vec![wa_message("wamid.AAA", "15035550123", json!({"type": "text", "text": {"body": "What are your opening hours?"}}))], vec![]);
    let r = post(&engine, "whatsapp", &body, Some(sign(&body, SECRET)));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.outbound.len(), 1);
    let o = &r.outbound[0];
    assert_eq!(o.endpoint, "POST /1098765/messages");
    assert_eq!(o.payload["messaging_product"], "whatsapp");
    assert_eq!(o.payload["to"], "15035550123");
    assert!(o.payload["text"]["body"].as_str().unwrap().contains("11:30"), "{}", o.payload);
    // Meta redelivers: no second reply.
    let again = post(&engine, "whatsapp", &body, Some(sign(&body, SECRET)));
    assert_eq!(again.status, 200);
    assert!(again.outbound.is_empty());
    assert_eq!(again.events[0].outcome, "duplicate");
    assert_eq!(engine.messages("bistro", brain::Channel::Whatsapp, "15035550123").unwrap().len(), 2);
}

#[test]
fn a_batch_with_image_media_and_statuses() {
    let engine = engine();
    let body = wa_delivery(
        vec![
            wa_message("wamid.1", "111", json!({"type": "image", "image": {"id": "img1", "mime_type": "image/jpeg", "caption": "Do you have gluten free pasta?"}})),
            wa_message("wamid.2", "222", json!({"type": "audio", "audio": {"id": "aud1"}})),
            wa_message("wamid.3", "333", json!({"type": "text", "text": {"body": "Do you have parking?"}})),
        ],
        vec![json!({"id": "wamid.OUT1", "status": "delivered", "recipient_id": "111"})],
    );
    let r = post(&engine, "whatsapp", &body, Some(sign(&body, SECRET)));
    assert_eq!(r.status, 200);
    let to: Vec<&str> = r.outbound.iter().map(|o| o.to.as_str()).collect();
    assert_eq!(to, ["111", "222", "333"]);
    assert!(r.outbound[1].payload["text"]["body"].as_str().unwrap().contains("can't open audio"));
    assert!(r.events.iter().any(|e| e.id == "wamid.OUT1:delivered" && e.outcome == "status"));
    let trace = engine.trace(&r.outbound[0].request_id).unwrap();
    assert_eq!(trace["request"]["has_image"], true);
}

#[test]
fn signatures_fail_closed() {
    let engine = engine();
    let body = wa_delivery(vec![wa_message("wamid.X", "1", json!({"type": "text", "text": {"body": "hi"}}))], vec![]);
    let good = sign(&body, SECRET);
    assert_eq!(post(&engine, "whatsapp", &body, None).status, 401, "missing header");
    assert_eq!(post(&engine, "whatsapp", &body, Some("sha256=zz".into())).status, 401, "malformed");
    assert_eq!(post(&engine, "whatsapp", &body, Some(sign(&body, "wrong-secret"))).status, 403, "wrong secret");
    let mut tampered = body.clone();
    let n = tampered.len() - 5;
    tampered[n] ^= 1;
    assert_eq!(post(&engine, "whatsapp", &tampered, Some(good.clone())).status, 403, "tampered body");
    // Meta signs the bytes it sent; a body re-encoded by a proxy (unicode escapes) no longer matches.
    let original = wa_delivery(vec![wa_message("wamid.U", "1", json!({"type": "text", "text": {"body": "café ☕"}}))], vec![]);
    let reencoded = String::from_utf8(original.clone()).unwrap().replace('é', "\\u00e9").replace('☕', "\\u2615").into_bytes();
    assert_eq!(post(&engine, "whatsapp", &reencoded, Some(sign(&original, SECRET))).status, 403, "re-encoded unicode");
    assert_eq!(post(&engine, "whatsapp", &original, Some(sign(&original, SECRET))).status, 200);
    // SHA-1 only.
    let req = WebhookRequest {
        method: "POST".into(),
        path: "/v1/webhook/whatsapp/bistro".into(),
        headers: vec![("X-Hub-Signature".into(), "sha1=0123456789abcdef0123456789abcdef01234567".into())],
        body: body.clone(),
    };
    let r = engine.handle_webhook(&req, &|_| None);
    assert_eq!(r.status, 401);
    assert!(r.body.contains("SHA-1"));
    assert!(r.outbound.is_empty());
    // Nothing ran for any rejected delivery.
    assert!(engine.conversations("bistro").unwrap().iter().all(|c| c.channel_user_id != "1" || c.messages == 2));
}

#[test]
fn the_subscription_handshake_and_the_deployment_flag() {
    let engine = engine();
    let get = |q: &str| {
        engine.handle_webhook(&WebhookRequest { method: "GET".into(), path: format!("/v1/webhook/messenger/bistro?{q}"), ..Default::default() }, &|_| None)
    };
    let ok = get("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444");
    assert_eq!((ok.status, ok.body.as_str()), (200, "1158201444"));
    assert_eq!(get("hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1").status, 403);
    assert_eq!(get("hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1").status, 403);
    let off = Engine::open_in_memory().unwrap();
    let r = off.handle_webhook(&WebhookRequest { method: "POST".into(), path: "/v1/webhook/whatsapp/bistro".into(), ..Default::default() }, &|_| None);
    assert_eq!(r.status, 404);
    assert_eq!(engine.handle_webhook(&WebhookRequest { method: "POST".into(), path: "/v1/webhook/telegram/bistro".into(), ..Default::default() }, &|_| None).status, 404);
}

#[test]
fn messenger_and_instagram_event_shapes() {
    let engine = engine();
    let body = serde_json::to_vec(&json!({
        "object": "page",
        "entry": [{ "id": "555", "time": 1733300000, "messaging": [
            { "sender": {"id": "psid-1"}, "recipient": {"id": "555"}, "timestamp": 1, "message": {"mid": "m_1", "text": "Do you have vegan options?"} },
            { "sender": {"id": "psid-2"}, "recipient": {"id": "555"}, "timestamp": 2, "message": {"mid": "m_2", "attachments": [{"type": "image", "payload": {"url": "https://x.example/a.jpg"}}]} },
            { "sender": {"id": "psid-3"}, "recipient": {"id": "555"}, "timestamp": 3, "message": {"mid": "m_3", "text": "Opening hours", "quick_reply": {"payload": "HOURS"}} },
            { "sender": {"id": "psid-4"}, "recipient": {"id": "555"}, "timestamp": 4, "postback": {"mid": "m_4", "title": "Book a table", "payload": "BOOK"} },
            { "sender": {"id": "555"}, "recipient": {"id": "psid-1"}, "timestamp": 5, "message": {"mid": "m_5", "is_echo": true, "text": "our own reply"} }
        ]}]
    }))
    .unwrap();
    let r = post(&engine, "messenger", &body, Some(sign(&body, SECRET)));
    assert_eq!(r.status, 200, "{}", r.body);
    let to: Vec<&str> = r.outbound.iter().map(|o| o.to.as_str()).collect();
    assert_eq!(to, ["psid-1", "psid-2", "psid-3", "psid-4"]);
    assert!(r.events.iter().any(|e| e.id == "m_5" && e.outcome == "echo"));
    let o = &r.outbound[0];
    assert_eq!((o.endpoint.as_str(), &o.payload["recipient"]["id"], &o.payload["messaging_type"]), ("POST /555/messages", &json!("psid-1"), &json!("RESPONSE")));
    assert!(o.payload["message"]["text"].as_str().unwrap().len() <= 2000);

    let ig = serde_json::to_vec(&json!({
        "object": "instagram",
        "entry": [{ "id": "555", "time": 1, "messaging": [
            { "sender": {"id": "ig-1"}, "recipient": {"id": "555"}, "timestamp": 1, "message": {"mid": "ig_m1", "text": "Is there parking nearby?"} },
            { "sender": {"id": "555"}, "recipient": {"id": "ig-1"}, "timestamp": 2, "message": {"mid": "ig_m2", "text": "echo", "is_echo": true} }
        ]}]
    }))
    .unwrap();
    let r = post(&engine, "instagram", &ig, Some(sign(&ig, SECRET)));
    assert_eq!(r.outbound.len(), 1);
    assert_eq!(r.outbound[0].channel, "instagram");
    assert!(r.outbound[0].payload["message"]["text"].as_str().unwrap().chars().count() <= 1000);
}

// ---- SES over SNS ----

fn openssl(args: &[&str], dir: &std::path::Path) -> Vec<u8> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

struct Sns {
    dir: tempfile::TempDir,
    pem: String,
}

impl Sns {
    fn new() -> Sns {
        let dir = tempfile::tempdir().unwrap();
        openssl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=sns.amazonaws.com"], dir.path());
        let pem = std::fs::read_to_string(dir.path().join("cert.pem")).unwrap();
        Sns { dir, pem }
    }

    fn sign(&self, m: &mut Value, version: &str) {
        let kind = m["Type"].as_str().unwrap().to_string();
        let keys: &[&str] = if kind == "Notification" {
            &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        } else {
            &["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        };
        let mut text = String::new();
        for k in keys {
            if let Some(v) = m.get(*k).and_then(Value::as_str) {
                text.push_str(&format!("{k}\n{v}\n"));
            }
        }
        std::fs::write(self.dir.path().join("msg.txt"), text).unwrap();
        let digest = if version == "1" { "-sha1" } else { "-sha256" };
        let sig = openssl(&["dgst", digest, "-sign", "key.pem", "msg.txt"], self.dir.path());
        use base64::Engine as _;
        m["SignatureVersion"] = json!(version);
        m["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig));
    }
}

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:bistro-inbound";
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem";

fn email_engine() -> Engine {
    let engine = engine();
    let cfg = ChannelConfig { sns_topic_arn: Some(TOPIC.into()), from_address: Some("hello@bistro.example".into()), ..Default::default() };
    engine.set_channel_config("bistro", "email", &cfg).unwrap();
    engine
}

fn raw_email() -> String {
    [
        "From: Ana Silva <ana@customer.example>",
        "To: hello@bistro.example",
        "Subject: Parking question",
        "Message-ID: <CAF123@mail.customer.example>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/alternative; boundary=\"b1\"",
        "",
        "--b1",
        "Content-Type: text/plain; charset=\"iso-8859-1\"",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Hi, is there parking near the caf=E9?",
        "Thanks!",
        "",
        "On Mon, Dec 1, 2026 at 9:00 Bistro <hello@bistro.example> wrote:",
        "> Thanks for dining with us",
        "--b1",
        "Content-Type: text/html; charset=\"utf-8\"",
        "",
        "<p>Hi, is there parking near the caf&eacute;?</p>",
        "--b1--",
        "",
    ]
    .join("\r\n")
}

fn notification(sns: &Sns, message_id: &str, version: &str) -> Value {
    use base64::Engine as _;
    let content = base64::engine::general_purpose::STANDARD.encode(raw_email());
    let ses = json!({
        "notificationType": "Received",
        "mail": { "source": "ana@customer.example", "messageId": message_id, "commonHeaders": { "subject": "Parking question" } },
        "receipt": { "action": { "type": "SNS", "encoding": "BASE64", "topicArn": TOPIC } },
        "content": content
    });
    let mut m = json!({
        "Type": "Notification", "MessageId": format!("sns-{message_id}"), "TopicArn": TOPIC, "Subject": "Amazon SES Email Receipt Notification",
        "Message": ses.to_string(), "Timestamp": "2026-12-04T10:00:00.000Z", "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    });
    sns.sign(&mut m, version);
    m
}

fn post_sns(engine: &Engine, sns: &Sns, m: &Value) -> brain::webhooks::WebhookResponse {
    let req = WebhookRequest { method: "POST".into(), path: "/v1/webhook/email/bistro".into(), headers: vec![], body: serde_json::to_vec(m).unwrap() };
    let pem = sns.pem.clone();
    engine.handle_webhook(&req, &move |url| (url == CERT_URL).then(|| pem.clone()))
}

#[test]
fn ses_email_is_verified_parsed_answered_and_threaded() {
    let engine = email_engine();
    let sns = Sns::new();
    for (version, id) in [("1", "ses-msg-1"), ("2", "ses-msg-2")] {
        let r = post_sns(&engine, &sns, &notification(&sns, id, version));
        assert_eq!(r.status, 200, "v{version}: {}", r.body);
        assert_eq!(r.outbound.len(), 1);
        let p = &r.outbound[0].payload;
        assert_eq!((p["to"].as_str(), p["subject"].as_str()), (Some("ana@customer.example"), Some("Re: Parking question")));
        assert_eq!(p["in_reply_to"], "<CAF123@mail.customer.example>");
        assert!(p["text"].as_str().unwrap().to_lowercase().contains("park"), "{p}");
        let trace = engine.trace(&r.outbound[0].request_id).unwrap();
        let asked = trace["request"]["message_text"].as_str().unwrap();
        assert_eq!(asked, "Hi, is there parking near the café? Thanks!", "charset and quoted-printable decoded, quote trimmed");
    }
    // Redelivery.
    let r = post_sns(&engine, &sns, &notification(&sns, "ses-msg-1", "2"));
    assert!(r.outbound.is_empty());
    assert_eq!(r.events[0].outcome, "duplicate");
}

#[test]
fn sns_rejects_forgeries_and_confirms_subscriptions() {
    let engine = email_engine();
    let sns = Sns::new();
    let mut m = notification(&sns, "ses-x", "2");
    m["Message"] = json!(m["Message"].as_str().unwrap().replace("Parking", "Free food"));
    assert_eq!(post_sns(&engine, &sns, &m).status, 403, "body changed after signing");
    let other = Sns::new();
    let forged = notification(&other, "ses-y", "2"); // signed by another key
    assert_eq!(post_sns(&engine, &sns, &forged).status, 403, "wrong signature");
    let mut wrong_topic = notification(&sns, "ses-z", "2");
    wrong_topic["TopicArn"] = json!("arn:aws:sns:us-east-1:123456789012:someone-else");
    sns.sign(&mut wrong_topic, "2");
    assert_eq!(post_sns(&engine, &sns, &wrong_topic).status, 403, "wrong topic");
    let mut bad_url = notification(&sns, "ses-w", "2");
    bad_url["SigningCertURL"] = json!("https://evil.example/sns.us-east-1.amazonaws.com/cert.pem");
    assert_eq!(post_sns(&engine, &sns, &bad_url).status, 403, "bad certificate URL");
    let mut v3 = notification(&sns, "ses-v", "2");
    v3["SignatureVersion"] = json!("3");
    assert_eq!(post_sns(&engine, &sns, &v3).status, 403);

    let mut sub = json!({
        "Type": "SubscriptionConfirmation", "MessageId": "sub-1", "Token": "tok-123", "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe to the topic.", "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok-123",
        "Timestamp": "2026-12-04T10:00:00.000Z", "SigningCertURL": CERT_URL
    });
    sns.sign(&mut sub, "1");
    let r = post_sns(&engine, &sns, &sub);
    assert_eq!(r.status, 200);
    assert_eq!(r.subscribe_url.as_deref(), Some("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok-123"));
    assert!(engine.conversations("bistro").unwrap().iter().all(|c| c.channel != "email"), "nothing was answered");
}
