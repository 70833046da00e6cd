//! Where a fact comes from: publisher, page, address and the date the page gives.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::diagnostic::{line_of, Report};
use super::freshness::DateKind;

/// A cited source, as shown beside every snippet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Source {
    #[serde(skip)]
    pub id: Option<String>,
    pub publisher: String,
    pub title: String,
    pub url: Option<String>,
    /// The date the source gives: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, or `undated`.
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The publisher shown for a file without front matter.
pub const LOCAL_PUBLISHER: &str = "local FAQ";

impl Source {
    /// The citation for a file that names no source: the file itself.
    pub fn unsourced(file_name: &str) -> Self {
        Source {
            id: None,
            publisher: "unsourced file".to_string(),
            title: file_name.to_string(),
            url: None,
            date: String::new(),
            note: None,
        }
    }

    /// The citation of a file without front matter, such as a school's own FAQ: its title,
    /// the publisher [`LOCAL_PUBLISHER`], and `date`, the day the file last changed.
    pub fn local(title: &str, date: &str) -> Self {
        Source {
            id: None,
            publisher: LOCAL_PUBLISHER.to_string(),
            title: title.to_string(),
            url: None,
            date: date.to_string(),
            note: None,
        }
    }

    /// "Publisher, Title (date)" for terminal and Discord citations.
    pub fn cite(&self) -> String {
        let mut s = format!("{}, \u{201c}{}\u{201d}", self.publisher, self.title);
        if !self.date.is_empty() {
            s.push_str(&format!(" ({})", self.date));
        }
        s
    }
}

/// Serde for sources that npq-bot writes for itself (the on-disk index), ids included: the
/// public JSON answer leaves the id out, but a passage read back must equal the one indexed.
pub mod with_ids {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Source;

