//! Time in answers: the dated periods the guidance names ("the November 2026 cohort"), the
//! newest of them, and a note for questions about "current", "this year" or "next" rules
//! that says which period an answer's rule belongs to, read against today's date.

use std::sync::OnceLock;

use regex::Regex;

/// A named period: a month (or season) and a year, as the guidance writes it before a word
/// for an intake ("cohort", "intake", "round").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub year: i32,
    pub month: u32,
    /// Named by a season ("autumn 2024") rather than a month.
    pub season: bool,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)\b(january|february|march|april|may|june|july|august|september|october|november|december|spring|summer|autumn|winter)\s+(20\d\d)\s+(cohorts?|intakes?|rounds?)\b",
        )
        .expect("valid regex")
    })
}

impl Period {
    /// "November 2026", or "autumn 2024" for a period named by its season.
    pub fn name(&self) -> String {
        if self.season {
            let season = match self.month {
                1 => "spring",
                4 => "summer",
                9 => "autumn",
                _ => "winter",
            };
            return format!("{season} {}", self.year);
        }
        let month = MONTHS[(self.month as usize).clamp(1, 12) - 1];
        let mut m = month.to_string();
        if let Some(first) = m.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        format!("{m} {}", self.year)
    }
}

/// Every period `text` names.
pub fn periods(text: &str) -> Vec<Period> {
    pattern()
        .captures_iter(text)
        .filter_map(|c| {
            let word = c[1].to_lowercase();
            let month = match word.as_str() {
                "spring" => 1,
                "summer" => 4,
                "autumn" => 9,
                "winter" => 12,
                _ => MONTHS.iter().position(|m| *m == word)? as u32 + 1,
            };
            Some(Period {
                year: c[2].parse().ok()?,
                month,
                season: !MONTHS.contains(&word.as_str()),
            })
        })
        .collect()
}

/// What a question asks of time: the rule in force now, or the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asks {
    Current,
    Next,
}

/// Whether a question asks about the current or the next period (English words for time).
pub fn asks(question: &str) -> Option<Asks> {
    static NEXT: OnceLock<Regex> = OnceLock::new();
    static NOW: OnceLock<Regex> = OnceLock::new();
    let next = NEXT.get_or_init(|| {
        Regex::new(r"(?i)\b(next|upcoming|coming|future|following)\b|\bnext year\b")
            .expect("valid regex")
    });
    let now = NOW.get_or_init(|| {
        Regex::new(r"(?i)\b(current|currently|now|this year|today|these days|at the moment|still|latest|new)\b")
            .expect("valid regex")
    });
    if next.is_match(question) {
        Some(Asks::Next)
    } else if now.is_match(question) {
        Some(Asks::Current)
    } else {
        None
    }
}

/// Today's date as (year, month, day), from the system clock (UTC).
pub fn today() -> (i32, u32, u32) {
    date_of(std::time::SystemTime::now())
}

/// The calendar date (UTC) of a moment, as (year, month, day); 1970-01-01 for one before it.
pub fn date_of(time: std::time::SystemTime) -> (i32, u32, u32) {
    let days = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    civil_from_days(days)
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

/// The note for an answer about the current or next period, read against `today` and every
/// period the guidance names (`known`): which cohort the rules shown belong to when a newer
/// one has started, and, for the next cohort, that the guidance holds nothing about one yet.
pub fn note(
    asks: Asks,
    shown: &[Period],
    known: &[Period],
    today: (i32, u32, u32),
) -> Option<String> {
    let (year, month, day) = today;
    let now = Period {
        year,
        month,
        season: false,
    };
    let started = known.iter().filter(|p| **p <= now).max().copied()?;
    let later = known.iter().any(|p| *p > now);
    let date = format!("{day} {}", now.name());
    let shown_newest = shown.iter().max().copied();
    let mut out = Vec::new();
    if let Some(p) = shown_newest.filter(|p| *p < started) {
        out.push(format!(
            "As of {date}, the rule shown is for the {} cohort; the newest cohort that has started is the {} cohort.",
            p.name(),
            started.name()
        ));
    }
    if asks == Asks::Next {
        out.push(match shown.iter().filter(|p| **p > now).min() {
            Some(p) => format!(
                "As of {date}, the next cohort these results speak of is the {} cohort.",
                p.name()
            ),
            None if !later => format!(
                "As of {date}, the newest cohort in the guidance is the {} cohort; it holds nothing yet about a later one.",
                started.name()
            ),
            // The guidance names a later cohort somewhere, but not in these results.
            None => format!(
                "As of {date}, the newest cohort that has started is the {} cohort; the results shown say nothing about a later one.",
                started.name()
            ),
        });
    } else if asks == Asks::Current && out.is_empty() && shown_newest == Some(started) {
        out.push(format!(
            "As of {date}, this is the rule for the {} cohort, the newest that has started.",
            started.name()
        ));
    }
    (!out.is_empty()).then(|| out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_read_from_text() {
        let p = periods("For the November 2026 cohort, and the spring 2025 cohort too.");
        assert_eq!(
            p,
            vec![
                Period {
                    year: 2026,
                    month: 11,
                    season: false
                },
                Period {
                    year: 2025,
                    month: 1,
                    season: true
                }
            ]
        );
        assert!(periods("In 2026 we met.").is_empty());
    }

    #[test]
    fn dates_come_from_day_counts() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn a_note_names_the_newest_cohort_once_it_has_started() {
        let nov = Period {
            year: 2026,
            month: 11,
            season: false,
        };
        let older = Period {
            year: 2025,
            month: 11,
            season: false,
        };
        let known = [older, nov];
        let n = note(Asks::Next, &[nov], &known, (2026, 12, 2)).unwrap();
        assert!(
            n.contains("November 2026") && n.contains("nothing yet about a later one"),
            "{n}"
        );
        let n = note(Asks::Current, &[older], &known, (2026, 12, 2)).unwrap();
        assert!(
            n.contains("the rule shown is for the November 2025 cohort"),
            "{n}"
        );
        let n = note(Asks::Current, &[nov], &known, (2026, 12, 2)).unwrap();
        assert!(
            n.contains("this is the rule for the November 2026 cohort"),
            "{n}"
        );
        // Before the newest cohort starts, it is simply the next one: the guidance has it.
        let n = note(Asks::Next, &[older], &known, (2026, 6, 1)).unwrap_or_default();
        assert!(!n.contains("nothing yet"), "{n}");
        // A later cohort in the guidance: no "nothing yet"; the note names it when a result
        // speaks of it, and says the results do not when none does.
        let later = Period {
            year: 2027,
            month: 11,
            season: false,
        };
        let n = note(Asks::Next, &[later], &[older, nov, later], (2026, 12, 2)).unwrap();
        assert!(
            n.contains("the next cohort these results speak of is the November 2027 cohort"),
            "{n}"
        );
        let n = note(Asks::Next, &[nov], &[older, nov, later], (2026, 12, 2)).unwrap();
        assert!(
            n.contains("newest cohort that has started is the November 2026 cohort")
                && n.contains("say nothing about a later one"),
            "{n}"
        );
        assert_eq!(asks("what's funded for the next cohort"), Some(Asks::Next));
        assert_eq!(asks("is the NPQH free at the moment"), Some(Asks::Current));
        assert_eq!(asks("how long is the NPQH"), None);
    }
}
