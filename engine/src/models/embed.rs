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

/// A BERT sentence encoder.
pub struct BertEmbedder {
    model: BertModel,
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
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)
            .map_err(|e| model_err(format!("{} is not a safetensors file", weights.display()), e))?;
        let model = BertModel::load(vb, &config).map_err(|e| model_err(format!("{} does not hold a BERT model", weights.display()), e))?;
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
        let hidden = self.model.forward(&ids, &types, Some(&mask)).map_err(run)?; // (n, len, dim)
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
