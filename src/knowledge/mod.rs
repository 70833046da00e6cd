//! The knowledge folder: guidance documents, the programme catalogue, the glossary and the
//! bot's wording, loaded with every problem collected as `path:line: message (fix)`.

pub mod catalogue;
pub mod dated;
pub mod diagnostic;
pub mod document;
pub mod freshness;
pub mod glossary;
pub mod markdown;
pub mod source;
pub mod wording;

use std::fs;
use std::path::{Path, PathBuf};

pub use catalogue::{Catalogue, Kind, Programme};
pub use diagnostic::{Diagnostic, Severity};
pub use document::{Document, Section};
pub use glossary::{Acronym, Glossary};
pub use source::{Bibliography, Source};
pub use wording::{Refusal, Wording};

use diagnostic::Report;

pub const PROGRAMMES_FILE: &str = "programmes.toml";
pub const GLOSSARY_FILE: &str = "glossary.toml";
pub const WORDING_FILE: &str = "wording.toml";
/// What `wording.toml`'s `[refusal]` section was called before the file held all the wording.
const OLD_REFUSAL_FILE: &str = "refusal.toml";
pub const BIBLIOGRAPHY_FILE: &str = "sources.json";

/// A section longer than this is split at paragraph boundaries into several passages.
pub const MAX_PASSAGE_CHARS: usize = 1_200;

/// Everything the bot knows, as loaded from one folder.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    pub documents: Vec<Document>,
    /// The kinds `programmes.toml` declares, in the order the programme list shows them.
    pub kinds: Vec<Kind>,
    pub programmes: Vec<Programme>,
    pub glossary: Glossary,
    pub wording: Wording,
    pub bibliography: Bibliography,
}

/// The unit of search and of answers: a section (or part of one) with its citation.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub doc_id: String,
    pub title: String,
    pub section: String,
    /// Plain text; paragraphs separated by `\n`.
    pub text: String,
    /// Programme codes, names and tags, searched with the text but not shown.
    pub keywords: String,
    /// Other wordings of the question the passage answers, matched by meaning like its
    /// heading and never shown (a section's `<!-- asked: -->` line).
    pub asked: Vec<String>,
    /// Every source the passage cites, the main one first.
    pub citations: Vec<Source>,
}

impl Passage {
    /// The main source, shown beside the snippet.
    pub fn citation(&self) -> &Source {
        &self.citations[0]
    }
}

/// A loaded folder and every problem found in it.
#[derive(Debug)]
pub struct Loaded {
    pub knowledge: Knowledge,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    /// The knowledge, or every error as one message when there is any.
    pub fn into_knowledge(self) -> Result<Knowledge, KnowledgeErrors> {
        let errors: Vec<Diagnostic> = self
            .diagnostics
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        if errors.is_empty() {
            Ok(self.knowledge)
        } else {
            Err(KnowledgeErrors(errors))
        }
    }
}

impl Loaded {
    /// The knowledge without the documents that have errors, and those errors (as `path:line`
    /// diagnostics) to report: one broken guidance file does not stop the rest being served.
    /// Errors in the shared files (`sources.json`, the three `.toml` files) or in the folder
    /// itself still fail, as does a folder left with nothing to answer from.
    pub fn into_usable_knowledge(
        self,
        dir: &Path,
    ) -> Result<(Knowledge, Vec<Diagnostic>), KnowledgeErrors> {
        let shared = [
            BIBLIOGRAPHY_FILE,
            PROGRAMMES_FILE,
            GLOSSARY_FILE,
            WORDING_FILE,
        ]
        .map(|f| dir.join(f));
        let (fatal, skipped): (Vec<Diagnostic>, Vec<Diagnostic>) = self
            .diagnostics
            .into_iter()
            .filter(Diagnostic::is_error)
            .partition(|d| d.path == dir || shared.contains(&d.path));
        if !fatal.is_empty() {
            let mut all = fatal;
            all.extend(skipped);
            return Err(KnowledgeErrors(all));
        }
        let broken: std::collections::HashSet<&Path> =
            skipped.iter().map(|d| d.path.as_path()).collect();
        let mut knowledge = self.knowledge;
        knowledge
            .documents
            .retain(|doc| !broken.contains(dir.join(&doc.file).as_path()));
        if knowledge.documents.is_empty() && knowledge.programmes.is_empty() {
            let mut all = skipped;
            all.push(Diagnostic::error(
                dir,
                0,
                "the knowledge folder holds no document without errors",
                "fix the errors above",
            ));
            return Err(KnowledgeErrors(all));
        }
        Ok((knowledge, skipped))
    }
}

