//! Access: keys, scopes, rate limits, dedup and the HTTP-shaped wire contract, end to end.

use std::collections::HashMap;
use std::sync::{Arc, Barrier};

use brain::{Channel, Engine, ErrorKind, HttpRequest, HttpResponse, Plan, RespondRequest};
use serde_json::Value;

const BODY: &str = r#"{"channel":"web","channel_user_id":"user-abc","message_text":"How much is the Mystical Unicorn Bundle?"}"#;

fn engine_with_tenant() -> Engine {
    let engine = Engine::builder().in_memory().admin_token("s3cret-admin").open().unwrap();
    engine.create_tenant("acme", "Acme", Plan::Starter).unwrap();
    engine.marketplace_apply("acme", "party_supplies").unwrap();
    engine
}

fn post(engine: &Engine, path: &str, auth: Option<&str>, body: &str) -> (HttpResponse, Value) {
    let resp = engine.handle_http(&HttpRequest::new("POST", path, auth, body));
    let v: Value = serde_json::from_str(&resp.body).unwrap_or_else(|e| panic!("{e}: {}", resp.body));
    // Every response carries its request id, in the header and the body alike.
    assert_eq!(resp.header("X-Request-Id"), v["request_id"].as_str(), "{}", resp.body);
    assert!(v["request_id"].as_str().unwrap().starts_with("req_"));
    assert_eq!(resp.header("Content-Type"), Some("application/json"));
    (resp, v)
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn assert_error(resp: &HttpResponse, v: &Value, status: u16, code: &str, message: &str) {
    assert_eq!(resp.status, status, "{}", resp.body);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"], code);
    assert!(v["message"].as_str().unwrap().contains(message), "{}", resp.body);
    assert_eq!(v.as_object().unwrap().len(), 4, "{}", resp.body);
}

#[test]
fn every_row_of_the_reference_error_table() {
    let engine = engine_with_tenant();
    let key = engine.issue_key("acme", "Production backend", &[], None).unwrap().api_key;
    let auth = bearer(&key);

    // 200 with the rate-limit headers.
    let (resp, v) = post(&engine, "/api/v1/respond", Some(&auth), BODY);
    assert_eq!(resp.status, 200);
    assert_eq!(v["ok"], true);
    assert!(v["response"].as_str().unwrap().contains("$89.00"));
    assert_eq!(resp.header("X-RateLimit-Limit"), Some("60"));
    assert_eq!(resp.header("X-RateLimit-Remaining"), Some("59"));
    let reset: u64 = resp.header("X-RateLimit-Reset").unwrap().parse().unwrap();
    assert_eq!(reset % 60, 0);

    // 400: malformed body or missing field.
    let (resp, v) = post(&engine, "/api/v1/respond", Some(&auth), r#"{"channel":"web"}"#);
    assert_error(&resp, &v, 400, "bad_request", "`channel_user_id`");
    // 401: missing or malformed bearer token, unknown key, right prefix with a wrong secret.
    let (resp, v) = post(&engine, "/api/v1/respond", None, BODY);
    assert_error(&resp, &v, 401, "unauthorized", "missing Authorization");
    let (resp, v) = post(&engine, "/api/v1/respond", Some("Token abc"), BODY);
    assert_error(&resp, &v, 401, "unauthorized", "malformed");
    let (resp, v) = post(&engine, "/api/v1/respond", Some("Bearer pk_live_zz"), BODY);
    assert_error(&resp, &v, 401, "unauthorized", "malformed API key");
    let unknown = format!("Bearer pk_live_00000000_{}", "0".repeat(48));
    let (resp, v) = post(&engine, "/api/v1/respond", Some(&unknown), BODY);
    assert_error(&resp, &v, 401, "unauthorized", "unknown API key");
    let forged = format!("Bearer {}{}", &key[..17], "a".repeat(48));
    let (resp, v) = post(&engine, "/api/v1/respond", Some(&forged), BODY);
    assert_error(&resp, &v, 401, "unauthorized", "unknown API key");
    assert!(!resp.body.contains(&key[17..]), "the secret never appears in an error");
    // 403: scope insufficient, key revoked.
    let trace_only = engine.issue_key("acme", "tracer", &["trace"], None).unwrap();
    let (resp, v) = post(&engine, "/api/v1/respond", Some(&bearer(&trace_only.api_key)), BODY);
    assert_error(&resp, &v, 403, "forbidden", "lacks the `respond` scope");
    let doomed = engine.issue_key("acme", "old laptop", &[], None).unwrap();
    engine.revoke_key(&doomed.key.prefix).unwrap();
    let (resp, v) = post(&engine, "/api/v1/respond", Some(&bearer(&doomed.api_key)), BODY);
    assert_error(&resp, &v, 403, "forbidden", "revoked");
    // 404: tenant misconfigured (no persona; deleted), unknown route.
    engine.create_tenant("bare", "", Plan::Pro).unwrap();
    let bare = engine.issue_key("bare", "", &[], None).unwrap();
    let (resp, v) = post(&engine, "/api/v1/respond", Some(&bearer(&bare.api_key)), BODY);
    assert_error(&resp, &v, 404, "not_found", "no persona");
    assert_eq!(resp.header("X-RateLimit-Limit"), Some("600"), "pro plan");
    engine.delete_tenant("bare").unwrap();
    let (resp, v) = post(&engine, "/api/v1/respond", Some(&bearer(&bare.api_key)), BODY);
    assert_error(&resp, &v, 404, "not_found", "does not exist");
    let (resp, v) = post(&engine, "/api/v2/respond", Some(&auth), BODY);
    assert_error(&resp, &v, 404, "not_found", "no route");
    // 429 with Retry-After.
    let tight = engine.issue_key("acme", "tight", &[], Some(2)).unwrap();
    for _ in 0..2 {
        assert_eq!(post(&engine, "/api/v1/respond", Some(&bearer(&tight.api_key)), BODY).0.status, 200);
    }
    let (resp, v) = post(&engine, "/api/v1/respond", Some(&bearer(&tight.api_key)), BODY);
    assert_error(&resp, &v, 429, "rate_limited", "Per-key limit of 2 rpm reached.");
    let retry: u64 = resp.header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(resp.header("X-RateLimit-Remaining"), Some("0"));

    // Every request id resolves to a trace, failures included; the trace knows only the prefix.
    let trace = engine.trace(v["request_id"].as_str().unwrap()).unwrap();
    assert_eq!(trace["outcome"], "rate_limited");
    assert_eq!(trace["auth"]["key_prefix"], tight.key.prefix);
    assert!(!trace.to_string().contains(&tight.api_key));
}

#[test]
fn a_failing_turn_is_a_server_error_with_a_request_id() {
    struct Broken;
    impl brain::Composer for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        fn compose(&self, _: &brain::ComposeInput<'_>) -> brain::Result<brain::Composition> {
            Err(brain::Error::new(ErrorKind::Model, "the model is on fire"))
        }
    }
    let engine = Engine::builder().in_memory().composer(Broken).open().unwrap();
    engine.create_tenant("acme", "", Plan::Starter).unwrap();
    engine.marketplace_apply("acme", "party_supplies").unwrap();
    let key = engine.issue_key("acme", "", &[], None).unwrap().api_key;
    let (resp, v) = post(&engine, "/api/v1/respond", Some(&bearer(&key)), BODY);
    assert_error(&resp, &v, 500, "server_error", "on fire");
    assert_eq!(engine.trace(v["request_id"].as_str().unwrap()).unwrap()["outcome"], "server_error");
}

#[test]
fn sixteen_threads_on_one_key_never_get_more_than_the_limit_per_window() {
    let engine = engine_with_tenant();
    let key = engine.issue_key("acme", "hammer", &[], Some(50)).unwrap().api_key;
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let (engine, key, barrier) = (engine.clone(), key.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let auth = bearer(&key);
                let mut admitted: Vec<u64> = Vec::new();
                let mut limited = 0;
                for i in 0..10 {
                    let req = RespondRequest::new(Channel::Api, format!("t{t}-{i}"), "hi");
                    let out = engine.respond_with_key(Some(&auth), &req);
                    let reset = out.rate_limit.expect("a recognised key reports its window").reset;
                    match out.result {
                        Ok(_) => admitted.push(reset),
                        Err(e) if e.kind() == ErrorKind::RateLimited => {
                            assert!(e.retry_after().is_some());
                            limited += 1
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
                (admitted, limited)
            })
        })
        .collect();
    let mut per_window: HashMap<u64, u32> = HashMap::new();
    let mut limited = 0;
    for h in handles {
        let (admitted, l) = h.join().unwrap();
        limited += l;
        for w in admitted {
            *per_window.entry(w).or_default() += 1;
        }
    }
    assert!(per_window.values().all(|&n| n <= 50), "{per_window:?}");
    assert!(limited >= 160 - 100, "at most two windows can admit: {limited} limited");
    let info = &engine.keys(Some("acme")).unwrap()[0];
    assert_eq!(info.call_count, 160, "every authenticated call counts as usage");
    assert!(info.last_used_at.is_some());
}

#[test]
fn dedup_runs_a_turn_once_and_replays_it_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"{"channel":"whatsapp","channel_user_id":"+15035550101","message_text":"What are your opening hours?","dedup_key":"wamid.HBgL123"}"#;
    let (first, auth) = {
        let engine = Engine::open(dir.path()).unwrap();
        engine.create_tenant("acme", "", Plan::Starter).unwrap();
        engine.marketplace_apply("acme", "party_supplies").unwrap();
        let key = engine.issue_key("acme", "", &[], Some(3)).unwrap().api_key;
        let auth = bearer(&key);
        let (first, _) = post(&engine, "/api/v1/respond", Some(&auth), body);
        assert_eq!(first.status, 200);
        // Replays return the stored bytes and never count against the limit (3 rpm here).
        for _ in 0..5 {
            let (again, _) = post(&engine, "/api/v1/respond", Some(&auth), body);
            assert_eq!((again.status, &again.body), (200, &first.body));
            assert_eq!(again.header("X-Request-Id"), first.header("X-Request-Id"));
            assert_eq!(again.header("X-RateLimit-Remaining"), Some("2"));
        }
        // Reusing the key for another message is a client bug, said plainly.
        let other = body.replace("opening hours", "delivery times");
        let (resp, v) = post(&engine, "/api/v1/respond", Some(&auth), &other);
        assert_error(&resp, &v, 400, "bad_request", "already used for a different request");
        (first, auth)
    };
    // After a restart the stored answer is still the answer.
    let engine = Engine::open(dir.path()).unwrap();
    let (again, _) = post(&engine, "/api/v1/respond", Some(&auth), body);
    assert_eq!(again.body, first.body);
    // The turn ran once: one user message and one reply.
    assert_eq!(engine.messages("acme", Channel::Whatsapp, "+15035550101").unwrap().len(), 2);

    // The trusted path shares the mechanism, and keys are scoped to the tenant.
    engine.create_tenant("other", "", Plan::Starter).unwrap();
    engine.marketplace_apply("other", "restaurant").unwrap();
    let mut req: RespondRequest = serde_json::from_str(body).unwrap();
    let a = engine.respond("acme", &req).unwrap();
    let first_v: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(a.request_id, first_v["request_id"]);
    let b = engine.respond("other", &req).unwrap();
    assert_ne!(a.request_id, b.request_id);
    assert_ne!(a.assistant_name, b.assistant_name);
    req.dedup_key = Some("fresh".into());
    assert_ne!(engine.respond("acme", &req).unwrap().request_id, a.request_id);
}

