//! Sentence embeddings with a BERT encoder (all-MiniLM-L6-v2 by default) run by candle: mean
//! pooling over real tokens, L2 normalisation, batched with padding to the longest input.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::error::{Error, ErrorKind, Result};
use crate::retrieval::Embedder;

fn model_err(context: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Model, format!("{context}: {e}"))
}

/// Which code runs the encoder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmbedBackend {
    /// Brain's int8 encoder (crate `kernels/`): linear layers quantized to Q8_0 at load, the
    /// Llama path's kernels, no padding. The fast default.
    #[default]
    Native,
    /// candle's f32 BERT (the reference).
    Candle,
}

enum Encoder {
    Native(brain_kernels::bert::Bert),
    Candle(BertModel),
}

/// A BERT sentence encoder.
pub struct BertEmbedder {
    model: Encoder,
    tokenizer: Tokenizer,
    dim: usize,
    name: String,
    batch: usize,
}

impl BertEmbedder {
    /// Loads `model.safetensors`, `config.json` and `tokenizer.json` from `dir`.
    ///
    /// # Errors
    /// `Model` if a file is missing or does not describe a BERT model.
    pub fn load(dir: impl AsRef<Path>) -> Result<BertEmbedder> {
        let dir = dir.as_ref();
        Self::load_files(&dir.join("model.safetensors"), &dir.join("config.json"), &dir.join("tokenizer.json"))
    }

    /// Loads from explicit file paths.
    ///
    /// # Errors
    /// As [`BertEmbedder::load`].
    pub fn load_files(weights: &Path, config: &Path, tokenizer: &Path) -> Result<BertEmbedder> {
        Self::load_with(weights, config, tokenizer, EmbedBackend::Native, None)
    }

    /// Loads with a chosen backend and thread count (`None`: the machine's, at most 4).
    ///
    /// # Errors
    /// As [`BertEmbedder::load`].
    pub fn load_with(weights: &Path, config: &Path, tokenizer: &Path, backend: EmbedBackend, threads: Option<usize>) -> Result<BertEmbedder> {
        let config_path = config.to_path_buf();
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| {
                Error::new(ErrorKind::Model, format!("cannot read {}: {e} (run scripts/fetch-models.sh for the default models)", p.display()))
            })
        };
        let config: Config = serde_json::from_slice(&read(config)?).map_err(|e| model_err(format!("{} is not a BERT config", config.display()), e))?;
        let mut tok = Tokenizer::from_file(tokenizer).map_err(|e| model_err(format!("cannot read tokenizer {}", tokenizer.display()), e))?;
        // The shipped tokenizer pads everything to 128: pad each batch only to its longest input.
        tok.with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..Default::default() }));
        tok.with_truncation(Some(TruncationParams { max_length: 256.min(config.max_position_embeddings), ..Default::default() }))
            .map_err(|e| model_err("cannot set truncation", e))?;
        let bytes = read(weights)?;
        let model = match backend {
            EmbedBackend::Candle => {
                let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)
                    .map_err(|e| model_err(format!("{} is not a safetensors file", weights.display()), e))?;
                Encoder::Candle(BertModel::load(vb, &config).map_err(|e| model_err(format!("{} does not hold a BERT model", weights.display()), e))?)
            }
            // The native encoder implements exact (erf) GELU, BERT's `gelu`.
            EmbedBackend::Native if !matches!(config.hidden_act, candle_transformers::models::bert::HiddenAct::Gelu) => {
                return Self::load_with(weights, &config_path, tokenizer, EmbedBackend::Candle, threads);
            }
            EmbedBackend::Native => {
                let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get().min(4)).unwrap_or(1));
                Encoder::Native(native_bert(&bytes, &config, weights, threads)?)
            }
        };
        let name = weights.parent().and_then(|p| p.file_name()).map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "bert".into());
        Ok(BertEmbedder { model, tokenizer: tok, dim: config.hidden_size, name, batch: 32 })
    }

    /// Sets how many texts go through the model at once (default 32).
    pub fn with_batch(mut self, batch: usize) -> BertEmbedder {
        self.batch = batch.max(1);
        self
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let run = |e| model_err("the embedding model failed", e);
        let encs = self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| model_err("cannot tokenize", e))?;
        let model = match &self.model {
            Encoder::Native(bert) => {
                // No padding: each sentence's real tokens only.
                let ids: Vec<Vec<u32>> = encs
                    .iter()
                    .map(|e| e.get_ids().iter().zip(e.get_attention_mask()).filter(|(_, m)| **m == 1).map(|(i, _)| *i).collect())
                    .collect();
                if let Some(bad) = ids.iter().flatten().find(|&&i| i as usize * bert.hidden >= bert.word.len()) {
                    return Err(Error::new(ErrorKind::Model, format!("token id {bad} is outside the embedding table")));
                }
                return Ok(bert.embed(&ids));
            }
            Encoder::Candle(m) => m,
        };
        let n = encs.len();
        let len = encs.first().map(|e| e.len()).unwrap_or(0);
        let mut ids = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in &encs {
            ids.extend_from_slice(e.get_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let dev = &Device::Cpu;
        let ids = Tensor::from_vec(ids, (n, len), dev).map_err(run)?;
        let mask = Tensor::from_vec(mask, (n, len), dev).map_err(run)?;
        let types = ids.zeros_like().map_err(run)?;
        let hidden = model.forward(&ids, &types, Some(&mask)).map_err(run)?; // (n, len, dim)
        let m = mask.to_dtype(DType::F32).and_then(|m| m.unsqueeze(2)).map_err(run)?;
        let summed = hidden.broadcast_mul(&m).and_then(|h| h.sum(1)).map_err(run)?;
        let counts = m.sum(1).and_then(|c| c.clamp(1e-9, f32::MAX as f64)).map_err(run)?;
        let mean = summed.broadcast_div(&counts).map_err(run)?;
        let norm = mean.sqr().and_then(|s| s.sum_keepdim(1)).and_then(|s| s.sqrt()).and_then(|s| s.clamp(1e-12, f64::MAX)).map_err(run)?;
        let unit = mean.broadcast_div(&norm).map_err(run)?;
        unit.to_vec2::<f32>().map_err(run)
    }
}

