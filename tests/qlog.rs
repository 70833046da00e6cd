//! The question log against real databases: every test runs on SQLite in a temporary folder
//! and on a PostgreSQL server the test starts itself (skipped, with a message, when PostgreSQL
//! is not installed outside CI).

use crate::support::postgres;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use npq_bot::qlog::{self, ChannelKind, Database, Entry, Gap, GapStatus, LogConfig, QuestionLog};
use sqlx::{Connection, Row};

/// A distinctive user id: it must never be found in the database.
const USER: u64 = 987_654_321_012_345_678;

/// A database for one test.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(postgres::Postgres, String),
}

impl Backend {
    fn sqlite() -> Backend {
        Backend::Sqlite(tempfile::tempdir().unwrap())
    }

    async fn postgres(name: &str) -> Option<Backend> {
        let server = postgres::Postgres::start()?;
        let url = server.database(name).await;
        Some(Backend::Postgres(server, url))
    }

    fn database(&self) -> Database {
        match self {
            Backend::Sqlite(dir) => Database::Sqlite(dir.path().join("questions.db")),
            Backend::Postgres(_, url) => Database::Postgres(url.clone()),
        }
    }

    fn config(&self) -> LogConfig {
        LogConfig {
            enabled: true,
            database: self.database(),
            retention_days: 90,
            opt_out_guilds: vec![],
        }
    }

    /// Holds the log's tables from another connection, so the writer cannot write until the
    /// blocker is released.
    async fn block(&self) -> Blocker {
        match self {
            Backend::Sqlite(_) => {
                let Database::Sqlite(path) = self.database() else {
                    unreachable!()
                };
                let mut conn = sqlx::sqlite::SqliteConnection::connect(&format!(
                    "sqlite://{}",
                    path.display()
                ))
                .await
                .unwrap();
                sqlx::Executor::execute(&mut conn, "BEGIN IMMEDIATE")
                    .await
                    .unwrap();
                Blocker::Sqlite(conn)
            }
            Backend::Postgres(_, url) => {
                let mut conn = sqlx::postgres::PgConnection::connect(url).await.unwrap();
                sqlx::Executor::execute(&mut conn, "BEGIN").await.unwrap();
                sqlx::Executor::execute(&mut conn, "LOCK TABLE entries IN EXCLUSIVE MODE")
                    .await
                    .unwrap();
                Blocker::Postgres(conn)
            }
        }
    }

    /// Every value of every column of every table, as text.
    async fn every_value(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match self {
            Backend::Sqlite(_) => {
                let Database::Sqlite(path) = self.database() else {
                    unreachable!()
                };
                let mut conn = sqlx::sqlite::SqliteConnection::connect(&format!(
                    "sqlite://{}",
                    path.display()
                ))
                .await
                .unwrap();
                let tables: Vec<String> =
                    sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table'")
                        .fetch_all(&mut conn)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                assert!(tables.len() >= 6, "{tables:?}");
                for table in tables {
                    let columns: Vec<String> =
                        sqlx::query(&format!("SELECT name FROM pragma_table_info('{table}')"))
                            .fetch_all(&mut conn)
                            .await
                            .unwrap()
                            .iter()
                            .map(|r| r.get(0))
                            .collect();
                    for column in columns {
                        let rows = sqlx::query(&format!(
                            "SELECT CASE WHEN typeof(\"{column}\") = 'blob' THEN hex(\"{column}\") ELSE CAST(\"{column}\" AS TEXT) END FROM \"{table}\""
                        ))
                        .fetch_all(&mut conn)
                        .await
                        .unwrap();
                        for r in rows {
                            let v: Option<String> = r.get(0);
                            out.push((format!("{table}.{column}"), v.unwrap_or_default()));
                        }
                    }
                }
            }
            Backend::Postgres(_, url) => {
                let mut conn = sqlx::postgres::PgConnection::connect(url).await.unwrap();
                let columns: Vec<(String, String)> = sqlx::query(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = 'public'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
                assert!(columns.len() >= 20, "{columns:?}");
                for (table, column) in columns {
                    let rows = sqlx::query(&format!(
                        "SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\""
                    ))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                    for r in rows {
                        let v: Option<String> = r.get(0);
                        out.push((format!("{table}.{column}"), v.unwrap_or_default()));
                    }
                }
            }
        }
        out
    }
}

enum Blocker {
    Sqlite(sqlx::sqlite::SqliteConnection),
    Postgres(sqlx::postgres::PgConnection),
}

impl Blocker {
    async fn release(self) {
        match self {
            Blocker::Sqlite(mut c) => {
                sqlx::Executor::execute(&mut c, "ROLLBACK").await.unwrap();
            }
            Blocker::Postgres(mut c) => {
                sqlx::Executor::execute(&mut c, "ROLLBACK").await.unwrap();
            }
        }
    }
}

fn entry(log: &QuestionLog, guild: Option<u64>, question: &str, answered: bool) -> Entry {
    Entry {
        id: log.new_entry_id(),
        at: SystemTime::now(),
        guild,
        kind: if guild.is_some() {
            ChannelKind::Channel
        } else {
            ChannelKind::Dm
        },
        question: question.to_string(),
        answered,
        passages: if answered {
            vec![
                ("Funding › Who pays".to_string(), 0.82),
                ("Funding › Deadlines".to_string(), 0.41),
            ]
        } else {
            vec![]
        },
        knowledge_version: "0123456789abcdef".to_string(),
    }
}

/// Runs each check on SQLite and on PostgreSQL.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::sqlite()).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(b) = super::Backend::postgres(stringify!($name)).await {
                        super::$name(b).await;
                    }
                }
            )*
        }
    };
}

