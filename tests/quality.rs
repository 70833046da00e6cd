//! Answer quality on the project's own questions, written for this project the way staff
//! type in Discord and on forums. `tests/questions.jsonl` and `tests/questions-chat.jsonl`
//! tune the weights (by cross-validation, `npq-bot eval --calibrate`); `tests/holdout.jsonl`
//! is a fold no tuning sees. A drop below these figures fails the build.

use std::path::Path;
use std::sync::OnceLock;

use npq_bot::{eval, Engine, Weights};

/// In-sample figures of the calibrated weights on the tuning questions were hit@1 0.849,
/// hit@3 0.962, refusal 0.920 when these bars were set (with f32 vectors 0.843 / 0.962 /
/// 0.910; out of fold, the mean of 3 splits: 0.844 / 0.954 / 0.907; BENCHMARKS.md). The bars
/// leave room for the few questions that move between processors (8-bit products with AVX-512
/// VNNI, f32 elsewhere).
const MIN_HIT1: f64 = 0.82;
const MIN_HIT3: f64 = 0.95;
const MIN_REFUSAL: f64 = 0.90;
/// The held-out fold: hit@3 0.976, refusal 0.947 when these bars were set (the same with f32).
const HOLDOUT_MIN_HIT3: f64 = 0.95;
const HOLDOUT_MIN_REFUSAL: f64 = 0.89;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let engine = npq_bot::load_engine(&root().join("knowledge"), npq_bot::Settings::default())
            .expect("the bundled knowledge loads");
        assert!(
            engine.has_semantic(),
            "the shipped model and the bundled embeddings load"
        );
        engine
    })
}

fn tuning_questions() -> Vec<eval::Question> {
    let mut questions = eval::read_questions(&root().join("tests/questions.jsonl")).unwrap();
    questions.extend(eval::read_questions(&root().join("tests/questions-chat.jsonl")).unwrap());
    questions
}

fn check_bar(name: &str, questions: &[eval::Question], hit1: f64, hit3: f64, refusal: f64) {
    let (figures, outcomes) = eval::run(engine(), questions).expect("every pattern compiles");
    let misses: Vec<String> = outcomes.iter().filter_map(eval::Outcome::miss).collect();
    let report = format!("{name}: {figures}\n{}", misses.join("\n"));
    assert!(figures.hit1 >= hit1, "hit@1 fell below {hit1}: {report}");
    assert!(figures.hit3 >= hit3, "hit@3 fell below {hit3}: {report}");
    assert!(
        figures.refusal >= refusal,
        "refusal fell below {refusal}: {report}"
    );
}

#[test]
fn the_project_questions_meet_the_quality_bar() {
    let questions = tuning_questions();
    assert!(questions.len() >= 350, "the question set should stay broad");
    assert!(
        questions.iter().filter(|q| !q.answerable).count() >= 90,
        "keep questions that must be refused"
    );
    check_bar(
        "tuning questions",
        &questions,
        MIN_HIT1,
        MIN_HIT3,
        MIN_REFUSAL,
    );
}