    #[derive(Serialize)]
    struct Out<'a> {
        id: &'a Option<String>,
        #[serde(flatten)]
        source: &'a Source,
    }

    #[derive(Deserialize)]
    struct In {
        id: Option<String>,
        #[serde(flatten)]
        source: Source,
    }

    pub fn serialize<S: Serializer>(sources: &[Source], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(sources.iter().map(|source| Out {
            id: &source.id,
            source,
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Source>, D::Error> {
        let stored = Vec::<In>::deserialize(d)?;
        Ok(stored
            .into_iter()
            .map(|In { id, mut source }| {
                source.id = id;
                source
            })
            .collect())
    }
}

/// The shared bibliography, `sources.json`: every source once, cited by id from documents
/// (`cite = ["id"]`), sections (`<!-- sources: id -->`) and programme cards.
#[derive(Debug, Clone, Default)]
pub struct Bibliography {
    sources: std::collections::BTreeMap<String, Source>,
    /// The line of `sources.json` where each entry starts.
    lines: std::collections::BTreeMap<String, usize>,
    /// For a dated version of a page listed more than once, the id of the entry its
    /// `version_of` names (the page's first listed version).
    versions: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSource {
    publisher: String,
    title: String,
    url: Option<String>,
    date: String,
    note: Option<String>,
    /// The id of another entry of which this one is a dated version (the same page as it
    /// read on another date).
    version_of: Option<String>,
}

impl Bibliography {
    pub fn get(&self, id: &str) -> Option<&Source> {
        self.sources.get(id)
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Every entry's id with the line of `sources.json` where it starts, in id order.
    pub fn ids_with_lines(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        self.sources
            .keys()
            .map(|id| (id.as_str(), self.lines.get(id).copied().unwrap_or(0)))
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// How to mend a citation of an id that is not here.
    pub fn fix_for_unknown(&self) -> String {
        if self.sources.is_empty() {
            "add the source to sources.json, or as a [[sources]] table with an `id` in this file's front matter".to_string()
        } else {
            let some: Vec<&str> = self.sources.keys().take(4).map(String::as_str).collect();
            format!("use an id from sources.json (such as {}) or a [[sources]] id of this file, or add the source to sources.json", some.join(", "))
        }
    }

    /// Parses `sources.json`: `{"id": {"publisher", "title", "url", "date", "note"}}`.
    pub fn parse(text: &str, report: &mut Report) -> Bibliography {
        let raw: Entries = match serde_json::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let fix = if e.to_string().contains("unknown field") {
                    "a source has publisher, title, url, date, note and version_of"
                } else {
                    "write a JSON object of sources: {\"id\": {\"publisher\": \"...\", \"title\": \"...\", \"date\": \"YYYY-MM-DD\"}}"
                };
                report.error(e.line(), e.to_string(), fix);
                return Bibliography::default();
            }
        };
        // An entry's key is followed by `{`; a field of the same name is followed by a value.
        // Only lines holding `":{` (spaces aside) can start an entry: they are found once, not
        // once per id, which matters for bibliographies of thousands of sources.
        let entry_lines: Vec<(usize, String)> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i, l.split_whitespace().collect::<String>()))
            .filter(|(_, l)| l.contains("\":{"))
            .collect();
        let line_of_id = |id: &str, nth: usize| {
            let key = format!("{}:", serde_json::to_string(id).unwrap_or_default());
            entry_lines
                .iter()
                .filter(|(_, l)| l.starts_with(&key) && l[key.len()..].starts_with('{'))
                .nth(nth)
                .map_or(0, |(i, _)| i + 1)
        };
        let mut sources = std::collections::BTreeMap::new();
        let mut lines = std::collections::BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut version_of: Vec<(String, String)> = Vec::new();
        for (id, s) in raw.0 {
            let nth = seen.entry(id.clone()).or_insert(0);
            let line = line_of_id(&id, *nth);
            *nth += 1;
            if *nth > 1 {
                report.error(
                    line,
                    format!("the source id \"{id}\" is defined twice"),
                    "give each source its own id, or merge the two entries",
                );
                continue;
            }
            let mut ok = true;
            let mut bad_url = false;
            for (key, value) in [("publisher", &s.publisher), ("title", &s.title)] {
                if value.trim().is_empty() {
                    report.error(
                        line,
                        format!("source \"{id}\" has an empty `{key}`"),
                        format!("write the source's {key}"),
                    );
                    ok = false;
                }
            }
            if !valid_date(s.date.trim()) {
                report.error(
                    line,
                    format!("source \"{id}\" has the invalid date \"{}\"", s.date),
                    DATE_FIX,
                );
                ok = false;
            }
            if let Some((url, problem)) = s
                .url
                .as_deref()
                .and_then(|u| url_problem(u).map(|p| (u, p)))
            {
                report.error(
                    line,
                    format!("source \"{id}\" has the url \"{url}\", which is not a valid web address: {problem}"),
                    URL_FIX,
                );
                // The source is still known without its address, so its citations stand.
                bad_url = true;
            }
            if valid_date(s.date.trim()) {
                report.date(
                    line,
                    &format!("the date of source \"{id}\""),
                    s.date.trim(),
                    DateKind::Source,
                );
            }
            match s.note.as_deref() {
                Some(note) => check_undated_note(&id, s.date.trim(), note, line, report),
                None => check_undated_without_note(&id, s.date.trim(), line, report),
            }
            if let (true, Some(of)) = (ok, s.version_of.as_deref()) {
                version_of.push((id.clone(), of.trim().to_string()));
            }
            if ok {
                let source = Source {
                    id: Some(id.clone()),
                    publisher: s.publisher.trim().to_string(),
                    title: s.title.trim().to_string(),
                    url: s.url.filter(|_| !bad_url),
                    date: s.date.trim().to_string(),
                    note: s.note,
                };
                sources.insert(id.clone(), source);
                order.push(id.clone());
                lines.insert(id, line);
            }
        }
        let mut bibliography = Bibliography {
            sources,
            lines,
            versions: std::collections::BTreeMap::new(),
        };
        let reported = bibliography.link_versions(version_of, report);
        bibliography.report_pages_listed_twice(&order, &reported, report);
        bibliography
    }

    /// Records each `version_of` link that names a dated entry listed without one, and
    /// reports, at the entry's line, a link that cannot be a version: to an unknown id, to
    /// another version, to another address, or from or to an undated entry (an undated entry
    /// cannot say which version of the page it is). A version without a `url` has the url of
    /// the entry it names.
    /// Returns the ids whose link was reported.
    fn link_versions(
        &mut self,
        links: Vec<(String, String)>,
        report: &mut Report,
    ) -> std::collections::HashSet<String> {
        let mut reported = std::collections::HashSet::new();
        let mut problems = Vec::new();
        let mut good = Vec::new();
        for (id, of) in &links {
            let line = self.lines.get(id).copied().unwrap_or(0);
            let source = &self.sources[id];
            let problem = match self.sources.get(of) {
                _ if of == id => Some((
                    format!("source \"{id}\" names itself in `version_of`"),
                    "name the entry of another date of the same page, or remove `version_of`"
                        .to_string(),
                )),
                None => Some((
                    format!("source \"{id}\" is a version of \"{of}\", which sources.json does not list"),
                    "name the id of the page's first listed version in `version_of`, or remove it".to_string(),
                )),
                Some(_) if links.iter().any(|(v, _)| v == of) => {
                    let first = links.iter().find(|(v, _)| v == of).map_or("", |(_, f)| f);
                    Some((
                        format!("source \"{id}\" is a version of \"{of}\", which is itself a version of \"{first}\""),
                        format!("write \"version_of\": \"{first}\": every version names the same first entry"),
                    ))
                }
                Some(_) if source.date == UNDATED => Some((
                    format!("source \"{id}\" is undated, so it cannot say which version of \"{of}\" it is"),
                    format!("merge it into the dated entry that holds its facts (\"{of}\" or another version) and change every `cite`, `<!-- sources: -->` line and programme `sources` that names \"{id}\""),
                )),
                Some(target) if target.date == UNDATED => Some((
                    format!("source \"{id}\" is a version of \"{of}\", which is undated and so cannot say which version it is"),
                    format!("give \"{of}\" the date of its version, or merge it into a dated version"),
                )),
                Some(target) => match (&source.url, &target.url) {
                    (Some(a), Some(b)) if page_key(a) != page_key(b) => Some((
                        format!("source \"{id}\" is a version of \"{of}\", but its url is another page's"),
                        "versions of one page have the same url: correct the url, or remove `version_of` if it is another page".to_string(),
                    )),
                    _ => None,
                },
            };
            match problem {
                Some((message, fix)) => {
                    reported.insert(id.clone());
                    problems.push((line, message, fix));
                }
                None => good.push((id.clone(), of.clone())),
            }
        }
        for (line, message, fix) in problems {
            report.error(line, message, fix);
        }
        for (id, of) in good {
            if self.sources[&id].url.is_none() {
                let url = self.sources[&of].url.clone();
                if let Some(source) = self.sources.get_mut(&id) {
                    source.url = url;
                }
            }
            self.versions.insert(id, of);
        }
        reported
    }

    /// The id of the first listed version of the page `id` is a version of (`id` itself when
    /// it is no version).
    fn first_version<'b>(&'b self, id: &'b str) -> &'b str {
        self.versions.get(id).map_or(id, String::as_str)
    }

    /// Reports entries that are the same page as an earlier entry: the same web address, or the
    /// same publisher and title. Dated versions of a page that changed are different sources
    /// when the later entries name the first in `version_of` and each date tells its version
    /// apart (not the same date, and not a year or month that holds another version's date);
    /// any other entry of the same page is the page listed twice.
    fn report_pages_listed_twice(
        &self,
        order: &[String],
        reported: &std::collections::HashSet<String>,
        report: &mut Report,
    ) {
        let mut by_url: std::collections::HashMap<String, Vec<&str>> =
            std::collections::HashMap::new();
        let mut by_name: std::collections::HashMap<(String, String), Vec<&str>> =
            std::collections::HashMap::new();
        for id in order {
            let source = &self.sources[id];
            let line = self.lines.get(id).copied().unwrap_or(0);
            let url_key = source.url.as_deref().and_then(page_key);
            let name_key = (same_words(&source.publisher), same_words(&source.title));
            let earlier_url = url_key
                .as_ref()
                .and_then(|k| by_url.get(k))
                .and_then(|ids| self.first_clash(ids, id));
            let earlier_name = by_name
                .get(&name_key)
                .and_then(|ids| self.first_clash(ids, id));
            if let Some((other, why)) = earlier_url
                .map(|o| (o, "the same url"))
                .or(earlier_name.map(|o| (o, "the same publisher and title")))
                .filter(|_| !reported.contains(id))
            {
                let other_line = self.lines.get(other).copied().unwrap_or(0);
                let other_date = &self.sources[other].date;
                let linked = self.first_version(id) == self.first_version(other);
                if linked {
                    report.error(
                        line,
                        format!("source \"{id}\" ({}) and \"{other}\" (line {other_line}, {other_date}) are versions of one page whose dates do not tell them apart", source.date),
                        format!("give each version the full date of its version (YYYY-MM-DD, as the page's history gives it); an entry that cannot say which version it is must be merged into \"{other}\" or another dated version, changing every `cite`, `<!-- sources: -->` line and programme `sources` that names \"{id}\""),
                    );
                } else if source.date != UNDATED
                    && other_date != UNDATED
                    && !dates_overlap(&source.date, other_date)
                {
                    let first = self.first_version(other);
                    report.error(
                        line,
                        format!("source \"{id}\" has {why} as \"{other}\" (line {other_line}): the page is listed twice"),
                        format!("if they are two dated versions of a page that changed, add \"version_of\": \"{first}\" to \"{id}\"; otherwise merge the two entries into \"{other}\" and change every `cite`, `<!-- sources: -->` line and programme `sources` that names \"{id}\""),
                    );
                } else {
                    report.error(
                        line,
                        format!("source \"{id}\" has {why} as \"{other}\" (line {other_line}): the page is listed twice"),
                        format!("merge the two entries into \"{other}\" and change every `cite`, `<!-- sources: -->` line and programme `sources` that names \"{id}\"; an entry that cannot say which version of the page it is (undated, or a date that holds the other's) cannot be a version of its own"),
                    );
                }
            }
            if let Some(k) = url_key {
                by_url.entry(k).or_default().push(id);
            }
            by_name.entry(name_key).or_default().push(id);
        }
    }

    /// The first of `ids` (entries of the same page as `id`) that `id` clashes with: one that
    /// is not a linked version of the same page with a date that tells the two apart.
    fn first_clash<'b>(&self, ids: &[&'b str], id: &str) -> Option<&'b str> {
        let date = &self.sources[id].date;
        ids.iter().copied().find(|other| {
            let other_date = &self.sources[*other].date;
            let linked = self.first_version(id) == self.first_version(other);
            !linked || date == UNDATED || other_date == UNDATED || dates_overlap(date, other_date)
        })
    }
}

