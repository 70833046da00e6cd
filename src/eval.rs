//! Scoring answer quality on a question file, with the same definitions as the project's
//! yardstick script: hit@1, hit@3, MRR@10, false refusals and refusal rate; and calibrating
//! the relevance threshold on questions that should and should not be answered.

use std::path::Path;

use regex::RegexBuilder;
use serde::Deserialize;

use crate::answer::{Answer, Engine};
use crate::retrieve::fuse::{self, Confidence, Weights, EVIDENCE};

/// One question: `{"id", "q", "expect": [regex...], "answerable"}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    #[serde(default)]
    pub id: String,
    pub q: String,
    #[serde(default)]
    pub expect: Vec<String>,
    pub answerable: bool,
    /// How the question is put: "chat", "faq" (a bare FAQ heading), "forum", "formal",
    /// "short", "near" (near the topic, not covered); empty when not said.
    #[serde(default)]
    pub form: String,
}

/// Reads a JSONL question file; a bad line is reported with its number.
pub fn read_questions(path: &Path) -> anyhow::Result<Vec<Question>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| anyhow::anyhow!("{}:{}: not a question object: {e} (fix: write {{\"q\": \"...\", \"expect\": [\"regex\"], \"answerable\": true}})", path.display(), i + 1))
        })
        .collect()
}

/// The figures for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub answerable: usize,
    pub hit1: f64,
    pub hit3: f64,
    pub mrr10: f64,
    pub false_refusals: usize,
    pub unanswerable: usize,
    pub refusal: f64,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "answerable={} hit@1={:.3} hit@3={:.3} mrr@10={:.3} false_refusals={} unanswerable={} refusal={:.3}",
            self.answerable, self.hit1, self.hit3, self.mrr10, self.false_refusals, self.unanswerable, self.refusal
        )
    }
}

/// One question's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub question: Question,
    pub answered: bool,
    /// The smallest k whose first k snippets match every expected pattern.
    pub rank: Option<usize>,
    pub coverage: f32,
    /// How long the answer took (zero when scored from a prepared question).
    pub took: std::time::Duration,
}

impl Outcome {
    /// A line for questions that missed, `None` for good outcomes.
    pub fn miss(&self) -> Option<String> {
        let q = &self.question;
        if q.answerable && self.rank.is_none_or(|r| r > 3) {
            let why = if !self.answered {
                "refused".to_string()
            } else {
                self.rank
                    .map_or("not in top 10".to_string(), |r| format!("first at {r}"))
            };
            Some(format!("miss  {}  {why}: {}", q.id, q.q))
        } else if !q.answerable && self.answered {
            Some(format!("answered but should refuse  {}: {}", q.id, q.q))
        } else {
            None
        }
    }
}

