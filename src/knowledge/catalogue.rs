//! `programmes.toml`: the catalogue of programmes, one card each, with codes and aliases
//! that also feed question expansion.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::diagnostic::{line_of, toml_error_line, Report};
use super::source::{
    check_date, table_header_lines, validate_sources, Bibliography, DateValue, RawSource, Source,
};

/// A kind of programme, declared by a `[[kinds]]` table: the programme list shows one group
/// per kind, in the order they are declared, under its `heading`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kind {
    /// One word, as programmes name it in `kind`; also shown as the kind on a card.
    pub id: String,
    pub heading: String,
    /// What a card's first sentence calls a programme of this kind: "The X (X) is {card}."
    pub card: String,
}

/// `programmes.toml`: the declared kinds, in order, and the programme cards.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub kinds: Vec<Kind>,
    pub programmes: Vec<Programme>,
}

/// One programme card.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Programme {
    pub code: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// `None` when `programmes.toml` declares no kinds.
    pub kind: Option<Kind>,
    pub for_whom: String,
    pub duration: String,
    pub covers: String,
    pub funding: String,
    pub funding_as_of: String,
    pub sources: Vec<Source>,
    /// Other ways people ask about the programme, matched by meaning like the card's heading
    /// and never shown (as a section's `<!-- asked: -->` line).
    pub asked: Vec<String>,
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
        let what = self
            .kind
            .as_ref()
            .map_or("a programme", |k| k.card.as_str());
        let mut lines = vec![format!("The {} ({}) is {what}.", self.name, self.code)];
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
    kinds: Vec<RawKind>,
    #[serde(default)]
    programme: Vec<RawProgramme>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[kinds]] table (id, heading, card)"
)]
struct RawKind {
    id: Option<Spanned<String>>,
    heading: Option<Spanned<String>>,
    card: Option<Spanned<String>>,
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
    #[serde(default)]
    asked: Vec<String>,
}

/// The keys of the tables of `programmes.toml`, for the fix of an unknown key.
const KEYS_FIX: &str = "a [[kinds]] table has id, heading and card; a [[programme]] has code, name, aliases, kind, for_whom, duration, covers, funding, funding_as_of, sources and asked";

/// Parses `programmes.toml`; every problem is reported with its line.
pub fn parse(text: &str, bibliography: &Bibliography, report: &mut Report) -> Catalogue {
    let raw: RawCatalogue = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            let (line, message) = toml_error_line(text, &err);
            let fix = if message.contains("unknown field") {
                KEYS_FIX
            } else if message.contains("[[kinds]]") {
                "declare each kind in its own [[kinds]] table: id = \"...\", heading = \"...\", card = \"...\""
            } else {
                "correct the TOML syntax: strings in double quotes, lists in [ ], one key = value per line"
            };
            report.error(line, message, fix);
            return Catalogue::default();
        }
    };
    let source_headers = table_header_lines(text, 1, "[[sources]]");
    let header_of = |i: usize| source_headers.get(i).copied().unwrap_or(1);
    let sources = validate_sources(raw.sources, text, 1, &header_of, report);
    let (kinds, broken_kinds) = parse_kinds(raw.kinds, text, report);
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
        let code = need(p.code.as_ref().map(|c| c.get_ref().clone()), "code", "ABC");
        let name = need(p.name, "name", "the programme's full name");
        let for_whom = need(p.for_whom, "for_whom", "who the programme is for");
        let duration = need(p.duration, "duration", "how long it takes");
        let covers = need(p.covers, "covers", "what it covers");
        let funding = p.funding.unwrap_or_default().trim().to_string();
        let kind = match (&p.kind, kinds.is_empty()) {
            (Some(k), _) => {
                let wanted = k.get_ref().trim();
                let found = kinds.iter().find(|d| d.id.eq_ignore_ascii_case(wanted));
                let broken = broken_kinds.iter().any(|b| b.eq_ignore_ascii_case(wanted));
                // A kind whose table is reported already is not reported again here.
                if found.is_none() && !broken {
                    report.error(
                        at(k.span()),
                        format!("unknown programme kind \"{}\"", k.get_ref()),
                        unknown_kind_fix(&kinds),
                    );
                }
                found.cloned()
            }
            (None, false) => {
                report.error(
                    header,
                    format!("programme {} has no `kind`", i + 1),
                    format!("add kind = {}", kind_choices(&kinds)),
                );
                None
            }
            // Without declared kinds every programme is listed under one heading.
            (None, true) => None,
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
                    "write the code as one word, e.g. ABC; put other names in `aliases`",
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
        let kind_ok = kind.is_some() || kinds.is_empty() && broken_kinds.is_empty();
        if ok && kind_ok {
            programmes.push(Programme {
                code,
                name,
                aliases: super::trimmed(p.aliases),
                kind,
                for_whom,
                duration,
                covers,
                funding,
                funding_as_of,
                sources: cited,
                asked: super::trimmed(p.asked),
            });
        }
    }
    Catalogue { kinds, programmes }
}

