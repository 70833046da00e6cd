//! From what a user typed to search concepts: Discord and Markdown noise removed, words
//! stemmed, and each topic word widened with the glossary's acronyms and synonyms.
//! Nothing a user types is ever parsed as query syntax.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

use crate::analysis::{self, is_stop_stem};
use crate::knowledge::Knowledge;

/// Questions longer than this (in characters) are cut before searching.
pub const MAX_QUESTION_CHARS: usize = 1_000;
/// At most this many topic words of a question are searched.
pub const MAX_CONCEPTS: usize = 24;
/// How much a synonym counts, against the user's own word.
pub const SYNONYM_CREDIT: f32 = 0.8;

/// Removes Discord mentions, custom emoji, URLs, Markdown marks and control characters.
pub fn clean(input: &str) -> String {
    static NOISE: OnceLock<Regex> = OnceLock::new();
    let noise = NOISE.get_or_init(|| {
        Regex::new(concat!(
            r"<@[!&]?\d+>|<#\d+>|</[^>\s]+:\d+>|<a?:\w+:\d+>|<t:-?\d+(:[a-zA-Z])?>",
            r"|@(everyone|here)\b",
            r"|(?i:https?://|www\.)\S+",
            r"|```\w*|[>#\\]+",
        ))
        .expect("valid regex")
    });
    static MARKS: OnceLock<Regex> = OnceLock::new();
    let marks = MARKS.get_or_init(|| Regex::new(r"[`*_~|]+").expect("valid regex"));
    let without_noise = noise.replace_all(input, " ");
    let without_noise = marks.replace_all(&without_noise, "");
    let printable: String = without_noise
        .chars()
        .map(|c| {
            if c.is_control() || is_invisible_format(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let collapsed = printable.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(MAX_QUESTION_CHARS) {
        Some((cut, _)) => collapsed[..cut].to_string(),
        None => collapsed,
    }
}

/// Zero-width and bidirectional control characters, which change nothing a reader sees.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{00ad}')
}

/// One way of saying a concept: a sequence of stems that must all appear.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub stems: Vec<String>,
    /// 1.0 for the user's word or an expansion that means the same; less for looser matches.
    pub credit: f32,
}

/// One topic word (or phrase) of a question, with every way of saying it.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    /// The user's words, as typed.
    pub surface: String,
    /// The user's own stems first, then expansions.
    pub variants: Vec<Variant>,
}

impl Concept {
    pub fn own_stems(&self) -> &[String] {
        &self.variants[0].stems
    }
}

/// Acronyms, programme names and synonym groups as stem sequences, for widening questions.
#[derive(Debug, Clone, Default)]
pub struct Expander {
    entries: HashMap<Vec<String>, Vec<Variant>>,
    longest: usize,
}

impl Expander {
    pub fn new(knowledge: &Knowledge) -> Self {
        let mut expander = Expander::default();
        for a in &knowledge.glossary.acronyms {
            let forms: Vec<&str> = std::iter::once(a.term.as_str())
                .chain(std::iter::once(a.means.as_str()))
                .chain(a.also.iter().map(String::as_str))
                .collect();
            expander.add_group(&forms, 1.0);
        }
        for p in &knowledge.programmes {
            let forms: Vec<&str> = [p.code.as_str(), p.name.as_str()]
                .into_iter()
                .chain(p.aliases.iter().map(String::as_str))
                .collect();
            expander.add_group(&forms, 1.0);
        }
        for group in &knowledge.glossary.synonyms {
            let forms: Vec<&str> = group.iter().map(String::as_str).collect();
            expander.add_group(&forms, SYNONYM_CREDIT);
        }
        expander
    }

