//! Fusion: the lexical and semantic evidence for each candidate made one score, the decision
//! to answer or refuse made from both, and the ranked list cut to one fact per result.
//!
//! Every number that shapes a ranking is a field of [`Weights`], tuned by cross-validation
//! with `npq-bot eval --calibrate` rather than set by hand.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::knowledge::Passage;
use crate::retrieve::lexical::{self, Question};
use crate::retrieve::semantic::Similarity;
use crate::search::PassageStems;

/// The weights of the ranking and of the decision to answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Lexical score: the share of the question's weight a passage covers...
    pub coverage: f32,
    /// ... the share its heading covers...
    pub heading: f32,
    /// ... how much of its heading is the question's...
    pub precision: f32,
    /// ... its BM25 against the best candidate's...
    pub bm25: f32,
    /// ... and how new its source is.
    pub recency: f32,
    /// The weight of meaning (cosine similarity of question and passage) beside the lexical score.
    pub semantic: f32,
    /// How a passage's heading alone counts against its heading and text, for similarity.
    pub heading_similarity: f32,
    /// How much of an unknown word's weight counts against every passage.
    pub unknown_word: f32,
    /// How sure the bot is that a candidate answers, from both kinds of evidence.
    pub confidence: Confidence,
    /// The best candidate's confidence must reach this, or the bot refuses.
    pub threshold: f32,
    /// Later results need this share of the threshold.
    pub floor: f32,
    /// Two snippets sharing this share of their topic words (Jaccard) state the same fact.
    pub duplicate: f32,
    /// A known word none of the `neighbours` passages closest in meaning holds counts at this
    /// share of its weight ([`crate::retrieve::lexical::discount_unshared`]; 1: no discount).
    pub unshared: f32,
    /// How many passages closest in meaning a known word is looked for in (see `unshared`).
    pub neighbours: usize,
    /// A refused question whose best passage is at least this close in meaning has its topic
    /// covered: the closest passages are offered beside the refusal as related.
    #[serde(default)]
    pub related: f32,
    /// A word the folder never uses but the model knows (a [`Missing`] word) at least this
    /// close in meaning to the question it is in is what the question asks about: with
    /// nothing on it in the folder, the bot refuses, however close the rest of the question
    /// comes to a passage ("can I claim tax relief on the fee?"). Filler ("bit of a silly
    /// question") and context ("at a village school") stand further from the question.
    #[serde(default = "no_focus")]
    pub focus: f32,
}

/// A `focus` no word reaches: unknown words never refuse alone.
fn no_focus() -> f32 {
    f32::INFINITY
}

/// A word of the question that no passage, title or name of the folder uses but that the
/// model knows as a whole word, with how close it stands in meaning to the whole question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missing {
    pub word: String,
    /// Cosine similarity of the word alone and the question (0 without the model).
    pub salience: f32,
}

/// A logistic model of "this candidate answers the question", fitted by `eval --calibrate`
/// on the project's questions: `1 / (1 + exp(-(bias + sum of weight * evidence)))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Confidence {
    pub bias: f32,
    /// Similarity of meaning (the better of heading and body).
    pub meaning: f32,
    /// Similarity of the question to the heading alone.
    pub heading: f32,
    /// The share of the question's known words the passage covers.
    pub coverage: f32,
    /// The share of all the question's words (unknown ones too) it covers.
    pub coverage_all: f32,
    /// The share of the question's weight in words the index knows.
    pub known: f32,
    /// How far the closest passage stands out (a tenth of its standard deviations).
    pub peak: f32,
    /// The candidate's lexical score.
    pub lexical: f32,
    /// The best similarity of meaning among all the candidates.
    pub best_meaning: f32,
    /// Meaning and coverage (of known words) together: both at once are stronger evidence
    /// than either.
    pub both: f32,
    /// How far the best similarity of meaning rises above the question's mean similarity to
    /// every passage.
    pub lift: f32,
}

/// The evidence the confidence model reads, for one candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    pub meaning: f32,
    pub heading: f32,
    pub coverage: f32,
    pub coverage_all: f32,
    pub known: f32,
    pub peak: f32,
    pub lexical: f32,
    pub best_meaning: f32,
    pub both: f32,
    pub lift: f32,
}

