//! A BERT sentence encoder: the forward pass written for question-length inputs.
//!
//! A question is 10 to 60 word pieces. For inputs that short a general tensor library spends
//! most of its time arranging the weights for each matrix product (candle 0.9 packed the
//! constant weight matrices again at every product: a third of a question's time). Here the
//! weights are packed once, at load, into the panel layout the products use ([`product`]), and
//! each text runs on its own with no padding.
//!
//! The model is a BERT encoder with absolute positions and the exact (erf) GELU, as
//! sentence-transformers' MiniLM, BGE, E5 and GTE small models are; the vector of a text is
//! the mean of its last hidden states, made unit length by the caller.

use std::ops::Range;
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

mod product;

use product::{linear, Linear};

/// How the dense layers' weights are held and multiplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats, as the model ships.
    F32,
    /// 8-bit integers with one scale per output column; each product's inputs are made 8-bit
    /// with one scale per token row. Fast with AVX-512 VNNI, plain loops elsewhere.
    Int8,
}

impl Precision {
    /// The quicker precision on this processor: 8-bit where it has AVX-512 VNNI dot
    /// products, `f32` elsewhere (without them 8-bit products are slower than `f32` ones).
    pub fn fastest() -> Precision {
        if product::vnni() {
            Precision::Int8
        } else {
            Precision::F32
        }
    }
}

/// The parts of a BERT `config.json` the forward pass reads.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_position")]
    pub position_embedding_type: String,
}

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

fn default_position() -> String {
    "absolute".into()
}

struct Norm {
    gain: Vec<f32>,
    bias: Vec<f32>,
}

struct Layer {
    /// Query, key and value in one product: 3 × hidden outputs.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    output_norm: Norm,
}

/// A loaded BERT encoder.
pub struct Encoder {
    words: Vec<f32>,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    eps: f32,
    max_positions: usize,
    vocabulary: usize,
    precision: Precision,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("hidden", &self.hidden)
            .field("layers", &self.layers.len())
            .field("precision", &self.precision)
            .finish_non_exhaustive()
    }
}

/// Reads named `f32` tensors out of a safetensors file, checking each one's shape.
struct Weights<'a> {
    file: safetensors::SafeTensors<'a>,
    precision: Precision,
    /// "" or "bert.": some exports name every tensor under the model's name.
    prefix: &'static str,
    path: &'a Path,
}

impl Weights<'_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> anyhow::Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        let view = self
            .file
            .tensor(&full)
            .with_context(|| format!("{} has no tensor {full}", self.path.display()))?;
        if view.dtype() != safetensors::Dtype::F32 {
            bail!(
                "{}: tensor {full} is {:?}, expected F32",
                self.path.display(),
                view.dtype()
            );
        }
        if view.shape() != shape {
            bail!(
                "{}: tensor {full} has shape {:?}, expected {shape:?} from config.json",
                self.path.display(),
                view.shape()
            );
        }
        Ok(view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    fn linear(&self, name: &str, outputs: usize, inputs: usize) -> anyhow::Result<Linear> {
        Ok(Linear::new(
            &self.tensor(&format!("{name}.weight"), &[outputs, inputs])?,
            self.tensor(&format!("{name}.bias"), &[outputs])?,
            inputs,
            outputs,
            self.precision,
        ))
    }

    fn norm(&self, name: &str, size: usize) -> anyhow::Result<Norm> {
        Ok(Norm {
            gain: self.tensor(&format!("{name}.weight"), &[size])?,
            bias: self.tensor(&format!("{name}.bias"), &[size])?,
        })
    }
}

impl Encoder {
    /// Reads the weights of `config` from the safetensors file `path`, in the precision
    /// quickest on this processor ([`Precision::fastest`]).
    pub fn load(path: &Path, config: &BertConfig) -> anyhow::Result<Encoder> {
        Encoder::load_with(path, config, Precision::fastest())
    }

