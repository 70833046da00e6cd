//! From a question to an `Answer`: ranked passages with sentence-level snippets and
//! citations, or a refusal when nothing is relevant enough. Independent of how it is shown.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use serde::Serialize;

use crate::analysis::QuestionType;
use crate::knowledge::{Document, Kind, Knowledge, Programme, Refusal, Source, Wording};
use crate::query::{self, Expander};
use crate::retrieve::fuse::{self, Candidate, Missing, Reading, Weights};
use crate::retrieve::lexical;
use crate::retrieve::semantic::{self, Cache, Embedder, Vectors};
use crate::search::SearchIndex;

pub use crate::snippet::cut_at_word;

/// Passages found by meaning, beside those found by words.
const SEMANTIC_CANDIDATES: usize = 30;
/// A folder with at most this many texts to embed is embedded before the first answer;
/// a larger one in the background, answering from the lexical stage meanwhile.
const EMBED_NOW: usize = 200;
/// While embedding in the background, the cache is written after this many texts.
const CACHE_EVERY: usize = 512;

/// Tunable answering settings (see `bot.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Results per answer.
    pub limit: usize,
    /// Longest snippet, in characters.
    pub snippet_chars: usize,
    /// The share of a question's topic weight the best passage must cover to be answered.
    pub threshold: f32,
    /// Passages fetched from the index before re-ranking.
    pub candidates: usize,
    /// Semantic retrieval: on (the default), off, or embedded before answering however large
    /// the folder (for tests and tools that need every answer to use it).
    pub semantic: SemanticMode,
}

/// When passages are embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SemanticMode {
    /// Small folders before the first answer, large ones in the background.
    #[default]
    Auto,
    /// Always before the first answer.
    Now,
    /// Never: lexical retrieval only.
    Off,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limit: 3,
            snippet_chars: 450,
            threshold: 0.5,
            candidates: 40,
            semantic: SemanticMode::Auto,
        }
    }
}

/// One result of an answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResultItem {
    pub title: String,
    pub section: String,
    /// Plain text, one to three sentences, never cut mid-word.
    pub snippet: String,
    pub score: f32,
    /// The source of the snippet's sentences.
    pub source: Source,
    /// Every source the passage cites, the snippet's own first.
    pub sources: Vec<Source>,
    /// Byte ranges of the question's words in `snippet`, for bold text.
    pub highlights: Vec<Range<usize>>,
    pub document: String,
}

/// What to say when the knowledge does not cover a question.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RefusalText {
    pub message: String,
    pub topics: Vec<String>,
    pub elsewhere: Vec<String>,
    /// What of this question is not covered, when the bot can tell ("The guidance here does
    /// not cover “pension”.").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The heading over the answer's `related` passages, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_heading: Option<String>,
}

/// The answer to one question.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Answer {
    pub question: String,
    pub answered: bool,
    pub results: Vec<ResultItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<RefusalText>,
    /// For a refused question whose topic the guidance covers: the closest passages, shown
    /// apart from an answer (they do not say what was asked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<ResultItem>,
    /// How sure the bot is that the best passage answers (0 to 1), against the threshold.
    #[serde(skip)]
    pub coverage: f32,
    /// For a question about the current or next period: which cohort the rules shown belong
    /// to, read against today's date, and that nothing newer is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A document's title and sources, for listings.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentInfo {
    pub id: String,
    pub title: String,
    /// Shared between documents: large folders cite the same few sources thousands of times.
    pub sources: Vec<Arc<Source>>,
    pub passages: usize,
}

/// Builds the document list one document at a time, sharing each distinct source.
#[derive(Debug, Default)]
pub struct DocumentLister {
    shared: HashMap<Source, Arc<Source>>,
    documents: Vec<DocumentInfo>,
}

impl DocumentLister {
    /// Lists `document`, which made `passages` passages.
    pub fn add(&mut self, document: &Document, passages: usize) {
        let sources = document
            .sources
            .iter()
            .map(|s| {
                self.shared
                    .entry(s.clone())
                    .or_insert_with(|| Arc::new(s.clone()))
                    .clone()
            })
            .collect();
        self.documents.push(DocumentInfo {
            id: document.id.clone(),
            title: document.title.clone(),
            sources,
            passages,
        });
    }

