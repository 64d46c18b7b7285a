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
                // Round half away from zero, like roundf (which does not inline).
                let x = v * id;
                let r = (x + 0.5f32.copysign(x)) as i32;
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

/// Weight block layout: GGUF's own bytes, so the file's blocks are used as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// 20 bytes: `d` f16, `m` f16, 16 bytes of nibbles.
    Q4_1,
    /// 34 bytes: `d` f16, 32 × i8.
    Q8_0,
}

impl Format {
    /// Bytes per 32-value block.
    pub fn block_bytes(self) -> usize {
        match self {
            Format::Q4_1 => 20,
            Format::Q8_0 => 34,
        }
    }
}

/// A quantized weight matrix `rows × cols` (a linear layer's `out × in`), as GGUF blocks.
pub struct QMatrix {
    pub rows: usize,
    pub cols: usize,
    pub format: Format,
    /// `rows × cols/32` blocks of [`Format::block_bytes`] each.
    pub blocks: Vec<u8>,
}

#[inline]
fn half_at(b: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

impl QMatrix {
    pub fn blocks_per_row(&self) -> usize {
        self.cols / QK
    }

    /// Checks the byte count against the shape.
    pub fn new(rows: usize, cols: usize, format: Format, blocks: Vec<u8>) -> Option<QMatrix> {
        (cols % QK == 0 && blocks.len() == rows * cols / QK * format.block_bytes()).then_some(QMatrix { rows, cols, format, blocks })
    }

    /// Quantizes f32 rows to Q8_0 blocks (`cols` a multiple of 32).
    pub fn q8_0_from_f32(x: &[f32], rows: usize, cols: usize) -> Option<QMatrix> {
        let mut blocks = Vec::with_capacity(rows * cols / QK * 34);
        for block in x.chunks_exact(QK) {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = f16_to_f32(f32_to_f16(amax / 127.0));
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            blocks.extend(f32_to_f16(d).to_le_bytes());
            blocks.extend(block.iter().map(|v| ((v * id).round().clamp(-127.0, 127.0) as i8) as u8));
        }
        QMatrix::new(rows, cols, Format::Q8_0, blocks)
    }

    /// Row `r` as f32 (embedding lookup).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let nb = self.blocks_per_row();
        let bb = self.format.block_bytes();
        for b in 0..nb {
            let blk = &self.blocks[(r * nb + b) * bb..(r * nb + b + 1) * bb];
            let o = &mut out[b * QK..(b + 1) * QK];
            match self.format {
                Format::Q4_1 => {
                    let (d, m) = (half_at(blk, 0), half_at(blk, 2));
                    for j in 0..QK / 2 {
                        o[j] = d * (blk[4 + j] & 0x0f) as f32 + m;
                        o[j + QK / 2] = d * (blk[4 + j] >> 4) as f32 + m;
                    }
                }
                Format::Q8_0 => {
                    let d = half_at(blk, 0);
                    for j in 0..QK {
                        o[j] = d * (blk[2 + j] as i8) as f32;
                    }
                }
            }
        }
    }
}

