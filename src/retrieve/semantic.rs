//! Semantic retrieval: a small sentence-embedding model (all-MiniLM-L6-v2, a 6-layer BERT)
//! run in the process by `encoder.rs`, passage vectors kept beside the index, and a cache of
//! vectors keyed by the text and the model so that unchanged passages are never embedded again.
//!
//! The model files ship with the project (`models/`, with their licence, origin and sha256);
//! nothing is downloaded.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use rayon::prelude::*;
use tokenizers::{Tokenizer, TruncationParams};

pub use npq_encoder::Precision;
use npq_encoder::{BertConfig, Encoder};

/// The folder of the bundled model, relative to the project.
pub const MODEL_DIR: &str = "models/all-MiniLM-L6-v2";
/// The vector length of the bundled model.
pub const DIM: usize = 384;
/// Longest input in word pieces; the model was trained on 256 at most.
const MAX_TOKENS: usize = 256;
/// Texts handed to the encoder at once while indexing (each runs on its own, shared over the
/// cores), between two progress reports.
const BATCH: usize = 8;

/// Word pieces stacked in one pass of the encoder (a longer text goes alone).
const STACK_ROWS: usize = 256;

/// A sentence-embedding model: text in, unit-length vector out.
pub struct Embedder {
    encoder: Encoder,
    tokenizer: Tokenizer,
    /// Names the model and its files, so cached vectors of another model are never mixed in.
    pub id: String,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("id", &self.id).finish()
    }
}

/// Where the bundled model is: `NPQ_BOT_MODEL_DIR`, else the first of these that holds it:
/// `models/` beside the binary, `share/npq-bot/models/` under the binary's prefix (the layout
/// of the Docker image and the systemd unit: `/usr/local/bin/npq-bot` with
/// `/usr/local/share/npq-bot/models/`), `models/` in a folder above the binary (a build in
/// `target/release/` of a checkout), `models/` under the current folder. Never the folder the
/// binary was built in: that exists only on the build machine.
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NPQ_BOT_MODEL_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().ok();
    model_dir_for(exe.as_deref())
}

/// [`default_model_dir`] for a binary at `exe`, without the environment.
pub fn model_dir_for(exe: Option<&Path>) -> PathBuf {
    let holds = |dir: &Path| dir.join("model.safetensors").is_file();
    if let Some(bin) = exe.and_then(Path::parent) {
        let mut candidates = vec![bin.join(MODEL_DIR)];
        if let Some(prefix) = bin.parent() {
            candidates.push(prefix.join("share/npq-bot").join(MODEL_DIR));
        }
        candidates.extend(bin.ancestors().skip(1).take(3).map(|d| d.join(MODEL_DIR)));
        if let Some(found) = candidates.into_iter().find(|d| holds(d)) {
            return found;
        }
    }
    PathBuf::from(MODEL_DIR)
}

/// Why the bundled model could not be loaded, once [`shared`] has tried (`None`: it loaded,
/// or has not been tried).
pub fn model_problem() -> Option<String> {
    PROBLEM.get().cloned()
}

static PROBLEM: OnceLock<String> = OnceLock::new();

/// The bundled model, loaded once per process; `None` (with the reason logged as an error, and
/// kept for `/healthz`) when its files are missing, in which case answers come from the
/// lexical stage alone, noticeably worse.
pub fn shared() -> Option<Arc<Embedder>> {
    static MODEL: OnceLock<Option<Arc<Embedder>>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = default_model_dir();
            match Embedder::load_with(&dir, precision()) {
                Ok(e) => Some(Arc::new(e)),
                Err(e) => {
                    let problem = format!(
                        "semantic retrieval is OFF, answers are noticeably worse: {e:#}; fix: \
                         install the model folder ({MODEL_DIR}) beside the binary or under \
                         PREFIX/share/npq-bot/, or set NPQ_BOT_MODEL_DIR"
                    );
                    tracing::error!("{problem}");
                    let _ = PROBLEM.set(problem);
                    None
                }
            }
        })
        .clone()
}

