#![cfg(feature = "models")]
//! Brain's real model-loading code on tiny models built inside the test (a few hundred KB,
//! milliseconds to load), so GGUF parsing, the GGUF tokenizer, requantization, the chat template,
//! decoding and the BERT embedder are covered without the big weights (`models_real.rs` runs
//! those).
//!
//! The chat model is a 2-block Llama (embedding 64, 2 heads, 1 KV head, FFN 128) over the 256
//! GPT-2 byte symbols, four merges and the ChatML control tokens, weights from a fixed xorshift
//! stream stored as Q4_1. The embedder is a 2-layer BERT (hidden 32) with a WordPiece tokenizer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use brain::models::{Backend, BertEmbedder, ChatTemplate, LocalModel, ModelOptions, SamplingOptions, StopReason, WeightFormat};
use brain::{ChatMessage, Embedder, ErrorKind, GenerationRequest, Generator};
use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// xorshift64: a fixed stream of weights.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [-1, 1).
    fn next(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

fn msg(role: &str, content: &str) -> ChatMessage {
    ChatMessage { role: role.into(), content: content.into() }
}

fn expect_model_err<T>(r: brain::Result<T>, needle: &str) -> String {
    let e = match r {
        Ok(_) => panic!("expected a Model error mentioning `{needle}`, got Ok"),
        Err(e) => e,
    };
    assert_eq!(e.kind(), ErrorKind::Model, "wrong kind for: {e}");
    assert!(e.message().contains(needle), "error `{}` does not mention `{needle}`", e.message());
    e.message().to_string()
}

// ---------------------------------------------------------------------------------------------
// Tiny Llama GGUF
// ---------------------------------------------------------------------------------------------

const EMBD: usize = 64;
const HEADS: usize = 2;
const KV_HEADS: usize = 1;
const FFN: usize = 128;
const BLOCKS: usize = 2;
const HEAD_DIM: usize = EMBD / HEADS;
/// token_embd, output_norm, output + 9 per block.
const TENSORS: usize = 3 + 9 * BLOCKS;

const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
const MERGES: [(&str, &str); 4] = [("h", "e"), ("l", "l"), ("he", "ll"), ("Ġ", "t")];

const CHATML_JINJA: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
const LLAMA3_JINJA: &str = "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] + '<|eot_id|>' }}{% endfor %}";

/// GPT-2's bytes_to_unicode: the symbol of each byte.
fn byte_symbols() -> Vec<char> {
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
    let mut n = 0;
    (0u32..256)
        .map(|b| {
            if printable(b) {
                char::from_u32(b).unwrap()
            } else {
                n += 1;
                char::from_u32(256 + n - 1).unwrap()
            }
        })
        .collect()
}

/// Tokens and their GGUF types: specials (control, type 3) first, then the 256 byte symbols
/// in byte order, then the merge results.
fn vocabulary(specials: bool) -> (Vec<String>, Vec<i32>) {
    let mut tokens: Vec<String> = Vec::new();
    let mut types = Vec::new();
    if specials {
        for s in SPECIALS {
            tokens.push(s.to_string());
            types.push(3);
        }
    }
    for c in byte_symbols() {
        tokens.push(c.to_string());
        types.push(1);
    }
    for (a, b) in MERGES {
        tokens.push(format!("{a}{b}"));
        types.push(1);
    }
    (tokens, types)
}

fn token_id(tokens: &[String], t: &str) -> usize {
    tokens.iter().position(|x| x == t).unwrap()
}

#[derive(Clone)]
struct Spec {
    arch: &'static str,
    /// `tokenizer.ggml.model`; `None` leaves out every tokenizer key.
    tokenizer_model: Option<&'static str>,
    specials: bool,
    merges: bool,
    add_bos: bool,
    chat_template: Option<&'static str>,
    /// Make this token the overwhelming argmax at every step.
    steer: Option<&'static str>,
    /// All-zero output norm: every logit is 0, so argmax is id 0 (`<|endoftext|>`).
    zero_output_norm: bool,
    /// Leave out `output.weight` (tied embeddings).
    tied: bool,
    /// Leave out this metadata key.
    drop_key: Option<&'static str>,
    seed: u64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            arch: "llama",
            tokenizer_model: Some("gpt2"),
            specials: true,
            merges: true,
            add_bos: false,
            chat_template: Some(CHATML_JINJA),
            steer: None,
            zero_output_norm: false,
            tied: false,
            drop_key: None,
            seed: 7,
        }
    }
}

fn qtensor(data: Vec<f32>, shape: &[usize], dtype: GgmlDType) -> QTensor {
    let t = Tensor::from_vec(data, shape, &Device::Cpu).unwrap();
    QTensor::quantize(&t, dtype).unwrap()
}