/// How many kinds of evidence the confidence model reads.
pub const EVIDENCE: usize = 10;

impl Evidence {
    pub fn as_array(&self) -> [f32; EVIDENCE] {
        [
            self.meaning,
            self.heading,
            self.coverage,
            self.coverage_all,
            self.known,
            self.peak,
            self.lexical,
            self.best_meaning,
            self.both,
            self.lift,
        ]
    }
}

impl Confidence {
    pub fn of(&self, e: &Evidence) -> f32 {
        let z = self.bias
            + self
                .as_array()
                .iter()
                .zip(e.as_array())
                .map(|(w, x)| w * x)
                .sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }

    /// The weights in the order of [`Evidence::as_array`].
    pub fn as_array(&self) -> [f32; EVIDENCE] {
        [
            self.meaning,
            self.heading,
            self.coverage,
            self.coverage_all,
            self.known,
            self.peak,
            self.lexical,
            self.best_meaning,
            self.both,
            self.lift,
        ]
    }

    pub fn from_array(bias: f32, w: [f32; EVIDENCE]) -> Confidence {
        Confidence {
            bias,
            meaning: w[0],
            heading: w[1],
            coverage: w[2],
            coverage_all: w[3],
            known: w[4],
            peak: w[5],
            lexical: w[6],
            best_meaning: w[7],
            both: w[8],
            lift: w[9],
        }
    }
}

impl Weights {
    /// The weights chosen by `npq-bot eval --calibrate` on the project's own questions
    /// (see BENCHMARKS.md for the cross-validated figures).
    pub const CALIBRATED: Weights = Weights {
        coverage: 0.6,
        heading: 0.12,
        precision: 0.1,
        bm25: 0.13,
        recency: 0.05,
        semantic: 1.5,
        heading_similarity: 0.9,
        unknown_word: 1.0,
        confidence: Confidence {
            bias: -9.316,
            meaning: 4.002,
            heading: 3.745,
            coverage: -0.638,
            coverage_all: 0.0,
            known: 0.0,
            peak: 1.601,
            lexical: 1.225,
            best_meaning: 3.797,
            both: 3.486,
            lift: 2.103,
        },
        threshold: 0.33,
        floor: 0.0,
        duplicate: 0.6,
        unshared: 0.0,
        neighbours: 5,
        related: 0.5,
        focus: 0.4,
    };
}

impl Weights {
    /// These weights with nothing refused: no threshold, no floor, no focus. The ranking is
    /// the same; for the passages related to a refused question and for measuring a ranking.
    pub fn never_refusing(&self) -> Weights {
        Weights {
            threshold: 0.0,
            floor: 0.0,
            focus: f32::INFINITY,
            ..*self
        }
    }
}

impl Default for Weights {
    fn default() -> Self {
        Weights::CALIBRATED
    }
}

/// One candidate passage for one reading of a question.
#[derive(Debug)]
pub struct Candidate {
    pub ord: usize,
    pub passage: Arc<Passage>,
    pub stems: PassageStems,
    pub lexical: lexical::Features,
    /// How similar the question is to the passage's heading, text and sentences; `None`
    /// without semantic retrieval.
    pub similarity: Option<Similarity>,
    snippet: OnceLock<Snippet>,
}

/// A candidate's snippet, made only when the candidate is shown or compared.
#[derive(Debug, Clone)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<Range<usize>>,
    /// The snippet's topic stems, to tell whether two results state the same fact.
    pub topic: HashSet<String>,
}

impl Candidate {
    pub fn new(
        ord: usize,
        passage: Arc<Passage>,
        stems: PassageStems,
        lexical: lexical::Features,
        similarity: Option<Similarity>,
    ) -> Candidate {
        Candidate {
            ord,
            passage,
            stems,
            lexical,
            similarity,
            snippet: OnceLock::new(),
        }
    }

    /// The snippet of this candidate for `question`, made once.
    pub fn snippet(&self, question: &Question, max_chars: usize) -> &Snippet {
        self.snippet.get_or_init(|| {
            let (text, highlights) = crate::snippet::snippet(
                &self.passage.text,
                &self.stems,
                &question.concepts,
                &question.qtypes,
                self.similarity.and_then(|s| s.best_sentence),
                max_chars,
            );
            let topic = crate::analysis::content_stems(&text).into_iter().collect();
            Snippet {
                text,
                highlights,
                topic,
            }
        })
    }