/// The precision the shared model runs in: `NPQ_PRECISION` (`f32` or `int8`) when set, for
/// answers that match those of a machine with other processor features, else the quickest
/// here. An unknown value is named in a warning and the quickest is used.
pub fn precision() -> Precision {
    precision_named(std::env::var("NPQ_PRECISION").ok().as_deref())
}

/// The precision a value of `NPQ_PRECISION` names (case does not matter).
fn precision_named(value: Option<&str>) -> Precision {
    match value.map(str::trim) {
        None | Some("") => Precision::fastest(),
        Some(v) if v.eq_ignore_ascii_case("f32") => Precision::F32,
        Some(v) if v.eq_ignore_ascii_case("int8") => Precision::Int8,
        Some(other) => {
            tracing::warn!(
                "NPQ_PRECISION={other:?} is neither f32 nor int8; using {:?}",
                Precision::fastest()
            );
            Precision::fastest()
        }
    }
}

/// Makes the shared model run in `f32` unless `NPQ_PRECISION` says otherwise, for a process
/// that writes an embedding cache to keep (`embed`): the cache is then the same whichever
/// processor wrote it, and the 8-bit questions of a processor with VNNI are held to it
/// (`tests/model.rs`). Call it before the model is first loaded and before any thread starts.
pub fn reference_precision_for_caches() {
    if std::env::var_os("NPQ_PRECISION").is_none() {
        std::env::set_var("NPQ_PRECISION", "f32");
    }
}

/// Makes each question's forward pass run on one core, for a process that answers many
/// questions at once (`serve`): the parts of a question asked in several parts, and the
/// vector scan of a large folder, are otherwise shared over every core
/// (rayon, `RAYON_NUM_THREADS`), which with several questions at once spends the cores on one
/// question and its threads' hand-offs. Measured with the load benchmark at 2,500 questions in
/// 50 s: p99 7.3 s and 244 turned away as busy across the cores, 0.77 s and none on one core
/// each. A value the operator set is kept. Call it before any thread starts.
pub fn one_core_per_question() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
}

/// Names a model folder's model for the embedding cache: folder name, vector length and
/// weights size, read without loading the weights.
pub fn model_id(dir: &Path) -> anyhow::Result<String> {
    let config_path = dir.join("config.json");
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("cannot read the model's {}", config_path.display()))?;
    let config: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", config_path.display()))?;
    let hidden = config["hidden_size"].as_u64().unwrap_or(0);
    let size = std::fs::metadata(dir.join("model.safetensors"))
        .with_context(|| format!("the model's weights are missing in {}", dir.display()))?
        .len();
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("model");
    Ok(format!("{name}:{hidden}:{size}"))
}

impl Embedder {
    /// Loads `model.safetensors`, `config.json` and `tokenizer.json` from `dir`, in the
    /// precision quickest on this processor (8-bit with AVX-512 VNNI, else `f32`).
    pub fn load(dir: &Path) -> anyhow::Result<Embedder> {
        Embedder::load_with(dir, Precision::fastest())
    }

