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

/// The sources confirm the ITT lead mentors' NPQLTD funding route only up to the November 2025
/// cohort, so no sentence may say in the present tense that they have it without naming the
/// cohort it held for.
fn says_lead_mentors_have_the_route_now(sentence: &str) -> bool {
    let topic = Regex::new(r"(?i)lead mentor").unwrap();
    let present = Regex::new(
        r"(?i)\b(have|has)\s+(a|an|the|their)?\s*(own\s+)?(funding\s+)?route\b|\broute\s+is\b|\b(is|are)\s+(also\s+|still\s+)?funded\b|\bcan\s+(pay|get|be\s+funded|have)\b",
    )
    .unwrap();
    let cohort = Regex::new(r"(?i)\bcohorts?\b").unwrap();
    topic.is_match(sentence) && present.is_match(sentence) && !cohort.is_match(sentence)
}

/// In the November 2025 cohort schools in the RISE programme could have any NPQ funded, so a
/// sentence that says an NPQ was funded only for disadvantaged settings up to or in November
/// 2025 must name RISE too.
fn says_november_2025_funding_was_for_disadvantage_lists_only(sentence: &str) -> bool {
    let period = Regex::new(r"(?i)\bNovember 2025\b").unwrap();
    let only = Regex::new(r"(?i)\bonly\b").unwrap();
    let disadvantage = Regex::new(r"(?i)disadvantag|pupil premium").unwrap();
    let rise = Regex::new(r"\bRISE\b").unwrap();
    let about_later_cohort = Regex::new(r"(?i)\bNovember 2026\b").unwrap();
    period.is_match(sentence)
        && only.is_match(sentence)
        && disadvantage.is_match(sentence)
        && !rise.is_match(sentence)
        && !about_later_cohort.is_match(sentence)
}

/// No source gives November 2021 as the national start of the reformed NPQs: GOV.UK (June
/// 2024) calls NPQs started before November 2021 legacy, and one delivery partner started its
/// own courses then.
fn says_reformed_npqs_began_nationally_in_november_2021(sentence: &str) -> bool {
    let began = Regex::new(
        r"(?i)\breformed NPQs?\b[^.]*\b(began|begin|started|start|launched|came in)\b[^.]*\bNovember 2021\b",
    )
    .unwrap();
    let one_provider =
        Regex::new(r"(?i)delivery partner|its own|provider's own|advertised").unwrap();
    began.is_match(sentence) && !one_provider.is_match(sentence)
}

#[test]
fn the_detectors_catch_the_wrong_claims_as_they_were_written() {
    assert!(says_lead_mentors_have_the_route_now(
        "Lead mentors at initial teacher training (ITT) providers accredited from September 2024 have a funding route for the NPQ in Leading Teacher Development (NPQLTD): DfE can pay for their place."
    ));
    assert!(says_lead_mentors_have_the_route_now(
        "The ITT lead mentor route is a funding route, not a separate way onto the NPQLTD course."
    ));
    assert!(!says_lead_mentors_have_the_route_now(
        "From 2024 up to the November 2025 cohort, lead mentors at ITT providers had a funding route for the NPQLTD."
    ));
    assert!(says_november_2025_funding_was_for_disadvantage_lists_only(
        "From autumn 2024 to the November 2025 cohort, the NPQSL was funded only for schools in the top 50% for pupil premium and other settings on the disadvantage lists."
    ));
    assert!(says_november_2025_funding_was_for_disadvantage_lists_only(
        "For the autumn 2024 to November 2025 cohorts, the NPQEYL was funded only for settings on the disadvantage lists, such as highly disadvantaged early years settings."
    ));
    assert!(!says_november_2025_funding_was_for_disadvantage_lists_only(
        "For the November 2025 cohort, the NPQLBC was funded only for settings on the disadvantage lists and RISE schools."
    ));
    assert!(says_reformed_npqs_began_nationally_in_november_2021(
        "Middle leaders, under the legacy (2017) NPQs that ran before the reformed NPQs began in November 2021."
    ));
    assert!(!says_reformed_npqs_began_nationally_in_november_2021(
        "That delivery partner started all its own reformed NPQ programmes on 1 November 2021."
    ));
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

#[test]
fn the_itt_lead_mentor_route_is_never_stated_in_the_present_tense_without_its_cohort() {
    let all = sentences(&bundled_passages());
    let wrong: Vec<&(String, String)> = all
        .iter()
        .filter(|(_, s)| says_lead_mentors_have_the_route_now(s))
        .collect();
    assert!(
        wrong.is_empty(),
        "the sources confirm the ITT lead mentor route only up to the November 2025 cohort: {wrong:#?}"
    );
}

#[test]
fn november_2025_funding_is_never_said_to_be_for_disadvantaged_settings_only_without_rise() {
    let all = sentences(&bundled_passages());
    let wrong: Vec<&(String, String)> = all
        .iter()
        .filter(|(_, s)| says_november_2025_funding_was_for_disadvantage_lists_only(s))
        .collect();
    assert!(
        wrong.is_empty(),
        "in November 2025 schools in the RISE programme could have any NPQ funded: {wrong:#?}"
    );
}

#[test]
fn the_reformed_npqs_are_never_said_to_have_begun_nationally_in_november_2021() {
    let all = sentences(&bundled_passages());
    let wrong: Vec<&(String, String)> = all
        .iter()
        .filter(|(_, s)| says_reformed_npqs_began_nationally_in_november_2021(s))
        .collect();
    assert!(
        wrong.is_empty(),
        "no source gives November 2021 as the national start of the reformed NPQs: {wrong:#?}"
    );
    // And the GOV.UK meaning of a legacy NPQ is still given.
    assert!(
        all.iter().any(|(_, s)| s.contains("legacy")
            && s.contains("before November 2021")
            && s.contains("GOV.UK")),
        "no sentence gives GOV.UK's meaning of a legacy NPQ"
    );
}
