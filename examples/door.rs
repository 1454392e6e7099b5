//! The door on show night, measured.
//!
//!   cargo build --release
//!   cargo run --release --example door -- --tickets 2000 --scanners 4
//!
//! Seeds one show tonight with `--tickets` paid single-ticket orders (through
//! the store's own order and payment functions), starts the release binary
//! and lets `--scanners` stewards scan every ticket once, each waiting for
//! its answer before the next scan as a handheld does: scans/s and the
//! latency a steward sees (p50 / p99), then a second pass that must answer
//! TICKET_ALREADY_USED for every ticket.
//!
//! Then the offline door, on as many tickets again: the pack download, one
//! device's upload of a scan of each (all accepted), the same upload again
//! (a replay: answered from the history, nothing changes), and a second
//! device's upload of later scans of the same tickets (all duplicates).
//!
//! Last, what an idle door costs an hour while online: a poll of the show's
//! door changes every 2 s (an empty 304) and a conditional pack download
//! every 5 minutes (304 while nothing changed), counted in bytes on the wire
//! both ways over one kept-alive connection, as a phone's browser sends them.

#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

#[global_allocator]
static ALLOC: standup_tickets::alloc::Allocator = standup_tickets::alloc::Allocator;

struct Args {
    tickets: usize,
    scanners: usize,
    bin: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        tickets: 2000,
        scanners: 4,
        bin: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/standup-tickets"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--tickets" => a.tickets = v.parse().expect("--tickets N"),
            "--scanners" => a.scanners = v.parse().expect("--scanners N"),
            "--bin" => a.bin = PathBuf::from(v),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// Every code scanned once, split between the scanners; returns
/// (scans/s, sorted latencies, answers by status).
async fn pass(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    codes: &[String],
    scanners: usize,
) -> (f64, Vec<Duration>, std::collections::BTreeMap<u16, usize>) {
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..scanners {
        let mine: Vec<String> = codes.iter().skip(s).step_by(scanners).cloned().collect();
        let (client, base, token) = (client.clone(), base.to_string(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(mine.len());
            for code in mine {
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/api/admin/checkin"))
                    .bearer_auth(&token)
                    .json(&json!({"qrCode": code, "deviceId": format!("scanner-{s}")}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                r.bytes().await.unwrap();
                out.push((t.elapsed(), status));
            }
            out
        }));
    }
    let mut lat = Vec::new();
    let mut by_status = std::collections::BTreeMap::new();
    for t in tasks {
        for (d, s) in t.await.unwrap() {
            lat.push(d);
            *by_status.entry(s).or_insert(0) += 1;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    lat.sort();
    (codes.len() as f64 / secs, lat, by_status)
}

#[tokio::main]
async fn main() {
    standup_tickets::wechat::install_crypto_provider();
    let a = args();
    let dir = tempfile::tempdir().unwrap();
    let mut codes = support::seed_door(&dir.path().join("standup-tickets.db"), 2 * a.tickets).await;
    let offline = codes.split_off(a.tickets);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = support::start_server(&a.bin, dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/admin/auth/login"))
        .json(&json!({"username": "door", "password": "bench-password-1", "tenantId": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"]["token"].as_str().unwrap().to_string();
    println!(
        "{} tickets, {} scanners, one scan at a time each",
        codes.len(),
        a.scanners
    );
    for label in [
        "first pass (every ticket in)",
        "second pass (all already used)",
    ] {
        let (rate, lat, by_status) = pass(&client, &base, &token, &codes, a.scanners).await;
        println!(
            "{label:<32} {rate:>7.0} scans/s  p50 {:>5.2} ms  p99 {:>5.2} ms  answers {by_status:?}",
            support::pct(&lat, 0.5),
            support::pct(&lat, 0.99)
        );
    }
    offline_door(&client, &base, &token, &offline).await;
    idle_door(&client, port, &token).await;
    server.kill().ok();
    server.wait().ok();
}

/// The seeded show's id, as the console lists it.
async fn show_id(client: &reqwest::Client, base: &str, token: &str) -> String {
    let events: Value = client
        .get(format!("{base}/api/admin/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    events["data"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The pack, then uploads of a scan of every code: first, replayed, and
/// from a second device later.
async fn offline_door(client: &reqwest::Client, base: &str, token: &str, codes: &[String]) {
    let event = show_id(client, base, token).await;
    for encoding in ["identity", "gzip"] {
        let t = Instant::now();
        let pack = client
            .get(format!("{base}/api/admin/events/{event}/door-pack"))
            .bearer_auth(token)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        println!(
            "door pack, {} tickets, {encoding:<8}    {:>7.1} ms  {} KB",
            2 * codes.len(),
            t.elapsed().as_secs_f64() * 1000.0,
            pack.len() / 1024
        );
    }
    let start = Utc::now().timestamp_millis() - 3_600_000;
    for (label, device, offset) in [
        ("offline upload (all accepted)", "cellar-1", 0),
        ("the same upload again (replay)", "cellar-1", 0),
        ("second device (all duplicates)", "cellar-2", 60_000),
    ] {
        let scans: Vec<Value> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| json!({"qrCode": c, "scannedAt": start + offset + i as i64 * 1_000}))
            .collect();
        let body = json!({"deviceId": device, "eventId": event, "scans": scans});
        let t = Instant::now();
        let r: Value = client
            .post(format!("{base}/api/admin/checkin/sync"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let d = &r["data"];
        println!(
            "{label:<32} {:>7.0} ms  {} scans: accepted {} duplicates {} rejected {}",
            t.elapsed().as_secs_f64() * 1000.0,
            codes.len(),
            d["accepted"],
            d["duplicates"],
            d["rejected"]
        );
    }
}

/// One request on a kept-alive connection: the bytes sent, the bytes
/// received (head and body), the status, and the time to the answer.
async fn exchange(
    conn: &mut tokio::net::TcpStream,
    path: &str,
    token: &str,
    extra: &str,
) -> (usize, usize, u16, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Headers as Chromium sends them for a same-origin fetch, about.
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\
         Accept: application/json\r\nAuthorization: Bearer {token}\r\n\
         User-Agent: Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36\r\n\
         Accept-Encoding: gzip, deflate, br\r\nAccept-Language: zh-CN,zh;q=0.9\r\n\
         Referer: http://127.0.0.1/admin/door\r\n{extra}\r\n"
    );
    let t = Instant::now();
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed");
        got.extend_from_slice(&buf[..n]);
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        let status: u16 = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0);
        if got.len() >= end + 4 + length {
            return (req.len(), got.len(), status, t.elapsed());
        }
    }
}

/// What one door device costs per hour while nothing happens at the door.
async fn idle_door(client: &reqwest::Client, port: u16, token: &str) {
    let base = format!("http://127.0.0.1:{port}");
    let event = show_id(client, &base, token).await;
    let pack: Value = client
        .get(format!("{base}/api/admin/events/{event}/door-pack"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let Some(cursor) = pack["data"]["cursor"].as_i64() else {
        println!("idle door: this binary has no door changes to poll");
        return;
    };
    let (cursor, version) = (
        cursor,
        pack["data"]["packVersion"].as_str().unwrap().to_string(),
    );
    let tickets = pack["data"]["tickets"].as_array().unwrap().len();
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let changes = format!("/api/admin/events/{event}/door-changes?since={cursor}");
    let mut lat = Vec::new();
    let (mut sent, mut received) = (0, 0);
    const POLLS: usize = 1_800;
    for _ in 0..POLLS {
        let (s, r, status, t) = exchange(&mut conn, &changes, token, "").await;
        assert_eq!(status, 304);
        sent += s;
        received += r;
        lat.push(t);
    }
    lat.sort();
    let packs = format!("/api/admin/events/{event}/door-pack");
    let (ps, pr, status, _) = exchange(
        &mut conn,
        &packs,
        token,
        &format!("If-None-Match: W/\"{version}\"\r\n"),
    )
    .await;
    assert_eq!(status, 304);
    let hour_sent = sent + 12 * ps;
    let hour_received = received + 12 * pr;
    println!(
        "idle door, {tickets} tickets: a poll {} B up {} B down (304), p50 {:.2} ms p99 {:.2} ms",
        sent / POLLS,
        received / POLLS,
        support::pct(&lat, 0.5),
        support::pct(&lat, 0.99)
    );
    println!(
        "idle door, one hour: {} requests, {:.0} KB up, {:.0} KB down ({} polls + 12 pack checks)",
        POLLS + 12,
        hour_sent as f64 / 1024.0,
        hour_received as f64 / 1024.0,
        POLLS
    );
}
