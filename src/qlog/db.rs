//! The log's tables in SQLite or PostgreSQL through `sqlx::Any`: one set of queries (`$1`
//! placeholders, which both read), migrations embedded per backend.

use std::borrow::Cow;
use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, ConnectOptions, Executor, Row};

use super::gaps::{GapRow, GapStatus};
use super::stats::StatRow;
use super::{from_ms, redact_url, to_ms, ChannelKind, Database, Entry, Logged};

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "question log",
    include_str!("../../migrations/sqlite/0001_question_log.sql"),
)];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "question log",
    include_str!("../../migrations/postgres/0001_question_log.sql"),
)];

/// The name of the vote key in `secrets`.
const VOTE_KEY: &str = "vote_key";

/// A pool on the log's database.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pool: AnyPool,
    /// Named in errors, password redacted.
    shown: String,
    /// SQLite (checkpointed after an erase) rather than PostgreSQL.
    sqlite: bool,
}

/// Creates an SQLite log file readable by its owner only (0600) when it does not exist yet;
/// SQLite gives its `-wal` and `-shm` files the same mode. An existing file is left as it is.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A database error with the URL's password removed from its text.
fn clean(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(redact_url(&e.to_string()))
}

impl Db {
    /// Connects, creating an SQLite file (and its folder) when missing, and applies the
    /// migrations not yet applied.
    pub async fn connect(database: &Database) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let shown = database.to_string();
        let (url, migrations, sqlite) = match database {
            Database::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).with_context(|| {
                        format!(
                            "cannot create the folder {} for log.database: create it, or point log.database elsewhere",
                            dir.display()
                        )
                    })?;
                }
                create_private(path).with_context(|| {
                    format!(
                        "cannot create the question log {}: make its folder writable by the bot, or point log.database elsewhere",
                        path.display()
                    )
                })?;
                let encoded: String = path
                    .to_string_lossy()
                    .chars()
                    .map(|c| match c {
                        '%' => "%25".to_string(),
                        '?' => "%3F".to_string(),
                        '#' => "%23".to_string(),
                        c => c.to_string(),
                    })
                    .collect();
                (
                    format!("sqlite://{encoded}?mode=rwc"),
                    SQLITE_MIGRATIONS,
                    true,
                )
            }
            Database::Postgres(url) => (url.clone(), POSTGRES_MIGRATIONS, false),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(clean)
            .with_context(|| format!("log.database {shown} is not a database URL"))?
            // Statements are never logged: they would be noise, and the log stays free of
            // anything asked.
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL: a killed writer loses no committed row and readers never block
                        // it; the busy timeout waits out another process's write.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        // An erased question is overwritten with zeros, not left in a free
                        // page for `strings` to find.
                        conn.execute("PRAGMA secure_delete = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(clean)
            .with_context(|| {
                format!("cannot open the question log at {shown}: check log.database (or set log.enabled = false)")
            })?;
        let migrator = Migrator {
            migrations: Cow::Owned(
                migrations
                    .iter()
                    .map(|(version, description, sql)| {
                        Migration::new(
                            *version,
                            Cow::Borrowed(*description),
                            MigrationType::Simple,
                            Cow::Borrowed(*sql),
                            false,
                        )
                    })
                    .collect(),
            ),
            ignore_missing: false,
            locking: true,
            no_tx: false,
        };
        migrator
            .run(&pool)
            .await
            .map_err(clean)
            .with_context(|| format!("cannot bring the question log at {shown} up to date"))?;
        Ok(Db {
            pool,
            shown,
            sqlite,
        })
    }

    /// The secret key votes are hashed under, made on first start. Two processes starting at
    /// once keep the same one: the first insert wins and both read it back.
    pub async fn vote_key(&self) -> anyhow::Result<[u8; 32]> {
        let fresh: [u8; 32] = rand::random();
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(VOTE_KEY)
        .bind(super::hex(&fresh))
        .execute(&self.pool)
        .await
        .map_err(clean)?;
        let row = sqlx::query("SELECT value FROM secrets WHERE name = $1")
            .bind(VOTE_KEY)
            .fetch_one(&self.pool)
            .await
            .map_err(clean)?;
        let text: String = row.try_get(0).map_err(clean)?;
        let mut key = [0u8; 32];
        let bytes: Vec<u8> = (0..text.len() / 2)
            .filter_map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        anyhow::ensure!(
            bytes.len() == 32,
            "the vote key in {} is damaged: delete the `vote_key` row of `secrets` to make a new one (earlier votes then count as new voters)",
            self.shown
        );
        key.copy_from_slice(&bytes);
        Ok(key)
    }

    pub async fn opt_outs(&self) -> anyhow::Result<HashSet<u64>> {
        let rows = sqlx::query("SELECT guild FROM opt_outs")
            .fetch_all(&self.pool)
            .await
            .map_err(clean)?;
        rows.iter()
            .map(|r| Ok(r.try_get::<i64, _>(0).map_err(clean)? as u64))
            .collect()
    }

    pub async fn set_opt_out(&self, guild: u64, opted_out: bool) -> anyhow::Result<()> {
        let query = if opted_out {
            sqlx::query("INSERT INTO opt_outs (guild, at_ms) VALUES ($1, $2) ON CONFLICT (guild) DO NOTHING")
                .bind(guild as i64)
                .bind(super::now_ms())
        } else {
            sqlx::query("DELETE FROM opt_outs WHERE guild = $1").bind(guild as i64)
        };
        query
            .execute(&self.pool)
            .await
            .map_err(clean)
            .with_context(|| format!("cannot store the opt-out in {}", self.shown))?;
        Ok(())
    }

    /// Writes a batch in one transaction: entries (an id already written is kept as it was),
    /// then votes, each only for an entry that is logged.
    pub async fn write(&self, entries: &[Entry], votes: &[Vote]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for e in entries {
            let inserted = sqlx::query(
                "INSERT INTO entries (id, at_ms, guild, kind, question, answered, knowledge_version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            )
            .bind(e.id)
            .bind(to_ms(e.at))
            .bind(e.guild.map(|g| g as i64))
            .bind(e.kind.as_str())
            .bind(text(&e.question))
            .bind(i64::from(e.answered))
            .bind(text(&e.knowledge_version))
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                continue;
            }
            for (rank, (passage, score)) in e.passages.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO passages (entry_id, rank, passage, score) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (entry_id, rank) DO NOTHING",
                )
                .bind(e.id)
                .bind(rank as i64)
                .bind(text(passage))
                .bind(if score.is_finite() { f64::from(*score) } else { 0.0 })
                .execute(&mut *tx)
                .await?;
            }
        }
        for v in votes {
            sqlx::query(
                "INSERT INTO votes (entry_id, voter, helpful, at_ms) \
                 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM entries WHERE id = $1) \
                 ON CONFLICT (entry_id, voter) DO UPDATE SET helpful = excluded.helpful, at_ms = excluded.at_ms",
            )
            .bind(v.entry_id)
            .bind(&v.voter)
            .bind(i64::from(v.helpful))
            .bind(v.at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Deletes the entries matching `condition` (on `entries`, with `$1`) and everything
    /// attached to them; returns how many entries.
    async fn erase(&self, condition: &str, value: i64) -> anyhow::Result<u64> {
        let mut tx = self.pool.begin().await.map_err(clean)?;
        for table in ["passages", "votes", "gap_marks"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE entry_id IN (SELECT id FROM entries WHERE {condition})"
            ))
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(clean)?;
        }
        let erased = sqlx::query(&format!("DELETE FROM entries WHERE {condition}"))
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(clean)?
            .rows_affected();
        tx.commit().await.map_err(clean)?;
        if self.sqlite && erased > 0 {
            // The write-ahead log still holds the pages as they were before the erase: copy
            // it into the file and empty it, so that nothing erased stays on disk.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
                .map_err(clean)?;
        }
        Ok(erased)
    }

    pub async fn purge_before(&self, cutoff_ms: i64) -> anyhow::Result<u64> {
        self.erase("at_ms < $1", cutoff_ms)
            .await
            .with_context(|| format!("cannot erase old questions from {}", self.shown))
    }

    pub async fn forget(&self, guild: u64) -> anyhow::Result<u64> {
        self.erase("guild = $1", guild as i64)
            .await
            .with_context(|| format!("cannot erase the guild's questions from {}", self.shown))
    }

    pub async fn entry(&self, id: i64) -> anyhow::Result<Option<Logged>> {
        let Some(row) = sqlx::query(
            "SELECT id, at_ms, guild, kind, question, answered, knowledge_version FROM entries WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(clean)?
        else {
            return Ok(None);
        };
        let kind: String = row.try_get(3).map_err(clean)?;
        let passages =
            sqlx::query("SELECT passage, score FROM passages WHERE entry_id = $1 ORDER BY rank")
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(clean)?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get::<String, _>(0).map_err(clean)?,
                        r.try_get::<f64, _>(1).map_err(clean)? as f32,
                    ))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
        let votes = sqlx::query("SELECT helpful FROM votes WHERE entry_id = $1")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(clean)?;
        let up = votes
            .iter()
            .filter(|r| r.try_get::<i64, _>(0).is_ok_and(|h| h != 0))
            .count() as u64;
        Ok(Some(Logged {
            entry: Entry {
                id: row.try_get(0).map_err(clean)?,
                at: from_ms(row.try_get(1).map_err(clean)?),
                guild: row
                    .try_get::<Option<i64>, _>(2)
                    .map_err(clean)?
                    .map(|g| g as u64),
                kind: ChannelKind::parse(&kind)
                    .with_context(|| format!("entry {id} has an unknown channel kind `{kind}`"))?,
                question: row.try_get(4).map_err(clean)?,
                answered: row.try_get::<i64, _>(5).map_err(clean)? != 0,
                passages,
                knowledge_version: row.try_get(6).map_err(clean)?,
            },
            thumbs_up: up,
            thumbs_down: votes.len() as u64 - up,
        }))
    }

    /// Refused questions and answers voted down more than up, since `since_ms`, oldest first.
    pub async fn gap_rows(&self, since_ms: i64) -> anyhow::Result<Vec<GapRow>> {
        let rows = sqlx::query(
            "SELECT e.id, e.at_ms, e.question, e.answered, \
                    (SELECT p.passage FROM passages p WHERE p.entry_id = e.id AND p.rank = 0), \
                    (SELECT m.status FROM gap_marks m WHERE m.entry_id = e.id), \
                    (SELECT COUNT(*) FROM votes v WHERE v.entry_id = e.id AND v.helpful = 0), \
                    (SELECT COUNT(*) FROM votes v WHERE v.entry_id = e.id AND v.helpful <> 0) \
             FROM entries e WHERE e.at_ms >= $1 ORDER BY e.at_ms, e.id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(clean)
        .with_context(|| format!("cannot read the gaps from {}", self.shown))?;
        let mut out = Vec::new();
        for r in &rows {
            let answered = r.try_get::<i64, _>(3).map_err(clean)? != 0;
            let down: i64 = r.try_get(6).map_err(clean)?;
            let up: i64 = r.try_get(7).map_err(clean)?;
            if answered && down <= up {
                continue;
            }
            let status: Option<String> = r.try_get(5).map_err(clean)?;
            out.push(GapRow {
                id: r.try_get(0).map_err(clean)?,
                at_ms: r.try_get(1).map_err(clean)?,
                question: r.try_get(2).map_err(clean)?,
                refused: !answered,
                top_passage: r.try_get(4).map_err(clean)?,
                status: status
                    .as_deref()
                    .and_then(GapStatus::parse)
                    .unwrap_or(GapStatus::Open),
            });
        }
        Ok(out)
    }

    pub async fn mark(&self, entries: &[i64], status: GapStatus) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await.map_err(clean)?;
        let now = super::now_ms();
        for id in entries {
            sqlx::query(
                "INSERT INTO gap_marks (entry_id, status, at_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (entry_id) DO UPDATE SET status = excluded.status, at_ms = excluded.at_ms",
            )
            .bind(*id)
            .bind(status.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(clean)?;
        }
        tx.commit()
            .await
            .map_err(clean)
            .with_context(|| format!("cannot store the gaps' status in {}", self.shown))
    }

    /// Each entry since `since_ms` with its top passage and votes.
    pub async fn stat_rows(&self, since_ms: i64) -> anyhow::Result<Vec<StatRow>> {
        let rows = sqlx::query(
            "SELECT e.at_ms, e.answered, \
                    (SELECT p.passage FROM passages p WHERE p.entry_id = e.id AND p.rank = 0), \
                    (SELECT COUNT(*) FROM votes v WHERE v.entry_id = e.id AND v.helpful <> 0), \
                    (SELECT COUNT(*) FROM votes v WHERE v.entry_id = e.id AND v.helpful = 0) \
             FROM entries e WHERE e.at_ms >= $1",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(clean)
        .with_context(|| format!("cannot read the figures from {}", self.shown))?;
        rows.iter()
            .map(|r| {
                Ok(StatRow {
                    at_ms: r.try_get(0).map_err(clean)?,
                    answered: r.try_get::<i64, _>(1).map_err(clean)? != 0,
                    top_passage: r.try_get(2).map_err(clean)?,
                    up: r.try_get::<i64, _>(3).map_err(clean)? as u64,
                    down: r.try_get::<i64, _>(4).map_err(clean)? as u64,
                })
            })
            .collect()
    }
}

/// A vote ready to write.
#[derive(Debug, Clone)]
pub(crate) struct Vote {
    pub entry_id: i64,
    pub voter: String,
    pub helpful: bool,
    pub at_ms: i64,
}

/// PostgreSQL refuses NUL in text: it is dropped rather than failing the batch.
fn text(s: &str) -> String {
    s.replace('\0', "")
}
