//! `programmes.toml`: the catalogue of programmes, one card each, with codes and aliases
//! that also feed question expansion.

use std::fmt;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::diagnostic::{line_of, toml_error_line, Report};
use super::source::{
    check_date, table_header_lines, validate_sources, Bibliography, DateValue, RawSource, Source,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Specialist,
    Leadership,
    Legacy,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s.trim().to_lowercase().as_str() {
            "specialist" => Some(Kind::Specialist),
            "leadership" => Some(Kind::Leadership),
            "legacy" => Some(Kind::Legacy),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Specialist => "specialist",
            Kind::Leadership => "leadership",
            Kind::Legacy => "legacy",
        })
    }
}

/// One programme card.
#[derive(Debug, Clone, Serialize)]
pub struct Programme {
    pub code: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub kind: Kind,
    pub for_whom: String,
    pub duration: String,
    pub covers: String,
    pub funding: String,
    pub funding_as_of: String,
    pub sources: Vec<Source>,
}

impl Programme {
    /// True when `text` names this programme by code, name or alias (case-insensitive).
    pub fn is_named(&self, text: &str) -> bool {
        let t = text.trim().to_lowercase();
        self.code.to_lowercase() == t
            || self.name.to_lowercase() == t
            || self.aliases.iter().any(|a| a.to_lowercase() == t)
    }

    /// The card as plain sentences, for indexing and for terminal output.
    pub fn card_text(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "The {} ({}) is a {} programme.",
            self.name, self.code, self.kind
        )];
        if !self.covers.is_empty() {
            lines.push(format!("What the {} covers: {}", self.code, self.covers));
        }
        if !self.for_whom.is_empty() {
            lines.push(format!("Who the {} is for: {}", self.code, self.for_whom));
        }
        if !self.duration.is_empty() {
            lines.push(format!(
                "How long the {} takes: {}",
                self.code, self.duration
            ));
        }
        if !self.funding.is_empty() {
            lines.push(format!(
                "Funding for the {} (as of {}): {}",
                self.code, self.funding_as_of, self.funding
            ));
        }
        if !self.aliases.is_empty() {
            lines.push(format!(
                "The {} is also called: {}.",
                self.code,
                self.aliases.join(", ")
            ));
        }
        lines
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    #[serde(default)]
    sources: Vec<RawSource>,
    #[serde(default)]
    programme: Vec<RawProgramme>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgramme {
    code: Option<Spanned<String>>,
    name: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    kind: Option<Spanned<String>>,
    for_whom: Option<String>,
    duration: Option<String>,
    covers: Option<String>,
    funding: Option<String>,
    funding_as_of: Option<Spanned<DateValue>>,
    #[serde(default)]
    sources: Vec<Spanned<String>>,
}

