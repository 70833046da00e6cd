//! The sentence encoder alone: time to embed one question (as `ask` does, one at a time) and
//! texts per second in indexing batches.
//!
//! Questions: every question of `tests/questions.jsonl` and `tests/questions-chat.jsonl`;
//! passages: the bundled knowledge's embedding texts (headings, bodies and sentences).
//!
//! Run: `cargo bench --bench encoder`.

use std::path::Path;
use std::time::Instant;

use npq_bot::eval;
use npq_bot::retrieve::semantic::{cosine, default_model_dir, Embedder, Precision};

const ROUNDS: usize = 3;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let mut questions = Vec::new();
    for file in ["tests/questions.jsonl", "tests/questions-chat.jsonl"] {
        let set = eval::read_questions(&root().join(file)).expect("the project's questions");
        questions.extend(set.into_iter().map(|q| q.q));
    }
    let engine = npq_bot::load_engine(&root().join("knowledge"), npq_bot::Settings::default())
        .expect("the bundled knowledge loads");
    let passages: Vec<String> = engine
        .embedding_texts()
        .into_iter()
        .flatten()
        .take(400)
        .collect();
    let dir = default_model_dir();

    // Both precisions, the one `load` chooses here last; and how close their vectors are.
    let mut precisions = vec![Precision::F32];
    if Precision::fastest() != Precision::F32 {
        precisions.insert(0, Precision::fastest());
        let texts: Vec<&str> = questions
            .iter()
            .chain(&passages)
            .map(String::as_str)
            .collect();
        let a = Embedder::load_with(&dir, Precision::F32).expect("the bundled model");
        let b = Embedder::load_with(&dir, Precision::fastest()).expect("the bundled model");
        let (a, b) = (a.embed(&texts).unwrap(), b.embed(&texts).unwrap());
        let mut agree: Vec<f64> = a.iter().zip(&b).map(|(a, b)| cosine(a, b) as f64).collect();
        agree.sort_by(f64::total_cmp);
        println!(
            "{:?} against F32, {} texts: cosine min {:.4}, p1 {:.4}, median {:.4}",
            Precision::fastest(),
            texts.len(),
            agree[0],
            percentile(&agree, 0.01),
            percentile(&agree, 0.5),
        );
    }
    for precision in precisions {
        let started = Instant::now();
        let model = Embedder::load_with(&dir, precision).expect("the bundled model");
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut times = Vec::new();
        for _ in 0..ROUNDS {
            for q in &questions {
                let t = Instant::now();
                model.embed_one(q).expect("a question embeds");
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        times.sort_by(f64::total_cmp);
        // Several texts at once (the parts of a question asked in several parts) are shared over
        // rayon's threads: the time per question when they go in groups.
        let mut grouped = Vec::new();
        for size in [2, 4, 8] {
            let refs: Vec<&str> = questions.iter().map(String::as_str).collect();
            let t = Instant::now();
            for group in refs.chunks(size) {
                model.embed(group).expect("questions embed");
            }
            let per = t.elapsed().as_secs_f64() * 1e3 / refs.len() as f64;
            grouped.push(format!("{size} at once {per:.2} ms"));
        }
        let texts: Vec<&str> = passages.iter().map(String::as_str).collect();
        let t = Instant::now();
        model.embed(&texts).expect("passages embed");
        let per_second = texts.len() as f64 / t.elapsed().as_secs_f64();
        println!(
            "encoder {precision:?}: load {load_ms:.0} ms; one question ({} x {ROUNDS}): median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; indexing {per_second:.1} texts/s; per question in groups: {}",
            questions.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            percentile(&times, 0.99),
            times[times.len() - 1],
            grouped.join(", "),
        );
    }
}
