//! Whatever a user types, the engine answers or politely refuses: it never panics or fails,
//! and every answer is well-formed (short whole-word snippets, a source, valid highlights).

use std::path::Path;
use std::sync::OnceLock;

use npq_bot::{render, Answer, Engine, Settings};
use proptest::prelude::*;

/// Snippets hold at most `Settings::snippet_chars` characters; a little slack for the `…`.
const SNIPPET_MARGIN: usize = 10;

struct Bundled {
    engine: Engine,
    /// The same knowledge with snippets short enough that most must be cut.
    short_snippets: Engine,
    /// Every passage's text with paragraphs joined by spaces, as snippets join sentences.
    texts: Vec<String>,
}

fn bundled() -> &'static Bundled {
    static BUNDLED: OnceLock<Bundled> = OnceLock::new();
    BUNDLED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        let knowledge = npq_bot::load_knowledge(&dir).expect("the bundled knowledge loads");
        let texts = knowledge
            .passages()
            .iter()
            .map(|p| p.text.replace('\n', " "))
            .collect();
        let engine =
            npq_bot::load_engine(&dir, Settings::default()).expect("the bundled knowledge indexes");
        let short = Settings {
            snippet_chars: 60,
            ..Settings::default()
        };
        let short_snippets =
            Engine::new(knowledge.clone(), short).expect("the bundled knowledge indexes");
        Bundled {
            engine,
            short_snippets,
            texts,
        }
    })
}

/// Asks `question` and checks the answer is well-formed.
fn ask(question: &str) -> Answer {
    ask_engine(&bundled().engine, question)
}

fn ask_engine(engine: &Engine, question: &str) -> Answer {
    let answer = engine.answer(question);
    assert_well_formed(question, &answer, &engine.settings);
    answer
}

fn assert_well_formed(question: &str, answer: &Answer, settings: &Settings) {
    let shown = format!("{question:?} -> {answer:#?}");
    assert_eq!(answer.question, question, "{shown}");
    assert!(answer.coverage.is_finite(), "{shown}");
    if answer.answered {
        assert!(
            (1..=settings.limit).contains(&answer.results.len()),
            "an answer has 1 to {} results: {shown}",
            settings.limit
        );
        assert!(answer.refusal.is_none(), "{shown}");
        for r in &answer.results {
            assert!(!r.snippet.trim().is_empty(), "empty snippet: {shown}");
            assert!(
                r.snippet.chars().count() <= settings.snippet_chars + SNIPPET_MARGIN,
                "snippet too long: {shown}"
            );
            assert!(
                !r.source.publisher.trim().is_empty(),
                "no publisher: {shown}"
            );
            assert_eq!(r.sources.first(), Some(&r.source), "{shown}");
            assert!(r.score.is_finite(), "{shown}");
            assert!(!r.title.trim().is_empty(), "{shown}");
            assert_whole_words(&r.snippet, &shown);
            assert_highlights_valid(&r.snippet, &r.highlights, &shown);
        }
    } else {
        assert!(
            answer.results.is_empty(),
            "a refusal has no results: {shown}"
        );
        let refusal = answer.refusal.as_ref().expect("a refusal text");
        assert!(!refusal.message.trim().is_empty(), "{shown}");
    }
    // Rendering must not panic either.
    assert!(!render::text(answer).is_empty());
    assert!(!render::json(answer).is_empty());
}

/// A snippet cut short ends in `…` right after a whole word of its passage.
fn assert_whole_words(snippet: &str, shown: &str) {
    let Some(head) = snippet.strip_suffix('\u{2026}') else {
        return;
    };
    let last_piece = head.rsplit(" \u{2026} ").next().unwrap_or(head);
    let ends_a_word = bundled().texts.iter().any(|text| {
        text.match_indices(last_piece).any(|(at, piece)| {
            !text[at + piece.len()..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric)
        })
    });
    assert!(
        ends_a_word,
        "snippet cut mid-word (or not from a passage): {last_piece:?} in {shown}"
    );
}

