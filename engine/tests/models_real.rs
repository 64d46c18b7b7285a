//! The real default models (fetched by `scripts/fetch-models.sh`): SmolLM2-135M-Instruct Q4_1
//! and all-MiniLM-L6-v2.
#![cfg(feature = "models")]

use std::sync::OnceLock;

use brain::models::{self, ChatTemplate, LocalModel, ModelOptions, SamplingOptions, StopReason};
use brain::{ChatMessage, Embedder};

fn model() -> &'static LocalModel {
    static M: OnceLock<LocalModel> = OnceLock::new();
    M.get_or_init(|| {
        models::default_chat_model(&ModelOptions { threads: Some(1), ..Default::default() })
            .unwrap_or_else(|e| panic!("{e}\n(the default models come from scripts/fetch-models.sh; `make test` runs it)"))
    })
}

fn embedder() -> &'static models::BertEmbedder {
    static E: OnceLock<models::BertEmbedder> = OnceLock::new();
    E.get_or_init(|| models::default_embedder().unwrap_or_else(|e| panic!("{e}")))
}

fn tokens(m: &LocalModel, text: &str) -> Vec<String> {
    m.encode(text).unwrap().into_iter().map(|id| m.tokenizer().id_to_token(id).unwrap()).collect()
}

#[test]
fn the_gguf_tokenizer_matches_the_model_vocabulary() {
    let m = model();
    // Byte-level BPE with no prefix space: "Hello" is one token, " world" carries its space (Ġ).
    assert_eq!(tokens(m, "Hello world"), ["Hello", "Ġworld"]);
    // Control tokens are whole ids (1 and 2 in SmolLM2), and the role after them has no space.
    let ids = m.encode("<|im_start|>system\nHi<|im_end|>").unwrap();
    assert_eq!(ids[0], 1);
    assert_eq!(*ids.last().unwrap(), 2);
    assert_eq!(tokens(m, "<|im_start|>system\n")[1..], ["system", "Ċ"]);
    // Digits are split one by one (pre-tokenizer `smollm`).
    assert_eq!(tokens(m, "2024"), ["2", "0", "2", "4"]);
    // Round trip, including non-ASCII.
    for text in ["Crème brûlée costs €8.50 — ¿sí?", "line one\nline two\n\n  indented", "emoji 🎈 balloons"] {
        let ids = m.encode(text).unwrap();
        assert_eq!(m.tokenizer().decode(&ids, false).unwrap(), text);
    }
}

