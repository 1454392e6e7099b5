//! SQLite: one file in WAL mode. Reads come from an r2d2 pool of read-only
//! connections; every write goes through the single [`writer::Writer`], so
//! connections never compete for the write lock. All SQL lives under this module.

pub mod admins;
pub mod catalog;
pub mod migrations;
pub mod orders;
pub mod payments;
pub mod tenants;
pub mod users;
pub mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use crate::domain::Rejection;
pub use writer::Writer;

pub type ReadPool = r2d2::Pool<SqliteConnectionManager>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("read pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("database busy: {0}")]
    Busy(String),
    #[error("the writer has stopped")]
    Closed,
    #[error("migration: {0}")]
    Migration(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone)]
pub struct Store {
    reads: ReadPool,
    writer: Writer,
    inner: Arc<StoreInfo>,
}

/// Copies committed pages from the WAL into the database file on its own
/// connection and thread, so the writer never stalls on a checkpoint's writes
/// and fsync (measured as a large share of its time under an on-sale load).
/// PASSIVE never blocks the writer or readers.
struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    const EVERY: Duration = Duration::from_millis(200);

    fn start(path: &Path) -> StoreResult<Checkpointer> {
        let conn = Connection::open(path)?;
        common_pragmas(&conn)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Self::EVERY)
                {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "checkpoint failed");
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
    checkpointer: Checkpointer,
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

impl Store {
    /// Opens (creating if needed) the database at `path`, applies pending
    /// migrations and starts the writer thread.
    pub fn open(path: &Path) -> StoreResult<Store> {
        Self::open_with_batch(path, writer::DEFAULT_MAX_BATCH)
    }

    /// As [`Store::open`], with at most `max_batch` write commands per commit
    /// (1 turns group commit off: the benchmark's baseline).
    pub fn open_with_batch(path: &Path, max_batch: usize) -> StoreResult<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut conn = Connection::open(path)?;
        common_pragmas(&conn)?;
        // Only takes effect when the file is created. Small pages: at an on-sale
        // peak each order dirties a leaf of every user-keyed index at a random
        // spot, and each dirty page goes whole into the WAL and through fsync;
        // 1 KB pages measured ~20% more orders/s than 4 KB with 0001's schema
        // (within noise since 0004 left fewer random pages per order).
        conn.execute_batch("PRAGMA page_size = 1024;")?;
        // FULL: an order the client was told succeeded survives a power cut.
        // The page cache stays at SQLite's default 2 MB on purpose: when an
        // index split renumbers pages, SQLite parks one at the page past the
        // 1 GB lock byte, and the commit then walks the whole cache's hash
        // table to drop pages beyond the file's end; 4, 8 and 64 MB caches
        // all measured slower (examples/writer.rs). Pages beyond it come from
        // the OS cache.
        // Savepoint journals live in memory; checkpoints run on their own thread.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = 0;",
        )?;
        let applied_migrations = migrations::apply(&mut conn)?;

        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            common_pragmas(c)?;
            // Writes from a pooled connection would bypass the writer's ordering.
            c.execute_batch("PRAGMA query_only = 1;")
        });
        let reads = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(2))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)?;
        let writer = Writer::start(conn, max_batch)?;
        let checkpointer = Checkpointer::start(path)?;
        Ok(Store {
            reads,
            writer,
            inner: Arc::new(StoreInfo {
                applied_migrations,
                checkpointer,
            }),
        })
    }

    pub fn info(&self) -> &StoreInfo {
        &self.inner
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

    /// Stops accepting writes and waits until everything queued is committed.
    pub async fn close(&self) {
        self.writer.close().await;
        let info = self.inner.clone();
        let _ = tokio::task::spawn_blocking(move || info.checkpointer.stop()).await;
    }
}
