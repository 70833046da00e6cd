//! What the bot holds while it runs: the engine (swapped whole on reload), counters for
//! the admin `stats`, recent questions for paging, and the guards.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;

use super::authored::{Authored, NotSaved};
use super::guard::RateLimiter;
use super::reloads::LastReload;
use crate::answer::{Answer, Engine, Settings};
use crate::config::DiscordConfig;
use crate::knowledge::wording::Commands;
use crate::qlog::QuestionLog;

/// How many recent questions are kept for their More and feedback buttons.
const REMEMBERED_QUESTIONS: usize = 5_000;

/// How many questions are ranked at once: the number of cores, at least two.
fn answer_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// How long a direct-message asker's guild membership is trusted before it is looked up again.
const MEMBERSHIP_KEPT: std::time::Duration = std::time::Duration::from_secs(600);

/// Counters since start.
#[derive(Debug, Default)]
pub struct Stats {
    pub asked: AtomicU64,
    pub answered: AtomicU64,
    pub refused: AtomicU64,
    pub helpful: AtomicU64,
    pub not_helpful: AtomicU64,
}

impl Stats {
    pub fn count(&self, answer: &Answer) {
        self.asked.fetch_add(1, Ordering::Relaxed);
        if answer.answered {
            self.answered.fetch_add(1, Ordering::Relaxed);
        } else {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A question kept for its buttons.
#[derive(Debug, Clone)]
pub struct Asked {
    pub question: String,
    pub asker: u64,
    /// Its entry in the question log, for the feedback buttons; `None` when not logged.
    pub entry: Option<i64>,
    /// Who has given feedback on this answer; forgotten with the question, so votes stay bounded.
    voters: HashSet<u64>,
}

/// What a feedback press did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote {
    Counted,
    AlreadyGiven,
    /// No such question (too old, from before a restart, or made up): nothing is counted.
    Unknown,
}

/// The recent questions, by id, oldest first in `order`.
#[derive(Debug, Default)]
struct Remembered {
    by_id: HashMap<u64, Asked>,
    order: VecDeque<u64>,
}

/// The bot's shared state.
pub struct State {
    engine: ArcSwap<Engine>,
    /// The slash commands' names and descriptions as registered at start: a reload that
    /// changes them in `wording.toml` takes effect at the next start.
    pub commands: Commands,
    pub knowledge_dir: PathBuf,
    /// Where answers written from Discord are saved (`knowledge.local`).
    pub local_dir: PathBuf,
    /// The question log, when `log.enabled`.
    pub log: Option<QuestionLog>,
    /// How many days of the log the gap buttons look through (`log.retention_days`).
    pub log_days: u32,
    /// True while the knowledge folder is watched for changes.
    pub watching: std::sync::atomic::AtomicBool,
    /// The content hash of the knowledge folder serving now, recorded with each question.
    knowledge_version: Mutex<String>,
    last_reload: Mutex<Option<LastReload>>,
    /// `knowledge.strict`: a reload with any broken file is refused rather than skipping it.
    pub strict: bool,
    pub settings: Settings,
    pub index_path: Option<PathBuf>,
    pub config: DiscordConfig,
    pub stats: Stats,
    pub limiter: RateLimiter,
    /// Button presses per user and minute (four times the question rate, at least 10).
    pub press_limiter: RateLimiter,
    /// Public notes (a refusal in reply to a mention): one per user and minute, so a flood of
    /// mentions cannot make the bot flood the channel.
    pub note_limiter: RateLimiter,
    pub started: Instant,
    asked: Mutex<Remembered>,
    /// Permits for answering on tokio's blocking threads: at most one question per core is
    /// ranked at once, and never on the async workers that keep the gateway alive.
    answering: tokio::sync::Semaphore,
    answering_threads: usize,
    /// The questions waiting for a permit, by ticket, with when each began to wait.
    waiting: Mutex<BTreeMap<u64, Instant>>,
    next_ticket: std::sync::atomic::AtomicU64,
    /// A moving average of how long the pool takes over one answer, in microseconds.
    answer_micros: AtomicU64,
    /// Held through a reload, so that two run one after the other and the newer content wins.
    reloading: Mutex<()>,
    /// Whether a user is a member of an allowed guild (for direct messages), and since when.
    memberships: Mutex<HashMap<u64, (Instant, bool)>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("knowledge_dir", &self.knowledge_dir)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// What a reload did.
#[derive(Debug, Clone)]
pub enum Reloaded {
    Swapped {
        documents: usize,
        passages: u64,
        /// `path:line` errors of the files left out.
        skipped: Vec<String>,
    },
    /// The new files have errors; the old index keeps serving.
    Kept(Vec<String>),
}

impl State {
    pub fn new(
        engine: Engine,
        knowledge_dir: PathBuf,
        settings: Settings,
        index_path: Option<PathBuf>,
        config: DiscordConfig,
        strict: bool,
    ) -> Arc<State> {
        Arc::new(State::unshared(
            engine,
            knowledge_dir,
            settings,
            index_path,
            config,
            strict,
        ))
    }

    /// [`State::new`] before it is shared, for [`State::configure`].
    pub fn unshared(
        engine: Engine,
        knowledge_dir: PathBuf,
        settings: Settings,
        index_path: Option<PathBuf>,
        config: DiscordConfig,
        strict: bool,
    ) -> State {
        let limiter = RateLimiter::per_minute(config.rate_limit_per_minute);
        let press_limiter =
            RateLimiter::per_minute(config.rate_limit_per_minute.saturating_mul(4).max(10));
        let note_limiter = RateLimiter::per_minute(1);
        State {
            commands: engine.wording.commands.clone(),
            engine: ArcSwap::from_pointee(engine),
            local_dir: knowledge_dir.join("local"),
            log: None,
            log_days: 90,
            watching: std::sync::atomic::AtomicBool::new(false),
            knowledge_version: Mutex::new(String::new()),
            last_reload: Mutex::new(None),
            knowledge_dir,
            strict,
            settings,
            index_path,
            config,
            stats: Stats::default(),
            limiter,
            press_limiter,
            note_limiter,
            started: Instant::now(),
            asked: Mutex::new(Remembered::default()),
            memberships: Mutex::new(HashMap::new()),
            reloading: Mutex::new(()),
            answering: tokio::sync::Semaphore::new(answer_threads()),
            answering_threads: answer_threads(),
            waiting: Mutex::new(BTreeMap::new()),
            next_ticket: std::sync::atomic::AtomicU64::new(0),
            answer_micros: AtomicU64::new(0),
        }
    }

    /// The engine serving now; a reload swaps it without disturbing answers in flight.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.load_full()
    }

    /// Remembers a question under `id`, the Discord id (a snowflake) of the interaction or
    /// message that asked it: unique across restarts, so a button from before a restart never
    /// finds a newer question, and the buttons can be checked against the message they are on.
    pub fn remember(&self, id: u64, question: &str, asker: u64, entry: Option<i64>) -> u64 {
        let mut guard = self.asked.lock().unwrap_or_else(|e| e.into_inner());
        let remembered = &mut *guard;
        let fresh = Asked {
            question: question.to_string(),
            asker,
            entry,
            voters: HashSet::new(),
        };
        if remembered.by_id.insert(id, fresh).is_none() {
            remembered.order.push_back(id);
        }
        while remembered.order.len() > REMEMBERED_QUESTIONS {
            if let Some(old) = remembered.order.pop_front() {
                remembered.by_id.remove(&old);
            }
        }
        id
    }

    pub fn recall(&self, id: u64) -> Option<Asked> {
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .get(&id)
            .cloned()
    }

    /// Counts a vote once per user on a question the bot remembers.
    pub fn vote(&self, question_id: u64, user: u64, helpful: bool) -> Vote {
        let mut guard = self.asked.lock().unwrap_or_else(|e| e.into_inner());
        let Some(asked) = guard.by_id.get_mut(&question_id) else {
            return Vote::Unknown;
        };
        if !asked.voters.insert(user) {
            return Vote::AlreadyGiven;
        }
        let counter = if helpful {
            &self.stats.helpful
        } else {
            &self.stats.not_helpful
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Vote::Counted
    }

    /// Runs `work` (ranking a question) on a blocking thread once a permit is free: a burst of
    /// questions queues here instead of stalling the async workers or spawning without bound.
    pub async fn on_answer_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let waiting = Waiting {
            queue: &self.waiting,
            ticket,
        };
        waiting.lock().insert(ticket, Instant::now());
        let permit = self.answering.acquire().await;
        // Answered or given up (the task dropped while waiting): no longer waiting.
        drop(waiting);
        let _permit = permit?;
        let started = Instant::now();
        let done = tokio::task::spawn_blocking(work).await?;
        // One eighth of the newest answer's time, seven eighths of the average before it.
        let took = started.elapsed().as_micros() as u64;
        let before = self.answer_micros.load(Ordering::Relaxed);
        let average = if before == 0 {
            took
        } else {
            (before * 7 + took) / 8
        };
        self.answer_micros.store(average, Ordering::Relaxed);
        Ok(done)
    }

    /// How long the question that has waited longest for the answering pool has been waiting
    /// (zero when none waits). The pool serves in order, so a new question waits at least as
    /// long.
    pub fn longest_wait(&self) -> std::time::Duration {
        let queue = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        queue
            .first_key_value()
            .map(|(_, since)| since.elapsed())
            .unwrap_or_default()
    }

    /// How long a question asked now would wait for the pool: the longer of the longest wait
    /// so far and the questions ahead of it times the recent time per answer, shared by the
    /// pool's threads (a burst fills the queue before anyone in it has waited long).
    pub fn expected_wait(&self) -> std::time::Duration {
        let ahead = self.waiting() as u64;
        let per_answer = self.answer_micros.load(Ordering::Relaxed);
        let queued = std::time::Duration::from_micros(
            ahead.saturating_mul(per_answer) / self.answering_threads as u64,
        );
        self.longest_wait().max(queued)
    }

    /// True when a new question would wait longer than `discord.busy_after_ms` for its answer.
    pub fn is_busy(&self) -> bool {
        self.expected_wait() > std::time::Duration::from_millis(self.config.busy_after_ms)
    }

    /// The questions waiting for the answering pool now.
    pub fn waiting(&self) -> usize {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// A remembered answer to "is this user in an allowed guild?", for at most ten minutes.
    pub fn known_membership(&self, user: u64) -> Option<bool> {
        let map = self.memberships.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&user)
            .filter(|(at, _)| at.elapsed() < MEMBERSHIP_KEPT)
            .map(|(_, member)| *member)
    }

    pub fn note_membership(&self, user: u64, member: bool) {
        let mut map = self.memberships.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= REMEMBERED_QUESTIONS {
            map.retain(|_, (at, _)| at.elapsed() < MEMBERSHIP_KEPT);
            if map.len() >= REMEMBERED_QUESTIONS {
                map.clear();
            }
        }
        map.insert(user, (Instant::now(), member));
    }

    /// The knowledge folder's version as of the last load.
    pub fn knowledge_version(&self) -> String {
        self.knowledge_version
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the folder's version again (a content hash of its files).
    pub fn note_knowledge_version(&self) {
        let version = crate::qlog::knowledge_version(&self.knowledge_dir);
        *self
            .knowledge_version
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = version;
    }

    pub fn note_reload(&self, last: LastReload) {
        *self.last_reload.lock().unwrap_or_else(|e| e.into_inner()) = Some(last);
    }

    pub fn last_reload(&self) -> Option<LastReload> {
        self.last_reload
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads the knowledge folder again and swaps the engine in one step; when the files have
    /// errors the old engine stays and the errors are returned.
    pub fn reload(&self) -> Reloaded {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        self.reload_locked()
    }

    /// Writes an answer into the local folder once the folder with it passes the checks of
    /// `npq-bot check`, then reloads; both under the reload lock.
    pub fn save_and_reload(&self, entry: &Authored) -> Result<(PathBuf, Reloaded), NotSaved> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let today = {
            let (y, m, d) = crate::period::today();
            format!("{y:04}-{m:02}-{d:02}")
        };
        let path = super::authored::save(&self.knowledge_dir, &self.local_dir, entry, &today)?;
        Ok((path, self.reload_locked()))
    }

    fn reload_locked(&self) -> Reloaded {
        let outcome = match crate::open_engine_with(
            &self.knowledge_dir,
            self.settings.clone(),
            self.index_path.as_deref(),
            self.strict,
        ) {
            Ok(started) => {
                let engine = started.engine;
                let documents = engine.documents.len();
                let passages = engine.num_passages();
                if engine.wording.commands != self.commands {
                    tracing::warn!(
                        "the [commands] of {} changed; the slash commands keep their names and descriptions until the bot is restarted",
                        crate::knowledge::WORDING_FILE
                    );
                }
                self.engine.store(Arc::new(engine));
                Reloaded::Swapped {
                    documents,
                    passages,
                    skipped: started.skipped.iter().map(|d| d.to_string()).collect(),
                }
            }
            Err(err) => {
                let lines = match err.downcast_ref::<crate::knowledge::KnowledgeErrors>() {
                    Some(errors) => errors.0.iter().map(|d| d.to_string()).collect(),
                    None => vec![format!("{err:#}")],
                };
                Reloaded::Kept(lines)
            }
        };
        if matches!(outcome, Reloaded::Swapped { .. }) {
            self.note_knowledge_version();
        }
        outcome
    }

    /// Sets where answers from Discord are saved and the question log (for `serve`).
    pub fn configure(&mut self, local_dir: PathBuf, log: Option<QuestionLog>, log_days: u32) {
        self.local_dir = local_dir;
        self.log = log;
        self.log_days = log_days.max(1);
    }
}

/// A question's place in the queue for the answering pool, left when dropped (also when the
/// asking task is cancelled while it waits).
struct Waiting<'a> {
    queue: &'a Mutex<BTreeMap<u64, Instant>>,
    ticket: u64,
}

impl Waiting<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Instant>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.lock().remove(&self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Arc<State> {
        state_with(crate::config::Config::defaults().discord)
    }

    fn state_with(config: crate::config::DiscordConfig) -> Arc<State> {
        let engine = Engine::new(crate::Knowledge::default(), Settings::default()).unwrap();
        State::new(
            engine,
            PathBuf::from("knowledge"),
            Settings::default(),
            None,
            config,
            false,
        )
    }

    /// Work holding every permit of the answering pool until `release`.
    struct Held {
        gate: Arc<std::sync::Barrier>,
        tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    }

    impl Held {
        async fn every_permit(state: &Arc<State>) -> Held {
            let gate = Arc::new(std::sync::Barrier::new(answer_threads() + 1));
            let tasks = (0..answer_threads())
                .map(|_| {
                    let (state, gate) = (state.clone(), gate.clone());
                    tokio::spawn(async move {
                        state
                            .on_answer_pool(move || {
                                gate.wait();
                            })
                            .await
                    })
                })
                .collect();
            while state.answering.available_permits() > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Held { gate, tasks }
        }

        async fn release(self) {
            let gate = self.gate;
            tokio::task::spawn_blocking(move || {
                gate.wait();
            })
            .await
            .unwrap();
            for t in self.tasks {
                t.await.unwrap().unwrap();
            }
        }
    }

    #[test]
    fn votes_count_once_and_only_on_questions_the_bot_asked() {
        let state = state();
        assert_eq!(state.vote(1234, 7, true), Vote::Unknown);
        assert_eq!(state.stats.helpful.load(Ordering::Relaxed), 0);
        state.remember(1234, "how long is the NPQH", 9, None);
        assert_eq!(state.vote(1234, 7, true), Vote::Counted);
        assert_eq!(state.vote(1234, 7, false), Vote::AlreadyGiven);
        assert_eq!(state.vote(1234, 8, false), Vote::Counted);
        assert_eq!(state.stats.helpful.load(Ordering::Relaxed), 1);
        assert_eq!(state.stats.not_helpful.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_run_on_a_bounded_blocking_pool() {
        let state = state();
        let running = Arc::new(AtomicU64::new(0));
        let most = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let (state, running, most) = (state.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    state
                        .on_answer_pool(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        // The async workers stay free while the pool is busy.
        let started = Instant::now();
        tokio::task::yield_now().await;
        assert!(started.elapsed() < std::time::Duration::from_millis(20));
        for t in tasks {
            t.await.unwrap();
        }
        let most = most.load(Ordering::SeqCst) as usize;
        assert!(most >= 1 && most <= answer_threads(), "{most}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_question_waiting_longer_than_busy_after_makes_the_bot_busy_until_the_queue_drains() {
        let mut config = crate::config::Config::defaults().discord;
        config.busy_after_ms = 250;
        let state = state_with(config);
        assert!(!state.is_busy());
        // Every permit is held by work that waits for the gate; one question more waits.
        let held = Held::every_permit(&state).await;
        let waiter = {
            let state = state.clone();
            tokio::spawn(async move { state.on_answer_pool(|| ()).await })
        };
        while state.waiting() < 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(state.waiting(), 1);
        assert!(!state.is_busy(), "not yet waited long");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(state.longest_wait() >= std::time::Duration::from_millis(300));
        assert!(state.is_busy());
        // The pool frees up: the waiting question is answered and the bot is not busy.
        held.release().await;
        waiter.await.unwrap().unwrap();
        assert_eq!(state.waiting(), 0);
        assert!(!state.is_busy());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deep_queue_is_busy_before_anyone_in_it_has_waited_long() {
        let mut config = crate::config::Config::defaults().discord;
        config.busy_after_ms = 250;
        let state = state_with(config);
        let held = Held::every_permit(&state).await;
        // Answers have lately taken 100 ms; eight questions wait for two threads.
        state.answer_micros.store(100_000, Ordering::Relaxed);
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let state = state.clone();
                tokio::spawn(async move { state.on_answer_pool(|| ()).await })
            })
            .collect();
        while state.waiting() < 8 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let expected = state.expected_wait();
        let threads = answer_threads() as u64;
        assert!(
            expected >= std::time::Duration::from_millis(800 / threads),
            "{expected:?}"
        );
        assert!(state.longest_wait() < expected);
        assert_eq!(state.is_busy(), 800 / threads > 250);
        held.release().await;
        for t in waiters {
            t.await.unwrap().unwrap();
        }
        assert_eq!(state.expected_wait(), std::time::Duration::ZERO);
    }

    #[test]
    fn a_question_given_up_while_waiting_leaves_the_queue() {
        let state = state();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let held = Held::every_permit(&state).await;
            let waiter = {
                let state = state.clone();
                tokio::spawn(async move { state.on_answer_pool(|| ()).await })
            };
            while state.waiting() < 1 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            waiter.abort();
            let _ = waiter.await;
            assert_eq!(state.waiting(), 0);
            held.release().await;
        });
    }

    #[test]
    fn old_questions_and_their_votes_are_forgotten() {
        let state = state();
        for id in 1..=(REMEMBERED_QUESTIONS as u64 + 10) {
            state.remember(id, "q", 1, None);
            state.vote(id, 2, true);
        }
        assert!(state.recall(1).is_none());
        assert_eq!(state.vote(1, 3, true), Vote::Unknown);
        let kept = state.asked.lock().unwrap();
        assert_eq!(kept.by_id.len(), REMEMBERED_QUESTIONS);
        assert_eq!(kept.order.len(), REMEMBERED_QUESTIONS);
    }
}
