//! Backups: one on demand (`standup-tickets backup --to FILE`, safe while a
//! server runs), the scheduled ones (`BACKUP_DIR`), and restoring one
//! (`standup-tickets restore --from FILE`, only with no server running).

use crate::config::{BackupSchedule, Config};
use crate::model::time::now_ms;
use crate::state::AppState;
use crate::store::backups::{self as q, BackupReport, DataDirLock, Inspection};
use std::path::{Path, PathBuf};

pub use crate::store::backups::BackupStatus;

const PREFIX: &str = "standup-tickets-";
const SUFFIX: &str = ".db";

/// A backup of the running (or stopped) database to `to`.
pub async fn backup_to(config: &Config, to: &Path) -> anyhow::Result<BackupReport> {
    let db = config.database_path();
    let to = to.to_path_buf();
    Ok(tokio::task::spawn_blocking(move || q::backup(&db, &to)).await??)
}

/// The scheduled backups in `dir`, oldest first (their names sort by time).
fn scheduled_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn file_name(at_ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    format!("{PREFIX}{}{SUFFIX}", t.format("%Y%m%dT%H%M%S%.3fZ"))
}

/// Whether the newest backup in the folder is older than the interval.
fn due(s: &BackupSchedule, now: i64) -> bool {
    let newest = scheduled_files(&s.dir)
        .ok()
        .and_then(|f| f.last().cloned())
        .and_then(|p| std::fs::metadata(p).ok())
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64);
    let every = i64::try_from(s.every.as_millis()).unwrap_or(i64::MAX);
    newest.is_none_or(|t| now.saturating_sub(t) >= every)
}

/// The job: a backup when one is due, then the oldest pruned beyond
/// `BACKUP_KEEP`. Returns how many backups it wrote (0 or 1).
pub async fn scheduled(state: &AppState) -> anyhow::Result<usize> {
    let Some(s) = state.config.backups.clone() else {
        return Ok(0);
    };
    let _one = state.backups.one_at_a_time().await;
    let now = now_ms();
    if !due(&s, now) {
        return Ok(0);
    }
    let to = s.dir.join(file_name(now));
    match backup_to(&state.config, &to).await {
        Ok(r) => {
            state.backups.ok(&r, now);
            tracing::info!(
                file = %r.path.display(),
                bytes = r.bytes,
                ms = r.elapsed.as_millis() as u64,
                "backup written"
            );
            prune(&s);
            Ok(1)
        }
        Err(e) => {
            let text = format!("{e:#}");
            state.backups.failed(&text, now);
            tracing::error!(dir = %s.dir.display(), error = %text, "backup failed");
            Err(e)
        }
    }
}

fn prune(s: &BackupSchedule) {
    let Ok(files) = scheduled_files(&s.dir) else {
        return;
    };
    let extra = files.len().saturating_sub(s.keep);
    for old in &files[..extra] {
        if let Err(e) = std::fs::remove_file(old) {
            tracing::warn!(file = %old.display(), error = %e, "could not delete an old backup");
        }
    }
}

/// What `restore` did.
pub struct Restored {
    pub facts: Inspection,
    pub kept: Option<PathBuf>,
}

/// Puts the backup `from` in place of the club's database. Refused while a
/// server holds the data dir, and for a file that is damaged, not ours, or
/// newer than this binary.
pub async fn restore(config: &Config, from: &Path) -> anyhow::Result<Restored> {
    let dir = config.data_dir.clone();
    let db = config.database_path();
    let from = from.to_path_buf();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let (facts, kept) = tokio::task::spawn_blocking(move || {
        let _lock = DataDirLock::acquire(&dir)?;
        q::restore(&db, &from, &stamp)
    })
    .await??;
    Ok(Restored { facts, kept })
}

/// Takes the data dir for a serving process.
pub fn lock_data_dir(config: &Config) -> anyhow::Result<DataDirLock> {
    Ok(DataDirLock::acquire(&config.data_dir)?)
}