/// Whether the AVX2 + FMA + F16C kernels can run here (`BRAIN_NO_SIMD` forces the portable ones).
pub fn have_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAVE.get_or_init(|| {
            std::env::var_os("BRAIN_NO_SIMD").is_none()
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
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
    assert!(out.len() >= t_all * n && rows.end <= n && a.cols == w.cols, "matmul shapes");
    let mut t = 0;
    while t < t_all {
        let take = (t_all - t).min(8);
        match take {
            8 => rows_block::<8>(w, a, rows.clone(), t, out, simd),
            7 => rows_block::<7>(w, a, rows.clone(), t, out, simd),
            6 => rows_block::<6>(w, a, rows.clone(), t, out, simd),
            5 => rows_block::<5>(w, a, rows.clone(), t, out, simd),
            4 => rows_block::<4>(w, a, rows.clone(), t, out, simd),
            3 => rows_block::<3>(w, a, rows.clone(), t, out, simd),
            2 => rows_block::<2>(w, a, rows.clone(), t, out, simd),
            _ => rows_block::<1>(w, a, rows.clone(), t, out, simd),
        }
        t += take;
    }
}

/// `out[t × w.rows + r] = W[r] · a[t]` with the weight rows split across `pool` (parts claimed
/// by whichever thread is free; several per thread, so a preempted worker holds up little).
pub fn matmul_par(pool: &crate::pool::Pool, w: &QMatrix, a: &Q8Rows, out: &mut Vec<f32>, simd: bool) {
    out.resize(a.rows() * w.rows, 0.0);
    let n = w.rows;
    let work = a.rows() * n * w.cols;
    let parts = if work < 64 * 1024 { 1 } else { (pool.threads() * 4).min(n / 16).max(1) };
    if parts == 1 {
        matmul_rows(w, a, 0..n, out, simd);
        return;
    }
    let ptr = SendPtr(out.as_mut_ptr());
    let len = out.len();
    pool.run(parts, &|i| {
        let lo = n * i / parts;
        let hi = n * (i + 1) / parts;
        // SAFETY: each part writes only columns lo..hi of every output row: disjoint.
        let out = unsafe { std::slice::from_raw_parts_mut(ptr.get(), len) };
        matmul_rows(w, a, lo..hi, out, simd);
    });
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint column ranges of one buffer to pool workers.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}
impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Activation rows `t0..t0+R` against weight rows `rows`.
fn rows_block<const R: usize>(w: &QMatrix, a: &Q8Rows, rows: std::ops::Range<usize>, t0: usize, out: &mut [f32], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is only true when have_avx2() found AVX2, FMA and F16C; shapes were
        // checked by matmul_rows.
        unsafe { avx2::rows::<R>(w, a, rows, t0, out) };
        return;
    }
    let _ = simd;
    let n = w.rows;
    for r in rows {
        let mut acc = [0f32; 8];
        scalar_dot::<R>(w, r, a, t0, &mut acc);
        for (k, v) in acc.iter().take(R).enumerate() {
            out[(t0 + k) * n + r] = *v;
        }
    }
}

