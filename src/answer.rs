//! From a question to an `Answer`: ranked passages with sentence-level snippets and
//! citations, or a refusal when nothing is relevant enough. Independent of how it is shown.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::{self, is_stop_stem, QuestionType};
use crate::knowledge::{Document, Knowledge, Passage, Programme, Refusal, Source};
use crate::query::{self, Concept, Expander, Variant};
use crate::search::{PassageStems, SearchIndex, Snapshot};

/// How a misspelt word's correction counts, against the user's own word.
const TYPO_CREDIT: f32 = 0.7;
/// Sections usually open with their answer, so their first sentence is preferred a little.
const LEAD_SENTENCE_BONUS: f32 = 0.1;
/// How a topic word found only in the document's title or keywords counts.
const CONTEXT_CREDIT: f32 = 0.6;
/// How another form of the user's word counts ("criticised" found as "criticism").
const MORPHOLOGY_CREDIT: f32 = 0.85;
/// Endings that make another form of the same English word, after stemming.
const SUFFIXES: &[&str] = &[
    "is", "iz", "ism", "ist", "al", "ic", "ion", "ation", "ment", "ed", "ing", "er", "ly", "ity",
    "ness", "abl", "ibl", "ive", "at",
];
/// The most a phrase of function words ("have to") weighs.
const FUNCTION_PHRASE_WEIGHT: f32 = 1.0;
/// The weight of a number the index has never seen.
const UNKNOWN_NUMBER_WEIGHT: f32 = 1.0;
/// Shorter words are not corrected: too many real words lie one edit apart ("lunch", "launch").
const MIN_TYPO_CHARS: usize = 6;
/// Snippet sentences beyond the first are added only when they bring this much more.
const MIN_SENTENCE_GAIN: f32 = 0.08;

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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limit: 3,
            snippet_chars: 350,
            threshold: 0.5,
            candidates: 40,
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
    /// The main source.
    pub source: Source,
    /// Every source the passage cites, the main one first.
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
}

/// The answer to one question.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Answer {
    pub question: String,
    pub answered: bool,
    pub results: Vec<ResultItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<RefusalText>,
    /// How much of the question the best passage covers (0 to 1), compared with the threshold.
    #[serde(skip)]
    pub coverage: f32,
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
    pub settings: Settings,
    pub programmes: Vec<Programme>,
    pub documents: Vec<DocumentInfo>,
}

/// A concept with its weight in this index.
struct Weighted {
    concept: Concept,
    weight: f32,
}

/// A candidate passage and how well it fits the question.
struct Scored {
    passage: Arc<Passage>,
    stems: PassageStems,
    coverage: f32,
    score: f32,
}

impl Engine {
    /// Indexes `knowledge` in RAM. Each document is dropped as soon as its passages are made,
    /// so a large folder is not held twice while it is indexed.
    pub fn new(mut knowledge: Knowledge, settings: Settings) -> tantivy::Result<Engine> {
        let mut lister = DocumentLister::default();
        let passages: Vec<Passage> = knowledge
            .drain_passages(|doc, n| lister.add(doc, n))
            .collect();
        let documents = lister.finish();
        let index = SearchIndex::in_ram(passages)?;
        Ok(Engine::with_index(&knowledge, documents, index, settings))
    }

    /// Answers from an index built elsewhere (for example on disk) over the documents listed
    /// in `documents`. Only the glossary, programmes and refusal of `knowledge` are read, so
    /// its `documents` may be left empty: nothing here is done per passage.
    pub fn with_index(
        knowledge: &Knowledge,
        documents: Vec<DocumentInfo>,
        index: SearchIndex,
        settings: Settings,
    ) -> Engine {
        Engine {
            index,
            expander: Expander::new(knowledge),
            refusal: refusal_text(&knowledge.refusal, &documents),
            settings,
            programmes: knowledge.programmes.clone(),
            documents,
        }
    }

    pub fn num_passages(&self) -> u64 {
        self.index.num_passages()
    }

