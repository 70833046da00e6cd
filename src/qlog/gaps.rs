//! Gaps: refused questions and answers voted down, grouped by meaning (sentence embeddings,
//! or shared words without the model), and rechecked against a newer engine.

use std::collections::HashSet;

use serde::Serialize;

use super::stats::format_time;
use super::QuestionLog;
use crate::answer::Engine;
use crate::retrieve::semantic;

/// Two questions mean the same when the cosine of their embeddings (against the group's
/// mean) is at least this.
pub const GROUP_SIMILARITY: f32 = 0.70;
/// Without the model: the share of content words two phrasings must have in common.
pub const WORD_OVERLAP: f32 = 0.5;
/// Phrasings of one gap asked again by [`recheck`].
const RECHECK_PHRASINGS: usize = 5;

/// Whether a gap still needs knowledge written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GapStatus {
    Open,
    Answered,
    Dismissed,
}

impl GapStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GapStatus::Open => "open",
            GapStatus::Answered => "answered",
            GapStatus::Dismissed => "dismissed",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<GapStatus> {
        Some(match text {
            "open" => GapStatus::Open,
            "answered" => GapStatus::Answered,
            "dismissed" => GapStatus::Dismissed,
            _ => return None,
        })
    }
}

/// One logged question that is a gap, as read from the database.
#[derive(Debug, Clone)]
pub(crate) struct GapRow {
    pub id: i64,
    pub at_ms: i64,
    pub question: String,
    /// Refused, rather than answered and voted down.
    pub refused: bool,
    pub top_passage: Option<String>,
    pub status: GapStatus,
}

/// Questions that mean the same thing and were not answered well.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// Stable while the group's first question is kept: pass it to `dismiss`.
    pub key: String,
    /// Times asked.
    pub count: u64,
    /// When last asked (UTC, RFC 3339).
    pub last_asked: String,
    /// The first phrasing.
    pub first: String,
    /// Up to 3 distinct phrasings, the first first.
    pub examples: Vec<String>,
    pub status: GapStatus,
    /// How many of `count` were refused; the rest were answered and voted down.
    pub refused: u64,
    #[serde(skip)]
    pub(crate) last_asked_ms: i64,
    #[serde(skip)]
    pub(crate) entries: Vec<i64>,
    /// Distinct phrasings: the question and, when it was answered, the passage voted down.
    #[serde(skip)]
    pub(crate) phrasings: Vec<(String, Option<String>)>,
}

/// Groups gap rows (oldest first): each status on its own, so a question asked after its gap
/// was dismissed starts (or joins) an open gap.
pub(crate) fn group(rows: Vec<GapRow>) -> Vec<Gap> {
    let texts: Vec<&str> = rows.iter().map(|r| r.question.as_str()).collect();
    let vectors = semantic::shared().and_then(|m| {
        m.embed(&texts)
            .map_err(|e| tracing::warn!("gaps are grouped by shared words: {e:#}"))
            .ok()
    });
    group_with(rows, vectors)
}

/// [`group`] with the questions' vectors, or `None` to compare their content words.
fn group_with(rows: Vec<GapRow>, vectors: Option<Vec<Vec<f32>>>) -> Vec<Gap> {
    let stems: Vec<HashSet<String>> = rows
        .iter()
        .map(|r| {
            crate::analysis::content_stems(&r.question)
                .into_iter()
                .collect()
        })
        .collect();
    struct Building {
        status: GapStatus,
        members: Vec<usize>,
        sum: Vec<f32>,
    }
    let mut groups: Vec<Building> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let mut best: Option<(usize, f32)> = None;
        for (g, group) in groups.iter().enumerate() {
            if group.status != row.status {
                continue;
            }
            let similarity = match &vectors {
                Some(v) => semantic::cosine(&v[i], &group.sum) / norm(&group.sum).max(1e-6),
                None => group
                    .members
                    .iter()
                    .map(|&m| jaccard(&stems[i], &stems[m]))
                    .fold(0.0, f32::max),
            };
            let needed = if vectors.is_some() {
                GROUP_SIMILARITY
            } else {
                WORD_OVERLAP
            };
            if similarity >= needed && best.is_none_or(|(_, s)| similarity > s) {
                best = Some((g, similarity));
            }
        }
        let vector = vectors.as_ref().map(|v| v[i].as_slice());
        match best {
            Some((g, _)) => {
                let group = &mut groups[g];
                group.members.push(i);
                if let Some(v) = vector {
                    for (s, x) in group.sum.iter_mut().zip(v) {
                        *s += x;
                    }
                }
            }
            None => groups.push(Building {
                status: row.status,
                members: vec![i],
                sum: vector.map(<[f32]>::to_vec).unwrap_or_default(),
            }),
        }
    }
    let mut gaps: Vec<Gap> = groups
        .into_iter()
        .map(|g| {
            let first = &rows[g.members[0]];
            let mut seen = HashSet::new();
            let mut phrasings = Vec::new();
            for &m in &g.members {
                let r = &rows[m];
                if seen.insert(r.question.to_lowercase()) {
                    phrasings.push((
                        r.question.clone(),
                        if r.refused {
                            None
                        } else {
                            r.top_passage.clone()
                        },
                    ));
                }
            }
            let last = g.members.iter().map(|&m| rows[m].at_ms).max().unwrap_or(0);
            Gap {
                key: format!("{:016x}", first.id as u64),
                count: g.members.len() as u64,
                last_asked: format_time(last),
                first: first.question.clone(),
                examples: phrasings.iter().take(3).map(|(q, _)| q.clone()).collect(),
                status: g.status,
                refused: g.members.iter().filter(|&&m| rows[m].refused).count() as u64,
                last_asked_ms: last,
                entries: g.members.iter().map(|&m| rows[m].id).collect(),
                phrasings,
            }
        })
        .collect();
    gaps.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.last_asked_ms.cmp(&a.last_asked_ms))
            .then(a.key.cmp(&b.key))
    });
    gaps
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    let shared = a.intersection(b).count();
    shared as f32 / (a.len() + b.len() - shared) as f32
}

