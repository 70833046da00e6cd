//! The tantivy index over passages: built in RAM by default, or kept on disk for large
//! folders. One reader for the program's life; a `Snapshot` per question.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder, DFA};
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, STORED, STRING,
};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::analysis::{self, QuestionType, ANALYZER};
use crate::knowledge::{Passage, Source};
use crate::retrieve::semantic::PassageTexts;

/// Schema field handles, built once.
#[derive(Debug, Clone, Copy)]
struct Fields {
    ord: Field,
    /// Title, section (twice: a word in the heading counts more), text and keywords together:
    /// searched, and the source of word statistics.
    all: Field,
    doc_id: Field,
    title: Field,
    section: Field,
    text: Field,
    keywords: Field,
    /// [`Passage::asked`], one wording a line.
    asked: Field,
    citation: Field,
    /// The kinds of fact a passage states (`duration`, `money`, ...), one token each.
    facts: Field,
    /// [`PassageStems`], stored by indexes on disk.
    stems: Field,
}

impl Fields {
    fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let indexed = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = Fields {
            ord: builder.add_u64_field("ord", FAST),
            all: builder.add_text_field("all", indexed),
            doc_id: builder.add_text_field("doc_id", STORED),
            title: builder.add_text_field("title", STORED),
            section: builder.add_text_field("section", STORED),
            text: builder.add_text_field("text", STORED),
            keywords: builder.add_text_field("keywords", STORED),
            asked: builder.add_text_field("asked", STORED),
            citation: builder.add_text_field("citation", STORED),
            facts: builder.add_text_field("facts", STRING),
            stems: builder.add_text_field("stems", STORED),
        };
        (builder.build(), fields)
    }

    fn from_schema(schema: &Schema) -> tantivy::Result<Fields> {
        let f = |name: &str| schema.get_field(name);
        Ok(Fields {
            ord: f("ord")?,
            all: f("all")?,
            doc_id: f("doc_id")?,
            title: f("title")?,
            section: f("section")?,
            text: f("text")?,
            keywords: f("keywords")?,
            asked: f("asked")?,
            citation: f("citation")?,
            facts: f("facts")?,
            stems: f("stems")?,
        })
    }
}

/// A searchable set of passages.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Passages kept in memory (indexes built in RAM), with their stems made when a question
    /// first finds them; otherwise both are read from the index's store.
    passages: Option<Vec<(Arc<Passage>, OnceLock<PassageStems>)>>,
    num_passages: u64,
    /// Where each passage (by `ord`) is in the index, for passages found by meaning.
    addresses: OnceLock<Vec<Option<DocAddress>>>,
}

/// A passage found for a question, with its BM25 score (0 when it was found by meaning).
#[derive(Debug, Clone)]
pub struct Hit {
    /// The passage's position in the folder, which also numbers its vectors.
    pub ord: usize,
    pub bm25: f32,
    pub passage: Arc<Passage>,
    pub stems: PassageStems,
}

/// The stems of a passage that re-ranking and snippets read, made once rather than for every
/// question the passage is a candidate for: the topic stems (stop words left out) of its
/// section, of its text sentence by sentence, and of its title, keywords and other wordings
/// of its question.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct PassageStems(Arc<str>);

/// After each stem, after each sentence, and after each list: no stem holds a control character.
const STEM_END: char = '\u{1f}';
const SENTENCE_END: char = '\u{1d}';
const LIST_END: char = '\u{1e}';

impl PassageStems {
    pub fn of(p: &Passage) -> PassageStems {
        StemMaker::default().stems(p)
    }

    fn list(&self, n: usize) -> &str {
        self.0.split(LIST_END).nth(n).unwrap_or_default()
    }

