//! Rules kept dated: in a section about a topic whose rules change from period to period (the
//! folder's glossary names such topics in `[dated_rules]`), a sentence that states a rule in
//! the present tense and names no year, month or period is a warning, so that an old rule
//! cannot read as the current one. The topics and period words are data; the engine only
//! knows a little English: which verbs state a rule, and what a year or a month looks like.

use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use super::diagnostic::Report;

/// The glossary's table that names the topics whose rules are dated.
pub const TABLE: &str = "dated_rules";

/// Which sections state rules that change, and the words that name a period.
#[derive(Debug, Clone)]
pub struct DatedRules {
    /// A section whose heading, or whose document's tags, name one of these is about rules
    /// that change ("funding").
    topics: Regex,
    /// Words that name a period in a sentence, besides years and months ("cohort").
    periods: Option<Regex>,
    /// The first period word, for the fix.
    example: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatedRules {
    topics: Option<Vec<String>>,
    periods: Option<Vec<String>>,
}

/// `(?i)\b(?:a|b c)\b` for a list of words or phrases; None when the list is empty.
fn any_of(words: &[String]) -> Option<Regex> {
    let alternatives: Vec<String> = words
        .iter()
        .map(|w| w.trim())
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.split_whitespace()
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\s+")
        })
        .collect();
    if alternatives.is_empty() {
        return None;
    }
    Regex::new(&format!(r"(?i)\b(?:{})\b", alternatives.join("|"))).ok()
}

/// Reads the glossary's `[dated_rules]` table (`topics`, `periods`); None when it has none.
/// A glossary that is not valid TOML is reported by the glossary's own parser, not here.
pub fn parse(text: &str, report: &mut Report) -> Option<DatedRules> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let value = table.get(TABLE)?.clone();
    let header = text
        .lines()
        .position(|l| l.trim() == format!("[{TABLE}]"))
        .map_or(1, |i| i + 1);
    let raw: RawDatedRules = match value.try_into() {
        Ok(raw) => raw,
        Err(e) => {
            report.error(
                header,
                format!("[{TABLE}] is not valid: {}", e.message()),
                format!("[{TABLE}] has `topics` and `periods`, each a list of words, such as topics = [\"funding\"]"),
            );
            return None;
        }
    };
    let topics = raw.topics.unwrap_or_default();
    let Some(topics_re) = any_of(&topics) else {
        report.error(
            header,
            format!("[{TABLE}] names no topics"),
            "list the words that mark a section whose rules change, such as topics = [\"funding\", \"eligibility\"], or remove the table",
        );
        return None;
    };
    let periods = raw.periods.unwrap_or_default();
    Some(DatedRules {
        topics: topics_re,
        example: periods
            .iter()
            .map(|p| p.trim().to_string())
            .find(|p| !p.is_empty()),
        periods: any_of(&periods),
    })
}

/// A verb phrase that states a rule in the present tense: "is funded", "are eligible",
/// "has a ... route", "can apply".
static RULE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(?:is|are)\s+(?:(?:not|also|only|still|now|fully|then|again|always|usually|generally|normally)\s+)*
            (?:funded|eligible|free|available|open|paid|capped|limited|covered|entitled|exempt|required)\b
        | \b(?:has|have)\s+(?:[\w'-]+\s+){0,4}?(?:route|routes|right|entitlement)\b
        | \bcan\s+(?:(?:also|still|now|only)\s+)*(?:apply|get|claim|register|receive)\b
        | \b(?:qualifies|qualify)\s+for\b",
    )
    .expect("a valid pattern")
});

/// A year (1800-2099, also as the first half of "2023/24" or "2023-24") or a month.
static WHEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:1[89]\d\d|20\d\d)\b|\b(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b",
    )
    .expect("a valid pattern")
});

/// A date that describes who the rule is about rather than when it holds: "providers
/// accredited from September 2024 have a route" states the route with no period.
static STATUS_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:accredited|appointed|registered|employed|recruited|qualified|opened|founded|established|born)\s+(?:from|since|in|on|before|after|by|during|until)\s+[^,;:()]*",
    )
    .expect("a valid pattern")
});

/// Warns, at its line, about each sentence of `text` (a guidance document with front matter,
/// `tags` its front matter's tags) that states a rule in the present tense and names no
/// period, in a section about one of the rules' topics.
pub fn review(text: &str, tags: &[String], rules: &DatedRules, report: &mut Report) {
    let tagged = tags.iter().any(|t| rules.topics.is_match(t));
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    // Front matter: from a first `+++` line to the next.
    if lines.first().is_some_and(|l| l.trim() == "+++") {
        i = lines
            .iter()
            .skip(1)
            .position(|l| l.trim() == "+++")
            .map_or(lines.len(), |p| p + 2);
    }
    let mut about_topic = tagged;
    let mut in_fence = false;
    let mut in_comment = false;
    let mut paragraph: Vec<(usize, String)> = Vec::new();
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        let number = i + 1;
        i += 1;
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            flush(&mut paragraph, about_topic, rules, report);
            continue;
        }
        if in_fence {
            continue;
        }
        if in_comment || trimmed.starts_with("<!--") {
            in_comment = !trimmed.contains("-->");
            continue;
        }
        if let Some(heading) = trimmed.strip_prefix("## ") {
            flush(&mut paragraph, about_topic, rules, report);
            about_topic = tagged || rules.topics.is_match(heading);
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            flush(&mut paragraph, about_topic, rules, report);
            continue;
        }
        paragraph.push((number, strip_marker(trimmed).to_string()));
    }
    flush(&mut paragraph, about_topic, rules, report);
}

