//! Quantized dot products and f32 vector helpers, with AVX2/FMA versions chosen at run time and
//! portable scalar versions that define the results (tests compare the two).
//!
//! Weights are rows of 32-value blocks: Q4_1 (`d·q + m`, `q` in 0..16, low nibbles hold values
//! 0..16 of a block and high nibbles 16..32, as in GGUF) or Q8_0 (`d·q`, `q` in -127..=127).
//! Activations are quantized per block to i8 with a scale `d` and `s = d·Σq` (the Q4_1 offset
//! term needs it), like ggml's Q8_1.

/// Values per block.
pub const QK: usize = 32;

/// A quantized activation matrix: `rows × cols`, row-major blocks.
/// Quantized activations.
#[derive(Default)]
pub struct Q8Rows {
    pub cols: usize,
    pub d: Vec<f32>,
    pub s: Vec<f32>,
    pub qs: Vec<i8>,
}

impl Q8Rows {
    /// Quantizes `rows` rows of `x` (each `cols` long; `cols` a multiple of 32).
    pub fn quantize(&mut self, x: &[f32], cols: usize) {
        let rows = x.len() / cols;
        let nb = cols / QK;
        self.cols = cols;
        self.d.resize(rows * nb, 0.0);
        self.s.resize(rows * nb, 0.0);
        self.qs.resize(rows * cols, 0);
        for (b, block) in x.chunks_exact(QK).enumerate() {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut sum = 0i32;
            for (q, v) in self.qs[b * QK..(b + 1) * QK].iter_mut().zip(block) {
                let r = (v * id).round() as i32;
                *q = r.clamp(-127, 127) as i8;
                sum += *q as i32;
            }
            self.d[b] = d;
            self.s[b] = d * sum as f32;
        }
    }

    pub fn rows(&self) -> usize {
        if self.cols == 0 { 0 } else { self.qs.len() / self.cols }
    }
}

/// Weight block layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Q4_1,
    Q8_0,
}

/// A quantized weight matrix `rows × cols` (a linear layer's `out × in`).
pub struct QMatrix {
    pub rows: usize,
    pub cols: usize,
    pub format: Format,
    /// Per block scale, `rows × cols/32`.
    pub d: Vec<f32>,
    /// Per block offset (Q4_1 only).
    pub m: Vec<f32>,
    /// Q4_1: 16 bytes per block; Q8_0: 32 bytes (i8) per block.
    pub qs: Vec<u8>,
}

impl QMatrix {
    pub fn blocks_per_row(&self) -> usize {
        self.cols / QK
    }

    fn block_bytes(&self) -> usize {
        match self.format {
            Format::Q4_1 => QK / 2,
            Format::Q8_0 => QK,
        }
    }

    /// Row `r` as f32 (embedding lookup).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let nb = self.blocks_per_row();
        let bb = self.block_bytes();
        for b in 0..nb {
            let i = r * nb + b;
            let qs = &self.qs[i * bb..(i + 1) * bb];
            let o = &mut out[b * QK..(b + 1) * QK];
            match self.format {
                Format::Q4_1 => {
                    for j in 0..QK / 2 {
                        o[j] = self.d[i] * (qs[j] & 0x0f) as f32 + self.m[i];
                        o[j + QK / 2] = self.d[i] * (qs[j] >> 4) as f32 + self.m[i];
                    }
                }
                Format::Q8_0 => {
                    for j in 0..QK {
                        o[j] = self.d[i] * (qs[j] as i8) as f32;
                    }
                }
            }
        }
    }
}

/// Whether the AVX2 + FMA kernels can run here.
pub fn have_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAVE.get_or_init(|| {
            std::env::var_os("BRAIN_NO_SIMD").is_none() && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `out[t * w.rows + r] = W[r] · A[t]` for weight rows `rows` and every activation row `t`.
pub fn matmul_rows(w: &QMatrix, a: &Q8Rows, rows: std::ops::Range<usize>, out: &mut [f32], simd: bool) {
    let t_all = a.rows();
    let n = w.rows;
    let mut t = 0;
    while t < t_all {
        let take = (t_all - t).min(4);
        for r in rows.clone() {
            let mut acc = [0f32; 4];
            match take {
                4 => dot::<4>(w, r, a, t, simd, &mut acc),
                3 => dot::<3>(w, r, a, t, simd, &mut acc),
                2 => dot::<2>(w, r, a, t, simd, &mut acc),
                _ => dot::<1>(w, r, a, t, simd, &mut acc),
            }
            for (k, v) in acc.iter().take(take).enumerate() {
                out[(t + k) * n + r] = *v;
            }
        }
        t += take;
    }
}

#[inline]
fn dot<const R: usize>(w: &QMatrix, r: usize, a: &Q8Rows, t0: usize, simd: bool, out: &mut [f32; 4]) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is only true when have_avx2() said AVX2 and FMA are present.
        unsafe {
            match w.format {
                Format::Q4_1 => avx2::dot_q4_1::<R>(w, r, a, t0, out),
                Format::Q8_0 => avx2::dot_q8_0::<R>(w, r, a, t0, out),
            }
        }
        return;
    }
    let _ = simd;
    scalar_dot::<R>(w, r, a, t0, out)
}

