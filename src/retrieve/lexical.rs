//! The lexical stage: the question's concepts weighed by rarity in this index (a word the
//! index has never seen is corrected to a close spelling when there is one), candidate
//! passages fetched by BM25, and for each candidate how much of the question's weight it covers.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::analysis::QuestionType;
use crate::query::{Concept, Variant};
use crate::search::{Hit, Snapshot};

#[cfg(test)]
mod tests {
    use super::{weigh_names, within_one_edit, Question, Weighted, NAME_WEIGHT};
    use crate::query::{Concept, Variant};

    fn weighted(surface: &str, weight: f32, unknown: bool) -> Weighted {
        Weighted {
            concept: Concept {
                surface: surface.to_string(),
                own: vec![surface.to_lowercase()],
                variants: vec![Variant {
                    stems: vec![surface.to_lowercase()],
                    credit: 1.0,
                }],
            },
            weight,
            unknown,
        }
    }

    #[test]
    fn a_name_of_the_catalogue_weighs_at_least_the_name_weight() {
        let mut question = Question {
            concepts: vec![
                weighted("NPQH", 0.4, false),
                weighted("worth", 3.4, false),
                weighted("NPQX", 6.0, true),
                weighted("NPQSL", 2.5, false),
            ],
            qtypes: Vec::new(),
            fact_weight: 0.0,
        };
        weigh_names(&mut question, |c| c.surface.starts_with("NPQ"));
        let weights: Vec<f32> = question.concepts.iter().map(|c| c.weight).collect();
        // A common name is raised; other words, unknown words and rarer names are as they were.
        assert_eq!(weights, vec![NAME_WEIGHT, 3.4, 6.0, 2.5]);
    }

    #[test]
    fn one_edit_apart() {
        assert!(within_one_edit("wat", "what"));
        assert!(within_one_edit("ther", "there"));
        assert!(within_one_edit("jus", "just"));
        assert!(!within_one_edit("teh", "the"));
        assert!(within_one_edit("wen", "when"));
        assert!(within_one_edit("abc", "abd"));
        assert!(!within_one_edit("abc", "xyz"));
        assert!(within_one_edit("same", "same"));
    }
}

/// How a misspelt word's correction counts, against the user's own word.
const TYPO_CREDIT: f32 = 0.7;
/// How a topic word found only in the document's title, keywords or other wordings of the
/// passage's question counts.
const CONTEXT_CREDIT: f32 = 0.6;
/// The most a phrase of function words ("have to") weighs.
const FUNCTION_PHRASE_WEIGHT: f32 = 1.0;
/// Shorter words are not corrected: too many real words lie one edit apart ("lunch", "launch").
const MIN_TYPO_CHARS: usize = 5;

/// A concept with its weight in this index.
pub struct Weighted {
    pub concept: Concept,
    pub weight: f32,
    /// True when no passage holds the word or a close spelling of it: it cannot tell passages
    /// apart, so it counts only a little against every passage (see `Weights::unknown_word`).
    pub unknown: bool,
}

/// The question as the lexical stage reads it.
pub struct Question {
    pub concepts: Vec<Weighted>,
    pub qtypes: Vec<QuestionType>,
    /// The weight of the kind of fact asked for, counted as one more topic word.
    pub fact_weight: f32,
}

impl Question {
    /// The weight of the known concepts plus the fact asked for.
    pub fn known_weight(&self) -> f32 {
        self.concepts
            .iter()
            .filter(|c| !c.unknown)
            .map(|c| c.weight)
            .sum::<f32>()
            + self.fact_weight
    }

    /// The weight of the words no passage holds.
    pub fn unknown_weight(&self) -> f32 {
        self.concepts
            .iter()
            .filter(|c| c.unknown)
            .map(|c| c.weight)
            .sum()
    }
}

/// Weighs each concept by how rare it is; a word the index has never seen weighs most,
/// unless a close spelling of it is found.
pub fn weigh(snapshot: &Snapshot, concepts: Vec<Concept>, qtypes: Vec<QuestionType>) -> Question {
    let n = snapshot.num_passages().max(1) as f32;
    let idf = |df: u64| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
    let concepts = concepts
        .into_iter()
        .filter(|c| !is_misspelt_function_word(snapshot, c))
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
                // A close spelling ("hedship" for "headship").
                let distance = if own[0].chars().count() >= 9 { 2 } else { 1 };
                if let Some((stem, freq)) = snapshot.closest_stem(&own[0], distance) {
                    concept.variants.push(Variant {
                        stems: vec![stem],
                        credit: TYPO_CREDIT,
                    });
                    df = freq;
                }
            }
            // A phrase of function words ("have to", "how much") only hints at the topic.
            let weight = if own.is_empty() {
                idf(df).min(FUNCTION_PHRASE_WEIGHT)
            } else {
                idf(df)
            };
            Weighted {
                concept,
                weight,
                unknown: df == 0,
            }
        })
        .collect();
    let fact_weight = if qtypes.is_empty() {
        0.0
    } else {
        (1.0 + (n - n / 8.0 + 0.5) / (n / 8.0 + 0.5)).ln()
    };
    Question {
        concepts,
        qtypes,
        fact_weight,
    }
}

