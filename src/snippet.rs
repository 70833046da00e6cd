//! The snippet: the one to three sentences of a passage that answer the question (its words
//! and the kind of fact asked for), within the configured length and cut only between words;
//! and the citation of those sentences: the passage's source that they come from.

use std::ops::Range;

use crate::analysis::{self, is_stop_stem, QuestionType};
use crate::knowledge::Source;
use crate::retrieve::lexical::{credit, wanted_stems, Wanted, Weighted, Words};
use crate::search::PassageStems;

/// Sections usually open with their answer, so their first sentence is preferred a little.
const LEAD_SENTENCE_BONUS: f32 = 0.1;
/// The sentence closest in meaning to the question counts as this much more of it.
const MEANT_SENTENCE_BONUS: f32 = 0.3;

/// The one to three sentences of `text` that best answer the question, at most `max_chars`
/// characters, with the byte ranges of the question's words in it.
pub fn snippet(
    text: &str,
    stems: &PassageStems,
    concepts: &[Weighted],
    qtypes: &[QuestionType],
    meant: Option<usize>,
    max_chars: usize,
) -> (String, Vec<Range<usize>>) {
    let sentences = analysis::sentences(text);
    // The sentence closest in meaning to the question (from the semantic stage) is preferred.
    let meaning_bonus = |i: usize| {
        if meant == Some(i) {
            MEANT_SENTENCE_BONUS
        } else {
            0.0
        }
    };
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
                    + if i == 0 { LEAD_SENTENCE_BONUS } else { 0.0 }
                    + meaning_bonus(i),
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
    // Then the sentences that add most, while three fit within `max_chars`: a sentence that
    // brings no new question word may still hold the fact asked for (the figure after the
    // definition, the second half of a two-part answer), and the snippet has the room.
    while chosen.len() < 3 {
        let next = (0..sentences.len())
            .filter(|i| !chosen.contains(i))
            .filter(|&i| length(&chosen) + text[sentences[i].clone()].chars().count() <= max_chars)
            .map(|i| {
                let adjacent = chosen.iter().any(|&c| c.abs_diff(i) == 1);
                (
                    i,
                    gain(&info[i].0, info[i].1, &covered, fact_seen)
                        + if adjacent { 0.03 } else { 0.0 }
                        + meaning_bonus(i),
                )
            })
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
    // Fewer than three now means no other sentence fits whole. A sentence that introduces a
    // list, or a short lone sentence, still reads better with the start of the next one.
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

/// Byte ranges of the words of `snippet` that are (or expand) the question's topic words.
pub fn highlight(snippet: &str, concepts: &[Weighted]) -> Vec<Range<usize>> {
    let wanted = wanted_stems(concepts);
    analysis::tokens(snippet)
        .into_iter()
        .filter(|t| !is_stop_stem(&t.stem) && wanted.contains(t.stem.as_str()))
        .map(|t| t.span)
        .collect()
}

/// True when `text` holds `word` (which may itself hold marks, as "gov.uk" does) with no
/// letter or digit on either side.
fn names_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Which of a passage's sources the snippet's sentences come from: the one whose publisher
/// (or its short name) or title the snippet names, and whose year it gives; the passage's main
/// source when the snippet names none. Returns an index into `sources`.
pub fn cite(snippet: &str, sources: &[Source]) -> usize {
    let words: std::collections::HashSet<String> = analysis::tokens(snippet)
        .into_iter()
        .map(|t| t.stem)
        .collect();
    let lower = snippet.to_lowercase();
    let mut best = (0usize, 0.0f32);
    for (i, s) in sources.iter().enumerate() {
        let named = |text: &str| -> f32 {
            let stems: Vec<String> = analysis::tokens(text)
                .into_iter()
                .map(|t| t.stem)
                .filter(|s| !is_stop_stem(s))
                .collect();
            if stems.is_empty() {
                return 0.0;
            }
            stems.iter().filter(|s| words.contains(*s)).count() as f32 / stems.len() as f32
        };
        // "National Education Union (NEU)": the full name or the short one in brackets.
        let short = s
            .publisher
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(inner, _)| inner.trim().to_lowercase())
            .filter(|inner| !inner.is_empty());
        // The full name written out counts most; most of its words, or its short name, less.
        let mut score = if lower.contains(&s.publisher.to_lowercase()) && !s.publisher.is_empty() {
            2.0
        } else {
            named(&s.publisher)
        };
        if short.is_some_and(|short| names_word(&lower, &short)) {
            score = score.max(1.0);
        }
        if score < 0.5 {
            score = 0.0;
        }
        // The source's year in the snippet only breaks ties.
        let year = s
            .date
            .get(..4)
            .filter(|y| y.chars().all(|c| c.is_ascii_digit()));
        if let Some(year) = year {
            if score > 0.0 && lower.contains(year) {
                score += 0.1;
            }
        }
        if score > best.1 + 1e-6 {
            best = (i, score);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(publisher: &str, date: &str) -> Source {
        Source {
            id: None,
            publisher: publisher.into(),
            title: "A page".into(),
            url: None,
            date: date.into(),
            note: None,
        }
    }

    #[test]
    fn a_short_name_with_marks_in_it_names_its_source() {
        let sources = [
            source("University of Chester", "2025"),
            source("Department for Education (GOV.UK)", "2024"),
        ];
        let snippet = "An NPQ can be worth up to 100 credits. GOV.UK guidance tells holders to \
                       contact the university.";
        assert_eq!(cite(snippet, &sources), 1);
        // Inside another word it names nothing, and the main source stays.
        assert_eq!(cite("See notgov.ukish for more.", &sources), 0);
        assert!(names_word("see gov.uk.", "gov.uk"));
        assert!(!names_word("see gov.ukraine", "gov.uk"));
    }
}
