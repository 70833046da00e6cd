//! Property tests over everything that reads text from people: the knowledge parsers (bytes,
//! front matter, sections, `Q:` / `A:` files, the shared TOML and JSON files), question
//! cleaning and snippet cutting. None may panic, and each keeps its promises on any input.
//!
//! `NPQ_FUZZ_CASES` sets the cases per property (256 by default, for CI); a long run:
//! `NPQ_FUZZ_CASES=200000 cargo test --release --test all fuzz::`.

use std::path::Path;

use npq_bot::analysis::QuestionType;
use npq_bot::knowledge::diagnostic::Report;
use npq_bot::knowledge::{self, catalogue, document, glossary, wording, Bibliography, Knowledge};
use npq_bot::query::{self, Expander};
use npq_bot::retrieve::lexical::Weighted;
use npq_bot::search::PassageStems;
use npq_bot::snippet;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("NPQ_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        // Failures are reported with their input; no files are written into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Words of several scripts and shapes, and the marks that mean something to the parsers.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z]{1,10}",
        1 => "[0-9]{1,6}",
        1 => Just("NPQH".to_string()),
        1 => Just("£1,885".to_string()),
        1 => Just("café".to_string()),
        1 => Just("مرحبا".to_string()),
        1 => Just("日本語".to_string()),
        1 => Just("👩‍🏫".to_string()),
        1 => Just("e.g.".to_string()),
        1 => Just("\u{200b}".to_string()),
        1 => Just("\u{202e}".to_string()),
        1 => "[?.!:;,*_`#<>|~\\[\\]()=\"'+-]{1,3}",
        1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn sentence() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 0..14).prop_map(|w| w.join(" "))
}

/// Lines a knowledge file is made of, in any order.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => sentence(),
        2 => Just(String::new()),
        2 => sentence().prop_map(|s| format!("## {s}")),
        1 => sentence().prop_map(|s| format!("# {s}")),
        1 => Just("##".to_string()),
        3 => sentence().prop_map(|s| format!("Q: {s}?")),
        3 => sentence().prop_map(|s| format!("A: {s}")),
        1 => Just("Q:".to_string()),
        1 => Just("A:".to_string()),
        1 => "[a-z, ]{0,12}".prop_map(|ids| format!("<!-- sources: {ids} -->")),
        1 => Just("```".to_string()),
        1 => Just("+++".to_string()),
        1 => sentence().prop_map(|s| format!("- {s}")),
        1 => sentence().prop_map(|s| format!("| {s} | {s} |")),
        1 => Just("|---|---|".to_string()),
        1 => front_matter_line(),
        1 => any::<String>(),
    ]
}

/// Front matter keys with good, bad and odd values.
fn front_matter_line() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "\"[a-zA-Z0-9 ,.-]{0,20}\"",
        Just("\"2026-11-22\"".to_string()),
        Just("\"2025-02-30\"".to_string()),
        Just("\"undated\"".to_string()),
        Just("2024-09-30".to_string()),
        Just("[\"a\", \"b\"]".to_string()),
        Just("[]".to_string()),
        Just("42".to_string()),
        Just("\"unclosed".to_string()),
        "[a-z]{1,6}",
    ];
    let key = prop_oneof![
        Just("title"),
        Just("updated"),
        Just("cite"),
        Just("tags"),
        Just("programmes"),
        Just("id"),
        Just("publisher"),
        Just("date"),
        Just("url"),
        Just("note"),
        Just("colour"),
    ];
    prop_oneof![
        4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => Just("[[sources]]".to_string()),
        1 => Just("[sources]".to_string()),
        1 => Just("= =".to_string()),
    ]
}

/// A file with optional front matter (closed or not) and a body of any lines.
fn knowledge_file() -> impl Strategy<Value = String> {
    let front = prop::collection::vec(front_matter_line(), 0..10);
    let body = prop::collection::vec(line(), 0..40);
    (0..3u8, front, body).prop_map(|(shape, front, body)| {
        let body = body.join("\n");
        match shape {
            0 => body,
            1 => format!("+++\n{}\n+++\n{body}", front.join("\n")),
            _ => format!("+++\n{}\n{body}", front.join("\n")),
        }
    })
}