fn scalar_dot<const R: usize>(w: &QMatrix, r: usize, a: &Q8Rows, t0: usize, out: &mut [f32; 4]) {
    let nb = w.blocks_per_row();
    for k in 0..R {
        let t = t0 + k;
        let mut sum = 0f32;
        for b in 0..nb {
            let wi = r * nb + b;
            let ai = t * nb + b;
            let aq = &a.qs[ai * QK..(ai + 1) * QK];
            match w.format {
                Format::Q4_1 => {
                    let qs = &w.qs[wi * 16..wi * 16 + 16];
                    let mut s = 0i32;
                    for j in 0..16 {
                        s += (qs[j] & 0x0f) as i32 * aq[j] as i32 + (qs[j] >> 4) as i32 * aq[j + 16] as i32;
                    }
                    sum += w.d[wi] * a.d[ai] * s as f32 + w.m[wi] * a.s[ai];
                }
                Format::Q8_0 => {
                    let qs = &w.qs[wi * 32..wi * 32 + 32];
                    let mut s = 0i32;
                    for j in 0..32 {
                        s += (qs[j] as i8) as i32 * aq[j] as i32;
                    }
                    sum += w.d[wi] * a.d[ai] * s as f32;
                }
            }
        }
        out[k] = sum;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Q8Rows, QK, QMatrix};
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(hi, _mm256_castps256_ps128(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// Q4_1 weights row `r` against `R` activation rows from `t0`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_q4_1<const R: usize>(w: &QMatrix, r: usize, a: &Q8Rows, t0: usize, out: &mut [f32; 4]) {
        let nb = w.blocks_per_row();
        let mask = _mm_set1_epi8(0x0f);
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); R];
        let mut offs = [0f32; R];
        let wq = w.qs.as_ptr();
        let aq = a.qs.as_ptr();
        for b in 0..nb {
            let wi = r * nb + b;
            // SAFETY: block wi lies inside qs (rows × nb × 16 bytes).
            let raw = unsafe { _mm_loadu_si128(wq.add(wi * 16) as *const __m128i) };
            let lo = _mm_and_si128(raw, mask);
            let hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
            let wv = _mm256_set_m128i(hi, lo);
            let wd = w.d[wi];
            let wm = w.m[wi];
            for k in 0..R {
                let ai = (t0 + k) * nb + b;
                // SAFETY: block ai lies inside the activation rows.
                let av = unsafe { _mm256_loadu_si256(aq.add(ai * QK) as *const __m256i) };
                let p = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, av), ones);
                acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(wd * a.d[ai]), acc[k]);
                offs[k] += wm * a.s[ai];
            }
        }
        for k in 0..R {
            out[k] = hsum(acc[k]) + offs[k];
        }
    }

    /// Q8_0 weights row `r` against `R` activation rows from `t0`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_q8_0<const R: usize>(w: &QMatrix, r: usize, a: &Q8Rows, t0: usize, out: &mut [f32; 4]) {
        let nb = w.blocks_per_row();
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); R];
        let wq = w.qs.as_ptr();
        let aq = a.qs.as_ptr();
        for b in 0..nb {
            let wi = r * nb + b;
            // SAFETY: block wi lies inside qs (rows × nb × 32 bytes).
            let wv = unsafe { _mm256_loadu_si256(wq.add(wi * QK) as *const __m256i) };
            let wabs = _mm256_sign_epi8(wv, wv);
            let wd = w.d[wi];
            for k in 0..R {
                let ai = (t0 + k) * nb + b;
                // SAFETY: block ai lies inside the activation rows.
                let av = unsafe { _mm256_loadu_si256(aq.add(ai * QK) as *const __m256i) };
                let p = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, _mm256_sign_epi8(av, wv)), ones);
                acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(wd * a.d[ai]), acc[k]);
            }
        }
        for k in 0..R {
            out[k] = hsum(acc[k]);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0f32; 8];
        let n = a.len().min(b.len()) / 8 * 8;
        for (x, y) in a[..n].chunks_exact(8).zip(b[..n].chunks_exact(8)) {
            for i in 0..8 {
                acc[i] = x[i].mul_add(y[i], acc[i]);
            }
        }
        let mut s: f32 = acc.iter().sum();
        for i in n..a.len().min(b.len()) {
            s += a[i] * b[i];
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn axpy(y: &mut [f32], alpha: f32, x: &[f32]) {
        for (a, b) in y.iter_mut().zip(x) {
            *a = b.mul_add(alpha, *a);
        }
    }
}