impl Embedder for BertEmbedder {
    fn name(&self) -> &str {
        &self.name
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        // Similar lengths batch together, so padding stays small.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for group in order.chunks(self.batch) {
            let batch: Vec<&str> = group.iter().map(|&i| texts[i]).collect();
            for (&i, v) in group.iter().zip(self.embed_batch(&batch)?) {
                slots[i] = Some(v);
            }
        }
        for s in slots {
            out.push(s.ok_or_else(|| Error::internal("an embedding went missing"))?);
        }
        Ok(out)
    }
}

/// Builds the int8 encoder from safetensors bytes.
fn native_bert(bytes: &[u8], config: &Config, path: &Path, threads: usize) -> Result<brain_kernels::bert::Bert> {
    use brain_kernels::bert::{Layer, Linear};
    use brain_kernels::quant::QMatrix;
    let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| model_err(format!("{} is not a safetensors file", path.display()), e))?;
    let prefix = if tensors.keys().any(|k| k.starts_with("bert.")) { "bert." } else { "" };
    let h = config.hidden_size;
    let get = |name: &str, len: usize| -> Result<Vec<f32>> {
        let key = format!("{prefix}{name}");
        let t = tensors.get(&key).ok_or_else(|| Error::new(ErrorKind::Model, format!("{} does not hold a BERT model: no tensor {key}", path.display())))?;
        let v = t.to_dtype(DType::F32).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<f32>()).map_err(|e| model_err(format!("cannot read {key}"), e))?;
        if v.len() != len {
            return Err(Error::new(ErrorKind::Model, format!("{} does not hold a BERT model of this config: tensor {key} has {} values, the config says {len}", path.display(), v.len())));
        }
        Ok(v)
    };
    let linear = |name: &str, out: usize, inp: usize| -> Result<Linear> {
        let w = QMatrix::q8_0_from_f32(&get(&format!("{name}.weight"), out * inp)?, out, inp)
            .ok_or_else(|| Error::new(ErrorKind::Model, format!("{name}: width {inp} is not a multiple of 32; use the candle backend")))?;
        Ok(Linear { w, b: get(&format!("{name}.bias"), out)? })
    };
    let norm = |name: &str| -> Result<(Vec<f32>, Vec<f32>)> { Ok((get(&format!("{name}.weight"), h)?, get(&format!("{name}.bias"), h)?)) };
    if config.num_attention_heads == 0 || h % config.num_attention_heads != 0 {
        return Err(Error::new(ErrorKind::Model, format!("{}: {} heads do not divide width {h}", path.display(), config.num_attention_heads)));
    }
    let mut layers = Vec::with_capacity(config.num_hidden_layers);
    for i in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{i}");
        layers.push(Layer {
            q: linear(&format!("{p}.attention.self.query"), h, h)?,
            k: linear(&format!("{p}.attention.self.key"), h, h)?,
            v: linear(&format!("{p}.attention.self.value"), h, h)?,
            o: linear(&format!("{p}.attention.output.dense"), h, h)?,
            ln1: norm(&format!("{p}.attention.output.LayerNorm"))?,
            inter: linear(&format!("{p}.intermediate.dense"), config.intermediate_size, h)?,
            out: linear(&format!("{p}.output.dense"), h, config.intermediate_size)?,
            ln2: norm(&format!("{p}.output.LayerNorm"))?,
        });
    }
    Ok(brain_kernels::bert::Bert::new(
        h,
        config.num_attention_heads,
        config.layer_norm_eps as f32,
        get("embeddings.word_embeddings.weight", config.vocab_size * h)?,
        get("embeddings.position_embeddings.weight", config.max_position_embeddings * h)?,
        get("embeddings.token_type_embeddings.weight", config.type_vocab_size * h)?,
        norm("embeddings.LayerNorm")?,
        layers,
        threads,
    ))
}

/// Where the default models live: `$BRAIN_MODELS_DIR`, else `./models`, else the `models/`
/// folder of the source checkout this library was built from.
pub fn default_models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BRAIN_MODELS_DIR") {
        return PathBuf::from(d);
    }
    let local = PathBuf::from("models");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("models")
}
