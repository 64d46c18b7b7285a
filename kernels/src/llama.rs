//! The Llama forward pass over quantized weights: RMSNorm, rotary attention with grouped KV
//! heads over a per-session f32 cache, SwiGLU feed-forward, tied or separate output layer.

use crate::pool::Pool;
use crate::quant::{Q8Rows, QMatrix, attend, have_avx2, matmul_par};

/// One transformer block's weights.
pub struct Layer {
    pub attn_norm: Vec<f32>,
    pub wq: QMatrix,
    pub wk: QMatrix,
    pub wv: QMatrix,
    pub wo: QMatrix,
    pub ffn_norm: Vec<f32>,
    pub w_gate: QMatrix,
    pub w_up: QMatrix,
    pub w_down: QMatrix,
}

/// Shapes and constants.
#[derive(Clone, Debug)]
pub struct Dims {
    pub dim: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub eps: f32,
    pub rope_base: f32,
}

/// A loaded model (immutable, shared by sessions).
pub struct Model {
    dims: Dims,
    embed: QMatrix,
    layers: Vec<Layer>,
    norm: Vec<f32>,
    output: Option<QMatrix>,
    pool: Pool,
    simd: bool,
}

/// Why a forward pass was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ForwardError {
    /// No tokens given.
    Empty,
    /// A token id at or past the vocabulary size.
    TokenOutOfRange(u32, usize),
}

impl std::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardError::Empty => write!(f, "nothing to run: no tokens"),
            ForwardError::TokenOutOfRange(t, v) => write!(f, "token id {t} is outside the vocabulary ({v})"),
        }
    }
}

impl Model {
    /// Assembles a model; `output` `None` ties the output layer to the embedding. `threads`
    /// sizes its pool (1 = no worker threads).
    pub fn new(dims: Dims, embed: QMatrix, layers: Vec<Layer>, norm: Vec<f32>, output: Option<QMatrix>, threads: usize) -> Model {
        Model { dims, embed, layers, norm, output, pool: Pool::new(threads.max(1)), simd: have_avx2() }
    }

    /// Shapes.
    pub fn dims(&self) -> &Dims {
        &self.dims
    }

    /// Uses the portable kernels instead of SIMD (to compare the two).
    pub fn set_simd(&mut self, on: bool) {
        self.simd = on && have_avx2();
    }

    fn matmul(&self, w: &QMatrix, a: &Q8Rows, out: &mut Vec<f32>) {
        matmul_par(&self.pool, w, a, out, self.simd);
    }
}

/// One generation's state: the KV cache and scratch buffers.
pub struct Session {
    /// Per layer: keys and values, `positions × kv_dim`.
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    pos: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
    scratch: Scratch,
}

#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    h: Vec<f32>,
    q: Vec<f32>,
    kk: Vec<f32>,
    vv: Vec<f32>,
    att: Vec<f32>,
    o: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    down: Vec<f32>,
    scores: Vec<f32>,
    logits: Vec<f32>,
    qa: Q8Rows,
}

fn rmsnorm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let dim = w.len();
    for (xr, or) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let ms = xr.iter().map(|v| v * v).sum::<f32>() / dim as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        for ((o, v), g) in or.iter_mut().zip(xr).zip(w) {
            *o = v * inv * g;
        }
    }
}

impl Session {
    /// A fresh session (empty cache).
    pub fn new(model: &Model) -> Session {
        let n = model.layers.len();
        Session { k: vec![Vec::new(); n], v: vec![Vec::new(); n], pos: 0, cos: Vec::new(), sin: Vec::new(), scratch: Scratch::default() }
    }

    fn rope_table(&mut self, d: &Dims, upto: usize) {
        let half = d.head_dim / 2;
        let have = self.cos.len() / half.max(1);
        for p in have..upto {
            for i in 0..half {
                let theta = (p as f64) * (d.rope_base as f64).powf(-(2.0 * i as f64) / d.head_dim as f64);
                self.cos.push(theta.cos() as f32);
                self.sin.push(theta.sin() as f32);
            }
        }
    }

