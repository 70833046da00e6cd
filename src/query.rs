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
    // Emphasis marks sit inside words ("**NPQH**"); bars and tildes separate them ("a|b").
    let marks = MARKS.get_or_init(|| Regex::new(r"[`*_]+").expect("valid regex"));
    let without_noise = noise.replace_all(input, " ");
    let without_noise = marks
        .replace_all(&without_noise, "")
        .replace(['|', '~'], " ");
    let printable: String = without_noise
        .chars()
        .map(|c| {
            if c.is_control() || is_format_char(c) {
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

/// The message without its asides: a sentence of one or two words at the start or the end
/// that asks nothing and names no topic the folder knows ("Hello!", "xx", "thanks."), when
/// another sentence of the message asks the question. A greeting or sign-off carries no topic,
/// but it moves the question's meaning away from the passage that answers it. A short
/// sentence with a question mark ("Cost?") or a known topic ("self funded") stays, and so
/// does a message made only of short ones. `has_topic` tells whether a sentence names a topic
/// the folder knows.
pub fn without_asides(question: &str, has_topic: impl Fn(&str) -> bool) -> String {
    let sentences = sentences(question);
    // Each sentence is judged once (`has_topic` reads the index).
    let aside: Vec<bool> = sentences
        .iter()
        .map(|s| s.split_whitespace().count() < 3 && !s.trim_end().ends_with('?') && !has_topic(s))
        .collect();
    let Some(first) = aside.iter().position(|a| !a) else {
        return question.to_string();
    };
    let last = aside.iter().rposition(|a| !a).unwrap_or(first);
    let kept = &sentences[first..=last];
    kept.iter().map(|s| s.trim()).collect::<Vec<_>>().join(" ")
}

/// The sentences of a message, each with its closing marks: a sentence ends at `?`, `!`, `.`
/// or `;` followed by a space or the end (so "£1.5k" and "e.g.x" stay whole).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !matches!(c, '?' | '!' | '.' | ';') {
            continue;
        }
        // A run of marks ("?!", "!!") closes one sentence.
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if !matches!(d, '?' | '!' | '.' | ';') {
                break;
            }
            end = j + d.len_utf8();
            chars.next();
        }
        if chars.peek().is_none_or(|&(_, d)| d.is_whitespace()) {
            if !text[start..end].trim().is_empty() {
                out.push(&text[start..end]);
            }
            start = end;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push(&text[start..]);
    }
    out
}

/// Words that open a question of their own after "and" ("... and is it free", "... and do I
/// get paid more"): English question words and auxiliaries, not topics.
const QUESTION_OPENERS: &[&str] = &[
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should",
    "shall", "may", "might", "must", "has", "have", "how", "what", "whats", "what's", "when",
    "where", "who", "which", "why", "whether",
];

/// Words by which a part of a message points back at what an earlier part named ("how much is
/// the NPQEL and is it funded?"): English pronouns, not topics.
const REFERRING_WORDS: &[&str] = &["it", "its", "it's", "they", "them", "their", "theirs"];

/// True when `part` holds a word pointing back at something named before it.
pub fn refers_back(part: &str) -> bool {
    part.split_whitespace().any(|w| {
        let w = w
            .to_lowercase()
            .replace('\u{2019}', "'")
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
            .to_string();
        REFERRING_WORDS.contains(&w.as_str())
    })
}

/// The questions one message asks: split at question marks and full stops, and at "and" (or
/// "also", "plus", "&") followed by a word that opens a question. A message asking one
/// thing gives one part.
pub fn parts(question: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for sentence in question.split_inclusive(['?', '.', ';']) {
        let words: Vec<&str> = sentence.split_whitespace().collect();
        let mut start = 0;
        for i in 0..words.len() {
            let joiner = matches!(
                words[i].to_lowercase().as_str(),
                "and" | "also" | "plus" | "&" | "n"
            );
            let opens = words
                .get(i + 1)
                .map(|w| {
                    w.to_lowercase()
                        .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                        .to_string()
                })
                .is_some_and(|w| QUESTION_OPENERS.contains(&w.as_str()));
            if joiner && opens && i > start {
                parts.push(words[start..i].join(" "));
                start = i + 1;
            }
        }
        if start < words.len() {
            parts.push(words[start..].join(" "));
        }
    }
    // A part of fewer than three words is a tail ("and why?"), not a question of its own.
    let parts: Vec<String> = parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| p.split_whitespace().count() >= 3)
        .collect();
    if parts.len() > 1 {
        parts
    } else {
        vec![question.to_string()]
    }
}

