//! The one task that writes the log: it takes rows off the queue in batches, commits each batch
//! in a transaction, and while the database is down keeps them and retries with backoff.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot};

use super::db::{Db, Vote};
use super::{now_ms, redact_url, to_ms, Entry, DAY};

/// Rows committed in one transaction at most.
const BATCH: usize = 1_000;
/// How often old rows are purged and stored opt-outs reread.
const PURGE_EVERY: Duration = Duration::from_secs(3_600);
const OPT_OUTS_EVERY: Duration = Duration::from_secs(60);
/// One warning per this while the database stays unwritable.
const WARN_EVERY: Duration = Duration::from_secs(60);
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// What the queue carries.
pub(crate) enum Item {
    Entry(Box<Entry>),
    Vote {
        entry_id: i64,
        voter: String,
        helpful: bool,
        at: SystemTime,
    },
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

pub(crate) struct Writer {
    pub db: Db,
    pub rx: mpsc::Receiver<Item>,
    pub retention_days: u32,
    pub opt_outs: Arc<RwLock<HashSet<u64>>>,
    pub dropped: Arc<AtomicU64>,
}

pub(crate) fn spawn(writer: Writer) {
    tokio::spawn(writer.run());
}

impl Writer {
    async fn run(mut self) {
        let mut last_purge: Option<Instant> = None;
        let mut last_opt_outs = Instant::now();
        let mut entries: Vec<Entry> = Vec::new();
        let mut votes: Vec<Vote> = Vec::new();
        let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
        let mut warned: Option<Instant> = None;
        let mut failures: u64 = 0;
        let mut closed = false;
        loop {
            if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                let cutoff = now_ms() - i64::from(self.retention_days) * DAY * 1000;
                match self.db.purge_before(cutoff).await {
                    Ok(n) if n > 0 => {
                        tracing::info!("question log: erased {n} entries past log.retention_days")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("question log: {e:#}"),
                }
                last_purge = Some(Instant::now());
            }
            if last_opt_outs.elapsed() >= OPT_OUTS_EVERY {
                // Another process may have changed them.
                if let Ok(stored) = self.db.opt_outs().await {
                    *self.opt_outs.write().unwrap_or_else(|e| e.into_inner()) = stored;
                }
                last_opt_outs = Instant::now();
            }
            if entries.is_empty() && votes.is_empty() && waiting.is_empty() {
                if closed {
                    return;
                }
                match tokio::time::timeout(OPT_OUTS_EVERY, self.rx.recv()).await {
                    Ok(Some(item)) => take(item, &mut entries, &mut votes, &mut waiting),
                    Ok(None) => closed = true,
                    Err(_) => continue,
                }
            }
            while entries.len() + votes.len() < BATCH {
                match self.rx.try_recv() {
                    Ok(item) => take(item, &mut entries, &mut votes, &mut waiting),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            if entries.is_empty() && votes.is_empty() {
                for done in waiting.drain(..) {
                    let _ = done.send(());
                }
                continue;
            }
            match self.db.write(&entries, &votes).await {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(
                            "question log: writing again after {failures} failed attempts; nothing queued was lost"
                        );
                    }
                    failures = 0;
                    warned = None;
                    entries.clear();
                    votes.clear();
                    // Everything queued before a flush taken here is in this batch.
                    for done in waiting.drain(..) {
                        let _ = done.send(());
                    }
                }
                Err(e) => {
                    failures += 1;
                    if warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
                        // The error names the database and what went wrong, never a question.
                        tracing::warn!(
                            "question log: cannot write {} rows ({}); answering goes on, rows are kept and retried ({} dropped so far because the queue was full)",
                            entries.len() + votes.len(),
                            redact_url(&e.to_string()),
                            self.dropped.load(Ordering::Relaxed)
                        );
                        warned = Some(Instant::now());
                    }
                    let backoff = BACKOFF_FIRST
                        .saturating_mul(1 << failures.min(10))
                        .min(BACKOFF_MAX);
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }
}

fn take(
    item: Item,
    entries: &mut Vec<Entry>,
    votes: &mut Vec<Vote>,
    waiting: &mut Vec<oneshot::Sender<()>>,
) {
    match item {
        Item::Entry(e) => entries.push(*e),
        Item::Vote {
            entry_id,
            voter,
            helpful,
            at,
        } => votes.push(Vote {
            entry_id,
            voter,
            helpful,
            at_ms: to_ms(at),
        }),
        Item::Flush(done) => waiting.push(done),
    }
}
