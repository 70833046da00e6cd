//! Scoring answer quality on a question file, with the same definitions as the project's
//! yardstick script: hit@1, hit@3, MRR@10, false refusals and refusal rate; and calibrating
//! the relevance threshold on questions that should and should not be answered.

use std::path::Path;

use regex::RegexBuilder;
use serde::Deserialize;

use crate::answer::{Answer, Engine};

/// One question: `{"id", "q", "expect": [regex...], "answerable"}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    #[serde(default)]
    pub id: String,
    pub q: String,
    #[serde(default)]
    pub expect: Vec<String>,
    pub answerable: bool,
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
        let answer = engine.answer(&q.q.replace('\n', " "));
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

/// For each candidate threshold, the share of answerable questions still answered and the
/// share of unanswerable ones refused; and the threshold in the middle of the best range.
pub fn calibrate(outcomes: &[Outcome]) -> (f32, Vec<(f32, f64, f64)>) {
    let ans: Vec<f32> = outcomes
        .iter()
        .filter(|o| o.question.answerable)
        .map(|o| o.coverage)
        .collect();
    let una: Vec<f32> = outcomes
        .iter()
        .filter(|o| !o.question.answerable)
        .map(|o| o.coverage)
        .collect();
    let rate = |xs: &[f32], keep: &dyn Fn(f32) -> bool| {
        if xs.is_empty() {
            1.0
        } else {
            xs.iter().filter(|&&c| keep(c)).count() as f64 / xs.len() as f64
        }
    };
    let rows: Vec<(f32, f64, f64)> = (20..=95)
        .map(|i| i as f32 / 100.0)
        .map(|t| (t, rate(&ans, &|c| c >= t), rate(&una, &|c| c < t)))
        .collect();
    let best = rows.iter().map(|r| r.1 + r.2).fold(f64::MIN, f64::max);
    let good: Vec<f32> = rows
        .iter()
        .filter(|r| (r.1 + r.2 - best).abs() < 1e-9)
        .map(|r| r.0)
        .collect();
    let middle = good[good.len() / 2];
    (middle, rows)
}