    /// Answers with the configured number of results.
    pub fn answer(&self, question: &str) -> Answer {
        self.answer_page(question, 0, self.settings.limit)
    }

    /// Answers with results `offset..offset + limit` of the ranking (for paging).
    pub fn answer_page(&self, question: &str, offset: usize, limit: usize) -> Answer {
        let cleaned = query::clean(question);
        let snapshot = self.index.snapshot();
        let concepts = self.weigh(&snapshot, self.expander.concepts(&cleaned));
        let qtypes = QuestionType::detect(&cleaned);
        let ranked = if concepts.is_empty() {
            Vec::new()
        } else {
            self.rank(&snapshot, &concepts, &qtypes, offset + limit)
        };
        let coverage = ranked.iter().map(|s| s.coverage).fold(0.0, f32::max);
        if coverage < self.settings.threshold {
            return Answer {
                question: question.to_string(),
                answered: false,
                results: Vec::new(),
                refusal: Some(self.refusal.clone()),
                coverage,
            };
        }
        // Later results must still be about the question, if less closely.
        let floor = self.settings.threshold * 0.75;
        let mut seen = HashSet::new();
        let results = ranked
            .into_iter()
            .filter(|s| s.coverage >= floor)
            .filter_map(|s| {
                let (snippet, highlights) = snippet(
                    &s.passage.text,
                    &s.stems,
                    &concepts,
                    &qtypes,
                    self.settings.snippet_chars,
                );
                seen.insert(snippet.clone()).then(|| ResultItem {
                    title: s.passage.title.clone(),
                    section: s.passage.section.clone(),
                    snippet,
                    score: (s.score * 1000.0).round() / 1000.0,
                    source: s.passage.citation().clone(),
                    sources: s.passage.citations.clone(),
                    highlights,
                    document: s.passage.doc_id.clone(),
                })
            })
            .skip(offset)
            .take(limit)
            .collect();
        Answer {
            question: question.to_string(),
            answered: true,
            results,
            refusal: None,
            coverage,
        }
    }

    /// How a question was read and scored: each concept with its weight and variants, and the
    /// coverage of the best candidates. For tuning knowledge and settings.
    pub fn explain(&self, question: &str) -> String {
        let cleaned = query::clean(question);
        let snapshot = self.index.snapshot();
        let concepts = self.weigh(&snapshot, self.expander.concepts(&cleaned));
        let qtypes = QuestionType::detect(&cleaned);
        let mut out = format!("question: {cleaned}\nquestion types: {qtypes:?}\n");
        for c in &concepts {
            let variants: Vec<String> = c
                .concept
                .variants
                .iter()
                .map(|v| format!("{}({:.1})", v.stems.join(" "), v.credit))
                .collect();
            out.push_str(&format!(
                "  concept {:?} weight {:.2}: {}\n",
                c.concept.surface,
                c.weight,
                variants.join(", ")
            ));
        }
        for s in self.rank(&snapshot, &concepts, &qtypes, 5).iter().take(12) {
            out.push_str(&format!(
                "  {:.3} coverage {:.3}  {} > {}\n",
                s.score, s.coverage, s.passage.title, s.passage.section
            ));
        }
        out
    }

