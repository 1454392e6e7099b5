//! Log output: tracing's fmt layer writing into an in-memory buffer that a
//! background thread flushes to stdout every 50 ms.
//!
//! Why not `tracing_appender::non_blocking`: it hands each line to its worker
//! through a channel, waking the worker once per line. With one access-log line
//! per request that is one futex wake and context switch per request, a large
//! share of a cached read's cost (docs/PERFORMANCE.md). Appending to a buffer
//! under a briefly held lock and flushing in batches costs a fraction.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Beyond this much unflushed output (stdout stuck), lines are dropped and
/// counted rather than stalling requests or growing memory.
const MAX_BUFFERED: usize = 8 << 20;
const FLUSH_EVERY: Duration = Duration::from_millis(50);

struct Shared {
    buf: Mutex<Vec<u8>>,
    dropped: AtomicU64,
    stop: Mutex<bool>,
    wake: Condvar,
}

#[derive(Clone)]
pub struct BatchedStdout(Arc<Shared>);

/// Flushes what is buffered and stops the flusher when dropped (at exit).
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BatchedStdout {
    pub fn start() -> (BatchedStdout, FlushGuard) {
        let shared = Arc::new(Shared {
            buf: Mutex::new(Vec::with_capacity(64 << 10)),
            dropped: AtomicU64::new(0),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("log-flusher".into())
            .spawn(move || flusher(&s))
            .ok();
        (BatchedStdout(shared.clone()), FlushGuard { shared, thread })
    }
}

fn flush_once(shared: &Shared, spare: &mut Vec<u8>) {
    {
        let mut buf = shared.buf.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut *buf, spare);
    }
    let dropped = shared.dropped.swap(0, Ordering::Relaxed);
    let mut out = std::io::stdout().lock();
    if !spare.is_empty() {
        let _ = out.write_all(spare);
        spare.clear();
    }
    if dropped > 0 {
        let _ = writeln!(out, "WARN log output fell behind: {dropped} lines dropped");
    }
    let _ = out.flush();
}

fn flusher(shared: &Shared) {
    let mut spare = Vec::with_capacity(64 << 10);
    loop {
        let stop = {
            let guard = shared.stop.lock().unwrap_or_else(|p| p.into_inner());
            let (guard, _) = shared
                .wake
                .wait_timeout(guard, FLUSH_EVERY)
                .unwrap_or_else(|p| p.into_inner());
            *guard
        };
        flush_once(shared, &mut spare);
        if stop {
            return;
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        *self.shared.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One formatted event: tracing-subscriber writes a line in pieces, so it is
/// assembled here and appended to the shared buffer in one go on drop.
pub struct LineWriter {
    shared: Arc<Shared>,
    line: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let mut buf = self.shared.buf.lock().unwrap_or_else(|p| p.into_inner());
        if buf.len() + self.line.len() > MAX_BUFFERED {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            buf.extend_from_slice(&self.line);
        }
    }
}

impl<'a> MakeWriter<'a> for BatchedStdout {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            shared: self.0.clone(),
            line: Vec::with_capacity(256),
        }
    }
}

/// Installs the global subscriber. Keep the guard alive until exit.
pub fn init(level: &str, json: bool) -> FlushGuard {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::builder()
        .parse(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = BatchedStdout::start();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        builder.json().with_current_span(false).init();
    } else {
        builder
            .with_timer(Clock)
            .with_ansi(std::io::stdout().is_terminal())
            .init();
    }
    guard
}

/// Timestamps as tracing's default writes them (`2026-12-07T18:04:13.123456Z`,
/// UTC), with the date and time of day formatted once a second per thread:
/// at one access line per request, formatting the whole instant every time
/// was a visible share of a cached read.
struct Clock;

impl tracing_subscriber::fmt::time::FormatTime for Clock {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        use std::cell::RefCell;
        thread_local! {
            static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let (secs, micros) = (now.as_secs(), now.subsec_micros());
        let mut frac = *b".000000Z";
        let mut m = micros;
        for d in frac[1..7].iter_mut().rev() {
            *d = b'0' + (m % 10) as u8;
            m /= 10;
        }
        SECOND.with(|cell| {
            let mut cached = cell.borrow_mut();
            if cached.0 != secs {
                let t = chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
                    .unwrap_or_default();
                *cached = (secs, t.format("%Y-%m-%dT%H:%M:%S").to_string());
            }
            w.write_str(&cached.1)
        })?;
        w.write_str(std::str::from_utf8(&frac).unwrap_or(".000000Z"))
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::FormatTime;

    #[test]
    fn timestamps_read_as_rfc3339_utc_with_microseconds() {
        let mut out = String::new();
        for _ in 0..2 {
            out.clear();
            super::Clock
                .format_time(&mut Writer::new(&mut out))
                .unwrap();
            let t = chrono::DateTime::parse_from_rfc3339(&out).expect(&out);
            let drift = (chrono::Utc::now() - t.to_utc()).num_milliseconds().abs();
            assert!(drift < 2_000, "{out}");
            assert_eq!(out.len(), "2026-12-07T18:04:13.123456Z".len(), "{out}");
        }
    }
}