/// The declared kinds, in order, and the ids of the tables that were reported and left out
/// (without an id or a heading, say), so that programmes of those kinds are not reported too.
fn parse_kinds(raw: Vec<RawKind>, text: &str, report: &mut Report) -> (Vec<Kind>, Vec<String>) {
    let headers = table_header_lines(text, 1, "[[kinds]]");
    let mut kinds: Vec<Kind> = Vec::new();
    let mut broken: Vec<String> = Vec::new();
    for (i, k) in raw.into_iter().enumerate() {
        let header = headers.get(i).copied().unwrap_or(1);
        let line = |s: &Option<Spanned<String>>| {
            s.as_ref().map_or(header, |s| line_of(text, s.span().start))
        };
        let value = |s: &Option<Spanned<String>>| {
            s.as_ref()
                .map(|s| s.get_ref().trim().to_string())
                .unwrap_or_default()
        };
        let (id, heading, card) = (value(&k.id), value(&k.heading), value(&k.card));
        if id.is_empty() {
            report.error(
                line(&k.id),
                format!("kind {} has no `id`", i + 1),
                "add id = \"a-word\", the word programmes give as their `kind`",
            );
            continue;
        }
        if id.chars().any(char::is_whitespace) {
            report.error(
                line(&k.id),
                format!("the kind id \"{id}\" contains spaces"),
                "write the id as one word, such as \"evening\"; the heading can have spaces",
            );
            broken.push(id);
            continue;
        }
        let mut declared = kinds.iter().map(|d| &d.id).chain(&broken);
        if declared.any(|d| d.eq_ignore_ascii_case(&id)) {
            report.error(
                line(&k.id),
                format!("the kind \"{id}\" is declared twice"),
                "give every [[kinds]] table its own id",
            );
            continue;
        }
        if heading.is_empty() {
            report.error(
                line(&k.heading),
                format!("the kind \"{id}\" has no `heading`"),
                "add heading = \"...\", the heading of its group in the programme list",
            );
            broken.push(id);
            continue;
        }
        // Discord's limit on an embed field's name, where the heading is shown.
        if heading.chars().count() > 256 {
            report.error(
                line(&k.heading),
                format!("the heading of the kind \"{id}\" is longer than 256 characters"),
                "shorten the heading",
            );
            broken.push(id);
            continue;
        }
        if k.card.is_some() && card.is_empty() {
            report.error(
                line(&k.card),
                format!("the kind \"{id}\" has an empty `card`"),
                format!("write what a card calls such a programme, such as card = \"a {id} programme\", or remove `card`"),
            );
            broken.push(id);
            continue;
        }
        let card = if card.is_empty() {
            format!("a {id} programme")
        } else {
            card
        };
        kinds.push(Kind { id, heading, card });
    }
    (kinds, broken)
}

