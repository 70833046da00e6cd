//! The on-disk index for large knowledge folders: built once into `index.path`, reused at
//! start-up while the folder's content hash is unchanged, rebuilt when it changes.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use twox_hash::XxHash3_64;

use crate::answer::DocumentInfo;
use crate::knowledge::{self, Passage, Source};
use crate::search::{PassageStems, SearchIndex};

/// The file beside the index that records what it was built from.
pub const MANIFEST: &str = "npq-bot-index.json";
/// The file beside the index that lists its documents, so a start-up reads no guidance file.
pub const DOCUMENTS: &str = "npq-bot-documents.json";
/// Bumped whenever the index layout or text analysis changes, so old indexes are rebuilt.
const FORMAT: u32 = 4;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Manifest {
    format: u32,
    /// [`analysis_fingerprint`] when the index was built.
    analysis: String,
    content_hash: String,
    passages: u64,
}

impl Manifest {
    fn is_for(&self, content_hash: &str) -> bool {
        self.format == FORMAT
            && self.content_hash == content_hash
            && self.analysis == analysis_fingerprint()
    }
}

/// The stems of a fixed text, the stop words, and the stored [`PassageStems`] of a fixed
/// passage. The index holds stems (its terms, and the topic stems, sentences and kinds of fact
/// re-ranking reads): one made by other text analysis (a changed tokenizer, stemmer, filter,
/// stop list, sentence splitter or fact test) is rebuilt, even when nobody remembered to bump
/// `FORMAT`.
fn analysis_fingerprint() -> String {
    const PROBE: &str =
        "The NPQs' funding: £1,200 for SENCOs (NPQH+ and NPQLTD) in 2024\u{2013}25, \
        per cent; teachers, leaders' leadership, assessing, assessed, assessment, organisation, \
        organised, criticised, criticism, qualifications, Maths, café, naïve, ½, TRN/URN.";
    let mut hasher = XxHash3_64::with_seed(0);
    for token in crate::analysis::tokens(PROBE) {
        hasher.write(token.stem.as_bytes());
        hasher.write_u8(u8::from(crate::analysis::is_stop_stem(&token.stem)));
    }
    let mut stop: Vec<&str> = crate::analysis::stop_stems().collect();
    stop.sort_unstable();
    for stem in stop {
        hasher.write(stem.as_bytes());
        hasher.write_u8(0);
    }
    let probe = Passage {
        doc_id: "probe".into(),
        title: "Costs and dates".into(),
        section: "How long, how much, when?".into(),
        text: format!(
            "It takes 18 months. It costs £2,420.\nThe window closes on 9 October 2026. \
            Three in ten leaders finish it, e.g. Dr. Smith. {PROBE}"
        ),
        keywords: "NPQH headship".into(),
        citations: Vec::new(),
    };
    PassageStems::of(&probe).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// The document list as kept beside the index: each distinct source once, cited by position.
#[derive(Debug, Default, Serialize, Deserialize)]
struct DocumentList {
    #[serde(with = "crate::knowledge::source::with_ids")]
    sources: Vec<Source>,
    documents: Vec<ListedDocument>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ListedDocument {
    id: String,
    title: String,
    sources: Vec<usize>,
    passages: usize,
}

impl DocumentList {
    fn new(documents: &[DocumentInfo]) -> DocumentList {
        let mut list = DocumentList::default();
        let mut position: HashMap<&Source, usize> = HashMap::new();
        for d in documents {
            let sources = d
                .sources
                .iter()
                .map(|s| {
                    *position.entry(s).or_insert_with(|| {
                        list.sources.push(Source::clone(s));
                        list.sources.len() - 1
                    })
                })
                .collect();
            list.documents.push(ListedDocument {
                id: d.id.clone(),
                title: d.title.clone(),
                sources,
                passages: d.passages,
            });
        }
        list
    }

    /// The documents, or `None` when a source position is out of range.
    fn into_documents(self) -> Option<Vec<DocumentInfo>> {
        let sources: Vec<Arc<Source>> = self.sources.into_iter().map(Arc::new).collect();
        self.documents
            .into_iter()
            .map(|d| {
                Some(DocumentInfo {
                    id: d.id,
                    title: d.title,
                    sources: d
                        .sources
                        .iter()
                        .map(|&i| sources.get(i).cloned())
                        .collect::<Option<_>>()?,
                    passages: d.passages,
                })
            })
            .collect()
    }
}

/// What `index.path` holds for a knowledge folder.
#[derive(Debug)]
pub enum Opened {
    /// An index of the folder's current content, with its document list: ready to answer from.
    Fresh {
        index: SearchIndex,
        documents: Vec<DocumentInfo>,
    },
    /// Nothing usable (missing, incomplete, an older format, or other content): build it
    /// again with [`build`] and this hash.
    Stale { content_hash: String },
}

/// A hash of every file the loader reads in `dir` (names and bytes), in a stable order. Files
/// are listed and read as the loader does them (regular files only, at most
/// [`knowledge::MAX_FILE_BYTES`]); one that cannot be read counts by its name and why, so the
/// hash never hangs on a FIFO and the loader reports the file.
pub fn content_hash(dir: &Path) -> anyhow::Result<String> {
    let listing =
        knowledge::list_files(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut files = listing.files;
    files.sort();
    let mut hasher = XxHash3_64::with_seed(0);
    for rel in files {
        hasher.write(rel.to_string_lossy().as_bytes());
        hasher.write_u8(0);
        match knowledge::read_capped(&dir.join(&rel)) {
            Ok(bytes) => {
                hasher.write_u64(bytes.len() as u64);
                hasher.write(&bytes);
            }
            Err(e) => {
                hasher.write_u64(u64::MAX);
                hasher.write(e.to_string().as_bytes());
            }
        }
    }
    Ok(format!("{:016x}", hasher.finish()))
}

fn read_manifest(index_dir: &Path) -> Option<Manifest> {
    serde_json::from_slice(&fs::read(index_dir.join(MANIFEST)).ok()?).ok()
}

/// True when the index in `index_dir` was built from exactly the current content of `knowledge_dir`.
pub fn is_fresh(index_dir: &Path, knowledge_dir: &Path) -> anyhow::Result<bool> {
    let hash = content_hash(knowledge_dir)?;
    Ok(read_manifest(index_dir).is_some_and(|m| m.is_for(&hash)))
}

/// Opens the index in `index_dir` when it was built from the current content of
/// `knowledge_dir`; reads the folder's files only to hash them.
pub fn open(index_dir: &Path, knowledge_dir: &Path) -> anyhow::Result<Opened> {
    let content_hash = content_hash(knowledge_dir)?;
    let Some(m) = read_manifest(index_dir) else {
        return Ok(Opened::Stale { content_hash });
    };
    if !m.is_for(&content_hash) {
        return Ok(Opened::Stale { content_hash });
    }
    let documents = fs::read(index_dir.join(DOCUMENTS))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<DocumentList>(&bytes).ok())
        .and_then(DocumentList::into_documents);
    let Some(documents) = documents else {
        tracing::warn!(
            "the document list in {} is missing or damaged; rebuilding the index",
            index_dir.display()
        );
        return Ok(Opened::Stale { content_hash });
    };
    match SearchIndex::open_on_disk(index_dir) {
        Ok(index) if index.num_passages() == m.passages => Ok(Opened::Fresh { index, documents }),
        Ok(_) => {
            tracing::warn!(
                "the index in {} is incomplete; rebuilding it",
                index_dir.display()
            );
            Ok(Opened::Stale { content_hash })
        }
        Err(e) => {
            tracing::warn!(
                "cannot open the index in {} ({e}); rebuilding it",
                index_dir.display()
            );
            Ok(Opened::Stale { content_hash })
        }
    }
}

/// Builds the index of `passages` (about `expected` of them) in `index_dir`, replacing an
/// older npq-bot index there. It is not used until [`Building::finish`] records the document
/// list and `content_hash` (from [`Opened::Stale`]) beside it.
pub fn build<P: Borrow<Passage>>(
    index_dir: &Path,
    content_hash: &str,
    passages: impl IntoIterator<Item = P>,
    expected: usize,
) -> anyhow::Result<Building> {
    clear(index_dir)?;
    let index = SearchIndex::build_on_disk(index_dir, passages, expected)
        .with_context(|| format!("cannot build the index in {}", index_dir.display()))?;
    Ok(Building {
        dir: index_dir.to_path_buf(),
        content_hash: content_hash.to_string(),
        index,
    })
}

/// An index written by [`build`] that is not yet recorded as fresh.
#[derive(Debug)]
pub struct Building {
    dir: PathBuf,
    content_hash: String,
    index: SearchIndex,
}

impl Building {
    /// Records the documents the passages came from and the content hash; from now on the
    /// index is reused while the folder keeps this content.
    pub fn finish(self, documents: &[DocumentInfo]) -> anyhow::Result<SearchIndex> {
        let path = self.dir.join(DOCUMENTS);
        fs::write(&path, serde_json::to_vec(&DocumentList::new(documents))?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let manifest = Manifest {
            format: FORMAT,
            analysis: analysis_fingerprint(),
            content_hash: self.content_hash,
            passages: self.index.num_passages(),
        };
        // Written last: an interrupted build leaves no manifest and is rebuilt next time.
        let path = self.dir.join(MANIFEST);
        fs::write(&path, serde_json::to_vec_pretty(&manifest)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(self.index)
    }
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
            || name == DOCUMENTS
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
