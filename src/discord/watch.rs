//! Watches the knowledge folder while `serve` runs: a saved file reloads the guidance after a
//! short pause, by the same rule as the admin `reload` (on errors the old index keeps serving).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

use super::state::State;

/// How long the folder must stay quiet before a reload: an editor's save (a temporary file,
/// a rename, a second write) or a copied folder is read once, whole.
pub const QUIET: Duration = Duration::from_millis(1000);

/// True when a change to `path` can change what the loader reads: a file it would list (not
/// hidden, not starting with `_`, not the bot's own `.pending.md` while an answer is checked).
/// The embedding cache and the loader's own reads are left out, or every reload would start
/// another.
fn matters(path: &Path, root: &Path) -> bool {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let hidden = rel.components().any(|c| {
        let name = c.as_os_str().to_string_lossy();
        name.starts_with('.') || name.starts_with('_')
    });
    let pending = rel.to_string_lossy().ends_with(".pending.md");
    !hidden && !pending
}

/// Starts watching `state.knowledge_dir`. The watcher lives as long as the returned handle;
/// `serve` keeps it for the life of the bot.
pub fn start(state: Arc<State>) -> anyhow::Result<notify::RecommendedWatcher> {
    let root = state.knowledge_dir.clone();
    let canonical = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) => {
                let changes = matches!(
                    event.kind,
                    EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
                );
                let relevant = event
                    .paths
                    .iter()
                    .any(|p| matters(p, &canonical) && matters(p, &root));
                if changes && relevant {
                    let _ = tx.send(());
                }
            }
            Err(e) => tracing::warn!("watching the knowledge folder: {e}"),
        })?;
    watcher.watch(&state.knowledge_dir, RecursiveMode::Recursive)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Wait for the folder to be quiet for QUIET, then reload once.
            loop {
                match tokio::time::timeout(QUIET, rx.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            let report = super::reloads::reload(&state, "a file changed").await;
            tracing::debug!(kept = report.kept(), "reloaded after a change on disk");
        }
    });
    tracing::info!("watching the knowledge folder for changes");
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::matters;
    use std::path::Path;

    #[test]
    fn the_cache_hidden_files_and_pending_answers_start_no_reload() {
        let root = Path::new("/k");
        assert!(matters(Path::new("/k/funding.md"), root));
        assert!(matters(Path::new("/k/local/q-1234.md"), root));
        assert!(!matters(Path::new("/k/.embeddings.bin"), root));
        assert!(!matters(Path::new("/k/.embeddings.bin.tmp"), root));
        assert!(!matters(Path::new("/k/_drafts/a.md"), root));
        assert!(!matters(Path::new("/k/local/q-1234.pending.md"), root));
    }
}