    /// Loads the model from `dir` with its dense layers in `precision`.
    pub fn load_with(dir: &Path, precision: Precision) -> anyhow::Result<Embedder> {
        let weights = dir.join("model.safetensors");
        let config_path = dir.join("config.json");
        let config_text = std::fs::read_to_string(&config_path)
            .with_context(|| format!("cannot read the model's {}", config_path.display()))?;
        let config: BertConfig = serde_json::from_str(&config_text)
            .with_context(|| format!("{} is not a BERT configuration", config_path.display()))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| {
            anyhow::anyhow!("cannot read {}: {e}", dir.join("tokenizer.json").display())
        })?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..Default::default()
            }))
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
        // Each text runs on its own: no padding.
        tokenizer.with_padding(None);
        let encoder = Encoder::load_with(&weights, &config, precision)
            .context("the weights do not fit the model")?;
        let id = model_id(dir)?;
        Ok(Embedder {
            encoder,
            tokenizer,
            id,
        })
    }

    /// Unit-length vectors of `texts`, mean-pooled over their word pieces.
    pub fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            out.extend(self.embed_batch(chunk)?);
        }
        Ok(out)
    }

    /// True when the model's vocabulary holds `word` (lower-cased) as one piece: a real word
    /// to the model, not a spelling it has to break up.
    pub fn knows(&self, word: &str) -> bool {
        self.tokenizer.token_to_id(word).is_some()
    }

    /// The whole words of the model's vocabulary (runs of two or more letters, not word-piece
    /// continuations), each with its id. A WordPiece vocabulary lists the words of its
    /// training text from the most to the least frequent, so a lower id is a commoner word.
    pub fn words(&self) -> Vec<(String, u64)> {
        self.tokenizer
            .get_vocab(false)
            .into_iter()
            .filter(|(w, _)| w.chars().count() >= 2 && w.chars().all(char::is_alphabetic))
            .map(|(w, id)| (w, u64::from(id)))
            .collect()
    }

    /// The vector of one text.
    pub fn embed_one(&self, text: &str) -> anyhow::Result<Vec<f32>> {
        Ok(self.embed_batch(&[text])?.remove(0))
    }

    /// Texts go through the encoder in groups of up to [`STACK_ROWS`] word pieces, stacked in
    /// one pass (no padding: attention stays within each text), so the parts of a question
    /// share one reading of the weights. Several groups are shared over rayon's threads; with
    /// one rayon thread (`serve`, see [`one_core_per_question`]) everything runs on the calling
    /// thread, so questions answered on threads of their own never wait for each other here.
    fn embed_batch(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        let ids = texts
            .iter()
            .map(|text| {
                self.tokenizer
                    .encode(*text, true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(|e| anyhow::anyhow!("cannot tokenize: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut groups: Vec<Vec<&[u32]>> = Vec::new();
        let mut rows = 0;
        for text in &ids {
            match groups.last_mut() {
                Some(group) if rows + text.len() <= STACK_ROWS => group.push(text),
                _ => {
                    groups.push(vec![text]);
                    rows = 0;
                }
            }
            rows += text.len();
        }
        let encode = |group: &Vec<&[u32]>| {
            self.encoder
                .mean_hidden_many(group)
                .into_iter()
                .map(normalized)
                .collect::<Vec<_>>()
        };
        let vectors: Vec<Vec<Vec<f32>>> = if groups.len() > 1 && rayon::current_num_threads() > 1 {
            groups.par_iter().map(encode).collect()
        } else {
            groups.iter().map(encode).collect()
        };
        Ok(vectors.into_iter().flatten().collect())
    }
}

fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// The dot product of two unit vectors: their cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Passage vectors in passage order (`ord`): for each passage its heading alone (a heading is
/// usually the question the passage answers), its heading with its text, the other wordings
/// of its question, and each of its sentences after its heading (one fact each). Rows are kept
/// as 8-bit integers with one scale per row, a quarter of the memory of `f32` (100,000
/// passages hold about 600,000 rows); the cosine they give differs from the exact one by about
/// 0.002.
#[derive(Debug, Clone, Default)]
pub struct Vectors {
    data: Vec<i8>,
    scales: Vec<f32>,
    /// The first row of each passage, and one past the last passage's rows.
    starts: Vec<usize>,
    /// How many other wordings of its question each passage has (rows after its body).
    asked: Vec<usize>,
    dim: usize,
}

/// How similar a question is to one passage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// To the heading, or to the closest other wording of the passage's question.
    pub heading: f32,
    pub body: f32,
    /// The most similar sentence's similarity, and its position among the passage's sentences.
    pub sentence: f32,
    pub best_sentence: Option<usize>,
}

/// The texts embedded for one passage, in the order of its rows in [`Vectors`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassageTexts {
    /// The heading, the heading with the text, each other wording of the question, then each
    /// sentence of the text after the heading.
    pub texts: Vec<String>,
    /// How many other wordings of the question follow the first two texts.
    pub asked: usize,
}

impl PassageTexts {
    /// The heading with the passage's text.
    pub fn body(&self) -> &str {
        self.texts.get(1).map_or("", String::as_str)
    }
}

impl IntoIterator for PassageTexts {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;
    fn into_iter(self) -> Self::IntoIter {
        self.texts.into_iter()
    }
}

impl<'a> IntoIterator for &'a PassageTexts {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.texts.iter()
    }
}

/// The texts embedded for a passage (see [`PassageTexts`]).
pub fn passage_texts(passage: &crate::knowledge::Passage) -> PassageTexts {
    let (title, section, text) = (&passage.title, &passage.section, &passage.text);
    let heading = if section.trim().is_empty() {
        title.to_string()
    } else {
        section.to_string()
    };
    let mut texts = vec![heading.clone(), format!("{heading}. {text}")];
    texts.extend(passage.asked.iter().cloned());
    for range in crate::analysis::sentences(text) {
        texts.push(format!("{heading}: {}", &text[range]));
    }
    PassageTexts {
        texts,
        asked: passage.asked.len(),
    }
}

/// Row bytes from which [`Vectors::nearest`] scans on every core (about 10,000 passages).
const PARALLEL_SCAN_BYTES: usize = 16 << 20;

/// The dot product of two 8-bit vectors, in 32 bits.
type Dot = fn(&[i8], &[i8]) -> i32;

/// The fastest dot product this CPU runs: the same loop compiled for AVX2 where the CPU has
/// it (twice the lanes of the baseline SSE2), chosen once per process.
fn dot_i8() -> Dot {
    static CHOSEN: OnceLock<Dot> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return |a, b| {
                // SAFETY: the CPU supports AVX2, checked just above.
                unsafe { dot_i8_avx2(a, b) }
            };
        }
        dot_i8_portable
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    dot_i8_portable(a, b)
}

