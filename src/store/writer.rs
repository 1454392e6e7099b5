//! The single writer: one thread owning the only read-write connection.
//!
//! Commands queue on a bounded channel. The thread drains whatever is waiting
//! (up to `max_batch`) into one `BEGIN IMMEDIATE … COMMIT`, runs each command in
//! its own savepoint so a refused command rolls back alone, and answers every
//! caller only once the commit is on disk (group commit).
//!
//! A *checked* command ([`Writer::run_checked`], the order create) makes every
//! check before its first write, so a refusal has nothing to roll back, and it
//! runs without the savepoint, the largest single cost around an order (it
//! copies each page the command touches into the savepoint journal; see
//! docs/PERFORMANCE.md). The writer does not take the promise on trust: it
//! compares SQLite's count of changed rows before and after, and a checked
//! command that fails after changing anything (a bug, or corrupt counts)
//! rolls back the whole transaction and every command in it is answered with
//! an error, so nothing half-done is ever committed. The commands still
//! queued behind it run in a new transaction.
//!
//! Durability is pipelined: the connection runs `synchronous=NORMAL`, so COMMIT
//! only writes the WAL frames, and a second thread `fdatasync`s the WAL file
//! before any reply of that commit is sent. A caller is therefore told "done"
//! only after its transaction survives a power cut — the same promise as
//! `synchronous=FULL` — but the writer already runs the next batch while the
//! disk flushes the previous one, and one flush covers every commit queued
//! behind it, where under FULL the writer would sit idle in fsync.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::changes::{self, ChangeListener};
use super::error::{StoreError, StoreResult};

/// Commands per commit by default: enough to make the fsync cost per order
/// negligible while keeping each batch's latency small (docs/PERFORMANCE.md).
pub const DEFAULT_MAX_BATCH: usize = 64;
/// Bounded so a burst beyond what the disk can absorb waits (backpressure)
/// instead of growing memory without limit.
const QUEUE_DEPTH: usize = 4096;

type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs the command; says whether it succeeded, and how to answer its caller.
type Command = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;

struct Job {
    run: Command,
    /// Runs without a savepoint: refuses before its first write.
    checked: bool,
}

enum Msg {
    Job(Job),
    Close(oneshot::Sender<()>),
}

#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Msg>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    pub(crate) metrics: WriterMetrics,
}

/// What the writer measures of itself, for `/metrics`.
#[derive(Clone)]
pub struct WriterMetrics {
    /// Commands per transaction.
    pub batch_size: prometheus_client::metrics::histogram::Histogram,
    /// From `BEGIN` to `COMMIT` returning (the WAL sync after it is
    /// pipelined and not included).
    pub commit_seconds: prometheus_client::metrics::histogram::Histogram,
}

impl WriterMetrics {
    fn new() -> WriterMetrics {
        use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
        WriterMetrics {
            // 1 … 1024 commands.
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            // 50 µs … about 1.6 s.
            commit_seconds: Histogram::new(exponential_buckets(0.00005, 2.0, 16)),
        }
    }
}

impl Writer {
    /// Takes over `conn` (already in WAL mode) as the only read-write
    /// connection.
    ///
    /// `catch_up` is raised by the checkpointer when the WAL has grown past
    /// its limit: the writer then checkpoints the remaining tail between two
    /// commits, so its next transaction can start the log over.
    pub fn start(
        conn: Connection,
        max_batch: usize,
        catch_up: Arc<AtomicBool>,
        listener: ChangeListener,
    ) -> StoreResult<Writer> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let max_batch = max_batch.max(1);
        // Batching off (the benchmark's baseline) means one transaction, one
        // fsync: no flusher sharing syncs between commits either.
        let durability = if max_batch == 1 {
            Durability::Inline
        } else {
            Durability::start(&conn)?
        };
        let metrics = WriterMetrics::new();
        let measured = metrics.clone();
        let handle = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                run(
                    conn,
                    rx,
                    Turn {
                        max_batch,
                        durability,
                        catch_up: &catch_up,
                        metrics: &measured,
                        listener: &listener,
                    },
                )
            })?;
        Ok(Writer {
            tx,
            thread: Arc::new(Mutex::new(Some(handle))),
            metrics,
        })
    }

    /// Commands queued and not yet taken by the writer thread.
    pub fn queued(&self) -> usize {
        QUEUE_DEPTH - self.tx.capacity()
    }

    /// Runs `f` in its own savepoint inside the next batch's transaction.
    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(f, false).await
    }

    /// As [`Writer::run`], without the savepoint, for a command that makes
    /// every check before its first write: an `Err` from it must mean it
    /// changed nothing. If it changed rows and then failed, the writer rolls
    /// the whole batch back (see the module notes).
    pub async fn run_checked<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(f, true).await
    }

    async fn submit<T, F>(&self, f: F, checked: bool) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply_tx, reply_rx) = oneshot::channel::<StoreResult<T>>();
        let run: Command = Box::new(move |conn: &Connection| {
            let result = f(conn);
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |commit| {
                let outcome = match commit {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::Commit(e)),
                };
                let _ = reply_tx.send(outcome);
            });
            (ok, reply)
        });
        self.tx
            .send(Msg::Job(Job { run, checked }))
            .await
            .map_err(|_| StoreError::Closed)?;
        // A dropped sender means the command panicked or the savepoint failed:
        // nothing of it was kept.
        reply_rx
            .await
            .unwrap_or_else(|_| Err(StoreError::Commit("command aborted".into())))
    }

    /// Commits what is queued, then stops the thread. Later writes get `Closed`.
    pub async fn close(&self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.tx.send(Msg::Close(done_tx)).await.is_ok() {
            let _ = done_rx.await;
        }
        let handle = self.thread.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }
}