/// The smallest k such that every pattern matches the first k snippets joined.
pub fn hit_rank(expect: &[String], answer: &Answer) -> anyhow::Result<Option<usize>> {
    let patterns = expect
        .iter()
        .map(|p| {
            RegexBuilder::new(p)
                .case_insensitive(true)
                .build()
                .map_err(|e| anyhow::anyhow!("bad pattern {p:?}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for k in 1..=answer.results.len().min(10) {
        let text = answer.results[..k]
            .iter()
            .map(|r| r.snippet.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        if patterns.iter().all(|p| p.is_match(&text)) {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

/// Answers every question and scores the answers.
pub fn run(engine: &Engine, questions: &[Question]) -> anyhow::Result<(Figures, Vec<Outcome>)> {
    let mut outcomes = Vec::new();
    for q in questions {
        let started = std::time::Instant::now();
        let answer = engine.answer(&q.q.replace('\n', " "));
        let took = started.elapsed();
        let rank = if q.answerable && answer.answered {
            hit_rank(&q.expect, &answer)?
        } else {
            None
        };
        outcomes.push(Outcome {
            question: q.clone(),
            answered: answer.answered,
            rank,
            coverage: answer.coverage,
            took,
        });
    }
    Ok((figures(&outcomes), outcomes))
}

pub fn figures(outcomes: &[Outcome]) -> Figures {
    let ans: Vec<&Outcome> = outcomes.iter().filter(|o| o.question.answerable).collect();
    let una: Vec<&Outcome> = outcomes.iter().filter(|o| !o.question.answerable).collect();
    let n = ans.len().max(1) as f64;
    Figures {
        answerable: ans.len(),
        hit1: ans.iter().filter(|o| o.rank == Some(1)).count() as f64 / n,
        hit3: ans
            .iter()
            .filter(|o| o.rank.is_some_and(|r| r <= 3))
            .count() as f64
            / n,
        mrr10: ans
            .iter()
            .filter_map(|o| o.rank)
            .map(|r| 1.0 / r as f64)
            .sum::<f64>()
            / n,
        false_refusals: ans.iter().filter(|o| !o.answered).count(),
        unanswerable: una.len(),
        refusal: if una.is_empty() {
            1.0
        } else {
            una.iter().filter(|o| !o.answered).count() as f64 / una.len() as f64
        },
    }
}

/// The share of all questions that came out right: answerable ones with every expected fact
/// in the top 3, the others refused.
pub fn outcome_share(outcomes: &[Outcome]) -> f64 {
    let right = outcomes
        .iter()
        .filter(|o| {
            if o.question.answerable {
                o.rank.is_some_and(|r| r <= 3)
            } else {
                !o.answered
            }
        })
        .count();
    right as f64 / outcomes.len().max(1) as f64
}

/// Figures and outcome for each group of `outcomes` that `key` names, in first-seen order.
pub fn by_group(
    outcomes: &[Outcome],
    key: impl Fn(&Outcome) -> String,
) -> Vec<(String, Figures, f64, usize)> {
    let mut names: Vec<String> = Vec::new();
    for o in outcomes {
        let k = key(o);
        if !names.contains(&k) {
            names.push(k);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let group: Vec<Outcome> = outcomes
                .iter()
                .filter(|o| key(o) == name)
                .cloned()
                .collect();
            let f = figures(&group);
            (name, f, outcome_share(&group), group.len())
        })
        .collect()
}

/// The median and 99th-percentile time to answer, in milliseconds.
pub fn latency(outcomes: &[Outcome]) -> (f64, f64) {
    let mut ms: Vec<f64> = outcomes
        .iter()
        .map(|o| o.took.as_secs_f64() * 1000.0)
        .collect();
    if ms.is_empty() {
        return (0.0, 0.0);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

/// A question read and retrieved once, with its patterns compiled, so that many weightings
/// can be scored without asking again.
pub struct Prepared<'a> {
    pub question: &'a Question,
    retrieved: crate::answer::Retrieved,
    patterns: Vec<regex::Regex>,
}

/// Reads and retrieves every question once.
pub fn prepare<'a>(
    engine: &Engine,
    questions: &'a [Question],
) -> anyhow::Result<Vec<Prepared<'a>>> {
    questions
        .iter()
        .map(|q| {
            let patterns = q
                .expect
                .iter()
                .map(|p| {
                    RegexBuilder::new(p)
                        .case_insensitive(true)
                        .build()
                        .map_err(|e| anyhow::anyhow!("{}: bad pattern {p:?}: {e}", q.id))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(Prepared {
                question: q,
                retrieved: engine.retrieve(&q.q.replace('\n', " ")),
                patterns,
            })
        })
        .collect()
}

/// The outcome of one prepared question under `weights`.
pub fn outcome(engine: &Engine, p: &Prepared, weights: &Weights) -> Outcome {
    let max_chars = engine.settings.snippet_chars;
    let chosen = fuse::choose(
        &p.retrieved.whole,
        &p.retrieved.parts,
        weights,
        engine.settings.threshold,
        max_chars,
        engine.settings.limit.max(3),
    );
    let (answered, rank) = match &chosen.picks {
        None => (false, None),
        Some(picks) => {
            let snippets: Vec<&str> = picks
                .iter()
                .map(|(r, c, _)| c.snippet(&r.question, max_chars).text.as_str())
                .collect();
            let rank = (1..=snippets.len()).find(|&k| {
                let text = snippets[..k].join("\n");
                !p.patterns.is_empty() && p.patterns.iter().all(|re| re.is_match(&text))
            });
            (true, rank)
        }
    };
    Outcome {
        question: p.question.clone(),
        answered,
        rank: if p.question.answerable { rank } else { None },
        // As `Engine::decide` reports it: the whole question's confidence, refused or not.
        coverage: chosen.confidence,
        took: std::time::Duration::ZERO,
    }
}

/// One JSON line describing how `p` was read: its file, form and label, the evidence of its
/// best-ranked passage, that passage's snippet and the rank of the expected facts when nothing
/// is refused. For studying the decision to answer outside the engine.
pub fn evidence_line(
    engine: &Engine,
    p: &Prepared,
    files: &std::collections::HashMap<String, String>,
) -> String {
    let w = engine.weights;
    let open = w.never_refusing();
    let o = outcome(engine, p, &open);
    let whole = &p.retrieved.whole;
    let ranked = whole.rank(&w);
    let top = ranked.first();
    let snippet = top
        .map(|s| {
            whole.candidates[s.index]
                .snippet(&whole.question, engine.settings.snippet_chars)
                .text
                .clone()
        })
        .unwrap_or_default();
    let section = top
        .map(|s| whole.candidates[s.index].passage.section.clone())
        .unwrap_or_default();
    serde_json::json!({
        "id": p.question.id,
        "file": files.get(&p.question.id),
        "q": p.question.q,
        "form": p.question.form,
        "answerable": p.question.answerable,
        "rank": o.rank,
        "confidence": top.map(|s| s.confidence),
        "evidence": top.map(|s| s.evidence.as_array().to_vec()),
        "missing": whole.missing,
        "section": section,
        "snippet": snippet,
    })
    .to_string()
}

/// What cross-validation is scored by: hit@3 first, refusal a little less (a wrong refusal
/// costs a member their answer; a wrong answer is shown with its source), hit@1 a little.
pub fn objective(f: &Figures) -> f64 {
    f.hit3 + 0.25 * f.hit1 + 0.8 * f.refusal
}

/// The ranking weightings `eval --calibrate` tries, around the calibrated one.
pub fn grid() -> Vec<Weights> {
    let base = Weights::CALIBRATED;
    let mut out = Vec::new();
    for semantic in [0.5, 1.0, 1.5, 2.0, 3.0] {
        for heading_similarity in [0.8, 0.9, 1.0] {
            for unknown_word in [0.0, 0.25, 0.5, 1.0] {
                out.push(Weights {
                    semantic,
                    heading_similarity,
                    unknown_word,
                    ..base
                });
            }
        }
    }
    out
}

/// Out-of-fold figures of `k`-fold cross-validation, the weights fitted on all the
/// questions, and the in-sample figures of those weights (reported beside, never instead).
pub struct CrossValidation {
    pub out_of_fold: Figures,
    pub outcomes: Vec<Outcome>,
    pub chosen: Weights,
    pub in_sample: Figures,
    pub per_fold: Vec<Weights>,
    /// The chosen ranking with every question answered: how often the answer is in the top
    /// 3 when nothing is refused.
    pub never_refusing: Figures,
}

/// Which fold a question is in: a hash of its id (or text), stable across runs.
pub fn fold_of(q: &Question, k: usize) -> usize {
    fold_in_split(q, k, 0)
}

/// Which fold a question is in under split number `split` (0 is [`fold_of`]'s): repeating
/// cross-validation over several splits tells a real gain from the luck of one split.
pub fn fold_in_split(q: &Question, k: usize, split: usize) -> usize {
    let key = if q.id.is_empty() { &q.q } else { &q.id };
    let h = if split == 0 {
        fnv(key)
    } else {
        fnv(&format!("{split}:{key}"))
    };
    (h % k as u64) as usize
}

/// Fits the weights on the questions `keep` selects: the ranking weighting that puts the
/// answer in the top 3 most often, then the confidence model (logistic regression on the best
/// candidate's evidence, answerable against not), then the threshold and floor that score best.
pub fn fit(
    engine: &Engine,
    prepared: &[Prepared],
    grid: &[Weights],
    keep: &dyn Fn(usize) -> bool,
) -> Weights {
    // 1. Ranking.
    let mut best = (Weights::CALIBRATED, f64::MIN);
    for w in grid {
        let open = w.never_refusing();
        let subset: Vec<Outcome> = prepared
            .iter()
            .enumerate()
            .filter(|(i, p)| keep(*i) && p.question.answerable)
            .map(|(_, p)| outcome(engine, p, &open))
            .collect();
        let f = figures(&subset);
        let score = f.hit3 + 0.25 * f.hit1;
        if score > best.1 + 1e-9 {
            best = (*w, score);
        }
    }
    let ranking = best.0;
    // 2. Confidence: the evidence of each question's best candidate.
    let mut xs: Vec<[f32; EVIDENCE]> = Vec::new();
    let mut ys: Vec<f32> = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        if !keep(i) {
            continue;
        }
        if let Some(top) = p.retrieved.whole.rank(&ranking).first() {
            xs.push(top.evidence.as_array());
            ys.push(if p.question.answerable { 1.0 } else { 0.0 });
        }
    }
    let confidence = logistic(&xs, &ys);
    // How well weights decide the kept questions.
    let scored = |w: &Weights| {
        let subset: Vec<Outcome> = prepared
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, p)| outcome(engine, p, w))
            .collect();
        objective(&figures(&subset))
    };
    // 3. Threshold and floor.
    let mut best = (ranking, f64::MIN);
    for floor in [0.0, 0.5, 0.75, 0.9] {
        for t in (5..=95).map(|i| i as f32 / 100.0) {
            let w = Weights {
                confidence,
                threshold: t,
                floor,
                ..ranking
            };
            let score = scored(&w);
            if score > best.1 + 1e-9 {
                best = (w, score);
            }
        }
    }
    // 4. How close to the question a word the folder never uses must stand to be what it
    // asks about (see `Weights::focus`).
    let fitted = best.0;
    let mut best = (fitted, f64::MIN);
    for focus in FOCUS_GRID {
        let w = Weights { focus, ..fitted };
        let score = scored(&w);
        if score > best.1 + 1e-9 {
            best = (w, score);
        }
    }
    best.0
}

/// The `focus` values `eval --calibrate` tries: none (unknown words never refuse alone) first,
/// so that a focus is kept only when it scores better.
const FOCUS_GRID: [f32; 7] = [f32::INFINITY, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25];

/// Evidence the confidence model is not fitted on: the share of words the index knows
/// (`known`, `coverage_all`). Off-topic questions hold unknown words, but so do friendly
/// ones ("hiya ... pls mate"), and an unknown word must not veto an answer.
const UNREAD: [usize; 2] = [3, 4];

/// Logistic regression by gradient descent, the two classes weighed equally, with a little
/// L2 shrinkage; returns the fitted model.
pub fn logistic(xs: &[[f32; EVIDENCE]], ys: &[f32]) -> Confidence {
    let n_pos = ys.iter().filter(|&&y| y > 0.5).count().max(1) as f32;
    let n_neg = ys.iter().filter(|&&y| y <= 0.5).count().max(1) as f32;
    let mut w = [0.0f32; EVIDENCE];
    let mut b = 0.0f32;
    let lambda = 1e-3;
    let rate = 0.5;
    for _ in 0..4000 {
        let mut gw = [0.0f32; EVIDENCE];
        let mut gb = 0.0f32;
        let mut total = 0.0f32;
        for (x, &y) in xs.iter().zip(ys) {
            let class = if y > 0.5 { 1.0 / n_pos } else { 1.0 / n_neg };
            let z = b + w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>();
            let p = 1.0 / (1.0 + (-z).exp());
            let err = (p - y) * class;
            for j in 0..EVIDENCE {
                gw[j] += err * x[j];
            }
            gb += err;
            total += class;
        }
        let total = total.max(f32::MIN_POSITIVE);
        for j in 0..EVIDENCE {
            if UNREAD.contains(&j) {
                continue;
            }
            w[j] -= rate * (gw[j] / total + lambda * w[j]);
        }
        b -= rate * gb / total;
    }
    let round = |x: f32| (x * 1000.0).round() / 1000.0;
    Confidence::from_array(round(b), w.map(round))
}

fn fnv(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The out-of-fold outcomes of one split into `k` folds: for each fold, the weights fitted on
/// the other folds score that fold. Returns the outcomes and each fold's weights.
pub fn out_of_fold(
    engine: &Engine,
    prepared: &[Prepared],
    grid: &[Weights],
    k: usize,
    split: usize,
) -> (Vec<Outcome>, Vec<Weights>) {
    let folds: Vec<usize> = prepared
        .iter()
        .map(|p| fold_in_split(p.question, k, split))
        .collect();
    let mut oof: Vec<Option<Outcome>> = vec![None; prepared.len()];
    let mut per_fold = Vec::new();
    for fold in 0..k {
        let w = fit(engine, prepared, grid, &|i| folds[i] != fold);
        per_fold.push(w);
        for (i, p) in prepared.iter().enumerate() {
            if folds[i] == fold {
                oof[i] = Some(outcome(engine, p, &w));
            }
        }
    }
    (oof.into_iter().flatten().collect(), per_fold)
}

/// Tunes the weights by `k`-fold cross-validation ([`out_of_fold`] on the first split), and
/// fits the weights to ship on all the questions; the figures reported are out of fold.
pub fn cross_validate(
    engine: &Engine,
    prepared: &[Prepared],
    grid: &[Weights],
    k: usize,
) -> CrossValidation {
    let (outcomes, per_fold) = out_of_fold(engine, prepared, grid, k, 0);
    let chosen = fit(engine, prepared, grid, &|_| true);
    let in_sample: Vec<Outcome> = prepared
        .iter()
        .map(|p| outcome(engine, p, &chosen))
        .collect();
    let open = chosen.never_refusing();
    let never: Vec<Outcome> = prepared.iter().map(|p| outcome(engine, p, &open)).collect();
    CrossValidation {
        out_of_fold: figures(&outcomes),
        outcomes,
        chosen,
        in_sample: figures(&in_sample),
        per_fold,
        never_refusing: figures(&never),
    }
}
