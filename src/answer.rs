//! From a question to an `Answer`: ranked passages with sentence-level snippets and
//! citations, or a refusal when nothing is relevant enough. Independent of how it is shown.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::{self, is_stop_stem, QuestionType};
use crate::knowledge::{Knowledge, Passage, Programme, Refusal, Source};
use crate::query::{self, Concept, Expander, Variant};
use crate::search::{SearchIndex, Snapshot};

/// How a misspelt word's correction counts, against the user's own word.
const TYPO_CREDIT: f32 = 0.7;
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
        Settings { limit: 3, snippet_chars: 350, threshold: 0.6, candidates: 40 }
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
    pub source: Source,
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
    pub sources: Vec<Source>,
    pub passages: usize,
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
    coverage: f32,
    score: f32,
}

impl Engine {
    /// Indexes `knowledge` in RAM.
    pub fn new(knowledge: &Knowledge, settings: Settings) -> tantivy::Result<Engine> {
        let index = SearchIndex::in_ram(knowledge.passages())?;
        Ok(Engine::with_index(knowledge, index, settings))
    }

    /// Answers from an index built elsewhere (for example on disk) over `knowledge`.
    pub fn with_index(knowledge: &Knowledge, index: SearchIndex, settings: Settings) -> Engine {
        let passages = knowledge.passages();
        let documents = knowledge
            .documents
            .iter()
            .map(|d| DocumentInfo {
                id: d.id.clone(),
                title: d.title.clone(),
                sources: d.sources.clone(),
                passages: passages.iter().filter(|p| p.doc_id == d.id).count(),
            })
            .collect();
        Engine {
            index,
            expander: Expander::new(knowledge),
            refusal: refusal_text(&knowledge.refusal, knowledge),
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
        let ranked = self.rank(&snapshot, &concepts, &qtypes, offset + limit);
        let coverage = ranked.first().map_or(0.0, |best| best.coverage);
        if coverage < self.settings.threshold {
            return Answer { question: question.to_string(), answered: false, results: Vec::new(), refusal: Some(self.refusal.clone()), coverage };
        }
        // Later results must still be about the question, if less closely.
        let floor = self.settings.threshold * 0.75;
        let mut seen = HashSet::new();
        let results = ranked
            .into_iter()
            .filter(|s| s.coverage >= floor)
            .filter_map(|s| {
                let (snippet, highlights) = snippet(&s.passage.text, &concepts, &qtypes, self.settings.snippet_chars);
                seen.insert(snippet.clone()).then(|| ResultItem {
                    title: s.passage.title.clone(),
                    section: s.passage.section.clone(),
                    snippet,
                    score: (s.score * 1000.0).round() / 1000.0,
                    source: s.passage.citation.clone(),
                    highlights,
                    document: s.passage.doc_id.clone(),
                })
            })
            .skip(offset)
            .take(limit)
            .collect();
        Answer { question: question.to_string(), answered: true, results, refusal: None, coverage }
    }

    /// Weighs each concept by how rare it is; a word the index has never seen weighs most,
    /// unless a close spelling of it is found.
    fn weigh(&self, snapshot: &Snapshot, concepts: Vec<Concept>) -> Vec<Weighted> {
        let n = snapshot.num_passages().max(1) as f32;
        let idf = |df: u64| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
        concepts
            .into_iter()
            .map(|mut concept| {
                let df_of = |v: &Variant| v.stems.iter().map(|s| snapshot.doc_freq(s)).min().unwrap_or(0);
                let mut df = concept.variants.iter().map(df_of).max().unwrap_or(0);
                let own = concept.own_stems();
                let is_word = own.len() == 1 && own[0].chars().all(char::is_alphabetic);
                if df == 0 && is_word && own[0].chars().count() >= 5 {
                    let distance = if own[0].chars().count() >= 9 { 2 } else { 1 };
                    if let Some((stem, freq)) = snapshot.closest_stem(&own[0], distance) {
                        concept.variants.push(Variant { stems: vec![stem], credit: TYPO_CREDIT });
                        df = freq;
                    }
                }
                Weighted { concept, weight: idf(df) }
            })
            .collect()
    }

    fn rank(&self, snapshot: &Snapshot, concepts: &[Weighted], qtypes: &[QuestionType], wanted: usize) -> Vec<Scored> {
        let mut terms: Vec<(String, f32)> = Vec::new();
        for c in concepts {
            for v in &c.concept.variants {
                for stem in &v.stems {
                    match terms.iter_mut().find(|(s, _)| s == stem) {
                        Some((_, w)) => *w = w.max(v.credit),
                        None => terms.push((stem.clone(), v.credit)),
                    }
                }
            }
        }
        let hits = snapshot.search(&terms, self.settings.candidates.max(wanted * 2));
        let best_bm25 = hits.iter().map(|h| h.bm25).fold(f32::MIN_POSITIVE, f32::max);
        let total: f32 = concepts.iter().map(|c| c.weight).sum::<f32>().max(f32::MIN_POSITIVE);
        let mut scored: Vec<Scored> = hits
            .into_iter()
            .map(|hit| {
                let p = &hit.passage;
                let heading = stem_set(&format!("{} {}", p.title, p.section));
                let body = stem_set(&format!("{} {}", p.text, p.keywords));
                let all: HashSet<&str> = heading.union(&body).map(String::as_str).collect();
                let coverage = coverage_in(concepts, |s| all.contains(s)) / total;
                let heading_cov = coverage_in(concepts, |s| heading.contains(s)) / total;
                let fact = if qtypes.iter().any(|q| q.matches(&p.text)) { 1.0 } else { 0.0 };
                let rel = hit.bm25 / best_bm25;
                let score = if qtypes.is_empty() {
                    0.65 * coverage + 0.15 * heading_cov + 0.20 * rel
                } else {
                    0.60 * coverage + 0.12 * heading_cov + 0.13 * rel + 0.15 * fact
                };
                Scored { passage: hit.passage, coverage, score }
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

fn stem_set(text: &str) -> HashSet<String> {
    analysis::tokens(text).into_iter().map(|t| t.stem).collect()
}

/// The weighted credit of the concepts found, where `has` says whether a stem is present.
fn coverage_in(concepts: &[Weighted], has: impl Fn(&str) -> bool) -> f32 {
    concepts.iter().map(|c| c.weight * credit(&c.concept, &has)).sum()
}

/// The best credit among the concept's variants whose stems are all present.
fn credit(concept: &Concept, has: &impl Fn(&str) -> bool) -> f32 {
    concept.variants.iter().filter(|v| v.stems.iter().all(|s| has(s))).map(|v| v.credit).fold(0.0, f32::max)
}

/// The one to three sentences of `text` that best answer the question, at most `max_chars`
/// characters, with the byte ranges of the question's words in it.
fn snippet(text: &str, concepts: &[Weighted], qtypes: &[QuestionType], max_chars: usize) -> (String, Vec<Range<usize>>) {
    let sentences = analysis::sentences(text);
    if sentences.is_empty() {
        return (String::new(), Vec::new());
    }
    let total: f32 = concepts.iter().map(|c| c.weight).sum::<f32>().max(f32::MIN_POSITIVE);
    let info: Vec<(Vec<f32>, bool)> = sentences
        .iter()
        .map(|r| {
            let stems = stem_set(&text[r.clone()]);
            let credits = concepts.iter().map(|c| credit(&c.concept, &|s: &str| stems.contains(s))).collect();
            (credits, qtypes.iter().any(|q| q.matches(&text[r.clone()])))
        })
        .collect();
    let gain = |credits: &[f32], has_fact: bool, covered: &[f32], fact_seen: bool| -> f32 {
        let newly: f32 = concepts.iter().enumerate().map(|(i, c)| c.weight * (credits[i] - covered[i]).max(0.0)).sum();
        newly / total + if has_fact && !fact_seen { 0.35 } else { 0.0 }
    };
    let none = vec![0.0; concepts.len()];
    let first = (0..sentences.len())
        .map(|i| (i, gain(&info[i].0, info[i].1, &none, false)))
        .fold((0, f32::MIN), |best, (i, g)| if g > best.1 + 1e-6 { (i, g) } else { best });
    let mut chosen = vec![first.0];
    let mut covered = info[first.0].0.clone();
    let mut fact_seen = info[first.0].1;
    let length = |ids: &[usize]| ids.iter().map(|&i| text[sentences[i].clone()].chars().count() + 1).sum::<usize>();
    while chosen.len() < 3 {
        let next = (0..sentences.len())
            .filter(|i| !chosen.contains(i))
            .filter(|&i| length(&chosen) + text[sentences[i].clone()].chars().count() <= max_chars)
            .map(|i| {
                let adjacent = chosen.iter().any(|&c| c.abs_diff(i) == 1);
                (i, gain(&info[i].0, info[i].1, &covered, fact_seen) + if adjacent { 0.03 } else { 0.0 })
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
    chosen.sort_unstable();
    let mut out = String::new();
    for (n, &i) in chosen.iter().enumerate() {
        if n > 0 {
            out.push_str(if chosen[n - 1] + 1 == i { " " } else { " \u{2026} " });
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
    let limit = text.char_indices().nth(max_chars.saturating_sub(1)).map(|(i, _)| i).unwrap_or(text.len());
    let head = &text[..limit];
    let cut = head.rfind(char::is_whitespace).filter(|&i| i > limit / 2).unwrap_or(limit);
    let head = head[..cut].trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '\u{2013}' | '('));
    format!("{head}\u{2026}")
}

/// Byte ranges of the words of `snippet` that are (or expand) the question's topic words.
fn highlight(snippet: &str, concepts: &[Weighted]) -> Vec<Range<usize>> {
    let wanted: HashSet<&str> = concepts.iter().flat_map(|c| c.concept.variants.iter().flat_map(|v| v.stems.iter().map(String::as_str))).collect();
    analysis::tokens(snippet).into_iter().filter(|t| !is_stop_stem(&t.stem) && wanted.contains(t.stem.as_str())).map(|t| t.span).collect()
}

fn refusal_text(refusal: &Refusal, knowledge: &Knowledge) -> RefusalText {
    let message = if refusal.message.trim().is_empty() {
        "I could not find that in the guidance I hold, so I will not guess.".to_string()
    } else {
        refusal.message.trim().to_string()
    };
    let topics = if refusal.topics.is_empty() { knowledge.documents.iter().take(8).map(|d| d.title.clone()).collect() } else { refusal.topics.clone() };
    RefusalText { message, topics, elsewhere: refusal.elsewhere.clone() }
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
