//! SQLite: one file in WAL mode. Reads come from an r2d2 pool of read-only
//! connections; every write goes through the single [`writer::Writer`], so
//! connections never compete for the write lock. All SQL lives under this module.

pub mod admins;
pub mod audit;
pub mod backups;
pub mod catalog;
pub mod changes;
pub mod checkin;
pub mod content;
pub mod door;
mod error;
pub mod events;
pub mod inventory;
pub mod migrations;
pub mod orders;
pub mod payments;
pub mod refunds;
pub mod stats;
pub mod tenants;
pub mod tickets;
pub mod uploads;
pub mod users;
#[allow(unsafe_code)]
mod wal_vfs;
pub mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

pub use changes::Changes;
pub use error::{StoreError, StoreResult};
pub(crate) use writer::Writer;
pub use writer::WriterMetrics;

pub(crate) type ReadPool = r2d2::Pool<SqliteConnectionManager>;

/// WAL pages (1 KB each) after which the log is started over even while
/// orders keep coming: about 128 MB, some 100,000 orders. Starting over makes
/// the writer finish the checkpoint itself, a pause of tens of milliseconds,
/// so it should be rare; a real rush mostly ends first and the log then
/// starts over on its own.
pub(crate) const WAL_RESTART_FRAMES: i64 = 128 * 1024;
/// The log file is cut back to this size when it starts over, so a rush
/// does not leave its whole log on disk.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

#[derive(Clone)]
pub struct Store {
    reads: ReadPool,
    writer: Writer,
    inner: Arc<StoreInfo>,
}

/// Copies committed pages from the WAL into the database file on its own
/// connection and thread, so the writer never stalls on a checkpoint's writes
/// and fsync, a large share of its time under an on-sale load otherwise.
/// PASSIVE never blocks the writer or readers.
///
/// A passive checkpoint alone never lets the WAL start over while orders keep
/// coming: by the time it has copied the log, the writer has appended more,
/// so the file only grows without bound (docs/PERFORMANCE.md). Once the
/// log passes `wal_restart_frames`, the checkpointer asks the writer to copy
/// the short tail itself between two commits; the writer's next transaction
/// then starts the log again from its beginning, overwriting it in place.
struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    const EVERY: Duration = Duration::from_millis(200);

    fn start(
        path: &Path,
        wal_restart_frames: i64,
        catch_up: Arc<std::sync::atomic::AtomicBool>,
    ) -> StoreResult<Checkpointer> {
        let conn = Connection::open(path)?;
        common_pragmas(&conn)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Self::EVERY)
                {
                    // (busy, frames in the log, frames copied)
                    match conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
                    {
                        Ok(frames) if frames >= wal_restart_frames => {
                            catch_up.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
                    }
                }
            })?;
        Ok(Checkpointer {
            stop,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    fn stop(&self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

pub struct StoreInfo {
    /// Migrations applied by this start (empty when the schema was current).
    pub applied_migrations: Vec<String>,
    checkpointer: Option<Checkpointer>,
    listener: changes::ChangeListener,
}

/// Pragmas every connection needs. `busy_timeout` only matters for a second
/// process (the CLI while a server runs); inside one process the single writer
/// means nobody waits on the lock.
fn common_pragmas(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // mmap lets every connection read pages straight from the OS cache
    // instead of copying them in with a read(2) each.
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA mmap_size = 268435456;",
    )?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
}

/// When Litestream owns checkpoints, even the one SQLite runs as the last
/// connection closes is left to it: the WAL stays on disk for Litestream
/// to read when it next starts, and the next opener replays it.
fn leave_checkpoints(conn: &Connection, own_checkpoints: bool) -> rusqlite::Result<()> {
    if !own_checkpoints {
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
    }
    Ok(())
}

/// How the writer runs; the defaults are what the server uses.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Write commands per commit at most (1 turns group commit off: the
    /// benchmark's baseline).
    pub max_batch: usize,
    /// The WAL starts over once it holds this many pages (tests use a small log).
    pub wal_restart_frames: i64,
    /// Each commit goes to the WAL in one write (`wal_vfs`).
    pub wal_coalesce: bool,
    /// Whether this process checkpoints the WAL. Off when Litestream runs
    /// beside it (`LITESTREAM=1`): Litestream must see every frame before it
    /// is copied back and the log starts over, so it holds a read
    /// transaction and runs the checkpoints itself; ours would race it.
    pub own_checkpoints: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_batch: writer::DEFAULT_MAX_BATCH,
            wal_restart_frames: WAL_RESTART_FRAMES,
            wal_coalesce: true,
            own_checkpoints: true,
        }
    }
}

