//! End-to-end turns for every built-in vertical: each pack's labelled questions must be answered
//! with the facts they name (hours, policies, prices of named items).

use brain::{Channel, Engine, Plan, RespondRequest, VerticalPack, marketplace};

#[test]
fn every_vertical_answers_its_labelled_questions() {
    let engine = Engine::open_in_memory().unwrap();
    let mut failures = Vec::new();
    let mut total = 0;
    for key in marketplace::builtin_keys() {
        let tenant = key.replace('_', "-");
        engine.create_tenant(&tenant, key, Plan::Starter).unwrap();
        engine.marketplace_apply(&tenant, key).unwrap();
        let pack = VerticalPack::builtin(key).unwrap();
        for (i, ex) in pack.examples.iter().enumerate() {
            // Product recommendation ("party supplies for 12 kids") is the tools stage's job.
            if ex.topic == "recommend" {
                continue;
            }
            total += 1;
            // A fresh conversation per question: no carry-over between unrelated questions.
            let req = RespondRequest::new(Channel::Web, format!("eval-{i}"), ex.question.clone());
            let reply = engine.respond(&tenant, &req).unwrap();
            let text = reply.response.to_lowercase();
            let missing: Vec<&String> = ex.expect.iter().filter(|e| !text.contains(&e.to_lowercase())).collect();
            if !missing.is_empty() {
                let trace = engine.trace(&reply.request_id).unwrap();
                failures.push((ex.topic.clone(), format!(
                    "[{key}/{}] {:?}\n   expected {:?}\n   got: {}\n   decision: {} top: {}",
                    ex.topic,
                    ex.question,
                    missing,
                    reply.response,
                    trace["decision"],
                    trace["retrieval"].get(0).map(|h| h["doc_id"].to_string()).unwrap_or_default()
                )));
            }
        }
    }
    let passed = total - failures.len();
    println!("labelled questions: {passed}/{total} answered with the expected facts");
    for (_, f) in &failures {
        println!("{f}");
    }
    // Prices of named items and contact details are answered every time; the remaining FAQ
    // (paraphrased policy questions) at 92% or better. Misses are printed above.
    let hard: Vec<&String> = failures.iter().filter(|(t, _)| t == "price" || t == "contact").map(|(_, f)| f).collect();
    assert!(hard.is_empty(), "price/contact questions failed: {hard:#?}");
    let rate = passed as f64 / total as f64;
    assert!(rate >= 0.92, "only {passed}/{total} ({:.1}%) labelled questions answered", rate * 100.0);
}
