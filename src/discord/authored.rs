//! Answers written by admins from Discord ("Answer this"): each becomes one knowledge file in
//! the standard format, kept only when the folder with it still passes `npq-bot check`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Longest slug of the question in a file name, before its hash.
const SLUG_CHARS: usize = 60;

/// What an admin typed into the modal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authored {
    pub question: String,
    pub answer: String,
    pub publisher: String,
    pub url: String,
    pub date: String,
}

/// Why an answer was not saved: the check's lines (paths relative to the knowledge folder), or
/// a problem with the entry or the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotSaved(pub Vec<String>);

/// One line of text: control characters and runs of spaces become one space.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The question as a `##` heading: one line, without the `#`s that would change its level.
pub fn heading(question: &str) -> String {
    one_line(question)
        .trim_start_matches('#')
        .trim()
        .to_string()
}

/// A file name safe whatever was typed: lower-case ASCII letters, digits and dashes from the
/// question (at most 60), then a short hash of the whole question, then `.md`. It never holds a
/// path separator or `..`, and never starts with `.` or `_` (which the loader skips).
pub fn file_name(question: &str) -> String {
    let mut slug = String::new();
    for c in heading(question).chars() {
        if slug.len() >= SLUG_CHARS {
            break;
        }
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "answer" } else { slug };
    let hash = twox_hash::XxHash3_64::oneshot(heading(question).as_bytes());
    format!("{slug}-{:08x}.md", hash as u32)
}

#[derive(Serialize)]
struct Front<'a> {
    title: &'a str,
    updated: &'a str,
    sources: [FrontSource<'a>; 1],
}

#[derive(Serialize)]
struct FrontSource<'a> {
    publisher: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    date: &'a str,
}

/// The knowledge file for `entry`, updated `today` (YYYY-MM-DD): TOML front matter written by
/// the TOML serialiser (so quotes and backslashes cannot break out of a value), one `##` section
/// headed by the question, the answer as its text. A line of the answer that would start a
/// heading or a `<!-- sources: -->` line is escaped so that it stays text.
pub fn render(entry: &Authored, today: &str) -> String {
    let question = heading(&entry.question);
    let url = entry.url.trim();
    let front = Front {
        title: &question,
        updated: today,
        sources: [FrontSource {
            publisher: &one_line(&entry.publisher),
            title: &question,
            url: (!url.is_empty()).then_some(url),
            date: &one_line(&entry.date),
        }],
    };
    let toml = toml::to_string(&front).unwrap_or_default();
    let mut body = String::new();
    for line in entry
        .answer
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .lines()
    {
        let line: String = line
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || trimmed.starts_with("+++") {
            body.push('\\');
            body.push_str(trimmed);
        } else {
            body.push_str(&line.replace("<!--", "&lt;!--"));
        }
        body.push('\n');
    }
    format!("+++\n{toml}+++\n\n## {question}\n\n{}\n", body.trim_end())
}

