//! The dense layers' matrix products, `out = x · Wᵀ + bias`, for a few dozen token rows.
//!
//! The weights are packed once, at load, into panels of [`PANEL`] output columns: panel `p`
//! holds, for each input `i` in turn, the weights of its columns for that input. A block of
//! token rows then multiplies each input value (broadcast) into whole panels of outputs and
//! keeps its sums in registers until the last input, with no horizontal additions and no
//! repacking per product. AVX-512 or AVX2 with FMA are used when the processor has them
//! (chosen at run time), plain loops otherwise.
//!
//! With [`Precision::Int8`] the weights are kept as 8-bit integers, one scale per output column,
//! and each product's input rows are made 8-bit too, one scale per row. The panels then hold
//! groups of four inputs per column, the shape of AVX-512 VNNI's `vpdpbusd` (four unsigned by
//! four signed bytes summed into each 32-bit lane): a quarter of the memory read per product
//! and four times the products per instruction.

use crate::Precision;

/// Output columns per panel: one AVX-512 register, two AVX2 registers.
pub(crate) const PANEL: usize = 16;

/// Inputs per group in the 8-bit panels: the bytes one 32-bit lane of `vpdpbusd` sums.
const GROUP: usize = 4;

/// A dense layer, its weights packed in panels.
pub(crate) struct Linear {
    packed: Packed,
    pub(crate) bias: Vec<f32>,
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
}

enum Packed {
    F32(Vec<f32>),
    Int8(Quantized),
}

/// 8-bit weights: `weight[o][i] ≈ scale[o] * weights[..]`.
struct Quantized {
    /// Panel `p`, group `g`, column `j`, input `t` of the group at
    /// `((p * groups + g) * PANEL + j) * GROUP + t`; inputs past the last are 0.
    weights: Vec<i8>,
    /// Groups of [`GROUP`] inputs (the inputs rounded up).
    groups: usize,
    /// One scale per output column, padded to whole panels.
    scale: Vec<f32>,
    /// 128 × the sum of each column's 8-bit weights, padded to whole panels: inputs are
    /// stored as unsigned bytes offset by 128, and this takes the offset back out.
    offset: Vec<i32>,
}

