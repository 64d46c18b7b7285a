//! The `brain` binary end to end, on a real data directory.

use std::io::Write;
use std::process::{Command, Stdio};

fn brain(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_brain"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn init_list_respond_chat_ingest_trace() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, out, _) = brain(d, &["marketplace", "list"], None);
    assert_eq!(code, 0);
    for key in ["party_supplies", "restaurant", "salon_spa", "dental_clinic", "real_estate", "fashion_store", "saas_support"] {
        assert!(out.contains(key), "{out}");
    }
    let (code, out, _) = brain(d, &["init", "--tenant", "demo", "--vertical", "party_supplies"], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("installed vertical party_supplies"), "{out}");
    let (_, out, _) = brain(d, &["tenants"], None);
    assert!(out.contains("demo") && out.contains("Astra"), "{out}");

    let req = r#"{"channel":"web","channel_user_id":"u1","message_text":"How much is the Mystical Unicorn Bundle?"}"#;
    let (code, out, _) = brain(d, &["respond", "--tenant", "demo"], Some(req));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["response"].as_str().unwrap().contains("$89.00"));
    let request_id = v["request_id"].as_str().unwrap().to_string();

    let (code, out, err) = brain(d, &["respond", "--tenant", "demo"], Some(r#"{"channel":"web"}"#));
    assert_eq!(code, 2, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"], "bad_request");

    let (code, out, _) = brain(d, &["chat", "--tenant", "demo", "--user", "u2"], Some("hi\nWhat are your opening hours?\n"));
    assert_eq!(code, 0);
    assert!(out.contains("Astra> Hi!") && out.contains("09:00"), "{out}");

    let kb = tempfile::tempdir().unwrap();
    std::fs::write(kb.path().join("llamas.md"), "# Llamas\n\nLlama rides cost $40.00 per half hour.").unwrap();
    let (code, out, _) = brain(d, &["ingest", "--tenant", "demo", kb.path().to_str().unwrap()], None);
    assert_eq!(code, 0);
    assert!(out.contains("1 added"), "{out}");
    let (_, out, _) = brain(d, &["chat", "--tenant", "demo"], Some("do you do llama rides?\n"));
    assert!(out.contains("$40.00"), "{out}");

    let (_, out, _) = brain(d, &["conversations", "--tenant", "demo"], None);
    assert!(out.contains("u1") && out.contains("u2"), "{out}");
    let (_, out, _) = brain(d, &["trace", &request_id], None);
    assert!(out.contains("\"decision\": \"catalog\""), "{out}");

    // Keys: issue (printed once), use through the HTTP shape, list with usage, revoke.
    let (code, key, err) = brain(d, &["keys", "issue", "--tenant", "demo", "--label", "backend", "--scopes", "respond,trace"], None);
    assert_eq!(code, 0, "{err}");
    let key = key.trim().to_string();
    assert!(key.starts_with("pk_live_") && err.contains("only time"), "{key} {err}");
    let http = serde_json::json!({
        "method": "POST", "path": "/api/v1/respond",
        "headers": [["Authorization", format!("Bearer {key}")]],
        "body": req,
    });
    let (code, out, _) = brain(d, &["http"], Some(&http.to_string()));
    assert_eq!(code, 0);
    let resp: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(resp["status"], 200, "{out}");
    assert!(out.contains("X-RateLimit-Remaining"), "{out}");
    let (_, out, _) = brain(d, &["usage", "--tenant", "demo"], None);
    assert!(out.contains(&key[..16]) && out.contains("active") && out.contains("1 calls"), "{out}");
    let (code, _, _) = brain(d, &["keys", "revoke", &key[8..16]], None);
    assert_eq!(code, 0);
    let (_, out, _) = brain(d, &["keys", "list"], None);
    assert!(out.contains("revoked"), "{out}");
    let db = std::fs::read(d.join("brain.db")).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains(&key[17..]));

    let (code, _, err) = brain(d, &["marketplace", "apply", "--tenant", "demo", "bakery"], None);
    assert_eq!(code, 3);
    assert!(err.contains("valid keys"), "{err}");
    let (code, out, _) = brain(d, &["--help"], None);
    assert_eq!(code, 0);
    assert!(out.contains("Getting started"), "{out}");
}

#[test]
fn the_demo_runs_a_scripted_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = brain(dir.path(), &["demo"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Astra> The Mystical Unicorn Bundle is $89.00"), "{out}");
    assert!(out.contains("the Mystical Unicorn Bundle is in stock"), "{out}");
    assert!(out.contains("tools commerce.check_stock"), "{out}");
    assert!(out.contains("Astra> Got it — for 12 kids, the Mystical Unicorn Bundle covers it"), "{out}");
    assert!(out.contains("tools commerce.recommend_products") && out.contains("Done! Your order ORD-"), "{out}");
}