/// Parses `programmes.toml`; every problem is reported with its line.
pub fn parse(text: &str, bibliography: &Bibliography, report: &mut Report) -> Vec<Programme> {
    let raw: RawCatalogue = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            let (line, message) = toml_error_line(text, &err);
            let fix = if message.contains("unknown field") {
                "a [[programme]] has code, name, aliases, kind, for_whom, duration, covers, funding, funding_as_of and sources"
            } else {
                "correct the TOML syntax: strings in double quotes, lists in [ ], one key = value per line"
            };
            report.error(line, message, fix);
            return Vec::new();
        }
    };
    let source_headers = table_header_lines(text, 1, "[[sources]]");
    let header_of = |i: usize| source_headers.get(i).copied().unwrap_or(1);
    let sources = validate_sources(raw.sources, text, 1, &header_of, report);
    let programme_headers = table_header_lines(text, 1, "[[programme]]");

    let mut programmes: Vec<Programme> = Vec::new();
    for (i, p) in raw.programme.into_iter().enumerate() {
        let header = programme_headers.get(i).copied().unwrap_or(1);
        let at = |span: std::ops::Range<usize>| line_of(text, span.start);
        let errors_before = report.diagnostics.iter().filter(|d| d.is_error()).count();
        let mut need = |value: Option<String>, key: &str, example: &str| -> String {
            match value.map(|v| v.trim().to_string()) {
                Some(v) if !v.is_empty() => v,
                _ => {
                    report.error(
                        header,
                        format!("programme {} has no `{key}`", i + 1),
                        format!("add {key} = \"{example}\""),
                    );
                    String::new()
                }
            }
        };
        let code = need(p.code.as_ref().map(|c| c.get_ref().clone()), "code", "NPQH");
        let name = need(p.name, "name", "NPQ for Headship");
        let for_whom = need(p.for_whom, "for_whom", "who the programme is for");
        let duration = need(p.duration, "duration", "how long it takes");
        let covers = need(p.covers, "covers", "what it covers");
        let funding = p.funding.unwrap_or_default().trim().to_string();
        let kind = match &p.kind {
            Some(k) => Kind::parse(k.get_ref()).or_else(|| {
                report.error(
                    at(k.span()),
                    format!("unknown programme kind \"{}\"", k.get_ref()),
                    "use kind = \"specialist\", \"leadership\" or \"legacy\"",
                );
                None
            }),
            None => {
                report.error(
                    header,
                    format!("programme {} has no `kind`", i + 1),
                    "add kind = \"specialist\", \"leadership\" or \"legacy\"",
                );
                None
            }
        };
        let funding_as_of = match &p.funding_as_of {
            Some(d) => check_date(d, "funding_as_of", text, 1, report).unwrap_or_default(),
            None if !funding.is_empty() => {
                report.error(
                    header,
                    format!("programme {code} states its funding without `funding_as_of`"),
                    "add funding_as_of = \"YYYY-MM-DD\", the date of the funding rule",
                );
                String::new()
            }
            None => String::new(),
        };
        if code.chars().any(char::is_whitespace) {
            if let Some(c) = &p.code {
                report.error(
                    at(c.span()),
                    format!("programme code \"{code}\" contains spaces"),
                    "write the code as one word, e.g. NPQH; put other names in `aliases`",
                );
            }
        }
        if let Some(other) = programmes
            .iter()
            .find(|o| o.code.eq_ignore_ascii_case(&code) && !code.is_empty())
        {
            let line = p.code.as_ref().map(|c| at(c.span())).unwrap_or(header);
            report.error(
                line,
                format!("programme code \"{}\" is used twice", other.code),
                "give every programme its own code",
            );
        }
        let mut cited = Vec::new();
        for id in &p.sources {
            let local = sources
                .iter()
                .find(|s| s.id.as_deref() == Some(id.get_ref().as_str()));
            match local.or_else(|| bibliography.get(id.get_ref())) {
                Some(s) => cited.push(s.clone()),
                None => report.error(
                    at(id.span()),
                    format!(
                        "programme {code} cites the unknown source id \"{}\"",
                        id.get_ref()
                    ),
                    bibliography.fix_for_unknown(),
                ),
            }
        }
        if p.sources.is_empty() {
            report.error(
                header,
                format!("programme {code} names no source"),
                "add sources = [\"id\"] with ids from sources.json",
            );
        }
        let ok = report.diagnostics.iter().filter(|d| d.is_error()).count() == errors_before;
        if let (true, Some(kind)) = (ok, kind) {
            programmes.push(Programme {
                code,
                name,
                aliases: p
                    .aliases
                    .into_iter()
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect(),
                kind,
                for_whom,
                duration,
                covers,
                funding,
                funding_as_of,
                sources: cited,
            });
        }
    }
    programmes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const GOOD: &str = r#"
[[sources]]
id = "s"
publisher = "P"
title = "T"
date = "2024"

[[programme]]
code = "NPQH"
name = "NPQ for Headship"
aliases = ["headship"]
kind = "leadership"
for_whom = "Heads."
duration = "18 months."
covers = "Leading a school."
funding = "For the November 2026 cohort, funded for all."
funding_as_of = "2026-05-18"
sources = ["s"]
"#;

    #[test]
    fn a_good_catalogue_parses() {
        let path = Path::new("programmes.toml");
        let mut report = Report::new(path);
        let programmes = parse(GOOD, &Bibliography::default(), &mut report);
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
        assert_eq!(programmes.len(), 1);
        assert!(programmes[0].is_named("Headship"));
        assert_eq!(programmes[0].sources[0].publisher, "P");
    }

    #[test]
    fn an_unknown_kind_is_reported_at_its_line() {
        let path = Path::new("programmes.toml");
        let mut report = Report::new(path);
        parse(
            &GOOD.replace("\"leadership\"", "\"senior\""),
            &Bibliography::default(),
            &mut report,
        );
        let msgs: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
        assert!(
            msgs[0].starts_with("programmes.toml:12: error: unknown programme kind \"senior\""),
            "{msgs:?}"
        );
    }
}
