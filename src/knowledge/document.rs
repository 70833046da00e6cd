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
    /// For a plain file, the day it last changed (`YYYY-MM-DD`), which its citation shows;
    /// set by the loader, which reads the file.
    pub modified: Option<String>,
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
    /// Other ways people ask the question the section answers (`<!-- asked: a | b -->`):
    /// matched by meaning like the heading, never shown.
    pub asked: Vec<String>,
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

/// `<!-- asked: one way | another way -->`: other wordings of a section's question.
fn asked_comment() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\s*<!--\s*asked\s*:\s*(.*?)\s*-->\s*$").expect("valid regex"))
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

/// True when a file's bytes open with `+++` front matter (after a byte order mark and blank
/// lines).
pub fn starts_with_front_matter(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| bytes[i..].starts_with(b"+++"))
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
        modified: None,
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
    let layout = Layout {
        is_txt,
        questions: is_question_and_answer(body_lines),
        title_line: (!doc.has_front_matter)
            .then(|| plain_title_line(body_lines, is_txt))
            .flatten(),
    };
    let sections = split_sections(body_lines, body_start, &layout, &doc, bibliography, report);
    report_cited_by_no_section(&doc, &sections, &cite_lines, report);
    if !doc.has_front_matter {
        doc.title = layout
            .title_line
            .map(|i| plain_title(body_lines[i]))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| title_from_file_name(&file));
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
            // The line after the front matter, or its last line when nothing follows it.
            (body_start + 1).min(lines.len().max(1)),
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

/// How a body is laid out: which lines start sections and which line is a plain file's title.
struct Layout {
    is_txt: bool,
    /// Written as `Q:` / `A:` lines: each `Q:` line starts a section named by its question.
    questions: bool,
    /// The body line (0-based) that is a plain file's title, not text to answer from.
    title_line: Option<usize>,
}

/// The question of a `Q:` line.
fn question_line(line: &str) -> Option<&str> {
    line.trim().strip_prefix("Q:").map(str::trim)
}

/// The answer text of an `A:` line.
fn answer_line(line: &str) -> Option<&str> {
    line.trim().strip_prefix("A:").map(str::trim)
}

/// True when a body is written as questions and answers: it has `Q:` and `A:` lines, and
/// either its first line of text is a `Q:` line or they make up at least half its lines of
/// text (headings and comments aside), so answers may run over several lines.
pub fn is_question_and_answer(lines: &[&str]) -> bool {
    let text: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("<!--"))
        .collect();
    let questions = text.iter().filter(|l| question_line(l).is_some()).count();
    let answers = text.iter().filter(|l| answer_line(l).is_some()).count();
    questions > 0
        && answers > 0
        && (text.first().is_some_and(|l| question_line(l).is_some())
            || 2 * (questions + answers) >= text.len())
}

/// The line of a plain file that is its title: a first line of text that is a `#` heading, or
/// in a `.txt` file, a first line that is neither a question nor an answer.
fn plain_title_line(lines: &[&str], is_txt: bool) -> Option<usize> {
    let i = lines.iter().position(|l| !l.trim().is_empty())?;
    let first = lines[i].trim();
    let heading = first.starts_with("# ");
    let qa = question_line(first).is_some() || answer_line(first).is_some();
    (heading || (is_txt && !qa && txt_heading(lines, i).is_none())).then_some(i)
}

/// The title written on a title line, without its `#`.
fn plain_title(line: &str) -> String {
    let title = line.trim();
    let title = title
        .strip_prefix("# ")
        .map(|t| t.trim().trim_end_matches('#').trim())
        .unwrap_or(title);
    title.chars().take(120).collect()
}

/// A file name turned into words: `staff-faq_2026.md` -> "Staff faq 2026".
pub fn title_from_file_name(file: &str) -> String {
    let name = file.rsplit('/').next().unwrap_or(file);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let words = stem
        .split(|c: char| c == '-' || c == '_' || c == '.' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).take(120).collect(),
        None => name.to_string(),
    }
}

struct RawSection {
    heading: String,
    line: usize,
    lines: Vec<String>,
    sources: Vec<Source>,
    asked: Vec<String>,
}

