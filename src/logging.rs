//! Log output: tracing's fmt layer writing into an in-memory buffer that a
//! background thread flushes to stdout every 50 ms.
//!
//! The access line (one per request) is written into the same buffer
//! directly, in the very format the fmt layer gives that event, text or
//! JSON ([`access`]): through tracing it cost a fifth of a cached read's own
//! work (the field visitor and `core::fmt` for five fields).
//!
//! Why not `tracing_appender::non_blocking`: it hands each line to its worker
//! through a channel, waking the worker once per line. With one access-log line
//! per request that is one futex wake and context switch per request, a large
//! share of a cached read's cost (docs/PERFORMANCE.md). Appending to a buffer
//! under a briefly held lock and flushing in batches costs a fraction.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
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
        if !self.line.is_empty() {
            append(&self.shared, &self.line);
        }
    }
}

fn append(shared: &Shared, line: &[u8]) {
    let mut buf = shared.buf.lock().unwrap_or_else(|p| p.into_inner());
    if buf.len() + line.len() > MAX_BUFFERED {
        shared.dropped.fetch_add(1, Ordering::Relaxed);
    } else {
        buf.extend_from_slice(line);
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
    let ansi = !json && std::io::stdout().is_terminal();
    // Coloured output (a developer's terminal) keeps the access line on
    // tracing, which colours it like the rest.
    if !ansi {
        let _ = DIRECT.set(Direct {
            shared: writer.0.clone(),
            json,
        });
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        builder.json().with_current_span(false).init();
    } else {
        builder.with_timer(Clock).with_ansi(ansi).init();
    }
    guard
}

/// Where [`access`] writes, once [`init`] has set up plain output.
struct Direct {
    shared: Arc<Shared>,
    json: bool,
}

static DIRECT: OnceLock<Direct> = OnceLock::new();

/// What the access line says of one request.
pub struct Access<'a> {
    /// The request id: checked to be short and printable.
    pub id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    /// Time to the response head, in microseconds.
    pub us: u64,
}

/// Writes the access line at `info` for `target: "access"`, as
/// `info!(target: "access", %id, %method, %path, status, us)` would, and
/// answers true; false when [`init`] has not set up plain output (tests, a
/// terminal), where the caller logs it through tracing. The caller checks
/// that the level is enabled.
pub fn access(a: &Access<'_>) -> bool {
    use std::cell::RefCell;
    thread_local! {
        static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(256));
    }
    let Some(direct) = DIRECT.get() else {
        return false;
    };
    LINE.with(|line| {
        let mut line = line.borrow_mut();
        line.clear();
        format_access(&mut line, a, direct.json);
        append(&direct.shared, &line);
    });
    true
}

fn format_access(out: &mut Vec<u8>, a: &Access<'_>, json: bool) {
    let mut n = itoa::Buffer::new();
    if json {
        out.extend_from_slice(b"{\"timestamp\":\"");
        timestamp(out);
        out.extend_from_slice(b"\",\"level\":\"INFO\",\"fields\":{\"id\":");
        json_str(out, a.id);
        out.extend_from_slice(b",\"method\":");
        json_str(out, a.method);
        out.extend_from_slice(b",\"path\":");
        json_str(out, a.path);
        out.extend_from_slice(b",\"status\":");
        out.extend_from_slice(n.format(a.status).as_bytes());
        out.extend_from_slice(b",\"us\":");
        out.extend_from_slice(n.format(a.us).as_bytes());
        out.extend_from_slice(b"},\"target\":\"access\"}\n");
    } else {
        // Display, as the fmt layer writes `%` fields: nothing here needs
        // escaping (the id was checked, HTTP paths hold no spaces or
        // control bytes).
        timestamp(out);
        out.extend_from_slice(b"  INFO access: id=");
        out.extend_from_slice(a.id.as_bytes());
        out.extend_from_slice(b" method=");
        out.extend_from_slice(a.method.as_bytes());
        out.extend_from_slice(b" path=");
        out.extend_from_slice(a.path.as_bytes());
        out.extend_from_slice(b" status=");
        out.extend_from_slice(n.format(a.status).as_bytes());
        out.extend_from_slice(b" us=");
        out.extend_from_slice(n.format(a.us).as_bytes());
        out.push(b'\n');
    }
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Timestamps as tracing's default writes them (`2026-12-07T18:04:13.123456Z`,
/// UTC), with the date and time of day formatted once a second per thread:
/// at one access line per request, formatting the whole instant every time
/// was a visible share of a cached read.
struct Clock;

impl tracing_subscriber::fmt::time::FormatTime for Clock {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        let mut out = Vec::with_capacity(32);
        timestamp(&mut out);
        w.write_str(std::str::from_utf8(&out).unwrap_or_default())
    }
}

/// Appends the current instant as `2026-12-07T18:04:13.123456Z`.
fn timestamp(out: &mut Vec<u8>) {
    use std::cell::RefCell;
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let (secs, micros) = (now.as_secs(), now.subsec_micros());
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let t = chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
                .unwrap_or_default();
            *cached = (secs, t.format("%Y-%m-%dT%H:%M:%S").to_string());
        }
        out.extend_from_slice(cached.1.as_bytes());
    });
    let mut frac = *b".000000Z";
    let mut m = micros;
    for d in frac[1..7].iter_mut().rev() {
        *d = b'0' + (m % 10) as u8;
        m /= 10;
    }
    out.extend_from_slice(&frac);
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::FormatTime;

    use super::{Access, Clock, format_access};

    /// What the fmt layer, configured as `init` configures it, writes for
    /// one access event.
    fn through_tracing(a: &Access<'_>, json: bool) -> String {
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        let make = move || Captured(sink.clone());
        let builder = tracing_subscriber::fmt()
            .with_writer(make)
            .with_max_level(tracing::Level::INFO);
        let (id, method, path, status, us) = (a.id, a.method, a.path, a.status, a.us);
        let emit = || tracing::info!(target: "access", %id, %method, %path, status, us);
        if json {
            tracing::subscriber::with_default(
                builder.json().with_current_span(false).finish(),
                emit,
            );
        } else {
            tracing::subscriber::with_default(
                builder.with_timer(Clock).with_ansi(false).finish(),
                emit,
            );
        }
        String::from_utf8(out.lock().unwrap().clone()).unwrap()
    }

    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The instant (which differs between two writes) made equal.
    fn without_time(line: &str) -> String {
        let at = line.find("20").expect(line);
        format!("{}<t>{}", &line[..at], &line[at + 27..])
    }

    #[test]
    fn the_direct_access_line_is_the_one_tracing_would_write() {
        let paths = [
            "/api/events/01M992W4FJ4QNQ0QB5JZMZ1C3H",
            "/api/x\"y\\z",
            "/中文",
        ];
        for json in [false, true] {
            for path in paths {
                let a = Access {
                    id: "0F2KTMZW-543285",
                    method: "GET",
                    path,
                    status: 404,
                    us: 1234,
                };
                let mut ours = Vec::new();
                format_access(&mut ours, &a, json);
                let ours = String::from_utf8(ours).unwrap();
                assert_eq!(
                    without_time(&ours),
                    without_time(&through_tracing(&a, json)),
                    "json: {json}"
                );
                if json {
                    let v: serde_json::Value = serde_json::from_str(&ours).unwrap();
                    assert_eq!(v["fields"]["path"], path);
                    chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str().unwrap()).unwrap();
                }
            }
        }
    }

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
