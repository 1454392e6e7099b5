//! Backups and restores of the database file, and the lock that says a
//! server holds the data dir.
//!
//! A backup copies the database with SQLite's online backup API from a
//! read-only connection of its own, inside one read transaction: WAL gives
//! that transaction a fixed snapshot, so the copy is consistent, and readers
//! never block the writer, so buyers keep committing while it runs. The log
//! grows meanwhile by everything they commit, since a checkpoint cannot
//! restart it past an open snapshot.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::migrations::MIGRATIONS;
use super::{StoreError, StoreResult};

/// Pages per backup step (1 MB at our 1 KB pages). Steps follow each other
/// without a pause: what slows buyers during a backup is the log growing
/// past the copy's snapshot, not the copy's CPU, so the shortest backup is
/// the kindest (docs/PERFORMANCE.md).
const STEP_PAGES: std::ffi::c_int = 1024;
/// Steps between two flushes of the copy (4 MB of 1 KB pages).
const SYNC_EVERY_STEPS: u32 = 4;

#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub elapsed: Duration,
}

/// What a backup file holds, checked before it may replace the database.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The newest migration applied in it.
    pub schema_version: i64,
    pub orders: i64,
    pub tickets: i64,
}

fn refused(message: impl Into<String>) -> StoreError {
    StoreError::Backup(message.into())
}

fn read_only(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// A scratch name no other backup uses, even one to the same destination
/// from this process: two copies sharing a scratch file would unlink each
/// other's.
fn tmp_path(dest: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    dest.with_file_name(name)
}

/// Makes a rename durable: the directory entry goes to disk too.
fn sync_dir(path: &Path) -> StoreResult<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Copies `src` (an open connection, inside a read transaction) into a new
/// file at `tmp`, step by step.
fn copy_into(src: &Connection, tmp: &Path) -> StoreResult<()> {
    let _ = fs::remove_file(tmp);
    let mut dst = Connection::open(tmp)?;
    // The copy is a scratch file until it is checked and renamed: no journal,
    // no syncs of SQLite's own. It is flushed by us instead, a few MB at a
    // time: letting a gigabyte of dirty pages pile up and flushing it at the
    // end stalls the server's own WAL syncs on the same disk for seconds
    // (the file system commits the copy's data with them).
    dst.execute_batch("PRAGMA synchronous = OFF; PRAGMA journal_mode = OFF;")?;
    {
        let backup = Backup::new(src, &mut dst)?;
        let mut unsynced = 0;
        loop {
            match backup.step(STEP_PAGES)? {
                StepResult::Done => break,
                StepResult::More => {
                    unsynced += 1;
                    if unsynced >= SYNC_EVERY_STEPS {
                        File::open(tmp)?.sync_data()?;
                        unsynced = 0;
                    }
                    std::thread::yield_now()
                }
                // Only another process writing in rollback mode could lock
                // us out; wait and go on.
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    // A file that stands on its own, without a log beside it.
    dst.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
    let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(refused(format!("备份文件校验失败：{check}")));
    }
    drop(dst);
    File::open(tmp)?.sync_all()?;
    Ok(())
}

/// A consistent copy of the database at `db`, written next to `dest` and
/// renamed onto it once complete and on disk, so `dest` is never half a file.
pub fn backup(db: &Path, dest: &Path) -> StoreResult<BackupReport> {
    let started = Instant::now();
    if !db.exists() {
        return Err(refused(format!("数据库不存在：{}", db.display())));
    }
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let src = read_only(db)?;
    // One snapshot for the whole copy.
    src.execute_batch("BEGIN DEFERRED")?;
    src.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })?;
    let tmp = tmp_path(dest);
    let copied = copy_into(&src, &tmp);
    let _ = src.execute_batch("COMMIT");
    if let Err(e) = copied {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, dest)?;
    sync_dir(dest)?;
    Ok(BackupReport {
        path: dest.to_path_buf(),
        bytes: fs::metadata(dest)?.len(),
        elapsed: started.elapsed(),
    })
}

/// Checks that `file` is a whole, uncorrupted database of ours that this
/// binary can run (its schema no newer than the binary's migrations).
pub fn inspect(file: &Path) -> StoreResult<Inspection> {
    if !file.is_file() {
        return Err(refused(format!("文件不存在：{}", file.display())));
    }
    let conn = read_only(file)?;
    let not_ours = |_| refused("不是 standup-tickets 的数据库文件（或文件已损坏）");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(not_ours)?;
    if check != "ok" {
        return Err(refused(format!("数据库完整性检查未通过：{check}")));
    }
    let schema_version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .map_err(not_ours)?;
    let newest_known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if schema_version > newest_known {
        return Err(refused(format!(
            "备份的数据库版本 ({schema_version}) 比程序 ({newest_known}) 新：请使用更新的版本恢复"
        )));
    }
    let count = |table: &str| -> StoreResult<i64> {
        Ok(conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
    };
    Ok(Inspection {
        schema_version,
        orders: count("orders")?,
        tickets: count("tickets")?,
    })
}

/// Replaces the database at `db` with the backup `from`, after checking it.
/// The current database (its log folded in first) is kept beside it as
/// `…before-restore-<stamp>`; returns that path, if there was one. The
/// caller holds the data dir's lock.
pub fn restore(db: &Path, from: &Path, stamp: &str) -> StoreResult<(Inspection, Option<PathBuf>)> {
    let facts = inspect(from)?;
    let tmp = tmp_path(db);
    {
        let src = read_only(from)?;
        src.execute_batch("BEGIN DEFERRED")?;
        src.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })?;
        let copied = copy_into(&src, &tmp);
        let _ = src.execute_batch("COMMIT");
        if let Err(e) = copied {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    }
    let kept = if db.exists() {
        // Fold the log into the file so the kept copy is whole on its own.
        let conn = Connection::open(db)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        drop(conn);
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".before-restore-{stamp}"));
        let aside = db.with_file_name(name);
        fs::rename(db, &aside)?;
        Some(aside)
    } else {
        None
    };
    for suffix in ["-wal", "-shm"] {
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        let _ = fs::remove_file(db.with_file_name(name));
    }
    fs::rename(&tmp, db)?;
    sync_dir(db)?;
    Ok((facts, kept))
}

