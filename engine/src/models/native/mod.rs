//! Loading for Brain's own forward pass (crate `brain-kernels`) of Llama-family GGUF models: the file's quantized weights used as
//! they are (Q4_0, Q4_1, Q8_0; other types requantized to Q8_0), quantized matrix products with
//! AVX2 kernels, a per-session f32 KV cache, and a small persistent thread pool. No tensor
//! framework sits in the loop: one token of SmolLM2-135M is ~210 matrix products and a few
//! hundred vector loops, so per-op overhead would otherwise dominate.
//!
//! candle reads the GGUF file (metadata, tensor data) and stays available as the reference
//! backend; tests hold the two to the same logits.

use std::io::{Read, Seek};

use candle_core::quantized::{GgmlDType, gguf_file};

use brain_kernels::llama::{Dims, Layer, Model};
use brain_kernels::quant::{self, Format, QK, QMatrix};

use crate::error::{Error, ErrorKind, Result};

fn model_err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Model, msg)
}

fn read_tensor(ct: &gguf_file::Content, r: &mut (impl Read + Seek), name: &str) -> Result<(GgmlDType, Vec<usize>, Vec<u8>)> {
    let info = ct.tensor_infos.get(name).ok_or_else(|| model_err(format!("the GGUF file has no tensor {name}")))?;
    let q = ct.tensor(r, name, &candle_core::Device::Cpu).map_err(|e| model_err(format!("cannot read tensor {name}: {e}")))?;
    let data = q.data().map_err(|e| model_err(format!("cannot read tensor {name}: {e}")))?.into_owned();
    Ok((info.ggml_dtype, info.shape.dims().to_vec(), data))
}

fn f32_tensor(ct: &gguf_file::Content, r: &mut (impl Read + Seek), name: &str) -> Result<Vec<f32>> {
    let q = ct.tensor(r, name, &candle_core::Device::Cpu).map_err(|e| model_err(format!("cannot read tensor {name}: {e}")))?;
    let t = q.dequantize(&candle_core::Device::Cpu).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<f32>());
    t.map_err(|e| model_err(format!("cannot read tensor {name}: {e}")))
}

fn matrix(ct: &gguf_file::Content, r: &mut (impl Read + Seek), name: &str, rows: usize, cols: usize) -> Result<QMatrix> {
    let (dtype, dims, data) = read_tensor(ct, r, name)?;
    if dims.iter().product::<usize>() != rows * cols || cols % QK != 0 {
        return Err(model_err(format!("tensor {name} has shape {dims:?}, expected {rows}×{cols}")));
    }
    let len = data.len();
    let m = match dtype {
        // GGUF's own block bytes, used as they are.
        GgmlDType::Q4_1 => QMatrix::new(rows, cols, Format::Q4_1, data),
        GgmlDType::Q8_0 => QMatrix::new(rows, cols, Format::Q8_0, data),
        // Q4_0 is Q4_1 with the offset fixed at -8·d: the same values, exactly.
        GgmlDType::Q4_0 => {
            let mut blocks = Vec::with_capacity(data.len() / 18 * 20);
            for b in data.chunks_exact(18) {
                let d = quant::f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
                blocks.extend_from_slice(&b[0..2]);
                blocks.extend(quant::f32_to_f16(-8.0 * d).to_le_bytes());
                blocks.extend_from_slice(&b[2..18]);
            }
            QMatrix::new(rows, cols, Format::Q4_1, blocks)
        }
        _ => QMatrix::q8_0_from_f32(&f32_tensor(ct, r, name)?, rows, cols),
    };
    m.ok_or_else(|| model_err(format!("tensor {name}: {len} bytes of {dtype:?} do not fill {rows}×{cols}")))
}