fn write_gguf(path: &Path, spec: &Spec) {
    let (tokens, types) = vocabulary(spec.specials);
    let n_vocab = tokens.len();
    let u32v = |x: usize| Value::U32(x as u32);
    let mut md: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(spec.arch.into())),
        ("general.name".into(), Value::String("tiny".into())),
        ("llama.context_length".into(), u32v(256)),
        ("llama.embedding_length".into(), u32v(EMBD)),
        ("llama.block_count".into(), u32v(BLOCKS)),
        ("llama.feed_forward_length".into(), u32v(FFN)),
        ("llama.attention.head_count".into(), u32v(HEADS)),
        ("llama.attention.head_count_kv".into(), u32v(KV_HEADS)),
        ("llama.rope.dimension_count".into(), u32v(HEAD_DIM)),
        ("llama.attention.layer_norm_rms_epsilon".into(), Value::F32(1e-5)),
        ("llama.rope.freq_base".into(), Value::F32(10000.0)),
        ("llama.vocab_size".into(), u32v(n_vocab)),
    ];
    if let Some(model) = spec.tokenizer_model {
        md.push(("tokenizer.ggml.model".into(), Value::String(model.into())));
        md.push(("tokenizer.ggml.pre".into(), Value::String("smollm".into())));
        md.push(("tokenizer.ggml.tokens".into(), Value::Array(tokens.iter().map(|t| Value::String(t.clone())).collect())));
        md.push(("tokenizer.ggml.token_type".into(), Value::Array(types.iter().map(|t| Value::I32(*t)).collect())));
        let merges = if spec.merges { MERGES.iter().map(|(a, b)| Value::String(format!("{a} {b}"))).collect() } else { Vec::new() };
        md.push(("tokenizer.ggml.merges".into(), Value::Array(merges)));
        if spec.specials {
            md.push(("tokenizer.ggml.bos_token_id".into(), u32v(0)));
            md.push(("tokenizer.ggml.eos_token_id".into(), u32v(2)));
        }
        md.push(("tokenizer.ggml.add_bos_token".into(), Value::Bool(spec.add_bos)));
        if let Some(t) = spec.chat_template {
            md.push(("tokenizer.chat_template".into(), Value::String(t.into())));
        }
    }
    if let Some(k) = spec.drop_key {
        md.retain(|(key, _)| key != k);
    }

    let mut rng = Rng::new(spec.seed);
    let q4 = |rng: &mut Rng, rows: usize, cols: usize, scale: f32| qtensor(rng.vec(rows * cols, scale), &[rows, cols], GgmlDType::Q4_1);
    let norm = |rng: &mut Rng| qtensor(rng.vec(EMBD, 0.1).into_iter().map(|x| 1.0 + x).collect(), &[EMBD], GgmlDType::F32);
    let mut ts: Vec<(String, QTensor)> = Vec::new();
    let embd: Vec<f32> = if spec.steer.is_some() {
        // Positive hidden states, so the steered row's logit is large and positive.
        rng.vec(n_vocab * EMBD, 0.05).into_iter().map(|x| 1.0 + x).collect()
    } else {
        rng.vec(n_vocab * EMBD, 1.0)
    };
    ts.push(("token_embd.weight".into(), qtensor(embd, &[n_vocab, EMBD], GgmlDType::Q4_1)));
    for b in 0..BLOCKS {
        let p = format!("blk.{b}");
        ts.push((format!("{p}.attn_norm.weight"), norm(&mut rng)));
        ts.push((format!("{p}.attn_q.weight"), q4(&mut rng, EMBD, EMBD, 0.05)));
        ts.push((format!("{p}.attn_k.weight"), q4(&mut rng, KV_HEADS * HEAD_DIM, EMBD, 0.05)));
        ts.push((format!("{p}.attn_v.weight"), q4(&mut rng, KV_HEADS * HEAD_DIM, EMBD, 0.05)));
        ts.push((format!("{p}.attn_output.weight"), q4(&mut rng, EMBD, EMBD, 0.05)));
        ts.push((format!("{p}.ffn_norm.weight"), norm(&mut rng)));
        ts.push((format!("{p}.ffn_gate.weight"), q4(&mut rng, FFN, EMBD, 0.05)));
        ts.push((format!("{p}.ffn_up.weight"), q4(&mut rng, FFN, EMBD, 0.05)));
        ts.push((format!("{p}.ffn_down.weight"), q4(&mut rng, EMBD, FFN, 0.05)));
    }
    let out_norm = if spec.zero_output_norm { qtensor(vec![0.0; EMBD], &[EMBD], GgmlDType::F32) } else { norm(&mut rng) };
    ts.push(("output_norm.weight".into(), out_norm));
    if !spec.tied {
        let mut out = rng.vec(n_vocab * EMBD, 0.5);
        if let Some(t) = spec.steer {
            let row = token_id(&tokens, t);
            for x in &mut out[row * EMBD..(row + 1) * EMBD] {
                *x = 0.5 + *x * 0.1;
            }
        }
        ts.push(("output.weight".into(), qtensor(out, &[n_vocab, EMBD], GgmlDType::Q4_1)));
    }

    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = ts.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &md_refs, &t_refs).unwrap();
}

