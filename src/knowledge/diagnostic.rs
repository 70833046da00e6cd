//! Problems found while loading a knowledge folder, each tied to a file and a line.
//! Loading never stops at the first problem: every one is collected and reported together.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One problem: where it is, what is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub path: PathBuf,
    /// 1-based line in the file; 0 when the problem concerns the whole file.
    pub line: usize,
    pub message: String,
    pub fix: String,
}

impl Diagnostic {
    pub fn error(
        path: &Path,
        line: usize,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path: path.to_path_buf(),
            line,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn warning(
        path: &Path,
        line: usize,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(path, line, message, fix)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}: {kind}: {}",
            self.path.display(),
            self.line.max(1),
            self.message
        )?;
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

/// Collects diagnostics for one file, so parsers need not repeat the path.
#[derive(Debug)]
pub struct Report<'a> {
    path: &'a Path,
    pub diagnostics: Vec<Diagnostic>,
    /// Every valid date the file gives, to be read against today once it is parsed.
    pub dates: Vec<super::freshness::SeenDate>,
}

impl<'a> Report<'a> {
    pub fn new(path: &'a Path) -> Self {
        Report {
            path,
            diagnostics: Vec::new(),
            dates: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.path
    }

    pub fn error(&mut self, line: usize, message: impl Into<String>, fix: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::error(self.path, line, message, fix));
    }

    pub fn warning(&mut self, line: usize, message: impl Into<String>, fix: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::warning(self.path, line, message, fix));
    }

    /// Records a valid date at `line` (`what` names it in a message, such as "`updated`"),
    /// for [`super::freshness::review`].
    pub fn date(&mut self, line: usize, what: &str, date: &str, kind: super::freshness::DateKind) {
        self.dates.push(super::freshness::SeenDate {
            line,
            what: what.to_string(),
            date: date.to_string(),
            kind,
        });
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// 1-based line number of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Turns a TOML error into a message and the 1-based line within `toml_text`.
pub fn toml_error_line(toml_text: &str, err: &toml::de::Error) -> (usize, String) {
    let line = err.span().map(|s| line_of(toml_text, s.start)).unwrap_or(1);
    // The first line of toml's message is the summary; the rest is a source excerpt
    // that would carry the wrong line numbers once shifted into the file.
    // One problem, one line of output.
    let message = err
        .message()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (line, message)
}