/// Loads the weights a Llama GGUF file holds. `progress(done, total)` counts tensors.
pub(crate) fn load(ct: &gguf_file::Content, r: &mut (impl Read + Seek), threads: usize, progress: &mut dyn FnMut(usize, usize)) -> Result<Model> {
    let u = |k: &str| -> Result<usize> {
        ct.metadata
            .get(k)
            .and_then(|v| v.to_u32().ok().or_else(|| v.to_u64().ok().map(|x| x as u32)))
            .map(|v| v as usize)
            .ok_or_else(|| model_err(format!("the GGUF file has no `{k}`")))
    };
    let f = |k: &str, default: f32| ct.metadata.get(k).and_then(|v| v.to_f32().ok()).unwrap_or(default);
    let dim = u("llama.embedding_length")?;
    let heads = u("llama.attention.head_count")?;
    let kv_heads = u("llama.attention.head_count_kv").unwrap_or(heads);
    let n_layers = u("llama.block_count")?;
    if heads == 0 || kv_heads == 0 || dim % heads != 0 || heads % kv_heads != 0 {
        return Err(model_err(format!("unsupported head layout: {heads} heads, {kv_heads} kv heads, width {dim}")));
    }
    let head_dim = dim / heads;
    if ct.metadata.get("llama.expert_count").and_then(|v| v.to_u32().ok()).unwrap_or(0) > 1 {
        return Err(model_err("mixture-of-experts models are not supported by the native backend; use the candle backend"));
    }
    let (_, embd_dims, _) = {
        let info = ct.tensor_infos.get("token_embd.weight").ok_or_else(|| model_err("the GGUF file has no token_embd.weight"))?;
        (info.ggml_dtype, info.shape.dims().to_vec(), ())
    };
    let vocab = embd_dims.iter().product::<usize>() / dim;
    let ffn = ct
        .tensor_infos
        .get("blk.0.ffn_up.weight")
        .map(|i| i.shape.dims().iter().product::<usize>() / dim)
        .ok_or_else(|| model_err("the GGUF file has no blk.0.ffn_up.weight"))?;
    let kv_dim = kv_heads * head_dim;
    let dims = Dims { dim, heads, kv_heads, head_dim, ffn, vocab, eps: f("llama.attention.layer_norm_rms_epsilon", 1e-5), rope_base: f("llama.rope.freq_base", 10000.0) };
    let total = n_layers * 9 + 3;
    let mut done = 0;
    let mut step = |done: &mut usize| {
        *done += 1;
        progress(*done, total);
    };
    let embed = matrix(ct, r, "token_embd.weight", vocab, dim)?;
    step(&mut done);
    let mut layers = Vec::with_capacity(n_layers);
    for l in 0..n_layers {
        let p = |s: &str| format!("blk.{l}.{s}.weight");
        let layer = Layer {
            attn_norm: f32_tensor(ct, r, &p("attn_norm"))?,
            wq: matrix(ct, r, &p("attn_q"), dim, dim)?,
            wk: matrix(ct, r, &p("attn_k"), kv_dim, dim)?,
            wv: matrix(ct, r, &p("attn_v"), kv_dim, dim)?,
            wo: matrix(ct, r, &p("attn_output"), dim, dim)?,
            ffn_norm: f32_tensor(ct, r, &p("ffn_norm"))?,
            w_gate: matrix(ct, r, &p("ffn_gate"), ffn, dim)?,
            w_up: matrix(ct, r, &p("ffn_up"), ffn, dim)?,
            w_down: matrix(ct, r, &p("ffn_down"), dim, ffn)?,
        };
        for _ in 0..9 {
            step(&mut done);
        }
        layers.push(layer);
    }
    let norm = f32_tensor(ct, r, "output_norm.weight")?;
    step(&mut done);
    let output = if ct.tensor_infos.contains_key("output.weight") { Some(matrix(ct, r, "output.weight", vocab, dim)?) } else { None };
    step(&mut done);
    step(&mut done);
    Ok(Model::new(dims, embed, layers, norm, output, threads))
}