/// A GGUF in a folder of its own (a tokenizer.json beside it matters).
struct Gguf {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn gguf(spec: Spec) -> Gguf {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    write_gguf(&path, &spec);
    Gguf { _dir: dir, path }
}

/// The candle backend with a weight layout (the native backend has tests of its own below).
fn opts(weights: WeightFormat) -> ModelOptions {
    ModelOptions { weights, backend: Backend::Candle, ..Default::default() }
}

fn load(path: &Path, weights: WeightFormat) -> LocalModel {
    LocalModel::load(path, &opts(weights)).unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
}

fn tokens(m: &LocalModel, text: &str) -> Vec<String> {
    m.encode(text).unwrap().into_iter().map(|id| m.tokenizer().id_to_token(id).unwrap()).collect()
}

fn greedy(max_tokens: u32) -> SamplingOptions {
    SamplingOptions { max_tokens, ..Default::default() }
}

/// Runs a chat, collecting the streamed deltas.
fn chat(m: &LocalModel, system: &str, msgs: &[ChatMessage], s: &SamplingOptions) -> (brain::models::Output, String) {
    let mut streamed = String::new();
    let out = m
        .chat(system, msgs, s, &mut |d| {
            streamed.push_str(d);
            true
        })
        .unwrap();
    (out, streamed)
}

/// The streamed deltas add up to the text. Known bug (see
/// `a_reply_cut_mid_character_streams_what_its_text_holds`): when a reply ends inside a UTF-8
/// sequence, `text` ends with U+FFFD that was never streamed; tolerated here so the random
/// model's output (which depends on the CPU's float kernels) cannot make this test flaky.
fn assert_streamed(streamed: &str, text: &str) {
    let tail_ok = |rest: &str| rest.chars().all(|c| c == '\u{fffd}');
    assert!(
        streamed == text || (text.starts_with(streamed) && tail_ok(&text[streamed.len()..])),
        "streamed deltas {streamed:?} vs text {text:?}"
    );
}

#[test]
fn gguf_loads_in_both_weight_formats() {
    let g = gguf(Spec::default());
    let mut seen = Vec::new();
    let q8 = LocalModel::load_with_progress(&g.path, &opts(WeightFormat::Q8_0), &mut |done, total| seen.push((done, total))).unwrap();
    // Requantization reports every tensor once, in order.
    assert_eq!(seen.len(), TENSORS);
    assert_eq!(seen.last(), Some(&(TENSORS, TENSORS)));
    assert!(seen.windows(2).all(|w| w[1].0 == w[0].0 + 1));
    assert_eq!(q8.path(), g.path.as_path());
    assert_eq!(q8.name(), "tiny");

    let mut called = false;
    let stored = LocalModel::load_with_progress(&g.path, &opts(WeightFormat::AsStored), &mut |_, _| called = true).unwrap();
    assert!(!called, "nothing is requantized when the weights stay as stored");
    assert_eq!(stored.tokenizer().get_vocab_size(true), q8.tokenizer().get_vocab_size(true));
    assert_eq!(stored.tokenizer().get_vocab_size(true), SPECIALS.len() + 256 + MERGES.len());

    // Both run.
    let msgs = [msg("user", "hello there")];
    for m in [&q8, &stored] {
        let (out, _) = chat(m, "", &msgs, &greedy(4));
        assert!(out.tokens_out <= 4);
        assert!(out.tokens_in > 0);
    }

    // Tied embeddings (no output.weight) load too.
    let tied = gguf(Spec { tied: true, ..Default::default() });
    for w in [WeightFormat::Q8_0, WeightFormat::AsStored] {
        let m = load(&tied.path, w);
        chat(&m, "", &msgs, &greedy(2));
    }
}

#[test]
fn gguf_tokenizer_round_trips_and_applies_merges() {
    let g = gguf(Spec::default());
    let m = load(&g.path, WeightFormat::AsStored);
    // Merges: "he" + "ll" -> "hell"; "Ġ" + "t" -> "Ġt"; no prefix space is added.
    assert_eq!(tokens(&m, "he"), ["he"]);
    assert_eq!(tokens(&m, "hello"), ["hell", "o"]);
    assert_eq!(tokens(&m, "the"), ["t", "he"]);
    assert_eq!(tokens(&m, " the"), ["Ġt", "he"]);
    assert_eq!(tokens(&m, "hello the"), ["hell", "o", "Ġt", "he"]);
    // Control tokens are single ids.
    assert_eq!(m.encode("<|im_start|>").unwrap(), [1]);
    assert_eq!(m.encode("<|im_end|>").unwrap(), [2]);
    let ids = m.encode("<|im_start|>user\nhi<|im_end|>").unwrap();
    assert_eq!(ids[0], 1);
    assert_eq!(*ids.last().unwrap(), 2);
    assert_eq!(tokens(&m, "<|im_start|>user\n")[1..], ["u", "s", "e", "r", "Ċ"]);
    // `smollm` pre-tokenizer: digits one by one.
    assert_eq!(tokens(&m, "2024"), ["2", "0", "2", "4"]);
    // Round trips, ASCII and not.
    for text in ["hello world", "Crème brûlée costs €8.50 — ¿sí?", "line one\nline two\n\n  indented\t tab", "emoji 🎈 日本語", ""] {
        let ids = m.encode(text).unwrap();
        assert_eq!(m.tokenizer().decode(&ids, false).unwrap(), text, "round trip of {text:?}");
    }
    // Non-ASCII is byte-level: "é" is two byte symbols.
    assert_eq!(m.encode("é").unwrap().len(), 2);
}

#[test]
fn chat_template_is_detected_and_rendered() {
    let g = gguf(Spec::default());
    let m = load(&g.path, WeightFormat::AsStored);
    assert_eq!(m.template(), ChatTemplate::ChatMl);
    let prompt = m.render("Be brief.", &[msg("user", "hello there"), msg("assistant", "Hi!"), msg("customer", "Price?")]);
    assert_eq!(
        prompt,
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\nHi!<|im_end|>\n<|im_start|>user\nPrice?<|im_end|>\n<|im_start|>assistant\n"
    );
    let ids = m.encode(&prompt).unwrap();
    assert_eq!(ids.iter().filter(|&&i| i == 1).count(), 5, "five <|im_start|> ids (four turns and the reply)");
    assert_eq!(ids.iter().filter(|&&i| i == 2).count(), 4, "four <|im_end|> ids");

    // No declared template: ChatML.
    let none = gguf(Spec { chat_template: None, ..Default::default() });
    assert_eq!(load(&none.path, WeightFormat::AsStored).template(), ChatTemplate::ChatMl);

    // A Llama-3 template is detected (its stop strings are not in this vocabulary, the EOS is).
    let l3 = gguf(Spec { chat_template: Some(LLAMA3_JINJA), ..Default::default() });
    let m3 = load(&l3.path, WeightFormat::AsStored);
    assert_eq!(m3.template(), ChatTemplate::Llama3);
    assert!(m3.render("S", &[msg("user", "Q")]).starts_with("<|begin_of_text|><|start_header_id|>system"));

    // add_bos_token: the BOS token's text leads the ChatML prompt.
    let bos = gguf(Spec { add_bos: true, ..Default::default() });
    let mb = load(&bos.path, WeightFormat::AsStored);
    let p = mb.render("", &[msg("user", "hi")]);
    assert_eq!(p, "<|endoftext|><|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    assert_eq!(mb.encode(&p).unwrap()[0], 0);
}

#[test]
fn greedy_chat_is_deterministic_and_streams() {
    let g = gguf(Spec::default());
    let m = load(&g.path, WeightFormat::Q8_0);
    let msgs = [msg("user", "hello there, what is the price?")];
    let s = greedy(8);
    let (a, streamed_a) = chat(&m, "Be brief.", &msgs, &s);
    let (b, streamed_b) = chat(&m, "Be brief.", &msgs, &s);
    assert_eq!(a.text, b.text);
    assert_eq!(a.tokens_out, b.tokens_out);
    assert_eq!(a.stop, b.stop);
    assert_eq!(streamed_a, streamed_b);
    assert!(a.tokens_out <= 8);
    assert_eq!(a.tokens_in as usize, m.encode(&m.render("Be brief.", &msgs)).unwrap().len());
    assert!(matches!(a.stop, StopReason::MaxTokens | StopReason::EndOfTurn), "{:?}", a.stop);
    if a.stop == StopReason::MaxTokens {
        assert_eq!(a.tokens_out, 8);
    }
    // The deltas add up to the text.
    assert_streamed(&streamed_a, &a.text);

    // The same ids through generate_ids give the same reply.
    let ids = m.encode(&m.render("Be brief.", &msgs)).unwrap();
    let c = m.generate_ids(&ids, &s, &mut |_| true).unwrap();
    assert_eq!(c.text, a.text);
    // An empty prompt is refused.
    expect_model_err(m.generate_ids(&[], &s, &mut |_| true), "empty prompt");

    // Sampled decoding is reproducible for a seed.
    let sampled = SamplingOptions { temperature: 0.9, top_p: Some(0.95), seed: 42, max_tokens: 8, ..Default::default() };
    let (x, sx) = chat(&m, "", &msgs, &sampled);
    let (y, _) = chat(&m, "", &msgs, &sampled);
    assert_eq!(x.text, y.text);
    assert_streamed(&sx, &x.text);
    let all = SamplingOptions { top_p: None, ..sampled.clone() };
    let (z, sz) = chat(&m, "", &msgs, &all);
    assert!(z.tokens_out <= 8);
    assert_streamed(&sz, &z.text);
}

#[test]
fn steered_model_writes_the_same_tokens_in_both_formats() {
    let g = gguf(Spec { steer: Some("A"), ..Default::default() });
    let msgs = [msg("user", "hello")];
    for w in [WeightFormat::Q8_0, WeightFormat::AsStored] {
        let m = load(&g.path, w);
        let (out, streamed) = chat(&m, "Be brief.", &msgs, &greedy(8));
        assert_eq!(out.text, "AAAAAAAA", "{w:?}");
        assert_eq!(streamed, out.text);
        assert_eq!(out.tokens_out, 8);
        assert_eq!(out.stop, StopReason::MaxTokens);

        // Sampling cannot move it either (the gap is huge).
        let s = SamplingOptions { temperature: 0.8, top_p: Some(0.9), seed: 1, max_tokens: 3, ..Default::default() };
        assert_eq!(chat(&m, "", &msgs, &s).0.text, "AAA");

        // The callback can stop it.
        let mut n = 0;
        let out = m
            .chat("", &msgs, &greedy(8), &mut |_| {
                n += 1;
                false
            })
            .unwrap();
        assert_eq!((n, out.tokens_out, out.stop, out.text.as_str()), (1, 1, StopReason::Cancelled, "A"));

        // So can the clock.
        let s = SamplingOptions { max_time: Duration::ZERO, ..greedy(8) };
        let out = chat(&m, "", &msgs, &s).0;
        assert_eq!((out.tokens_out, out.stop), (1, StopReason::Time));

        // As a Generator.
        let request = GenerationRequest { system: "Be brief.".into(), messages: msgs.to_vec(), max_tokens: 3, has_image: false };
        let gen_out = m.generate(&request).unwrap();
        assert_eq!(gen_out.text, "AAA");
        assert_eq!(gen_out.tokens_out, 3);
        assert!(gen_out.tokens_in > 0);
    }
}

#[test]
fn a_reply_cut_mid_character_streams_what_its_text_holds() {
    // The model always writes byte 0xC3 (the lead byte of "é"); one token cuts the reply
    // mid-character.
    assert_eq!(byte_symbols()[0xC3], '\u{c3}');
    let g = gguf(Spec { steer: Some("\u{c3}"), ..Default::default() });
    let m = load(&g.path, WeightFormat::AsStored);
    let (out, streamed) = chat(&m, "", &[msg("user", "hi")], &greedy(1));
    assert_eq!(out.tokens_out, 1);
    assert_eq!(streamed, out.text, "a streaming host shows {streamed:?} but the reply recorded is {:?}", out.text);
}

#[test]
fn a_zero_output_norm_ends_the_turn_at_once() {
    // Every logit is 0; argmax takes the first, <|endoftext|>, a stop token.
    let g = gguf(Spec { zero_output_norm: true, ..Default::default() });
    let m = load(&g.path, WeightFormat::Q8_0);
    let mut calls = 0;
    let out = m
        .chat("", &[msg("user", "hi")], &greedy(8), &mut |_| {
            calls += 1;
            true
        })
        .unwrap();
    assert_eq!(out.stop, StopReason::EndOfTurn);
    assert_eq!(out.tokens_out, 0);
    assert_eq!(out.text, "");
    assert_eq!(calls, 0);
}

#[test]
fn the_context_drops_old_history_and_refuses_an_oversized_prompt() {
    let g = gguf(Spec { steer: Some("A"), ..Default::default() });
    let m = LocalModel::load(&g.path, &ModelOptions { context: 64, weights: WeightFormat::AsStored, ..Default::default() }).unwrap();
    let s = greedy(8);
    let long = "a fairly long message here";
    let msgs = [msg("user", long), msg("assistant", long), msg("user", "hi")];
    // The whole history does not fit in 64 - 8 tokens; only the last message does.
    assert!(m.encode(&m.render("", &msgs)).unwrap().len() > 56);
    let out = chat(&m, "", &msgs, &s).0;
    assert!(out.tokens_in <= 56);
    assert_eq!(out.tokens_in as usize, m.encode(&m.render("", &msgs[2..])).unwrap().len());
    assert_eq!(out.text, "AAAAAAAA");
    // A system prompt that cannot fit is an error, not a truncated prompt.
    let system = "x".repeat(200);
    expect_model_err(m.chat(&system, &msgs, &s, &mut |_| true), "shorten the system prompt");
}

#[test]
fn unsupported_or_broken_files_fail_with_model_errors() {
    // Not a Llama.
    let g = gguf(Spec { arch: "gpt2", ..Default::default() });
    expect_model_err(LocalModel::load(&g.path, &ModelOptions::default()), "architecture `gpt2` is not supported");
    // No tokenizer metadata and no tokenizer.json.
    let g = gguf(Spec { tokenizer_model: None, ..Default::default() });
    expect_model_err(LocalModel::load(&g.path, &ModelOptions::default()), "tokenizer.json");
    // A SentencePiece tokenizer cannot be built from the metadata.
    let g = gguf(Spec { tokenizer_model: Some("llama"), ..Default::default() });
    let msg = expect_model_err(LocalModel::load(&g.path, &ModelOptions::default()), "tokenizer.json");
    assert!(msg.contains("`llama`"), "{msg}");
    // gpt2 tokenizer, but the vocabulary is missing.
    let g = gguf(Spec { drop_key: Some("tokenizer.ggml.tokens"), ..Default::default() });
    expect_model_err(LocalModel::load(&g.path, &ModelOptions::default()), "tokenizer.ggml.tokens");
    // No end-of-sequence token anywhere.
    let g = gguf(Spec { specials: false, ..Default::default() });
    expect_model_err(LocalModel::load(&g.path, &ModelOptions::default()), "no end-of-sequence token");
    // A hyper-parameter candle needs is missing.
    let g = gguf(Spec { drop_key: Some("llama.block_count"), ..Default::default() });
    for w in [WeightFormat::Q8_0, WeightFormat::AsStored] {
        expect_model_err(LocalModel::load(&g.path, &opts(w)), "cannot load");
    }
    expect_model_err(LocalModel::load(&g.path, &ModelOptions::default()), "llama.block_count");

    // Not GGUF at all.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.gguf");
    std::fs::write(&junk, b"this is not a gguf file, just some text padding it out a bit").unwrap();
    expect_model_err(LocalModel::load(&junk, &ModelOptions::default()), "not a readable GGUF file");
    let empty = dir.path().join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    expect_model_err(LocalModel::load(&empty, &ModelOptions::default()), "GGUF");
    // Truncated: the header is fine, the tensors are cut off.
    let good = gguf(Spec::default());
    let bytes = std::fs::read(&good.path).unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    for w in [WeightFormat::Q8_0, WeightFormat::AsStored] {
        let r = LocalModel::load(&cut, &opts(w));
        assert_eq!(r.err().map(|e| e.kind()), Some(ErrorKind::Model), "{w:?}");
    }
    // Missing.
    expect_model_err(LocalModel::load(dir.path().join("nope.gguf"), &ModelOptions::default()), "cannot open model");
}

#[test]
fn a_tokenizer_json_beside_the_gguf_is_preferred() {
    // A GGUF with no tokenizer metadata loads once the tokenizer sits beside it.
    let full = gguf(Spec::default());
    let reference = load(&full.path, WeightFormat::AsStored);
    let bare = gguf(Spec { tokenizer_model: None, ..Default::default() });
    reference.tokenizer().save(bare.path.with_file_name("tokenizer.json"), false).unwrap();
    let m = load(&bare.path, WeightFormat::AsStored);
    for text in ["hello the world", "<|im_start|>user\nCrème 🎈<|im_end|>"] {
        assert_eq!(m.encode(text).unwrap(), reference.encode(text).unwrap(), "{text:?}");
    }
    // Its stop tokens come from the tokenizer's <|im_end|> / <|endoftext|>.
    assert!(chat(&m, "", &[msg("user", "hi")], &greedy(2)).0.tokens_out <= 2);

    // Beside a full GGUF, a different tokenizer (no merges) wins over the metadata.
    let no_merges = gguf(Spec { merges: false, ..Default::default() });
    let other = load(&no_merges.path, WeightFormat::AsStored);
    assert_eq!(tokens(&other, "hello"), ["h", "e", "l", "l", "o"]);
    let beside = gguf(Spec::default());
    other.tokenizer().save(beside.path.with_file_name("tokenizer.json"), false).unwrap();
    let m = load(&beside.path, WeightFormat::Q8_0);
    assert_eq!(tokens(&m, "hello"), ["h", "e", "l", "l", "o"]);

    // ModelOptions::tokenizer names one explicitly, from anywhere.
    let dir = tempfile::tempdir().unwrap();
    let custom = dir.path().join("custom-tokenizer.json");
    other.tokenizer().save(&custom, false).unwrap();
    let m = LocalModel::load(&full.path, &ModelOptions { tokenizer: Some(custom.clone()), ..opts(WeightFormat::AsStored) }).unwrap();
    assert_eq!(tokens(&m, "hello"), ["h", "e", "l", "l", "o"]);

    // A broken tokenizer.json is reported, not silently replaced by the metadata.
    let broken = gguf(Spec::default());
    std::fs::write(broken.path.with_file_name("tokenizer.json"), "{ not json").unwrap();
    expect_model_err(LocalModel::load(&broken.path, &ModelOptions::default()), "cannot read tokenizer");
    let missing = dir.path().join("missing.json");
    expect_model_err(LocalModel::load(&full.path, &ModelOptions { tokenizer: Some(missing), ..Default::default() }), "missing.json");
}

// ---------------------------------------------------------------------------------------------
// Tiny BERT
// ---------------------------------------------------------------------------------------------

const HIDDEN: usize = 32;
const BERT_LAYERS: usize = 2;
const INTERMEDIATE: usize = 64;
const MAX_POS: usize = 64;
const WORDS: [&str; 42] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "cat", "dog", "sat", "on", "mat", "ran", "fast", "slow", "big", "small", "red",
    "blue", "green", "house", "tree", "and", "is", "was", ".", ",", "##s", "##ing", "hello", "world", "price", "coffee", "tea", "cake", "open",
    "today", "what", "time", "?", "it", "how",
];

fn bert_config(vocab: usize) -> String {
    format!(
        r#"{{"architectures":["BertModel"],"model_type":"bert","vocab_size":{vocab},"hidden_size":{HIDDEN},"num_hidden_layers":{BERT_LAYERS},"num_attention_heads":2,"intermediate_size":{INTERMEDIATE},"hidden_act":"gelu","hidden_dropout_prob":0.1,"attention_probs_dropout_prob":0.1,"max_position_embeddings":{MAX_POS},"type_vocab_size":2,"initializer_range":0.02,"layer_norm_eps":1e-12,"pad_token_id":0,"position_embedding_type":"absolute","use_cache":true,"classifier_dropout":null}}"#
    )
}

fn bert_tokenizer(path: &Path) {
    use tokenizers::models::wordpiece::WordPiece;
    use tokenizers::normalizers::bert::BertNormalizer;
    use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
    use tokenizers::processors::bert::BertProcessing;
    let vocab: [(String, u32); WORDS.len()] = std::array::from_fn(|i| (WORDS[i].to_string(), i as u32));
    let wp = WordPiece::builder().vocab(vocab).unk_token("[UNK]".into()).build().unwrap();
    let mut tok = tokenizers::Tokenizer::new(wp);
    tok.with_normalizer(Some(BertNormalizer::default())).unwrap();
    tok.with_pre_tokenizer(Some(BertPreTokenizer));
    tok.with_post_processor(Some(BertProcessing::new(("[SEP]".into(), 3), ("[CLS]".into(), 2))));
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map(|t| tokenizers::AddedToken::from(t, true))).unwrap();
    tok.save(path, false).unwrap();
}

