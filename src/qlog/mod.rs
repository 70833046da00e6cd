//! The question log: what was asked, whether it was answered and how it was rated, kept in
//! SQLite (embedded, the default) or PostgreSQL, for the gaps and weekly figures union reps read.
//!
//! Writing never slows an answer: [`QuestionLog::record`] and [`QuestionLog::feedback`] put the
//! row on a bounded queue that one writer task commits in batches. No user id, name or nickname
//! is ever stored: a vote is kept under a keyed hash of (user, entry) that cannot be reversed.

mod chart;
mod db;
mod gaps;
mod stats;
mod writer;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot};

pub use chart::chart_png;
pub use gaps::{recheck, Gap, GapStatus, RecheckReport, Rechecked, GROUP_SIMILARITY};
pub use stats::{Stats, Week};

use crate::answer::Answer;
use db::Db;
use writer::Item;

/// Rows waiting to be written; past this, new rows are dropped (and counted) rather than
/// holding up an answer.
pub const QUEUE: usize = 10_000;

/// Where and whether questions are logged (`[log]` in bot.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// Off: nothing is recorded and no database is opened.
    pub enabled: bool,
    pub database: Database,
    /// Rows older than this are erased, at start and then every hour.
    pub retention_days: u32,
    /// Guilds never logged, besides those opted out with [`QuestionLog::set_opt_out`].
    pub opt_out_guilds: Vec<u64>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            enabled: true,
            database: Database::Sqlite(PathBuf::from(DEFAULT_SQLITE)),
            retention_days: 90,
            opt_out_guilds: Vec::new(),
        }
    }
}

/// The default database file, beside the settings file.
pub const DEFAULT_SQLITE: &str = "questions.db";

/// Which database the log is kept in: `sqlite://PATH` or `postgres://...`.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// The full URL; shown only through [`redact_url`].
    Postgres(String),
}

impl Database {
    /// Reads `sqlite://PATH` (or a bare path) and `postgres://` / `postgresql://` URLs.
    pub fn parse(text: &str) -> Result<Database, String> {
        let text = text.trim();
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or(text.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("names no file: write sqlite://questions.db or sqlite:///var/lib/npq-bot/questions.db".into());
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            url::Url::parse(text).map_err(|e| {
                format!(
                    "is not a valid PostgreSQL URL ({e}): write postgres://USER:PASSWORD@HOST:PORT/DATABASE ({})",
                    redact_url(text)
                )
            })?;
            return Ok(Database::Postgres(text.to_string()));
        }
        Err(format!(
            "must start with sqlite:// or postgres://, not `{}`",
            redact_url(text)
        ))
    }

    /// The backend's name, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }
}

/// Never shows a password.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

/// Never shows a password.
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Database::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

/// `text` with the password of every URL in it replaced, for logs and errors.
pub fn redact_url(text: &str) -> String {
    static PASSWORD: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = PASSWORD.get_or_init(|| {
        regex::Regex::new(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s]*):[^@\s]*@").expect("valid regex")
    });
    let text = re.replace_all(text, "$1:[redacted]@");
    static PARAM: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let param =
        PARAM.get_or_init(|| regex::Regex::new(r"(?i)(password=)[^&\s]*").expect("valid regex"));
    param.replace_all(&text, "$1[redacted]").into_owned()
}

/// Where a question was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Channel,
    Thread,
    Dm,
    Terminal,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Channel => "channel",
            ChannelKind::Thread => "thread",
            ChannelKind::Dm => "dm",
            ChannelKind::Terminal => "terminal",
        }
    }

    fn parse(text: &str) -> Option<ChannelKind> {
        Some(match text {
            "channel" => ChannelKind::Channel,
            "thread" => ChannelKind::Thread,
            "dm" => ChannelKind::Dm,
            "terminal" => ChannelKind::Terminal,
            _ => return None,
        })
    }
}

/// One question asked, as logged. It holds no user.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// From [`QuestionLog::new_entry_id`], so feedback can name it before it is written.
    pub id: i64,
    pub at: SystemTime,
    /// `None` for direct messages and the terminal.
    pub guild: Option<u64>,
    pub kind: ChannelKind,
    /// The cleaned question text.
    pub question: String,
    pub answered: bool,
    /// The passages shown, best first: `Title › Section` and the score.
    pub passages: Vec<(String, f32)>,
    /// The content hash of the knowledge folder that answered ([`knowledge_version`]).
    pub knowledge_version: String,
}

