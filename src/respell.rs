//! Respelling for the embedding model: a misspelt question word ("funnded", "dfeer") splits
//! into word pieces that mean nothing to the model, so before a question is embedded each word
//! that neither the folder nor the model's own vocabulary knows is replaced by the folder's most
//! frequent word within one edit of it (two for long words). The lexical stage corrects
//! spellings on its own stems; this gives the semantic stage the same chance.
//!
//! A word the model knows as one piece is a real word and is never changed, so an off-topic
//! question keeps its meaning ("pension" stays "pension" even when the folder never says it).
//! A misspelt word with no folder word close to it takes the commonest close word of the
//! model's vocabulary instead ("reitring" -> "retiring"): left as typed, its word pieces pull
//! an off-topic question towards whatever the folder says most.

use std::collections::HashMap;

use tantivy_fst::{IntoStreamer, Map, Streamer};
use unicode_segmentation::UnicodeSegmentation;

use crate::search::{levenshtein, DfaAutomaton};

/// Shorter words are left alone: too many real words lie one edit apart.
const MIN_CHARS: usize = 5;
/// The shortest word respelt from the model's vocabulary, which holds many more short words
/// than a folder does ("skool" is one edit from "stool").
const DICTIONARY_MIN_CHARS: usize = 6;
/// Words at least this long may be two edits from their spelling.
const TWO_EDITS_CHARS: usize = 7;

/// The folder's words with how often each occurs, searchable by edit distance.
pub struct Lexicon {
    /// `None` only if the map could not be built, which sorted unique keys rule out.
    words: Option<Map<Vec<u8>>>,
    /// The model's whole words, each with how common it is (higher is commoner, as the
    /// folder's counts); `None` when not given.
    dictionary: Option<Map<Vec<u8>>>,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("words", &self.len())
            .field("dictionary", &self.dictionary.as_ref().map_or(0, Map::len))
            .finish()
    }
}

/// The lower-cased words of `text` with their byte ranges: runs of letters.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_word_bound_indices()
        .filter(|(_, w)| w.chars().all(char::is_alphabetic) && !w.is_empty())
}