    /// The stems of the section heading.
    pub fn section(&self) -> Stems<'_> {
        Stems(self.list(0))
    }

    /// The stems of the section heading and then the text: those of `section + "\n" + text`.
    pub fn own(&self) -> impl Iterator<Item = &str> {
        self.section().chain(self.sentences().flatten())
    }

    /// The stems of each sentence of the text, as [`analysis::sentences`] splits it.
    pub fn sentences(&self) -> impl Iterator<Item = Stems<'_>> {
        self.list(1).split_terminator(SENTENCE_END).map(Stems)
    }

    /// The stems of the document's title, then the passage's keywords, then the other
    /// wordings of its question.
    pub fn context(&self) -> Stems<'_> {
        Stems(self.list(2))
    }

    /// The kinds of fact stated ([`fact_mask`]): by the whole text first, then by each
    /// sentence.
    fn facts(&self) -> &[u8] {
        self.list(3).as_bytes()
    }

    /// Whether the passage's text states a fact of `kind` (a duration, an amount...).
    pub fn states(&self, kind: QuestionType) -> bool {
        self.facts().first().is_some_and(|m| m & kind.bit() != 0)
    }

    /// Whether sentence `i` of the text states a fact of `kind`.
    pub fn sentence_states(&self, i: usize, kind: QuestionType) -> bool {
        self.facts().get(i + 1).is_some_and(|m| m & kind.bit() != 0)
    }
}

/// The kinds of fact `text` states, one bit per [`QuestionType`] above `@` (0x40), so that each
/// mask is a printable ASCII character from `@` to `O`.
fn fact_mask(text: &str) -> u8 {
    QuestionType::ALL
        .into_iter()
        .filter(|k| k.matches(text))
        .fold(b'@', |mask, k| mask | k.bit())
}

/// The stems of one list of [`PassageStems`]. A plain loop over bytes finds their ends: stems
/// are a few bytes long, too short for `str::split`'s vectorised search to pay off.
#[derive(Debug, Clone)]
pub struct Stems<'a>(&'a str);

impl<'a> Iterator for Stems<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        let end = self
            .0
            .bytes()
            .position(|b| b == STEM_END as u8)
            .unwrap_or(self.0.len());
        let stem = &self.0[..end];
        self.0 = self.0.get(end + 1..).unwrap_or_default();
        Some(stem)
    }
}

/// Makes [`PassageStems`], stemming a document's title and keywords once for all its passages.
#[derive(Debug, Default)]
struct StemMaker {
    /// The last title and keywords seen, and their stems.
    context: Option<(String, String, String)>,
}

impl StemMaker {
    fn stems(&mut self, p: &Passage) -> PassageStems {
        // Words never run across a line break, so the stems of "a\nb" are those of a, then b.
        let section = topic_stems(&p.section);
        let fresh = self
            .context
            .as_ref()
            .is_some_and(|(title, keywords, _)| *title == p.title && *keywords == p.keywords);
        if !fresh {
            let stems = topic_stems(&p.title) + &topic_stems(&p.keywords);
            self.context = Some((p.title.clone(), p.keywords.clone(), stems));
        }
        let context = self.context.as_ref().map_or("", |(_, _, stems)| stems);
        // The other wordings are the passage's own: they follow the shared context stems.
        let asked = topic_stems(&p.asked.join("\n"));
        // Words never cross from one sentence into the next either.
        let mut text = String::new();
        let mut facts = vec![fact_mask(&p.text)];
        for range in analysis::sentences(&p.text) {
            text.push_str(&topic_stems(&p.text[range.clone()]));
            text.push(SENTENCE_END);
            facts.push(fact_mask(&p.text[range]));
        }
        let facts = String::from_utf8(facts).expect("fact masks are ASCII");
        let mut out =
            String::with_capacity(section.len() + text.len() + context.len() + asked.len() + 4);
        out.push_str(&section);
        out.push(LIST_END);
        out.push_str(&text);
        out.push(LIST_END);
        out.push_str(context);
        out.push_str(&asked);
        out.push(LIST_END);
        out.push_str(&facts);
        out.push(LIST_END);
        PassageStems(out.into())
    }
}

/// The topic stems of `text` (stop words left out), each followed by `STEM_END`.
fn topic_stems(text: &str) -> String {
    let mut out = String::new();
    for token in analysis::tokens(text) {
        if !analysis::is_stop_stem(&token.stem) {
            out.push_str(&token.stem);
            out.push(STEM_END);
        }
    }
    out
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("passages", &self.num_passages)
            .field("in_memory", &self.passages.is_some())
            .finish()
    }
}

fn register_analyzer(index: &Index) {
    index.tokenizers().register(ANALYZER, analysis::analyzer());
}

