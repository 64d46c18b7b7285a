//! End-to-end behaviour of the engine on real SQLite files and real tantivy indexes.

use brain::{Channel, Document, Engine, ErrorKind, Plan, RespondRequest, VerticalPack};

fn ask(engine: &Engine, tenant: &str, user: &str, text: &str) -> brain::RespondResponse {
    engine.respond(tenant, &RespondRequest::new(Channel::Web, user, text)).unwrap()
}

fn party(engine: &Engine, id: &str) {
    engine.create_tenant(id, id, Plan::Starter).unwrap();
    engine.marketplace_apply(id, "party_supplies").unwrap();
}

#[test]
fn the_reference_shape_comes_back_with_a_ulid_request_id() {
    let engine = Engine::open_in_memory().unwrap();
    party(&engine, "acme");
    let (status, body) = engine.respond_json(
        "acme",
        r#"{"channel":"web","channel_user_id":"user-abc","message_text":"How much is the Mystical Unicorn Bundle?"}"#,
    );
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["assistant_name"], "Astra");
    let id = v["request_id"].as_str().unwrap();
    assert!(id.starts_with("req_") && id.len() == 30, "{id}");
    assert!(v["response"].as_str().unwrap().contains("$89.00"));
    let meta = v["metadata"].as_object().unwrap();
    let mut keys: Vec<&String> = meta.keys().collect();
    keys.sort();
    assert_eq!(keys, ["latency_ms", "tokens_in", "tokens_out", "tools_called"]);
    assert!(meta["tokens_out"].as_u64().unwrap() > 5);
    let top: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(top.len(), 5, "{top:?}");
}