on_both!(
    every_field_is_read_back,
    one_vote_per_person_per_answer,
    old_entries_are_purged,
    forget_erases_only_that_guild,
    opted_out_guilds_are_not_logged,
    no_user_id_is_stored_anywhere,
    a_full_queue_counts_what_it_drops,
    gaps_group_paraphrases_and_keep_topics_apart,
    dismissed_gaps_stay_dismissed_and_new_phrasings_open,
    a_listed_gap_keeps_its_first_phrasing_for_the_form,
    stats_count_each_week,
);

async fn every_field_is_read_back(b: Backend) {
    let log = QuestionLog::open(&b.config()).await.unwrap();
    let mut e = entry(
        &log,
        Some(1_180_000_000_000_000_100),
        "Who pays  for the course?",
        true,
    );
    e.kind = ChannelKind::Thread;
    let mut dm = entry(&log, Some(42), "a private question", false);
    dm.kind = ChannelKind::Dm;
    log.record(e.clone());
    log.record(dm.clone());
    log.flush().await;
    let got = log.entry(e.id).await.unwrap().expect("written");
    assert_eq!(got.entry.id, e.id);
    assert_eq!(got.entry.guild, e.guild);
    assert_eq!(got.entry.kind, ChannelKind::Thread);
    assert_eq!(got.entry.question, "Who pays for the course?", "cleaned");
    assert!(got.entry.answered);
    assert_eq!(got.entry.passages, e.passages);
    assert_eq!(got.entry.knowledge_version, e.knowledge_version);
    let at = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    };
    assert_eq!(at(got.entry.at), at(e.at));
    let got = log.entry(dm.id).await.unwrap().expect("written");
    assert_eq!(got.entry.guild, None, "a direct message keeps no guild");
    assert_eq!(got.entry.kind, ChannelKind::Dm);
    assert!(!got.entry.answered && got.entry.passages.is_empty());
    assert!(log.entry(12345).await.unwrap().is_none());
    assert_eq!(log.dropped(), 0);
}

async fn one_vote_per_person_per_answer(b: Backend) {
    let log = QuestionLog::open(&b.config()).await.unwrap();
    let e = entry(&log, Some(7), "Who pays?", true);
    let id = e.id;
    // The vote may name the entry before it is written.
    log.record(e);
    log.feedback(id, USER, true);
    log.feedback(id, USER, false);
    log.feedback(id, USER, false);
    log.feedback(id, USER + 1, true);
    log.feedback(987, USER, true);
    log.flush().await;
    let got = log.entry(id).await.unwrap().unwrap();
    assert_eq!((got.thumbs_up, got.thumbs_down), (1, 1));
    // Reopened, the same key recognises the same person.
    drop(log);
    let log = QuestionLog::open(&b.config()).await.unwrap();
    log.feedback(id, USER + 1, false);
    log.flush().await;
    let got = log.entry(id).await.unwrap().unwrap();
    assert_eq!((got.thumbs_up, got.thumbs_down), (0, 2));
}

