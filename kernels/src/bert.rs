//! A BERT sentence encoder over int8 (Q8_0) weights: the same kernels as the Llama path, every
//! sentence of a batch stacked into one matrix for the linear layers (no padding), attention
//! within each sentence, masked-free mean pooling and L2 normalisation.

use crate::pool::Pool;
use crate::quant::{Q8Rows, QMatrix, attend, have_avx2, matmul_par};

/// A linear layer: Q8_0 weights `out × in` and an f32 bias.
pub struct Linear {
    pub w: QMatrix,
    pub b: Vec<f32>,
}

/// One encoder layer.
pub struct Layer {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub ln1: (Vec<f32>, Vec<f32>),
    pub inter: Linear,
    pub out: Linear,
    pub ln2: (Vec<f32>, Vec<f32>),
}

/// The encoder.
pub struct Bert {
    pub hidden: usize,
    pub heads: usize,
    pub eps: f32,
    /// `vocab × hidden`, `positions × hidden`, `types × hidden` (f32).
    pub word: Vec<f32>,
    pub position: Vec<f32>,
    pub token_type: Vec<f32>,
    pub ln: (Vec<f32>, Vec<f32>),
    pub layers: Vec<Layer>,
    pool: Pool,
    simd: bool,
}

fn layer_norm(x: &mut [f32], (w, b): &(Vec<f32>, Vec<f32>), eps: f32) {
    let h = w.len();
    for row in x.chunks_exact_mut(h) {
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), bb) in row.iter_mut().zip(w).zip(b) {
            *v = (*v - mean) * inv * g + bb;
        }
    }
}

/// erf, Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
fn erf(x: f32) -> f32 {
    let s = x.signum();
    let x = x.abs() as f64;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0 - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t + 0.254_829_592) * t * (-x * x).exp();
    s * y as f32
}

fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2))
}

impl Bert {
    /// Assembles an encoder; `threads` sizes its pool.
    #[allow(clippy::too_many_arguments)]
    pub fn new(hidden: usize, heads: usize, eps: f32, word: Vec<f32>, position: Vec<f32>, token_type: Vec<f32>, ln: (Vec<f32>, Vec<f32>), layers: Vec<Layer>, threads: usize) -> Bert {
        Bert { hidden, heads, eps, word, position, token_type, ln, layers, pool: Pool::new(threads.max(1)), simd: have_avx2() }
    }

    fn linear(&self, l: &Linear, a: &Q8Rows, out: &mut Vec<f32>) {
        matmul_par(&self.pool, &l.w, a, out, self.simd);
        for row in out.chunks_exact_mut(l.w.rows) {
            for (v, b) in row.iter_mut().zip(&l.b) {
                *v += b;
            }
        }
    }

    /// Unit-length mean-pooled embeddings of token-id sequences (each already truncated to the
    /// position table).
    pub fn embed(&self, sentences: &[Vec<u32>]) -> Vec<Vec<f32>> {
        let h = self.hidden;
        let hd = h / self.heads;
        let total: usize = sentences.iter().map(Vec::len).sum();
        let mut x = vec![0f32; total * h];
        let mut row = 0;
        for s in sentences {
            for (p, &id) in s.iter().enumerate() {
                let dst = &mut x[row * h..(row + 1) * h];
                let (w, pe, te) = (&self.word[id as usize * h..][..h], &self.position[p * h..][..h], &self.token_type[..h]);
                for i in 0..h {
                    dst[i] = w[i] + pe[i] + te[i];
                }
                row += 1;
            }
        }
        layer_norm(&mut x, &self.ln, self.eps);
        let (mut qa, mut q, mut k, mut v, mut o, mut ff, mut ctx) = (Q8Rows::default(), vec![], vec![], vec![], vec![], vec![], vec![0f32; total * h]);
        let mut scores = Vec::new();
        let scale = 1.0 / (hd as f32).sqrt();
        for l in &self.layers {
            qa.quantize(&x, h);
            self.linear(&l.q, &qa, &mut q);
            self.linear(&l.k, &qa, &mut k);
            self.linear(&l.v, &qa, &mut v);
            let mut start = 0;
            for s in sentences {
                let n = s.len();
                scores.resize(n, 0.0);
                for t in 0..n {
                    for head in 0..self.heads {
                        let at = (start + t) * h + head * hd;
                        let base = start * h + head * hd;
                        attend(&q[at..at + hd], &k[base..], &v[base..], h, n, scale, &mut scores, &mut ctx[at..at + hd], self.simd);
                    }
                }
                start += n;
            }
            qa.quantize(&ctx, h);
            self.linear(&l.o, &qa, &mut o);
            for (a, b) in x.iter_mut().zip(&o) {
                *a += b;
            }
            layer_norm(&mut x, &l.ln1, self.eps);
            qa.quantize(&x, h);
            self.linear(&l.inter, &qa, &mut ff);
            for a in ff.iter_mut() {
                *a = gelu(*a);
            }
            qa.quantize(&ff, l.inter.w.rows);
            self.linear(&l.out, &qa, &mut o);
            for (a, b) in x.iter_mut().zip(&o) {
                *a += b;
            }
            layer_norm(&mut x, &l.ln2, self.eps);
        }
        let mut out = Vec::with_capacity(sentences.len());
        let mut start = 0;
        for s in sentences {
            let mut mean = vec![0f32; h];
            for r in start..start + s.len() {
                for (m, v) in mean.iter_mut().zip(&x[r * h..(r + 1) * h]) {
                    *m += v;
                }
            }
            let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            mean.iter_mut().for_each(|m| *m /= norm);
            out.push(mean);
            start += s.len();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn erf_and_gelu_match_known_values() {
        for (x, e) in [(0.0f32, 0.0f32), (0.5, 0.520_499_9), (1.0, 0.842_700_8), (-2.0, -0.995_322_3), (3.0, 0.999_977_9)] {
            assert!((super::erf(x) - e).abs() < 1e-6, "erf({x})");
        }
        assert!((super::gelu(1.0) - 0.841_344_7).abs() < 1e-5);
        assert!((super::gelu(-1.0) + 0.158_655_3).abs() < 1e-5);
    }
}