/// What [`recheck`] found.
#[derive(Debug, Clone, Serialize)]
pub struct RecheckReport {
    /// Open gaps asked again.
    pub open: usize,
    /// Those the engine now answers, marked answered.
    pub answered: Vec<Rechecked>,
}

/// One gap the engine now answers.
#[derive(Debug, Clone, Serialize)]
pub struct Rechecked {
    pub key: String,
    pub first: String,
    /// The passage that now answers the first phrasing.
    pub passage: String,
}

impl std::fmt::Display for RecheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "answers {} of {} open gaps",
            self.answered.len(),
            self.open
        )?;
        for r in &self.answered {
            write!(f, "\n  {}  {}  ->  {}", r.key, r.first, r.passage)?;
        }
        Ok(())
    }
}

/// Asks every open gap's phrasings of the retention period again against `engine` and marks
/// answered the gaps whose phrasings it now mostly answers (by its own decision to answer;
/// a phrasing voted down counts only when the best passage is another one now).
pub async fn recheck(log: &QuestionLog, engine: &Engine) -> anyhow::Result<RecheckReport> {
    let open: Vec<Gap> = log
        .gaps(log.inner.retention_days.max(1))
        .await?
        .into_iter()
        .filter(|g| g.status == GapStatus::Open)
        .collect();
    let mut answered = Vec::new();
    for gap in &open {
        let asked: Vec<_> = gap.phrasings.iter().take(RECHECK_PHRASINGS).collect();
        let mut yes = 0;
        let mut passage = None;
        for (question, voted_down) in &asked {
            let answer = engine.answer(question);
            let Some(top) = answer.results.first().filter(|_| answer.answered) else {
                continue;
            };
            let label = super::passage_label(&top.title, &top.section);
            if voted_down.as_deref() == Some(label.as_str()) {
                continue;
            }
            yes += 1;
            passage.get_or_insert(label);
        }
        if yes > 0 && yes * 2 >= asked.len() {
            answered.push(Rechecked {
                key: gap.key.clone(),
                first: gap.first.clone(),
                passage: passage.unwrap_or_default(),
            });
        }
    }
    let keys: Vec<String> = answered.iter().map(|r| r.key.clone()).collect();
    if !keys.is_empty() {
        log.mark_answered(&keys).await?;
    }
    Ok(RecheckReport {
        open: open.len(),
        answered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, question: &str, status: GapStatus) -> GapRow {
        GapRow {
            id,
            at_ms: id * 1000,
            question: question.to_string(),
            refused: true,
            top_passage: None,
            status,
        }
    }

    #[test]
    fn without_the_model_shared_words_group_and_statuses_stay_apart() {
        let rows = vec![
            row(1, "Who waters the raised beds?", GapStatus::Open),
            row(2, "who waters raised beds", GapStatus::Open),
            row(3, "Where does the shed key hang?", GapStatus::Open),
            row(
                4,
                "Who waters the raised beds on Monday?",
                GapStatus::Dismissed,
            ),
            row(5, "Who waters the raised beds?", GapStatus::Open),
        ];
        let gaps = group_with(rows, None);
        let summary: Vec<(u64, &str, GapStatus)> = gaps
            .iter()
            .map(|g| (g.count, g.first.as_str(), g.status))
            .collect();
        assert_eq!(
            summary,
            vec![
                (3, "Who waters the raised beds?", GapStatus::Open),
                (
                    1,
                    "Who waters the raised beds on Monday?",
                    GapStatus::Dismissed
                ),
                (1, "Where does the shed key hang?", GapStatus::Open),
            ]
        );
        assert_eq!(gaps[0].examples.len(), 2, "repeats are one phrasing");
        assert_eq!(gaps[0].key, format!("{:016x}", 1));
        assert_eq!(gaps[0].entries, vec![1, 2, 5]);
    }
}