    /// Weighs each concept by how rare it is; a word the index has never seen weighs most,
    /// unless a close spelling of it is found.
    fn weigh(&self, snapshot: &Snapshot, concepts: Vec<Concept>) -> Vec<Weighted> {
        let n = snapshot.num_passages().max(1) as f32;
        let idf = |df: u64| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
        concepts
            .into_iter()
            .map(|mut concept| {
                let df_of = |v: &Variant| {
                    v.stems
                        .iter()
                        .map(|s| snapshot.doc_freq(s))
                        .min()
                        .unwrap_or(0)
                };
                // The user's own word sets the weight; expansions only stand in when it is unknown.
                let own_df = if concept.own.is_empty() {
                    0
                } else {
                    df_of(&Variant {
                        stems: concept.own.clone(),
                        credit: 1.0,
                    })
                };
                let mut df = match own_df {
                    0 => concept.variants.iter().map(df_of).max().unwrap_or(0),
                    own => own,
                };
                let own = concept.own.clone();
                let is_word = own.len() == 1 && own[0].chars().all(char::is_alphabetic);
                if df == 0 && is_word && own[0].chars().count() >= MIN_TYPO_CHARS {
                    // Another form of the same word ("criticised" for "criticism"), else a
                    // close spelling ("hedship" for "headship").
                    let related = snapshot
                        .related_stem(&own[0], SUFFIXES)
                        .map(|found| (found, MORPHOLOGY_CREDIT));
                    let distance = if own[0].chars().count() >= 9 { 2 } else { 1 };
                    let found = related.or_else(|| {
                        snapshot
                            .closest_stem(&own[0], distance)
                            .map(|found| (found, TYPO_CREDIT))
                    });
                    if let Some(((stem, freq), credit)) = found {
                        concept.variants.push(Variant {
                            stems: vec![stem],
                            credit,
                        });
                        df = freq;
                    }
                }
                // A number the guidance never mentions ("2008") is a detail, not the topic.
                let unknown_number =
                    df == 0 && own.len() == 1 && own[0].chars().all(|c| c.is_ascii_digit());
                // A phrase of function words ("have to", "how much") only hints at the topic.
                let weight = if unknown_number {
                    UNKNOWN_NUMBER_WEIGHT
                } else if own.is_empty() {
                    idf(df).min(FUNCTION_PHRASE_WEIGHT)
                } else {
                    idf(df)
                };
                Weighted { concept, weight }
            })
            .collect()
    }