/// The errors that make a knowledge folder unusable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the knowledge folder has {} error(s):\n{}", .0.len(), .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct KnowledgeErrors(pub Vec<Diagnostic>);

/// A folder that cannot be read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the knowledge folder {}: {source} (fix: point --knowledge or knowledge.dir in bot.toml at a folder of .md files)", .dir.display())]
pub struct FolderError {
    pub dir: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Reads every file of `dir`, collecting all problems rather than stopping at the first.
pub fn load(dir: &Path) -> Result<Loaded, FolderError> {
    let listing = list_files(dir).map_err(|source| FolderError {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut files = listing.files;
    files.sort();
    // The bibliography is read first: documents and programme cards cite its ids.
    if let Some(i) = files
        .iter()
        .position(|f| f.as_os_str() == BIBLIOGRAPHY_FILE)
    {
        files.swap(0, i);
    }
    let mut loaded = load_files(dir, files, true, crate::period::today());
    for (rel, why) in listing.skipped {
        loaded.diagnostics.push(Diagnostic::warning(
            &dir.join(rel),
            0,
            format!("{why}; it is not read"),
            if why == UNREADABLE {
                "make it readable by the bot, or move it out of the knowledge folder (or name it with a leading `.` or `_` to leave it out)"
            } else {
                "keep only regular files (and links to files inside the folder) in the knowledge folder"
            },
        ));
    }
    Ok(loaded)
}

/// Reads only the folder's small shared files (`sources.json`, `programmes.toml`,
/// `glossary.toml`, `wording.toml`), leaving `documents` empty: for starting from an on-disk
/// index built from the same content, without parsing every guidance document again.
pub fn load_without_documents(dir: &Path) -> Result<Loaded, FolderError> {
    if let Err(source) = fs::read_dir(dir) {
        return Err(FolderError {
            dir: dir.to_path_buf(),
            source,
        });
    }
    let files = [
        BIBLIOGRAPHY_FILE,
        PROGRAMMES_FILE,
        GLOSSARY_FILE,
        WORDING_FILE,
    ]
    .into_iter()
    .map(PathBuf::from)
    .filter(|f| dir.join(f).is_file())
    .collect();
    Ok(load_files(dir, files, false, crate::period::today()))
}

/// Reads `files` (relative to `dir`, the bibliography first); `whole` when they are the whole
/// folder, so that a folder without documents is an error. Dates are read against `today`.
fn load_files(dir: &Path, files: Vec<PathBuf>, whole: bool, today: freshness::Day) -> Loaded {
    let mut knowledge = Knowledge::default();
    let mut diagnostics = Vec::new();
    let mut programme_refs = Vec::new();
    let mut ids = DocumentIds::default();
    // For `check`: the glossary's dated topics, and each guidance document's text and tags.
    let mut dated_rules = None;
    let mut guidance_texts: Vec<(PathBuf, Vec<String>, String)> = Vec::new();
    for rel in files {
        let display = dir.join(&rel);
        let mut report = Report::new(&display);
        let name = rel.to_string_lossy().replace('\\', "/");
        let ext = rel
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_lowercase();
        let readable = matches!(ext.as_str(), "md" | "markdown" | "txt")
            || matches!(
                name.as_str(),
                PROGRAMMES_FILE | GLOSSARY_FILE | WORDING_FILE | BIBLIOGRAPHY_FILE
            );
        if name == OLD_REFUSAL_FILE {
            report.warning(
                0,
                format!("{OLD_REFUSAL_FILE} is no longer read: the refusal is now the [refusal] section of {WORDING_FILE}"),
                format!("move its message, topics and elsewhere under a [refusal] line in {WORDING_FILE}, then delete {OLD_REFUSAL_FILE}"),
            );
            diagnostics.append(&mut report.diagnostics);
            continue;
        }
        if !readable {
            report.warning(0, "npq-bot reads only .md and .txt files, sources.json and the three .toml files; this file is ignored", "convert it to Markdown (.md), or move it out of the knowledge folder");
            diagnostics.append(&mut report.diagnostics);
            continue;
        }
        if let Some(text) = read_text(&display, &mut report) {
            match name.as_str() {
                BIBLIOGRAPHY_FILE => {
                    knowledge.bibliography = Bibliography::parse(&text, &mut report)
                }
                PROGRAMMES_FILE => {
                    let catalogue = catalogue::parse(&text, &knowledge.bibliography, &mut report);
                    knowledge.kinds = catalogue.kinds;
                    knowledge.programmes = catalogue.programmes;
                }
                GLOSSARY_FILE => {
                    knowledge.glossary = glossary::parse(&text, &mut report);
                    dated_rules = dated::parse(&text, &mut report);
                }
                WORDING_FILE => knowledge.wording = wording::parse(&text, &mut report),
                _ => {
                    let (doc, refs) =
                        document::parse(&rel, &text, &knowledge.bibliography, &mut report);
                    programme_refs.extend(refs.into_iter().map(|r| (display.clone(), r)));
                    if let Some(mut doc) = doc {
                        if whole && doc.has_front_matter {
                            guidance_texts.push((display.clone(), doc.tags.clone(), text.clone()));
                        }
                        if !doc.has_front_matter {
                            // A plain file is dated by its last change: the one date it has.
                            doc.modified = fs::metadata(&display)
                                .and_then(|m| m.modified())
                                .ok()
                                .map(|t| freshness::format_day(crate::period::date_of(t)));
                        }
                        if let Some(other) = ids.first_with(&doc, knowledge.documents.len()) {
                            let other = &knowledge.documents[other].file;
                            report.error(0, format!("the document id \"{}\" is also used by {}", doc.id, other), "rename one of the two files: a document's id is its path without the extension");
                        } else {
                            knowledge.documents.push(doc);
                        }
                    }
                }
            }
        }
        let dates = std::mem::take(&mut report.dates);
        freshness::review(&dates, today, &mut report);
        diagnostics.append(&mut report.diagnostics);
    }

    for (path, r) in programme_refs {
        if !knowledge
            .programmes
            .iter()
            .any(|p| p.code.eq_ignore_ascii_case(&r.code))
        {
            let known: Vec<&str> = knowledge
                .programmes
                .iter()
                .map(|p| p.code.as_str())
                .collect();
            let fix = if known.is_empty() {
                format!("add the programme to {PROGRAMMES_FILE}, or remove it from `programmes`")
            } else {
                format!("use a code from {PROGRAMMES_FILE}: {}", known.join(", "))
            };
            diagnostics.push(Diagnostic::error(
                &path,
                r.line,
                format!("unknown programme code \"{}\"", r.code),
                fix,
            ));
        }
    }
    if let Some(rules) = &dated_rules {
        for (path, tags, text) in &guidance_texts {
            let mut report = Report::new(path);
            dated::review(text, tags, rules, &mut report);
            diagnostics.append(&mut report.diagnostics);
        }
    }
    // A document that failed to load cites nothing, so citations are counted only in a folder
    // without errors.
    if whole && !diagnostics.iter().any(Diagnostic::is_error) {
        diagnostics.extend(uncited_sources(dir, &knowledge));
    }
    if whole
        && knowledge.documents.is_empty()
        && knowledge.programmes.is_empty()
        && !diagnostics.iter().any(Diagnostic::is_error)
    {
        diagnostics.push(Diagnostic::error(
            dir,
            0,
            "the knowledge folder holds no documents",
            "add .md files with `## ` sections (see docs/knowledge-format.md)",
        ));
    }
    Loaded {
        knowledge,
        diagnostics,
    }
}

/// A warning for each entry of `sources.json` that no section and no programme card cites:
/// its facts are either missing or cited to another source. A section without a
/// `<!-- sources: -->` line cites its document's first source.
fn uncited_sources(dir: &Path, knowledge: &Knowledge) -> Vec<Diagnostic> {
    let mut cited: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for doc in &knowledge.documents {
        for section in &doc.sections {
            let sources = if section.sources.is_empty() {
                doc.sources.first().into_iter().collect::<Vec<_>>()
            } else {
                section.sources.iter().collect()
            };
            cited.extend(sources.into_iter().filter_map(|s| s.id.as_deref()));
        }
    }
    for p in &knowledge.programmes {
        cited.extend(p.sources.iter().filter_map(|s| s.id.as_deref()));
    }
    let path = dir.join(BIBLIOGRAPHY_FILE);
    knowledge
        .bibliography
        .ids_with_lines()
        .filter(|(id, _)| !cited.contains(id))
        .map(|(id, line)| {
            Diagnostic::warning(
                &path,
                line,
                format!("no section or programme card cites the source \"{id}\""),
                format!("name it in the `<!-- sources: {id} -->` line of the sections whose facts it gives, or remove it from {BIBLIOGRAPHY_FILE}"),
            )
        })
        .collect()
}

/// Which document holds each id, so a duplicate is found in constant time (a scan of every
/// document loaded so far made loading 50,000 files quadratic).
#[derive(Debug, Default)]
struct DocumentIds(std::collections::HashMap<String, usize>);

impl DocumentIds {
    /// The position of the document that already has `doc`'s id; otherwise records `doc` as
    /// the one at `position` and returns `None`.
    fn first_with(&mut self, doc: &Document, position: usize) -> Option<usize> {
        match self.0.entry(doc.id.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(position);
                None
            }
        }
    }
}

/// The largest file the loader reads; a bigger one is reported and skipped, so a huge or
/// endless file (`/dev/zero` linked in) cannot exhaust memory.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// What is in a knowledge folder: the files to read (relative paths) and the entries that are
/// not read, with why.
#[derive(Debug, Default)]
pub struct Listing {
    pub files: Vec<PathBuf>,
    pub skipped: Vec<(PathBuf, &'static str)>,
}

/// Lists the files under `dir`, skipping names that start with `.` or `_`. Only regular files
/// are listed: FIFOs, sockets and devices are skipped (reading a FIFO would hang), and so are
/// symbolic links unless they lead to a regular file inside the folder.
pub fn list_files(dir: &Path) -> std::io::Result<Listing> {
    let root = fs::canonicalize(dir)?;
    let mut listing = Listing::default();
    walk(&root, dir, dir, &mut listing)?;
    Ok(listing)
}

/// Why a folder or entry under the root is skipped when it cannot be read (`lost+found`, a
/// folder of another user, a path longer than the system allows): the rest is still served.
const UNREADABLE: &str =
    "a folder or entry that cannot be read (no permission, or a path too long)";

fn walk(canonical_root: &Path, root: &Path, dir: &Path, out: &mut Listing) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else {
            let rel = dir.strip_prefix(root).unwrap_or(dir).to_path_buf();
            out.skipped.push((rel, UNREADABLE));
            continue;
        };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let path = entry.path();
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        // `file_type` does not follow symbolic links.
        let Ok(kind) = entry.file_type() else {
            out.skipped.push((rel, UNREADABLE));
            continue;
        };
        if kind.is_dir() {
            // Only the folder itself must be readable; one bad subfolder is skipped.
            if walk(canonical_root, root, &path, out).is_err() {
                out.skipped.push((rel, UNREADABLE));
            }
        } else if kind.is_file() {
            out.files.push(rel);
        } else if kind.is_symlink() {
            match fs::canonicalize(&path) {
                // Listed, so that reading it reports "cannot read the file" as an error.
                Err(_) => out.files.push(rel),
                Ok(target) if !target.starts_with(canonical_root) => out
                    .skipped
                    .push((rel, "a symbolic link to outside the knowledge folder")),
                Ok(target) if target.is_file() => out.files.push(rel),
                Ok(_) => out
                    .skipped
                    .push((rel, "a symbolic link to something other than a file")),
            }
        } else {
            out.skipped
                .push((rel, "not a regular file (a FIFO, socket or device)"));
        }
    }
    Ok(())
}

/// Why a file's bytes could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file (a FIFO, socket or device)")]
    NotRegular,
    #[error("the file is larger than {} MB", MAX_FILE_BYTES / (1024 * 1024))]
    TooLarge,
}