/// True when two source dates cannot be told apart: the same date, or one a year or month
/// that holds the other ("2024" holds "2024-06-12").
fn dates_overlap(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}-")) || b.starts_with(&format!("{a}-"))
}

/// Why `url` is not a valid absolute web (http or https) address, or None when it is one.
pub fn url_problem(url: &str) -> Option<String> {
    let lower = url.trim_start().to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Some("it does not start with https:// or http://".to_string());
    }
    if url.chars().any(char::is_whitespace) {
        return Some("it contains a space".to_string());
    }
    // The parser forgives `https:///path` (taking `path` for the host): an address as written
    // names its host straight after `//`.
    let after_scheme = &lower[lower.find("//").map_or(0, |i| i + 2)..];
    if after_scheme.is_empty() || after_scheme.starts_with(['/', '?', '#']) {
        return Some("it names no host after //".to_string());
    }
    match url::Url::parse(url) {
        Err(e) => Some(e.to_string()),
        Ok(u) => match u.host() {
            None => Some("it names no host".to_string()),
            Some(url::Host::Domain(d)) if !d.trim_end_matches('.').contains('.') => Some(format!(
                "its host \"{d}\" is not a public web address (it has no dot)"
            )),
            Some(_) => None,
        },
    }
}

pub const URL_FIX: &str = "write the page's full address as the publisher gives it, such as https://www.gov.uk/guidance/..., or remove `url` when the address is not known";