    fn rank(
        &self,
        snapshot: &Snapshot,
        concepts: &[Weighted],
        qtypes: &[QuestionType],
        wanted: usize,
    ) -> Vec<Scored> {
        let mut terms: Vec<(String, f32)> = Vec::new();
        for c in concepts {
            for v in &c.concept.variants {
                // The words of a phrase share its weight: "national professional qualification"
                // must not count as three strong matches for "professional".
                let boost = v.credit / v.stems.len() as f32;
                for stem in &v.stems {
                    match terms.iter_mut().find(|(s, _)| s == stem) {
                        Some((_, w)) => *w = w.max(boost),
                        None => terms.push((stem.clone(), boost)),
                    }
                }
            }
        }
        let hits = snapshot.search(&terms, qtypes, self.settings.candidates.max(wanted * 2));
        let best_bm25 = hits
            .iter()
            .map(|h| h.bm25)
            .fold(f32::MIN_POSITIVE, f32::max);
        let wanted = wanted_stems(concepts);
        let lookup = Wanted::new(&wanted);
        let dates: Vec<f32> = hits
            .iter()
            .map(|h| date_value(&h.passage.citation().date))
            .filter(|&d| d > 0.0)
            .collect();
        let oldest = dates.iter().copied().fold(f32::MAX, f32::min);
        let newest = dates.iter().copied().fold(f32::MIN, f32::max);
        // The kind of fact asked for (a duration, an amount...) counts as one more topic word,
        // as heavy as a moderately rare one.
        let n = snapshot.num_passages().max(1) as f32;
        let fact_weight = if qtypes.is_empty() {
            0.0
        } else {
            (1.0 + (n - n / 8.0 + 0.5) / (n / 8.0 + 0.5)).ln()
        };
        let total: f32 =
            (concepts.iter().map(|c| c.weight).sum::<f32>() + fact_weight).max(f32::MIN_POSITIVE);
        let mut scored: Vec<Scored> = hits
            .into_iter()
            .map(|hit| {
                let p = &hit.passage;
                // Stemmed when the passage was indexed, not for every question.
                let section = Words::from_stems(hit.stems.section(), &lookup);
                let own = Words::from_stems(hit.stems.own(), &lookup);
                // The document's title and keywords are shared by all its sections: they count less.
                let context = Words::from_stems(hit.stems.context(), &lookup);
                let fact = if qtypes.iter().any(|q| hit.stems.states(*q)) {
                    fact_weight
                } else {
                    0.0
                };
                let found: f32 = concepts
                    .iter()
                    .map(|c| {
                        c.weight
                            * credit(&c.concept, &own)
                                .max(CONTEXT_CREDIT * credit(&c.concept, &context))
                    })
                    .sum();
                let coverage = (found + fact) / total;
                let heading_cov = coverage_in(concepts, &section) / total;
                let rel = hit.bm25 / best_bm25;
                let recency =
                    (date_value(&p.citation().date) - oldest) / (newest - oldest).max(1.0);
                // A section whose heading is about more than the question is more specific than asked.
                let on_topic: usize = section.positions.values().map(Vec::len).sum();
                let precision = on_topic as f32 / section.len.max(1) as f32;
                let score = 0.6 * coverage
                    + 0.12 * heading_cov
                    + 0.1 * precision
                    + 0.13 * rel
                    + 0.05 * recency.clamp(0.0, 1.0);
                Scored {
                    passage: hit.passage.clone(),
                    stems: hit.stems.clone(),
                    coverage,
                    score,
                }
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score));
        scored
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

/// The topic words of a text with their positions (stop words left out), to find words and
/// phrases in it.
#[derive(Default)]
struct Words<'a> {
    positions: HashMap<&'a str, Vec<usize>, BuildHasherDefault<Fnv>>,
    /// How many topic words the text has.
    len: usize,
}

impl<'a> Words<'a> {
    /// The words of topic stems made earlier ([`crate::search::PassageStems`]), keeping the
    /// positions of only the `wanted` ones: nothing else is looked up.
    fn from_stems(stems: impl Iterator<Item = &'a str>, wanted: &Wanted) -> Words<'a> {
        let mut positions: HashMap<&str, Vec<usize>, _> = HashMap::default();
        let mut len = 0;
        for (i, stem) in stems.enumerate() {
            if wanted.contains(stem) {
                positions.entry(stem).or_default().push(i);
            }
            len = i + 1;
        }
        Words { positions, len }
    }

    /// True when the stems occur in order, each at most one word after the previous.
    fn has(&self, stems: &[String]) -> bool {
        let Some((first, rest)) = stems.split_first() else {
            return false;
        };
        let Some(starts) = self.positions.get(first.as_str()) else {
            return false;
        };
        starts.iter().any(|&start| {
            let mut at = start;
            rest.iter().all(|stem| {
                match self
                    .positions
                    .get(stem.as_str())
                    .and_then(|ps| ps.iter().find(|&&p| p > at && p <= at + 2))
                {
                    Some(&p) => {
                        at = p;
                        true
                    }
                    None => false,
                }
            })
        })
    }
}

/// The stems a question looks for, with a quick test that turns most other stems away before
/// hashing them: a passage has hundreds of stems, a question a few dozen.
struct Wanted<'a> {
    stems: HashSet<&'a str, BuildHasherDefault<Fnv>>,
    /// Bit `n` is set when a wanted stem is `n` bytes long (63 for any longer).
    lengths: u64,
    /// Bit `b` is set when a wanted stem starts with byte `b`.
    first_bytes: [u64; 4],
}

impl<'a> Wanted<'a> {
    fn new(stems: &HashSet<&'a str>) -> Wanted<'a> {
        let mut lengths = 0u64;
        let mut first_bytes = [0u64; 4];
        for stem in stems {
            lengths |= 1 << stem.len().min(63);
            if let Some(&b) = stem.as_bytes().first() {
                first_bytes[usize::from(b / 64)] |= 1 << (b % 64);
            }
        }
        Wanted {
            stems: stems.iter().copied().collect(),
            lengths,
            first_bytes,
        }
    }

    fn contains(&self, stem: &str) -> bool {
        let Some(&b) = stem.as_bytes().first() else {
            return self.stems.contains(stem);
        };
        self.lengths & (1 << stem.len().min(63)) != 0
            && self.first_bytes[usize::from(b / 64)] & (1 << (b % 64)) != 0
            && self.stems.contains(stem)
    }
}

/// FNV-1a: hashes the few bytes of a stem several times faster than the default SipHash, whose
/// resistance to chosen keys is not needed for stems of the folder and the question.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The weighted credit of the concepts found in `words`.
fn coverage_in(concepts: &[Weighted], words: &Words) -> f32 {
    concepts
        .iter()
        .map(|c| c.weight * credit(&c.concept, words))
        .sum()
}

/// The best credit among the concept's variants that occur in `words`.
fn credit(concept: &Concept, words: &Words) -> f32 {
    concept
        .variants
        .iter()
        .filter(|v| words.has(&v.stems))
        .map(|v| v.credit)
        .fold(0.0, f32::max)
}

/// A source date as a number of years, for preferring newer guidance; 0 when undated.
fn date_value(date: &str) -> f32 {
    let mut parts = date.split('-').map(|p| p.parse::<f32>().unwrap_or(0.0));
    let year = parts.next().unwrap_or(0.0);
    let month = parts.next().unwrap_or(1.0);
    year + (month - 1.0) / 12.0
}

/// The one to three sentences of `text` that best answer the question, at most `max_chars`
/// characters, with the byte ranges of the question's words in it.
fn snippet(
    text: &str,
    stems: &PassageStems,
    concepts: &[Weighted],
    qtypes: &[QuestionType],
    max_chars: usize,
) -> (String, Vec<Range<usize>>) {
    let sentences = analysis::sentences(text);
    if sentences.is_empty() {
        return (String::new(), Vec::new());
    }
    let wanted = wanted_stems(concepts);
    let lookup = Wanted::new(&wanted);
    // The sentences' stems and fact kinds were made with the passage's, split as `sentences`.
    let mut by_sentence = stems.sentences();
    let total: f32 = concepts
        .iter()
        .map(|c| c.weight)
        .sum::<f32>()
        .max(f32::MIN_POSITIVE);
    let info: Vec<(Vec<f32>, bool)> = (0..sentences.len())
        .map(|i| {
            let words = by_sentence
                .next()
                .map(|s| Words::from_stems(s, &lookup))
                .unwrap_or_default();
            let credits = concepts
                .iter()
                .map(|c| credit(&c.concept, &words))
                .collect();
            let states = qtypes.iter().any(|q| stems.sentence_states(i, *q));
            (credits, states)
        })
        .collect();
    let gain = |credits: &[f32], has_fact: bool, covered: &[f32], fact_seen: bool| -> f32 {
        let newly: f32 = concepts
            .iter()
            .enumerate()
            .map(|(i, c)| c.weight * (credits[i] - covered[i]).max(0.0))
            .sum();
        newly / total + if has_fact && !fact_seen { 0.35 } else { 0.0 }
    };
    let none = vec![0.0; concepts.len()];
    let first = (0..sentences.len())
        .map(|i| {
            (
                i,
                gain(&info[i].0, info[i].1, &none, false)
                    + if i == 0 { LEAD_SENTENCE_BONUS } else { 0.0 },
            )
        })
        .fold(
            (0, f32::MIN),
            |best, (i, g)| if g > best.1 + 1e-6 { (i, g) } else { best },
        );
    let mut chosen = vec![first.0];
    let mut covered = info[first.0].0.clone();
    let mut fact_seen = info[first.0].1;
    let length = |ids: &[usize]| {
        ids.iter()
            .map(|&i| text[sentences[i].clone()].chars().count() + 1)
            .sum::<usize>()
    };
    while chosen.len() < 3 {
        let next = (0..sentences.len())
            .filter(|i| !chosen.contains(i))
            .filter(|&i| length(&chosen) + text[sentences[i].clone()].chars().count() <= max_chars)
            .map(|i| {
                let adjacent = chosen.iter().any(|&c| c.abs_diff(i) == 1);
                (
                    i,
                    gain(&info[i].0, info[i].1, &covered, fact_seen)
                        + if adjacent { 0.03 } else { 0.0 },
                )
            })
            .filter(|&(_, g)| g >= MIN_SENTENCE_GAIN)
            .fold(None, |best: Option<(usize, f32)>, (i, g)| match best {
                Some((_, bg)) if bg >= g => best,
                _ => Some((i, g)),
            });
        let Some((i, _)) = next else { break };
        chosen.push(i);
        for (c, v) in covered.iter_mut().zip(&info[i].0) {
            *c = c.max(*v);
        }
        fact_seen |= info[i].1;
    }
    // A section's opening sentence usually gives its answer: keep it when it is on topic.
    let opening_on_topic = info[0].0.iter().any(|&c| c > 0.0) || info[0].1;
    if chosen.len() < 3
        && !chosen.contains(&0)
        && opening_on_topic
        && length(&chosen) + text[sentences[0].clone()].chars().count() <= max_chars
    {
        chosen.push(0);
    }
    // A sentence that introduces a list, or a short lone sentence, reads better with the next one.
    let last = *chosen.iter().max().unwrap_or(&first.0);
    let lone_and_short =
        chosen.len() == 1 && text[sentences[last].clone()].chars().count() < max_chars / 2;
    if chosen.len() < 3
        && last + 1 < sentences.len()
        && (text[sentences[last].clone()].ends_with(':') || lone_and_short)
        && !chosen.contains(&(last + 1))
    {
        chosen.push(last + 1);
    }
    chosen.sort_unstable();
    let mut out = String::new();
    for (n, &i) in chosen.iter().enumerate() {
        if n > 0 {
            out.push_str(if chosen[n - 1] + 1 == i {
                " "
            } else {
                " \u{2026} "
            });
        }
        out.push_str(&text[sentences[i].clone()]);
    }
    let out = cut_at_word(&out, max_chars);
    let highlights = highlight(&out, concepts);
    (out, highlights)
}

/// Cuts `text` to at most `max_chars` characters at a word boundary, marking the cut with `…`.
pub fn cut_at_word(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let limit = text
        .char_indices()
        .nth(max_chars.saturating_sub(1))
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    let head = &text[..limit];
    let cut = head
        .rfind(char::is_whitespace)
        .filter(|&i| i > limit / 2)
        .unwrap_or(limit);
    let head = head[..cut].trim_end_matches(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '\u{2013}' | '(')
    });
    format!("{head}\u{2026}")
}

