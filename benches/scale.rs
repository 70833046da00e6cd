//! Speed at scale: loading and indexing a knowledge folder (in RAM and on disk), starting from
//! an existing on-disk index, and answering the regression questions (tests/questions.jsonl)
//! the way `npq-bot ask --json` does, on the bundled knowledge and on generated folders of
//! 1,000 and 10,000 passages; 100,000 too with `NPQ_BENCH_LARGE=1`.
//!
//! Criterion times each step. After it, every question is also timed on its own, many times,
//! and the median and 99th percentile of those single-question times are printed per folder:
//! criterion's figures are for one benchmark, the percentiles are across questions.
//!
//! Generated folders are written once to `target/bench-corpus/` and reused while the bundled
//! knowledge is unchanged. `NPQ_BENCH_SIZES=1000,100000` picks other sizes.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use npq_bot::eval::{self, Question};
use npq_bot::{corpus, render, Engine, Settings};

const SEED: u64 = 1;

/// A knowledge folder to measure, with where its on-disk index is kept.
struct Folder {
    name: String,
    dir: PathBuf,
    index: PathBuf,
}

impl Folder {
    /// The bundled folder answers with semantic retrieval (its vectors ship with it); a
    /// generated folder would be embedded in the background for hours, so its figures are of
    /// the lexical stage (semantic figures at scale: `npq-bot embed` and BENCHMARKS.md).
    fn settings(&self) -> Settings {
        Settings {
            semantic: if self.name == "bundled" {
                npq_bot::SemanticMode::Auto
            } else {
                npq_bot::SemanticMode::Off
            },
            ..Settings::default()
        }
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

fn sizes() -> Vec<usize> {
    if let Ok(list) = std::env::var("NPQ_BENCH_SIZES") {
        return list
            .split(',')
            .filter_map(|s| s.trim().replace('_', "").parse().ok())
            .collect();
    }
    let mut sizes = vec![1_000, 10_000];
    if std::env::var_os("NPQ_BENCH_LARGE").is_some() {
        sizes.push(100_000);
    }
    sizes
}

fn folders() -> Vec<Folder> {
    let bundled = root().join("knowledge");
    let work = target_dir().join("bench-corpus");
    let mut folders = vec![Folder {
        name: "bundled".to_string(),
        dir: bundled.clone(),
        index: work.join("index-bundled"),
    }];
    for n in sizes() {
        let dir = work.join(format!("{n}-seed{SEED}"));
        if !corpus::is_generated(&bundled, &dir, n, SEED) {
            let made = corpus::generate(&bundled, &dir, n, SEED).expect("generate a folder");
            eprintln!(
                "generated {} passages in {} documents into {}",
                made.passages,
                made.documents,
                dir.display()
            );
        }
        folders.push(Folder {
            name: format!("{n}"),
            dir,
            index: work.join(format!("index-{n}")),
        });
    }
    folders
}

/// What `npq-bot ask --json` does for one question once the engine is loaded.
fn ask(engine: &Engine, question: &str) -> String {
    render::json(&engine.answer(question))
}

/// Times `f` once, for sizing criterion's measurement.
fn once<T>(f: impl FnOnce() -> T) -> Duration {
    let started = Instant::now();
    black_box(f());
    started.elapsed()
}

/// Ten samples of slow steps (a build of 100,000 passages takes seconds): criterion is told
/// how long they will take instead of warning that it could not fit them in.
fn sized_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    estimate: Duration,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    if estimate > Duration::from_millis(50) {
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(estimate.min(Duration::from_secs(2)));
        group.measurement_time((estimate * 12).max(Duration::from_secs(2)));
    } else {
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
    }
    group
}

fn bench_index(c: &mut Criterion, folder: &Folder) {
    let settings = folder.settings();
    let ram = once(|| npq_bot::load_engine(&folder.dir, settings.clone()).expect("load"));
    let mut group = sized_group(c, &format!("index/{}", folder.name), ram);
    group.bench_function("load_and_index_in_ram", |b| {
        b.iter(|| npq_bot::load_engine(&folder.dir, settings.clone()).expect("load"))
    });
    group.finish();

    let scratch = folder.index.with_extension("scratch");
    let build = once(|| {
        let _ = std::fs::remove_dir_all(&scratch);
        npq_bot::open_engine(&folder.dir, settings.clone(), Some(&scratch)).expect("build")
    });
    let mut group = sized_group(c, &format!("index/{}", folder.name), build);
    group.bench_function("build_on_disk", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_dir_all(&scratch);
            },
            |()| npq_bot::open_engine(&folder.dir, settings.clone(), Some(&scratch)),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&scratch);