impl Store {
    /// The read pool answers and the writer commits: what `/healthz` means.
    pub async fn ping(&self) -> StoreResult<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await?;
        self.write(|_| Ok(())).await
    }

    /// Opens (creating if needed) the database at `path`, applies pending
    /// migrations and starts the writer thread.
    pub fn open(path: &Path) -> StoreResult<Store> {
        Self::open_with(path, StoreOptions::default())
    }

    /// As [`Store::open`], with the writer tuned by `opts`.
    pub fn open_with(path: &Path, opts: StoreOptions) -> StoreResult<Store> {
        let StoreOptions {
            max_batch,
            wal_restart_frames,
            wal_coalesce,
            own_checkpoints,
        } = opts;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // The writer's connection appends each commit to the WAL in one write,
        // unless switched off (WAL_COALESCE=off): then SQLite's own VFS.
        let mut conn = if wal_coalesce {
            wal_vfs::register().map_err(StoreError::Commit)?;
            Connection::open_with_flags_and_vfs(
                path,
                rusqlite::OpenFlags::default(),
                wal_vfs::NAME,
            )?
        } else {
            Connection::open(path)?
        };
        common_pragmas(&conn)?;
        leave_checkpoints(&conn, own_checkpoints)?;
        // Only takes effect when the file is created. Small pages: at an on-sale
        // peak each order dirties a leaf of every user-keyed index at a random
        // spot, and each dirty page goes whole into the WAL and through fsync
        // (docs/PERFORMANCE.md has the measurements).
        conn.execute_batch("PRAGMA page_size = 1024;")?;
        // FULL: an order the client was told succeeded survives a power cut.
        // The page cache stays at SQLite's default 2 MB on purpose: when an
        // index split renumbers pages, SQLite parks one at the page past the
        // 1 GB lock byte, and the commit then walks the whole cache's hash
        // table to drop pages beyond the file's end; larger caches
        // are slower (docs/PERFORMANCE.md). Pages beyond it come from
        // the OS cache.
        // Savepoint journals live in memory; checkpoints run on their own thread.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = {};",
            WAL_SIZE_LIMIT.min(wal_restart_frames.saturating_mul(1024 + 24))
        ))?;
        let applied_migrations = migrations::apply(&mut conn)?;

        let manager = SqliteConnectionManager::file(path).with_init(move |c| {
            common_pragmas(c)?;
            leave_checkpoints(c, own_checkpoints)?;
            // Writes from a pooled connection would bypass the writer's ordering.
            c.execute_batch("PRAGMA query_only = 1;")
        });
        let reads = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(2))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)?;
        let catch_up = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let listener = changes::ChangeListener::default();
        let writer = Writer::start(conn, max_batch, catch_up.clone(), listener.clone())?;
        // Without our checkpointer nothing raises `catch_up`, so the writer
        // never checkpoints either.
        let checkpointer = if own_checkpoints {
            Some(Checkpointer::start(path, wal_restart_frames, catch_up)?)
        } else {
            None
        };
        Ok(Store {
            reads,
            writer,
            inner: Arc::new(StoreInfo {
                applied_migrations,
                checkpointer,
                listener,
            }),
        })
    }

    /// Registers the one function told, after each commit and before its
    /// callers hear of it, what the commit's commands noted
    /// ([`changes::note`]). `false` if one was registered already.
    pub fn on_change(&self, f: impl Fn(Changes) + Send + Sync + 'static) -> bool {
        self.inner.listener.set(Arc::new(f))
    }

    pub fn info(&self) -> &StoreInfo {
        &self.inner
    }

    /// The writer's batch-size and commit-time histograms.
    pub fn writer_metrics(&self) -> &WriterMetrics {
        &self.writer.metrics
    }

    /// Write commands waiting for the writer thread.
    pub fn writer_queue(&self) -> usize {
        self.writer.queued()
    }

    /// Runs a read on a pooled connection, off the async workers.
    pub async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.reads.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get()?;
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Busy(format!("read task failed: {e}")))?
    }

    /// Runs `f` inside the writer's transaction (its own savepoint); resolves
    /// after the commit is durable.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.run(f).await
    }

    /// As [`Store::write`], without a savepoint of its own, for a command
    /// that makes every check before its first write (so a refusal changed
    /// nothing); see [`Writer::run_checked`]. The order create.
    pub async fn write_checked<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.run_checked(f).await
    }

    /// Stops accepting writes and waits until everything queued is committed.
    pub async fn close(&self) {
        self.writer.close().await;
        let info = self.inner.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(c) = &info.checkpointer {
                c.stop()
            }
        })
        .await;
    }
}

impl From<StoreError> for crate::error::AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(r) => r.into(),
            StoreError::Closed => {
                crate::error::AppError::unavailable(anyhow::anyhow!("store is shutting down"))
            }
            StoreError::Busy(msg) => crate::error::AppError::unavailable(anyhow::anyhow!(msg)),
            other => crate::error::AppError::internal(other),
        }
    }
}

/// A refusal raised inside a store function: the writer rolls the command back.
pub(crate) fn reject(code: crate::error::Code, message: impl Into<String>) -> StoreError {
    crate::error::Rejection::new(code, message).into()
}
