//! Parses one guidance file (pure: text in, document and diagnostics out, no I/O):
//! TOML front matter between `+++` lines, then `##` sections that become passages.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{line_of, toml_error_line, Report};
use super::markdown;
use super::source::{
    check_date, table_header_lines, validate_sources, Bibliography, DateValue, RawSource, Source,
};

/// A parsed guidance document.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file's path inside the knowledge folder without its extension, `/`-separated.
    pub id: String,
    /// The file's path inside the knowledge folder, for citations of unsourced files.
    pub file: String,
    pub title: String,
    pub updated: Option<String>,
    pub sources: Vec<Source>,
    pub tags: Vec<String>,
    pub programmes: Vec<String>,
    pub sections: Vec<Section>,
    /// False for plain files without front matter.
    pub has_front_matter: bool,
}

/// One `##` section as plain text blocks.
#[derive(Debug, Clone)]
pub struct Section {
    pub heading: String,
    /// The file line of the heading (or of the first text line for the preamble).
    pub line: usize,
    pub blocks: Vec<String>,
    /// The sources this section cites; empty when it cites the document's first source.
    pub sources: Vec<Source>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrontMatter {
    title: Option<Spanned<String>>,
    updated: Option<Spanned<DateValue>>,
    sources: Option<Vec<RawSource>>,
    cite: Option<Vec<Spanned<String>>>,
    tags: Option<Vec<String>>,
    programmes: Option<Vec<Spanned<String>>>,
}

/// Front matter fields whose spans are needed after parsing (to report unknown programmes).
pub struct ProgrammeRef {
    pub code: String,
    pub line: usize,
}

fn sources_comment() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^\s*<!--\s*sources?\s*:\s*(.*?)\s*-->\s*$").expect("valid regex")
    })
}

fn fence() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\s{0,3}(```|~~~)").expect("valid regex"))
}

/// Parses a file's text. `rel` is its path inside the knowledge folder.
/// Returns the document (None when it is unusable) and the programme codes it names.
pub fn parse(
    rel: &Path,
    text: &str,
    bibliography: &Bibliography,
    report: &mut Report,
) -> (Option<Document>, Vec<ProgrammeRef>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let file = rel.to_string_lossy().replace('\\', "/");
    let id = file
        .rsplit_once('.')
        .map(|(stem, _)| stem)
        .unwrap_or(&file)
        .to_lowercase();
    let is_txt = rel
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
    let lines: Vec<&str> = text.lines().collect();

    let mut doc = Document {
        id,
        file: file.clone(),
        title: String::new(),
        updated: None,
        sources: Vec::new(),
        tags: Vec::new(),
        programmes: Vec::new(),
        sections: Vec::new(),
        has_front_matter: false,
    };
    let mut programme_refs = Vec::new();
    // Each source the front matter names (by `cite` or `[[sources]]` id), with its line.
    let mut cite_lines: Vec<(String, usize)> = Vec::new();

    let first_content = lines.iter().position(|l| !l.trim().is_empty());
    let mut body_start = 0usize; // 0-based index of the first body line
    let mut front_matter_ok = true;
    if first_content.is_some_and(|i| lines[i].trim() == "+++") {
        let open = first_content.unwrap_or(0);
        let Some(close) = lines[open + 1..]
            .iter()
            .position(|l| l.trim() == "+++")
            .map(|i| i + open + 1)
        else {
            report.error(
                open + 1,
                "the front matter opened with `+++` is never closed",
                "add a line with only `+++` after the last front matter key",
            );
            return (None, programme_refs);
        };
        doc.has_front_matter = true;
        body_start = close + 1;
        let fm_first_line = open + 2; // file line of the first front matter line
        let fm_text = lines[open + 1..close].join("\n");
        match read_front_matter(
            &fm_text,
            fm_first_line,
            bibliography,
            &mut doc,
            &mut programme_refs,
            &mut cite_lines,
            report,
        ) {
            // Without parsed front matter the sections' citations cannot be checked.
            FrontMatter::Unparsable => return (None, programme_refs),
            FrontMatter::Invalid => front_matter_ok = false,
            FrontMatter::Valid => {}
        }
    }

    let body_lines = &lines[body_start..];
    let sections = split_sections(body_lines, body_start, is_txt, &doc, bibliography, report);
    report_cited_by_no_section(&doc, &sections, &cite_lines, report);
    if !doc.has_front_matter {
        doc.title = plain_title(body_lines, is_txt).unwrap_or_else(|| file.clone());
        report.warning(
            0,
            "this file has no front matter, so its answers cite only the file name",
            "add `+++` front matter with a title, an updated date and its sources (see docs/knowledge-format.md)",
        );
    }
    doc.sections = sections
        .into_iter()
        .map(|mut s| {
            if s.heading.is_empty() {
                s.heading = doc.title.clone();
            }
            s
        })
        .collect();
    if doc.sections.iter().all(|s| s.blocks.is_empty()) {
        report.error(
            body_start + 1,
            "the document has no text to answer from",
            "write at least one `## ` section with a paragraph under it",
        );
        return (None, programme_refs);
    }
    (front_matter_ok.then_some(doc), programme_refs)
}