async fn old_entries_are_purged(b: Backend) {
    let mut config = b.config();
    config.retention_days = 30;
    let log = QuestionLog::open(&config).await.unwrap();
    let mut old = entry(&log, Some(7), "an old question", true);
    old.at = SystemTime::now() - Duration::from_secs(31 * 86_400);
    let recent = entry(&log, Some(7), "a recent question", true);
    log.record(old.clone());
    log.record(recent.clone());
    log.feedback(old.id, USER, false);
    log.flush().await;
    assert!(log.entry(old.id).await.unwrap().is_some());
    assert_eq!(log.purge().await.unwrap(), 1);
    assert!(log.entry(old.id).await.unwrap().is_none());
    assert!(log.entry(recent.id).await.unwrap().is_some());
    // The writer purges at start too.
    log.record(old.clone());
    log.flush().await;
    drop(log);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = QuestionLog::open(&config).await.unwrap();
    log.flush().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.entry(old.id).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "not purged at start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let values = b.every_value().await;
    assert!(
        !values.iter().any(|(_, v)| v.contains("an old question")),
        "{values:?}"
    );
}

/// After the retention purge nothing of an erased question is left in the SQLite file or its
/// write-ahead log, and the file is its owner's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_question_leaves_no_trace_in_the_sqlite_files() {
    use std::os::unix::fs::PermissionsExt as _;
    let b = Backend::sqlite();
    let mut config = b.config();
    config.retention_days = 30;
    let log = QuestionLog::open(&config).await.unwrap();
    let secret = "Call Jo Bloggs on 07700 900123 or jo.bloggs@example.org about my NPQ";
    for i in 0..50 {
        let mut old = entry(&log, Some(7), &format!("{secret} #{i}"), true);
        old.at = SystemTime::now() - Duration::from_secs(31 * 86_400);
        log.record(old);
    }
    log.record(entry(&log, Some(7), "a recent question", true));
    log.flush().await;
    assert_eq!(log.purge().await.unwrap(), 50);
    let Backend::Sqlite(dir) = &b else {
        unreachable!()
    };
    let mut found = Vec::new();
    for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let bytes = std::fs::read(file.path()).unwrap();
        if bytes.windows(12).any(|w| w == b"Jo Bloggs on") {
            found.push(file.file_name());
        }
    }
    assert!(found.is_empty(), "erased text still in {found:?}");
    let mode = std::fs::metadata(dir.path().join("questions.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    drop(log);
}

async fn forget_erases_only_that_guild(b: Backend) {
    let log = QuestionLog::open(&b.config()).await.unwrap();
    let mine: Vec<Entry> = (0..3)
        .map(|i| entry(&log, Some(11), &format!("guild eleven {i}"), i % 2 == 0))
        .collect();
    let other = entry(&log, Some(12), "guild twelve", true);
    for e in &mine {
        log.record(e.clone());
        log.feedback(e.id, USER, true);
    }
    log.record(other.clone());
    // Queued, not yet written: forget writes the queue first.
    assert_eq!(log.forget(11).await.unwrap(), 3);
    for e in &mine {
        assert!(log.entry(e.id).await.unwrap().is_none());
    }
    assert!(log.entry(other.id).await.unwrap().is_some());
    let values = b.every_value().await;
    assert!(
        !values.iter().any(|(_, v)| v.contains("guild eleven")),
        "{values:?}"
    );
    let votes = values.iter().filter(|(c, _)| c == "votes.entry_id").count();
    assert_eq!(votes, 0, "the guild's votes are erased too");
}

async fn opted_out_guilds_are_not_logged(b: Backend) {
    let mut config = b.config();
    config.opt_out_guilds = vec![21];
    let log = QuestionLog::open(&config).await.unwrap();
    assert!(log.is_opted_out(21) && !log.is_opted_out(22));
    log.set_opt_out(22, true).await.unwrap();
    assert!(log.is_opted_out(22));
    let a = entry(&log, Some(21), "from 21", true);
    let c = entry(&log, Some(22), "from 22", true);
    log.record(a.clone());
    log.record(c.clone());
    log.flush().await;
    assert!(log.entry(a.id).await.unwrap().is_none());
    assert!(log.entry(c.id).await.unwrap().is_none());
    // Stored: another start still knows it; turning it off logs again.
    drop(log);
    let log = QuestionLog::open(&b.config()).await.unwrap();
    assert!(log.is_opted_out(22) && !log.is_opted_out(21));
    log.set_opt_out(22, false).await.unwrap();
    let c = entry(&log, Some(22), "from 22 again", true);
    log.record(c.clone());
    log.flush().await;
    assert!(log.entry(c.id).await.unwrap().is_some());
}

async fn no_user_id_is_stored_anywhere(b: Backend) {
    let log = QuestionLog::open(&b.config()).await.unwrap();
    let e = entry(&log, Some(5), "Can my school claim the grant?", true);
    log.record(e.clone());
    log.feedback(e.id, USER, false);
    log.feedback(e.id, USER + 7, true);
    log.set_opt_out(99, true).await.unwrap();
    log.flush().await;
    let values = b.every_value().await;
    assert!(
        values.iter().any(|(c, _)| c == "votes.voter"),
        "the votes were written: {values:?}"
    );
    let needles = [
        USER.to_string(),
        (USER + 7).to_string(),
        (USER as i64).to_string(),
        format!("{USER:x}"),
        hex_le(USER),
    ];
    for (column, value) in &values {
        for n in &needles {
            assert!(!value.contains(n.as_str()), "{column} holds {value}");
        }
    }
}

fn hex_le(n: u64) -> String {
    n.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

async fn a_full_queue_counts_what_it_drops(b: Backend) {
    let log = QuestionLog::open(&b.config()).await.unwrap();
    log.flush().await;
    let blocker = b.block().await;
    let total = qlog::QUEUE + 5_000;
    let started = Instant::now();
    for i in 0..total {
        log.record(entry(&log, Some(3), &format!("question {i}"), true));
    }
    let took = started.elapsed();
    blocker.release().await;
    log.flush().await;
    let dropped = log.dropped() as usize;
    assert!(
        dropped > 0,
        "{total} rows at once overflow a queue of {}",
        qlog::QUEUE
    );
    let written = b
        .every_value()
        .await
        .iter()
        .filter(|(c, _)| c == "entries.id")
        .count();
    assert_eq!(written + dropped, total, "every row is written or counted");
    assert!(
        took < Duration::from_secs(5),
        "record never waits: {took:?}"
    );
}

/// Questions about two topics, worded differently, all refused.
const FUNDING: [&str; 3] = [
    "Who pays for the NPQ course fees?",
    "Does my school have to pay the fees for an NPQ?",
    "Who covers the cost of the NPQ tuition?",
];
const BEHAVIOUR: [&str; 2] = [
    "Is there an NPQ on managing pupil behaviour in class?",
    "Which NPQ covers behaviour management for pupils?",
];

/// A question asked `i` milliseconds after the test began, so the order is known.
fn asked(log: &QuestionLog, question: &str, answered: bool, i: u64) -> Entry {
    let mut e = entry(log, Some(1), question, answered);
    e.at = SystemTime::now() - Duration::from_secs(60) + Duration::from_millis(i);
    e
}

async fn gaps_group_paraphrases_and_keep_topics_apart(b: Backend) {
    let log = QuestionLog::open(&b.config()).await.unwrap();
    for (i, q) in FUNDING
        .iter()
        .chain(&BEHAVIOUR)
        .chain(&FUNDING[..1])
        .enumerate()
    {
        log.record(asked(&log, q, false, i as u64));
    }
    // Answered and thanked: not a gap. Answered and voted down: a gap.
    let fine = asked(&log, "When does the spring cohort start?", true, 10);
    let down = asked(&log, "How long is the leadership course?", true, 11);
    log.record(fine.clone());
    log.record(down.clone());
    log.feedback(fine.id, USER, true);
    log.feedback(down.id, USER, false);
    log.flush().await;
    let gaps = log.gaps(30).await.unwrap();
    let keys: Vec<_> = gaps.iter().map(|g| (g.count, g.first.clone())).collect();
    assert_eq!(gaps.len(), 3, "{keys:?}");
    assert_eq!(gaps[0].count, 4, "{keys:?}");
    assert_eq!(gaps[0].first, FUNDING[0]);
    assert_eq!(
        gaps[0].examples.len(),
        3,
        "distinct phrasings: {:?}",
        gaps[0].examples
    );
    assert_eq!(gaps[0].refused, 4);
    assert_eq!(gaps[1].count, 2, "{keys:?}");
    assert_eq!(gaps[1].first, BEHAVIOUR[0]);
    assert_eq!(gaps[2].first, "How long is the leadership course?");
    assert_eq!(gaps[2].refused, 0);
    assert!(gaps.iter().all(|g| g.status == GapStatus::Open));
    // The key stays the same as more is asked.
    let key = gaps[0].key.clone();
    log.record(asked(&log, "who pays the NPQ fee", false, 12));
    log.flush().await;
    let again = log.gaps(30).await.unwrap();
    assert_eq!(again[0].key, key);
    assert_eq!(again[0].count, 5);
    let json = serde_json::to_value(&again).unwrap();
    for field in ["count", "last_asked", "status", "examples", "key"] {
        assert!(json[0].get(field).is_some(), "{field} in {json}");
    }
}

/// A log holding the three refused funding phrasings, and its gaps: one group.
async fn one_funding_gap(b: &Backend) -> (QuestionLog, Vec<Gap>) {
    let log = QuestionLog::open(&b.config()).await.unwrap();
    for (i, q) in FUNDING.iter().enumerate() {
        log.record(asked(&log, q, false, i as u64));
    }
    log.flush().await;
    let gaps = log.gaps(30).await.unwrap();
    assert_eq!(gaps.len(), 1);
    (log, gaps)
}

async fn dismissed_gaps_stay_dismissed_and_new_phrasings_open(b: Backend) {
    let (log, gaps) = one_funding_gap(&b).await;
    log.dismiss(&gaps[0].key).await.unwrap();
    let gaps = log.gaps(30).await.unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].status, GapStatus::Dismissed);
    log.record(entry(
        &log,
        Some(1),
        "Who has to pay the NPQ course fee?",
        false,
    ));
    log.flush().await;
    let gaps = log.gaps(30).await.unwrap();
    let open: Vec<_> = gaps
        .iter()
        .filter(|g| g.status == GapStatus::Open)
        .collect();
    assert_eq!(open.len(), 1, "{gaps:?}");
    assert_eq!(open[0].count, 1);
    let err = log.dismiss("no-such-key").await.unwrap_err().to_string();
    assert!(err.contains("no-such-key"), "{err}");
}