/// Integer dot products (8-bit times 8-bit into 32-bit) vectorise well: LLVM turns this loop
/// into multiply-adds of 16-bit lanes.
#[inline(always)]
fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// A vector as 8-bit integers and the scale that gives them back: how passage vectors are
/// cached and scanned.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    data: Vec<i8>,
    scale: f32,
}

impl Quantized {
    pub fn new(v: &[f32]) -> Quantized {
        let top = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let scale = if top > 0.0 && top.is_finite() {
            top / 127.0
        } else {
            1.0
        };
        Quantized {
            data: v.iter().map(|x| (x / scale).round() as i8).collect(),
            scale,
        }
    }

    /// The vector back as `f32` (within half a step of the original).
    pub fn to_f32(&self) -> Vec<f32> {
        self.data
            .iter()
            .map(|&x| f32::from(x) * self.scale)
            .collect()
    }
}

impl Vectors {
    pub fn new(dim: usize) -> Vectors {
        Vectors {
            data: Vec::new(),
            scales: Vec::new(),
            starts: vec![0],
            asked: Vec::new(),
            dim,
        }
    }

    /// How many passages have vectors.
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds the next passage's rows, as [`passage_texts`] lists them, `asked` of them other
    /// wordings of its question.
    pub fn push(&mut self, rows: &[&[f32]], asked: usize) {
        let rows: Vec<Quantized> = rows.iter().map(|r| Quantized::new(r)).collect();
        self.push_quantized(&rows.iter().collect::<Vec<_>>(), asked);
    }

    /// Adds the next passage's rows, already 8-bit (as the cache keeps them); a row of
    /// another length is cut or padded with zeros.
    pub fn push_quantized(&mut self, rows: &[&Quantized], asked: usize) {
        self.asked.push(asked.min(rows.len().saturating_sub(2)));
        for q in rows {
            let n = q.data.len().min(self.dim);
            self.data.extend_from_slice(&q.data[..n]);
            self.data.resize(self.data.len() + self.dim - n, 0);
            self.scales.push(q.scale);
        }
        let last = *self.starts.last().unwrap_or(&0);
        self.starts.push(last + rows.len());
    }

    /// How similar passage `ord` is to `query`.
    pub fn similarity(&self, ord: usize, query: &[f32]) -> Similarity {
        self.similarity_of(ord, &Quantized::new(query))
    }