/// `a · b`.
pub fn dot_f32(a: &[f32], b: &[f32], simd: bool) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: see `dot`.
        return unsafe { avx2::dot_f32(a, b) };
    }
    let _ = simd;
    let mut acc = [0f32; 8];
    let n = a.len().min(b.len()) / 8 * 8;
    for (x, y) in a[..n].chunks_exact(8).zip(b[..n].chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for i in n..a.len().min(b.len()) {
        s += a[i] * b[i];
    }
    s
}

/// `y += alpha · x`.
pub fn axpy(y: &mut [f32], alpha: f32, x: &[f32], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: see `dot`.
        return unsafe { avx2::axpy(y, alpha, x) };
    }
    let _ = simd;
    for (a, b) in y.iter_mut().zip(x) {
        *a += alpha * b;
    }
}

/// IEEE half to f32.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if frac == 0 => sign,
        0 => {
            // Subnormal: normalise.
            let mut e = 127 - 15 + 1;
            let mut f = frac;
            while f & 0x400 == 0 {
                f <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((f & 0x3ff) << 13)
        }
        0x1f => sign | 0x7f80_0000 | (frac << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(seed: &mut u64) -> f32 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn matrix(format: Format, rows: usize, cols: usize, seed: &mut u64) -> QMatrix {
        let nb = cols / QK;
        let bb = if format == Format::Q4_1 { 16 } else { 32 };
        QMatrix {
            rows,
            cols,
            format,
            d: (0..rows * nb).map(|_| rng(seed).abs() * 0.1 + 0.01).collect(),
            m: (0..rows * nb).map(|_| rng(seed) * 0.2).collect(),
            qs: (0..rows * nb * bb).map(|_| if format == Format::Q8_0 { ((rng(seed) * 127.0) as i8) as u8 } else { (rng(seed).abs() * 255.0) as u8 }).collect(),
        }
    }

    #[test]
    fn simd_kernels_agree_with_the_scalar_definition_and_dequantization() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for format in [Format::Q4_1, Format::Q8_0] {
            let (rows, cols, t) = (13, 96, 7);
            let w = matrix(format, rows, cols, &mut seed);
            let x: Vec<f32> = (0..t * cols).map(|_| rng(&mut seed) * 3.0).collect();
            let mut a = Q8Rows::default();
            a.quantize(&x, cols);
            let mut scalar = vec![0f32; t * rows];
            matmul_rows(&w, &a, 0..rows, &mut scalar, false);
            // Against a dequantized f32 product (activation quantization error only).
            let mut row = vec![0f32; cols];
            for r in 0..rows {
                w.dequantize_row(r, &mut row);
                for k in 0..t {
                    let xs = &x[k * cols..(k + 1) * cols];
                    let exact: f32 = row.iter().zip(xs).map(|(p, q)| p * q).sum();
                    let magnitude: f32 = row.iter().zip(xs).map(|(p, q)| (p * q).abs()).sum();
                    let got = scalar[k * rows + r];
                    // Activations are rounded to 1/254 of their block's range.
                    assert!((exact - got).abs() < 0.01 * magnitude + 1e-3, "{format:?} {exact} vs {got} (|w||x| {magnitude})");
                }
            }
            if have_avx2() {
                let mut simd = vec![0f32; t * rows];
                matmul_rows(&w, &a, 0..rows, &mut simd, true);
                for (s, v) in scalar.iter().zip(&simd) {
                    assert!((s - v).abs() <= 1e-4 * (1.0 + s.abs()), "{format:?} {s} vs {v}");
                }
            }
        }
        let x: Vec<f32> = (0..37).map(|_| rng(&mut seed)).collect();
        let y: Vec<f32> = (0..37).map(|_| rng(&mut seed)).collect();
        let exact: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        assert!((dot_f32(&x, &y, false) - exact).abs() < 1e-5);
        assert!((dot_f32(&x, &y, have_avx2()) - exact).abs() < 1e-5);
    }

    #[test]
    fn half_floats_convert_exactly() {
        for (h, f) in [(0x3c00u16, 1.0f32), (0xc000, -2.0), (0x0000, 0.0), (0x7bff, 65504.0), (0x0001, 5.960_464_5e-8), (0x3555, 0.333_251_95)] {
            assert_eq!(f16_to_f32(h), f, "{h:#x}");
        }
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}
