//! The on-disk index for large knowledge folders: built once into `index.path`, reused at
//! start-up while the folder's content hash is unchanged, rebuilt when it changes.

use std::fs;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use twox_hash::XxHash3_64;

use crate::knowledge::Knowledge;
use crate::search::SearchIndex;

/// The file beside the index that records what it was built from.
pub const MANIFEST: &str = "npq-bot-index.json";
/// Bumped whenever the index layout or text analysis changes, so old indexes are rebuilt.
const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Manifest {
    format: u32,
    content_hash: String,
    passages: u64,
}

/// A hash of every file the loader reads in `dir` (names and bytes), in a stable order.
pub fn content_hash(dir: &Path) -> anyhow::Result<String> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files).with_context(|| format!("cannot read {}", dir.display()))?;
    files.sort();
    let mut hasher = XxHash3_64::with_seed(0);
    for rel in files {
        let bytes = fs::read(dir.join(&rel))
            .with_context(|| format!("cannot read {}", dir.join(&rel).display()))?;
        hasher.write(rel.to_string_lossy().as_bytes());
        hasher.write_u8(0);
        hasher.write_u64(bytes.len() as u64);
        hasher.write(&bytes);
    }
    Ok(format!("{:016x}", hasher.finish()))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(['.', '_']) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(root, &path, out)?;
        } else {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

fn read_manifest(index_dir: &Path) -> Option<Manifest> {
    serde_json::from_slice(&fs::read(index_dir.join(MANIFEST)).ok()?).ok()
}

/// True when the index in `index_dir` was built from exactly the current content of `knowledge_dir`.
pub fn is_fresh(index_dir: &Path, knowledge_dir: &Path) -> anyhow::Result<bool> {
    let hash = content_hash(knowledge_dir)?;
    Ok(read_manifest(index_dir).is_some_and(|m| m.format == FORMAT && m.content_hash == hash))
}

/// Opens the index in `index_dir` when it is fresh, otherwise builds it there from `knowledge`.
pub fn open_or_build(
    index_dir: &Path,
    knowledge_dir: &Path,
    knowledge: &Knowledge,
) -> anyhow::Result<SearchIndex> {
    let hash = content_hash(knowledge_dir)?;
    if let Some(m) = read_manifest(index_dir) {
        if m.format == FORMAT && m.content_hash == hash {
            match SearchIndex::open_on_disk(index_dir) {
                Ok(index) if index.num_passages() == m.passages => return Ok(index),
                Ok(_) => tracing::warn!(
                    "the index in {} is incomplete; rebuilding it",
                    index_dir.display()
                ),
                Err(e) => tracing::warn!(
                    "cannot open the index in {} ({e}); rebuilding it",
                    index_dir.display()
                ),
            }
        }
    }
    build(index_dir, knowledge, &hash)
}

fn build(index_dir: &Path, knowledge: &Knowledge, hash: &str) -> anyhow::Result<SearchIndex> {
    clear(index_dir)?;
    let index = SearchIndex::build_on_disk(index_dir, &knowledge.passages())
        .with_context(|| format!("cannot build the index in {}", index_dir.display()))?;
    let manifest = Manifest {
        format: FORMAT,
        content_hash: hash.to_string(),
        passages: index.num_passages(),
    };
    // Written last: an interrupted build leaves no manifest and is rebuilt next time.
    fs::write(
        index_dir.join(MANIFEST),
        serde_json::to_vec_pretty(&manifest)?,
    )
    .with_context(|| format!("cannot write {}", index_dir.join(MANIFEST).display()))?;
    Ok(index)
}

/// Empties `index_dir` for a rebuild, refusing to touch a folder that is not an index of ours.
fn clear(index_dir: &Path) -> anyhow::Result<()> {
    if !index_dir.exists() {
        return Ok(());
    }
    let entries: Vec<PathBuf> = fs::read_dir(index_dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    let ours = entries.iter().all(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        name == MANIFEST
            || name == "meta.json"
            || name == ".managed.json"
            || name.starts_with(".tantivy")
            || name.contains('.')
                && name.split('.').next().is_some_and(|stem| {
                    stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit())
                })
    });
    if !ours {
        bail!(
            "index.path {} holds files that are not an npq-bot index; point index.path at an empty or new folder",
            index_dir.display()
        );
    }
    for p in entries {
        if p.is_dir() {
            fs::remove_dir_all(&p)?;
        } else {
            fs::remove_file(&p)?;
        }
    }
    Ok(())
}