    fn similarity_of(&self, ord: usize, query: &Quantized) -> Similarity {
        let none = Similarity {
            heading: 0.0,
            body: 0.0,
            sentence: 0.0,
            best_sentence: None,
        };
        let (Some(&from), Some(&to)) = (self.starts.get(ord), self.starts.get(ord + 1)) else {
            return none;
        };
        if to < from + 2 || query.data.len() != self.dim {
            return none;
        }
        let dot = dot_i8();
        let cosine = |i: usize| {
            let row = &self.data[i * self.dim..(i + 1) * self.dim];
            dot(row, &query.data) as f32 * self.scales[i] * query.scale
        };
        let asked = self.asked.get(ord).copied().unwrap_or(0);
        let mut out = Similarity {
            heading: (from + 2..from + 2 + asked)
                .map(cosine)
                .fold(cosine(from), f32::max),
            body: cosine(from + 1),
            ..none
        };
        for (n, i) in (from + 2 + asked..to).enumerate() {
            let c = cosine(i);
            if out.best_sentence.is_none() || c > out.sentence {
                out.sentence = c;
                out.best_sentence = Some(n);
            }
        }
        out
    }

    /// The `k` passages most similar to `query` (by the best of heading, body and sentences),
    /// and how the query sits among all the passages (see [`Nearest`]).
    pub fn nearest(&self, query: &[f32], k: usize) -> Nearest {
        let query = Quantized::new(query);
        let best = |ord: usize| {
            let s = self.similarity_of(ord, &query);
            (ord, s.heading.max(s.body).max(s.sentence))
        };
        // A large folder's scan is shared out over the cores; a small one is quicker alone.
        let mut all: Vec<(usize, f32)> =
            if self.data.len() >= PARALLEL_SCAN_BYTES && rayon::current_num_threads() > 1 {
                use rayon::prelude::*;
                (0..self.len()).into_par_iter().map(best).collect()
            } else {
                (0..self.len()).map(best).collect()
            };
        let n = all.len().max(1) as f32;
        let mean = all.iter().map(|x| x.1).sum::<f32>() / n;
        let var = all.iter().map(|x| (x.1 - mean).powi(2)).sum::<f32>() / n;
        let top = all.iter().map(|x| x.1).fold(f32::MIN, f32::max);
        let peak = if all.len() < 2 {
            0.0
        } else {
            (top - mean) / var.sqrt().max(1e-6)
        };
        if all.len() > k {
            all.select_nth_unstable_by(k, |a, b| b.1.total_cmp(&a.1));
            all.truncate(k);
        }
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
        Nearest {
            passages: all,
            peak,
            mean,
        }
    }
}

/// The passages closest to a question, and how the question sits among all the passages.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    /// The closest passages with their similarity, best first.
    pub passages: Vec<(usize, f32)>,
    /// How far the best stands out from all the passages: its similarity in standard
    /// deviations above their mean. A question the folder answers has a peak; one it does not
    /// is about as close to many passages as to any.
    pub peak: f32,
    /// The question's mean similarity to every passage: how close its wording is to the
    /// folder's as a whole. Friendly words lower it too, though less than the best similarity
    /// (by about a fifth as much on the project's questions).
    pub mean: f32,
}

/// Vectors of texts already embedded, keyed by a hash of the model id and the text, kept (in
/// memory and on disk) as the 8-bit rows the scan uses: a quarter of their `f32` size, so a
/// large folder's vectors are never held as `f32` at once.
#[derive(Debug, Default)]
pub struct Cache {
    model: String,
    dim: usize,
    entries: HashMap<u64, Quantized>,
    /// Keys looked up or added since loading: what a rewrite keeps.
    used: std::collections::HashSet<u64>,
    added: usize,
}

const CACHE_MAGIC: &[u8; 8] = b"NPQEMB02";