    /// Runs `tokens` (at the next positions) through the model and returns the logits of the
    /// last one.
    pub fn forward(&mut self, m: &Model, tokens: &[u32]) -> Result<&[f32], ForwardError> {
        let d = m.dims.clone();
        let t_n = tokens.len();
        if t_n == 0 {
            return Err(ForwardError::Empty);
        }
        if let Some(bad) = tokens.iter().find(|&&t| t as usize >= d.vocab) {
            return Err(ForwardError::TokenOutOfRange(*bad, d.vocab));
        }
        let start = self.pos;
        self.rope_table(&d, start + t_n);
        let (dim, kv_dim, hd) = (d.dim, d.kv_heads * d.head_dim, d.head_dim);
        let group = d.heads / d.kv_heads;
        let scale = 1.0 / (hd as f32).sqrt();
        let simd = m.simd;
        let s = &mut self.scratch;
        s.x.resize(t_n * dim, 0.0);
        for (t, &tok) in tokens.iter().enumerate() {
            m.embed.dequantize_row(tok as usize, &mut s.x[t * dim..(t + 1) * dim]);
        }
        s.h.resize(t_n * dim, 0.0);
        s.att.resize(t_n * dim, 0.0);
        for (l, layer) in m.layers.iter().enumerate() {
            rmsnorm(&s.x, &layer.attn_norm, d.eps, &mut s.h);
            s.qa.quantize(&s.h, dim);
            m.matmul(&layer.wq, &s.qa, &mut s.q);
            m.matmul(&layer.wk, &s.qa, &mut s.kk);
            m.matmul(&layer.wv, &s.qa, &mut s.vv);
            // Rotary embedding, adjacent pairs (GGUF Llama weights are laid out for it).
            let half = hd / 2;
            for t in 0..t_n {
                let p = start + t;
                let (cos, sin) = (&self.cos[p * half..(p + 1) * half], &self.sin[p * half..(p + 1) * half]);
                for head in s.q[t * dim..(t + 1) * dim].chunks_exact_mut(hd).chain(s.kk[t * kv_dim..(t + 1) * kv_dim].chunks_exact_mut(hd)) {
                    for i in 0..half {
                        let (a, b) = (head[2 * i], head[2 * i + 1]);
                        head[2 * i] = a * cos[i] - b * sin[i];
                        head[2 * i + 1] = a * sin[i] + b * cos[i];
                    }
                }
            }
            self.k[l].extend_from_slice(&s.kk[..t_n * kv_dim]);
            self.v[l].extend_from_slice(&s.vv[..t_n * kv_dim]);
            let (kc, vc) = (&self.k[l], &self.v[l]);
            // Causal attention over the cache.
            for t in 0..t_n {
                let upto = start + t + 1;
                s.scores.resize(upto, 0.0);
                for h in 0..d.heads {
                    let g = h / group;
                    let q = &s.q[t * dim + h * hd..t * dim + (h + 1) * hd];
                    let out = &mut s.att[t * dim + h * hd..t * dim + (h + 1) * hd];
                    attend(q, &kc[g * hd..], &vc[g * hd..], kv_dim, upto, scale, &mut s.scores, out, simd);
                }
            }
            s.qa.quantize(&s.att, dim);
            m.matmul(&layer.wo, &s.qa, &mut s.o);
            for (x, o) in s.x.iter_mut().zip(&s.o) {
                *x += o;
            }
            rmsnorm(&s.x, &layer.ffn_norm, d.eps, &mut s.h);
            s.qa.quantize(&s.h, dim);
            m.matmul(&layer.w_gate, &s.qa, &mut s.gate);
            m.matmul(&layer.w_up, &s.qa, &mut s.up);
            for (g, u) in s.gate.iter_mut().zip(&s.up) {
                *g = *g / (1.0 + (-*g).exp()) * u;
            }
            s.qa.quantize(&s.gate, d.ffn);
            m.matmul(&layer.w_down, &s.qa, &mut s.down);
            for (x, o) in s.x.iter_mut().zip(&s.down) {
                *x += o;
            }
        }
        self.pos += t_n;
        let last = &s.x[(t_n - 1) * dim..t_n * dim];
        let mut normed = vec![0f32; dim];
        rmsnorm(last, &m.norm, d.eps, &mut normed);
        s.qa.quantize(&normed, dim);
        let out = m.output.as_ref().unwrap_or(&m.embed);
        m.matmul(out, &s.qa, &mut s.logits);
        Ok(&s.logits)
    }
}