fn assert_highlights_valid(snippet: &str, highlights: &[std::ops::Range<usize>], shown: &str) {
    let mut previous_end = 0;
    for h in highlights {
        assert!(
            h.start < h.end && h.end <= snippet.len(),
            "highlight {h:?} out of the snippet: {shown}"
        );
        assert!(
            snippet.is_char_boundary(h.start) && snippet.is_char_boundary(h.end),
            "highlight {h:?} splits a character: {shown}"
        );
        assert!(
            h.start >= previous_end,
            "highlights overlap or are out of order: {shown}"
        );
        previous_end = h.end;
    }
}

fn assert_refused(question: &str) {
    let answer = ask(question);
    assert!(
        !answer.answered,
        "{question:?} should be refused, got {answer:#?}"
    );
}

#[test]
fn real_questions_are_answered_and_well_formed() {
    for q in [
        "How long does the NPQH take?",
        "Who pays for the NPQ for SENCOs?",
        "what is npqlbc",
    ] {
        let answer = ask(q);
        assert!(answer.answered, "{q:?} should be answered");
        assert!(
            answer.results.iter().any(|r| !r.highlights.is_empty()),
            "{q:?} should highlight its words: {answer:#?}"
        );
    }
}

#[test]
fn short_snippets_are_cut_between_words() {
    let engine = &bundled().short_snippets;
    let mut cut = 0;
    for q in [
        "How long does the NPQH take?",
        "Who pays for the NPQ for SENCOs?",
        "what is npqlbc",
        "funding NPQH cost",
        "\u{202e}NPQH\0 funding 😀",
    ] {
        for r in ask_engine(engine, q).results {
            cut += usize::from(r.snippet.ends_with('\u{2026}'));
        }
    }
    assert!(cut > 0, "no snippet was cut, so the cut was not tested");
}

#[test]
fn query_syntax_look_alikes_are_read_as_plain_text() {
    for q in [
        "title:npqh",
        "NPQH AND funding OR NOT pay",
        "\"unclosed quote",
        "(((",
        ")))",
        "npq*",
        "npqh~2",
        "+npqh -funding",
        "[1 TO 5]",
        "{1 TO 5}",
        "\\",
        "\\\\",
        "^2",
        "npqh^10",
        "{}",
        "funding:>100",
        "\"npqh\"~3",
        "*:*",
        "title:\"",
        "?",
        "/regex.*/",
        "' OR 1=1 --",
        "%s%s%n",
        "${jndi:ldap://x}",
    ] {
        ask(q);
    }
}

#[test]
fn very_long_input_is_answered_or_refused() {
    let words = "How long does the NPQH take and who pays the funding? ".repeat(2_000);
    ask(&words[..100_000]);
    ask(&"x".repeat(100_000));
    ask(&"é".repeat(50_000));
    ask(&"NPQH".repeat(25_000));
    ask(&"😀".repeat(25_000));
    ask(&" ".repeat(100_000));
}

#[test]
fn emoji_only_is_refused() {
    for q in ["😀", "😀🎉🔥", "👩‍👩‍👧‍👦", "🇬🇧🏴󠁧󠁢󠁥󠁮󠁧󠁿", "❤️❤️❤️"]
    {
        assert_refused(q);
    }
}

#[test]
fn right_to_left_text_is_answered_or_refused() {
    for q in [
        "كم من الوقت يستغرق المؤهل؟",
        "כמה זמן לוקח התואר?",
        "NPQH كم تكلفة",
        "מימון NPQH funding",
        "اردو میں سوال",
    ] {
        ask(q);
    }
}

#[test]
fn control_characters_and_nuls_are_harmless() {
    for q in [
        "\0",
        "\0\0\0NPQH\0funding\0",
        "how long\u{7}\u{8}\u{1b}[31m is the NPQH",
        "\r\n\r\n",
        "\u{1}\u{2}\u{3}\u{4}\u{5}",
        "\u{7f}\u{80}\u{9f}",
        "NPQH\tfunding\u{b}\u{c}",
        "\u{85}\u{2028}\u{2029}",
    ] {
        ask(q);
    }
}

