//! npq-bot answers school staff's questions about England's National Professional
//! Qualifications with short, sourced snippets from a folder of guidance.
//!
//! Data flows one way: `knowledge` (files) -> `retrieve` (`lexical`: tantivy BM25 over
//! stems; `semantic`: sentence embeddings; `fuse`: one ranking and the decision to answer)
//! -> `snippet` (the sentences that answer, cited to their own source) -> `answer` (the
//! engine's API: ranked, cited snippets or a refusal) -> `render` (terminal, JSON) or
//! `discord` (replies).

pub mod analysis;
pub mod answer;
pub mod config;
pub mod corpus;
pub mod discord;
pub mod eval;
pub mod knowledge;
pub mod logging;
pub mod names;
pub mod period;
pub mod qlog;
pub mod query;
pub mod render;
pub mod respell;
pub mod retrieve;
pub mod search;
pub mod snippet;
pub mod store;

use std::path::Path;

use anyhow::Context;

pub use answer::{
    Answer, DocumentInfo, DocumentLister, Engine, ResultItem, SemanticMode, Settings,
};
pub use retrieve::fuse::Weights;

/// Where a knowledge folder keeps the vectors of its passages, keyed by text and model.
pub const EMBEDDINGS_FILE: &str = ".embeddings.bin";
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
/// Strict: any error in the folder fails (see [`open_engine_with`] to skip broken files).
pub fn open_engine(
    dir: &Path,
    settings: Settings,
    index_path: Option<&Path>,
) -> anyhow::Result<Engine> {
    Ok(open_engine_with(dir, settings, index_path, true)?.engine)
}

/// An engine and the errors of the files it left out.
#[derive(Debug)]
pub struct Started {
    pub engine: Engine,
    /// `path:line` errors of the guidance files that were skipped (empty when `strict`).
    pub skipped: Vec<knowledge::Diagnostic>,
}

/// [`open_engine`]; unless `strict`, a guidance file with errors is skipped (and returned in
/// [`Started::skipped`], to be reported) and the rest is served. Errors in the shared files
/// fail either way.
pub fn open_engine_with(
    dir: &Path,
    settings: Settings,
    index_path: Option<&Path>,
    strict: bool,
) -> anyhow::Result<Started> {
    let started = open_lexical(dir, settings, index_path, strict)?;
    // Passages are embedded (or their vectors read from the folder's cache) once the lexical
    // index is ready; a large folder is embedded in the background.
    started
        .engine
        .attach_semantic(Some(&dir.join(EMBEDDINGS_FILE)));
    Ok(started)
}

/// True when `path` (which need not exist yet) is `dir` or lies under it, links resolved.
fn is_inside(path: &Path, dir: &Path) -> bool {
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return false;
    };
    // The nearest existing ancestor, resolved, with the rest of the path after it.
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let Ok(mut resolved) = std::fs::canonicalize(if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &existing
    }) else {
        return false;
    };
    for name in rest.iter().rev() {
        resolved.push(name);
    }
    resolved.starts_with(&dir)
}

fn open_lexical(
    dir: &Path,
    settings: Settings,
    index_path: Option<&Path>,
    strict: bool,
) -> anyhow::Result<Started> {
    if let Some(index) = index_path.filter(|index| is_inside(index, dir)) {
        anyhow::bail!(
            "index.path {} is inside the knowledge folder {}: the folder's watcher would take \
             every rebuild of the index for an edit and rebuild it again, forever; fix: put the \
             index outside the folder (for example /var/lib/npq-bot/index)",
            index.display(),
            dir.display()
        );
    }
    let load = || -> anyhow::Result<(Knowledge, Vec<knowledge::Diagnostic>)> {
        let loaded = knowledge::load(dir)?;
        if strict {
            Ok((loaded.into_knowledge()?, Vec::new()))
        } else {
            Ok(loaded.into_usable_knowledge(dir)?)
        }
    };
    let Some(path) = index_path else {
        let (knowledge, skipped) = load()?;
        let engine = Engine::new(knowledge, settings)
            .with_context(|| format!("cannot index {}", dir.display()))?;
        return Ok(Started { engine, skipped });
    };
    let from_store = |index, documents| -> anyhow::Result<Started> {
        let shared = knowledge::load_without_documents(dir)?.into_knowledge()?;
        let engine = Engine::with_index(&shared, documents, index, settings.clone());
        Ok(Started {
            engine,
            skipped: Vec::new(),
        })
    };
    // Opened under a shared lock, so no other process swaps the folder mid-open.
    let shared = store::Lock::shared(path)?;
    let writable = shared.is_some();
    if let store::Opened::Fresh { index, documents } = store::open(path, dir)? {
        return from_store(index, documents);
    }
    drop(shared);
    if !writable {
        anyhow::bail!(
            "index.path {} cannot be written (read-only, or no permission), and the index there does not match the knowledge folder: make it writable, or point index.path at a folder the bot can write",
            path.display()
        );
    }
    // One build at a time, across processes and reloads; the index may be fresh by now.
    let _building = store::Lock::exclusive(path)
        .with_context(|| format!("cannot lock index.path {}", path.display()))?;
    let content_hash = match store::open(path, dir)? {
        store::Opened::Fresh { index, documents } => return from_store(index, documents),
        store::Opened::Stale { content_hash } => content_hash,
    };
    let (mut knowledge, skipped) = load()?;
    let expected = knowledge.passage_estimate();
    let mut lister = DocumentLister::default();
    // Each document is dropped once its passages are indexed: a large folder is never held
    // in memory twice.
    let passages = knowledge.drain_passages(|doc, n| lister.add(doc, n));
    let building = store::build(path, &content_hash, passages, expected)?;
    let documents = lister.finish();
    let index = building.finish(&documents)?;
    let engine = Engine::with_index(&knowledge, documents, index, settings.clone());
    Ok(Started { engine, skipped })
}