/// Zero-width and bidirectional control characters, which change nothing a reader sees.
/// Unicode's format characters (general category Cf): bidirectional overrides and isolates,
/// zero-width spaces and joiners, the soft hyphen, tags. Echoed text could use them to
/// reorder or hide what it shows, so they are removed: one rule for
/// cleaning questions (before they are answered or logged) and for replies.
pub fn is_format_char(c: char) -> bool {
    matches!(c as u32,
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F)
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
    /// The user's own topic stems; empty for a phrase of stop words such as "have to".
    pub own: Vec<String>,
    /// The user's own stems first (when there are any), then expansions.
    pub variants: Vec<Variant>,
}

/// Acronyms, programme names and synonym groups as stem sequences, for widening questions.
#[derive(Debug, Clone, Default)]
pub struct Expander {
    /// Keyed by a form's topic stems, stop words left out ("NPQ for SENCOs" -> npq senco).
    by_topic: HashMap<Vec<String>, Vec<Variant>>,
    /// Keyed by all of a form's stems, stop words included ("have to", "how much").
    by_words: HashMap<Vec<String>, Vec<Variant>>,
    longest: usize,
    /// The stems of the one-word acronyms the glossary marks `capitals = true`, which stand
    /// for their meaning only as typed in capitals ("TA", not "ta" for thanks).
    capitals_only: std::collections::HashSet<String>,
}