fn key(model: &str, text: &str) -> u64 {
    let mut h = twox_hash::XxHash3_64::default();
    std::hash::Hasher::write(&mut h, model.as_bytes());
    std::hash::Hasher::write(&mut h, &[0]);
    std::hash::Hasher::write(&mut h, text.as_bytes());
    std::hash::Hasher::finish(&h)
}

impl Cache {
    /// An empty cache for `model`.
    pub fn new(model: &str, dim: usize) -> Cache {
        Cache {
            model: model.to_string(),
            dim,
            ..Default::default()
        }
    }

    /// Reads a cache file; a missing, damaged or other model's file gives an empty cache.
    /// The file is read as a stream, entry by entry, so it is never held twice.
    pub fn read(path: &Path, model: &str, dim: usize) -> Cache {
        let mut cache = Cache::new(model, dim);
        let Ok(file) = std::fs::File::open(path) else {
            return cache;
        };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if let Some(entries) = parse(std::io::BufReader::new(file), size, model, dim) {
            cache.entries = entries;
        } else {
            tracing::warn!(
                "{}: not an embedding cache of this model; it will be rebuilt",
                path.display()
            );
        }
        cache
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Texts embedded since the cache was read.
    pub fn added(&self) -> usize {
        self.added
    }

    /// Distinct texts looked up or added since the cache was read.
    pub fn used(&self) -> usize {
        self.used.len()
    }

    /// The cached vector of `text`.
    pub fn get(&mut self, text: &str) -> Option<&Quantized> {
        let k = key(&self.model, text);
        self.used.insert(k);
        self.entries.get(&k)
    }

    /// True when `text` is cached; marks it used, so a rewrite keeps it.
    pub fn touch(&mut self, text: &str) -> bool {
        let k = key(&self.model, text);
        let there = self.entries.contains_key(&k);
        if there {
            self.used.insert(k);
        }
        there
    }

    /// The cached vector of `text`, without marking it used (see [`Cache::touch`]).
    pub fn row(&self, text: &str) -> Option<&Quantized> {
        self.entries.get(&key(&self.model, text))
    }

    /// True when `text` is cached (without marking it used).
    pub fn contains(&self, text: &str) -> bool {
        self.entries.contains_key(&key(&self.model, text))
    }

    pub fn insert(&mut self, text: &str, vector: Vec<f32>) {
        let k = key(&self.model, text);
        self.used.insert(k);
        self.entries.insert(k, Quantized::new(&vector));
        self.added += 1;
    }

    /// Writes the entries used since loading (stale ones are dropped), atomically.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut keys: Vec<u64> = self
            .entries
            .keys()
            .copied()
            .filter(|k| self.used.contains(k))
            .collect();
        keys.sort_unstable();
        let mut out = Vec::with_capacity(32 + keys.len() * (12 + self.dim));
        out.extend_from_slice(CACHE_MAGIC);
        out.extend_from_slice(&(self.model.len() as u32).to_le_bytes());
        out.extend_from_slice(self.model.as_bytes());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        out.extend_from_slice(&(keys.len() as u64).to_le_bytes());
        for k in keys {
            let row = &self.entries[&k];
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&row.scale.to_le_bytes());
            out.extend(row.data.iter().map(|&x| x as u8));
        }
        let tmp = path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            f.write_all(&out)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot move {} into place", path.display()))?;
        Ok(())
    }
}

/// The entries of a cache file of `size` bytes: magic, model id, vector length, count, then
/// per entry its key, scale (`f32`) and `dim` 8-bit values, all little-endian.
fn parse(
    mut file: impl Read,
    size: u64,
    model: &str,
    dim: usize,
) -> Option<HashMap<u64, Quantized>> {
    let mut take = |n: usize| -> Option<Vec<u8>> {
        let mut buf = vec![0u8; n];
        file.read_exact(&mut buf).ok()?;
        Some(buf)
    };
    if take(8)? != CACHE_MAGIC {
        return None;
    }
    let name_len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    if name_len != model.len() || take(name_len)? != model.as_bytes() {
        return None;
    }
    if u32::from_le_bytes(take(4)?.try_into().ok()?) as usize != dim {
        return None;
    }
    let count = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let header = (8 + 4 + name_len + 4 + 8) as u64;
    if count.checked_mul(12 + dim as u64)? != size.checked_sub(header)? {
        return None;
    }
    let mut entries = HashMap::with_capacity(usize::try_from(count).ok()?);
    let mut entry = vec![0u8; 12 + dim];
    for _ in 0..count {
        file.read_exact(&mut entry).ok()?;
        let k = u64::from_le_bytes(entry[..8].try_into().ok()?);
        let scale = f32::from_le_bytes(entry[8..12].try_into().ok()?);
        if !scale.is_finite() {
            return None;
        }
        let data = entry[12..].iter().map(|&b| b as i8).collect();
        entries.insert(k, Quantized { data, scale });
    }
    Some(entries)
}