impl Entry {
    /// The entry for `answer`, asked now.
    pub fn from_answer(
        id: i64,
        guild: Option<u64>,
        kind: ChannelKind,
        answer: &Answer,
        knowledge_version: &str,
    ) -> Entry {
        Entry {
            id,
            at: SystemTime::now(),
            guild,
            kind,
            question: answer.question.clone(),
            answered: answer.answered,
            passages: answer
                .results
                .iter()
                .map(|r| (passage_label(&r.title, &r.section), r.score))
                .collect(),
            knowledge_version: knowledge_version.to_string(),
        }
    }
}

/// How a passage is named in the log: its document title, then its section.
pub fn passage_label(title: &str, section: &str) -> String {
    if section.trim().is_empty() || section == title {
        title.to_string()
    } else {
        format!("{title} › {section}")
    }
}

/// The version of a knowledge folder, as the on-disk index names it (a content hash);
/// `unknown` when the folder cannot be listed.
pub fn knowledge_version(dir: &Path) -> String {
    crate::store::content_hash(dir).unwrap_or_else(|_| "unknown".to_string())
}

/// A logged entry read back, with its votes.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub entry: Entry,
    pub thumbs_up: u64,
    pub thumbs_down: u64,
}

/// The log: a cheap handle shared by every task that answers.
#[derive(Clone)]
pub struct QuestionLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for QuestionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuestionLog")
            .field("database", &self.inner.database)
            .field("dropped", &self.dropped())
            .finish()
    }
}

struct Inner {
    database: Database,
    /// `None` when logging is off.
    db: Option<Db>,
    queue: Option<mpsc::Sender<Item>>,
    dropped: Arc<AtomicU64>,
    key: [u8; 32],
    configured_opt_outs: HashSet<u64>,
    /// Opt-outs stored in the database, shared with the writer, which refreshes them.
    stored_opt_outs: Arc<RwLock<HashSet<u64>>>,
    next_id: AtomicU64,
    id_base: u64,
    /// The member entries of each gap key last listed, so `dismiss` marks what was shown.
    last_groups: Mutex<HashMap<String, Vec<i64>>>,
    /// The first phrasing of each gap key last listed, for the "Answer this" form.
    last_first: Mutex<HashMap<String, String>>,
    retention_days: u32,
}

/// A day in seconds.
const DAY: i64 = 86_400;

impl QuestionLog {
    /// Opens (creating and migrating) the database and starts the writer task on the current
    /// tokio runtime. With `enabled = false`, returns a log that records nothing.
    pub async fn open(config: &LogConfig) -> anyhow::Result<QuestionLog> {
        let id_base: u64 = rand::random();
        if !config.enabled {
            return Ok(QuestionLog {
                inner: Arc::new(Inner {
                    database: config.database.clone(),
                    db: None,
                    queue: None,
                    dropped: Arc::new(AtomicU64::new(0)),
                    key: [0; 32],
                    configured_opt_outs: HashSet::new(),
                    stored_opt_outs: Arc::default(),
                    next_id: AtomicU64::new(0),
                    id_base,
                    last_groups: Mutex::default(),
                    last_first: Mutex::default(),
                    retention_days: config.retention_days,
                }),
            });
        }
        let db = Db::connect(&config.database).await?;
        let key = db.vote_key().await.with_context(|| {
            format!("cannot read or create the vote key in {}", config.database)
        })?;
        let stored = db
            .opt_outs()
            .await
            .with_context(|| format!("cannot read the opt-outs in {}", config.database))?;
        let stored_opt_outs = Arc::new(RwLock::new(stored));
        let dropped = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel(QUEUE);
        writer::spawn(writer::Writer {
            db: db.clone(),
            rx,
            retention_days: config.retention_days,
            opt_outs: stored_opt_outs.clone(),
            dropped: dropped.clone(),
        });
        Ok(QuestionLog {
            inner: Arc::new(Inner {
                database: config.database.clone(),
                db: Some(db),
                queue: Some(tx),
                dropped,
                key,
                configured_opt_outs: config.opt_out_guilds.iter().copied().collect(),
                stored_opt_outs,
                next_id: AtomicU64::new(0),
                id_base,
                last_groups: Mutex::default(),
                last_first: Mutex::default(),
                retention_days: config.retention_days,
            }),
        })
    }