/// The bytes of a regular file of at most [`MAX_FILE_BYTES`]. It is opened without blocking
/// and checked on the open handle, so a file swapped for a FIFO after listing cannot hang the
/// read, and at most one byte past the cap is read.
pub fn read_capped(path: &Path) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

/// Reads a file as UTF-8, reporting an unreadable file or the line of the first bad byte.
fn read_text(path: &Path, report: &mut Report) -> Option<String> {
    let bytes = match read_capped(path) {
        Ok(b) => b,
        Err(ReadError::Io(e)) => {
            report.error(
                0,
                format!("cannot read the file: {e}"),
                "check the file's permissions",
            );
            return None;
        }
        Err(e @ ReadError::NotRegular) => {
            report.error(
                0,
                e.to_string(),
                "keep only regular files in the knowledge folder",
            );
            return None;
        }
        Err(e @ ReadError::TooLarge) => {
            report.error(
                0,
                e.to_string(),
                "split it into several smaller files, one per topic",
            );
            return None;
        }
    };
    decode(bytes, report)
}

/// A file's bytes as UTF-8 text, or None with an error at the line of the first bad byte.
pub fn decode(bytes: Vec<u8>, report: &mut Report) -> Option<String> {
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) => {
            let bytes = e.as_bytes();
            let valid = e.utf8_error().valid_up_to();
            let line = bytes[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
            report.error(
                line,
                "the file is not UTF-8 text",
                "save the file as UTF-8 (in most editors: Save As, encoding UTF-8)",
            );
            None
        }
    }
}

