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
const FORMAT: u32 = 7;

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
        asked: Vec::new(),
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
// Made once per start or reload; boxing the index would only add an allocation.
#[allow(clippy::large_enum_variant)]
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
                // A file without front matter is cited with the day it last changed.
                if !knowledge::document::starts_with_front_matter(&bytes) {
                    hasher.write(modified_day(&dir.join(&rel)).as_bytes());
                }
            }
            Err(e) => {
                hasher.write_u64(u64::MAX);
                hasher.write(e.to_string().as_bytes());
            }
        }
    }
    Ok(format!("{:016x}", hasher.finish()))
}

/// The day a file last changed, as its citation shows it; empty when it cannot be read.
fn modified_day(path: &Path) -> String {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|t| knowledge::freshness::format_day(crate::period::date_of(t)))
        .unwrap_or_default()
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
    // Flipped bytes would make questions panic later; tantivy's per-file checksums find them.
    match damaged_files(index_dir) {
        Ok(damaged) if damaged.is_empty() => {}
        Ok(damaged) => {
            tracing::warn!(
                files = damaged.len(),
                "the index in {} is damaged (checksums do not match); rebuilding it",
                index_dir.display()
            );
            return Ok(Opened::Stale { content_hash });
        }
        Err(e) => {
            if let Some(io) = permission_error(&e) {
                bail!(
                    "cannot open the index in {}: {io} (the index matches the knowledge folder; give the bot read access to index.path)",
                    index_dir.display()
                );
            }
            tracing::warn!(
                "cannot check the index in {} ({e}); rebuilding it",
                index_dir.display()
            );
            return Ok(Opened::Stale { content_hash });
        }
    }
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

/// The files of the index in `index_dir` whose checksum does not match their content.
fn damaged_files(index_dir: &Path) -> tantivy::Result<std::collections::HashSet<PathBuf>> {
    tantivy::Index::open_in_dir(index_dir)?.validate_checksum()
}

/// The I/O error inside a tantivy error when it is one of permissions (or a read-only place),
/// which rebuilding would not cure.
fn permission_error(e: &tantivy::TantivyError) -> Option<&std::io::Error> {
    use tantivy::directory::error::{OpenDirectoryError, OpenReadError};
    let io: &std::io::Error = match e {
        tantivy::TantivyError::OpenReadError(OpenReadError::IoError { io_error, .. })
        | tantivy::TantivyError::OpenDirectoryError(OpenDirectoryError::IoError {
            io_error, ..
        }) => io_error,
        tantivy::TantivyError::IoError(io_error) => io_error,
        _ => return None,
    };
    (io.kind() == std::io::ErrorKind::PermissionDenied).then_some(io)
}

/// Builds the index of `passages` (about `expected` of them) for `index_dir`, to replace an
/// older npq-bot index there. It is written into a new hidden sibling folder; the index in
/// `index_dir` is untouched (and keeps serving, here and in other processes) until
/// [`Building::finish`] renames the new one into place. Call it holding [`Lock::exclusive`].
pub fn build<P: Borrow<Passage>>(
    index_dir: &Path,
    content_hash: &str,
    passages: impl IntoIterator<Item = P>,
    expected: usize,
) -> anyhow::Result<Building> {
    if index_dir.exists() && !is_ours(index_dir)? {
        bail!(
            "index.path {} holds files that are not an npq-bot index; point index.path at an empty or new folder",
            index_dir.display()
        );
    }
    remove_leftovers(index_dir);
    let temp = sibling(index_dir, "building");
    let index = SearchIndex::build_on_disk(&temp, passages, expected);
    let index = match index {
        Ok(index) => index,
        Err(e) => {
            let _ = fs::remove_dir_all(&temp);
            return Err(anyhow::Error::new(e).context(format!(
                "cannot build the index for {} (is the disk full?); the index there is left as it was",
                index_dir.display()
            )));
        }
    };
    Ok(Building {
        dir: index_dir.to_path_buf(),
        temp,
        content_hash: content_hash.to_string(),
        passages: index.num_passages(),
    })
}

/// An index written by [`build`] in its temporary folder, not yet in place.
#[derive(Debug)]
pub struct Building {
    dir: PathBuf,
    temp: PathBuf,
    content_hash: String,
    passages: u64,
}

impl Building {
    /// Records the documents the passages came from and the content hash, then renames the new
    /// index into place (the old one is moved aside and deleted; a process that has it open
    /// keeps reading its files) and opens it there. On any error the old index stays.
    pub fn finish(self, documents: &[DocumentInfo]) -> anyhow::Result<SearchIndex> {
        let result = self.write_and_swap(documents);
        if result.is_err() {
            let _ = fs::remove_dir_all(&self.temp);
        }
        result?;
        SearchIndex::open_on_disk(&self.dir)
            .with_context(|| format!("cannot open the new index in {}", self.dir.display()))
    }