    // Builds the index once if it is missing or stale; every timed open then reuses it.
    npq_bot::open_engine(&folder.dir, settings.clone(), Some(&folder.index)).expect("build");
    let start = once(|| npq_bot::open_engine(&folder.dir, settings.clone(), Some(&folder.index)));
    let mut group = sized_group(c, &format!("index/{}", folder.name), start);
    group.bench_function("start_from_disk", |b| {
        b.iter(|| npq_bot::open_engine(&folder.dir, settings.clone(), Some(&folder.index)))
    });
    group.finish();
}

/// Single-question times for one engine, across every question.
struct Latency {
    folder: String,
    passages: u64,
    engine: &'static str,
    /// Each question once on a fresh engine: an index in RAM stems a passage the first time a
    /// question reaches it, so these include that work.
    first: Vec<Duration>,
    rounds: usize,
    times: Vec<Duration>,
    /// The question with the highest median time, and that median.
    slowest: (String, Duration),
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank: the smallest time that at least p% of the times do not exceed.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Each question once, on an engine that has answered nothing yet.
fn first_round(engine: &Engine, questions: &[Question]) -> Vec<Duration> {
    let mut times: Vec<Duration> = questions
        .iter()
        .map(|q| once(|| ask(engine, &q.q)))
        .collect();
    times.sort_unstable();
    times
}

fn latency(
    folder: &Folder,
    engine: &Engine,
    kind: &'static str,
    first: Vec<Duration>,
    questions: &[Question],
) -> Latency {
    // One warm-up round, then enough rounds for about two seconds (at least 5, at most 50).
    let round = once(|| {
        for q in questions {
            black_box(ask(engine, &q.q));
        }
    });
    let rounds = ((2.0 / round.as_secs_f64().max(1e-6)) as usize).clamp(5, 50);
    let mut per_question = vec![Vec::with_capacity(rounds); questions.len()];
    for _ in 0..rounds {
        for (i, q) in questions.iter().enumerate() {
            let started = Instant::now();
            black_box(ask(engine, &q.q));
            per_question[i].push(started.elapsed());
        }
    }
    let slowest = per_question
        .iter_mut()
        .zip(questions)
        .map(|(times, q)| {
            times.sort_unstable();
            (q.id.clone(), times[times.len() / 2])
        })
        .max_by_key(|(_, median)| *median)
        .unwrap_or_default();
    let mut times: Vec<Duration> = per_question.into_iter().flatten().collect();
    times.sort_unstable();
    Latency {
        folder: folder.name.clone(),
        passages: engine.num_passages(),
        engine: kind,
        first,
        rounds,
        times,
        slowest,
    }
}

fn bench_answers(c: &mut Criterion, folder: &Folder, questions: &[Question]) -> Vec<Latency> {
    let settings = folder.settings();
    let ram = npq_bot::load_engine(&folder.dir, settings.clone()).expect("load");
    let disk =
        npq_bot::open_engine(&folder.dir, settings, Some(&folder.index)).expect("open the index");
    let mut out = Vec::new();
    for (kind, engine) in [("ram", &ram), ("disk", &disk)] {
        let first = first_round(engine, questions);
        let mut group = c.benchmark_group(format!("answer/{}/{kind}", folder.name));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(3));
        group.throughput(Throughput::Elements(questions.len() as u64));
        group.bench_function("every_question", |b| {
            b.iter(|| {
                for q in questions {
                    black_box(ask(engine, &q.q));
                }
            })
        });
        group.finish();
        out.push(latency(folder, engine, kind, first, questions));
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn print_latencies(rows: &[Latency], questions: usize) {
    println!();
    println!(
        "Time per question, `ask --json` path (answer + JSON), {questions} regression questions."
    );
    println!(
        "`1st`: each question once on a fresh engine; then every question once per round, all rounds:"
    );
    println!(
        "{:<9} {:>8} {:<6} {:>11} {:>11} {:>7} {:>11} {:>11} {:>11} {:>11}  slowest question (its median)",
        "folder", "passages", "index", "1st median", "1st p99", "rounds", "median", "p90", "p99", "max"
    );
    for r in rows {
        println!(
            "{:<9} {:>8} {:<6} {:>11} {:>11} {:>7} {:>11} {:>11} {:>11} {:>11}  {} ({})",
            r.folder,
            r.passages,
            r.engine,
            ms(percentile(&r.first, 50.0)),
            ms(percentile(&r.first, 99.0)),
            r.rounds,
            ms(percentile(&r.times, 50.0)),
            ms(percentile(&r.times, 90.0)),
            ms(percentile(&r.times, 99.0)),
            ms(*r.times.last().unwrap_or(&Duration::ZERO)),
            r.slowest.0,
            ms(r.slowest.1)
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let questions =
        eval::read_questions(&root().join("tests/questions.jsonl")).expect("read the questions");
    let mut rows = Vec::new();
    for folder in folders() {
        bench_index(&mut c, &folder);
        rows.extend(bench_answers(&mut c, &folder, &questions));
    }
    c.final_summary();
    print_latencies(&rows, questions.len());
}