fn bert_weights(path: &Path, skip: Option<&str>) {
    let mut rng = Rng::new(11);
    let mut t: HashMap<String, Tensor> = HashMap::new();
    let mut put = |name: String, data: Vec<f32>, shape: &[usize]| {
        t.insert(name, Tensor::from_vec(data, shape, &Device::Cpu).unwrap());
    };
    let ones = |rng: &mut Rng, n: usize| rng.vec(n, 0.1).into_iter().map(|x| 1.0 + x).collect::<Vec<f32>>();
    let v = WORDS.len();
    put("embeddings.word_embeddings.weight".into(), rng.vec(v * HIDDEN, 1.0), &[v, HIDDEN]);
    put("embeddings.position_embeddings.weight".into(), rng.vec(MAX_POS * HIDDEN, 0.3), &[MAX_POS, HIDDEN]);
    put("embeddings.token_type_embeddings.weight".into(), rng.vec(2 * HIDDEN, 0.3), &[2, HIDDEN]);
    put("embeddings.LayerNorm.weight".into(), ones(&mut rng, HIDDEN), &[HIDDEN]);
    put("embeddings.LayerNorm.bias".into(), rng.vec(HIDDEN, 0.1), &[HIDDEN]);
    for l in 0..BERT_LAYERS {
        let p = format!("encoder.layer.{l}");
        for (name, out, inp) in [
            ("attention.self.query", HIDDEN, HIDDEN),
            ("attention.self.key", HIDDEN, HIDDEN),
            ("attention.self.value", HIDDEN, HIDDEN),
            ("attention.output.dense", HIDDEN, HIDDEN),
            ("intermediate.dense", INTERMEDIATE, HIDDEN),
            ("output.dense", HIDDEN, INTERMEDIATE),
        ] {
            put(format!("{p}.{name}.weight"), rng.vec(out * inp, 0.3), &[out, inp]);
            put(format!("{p}.{name}.bias"), rng.vec(out, 0.1), &[out]);
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            put(format!("{p}.{name}.weight"), ones(&mut rng, HIDDEN), &[HIDDEN]);
            put(format!("{p}.{name}.bias"), rng.vec(HIDDEN, 0.1), &[HIDDEN]);
        }
    }
    if let Some(s) = skip {
        assert!(t.remove(s).is_some(), "no tensor {s}");
    }
    candle_core::safetensors::save(&t, path).unwrap();
}

