//! Answer quality on the project's own regression questions: a drop below these figures
//! fails the build. The questions (tests/questions.jsonl) are written for this project and
//! include questions that must be refused.

use std::path::Path;

use npq_bot::eval;

const MIN_HIT1: f64 = 0.80;
const MIN_HIT3: f64 = 0.93;
const MIN_REFUSAL: f64 = 0.85;
const MAX_FALSE_REFUSALS: usize = 3;

#[test]
fn regression_questions_meet_the_quality_bar() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let engine = npq_bot::load_engine(&root.join("knowledge"), npq_bot::Settings::default())
        .expect("the bundled knowledge loads");
    let questions =
        eval::read_questions(&root.join("tests/questions.jsonl")).expect("questions load");
    assert!(
        questions.len() >= 60,
        "the regression set should stay broad"
    );
    assert!(
        questions.iter().filter(|q| !q.answerable).count() >= 10,
        "keep questions that must be refused"
    );

    let (figures, outcomes) = eval::run(&engine, &questions).expect("every pattern compiles");
    let misses: Vec<String> = outcomes.iter().filter_map(eval::Outcome::miss).collect();
    let report = format!("{figures}\n{}", misses.join("\n"));
    assert!(
        figures.hit1 >= MIN_HIT1,
        "hit@1 fell below {MIN_HIT1}: {report}"
    );
    assert!(
        figures.hit3 >= MIN_HIT3,
        "hit@3 fell below {MIN_HIT3}: {report}"
    );
    assert!(
        figures.refusal >= MIN_REFUSAL,
        "refusal fell below {MIN_REFUSAL}: {report}"
    );
    assert!(
        figures.false_refusals <= MAX_FALSE_REFUSALS,
        "too many real questions refused: {report}"
    );
}

#[test]
fn the_configured_threshold_is_the_calibrated_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let engine = npq_bot::load_engine(&root.join("knowledge"), npq_bot::Settings::default())
        .expect("the bundled knowledge loads");
    let questions =
        eval::read_questions(&root.join("tests/questions.jsonl")).expect("questions load");
    let (_, outcomes) = eval::run(&engine, &questions).expect("every pattern compiles");
    let (best, rows) = eval::calibrate(&outcomes);
    let configured = npq_bot::Settings::default().threshold;
    // The configured threshold must do as well as the best one the sweep finds.
    let at = |t: f32| {
        rows.iter()
            .find(|r| (r.0 - t).abs() < 0.005)
            .map(|r| r.1 + r.2)
            .unwrap_or(0.0)
    };
    assert!(
        at(configured) + 1e-9 >= at(best),
        "threshold {configured} separates worse than the calibrated {best}: re-run `npq-bot eval tests/questions.jsonl --calibrate`"
    );
}

#[test]
fn every_answer_cites_its_source_and_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let engine = npq_bot::load_engine(&root.join("knowledge"), npq_bot::Settings::default())
        .expect("the bundled knowledge loads");
    for q in eval::read_questions(&root.join("tests/questions.jsonl"))
        .unwrap()
        .iter()
        .filter(|q| q.answerable)
    {
        let answer = engine.answer(&q.q);
        for r in &answer.results {
            assert!(
                !r.source.publisher.is_empty() && !r.source.title.is_empty(),
                "{}: result without a citation",
                q.q
            );
            assert!(
                !r.source.date.is_empty(),
                "{}: {} cites an undated source",
                q.q,
                r.title
            );
        }
    }
}