/// A file written as questions and answers, answers of several lines and paragraphs.
fn question_and_answer_file() -> impl Strategy<Value = String> {
    let entry = (
        sentence(),
        prop::collection::vec(prop_oneof![3 => sentence(), 1 => Just(String::new())], 0..5),
    )
        .prop_map(|(q, answer)| format!("Q: {q}\nA: {}", answer.join("\n")));
    (
        prop::option::of(sentence()),
        prop::collection::vec(entry, 1..12),
    )
        .prop_map(|(title, entries)| {
            let title = title.map(|t| format!("# {t}\n\n")).unwrap_or_default();
            format!("{title}{}\n", entries.join("\n\n"))
        })
}

fn lines_in(text: &str) -> usize {
    text.lines().count().max(1)
}

/// Parses `text` as the file `name` and checks what any parse must hold.
fn check_document(name: &str, text: &str) -> Option<document::Document> {
    let path = Path::new(name);
    let mut report = Report::new(path);
    let (doc, _) = document::parse(path, text, &Bibliography::default(), &mut report);
    let lines = lines_in(text);
    for d in &report.diagnostics {
        assert!(
            d.line <= lines,
            "{d} is past the file's {lines} lines:\n{text}"
        );
        assert!(!d.message.is_empty() && d.path == path, "{d}");
        if d.is_error() {
            assert!(!d.fix.is_empty(), "an error without a fix: {d}");
        }
    }
    for seen in &report.dates {
        assert!((1..=lines).contains(&seen.line), "{seen:?}\n{text}");
    }
    let doc = doc?;
    assert!(!doc.title.is_empty(), "{text:?}");
    assert!(!doc.sections.is_empty());
    for s in &doc.sections {
        assert!(!s.heading.is_empty(), "{text:?}");
        assert!(
            (1..=lines).contains(&s.line),
            "section at {} of {lines}",
            s.line
        );
        assert!(s.blocks.iter().all(|b| !b.trim().is_empty()), "{s:?}");
    }
    let knowledge = Knowledge {
        documents: vec![doc.clone()],
        ..Knowledge::default()
    };
    for p in knowledge.passages() {
        assert!(!p.text.is_empty());
        assert!(
            p.text.len() <= knowledge::MAX_PASSAGE_CHARS,
            "{}",
            p.text.len()
        );
        assert!(!p.citations.is_empty());
    }
    Some(doc)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_decode_or_name_the_line_of_the_first_bad_byte(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut report = Report::new(Path::new("a.md"));
        match knowledge::decode(bytes.clone(), &mut report) {
            Some(text) => {
                check_document("a.md", &text);
                check_document("a.txt", &text);
            }
            None => {
                let d = &report.diagnostics[0];
                let lines = bytes.split(|&b| b == b'\n').count();
                prop_assert!(d.is_error() && (1..=lines).contains(&d.line), "{d}");
            }
        }
    }

    #[test]
    fn any_text_parses_without_panicking(text in any::<String>()) {
        check_document("a.md", &text);
        check_document("a.txt", &text);
    }

    #[test]
    fn knowledge_shaped_files_keep_every_line_inside_the_file(text in knowledge_file()) {
        check_document("guide.md", &text);
        check_document("guide.txt", &text);
    }

    #[test]
    fn question_and_answer_files_make_one_section_per_answered_question(
        text in question_and_answer_file(),
    ) {
        for name in ["faq.md", "faq.txt"] {
            let path = Path::new(name);
            let mut report = Report::new(path);
            let (doc, _) = document::parse(path, &text, &Bibliography::default(), &mut report);
            let lines = lines_in(&text);
            prop_assert!(report.diagnostics.iter().all(|d| d.line <= lines));
            let Some(doc) = doc else { continue };
            for s in &doc.sections {
                // Every section but a preamble is headed by the text of a `Q:` line.
                let asked = text.lines().any(|l| l.trim().strip_prefix("Q:").map(str::trim) == Some(s.heading.as_str()));
                prop_assert!(asked || s.heading == doc.title, "{:?} in\n{text}", s.heading);
                for b in &s.blocks {
                    prop_assert!(!b.starts_with("A:"), "{b:?}");
                }
            }
        }
    }

    #[test]
    fn shared_files_report_lines_inside_the_file(text in prop_oneof![
        any::<String>(),
        prop::collection::vec(front_matter_line(), 0..20).prop_map(|l| l.join("\n")),
        prop::collection::vec(prop_oneof![
            Just("[[programme]]".to_string()),
            Just("[[acronym]]".to_string()),
            Just("[[synonyms]]".to_string()),
            Just("[[kinds]]".to_string()),
            Just("[commands]".to_string()),
            Just("[footer]".to_string()),
            Just("words = [\"a\"]".to_string()),
            Just("kind = \"weekly\"".to_string()),
            "(code|name|term|means|for_whom|duration|covers|funding|funding_as_of|message|id|heading|card|admin|more) = \"[A-Za-z0-9 {}-]{0,12}\"",
            front_matter_line(),
        ], 0..30).prop_map(|l| l.join("\n")),
        "\\{\"[a-z]{1,4}\": \\{\"publisher\": \"[a-z]{0,3}\", \"title\": \"t\", \"date\": \"[0-9u-]{0,10}\"(, \"url\": \"[a-z:/.]{0,12}\")?\\}\\}",
    ]) {
        let lines = lines_in(&text);
        let path = Path::new("shared");
        let mut report = Report::new(path);
        let bibliography = Bibliography::parse(&text, &mut report);
        catalogue::parse(&text, &bibliography, &mut report);
        glossary::parse(&text, &mut report);
        wording::parse(&text, &mut report);
        for d in &report.diagnostics {
            prop_assert!(d.line <= lines, "{d} past {lines} lines:\n{text}");
        }
    }

    #[test]
    fn a_cleaned_question_has_no_control_or_format_characters(input in prop_oneof![
        any::<String>(),
        prop::collection::vec(word(), 0..30).prop_map(|w| w.join(" ")),
        "(<@!?[0-9]{1,5}>|<#[0-9]{1,3}>|<a?:[a-z]{1,4}:[0-9]{1,3}>|https?://[a-z./]{0,10}|```|\\*\\*|[\u{0}-\u{1f}\u{7f}-\u{9f}\u{200b}-\u{200f}\u{202a}-\u{202e}\u{2060}-\u{2064}\u{feff}]| |[a-z]{1,6}){0,30}",
    ]) {
        let cleaned = query::clean(&input);
        prop_assert!(cleaned.chars().count() <= query::MAX_QUESTION_CHARS);
        for c in cleaned.chars() {
            prop_assert!(!c.is_control(), "{c:?} in {cleaned:?}");
            prop_assert!(
                !matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}'),
                "{c:?} in {cleaned:?}"
            );
        }
        prop_assert_eq!(cleaned.trim(), cleaned.as_str());
        prop_assert!(!cleaned.contains("  "), "{cleaned:?}");
        // Cleaning is done once: what it leaves needs no more of it.
        prop_assert_eq!(query::clean(&cleaned), cleaned.clone());
        query::parts(&cleaned);
    }

    #[test]
    fn a_snippet_fits_its_length_and_is_made_of_the_passage(
        paragraphs in prop::collection::vec(sentence(), 1..12),
        question in prop_oneof![sentence(), any::<String>()],
        max_chars in 1usize..500,
        meant in prop::option::of(0usize..15),
    ) {
        let text = paragraphs.join("\n");
        let passage = knowledge::Passage {
            doc_id: "d".to_string(),
            title: "T".to_string(),
            section: "S".to_string(),
            text: text.clone(),
            keywords: String::new(),
            asked: Vec::new(),
            citations: vec![knowledge::Source::local("T", "2026-01-01")],
        };
        let stems = PassageStems::of(&passage);
        let concepts: Vec<Weighted> = Expander::default()
            .concepts(&question)
            .into_iter()
            .map(|concept| Weighted { concept, weight: 1.0, unknown: false })
            .collect();
        let qtypes = QuestionType::detect(&question);
        let (shown, highlights) =
            snippet::snippet(&text, &stems, &concepts, &qtypes, meant, max_chars);
        prop_assert!(shown.chars().count() <= max_chars, "{} > {max_chars}: {shown:?}", shown.chars().count());
        for token in shown.split_whitespace().filter(|t| *t != "\u{2026}") {
            prop_assert!(
                text.contains(token) || text.contains(token.trim_end_matches('\u{2026}')),
                "{token:?} is not in the passage {text:?}"
            );
        }
        for r in &highlights {
            prop_assert!(r.start < r.end && r.end <= shown.len());
            prop_assert!(shown.is_char_boundary(r.start) && shown.is_char_boundary(r.end));
        }
        let cut = snippet::cut_at_word(&text, max_chars);
        prop_assert!(cut.chars().count() <= max_chars.max(1), "{cut:?}");
    }
}
