//! Brain's side of the model benchmarks (`make bench-models` runs it next to llama.cpp and ONNX
//! Runtime; see bench/models/README.md). Prints one JSON line per measurement.
//!
//!   bench_models llm   --threads N [--backend native|candle] [--weights q8_0|stored] [--prompt-file F] [--prompt-tokens 256] [--gen-tokens 128] [--repeats 3] [--model PATH]
//!   bench_models embed --threads N [--backend native|candle] [--sentences-file F] [--sentences 512] [--batch 32] [--repeats 3] [--dir PATH]
//!
//! Figures are medians of the repeats; peak RSS is the process's high-water mark (VmHWM).

use std::time::Instant;

use brain::Embedder;
use brain::models::{self, BertEmbedder, LocalModel, ModelOptions, SamplingOptions, WeightFormat};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn num(args: &[String], name: &str, default: usize) -> usize {
    arg(args, name).map(|v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number"))).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn default_text() -> String {
    let base = "Our party shop opens at nine on weekdays and ten on Saturdays. Standard shipping takes three to five business days, \
express shipping one to two. Balloons can be inflated with helium in store while you wait, and bundles for birthdays come \
with plates, cups, napkins, banners and a piñata. Returns of unopened items are accepted within thirty days with a receipt. ";
    base.repeat(40)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = num(&args, "--threads", 1);
    let repeats = num(&args, "--repeats", 3).max(1);
    match args.get(1).map(String::as_str) {
        Some("llm") => {
            let p = num(&args, "--prompt-tokens", 256);
            let g = num(&args, "--gen-tokens", 128);
            let weights = match arg(&args, "--weights").as_deref() {
                None | Some("q8_0") => WeightFormat::Q8_0,
                Some("stored") => WeightFormat::AsStored,
                Some(o) => panic!("--weights q8_0|stored, not {o}"),
            };
            let backend = match arg(&args, "--backend").as_deref() {
                None | Some("native") => models::Backend::Native,
                Some("candle") => models::Backend::Candle,
                Some(o) => panic!("--backend native|candle, not {o}"),
            };
            let path = arg(&args, "--model").map(std::path::PathBuf::from).unwrap_or_else(|| models::default_models_dir().join(models::DEFAULT_CHAT_MODEL));
            let t0 = Instant::now();
            let model = LocalModel::load(&path, &ModelOptions { threads: Some(threads), weights, backend, ..Default::default() }).unwrap();
            let load_s = t0.elapsed().as_secs_f64();
            let text = arg(&args, "--prompt-file").map(|f| std::fs::read_to_string(f).unwrap()).unwrap_or_else(default_text);
            let mut ids = model.encode(&text).unwrap();
            assert!(ids.len() >= p, "the prompt text has only {} tokens", ids.len());
            ids.truncate(p);
            let sampling = SamplingOptions { max_tokens: g as u32, ignore_eos: true, repeat_penalty: 1.0, max_time: std::time::Duration::from_secs(3600), ..Default::default() };
            // One warm-up run (weights paged in, pools started).
            model.generate_ids(&ids[..16.min(p)], &SamplingOptions { max_tokens: 2, ..sampling.clone() }, &mut |_| true).unwrap();
            let (mut pp, mut ttft, mut tg) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..repeats {
                let out = model.generate_ids(&ids, &sampling, &mut |_| true).unwrap();
                assert_eq!(out.tokens_out as usize, g);
                pp.push(p as f64 / out.prompt_time.as_secs_f64());
                ttft.push(out.first_token.as_secs_f64() * 1000.0);
                tg.push((g - 1) as f64 / out.decode_time.as_secs_f64());
            }
            println!(
                "{{\"engine\":\"brain-{}\",\"weights\":\"{}\",\"threads\":{threads},\"prompt_tokens\":{p},\"prompt_tok_s\":{:.1},\"ttft_ms\":{:.1},\"gen_tokens\":{g},\"gen_tok_s\":{:.1},\"peak_rss_mb\":{:.0},\"load_s\":{load_s:.2}}}",
                if backend == models::Backend::Native { "native" } else { "candle" },
                if backend == models::Backend::Native || weights == WeightFormat::AsStored { "stored" } else { "q8_0" },
                median(pp),
                median(ttft),
                median(tg),
                peak_rss_mb()
            );
        }
        Some("embed") => {
            let n = num(&args, "--sentences", 512);
            let batch = num(&args, "--batch", 32);
            if threads > 0 && std::env::var_os("CANDLE_NUM_THREADS").is_none() {
                // SAFETY: single-threaded here, before any model code runs.
                unsafe { std::env::set_var("CANDLE_NUM_THREADS", threads.to_string()) };
            }
            let dir = arg(&args, "--dir").map(std::path::PathBuf::from).unwrap_or_else(|| models::default_models_dir().join(models::DEFAULT_EMBEDDER));
            let backend = match arg(&args, "--backend").as_deref() {
                None | Some("native") => models::EmbedBackend::Native,
                Some("candle") => models::EmbedBackend::Candle,
                Some(o) => panic!("--backend native|candle, not {o}"),
            };
            let e = BertEmbedder::load_with(&dir.join("model.safetensors"), &dir.join("config.json"), &dir.join("tokenizer.json"), backend, Some(threads))
                .unwrap()
                .with_batch(batch);
            let sentences: Vec<String> = match arg(&args, "--sentences-file") {
                Some(f) => std::fs::read_to_string(f).unwrap().lines().map(str::to_string).take(n).collect(),
                None => (0..n).map(|i| format!("Question {i}: what time does the shop open on day {} and is there parking nearby?", i % 7)).collect(),
            };
            let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
            e.embed(&refs[..batch.min(refs.len())]).unwrap();
            let mut rates = Vec::new();
            for _ in 0..repeats {
                let t = Instant::now();
                let v = e.embed(&refs).unwrap();
                assert_eq!(v.len(), refs.len());
                rates.push(refs.len() as f64 / t.elapsed().as_secs_f64());
            }
            println!(
                "{{\"engine\":\"brain-{}\",\"threads\":{threads},\"batch\":{batch},\"sentences\":{},\"sentences_per_s\":{:.1},\"peak_rss_mb\":{:.0}}}",
                if backend == models::EmbedBackend::Native { "native-int8" } else { "candle-f32" },
                refs.len(),
                median(rates),
                peak_rss_mb()
            );
        }
        _ => {
            eprintln!("usage: bench_models llm|embed --threads N ... (see the top of engine/examples/bench_models.rs)");
            std::process::exit(2);
        }
    }
}