/// Embeds every text not yet in `cache`, calling `progress(cache, done, total)` after each batch.
pub fn fill(
    embedder: &Embedder,
    cache: &mut Cache,
    texts: &[String],
    mut progress: impl FnMut(&Cache, usize, usize),
) -> anyhow::Result<()> {
    let missing: Vec<&str> = {
        let mut seen = std::collections::HashSet::new();
        texts
            .iter()
            .map(String::as_str)
            .filter(|t| !cache.touch(t) && seen.insert(*t))
            .collect()
    };
    // Texts of like length share a batch: a batch is padded to its longest text.
    let mut missing = missing;
    missing.sort_by_key(|t| t.len());
    let total = missing.len();
    let mut done = 0;
    for chunk in missing.chunks(BATCH) {
        let vectors = embedder.embed(chunk)?;
        for (t, v) in chunk.iter().zip(vectors) {
            cache.insert(t, v);
        }
        done += chunk.len();
        progress(cache, done, total);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_is_found_beside_the_binary_under_its_prefix_or_above_it() {
        let root = tempfile::tempdir().unwrap();
        let model = |dir: &Path| {
            let dir = dir.join(MODEL_DIR);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("model.safetensors"), b"").unwrap();
            dir
        };
        // /usr/local/bin/npq-bot with /usr/local/share/npq-bot/models/...
        let exe = root.path().join("usr/local/bin/npq-bot");
        std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
        assert_eq!(model_dir_for(Some(&exe)), PathBuf::from(MODEL_DIR));
        let shared = model(&root.path().join("usr/local/share/npq-bot"));
        assert_eq!(model_dir_for(Some(&exe)), shared);
        // Beside the binary comes first.
        let beside = model(&root.path().join("usr/local/bin"));
        assert_eq!(model_dir_for(Some(&exe)), beside);
        // A build in a checkout's target/release finds the checkout's models/.
        let checkout = root.path().join("checkout");
        let built = checkout.join("target/release/npq-bot");
        std::fs::create_dir_all(built.parent().unwrap()).unwrap();
        let ours = model(&checkout);
        assert_eq!(model_dir_for(Some(&built)), ours);
        assert_eq!(model_dir_for(None), PathBuf::from(MODEL_DIR));
    }

    #[test]
    fn the_precision_setting_is_read_in_any_case_and_an_unknown_one_falls_back() {
        assert_eq!(precision_named(Some("f32")), Precision::F32);
        assert_eq!(precision_named(Some(" F32 ")), Precision::F32);
        assert_eq!(precision_named(Some("INT8")), Precision::Int8);
        assert_eq!(precision_named(None), Precision::fastest());
        assert_eq!(precision_named(Some("")), Precision::fastest());
        assert_eq!(precision_named(Some("fp16")), Precision::fastest());
    }

    #[test]
    fn a_cache_round_trips_and_refuses_another_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let mut c = Cache::new("m1", 3);
        c.insert("hello", vec![1.0, 0.0, 0.0]);
        c.write(&path).unwrap();
        let mut back = Cache::read(&path, "m1", 3);
        assert_eq!(
            back.get("hello").map(Quantized::to_f32),
            Some(vec![1.0, 0.0, 0.0])
        );
        assert!(back.get("other").is_none());
        assert!(Cache::read(&path, "m2", 3).is_empty());
        std::fs::write(&path, b"NPQEMB02garbage").unwrap();
        assert!(Cache::read(&path, "m1", 3).is_empty());
    }

    #[test]
    fn eight_bit_rows_and_questions_keep_the_cosine_within_a_hundredth() {
        // Unit vectors of 384 values, as the model gives, from a fixed pseudo-random walk.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut unit = || {
            let v: Vec<f32> = (0..384)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 2001) as f32 / 1000.0 - 1.0
                })
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect::<Vec<f32>>()
        };
        for _ in 0..50 {
            let (a, b, q) = (unit(), unit(), unit());
            let mut v = Vectors::new(384);
            v.push(&[&a, &b], 0);
            let s = v.similarity(0, &q);
            assert!((s.heading - cosine(&a, &q)).abs() < 0.01);
            assert!((s.body - cosine(&b, &q)).abs() < 0.01);
        }
    }

    #[test]
    fn nearest_orders_by_the_best_of_heading_body_and_sentences() {
        let mut v = Vectors::new(2);
        v.push(&[&[1.0, 0.0], &[0.0, 1.0]], 0);
        v.push(&[&[0.0, 1.0], &[0.0, 1.0], &[0.0, 1.0], &[0.6, 0.8]], 0);
        v.push(&[&[0.0, 1.0], &[0.0, 1.0]], 0);
        let near = v.nearest(&[1.0, 0.0], 2);
        assert!(near.peak > 0.0);
        // Similarities 1.0, 0.6 and 0.0.
        assert!((near.mean - 1.6 / 3.0).abs() < 0.02, "{}", near.mean);
        assert_eq!(
            near.passages.iter().map(|n| n.0).collect::<Vec<_>>(),
            vec![0, 1]
        );
        let s = v.similarity(1, &[1.0, 0.0]);
        assert_eq!(s.best_sentence, Some(1));
        assert!((s.sentence - 0.6).abs() < 0.01);
        assert_eq!(v.similarity(7, &[1.0, 0.0]).best_sentence, None);
    }

    #[test]
    fn other_wordings_count_as_the_heading_and_never_as_sentences() {
        let mut v = Vectors::new(2);
        // Heading, body, two other wordings, then two sentences.
        v.push(
            &[
                &[0.0, 1.0],
                &[0.0, 1.0],
                &[0.8, 0.6],
                &[1.0, 0.0],
                &[0.0, 1.0],
                &[0.6, 0.8],
            ],
            2,
        );
        let s = v.similarity(0, &[1.0, 0.0]);
        assert!((s.heading - 1.0).abs() < 0.01, "{}", s.heading);
        assert_eq!(s.best_sentence, Some(1));
        assert!((s.sentence - 0.6).abs() < 0.01, "{}", s.sentence);
        // More wordings than rows after the body: the rows are read as wordings, no sentence.
        let mut short = Vectors::new(2);
        short.push(&[&[0.0, 1.0], &[0.0, 1.0], &[1.0, 0.0]], 5);
        let s = short.similarity(0, &[1.0, 0.0]);
        assert!((s.heading - 1.0).abs() < 0.01);
        assert_eq!(s.best_sentence, None);
    }

    #[test]
    fn a_passage_is_embedded_as_heading_body_wordings_then_sentences() {
        let passage = crate::knowledge::Passage {
            doc_id: "d".into(),
            title: "Costs".into(),
            section: "What does it cost?".into(),
            text: "It costs £100. It is free for some.".into(),
            keywords: String::new(),
            asked: vec!["Price?".into(), "How much do I pay?".into()],
            citations: Vec::new(),
        };
        let texts = passage_texts(&passage);
        assert_eq!(texts.asked, 2);
        assert_eq!(
            texts.texts,
            vec![
                "What does it cost?",
                "What does it cost?. It costs £100. It is free for some.",
                "Price?",
                "How much do I pay?",
                "What does it cost?: It costs £100.",
                "What does it cost?: It is free for some.",
            ]
        );
        assert_eq!(texts.body(), texts.texts[1]);
    }
}