/// Every expected fact of the project's questions is worded so that the knowledge can match
/// it: a question whose pattern no file holds (the wording changed, the fact was moved out)
/// counts as a miss however well the bot answers, and would hide real misses.
#[test]
fn every_expected_fact_is_in_the_knowledge() {
    let mut text = String::new();
    for entry in std::fs::read_dir(root().join("knowledge")).unwrap() {
        let path = entry.unwrap().path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("md" | "toml")
        ) {
            text.push_str(&std::fs::read_to_string(&path).unwrap());
            text.push('\n');
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut questions = tuning_questions();
    questions.extend(eval::read_questions(&root().join("tests/holdout.jsonl")).unwrap());
    let stale: Vec<String> = questions
        .iter()
        .flat_map(|q| q.expect.iter().map(move |e| (q, e)))
        .filter(|(_, e)| {
            !regex::RegexBuilder::new(e)
                .case_insensitive(true)
                .build()
                .expect("every pattern compiles")
                .is_match(&text)
        })
        .map(|(q, e)| format!("{}: {e}", q.id))
        .collect();
    assert!(
        stale.is_empty(),
        "patterns no knowledge file holds:\n{}",
        stale.join("\n")
    );
}

#[test]
fn the_held_out_fold_meets_its_bar() {
    let questions = eval::read_questions(&root().join("tests/holdout.jsonl")).unwrap();
    assert!(questions.len() >= 50);
    check_bar(
        "held-out fold",
        &questions,
        0.0,
        HOLDOUT_MIN_HIT3,
        HOLDOUT_MIN_REFUSAL,
    );
}

/// The calibrated weights score at least as well as their neighbours on the tuning questions:
/// re-run `npq-bot eval tests/questions.jsonl tests/questions-chat.jsonl --calibrate` after
/// changing the engine or the knowledge.
#[test]
fn the_calibrated_weights_beat_their_neighbours() {
    let engine = engine();
    let questions = tuning_questions();
    let prepared = eval::prepare(engine, &questions).unwrap();
    let score = |w: &Weights| {
        let outcomes: Vec<eval::Outcome> = prepared
            .iter()
            .map(|p| eval::outcome(engine, p, w))
            .collect();
        eval::objective(&eval::figures(&outcomes))
    };
    let base = Weights::CALIBRATED;
    let mine = score(&base);
    let neighbours = [
        Weights {
            threshold: base.threshold - 0.08,
            ..base
        },
        Weights {
            threshold: base.threshold + 0.08,
            ..base
        },
        Weights {
            semantic: 0.0,
            ..base
        },
    ];
    // The vectors differ in their last digits between processors (8-bit products where the
    // processor has AVX-512 VNNI, f32 elsewhere), which can move a question or two either way:
    // a neighbour is better only when it wins by more than one question answered.
    let answerable = prepared.iter().filter(|p| p.question.answerable).count();
    let one_question = 1.0 / answerable as f64;
    for w in neighbours {
        let theirs = score(&w);
        assert!(
            mine + one_question >= theirs,
            "{w:?} scores {theirs:.4}, better than the calibrated {mine:.4} by more than one \
             question: re-run eval --calibrate"
        );
    }
}

/// The first `n` answerable questions of `tests/questions.jsonl`.
fn first_answerable(n: usize) -> Vec<eval::Question> {
    eval::read_questions(&root().join("tests/questions.jsonl"))
        .unwrap()
        .into_iter()
        .filter(|q| q.answerable)
        .take(n)
        .collect()
}

#[test]
fn friendly_filler_and_unknown_words_do_not_veto_an_answer() {
    let engine = engine();
    let questions = first_answerable(60);
    let answered = |f: &dyn Fn(&str) -> String| {
        questions
            .iter()
            .filter(|q| engine.answer(&f(&q.q)).answered)
            .count()
    };
    let plain = answered(&|q| q.to_string());
    // Words the knowledge has never seen, before and after the question.
    let chatty = answered(&|q| format!("hiya zorblax, {q} pls mate innit cheers"));
    // Measured: 45 of 54 (83%) when this bar was first set, 43 of 51 (84%) on 2026-12-04, 48
    // of 51 (94%) once the model read the question between its known words. The nonsense
    // word inside the span shifts the question's meaning a little, but no unknown word is a
    // veto.
    assert!(
        chatty * 10 >= plain * 9,
        "filler turned answers into refusals: {chatty} of {plain} still answered"
    );
}

/// A misspelt word is respelt from every word the folder uses, not only its passages' text:
/// "criticism" appears only in a document title, and "crticism" was refused.
#[test]
fn a_word_used_only_in_a_title_is_respelt_too() {
    let answer = engine().answer("what crticism was made of NPQH");
    assert!(answer.answered, "refused: {answer:#?}");
    let top = &answer.results[0];
    assert!(
        top.snippet.contains("2023") && top.snippet.contains("NPQH"),
        "{:#?}",
        answer.results
    );
}

/// A known word that none of the passages closest in meaning holds ("thanks in advance")
/// counts for nothing, so it cannot pull in the one passage that happens to use it; the words
/// that meaning and wording agree on keep their weight.
#[test]
fn a_rare_word_the_meaning_does_not_lead_to_does_not_decide_the_answer() {
    let question = "morning! im at a british school in spain, can i do an npq or is it england only thx in advance";
    let retrieved = engine().retrieve(question);
    let weight = |word: &str| {
        retrieved
            .whole
            .question
            .concepts
            .iter()
            .find(|c| c.concept.surface.eq_ignore_ascii_case(word))
            .map(|c| c.weight)
    };
    assert_eq!(weight("advance"), Some(0.0));
    assert!(weight("england").is_some_and(|w| w > 1.0));
    let answer = engine().answer(question);
    assert!(answer.answered, "{answer:?}");
    // The section on international schools is first or second: "is it England only" is also
    // close to the asked wording "will it be recognised ... elsewhere in England?" of the
    // section on recognition (fused scores 1.274 and 1.256 when this was written).
    let sections: Vec<&str> = answer.results.iter().map(|r| r.section.as_str()).collect();
    assert!(
        sections.iter().take(2).any(|s| s.contains("international")),
        "{sections:?}"
    );
}

/// `question` with one typo: the two middle letters of its longest word swapped (a slip of
/// the fingers every reader still understands).
fn one_typo(question: &str) -> String {
    let longest = question
        .split(' ')
        .enumerate()
        .filter(|(_, w)| w.chars().count() >= 6 && w.chars().all(char::is_alphabetic))
        .max_by_key(|(i, w)| (w.chars().count(), usize::MAX - i));
    let Some((at, word)) = longest else {
        return question.to_string();
    };
    let mut letters: Vec<char> = word.chars().collect();
    let middle = letters.len() / 2;
    letters.swap(middle - 1, middle);
    let typo: String = letters.into_iter().collect();
    question
        .split(' ')
        .enumerate()
        .map(|(i, w)| if i == at { typo.as_str() } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One typo costs almost nothing on the held-out fold: answers stay answers and the facts
/// stay in the top three.
#[test]
fn one_typo_costs_almost_nothing() {
    let questions = eval::read_questions(&root().join("tests/holdout.jsonl")).unwrap();
    let typed: Vec<eval::Question> = questions
        .iter()
        .map(|q| eval::Question {
            q: one_typo(&q.q),
            ..q.clone()
        })
        .collect();
    assert!(
        typed
            .iter()
            .zip(&questions)
            .filter(|(t, q)| t.q != q.q)
            .count()
            * 10
            >= questions.len() * 8,
        "most questions should get a typo"
    );
    let (clean, _) = eval::run(engine(), &questions).expect("every pattern compiles");
    let (typo, outcomes) = eval::run(engine(), &typed).expect("every pattern compiles");
    let misses: Vec<String> = outcomes.iter().filter_map(eval::Outcome::miss).collect();
    // Measured when this bar was set: hit@3 0.829 with the typo, as without it.
    assert!(
        typo.hit3 >= clean.hit3 - 0.05,
        "one typo cost too much: {clean} clean, {typo} with a typo\n{}",
        misses.join("\n")
    );
    assert!(typo.refusal >= HOLDOUT_MIN_REFUSAL, "{typo}");
}

#[test]
fn two_questions_in_one_get_a_result_for_each_part() {
    let answer =
        engine().answer("how long is the npqsl and is it free and do i get paid more after");
    assert!(answer.answered);
    let text: Vec<&str> = answer.results.iter().map(|r| r.snippet.as_str()).collect();
    let joined = text.join("\n").to_lowercase();
    assert!(joined.contains("month"), "no duration: {text:#?}");
    assert!(
        joined.contains("fund") || joined.contains("free"),
        "no funding: {text:#?}"
    );
    assert!(
        joined.contains("pay") || joined.contains("salary"),
        "no pay: {text:#?}"
    );
}

/// "... and is it funded?" alone names no programme: the part is read with the programme the
/// part before it names, and answered for that programme.
#[test]
fn a_part_that_says_it_is_read_with_the_programme_named_before_it() {
    let engine = engine();
    let question = "what does the leading literacy npq cost and is it funded at my school?";
    let retrieved = engine.retrieve(question);
    let texts: Vec<&str> = retrieved.parts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[1].ends_with("(NPQLL)"), "{texts:?}");
    let answer = engine.answer(question);
    assert!(answer.answered);
    assert!(
        answer
            .results
            .iter()
            .any(|r| r.snippet.contains("Leading Literacy (NPQLL) is funded")),
        "no NPQLL funding rule: {:#?}",
        answer
            .results
            .iter()
            .map(|r| &r.snippet)
            .collect::<Vec<_>>()
    );
    // A part that names its own programme keeps it as typed.
    let own = engine.retrieve("how long is the NPQH and is the NPQSL funded for it?");
    let texts: Vec<&str> = own.parts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts.iter().all(|t| !t.contains('(')), "{texts:?}");
}

/// The whole question decides whether to answer. A part read alone loses what the rest of
/// the question says of it ("how long does the assessment take?" after "how do I apply to the
/// LA for an EHCP and"), so a part that is confident alone does not answer a question whose
/// whole is not. Checked on every question of `tests/` asked in parts, some of which have
/// such a part.
#[test]
fn a_part_does_not_answer_a_question_whose_whole_is_not_confident() {
    use npq_bot::retrieve::fuse;
    let engine = engine();
    let w = &engine.weights;
    let mut questions = tuning_questions();
    questions.extend(eval::read_questions(&root().join("tests/holdout.jsonl")).unwrap());
    let (mut in_parts, mut confident_part_only) = (0, 0);
    for q in &questions {
        let retrieved = engine.retrieve(&q.q);
        if retrieved.parts.is_empty() {
            continue;
        }
        in_parts += 1;
        let limit = |r: &fuse::Reading| fuse::threshold(r, w, engine.settings.threshold);
        let confident = |r: &fuse::Reading| fuse::confidence(&r.rank(w)) >= limit(r);
        let whole = confident(&retrieved.whole);
        if !whole && retrieved.parts.iter().any(confident) {
            confident_part_only += 1;
        }
        let answer = engine.decide(&q.q, &retrieved, w, 0, engine.settings.limit);
        // A confident question whose best passage says the guidance does not know is refused
        // with that passage quoted.
        let quotes_not_known = answer.refusal.as_ref().is_some_and(|r| {
            r.related_heading.as_deref() == Some(engine.wording.refusal.not_known.as_str())
        });
        // A question about a word the folder never uses is refused however confident.
        let off_focus = retrieved.whole.focus(w).next().is_some();
        assert_eq!(
            answer.answered || quotes_not_known,
            whole && !off_focus,
            "{}: answered {} though the whole question is {}confident",
            q.q,
            answer.answered,
            if whole { "" } else { "not " }
        );
    }
    assert!(in_parts >= 30, "only {in_parts} questions asked in parts");
    assert!(
        confident_part_only >= 3,
        "only {confident_part_only} questions have a part confident alone and a whole that is not"
    );
}

/// Results that state the same fact collapse into one: no two results of an answer share
/// most of their topic words.
#[test]
fn each_result_states_a_different_fact() {
    let engine = engine();
    for q in tuning_questions().iter().filter(|q| q.answerable) {
        let answer = engine.answer(&q.q);
        let topics: Vec<std::collections::HashSet<String>> = answer
            .results
            .iter()
            .map(|r| {
                npq_bot::analysis::content_stems(&r.snippet)
                    .into_iter()
                    .collect()
            })
            .collect();
        for i in 0..topics.len() {
            for j in i + 1..topics.len() {
                let shared = topics[i].intersection(&topics[j]).count() as f32;
                let union = topics[i].union(&topics[j]).count().max(1) as f32;
                assert!(
                    shared / union < Weights::CALIBRATED.duplicate,
                    "{}: results {i} and {j} state the same fact:\n{}\n{}",
                    q.q,
                    answer.results[i].snippet,
                    answer.results[j].snippet
                );
            }
        }
    }
}

/// A snippet that names exactly one of its passage's publishers is cited to that publisher;
/// every result lists all its passage's sources, its own first.
#[test]
fn each_snippet_is_cited_to_its_own_source() {
    let engine = engine();
    let mut named = 0;
    for q in tuning_questions().iter().filter(|q| q.answerable) {
        for r in &engine.answer(&q.q).results {
            assert_eq!(r.sources.first(), Some(&r.source), "{}", q.q);
            assert!(!r.source.publisher.is_empty() && !r.source.date.is_empty());
            let lower = r.snippet.to_lowercase();
            // A publisher is named by its full name or its short name in brackets ("(NEU)").
            let names = |publisher: &str| -> bool {
                let p = publisher.to_lowercase();
                let short = p
                    .split_once('(')
                    .and_then(|(_, rest)| rest.split_once(')'))
                    .map(|(inner, _)| inner.trim().to_string());
                (!p.is_empty() && lower.contains(&p))
                    || short.is_some_and(|s| !s.is_empty() && lower.contains(&s))
            };
            let mut naming: Vec<_> = r.sources.iter().filter(|s| names(&s.publisher)).collect();
            naming.dedup_by(|a, b| a.publisher == b.publisher);
            if let [only] = naming.as_slice() {
                named += 1;
                assert_eq!(
                    only.publisher, r.source.publisher,
                    "{}: the snippet names {} but cites {}:\n{}",
                    q.q, only.publisher, r.source.publisher, r.snippet
                );
            }
        }
    }
    assert!(
        named > 20,
        "too few snippets name their publisher to test ({named})"
    );
}

#[test]
fn a_programme_the_catalogue_lacks_is_refused_and_the_real_ones_answered() {
    let engine = engine();
    // Made-up members of the "NPQ in leading ..." family, in phrasings of no question file.
    for q in [
        "whats the NPQ in leading drama like?",
        "how long does the npq for leading geography take",
        "can I get funding for the NPQ in Leading Computing?",
        // A slip of the fingers in the family's start does not hide the made-up name.
        "whats the npq in leadng drama like?",
        "can I get funding for the NPQ in Laeding Computing?",
    ] {
        assert!(!engine.answer(q).answered, "answered {q:?}");
    }
    // Real members, and "leading" elsewhere in a question about NPQs.
    for q in [
        "how long does the NPQ in leading literacy take",
        "is the NPQ in leading primary maths funded",
        "will an NPQ get me onto the leading practitioner pay range?",
        "how long does the NPQ in leading litracy take",
    ] {
        assert!(engine.answer(q).answered, "refused {q:?}");
    }
}

/// Friendly words lower a question's similarity to every passage, the best one's included;
/// how far the best rises above the question's mean similarity to the folder (the `lift` the
/// confidence reads) falls less. Measured when this was written: the best similarity fell by
/// 0.064 on average, the lift by 0.051 (0.79 of it).
#[test]
fn friendly_words_move_the_lift_less_than_the_meaning() {
    let engine = engine();
    let questions = first_answerable(60);
    let evidence = |q: &str| engine.retrieve(q).whole.rank(&engine.weights)[0].evidence;
    let (mut meaning, mut lift) = (0.0f32, 0.0f32);
    for q in &questions {
        let plain = evidence(&q.q);
        let chatty = evidence(&format!(
            "sorry if this is a daft question but {} thanks in advance",
            q.q
        ));
        meaning += plain.best_meaning - chatty.best_meaning;
        lift += plain.lift - chatty.lift;
    }
    assert!(
        meaning > 0.0,
        "friendly words did not lower the meaning: {meaning:.3}"
    );
    assert!(
        lift < 0.9 * meaning,
        "the lift fell by {lift:.3} in all, the meaning by {meaning:.3}"
    );
}

/// A question whose topic the guidance covers but whose detail it does not is refused, says
/// which of its words the guidance never uses, and offers the closest passages apart from an
/// answer; one about nothing the guidance covers gets no related passages.
#[test]
fn a_refusal_on_a_covered_topic_names_what_is_missing_and_offers_related_passages() {
    let engine = engine();
    let answer = engine.answer(
        "Our trust is paying for my NPQEL this year. Finance asked whether we can reclaim the \
         VAT on the fee as an academy. Are NPQ fees VAT-exempt?",
    );
    assert!(!answer.answered, "{answer:?}");
    assert!(answer.results.is_empty());
    assert!(!answer.related.is_empty(), "{answer:?}");
    let refusal = answer.refusal.as_ref().expect("a refusal");
    let detail = refusal.detail.as_deref().expect("what is missing");
    assert!(detail.contains("\u{201c}reclaim\u{201d}"), "{detail}");
    assert_eq!(
        refusal.related_heading.as_deref(),
        Some(engine.wording.refusal.related.as_str())
    );
    let json: serde_json::Value = serde_json::from_str(&npq_bot::render::json(&answer)).unwrap();
    assert_eq!(json["answered"], false);
    assert!(json["results"].as_array().unwrap().is_empty());
    let related = json["related"].as_array().unwrap();
    assert!(related
        .iter()
        .all(|r| r["snippet"].is_string() && r["source"].is_object()));
    let text = npq_bot::render::text(&answer);
    assert!(text.contains(&engine.wording.refusal.related), "{text}");

    let off_topic = engine.answer("what is the capital of france");
    assert!(
        !off_topic.answered && off_topic.related.is_empty(),
        "{off_topic:?}"
    );
}

/// A question whose subject is a word the folder never uses is refused, however close its
/// other words come to a passage, and the refusal names that word; filler the folder never
/// uses does not refuse a question.
#[test]
fn a_question_about_a_word_the_folder_never_uses_is_refused_and_named() {
    let engine = engine();
    for (question, word) in [
        ("Will doing the NPQH affect my pension?", "pension"),
        (
            "which teaching school hub runs the NPQs in Cumbria?",
            "Cumbria",
        ),
    ] {
        let answer = engine.answer(question);
        assert!(!answer.answered, "{answer:?}");
        assert!(!answer.related.is_empty(), "{answer:?}");
        let detail = answer
            .refusal
            .as_ref()
            .and_then(|r| r.detail.as_deref())
            .expect("what is missing");
        assert!(
            detail.contains(&format!("\u{201c}{word}\u{201d}")),
            "{detail}"
        );
    }
    for filler in [
        "bit of a silly question but how much is an NPQ??!",
        "Deputy here in a two-form entry primary - are the NPQ seminars during the school day?",
    ] {
        let answer = engine.answer(filler);
        assert!(answer.answered, "{filler}: {answer:?}");
    }
}

/// A passage that only says the guidance does not know is quoted as a refusal, with its
/// citation, under its own heading.
#[test]
fn a_passage_saying_the_guidance_does_not_know_is_a_refusal_that_quotes_it() {
    let engine = engine();
    let answer = engine.answer("can ECTs do an NPQ during induction");
    assert!(!answer.answered, "{answer:?}");
    let quoted = answer.related.first().expect("the passage is quoted");
    assert!(quoted.snippet.contains("do not say whether"), "{quoted:?}");
    assert!(!quoted.source.publisher.is_empty());
    assert_eq!(
        answer.refusal.as_ref().unwrap().related_heading.as_deref(),
        Some(engine.wording.refusal.not_known.as_str())
    );
}