/// Who makes a commit durable before its callers hear of it.
enum Durability {
    /// Commits go to a flusher thread that syncs the WAL, then replies.
    Pipelined {
        flushes: std::sync::mpsc::Sender<Vec<Reply>>,
        thread: JoinHandle<()>,
    },
    /// SQLite's own `synchronous=FULL` on every commit: in-memory databases
    /// (no WAL to sync) and batching off (the one-fsync-per-order baseline).
    Inline,
}

impl Durability {
    fn start(conn: &Connection) -> StoreResult<Durability> {
        let wal_path = match conn.path() {
            Some(p) if !p.is_empty() => format!("{p}-wal"),
            _ => return Ok(Durability::Inline),
        };
        // The WAL exists from the moment the connection entered WAL mode and
        // stays (same inode; restarts rewrite it in place) while this
        // connection, the writer's, is open.
        let wal = match File::open(&wal_path) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, path = %wal_path,
                    "WAL file not found; commits sync inline (synchronous=FULL)");
                return Ok(Durability::Inline);
            }
        };
        // SQLite at FULL would fsync the directory once after creating the
        // WAL, so the file itself survives a power cut; do the same here,
        // since at NORMAL its first sync comes only with a checkpoint.
        if let Some(dir) = std::path::Path::new(&wal_path).parent()
            && let Err(e) = File::open(dir).and_then(|d| d.sync_all())
        {
            tracing::warn!(error = %e, "could not sync the data directory; commits sync inline");
            return Ok(Durability::Inline);
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
        let (flushes, pending) = std::sync::mpsc::channel::<Vec<Reply>>();
        let thread = std::thread::Builder::new()
            .name("sqlite-flush".into())
            .spawn(move || flush_loop(wal, pending))?;
        Ok(Durability::Pipelined { flushes, thread })
    }

    /// Hands a committed batch's replies on; they are sent once it is durable.
    fn committed(&self, replies: Vec<Reply>) {
        match self {
            Durability::Pipelined { flushes, .. } => {
                if let Err(std::sync::mpsc::SendError(replies)) = flushes.send(replies) {
                    // The flusher is gone (it only stops at close): say so
                    // rather than claim durability nobody checked.
                    for reply in replies {
                        reply(Err("durability flush unavailable".into()));
                    }
                }
            }
            Durability::Inline => {
                for reply in replies {
                    reply(Ok(()));
                }
            }
        }
    }

    /// Waits for every handed-on commit to be flushed and answered.
    fn finish(self) {
        if let Durability::Pipelined { flushes, thread } = self {
            drop(flushes);
            let _ = thread.join();
        }
    }
}

/// Syncs the WAL once for everything committed since the last sync, then
/// answers those callers in commit order.
fn flush_loop(wal: File, pending: std::sync::mpsc::Receiver<Vec<Reply>>) {
    while let Ok(first) = pending.recv() {
        let mut groups = vec![first];
        groups.extend(pending.try_iter());
        let outcome = wal.sync_data().map_err(|e| {
            tracing::error!(error = %e, "fdatasync of the WAL failed; callers are told the write failed");
            format!("fdatasync failed: {e}")
        });
        for reply in groups.into_iter().flatten() {
            reply(outcome.clone());
        }
    }
}