/// One page's address, for finding entries listed twice: host without `www.`, path without a
/// trailing `/`, and query; http and https are the same page.
fn page_key(url: &str) -> Option<String> {
    let u = url::Url::parse(url.trim()).ok()?;
    let host = u.host_str()?.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    let path = u.path().trim_end_matches('/');
    Some(match u.query() {
        Some(q) => format!("{host}{path}?{q}"),
        None => format!("{host}{path}"),
    })
}

/// A name compared without case, quote style or spacing.
fn same_words(s: &str) -> String {
    s.to_lowercase()
        .replace(['\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '"'], "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when a source's note says the page gives no date.
pub fn note_says_undated(note: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b(undated|not dated|no date|gives no date|date (is )?(not|never) (recorded|given|known|stated|shown))\b",
        )
        .expect("valid regex")
    })
    .is_match(note)
}

/// Reports a source that carries a date although its note says the page gives none.
fn check_undated_note(id: &str, date: &str, note: &str, line: usize, report: &mut Report) {
    if date != UNDATED && valid_date(date) && note_says_undated(note) {
        let name = if id.is_empty() {
            "this source".to_string()
        } else {
            format!("source \"{id}\"")
        };
        report.error(
            line,
            format!("{name} has the date \"{date}\", but its note says the page is undated"),
            UNDATED_FIX,
        );
    }
}