    pub fn finish(self) -> Vec<DocumentInfo> {
        self.documents
    }
}

/// Answers questions from one loaded knowledge folder.
#[derive(Debug)]
pub struct Engine {
    index: SearchIndex,
    expander: Expander,
    refusal: RefusalText,
    /// What the bot says, from the folder's `wording.toml`.
    pub wording: Wording,
    pub settings: Settings,
    /// The ranking and refusal weights (see [`Weights::CALIBRATED`]).
    pub weights: Weights,
    /// The kinds of programme, in the order the programme list shows them.
    pub kinds: Vec<Kind>,
    pub programmes: Vec<Programme>,
    /// The programme names' families, to refuse a member the catalogue does not hold.
    families: crate::names::Families,
    pub documents: Vec<DocumentInfo>,
    /// Passage vectors and the model, once they are ready; until then answers are lexical.
    semantic: Arc<ArcSwapOption<Semantic>>,
    /// Every dated cohort the guidance names, found when a question first needs them.
    periods: std::sync::OnceLock<Vec<crate::period::Period>>,
    /// Every form in the glossary ("criticism", "National Professional Qualification"), for
    /// respelling: with the document titles and programme names the engine holds anyway, the
    /// words a folder uses outside its passages' text (see [`Engine::words_beyond_passages`]).
    glossary_forms: Vec<String>,
}

/// The semantic stage of an engine: the model and one pair of vectors per passage.
#[derive(Debug)]
pub struct Semantic {
    embedder: Arc<Embedder>,
    vectors: Vectors,
    /// The folder's words, to respell a question's typos before it is embedded.
    lexicon: crate::respell::Lexicon,
}

/// A question read and retrieved, before weights decide what is shown: the whole question and,
/// when it asks several things, each part.
pub struct Retrieved {
    pub whole: Reading,
    pub parts: Vec<Reading>,
}

impl Engine {
    /// Indexes `knowledge` in RAM. Each document is dropped as soon as its passages are made,
    /// so a large folder is not held twice while it is indexed. Semantic retrieval is attached
    /// by [`Engine::attach_semantic`] (as `load_engine` and `open_engine` do).
    pub fn new(mut knowledge: Knowledge, settings: Settings) -> tantivy::Result<Engine> {
        let mut lister = DocumentLister::default();
        let passages: Vec<crate::knowledge::Passage> = knowledge
            .drain_passages(|doc, n| lister.add(doc, n))
            .collect();
        let documents = lister.finish();
        let index = SearchIndex::in_ram(passages)?;
        Ok(Engine::with_index(&knowledge, documents, index, settings))
    }

    /// Answers from an index built elsewhere (for example on disk) over the documents listed
    /// in `documents`. Only the glossary, programmes and wording of `knowledge` are read, so
    /// its `documents` may be left empty: nothing here is done per passage.
    pub fn with_index(
        knowledge: &Knowledge,
        documents: Vec<DocumentInfo>,
        index: SearchIndex,
        settings: Settings,
    ) -> Engine {
        let glossary = &knowledge.glossary;
        let glossary_forms = glossary
            .acronyms
            .iter()
            .flat_map(|a| [&a.term, &a.means].into_iter().chain(&a.also))
            .chain(glossary.synonyms.iter().flatten())
            .cloned()
            .collect();
        Engine {
            index,
            expander: Expander::new(knowledge),
            refusal: refusal_text(&knowledge.wording.refusal, &documents),
            wording: knowledge.wording.clone(),
            settings,
            weights: Weights::CALIBRATED,
            kinds: knowledge.kinds.clone(),
            programmes: knowledge.programmes.clone(),
            families: crate::names::Families::new(&knowledge.programmes),
            documents,
            semantic: Arc::new(ArcSwapOption::empty()),
            periods: std::sync::OnceLock::new(),
            glossary_forms,
        }
    }

    pub fn num_passages(&self) -> u64 {
        self.index.num_passages()
    }