/// The least a name of the catalogue ("NPQH", "leading behaviour and culture") weighs: what a
/// word in about a third of the passages weighs. A folder about its programmes names them in
/// most passages, so by rarity alone a name weighs less than "worth" or "halfway"; yet a
/// question that names one asks about that one.
const NAME_WEIGHT: f32 = 1.0;

/// Raises each known concept that `is_name` takes for a name of the catalogue to
/// [`NAME_WEIGHT`].
pub fn weigh_names(question: &mut Question, is_name: impl Fn(&Concept) -> bool) {
    for c in question.concepts.iter_mut().filter(|c| !c.unknown) {
        if c.weight < NAME_WEIGHT && is_name(&c.concept) {
            c.weight = NAME_WEIGHT;
        }
    }
}

/// True for a short word the index has never seen that is one edit from a function word
/// ("wat", "ther", "jus"): chat spelling of a word that carries no topic, not a topic.
fn is_misspelt_function_word(snapshot: &Snapshot, concept: &Concept) -> bool {
    let [word] = concept.own.as_slice() else {
        return false;
    };
    let chars = word.chars().count();
    if !(2..=MIN_TYPO_CHARS).contains(&chars)
        || !word.chars().all(char::is_alphabetic)
        || concept.variants.len() > 1
        || snapshot.doc_freq(word) > 0
    {
        return false;
    }
    crate::analysis::stop_stems()
        .filter(|s| s.chars().count() >= 2)
        .any(|s| within_one_edit(word, s))
}

/// True when `a` and `b` differ by at most one inserted, deleted or changed character
/// (the Levenshtein automata the index's typo correction uses, without transpositions).
fn within_one_edit(a: &str, b: &str) -> bool {
    static ONE: std::sync::OnceLock<levenshtein_automata::LevenshteinAutomatonBuilder> =
        std::sync::OnceLock::new();
    let builder =
        ONE.get_or_init(|| levenshtein_automata::LevenshteinAutomatonBuilder::new(1, false));
    matches!(
        builder.build_dfa(a).eval(b),
        levenshtein_automata::Distance::Exact(_)
    )
}