#[test]
fn the_chat_template_is_chatml_as_declared() {
    let m = model();
    assert_eq!(m.template(), ChatTemplate::ChatMl);
    let prompt = m.render("You are Astra.", &[ChatMessage { role: "user".into(), content: "Hi".into() }]);
    assert_eq!(prompt, "<|im_start|>system\nYou are Astra.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    let ids = m.encode(&prompt).unwrap();
    assert_eq!(ids.iter().filter(|&&i| i == 1).count(), 3, "three <|im_start|> ids");
}

#[test]
fn greedy_decoding_is_deterministic_and_streams() {
    let m = model();
    let sampling = SamplingOptions { max_tokens: 24, ..Default::default() };
    let msgs = [ChatMessage { role: "user".into(), content: "What is the capital of France?".into() }];
    let mut deltas = String::new();
    let a = m.chat("You are a helpful assistant.", &msgs, &sampling, &mut |d| {
        deltas.push_str(d);
        true
    })
    .unwrap();
    let b = m.chat("You are a helpful assistant.", &msgs, &sampling, &mut |_| true).unwrap();
    assert!(!a.text.trim().is_empty());
    assert_eq!(a.text, b.text);
    assert_eq!(deltas, a.text, "the deltas add up to the text");
    assert!(a.text.contains("Paris"), "{}", a.text);
    assert!(a.tokens_in > 10 && a.tokens_out > 0 && a.tokens_out <= 24);
    assert_eq!(a.tokens_in as usize, m.encode(&m.render("You are a helpful assistant.", &msgs)).unwrap().len());

    // Sampled decoding is reproducible for a seed.
    let s = SamplingOptions { temperature: 0.9, top_p: Some(0.9), seed: 7, max_tokens: 16, ..Default::default() };
    let x = m.chat("", &msgs, &s, &mut |_| true).unwrap();
    let y = m.chat("", &msgs, &s, &mut |_| true).unwrap();
    assert_eq!(x.text, y.text);

    // Cancelling from the callback stops after the first delta.
    let c = m.chat("", &msgs, &sampling, &mut |_| false).unwrap();
    assert_eq!(c.stop, StopReason::Cancelled);
    assert_eq!(c.tokens_out, 1);
}

#[test]
fn minilm_ranks_a_related_sentence_above_an_unrelated_one() {
    let e = embedder();
    assert_eq!(e.dim(), 384);
    let v = e.embed(&["What time do you open on Saturday?", "Our weekend opening hours are 9am to 5pm.", "The unicorn piñata costs $24."]).unwrap();
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for x in &v {
        assert!((cos(x, x) - 1.0).abs() < 1e-4, "unit length");
    }
    let related = cos(&v[0], &v[1]);
    let unrelated = cos(&v[0], &v[2]);
    assert!(related > unrelated + 0.2, "related {related} vs unrelated {unrelated}");
    // A batch gives the same vectors as one at a time (padding does not leak into the mean).
    let single = e.embed(&["The unicorn piñata costs $24."]).unwrap();
    assert!(cos(&single[0], &v[2]) > 0.9999);
}

#[test]
fn the_native_backend_computes_what_candle_computes() {
    use brain::models::{Backend, WeightFormat};
    let native = model();
    assert_eq!(native.backend(), Backend::Native);
    let candle = LocalModel::load(
        models::default_models_dir().join(models::DEFAULT_CHAT_MODEL),
        &ModelOptions { backend: Backend::Candle, weights: WeightFormat::AsStored, threads: Some(1), ..Default::default() },
    )
    .unwrap();
    let prompt = native.render("You are Astra, the assistant of a party shop.", &[ChatMessage { role: "user".into(), content: "Do you sell helium balloons?".into() }]);
    let ids = native.encode(&prompt).unwrap();
    let a = native.logits(&ids).unwrap();
    let b = candle.logits(&ids).unwrap();
    assert_eq!(a.len(), b.len());
    let argmax = |v: &[f32]| v.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).unwrap().0;
    assert_eq!(argmax(&a), argmax(&b));
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    // Same weights, same activation quantization; only the order of float sums differs, which
    // 30 layers of re-quantized activations amplify (the portable kernels differ from the SIMD
    // ones by as much): a few percent of the logit scale, never the ranking at the top.
    assert!(worst < 0.06 * scale, "max |Δlogit| {worst} (logit scale {scale})");
    let top = |v: &[f32]| {
        let mut i: Vec<usize> = (0..v.len()).collect();
        i.sort_by(|x, y| v[*y].total_cmp(&v[*x]));
        i.truncate(5);
        i.sort();
        i
    };
    assert_eq!(top(&a), top(&b), "the five likeliest next tokens");
    // Teacher-forced over a real text, position by position through the KV cache: the same
    // cross-entropy (a wrong rotary layout, cache or norm would change it by whole nats).
    let text = "Our party shop opens at nine on weekdays and ten on Saturdays. Standard shipping takes three to five business days. Balloons can be filled with helium in the store while you wait, and every birthday bundle comes with plates, cups and napkins.";
    let ids = native.encode(text).unwrap();
    let (x, y) = (native.token_logprobs(&ids).unwrap(), candle.token_logprobs(&ids).unwrap());
    let ce = |v: &[f32]| -v.iter().sum::<f32>() / v.len() as f32;
    println!("cross-entropy over {} tokens: native {:.4} nats, candle {:.4} nats", x.len(), ce(&x), ce(&y));
    assert!(ce(&x) < 6.0, "far below the uniform 10.8 nats: {}", ce(&x));
    assert!((ce(&x) - ce(&y)).abs() < 0.02 * ce(&y), "native {} vs candle {}", ce(&x), ce(&y));
}

#[test]
fn splitting_the_native_products_across_threads_changes_no_bit() {
    let two = LocalModel::load(models::default_models_dir().join(models::DEFAULT_CHAT_MODEL), &ModelOptions { threads: Some(2), ..Default::default() }).unwrap();
    let ids = model().encode("Do you deliver on Sundays? We need balloons for a party of twelve.").unwrap();
    assert_eq!(two.logits(&ids).unwrap(), model().logits(&ids).unwrap());
}

#[test]
fn the_int8_encoder_agrees_with_candle_bert() {
    use brain::models::EmbedBackend;
    let dir = models::default_models_dir().join(models::DEFAULT_EMBEDDER);
    let (w, c, t) = (dir.join("model.safetensors"), dir.join("config.json"), dir.join("tokenizer.json"));
    let native = models::BertEmbedder::load_with(&w, &c, &t, EmbedBackend::Native, Some(2)).unwrap();
    let candle = models::BertEmbedder::load_with(&w, &c, &t, EmbedBackend::Candle, Some(1)).unwrap();
    let texts = [
        "What time do you open on Saturday?",
        "Our weekend opening hours are 9am to 5pm.",
        "The unicorn piñata costs $24.",
        "Can I bring my dog?",
        "Standard shipping takes three to five business days and is free on orders over $75.",
    ];
    let (a, b) = (native.embed(&texts).unwrap(), candle.embed(&texts).unwrap());
    let cos = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
    for (x, y) in a.iter().zip(&b) {
        assert!((cos(x, x) - 1.0).abs() < 1e-4);
        println!("int8 vs f32 cosine {:.5}", cos(x, y));
        assert!(cos(x, y) > 0.99, "int8 vs f32 cosine {}", cos(x, y));
    }
    // The same ranking of pairs.
    assert!(cos(&a[0], &a[1]) > cos(&a[0], &a[2]) + 0.2);
}