async fn a_listed_gap_keeps_its_first_phrasing_for_the_form(b: Backend) {
    let (log, gaps) = one_funding_gap(&b).await;
    assert_eq!(
        log.listed_first(&gaps[0].key).as_deref(),
        Some(gaps[0].first.as_str())
    );
    assert!(
        FUNDING.contains(&gaps[0].first.as_str()),
        "{}",
        gaps[0].first
    );
    assert_eq!(log.listed_first("no-such-key"), None);
    // A new log (as after a restart) has listed nothing yet.
    drop(log);
    let reopened = QuestionLog::open(&b.config()).await.unwrap();
    assert_eq!(reopened.listed_first(&gaps[0].key), None);
}

async fn stats_count_each_week(b: Backend) {
    let log = QuestionLog::open(&b.config()).await.unwrap();
    let week = Duration::from_secs(7 * 86_400);
    let mut ids = Vec::new();
    for (age, answered) in [(0, true), (0, true), (0, false), (1, true), (3, false)] {
        let mut e = entry(&log, Some(1), "Who pays?", answered);
        e.at = SystemTime::now() - week * age;
        ids.push(e.id);
        log.record(e);
    }
    log.feedback(ids[0], USER, true);
    log.feedback(ids[1], USER, false);
    log.feedback(ids[3], USER, true);
    log.flush().await;
    let stats = log.stats(4).await.unwrap();
    assert_eq!(stats.weeks.len(), 4);
    let this = &stats.weeks[3];
    assert_eq!(
        (
            this.questions,
            this.answered,
            this.refused,
            this.thumbs_up,
            this.thumbs_down
        ),
        (3, 2, 1, 1, 1)
    );
    let last = &stats.weeks[2];
    assert_eq!((last.questions, last.answered, last.thumbs_up), (1, 1, 1));
    assert_eq!(stats.weeks[1].questions, 0);
    assert_eq!((stats.weeks[0].questions, stats.weeks[0].refused), (1, 1));
    assert_eq!(stats.topics, vec![("Funding".to_string(), 3)]);
    assert!(this.week.contains("-W"), "{}", this.week);
    let png = qlog::chart_png(&stats).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(width >= 400 && height >= 200, "{width}x{height}");
    assert!(
        png.len() > 5_000,
        "a drawn chart, not a blank: {} bytes",
        png.len()
    );
    let blank = qlog::chart_png(&qlog::Stats {
        weeks: vec![],
        topics: vec![],
    })
    .unwrap();
    assert!(png.len() > blank.len(), "bars and lines add to the picture");
}