    /// True when questions are recorded at all.
    pub fn is_enabled(&self) -> bool {
        self.inner.db.is_some()
    }

    /// A fresh entry id: random per process, then counted, never 0.
    pub fn new_entry_id(&self) -> i64 {
        let n = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        // Mixed so that ids from several processes sharing one database do not collide.
        let id = (splitmix(self.inner.id_base.wrapping_add(n)) >> 1) as i64;
        if id == 0 {
            1
        } else {
            id
        }
    }

    /// Queues `entry` for writing and returns at once. Nothing is kept for an opted-out guild;
    /// a direct message is kept without guild. When the queue is full the entry is dropped and
    /// counted in [`QuestionLog::dropped`].
    pub fn record(&self, mut entry: Entry) {
        let Some(queue) = &self.inner.queue else {
            return;
        };
        if matches!(entry.kind, ChannelKind::Dm | ChannelKind::Terminal) {
            entry.guild = None;
        }
        if entry.guild.is_some_and(|g| self.is_opted_out(g)) {
            return;
        }
        entry.question = crate::query::clean(&entry.question);
        self.enqueue(queue, Item::Entry(Box::new(entry)));
    }

    /// Queues one person's vote on an entry: a later vote by the same person replaces it. The
    /// user id is hashed here and never leaves this function.
    pub fn feedback(&self, entry_id: i64, user_id: u64, helpful: bool) {
        let Some(queue) = &self.inner.queue else {
            return;
        };
        let voter = self.voter(user_id, entry_id);
        self.enqueue(
            queue,
            Item::Vote {
                entry_id,
                voter,
                helpful,
                at: SystemTime::now(),
            },
        );
    }