/// `"a", "b" or "c"`.
fn kind_choices(kinds: &[Kind]) -> String {
    let quoted: Vec<String> = kinds.iter().map(|k| format!("\"{}\"", k.id)).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn unknown_kind_fix(kinds: &[Kind]) -> String {
    if kinds.is_empty() {
        format!("{PROGRAMMES} declares no kinds: add a [[kinds]] table (id, heading, card) for it, or remove `kind` to list the programme under the one common heading")
    } else {
        format!(
            "use kind = {}, the ids of the [[kinds]] tables, or declare the kind in a [[kinds]] table",
            kind_choices(kinds)
        )
    }
}

const PROGRAMMES: &str = super::PROGRAMMES_FILE;

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

[[kinds]]
id = "leadership"
heading = "Leadership programmes"

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

    fn parsed(text: &str) -> (Catalogue, Vec<String>) {
        let path = Path::new("programmes.toml");
        let mut report = Report::new(path);
        let catalogue = parse(text, &Bibliography::default(), &mut report);
        let messages = report.diagnostics.iter().map(|d| d.to_string()).collect();
        (catalogue, messages)
    }

    #[test]
    fn a_good_catalogue_parses() {
        let (catalogue, messages) = parsed(GOOD);
        assert!(messages.is_empty(), "{messages:?}");
        let programmes = &catalogue.programmes;
        assert_eq!(programmes.len(), 1);
        assert!(programmes[0].is_named("Headship"));
        assert_eq!(programmes[0].sources[0].publisher, "P");
        // Without `card`, a card calls it "a <id> programme".
        assert_eq!(
            programmes[0].card_text()[0],
            "The NPQ for Headship (NPQH) is a leadership programme."
        );
        assert_eq!(catalogue.kinds[0].heading, "Leadership programmes");
    }

    #[test]
    fn a_programme_may_list_other_wordings_of_questions_about_it() {
        let (catalogue, messages) = parsed(&GOOD.replace(
            "sources = [\"s\"]\n",
            "sources = [\"s\"]\nasked = [\"What is the NPQH?\", \" \", \" Headship course? \"]\n",
        ));
        assert!(messages.is_empty(), "{messages:?}");
        assert_eq!(
            catalogue.programmes[0].asked,
            vec!["What is the NPQH?", "Headship course?"]
        );
        assert!(parsed(GOOD).0.programmes[0].asked.is_empty());
    }

    #[test]
    fn kinds_keep_their_declared_order_and_card_phrase() {
        let text = GOOD.replace(
            "[[kinds]]\nid = \"leadership\"\nheading = \"Leadership programmes\"\n",
            "[[kinds]]\nid = \"overnight\"\nheading = \"Trips with a night away\"\ncard = \"an overnight trip\"\n\n[[kinds]]\nid = \"Leadership\"\nheading = \"Leading\"\n",
        );
        let (catalogue, messages) = parsed(&text);
        assert!(messages.is_empty(), "{messages:?}");
        let ids: Vec<&str> = catalogue.kinds.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids, ["overnight", "Leadership"]);
        // Kinds are matched without regard to case.
        let kind = catalogue.programmes[0].kind.as_ref().expect("a kind");
        assert_eq!(kind.id, "Leadership");
        let text = text.replace("kind = \"leadership\"", "kind = \"overnight\"");
        let (catalogue, _) = parsed(&text);
        assert_eq!(
            catalogue.programmes[0].card_text()[0],
            "The NPQ for Headship (NPQH) is an overnight trip."
        );
    }

    #[test]
    fn an_unknown_kind_is_reported_at_its_line_with_the_declared_ids() {
        let (_, messages) = parsed(&GOOD.replace("kind = \"leadership\"", "kind = \"senior\""));
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].starts_with("programmes.toml:16: error: unknown programme kind \"senior\""),
            "{messages:?}"
        );
        assert!(
            messages[0].contains("use kind = \"leadership\""),
            "{messages:?}"
        );
    }

    #[test]
    fn without_declared_kinds_programmes_need_no_kind_and_naming_one_is_an_error() {
        let no_kinds = GOOD.replace(
            "[[kinds]]\nid = \"leadership\"\nheading = \"Leadership programmes\"\n",
            "",
        );
        let (catalogue, messages) = parsed(&no_kinds.replace("kind = \"leadership\"\n", ""));
        assert!(messages.is_empty(), "{messages:?}");
        assert!(catalogue.kinds.is_empty());
        assert_eq!(catalogue.programmes[0].kind, None);
        assert_eq!(
            catalogue.programmes[0].card_text()[0],
            "The NPQ for Headship (NPQH) is a programme."
        );
        let (catalogue, messages) = parsed(&no_kinds);
        assert!(catalogue.programmes.is_empty());
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].contains("unknown programme kind \"leadership\"")
                && messages[0].contains("declares no kinds: add a [[kinds]] table"),
            "{messages:?}"
        );
    }

    #[test]
    fn a_missing_kind_is_reported_when_kinds_are_declared() {
        let (_, messages) = parsed(&GOOD.replace("kind = \"leadership\"\n", ""));
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].starts_with("programmes.toml:12: error: programme 1 has no `kind`")
                && messages[0].contains("add kind = \"leadership\""),
            "{messages:?}"
        );
    }

    #[test]
    fn malformed_kinds_are_reported_once_each() {
        let text = GOOD.replace(
            "heading = \"Leadership programmes\"\n",
            "\n[[kinds]]\nid = \"leadership\"\nheading = \"Again\"\n\n[[kinds]]\nheading = \"No id\"\n\n[[kinds]]\nid = \"two words\"\nheading = \"Spaced\"\n",
        );
        let (catalogue, messages) = parsed(&text);
        // The first `leadership` has no heading; the second is then a second declaration.
        assert!(
            messages[0]
                .starts_with("programmes.toml:8: error: the kind \"leadership\" has no `heading`"),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with(
                "programmes.toml:12: error: the kind \"leadership\" is declared twice"
            ),
            "{messages:?}"
        );
        assert!(
            messages[2].starts_with("programmes.toml:15: error: kind 3 has no `id`"),
            "{messages:?}"
        );
        assert!(
            messages[3].starts_with(
                "programmes.toml:19: error: the kind id \"two words\" contains spaces"
            ),
            "{messages:?}"
        );
        // The programme of the broken kind is not reported again, nor kept.
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(catalogue.programmes.is_empty());
    }

    #[test]
    fn an_unknown_key_in_a_kind_names_the_keys() {
        let (_, messages) =
            parsed(&GOOD.replace("heading = \"Leadership programmes\"", "title = \"x\""));
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].starts_with("programmes.toml:10: error: unknown field `title`")
                && messages[0].contains("a [[kinds]] table has id, heading and card"),
            "{messages:?}"
        );
    }
}
