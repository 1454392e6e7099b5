//! Catalogue read benchmark: the real release binary against a trivial axum JSON
//! handler, both loaded by `wrk -t2 -c256` on this machine in one sitting.
//!
//!   cargo build --release && cargo run --release --example catalog -- [--duration 10] [--rounds 1] [--connections 256] [--pin]
//!
//! With `--rounds N` every endpoint is loaded N times, round-robin (so a
//! noisy minute hits all of them alike), and the median is reported. With
//! `--pin` the servers (ours and the trivial one) share CPU 1 and wrk runs
//! alone on CPU 0 with one thread: the steadier comparison on two cores.
//!
//! Also reports start-up time to a ready /healthz on the demo database, idle and
//! peak memory (RSS), and the binary's size. Needs `wrk` (apt-get install wrk).

use std::path::PathBuf;

#[path = "support/mod.rs"]
mod support;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    duration: u64,
    rounds: usize,
    connections: u64,
    bin: PathBuf,
    log_level: String,
    /// Servers on CPU 1, wrk (one thread) on CPU 0: on a shared two-core
    /// machine the servers then never compete with the load generator, and
    /// the figures stop swinging with how the scheduler mixes them.
    pin: bool,
}

fn args() -> Args {
    let mut a = Args {
        duration: 10,
        rounds: 1,
        connections: 256,
        bin: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/standup-tickets"),
        log_level: "info".into(),
        pin: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--pin" {
            a.pin = true;
            continue;
        }
        let val = it.next().unwrap_or_default();
        match flag.as_str() {
            "--duration" => a.duration = val.parse().expect("--duration seconds"),
            "--rounds" => a.rounds = val.parse().expect("--rounds n"),
            "--connections" => a.connections = val.parse().expect("--connections n"),
            "--bin" => a.bin = PathBuf::from(val),
            "--log-level" => a.log_level = val,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn get(url: &str) -> Option<(u16, String)> {
    // A minimal blocking HTTP/1.0 GET keeps the benchmark free of client crates.
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}")))?;
    let mut s = std::net::TcpStream::connect(host).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|x| x.1.to_string())?;
    Some((status, body))
}

// The caller kills and waits for the returned child.
#[allow(clippy::zombie_processes)]
fn start_server(a: &Args, dir: &std::path::Path, port: u16) -> (Child, Duration) {
    let t0 = Instant::now();
    let mut cmd = if a.pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(&a.bin);
        c
    } else {
        Command::new(&a.bin)
    };
    let mut child = cmd
        .env("DATA_DIR", dir)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("LOG_LEVEL", &a.log_level)
        // The per-IP limit stays on (its check is part of every request's
        // cost) but far above what one load generator on loopback sends.
        .env("RATE_LIMIT_API", "100000000/s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (cargo build --release first)",
                a.bin.display()
            )
        });
    let url = format!("http://127.0.0.1:{port}/healthz");
    loop {
        if let Some((200, _)) = get(&url) {
            return (child, t0.elapsed());
        }
        if t0.elapsed() > Duration::from_secs(10) {
            child.kill().ok();
            child.wait().ok();
            panic!("server did not start");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct WrkResult {
    rps: f64,
    /// CPU time the serving process spent per answered request, in µs:
    /// quieter than throughput on a shared machine, since it does not
    /// depend on how the scheduler splits the cores with wrk.
    cpu_us: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: String,
}

fn to_ms(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => f64::NAN,
    }
}

/// User plus system CPU time of a process so far, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at `) `.
    let rest = stat.rsplit_once(") ").map_or("", |x| x.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line (1-based).
    let hz = 100.0; // USER_HZ on Linux
    (ticks(11) + ticks(12)) / hz
}

fn wrk(a: &Args, url: &str, server_pid: u32) -> WrkResult {
    let cpu_before = cpu_seconds(server_pid);
    let mut cmd = if a.pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", "wrk", "-t1"]);
        c
    } else {
        let mut c = Command::new("wrk");
        c.arg("-t2");
        c
    };
    let out = cmd
        .args([
            &format!("-c{}", a.connections),
            &format!("-d{}s", a.duration),
            "--latency",
            url,
        ])
        .output()
        .expect("wrk is installed (apt-get install wrk)");
    let cpu = cpu_seconds(server_pid) - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let find = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .collect::<Vec<_>>()
        .join("; ");
    // "123456 requests in 4.00s, …"
    let requests: f64 = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    WrkResult {
        rps: find("Requests/sec:").parse().unwrap_or(0.0),
        cpu_us: if requests > 0.0 {
            cpu * 1e6 / requests
        } else {
            f64::NAN
        },
        p50_ms: to_ms(&find("50%")),
        p99_ms: to_ms(&find("99%")),
        errors,
    }
}