    /// The similarity that counts: the best of the body's, the best sentence's and the
    /// (discounted) heading's.
    pub fn meaning(&self, w: &Weights) -> Option<f32> {
        self.similarity
            .map(|s| s.body.max(s.sentence).max(w.heading_similarity * s.heading))
    }
}

/// One reading of a question (the whole of it, or one of its parts) with its candidates.
pub struct Reading {
    pub text: String,
    pub question: Question,
    pub candidates: Vec<Candidate>,
    /// How far the passage closest in meaning stands out from all the passages (standard
    /// deviations above their mean similarity).
    pub peak: f32,
    /// The question's mean similarity to every passage (0 without semantic retrieval).
    pub mean: f32,
    /// The passages closest in meaning (`Weights::neighbours` of them, best first; empty
    /// without semantic retrieval).
    pub closest: Vec<usize>,
    /// Real words of the question (the model knows them) that no passage of the folder uses;
    /// weighed for the whole question only (empty for a part, and without the model).
    pub missing: Vec<Missing>,
}

impl Reading {
    /// The missing words that are what the question asks about (see [`Weights::focus`]).
    pub fn focus<'a>(&'a self, w: &Weights) -> impl Iterator<Item = &'a Missing> + 'a {
        let focus = w.focus;
        self.missing.iter().filter(move |m| m.salience >= focus)
    }
}

/// How one candidate scores under some weights.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    pub index: usize,
    pub score: f32,
    pub coverage: f32,
    pub confidence: f32,
    /// What the confidence was read from (meaning 0 without semantic retrieval).
    pub evidence: Evidence,
}

impl Reading {
    /// Every candidate scored and sorted, best first.
    pub fn rank(&self, w: &Weights) -> Vec<Scored> {
        let known_weight = self.question.known_weight();
        let unknown_weight = self.question.unknown_weight();
        let total = (known_weight + w.unknown_word * unknown_weight).max(f32::MIN_POSITIVE);
        let known = known_weight / (known_weight + unknown_weight).max(f32::MIN_POSITIVE);
        let best_meaning = self
            .candidates
            .iter()
            .filter_map(|c| c.meaning(w))
            .fold(0.0, f32::max);
        let mut out: Vec<Scored> = self
            .candidates
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let l = &c.lexical;
                let coverage = (l.found / total).min(1.0);
                let lexical_over = |total: f32| {
                    w.coverage * (l.found / total).min(1.0)
                        + w.heading * (l.heading_found / total).min(1.0)
                        + w.precision * l.precision
                        + w.bm25 * l.bm25
                        + w.recency * l.recency
                };
                let lexical = lexical_over(total);
                let coverage_all =
                    (l.found / (known_weight + unknown_weight).max(f32::MIN_POSITIVE)).min(1.0);
                let meaning = c.meaning(w).unwrap_or(0.0);
                let evidence = Evidence {
                    meaning,
                    heading: c.similarity.map_or(0.0, |s| s.heading),
                    coverage: (l.found / known_weight.max(f32::MIN_POSITIVE)).min(1.0),
                    coverage_all,
                    known,
                    peak: self.peak / 10.0,
                    // Read over the known words alone, whatever `unknown_word` does to the
                    // ranking: an unknown word must not veto an answer.
                    lexical: lexical_over(known_weight.max(f32::MIN_POSITIVE)),
                    best_meaning,
                    both: meaning * (l.found / known_weight.max(f32::MIN_POSITIVE)).min(1.0),
                    lift: best_meaning - self.mean,
                };
                let (score, confidence) = match c.meaning(w) {
                    Some(m) => (lexical + w.semantic * m, w.confidence.of(&evidence)),
                    None => (lexical, coverage_all),
                };
                Scored {
                    index,
                    score,
                    coverage,
                    confidence,
                    evidence,
                }
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        out
    }

    /// True when the candidates carry semantic similarity.
    pub fn has_meaning(&self) -> bool {
        self.candidates.iter().any(|c| c.similarity.is_some())
    }
}

