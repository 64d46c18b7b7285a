//! A GGUF chat model (Llama family) run in-process with candle: load, tokenize, render the chat
//! template, decode with a KV cache, stream text deltas, count tokens.

use std::io::{Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::ModelWeights;
use tokenizers::Tokenizer;

use super::chat::ChatTemplate;
use crate::compose::{ChatMessage, Generation, GenerationRequest, Generator};
use crate::error::{Error, ErrorKind, Result};

fn model_err(context: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Model, format!("{context}: {e}"))
}

/// How the weights are held in memory after loading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
    /// As stored in the file.
    AsStored,
    /// Requantized to Q8_0 at load: candle has fast (AVX2 / AVX-512 VNNI) kernels for Q8_0 but
    /// only a scalar one for Q4_1, so this is much faster for Q4_1 files (at about twice the RAM).
    Q8_0,
}

/// Which code runs the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// Brain's own forward pass: the file's Q4_0/Q4_1/Q8_0 weights as they are (other types
    /// requantized to Q8_0), AVX2 kernels, a persistent thread pool. The fast default.
    #[default]
    Native,
    /// candle's quantized Llama (the reference the native backend is tested against).
    Candle,
}

/// How to load a GGUF model.
#[derive(Clone, Debug)]
pub struct ModelOptions {
    /// Which code runs the model (default [`Backend::Native`]).
    pub backend: Backend,
    /// A `tokenizer.json` to use instead of the GGUF metadata. When `None`, a `tokenizer.json`
    /// beside the `.gguf` file is used if present, else the tokenizer is built from the GGUF.
    pub tokenizer: Option<PathBuf>,
    /// Weight layout in memory for the candle backend; default [`WeightFormat::Q8_0`].
    pub weights: WeightFormat,
    /// Compute threads (default: the machine's, at most 4). The native backend's pool is per
    /// model; candle's is process-wide and sized once (first model loaded, unless
    /// `CANDLE_NUM_THREADS` is set).
    pub threads: Option<usize>,
    /// Longest prompt + reply, in tokens (the oldest history is dropped to fit).
    pub context: usize,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions { backend: Backend::Native, tokenizer: None, weights: WeightFormat::Q8_0, threads: None, context: 2048 }
    }
}

/// How to pick each next token.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingOptions {
    /// 0 = greedy (deterministic); otherwise the softmax temperature.
    pub temperature: f64,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches `top_p`.
    pub top_p: Option<f64>,
    /// Seed of the sampler (sampled decoding is reproducible for a given seed).
    pub seed: u64,
    /// Penalty for tokens among the last `repeat_last_n` (1.0 = none).
    pub repeat_penalty: f32,
    /// Window of the repetition penalty.
    pub repeat_last_n: usize,
    /// Most tokens to write.
    pub max_tokens: u32,
    /// Wall-clock budget for one reply; decoding stops (keeping what it has) when it runs out.
    pub max_time: Duration,
    /// Keep writing through end-of-turn tokens (benchmarks: exactly `max_tokens` tokens).
    pub ignore_eos: bool,
}

impl Default for SamplingOptions {
    fn default() -> Self {
        SamplingOptions {
            temperature: 0.0,
            top_p: None,
            seed: 299_792_458,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            max_tokens: 160,
            max_time: Duration::from_secs(20),
            ignore_eos: false,
        }
    }
}

/// Why decoding stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The model wrote an end-of-turn token.
    EndOfTurn,
    /// `max_tokens` was reached.
    MaxTokens,
    /// `max_time` ran out.
    Time,
    /// The streaming callback asked to stop.
    Cancelled,
}

/// A finished generation with its measurements.
#[derive(Clone, Debug)]
pub struct Output {
    /// The text written (stop tokens excluded).
    pub text: String,
    /// Prompt tokens read.
    pub tokens_in: u32,
    /// Tokens written (the end-of-turn token not counted).
    pub tokens_out: u32,
    /// Why it stopped.
    pub stop: StopReason,
    /// Time to process the prompt.
    pub prompt_time: Duration,
    /// Time from the start to the first token sampled.
    pub first_token: Duration,
    /// Time spent decoding after the first token.
    pub decode_time: Duration,
}

/// A GGUF chat model, loaded once and shared by every turn (`Send + Sync`; each generation
/// works on its own KV cache).
pub struct LocalModel {
    runner: Runner,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    bos: Option<String>,
    stop_ids: Vec<u32>,
    context: usize,
    name: String,
    path: PathBuf,
    sampling: SamplingOptions,
    device: Device,
}

enum Runner {
    Native(brain_kernels::llama::Model),
    Candle(ModelWeights),
}