/// How reading the front matter went.
enum FrontMatter {
    Valid,
    /// Parsed, with problems reported; the rest of the file is still checked.
    Invalid,
    /// Not TOML at all.
    Unparsable,
}

/// Reads and validates the front matter into `doc`.
fn read_front_matter(
    fm: &str,
    first_line: usize,
    bibliography: &Bibliography,
    doc: &mut Document,
    programme_refs: &mut Vec<ProgrammeRef>,
    cite_lines: &mut Vec<(String, usize)>,
    report: &mut Report,
) -> FrontMatter {
    let raw: RawFrontMatter = match toml::from_str(fm) {
        Ok(raw) => raw,
        Err(err) => {
            let (line, message) = toml_error_line(fm, &err);
            let fix = if message.contains("unknown field") {
                "the front matter keys are title, updated, tags, programmes, cite and [[sources]] (publisher, title, url, date, id, note)"
            } else {
                "correct the TOML syntax: strings in double quotes, lists in [ ], one key = value per line"
            };
            report.error(
                first_line + line - 1,
                format!("front matter: {message}"),
                fix,
            );
            return FrontMatter::Unparsable;
        }
    };
    let at = |span: std::ops::Range<usize>| first_line + line_of(fm, span.start) - 1;
    let errors_before = report.diagnostics.iter().filter(|d| d.is_error()).count();

    match raw.title {
        Some(t) if !t.get_ref().trim().is_empty() => doc.title = t.get_ref().trim().to_string(),
        Some(t) => report.error(
            at(t.span()),
            "`title` is empty",
            "write title = \"what this document is about\"",
        ),
        None => report.error(
            first_line - 1,
            "the front matter has no `title`",
            "add title = \"what this document is about\"",
        ),
    }
    match &raw.updated {
        Some(u) => doc.updated = check_date(u, "updated", fm, first_line, report),
        None => report.error(
            first_line - 1,
            "the front matter has no `updated` date",
            "add updated = \"YYYY-MM-DD\", the day the facts were last checked",
        ),
    }
    let headers = table_header_lines(fm, first_line, "[[sources]]");
    let raw_sources = raw.sources.unwrap_or_default();
    let cited = raw.cite.unwrap_or_default();
    if raw_sources.is_empty() && cited.is_empty() {
        report.error(
            first_line - 1,
            "the document names no source",
            "add cite = [\"id\"] with ids from sources.json, or a [[sources]] table with publisher, title, url and date",
        );
    }
    let header_line = |i: usize| headers.get(i).copied().unwrap_or(first_line - 1);
    cite_lines.extend(
        raw_sources
            .iter()
            .filter_map(|s| s.id.as_ref())
            .map(|id| (id.get_ref().trim().to_string(), at(id.span()))),
    );
    doc.sources = validate_sources(raw_sources, fm, first_line, &header_line, report);
    for id in cited {
        match bibliography.get(id.get_ref().trim()) {
            Some(source) => {
                cite_lines.push((id.get_ref().trim().to_string(), at(id.span())));
                doc.sources.push(source.clone())
            }
            None => report.error(
                at(id.span()),
                format!("`cite` names the unknown source id \"{}\"", id.get_ref()),
                bibliography.fix_for_unknown(),
            ),
        }
    }
    doc.tags = raw.tags.unwrap_or_default();
    for p in raw.programmes.unwrap_or_default() {
        programme_refs.push(ProgrammeRef {
            code: p.get_ref().trim().to_string(),
            line: at(p.span()),
        });
        doc.programmes.push(p.get_ref().trim().to_string());
    }
    if report.diagnostics.iter().filter(|d| d.is_error()).count() == errors_before {
        FrontMatter::Valid
    } else {
        FrontMatter::Invalid
    }
}