impl SearchIndex {
    /// Builds an index in RAM; the passages stay in memory.
    pub fn in_ram(passages: Vec<Passage>) -> tantivy::Result<SearchIndex> {
        let (schema, fields) = Fields::schema();
        let index = Index::create_in_ram(schema);
        register_analyzer(&index);
        write_passages(&index, fields, &passages, passages.len(), false)?;
        // Stemming every passage here would add a third to the start-up of a small folder, for
        // passages most questions never reach.
        let passages = passages
            .into_iter()
            .map(|p| (Arc::new(p), OnceLock::new()))
            .collect();
        Self::from_index(index, fields, Some(passages))
    }

    /// Builds an index in `dir` (which must be empty or missing) from about `expected`
    /// passages; they are not kept in memory, but read from disk when found.
    pub fn build_on_disk<P: Borrow<Passage>>(
        dir: &Path,
        passages: impl IntoIterator<Item = P>,
        expected: usize,
    ) -> tantivy::Result<SearchIndex> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = Fields::schema();
        let index = Index::create_in_dir(dir, schema)?;
        register_analyzer(&index);
        write_passages(&index, fields, passages, expected, true)?;
        Self::from_index(index, fields, None)
    }

    /// Opens an index built earlier by [`SearchIndex::build_on_disk`].
    pub fn open_on_disk(dir: &Path) -> tantivy::Result<SearchIndex> {
        let index = Index::open_in_dir(dir)?;
        register_analyzer(&index);
        let fields = Fields::from_schema(&index.schema())?;
        Self::from_index(index, fields, None)
    }

    fn from_index(
        mut index: Index,
        fields: Fields,
        passages: Option<Vec<(Arc<Passage>, OnceLock<PassageStems>)>>,
    ) -> tantivy::Result<SearchIndex> {
        // Large folders are indexed on several threads into several segments: a question
        // searches them side by side (the results, merged in segment order, are the same).
        let segments = index.searchable_segment_ids()?.len();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if segments > 1 && cores > 1 {
            index.set_multithread_executor(segments.min(cores))?;
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let num_passages = reader.searcher().num_docs();
        Ok(SearchIndex {
            index,
            reader,
            fields,
            passages,
            num_passages,
            addresses: OnceLock::new(),
        })
    }

    /// The index address of every passage, by `ord`.
    fn addresses(&self) -> &[Option<DocAddress>] {
        self.addresses.get_or_init(|| {
            let searcher = self.reader.searcher();
            let mut out = vec![None; self.num_passages as usize];
            for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
                let Ok(column) = segment.fast_fields().u64("ord") else {
                    continue;
                };
                for doc_id in 0..segment.max_doc() {
                    if segment.is_deleted(doc_id) {
                        continue;
                    }
                    if let Some(ord) = column.first(doc_id) {
                        if let Some(slot) = out.get_mut(ord as usize) {
                            *slot = Some(DocAddress::new(segment_ord as u32, doc_id));
                        }
                    }
                }
            }
            out
        })
    }

    /// The texts to embed for every passage, in `ord` order (see
    /// [`crate::retrieve::semantic::passage_texts`]).
    pub fn embedding_texts(&self) -> Vec<PassageTexts> {
        use crate::retrieve::semantic::passage_texts;
        if let Some(passages) = &self.passages {
            return passages.iter().map(|(p, _)| passage_texts(p)).collect();
        }
        let snapshot = self.snapshot();
        (0..self.num_passages as usize)
            .map(|ord| match snapshot.by_ord(ord) {
                Some(hit) => passage_texts(&hit.passage),
                None => PassageTexts::default(),
            })
            .collect()
    }

    pub fn num_passages(&self) -> u64 {
        self.num_passages
    }

    /// A consistent view of the index for answering one question.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            index: self,
            searcher: self.reader.searcher(),
            ord_columns: OnceLock::new(),
        }
    }

    pub fn tantivy_index(&self) -> &Index {
        &self.index
    }
}

/// A passage's citations as kept in the index's store, source ids included.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredCitations(#[serde(with = "crate::knowledge::source::with_ids")] Vec<Source>);