impl Quantized {
    fn new(weight: &[f32], inputs: usize, outputs: usize) -> Quantized {
        let panels = outputs.div_ceil(PANEL);
        let groups = inputs.div_ceil(GROUP);
        let mut weights = vec![0i8; panels * groups * PANEL * GROUP];
        let mut scale = vec![0.0f32; panels * PANEL];
        let mut offset = vec![0i32; panels * PANEL];
        for o in 0..outputs {
            let row = &weight[o * inputs..(o + 1) * inputs];
            let max = row.iter().fold(0.0f32, |m, w| m.max(w.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            scale[o] = s;
            let (p, j) = (o / PANEL, o % PANEL);
            let mut sum = 0i32;
            for (i, w) in row.iter().enumerate() {
                let q = (w / s).round().clamp(-127.0, 127.0) as i8;
                sum += i32::from(q);
                let (g, t) = (i / GROUP, i % GROUP);
                weights[((p * groups + g) * PANEL + j) * GROUP + t] = q;
            }
            offset[o] = 128 * sum;
        }
        Quantized {
            weights,
            groups,
            scale,
            offset,
        }
    }
}

impl Linear {
    /// A layer from `outputs` rows of `inputs` weights (as PyTorch stores them) and a bias.
    pub(crate) fn new(
        weight: &[f32],
        bias: Vec<f32>,
        inputs: usize,
        outputs: usize,
        precision: Precision,
    ) -> Linear {
        assert_eq!(weight.len(), inputs * outputs, "weights of the wrong size");
        assert_eq!(bias.len(), outputs, "a bias of the wrong size");
        let packed = match precision {
            Precision::F32 => {
                let panels = outputs.div_ceil(PANEL);
                let mut packed = vec![0.0f32; panels * inputs * PANEL];
                for o in 0..outputs {
                    let (p, j) = (o / PANEL, o % PANEL);
                    for i in 0..inputs {
                        packed[(p * inputs + i) * PANEL + j] = weight[o * inputs + i];
                    }
                }
                Packed::F32(packed)
            }
            Precision::Int8 => Packed::Int8(Quantized::new(weight, inputs, outputs)),
        };
        Linear {
            packed,
            bias,
            inputs,
            outputs,
        }
    }
}

/// `out = x · layerᵀ + bias` for `rows` rows of `x`, on the calling thread. (Splitting one
/// question's products over two cores was measured and gained nothing: 7.9 against 8.1 ms
/// median per question; texts are shared over cores one whole text at a time instead.)
pub(crate) fn linear(x: &[f32], rows: usize, layer: &Linear, out: &mut [f32]) {
    match &layer.packed {
        Packed::F32(packed) => product(x, rows, layer.inputs, packed, &layer.bias, out),
        Packed::Int8(q) => {
            let (xq, xs) = quantize_rows(x, rows, layer.inputs, q.groups);
            product_int8(&xq, &xs, q, &layer.bias, out);
        }
    }
}

/// Rows of `x` as unsigned bytes, `128 + round(x / scale)`, each padded to `groups` whole
/// groups with 128 (zero), and each row's scale (its largest magnitude over 127).
fn quantize_rows(x: &[f32], rows: usize, k: usize, groups: usize) -> (Vec<u8>, Vec<f32>) {
    let width = groups * GROUP;
    let mut out = vec![128u8; rows * width];
    let mut scales = Vec::with_capacity(rows);
    for (row, q) in x[..rows * k]
        .chunks_exact(k)
        .zip(out.chunks_exact_mut(width))
    {
        let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let (scale, inv) = if max > 0.0 && max.is_finite() {
            (max / 127.0, 127.0 / max)
        } else {
            (1.0, 0.0)
        };
        scales.push(scale);
        // x * inv is within ±127, so + 128.5 is within 1.5..=255.5 and truncating it rounds
        // to the nearest (halves away from zero below 128, up above).
        for (q, v) in q.iter_mut().zip(row) {
            *q = (v * inv + 128.5) as u8;
        }
    }
    (out, scales)
}

/// One 8-bit product: `xq` holds `xs.len()` rows of `q.groups` groups.
fn product_int8(xq: &[u8], xs: &[f32], q: &Quantized, bias: &[f32], out: &mut [f32]) {
    let n = bias.len();
    let rows = xs.len();
    // The kernel reads and writes through raw pointers within these bounds.
    assert!(
        xq.len() >= rows * q.groups * GROUP
            && q.weights.len() >= n.div_ceil(PANEL) * PANEL * q.groups * GROUP
            && q.scale.len() >= n.div_ceil(PANEL) * PANEL
            && q.offset.len() >= n.div_ceil(PANEL) * PANEL
            && out.len() >= rows * n,
        "an 8-bit product's operands are smaller than its shape"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if vnni() {
            // SAFETY: the processor has AVX-512F and VNNI (checked just above); bounds
            // asserted above.
            unsafe { vnni::product(xq, xs, q, bias, out) };
            return;
        }
    }
    plain_int8(xq, xs, q, bias, out);
}

/// True when the processor has AVX-512 VNNI, which makes 8-bit products pay.
pub(crate) fn vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn plain_int8(xq: &[u8], xs: &[f32], q: &Quantized, bias: &[f32], out: &mut [f32]) {
    let n = bias.len();
    let width = q.groups * GROUP;
    for (r, scale) in xs.iter().enumerate() {
        let row = &xq[r * width..(r + 1) * width];
        for o in 0..n {
            let (p, j) = (o / PANEL, o % PANEL);
            let mut acc = 0i32;
            for (g, four) in row.chunks_exact(GROUP).enumerate() {
                let w = &q.weights[((p * q.groups + g) * PANEL + j) * GROUP..][..GROUP];
                for (x, w) in four.iter().zip(w) {
                    acc += i32::from(*x) * i32::from(*w);
                }
            }
            out[r * n + o] = (acc - q.offset[o]) as f32 * (scale * q.scale[o]) + bias[o];
        }
    }
}

/// One product: `packed` holds the panels of `bias.len()` columns.
fn product(x: &[f32], rows: usize, k: usize, packed: &[f32], bias: &[f32], out: &mut [f32]) {
    let n = bias.len();
    // The kernels read and write through raw pointers within these bounds.
    assert!(
        x.len() >= rows * k
            && packed.len() >= n.div_ceil(PANEL) * PANEL * k
            && out.len() >= rows * n,
        "a product's operands are smaller than its shape"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F (checked just above); bounds asserted above.
            unsafe { avx512::product(x, rows, k, packed, bias, out) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the processor has AVX2 and FMA (checked just above); bounds asserted above.
            unsafe { avx2::product(x, rows, k, packed, bias, out) };
            return;
        }
    }
    plain(x, rows, k, packed, bias, out);
}

fn plain(x: &[f32], rows: usize, k: usize, packed: &[f32], bias: &[f32], out: &mut [f32]) {
    let n = bias.len();
    for r in 0..rows {
        let row = &x[r * k..(r + 1) * k];
        for o in 0..n {
            let (p, j) = (o / PANEL, o % PANEL);
            let panel = &packed[p * k * PANEL..(p + 1) * k * PANEL];
            let sum: f32 = row
                .iter()
                .enumerate()
                .map(|(i, v)| v * panel[i * PANEL + j])
                .sum();
            out[r * n + o] = sum + bias[o];
        }
    }
}

/// Calls `$block::<R, ...>` for the `$rows` rows left (1 to `$max`), so each block size is
/// its own fully unrolled function.
macro_rules! by_rows {
    ($rows:expr, $call:ident, $($arg:expr),*) => {
        match $rows {
            1 => $call::<1>($($arg),*),
            2 => $call::<2>($($arg),*),
            3 => $call::<3>($($arg),*),
            4 => $call::<4>($($arg),*),
            5 => $call::<5>($($arg),*),
            6 => $call::<6>($($arg),*),
            7 => $call::<7>($($arg),*),
            _ => $call::<8>($($arg),*),
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::PANEL;
    use std::arch::x86_64::*;

    /// Rows per block: 8 rows × 2 panels are 16 of the 32 registers.
    const ROWS: usize = 8;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn product(
        x: &[f32],
        rows: usize,
        k: usize,
        packed: &[f32],
        bias: &[f32],
        out: &mut [f32],
    ) {
        let n = bias.len();
        let panels = n.div_ceil(PANEL);
        let mut r = 0;
        while r < rows {
            let block = (rows - r).min(ROWS);
            let mut p = 0;
            while p < panels {
                let two = p + 1 < panels;
                by_rows!(block, rows_by, x, r, k, packed, bias, out, p, two);
                p += if two { 2 } else { 1 };
            }
            r += block;
        }
    }

    /// Rows `r..r + R` by panel `p` (and `p + 1` when `two`).
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn rows_by<const R: usize>(
        x: &[f32],
        r: usize,
        k: usize,
        packed: &[f32],
        bias: &[f32],
        out: &mut [f32],
        p: usize,
        two: bool,
    ) {
        if two {
            block::<R, 2>(x, r, k, packed, bias, out, p);
        } else {
            block::<R, 1>(x, r, k, packed, bias, out, p);
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn block<const R: usize, const P: usize>(
        x: &[f32],
        r: usize,
        k: usize,
        packed: &[f32],
        bias: &[f32],
        out: &mut [f32],
        p: usize,
    ) {
        let n = bias.len();
        let xp = x.as_ptr().add(r * k);
        let wp = packed.as_ptr().add(p * k * PANEL);
        let mut acc = [[_mm512_setzero_ps(); P]; R];
        for i in 0..k {
            let mut w = [_mm512_setzero_ps(); P];
            for (q, w) in w.iter_mut().enumerate() {
                *w = _mm512_loadu_ps(wp.add((q * k + i) * PANEL));
            }
            for (t, acc) in acc.iter_mut().enumerate() {
                let v = _mm512_set1_ps(*xp.add(t * k + i));
                for q in 0..P {
                    acc[q] = _mm512_fmadd_ps(v, w[q], acc[q]);
                }
            }
        }
        for q in 0..P {
            let col = (p + q) * PANEL;
            let width = (n - col).min(PANEL);
            let mask: __mmask16 = ((1u32 << width) - 1) as u16;
            let b = _mm512_maskz_loadu_ps(mask, bias.as_ptr().add(col));
            for (t, acc) in acc.iter().enumerate() {
                let o = out.as_mut_ptr().add((r + t) * n + col);
                _mm512_mask_storeu_ps(o, mask, _mm512_add_ps(acc[q], b));
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::PANEL;
    use std::arch::x86_64::*;

    /// Rows per block: 6 rows × one panel (two registers) are 12 of the 16 registers.
    const ROWS: usize = 6;

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn product(
        x: &[f32],
        rows: usize,
        k: usize,
        packed: &[f32],
        bias: &[f32],
        out: &mut [f32],
    ) {
        let panels = bias.len().div_ceil(PANEL);
        let mut r = 0;
        while r < rows {
            let block = (rows - r).min(ROWS);
            for p in 0..panels {
                by_rows!(block, rows_by, x, r, k, packed, bias, out, p);
            }
            r += block;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows_by<const R: usize>(
        x: &[f32],
        r: usize,
        k: usize,
        packed: &[f32],
        bias: &[f32],
        out: &mut [f32],
        p: usize,
    ) {
        let n = bias.len();
        let xp = x.as_ptr().add(r * k);
        let wp = packed.as_ptr().add(p * k * PANEL);
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for i in 0..k {
            let lo = _mm256_loadu_ps(wp.add(i * PANEL));
            let hi = _mm256_loadu_ps(wp.add(i * PANEL + 8));
            for (t, acc) in acc.iter_mut().enumerate() {
                let v = _mm256_set1_ps(*xp.add(t * k + i));
                acc[0] = _mm256_fmadd_ps(v, lo, acc[0]);
                acc[1] = _mm256_fmadd_ps(v, hi, acc[1]);
            }
        }
        let col = p * PANEL;
        let width = (n - col).min(PANEL);
        for (t, acc) in acc.iter().enumerate() {
            let mut sums = [0.0f32; PANEL];
            _mm256_storeu_ps(sums.as_mut_ptr(), acc[0]);
            _mm256_storeu_ps(sums.as_mut_ptr().add(8), acc[1]);
            let o = &mut out[(r + t) * n + col..(r + t) * n + col + width];
            for ((o, s), b) in o.iter_mut().zip(&sums).zip(&bias[col..col + width]) {
                *o = s + b;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{Quantized, GROUP, PANEL};
    use std::arch::x86_64::*;

    /// Rows per block: 8 rows × 2 panels are 16 of the 32 registers.
    const ROWS: usize = 8;

    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) unsafe fn product(
        xq: &[u8],
        xs: &[f32],
        q: &Quantized,
        bias: &[f32],
        out: &mut [f32],
    ) {
        let rows = xs.len();
        let panels = bias.len().div_ceil(PANEL);
        let mut r = 0;
        while r < rows {
            let block = (rows - r).min(ROWS);
            let mut p = 0;
            while p < panels {
                let two = p + 1 < panels;
                by_rows!(block, rows_by, xq, xs, q, bias, out, r, p, two);
                p += if two { 2 } else { 1 };
            }
            r += block;
        }
    }

    #[target_feature(enable = "avx512f,avx512vnni")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn rows_by<const R: usize>(
        xq: &[u8],
        xs: &[f32],
        q: &Quantized,
        bias: &[f32],
        out: &mut [f32],
        r: usize,
        p: usize,
        two: bool,
    ) {
        if two {
            block::<R, 2>(xq, xs, q, bias, out, r, p);
        } else {
            block::<R, 1>(xq, xs, q, bias, out, r, p);
        }
    }

    #[target_feature(enable = "avx512f,avx512vnni")]
    unsafe fn block<const R: usize, const P: usize>(
        xq: &[u8],
        xs: &[f32],
        q: &Quantized,
        bias: &[f32],
        out: &mut [f32],
        r: usize,
        p: usize,
    ) {
        let n = bias.len();
        let groups = q.groups;
        let width = groups * GROUP;
        let xp = xq.as_ptr().add(r * width);
        let wp = q.weights.as_ptr().add(p * groups * PANEL * GROUP);
        let mut acc = [[_mm512_setzero_si512(); P]; R];
        for g in 0..groups {
            let mut w = [_mm512_setzero_si512(); P];
            for (k, w) in w.iter_mut().enumerate() {
                *w = _mm512_loadu_si512(wp.add((k * groups + g) * PANEL * GROUP).cast());
            }
            for (t, acc) in acc.iter_mut().enumerate() {
                let four = std::ptr::read_unaligned(xp.add(t * width + g * GROUP).cast::<i32>());
                let v = _mm512_set1_epi32(four);
                for k in 0..P {
                    acc[k] = _mm512_dpbusd_epi32(acc[k], v, w[k]);
                }
            }
        }
        for k in 0..P {
            let col = (p + k) * PANEL;
            let width = (n - col).min(PANEL);
            let mask: __mmask16 = ((1u32 << width) - 1) as u16;
            let b = _mm512_maskz_loadu_ps(mask, bias.as_ptr().add(col));
            let scale = _mm512_loadu_ps(q.scale.as_ptr().add(col));
            let offset = _mm512_loadu_si512(q.offset.as_ptr().add(col).cast());
            for (t, acc) in acc.iter().enumerate() {
                let sums = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[k], offset));
                let s = _mm512_mul_ps(scale, _mm512_set1_ps(xs[r + t]));
                let o = out.as_mut_ptr().add((r + t) * n + col);
                _mm512_mask_storeu_ps(o, mask, _mm512_fmadd_ps(sums, s, b));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudo-random values in [-1, 1).
    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn every_kernel_agrees_with_plain_loops_at_every_edge() {
        type Kernel = fn(&[f32], usize, usize, &[f32], &[f32], &mut [f32]);
        // Every kernel this processor runs, whichever `product` would choose.
        let mut kernels: Vec<(&str, Kernel)> = vec![("plain", plain)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the processor has AVX2 and FMA; the operands fit their shapes.
                kernels.push(("avx2", |x, r, k, w, b, o| unsafe {
                    avx2::product(x, r, k, w, b, o)
                }));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the processor has AVX-512F; the operands fit their shapes.
                kernels.push(("avx512", |x, r, k, w, b, o| unsafe {
                    avx512::product(x, r, k, w, b, o)
                }));
            }
        }
        // Sizes that leave remainders in every direction: rows not a multiple of any block,
        // outputs not a multiple of a panel or of two, inputs of any length.
        for (rows, outputs, inputs) in [
            (1, 3, 8),
            (7, 10, 13),
            (70, 31, 40),
            (5, 384, 384),
            (9, 48, 1),
            (13, 17, 17),
            (0, 3, 8),
            (21, 385, 384),
            (9, 1537, 100),
        ] {
            let weight = values(outputs * inputs, (rows * 31 + outputs) as u32);
            let bias = values(outputs, 3);
            let x = values(rows * inputs, 7);
            let layer = Linear::new(&weight, bias.clone(), inputs, outputs, Precision::F32);
            let check = |name: &str, got: &[f32]| {
                for r in 0..rows {
                    for o in 0..outputs {
                        let want: f32 = (0..inputs)
                            .map(|i| x[r * inputs + i] * weight[o * inputs + i])
                            .sum::<f32>()
                            + bias[o];
                        let got = got[r * outputs + o];
                        assert!(
                            (want - got).abs() < 1e-4,
                            "{name} {rows}x{outputs}x{inputs} at {r},{o}: {want} vs {got}"
                        );
                    }
                }
            };
            for (name, kernel) in &kernels {
                let mut got = vec![0.0; rows * outputs];
                let Packed::F32(packed) = &layer.packed else {
                    unreachable!("an f32 layer")
                };
                kernel(&x, rows, inputs, packed, &bias, &mut got);
                check(name, &got);
            }
            // The product as the encoder calls it.
            let mut got = vec![0.0; rows * outputs];
            linear(&x, rows, &layer, &mut got);
            check("linear", &got);
        }
    }

    #[test]
    fn every_8bit_kernel_agrees_with_plain_integer_loops_at_every_edge() {
        type Kernel = fn(&[u8], &[f32], &Quantized, &[f32], &mut [f32]);
        let mut kernels: Vec<(&str, Kernel)> = vec![("plain", plain_int8)];
        #[cfg(target_arch = "x86_64")]
        if vnni() {
            // SAFETY: the processor has AVX-512F and VNNI; the operands fit their shapes.
            kernels.push(("vnni", |x, s, q, b, o| unsafe {
                vnni::product(x, s, q, b, o)
            }));
        }
        for (rows, outputs, inputs) in [
            (1, 3, 8),
            (7, 10, 13),
            (70, 31, 40),
            (5, 384, 384),
            (9, 48, 1),
            (13, 17, 17),
            (0, 3, 8),
            (21, 385, 384),
            (9, 1537, 102),
        ] {
            let weight = values(outputs * inputs, (rows * 31 + outputs) as u32);
            let bias = values(outputs, 3);
            let x = values(rows * inputs, 7);
            let layer = Linear::new(&weight, bias.clone(), inputs, outputs, Precision::Int8);
            let Packed::Int8(q) = &layer.packed else {
                unreachable!("an 8-bit layer")
            };
            let (xq, xs) = quantize_rows(&x, rows, inputs, q.groups);
            // The integer sums by the definition, from the weights before packing.
            let want = |r: usize, o: usize| -> f32 {
                let w = |i: usize| (weight[o * inputs + i] / q.scale[o]).round() as i32;
                let sum: i32 = (0..inputs)
                    .map(|i| (i32::from(xq[r * q.groups * GROUP + i]) - 128) * w(i))
                    .sum();
                sum as f32 * xs[r] * q.scale[o] + bias[o]
            };
            for (name, kernel) in &kernels {
                let mut got = vec![0.0; rows * outputs];
                kernel(&xq, &xs, q, &bias, &mut got);
                for r in 0..rows {
                    for o in 0..outputs {
                        let (want, got) = (want(r, o), got[r * outputs + o]);
                        assert!(
                            (want - got).abs() <= 1e-5 * want.abs().max(1.0),
                            "{name} {rows}x{outputs}x{inputs} at {r},{o}: {want} vs {got}"
                        );
                    }
                }
            }
            // And the 8-bit product is the f32 one to within its rounding.
            let mut got = vec![0.0; rows * outputs];
            linear(&x, rows, &layer, &mut got);
            for r in 0..rows {
                for o in 0..outputs {
                    let exact: f32 = (0..inputs)
                        .map(|i| x[r * inputs + i] * weight[o * inputs + i])
                        .sum::<f32>()
                        + bias[o];
                    // Each input and weight is off by at most half a step of its scale.
                    let bound = inputs as f32 * (xs[r] + q.scale[o]) * 0.5 + 1e-4;
                    assert!(
                        (exact - got[r * outputs + o]).abs() <= bound,
                        "8-bit {rows}x{outputs}x{inputs} at {r},{o}: {exact} vs {}",
                        got[r * outputs + o]
                    );
                }
            }
        }
    }

    #[test]
    fn rows_are_made_8bit_to_the_nearest_step_and_zero_rows_stay_zero() {
        let x = [0.0, 1.0, -1.0, 0.5, 0.25, 0.0, 0.0, 0.0];
        let (q, s) = quantize_rows(&x, 2, 4, 2);
        assert_eq!(s[0], 1.0 / 127.0);
        // 0 -> 128, 1 -> 255, -1 -> 1, 0.5 -> 63.5 rounds away from zero (192); padding 128.
        assert_eq!(&q[..8], &[128, 255, 1, 192, 128, 128, 128, 128]);
        // A row of zeros (or one with no finite maximum) is all 128, with scale 1.
        assert_eq!(&q[8..12], &[255, 128, 128, 128]);
        assert_eq!(s[1], 0.25 / 127.0);
        let (q, s) = quantize_rows(&[0.0; 4], 1, 4, 1);
        assert_eq!((q, s), (vec![128; 4], vec![1.0]));
    }
}