/// The stems to search for, each with the best boost of the variants it is part of.
pub fn terms(question: &Question) -> Vec<(String, f32)> {
    let mut terms: Vec<(String, f32)> = Vec::new();
    for c in question.concepts.iter().filter(|c| !c.unknown) {
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
    terms
}

/// What the lexical stage knows of one candidate passage.
#[derive(Debug, Clone)]
pub struct Features {
    /// The weight of the question's concepts (and fact kind) the passage covers.
    pub found: f32,
    /// The weight the passage's heading covers.
    pub heading_found: f32,
    /// The share of the heading's topic words that are the question's.
    pub precision: f32,
    /// BM25 against the best candidate's.
    pub bm25: f32,
    /// How new its main source is among the candidates (0 to 1).
    pub recency: f32,
}

/// Counts a known word at `factor` of its weight when none of the passages closest in meaning
/// (`neighbours`) holds it: a rare word of the folder that the question's meaning does not
/// lead to ("thanks in advance", a name, "ta" for thanks) should not decide which passage
/// answers, while the words the meaning and the wording agree on keep their full weight.
pub fn discount_unshared(question: &mut Question, neighbours: &[&Hit], factor: f32) {
    if neighbours.is_empty() || factor >= 1.0 {
        return;
    }
    let wanted = wanted_stems(&question.concepts);
    let lookup = Wanted::new(&wanted);
    let words: Vec<(Words, Words)> = neighbours
        .iter()
        .map(|h| {
            (
                Words::from_stems(h.stems.own(), &lookup),
                Words::from_stems(h.stems.context(), &lookup),
            )
        })
        .collect();
    let shared: Vec<bool> = question
        .concepts
        .iter()
        .map(|c| {
            c.unknown
                || words.iter().any(|(own, context)| {
                    credit(&c.concept, own) > 0.0 || credit(&c.concept, context) > 0.0
                })
        })
        .collect();
    for (c, shared) in question.concepts.iter_mut().zip(shared) {
        if !shared {
            c.weight *= factor;
        }
    }
}

/// Scores `hits` against the question.
pub fn features(question: &Question, hits: &[Hit]) -> Vec<Features> {
    let best_bm25 = hits
        .iter()
        .map(|h| h.bm25)
        .fold(f32::MIN_POSITIVE, f32::max);
    let wanted = wanted_stems(&question.concepts);
    let lookup = Wanted::new(&wanted);
    let dates: Vec<f32> = hits
        .iter()
        .map(|h| date_value(&h.passage.citation().date))
        .filter(|&d| d > 0.0)
        .collect();
    let oldest = dates.iter().copied().fold(f32::MAX, f32::min);
    let newest = dates.iter().copied().fold(f32::MIN, f32::max);
    hits.iter()
        .map(|hit| {
            // Stemmed when the passage was indexed, not for every question.
            let section = Words::from_stems(hit.stems.section(), &lookup);
            let own = Words::from_stems(hit.stems.own(), &lookup);
            // The title and keywords are shared by all a document's sections, and other wordings
            // of the question are not the guidance's own words: they count less.
            let context = Words::from_stems(hit.stems.context(), &lookup);
            let fact = if question.qtypes.iter().any(|q| hit.stems.states(*q)) {
                question.fact_weight
            } else {
                0.0
            };
            let found: f32 = question
                .concepts
                .iter()
                .map(|c| {
                    c.weight
                        * credit(&c.concept, &own)
                            .max(CONTEXT_CREDIT * credit(&c.concept, &context))
                })
                .sum();
            let on_topic: usize = section.positions.values().map(Vec::len).sum();
            let recency =
                (date_value(&hit.passage.citation().date) - oldest) / (newest - oldest).max(1.0);
            Features {
                found: found + fact,
                heading_found: coverage_in(&question.concepts, &section),
                precision: on_topic as f32 / section.len.max(1) as f32,
                bm25: hit.bm25 / best_bm25,
                recency: recency.clamp(0.0, 1.0),
            }
        })
        .collect()
}

/// The topic words of a text with their positions (stop words left out), to find words and
/// phrases in it.
#[derive(Default)]
pub struct Words<'a> {
    pub positions: HashMap<&'a str, Vec<usize>, BuildHasherDefault<Fnv>>,
    /// How many topic words the text has.
    pub len: usize,
}

impl<'a> Words<'a> {
    /// The words of topic stems made earlier ([`crate::search::PassageStems`]), keeping the
    /// positions of only the `wanted` ones: nothing else is looked up.
    pub fn from_stems(stems: impl Iterator<Item = &'a str>, wanted: &Wanted) -> Words<'a> {
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
    pub fn has(&self, stems: &[String]) -> bool {
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
pub struct Wanted<'a> {
    stems: HashSet<&'a str, BuildHasherDefault<Fnv>>,
    /// Bit `n` is set when a wanted stem is `n` bytes long (63 for any longer).
    lengths: u64,
    /// Bit `b` is set when a wanted stem starts with byte `b`.
    first_bytes: [u64; 4],
}

impl<'a> Wanted<'a> {
    pub fn new(stems: &HashSet<&'a str>) -> Wanted<'a> {
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

    pub fn contains(&self, stem: &str) -> bool {
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
pub struct Fnv(u64);

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
pub fn coverage_in(concepts: &[Weighted], words: &Words) -> f32 {
    concepts
        .iter()
        .map(|c| c.weight * credit(&c.concept, words))
        .sum()
}

/// The best credit among the concept's variants that occur in `words`.
pub fn credit(concept: &Concept, words: &Words) -> f32 {
    concept
        .variants
        .iter()
        .filter(|v| words.has(&v.stems))
        .map(|v| v.credit)
        .fold(0.0, f32::max)
}

/// A source date as a number of years, for preferring newer guidance; 0 when undated.
pub fn date_value(date: &str) -> f32 {
    let mut parts = date.split('-').map(|p| p.parse::<f32>().unwrap_or(0.0));
    let year = parts.next().unwrap_or(0.0);
    let month = parts.next().unwrap_or(1.0);
    year + (month - 1.0) / 12.0
}

/// Every stem of every way of saying the question's concepts.
pub fn wanted_stems(concepts: &[Weighted]) -> HashSet<&str> {
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
