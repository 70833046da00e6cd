//! The dense layers' matrix products, `out = x · Wᵀ + bias`, for a few dozen token rows.
//!
//! The weights are packed once, at load, into panels of [`PANEL`] output columns: panel `p`
//! holds, for each input `i` in turn, the weights of its columns for that input. A block of
//! token rows then multiplies each input value (broadcast) into whole panels of outputs and
//! keeps its sums in registers until the last input, with no horizontal additions and no
//! repacking per product. AVX-512 or AVX2 with FMA are used when the processor has them
//! (chosen at run time), plain loops otherwise.

/// Output columns per panel: one AVX-512 register, two AVX2 registers.
pub(crate) const PANEL: usize = 16;

/// A dense layer, its weights packed in panels.
pub(crate) struct Linear {
    packed: Vec<f32>,
    pub(crate) bias: Vec<f32>,
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
}

impl Linear {
    /// A layer from `outputs` rows of `inputs` weights (as PyTorch stores them) and a bias.
    pub(crate) fn new(weight: &[f32], bias: Vec<f32>, inputs: usize, outputs: usize) -> Linear {
        assert_eq!(weight.len(), inputs * outputs, "weights of the wrong size");
        assert_eq!(bias.len(), outputs, "a bias of the wrong size");
        let panels = outputs.div_ceil(PANEL);
        let mut packed = vec![0.0f32; panels * inputs * PANEL];
        for o in 0..outputs {
            let (p, j) = (o / PANEL, o % PANEL);
            for i in 0..inputs {
                packed[(p * inputs + i) * PANEL + j] = weight[o * inputs + i];
            }
        }
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
    product(x, rows, layer.inputs, &layer.packed, &layer.bias, out);
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
            let layer = Linear::new(&weight, bias.clone(), inputs, outputs);
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
                kernel(&x, rows, inputs, &layer.packed, &bias, &mut got);
                check(name, &got);
            }
            // The product as the encoder calls it.
            let mut got = vec![0.0; rows * outputs];
            linear(&x, rows, &layer, &mut got);
            check("linear", &got);
        }
    }
}
