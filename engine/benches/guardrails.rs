//! All input and output rails together, per turn, over the labelled development messages.
//!
//! Run: `cargo bench -p brain --bench guardrails`. Named baseline, run side by side: the
//! "dozen regexes" filter peers use — lowercase the message and scan it for 20 fixed phrases.

use std::time::Instant;

use brain::Persona;
use brain::guardrails::{OutputSources, check_input, check_output};

const PHRASES: [&str; 20] = [
    "ignore all previous instructions", "ignore previous instructions", "disregard your instructions", "system prompt",
    "you are now", "developer mode", "jailbreak", "dan", "pretend you are", "act as", "reveal your", "print your",
    "forget your rules", "no restrictions", "<|im_start|>", "[inst]", "### system", "admin override", "sudo", "bypass",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let persona = Persona::from_toml_str(
        "assistant_name = \"Astra\"\ngreeting = \"Hi!\"\nfallback = \"Sorry, I don't know.\"\nescalation = \"A teammate will help.\"\nallowed_topics = [\"party supplies\", \"delivery\"]\nprohibited_topics = [\"medical advice\"]\n[prompt]\nidentity = \"You are Astra, the assistant of Partython Party Co.\"\n[facts]\nphone = \"+1 503 555 0100\"",
    )
    .unwrap();
    let messages: Vec<String> = include_str!("../tests/fixtures/guardrails_dev.jsonl")
        .lines()
        .filter_map(serde_json_text)
        .collect();
    let kb = "Standard shipping takes 3-5 business days and costs $7.50; it is free on orders over $75.00. Call +1 503 555 0100.";
    let reply = "Standard shipping takes 3-5 business days and costs $7.50; it is free on orders over $75.00.";
    let rounds: usize = std::env::var("BRAIN_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);

    // Warm the lazily compiled patterns.
    for m in messages.iter().take(10) {
        check_input(&persona, m, 0);
    }
    let mut rails = Vec::new();
    let mut base = Vec::new();
    for _ in 0..rounds {
        for m in &messages {
            let t = Instant::now();
            let input = check_input(&persona, m, 0);
            let src = OutputSources { texts: vec![&input.redacted, kb], ..Default::default() };
            let out = check_output(&persona, reply, &src);
            std::hint::black_box((&input, &out));
            rails.push(t.elapsed().as_secs_f64() * 1e6);

            let t = Instant::now();
            let lower = m.to_lowercase();
            let hit = PHRASES.iter().any(|p| lower.contains(p));
            std::hint::black_box(hit);
            base.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    rails.sort_by(f64::total_cmp);
    base.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&rails, 0.5), percentile(&rails, 0.99));
    let (b50, b99) = (percentile(&base, 0.5), percentile(&base, 0.99));
    println!("guardrails bench: {} messages × {rounds} rounds, all input + output rails per turn", messages.len());
    println!("rails:     p50 {p50:.1} µs  p99 {p99:.1} µs  (budget p50 < 200 µs: {})", if p50 < 200.0 { "met" } else { "MISSED" });
    println!("baseline:  20-phrase lowercase scan  p50 {b50:.2} µs  p99 {b99:.2} µs");
    println!("ratio:     rails / baseline  p50 {:.0}×  p99 {:.0}×", p50 / b50.max(0.01), p99 / b99.max(0.01));
}

/// The `text` field of a JSONL line.
fn serde_json_text(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v["text"].as_str().map(str::to_string)
}
