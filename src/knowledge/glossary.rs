//! `glossary.toml`: acronyms and synonym groups that widen a question, as data read by a
//! generic engine.

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{line_of, toml_error_line, Report};
use super::source::table_header_lines;

#[derive(Debug, Clone, Default)]
pub struct Glossary {
    pub acronyms: Vec<Acronym>,
    /// Groups of words or phrases that mean the same for searching.
    pub synonyms: Vec<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Acronym {
    pub term: String,
    pub means: String,
    pub also: Vec<String>,
    /// True when the term stands for its meaning only as typed in capitals: in lower case it
    /// is mostly a word of its own ("ta" for thanks at the end of a message).
    pub capitals: bool,
}

impl Glossary {
    pub fn term_count(&self) -> usize {
        self.acronyms.len() + self.synonyms.iter().map(Vec::len).sum::<usize>()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlossary {
    #[serde(default)]
    acronym: Vec<RawAcronym>,
    #[serde(default)]
    synonyms: Vec<RawSynonyms>,
    /// Read by `check` (see `dated.rs`), not by the search.
    #[serde(default, rename = "dated_rules")]
    _dated_rules: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAcronym {
    term: Option<Spanned<String>>,
    means: Option<String>,
    #[serde(default)]
    also: Vec<String>,
    #[serde(default)]
    capitals: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSynonyms {
    words: Spanned<Vec<String>>,
}

const SYNTAX_FIX: &str =
    "correct the TOML syntax: strings in double quotes, lists in [ ], one key = value per line";

/// Parses `glossary.toml`; every problem is reported with its line.
pub fn parse(text: &str, report: &mut Report) -> Glossary {
    let raw: RawGlossary = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            let (line, message) = toml_error_line(text, &err);
            let fix = if message.contains("unknown field") {
                "the glossary has [[acronym]] tables (term, means, also, capitals), [[synonyms]] tables (words) and an optional [dated_rules] table (topics, periods)"
            } else {
                SYNTAX_FIX
            };
            report.error(line, message, fix);
            return Glossary::default();
        }
    };
    let headers = table_header_lines(text, 1, "[[acronym]]");
    let mut glossary = Glossary::default();
    for (i, a) in raw.acronym.into_iter().enumerate() {
        let header = headers.get(i).copied().unwrap_or(1);
        let term = a
            .term
            .as_ref()
            .map(|t| t.get_ref().trim().to_string())
            .unwrap_or_default();
        if term.is_empty() {
            report.error(
                header,
                "an [[acronym]] has no `term`",
                "add term = \"the acronym\"",
            );
            continue;
        }
        let line = a
            .term
            .as_ref()
            .map(|t| line_of(text, t.span().start))
            .unwrap_or(header);
        if glossary
            .acronyms
            .iter()
            .any(|x| x.term.eq_ignore_ascii_case(&term))
        {
            report.error(
                line,
                format!("the acronym \"{term}\" is defined twice"),
                "keep one [[acronym]] per term and merge their `also` lists",
            );
            continue;
        }
        let means = a.means.unwrap_or_default().trim().to_string();
        if means.is_empty() {
            report.error(
                line,
                format!("the acronym \"{term}\" has no `means`"),
                "add means = \"what the acronym stands for\"",
            );
            continue;
        }
        glossary.acronyms.push(Acronym {
            term,
            means,
            also: super::trimmed(a.also),
            capitals: a.capitals,
        });
    }
    for group in raw.synonyms {
        let line = line_of(text, group.words.span().start);
        let words: Vec<String> = group
            .words
            .get_ref()
            .iter()
            .map(|w| w.trim().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        if words.len() < 2 {
            report.error(
                line,
                "a [[synonyms]] group needs at least two words",
                "list two or more words that mean the same, e.g. words = [\"cost\", \"price\"]",
            );
            continue;
        }
        glossary.synonyms.push(words);
    }
    glossary
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn acronyms_and_synonyms_parse() {
        let mut report = Report::new(Path::new("glossary.toml"));
        let g = parse("[[acronym]]\nterm = \"TLR\"\nmeans = \"teaching and learning responsibility\"\n\n[[synonyms]]\nwords = [\"cost\", \"Price\"]\n", &mut report);
        assert!(report.diagnostics.is_empty());
        assert_eq!(g.acronyms[0].term, "TLR");
        assert_eq!(g.synonyms[0], vec!["cost", "price"]);
        assert_eq!(g.term_count(), 3);
        assert!(!g.acronyms[0].capitals);
        let g = parse(
            "[[acronym]]\nterm = \"TA\"\nmeans = \"teaching assistant\"\ncapitals = true\n",
            &mut report,
        );
        assert!(g.acronyms[0].capitals);
    }

    #[test]
    fn a_lonely_synonym_is_reported_at_its_line() {
        let mut report = Report::new(Path::new("glossary.toml"));
        parse("[[synonyms]]\nwords = [\"cost\"]\n", &mut report);
        assert_eq!(report.diagnostics[0].line, 2);
    }
}