fn scalar_dot<const R: usize>(w: &QMatrix, r: usize, a: &Q8Rows, t0: usize, out: &mut [f32; 8]) {
    let nb = w.blocks_per_row();
    let bb = w.format.block_bytes();
    for k in 0..R {
        let t = t0 + k;
        let mut sum = 0f32;
        for b in 0..nb {
            let blk = &w.blocks[(r * nb + b) * bb..(r * nb + b + 1) * bb];
            let ai = t * nb + b;
            let aq = &a.qs[ai * QK..(ai + 1) * QK];
            match w.format {
                Format::Q4_1 => {
                    let mut s = 0i32;
                    for j in 0..16 {
                        s += (blk[4 + j] & 0x0f) as i32 * aq[j] as i32 + (blk[4 + j] >> 4) as i32 * aq[j + 16] as i32;
                    }
                    sum += half_at(blk, 0) * a.d[ai] * s as f32 + half_at(blk, 2) * a.s[ai];
                }
                Format::Q8_0 => {
                    let mut s = 0i32;
                    for j in 0..32 {
                        s += (blk[2 + j] as i8) as i32 * aq[j] as i32;
                    }
                    sum += half_at(blk, 0) * a.d[ai] * s as f32;
                }
            }
        }
        out[k] = sum;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Format, Q8Rows, QK, QMatrix};
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

    /// Two f16 at `p` (d, m) as f32.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn halves(p: *const u8) -> (f32, f32) {
        // SAFETY: the caller points at a block header of at least 4 bytes.
        let v = unsafe { _mm_cvtph_ps(_mm_cvtsi32_si128(std::ptr::read_unaligned(p as *const i32))) };
        (_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_shuffle_ps(v, v, 1)))
    }

    /// Weight rows `rows` against activation rows `t0..t0+R`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn rows<const R: usize>(w: &QMatrix, a: &Q8Rows, rows: std::ops::Range<usize>, t0: usize, out: &mut [f32]) {
        let n = w.rows;
        let mut acc = [0f32; 8];
        for r in rows {
            // SAFETY: as the caller's.
            unsafe {
                match w.format {
                    Format::Q4_1 => dot_q4_1::<R>(w, r, a, t0, &mut acc),
                    Format::Q8_0 => dot_q8_0::<R>(w, r, a, t0, &mut acc),
                }
            }
            for k in 0..R {
                out[(t0 + k) * n + r] = acc[k];
            }
        }
    }

    /// Q4_1 weights row `r` against `R` activation rows from `t0`.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot_q4_1<const R: usize>(w: &QMatrix, r: usize, a: &Q8Rows, t0: usize, out: &mut [f32; 8]) {
        let nb = w.blocks_per_row();
        let mask = _mm_set1_epi8(0x0f);
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); R];
        let mut offs = [0f32; R];
        // SAFETY: row r's blocks lie inside `blocks` (checked by QMatrix::new).
        let row = unsafe { w.blocks.as_ptr().add(r * nb * 20) };
        let aq = a.qs.as_ptr();
        for b in 0..nb {
            // SAFETY: block b of the row.
            let blk = unsafe { row.add(b * 20) };
            let (wd, wm) = unsafe { halves(blk) };
            let raw = unsafe { _mm_loadu_si128(blk.add(4) as *const __m128i) };
            let lo = _mm_and_si128(raw, mask);
            let hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
            let wv = _mm256_set_m128i(hi, lo);
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
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot_q8_0<const R: usize>(w: &QMatrix, r: usize, a: &Q8Rows, t0: usize, out: &mut [f32; 8]) {
        let nb = w.blocks_per_row();
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); R];
        // SAFETY: row r's blocks lie inside `blocks` (checked by QMatrix::new).
        let row = unsafe { w.blocks.as_ptr().add(r * nb * 34) };
        let aq = a.qs.as_ptr();
        for b in 0..nb {
            // SAFETY: block b of the row (34 bytes: 2 of scale, 32 of values).
            let blk = unsafe { row.add(b * 34) };
            let (wd, _) = unsafe { halves(blk) };
            let wv = unsafe { _mm256_loadu_si256(blk.add(2) as *const __m256i) };
            let wabs = _mm256_sign_epi8(wv, wv);
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

    /// One head's causal attention: scores against `n` cached keys, softmax, weighted values.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn attend(q: &[f32], keys: &[f32], values: &[f32], stride: usize, n: usize, scale: f32, scores: &mut [f32], out: &mut [f32]) {
        let hd = q.len();
        let mut max = f32::NEG_INFINITY;
        for j in 0..n {
            let k = &keys[j * stride..j * stride + hd];
            let mut acc = [0f32; 8];
            for (x, y) in q.chunks_exact(8).zip(k.chunks_exact(8)) {
                for i in 0..8 {
                    acc[i] = x[i].mul_add(y[i], acc[i]);
                }
            }
            let sc = acc.iter().sum::<f32>() * scale;
            scores[j] = sc;
            max = max.max(sc);
        }
        let mut sum = 0.0;
        for sc in scores[..n].iter_mut() {
            *sc = (*sc - max).exp();
            sum += *sc;
        }
        let inv = 1.0 / sum;
        out.fill(0.0);
        for j in 0..n {
            let p = scores[j] * inv;
            let v = &values[j * stride..j * stride + hd];
            for (o, x) in out.iter_mut().zip(v) {
                *o = x.mul_add(p, *o);
            }
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

/// One head's causal attention over `n` cached positions: `keys`/`values` rows of `stride`
/// floats start at this head's offset; `q.len()` is the head size.
#[allow(clippy::too_many_arguments)]
pub fn attend(q: &[f32], keys: &[f32], values: &[f32], stride: usize, n: usize, scale: f32, scores: &mut [f32], out: &mut [f32], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd && q.len() % 8 == 0 {
        // SAFETY: see `rows_block`.
        return unsafe { avx2::attend(q, keys, values, stride, n, scale, scores, out) };
    }
    let _ = simd;
    let hd = q.len();
    let mut max = f32::NEG_INFINITY;
    for j in 0..n {
        let sc = dot_f32(q, &keys[j * stride..j * stride + hd], false) * scale;
        scores[j] = sc;
        max = max.max(sc);
    }
    let mut sum = 0.0;
    for sc in scores[..n].iter_mut() {
        *sc = (*sc - max).exp();
        sum += *sc;
    }
    out.fill(0.0);
    for j in 0..n {
        axpy(out, scores[j] / sum, &values[j * stride..j * stride + hd], false);
    }
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

/// f32 to IEEE half, rounding to nearest even (scales of requantized blocks).
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let man = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rest = man & ((1 << shift) - 1);
        let mut v = man >> shift;
        if rest > half || (rest == half && v & 1 == 1) {
            v += 1;
        }
        return sign | v as u16;
    }
    let mut v = ((e as u32) << 10) | (man >> 13);
    let rest = man & 0x1fff;
    if rest > 0x1000 || (rest == 0x1000 && v & 1 == 1) {
        v += 1;
    }
    sign | v as u16
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
        let mut blocks = Vec::new();
        for _ in 0..rows * cols / QK {
            blocks.extend(f32_to_f16(rng(seed).abs() * 0.1 + 0.01).to_le_bytes());
            match format {
                Format::Q4_1 => {
                    blocks.extend(f32_to_f16(rng(seed) * 0.2).to_le_bytes());
                    blocks.extend((0..16).map(|_| (rng(seed).abs() * 255.0) as u8));
                }
                Format::Q8_0 => blocks.extend((0..32).map(|_| ((rng(seed) * 127.0) as i8) as u8)),
            }
        }
        QMatrix::new(rows, cols, format, blocks).unwrap()
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
    fn attention_simd_matches_the_portable_version() {
        let mut seed = 7u64;
        let (hd, stride, n) = (64, 192, 37);
        let q: Vec<f32> = (0..hd).map(|_| rng(&mut seed)).collect();
        let keys: Vec<f32> = (0..n * stride).map(|_| rng(&mut seed)).collect();
        let values: Vec<f32> = (0..n * stride).map(|_| rng(&mut seed)).collect();
        let (mut s1, mut s2) = (vec![0f32; n], vec![0f32; n]);
        let (mut o1, mut o2) = (vec![0f32; hd], vec![0f32; hd]);
        attend(&q, &keys[64..], &values[64..], stride, n, 0.125, &mut s1, &mut o1, false);
        attend(&q, &keys[64..], &values[64..], stride, n, 0.125, &mut s2, &mut o2, have_avx2());
        // The probabilities sum to one and the outputs agree.
        let total: f32 = s1.iter().sum::<f32>();
        assert!(total > 0.0);
        for (a, b) in o1.iter().zip(&o2) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        // A single position attends to itself only.
        attend(&q, &keys, &values, stride, 1, 0.125, &mut s1, &mut o1, have_avx2());
        assert_eq!(&o1[..], &values[..hd]);
    }

    #[test]
    fn half_floats_convert_exactly() {
        for (h, f) in [(0x3c00u16, 1.0f32), (0xc000, -2.0), (0x0000, 0.0), (0x7bff, 65504.0), (0x0001, 5.960_464_5e-8), (0x3555, 0.333_251_95)] {
            assert_eq!(f16_to_f32(h), f, "{h:#x}");
        }
        assert!(f16_to_f32(0x7c00).is_infinite());
        for h in (0u16..0x7c00).step_by(7) {
            assert_eq!(f32_to_f16(f16_to_f32(h)), h, "{h:#x}");
        }
        assert_eq!(f32_to_f16(1.0 + 1.0 / 4096.0), 0x3c00, "ties to even");
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}
