//! The on-sale rush, measured.
//!
//!   cargo build --release
//!   cargo run --release --example onsale -- --buyers 5000 --seats 500 --concurrency 256
//!
//! Starts the release binary on a temporary data dir (or targets `--url` with
//! `--event` / `--option` there), logs in N dev-mode buyers, and runs:
//!  1. the race: every buyer tries for one of `--seats` seats at once;
//!  2. throughput: `--requests` orders against plentiful stock, with group
//!     commit on, then again with it off (`WRITER_MAX_BATCH=1`);
//!  3. a trivial JSON endpoint (its own process) under the same client, for the
//!     ratio.
//!
//! Prints orders/s, p50/p95/p99 latency, successes, SOLD_OUT, and an oversell
//! check read back from the database.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use standup_tickets::store::orders::check_invariants;

/// The server binary runs on mimalloc; so do this load generator and the
/// trivial endpoint it compares against, so the ratio compares like with like.
#[global_allocator]
static ALLOC: standup_tickets::alloc::Allocator = standup_tickets::alloc::Allocator;

struct Args {
    buyers: usize,
    seats: i64,
    concurrency: usize,
    requests: usize,
    bin: PathBuf,
    url: Option<String>,
    log_level: String,
}

fn args() -> Args {
    let mut a = Args {
        buyers: 5000,
        seats: 500,
        concurrency: 256,
        requests: 100_000,
        bin: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/standup-tickets"),
        url: None,
        log_level: "info".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--trivial-server" {
            continue;
        }
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--buyers" => a.buyers = v.parse().expect("--buyers N"),
            "--seats" => a.seats = v.parse().expect("--seats S"),
            "--concurrency" => a.concurrency = v.parse().expect("--concurrency C"),
            "--requests" => a.requests = v.parse().expect("--requests R"),
            "--bin" => a.bin = PathBuf::from(v),
            "--url" => a.url = Some(v),
            "--log-level" => a.log_level = v,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn start_server(a: &Args, dir: &Path, port: u16, batch: usize) -> Child {
    let mut child = Command::new(&a.bin)
        .env("DATA_DIR", dir)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("LOG_LEVEL", &a.log_level)
        .env("DEMO_DATA", "off")
        .env("WRITER_MAX_BATCH", batch.to_string())
        // Limits stay on (their checks are part of each request's cost) but
        // far above what one load generator on loopback sends.
        .env("RATE_LIMIT_API", "100000000/s")
        .env("RATE_LIMIT_LOGIN", "100000000/s")
        .env("RATE_LIMIT_ORDERS", "100000000/s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (cargo build --release first)",
                a.bin.display()
            )
        });
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if t0.elapsed() > Duration::from_secs(10) {
            child.kill().ok();
            child.wait().ok();
            panic!("server did not start");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn rss_mb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

#[derive(Default)]
struct Outcome {
    ok: usize,
    sold_out: usize,
    other: Vec<String>,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Outcome {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
    fn per_sec(&self, n: usize) -> f64 {
        n as f64 / self.elapsed.as_secs_f64()
    }
    fn print(&self, label: &str, total: usize) {
        println!(
            "{label:<34} {:>9.0} req/s {:>9.0} ok/s  p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms  ok {} sold-out {} other {}",
            self.per_sec(total),
            self.per_sec(self.ok),
            self.pct(0.50),
            self.pct(0.95),
            self.pct(0.99),
            self.ok,
            self.sold_out,
            self.other.len()
        );
        if let Some(first) = self.other.first() {
            println!("    first unexpected answer: {first}");
        }
    }
}

/// One request, already serialized as HTTP/1.1 bytes.
type RawRequest = Vec<u8>;

fn raw_post(path: &str, headers: &[(&str, &str)], body: &Value) -> RawRequest {
    let body = body.to_string();
    let mut r = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    r.into_bytes()
}

/// Reads one HTTP/1.1 response (Content-Length framed, as axum answers
/// JSON) from `stream`, keeping any surplus in `buf`; returns status, body.
async fn read_response(
    stream: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<(u16, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
            let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let total = end + 4 + len;
            while buf.len() < total {
                if stream.read_buf(buf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            let body = buf[end + 4..total].to_vec();
            buf.drain(..total);
            return Ok((status, body));
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

async fn connect(addr: String) -> tokio::net::TcpStream {
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.set_nodelay(true).ok();
    stream
}

/// Sends every request with `concurrency` keep-alive connections, each with
/// one request in flight; records each answer. A minimal HTTP/1.1 client
/// (like wrk) so the load generator takes as little of the two cores as
/// possible from the server it measures.
async fn fire(addr: &str, requests: Vec<RawRequest>, concurrency: usize) -> Outcome {
    use tokio::io::AsyncWriteExt;
    let total = requests.len();
    // Tasks claim requests by index: no lock for 256 tasks to queue on.
    let queue = Arc::new((requests, AtomicUsize::new(0)));
    // Connections are opened before the clock starts: a burst of connects
    // now and then loses a SYN, whose 1 s retransmit would otherwise be
    // counted against a sub-second run.
    let mut streams = Vec::new();
    for _ in 0..concurrency.min(total.max(1)) {
        streams.push(tokio::spawn(connect(addr.to_string())));
    }
    let mut ready = Vec::new();
    for s in streams {
        ready.push(s.await.unwrap());
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut stream in ready {
        let (queue, addr) = (queue.clone(), addr.to_string());
        tasks.push(tokio::spawn(async move {
            let mut o = Outcome::default();
            let mut buf = Vec::with_capacity(4096);
            while let Some(req) = queue.0.get(queue.1.fetch_add(1, Ordering::Relaxed)) {
                let t0 = Instant::now();
                let res = match stream.write_all(req).await {
                    Ok(()) => read_response(&mut stream, &mut buf).await,
                    Err(e) => Err(e),
                };
                let lat = t0.elapsed();
                match res {
                    Ok((200, _)) => o.ok += 1,
                    Ok((status, body)) => {
                        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        if body["error"] == "SOLD_OUT" {
                            o.sold_out += 1;
                        } else {
                            o.other.push(format!("{status} {body}"));
                        }
                    }
                    Err(e) => {
                        o.other.push(e.to_string());
                        stream = connect(addr.clone()).await;
                        buf.clear();
                    }
                }
                o.latencies.push(lat);
            }
            o
        }));
    }
    let mut all = Outcome::default();
    for t in tasks {
        let o = t.await.unwrap();
        all.ok += o.ok;
        all.sold_out += o.sold_out;
        all.other.extend(o.other);
        all.latencies.extend(o.latencies);
    }
    all.elapsed = start.elapsed();
    all.latencies.sort();
    all
}

async fn login_all(
    client: &reqwest::Client,
    base: &str,
    n: usize,
    concurrency: usize,
) -> Vec<String> {
    let tokens = Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.min(n) {
        let (client, base, tokens, next) = (
            client.clone(),
            base.to_string(),
            tokens.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r: Value = client
                    .post(format!("{base}/api/auth/wechat/login"))
                    .json(&json!({"code": format!("buyer{i}"), "tenantId": "bench"}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                tokens.lock().unwrap()[i] = r["data"]["token"].as_str().expect("login").to_string();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(tokens).unwrap().into_inner().unwrap()
}

fn order_requests(
    tokens: &[String],
    (event, option): (&str, &str),
    n: usize,
    key_prefix: &str,
) -> Vec<RawRequest> {
    (0..n)
        .map(|i| {
            raw_post(
                "/api/orders",
                &[
                    (
                        "Authorization",
                        &format!("Bearer {}", tokens[i % tokens.len()]),
                    ),
                    ("Idempotency-Key", &format!("{key_prefix}-{i}")),
                ],
                &json!({"eventId": event, "priceOptionId": option, "quantity": 1,
                        "userInfo": {"name": "张三", "phone": "13800138000"}}),
            )
        })
        .collect()
}

/// The same client against a trivial JSON endpoint in its own process: the
/// ceiling the order figures are compared with. Measured first, on a quiet
/// machine; the best of two rounds is kept.
async fn trivial(a: &Args) -> f64 {
    let port = support::free_port();
    let mut server = Command::new(std::env::current_exe().unwrap())
        .args(["--trivial-server", &port.to_string()])
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut best = 0.0f64;
    for _ in 0..2 {
        let reqs = (0..a.requests)
            .map(|_| raw_post("/ping", &[], &json!({"eventId": "x", "quantity": 1})))
            .collect();
        let cpu0 = cpu_secs(server.id());
        let t = fire(&format!("127.0.0.1:{port}"), reqs, a.concurrency).await;
        t.print("trivial JSON endpoint", a.requests);
        print_cpu(&cpu0, &cpu_secs(server.id()), a.requests);
        best = best.max(t.per_sec(t.ok));
    }
    server.kill().ok();
    server.wait().ok();
    println!();
    best
}

fn trivial_server() -> ! {
    let port: u16 = std::env::args().nth(2).unwrap().parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let app = axum::Router::new().route(
            "/ping",
            axum::routing::post(|| async { axum::Json(json!({"ok": true})) }),
        );
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        axum::serve(l, app).await.unwrap();
    });
    std::process::exit(0)
}

/// CPU seconds (user + system) each thread name of a process has used so
/// far, from `/proc/PID/task/*/stat` (Linux; empty elsewhere). Wall-clock
/// rates on a shared two-core machine swing by ±10% between runs; the
/// server's CPU time per request, and where it goes, is the steadier figure
/// when comparing two builds.
fn cpu_secs(pid: u32) -> std::collections::BTreeMap<String, f64> {
    let mut by_name = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_name;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // "TID (NAME) STATE ..."; utime and stime are the 14th and 15th
        // fields, in clock ticks (100 per second).
        let (Some((head, rest)), Some(open)) = (stat.rsplit_once(')'), stat.find('(')) else {
            continue;
        };
        let name = head[open + 1..].to_string();
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        *by_name.entry(name).or_insert(0.0) += (ticks(11) + ticks(12)) / 100.0;
    }
    by_name
}

fn print_cpu(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
    requests: usize,
) {
    let per = |secs: f64| secs * 1e6 / requests as f64;
    let total: f64 = after.values().sum::<f64>() - before.values().sum::<f64>();
    let parts: Vec<String> = after
        .iter()
        .map(|(name, s)| (name, s - before.get(name).copied().unwrap_or(0.0)))
        .filter(|(_, s)| per(*s) >= 0.5)
        .map(|(name, s)| format!("{name} {:.1}", per(s)))
        .collect();
    println!(
        "    server CPU {:.1} µs per request ({})",
        per(total),
        parts.join(", ")
    );
}

fn read_back(db: &Path, option: &str) -> (i64, i64, Result<(), String>) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let (total, held_or_sold): (i64, i64) = conn
        .query_row(
            "SELECT p.total_count, COALESCE((SELECT SUM(quantity) FROM orders o
                 WHERE o.price_option_id = p.id AND o.status IN ('pending', 'paid', 'used')), 0)
             FROM price_options p WHERE p.id = ?1",
            [option],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    (total, held_or_sold, check_invariants(&conn).unwrap())
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--trivial-server") {
        trivial_server();
    }
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run(args()));
}

async fn run(a: Args) {
    standup_tickets::wechat::install_crypto_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .build()
        .unwrap();
    println!(
        "buyers {}, seats {}, concurrency {}, requests {}, server LOG_LEVEL={} ({} cores)\n",
        a.buyers,
        a.seats,
        a.concurrency,
        a.requests,
        a.log_level,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );

    let trivial_rate = trivial(&a).await;

    // Each mode gets a fresh data dir and runs the same load twice: "cold"
    // while SQLite's WAL file is still growing (each commit's fsync then
    // also extends the file), "warm" once the WAL is being reused, as on a
    // server that has been up for a while.
    let mut results: Vec<(usize, f64, f64)> = Vec::new();
    let batches: Vec<usize> = match std::env::var("ONSALE_BATCHES") {
        Ok(v) => v.split(',').map(|b| b.parse().unwrap()).collect(),
        Err(_) => vec![standup_tickets::store::writer::DEFAULT_MAX_BATCH, 1],
    };
    for batch in batches {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("standup-tickets.db");
        let (race_event, race_option, bulk_event, bulk_option) =
            support::seed_rush(&db, a.seats).await;
        let port = support::free_port();
        let mut server = start_server(&a, dir.path(), port, batch);
        let base = format!("http://127.0.0.1:{port}");
        let t0 = Instant::now();
        let tokens = login_all(&client, &base, a.buyers, a.concurrency).await;
        let mode = if batch > 1 {
            format!("group commit {batch}")
        } else {
            "batching off".to_string()
        };
        println!(
            "[{mode}] logged in {} buyers in {:.2} s",
            tokens.len(),
            t0.elapsed().as_secs_f64()
        );
        let addr = format!("127.0.0.1:{port}");
        let race = fire(
            &addr,
            order_requests(&tokens, (&race_event, &race_option), tokens.len(), "race"),
            a.concurrency,
        )
        .await;
        race.print(&format!("race, {mode}"), tokens.len());
        let (total, taken, invariants) = read_back(&db, &race_option);
        println!(
            "    oversell check: {taken} of {total} seats taken, {} buyers told success, invariants {:?} -> {}",
            race.ok,
            invariants,
            if taken <= total && taken as usize == race.ok && invariants.is_ok() {
                "OK, no oversell"
            } else {
                "FAILED"
            }
        );
        let mut rates = Vec::new();
        for phase in ["cold", "warm"] {
            let reqs = order_requests(
                &tokens,
                (&bulk_event, &bulk_option),
                a.requests,
                &format!("bulk-{phase}"),
            );
            let cpu0 = cpu_secs(server.id());
            let own0 = cpu_secs(std::process::id());
            let out = fire(&addr, reqs, a.concurrency).await;
            out.print(&format!("throughput {phase}, {mode}"), a.requests);
            print_cpu(&cpu0, &cpu_secs(server.id()), a.requests);
            let own: f64 =
                cpu_secs(std::process::id()).values().sum::<f64>() - own0.values().sum::<f64>();
            println!(
                "    load generator CPU {:.1} µs per request",
                own * 1e6 / a.requests as f64
            );
            rates.push(out.per_sec(out.ok));
        }
        // The peak counts the database pages the server has mapped (mmap),
        // which the kernel can drop at will; the heap is RssAnon.
        println!(
            "    server peak memory {:.1} MB (now: heap {:.1} MB, mapped database file {:.1} MB)",
            rss_mb(server.id(), "VmHWM:"),
            rss_mb(server.id(), "RssAnon:"),
            rss_mb(server.id(), "RssFile:")
        );
        server.kill().ok();
        server.wait().ok();
        let (_, _, invariants) = read_back(&db, &bulk_option);
        println!("    invariants after the runs: {invariants:?}\n");
        results.push((batch, rates[0], rates[1]));
    }

    println!();
    for (batch, cold, warm) in &results {
        println!(
            "WRITER_MAX_BATCH={batch:<3} orders/s cold {cold:>8.0}  warm {warm:>8.0}  = {:.0}% of the trivial endpoint (warm)",
            100.0 * warm / trivial_rate
        );
    }
    if let (Some(on), Some(off)) = (
        results.iter().find(|r| r.0 > 1),
        results.iter().find(|r| r.0 == 1),
    ) {
        println!(
            "group commit vs batching off: {:.1}x cold, {:.1}x warm",
            on.1 / off.1.max(1.0),
            on.2 / off.2.max(1.0)
        );
    }
}
