//! Semantic retrieval at scale: a generated folder of 100,000 passages (`NPQ_BENCH_PASSAGES`
//! picks another size) answered with semantic retrieval on, the way `serve` answers once its
//! background embedding has finished.
//!
//! Embedding 100,000 passages takes hours on two cores (BENCHMARKS.md gives the rate), so the
//! passages' vectors here are pseudo-random unit vectors written into the folder's embedding
//! cache: the work per question (the question's own embedding by the real model, a scan of
//! every passage row, the fused ranking) and the memory held are those of real vectors; the
//! answers are not. Prints the load time, peak and settled memory, and the median and 99th
//! percentile time per question over the regression questions.
//!
//! Run: `cargo bench --bench semantic_scale`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use npq_bot::retrieve::semantic::{self, Cache};
use npq_bot::{corpus, eval, Settings};

const SEED: u64 = 1;
const ROUNDS: usize = 3;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

/// A field of /proc/self/status in MB (VmHWM: the peak; VmRSS: now).
fn memory_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// A pseudo-random unit vector for `text` (the same text, the same vector).
fn vector_of(text: &str) -> Vec<f32> {
    let mut state = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1;
    let v: Vec<f32> = (0..semantic::DIM)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 20_001) as f32 / 10_000.0 - 1.0
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

/// Writes the folder's cache with a vector for every passage text, unless it holds them all.
fn prepare(dir: &Path) {
    let off = Settings {
        semantic: npq_bot::SemanticMode::Off,
        ..Settings::default()
    };
    let engine = npq_bot::load_engine(dir, off).expect("load the generated folder");
    let cache_path = dir.join(npq_bot::EMBEDDINGS_FILE);
    if let Ok((held, all)) = engine.embedding_coverage(&cache_path) {
        if held == all {
            return;
        }
    }
    let id = semantic::model_id(&semantic::default_model_dir()).expect("the bundled model");
    let mut cache = Cache::new(&id, semantic::DIM);
    let mut rows = 0;
    for passage in engine.embedding_texts() {
        for text in passage {
            cache.insert(&text, vector_of(&text));
            rows += 1;
        }
    }
    cache.write(&cache_path).expect("write the cache");
    eprintln!("wrote {rows} vectors into {}", cache_path.display());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn measure(dir: &Path, passages: usize) {
    let questions =
        eval::read_questions(&root().join("tests/questions.jsonl")).expect("read the questions");
    let before = memory_mb("VmRSS");
    let started = Instant::now();
    let engine = npq_bot::load_engine(dir, Settings::default()).expect("load with vectors");
    let loaded = started.elapsed();
    assert!(engine.has_semantic(), "every vector comes from the cache");
    let peak_load = memory_mb("VmHWM");
    let mut times = Vec::with_capacity(questions.len() * ROUNDS);
    for _ in 0..ROUNDS {
        for q in &questions {
            let t = Instant::now();
            std::hint::black_box(npq_bot::render::json(&engine.answer(&q.q)));
            times.push(t.elapsed());
        }
    }
    times.sort_unstable();
    println!(
        "semantic at {passages} passages ({} indexed): load {:.1} s, memory before {:.0} MB, peak {:.0} MB, settled {:.0} MB",
        engine.num_passages(),
        loaded.as_secs_f64(),
        before,
        peak_load,
        memory_mb("VmRSS"),
    );
    println!(
        "per question ({} questions x {ROUNDS} rounds, question embedding included): median {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        questions.len(),
        percentile(&times, 50.0).as_secs_f64() * 1e3,
        percentile(&times, 90.0).as_secs_f64() * 1e3,
        percentile(&times, 99.0).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn main() {
    let passages: usize = std::env::var("NPQ_BENCH_PASSAGES")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(100_000);
    let bundled = root().join("knowledge");
    let dir = target_dir()
        .join("bench-corpus")
        .join(format!("{passages}-seed{SEED}"));
    if !corpus::is_generated(&bundled, &dir, passages, SEED) {
        corpus::generate(&bundled, &dir, passages, SEED).expect("generate a folder");
    }
    // The cache is written by a child process, so the figures are of loading and answering
    // alone.
    if std::env::var_os("NPQ_SEMANTIC_BENCH_PREPARE").is_some() {
        prepare(&dir);
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().expect("this benchmark"))
        .env("NPQ_SEMANTIC_BENCH_PREPARE", "1")
        .env("NPQ_BENCH_PASSAGES", passages.to_string())
        .status()
        .expect("run the preparing child");
    assert!(status.success(), "preparing the cache failed");
    measure(&dir, passages);
}