    /// Every form of the group expands to every other form with `credit`.
    fn add_group(&mut self, forms: &[&str], credit: f32) {
        // A form that shrinks to one word once stop words go ("NPQ LL" -> "npq") would
        // hijack that word, so it is left out.
        let stemmed: Vec<Vec<String>> = forms
            .iter()
            .filter_map(|f| {
                let stems = analysis::content_stems(f);
                let shrank_to_one = stems.len() == 1 && analysis::tokens(f).len() > 1;
                (!stems.is_empty() && !shrank_to_one).then_some(stems)
            })
            .collect();
        for key in &stemmed {
            let variants = self.entries.entry(key.clone()).or_default();
            for other in &stemmed {
                if other != key && !variants.iter().any(|v| &v.stems == other) {
                    variants.push(Variant {
                        stems: other.clone(),
                        credit,
                    });
                }
            }
            self.longest = self.longest.max(key.len());
        }
    }

    /// The question's concepts: runs of topic words matched longest-first against the glossary.
    pub fn concepts(&self, question: &str) -> Vec<Concept> {
        let words: Vec<analysis::Token> = analysis::tokens(question)
            .into_iter()
            .filter(|t| !is_stop_stem(&t.stem))
            .collect();
        let mut concepts: Vec<Concept> = Vec::new();
        let mut i = 0;
        while i < words.len() && concepts.len() < MAX_CONCEPTS {
            let max = self.longest.min(words.len() - i).max(1);
            let (len, expansions) = (1..=max)
                .rev()
                .find_map(|n| {
                    let key: Vec<String> = words[i..i + n].iter().map(|t| t.stem.clone()).collect();
                    self.entries.get(&key).map(|v| (n, v.clone()))
                })
                .unwrap_or((1, Vec::new()));
            let stems: Vec<String> = words[i..i + len].iter().map(|t| t.stem.clone()).collect();
            let surface = question[words[i].span.start..words[i + len - 1].span.end].to_string();
            if !concepts.iter().any(|c| c.own_stems() == stems.as_slice()) {
                let mut variants = vec![Variant { stems, credit: 1.0 }];
                variants.extend(expansions);
                concepts.push(Concept { surface, variants });
            }
            i += len;
        }
        concepts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::{Acronym, Glossary};

    fn expander() -> Expander {
        let knowledge = Knowledge {
            glossary: Glossary {
                acronyms: vec![Acronym {
                    term: "TLR".into(),
                    means: "teaching and learning responsibility".into(),
                    also: vec![],
                }],
                synonyms: vec![vec!["cost".into(), "price".into(), "how much".into()]],
            },
            ..Knowledge::default()
        };
        Expander::new(&knowledge)
    }

    #[test]
    fn discord_and_markdown_noise_is_removed() {
        let q = "<@123> **How long** is the `NPQH`? @everyone https://x.org/a <:smile:42> \u{202e}ok\u{0007}";
        assert_eq!(clean(q), "How long is the NPQH? ok");
    }

    #[test]
    fn very_long_questions_are_cut() {
        assert_eq!(
            clean(&"word ".repeat(1_000)).chars().count(),
            MAX_QUESTION_CHARS
        );
    }

    #[test]
    fn acronyms_expand_to_their_meaning() {
        let concepts = expander().concepts("Do I get a TLR?");
        assert_eq!(concepts.len(), 1);
        assert_eq!(concepts[0].surface, "TLR");
        assert_eq!(
            concepts[0].variants[1].stems,
            vec!["teach", "learn", "respons"]
        );
    }

    #[test]
    fn phrases_match_longest_first() {
        let concepts = expander().concepts("teaching and learning responsibility payments");
        assert_eq!(concepts[0].own_stems(), ["teach", "learn", "respons"]);
        assert_eq!(concepts[0].variants[1].stems, vec!["tlr"]);
        assert_eq!(concepts[1].own_stems(), ["payment"]);
    }

    #[test]
    fn synonyms_carry_less_credit() {
        let concepts = expander().concepts("what's the price");
        let cost = concepts[0]
            .variants
            .iter()
            .find(|v| v.stems == ["cost"])
            .unwrap();
        assert!(cost.credit < 1.0);
    }
}
