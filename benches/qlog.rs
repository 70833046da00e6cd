//! The question log's speed: rows written per second on SQLite and on PostgreSQL (a throwaway
//! server, when installed), and the time to answer with and without recording.
//! Run: `cargo bench --bench qlog`.

#[path = "../tests/support/postgres.rs"]
mod postgres;

use std::time::{Instant, SystemTime};

use npq_bot::qlog::{ChannelKind, Database, Entry, LogConfig, QuestionLog};

const ROWS: usize = 20_000;

fn entry(log: &QuestionLog, i: usize) -> Entry {
    Entry {
        id: log.new_entry_id(),
        at: SystemTime::now(),
        guild: Some(1_180_000_000_000_000_100),
        kind: ChannelKind::Channel,
        question: format!("How is the course funded for cohort {i}?"),
        answered: i % 3 != 0,
        passages: vec![
            ("Funding › Who pays".into(), 0.8),
            ("Funding › Deadlines".into(), 0.5),
            ("Eligibility › Schools".into(), 0.3),
        ],
        knowledge_version: "0123456789abcdef".into(),
    }
}

async fn writes_per_second(database: Database) -> f64 {
    let log = QuestionLog::open(&LogConfig {
        database,
        ..LogConfig::default()
    })
    .await
    .expect("open the log");
    let started = Instant::now();
    let mut sent = 0;
    while sent < ROWS {
        // Fed in queue-sized bursts so nothing is dropped.
        for _ in 0..5_000.min(ROWS - sent) {
            log.record(entry(&log, sent));
            sent += 1;
        }
        log.flush().await;
    }
    assert_eq!(log.dropped(), 0);
    ROWS as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = runtime.block_on(writes_per_second(Database::Sqlite(dir.path().join("q.db"))));
    println!("sqlite: {sqlite:.0} rows/s ({ROWS} rows, 3 passages each, batched)");
    if let Some(server) = postgres::Postgres::start() {
        let url = runtime.block_on(server.database("bench"));
        let pg = runtime.block_on(writes_per_second(Database::Postgres(url)));
        println!("postgres: {pg:.0} rows/s (fsync off: a test server)");
    }

    let engine = npq_bot::load_engine(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge"),
        Default::default(),
    )
    .unwrap();
    let questions: Vec<String> = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/questions.jsonl"),
    )
    .unwrap()
    .lines()
    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    .filter_map(|v| v["q"].as_str().map(str::to_string))
    .collect();
    let log = runtime
        .block_on(QuestionLog::open(&LogConfig {
            database: Database::Sqlite(dir.path().join("latency.db")),
            ..LogConfig::default()
        }))
        .unwrap();
    let _enter = runtime.enter();
    for q in questions.iter().take(20) {
        engine.answer(q);
    }
    for round in 0..2 {
        for record in [false, true] {
            let mut times = Vec::new();
            for q in &questions {
                let started = Instant::now();
                let answer = engine.answer(q);
                if record {
                    log.record(Entry::from_answer(
                        log.new_entry_id(),
                        Some(1),
                        ChannelKind::Channel,
                        &answer,
                        "v",
                    ));
                }
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            if round == 1 {
                println!(
                    "answer {}: median {:.2} ms, p99 {:.2} ms ({} questions)",
                    if record { "and record" } else { "only" },
                    times[times.len() / 2],
                    times[times.len() * 99 / 100],
                    times.len()
                );
            }
        }
    }
    runtime.block_on(log.flush());
}