/// Splits body lines into sections at `## ` headings (in a question-and-answer file, at `Q:`
/// lines; in other `.txt` files, at question lines).
fn split_sections(
    lines: &[&str],
    offset: usize,
    layout: &Layout,
    doc: &Document,
    bibliography: &Bibliography,
    report: &mut Report,
) -> Vec<Section> {
    let is_txt = layout.is_txt;
    let mut raw: Vec<RawSection> = vec![RawSection {
        heading: String::new(),
        line: offset + 1,
        lines: Vec::new(),
        sources: Vec::new(),
        asked: Vec::new(),
    }];
    let mut in_fence = false;
    for (i, line) in lines.iter().enumerate() {
        let file_line = offset + i + 1;
        if Some(i) == layout.title_line {
            continue;
        }
        if !is_txt && fence().is_match(line) {
            in_fence = !in_fence;
        }
        let trimmed = line.trim();
        let heading = if in_fence {
            None
        } else if layout.questions {
            // Only `Q:` lines start sections: an answer may hold a line ending in `?`.
            question_line(line).map(str::to_string)
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
                asked: Vec::new(),
            });
            continue;
        }
        if let Some(caps) = (!in_fence)
            .then(|| asked_comment().captures(line))
            .flatten()
        {
            if raw.len() == 1 {
                report.warning(
                    file_line,
                    "an `<!-- asked: -->` line before the first heading is ignored",
                    "put it under the heading of the section whose question it rewords",
                );
                continue;
            }
            let current = raw.last_mut().expect("there is always a section");
            current.asked.extend(super::trimmed(
                caps[1].split('|').map(str::to_string).collect(),
            ));
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
        match answer_line(line).filter(|_| layout.questions && !in_fence) {
            Some(answer) => current.lines.push(answer.to_string()),
            None => current.lines.push(line.to_string()),
        }
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
            if !is_preamble && layout.questions {
                report.error(
                    section.line,
                    format!("the question \"{}\" has no answer", section.heading),
                    "write the answer on an `A:` line under the question, or remove the question",
                );
            } else if !is_preamble {
                report.error(
                    section.line,
                    format!("the section \"{}\" is empty", section.heading),
                    "write the section's text under its heading, or remove the heading",
                );
            }
            continue;
        }
        if !is_preamble && section.heading.is_empty() {
            let fix = if layout.questions {
                "write the question after `Q:`"
            } else {
                "write what the section is about after `## `"
            };
            report.error(section.line, "a section heading has no text", fix);
            continue;
        }
        sections.push(Section {
            heading: section.heading,
            line: section.line,
            blocks,
            sources: section.sources,
            asked: section.asked,
        });
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
    (question.ends_with('?') && question.chars().count() <= 150 && next_has_text)
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
    fn asked_lines_give_a_section_other_wordings_of_its_question() {
        let text = GOOD.replace(
            "<!-- sources: b -->\n",
            "<!-- sources: b -->\n<!-- asked: Is the NPQH free? | | NPQH cost 2026? -->\n<!--asked:Free for heads?-->\n",
        );
        let (doc, diags) = parse_str("funding.md", &text);
        assert!(diags.is_empty(), "{diags:?}");
        let doc = doc.unwrap();
        assert_eq!(
            doc.sections[0].asked,
            vec!["Is the NPQH free?", "NPQH cost 2026?", "Free for heads?"]
        );
        assert_eq!(
            doc.sections[0].blocks,
            vec!["For the November 2026 cohort, the NPQH is funded."]
        );
        assert!(doc.sections[1].asked.is_empty());
    }

    #[test]
    fn an_asked_line_before_the_first_heading_is_reported_and_ignored() {
        let text = GOOD.replace("# Funding\n", "# Funding\n<!-- asked: Anything? -->\n");
        let (doc, diags) = parse_str("funding.md", &text);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].starts_with("funding.md:19: warning: an `<!-- asked: -->` line before the first heading is ignored"),
            "{diags:?}"
        );
        assert!(doc.unwrap().sections.iter().all(|s| s.asked.is_empty()));
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
    fn front_matter_with_nothing_after_it_is_reported_at_a_line_of_the_file() {
        let (doc, diags) = parse_str("a.md", "+++\ntitle = \"x\"\n+++");
        assert!(doc.is_none());
        assert!(
            diags
                .iter()
                .any(|d| d.starts_with("a.md:3: error: the document has no text")),
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
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn plain_file_without_a_title_heading_is_named_after_the_file() {
        let (doc, _) = parse_str(
            "staff/cover-and-pay_faq.md",
            "Intro text.\n\n## Pay\n\nAsk.\n",
        );
        let doc = doc.unwrap();
        assert_eq!(doc.title, "Cover and pay faq");
        assert_eq!(doc.sections[0].blocks, vec!["Intro text."]);
        assert_eq!(title_from_file_name("x/.md"), ".md");
    }

    #[test]
    fn question_and_answer_lines_make_one_section_per_question() {
        let text = "# Rep FAQ\n\nQ: Can I defer my course?\nA: Yes, for up to a year,\nwith the provider's agreement.\n\nQ: Who pays for cover\nA: The school.\n\nA second paragraph.\nQ: Is there a fee?\nA: No.\n";
        for name in ["faq.md", "faq.txt"] {
            let (doc, diags) = parse_str(name, text);
            assert!(diags.is_empty(), "{diags:?}");
            let doc = doc.unwrap();
            assert_eq!(doc.title, "Rep FAQ");
            let headings: Vec<&str> = doc.sections.iter().map(|s| s.heading.as_str()).collect();
            assert_eq!(
                headings,
                vec![
                    "Can I defer my course?",
                    "Who pays for cover",
                    "Is there a fee?"
                ],
                "{name}"
            );
            assert_eq!(
                doc.sections[0].blocks,
                vec!["Yes, for up to a year, with the provider's agreement."],
                "{name}"
            );
            assert_eq!(
                doc.sections[1].blocks,
                vec!["The school.", "A second paragraph."],
                "{name}"
            );
            assert_eq!(doc.sections[1].line, 7);
        }
    }

    #[test]
    fn a_question_without_an_answer_is_reported_at_its_line() {
        let (_, diags) = parse_str("faq.md", "Q: One?\nA: Yes.\nQ: Two?\n\nQ: Three?\nA: No.\n");
        assert!(
            diags[0].starts_with("faq.md:3: error: the question \"Two?\" has no answer"),
            "{diags:?}"
        );
    }

    #[test]
    fn a_few_q_lines_in_prose_do_not_make_a_question_and_answer_file() {
        let lines = [
            "Intro.",
            "More prose here.",
            "Q: one",
            "A: two",
            "Text.",
            "Text.",
            "Text.",
        ];
        assert!(!is_question_and_answer(&lines));
        assert!(is_question_and_answer(&[
            "Q: one", "A: two", "x", "y", "z", "w"
        ]));
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
