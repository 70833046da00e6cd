//! How old the dates of a knowledge file are against today: a document whose facts were last
//! checked more than a year ago is due a re-check, and no date may lie in the future.

use super::diagnostic::Report;
use super::source::UNDATED;

/// What a date in a file says, which decides what is worth a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateKind {
    /// The day a document's facts were last checked (`updated`): warned when over a year old
    /// or in the future.
    Checked,
    /// The date a source gives (`date`, `funding_as_of`): warned only when in the future.
    /// Old sources are cited on purpose, as the history of a rule; the document's `updated`
    /// date says when they were last read.
    Source,
}

/// A valid date met while parsing a file, kept to be read against today after parsing (the
/// parsers do not read the clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenDate {
    pub line: usize,
    /// How the message names the date, such as "`updated`".
    pub what: String,
    pub date: String,
    pub kind: DateKind,
}

/// A day as (year, month, day).
pub type Day = (i32, u32, u32);

/// The first and last day a date written as `YYYY`, `YYYY-MM` or `YYYY-MM-DD` can mean; None
/// for `undated` or anything else.
fn span(date: &str) -> Option<(Day, Day)> {
    if date == UNDATED {
        return None;
    }
    let mut parts = date.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: Option<u32> = parts.next().map(str::parse).transpose().ok()?;
    let day: Option<u32> = parts.next().map(str::parse).transpose().ok()?;
    Some(match (month, day) {
        (None, _) => ((year, 1, 1), (year, 12, 31)),
        (Some(m), None) => ((year, m, 1), (year, m, days_in_month(year, m))),
        (Some(m), Some(d)) => ((year, m, d), (year, m, d)),
    })
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The same day a year before `today` (28 February for 29 February).
fn a_year_before(today: Day) -> Day {
    let (y, m, d) = today;
    (y - 1, m, d.min(days_in_month(y - 1, m)))
}

/// Warnings for the dates of one file read against `today`, at each date's line.
pub fn review(dates: &[SeenDate], today: Day, report: &mut Report) {
    for seen in dates {
        let Some((first, last)) = span(&seen.date) else {
            continue;
        };
        if first > today {
            report.warning(
                seen.line,
                format!(
                    "{} is \"{}\", which is after today ({})",
                    seen.what,
                    seen.date,
                    format_day(today)
                ),
                match seen.kind {
                    DateKind::Checked => "write the day the facts were last checked, which cannot be later than today".to_string(),
                    DateKind::Source => "write the date the source itself gives (published or updated); the date a rule starts belongs in the text (\"From September 2027, ...\")".to_string(),
                },
            );
        } else if seen.kind == DateKind::Checked && last < a_year_before(today) {
            report.warning(
                seen.line,
                format!(
                    "{} is \"{}\", more than a year before today ({}): the facts may have changed since",
                    seen.what,
                    seen.date,
                    format_day(today)
                ),
                format!("read the sources again and correct what changed, then set {} to the day you checked", seen.what),
            );
        }
    }
}

/// `YYYY-MM-DD`.
pub fn format_day((y, m, d): Day) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn warnings(date: &str, kind: DateKind, today: Day) -> Vec<String> {
        let mut report = Report::new(Path::new("a.md"));
        let seen = SeenDate {
            line: 3,
            what: "`updated`".to_string(),
            date: date.to_string(),
            kind,
        };
        review(&[seen], today, &mut report);
        report.diagnostics.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn a_checked_date_over_a_year_old_is_warned_at_its_line() {
        let today = (2026, 12, 2);
        assert!(warnings("2025-12-02", DateKind::Checked, today).is_empty());
        let old = warnings("2025-12-01", DateKind::Checked, today);
        assert!(
            old[0].starts_with("a.md:3: warning: `updated` is \"2025-12-01\", more than a year"),
            "{old:?}"
        );
        // A month or a year counts as its last day.
        assert!(warnings("2025-12", DateKind::Checked, today).is_empty());
        assert_eq!(warnings("2025-11", DateKind::Checked, today).len(), 1);
        assert!(warnings("2025", DateKind::Checked, (2026, 12, 31)).is_empty());
        // Old sources are history, not a problem.
        assert!(warnings("2009", DateKind::Source, today).is_empty());
        // 29 February a year on.
        assert!(warnings("2023-02-28", DateKind::Checked, (2024, 2, 29)).is_empty());
    }

    #[test]
    fn a_date_after_today_is_warned_whatever_its_kind() {
        let today = (2026, 12, 2);
        for kind in [DateKind::Checked, DateKind::Source] {
            assert!(warnings("2026-12-02", kind, today).is_empty());
            assert!(warnings("2026-12", kind, today).is_empty());
            let future = warnings("2026-12-03", kind, today);
            assert!(future[0].contains("after today (2026-12-02)"), "{future:?}");
            assert_eq!(warnings("2027", kind, today).len(), 1);
        }
        assert!(warnings("undated", DateKind::Source, today).is_empty());
    }
}
