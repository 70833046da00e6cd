//! npq-bot answers school staff's questions about England's National Professional
//! Qualifications with short, sourced snippets from a folder of guidance.
//!
//! Data flows one way: `knowledge` (files) -> `search` (tantivy) -> `answer` (ranked,
//! cited snippets or a refusal) -> `render` (terminal, JSON) or `discord` (replies).

pub mod analysis;
pub mod answer;
pub mod config;
pub mod discord;
pub mod eval;
pub mod knowledge;
pub mod query;
pub mod render;
pub mod search;
pub mod store;

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

/// Loads the knowledge folder and indexes it in RAM.
pub fn load_engine(dir: &Path, settings: Settings) -> anyhow::Result<Engine> {
    open_engine(dir, settings, None)
}

/// Loads the knowledge folder and indexes it in RAM, or, with `index_path`, reuses the index
/// kept on disk there while the folder is unchanged (rebuilding it when it changed).
pub fn open_engine(
    dir: &Path,
    settings: Settings,
    index_path: Option<&Path>,
) -> anyhow::Result<Engine> {
    let knowledge = load_knowledge(dir)?;
    match index_path {
        None => Engine::new(&knowledge, settings)
            .with_context(|| format!("cannot index {}", dir.display())),
        Some(path) => {
            let index = store::open_or_build(path, dir, &knowledge)?;
            Ok(Engine::with_index(&knowledge, index, settings))
        }
    }
}