/// A folder with model.safetensors, config.json and tokenizer.json.
fn bert_dir() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    write_bert(root.path());
    root
}

fn write_bert(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), bert_config(WORDS.len())).unwrap();
    bert_tokenizer(&dir.join("tokenizer.json"));
    bert_weights(&dir.join("model.safetensors"), None);
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

const TEXTS: [&str; 6] = [
    "the cat sat on the mat and the dog ran fast today",
    "hello",
    "what time is it ?",
    "",
    "Tea, coffee and cake: how big is the price?",
    "zebras unknown words ünïcödé",
];

#[test]
fn bert_loads_and_embeds_unit_vectors() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("tiny-bert");
    write_bert(&dir);
    let e = BertEmbedder::load(&dir).unwrap();
    assert_eq!(e.dim(), HIDDEN);
    assert_eq!(e.name(), "tiny-bert");
    let vs = e.embed(&TEXTS).unwrap();
    assert_eq!(vs.len(), TEXTS.len());
    for (v, t) in vs.iter().zip(TEXTS) {
        assert_eq!(v.len(), HIDDEN, "{t:?}");
        assert!(v.iter().all(|x| x.is_finite()), "{t:?}");
        assert!((norm(v) - 1.0).abs() < 1e-4, "{t:?}: norm {}", norm(v));
    }
    // Different texts, different vectors.
    assert!(cosine(&vs[0], &vs[1]) < 0.9999);
    // Nothing in, nothing out.
    assert!(e.embed(&[]).unwrap().is_empty());
    // Explicit file paths load the same model.
    let f = BertEmbedder::load_files(&dir.join("model.safetensors"), &dir.join("config.json"), &dir.join("tokenizer.json")).unwrap();
    let again = f.embed(&TEXTS[..2]).unwrap();
    assert!(cosine(&again[0], &vs[0]) > 0.99999);
}