/// Warns about each source the front matter names that no section of the file cites: answers
/// show a section's own sources, or the document's first source when it names none.
fn report_cited_by_no_section(
    doc: &Document,
    sections: &[Section],
    cite_lines: &[(String, usize)],
    report: &mut Report,
) {
    let mut used: Vec<&str> = Vec::new();
    for section in sections {
        if section.sources.is_empty() {
            used.extend(doc.sources.first().and_then(|s| s.id.as_deref()));
        } else {
            used.extend(section.sources.iter().filter_map(|s| s.id.as_deref()));
        }
    }
    for (id, line) in cite_lines {
        if !used.contains(&id.as_str()) {
            report.warning(
                *line,
                format!("the front matter names the source \"{id}\", but no section of this file cites it"),
                format!("add \"{id}\" to the `<!-- sources: -->` line of the sections whose facts it gives, or remove it from the front matter"),
            );
        }
    }
}

/// The title of a plain file: its first `#` heading, else its first non-empty line.
fn plain_title(lines: &[&str], is_txt: bool) -> Option<String> {
    let first = lines.iter().map(|l| l.trim()).find(|l| !l.is_empty())?;
    let title = if is_txt {
        first
    } else {
        first.trim_start_matches('#').trim()
    };
    Some(title.chars().take(120).collect())
}

struct RawSection {
    heading: String,
    line: usize,
    lines: Vec<String>,
    sources: Vec<Source>,
}

/// Splits body lines into sections at `## ` headings (or, in `.txt` files, at question lines).
fn split_sections(
    lines: &[&str],
    offset: usize,
    is_txt: bool,
    doc: &Document,
    bibliography: &Bibliography,
    report: &mut Report,
) -> Vec<Section> {
    let mut raw: Vec<RawSection> = vec![RawSection {
        heading: String::new(),
        line: offset + 1,
        lines: Vec::new(),
        sources: Vec::new(),
    }];
    let mut in_fence = false;
    // The first line of a plain text file is its title, not text to answer from.
    let title_line = if is_txt && !doc.has_front_matter {
        lines.iter().position(|l| !l.trim().is_empty())
    } else {
        None
    };
    for (i, line) in lines.iter().enumerate() {
        let file_line = offset + i + 1;
        if Some(i) == title_line {
            continue;
        }
        if !is_txt && fence().is_match(line) {
            in_fence = !in_fence;
        }
        let trimmed = line.trim();
        let heading = if in_fence {
            None
        } else if is_txt {
            txt_heading(lines, i)
        } else {
            trimmed
                .strip_prefix("## ")
                .map(|h| h.trim().trim_end_matches('#').trim().to_string())
        };
        if let Some(heading) = heading {
            raw.push(RawSection {
                heading,
                line: file_line,
                lines: Vec::new(),
                sources: Vec::new(),
            });
            continue;
        }
        let current = raw.last_mut().expect("there is always a section");
        if let Some(caps) = (!in_fence)
            .then(|| sources_comment().captures(line))
            .flatten()
        {
            for id in caps[1].split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let local = doc.sources.iter().find(|s| s.id.as_deref() == Some(id));
                match local.or_else(|| bibliography.get(id)) {
                    Some(source) => current.sources.push(source.clone()),
                    None if doc.has_front_matter => {
                        report.error(
                            file_line,
                            format!("this section cites the unknown source id \"{id}\""),
                            bibliography.fix_for_unknown(),
                        );
                    }
                    None => {}
                }
            }
            continue;
        }
        // A level-1 heading repeats the title in front-matter documents.
        if !is_txt && doc.has_front_matter && trimmed.starts_with("# ") && !in_fence {
            continue;
        }
        current.lines.push(line.to_string());
    }

    let mut sections = Vec::new();
    for (n, section) in raw.into_iter().enumerate() {
        let body = section.lines.join("\n");
        let blocks = if is_txt {
            txt_blocks(&body)
        } else {
            markdown::to_blocks(&body)
        };
        let is_preamble = n == 0;
        if blocks.is_empty() {
            if !is_preamble {
                report.error(
                    section.line,
                    format!("the section \"{}\" is empty", section.heading),
                    "write the section's text under its heading, or remove the heading",
                );
            }
            continue;
        }
        if !is_preamble && section.heading.is_empty() {
            report.error(
                section.line,
                "a section heading has no text",
                "write what the section is about after `## `",
            );
            continue;
        }
        sections.push(Section {
            heading: section.heading,
            line: section.line,
            blocks,
            sources: section.sources,
        });
    }
    let starts_with_title = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.starts_with("# "));
    if !doc.has_front_matter && !is_txt && starts_with_title {
        // The first heading of a plain Markdown file is its title, not text to answer from.
        if let Some(first) = sections.first_mut().filter(|s| s.heading.is_empty()) {
            first.blocks.remove(0);
            if first.blocks.is_empty() {
                sections.remove(0);
            }
        }
    }
    sections
}