    /// The words a folder uses outside its passages' text: document titles, and every form in
    /// the glossary and the programme catalogue, so that a misspelt word the folder uses only
    /// there ("crticism", "criticism" being in a title) is respelt too.
    fn words_beyond_passages(&self) -> Vec<String> {
        let titles = self.documents.iter().map(|d| &d.title);
        let programmes = self
            .programmes
            .iter()
            .flat_map(|p| [&p.code, &p.name].into_iter().chain(&p.aliases));
        titles
            .chain(programmes)
            .chain(&self.glossary_forms)
            .cloned()
            .collect()
    }

    /// True once passages can be found by meaning.
    pub fn has_semantic(&self) -> bool {
        self.semantic.load().is_some()
    }

    /// Embeds the passages (reusing the vectors kept in `cache_path` for unchanged text) and
    /// turns semantic retrieval on: at once for a small folder, in the background for a large
    /// one (with progress on a terminal), writing the cache as it goes so an interrupted run
    /// resumes where it stopped. Without the model, answers stay lexical.
    pub fn attach_semantic(&self, cache_path: Option<&Path>) {
        if self.settings.semantic == SemanticMode::Off {
            return;
        }
        let Some(embedder) = semantic::shared() else {
            return;
        };
        let texts: Vec<semantic::PassageTexts> = self.index.embedding_texts();
        let mut cache = match cache_path {
            Some(p) => Cache::read(p, &embedder.id, semantic::DIM),
            None => Cache::new(&embedder.id, semantic::DIM),
        };
        let flat: Vec<String> = texts.iter().flat_map(|t| t.texts.iter().cloned()).collect();
        let missing = flat.iter().filter(|t| !cache.contains(t)).count();
        let slot = self.semantic.clone();
        let cache_path = cache_path.map(Path::to_path_buf);
        let cache_file = cache_path.clone();
        let names = self.words_beyond_passages();
        let finish = move |mut cache: Cache, embedder: Arc<Embedder>| {
            let mut vectors = Vectors::new(semantic::DIM);
            let zero = semantic::Quantized::new(&[0.0; semantic::DIM]);
            for passage in &texts {
                passage.texts.iter().for_each(|t| {
                    cache.touch(t);
                });
                let rows: Vec<&semantic::Quantized> = passage
                    .texts
                    .iter()
                    .map(|t| cache.row(t).unwrap_or(&zero))
                    .collect();
                vectors.push_quantized(&rows, passage.asked);
            }
            if let Some(p) = &cache_path {
                if cache.added() > 0 || cache.len() != cache.used() {
                    if let Err(e) = cache.write(p) {
                        tracing::warn!("cannot keep the embeddings: {e:#}");
                    }
                }
            }
            let lexicon = crate::respell::Lexicon::new(
                texts
                    .iter()
                    .map(semantic::PassageTexts::body)
                    .chain(names.iter().map(String::as_str)),
            )
            .with_dictionary(embedder.words());
            slot.store(Some(Arc::new(Semantic {
                embedder,
                vectors,
                lexicon,
            })));
        };
        let now = missing <= EMBED_NOW || self.settings.semantic == SemanticMode::Now;
        if now {
            if let Err(e) = semantic::fill(&embedder, &mut cache, &flat, |_, _, _| {}) {
                tracing::warn!("semantic retrieval is off: {e:#}");
                return;
            }
            finish(cache, embedder);
            return;
        }
        std::thread::Builder::new()
            .name("embed".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
                let mut written = 0;
                let mut last_shown = std::time::Instant::now();
                let result = semantic::fill(&embedder, &mut cache, &flat, |cache, done, total| {
                    // Written as it goes: a stopped run resumes where it was.
                    if done - written >= CACHE_EVERY {
                        written = done;
                        if let Some(p) = &cache_file {
                            if let Err(e) = cache.write(p) {
                                tracing::warn!("cannot keep the embeddings: {e:#}");
                            }
                        }
                    }
                    if terminal && last_shown.elapsed().as_millis() >= 500 {
                        last_shown = std::time::Instant::now();
                        let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-3);
                        let left = (total - done) as f64 / rate.max(1e-9);
                        eprint!(
                            "\rembedding passages: {done}/{total} ({rate:.1}/s, about {} left)   ",
                            human_duration(left)
                        );
                    }
                });
                if terminal {
                    eprintln!();
                }
                match result {
                    Ok(()) => {
                        tracing::info!(
                            "semantic retrieval ready: {} texts embedded in {:.1} s",
                            cache.added(),
                            started.elapsed().as_secs_f64()
                        );
                        finish(cache, embedder)
                    }
                    Err(e) => tracing::warn!("semantic retrieval is off: {e:#}"),
                }
            })
            .ok();
    }

    /// The texts each passage is embedded as, in passage order (see
    /// [`semantic::passage_texts`]).
    pub fn embedding_texts(&self) -> Vec<semantic::PassageTexts> {
        self.index.embedding_texts()
    }

    /// How many of this index's passage texts the cache at `cache_path` holds, of how many,
    /// for the bundled model (read without loading the model).
    pub fn embedding_coverage(&self, cache_path: &Path) -> anyhow::Result<(usize, usize)> {
        let id = semantic::model_id(&semantic::default_model_dir())?;
        let cache = Cache::read(cache_path, &id, semantic::DIM);
        let texts = self.index.embedding_texts();
        let flat: std::collections::HashSet<&String> = texts.iter().flatten().collect();
        let held = flat.iter().filter(|t| cache.contains(t)).count();
        Ok((held, flat.len()))
    }

    /// Answers with the configured number of results.
    pub fn answer(&self, question: &str) -> Answer {
        self.answer_page(question, 0, self.settings.limit)
    }

    /// Answers with results `offset..offset + limit` of the ranking (for paging).
    pub fn answer_page(&self, question: &str, offset: usize, limit: usize) -> Answer {
        let retrieved = self.retrieve(question);
        self.decide(question, &retrieved, &self.weights, offset, limit)
    }

    /// Reads and retrieves a question: its concepts, the candidates of the lexical and the
    /// semantic stage with their evidence, for the whole question and each of its parts.
    pub fn retrieve(&self, question: &str) -> Retrieved {
        let snapshot = self.index.snapshot();
        let has_topic = |text: &str| {
            let concepts = self.expander.concepts(text);
            lexical::weigh(&snapshot, concepts, Vec::new())
                .concepts
                .iter()
                .any(|c| !c.unknown)
        };
        let cleaned = query::without_asides(&query::clean(question), has_topic);
        let parts = self.with_referents(query::parts(&cleaned));
        let semantic = self.semantic.load_full();
        let mut texts: Vec<String> = vec![cleaned];
        if parts.len() > 1 {
            texts.extend(parts.iter().cloned());
        }
        // Misspelt words get the folder's closest spelling, for the model and for the names of
        // programmes; without the model the texts are read as typed.
        let respelled: Vec<String> = match semantic.as_ref() {
            Some(s) => texts
                .iter()
                .map(|t| s.lexicon.respell(t, |w| s.embedder.knows(w)))
                .collect(),
            None => texts.clone(),
        };
        let vectors: Option<Vec<Vec<f32>>> = semantic.as_ref().and_then(|s| {
            // The model reads each text between the first and the last word that the folder
            // or the model knows, when that span still holds a topic the folder knows.
            let embedded: Vec<&str> = respelled
                .iter()
                .map(|t| {
                    let span = s.lexicon.known_span(t, |w| s.embedder.knows(w));
                    if span.len() < t.len() && has_topic(span) {
                        span
                    } else {
                        t.as_str()
                    }
                })
                .collect();
            s.embedder
                .embed(&embedded)
                .map_err(|e| tracing::warn!("cannot embed a question: {e:#}"))
                .ok()
        });
        let reading = |i: usize, also: &[usize]| {
            let vector = vectors.as_ref().and_then(|v| v.get(i));
            self.read(
                &texts[i],
                &respelled[i],
                semantic.as_deref().zip(vector),
                also,
            )
        };
        let parts: Vec<Reading> = if parts.len() > 1 {
            (1..texts.len()).map(|i| reading(i, &[])).collect()
        } else {
            Vec::new()
        };
        // The whole of a question asked in parts has each part's closest passages too, so that
        // a part's words are not taken for words its meaning does not lead to.
        let also: Vec<usize> = parts
            .iter()
            .flat_map(|p| p.closest.iter().copied())
            .collect();
        let mut whole = reading(0, &also);
        let vector = vectors.as_ref().and_then(|v| v.first());
        whole.missing = self.weigh_missing(&whole, semantic.as_deref().zip(vector));
        Retrieved { whole, parts }
    }

    /// The parts of a message, each part that points back ("... and is it funded?") but names
    /// no programme of its own followed by the programmes the part before it names, in
    /// brackets: alone, "is it funded for anyone in 2026?" is about no programme at all.
    fn with_referents(&self, mut parts: Vec<String>) -> Vec<String> {
        for i in 1..parts.len() {
            if !query::refers_back(&parts[i]) || !self.programmes_named(&parts[i]).is_empty() {
                continue;
            }
            let before = self.programmes_named(&parts[i - 1]);
            if !before.is_empty() {
                let codes: Vec<&str> = before.iter().map(|p| p.code.as_str()).collect();
                parts[i] = format!("{} ({})", parts[i], codes.join(", "));
            }
        }
        parts
    }

    /// The programmes `text` names by code, name or alias, in catalogue order.
    fn programmes_named(&self, text: &str) -> Vec<&Programme> {
        self.families
            .named(text)
            .into_iter()
            .map(|n| &self.programmes[n])
            .collect()
    }

    /// Reads one text of a question (`respelled`: the same with misspelt words respelt).
    fn read(
        &self,
        text: &str,
        respelled: &str,
        semantic: Option<(&Semantic, &Vec<f32>)>,
        also: &[usize],
    ) -> Reading {
        let snapshot = self.index.snapshot();
        let qtypes = QuestionType::detect(respelled);
        let mut question = lexical::weigh(&snapshot, self.expander.concepts(respelled), qtypes);
        lexical::weigh_names(&mut question, |c| {
            !self.programmes_named(&c.surface).is_empty()
        });
        let terms = lexical::terms(&question);
        // Read respelt, so that "the NPQ in leadig geography" is still the start of a family
        // of names followed by a word none of them uses, and "leading litracy" is a real name.
        if self.families.unknown_member(respelled).is_some() {
            // A programme the catalogue does not hold: nothing here answers it.
            return Reading {
                text: text.to_string(),
                question,
                candidates: Vec::new(),
                peak: 0.0,
                mean: 0.0,
                closest: Vec::new(),
                missing: Vec::new(),
            };
        }
        let mut hits = snapshot.search(&terms, &question.qtypes, self.settings.candidates);
        let mut peak = 0.0;
        let mut mean = 0.0;
        let mut closest = Vec::new();
        if let Some((s, vector)) = semantic {
            let have: std::collections::HashSet<usize> = hits.iter().map(|h| h.ord).collect();
            let near = s.vectors.nearest(vector, SEMANTIC_CANDIDATES);
            peak = near.peak;
            mean = near.mean;
            let nearest = near.passages;
            closest = nearest
                .iter()
                .take(self.weights.neighbours)
                .map(|&(ord, _)| ord)
                .collect();
            for (ord, _) in nearest {
                if !have.contains(&ord) {
                    if let Some(hit) = snapshot.by_ord(ord) {
                        hits.push(hit);
                    }
                }
            }
            let mut near: Vec<usize> = closest.iter().chain(also).copied().collect();
            near.sort_unstable();
            near.dedup();
            let missing: Vec<crate::search::Hit> = near
                .iter()
                .filter(|ord| !hits.iter().any(|h| h.ord == **ord))
                .filter_map(|&ord| snapshot.by_ord(ord))
                .collect();
            let neighbours: Vec<&crate::search::Hit> = hits
                .iter()
                .filter(|h| near.binary_search(&h.ord).is_ok())
                .chain(&missing)
                .collect();
            lexical::discount_unshared(&mut question, &neighbours, self.weights.unshared);
        }
        let features = lexical::features(&question, &hits);
        let candidates = hits
            .into_iter()
            .zip(features)
            .map(|(hit, f)| {
                let similarity = semantic.map(|(s, v)| s.vectors.similarity(hit.ord, v));
                Candidate::new(hit.ord, hit.passage, hit.stems, f, similarity)
            })
            .collect();
        Reading {
            text: text.to_string(),
            question,
            candidates,
            peak,
            mean,
            closest,
            missing: Vec::new(),
        }
    }

    /// The whole question's [`Missing`] words, each weighed by how close it stands to the
    /// question (one embedding of those words; only the whole question decides on them).
    fn weigh_missing(
        &self,
        reading: &Reading,
        semantic: Option<(&Semantic, &Vec<f32>)>,
    ) -> Vec<Missing> {
        let Some((s, vector)) = semantic.filter(|_| !reading.candidates.is_empty()) else {
            // No model, or a programme the catalogue does not hold (nothing answers it).
            return Vec::new();
        };
        // A respelt word is the folder's guess, not what was typed.
        let typed: std::collections::HashSet<String> = reading
            .text
            .split(|c: char| !c.is_alphabetic())
            .map(str::to_lowercase)
            .collect();
        let words: Vec<String> = missing_words(&reading.question, |w| s.embedder.knows(w))
            .into_iter()
            .filter(|w| typed.contains(&w.to_lowercase()))
            .collect();
        salient(&words, vector, |words| s.embedder.embed(words))
    }

    /// The answer `weights` make of a retrieved question: results `offset..offset + limit`.
    pub fn decide(
        &self,
        question: &str,
        retrieved: &Retrieved,
        weights: &Weights,
        offset: usize,
        limit: usize,
    ) -> Answer {
        let max_chars = self.settings.snippet_chars;
        let chosen = fuse::choose(
            &retrieved.whole,
            &retrieved.parts,
            weights,
            self.settings.threshold,
            max_chars,
            offset + limit,
        );
        let confidence = chosen.confidence;
        let Some(picks) = chosen.picks else {
            // Refused. When the topic is covered, the closest passages are offered as related.
            let related: Vec<ResultItem> = if chosen.meaning >= weights.related {
                fuse::choose(
                    &retrieved.whole,
                    &retrieved.parts,
                    &weights.never_refusing(),
                    0.0,
                    max_chars,
                    offset + limit,
                )
                .picks
                .unwrap_or_default()
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(|(reading, c, score)| self.result_item(reading, c, score))
                .collect()
            } else {
                Vec::new()
            };
            // Name what the question asks about when that is a word the folder never uses,
            // else every word it never uses.
            let focus: Vec<String> = retrieved
                .whole
                .focus(weights)
                .map(|m| m.word.clone())
                .collect();
            let missing: Vec<String> = if focus.is_empty() {
                retrieved
                    .whole
                    .missing
                    .iter()
                    .map(|m| m.word.clone())
                    .collect()
            } else {
                focus
            };
            let detail = (!related.is_empty() && !missing.is_empty()).then(|| {
                self.wording
                    .refusal
                    .not_covered
                    .replace("{missing}", &quoted_list(&missing))
            });
            return self.refused(question, confidence, related, detail, false);
        };
        let results: Vec<ResultItem> = picks
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(reading, c, score)| self.result_item(reading, c, score))
            .collect();
        // A best passage that only says the guidance does not know is quoted as a refusal.
        if offset == 0
            && results
                .first()
                .is_some_and(|r| self.says_not_known(&r.snippet))
        {
            let best = results.into_iter().take(1).collect();
            return self.refused(question, confidence, best, None, true);
        }
        let note = self.note_for(question, &results);
        Answer {
            question: question.to_string(),
            answered: true,
            results,
            refusal: None,
            related: Vec::new(),
            coverage: confidence,
            note,
        }
    }

    /// One result: the candidate's snippet with its citations.
    fn result_item(&self, reading: &Reading, c: &Candidate, score: f32) -> ResultItem {
        let snippet = c.snippet(&reading.question, self.settings.snippet_chars);
        let passage = &c.passage;
        let own = crate::snippet::cite(&snippet.text, &passage.citations);
        let mut sources = passage.citations.clone();
        let source = sources.remove(own);
        sources.insert(0, source.clone());
        ResultItem {
            title: passage.title.clone(),
            section: passage.section.clone(),
            snippet: snippet.text.clone(),
            score: (score * 1000.0).round() / 1000.0,
            source,
            sources,
            highlights: snippet.highlights.clone(),
            document: passage.doc_id.clone(),
        }
    }

    /// A refusal, with the passages related to the question (or, `not_known`, the passage
    /// saying the guidance does not know).
    fn refused(
        &self,
        question: &str,
        confidence: f32,
        related: Vec<ResultItem>,
        detail: Option<String>,
        not_known: bool,
    ) -> Answer {
        let wording = &self.wording.refusal;
        let mut refusal = self.refusal.clone();
        refusal.detail = detail;
        refusal.related_heading = (!related.is_empty()).then(|| {
            if not_known {
                wording.not_known.clone()
            } else {
                wording.related.clone()
            }
        });
        Answer {
            question: question.to_string(),
            answered: false,
            results: Vec::new(),
            refusal: Some(refusal),
            related,
            coverage: confidence,
            note: None,
        }
    }

    /// True when `snippet` opens by saying the guidance does not know (a phrase of the
    /// folder's `limits.not_known` in the main clause of its first sentence): the passage is
    /// about what is not known, not a fact with a caveat after it.
    fn says_not_known(&self, snippet: &str) -> bool {
        let first = snippet
            .split_inclusive(". ")
            .next()
            .unwrap_or(snippet)
            .to_lowercase();
        self.wording.limits.not_known.iter().any(|marker| {
            // In the sentence's main clause: "..., and the sources do not say whether ..."
            // is a fact with a caveat after it.
            first
                .find(marker.as_str())
                .is_some_and(|at| !first[..at].contains([',', ';', ':']))
        })
    }

    /// Results `offset..offset + limit` and whether the ranking holds another after them, from
    /// one ranking of the question: the next result is asked for with the page and kept back.
    pub fn answer_page_and_peek(
        &self,
        question: &str,
        offset: usize,
        limit: usize,
    ) -> (Answer, bool) {
        let mut answer = self.answer_page(question, offset, limit + 1);
        let more = answer.results.len() > limit;
        if more {
            answer.results.truncate(limit);
            // The note speaks of the results shown, not of the one kept back.
            answer.note = self.note_for(question, &answer.results);
        }
        (answer, more)
    }

    /// Which cohort the results shown belong to, for a question about the current or next one.
    fn note_for(&self, question: &str, results: &[ResultItem]) -> Option<String> {
        let asks = crate::period::asks(question)?;
        let shown: Vec<crate::period::Period> = results
            .iter()
            .flat_map(|r: &ResultItem| crate::period::periods(&r.snippet))
            .collect();
        if shown.is_empty() {
            return None;
        }
        crate::period::note(asks, &shown, self.periods(), crate::period::today())
    }

    /// Every dated cohort any passage names, oldest first.
    pub fn periods(&self) -> &[crate::period::Period] {
        self.periods.get_or_init(|| {
            let mut all: Vec<crate::period::Period> = self
                .index
                .embedding_texts()
                .iter()
                .flat_map(|texts| crate::period::periods(texts.body()))
                .collect();
            all.sort_unstable();
            all.dedup();
            all
        })
    }

    /// How a question was read and scored: each concept with its weight and variants, and the
    /// evidence for the best candidates. For tuning knowledge and weights.
    pub fn explain(&self, question: &str) -> String {
        let retrieved = self.retrieve(question);
        let mut out = String::new();
        for reading in std::iter::once(&retrieved.whole).chain(&retrieved.parts) {
            let q = &reading.question;
            out.push_str(&format!(
                "reading: {}\nquestion types: {:?}\n",
                reading.text, q.qtypes
            ));
            for c in &q.concepts {
                let variants: Vec<String> = c
                    .concept
                    .variants
                    .iter()
                    .map(|v| format!("{}({:.1})", v.stems.join(" "), v.credit))
                    .collect();
                out.push_str(&format!(
                    "  concept {:?} weight {:.2}{}: {}\n",
                    c.concept.surface,
                    c.weight,
                    if c.unknown { " (unknown)" } else { "" },
                    variants.join(", ")
                ));
            }
            for (i, s) in reading.rank(&self.weights).iter().take(8).enumerate() {
                let c = &reading.candidates[s.index];
                if i == 0 {
                    let e = &s.evidence;
                    out.push_str(&format!(
                        "  evidence of the best: meaning {:.3} heading {:.3} coverage {:.3} peak {:.3} lexical {:.3} best_meaning {:.3} both {:.3} lift {:.3}\n",
                        e.meaning, e.heading, e.coverage, e.peak, e.lexical, e.best_meaning, e.both, e.lift
                    ));
                }
                out.push_str(&format!(
                    "  {:.3} confidence {:.3} coverage {:.3} meaning {}  {} > {}\n",
                    s.score,
                    s.confidence,
                    s.coverage,
                    c.meaning(&self.weights)
                        .map_or("-".to_string(), |m| format!("{m:.3}")),
                    c.passage.title,
                    c.passage.section
                ));
            }
        }
        out
    }

    /// The refusal shown for questions the knowledge does not cover.
    pub fn refusal(&self) -> &RefusalText {
        &self.refusal
    }

    /// The programme named by `name` (code, name or alias).
    pub fn programme(&self, name: &str) -> Option<&Programme> {
        self.programmes.iter().find(|p| p.is_named(name))
    }
}

