//! Weekly figures: questions, answers, refusals and votes per ISO week (UTC), and the topics
//! most asked about.

use std::collections::HashMap;

use serde::Serialize;

use super::DAY;

/// Topics listed per week and overall.
const TOPICS: usize = 5;
const WEEK_MS: i64 = 7 * DAY * 1000;

/// One entry, as the figures need it.
#[derive(Debug, Clone)]
pub(crate) struct StatRow {
    pub at_ms: i64,
    pub answered: bool,
    pub top_passage: Option<String>,
    pub up: u64,
    pub down: u64,
}

/// The figures of one ISO week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Week {
    /// `2026-W49`.
    pub week: String,
    /// Its Monday, `2026-11-30`.
    pub starts: String,
    pub questions: u64,
    pub answered: u64,
    pub refused: u64,
    pub thumbs_up: u64,
    pub thumbs_down: u64,
    /// The documents answered from most often this week, with the count.
    pub topics: Vec<(String, u64)>,
}

/// Figures for consecutive weeks, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub weeks: Vec<Week>,
    /// The documents answered from most often over all the weeks.
    pub topics: Vec<(String, u64)>,
}

/// The topic of a passage label: its document title (`Title › Section`).
fn topic(label: &str) -> &str {
    label.split(" › ").next().unwrap_or(label)
}

fn top(counts: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut list: Vec<(String, u64)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    list.truncate(TOPICS);
    list
}

pub(crate) fn weekly(rows: Vec<StatRow>, start_ms: i64, weeks: u32) -> Stats {
    let mut out: Vec<(Week, HashMap<String, u64>)> = (0..i64::from(weeks))
        .map(|i| {
            let monday = start_ms + i * WEEK_MS;
            (
                Week {
                    week: iso_week(monday),
                    starts: format_date(monday),
                    questions: 0,
                    answered: 0,
                    refused: 0,
                    thumbs_up: 0,
                    thumbs_down: 0,
                    topics: Vec::new(),
                },
                HashMap::new(),
            )
        })
        .collect();
    let mut all: HashMap<String, u64> = HashMap::new();
    for row in rows {
        let Ok(i) = usize::try_from((row.at_ms - start_ms).div_euclid(WEEK_MS)) else {
            continue;
        };
        let Some((week, topics)) = out.get_mut(i) else {
            continue;
        };
        week.questions += 1;
        if row.answered {
            week.answered += 1;
            if let Some(label) = &row.top_passage {
                *topics.entry(topic(label).to_string()).or_default() += 1;
                *all.entry(topic(label).to_string()).or_default() += 1;
            }
        } else {
            week.refused += 1;
        }
        week.thumbs_up += row.up;
        week.thumbs_down += row.down;
    }
    Stats {
        weeks: out
            .into_iter()
            .map(|(mut week, topics)| {
                week.topics = top(topics);
                week
            })
            .collect(),
        topics: top(all),
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Monday 00:00 UTC of the week holding `ms`.
pub(crate) fn week_start_ms(ms: i64) -> i64 {
    let days = ms.div_euclid(DAY * 1000);
    // 1970-01-01 was a Thursday: Monday is three days before.
    let weekday = (days + 3).rem_euclid(7);
    (days - weekday) * DAY * 1000
}

/// `2026-W49`: the ISO year is that of the week's Thursday.
fn iso_week(ms: i64) -> String {
    let monday = week_start_ms(ms).div_euclid(DAY * 1000);
    let thursday = monday + 3;
    let (year, _, _) = civil(thursday);
    let jan1 = days_from_civil(year, 1, 1);
    let week = (thursday - jan1) / 7 + 1;
    format!("{year}-W{week:02}")
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn format_date(ms: i64) -> String {
    let (y, m, d) = civil(ms.div_euclid(DAY * 1000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026-12-02T05:59:41Z`.
pub(crate) fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let of_day = secs.rem_euclid(DAY);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(ms),
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1000;

    #[test]
    fn iso_weeks_follow_the_thursday_rule() {
        // 2026-12-02 is a Wednesday in week 49; 2021-01-03 (Sunday) is in 2020-W53;
        // 2024-12-30 (Monday) is in 2025-W01.
        assert_eq!(
            iso_week(days_from_civil(2026, 12, 2) * DAY * MS),
            "2026-W49"
        );
        assert_eq!(iso_week(days_from_civil(2021, 1, 3) * DAY * MS), "2020-W53");
        assert_eq!(
            iso_week(days_from_civil(2024, 12, 30) * DAY * MS),
            "2025-W01"
        );
        assert_eq!(
            format_date(week_start_ms(days_from_civil(2026, 12, 2) * DAY * MS)),
            "2026-11-30"
        );
        assert_eq!(format_time(1_764_655_181_000), "2025-12-02T05:59:41Z");
    }
}