impl Expander {
    pub fn new(knowledge: &Knowledge) -> Self {
        let mut expander = Expander::default();
        for a in &knowledge.glossary.acronyms {
            if a.capitals {
                if let [token] = analysis::tokens(&a.term).as_slice() {
                    expander.capitals_only.insert(token.stem.clone());
                }
            }
            let forms: Vec<&str> = [a.term.as_str(), a.means.as_str()]
                .into_iter()
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
        struct Form {
            words: Vec<String>,
            /// None when the form has no topic words, or shrinks to one word once stop words
            /// go ("NPQ LL" -> "npq") and would hijack that word.
            topic: Option<Vec<String>>,
        }
        let forms: Vec<Form> = forms
            .iter()
            .map(|f| {
                let words = analysis::stems(f);
                let topic: Vec<String> =
                    words.iter().filter(|w| !is_stop_stem(w)).cloned().collect();
                let usable = !(topic.is_empty() || (topic.len() == 1 && words.len() > 1));
                Form {
                    words,
                    topic: usable.then_some(topic),
                }
            })
            .filter(|f| !f.words.is_empty())
            .collect();
        for form in &forms {
            let variants: Vec<Variant> = forms
                .iter()
                .filter_map(|o| o.topic.clone())
                .filter(|t| Some(t) != form.topic.as_ref())
                .map(|stems| Variant { stems, credit })
                .collect();
            let register = |map: &mut HashMap<Vec<String>, Vec<Variant>>, key: Vec<String>| {
                let entry = map.entry(key).or_default();
                for v in &variants {
                    if !entry.iter().any(|e| e.stems == v.stems) {
                        entry.push(v.clone());
                    }
                }
            };
            if let Some(topic) = &form.topic {
                register(&mut self.by_topic, topic.clone());
            }
            if form.words.len() > 1 {
                register(&mut self.by_words, form.words.clone());
            }
            self.longest = self.longest.max(form.words.len());
        }
    }

    /// The question's concepts: topic words, with glossary phrases matched longest-first,
    /// either word for word or with at most one stop word between their topic words.
    pub fn concepts(&self, question: &str) -> Vec<Concept> {
        let tokens = analysis::tokens(question);
        let stop: Vec<bool> = tokens.iter().map(|t| is_stop_stem(&t.stem)).collect();
        let mut concepts: Vec<Concept> = Vec::new();
        let mut i = 0;
        while i < tokens.len() && concepts.len() < MAX_CONCEPTS {
            // (end, expansions) of the longest glossary match starting at token i.
            let mut best: Option<(usize, Vec<Variant>)> = None;
            for n in (2..=self.longest.min(tokens.len() - i)).rev() {
                let key: Vec<String> = tokens[i..i + n].iter().map(|t| t.stem.clone()).collect();
                if let Some(v) = self.by_words.get(&key) {
                    best = Some((i + n, v.clone()));
                    break;
                }
            }
            if !stop[i] {
                let mut run = vec![i];
                for (j, &is_stop) in stop.iter().enumerate().skip(i + 1) {
                    if run.len() >= self.longest || j - run[run.len() - 1] > 2 {
                        break;
                    }
                    if !is_stop {
                        run.push(j);
                    }
                }
                for m in (1..=run.len()).rev() {
                    let key: Vec<String> =
                        run[..m].iter().map(|&j| tokens[j].stem.clone()).collect();
                    if m == 1 && self.capitals_only.contains(&key[0]) {
                        let typed = &question[tokens[i].span.clone()];
                        if !typed.chars().all(|c| c.is_ascii_uppercase()) {
                            continue;
                        }
                    }
                    if let Some(v) = self.by_topic.get(&key) {
                        let end = run[m - 1] + 1;
                        if best.as_ref().is_none_or(|(e, _)| end > *e) {
                            best = Some((end, v.clone()));
                        }
                        break;
                    }
                }
            }
            let (end, expansions) = match best {
                Some(found) => found,
                None if stop[i] => {
                    i += 1;
                    continue;
                }
                None => (i + 1, Vec::new()),
            };
            let own: Vec<String> = (i..end)
                .filter(|&j| !stop[j])
                .map(|j| tokens[j].stem.clone())
                .collect();
            let surface = question[tokens[i].span.start..tokens[end - 1].span.end].to_string();
            let mut variants: Vec<Variant> = Vec::new();
            if !own.is_empty() {
                variants.push(Variant {
                    stems: own.clone(),
                    credit: 1.0,
                });
            }
            variants.extend(expansions.into_iter().filter(|v| v.stems != own));
            let duplicate = concepts
                .iter()
                .any(|c| c.own == own && c.variants == variants);
            if !variants.is_empty() && !duplicate {
                concepts.push(Concept {
                    surface,
                    own,
                    variants,
                });
            }
            i = end;
        }
        concepts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every format character is gone from a cleaned question, including the ones the log
    /// once kept (Arabic letter mark, Mongolian vowel separator, interlinear annotation marks,
    /// tags).
    #[test]
    fn cleaning_removes_every_format_character() {
        let typed = "how\u{061C} long\u{180E} is\u{FFF9}\u{FFFA}\u{FFFB} the \u{E0001}\u{E0041}NPQH\u{202E}?";
        let cleaned = clean(typed);
        assert!(!cleaned.chars().any(is_format_char), "{cleaned:?}");
        assert_eq!(cleaned, "how long is the NPQH ?");
    }

    #[test]
    fn pronouns_point_back_and_topics_do_not() {
        assert!(super::refers_back("is it funded?"));
        assert!(super::refers_back("do they pay for it"));
        assert!(super::refers_back("It\u{2019}s free?"));
        assert!(!super::refers_back("is the NPQH funded?"));
        assert!(!super::refers_back("is itt the same"));
    }

    #[test]
    fn a_message_asking_two_things_has_two_parts() {
        let p = parts("how long is the npqsl and is it free and do i get paid more after");
        assert_eq!(
            p,
            vec![
                "how long is the npqsl",
                "is it free",
                "do i get paid more after"
            ]
        );
        let p = parts("What does the NPQH cost? Who pays for it?");
        assert_eq!(p, vec!["What does the NPQH cost?", "Who pays for it?"]);
        // "and" inside one question does not split it.
        assert_eq!(parts("time and support from school").len(), 1);
        assert_eq!(parts("is it free?").len(), 1);
    }

    #[test]
    fn greetings_and_sign_offs_around_a_question_are_set_aside() {
        // Topics a folder about NPQs knows.
        let topic = |s: &str| {
            ["npq", "funded", "cost", "ehco"]
                .iter()
                .any(|t| s.to_lowercase().contains(t))
        };
        let aside = |q: &str| without_asides(q, topic);
        assert_eq!(
            aside("Hello! how long is an NPQ? please help"),
            "how long is an NPQ?"
        );
        assert_eq!(
            aside("morning! what does the EHCO involve x"),
            "what does the EHCO involve x"
        );
        assert_eq!(
            aside("Hi. Is the NPQH free for heads? Thanks. xx"),
            "Is the NPQH free for heads?"
        );
        // A short question is a question, a short sentence with a topic is context, and a
        // message of short sentences stays whole.
        assert_eq!(aside("Is the NPQH free? Cost?"), "Is the NPQH free? Cost?");
        assert_eq!(
            aside("what if i drop out? self funded"),
            "what if i drop out? self funded"
        );
        assert_eq!(aside("NPQH cost. thanks!"), "NPQH cost.");
        assert_eq!(aside("hi! thanks!"), "hi! thanks!");
        // Marks inside a word or a number do not end a sentence.
        assert_eq!(
            aside("is it still £1.5k for the NPQH"),
            "is it still £1.5k for the NPQH"
        );
        assert_eq!(aside(""), "");
        assert_eq!(aside("?!"), "?!");
    }
    use crate::knowledge::{Acronym, Glossary};

    fn expander() -> Expander {
        let knowledge = Knowledge {
            glossary: Glossary {
                acronyms: vec![
                    Acronym {
                        term: "TLR".into(),
                        means: "teaching and learning responsibility".into(),
                        also: vec![],
                        capitals: false,
                    },
                    Acronym {
                        term: "TA".into(),
                        means: "teaching assistant".into(),
                        also: vec![],
                        capitals: true,
                    },
                ],
                synonyms: vec![vec!["cost".into(), "price".into(), "how much".into()]],
            },
            ..Knowledge::default()
        };
        Expander::new(&knowledge)
    }

    #[test]
    fn an_acronym_marked_capitals_is_one_only_in_capitals() {
        let e = expander();
        let expands = |q: &str| {
            e.concepts(q)
                .iter()
                .any(|c| c.variants.iter().any(|v| v.stems == ["teach", "assist"]))
        };
        assert!(expands("can a TA do an NPQ?"));
        assert!(expands("can a teaching assistant do an NPQ?"));
        // "ta" for thanks, and a longer acronym in lower case as ever.
        assert!(!expands("can I do an NPQ? ta"));
        assert!(e
            .concepts("what is a tlr")
            .iter()
            .any(|c| c.variants.len() > 1));
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
        assert_eq!(concepts[0].own, ["teach", "learn", "respons"]);
        assert_eq!(concepts[0].variants[1].stems, vec!["tlr"]);
        assert_eq!(concepts[1].own, ["payment"]);
    }

    #[test]
    fn phrases_do_not_match_across_other_words() {
        // "cost" and "price" are one group; "TLR ... responsibility" must not match the acronym.
        let concepts = expander().concepts("teaching staff learning about responsibility");
        assert!(concepts
            .iter()
            .all(|c| c.variants.iter().all(|v| v.stems != ["tlr"])));
    }

    #[test]
    fn phrases_of_stop_words_expand() {
        let concepts = expander().concepts("how much is it");
        assert_eq!(concepts.len(), 1);
        assert!(concepts[0].own.is_empty());
        assert!(concepts[0].variants.iter().any(|v| v.stems == ["cost"]));
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