#[test]
fn concurrent_duplicates_run_the_turn_once_and_all_get_its_answer() {
    let engine = engine_with_tenant();
    let mut req = RespondRequest::new(Channel::Messenger, "psid-1", "How long does delivery take?");
    req.dedup_key = Some("m_abc".into());
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (engine, req, barrier) = (engine.clone(), req.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                engine.respond("acme", &req).unwrap()
            })
        })
        .collect();
    let answers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:#?}");
    assert_eq!(engine.messages("acme", Channel::Messenger, "psid-1").unwrap().len(), 2);
}

#[test]
fn dedup_keys_expire_after_the_window() {
    let engine = Engine::builder().in_memory().dedup_window(std::time::Duration::from_millis(300)).open().unwrap();
    engine.create_tenant("acme", "", Plan::Starter).unwrap();
    engine.marketplace_apply("acme", "party_supplies").unwrap();
    let mut req = RespondRequest::new(Channel::Web, "u", "hi");
    req.dedup_key = Some("k".into());
    let a = engine.respond("acme", &req).unwrap();
    assert_eq!(engine.respond("acme", &req).unwrap().request_id, a.request_id);
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_ne!(engine.respond("acme", &req).unwrap().request_id, a.request_id);
}

#[test]
fn admin_routes_need_the_admin_token_or_an_admin_key_for_its_own_tenant() {
    let engine = engine_with_tenant();
    engine.create_tenant("other", "", Plan::Starter).unwrap();
    let issue = r#"{"tenant_id":"acme","label":"Webflow site","scopes":["respond","trace"]}"#;
    let (resp, v) = post(&engine, "/v1/admin/api-keys/issue", Some("Bearer wrong"), issue);
    assert_error(&resp, &v, 401, "unauthorized", "invalid admin token");
    let (resp, v) = post(&engine, "/v1/admin/api-keys/issue", None, issue);
    assert_error(&resp, &v, 401, "unauthorized", "missing");
    let (resp, v) = post(&engine, "/v1/admin/api-keys/issue", Some("Bearer s3cret-admin"), issue);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let key = v["api_key"].as_str().unwrap().to_string();
    assert_eq!(v["key"]["scopes"], serde_json::json!(["respond", "trace"]));
    assert_eq!(v["key"]["label"], "Webflow site");

    // The new key works, and its trace scope reads its own tenant's traces only.
    let (_, turn) = post(&engine, "/api/v1/respond", Some(&bearer(&key)), BODY);
    let id = turn["request_id"].as_str().unwrap();
    let get = |auth: &str, id: &str| engine.handle_http(&HttpRequest::new("GET", &format!("/api/v1/traces/{id}"), Some(auth), ""));
    let t = get(&bearer(&key), id);
    assert_eq!(t.status, 200, "{}", t.body);
    let tv: Value = serde_json::from_str(&t.body).unwrap();
    assert_eq!(tv["trace"]["auth"]["method"], "api_key");
    assert!(tv["trace"]["retrieval"][0]["score"].as_f64().unwrap() > 0.0);
    let other_key = engine.issue_key("other", "", &["trace"], None).unwrap().api_key;
    assert_eq!(get(&bearer(&other_key), id).status, 404);

    // An admin-scoped key acts on its own tenant only.
    let admin_key = engine.issue_key("other", "ops", &["admin"], None).unwrap().api_key;
    let apply = |tenant: &str| format!(r#"{{"tenant_id":"{tenant}","vertical_key":"restaurant"}}"#);
    let (resp, v) = post(&engine, "/v1/admin/marketplace/apply", Some(&bearer(&admin_key)), &apply("other"));
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(v["result"]["status"], "installed");
    let (resp, v) = post(&engine, "/v1/admin/marketplace/apply", Some(&bearer(&admin_key)), &apply("acme"));
    assert_error(&resp, &v, 403, "forbidden", "own tenant");
    let (resp, v) = post(&engine, "/v1/admin/marketplace/apply", Some("Bearer s3cret-admin"), r#"{"tenant_id":"acme","vertical_key":"bakery"}"#);
    assert_error(&resp, &v, 404, "not_found", "valid keys");

    // Without a configured admin token the admin routes are closed.
    let closed = Engine::open_in_memory().unwrap();
    let (resp, v) = post(&closed, "/v1/admin/api-keys/issue", Some("Bearer anything"), issue);
    assert_error(&resp, &v, 403, "forbidden", "no admin token");
}

#[test]
fn keys_are_listed_with_usage_and_revocation_is_kept_for_audit() {
    let engine = engine_with_tenant();
    let a = engine.issue_key("acme", "Production backend", &[], None).unwrap();
    let b = engine.issue_key("acme", "Local dev", &["respond", "ingest"], Some(10)).unwrap();
    for _ in 0..3 {
        engine.respond_with_key(Some(&bearer(&a.api_key)), &RespondRequest::new(Channel::Web, "u", "hi")).result.unwrap();
    }
    engine.revoke_key(&b.api_key).unwrap();
    engine.revoke_key(&b.key.prefix).unwrap();
    assert_eq!(engine.revoke_key("deadbeef").unwrap_err().kind(), ErrorKind::NotFound);
    let keys = engine.keys(Some("acme")).unwrap();
    let ka = keys.iter().find(|k| k.prefix == a.key.prefix).unwrap();
    let kb = keys.iter().find(|k| k.prefix == b.key.prefix).unwrap();
    assert_eq!((ka.call_count, ka.revoked_at.is_none()), (3, true));
    assert_eq!((kb.call_count, kb.revoked_at.is_some(), kb.rate_limit_rpm), (0, true, Some(10)));
    assert_eq!(engine.issue_key("acme", "", &["root"], None).unwrap_err().kind(), ErrorKind::BadRequest);
    assert_eq!(engine.issue_key("nobody", "", &[], None).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn no_plaintext_key_or_admin_token_ever_reaches_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let admin = "admin-token-7f3c9e1d2b";
    let mut keys = Vec::new();
    {
        let engine = Engine::builder().data_dir(dir.path()).admin_token(admin).open().unwrap();
        engine.create_tenant("acme", "", Plan::Starter).unwrap();
        let issue = r#"{"tenant_id":"acme","vertical_key":"party_supplies"}"#;
        assert_eq!(post(&engine, "/v1/admin/marketplace/apply", Some(&bearer(admin)), issue).0.status, 200);
        for i in 0..3 {
            let (_, v) = post(&engine, "/v1/admin/api-keys/issue", Some(&bearer(admin)), &format!(r#"{{"tenant_id":"acme","label":"k{i}"}}"#));
            keys.push(v["api_key"].as_str().unwrap().to_string());
        }
        for k in &keys {
            assert_eq!(post(&engine, "/api/v1/respond", Some(&bearer(k)), BODY).0.status, 200);
        }
        post(&engine, "/api/v1/respond", Some(&bearer(&keys[0].replace('a', "b"))), BODY);
    }
    let mut files = vec![dir.path().to_path_buf()];
    let mut scanned = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        scanned += bytes.len();
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains(admin), "admin token in {}", p.display());
        for k in &keys {
            assert!(!hay.contains(&k[17..]), "a key secret in {}", p.display());
            assert!(!hay.contains(k.as_str()), "a plaintext key in {}", p.display());
        }
    }
    assert!(scanned > 100_000, "scanned {scanned} bytes");
    // The hashes are what is there.
    let hash = brain_sha256(&keys[0]);
    let db = std::fs::read(dir.path().join("brain.db")).unwrap();
    let wal = std::fs::read(dir.path().join("brain.db-wal")).unwrap_or_default();
    let all = [db, wal].concat();
    assert!(String::from_utf8_lossy(&all).contains(&hash));
}

fn brain_sha256(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_keys_tool_scopes_narrow_the_tools_its_turns_may_run() {
    let engine = engine_with_tenant();
    let narrow = engine.issue_key("acme", "kb only", &["respond", "tools:kb"], None).unwrap().api_key;
    let full = engine.issue_key("acme", "all tools", &["respond"], None).unwrap().api_key;
    let ask = |key: &str, user: &str| {
        engine
            .respond_with_key(Some(&bearer(key)), &RespondRequest::new(Channel::Web, user, "I need party supplies for 12 kids"))
            .result
            .unwrap()
    };
    let r = ask(&full, "u1");
    assert_eq!(r.metadata.tools_called, ["commerce.recommend_products"]);
    let r = ask(&narrow, "u2");
    assert!(r.metadata.tools_called.is_empty(), "{:?}", r.metadata.tools_called);
    assert!(!r.response.contains("lock it in"), "{}", r.response);
    let e = engine.issue_key("acme", "", &["tools:"], None).unwrap_err();
    assert!(e.to_string().contains("tools:<namespace>"), "{e}");
}
