//! Facts in the bundled knowledge that an audit found wrong, kept as regression cases: if a
//! wrong claim comes back in any passage (guidance section or programme card), this fails.
//! Each detector is first shown to catch the wrong claim as it was once written (in the
//! project's own words), so that it cannot pass by matching nothing.

use std::path::Path;

use npq_bot::knowledge::{self, Passage};
use regex::Regex;

fn bundled_passages() -> Vec<Passage> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    knowledge::load(&dir)
        .expect("the knowledge folder reads")
        .into_knowledge()
        .expect("the bundled knowledge has no errors")
        .passages()
}

/// The sentences of every passage, with where they come from.
fn sentences(passages: &[Passage]) -> Vec<(String, String)> {
    let end = Regex::new(r"[.!?](\s+|$)").unwrap();
    passages
        .iter()
        .flat_map(|p| {
            let place = format!("{} › {}", p.title, p.section);
            p.text
                .lines()
                .flat_map(|line| end.split(line).map(str::trim).collect::<Vec<_>>())
                .filter(|s| !s.is_empty())
                .map(move |s| (place.clone(), s.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Targeted support funding was paid in 2022/23 as well as 2023/24, so no sentence about it
/// may say it was for 2023/24 alone.
fn says_targeted_support_was_one_year_only(sentence: &str) -> bool {
    let topic = Regex::new(r"(?i)targeted support").unwrap();
    let only = Regex::new(
        r"(?i)\b(in|for|during)?\s*(2023/24|2023-24|2023 to 2024)( academic year)?\s+only\b|\bonly\s+(in|for|during)\s+(the\s+)?(2023/24|2023-24|2023 to 2024)\b|\b(2023/24|2023-24) alone\b",
    )
    .unwrap();
    topic.is_match(sentence) && only.is_match(sentence)
}

/// ITT lead mentors have a funding route for the NPQLTD, not a route of their own onto it.
fn says_lead_mentors_have_an_entry_route(sentence: &str) -> bool {
    let topic = Regex::new(r"(?i)lead mentor").unwrap();
    let entry = Regex::new(
        r"(?i)\b(own|entry|separate|special|dedicated)\s+(entry\s+)?(route|way|pathway)\s+(on ?to|into)\b|\broute\s+(on ?to|into)\s+the\s+(NPQLTD|NPQ in Leading Teacher Development)\b",
    )
    .unwrap();
    let negated = Regex::new(r"(?i)\bnot\s+(a|an|their)?\s*(own|entry|separate)").unwrap();
    topic.is_match(sentence) && entry.is_match(sentence) && !negated.is_match(sentence)
}

#[test]
fn the_detectors_catch_the_wrong_claims_as_they_were_written() {
    assert!(says_targeted_support_was_one_year_only(
        "In 2023/24 only, schools got NPQ targeted support funding that they could spend as they chose."
    ));
    assert!(says_targeted_support_was_one_year_only(
        "NPQ targeted support funding was paid only in 2023-24."
    ));
    assert!(!says_targeted_support_was_one_year_only(
        "Schools were paid NPQ targeted support funding in 2022/23 and 2023/24."
    ));
    assert!(says_lead_mentors_have_an_entry_route(
        "Lead mentors at ITT providers have their own route onto the NPQ in Leading Teacher Development (NPQLTD)."
    ));
    assert!(says_lead_mentors_have_an_entry_route(
        "ITT lead mentors can join through a separate entry route into the NPQLTD."
    ));
    assert!(!says_lead_mentors_have_an_entry_route(
        "The ITT lead mentor route is a funding route, not a separate way onto the NPQLTD course."
    ));
}

#[test]
fn targeted_support_funding_is_never_said_to_be_for_2023_24_only() {
    let all = sentences(&bundled_passages());
    let wrong: Vec<&(String, String)> = all
        .iter()
        .filter(|(_, s)| says_targeted_support_was_one_year_only(s))
        .collect();
    assert!(
        wrong.is_empty(),
        "targeted support funding was paid in 2022/23 too: {wrong:#?}"
    );
    // And the knowledge still says it was paid in 2022/23, at £200 a participant.
    assert!(
        all.iter().any(|(_, s)| s.contains("targeted support")
            && (s.contains("2022/23") || s.contains("2022-23"))
            && s.contains("£200")),
        "no sentence gives the 2022/23 targeted support funding"
    );
}

#[test]
fn itt_lead_mentors_are_never_said_to_have_their_own_entry_route_onto_the_npqltd() {
    let all = sentences(&bundled_passages());
    let wrong: Vec<&(String, String)> = all
        .iter()
        .filter(|(_, s)| says_lead_mentors_have_an_entry_route(s))
        .collect();
    assert!(
        wrong.is_empty(),
        "the sources describe a funding route for ITT lead mentors, not an entry route: {wrong:#?}"
    );
    // And the funding route itself is still stated.
    assert!(
        all.iter()
            .any(|(_, s)| s.to_lowercase().contains("lead mentor")
                && s.contains("NPQLTD")
                && s.to_lowercase().contains("fund")),
        "no sentence says ITT lead mentors can be funded for the NPQLTD"
    );
}