/// Collects what the library logs, to check warnings.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test(flavor = "current_thread")]
async fn sqlite_unwritable_keeps_answering_warns_and_catches_up() {
    let b = Backend::sqlite();
    let (captured, _guard) = capture();
    let log = QuestionLog::open(&b.config()).await.unwrap();
    log.flush().await;
    // Another process holds the write lock beyond the busy timeout.
    let blocker = b.block().await;
    let secret = "a question never to be logged as text";
    let e = entry(&log, Some(1), secret, true);
    let started = Instant::now();
    log.record(e.clone());
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "record waited"
    );
    assert!(
        !log.flush_within(Duration::from_secs(7)).await,
        "cannot be written yet"
    );
    let logged = captured.text();
    assert!(logged.contains("question log: cannot write"), "{logged}");
    assert!(!logged.contains(secret), "{logged}");
    blocker.release().await;
    log.flush().await;
    assert!(log.entry(e.id).await.unwrap().is_some(), "caught up");
    assert!(
        captured.text().contains("writing again"),
        "{}",
        captured.text()
    );
}

// One thread, so the writer logs to this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn postgres_down_keeps_answering_warns_and_catches_up() {
    let Some(b) = Backend::postgres("down").await else {
        return;
    };
    let Backend::Postgres(server, url) = &b else {
        unreachable!()
    };
    let (captured, _guard) = capture();
    let password_url = url.replace("postgres@", "postgres:hunter2@");
    let log = QuestionLog::open(&LogConfig {
        database: Database::Postgres(password_url),
        ..b.config()
    })
    .await
    .unwrap();
    // Past the purge at start.
    log.flush().await;
    server.stop();
    let secret = "a question never to be logged as text";
    let entries: Vec<Entry> = (0..20)
        .map(|_| entry(&log, Some(1), secret, false))
        .collect();
    let started = Instant::now();
    for e in &entries {
        log.record(e.clone());
    }
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "record waited"
    );
    // Longer than the pool waits for a connection, so a write fails and is warned about.
    assert!(!log.flush_within(Duration::from_secs(7)).await);
    server.start_again();
    assert!(log.flush_within(Duration::from_secs(60)).await, "caught up");
    for e in &entries {
        assert!(log.entry(e.id).await.unwrap().is_some());
    }
    let logged = captured.text();
    assert!(logged.contains("question log: cannot write"), "{logged}");
    assert!(
        !logged.contains(secret) && !logged.contains("hunter2"),
        "{logged}"
    );
}