/// A line without its list or quote marker.
fn strip_marker(line: &str) -> &str {
    let line = line.trim_start_matches('>').trim_start();
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return rest;
        }
    }
    match line.split_once(". ") {
        Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => line,
    }
}

/// Reviews the sentences of one paragraph (its lines with their file line numbers), then
/// empties it.
fn flush(
    paragraph: &mut Vec<(usize, String)>,
    about_topic: bool,
    rules: &DatedRules,
    report: &mut Report,
) {
    if about_topic {
        for (line, sentence) in sentences(paragraph) {
            if undated_rule(&sentence, rules) {
                let quoted: String = sentence.chars().take(90).collect();
                let more = if quoted.len() < sentence.len() {
                    "..."
                } else {
                    ""
                };
                let example = rules.example.as_deref().unwrap_or("year");
                report.warning(
                    line,
                    format!("a rule in the present tense names no {example}, year or month: \"{quoted}{more}\""),
                    format!("say which period it holds for (\"For the 2026 {example}, ...\", \"In 2023/24, ...\"), or write it in the past tense if it held only then: an undated rule reads as the current one"),
                );
            }
        }
    }
    paragraph.clear();
}

/// True when a sentence states a rule in the present tense and names no period.
fn undated_rule(sentence: &str, rules: &DatedRules) -> bool {
    if !RULE.is_match(sentence) {
        return false;
    }
    let when = STATUS_DATE.replace_all(sentence, "");
    !WHEN.is_match(&when) && !rules.periods.as_ref().is_some_and(|p| p.is_match(&when))
}

/// The sentences of a paragraph with the file line each starts on. A sentence ends at `.`,
/// `!` or `?` followed by a space and a capital, a digit, a quote or a bracket, or at the end
/// ("e.g. a reference" goes on).
fn sentences(paragraph: &[(usize, String)]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (line, text) in paragraph {
        let chars: Vec<char> = text.chars().collect();
        for (k, &c) in chars.iter().enumerate() {
            if current.trim().is_empty() && !c.is_whitespace() {
                current.clear();
                start = *line;
            }
            current.push(c);
            if matches!(c, '.' | '!' | '?') {
                let next = chars[k + 1..].iter().find(|c| !c.is_whitespace());
                let spaced = chars.get(k + 1).is_none_or(|c| c.is_whitespace());
                let ends = spaced
                    && next.is_none_or(|n| {
                        n.is_uppercase() || n.is_ascii_digit() || "\"'(\u{201c}*_".contains(*n)
                    });
                if ends {
                    out.push((start, current.trim().to_string()));
                    current.clear();
                }
            }
        }
        current.push(' ');
    }
    if !current.trim().is_empty() {
        out.push((start, current.trim().to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn rules() -> DatedRules {
        let mut report = Report::new(Path::new("glossary.toml"));
        parse(
            "[dated_rules]\ntopics = [\"funding\", \"eligibility\"]\nperiods = [\"cohort\", \"term\"]\n",
            &mut report,
        )
        .expect("rules")
    }

    fn warned(text: &str, tags: &[&str]) -> Vec<usize> {
        let mut report = Report::new(Path::new("doc.md"));
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        review(text, &tags, &rules(), &mut report);
        report.diagnostics.iter().map(|d| d.line).collect()
    }

    #[test]
    fn an_undated_present_tense_rule_in_a_topic_section_is_warned_at_its_line() {
        let text = "+++\ntitle = \"x\"\n+++\n\n## Trip funding\n<!-- sources: a -->\n\nThe first sentence is fine. Year 6 pupils are funded for the trip.\nFor the summer term, pupils are funded.\n\n## Kit\n\nPupils are funded for kit.\n";
        assert_eq!(warned(text, &[]), vec![8]);
        // Tagged documents count in every section.
        assert_eq!(warned(text, &["Funding"]), vec![8, 13]);
    }

    #[test]
    fn dated_or_past_tense_sentences_are_not_warned() {
        for ok in [
            "In 2024 staff were funded.",
            "Staff are funded for the spring term.",
            "From September staff are eligible.",
            "Staff were eligible until 2021.",
            "Staff can apply in March.",
            "The course is long, e.g. a year.",
        ] {
            let text = format!("## Funding\n\n{ok}\n");
            assert!(warned(&text, &[]).is_empty(), "{ok}");
        }
        for bad in [
            "Lead mentors have a funding route for the course.",
            "Mentors at providers accredited from September 2024 have a funding route for the course: the council can pay.",
            "Anyone can apply for a place.",
            "Staff in small schools are not eligible.",
        ] {
            let text = format!("## Funding\n\n{bad}\n");
            assert_eq!(warned(&text, &[]), vec![3], "{bad}");
        }
    }

    #[test]
    fn a_sentence_over_two_lines_is_warned_at_its_first() {
        let text =
            "## Eligibility\n\nSome sentence here. Staff in every school\nare eligible for it.\n";
        assert_eq!(warned(text, &[]), vec![3]);
    }

    #[test]
    fn a_glossary_without_the_table_has_no_rules_and_a_bad_table_is_an_error() {
        let mut report = Report::new(Path::new("glossary.toml"));
        assert!(parse("[[synonyms]]\nwords = [\"a\", \"b\"]\n", &mut report).is_none());
        assert!(report.diagnostics.is_empty());
        assert!(parse("[dated_rules]\ntopic = [\"a\"]\n", &mut report).is_none());
        assert_eq!(report.diagnostics.len(), 1);
        assert_eq!(report.diagnostics[0].line, 1);
    }
}