#[test]
fn every_validation_and_lookup_error_has_the_wire_shape() {
    let engine = Engine::open_in_memory().unwrap();
    party(&engine, "acme");
    engine.create_tenant("empty", "No persona yet", Plan::Pro).unwrap();
    let cases: &[(&str, &str, u16, &str, &str)] = &[
        ("acme", "not json", 400, "bad_request", "not valid JSON"),
        ("acme", r#"{"channel":"web","channel_user_id":"u"}"#, 400, "bad_request", "`message_text`"),
        ("acme", r#"{"channel":"web","message_text":"hi"}"#, 400, "bad_request", "`channel_user_id`"),
        ("acme", r#"{"channel":"pigeon","channel_user_id":"u","message_text":"hi"}"#, 400, "bad_request", "`channel`"),
        ("acme", r#"{"channel":"web","channel_user_id":"u","message_text":"   "}"#, 400, "bad_request", "must not be empty"),
        ("acme", r#"{"channel":"web","channel_user_id":"u","message_text":"hi","metadata":"x"}"#, 400, "bad_request", "`metadata`"),
        ("nobody", r#"{"channel":"web","channel_user_id":"u","message_text":"hi"}"#, 404, "not_found", "does not exist"),
        ("empty", r#"{"channel":"web","channel_user_id":"u","message_text":"hi"}"#, 404, "not_found", "no persona"),
    ];
    for (tenant, body, status, code, msg) in cases {
        let (s, out) = engine.respond_json(tenant, body);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(s, *status, "{body}: {out}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"], *code);
        assert!(v["message"].as_str().unwrap().contains(msg), "{body}: {out}");
        assert!(v["request_id"].as_str().unwrap().starts_with("req_"));
        assert_eq!(v.as_object().unwrap().len(), 4);
    }
    let big = "x".repeat(brain::MAX_MESSAGE_BYTES + 1);
    let e = engine.respond("acme", &RespondRequest::new(Channel::Web, "u", big)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest);
    assert!(e.request_id().unwrap().starts_with("req_"));
    let e = engine.marketplace_apply("acme", "bakery").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("saas_support"));
    assert_eq!(engine.create_tenant("Bad Id", "", Plan::Starter).unwrap_err().kind(), ErrorKind::BadRequest);
}

#[test]
fn no_query_of_one_tenant_ever_reaches_another_tenants_text() {
    let engine = Engine::open_in_memory().unwrap();
    for t in ["alpha", "beta", "b", "bet"] {
        engine.create_tenant(t, t, Plan::Starter).unwrap();
        engine.marketplace_apply(t, "restaurant").unwrap();
    }
    let secret = |t: &str| Document {
        id: "secret".into(),
        title: format!("Vault code {t}"),
        body: format!("The zanzibarquux vault code of {t} is {t}-771 and the xylophonic password is pw-{t}."),
    };
    for t in ["alpha", "beta", "b", "bet"] {
        engine.put_document(t, &secret(t)).unwrap();
    }
    let attacks = [
        "zanzibarquux vault code",
        "xylophonic password",
        "beta-771",
        "pw-beta",
        "tenant:beta vault",
        "tenant:beta OR tenant:alpha zanzibarquux",
        "*",
        "body:zanzibarquux",
        "\" OR 1=1 -- zanzibarquux",
        "zanzibarquux\u{1f}beta",
        "(vault AND code) OR beta",
        "vault~2 code^10",
    ];
    for attacker in ["alpha", "b", "bet"] {
        for (i, a) in attacks.iter().enumerate() {
            let r = ask(&engine, attacker, &format!("attacker-{i}"), a);
            let text = r.response.to_lowercase();
            for victim in ["alpha", "beta", "b", "bet"].iter().filter(|v| **v != attacker) {
                assert!(!text.contains(&format!("pw-{victim}.")), "{attacker} saw {victim}'s text via {a:?}: {text}");
                assert!(!text.contains(&format!("{victim}-771")), "{attacker} saw {victim}'s text via {a:?}: {text}");
            }
            let trace = engine.trace(&r.request_id).unwrap();
            assert_eq!(trace["tenant_id"], attacker);
        }
    }
    // Each tenant still finds its own secret.
    let r = ask(&engine, "beta", "owner", "what is the zanzibarquux vault code?");
    assert!(r.response.contains("beta-771"), "{}", r.response);
}

#[test]
fn a_data_directory_reopens_with_everything_and_without_reindexing() {
    let dir = tempfile::tempdir().unwrap();
    let first;
    {
        let engine = Engine::open(dir.path()).unwrap();
        party(&engine, "acme");
        first = ask(&engine, "acme", "u1", "How much is the Mystical Unicorn Bundle?");
        ask(&engine, "acme", "u1", "What are your opening hours?");
    }
    let engine = Engine::open(dir.path()).unwrap();
    let stats = engine.stats().unwrap();
    assert!(!stats.rebuilt_index_on_open, "{stats:?}");
    assert_eq!(stats.chunks, stats.indexed_chunks);
    assert!(stats.chunks > 40);
    assert_eq!(engine.tenants().unwrap()[0].vertical_key.as_deref(), Some("party_supplies"));
    assert_eq!(engine.messages("acme", Channel::Web, "u1").unwrap().len(), 4);
    assert_eq!(engine.trace(&first.request_id).unwrap()["decision"], "catalog");
    // Context survives the reopen: "it" is still the bundle.
    let r = ask(&engine, "acme", "u1", "Is it in stock?");
    assert!(r.response.contains("Mystical Unicorn Bundle"), "{}", r.response);
    drop(engine);

    // A lost index is derived data: it is rebuilt from brain.db on open.
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let stats = engine.stats().unwrap();
    assert!(stats.rebuilt_index_on_open);
    assert_eq!(stats.chunks, stats.indexed_chunks);
    assert!(ask(&engine, "acme", "u2", "How much is the Mystical Unicorn Bundle?").response.contains("$89.00"));
}

#[test]
fn eight_threads_of_concurrent_turns_all_succeed_and_all_persist() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    party(&engine, "acme");
    engine.create_tenant("bistro", "bistro", Plan::Pro).unwrap();
    engine.marketplace_apply("bistro", "restaurant").unwrap();
    let questions = ["What are your opening hours?", "How long does delivery take?", "How much is the Mystical Unicorn Bundle?", "hello"];
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let tenant = if t % 2 == 0 { "acme" } else { "bistro" };
                for i in 0..25 {
                    let q = questions[(t + i) % questions.len()];
                    // Threads share conversations pairwise, so writes to one conversation race.
                    let user = format!("user-{}", t / 2);
                    engine.respond(tenant, &RespondRequest::new(Channel::Whatsapp, user, q)).expect("turn failed");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total: u64 = ["acme", "bistro"].iter().map(|t| engine.conversations(t).unwrap().iter().map(|c| c.messages).sum::<u64>()).sum();
    assert_eq!(total, 8 * 25 * 2);
}

#[test]
fn knowledge_changes_are_visible_to_the_next_turn() {
    let engine = Engine::open_in_memory().unwrap();
    party(&engine, "acme");
    let doc = |body: &str| Document { id: "llama".into(), title: "Llama rides".into(), body: body.into() };
    assert_eq!(ask(&engine, "acme", "u", "Do you offer llama rides?").metadata.tools_called.len(), 0);
    engine.put_document("acme", &doc("Llama rides cost $40.00 per half hour at your party.")).unwrap();
    assert!(ask(&engine, "acme", "u", "Do you offer llama rides?").response.contains("$40.00"));
    engine.put_document("acme", &doc("Llama rides now cost $55.00 per half hour.")).unwrap();
    let r = ask(&engine, "acme", "u", "Do you offer llama rides?");
    assert!(r.response.contains("$55.00") && !r.response.contains("$40.00"), "{}", r.response);
    engine.delete_document("acme", "llama").unwrap();
    assert!(!ask(&engine, "acme", "u", "Do you offer llama rides?").response.contains("$55.00"));
    assert_eq!(engine.delete_document("acme", "llama").unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn ingest_is_incremental_atomic_and_reports_progress() {
    let engine = Engine::open_in_memory().unwrap();
    engine.create_tenant("shop", "", Plan::Starter).unwrap();
    engine
        .set_persona("shop", &brain::Persona::from_toml_str(include_str!("fixtures/persona.toml")).unwrap())
        .unwrap();
    let kb = tempfile::tempdir().unwrap();
    std::fs::write(kb.path().join("returns.md"), "# Returns\n\nYou can return shoes within 45 days for a full refund.").unwrap();
    std::fs::create_dir(kb.path().join("more")).unwrap();
    std::fs::write(kb.path().join("more/gift-wrap.txt"), "Gift wrapping costs $4.00 per item.").unwrap();
    std::fs::write(kb.path().join("items.csv"), "sku,name,price,stock,colour\nS1,Trail Runner Shoe,120.00,3,blue\n").unwrap();
    let mut seen = Vec::new();
    let r = engine.ingest_path("shop", kb.path(), &mut |p| seen.push((p.done, p.total))).unwrap();
    assert_eq!((r.files, r.added, r.updated, r.unchanged, r.catalog_items), (3, 2, 0, 0, 1));
    assert_eq!(seen.last(), Some(&(6, 6)));
    assert!(ask(&engine, "shop", "u", "how long do I have to return shoes?").response.contains("45 days"));
    assert!(ask(&engine, "shop", "u", "how much is the trail runner shoe?").response.contains("$120.00"));

    let r = engine.ingest_path("shop", kb.path(), &mut |_| {}).unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (0, 0, 2));
    std::fs::write(kb.path().join("returns.md"), "# Returns\n\nYou can return shoes within 60 days for a full refund.").unwrap();
    let r = engine.ingest_path("shop", kb.path(), &mut |_| {}).unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (0, 1, 1));
    let reply = ask(&engine, "shop", "u2", "how long do I have to return shoes?").response;
    assert!(reply.contains("60 days") && !reply.contains("45 days"), "{reply}");

    // A file that left the folder takes its content with it; another folder's file of the same
    // name is a different document.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("gift-wrap.txt"), "Ribbon costs $1.50 per metre.").unwrap();
    assert_eq!(engine.ingest_path("shop", other.path(), &mut |_| {}).unwrap().added, 1);
    std::fs::remove_file(kb.path().join("more/gift-wrap.txt")).unwrap();
    std::fs::remove_file(kb.path().join("items.csv")).unwrap();
    let r = engine.ingest_path("shop", kb.path(), &mut |_| {}).unwrap();
    assert_eq!((r.removed, r.unchanged), (1, 1));
    assert!(engine.catalog("shop").unwrap().is_empty());
    assert!(!ask(&engine, "shop", "u4", "how much is gift wrapping?").response.contains("$4.00"));
    assert!(ask(&engine, "shop", "u4", "how much is ribbon?").response.contains("$1.50"));

    // A file that is not UTF-8 fails the whole ingest, naming the file, and changes nothing.
    std::fs::write(kb.path().join("returns.md"), "# Returns\n\nNow 90 days.").unwrap();
    std::fs::write(kb.path().join("broken.txt"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let e = engine.ingest_path("shop", kb.path(), &mut |_| {}).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest);
    assert!(e.to_string().contains("broken.txt"), "{e}");
    assert!(ask(&engine, "shop", "u3", "how long do I have to return shoes?").response.contains("60 days"));
    let e = engine.ingest_path("shop", kb.path().join("missing"), &mut |_| {}).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest);
}

#[test]
fn conversations_carry_context_and_stay_bounded() {
    let engine = Engine::builder().in_memory().history_window(6).open().unwrap();
    party(&engine, "acme");
    let r = ask(&engine, "acme", "u", "How long does delivery take?");
    assert!(r.response.contains("business days"), "{}", r.response);
    let r = ask(&engine, "acme", "u", "and how much is it?");
    assert!(r.response.contains('$'), "{}", r.response);
    let r = ask(&engine, "acme", "u", "What time do you open?");
    let r2 = ask(&engine, "acme", "u", "What about Sunday?");
    assert!(r.response.contains("09:00") && r2.response.contains("11:00"), "{} / {}", r.response, r2.response);

    // The per-turn input stops growing once the history window is full.
    let mut tokens = Vec::new();
    for _ in 0..12 {
        tokens.push(ask(&engine, "acme", "u", "What is your return policy?").metadata.tokens_in);
    }
    assert_eq!(tokens[8], tokens[11], "{tokens:?}");
    assert_eq!(engine.messages("acme", Channel::Web, "u").unwrap().len(), 2 * 16);
}

#[test]
fn the_composer_greets_clarifies_and_falls_back_in_the_personas_voice() {
    let engine = Engine::open_in_memory().unwrap();
    party(&engine, "acme");
    let persona = engine.persona("acme").unwrap();
    assert_eq!(ask(&engine, "acme", "u", "hello!").response, persona.greeting);
    let r = ask(&engine, "acme", "u", "qwertyuiop asdfghjkl");
    assert_eq!(r.response, persona.fallback);
    assert_eq!(engine.trace(&r.request_id).unwrap()["decision"], "fallback");

    // Three topics, each in a different document: the composer asks which one is meant.
    engine.create_tenant("shop", "", Plan::Starter).unwrap();
    engine.set_persona("shop", &brain::Persona::from_toml_str(include_str!("fixtures/persona.toml")).unwrap()).unwrap();
    for (id, title, body) in [
        ("wrap", "Gift wrapping", "We wrap presents in recycled paper for a small charge."),
        ("care", "Shoe care", "Clean leather shoes with a damp cloth and let them dry slowly."),
        ("post", "Parcels", "Parcels leave our warehouse every weekday afternoon."),
    ] {
        engine.put_document("shop", &Document { id: id.into(), title: title.into(), body: body.into() }).unwrap();
    }
    let r = ask(&engine, "shop", "u", "gift shoes parcels");
    assert_eq!(engine.trace(&r.request_id).unwrap()["decision"], "clarify", "{}", r.response);
    assert!(r.response.contains("?"), "{}", r.response);
}

#[test]
fn reapplying_a_vertical_is_idempotent_and_a_newer_version_updates_it() {
    let engine = Engine::open_in_memory().unwrap();
    party(&engine, "acme");
    let r = engine.marketplace_apply("acme", "party_supplies").unwrap();
    assert_eq!(r.status, "unchanged");
    let mut pack = VerticalPack::builtin("party_supplies").unwrap();
    pack.version += 1;
    let removed = pack.documents.remove(0);
    pack.catalog.retain(|c| c.name != "Mystical Unicorn Bundle");
    let r = engine.apply_pack("acme", &pack).unwrap();
    assert_eq!((r.status.as_str(), r.previous_version), ("updated", Some(pack.version - 1)));
    assert_eq!(engine.tenants().unwrap()[0].documents as usize, pack.documents.len());
    assert!(engine.catalog("acme").unwrap().iter().all(|c| c.name != "Mystical Unicorn Bundle"));
    let r = ask(&engine, "acme", "u", "How much is the Mystical Unicorn Bundle?");
    let grounding = engine.trace(&r.request_id).unwrap()["grounding"].to_string();
    assert!(!grounding.contains("catalog:"), "a removed item was quoted: {grounding}");
    assert!(!grounding.contains(&removed.id), "a removed document was quoted: {grounding}");
    // Switching vertical replaces the pack's content; the tenant's own documents stay.
    engine.put_document("acme", &Document { id: "own".into(), title: "Our own note".into(), body: "Zebra piñatas ship on Tuesdays.".into() }).unwrap();
    engine.marketplace_apply("acme", "restaurant").unwrap();
    let t = &engine.tenants().unwrap()[0];
    let restaurant = VerticalPack::builtin("restaurant").unwrap();
    assert_eq!(t.documents as usize, restaurant.documents.len() + 1);
    assert_eq!(ask(&engine, "acme", "u", "hi").assistant_name, restaurant.persona.assistant_name);
}

#[test]
fn deleting_a_tenant_removes_its_index_entries_and_conversations() {
    let engine = Engine::open_in_memory().unwrap();
    party(&engine, "acme");
    party(&engine, "other");
    ask(&engine, "acme", "u", "hi");
    let before = engine.stats().unwrap();
    engine.delete_tenant("acme").unwrap();
    let after = engine.stats().unwrap();
    assert_eq!(after.indexed_chunks * 2, before.indexed_chunks);
    assert_eq!(after.chunks, after.indexed_chunks);
    let e = engine.respond("acme", &RespondRequest::new(Channel::Web, "u", "hi")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(engine.delete_tenant("acme").unwrap_err().kind(), ErrorKind::NotFound);
    assert!(ask(&engine, "other", "u", "How much is the Mystical Unicorn Bundle?").response.contains("$89.00"));
}

#[test]
fn a_panicking_host_composer_fails_the_turn_not_the_host() {
    struct Broken;
    impl brain::Composer for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        fn compose(&self, _: &brain::ComposeInput<'_>) -> brain::Result<brain::Composition> {
            panic!("host bug")
        }
    }
    let engine = Engine::builder().in_memory().composer(Broken).open().unwrap();
    party(&engine, "acme");
    let e = engine.respond("acme", &RespondRequest::new(Channel::Web, "u", "hi")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert_eq!(e.code(), "server_error");
    assert!(e.to_string().contains("broken composer panicked"), "{e}");
    assert!(e.request_id().is_some());
    // Nothing half-written: the failed turn left no messages.
    assert!(engine.conversations("acme").unwrap().is_empty());
}

#[test]
fn a_host_generator_is_used_when_it_stays_grounded_and_replaced_when_it_strays() {
    use std::sync::Arc;
    struct Scripted(&'static str);
    impl brain::Generator for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }
        fn generate(&self, req: &brain::GenerationRequest) -> brain::Result<brain::Generation> {
            assert!(req.system.contains("Facts you may use"));
            assert_eq!(req.messages.last().unwrap().role, "user");
            match self.0 {
                "fail" => Err(brain::Error::new(ErrorKind::Model, "model offline")),
                text => Ok(brain::Generation { text: text.into(), tokens_in: 321, tokens_out: 12 }),
            }
        }
    }
    let engine = Engine::open_in_memory().unwrap();
    party(&engine, "acme");
    engine.set_generator(Arc::new(Scripted("Standard shipping costs $7.50, and it's free over $75.00!")));
    let r = ask(&engine, "acme", "u1", "How much is shipping?");
    assert_eq!(r.response, "Standard shipping costs $7.50, and it's free over $75.00!");
    assert_eq!((r.metadata.tokens_in, r.metadata.tokens_out), (321, 12));
    assert_eq!(engine.trace(&r.request_id).unwrap()["decision"], "generator:scripted");

    engine.set_generator(Arc::new(Scripted("Shipping is $1.99 today only.")));
    let r = ask(&engine, "acme", "u2", "How much is shipping?");
    assert!(r.response.contains("$7.50") && !r.response.contains("$1.99"), "{}", r.response);
    assert!(engine.trace(&r.request_id).unwrap()["decision"].as_str().unwrap().contains("generator reply failed grounding"));

    engine.set_generator(Arc::new(Scripted("fail")));
    let r = ask(&engine, "acme", "u3", "How much is shipping?");
    assert!(r.response.contains("$7.50"));
    assert!(engine.trace(&r.request_id).unwrap()["decision"].as_str().unwrap().contains("model offline"));

    let mut deltas = Vec::new();
    let r = engine.respond_streaming("acme", &RespondRequest::new(Channel::Web, "u4", "What is your return policy?"), &mut |d| {
        deltas.push(d.to_string());
        true
    })
    .unwrap();
    assert!(!deltas.is_empty());
    assert_eq!(deltas.concat(), r.response);
}