#[test]
fn bert_batching_and_padding_do_not_change_vectors() {
    let dir = bert_dir();
    let e = BertEmbedder::load(dir.path()).unwrap();
    let batch = e.embed(&TEXTS).unwrap();
    for (i, t) in TEXTS.iter().enumerate() {
        let alone = e.embed(&[t]).unwrap();
        let c = cosine(&batch[i], &alone[0]);
        assert!(c > 0.9999, "{t:?}: batched vs alone cosine {c}");
    }
    // Batches of two (padding differs per batch) agree too.
    let e2 = BertEmbedder::load(dir.path()).unwrap().with_batch(2);
    for (a, b) in e2.embed(&TEXTS).unwrap().iter().zip(&batch) {
        assert!(cosine(a, b) > 0.9999);
    }
    // Identical texts, identical vectors, wherever they sit in the batch.
    let same = e.embed(&["the red house", "a", "the red house", "the red house and the green tree"]).unwrap();
    assert_eq!(same[0], same[2]);
    // Normalisation: case does not matter to this (lowercasing) tokenizer.
    let upper = e.embed(&["THE RED HOUSE"]).unwrap();
    assert!(cosine(&upper[0], &same[0]) > 0.9999);
    // Longer than max_position_embeddings: truncated, not an error.
    let long = "the cat sat on the mat ".repeat(40);
    let v = e.embed(&[long.as_str(), "hello"]).unwrap();
    assert!((norm(&v[0]) - 1.0).abs() < 1e-4);
}