    fn enqueue(&self, queue: &mpsc::Sender<Item>, item: Item) {
        if queue.try_send(item).is_err() {
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// HMAC-SHA256 of (user, entry) under the database's secret key, in hex.
    fn voter(&self, user_id: u64, entry_id: i64) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.inner.key).expect("HMAC takes any key length");
        mac.update(&user_id.to_le_bytes());
        mac.update(&entry_id.to_le_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Rows dropped because the queue was full (or the writer had stopped), since start.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Waits until everything queued before this call is written (for tests and shutdown);
    /// while the database is unreachable, that is until it is back.
    pub async fn flush(&self) {
        let Some(queue) = &self.inner.queue else {
            return;
        };
        let (done, written) = oneshot::channel();
        if queue.send(Item::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// [`QuestionLog::flush`], giving up after `limit`; false when rows are still queued.
    pub async fn flush_within(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.flush()).await.is_ok()
    }

    fn db(&self) -> anyhow::Result<&Db> {
        self.inner
            .db
            .as_ref()
            .context("the question log is off (log.enabled = false in the settings)")
    }

    /// The entry `id` with its votes, once written.
    pub async fn entry(&self, id: i64) -> anyhow::Result<Option<Logged>> {
        self.db()?.entry(id).await
    }

    /// Erases every row of `guild` (after writing what is queued); returns the entries erased.
    pub async fn forget(&self, guild: u64) -> anyhow::Result<u64> {
        self.flush_within(Duration::from_secs(10)).await;
        let erased = self.db()?.forget(guild).await?;
        Ok(erased)
    }

    /// Stops (or resumes) logging `guild`, stored so that it lasts across restarts. Opting out
    /// does not erase what was logged before: [`QuestionLog::forget`] does.
    pub async fn set_opt_out(&self, guild: u64, opted_out: bool) -> anyhow::Result<()> {
        self.db()?.set_opt_out(guild, opted_out).await?;
        let mut stored = self
            .inner
            .stored_opt_outs
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if opted_out {
            stored.insert(guild);
        } else {
            stored.remove(&guild);
        }
        Ok(())
    }

    /// True when `guild` is opted out, by the settings or by [`QuestionLog::set_opt_out`].
    pub fn is_opted_out(&self, guild: u64) -> bool {
        self.inner.configured_opt_outs.contains(&guild)
            || self
                .inner
                .stored_opt_outs
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&guild)
    }

    /// Erases entries older than the retention period now (the writer also does it hourly);
    /// returns the entries erased.
    pub async fn purge(&self) -> anyhow::Result<u64> {
        let cutoff = now_ms() - i64::from(self.inner.retention_days) * DAY * 1000;
        self.db()?.purge_before(cutoff).await
    }

    /// Refused and thumbs-down questions of the last `since_days` days, grouped by meaning,
    /// most asked first.
    pub async fn gaps(&self, since_days: u32) -> anyhow::Result<Vec<Gap>> {
        let since = now_ms() - i64::from(since_days) * DAY * 1000;
        let rows = self.db()?.gap_rows(since).await?;
        let groups = tokio::task::spawn_blocking(move || gaps::group(rows))
            .await
            .context("grouping the gaps failed")?;
        let mut last = self
            .inner
            .last_groups
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut first = self
            .inner
            .last_first
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for g in &groups {
            last.insert(g.key.clone(), g.entries.clone());
            first.insert(g.key.clone(), g.first.clone());
        }
        Ok(groups)
    }

    /// The first phrasing of gap `key` as last listed by [`gaps`](Self::gaps), without grouping
    /// the log again (grouping embeds every logged question: too slow for a reply Discord
    /// expects within 3 s). `None` when no listing since start showed it.
    pub fn listed_first(&self, key: &str) -> Option<String> {
        self.inner
            .last_first
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// Marks the gap `key` dismissed: its questions no longer show as open.
    pub async fn dismiss(&self, key: &str) -> anyhow::Result<()> {
        self.mark(&[key.to_string()], GapStatus::Dismissed).await
    }

    /// Marks the gaps `keys` answered (as [`recheck`] does when the knowledge now answers them).
    pub async fn mark_answered(&self, keys: &[String]) -> anyhow::Result<()> {
        self.mark(keys, GapStatus::Answered).await
    }

    async fn mark(&self, keys: &[String], status: GapStatus) -> anyhow::Result<()> {
        let mut members = Vec::new();
        for key in keys {
            let known = self
                .inner
                .last_groups
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(key)
                .cloned();
            let entries = match known {
                Some(entries) => entries,
                None => {
                    self.gaps(self.inner.retention_days.max(1)).await?;
                    self.inner
                        .last_groups
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(key)
                        .cloned()
                        .with_context(|| {
                            format!("no gap has the key `{key}`: list the gaps again to see the current keys")
                        })?
                }
            };
            members.extend(entries);
        }
        self.db()?.mark(&members, status).await
    }

    /// Figures for each of the last `weeks` ISO weeks, oldest first.
    pub async fn stats(&self, weeks: u32) -> anyhow::Result<Stats> {
        let weeks = weeks.clamp(1, 520);
        let now = now_ms();
        let start = stats::week_start_ms(now) - i64::from(weeks - 1) * 7 * DAY * 1000;
        let rows = self.db()?.stat_rows(start).await?;
        Ok(stats::weekly(rows, start, weeks))
    }
}

/// Milliseconds since 1970 (UTC).
fn now_ms() -> i64 {
    to_ms(SystemTime::now())
}

fn to_ms(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

fn from_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        let text = "error connecting to postgres://bot:s3cr%40t@db.example.org:5432/log";
        let shown = redact_url(text);
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.contains("postgres://bot:[redacted]@db.example.org"),
            "{shown}"
        );
        let shown = redact_url("host=db password=hunter2 user=bot");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn database_urls_parse_by_scheme() {
        assert_eq!(
            Database::parse("sqlite://log/q.db").unwrap(),
            Database::Sqlite(PathBuf::from("log/q.db"))
        );
        assert_eq!(
            Database::parse("sqlite:///var/q.db").unwrap(),
            Database::Sqlite(PathBuf::from("/var/q.db"))
        );
        assert!(matches!(
            Database::parse("postgres://u:p@localhost/db").unwrap(),
            Database::Postgres(_)
        ));
        let err = Database::parse("mysql://u:secret@h/db").unwrap_err();
        assert!(
            err.contains("sqlite://") && !err.contains("secret"),
            "{err}"
        );
        assert!(Database::parse("sqlite://").is_err());
        let shown = format!("{:?}", Database::parse("postgres://u:pw123@h/db").unwrap());
        assert!(!shown.contains("pw123"), "{shown}");
    }
}