/// One generation's model state.
enum State<'a> {
    Native(&'a brain_kernels::llama::Model, brain_kernels::llama::Session),
    Candle(ModelWeights),
}

impl State<'_> {
    /// Feeds `tokens` at position `pos`; logits of the last.
    fn forward(&mut self, tokens: &[u32], pos: usize, device: &Device) -> Result<Tensor> {
        let run = |e| model_err("the model failed", e);
        match self {
            State::Native(m, s) => {
                let logits = s.forward(m, tokens).map_err(|e| Error::new(ErrorKind::Model, e.to_string()))?;
                Tensor::new(logits, device).map_err(run)
            }
            State::Candle(w) => {
                let input = Tensor::new(tokens, device).and_then(|t| t.unsqueeze(0)).map_err(run)?;
                w.forward(&input, pos).and_then(|l| l.squeeze(0)).map_err(run)
            }
        }
    }
}

/// Sizes the process-wide compute pool, if nobody has yet.
pub(crate) fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads.filter(|n| *n > 0)
        && std::env::var_os("CANDLE_NUM_THREADS").is_none()
    {
        // SAFETY: set before candle's pool is created by the first model load; Brain reads
        // no other environment concurrently at that point.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", n.to_string()) };
    }
}

fn requantize(content: &gguf_file::Content, file: &mut (impl Read + Seek), device: &Device, progress: &mut dyn FnMut(usize, usize)) -> Result<Vec<u8>> {
    let names: Vec<&String> = content.tensor_infos.keys().collect();
    let mut tensors: Vec<(String, QTensor)> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let t = content.tensor(file, name, device).map_err(|e| model_err(format!("cannot read tensor {name}"), e))?;
        let dims = t.shape().dims().to_vec();
        let slow = !matches!(t.dtype(), GgmlDType::Q8_0 | GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16);
        let t = if slow && dims.len() == 2 && dims[1] % 32 == 0 {
            let f = t.dequantize(device).map_err(|e| model_err(format!("cannot dequantize {name}"), e))?;
            QTensor::quantize(&f, GgmlDType::Q8_0).map_err(|e| model_err(format!("cannot requantize {name}"), e))?
        } else {
            t
        };
        tensors.push(((*name).clone(), t));
        progress(i + 1, names.len());
    }
    let metadata: Vec<(&str, &gguf_file::Value)> = content.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut buf = Cursor::new(Vec::new());
    gguf_file::write(&mut buf, &metadata, &refs).map_err(|e| model_err("cannot lay out the requantized model", e))?;
    Ok(buf.into_inner())
}

impl LocalModel {
    /// Loads a GGUF file (Llama family: SmolLM2, Llama 3, TinyLlama, …).
    ///
    /// # Errors
    /// `Model` when the file is missing, not GGUF, not a Llama-family model, or its tokenizer
    /// cannot be built.
    pub fn load(path: impl AsRef<Path>, options: &ModelOptions) -> Result<LocalModel> {
        Self::load_with_progress(path, options, &mut |_, _| {})
    }

