//! The same `Answer` shown as terminal text or as one JSON line.

use std::fmt::Write;

use serde::Serialize;

use crate::answer::{Answer, ResultItem};
use crate::knowledge::Source;

/// A readable answer with numbered sources, for the terminal.
pub fn text(answer: &Answer) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Q: {}\n", answer.question.trim());
    if !answer.answered {
        if let Some(r) = &answer.refusal {
            if let Some(detail) = &r.detail {
                let _ = writeln!(out, "{detail}");
            }
            let _ = writeln!(out, "{}", r.message);
            if !answer.related.is_empty() {
                let heading = r.related_heading.as_deref().unwrap_or_default();
                let _ = writeln!(out, "\n{heading}:\n");
                write_results(&mut out, &answer.related);
            }
            if !r.topics.is_empty() {
                let _ = writeln!(out, "\nI can answer questions about:");
                for t in &r.topics {
                    let _ = writeln!(out, "  - {t}");
                }
            }
            if !r.elsewhere.is_empty() {
                let _ = writeln!(out, "\nFor anything else, try:");
                for e in &r.elsewhere {
                    let _ = writeln!(out, "  - {e}");
                }
            }
        }
        return out;
    }
    write_results(&mut out, &answer.results);
    if let Some(note) = &answer.note {
        let _ = writeln!(out, "Note: {note}\n");
    }
    out
}

/// Numbered snippets with their sections, then the numbered sources they cite.
fn write_results(out: &mut String, results: &[ResultItem]) {
    let sources = numbered_sources(results);
    for (i, r) in results.iter().enumerate() {
        let number = |source: &Source| {
            sources
                .iter()
                .position(|s| *s == source)
                .map(|p| p + 1)
                .unwrap_or(0)
        };
        let n = number(&r.source);
        let also: Vec<String> = r
            .sources
            .iter()
            .filter(|s| **s != r.source)
            .map(|s| number(s).to_string())
            .collect();
        let also = if also.is_empty() {
            String::new()
        } else {
            format!("; also {}", also.join(", "))
        };
        let _ = writeln!(out, "{}. {} [{n}{also}]", i + 1, r.snippet);
        let _ = writeln!(out, "   ({} \u{203a} {})\n", r.title, r.section);
    }
    let _ = writeln!(out, "Sources:");
    for (i, s) in sources.iter().enumerate() {
        let _ = write!(out, "  [{}] {}", i + 1, s.cite());
        if let Some(url) = &s.url {
            let _ = write!(out, " <{url}>");
        }
        let _ = writeln!(out);
    }
}

/// The distinct sources of `results` (each snippet's own source, then the others its passage
/// cites), in order of first use.
pub fn numbered_sources(results: &[ResultItem]) -> Vec<&Source> {
    let mut out: Vec<&Source> = Vec::new();
    for r in results {
        for s in std::iter::once(&r.source).chain(&r.sources) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

#[derive(Serialize)]
struct JsonResult<'a> {
    title: &'a str,
    section: &'a str,
    snippet: &'a str,
    score: f32,
    source: JsonSource<'a>,
    sources: Vec<JsonSource<'a>>,
    document: &'a str,
}

impl<'a> From<&'a Source> for JsonSource<'a> {
    fn from(s: &'a Source) -> Self {
        JsonSource {
            publisher: &s.publisher,
            title: &s.title,
            url: s.url.as_deref(),
            date: &s.date,
            note: s.note.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct JsonSource<'a> {
    publisher: &'a str,
    title: &'a str,
    url: Option<&'a str>,
    date: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonAnswer<'a> {
    question: &'a str,
    answered: bool,
    results: Vec<JsonResult<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<&'a crate::answer::RefusalText>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related: Vec<JsonResult<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

fn json_results(results: &[ResultItem]) -> Vec<JsonResult<'_>> {
    results
        .iter()
        .map(|r| JsonResult {
            title: &r.title,
            section: &r.section,
            snippet: &r.snippet,
            score: r.score,
            source: JsonSource::from(&r.source),
            sources: r.sources.iter().map(JsonSource::from).collect(),
            document: &r.document,
        })
        .collect()
}

/// One JSON object on one line: `{"question", "answered", "results": [...]}`.
pub fn json(answer: &Answer) -> String {
    let value = JsonAnswer {
        question: &answer.question,
        answered: answer.answered,
        results: json_results(&answer.results),
        refusal: answer.refusal.as_ref(),
        related: json_results(&answer.related),
        note: answer.note.as_deref(),
    };
    serde_json::to_string(&value).expect("answers always serialize")
}
