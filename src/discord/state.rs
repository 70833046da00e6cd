//! What the bot holds while it runs: the engine (swapped whole on reload), counters for
//! `/npq-admin stats`, recent questions for paging, and the guards.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;

use super::guard::RateLimiter;
use crate::answer::{Answer, Engine, Settings};
use crate::config::DiscordConfig;

/// How many recent questions are kept for their More and feedback buttons.
const REMEMBERED_QUESTIONS: usize = 5_000;

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
}

/// The bot's shared state.
pub struct State {
    engine: ArcSwap<Engine>,
    pub knowledge_dir: PathBuf,
    pub settings: Settings,
    pub index_path: Option<PathBuf>,
    pub config: DiscordConfig,
    pub stats: Stats,
    pub limiter: RateLimiter,
    pub started: Instant,
    asked: Mutex<(u64, HashMap<u64, Asked>, VecDeque<u64>)>,
    votes: Mutex<HashSet<(u64, u64)>>,
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
#[derive(Debug)]
pub enum Reloaded {
    Swapped {
        documents: usize,
        passages: u64,
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
    ) -> Arc<State> {
        let limiter = RateLimiter::per_minute(config.rate_limit_per_minute);
        Arc::new(State {
            engine: ArcSwap::from_pointee(engine),
            knowledge_dir,
            settings,
            index_path,
            config,
            stats: Stats::default(),
            limiter,
            started: Instant::now(),
            asked: Mutex::new((0, HashMap::new(), VecDeque::new())),
            votes: Mutex::new(HashSet::new()),
        })
    }

    /// The engine serving now; a reload swaps it without disturbing answers in flight.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.load_full()
    }

    /// Remembers a question and returns its id for the buttons.
    pub fn remember(&self, question: &str, asker: u64) -> u64 {
        let mut guard = self.asked.lock().unwrap_or_else(|e| e.into_inner());
        let (next, map, order) = &mut *guard;
        *next += 1;
        let id = *next;
        map.insert(
            id,
            Asked {
                question: question.to_string(),
                asker,
            },
        );
        order.push_back(id);
        while order.len() > REMEMBERED_QUESTIONS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        id
    }

    pub fn recall(&self, id: u64) -> Option<Asked> {
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .get(&id)
            .cloned()
    }

    /// Counts a vote once per user and question; false when the user already voted.
    pub fn vote(&self, question_id: u64, user: u64, helpful: bool) -> bool {
        let mut votes = self.votes.lock().unwrap_or_else(|e| e.into_inner());
        if !votes.insert((question_id, user)) {
            return false;
        }
        let counter = if helpful {
            &self.stats.helpful
        } else {
            &self.stats.not_helpful
        };
        counter.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Loads the knowledge folder again and swaps the engine in one step; when the files have
    /// errors the old engine stays and the errors are returned.
    pub fn reload(&self) -> Reloaded {
        match crate::open_engine(
            &self.knowledge_dir,
            self.settings.clone(),
            self.index_path.as_deref(),
        ) {
            Ok(engine) => {
                let documents = engine.documents.len();
                let passages = engine.num_passages();
                self.engine.store(Arc::new(engine));
                Reloaded::Swapped {
                    documents,
                    passages,
                }
            }
            Err(err) => {
                let lines = match err.downcast_ref::<crate::knowledge::KnowledgeErrors>() {
                    Some(errors) => errors.0.iter().map(|d| d.to_string()).collect(),
                    None => vec![format!("{err:#}")],
                };
                Reloaded::Kept(lines)
            }
        }
    }
}