/// Warns about an undated source that has no note: nothing tells the next editor when the
/// page was written or how far to trust it, so it is the source most likely to be out of date.
fn check_undated_without_note(id: &str, date: &str, line: usize, report: &mut Report) {
    if date == UNDATED {
        let name = if id.is_empty() {
            "this source".to_string()
        } else {
            format!("source \"{id}\"")
        };
        report.warning(
            line,
            format!("{name} is undated and has no note saying when the page was written"),
            "look for a date on the page (published, updated, \"version of\") and write it as `date`; if it gives none, add a `note` with what is known of when it was written (\"mentions the 2025 cohort, so written in 2024\")",
        );
    }
}

pub const UNDATED_FIX: &str = "write date = \"undated\" and keep what is known about when the page was written in the note: a date the page does not give is shown to staff as if it did";

/// The entries of `sources.json` in file order, duplicates kept so they can be reported.
struct Entries(Vec<(String, JsonSource)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object mapping source ids to sources")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some((id, source)) = map.next_entry::<String, JsonSource>()? {
                    entries.push((id, source));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// A `[[sources]]` table as written, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub id: Option<Spanned<String>>,
    pub publisher: Option<Spanned<String>>,
    pub title: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub date: Option<Spanned<DateValue>>,
    pub note: Option<String>,
}

/// A date written either as a string or as a bare TOML date.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum DateValue {
    Text(String),
    Toml(toml::value::Datetime),
}

impl DateValue {
    pub fn as_text(&self) -> String {
        match self {
            DateValue::Text(s) => s.trim().to_string(),
            DateValue::Toml(d) => d.to_string(),
        }
    }
}

