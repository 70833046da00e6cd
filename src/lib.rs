//! npq-bot answers school staff's questions about England's National Professional
//! Qualifications with short, sourced snippets from a folder of guidance.
//!
//! Data flows one way: `knowledge` (files) -> `search` (tantivy) -> `answer` (ranked,
//! cited snippets or a refusal) -> `render` (terminal, JSON) or `discord` (replies).

pub mod analysis;
pub mod answer;
pub mod config;
pub mod eval;
pub mod knowledge;
pub mod query;
pub mod render;
pub mod search;

use std::path::Path;

use anyhow::Context;

pub use answer::{Answer, Engine, ResultItem, Settings};
pub use config::Config;
pub use knowledge::Knowledge;

/// Loads a knowledge folder, failing with every `path:line` error when it has any.
pub fn load_knowledge(dir: &Path) -> anyhow::Result<Knowledge> {
    let loaded = knowledge::load(dir)?;
    Ok(loaded.into_knowledge()?)
}

/// Loads the knowledge folder and indexes it as the settings say.
pub fn load_engine(dir: &Path, settings: Settings) -> anyhow::Result<Engine> {
    let knowledge = load_knowledge(dir)?;
    Engine::new(&knowledge, settings).with_context(|| format!("cannot index {}", dir.display()))
}