/// Every stem of every way of saying the question's concepts.
fn wanted_stems(concepts: &[Weighted]) -> HashSet<&str> {
    concepts
        .iter()
        .flat_map(|c| {
            c.concept
                .variants
                .iter()
                .flat_map(|v| v.stems.iter().map(String::as_str))
        })
        .collect()
}

/// Byte ranges of the words of `snippet` that are (or expand) the question's topic words.
fn highlight(snippet: &str, concepts: &[Weighted]) -> Vec<Range<usize>> {
    let wanted = wanted_stems(concepts);
    analysis::tokens(snippet)
        .into_iter()
        .filter(|t| !is_stop_stem(&t.stem) && wanted.contains(t.stem.as_str()))
        .map(|t| t.span)
        .collect()
}

fn refusal_text(refusal: &Refusal, documents: &[DocumentInfo]) -> RefusalText {
    let message = if refusal.message.trim().is_empty() {
        "I could not find that in the guidance I hold, so I will not guess.".to_string()
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
    }
}

#[cfg(test)]
mod tests {
    use super::cut_at_word;

    #[test]
    fn cuts_fall_between_words() {
        let cut = cut_at_word("The NPQ for Headship takes eighteen months in total", 30);
        assert_eq!(cut, "The NPQ for Headship takes\u{2026}");
        assert!(cut.chars().count() <= 30);
        assert_eq!(cut_at_word("short", 30), "short");
    }
}