    /// [`LocalModel::load`], reporting `(tensors done, tensors total)` while it requantizes.
    ///
    /// # Errors
    /// As [`LocalModel::load`].
    pub fn load_with_progress(path: impl AsRef<Path>, options: &ModelOptions, progress: &mut dyn FnMut(usize, usize)) -> Result<LocalModel> {
        let path = path.as_ref();
        set_threads(options.threads);
        let device = Device::Cpu;
        let mut file = std::fs::File::open(path)
            .map_err(|e| Error::new(ErrorKind::Model, format!("cannot open model {}: {e} (run scripts/fetch-models.sh for the default models)", path.display())))?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| model_err(format!("{} is not a readable GGUF file", path.display()), e))?;
        let arch = content.metadata.get("general.architecture").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
        if arch != "llama" {
            return Err(Error::new(ErrorKind::Model, format!("{}: architecture `{arch}` is not supported; Brain runs Llama-family GGUF models", path.display())));
        }
        let tokenizer = match options.tokenizer.clone().or_else(|| Some(path.with_file_name("tokenizer.json")).filter(|p| p.exists())) {
            Some(tj) => Tokenizer::from_file(&tj).map_err(|e| model_err(format!("cannot read tokenizer {}", tj.display()), e))?,
            None => super::tokenizer::from_gguf(&content)?,
        };
        let specials = super::tokenizer::special_tokens(&content);
        let template = ChatTemplate::detect(content.metadata.get("tokenizer.chat_template").and_then(|v| v.to_string().ok()).map(String::as_str));
        let mut stop_ids: Vec<u32> = template.stop_strings().iter().filter_map(|s| tokenizer.token_to_id(s)).collect();
        if let Some(eos) = specials.eos {
            stop_ids.push(eos);
        }
        stop_ids.sort_unstable();
        stop_ids.dedup();
        if stop_ids.is_empty() {
            return Err(Error::new(ErrorKind::Model, format!("{}: the model declares no end-of-sequence token", path.display())));
        }
        let bos = specials.bos.filter(|_| specials.add_bos).and_then(|id| tokenizer.id_to_token(id));
        let runner = match (options.backend, options.weights) {
            (Backend::Native, _) => {
                let threads = options.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get().min(4)).unwrap_or(1));
                Runner::Native(super::native::load(&content, &mut file, threads, progress)?)
            }
            (Backend::Candle, WeightFormat::AsStored) => {
                Runner::Candle(ModelWeights::from_gguf(content, &mut file, &device).map_err(|e| model_err(format!("cannot load {}", path.display()), e))?)
            }
            (Backend::Candle, WeightFormat::Q8_0) => {
                let bytes = requantize(&content, &mut file, &device, progress)?;
                let mut cursor = Cursor::new(bytes);
                let content = gguf_file::Content::read(&mut cursor).map_err(|e| model_err("cannot reread the requantized model", e))?;
                Runner::Candle(ModelWeights::from_gguf(content, &mut cursor, &device).map_err(|e| model_err(format!("cannot load {}", path.display()), e))?)
            }
        };
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        Ok(LocalModel {
            runner,
            tokenizer,
            template,
            bos,
            stop_ids,
            context: options.context.max(64),
            name,
            path: path.to_path_buf(),
            sampling: SamplingOptions::default(),
            device,
        })
    }

    /// Sets the default sampling of [`Generator::generate`] calls.
    pub fn with_sampling(mut self, sampling: SamplingOptions) -> LocalModel {
        self.sampling = sampling;
        self
    }

    /// The default sampling.
    pub fn sampling(&self) -> &SamplingOptions {
        &self.sampling
    }

    /// The tokenizer (built from the GGUF metadata unless a tokenizer.json was given).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The chat template in use.
    pub fn template(&self) -> ChatTemplate {
        self.template
    }

    /// Which backend runs it.
    pub fn backend(&self) -> Backend {
        match self.runner {
            Runner::Native(_) => Backend::Native,
            Runner::Candle(_) => Backend::Candle,
        }
    }

    /// Logits of the last of `tokens`, from a fresh state (tests compare backends with it).
    ///
    /// # Errors
    /// `Model` if the model fails.
    pub fn logits(&self, tokens: &[u32]) -> Result<Vec<f32>> {
        let mut state = match &self.runner {
            Runner::Native(m) => State::Native(m, brain_kernels::llama::Session::new(m)),
            Runner::Candle(w) => State::Candle(w.clone()),
        };
        state.forward(tokens, 0, &self.device)?.to_vec1::<f32>().map_err(|e| model_err("cannot read logits", e))
    }

    /// Log-probability the model gives each token of `tokens` after the ones before it
    /// (teacher forcing, one position at a time through the KV cache); `len - 1` values.
    /// Its mean negated is the text's cross-entropy: a check of the forward pass, and a way to
    /// compare models.
    ///
    /// # Errors
    /// `Model` if the model fails.
    pub fn token_logprobs(&self, tokens: &[u32]) -> Result<Vec<f32>> {
        let mut state = match &self.runner {
            Runner::Native(m) => State::Native(m, brain_kernels::llama::Session::new(m)),
            Runner::Candle(w) => State::Candle(w.clone()),
        };
        let mut out = Vec::with_capacity(tokens.len().saturating_sub(1));
        for i in 0..tokens.len().saturating_sub(1) {
            let logits = state.forward(&tokens[i..i + 1], i, &self.device)?.to_vec1::<f32>().map_err(|e| model_err("cannot read logits", e))?;
            let max = logits.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
            let lse = max + logits.iter().map(|v| (v - max).exp()).sum::<f32>().ln();
            let next = tokens[i + 1] as usize;
            out.push(logits.get(next).copied().unwrap_or(f32::NEG_INFINITY) - lse);
        }
        Ok(out)
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Token ids of `text`, special tokens (`<|im_start|>`) recognised.
    ///
    /// # Errors
    /// `Model` if the tokenizer fails.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.tokenizer.encode(text, false).map_err(|e| model_err("cannot tokenize", e))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The prompt for a chat, as the model's template lays it out.
    pub fn render(&self, system: &str, messages: &[ChatMessage]) -> String {
        self.template.render(system, messages, self.bos.as_deref())
    }

    /// Answers a chat: renders the template, drops the oldest messages if the prompt would not
    /// leave room for the reply, and decodes, calling `on_delta` with each piece of new text
    /// (return `false` to stop).
    ///
    /// # Errors
    /// `Model` if the prompt cannot fit even with the history dropped, or candle fails.
    pub fn chat(&self, system: &str, messages: &[ChatMessage], sampling: &SamplingOptions, on_delta: &mut dyn FnMut(&str) -> bool) -> Result<Output> {
        let budget = self.context.saturating_sub(sampling.max_tokens as usize);
        let mut first = 0;
        loop {
            let ids = self.encode(&self.render(system, &messages[first..]))?;
            if ids.len() <= budget {
                return self.generate_ids(&ids, sampling, on_delta);
            }
            if first + 1 >= messages.len() {
                return Err(Error::new(
                    ErrorKind::Model,
                    format!("the prompt needs {} tokens but the context leaves room for {budget}; shorten the system prompt or raise the context", ids.len()),
                ));
            }
            first += 1;
        }
    }

    /// Decodes from prompt token ids.
    ///
    /// # Errors
    /// `Model` if candle fails.
    pub fn generate_ids(&self, prompt: &[u32], sampling: &SamplingOptions, on_delta: &mut dyn FnMut(&str) -> bool) -> Result<Output> {
        let started = Instant::now();
        if prompt.is_empty() {
            return Err(Error::new(ErrorKind::Model, "empty prompt"));
        }
        let mut state = match &self.runner {
            Runner::Native(m) => State::Native(m, brain_kernels::llama::Session::new(m)),
            Runner::Candle(w) => State::Candle(w.clone()),
        };
        let run = |e| model_err("the model failed", e);
        let sampler = if sampling.temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            match sampling.top_p {
                Some(p) if p > 0.0 && p < 1.0 => Sampling::TopP { p, temperature: sampling.temperature },
                _ => Sampling::All { temperature: sampling.temperature },
            }
        };
        let mut processor = LogitsProcessor::from_sampling(sampling.seed, sampler);
        let mut logits = state.forward(prompt, 0, &self.device)?;
        let prompt_time = started.elapsed();
        let mut all: Vec<u32> = prompt.to_vec();
        let mut out_ids: Vec<u32> = Vec::new();
        let mut emitted = 0usize;
        let mut first_token = Duration::ZERO;
        let mut stop = StopReason::MaxTokens;
        let mut text = String::new();
        for i in 0..sampling.max_tokens as usize {
            if sampling.repeat_penalty != 1.0 {
                let start = all.len().saturating_sub(sampling.repeat_last_n);
                logits = candle_transformers::utils::apply_repeat_penalty(&logits, sampling.repeat_penalty, &all[start..]).map_err(run)?;
            }
            let next = processor.sample(&logits).map_err(run)?;
            if i == 0 {
                first_token = started.elapsed();
            }
            if !sampling.ignore_eos && self.stop_ids.contains(&next) {
                stop = StopReason::EndOfTurn;
                break;
            }
            all.push(next);
            out_ids.push(next);
            text = self.tokenizer.decode(&out_ids, true).map_err(|e| model_err("cannot decode", e))?;
            // Hold back an incomplete UTF-8 sequence until its last byte arrives.
            if !text.ends_with('\u{fffd}') && text.len() > emitted && text.is_char_boundary(emitted) {
                let keep_going = on_delta(&text[emitted..]);
                emitted = text.len();
                if !keep_going {
                    stop = StopReason::Cancelled;
                    break;
                }
            }
            if started.elapsed() >= sampling.max_time {
                stop = StopReason::Time;
                break;
            }
            if all.len() >= self.context {
                break;
            }
            logits = state.forward(&[next], all.len() - 1, &self.device)?;
        }
        // A reply that ended inside a character drops the partial bytes; the host has been sent
        // exactly what the text holds.
        let clean_len = text.trim_end_matches('\u{fffd}').len();
        text.truncate(clean_len);
        if stop != StopReason::Cancelled && text.len() > emitted && text.is_char_boundary(emitted) {
            on_delta(&text[emitted..]);
        }
        let decode_time = started.elapsed().saturating_sub(first_token);
        Ok(Output { text, tokens_in: prompt.len() as u32, tokens_out: out_ids.len() as u32, stop, prompt_time, first_token, decode_time })
    }
}

impl Generator for LocalModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn generate(&self, request: &GenerationRequest) -> Result<Generation> {
        let sampling = SamplingOptions { max_tokens: request.max_tokens.min(self.sampling.max_tokens.max(1)), ..self.sampling.clone() };
        let out = self.chat(&request.system, &request.messages, &sampling, &mut |_| true)?;
        Ok(Generation { text: out.text, tokens_in: out.tokens_in, tokens_out: out.tokens_out })
    }
}

/// A shared handle, as the router and hosts hold it.
pub type SharedModel = Arc<LocalModel>;
