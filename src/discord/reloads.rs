//! One rule for every reload (the admin `reload`, a saved answer, a change on disk): swap in
//! the new guidance or keep the old on errors, count it, remember it for the admin `status`,
//! and ask the open gaps of the question log again.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use serenity::all::CreateEmbed;

use super::authored::{Authored, NotSaved};
use super::reply::{self, limits};
use super::state::{Reloaded, State};

/// What the last reload did, for the admin `status`.
#[derive(Debug, Clone)]
pub struct LastReload {
    pub at: SystemTime,
    /// What started it: "the reload command", "a saved answer", "a file changed".
    pub trigger: &'static str,
    pub outcome: Reloaded,
}

/// A reload and what it changed for the question log.
#[derive(Debug)]
pub struct Report {
    pub outcome: Reloaded,
    /// "answers N of M open gaps" and the gaps, when the log is on and the guidance changed.
    pub gaps: Option<String>,
}

impl Report {
    /// True when the old guidance kept serving.
    pub fn kept(&self) -> bool {
        matches!(self.outcome, Reloaded::Kept(_))
    }

    /// The reply to an admin: the counts or the errors, then the gaps this reload answers.
    pub fn embed(&self) -> CreateEmbed {
        let embed = match &self.outcome {
            Reloaded::Swapped {
                documents,
                passages,
                skipped,
            } => reply::reloaded(*documents, *passages, skipped),
            Reloaded::Kept(errors) => reply::reload_refused(errors),
        };
        match &self.gaps {
            Some(gaps) => embed.field(
                "Open gaps",
                reply::truncate(&reply::escape(gaps), limits::FIELD_VALUE),
                false,
            ),
            None => embed,
        }
    }
}

/// Reloads the knowledge folder by the rule of the admin `reload`.
pub async fn reload(state: &Arc<State>, trigger: &'static str) -> Report {
    let worker = state.clone();
    let outcome = match tokio::task::spawn_blocking(move || worker.reload()).await {
        Ok(outcome) => outcome,
        Err(e) => Reloaded::Kept(vec![format!("the reload stopped: {e}")]),
    };
    after(state, trigger, outcome).await
}

/// Saves an answer written from Discord (checked before it is kept, see
/// [`super::authored::save`]) and reloads, under the reload lock so that no other reload sees
/// the file half-checked. Returns where it was saved.
pub async fn save_answer(
    state: &Arc<State>,
    entry: Authored,
) -> Result<(PathBuf, Report), NotSaved> {
    let worker = state.clone();
    let saved = tokio::task::spawn_blocking(move || worker.save_and_reload(&entry))
        .await
        .map_err(|e| NotSaved(vec![format!("saving stopped: {e}")]))??;
    let (path, outcome) = saved;
    Ok((path, after(state, "a saved answer", outcome).await))
}

async fn after(state: &Arc<State>, trigger: &'static str, outcome: Reloaded) -> Report {
    let metrics = super::metrics::get();
    match &outcome {
        Reloaded::Swapped {
            documents,
            passages,
            skipped,
        } => {
            for problem in skipped {
                tracing::warn!("skipped a knowledge file: {problem}");
            }
            metrics.reloads.fetch_add(1, Ordering::Relaxed);
            metrics
                .skipped_files
                .store(skipped.len() as u64, Ordering::Relaxed);
            tracing::info!(
                trigger,
                documents,
                passages,
                skipped = skipped.len(),
                "knowledge reloaded"
            );
        }
        Reloaded::Kept(errors) => {
            metrics.reloads_refused.fetch_add(1, Ordering::Relaxed);
            for error in errors {
                tracing::warn!("reload refused: {error}");
            }
            tracing::warn!(
                trigger,
                errors = errors.len(),
                "reload refused: the knowledge folder has errors; the old guidance keeps serving"
            );
        }
    }
    state.note_reload(LastReload {
        at: SystemTime::now(),
        trigger,
        outcome: outcome.clone(),
    });
    let gaps = match &outcome {
        Reloaded::Swapped { .. } => recheck(state).await,
        Reloaded::Kept(_) => None,
    };
    Report { outcome, gaps }
}

/// Asks the log's open gaps again against the new engine; logs the count at info (never the
/// questions) and returns the report for the admin who reloaded.
async fn recheck(state: &Arc<State>) -> Option<String> {
    let log = state.log.as_ref()?;
    let engine = state.engine();
    match crate::qlog::recheck(log, &engine).await {
        Ok(report) => {
            tracing::info!(
                answered = report.answered.len(),
                open = report.open,
                "this reload answers {} of {} open gaps",
                report.answered.len(),
                report.open
            );
            let mut text = format!(
                "This reload answers {} of {} open gaps",
                report.answered.len(),
                report.open
            );
            for gap in &report.answered {
                text.push_str(&format!(
                    "\n\u{2022} {} \u{2192} {}",
                    gap.first, gap.passage
                ));
            }
            Some(text)
        }
        Err(e) => {
            tracing::warn!("cannot ask the open gaps again: {e:#}");
            None
        }
    }
}