/// The runs of non-space characters of `text`, with their byte offsets.
fn tokens(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// An fst map of `entries`, `None` only if it could not be built (sorted unique keys rule
/// that out).
fn map(entries: HashMap<String, u64>) -> Option<Map<Vec<u8>>> {
    let mut sorted: Vec<(String, u64)> = entries.into_iter().collect();
    sorted.sort_unstable();
    Map::from_iter(sorted).ok()
}

/// The key of `map` within `distance` edits of `word` (a transposition is one edit), other
/// than `word` itself, with the highest value.
fn closest_in(map: &Map<Vec<u8>>, word: &str, distance: u8) -> Option<String> {
    let automaton = DfaAutomaton(levenshtein(distance).build_dfa(word));
    let mut stream = map.search(automaton).into_stream();
    let mut best: Option<(String, u64)> = None;
    while let Some((key, value)) = stream.next() {
        let Ok(key) = std::str::from_utf8(key) else {
            continue;
        };
        if key == word {
            continue;
        }
        if best.as_ref().is_none_or(|(_, b)| value > *b) {
            best = Some((key.to_string(), value));
        }
    }
    best.map(|(w, _)| w)
}

impl Lexicon {
    /// The lexicon of `texts` (passage headings and bodies).
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Lexicon {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for text in texts {
            for (_, word) in words(text) {
                *counts.entry(word.to_lowercase()).or_default() += 1;
            }
        }
        Lexicon {
            words: map(counts),
            dictionary: None,
        }
    }

    /// The same lexicon with the model's whole words (`word`, rank; lower ranks are commoner
    /// words), the spellings to fall back on for a misspelt word the folder has nothing close
    /// to.
    pub fn with_dictionary(self, words: impl IntoIterator<Item = (String, u64)>) -> Lexicon {
        // Stored as how common a word is, so that both maps prefer the highest value.
        let mut commonness: HashMap<String, u64> = HashMap::new();
        for (word, rank) in words {
            let common = commonness.entry(word.to_lowercase()).or_default();
            *common = (*common).max(u64::MAX - rank);
        }
        Lexicon {
            dictionary: map(commonness),
            ..self
        }
    }

    pub fn len(&self) -> usize {
        self.words.as_ref().map_or(0, Map::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, word: &str) -> bool {
        self.words.as_ref().is_some_and(|m| m.contains_key(word))
    }

    /// The most frequent word of the folder within `distance` edits of `word` (a
    /// transposition is one edit).
    fn closest(&self, word: &str, distance: u8) -> Option<String> {
        closest_in(self.words.as_ref()?, word, distance)
    }

    /// The commonest word of the model's vocabulary one edit from `word`.
    fn closest_in_dictionary(&self, word: &str) -> Option<String> {
        closest_in(self.dictionary.as_ref()?, word, 1)
    }

    /// The span of `text` from its first to its last token that the folder or `known` knows,
    /// where a token is a run of non-space characters, known when it holds a digit or a word
    /// either knows. Friendly words around a question that neither the folder nor the model
    /// reads as a word ("hiya ... pls", "... lol") pull a short question's embedding away from
    /// the passage that answers it. The whole text when no token is known.
    pub fn known_span<'t>(&self, text: &'t str, known: impl Fn(&str) -> bool) -> &'t str {
        let is_known = |token: &str| {
            token.chars().any(|c| c.is_ascii_digit())
                || words(token).any(|(_, w)| {
                    let lower = w.to_lowercase();
                    self.contains(&lower) || known(&lower)
                })
        };
        let mut tokens = tokens(text).into_iter().filter(|(_, t)| is_known(t));
        let Some((start, first)) = tokens.next() else {
            return text;
        };
        let end = tokens
            .next_back()
            .map_or(start + first.len(), |(at, t)| at + t.len());
        &text[start..end]
    }

    /// `text` with each word that the folder and `known` do not know replaced by its closest
    /// spelling in the folder, when there is one.
    pub fn respell(&self, text: &str, known: impl Fn(&str) -> bool) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, word) in words(text) {
            let lower = word.to_lowercase();
            if lower.chars().count() < MIN_CHARS || self.contains(&lower) || known(&lower) {
                continue;
            }
            // One edit from the folder, then one edit from the model's words, then two edits
            // from the folder: a common word one slip away is likelier than a folder word two.
            let chars = lower.chars().count();
            let spelling = self
                .closest(&lower, 1)
                .or_else(|| {
                    (chars >= DICTIONARY_MIN_CHARS)
                        .then(|| self.closest_in_dictionary(&lower))
                        .flatten()
                })
                .or_else(|| {
                    (chars >= TWO_EDITS_CHARS)
                        .then(|| self.closest(&lower, 2))
                        .flatten()
                });
            if let Some(spelling) = spelling {
                out.push_str(&text[at..start]);
                out.push_str(&spelling);
                at = start + word.len();
            }
        }
        out.push_str(&text[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Lexicon;

    fn lexicon() -> Lexicon {
        Lexicon::new([
            "Funded places for the autumn cohort.",
            "You can defer once; funded places are limited.",
            "Sessions run online.",
        ])
    }

    #[test]
    fn misspelt_words_take_the_folders_spelling() {
        let l = lexicon();
        let none = |_: &str| false;
        assert_eq!(l.respell("is it funnded?", none), "is it funded?");
        assert_eq!(l.respell("how many ssesions", none), "how many sessions");
        assert_eq!(l.respell("Can I dfeer", none), "Can I defer");
        // Seven letters or more may be two edits out.
        assert_eq!(l.respell("how many sesionss", none), "how many sessions");
        assert_eq!(l.respell("are they fnded", none), "are they funded");
    }

    #[test]
    fn a_word_the_folder_has_nothing_close_to_takes_the_commonest_close_word_of_the_model() {
        let l = lexicon().with_dictionary([
            ("retiring".to_string(), 9000),
            ("moved".to_string(), 2500),
            ("mowed".to_string(), 21000),
            ("stool".to_string(), 8000),
            ("funnel".to_string(), 100),
        ]);
        let none = |_: &str| false;
        assert_eq!(l.respell("she is reitring", none), "she is retiring");
        assert_eq!(l.respell("since I mooved", none), "since I moved");
        // The folder's spelling comes first, however common a word of the model is.
        assert_eq!(l.respell("is it funnded?", none), "is it funded?");
        // A word of the model one edit away comes before a folder word two edits away.
        let named = Lexicon::new(["The Bortist academy trust."]);
        assert_eq!(named.respell("a birtish school", none), "a bortist school");
        let named = named.with_dictionary([("british".to_string(), 3000)]);
        assert_eq!(named.respell("a birtish school", none), "a british school");
        // Five letters are too few to respell from the model's many short words.
        assert_eq!(l.respell("my skool", none), "my skool");
    }

    #[test]
    fn the_known_span_leaves_out_words_around_the_question_nobody_knows() {
        let l = lexicon();
        let model = |w: &str| w == "cheers";
        assert_eq!(
            l.known_span("hiya are funded places online? cheers lol", model),
            "are funded places online? cheers"
        );
        assert_eq!(l.known_span("places in 2026 pls", model), "places in 2026");
        // Unknown words inside the span stay.
        assert_eq!(
            l.known_span("sessions zzz online", model),
            "sessions zzz online"
        );
        assert_eq!(l.known_span("zzz yyy", model), "zzz yyy");
        assert_eq!(l.known_span("", model), "");
    }

    #[test]
    fn tokens_keep_their_offsets() {
        assert_eq!(
            super::tokens(" a\u{a0}bc\u{2003}£5 "),
            vec![(1, "a"), (4, "bc"), (9, "£5")]
        );
        assert!(super::tokens(" \t ").is_empty());
    }

    #[test]
    fn known_and_short_words_stay() {
        let l = lexicon();
        // A word the model knows is never changed, even one edit from a folder word.
        assert_eq!(
            l.respell("is my pension funnded", |w| w == "pension"),
            "is my pension funded"
        );
        assert_eq!(l.respell("wat abot it", |_| false), "wat abot it");
        // Nothing close: left as typed.
        assert_eq!(l.respell("zzzzzzz", |_| false), "zzzzzzz");
        assert_eq!(l.respell("", |_| false), "");
    }
}