/// Held by a serving process for its whole life: a second server, or a
/// restore, on the same data dir is refused instead of corrupting it.
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    pub fn acquire(dir: &Path) -> StoreResult<DataDirLock> {
        fs::create_dir_all(dir)?;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("standup-tickets.lock"))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(refused(format!(
                "数据目录 {} 正被运行中的 standup-tickets 使用：请先停止服务",
                dir.display()
            ))),
            Err(fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }
}

/// How the scheduled backups are going, for `/healthz`, and the lock that
/// lets one scheduled backup run at a time (the job's own tick and a
/// `tick backup` run, or a run by hand, never copy side by side).
#[derive(Debug, Default)]
pub struct BackupStatus(Mutex<StatusInner>, tokio::sync::Mutex<()>);

#[derive(Debug, Default, Clone)]
pub struct StatusInner {
    /// Unix ms of the newest good backup, and its file.
    pub last_ok_at: Option<i64>,
    pub last_file: Option<PathBuf>,
    pub last_bytes: u64,
    pub last_took: Duration,
    /// The newest failure, if it came after the newest success.
    pub last_error: Option<(i64, String)>,
    pub failures: u64,
}

impl BackupStatus {
    pub fn get(&self) -> StatusInner {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(crate) fn ok(&self, r: &BackupReport, at: i64) {
        if let Ok(mut s) = self.0.lock() {
            s.last_ok_at = Some(at);
            s.last_file = Some(r.path.clone());
            s.last_bytes = r.bytes;
            s.last_took = r.elapsed;
            s.last_error = None;
        }
    }

    /// Waits for a scheduled backup in progress to finish.
    pub(crate) async fn one_at_a_time(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.1.lock().await
    }

    pub(crate) fn failed(&self, e: &str, at: i64) {
        if let Ok(mut s) = self.0.lock() {
            s.last_error = Some((at, e.to_string()));
            s.failures += 1;
        }
    }
}