#[test]
fn zero_width_and_bidi_overrides_are_harmless() {
    for q in [
        "N\u{200b}P\u{200b}Q\u{200b}H",
        "\u{202e}HQPN gnidnuf",
        "\u{2066}funding\u{2069} for \u{2067}NPQH\u{2069}",
        "\u{feff}how long is the NPQH",
        "\u{200d}\u{200c}\u{200e}\u{200f}",
        "fund\u{ad}ing",
        "\u{61c}\u{202a}\u{202b}\u{202c}\u{202d}",
    ] {
        ask(q);
    }
}

#[test]
fn discord_mentions_are_harmless() {
    for q in [
        "<@123456789012345678> how long is the NPQH?",
        "<@!123456789012345678> <@&987654321> funding",
        "@everyone",
        "@here @everyone NPQH",
        "<#123456789>",
        "<:npq:123456789> <a:dance:42>",
        "<t:1700000000:R>",
        "</ask:123456789>",
        "<@>",
        "<@999999999999999999999999999999>",
    ] {
        ask(q);
    }
    assert_refused("@everyone");
}

#[test]
fn markdown_and_code_fences_are_harmless() {
    for q in [
        "```rust\nfn main() { panic!() }\n```",
        "```",
        "**how long** is the _NPQH_?",
        "~~funding~~ ||spoiler|| `code`",
        "> quoted\n>> twice",
        "# heading\n## another",
        "[NPQH](https://example.com) ![img](x.png)",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "- one\n- two\n1. three",
        "<b>NPQH</b><script>alert(1)</script>",
        "***___~~~```|||",
    ] {
        ask(q);
    }
}

#[test]
fn urls_are_harmless() {
    for q in [
        "https://www.gov.uk/guidance/national-professional-qualifications-npqs",
        "http://example.com/npqh?funding=1&x=%00",
        "www.example.com",
        "ftp://example.com/file",
        "javascript:alert(1)",
        "mailto:someone@example.com",
        "https://",
        "how long is the NPQH https://example.com/a?b=c#d",
    ] {
        ask(q);
    }
}

#[test]
fn empty_and_whitespace_only_are_refused() {
    for q in [
        "",
        " ",
        "   \n\t\r  ",
        "\u{a0}",
        "\u{3000}",
        "\u{2003}\u{2009}",
    ] {
        assert_refused(q);
    }
}

#[test]
fn single_characters_are_answered_or_refused() {
    for q in [
        "a", "?", "£", "é", "中", "1", "ß", "İ", "+", "-", "\"", "'", "<", "&",
    ] {
        ask(q);
    }
}

#[test]
fn a_word_repeated_a_thousand_times_is_harmless() {
    for word in ["NPQH ", "funding ", "how long ", "the ", "? ", "npq+ ", "a"] {
        ask(&word.repeat(1_000));
    }
}

#[test]
fn mixed_scripts_are_harmless() {
    for q in [
        "NPQH 资助 финансирование تمويل funding",
        "Ｎ Ｐ Ｑ Ｈ ｆｕｎｄｉｎｇ",
        "ﬁnancing the NPQH",
        "İSTANBUL NPQH ǅ",
        "cafe\u{301} NPQH",
        "how long ist das NPQH für Lehrer",
        "𝐍𝐏𝐐𝐇 𝒇𝒖𝒏𝒅𝒊𝒏𝒈",
        "ᚠᛇᚻ ꦲꦏ NPQH 한국어",
    ] {
        ask(q);
    }
}

#[test]
fn out_of_scope_and_nonsense_are_refused() {
    for q in [
        "what's the weather",
        "tell me a joke",
        "asdfgh",
        "qwertyuiop",
        "😀🎉🔥",
        "",
    ] {
        assert_refused(q);
    }
}

fn with_real_words() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        Just("NPQH".to_string()),
        Just("funding".to_string()),
        Just("how long".to_string()),
        Just("SENCO".to_string()),
        Just("cost".to_string()),
        Just("?".to_string()),
        any::<String>(),
        "\\PC{0,12}",
    ];
    prop::collection::vec(part, 0..12).prop_map(|parts| parts.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_text_is_answered_or_refused(question in any::<String>()) {
        ask(&question);
    }

    #[test]
    fn any_text_with_real_words_is_answered_or_refused(question in with_real_words()) {
        ask(&question);
    }
}
