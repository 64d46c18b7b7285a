//! Measures where the local models help (not run in CI; `make eval-models`):
//!
//! 1. Answer quality per kind of turn: every labelled FAQ question of the 7 verticals answered
//!    by the grounded composer and by the local chat model (routed `local`, under the output
//!    rails, grounded fallback), judged by whether the reply contains the expected facts.
//! 2. Retrieval: the same set with BM25 alone and with BM25 + MiniLM fused (RRF).
//! 3. Tool intents: leave-one-out nearest-neighbour intent accuracy of MiniLM embeddings on the
//!    labelled planner set (engine/tests/fixtures/planner_set.toml), next to the rule planner's.
//!
//! `BRAIN_EVAL_LIMIT=N` answers only the first N questions per vertical with the model.

use std::collections::BTreeMap;
use std::sync::Arc;

use brain::models::{self, ModelOptions, SamplingOptions};
use brain::{Channel, Embedder, Engine, Plan, RespondRequest, RouteMode, RoutePolicy, VerticalPack, marketplace};

fn engine_with_verticals(setup: impl FnOnce(brain::EngineBuilder) -> brain::EngineBuilder) -> Engine {
    let engine = setup(Engine::builder().in_memory()).open().unwrap();
    for key in marketplace::builtin_keys() {
        let tenant = key.replace('_', "-");
        engine.create_tenant(&tenant, key, Plan::Starter).unwrap();
        engine.marketplace_apply(&tenant, key).unwrap();
    }
    engine
}

fn kind(decision: &str) -> String {
    decision.split(" (").next().unwrap_or(decision).to_string()
}

fn main() {
    let limit: usize = std::env::var("BRAIN_EVAL_LIMIT").ok().and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
    let threads: usize = std::env::var("BRAIN_THREADS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    eprintln!("loading models ({threads} thread(s)) ...");
    let model = models::default_chat_model(&ModelOptions { threads: Some(threads), ..Default::default() }).expect("run scripts/fetch-models.sh");
    let model = Arc::new(model.with_sampling(SamplingOptions { max_tokens: 96, ..Default::default() }));
    let embedder = Arc::new(models::default_embedder().expect("run scripts/fetch-models.sh"));

    let grounded = engine_with_verticals(|b| b);
    let hybrid = engine_with_verticals(|b| b.embedder(embedder.clone()));
    let local = engine_with_verticals(|b| b.local_model(model.clone()).route_policy(RoutePolicy { mode: RouteMode::Local, ..Default::default() }));

    // kind -> [n, grounded ok, local ok, local stood, local stood ok]
    let mut by_kind: BTreeMap<String, [usize; 5]> = BTreeMap::new();
    let (mut n, mut bm25_ok, mut hybrid_ok) = (0, 0, 0);
    let mut model_time = std::time::Duration::ZERO;
    for key in marketplace::builtin_keys() {
        let tenant = key.replace('_', "-");
        let pack = VerticalPack::builtin(key).unwrap();
        for (i, ex) in pack.examples.iter().filter(|e| e.topic != "recommend").enumerate() {
            let ok = |text: &str| ex.expect.iter().all(|e| text.to_lowercase().contains(&e.to_lowercase()));
            let ask = |e: &Engine| e.respond(&tenant, &RespondRequest::new(Channel::Web, format!("eval-{i}"), ex.question.clone())).unwrap();
            n += 1;
            let g = ask(&grounded);
            let g_ok = ok(&g.response);
            bm25_ok += g_ok as usize;
            hybrid_ok += ok(&ask(&hybrid).response) as usize;
            if i >= limit {
                continue;
            }
            let k = kind(grounded.trace(&g.request_id).unwrap()["decision"].as_str().unwrap_or(""));
            let started = std::time::Instant::now();
            let l = ask(&local);
            model_time += started.elapsed();
            let t = local.trace(&l.request_id).unwrap();
            let stood = t["route"] == "local_model" && t["decision"] == t["composer"];
            let e = by_kind.entry(k).or_default();
            e[0] += 1;
            e[1] += g_ok as usize;
            e[2] += ok(&l.response) as usize;
            e[3] += stood as usize;
            e[4] += (stood && ok(&l.response)) as usize;
            eprintln!("[{key}] {} | model {}: {}", ex.question, if stood { "stood" } else { "fell back" }, l.response.replace('\n', " "));
        }
    }
    println!("\n== Answer quality by kind of turn (labelled FAQ, expected facts present) ==");
    println!("{:<16} {:>4} {:>9} {:>12} {:>12} {:>14}", "kind", "n", "grounded", "local+rails", "model stood", "stood & right");
    for (k, v) in &by_kind {
        println!("{k:<16} {:>4} {:>9} {:>12} {:>12} {:>14}", v[0], v[1], v[2], v[3], v[4]);
    }
    let turns: usize = by_kind.values().map(|v| v[0]).sum();
    println!("model turns: {turns}, mean {:.2} s per turn", model_time.as_secs_f64() / turns.max(1) as f64);
    println!("\n== Retrieval ==\nBM25 only: {bm25_ok}/{n}   BM25 + MiniLM (RRF k=60): {hybrid_ok}/{n}");

    // Intents by nearest neighbour.
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/planner_set.toml")).unwrap();
    let set: toml::Value = toml::from_str(&text).unwrap();
    let cases: Vec<(String, String)> = set["case"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["message"].as_str().unwrap().to_string(), c["intent"].as_str().unwrap().to_string()))
        .collect();
    let msgs: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    let vecs = embedder.embed(&msgs).unwrap();
    let mut right = 0;
    for i in 0..cases.len() {
        let best = (0..cases.len())
            .filter(|&j| j != i)
            .max_by(|&a, &b| {
                let s = |j: usize| vecs[i].iter().zip(&vecs[j]).map(|(x, y)| x * y).sum::<f32>();
                s(a).total_cmp(&s(b))
            })
            .unwrap();
        right += (cases[best].1 == cases[i].1) as usize;
    }
    println!("\n== Tool intents ==\nMiniLM 1-NN leave-one-out: {right}/{} (the rule planner: see `cargo test -p brain planner -- --nocapture`)", cases.len());
}