/// The words of `question` that no passage, title or name of the folder uses but that
/// `is_word` takes for real words (the model's whole words): what the question asks about
/// that the folder may have nothing on ("pension", "Cumbria"). Chat spellings and typos the
/// model does not know are not among them.
fn missing_words(question: &lexical::Question, is_word: impl Fn(&str) -> bool) -> Vec<String> {
    question
        .concepts
        .iter()
        .filter(|c| c.unknown && c.concept.own.len() == 1)
        .map(|c| c.concept.surface.clone())
        .filter(|w| w.chars().all(char::is_alphabetic) && is_word(&w.to_lowercase()))
        .collect()
}

/// Each of `words` with how close it stands in meaning to the question (`question`: the
/// question's vector; `embed`: the model). Without vectors for the words, every word is
/// kept at salience 0: it is missing, but not known to be what the question asks about.
fn salient(
    words: &[String],
    question: &[f32],
    embed: impl FnOnce(&[&str]) -> anyhow::Result<Vec<Vec<f32>>>,
) -> Vec<Missing> {
    if words.is_empty() {
        return Vec::new();
    }
    let texts: Vec<&str> = words.iter().map(String::as_str).collect();
    let vectors = embed(&texts)
        .map_err(|e| tracing::warn!("cannot embed a question's words: {e:#}"))
        .unwrap_or_default();
    words
        .iter()
        .enumerate()
        .map(|(i, word)| Missing {
            word: word.clone(),
            salience: vectors
                .get(i)
                .map_or(0.0, |v| semantic::cosine(v, question)),
        })
        .collect()
}

fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn refusal_text(refusal: &Refusal, documents: &[DocumentInfo]) -> RefusalText {
    let message = if refusal.message.trim().is_empty() {
        Wording::default().refusal.message
    } else {
        refusal.message.trim().to_string()
    };
    let topics = if refusal.topics.is_empty() {
        documents.iter().take(8).map(|d| d.title.clone()).collect()
    } else {
        refusal.topics.clone()
    };
    RefusalText {
        message,
        topics,
        elsewhere: refusal.elsewhere.clone(),
        detail: None,
        related_heading: None,
    }
}

/// Words as a list a sentence can hold: "“pension”", "“tax” or “relief”".
fn quoted_list(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("\u{201c}{w}\u{201d}"))
        .collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::{human_duration, salient};

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(42.0), "42s");
        assert_eq!(human_duration(125.0), "2m05s");
        assert_eq!(human_duration(7322.0), "2h02m");
    }

    #[test]
    fn a_missing_word_stands_as_close_to_the_question_as_its_vector() {
        let words = vec!["pension".to_string(), "silly".to_string()];
        let question = [1.0, 0.0];
        let found = salient(&words, &question, |texts| {
            assert_eq!(texts, ["pension", "silly"]);
            Ok(vec![vec![0.6, 0.8], vec![0.0, 1.0]])
        });
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].word, "pension");
        assert!((found[0].salience - 0.6).abs() < 1e-6);
        assert!(found[1].salience.abs() < 1e-6);
        // Without vectors a word is still missing, but not taken for what is asked.
        let unread = salient(&words, &question, |_| anyhow::bail!("no model"));
        assert!(unread.iter().all(|m| m.salience == 0.0));
        assert!(salient(&[], &question, |_| unreachable!()).is_empty());
    }
}
