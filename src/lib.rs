//! npq-bot answers school staff's questions about England's National Professional
//! Qualifications with short, sourced snippets from a folder of guidance.
//!
//! Data flows one way: `knowledge` (files) -> `search` (tantivy) -> `answer` (ranked,
//! cited snippets or a refusal) -> `render` (terminal, JSON) or `discord` (replies).

pub mod analysis;
pub mod answer;
pub mod config;
pub mod corpus;
pub mod discord;
pub mod eval;
pub mod knowledge;
pub mod logging;
pub mod query;
pub mod render;
pub mod search;
pub mod store;

use std::path::Path;

use anyhow::Context;

pub use answer::{Answer, DocumentInfo, DocumentLister, Engine, ResultItem, Settings};
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
/// kept on disk there while the folder is unchanged (rebuilding it when it changed). Reusing
/// it reads only the folder's small shared files: no guidance document is parsed again.
pub fn open_engine(
    dir: &Path,
    settings: Settings,
    index_path: Option<&Path>,
) -> anyhow::Result<Engine> {
    let Some(path) = index_path else {
        let knowledge = load_knowledge(dir)?;
        return Engine::new(knowledge, settings)
            .with_context(|| format!("cannot index {}", dir.display()));
    };
    let content_hash = match store::open(path, dir)? {
        store::Opened::Fresh { index, documents } => {
            let shared = knowledge::load_without_documents(dir)?.into_knowledge()?;
            return Ok(Engine::with_index(&shared, documents, index, settings));
        }
        store::Opened::Stale { content_hash } => content_hash,
    };
    let mut knowledge = load_knowledge(dir)?;
    let expected = knowledge.passage_estimate();
    let mut lister = DocumentLister::default();
    // Each document is dropped once its passages are indexed: a large folder is never held
    // in memory twice.
    let passages = knowledge.drain_passages(|doc, n| lister.add(doc, n));
    let building = store::build(path, &content_hash, passages, expected)?;
    let documents = lister.finish();
    let index = building.finish(&documents)?;
    Ok(Engine::with_index(&knowledge, documents, index, settings))
}