#[tokio::test]
async fn a_bad_password_never_appears_in_the_error() {
    let err = QuestionLog::open(&LogConfig {
        database: Database::Postgres("postgres://bot:hunter2@127.0.0.1:1/log".into()),
        ..LogConfig::default()
    })
    .await
    .unwrap_err();
    let text = format!("{err:#} {err:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("log.database"), "{text}");
}

#[tokio::test]
async fn a_disabled_log_records_nothing_and_opens_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let log = QuestionLog::open(&LogConfig {
        enabled: false,
        database: Database::Sqlite(path.clone()),
        ..LogConfig::default()
    })
    .await
    .unwrap();
    log.record(entry(&log, None, "x", true));
    log.flush().await;
    assert!(!path.exists());
    assert!(log
        .gaps(30)
        .await
        .unwrap_err()
        .to_string()
        .contains("log.enabled"));
}

fn knowledge_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("knowledge");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recheck"))
        .arg(&to)
        .status()
        .unwrap();
    assert!(status.success());
    (dir, to)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recheck_marks_gaps_a_new_file_answers() {
    let (_kb, dir) = knowledge_copy();
    let b = Backend::sqlite();
    let log = QuestionLog::open(&b.config()).await.unwrap();
    let engine = npq_bot::load_engine(&dir, Default::default()).unwrap();
    let leave_questions = [
        "How many days of annual leave do teachers get?",
        "How much annual leave does a teacher have?",
    ];
    for q in leave_questions {
        let answer = engine.answer(q);
        assert!(!answer.answered, "not answered yet: {q}");
        log.record(Entry::from_answer(
            log.new_entry_id(),
            Some(1),
            ChannelKind::Channel,
            &answer,
            &qlog::knowledge_version(&dir),
        ));
    }
    let other = engine.answer("Can I bring my dog to the training day?");
    assert!(!other.answered);
    log.record(Entry::from_answer(
        log.new_entry_id(),
        Some(1),
        ChannelKind::Channel,
        &other,
        "v1",
    ));
    log.flush().await;
    let report = qlog::recheck(&log, &engine).await.unwrap();
    assert_eq!((report.open, report.answered.len()), (2, 0), "{report}");
    std::fs::write(dir.join("leave.md"), LEAVE).unwrap();
    let engine = npq_bot::load_engine(&dir, Default::default()).unwrap();
    let report = qlog::recheck(&log, &engine).await.unwrap();
    assert_eq!((report.open, report.answered.len()), (2, 1), "{report}");
    assert!(
        report.to_string().starts_with("answers 1 of 2 open gaps"),
        "{report}"
    );
    let gaps = log.gaps(30).await.unwrap();
    let leave = gaps
        .iter()
        .find(|g| g.examples.iter().any(|e| e == leave_questions[0]))
        .unwrap();
    assert_eq!(leave.status, GapStatus::Answered);
    let dog = gaps.iter().find(|g| g.first.contains("dog")).unwrap();
    assert_eq!(dog.status, GapStatus::Open);
}