/// The date of a source that gives none: better said than guessed.
pub const UNDATED: &str = "undated";

/// Checks `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a real month and day, or `undated`.
pub fn valid_date(s: &str) -> bool {
    if s == UNDATED {
        return true;
    }
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| p.len() == len && p.bytes().all(|b| b.is_ascii_digit());
    if parts.is_empty() || parts.len() > 3 || !num(parts[0], 4) {
        return false;
    }
    let year: u32 = parts[0].parse().unwrap_or(0);
    if !(1900..=2100).contains(&year) {
        return false;
    }
    if parts.len() >= 2 {
        if !num(parts[1], 2) {
            return false;
        }
        let month: u32 = parts[1].parse().unwrap_or(0);
        if !(1..=12).contains(&month) {
            return false;
        }
        if parts.len() == 3 {
            if !num(parts[2], 2) {
                return false;
            }
            let day: u32 = parts[2].parse().unwrap_or(0);
            let leap =
                (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
            let days = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            if !(1..=days).contains(&day) {
                return false;
            }
        }
    }
    true
}

pub const DATE_FIX: &str = "write the date the source gives as \"YYYY\", \"YYYY-MM\" or \"YYYY-MM-DD\" (e.g. date = \"2024-09-30\"), or \"undated\" when it gives none";

/// Validates a date field; reports at its line (`toml_text` starts at file line `first_line`).
pub fn check_date(
    value: &Spanned<DateValue>,
    key: &str,
    toml_text: &str,
    first_line: usize,
    report: &mut Report,
) -> Option<String> {
    let text = value.get_ref().as_text();
    let line = first_line + line_of(toml_text, value.span().start) - 1;
    if valid_date(&text) {
        let kind = if key == "updated" {
            DateKind::Checked
        } else {
            DateKind::Source
        };
        report.date(line, &format!("`{key}`"), &text, kind);
        Some(text)
    } else {
        report.error(
            line,
            format!("`{key}` is not a valid date: \"{text}\""),
            DATE_FIX,
        );
        None
    }
}

/// Validates raw `[[sources]]` tables; each problem is reported at its line.
/// `table_line` gives the file line of the n-th `[[sources]]` header, for missing keys.
pub fn validate_sources(
    raw: Vec<RawSource>,
    toml_text: &str,
    first_line: usize,
    table_line: &dyn Fn(usize) -> usize,
    report: &mut Report,
) -> Vec<Source> {
    let mut out = Vec::new();
    let mut seen_ids: Vec<String> = Vec::new();
    for (i, raw) in raw.into_iter().enumerate() {
        let header = table_line(i);
        let line_at =
            |span: std::ops::Range<usize>| first_line + line_of(toml_text, span.start) - 1;
        let mut ok = true;
        let mut required = |field: &Option<Spanned<String>>, key: &str, example: &str| -> String {
            match field {
                Some(v) if !v.get_ref().trim().is_empty() => v.get_ref().trim().to_string(),
                Some(v) => {
                    report.error(
                        line_at(v.span()),
                        format!("source `{key}` is empty"),
                        format!("write {key} = \"{example}\""),
                    );
                    ok = false;
                    String::new()
                }
                None => {
                    report.error(
                        header,
                        format!("source {} has no `{key}`", i + 1),
                        format!("add {key} = \"{example}\" to this [[sources]] table"),
                    );
                    ok = false;
                    String::new()
                }
            }
        };
        let publisher = required(&raw.publisher, "publisher", "Department for Education");
        let title = required(&raw.title, "title", "the page's title");
        let date = match &raw.date {
            Some(d) => check_date(d, "date", toml_text, first_line, report),
            None => {
                report.error(
                    header,
                    format!("source {} has no `date`", i + 1),
                    format!("add the date the source gives: {DATE_FIX}"),
                );
                None
            }
        };
        let mut url = raw.url.as_ref().map(|u| u.get_ref().trim().to_string());
        if let (Some(u), Some(spanned)) = (&url, &raw.url) {
            if let Some(problem) = url_problem(u) {
                report.error(
                    line_at(spanned.span()),
                    format!("source url \"{u}\" is not a valid web address: {problem}"),
                    URL_FIX,
                );
                // The source is still known without its address, so its citations stand.
                url = None;
            }
        }
        if let Some(date) = &date {
            let id = raw.id.as_ref().map_or("", |i| i.get_ref().trim());
            let line = raw.date.as_ref().map_or(header, |d| line_at(d.span()));
            match &raw.note {
                Some(note) => check_undated_note(id, date, note, line, report),
                None => check_undated_without_note(id, date, line, report),
            }
        }
        let id = raw.id.as_ref().map(|v| v.get_ref().trim().to_string());
        if let (Some(id), Some(spanned)) = (&id, &raw.id) {
            if seen_ids.contains(id) {
                report.error(
                    line_at(spanned.span()),
                    format!("source id \"{id}\" is used twice"),
                    "give every source in this file its own id",
                );
                ok = false;
            }
            seen_ids.push(id.clone());
        }
        if let (true, Some(date)) = (ok, date) {
            out.push(Source {
                id,
                publisher,
                title,
                url,
                date,
                note: raw.note.clone(),
            });
        }
    }
    out
}

/// The file line of each `[[sources]]` header in a TOML text starting at `first_line`.
pub fn table_header_lines(toml_text: &str, first_line: usize, header: &str) -> Vec<usize> {
    toml_text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .map(|(i, _)| first_line + i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{note_says_undated, page_key, url_problem, valid_date};

    #[test]
    fn only_absolute_web_addresses_with_a_host_are_valid() {
        for ok in [
            "https://www.gov.uk/guidance/funding-for-national-professional-qualifications-npqs",
            "http://leadinglearning.co.uk/terms-conditions-npq/",
            "https://nasuwt.org.uk./advice/page.html",
            "https://hispteachingschoolhub.org/page/?pid=34&title=NPQ+Funding",
        ] {
            assert_eq!(url_problem(ok), None, "{ok}");
        }
        for bad in [
            "www.gov.uk/guidance",
            "gov.uk",
            "ftp://files.example.org/a",
            "https://",
            "https:///guidance/page",
            "https:/www.gov.uk/guidance",
            "https://www.gov uk/guidance",
            "https://intranet/page",
            "https://exa_mple..org:99999/",
        ] {
            assert!(url_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn the_same_page_has_one_key_whatever_the_scheme_www_or_trailing_slash() {
        assert_eq!(
            page_key("http://www.Example.org/a/"),
            page_key("https://example.org/a")
        );
        assert_ne!(
            page_key("https://example.org/a?pid=1"),
            page_key("https://example.org/a?pid=2")
        );
    }

    #[test]
    fn notes_that_say_a_page_is_undated_are_recognised() {
        for says in [
            "undated page; written in 2023",
            "the capture gives no date",
            "exact date not recorded",
            "Undated FAQ",
        ] {
            assert!(note_says_undated(says), "{says}");
        }
        for not in [
            "version of 12 June 2024",
            "updated 25 October 2023",
            "dated in the footer",
        ] {
            assert!(!note_says_undated(not), "{not}");
        }
    }

    #[test]
    fn dates_with_real_months_and_days_are_valid() {
        for ok in ["2024", "2024-09", "2024-02-29", "2023-12-31"] {
            assert!(valid_date(ok), "{ok}");
        }
        for bad in [
            "",
            "24",
            "2024-13",
            "2023-02-29",
            "2024-9-1",
            "30 Sep 2024",
            "2024-09-31",
            "abcd",
        ] {
            assert!(!valid_date(bad), "{bad}");
        }
    }
}