#[test]
fn bert_missing_or_broken_files_fail_with_model_errors() {
    // Missing config.json.
    let dir = bert_dir();
    std::fs::remove_file(dir.path().join("config.json")).unwrap();
    expect_model_err(BertEmbedder::load(dir.path()), "config.json");
    // A config that is not BERT's.
    std::fs::write(dir.path().join("config.json"), r#"{"hidden_size": 32}"#).unwrap();
    expect_model_err(BertEmbedder::load(dir.path()), "is not a BERT config");
    // Missing tokenizer.json.
    let dir = bert_dir();
    std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    expect_model_err(BertEmbedder::load(dir.path()), "tokenizer.json");
    // Missing weights.
    let dir = bert_dir();
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    expect_model_err(BertEmbedder::load(dir.path()), "model.safetensors");
    // Not safetensors.
    std::fs::write(dir.path().join("model.safetensors"), b"garbage").unwrap();
    expect_model_err(BertEmbedder::load(dir.path()), "model.safetensors");
    // A tensor missing from the weights.
    let dir = bert_dir();
    bert_weights(&dir.path().join("model.safetensors"), Some("encoder.layer.1.output.dense.weight"));
    expect_model_err(BertEmbedder::load(dir.path()), "does not hold a BERT model");
    // A config whose sizes disagree with the weights.
    let dir = bert_dir();
    std::fs::write(dir.path().join("config.json"), bert_config(WORDS.len() + 5)).unwrap();
    expect_model_err(BertEmbedder::load(dir.path()), "does not hold a BERT model");
}


#[test]
fn the_native_backend_runs_the_tiny_model_like_candle() {
    let g = gguf(Spec::default());
    let native = LocalModel::load(&g.path, &ModelOptions { threads: Some(2), ..Default::default() }).unwrap();
    assert_eq!(native.backend(), Backend::Native);
    let candle = load(&g.path, WeightFormat::AsStored);
    let ids = native.encode("hello there, the tiny model says hello").unwrap();
    let (a, b) = (native.token_logprobs(&ids).unwrap(), candle.token_logprobs(&ids).unwrap());
    assert_eq!(a.len(), ids.len() - 1);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 0.05 * (1.0 + y.abs()), "log-prob {x} vs {y}");
    }
    // The prompt in one batch or one token at a time: the same next-token distribution.
    let whole = native.logits(&ids).unwrap();
    let lse = {
        let m = whole.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
        m + whole.iter().map(|v| (v - m).exp()).sum::<f32>().ln()
    };
    let t = ids[1];
    let mut longer = ids.clone();
    longer.push(t);
    let stepwise = *native.token_logprobs(&longer).unwrap().last().unwrap();
    assert!((stepwise - (whole[t as usize] - lse)).abs() < 0.05, "{stepwise} vs {}", whole[t as usize] - lse);
    let (out, _) = chat(&native, "", &[msg("user", "hello there")], &greedy(6));
    let (again, _) = chat(&native, "", &[msg("user", "hello there")], &greedy(6));
    assert_eq!(out.text, again.text);
    assert!(out.tokens_out <= 6);
    // Bad token ids are a typed error, not a panic.
    let e = native.logits(&[u32::MAX]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(e.to_string().contains("outside the vocabulary"), "{e}");
}