impl Knowledge {
    /// Every passage: document sections (long ones split at paragraphs) and programme cards.
    pub fn passages(&self) -> Vec<Passage> {
        let mut out = Vec::new();
        for doc in &self.documents {
            out.extend(self.document_passages(doc));
        }
        out.extend(self.programme_passages());
        out
    }

    /// The same passages as [`Knowledge::passages`], made one document at a time and taking
    /// the documents out of `self` as it goes, so a large folder is never held twice.
    /// `seen` is told each document and how many passages it made.
    pub fn drain_passages<'a>(
        &'a mut self,
        mut seen: impl FnMut(&Document, usize) + 'a,
    ) -> impl Iterator<Item = Passage> + 'a {
        let documents = std::mem::take(&mut self.documents);
        let this: &'a Knowledge = self;
        documents
            .into_iter()
            .flat_map(move |doc| {
                let passages = this.document_passages(&doc);
                seen(&doc, passages.len());
                passages
            })
            .chain(this.programme_passages())
    }

    /// About how many passages the folder makes (sections and programme cards; long sections
    /// make more), without making them.
    pub fn passage_estimate(&self) -> usize {
        self.documents
            .iter()
            .map(|d| d.sections.len())
            .sum::<usize>()
            + self.programmes.len()
    }

    fn document_passages(&self, doc: &Document) -> Vec<Passage> {
        let mut out = Vec::new();
        let mut keywords: Vec<String> = doc.tags.clone();
        for code in &doc.programmes {
            keywords.push(code.clone());
            if let Some(p) = self
                .programmes
                .iter()
                .find(|p| p.code.eq_ignore_ascii_case(code))
            {
                keywords.push(p.name.clone());
            }
        }
        let keywords = keywords.join(" ");
        for section in &doc.sections {
            let citations = if !section.sources.is_empty() {
                section.sources.clone()
            } else {
                vec![doc.sources.first().cloned().unwrap_or_else(|| {
                    Source::local(
                        &doc.title,
                        doc.modified.as_deref().unwrap_or(source::UNDATED),
                    )
                })]
            };
            for text in split_blocks(&section.blocks, MAX_PASSAGE_CHARS) {
                out.push(Passage {
                    doc_id: doc.id.clone(),
                    title: doc.title.clone(),
                    section: section.heading.clone(),
                    text,
                    keywords: keywords.clone(),
                    asked: section.asked.clone(),
                    citations: citations.clone(),
                });
            }
        }
        out
    }

    fn programme_passages(&self) -> Vec<Passage> {
        self.programmes
            .iter()
            .map(|p| Passage {
                doc_id: format!("{}#{}", PROGRAMMES_FILE, p.code.to_lowercase()),
                title: format!("{} ({})", p.name, p.code),
                // The card's own title; a made-up heading would add words nobody wrote.
                section: format!("{} ({})", p.name, p.code),
                text: p.card_text().join("\n"),
                keywords: std::iter::once(p.code.clone())
                    .chain(p.aliases.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" "),
                asked: p.asked.clone(),
                citations: if p.sources.is_empty() {
                    vec![Source::unsourced(PROGRAMMES_FILE)]
                } else {
                    p.sources.clone()
                },
            })
            .collect()
    }

    /// Distinct sources cited anywhere in the folder.
    pub fn source_count(&self) -> usize {
        let mut all: Vec<(&str, &str, &str)> = self
            .documents
            .iter()
            .flat_map(|d| d.sources.iter())
            .chain(self.programmes.iter().flat_map(|p| p.sources.iter()))
            .map(|s| (s.publisher.as_str(), s.title.as_str(), s.date.as_str()))
            .collect();
        all.sort();
        all.dedup();
        all.len()
    }
}