    /// Reads the weights of `config` from the safetensors file `path`, the dense layers held
    /// in `precision`.
    pub fn load_with(
        path: &Path,
        config: &BertConfig,
        precision: Precision,
    ) -> anyhow::Result<Encoder> {
        if config.hidden_act != "gelu" {
            bail!(
                "the model's hidden_act is {:?}; only \"gelu\" (erf) is supported",
                config.hidden_act
            );
        }
        if config.position_embedding_type != "absolute" {
            bail!(
                "the model's position_embedding_type is {:?}; only \"absolute\" is supported",
                config.position_embedding_type
            );
        }
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads;
        if heads == 0 || !hidden.is_multiple_of(heads) {
            bail!("hidden_size {hidden} is not a multiple of num_attention_heads {heads}");
        }
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot open the model's weights {}", path.display()))?;
        // SAFETY: the weights file is mapped read-only and only read while it is loaded here.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("cannot map the model's weights {}", path.display()))?;
        let file = safetensors::SafeTensors::deserialize(&map)
            .with_context(|| format!("{} is not a safetensors file", path.display()))?;
        let prefix = if file.names().iter().any(|n| n.starts_with("bert.")) {
            "bert."
        } else {
            ""
        };
        let weights = Weights {
            file,
            precision,
            prefix,
            path,
        };
        let vocabulary = weights
            .file
            .tensor(&format!("{prefix}embeddings.word_embeddings.weight"))
            .map(|t| t.shape().first().copied().unwrap_or(0))
            .with_context(|| format!("{} has no word embeddings", path.display()))?;
        let inter = config.intermediate_size;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let at = |part: &str| format!("encoder.layer.{l}.{part}");
            let (mut weight, mut bias) = (Vec::new(), Vec::new());
            for part in ["query", "key", "value"] {
                let name = at(&format!("attention.self.{part}"));
                weight.extend(weights.tensor(&format!("{name}.weight"), &[hidden, hidden])?);
                bias.extend(weights.tensor(&format!("{name}.bias"), &[hidden])?);
            }
            let qkv = Linear::new(&weight, bias, hidden, 3 * hidden, precision);
            layers.push(Layer {
                qkv,
                attention_out: weights.linear(&at("attention.output.dense"), hidden, hidden)?,
                attention_norm: weights.norm(&at("attention.output.LayerNorm"), hidden)?,
                up: weights.linear(&at("intermediate.dense"), inter, hidden)?,
                down: weights.linear(&at("output.dense"), hidden, inter)?,
                output_norm: weights.norm(&at("output.LayerNorm"), hidden)?,
            });
        }
        Ok(Encoder {
            words: weights.tensor("embeddings.word_embeddings.weight", &[vocabulary, hidden])?,
            positions: weights.tensor(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, hidden],
            )?,
            token_type: weights
                .tensor("embeddings.token_type_embeddings.weight", &[2, hidden])
                .or_else(|_| {
                    weights.tensor("embeddings.token_type_embeddings.weight", &[1, hidden])
                })?,
            embedding_norm: weights.norm("embeddings.LayerNorm", hidden)?,
            layers,
            hidden,
            heads,
            eps: config.layer_norm_eps as f32,
            max_positions: config.max_position_embeddings,
            vocabulary,
            precision,
        })
    }

    /// The precision the dense layers are held in.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The length of the vectors.
    pub fn dim(&self) -> usize {
        self.hidden
    }

    /// The mean of the last hidden states of the word pieces `ids` (not yet unit length).
    /// Ids past the vocabulary count as id 0 and pieces past the model's positions are
    /// left out, so no input can fail.
    pub fn mean_hidden(&self, ids: &[u32]) -> Vec<f32> {
        self.mean_hidden_many(&[ids]).remove(0)
    }

    /// [`Encoder::mean_hidden`] of several texts in one pass: their token rows are stacked, so
    /// each dense layer's weights are read once for all of them (the products are most of
    /// the time, and for short texts most of a product is reading its weights); attention
    /// and positions stay within each text. The vectors are those of one text at a time.
    pub fn mean_hidden_many(&self, texts: &[&[u32]]) -> Vec<Vec<f32>> {
        let h = self.hidden;
        // Each text's rows: `spans[i]` is `start..end` in the stacked rows.
        let mut spans = Vec::with_capacity(texts.len());
        let mut len = 0;
        for ids in texts {
            let n = ids.len().min(self.max_positions);
            spans.push(len..len + n);
            len += n;
        }
        if len == 0 {
            return vec![vec![0.0; h]; texts.len()];
        }
        let mut x = vec![0.0f32; len * h];
        for (ids, span) in texts.iter().zip(&spans) {
            for (t, &id) in ids[..span.len()].iter().enumerate() {
                let id = if (id as usize) < self.vocabulary {
                    id as usize
                } else {
                    0
                };
                let row = &mut x[(span.start + t) * h..(span.start + t + 1) * h];
                let word = &self.words[id * h..(id + 1) * h];
                let position = &self.positions[t * h..(t + 1) * h];
                for (((r, w), p), k) in row
                    .iter_mut()
                    .zip(word)
                    .zip(position)
                    .zip(&self.token_type[..h])
                {
                    *r = w + p + k;
                }
            }
        }
        layer_norm(&mut x, h, &self.embedding_norm, self.eps);

        let inter = self.layers.first().map_or(0, |l| l.up.outputs);
        let mut qkv = vec![0.0f32; len * 3 * h];
        let mut context = vec![0.0f32; len * h];
        let mut projected = vec![0.0f32; len * h];
        let mut up = vec![0.0f32; len * inter];
        let longest = spans.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut scores = vec![0.0f32; longest];
        for layer in &self.layers {
            linear(&x, len, &layer.qkv, &mut qkv);
            for span in &spans {
                self.attend(&qkv, span.clone(), &mut scores, &mut context);
            }
            linear(&context, len, &layer.attention_out, &mut projected);
            add_assign(&mut x, &projected);
            layer_norm(&mut x, h, &layer.attention_norm, self.eps);
            linear(&x, len, &layer.up, &mut up);
            up.iter_mut().for_each(|v| *v = gelu(*v));
            linear(&up, len, &layer.down, &mut projected);
            add_assign(&mut x, &projected);
            layer_norm(&mut x, h, &layer.output_norm, self.eps);
        }
        spans
            .iter()
            .map(|span| {
                let mut mean = vec![0.0f32; h];
                if span.is_empty() {
                    return mean;
                }
                for row in x[span.start * h..span.end * h].chunks_exact(h) {
                    add_assign(&mut mean, row);
                }
                mean.iter_mut().for_each(|v| *v /= span.len() as f32);
                mean
            })
            .collect()
    }

    /// Self-attention among the rows `span` of the stacked query, key and value rows `qkv`,
    /// written to the same rows of `context`.
    fn attend(&self, qkv: &[f32], span: Range<usize>, scores: &mut [f32], context: &mut [f32]) {
        let h = self.hidden;
        let head = h / self.heads;
        let scale = 1.0 / (head as f32).sqrt();
        let scores = &mut scores[..span.len()];
        for t in span.clone() {
            let q_row = &qkv[t * 3 * h..t * 3 * h + h];
            for hd in 0..self.heads {
                let q = &q_row[hd * head..(hd + 1) * head];
                let mut max = f32::NEG_INFINITY;
                for (s, score) in span.clone().zip(scores.iter_mut()) {
                    let k = &qkv[s * 3 * h + h + hd * head..s * 3 * h + h + (hd + 1) * head];
                    *score = dot(q, k) * scale;
                    max = max.max(*score);
                }
                let mut total = 0.0;
                for score in scores.iter_mut() {
                    *score = (*score - max).exp();
                    total += *score;
                }
                let out = &mut context[t * h + hd * head..t * h + (hd + 1) * head];
                out.fill(0.0);
                for (s, &p) in span.clone().zip(scores.iter()) {
                    let v =
                        &qkv[s * 3 * h + 2 * h + hd * head..s * 3 * h + 2 * h + (hd + 1) * head];
                    let p = p / total;
                    for (o, v) in out.iter_mut().zip(v) {
                        *o += p * v;
                    }
                }
            }
        }
    }
}