/// The threshold a reading's confidence is held to: the calibrated one with meaning, the
/// lexical `threshold` setting without it.
pub fn threshold(reading: &Reading, w: &Weights, lexical_threshold: f32) -> f32 {
    if reading.has_meaning() {
        w.threshold
    } else {
        lexical_threshold
    }
}

/// How sure the bot is of a reading: the confidence of its best-ranked candidate (the one the
/// confidence model is fitted on).
pub fn confidence(ranked: &[Scored]) -> f32 {
    ranked.first().map_or(0.0, |s| s.confidence)
}

/// How near the top of the whole question's ranking a part's best passage must be for a part
/// that is not confident alone.
const PART_SUPPORT: usize = 10;

/// A result chosen for an answer: the reading (whole question or part) it answers, the
/// candidate passage and its fused score.
pub type Pick<'a> = (&'a Reading, &'a Candidate, f32);

/// What the bot makes of a question: how confident it is of the whole question, and the
/// results it shows (`None`: it refuses).
pub struct Choice<'a> {
    pub confidence: f32,
    /// How close in meaning the whole question's best-ranked passage is (0 without the model).
    pub meaning: f32,
    pub picks: Option<Vec<Pick<'a>>>,
}

/// The results of a question the bot is confident of as a whole: for each part the knowledge
/// covers, its best passage; then the whole question's ranking; one fact per result. No
/// results when the question is refused.
pub fn choose<'a>(
    whole: &'a Reading,
    parts: &'a [Reading],
    w: &Weights,
    lexical_threshold: f32,
    max_chars: usize,
    wanted: usize,
) -> Choice<'a> {
    let ranked = whole.rank(w);
    let limit = threshold(whole, w, lexical_threshold);
    let best = confidence(&ranked);
    let meaning = ranked.first().map_or(0.0, |s| s.evidence.meaning);
    // What the question asks about is a word the folder never uses: nothing here says it.
    if whole.focus(w).next().is_some() {
        return Choice {
            confidence: best,
            meaning,
            picks: None,
        };
    }
    // The whole question decides. A part read alone loses what the rest of the question says
    // of it: "how long does the assessment take?" is an NPQ question on its own, but not after
    // "how do I apply to the LA for an EHCP and".
    if best < limit {
        return Choice {
            confidence: best,
            meaning,
            picks: None,
        };
    }
    let mut picks: Vec<Pick> = Vec::new();
    // A part too short to stand alone ("is it free") is still answered when the whole's own
    // ranking holds the part's best passage near its top.
    let whole_near: Vec<usize> = ranked
        .iter()
        .take(PART_SUPPORT)
        .map(|s| whole.candidates[s.index].ord)
        .collect();
    for part in parts {
        let part_ranked = part.rank(w);
        let part_limit = threshold(part, w, lexical_threshold);
        if let Some(top) = part_ranked.first().filter(|top| {
            confidence(&part_ranked) >= part_limit
                || whole_near.contains(&part.candidates[top.index].ord)
        }) {
            let c = &part.candidates[top.index];
            if !is_duplicate(&picks, part, c, w, max_chars) {
                picks.push((part, c, top.score));
            }
        }
    }
    for s in &ranked {
        if picks.len() >= wanted {
            break;
        }
        if s.confidence < limit * w.floor {
            continue;
        }
        let c = &whole.candidates[s.index];
        if !is_duplicate(&picks, whole, c, w, max_chars) {
            picks.push((whole, c, s.score));
        }
    }
    Choice {
        confidence: best,
        meaning,
        picks: Some(picks),
    }
}

/// True when `c` is a passage already picked, or its snippet states what a picked one does.
fn is_duplicate(
    picks: &[Pick],
    reading: &Reading,
    c: &Candidate,
    w: &Weights,
    max_chars: usize,
) -> bool {
    let mine = c.snippet(&reading.question, max_chars);
    if mine.text.is_empty() {
        return true;
    }
    picks.iter().any(|(r, p, _)| {
        if p.ord == c.ord {
            return true;
        }
        let theirs = p.snippet(&r.question, max_chars);
        if theirs.text == mine.text {
            return true;
        }
        let shared = mine.topic.intersection(&theirs.topic).count() as f32;
        let union = mine.topic.union(&theirs.topic).count().max(1) as f32;
        shared / union >= w.duplicate
    })
}