/// Writes `entry` into `local` (inside `knowledge_dir`) under [`file_name`], keeping it only if
/// the knowledge folder with it has no error that it had not before, as `npq-bot check` reads
/// them. The file is written under a temporary name first and renamed once checked; on errors
/// it is deleted and nothing is kept. The caller holds the reload lock, so no reload sees the
/// temporary file.
pub fn save(
    knowledge_dir: &Path,
    local: &Path,
    entry: &Authored,
    today: &str,
) -> Result<PathBuf, NotSaved> {
    let refuse = |text: String| Err(NotSaved(vec![text]));
    let question = heading(&entry.question);
    if question.is_empty() {
        return refuse("The question is empty.".to_string());
    }
    if entry.answer.trim().is_empty() {
        return refuse("The answer is empty.".to_string());
    }
    let checked = if local.starts_with(knowledge_dir) {
        knowledge_dir
    } else {
        local
    };
    let shown = |p: &Path| {
        p.strip_prefix(checked)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    };
    if let Err(e) = std::fs::create_dir_all(local) {
        return refuse(format!("cannot make the folder {}: {e}", shown(local)));
    }
    let name = file_name(&question);
    let path = local.join(&name);
    if path.exists() {
        return refuse(format!(
            "an answer to this question is already saved as {}: edit or remove that file",
            shown(&path)
        ));
    }
    let errors_of = |dir: &Path| -> Result<Vec<crate::knowledge::Diagnostic>, String> {
        crate::knowledge::load(dir)
            .map(|l| l.errors().cloned().collect())
            .map_err(|e| e.to_string())
    };
    let before: HashSet<String> = match errors_of(checked) {
        Ok(errors) => errors.iter().map(ToString::to_string).collect(),
        Err(e) => return refuse(e),
    };
    let pending = local.join(format!("{}.pending.md", name.trim_end_matches(".md")));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&pending)
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, render(entry, today).as_bytes())?;
            f.sync_all()
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&pending);
        return refuse(format!("cannot write {}: {e}", shown(&pending)));
    }
    let after = errors_of(checked);
    let new_errors: Vec<String> = match &after {
        Ok(errors) => errors
            .iter()
            .filter(|d| !before.contains(&d.to_string()))
            .map(|d| {
                let mut d = d.clone();
                if d.path == pending {
                    d.path = path.clone();
                }
                d.path = PathBuf::from(shown(&d.path));
                d.to_string()
            })
            .collect(),
        Err(e) => vec![e.clone()],
    };
    if !new_errors.is_empty() {
        let _ = std::fs::remove_file(&pending);
        return Err(NotSaved(new_errors));
    }
    if let Err(e) = std::fs::rename(&pending, &path) {
        let _ = std::fs::remove_file(&pending);
        return refuse(format!("cannot save {}: {e}", shown(&path)));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(question: &str, date: &str) -> Authored {
        Authored {
            question: question.to_string(),
            answer: "The answer, in a sentence that stands alone.".to_string(),
            publisher: "A publisher".to_string(),
            url: "https://example.org/page".to_string(),
            date: date.to_string(),
        }
    }

    #[test]
    fn file_names_are_safe_whatever_is_typed() {
        for typed in [
            "../../etc/passwd",
            "..",
            "/",
            "a\\b/c",
            "",
            "   ",
            ".hidden",
            "_skipped",
            "\u{202e}évaluation ünïcode",
            &"long ".repeat(200),
            "NUL\0byte",
        ] {
            let name = file_name(typed);
            assert!(!name.contains('/') && !name.contains('\\'), "{name}");
            assert!(!name.contains(".."), "{name}");
            assert!(!name.starts_with('.') && !name.starts_with('_'), "{name}");
            assert!(name.len() <= SLUG_CHARS + 12, "{name}");
            assert!(name.ends_with(".md"), "{name}");
        }
        assert_eq!(
            file_name("How long is the NPQH?"),
            file_name("How  long is the NPQH? ")
        );
        assert_ne!(file_name("What?"), file_name("Why?"));
        assert!(file_name("How long is the NPQH?").starts_with("how-long-is-the-npqh-"));
    }

    #[test]
    fn typed_text_cannot_break_the_format() {
        let mut e = entry("Q\"uote\n## Two\" = 1", "2026-01");
        e.publisher = "Pub\"\n[x]".to_string();
        e.answer = "First line.\n## A heading\n+++\n<!-- sources: x -->\nLast.".to_string();
        let text = render(&e, "2026-12-02");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        std::fs::write(&path, &text).unwrap();
        let loaded = crate::knowledge::load(dir.path()).unwrap();
        let errors: Vec<String> = loaded.errors().map(|d| d.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{text}");
        let doc = &loaded.knowledge.documents[0];
        assert_eq!(doc.title, "Q\"uote ## Two\" = 1");
        assert_eq!(doc.sources[0].publisher, "Pub\" [x]");
        assert_eq!(doc.sections.len(), 1, "{text}");
    }

    #[test]
    fn a_good_entry_is_kept_and_a_bad_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("local");
        let saved = save(
            dir.path(),
            &local,
            &entry("Can I pause an NPQ?", "2026-05"),
            "2026-12-02",
        )
        .unwrap();
        assert!(saved.starts_with(&local) && saved.is_file());
        let again = save(
            dir.path(),
            &local,
            &entry("Can I pause an NPQ?", "2026-05"),
            "2026-12-02",
        );
        assert!(again.unwrap_err().0[0].contains("already saved"));

        let refused = save(
            dir.path(),
            &local,
            &entry("Who pays?", "last week"),
            "2026-12-02",
        )
        .unwrap_err();
        assert!(
            refused.0.iter().any(|l| l.contains("not a valid date")),
            "{refused:?}"
        );
        assert!(refused.0.iter().all(|l| l.starts_with("local/who-pays-")));
        let files: Vec<_> = std::fs::read_dir(&local).unwrap().collect();
        assert_eq!(files.len(), 1, "only the good answer is kept");
    }
}