/// Indexes `passages` (about `expected` of them) in order: a passage's `ord` is its position.
/// With `store`, each passage (and its [`PassageStems`]) is kept in the index's store, for an
/// index on disk; an index in RAM has the passages in memory already.
fn write_passages<P: Borrow<Passage>>(
    index: &Index,
    fields: Fields,
    passages: impl IntoIterator<Item = P>,
    expected: usize,
    store: bool,
) -> tantivy::Result<()> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    // Small folders index fastest on one thread; large ones use every core.
    let threads = if expected < 5_000 { 1 } else { threads };
    let mut writer: tantivy::IndexWriter<TantivyDocument> =
        index.writer_with_num_threads(threads, threads * 60_000_000)?;
    let mut stem_maker = StemMaker::default();
    for (ord, p) in passages.into_iter().enumerate() {
        let p = p.borrow();
        let mut doc = TantivyDocument::default();
        doc.add_u64(fields.ord, ord as u64);
        doc.add_text(
            fields.all,
            format!(
                "{}\n{}\n{}\n{}\n{}\n{}",
                p.title,
                p.section,
                p.section,
                p.text,
                p.keywords,
                p.asked.join("\n")
            ),
        );
        let mask = if store {
            let stems = stem_maker.stems(p);
            let mask = stems.facts()[0];
            doc.add_text(fields.stems, &*stems.0);
            doc.add_text(fields.doc_id, &p.doc_id);
            doc.add_text(fields.title, &p.title);
            doc.add_text(fields.section, &p.section);
            doc.add_text(fields.text, &p.text);
            doc.add_text(fields.keywords, &p.keywords);
            doc.add_text(fields.asked, p.asked.join("\n"));
            doc.add_text(
                fields.citation,
                serde_json::to_string(&StoredCitations(p.citations.clone()))
                    .map_err(|e| tantivy::TantivyError::InvalidArgument(e.to_string()))?,
            );
            mask
        } else {
            fact_mask(&p.text)
        };
        for (i, kind) in QuestionType::ALL.into_iter().enumerate() {
            if mask & (1 << i) != 0 {
                doc.add_text(fields.facts, kind.name());
            }
        }
        writer.add_document(doc)?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    Ok(())
}

/// A searcher for one question: word statistics, typo correction and ranked passages.
pub struct Snapshot<'a> {
    index: &'a SearchIndex,
    searcher: Searcher,
    ord_columns: OnceLock<Vec<Option<Column<u64>>>>,
}

/// The Levenshtein automaton builder for `distance` (1 or 2) edits, a transposition counting
/// as one; built once.
pub(crate) fn levenshtein(distance: u8) -> &'static LevenshteinAutomatonBuilder {
    static ONE: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static TWO: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    let cell = if distance <= 1 { &ONE } else { &TWO };
    cell.get_or_init(|| LevenshteinAutomatonBuilder::new(distance.clamp(1, 2), true))
}

/// A Levenshtein DFA as an automaton over an fst's keys.
pub(crate) struct DfaAutomaton(pub(crate) DFA);

impl tantivy_fst::Automaton for DfaAutomaton {
    type State = u32;
    fn start(&self) -> u32 {
        self.0.initial_state()
    }
    fn is_match(&self, state: &u32) -> bool {
        matches!(self.0.distance(*state), Distance::Exact(_))
    }
    fn can_match(&self, state: &u32) -> bool {
        *state != levenshtein_automata::SINK_STATE
    }
    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

impl Snapshot<'_> {
    pub fn num_passages(&self) -> u64 {
        self.searcher.num_docs()
    }

    /// In how many passages a stem occurs.
    pub fn doc_freq(&self, stem: &str) -> u64 {
        self.searcher
            .doc_freq(&Term::from_field_text(self.index.fields.all, stem))
            .unwrap_or(0)
    }

    /// The most frequent indexed stem within `distance` edits of `stem`, with its frequency.
    pub fn closest_stem(&self, stem: &str, distance: u8) -> Option<(String, u64)> {
        let mut found: HashMap<String, u64> = HashMap::new();
        for segment in self.searcher.segment_readers() {
            let Ok(inverted) = segment.inverted_index(self.index.fields.all) else {
                continue;
            };
            let automaton = DfaAutomaton(levenshtein(distance).build_dfa(stem));
            let Ok(mut stream) = inverted.terms().search(automaton).into_stream() else {
                continue;
            };
            while stream.advance() {
                if let Ok(term) = std::str::from_utf8(stream.key()) {
                    *found.entry(term.to_string()).or_default() +=
                        u64::from(stream.value().doc_freq);
                }
            }
        }
        found
            .into_iter()
            .filter(|(t, _)| t != stem)
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
    }