/// What the writer thread works with besides its connection and queue.
struct Turn<'a> {
    max_batch: usize,
    durability: Durability,
    catch_up: &'a AtomicBool,
    metrics: &'a WriterMetrics,
    listener: &'a ChangeListener,
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Msg>, turn: Turn<'_>) {
    let Turn {
        max_batch,
        durability,
        catch_up,
        metrics,
        listener,
    } = turn;
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut closing: Option<oneshot::Sender<()>> = None;
    while closing.is_none() {
        match rx.blocking_recv() {
            None => break,
            Some(Msg::Close(done)) => closing = Some(done),
            Some(Msg::Job(job)) => batch.push(job),
        }
        while batch.len() < max_batch && closing.is_none() {
            match rx.try_recv() {
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Close(done)) => closing = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            let started = std::time::Instant::now();
            metrics.batch_size.observe(batch.len() as f64);
            commit_batch(&conn, &mut batch, &durability, listener);
            metrics
                .commit_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        if catch_up.swap(false, Ordering::Relaxed) {
            // Outside any transaction: copies what the checkpointer has not
            // yet (the last moments of commits). A reader still on an older
            // snapshot can hold the restart back; the next request retries.
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "writer checkpoint failed");
            }
        }
    }
    // Refuse anything that raced in behind the close.
    rx.close();
    while let Ok(msg) = rx.try_recv() {
        if let Msg::Job(job) = msg {
            drop(job);
        }
    }
    durability.finish();
    if let Err(e) = conn.execute_batch("PRAGMA optimize;") {
        tracing::debug!(error = %e, "optimize at close failed");
    }
    drop(conn);
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

fn commit_batch(
    conn: &Connection,
    batch: &mut Vec<Job>,
    durability: &Durability,
    listener: &ChangeListener,
) {
    let mut jobs = batch.drain(..);
    // Notes left by a batch that never committed describe nothing.
    changes::take();
    // More than one transaction only when a checked command broke its
    // promise: the rest of the batch then runs in a new one.
    loop {
        if let Err(e) = exec_cached(conn, "BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "writer could not begin a transaction");
            // Dropping the jobs drops their reply senders: callers see an abort.
            return;
        }
        let mut replies: Vec<Reply> = Vec::with_capacity(jobs.len());
        let mut broken = false;
        for job in jobs.by_ref() {
            if job.checked {
                if !run_checked(conn, job, &mut replies) {
                    broken = true;
                    break;
                }
            } else {
                run_in_savepoint(conn, job, &mut replies);
            }
        }
        if broken {
            // Nothing of this transaction may be kept: every command in it
            // was answered "done" on the strength of a state now undone.
            if let Err(e) = conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %e, "rollback of a broken batch failed");
            }
            for reply in replies {
                reply(Err("the batch was rolled back".into()));
            }
            continue;
        }
        commit(conn, replies, durability, listener);
        return;
    }
}

/// A command in its own savepoint: a refusal or a panic undoes only it.
fn run_in_savepoint(conn: &Connection, job: Job, replies: &mut Vec<Reply>) {
    if let Err(e) = exec_cached(conn, "SAVEPOINT cmd") {
        tracing::error!(error = %e, "writer could not open a savepoint");
        return;
    }
    match catch_unwind(AssertUnwindSafe(|| (job.run)(conn))) {
        Ok((true, reply)) => {
            release(conn);
            replies.push(reply);
        }
        Ok((false, reply)) => {
            rollback_to(conn);
            replies.push(reply);
        }
        Err(_) => {
            tracing::error!("a write command panicked; its changes were rolled back");
            rollback_to(conn);
        }
    }
}

/// A checked command, without a savepoint. `false` if it failed (or
/// panicked) after changing rows: the transaction must then be rolled back.
/// Its reply is kept so that it, too, hears of the rollback.
fn run_checked(conn: &Connection, job: Job, replies: &mut Vec<Reply>) -> bool {
    let before = conn.total_changes();
    let outcome = catch_unwind(AssertUnwindSafe(|| (job.run)(conn)));
    let untouched = conn.total_changes() == before;
    match outcome {
        Ok((ok, reply)) => {
            replies.push(reply);
            if !ok && !untouched {
                tracing::error!(
                    "a checked write command failed after changing rows; its batch is rolled back"
                );
                return false;
            }
            true
        }
        Err(_) if untouched => {
            tracing::error!("a write command panicked before writing anything");
            true
        }
        Err(_) => {
            tracing::error!(
                "a write command panicked after changing rows; its batch is rolled back"
            );
            false
        }
    }
}

fn commit(
    conn: &Connection,
    replies: Vec<Reply>,
    durability: &Durability,
    listener: &ChangeListener,
) {
    match exec_cached(conn, "COMMIT") {
        Ok(()) => {
            // Before any caller hears "done": what it reads next is fresh.
            listener.committed();
            durability.committed(replies)
        }
        Err(e) => {
            tracing::error!(error = %e, "commit failed; the batch was rolled back");
            let _ = conn.execute_batch("ROLLBACK");
            for reply in replies {
                reply(Err(e.to_string()));
            }
        }
    }
}

/// Transaction-control statements run thousands of times a second: prepared
/// once and reused, not parsed per command.
fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn release(conn: &Connection) {
    if let Err(e) = exec_cached(conn, "RELEASE cmd") {
        tracing::error!(error = %e, "release savepoint failed");
    }
}

fn rollback_to(conn: &Connection) {
    if let Err(e) =
        exec_cached(conn, "ROLLBACK TO cmd").and_then(|_| exec_cached(conn, "RELEASE cmd"))
    {
        tracing::error!(error = %e, "rollback to savepoint failed");
    }
}