/// Groups paragraphs into chunks of at most `max` bytes; a longer paragraph is first cut at
/// sentence ends (else at a space), so one huge paragraph never becomes one huge passage.
/// The entries of a list written in a data file, trimmed, empty ones left out.
pub(crate) fn trimmed(list: Vec<String>) -> Vec<String> {
    list.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn split_blocks(blocks: &[String], max: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for block in blocks.iter().flat_map(|b| split_long(b, max)) {
        if !current.is_empty() && current.len() + block.len() + 1 > max {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(block);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// `block` in pieces of at most `max` bytes, cut after the last sentence end (`.`, `?` or `!`
/// before a space) in each window, else at its last space, else at a character boundary.
fn split_long(block: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = block;
    while rest.len() > max {
        let mut end = max;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let window = &rest[..end];
        let sentence = window
            .char_indices()
            .rev()
            .find(|&(i, c)| {
                matches!(c, '.' | '?' | '!')
                    && rest[i + 1..].starts_with(char::is_whitespace)
                    && i + 1 > max / 4
            })
            .map(|(i, _)| i + 1);
        let space = || window.rfind(char::is_whitespace).filter(|&i| i > 0);
        let cut = sentence.or_else(space).unwrap_or(end.max(1));
        pieces.push(rest[..cut].trim_end());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A subfolder that cannot be read (here: nested past the system's path length, which
    /// stops root too) is reported as a warning naming it, and the rest is still read.
    #[test]
    fn an_unreadable_subfolder_is_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("knowledge");
        copy_bundled(&folder);
        // Made with relative paths, which no path length limits.
        let made = std::process::Command::new("sh")
            .arg("-c")
            .arg("cd deep && for i in $(seq 1 300); do mkdir d0123456789abcdef && cd d0123456789abcdef || break; done")
            .current_dir({
                std::fs::create_dir(folder.join("deep")).unwrap();
                &folder
            })
            .status()
            .unwrap();
        assert!(made.success());
        let loaded = load(&folder).expect("the folder loads");
        assert!(!loaded.knowledge.documents.is_empty());
        let warned: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("cannot be read"))
            .collect();
        assert_eq!(warned.len(), 1, "{:#?}", loaded.diagnostics);
        assert!(warned[0].path.starts_with(folder.join("deep")));
        // `rm` removes what is too deep for a path.
        std::process::Command::new("rm")
            .args(["-rf", "deep"])
            .current_dir(&folder)
            .status()
            .unwrap();
    }

    fn copy_bundled(to: &Path) {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        std::fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap().flatten() {
            if entry.file_type().unwrap().is_file() {
                fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }

    #[test]
    fn a_huge_paragraph_is_split_at_sentences() {
        let sentence = "The NPQH takes eighteen months and is assessed by a case study. ";
        let paragraph = sentence.repeat(2_000);
        let chunks = split_blocks(&[paragraph.trim_end().to_string()], MAX_PASSAGE_CHARS);
        assert!(chunks.len() > 100, "{}", chunks.len());
        for c in &chunks {
            assert!(c.len() <= MAX_PASSAGE_CHARS, "{}", c.len());
            assert!(c.ends_with("case study."), "{c:?}");
        }
        let words = |t: &str| t.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&chunks.join(" ")), words(&paragraph));
        // No sentence end: cut at spaces; no space either: at character boundaries.
        let unpunctuated = "café ".repeat(1_000);
        assert!(split_blocks(&[unpunctuated], 100)
            .iter()
            .all(|c| c.len() <= 100));
        let solid = "é".repeat(1_000);
        let pieces = split_blocks(std::slice::from_ref(&solid), 101);
        assert!(pieces.iter().all(|c| c.len() <= 101));
        assert_eq!(pieces.concat(), solid);
    }

    fn document(id: &str) -> Document {
        Document {
            id: id.to_string(),
            file: format!("{id}.md"),
            title: id.to_string(),
            updated: None,
            sources: vec![],
            tags: vec![],
            programmes: vec![],
            sections: vec![],
            has_front_matter: true,
            modified: None,
        }
    }

    /// 200,000 documents: a scan per document (the old way) would take minutes.
    #[test]
    fn duplicate_ids_are_found_in_linear_time() {
        let docs: Vec<Document> = (0..200_000).map(|i| document(&format!("d{i}"))).collect();
        let started = std::time::Instant::now();
        let mut ids = DocumentIds::default();
        for (i, d) in docs.iter().enumerate() {
            assert_eq!(ids.first_with(d, i), None);
        }
        assert_eq!(ids.first_with(&document("d123"), docs.len()), Some(123));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn long_sections_split_at_paragraphs() {
        let blocks: Vec<String> = (0..5).map(|i| format!("{i}{}", "x".repeat(99))).collect();
        let chunks = split_blocks(&blocks, 250);
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c.len() <= 250));
        assert_eq!(chunks.join("\n"), blocks.join("\n"));
    }
}