/// The run with the median throughput (its latencies with it).
fn median(mut rs: Vec<WrkResult>) -> WrkResult {
    rs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    rs.swap_remove(rs.len() / 2)
}

fn main() {
    let a = args();
    let dir = tempfile::tempdir().unwrap();

    // First start: migrations + demo club. Second start: the demo database.
    let port = support::free_port();
    let (mut first, cold) = start_server(&a, dir.path(), port);
    first.kill().ok();
    first.wait().ok();
    let port = support::free_port();
    let (mut server, warm) = start_server(&a, dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let (_, list) = get(&format!("{base}/api/events?tenantId=demo")).unwrap();
    let id_at = list.find("\"id\":\"").expect("an event") + 6;
    let event_id = &list[id_at..id_at + 26];
    let idle_kb = rss_kb(server.id(), "VmRSS:");

    let trivial_port = support::free_port();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if a.pin {
        // The trivial handlers run in this process: its threads (the
        // runtime's included) go to CPU 1 with the server.
        let pinned = Command::new("taskset")
            .args(["-a", "-p", "-c", "1", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success());
        assert!(
            matches!(pinned, Ok(true)),
            "--pin needs taskset (util-linux)"
        );
    }
    // A second baseline returns the very bytes of the event detail answer, so
    // the cost of moving a 1.2 KB body through the kernel is on both sides.
    let (_, detail_body) = get(&format!("{base}/api/events/{event_id}")).unwrap();
    let detail_body = bytes::Bytes::from(detail_body);
    let headed_body = detail_body.clone();
    let (_, home_body) = get(&format!("{base}/api/events/home?tenantId=demo")).unwrap();
    let home_body = bytes::Bytes::from(home_body);
    let (_, list_body) = get(&format!("{base}/api/events?tenantId=demo")).unwrap();
    let list_body = bytes::Bytes::from(list_body);
    rt.spawn(async move {
        let app = axum::Router::new()
            .route(
                "/ping",
                axum::routing::get(|| async { axum::Json(serde_json::json!({"ok": true})) }),
            )
            .route(
                "/same-bytes",
                axum::routing::get(move || {
                    let b = detail_body.clone();
                    async move { ([("content-type", "application/json")], b) }
                }),
            )
            .route(
                "/same-bytes-headed",
                axum::routing::get(move || {
                    let b = headed_body.clone();
                    async move {
                        let mut res = axum::response::IntoResponse::into_response((
                            [("content-type", "application/json")],
                            b,
                        ));
                        for (n, v) in support::HARDENING {
                            res.headers_mut().insert(
                                axum::http::HeaderName::from_static(n),
                                axum::http::HeaderValue::from_static(v),
                            );
                        }
                        res
                    }
                }),
            )
            .route(
                "/same-bytes-home",
                axum::routing::get(move || {
                    let b = home_body.clone();
                    async move { ([("content-type", "application/json")], b) }
                }),
            )
            .route(
                "/same-bytes-list",
                axum::routing::get(move || {
                    let b = list_body.clone();
                    async move { ([("content-type", "application/json")], b) }
                }),
            );
        let l = tokio::net::TcpListener::bind(("127.0.0.1", trivial_port))
            .await
            .unwrap();
        axum::serve(l, app).await.unwrap();
    });
    std::thread::sleep(Duration::from_millis(100));

    let targets = [
        (
            "trivial axum JSON (baseline)",
            format!("http://127.0.0.1:{trivial_port}/ping"),
        ),
        (
            "trivial, + our headers, detail",
            format!("http://127.0.0.1:{trivial_port}/same-bytes-headed"),
        ),
        (
            "trivial, same bytes as detail",
            format!("http://127.0.0.1:{trivial_port}/same-bytes"),
        ),
        (
            "GET /api/events/{id}",
            format!("{base}/api/events/{event_id}"),
        ),
        (
            "trivial, same bytes as home",
            format!("http://127.0.0.1:{trivial_port}/same-bytes-home"),
        ),
        (
            "GET /api/events/home",
            format!("{base}/api/events/home?tenantId=demo"),
        ),
        (
            "trivial, same bytes as list",
            format!("http://127.0.0.1:{trivial_port}/same-bytes-list"),
        ),
        (
            "GET /api/events (list)",
            format!("{base}/api/events?tenantId=demo"),
        ),
    ];
    println!(
        "wrk -t{} -c{} -d{}s{}, median of {} round(s), server LOG_LEVEL={} (one access-log line per request at info)\n",
        if a.pin { 1 } else { 2 },
        a.connections,
        a.duration,
        if a.pin {
            ", servers pinned to CPU 1 and wrk to CPU 0"
        } else {
            ""
        },
        a.rounds.max(1),
        a.log_level
    );
    println!(
        "{:<32} {:>10} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "endpoint",
        "req/s",
        "p50 ms",
        "p99 ms",
        "ratio",
        "vs same",
        "CPU µs",
        "CPU same",
        "vs +hdrs"
    );
    // Each cached read is also compared with the trivial handler just
    // before it that returns its very bytes: the fair yardstick.
    let mut runs: Vec<Vec<WrkResult>> = targets.iter().map(|_| Vec::new()).collect();
    for _ in 0..a.rounds.max(1) {
        for (i, (_, url)) in targets.iter().enumerate() {
            // The trivial handlers are served by this very process.
            let pid = if url.contains(&format!(":{trivial_port}/")) {
                std::process::id()
            } else {
                server.id()
            };
            runs[i].push(wrk(&a, url, pid));
        }
    }
    let (mut baseline, mut same, mut same_cpu, mut headed) = (0.0, 0.0, 0.0, 0.0);
    for ((name, _), rs) in targets.iter().zip(runs) {
        let r = median(rs);
        if baseline == 0.0 {
            baseline = r.rps;
        }
        // "CPU same": the same-bytes handler's CPU per request as a share
        // of this one's (100% = costs the server no more than sending the
        // bytes).
        // "vs +hdrs": against the same bytes sent with our headers as
        // well (the detail only), what our code costs beyond the headers.
        let vs_headed = if name.starts_with("trivial, + our headers") {
            headed = r.rps;
            String::new()
        } else if name.starts_with("GET") && headed > 0.0 {
            let v = format!("{:.0}%", 100.0 * r.rps / headed);
            headed = 0.0;
            v
        } else {
            String::new()
        };
        let (vs_same, cpu_same) = if name.starts_with("trivial, same bytes") {
            (same, same_cpu) = (r.rps, r.cpu_us);
            (String::new(), String::new())
        } else if name.starts_with("GET") && same > 0.0 {
            (
                format!("{:.0}%", 100.0 * r.rps / same),
                format!("{:.0}%", 100.0 * same_cpu / r.cpu_us),
            )
        } else {
            (String::new(), String::new())
        };
        println!(
            "{:<32} {:>10.0} {:>9.2} {:>9.2} {:>7.0}% {:>8} {:>9.1} {:>9} {:>9} {}",
            name,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            100.0 * r.rps / baseline,
            vs_same,
            r.cpu_us,
            cpu_same,
            vs_headed,
            r.errors
        );
    }
    let peak_kb = rss_kb(server.id(), "VmHWM:");
    let size = std::fs::metadata(&a.bin).map(|m| m.len()).unwrap_or(0);
    println!();
    println!(
        "start-up to ready /healthz: {:.1} ms on the demo database ({:.1} ms first start incl. migrations + demo load)",
        warm.as_secs_f64() * 1000.0,
        cold.as_secs_f64() * 1000.0
    );
    println!(
        "memory: idle {:.1} MB RSS, peak under load {:.1} MB",
        idle_kb as f64 / 1024.0,
        peak_kb as f64 / 1024.0
    );
    println!(
        "release binary: {:.1} MB ({})",
        size as f64 / 1_048_576.0,
        a.bin.display()
    );
    server.kill().ok();
    server.wait().ok();
}