/// The file that answers the leave gap.
const LEAVE: &str = r#"+++
title = "Annual leave for teachers"
updated = "2025-03-14"

[[sources]]
id = "leave-handbook"
publisher = "Staff Handbook"
title = "Leave and holidays"
date = "2025-02"
+++

## How much annual leave teachers get

Teachers take their annual leave during the school holidays: about thirteen weeks a year,
fixed by the school calendar rather than booked as days.
"#;

/// Rows written per second, and the time to answer with and without recording. Prints the
/// figures; run with `cargo test --release --test all -- --ignored --nocapture qlog::speed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn speed() {
    const ROWS: usize = 20_000;
    async fn rate(b: &Backend) -> f64 {
        let log = QuestionLog::open(&b.config()).await.unwrap();
        let started = Instant::now();
        let mut sent = 0;
        while sent < ROWS {
            // In bursts that fit the queue, so nothing is dropped.
            for _ in 0..5_000 {
                log.record(entry(&log, Some(3), &format!("question {sent}"), true));
                sent += 1;
            }
            log.flush().await;
        }
        assert_eq!(log.dropped(), 0);
        ROWS as f64 / started.elapsed().as_secs_f64()
    }
    let sqlite = Backend::sqlite();
    println!(
        "sqlite: {:.0} rows/s ({ROWS} rows, 2 passages each)",
        rate(&sqlite).await
    );
    if let Some(pg) = Backend::postgres("speed").await {
        println!(
            "postgres: {:.0} rows/s (a local test server, fsync off)",
            rate(&pg).await
        );
    }
    let engine = npq_bot::load_engine(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge"),
        Default::default(),
    )
    .unwrap();
    let questions: Vec<String> = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/questions.jsonl"),
    )
    .unwrap()
    .lines()
    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    .filter_map(|v| v["q"].as_str().map(str::to_string))
    .collect();
    let log = QuestionLog::open(&sqlite.config()).await.unwrap();
    for q in questions.iter().take(5) {
        engine.answer(q);
    }
    for record in [false, true, false, true] {
        let mut times = Vec::new();
        for q in questions.iter().take(60) {
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
        println!(
            "answer{}: median {:.2} ms, p99 {:.2} ms ({} questions)",
            if record { " and record" } else { " only" },
            times[times.len() / 2],
            times[times.len() * 99 / 100],
            times.len()
        );
    }
    log.flush().await;
}