    fn write_and_swap(&self, documents: &[DocumentInfo]) -> anyhow::Result<()> {
        let path = self.temp.join(DOCUMENTS);
        fs::write(&path, serde_json::to_vec(&DocumentList::new(documents))?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let manifest = Manifest {
            format: FORMAT,
            analysis: analysis_fingerprint(),
            content_hash: self.content_hash.clone(),
            passages: self.passages,
        };
        // Written last: an interrupted build leaves no manifest.
        let path = self.temp.join(MANIFEST);
        fs::write(&path, serde_json::to_vec_pretty(&manifest)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let old = sibling(&self.dir, "old");
        let moved = match fs::rename(&self.dir, &old) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot move the old index {} aside",
                    self.dir.display()
                )))
            }
        };
        if let Err(e) = fs::rename(&self.temp, &self.dir) {
            if moved {
                let _ = fs::rename(&old, &self.dir);
            }
            return Err(anyhow::Error::new(e).context(format!(
                "cannot move the new index into {}",
                self.dir.display()
            )));
        }
        if moved {
            let _ = fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

/// A hidden folder beside `index_dir` for `purpose` ("building", "old"), unique to this process
/// and moment: `.index.building-<pid>-<n>`.
fn sibling(index_dir: &Path, purpose: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = index_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "index".to_string());
    index_dir.with_file_name(format!(
        ".{name}.{purpose}-{}-{n}-{nanos}",
        std::process::id()
    ))
}

/// Removes the temporary folders a build that was interrupted (killed, disk full) left beside
/// `index_dir`. Only called under the exclusive lock, so no other build is using them.
fn remove_leftovers(index_dir: &Path) {
    let (Some(parent), Some(name)) = (index_dir.parent(), index_dir.file_name()) else {
        return;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefixes = [
        format!(".{}.building-", name.to_string_lossy()),
        format!(".{}.old-", name.to_string_lossy()),
    ];
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if prefixes.iter().any(|p| file.starts_with(p.as_str())) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// True when every file in `index_dir` is one an npq-bot index holds.
fn is_ours(index_dir: &Path) -> anyhow::Result<bool> {
    let entries: Vec<PathBuf> = fs::read_dir(index_dir)
        .with_context(|| format!("cannot read index.path {}", index_dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    Ok(entries.iter().all(|p| {
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
    }))
}

/// An advisory lock (`flock`) on a file beside `index.path`, `.<name>.lock`: shared while an
/// index is opened, exclusive while one is built and swapped in, so processes sharing one
/// `index.path` never open a folder another is replacing, and only one builds at a time (in
/// this process too: each lock is its own open file).
#[derive(Debug)]
pub struct Lock {
    _file: fs::File,
}

impl Lock {
    /// Waits for a shared lock. `Ok(None)` when the lock file cannot be created because the
    /// place is read-only (or not ours to write): a fresh index there can still be opened.
    pub fn shared(index_dir: &Path) -> anyhow::Result<Option<Lock>> {
        match Lock::take(index_dir, false) {
            Ok(lock) => Ok(Some(lock)),
            Err(e) if cannot_write(&e) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("cannot lock index.path {}", index_dir.display()))),
        }
    }

    /// Waits for the exclusive lock, for building.
    pub fn exclusive(index_dir: &Path) -> std::io::Result<Lock> {
        Lock::take(index_dir, true)
    }

    /// The lock file for `index_dir`.
    pub fn path(index_dir: &Path) -> PathBuf {
        let name = index_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "index".to_string());
        index_dir.with_file_name(format!(".{name}.lock"))
    }

    fn take(index_dir: &Path, exclusive: bool) -> std::io::Result<Lock> {
        if let Some(parent) = index_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(Lock::path(index_dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            let how = if exclusive {
                libc::LOCK_EX
            } else {
                libc::LOCK_SH
            };
            loop {
                // SAFETY: flock on a descriptor this function owns; no memory is shared.
                let done = unsafe { libc::flock(file.as_raw_fd(), how) };
                if done == 0 {
                    break;
                }
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
        #[cfg(not(unix))]
        let _ = exclusive;
        Ok(Lock { _file: file })
    }
}

/// True for the errors of a place the bot may read but not write: a read-only file system,
/// missing permissions, or a lock path that is not a file.
pub fn cannot_write(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem | ErrorKind::IsADirectory
    ) || e.raw_os_error() == Some(libc::EROFS)
}