/// In a `.txt` FAQ, a short line ending in `?` (optionally "Q:") followed by text starts a section.
fn txt_heading(lines: &[&str], i: usize) -> Option<String> {
    let line = lines[i].trim();
    let question = line
        .strip_prefix("Q:")
        .or_else(|| line.strip_prefix("Q."))
        .unwrap_or(line)
        .trim();
    let next_has_text = lines.get(i + 1).is_some_and(|l| !l.trim().is_empty());
    (i > 0 && question.ends_with('?') && question.chars().count() <= 150 && next_has_text)
        .then(|| question.to_string())
}

/// Paragraphs of a `.txt` file: blank lines separate them; "A:" prefixes are dropped.
fn txt_blocks(body: &str) -> Vec<String> {
    body.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|p| {
            p.strip_prefix("A:")
                .map(str::trim)
                .map(str::to_string)
                .unwrap_or(p)
        })
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(name: &str, text: &str) -> (Option<Document>, Vec<String>) {
        let path = Path::new(name);
        let mut report = Report::new(path);
        let (doc, _) = parse(path, text, &Bibliography::default(), &mut report);
        (
            doc,
            report.diagnostics.iter().map(|d| d.to_string()).collect(),
        )
    }

    const GOOD: &str = "+++\ntitle = \"Funding\"\nupdated = \"2026-11-22\"\n\n[[sources]]\nid = \"a\"\npublisher = \"DfE\"\ntitle = \"Funding page\"\ndate = \"2026-05-18\"\n\n[[sources]]\nid = \"b\"\npublisher = \"Hub\"\ntitle = \"Hub page\"\ndate = \"2024\"\n+++\n\n# Funding\n\n## Current rule\n<!-- sources: b -->\n\nFor the November 2026 cohort, the NPQH is funded.\n\n## History\n\nIn 2021 all NPQs were funded.\n";

    #[test]
    fn sections_cite_their_own_sources() {
        let (doc, diags) = parse_str("funding.md", GOOD);
        assert!(diags.is_empty(), "{diags:?}");
        let doc = doc.unwrap();
        assert_eq!(doc.title, "Funding");
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[0].heading, "Current rule");
        assert_eq!(doc.sections[0].sources[0].publisher, "Hub");
        assert_eq!(doc.sections[0].line, 20);
        assert!(doc.sections[1].sources.is_empty());
    }

    #[test]
    fn unclosed_front_matter_is_reported_at_its_opening_line() {
        let (doc, diags) = parse_str("a.md", "+++\ntitle = \"x\"\n## Section\ntext\n");
        assert!(doc.is_none());
        assert!(
            diags[0]
                .starts_with("a.md:1: error: the front matter opened with `+++` is never closed"),
            "{diags:?}"
        );
    }

    #[test]
    fn bad_toml_is_reported_at_the_file_line() {
        let text = GOOD.replace("id = \"b\"", "id = b");
        let (_, diags) = parse_str("a.md", &text);
        assert!(
            diags[0].starts_with("a.md:12: error: front matter"),
            "{diags:?}"
        );
    }

    #[test]
    fn plain_markdown_takes_its_title_from_the_first_heading() {
        let (doc, diags) = parse_str(
            "faq.md",
            "# Our FAQ\n\nIntro text.\n\n## Pay\n\nAsk the head.\n",
        );
        let doc = doc.unwrap();
        assert_eq!(doc.title, "Our FAQ");
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[0].blocks, vec!["Intro text."]);
        assert!(
            diags[0].contains("warning: this file has no front matter"),
            "{diags:?}"
        );
    }

    #[test]
    fn text_faq_splits_at_question_lines() {
        let (doc, _) = parse_str("rep.txt", "Rep FAQ\n\nQ: Can I get cover?\nA: Ask your head.\n\nWhat about pay?\nThe governors decide.\n");
        let doc = doc.unwrap();
        assert_eq!(doc.title, "Rep FAQ");
        let headings: Vec<&str> = doc.sections.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(headings, vec!["Can I get cover?", "What about pay?"]);
        assert_eq!(doc.sections[0].blocks, vec!["Ask your head."]);
    }

    #[test]
    fn headings_inside_code_fences_are_text() {
        let (doc, _) = parse_str("a.md", "# T\n\n## One\n\n```\n## not a heading\n```\n");
        assert_eq!(doc.unwrap().sections.len(), 1);
    }
}