fn add_assign(a: &mut [f32], b: &[f32]) {
    a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn layer_norm(x: &mut [f32], width: usize, norm: &Norm, eps: f32) {
    for row in x.chunks_exact_mut(width) {
        let mean = row.iter().sum::<f32>() / width as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / width as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&norm.gain).zip(&norm.bias) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// GELU with the error function, as BERT's "gelu".
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The error function as a rational function of `x`, within a few f32 steps (under 5e-7) of the true value for
/// every `f32` (beyond ±4 it is ±1 to single precision). The coefficients are the
/// minimax fit used by Eigen and XLA for `float`.
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    for c in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ] {
        p = p * x2 + c;
    }
    let mut q = -1.456_607_2e-5_f32;
    for c in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = q * x2 + c;
    }
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_is_within_half_a_millionth_of_the_series() {
        // erf by its Taylor series, in f64, where it converges well (|x| <= 3).
        let series = |x: f64| {
            let (mut term, mut sum) = (x, x);
            for n in 1..200 {
                term *= -x * x / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        };
        for i in -30000..=30000 {
            let x = i as f64 / 10000.0;
            let err = (erf(x as f32) as f64 - series(x)).abs();
            assert!(err < 5e-7, "erf({x}) off by {err}");
        }
        assert_eq!(erf(10.0), erf(4.0));
        assert!((erf(4.0) - 1.0).abs() < 2e-7);
    }
}