    /// A known stem that is `stem` with one of `suffixes` removed, or `stem` with one added
    /// ("criticis" -> "critic"), the most frequent first; with its frequency.
    pub fn related_stem(&self, stem: &str, suffixes: &[&str]) -> Option<(String, u64)> {
        let mut candidates: Vec<String> = suffixes
            .iter()
            .filter_map(|suffix| stem.strip_suffix(suffix))
            .filter(|base| base.chars().count() >= 4)
            .map(str::to_string)
            .collect();
        candidates.extend(suffixes.iter().map(|suffix| format!("{stem}{suffix}")));
        candidates
            .into_iter()
            .map(|c| {
                let df = self.doc_freq(&c);
                (c, df)
            })
            .filter(|(_, df)| *df > 0)
            .max_by_key(|(_, df)| *df)
    }

    /// The best `limit` passages for weighted stems, by BM25 over the text and the headings,
    /// favouring passages that state the kinds of fact asked for.
    pub fn search(
        &self,
        stems: &[(String, f32)],
        facts: &[QuestionType],
        limit: usize,
    ) -> Vec<Hit> {
        if stems.is_empty() || limit == 0 {
            return Vec::new();
        }
        let fields = self.index.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (stem, weight) in stems {
            let term = TermQuery::new(
                Term::from_field_text(fields.all, stem),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(term), *weight)),
            ));
        }
        for kind in facts {
            let term = TermQuery::new(
                Term::from_field_text(fields.facts, kind.name()),
                IndexRecordOption::Basic,
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(term), 1.0)),
            ));
        }
        let query = BooleanQuery::new(clauses);
        let Ok(top) = self
            .searcher
            .search(&query, &TopDocs::with_limit(limit).order_by_score())
        else {
            return Vec::new();
        };
        top.into_iter()
            .filter_map(|(bm25, address)| {
                let (ord, passage, stems) = self.passage(address)?;
                Some(Hit {
                    ord,
                    bm25,
                    passage,
                    stems,
                })
            })
            .collect()
    }

    /// The passage at `ord`, as a hit with no BM25 score.
    pub fn by_ord(&self, ord: usize) -> Option<Hit> {
        if let Some(passages) = &self.index.passages {
            let (passage, stems) = passages.get(ord)?;
            let stems = stems.get_or_init(|| PassageStems::of(passage));
            return Some(Hit {
                ord,
                bm25: 0.0,
                passage: passage.clone(),
                stems: stems.clone(),
            });
        }
        let address = (*self.index.addresses().get(ord)?)?;
        let (_, passage, stems) = self.passage(address)?;
        Some(Hit {
            ord,
            bm25: 0.0,
            passage,
            stems,
        })
    }

    fn passage(&self, address: DocAddress) -> Option<(usize, Arc<Passage>, PassageStems)> {
        let columns = self.ord_columns.get_or_init(|| {
            self.searcher
                .segment_readers()
                .iter()
                .map(|s| s.fast_fields().u64("ord").ok())
                .collect()
        });
        let ord = columns
            .get(address.segment_ord as usize)?
            .as_ref()?
            .first(address.doc_id)? as usize;
        if let Some(passages) = &self.index.passages {
            let (passage, stems) = passages.get(ord)?;
            let stems = stems.get_or_init(|| PassageStems::of(passage));
            return Some((ord, passage.clone(), stems.clone()));
        }
        let doc: TantivyDocument = self.searcher.doc(address).ok()?;
        let fields = self.index.fields;
        let text = |f: Field| {
            doc.get_first(f)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let StoredCitations(citations) = serde_json::from_str(&text(fields.citation))
            .ok()
            .filter(|c: &StoredCitations| !c.0.is_empty())?;
        let passage = Passage {
            doc_id: text(fields.doc_id),
            title: text(fields.title),
            section: text(fields.section),
            text: text(fields.text),
            keywords: text(fields.keywords),
            asked: text(fields.asked)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            citations,
        };
        let stems = PassageStems(text(fields.stems).into());
        Some((ord, Arc::new(passage), stems))
    }
}
