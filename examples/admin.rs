//! The admin side at a busy club's scale, measured.
//!
//!   cargo build --release
//!   cargo run --release --example admin -- --orders 100000
//!
//! Seeds a year of a club's sales (weekly shows, `--orders` paid orders
//! spread over the year, through the store's own order and payment
//! functions), starts the release binary on it and measures:
//!  1. filtered order-list pages (`GET /api/admin/orders` with each filter,
//!     and a cursor walk): p50 / p99;
//!  2. the CSV export of every order: rows/s, and the server's heap before,
//!     at its peak during the export, and after;
//!  3. stats for every period, uncached (first call, and again once the
//!     cache has expired);
//!  4. buyers ordering with and without exports and stats running beside
//!     them: orders/s and p99 for both.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;
use support::{SHOWS, buyer_tokens, buyers, free_port, pct, seed, start_server};

#[global_allocator]
static ALLOC: standup_tickets::alloc::Allocator = standup_tickets::alloc::Allocator;

struct Args {
    orders: usize,
    buyers: usize,
    concurrency: usize,
    bin: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        orders: 100_000,
        buyers: 1000,
        concurrency: 64,
        bin: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/standup-tickets"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--orders" => a.orders = v.parse().expect("--orders N"),
            "--buyers" => a.buyers = v.parse().expect("--buyers N"),
            "--concurrency" => a.concurrency = v.parse().expect("--concurrency C"),
            "--bin" => a.bin = PathBuf::from(v),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn heap_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("RssAnon:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> (Duration, Value) {
    let t0 = Instant::now();
    let r = client.get(url).bearer_auth(token).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    let v: Value = r.json().await.unwrap();
    (t0.elapsed(), v)
}

/// Streams the whole export; returns (rows, seconds).
async fn export(client: &reqwest::Client, base: &str, token: &str) -> (usize, f64) {
    let t0 = Instant::now();
    let mut r = client
        .get(format!("{base}/api/admin/orders/export.csv"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let mut lines = 0usize;
    while let Some(chunk) = r.chunk().await.unwrap() {
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    (lines.saturating_sub(1), t0.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    standup_tickets::wechat::install_crypto_provider();
    let a = args();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("standup-tickets.db");
    let t0 = Instant::now();
    let (past_show, sale_event, sale_option) = seed(&db, a.orders).await;
    println!(
        "seeded {} paid orders over {SHOWS} weekly shows in {:.1} s",
        a.orders,
        t0.elapsed().as_secs_f64()
    );
    let port = free_port();
    let mut server = start_server(&a.bin, dir.path(), port);
    let pid = server.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency * 2)
        .build()
        .unwrap();
    let login: Value = client
        .post(format!("{base}/api/admin/auth/login"))
        .json(&json!({"username": "owner", "password": "bench-password-1", "tenantId": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"]["token"].as_str().unwrap().to_string();

    // 1. Filtered list pages.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let month_ago = (today - chrono::Duration::days(30)).format("%Y-%m-%d");
    let filters = [
        "pageSize=20".to_string(),
        "status=paid&pageSize=20".to_string(),
        format!("eventId={past_show}&pageSize=20"),
        "keyword=13900001&pageSize=20".to_string(),
        "keyword=%E8%A7%82%E4%BC%97123&pageSize=20".to_string(),
        format!(
            "from={month_ago}&to={}&pageSize=20",
            today.format("%Y-%m-%d")
        ),
        "status=paid&page=200&pageSize=20".to_string(),
    ];
    let mut all = Vec::new();
    println!("\n1. GET /api/admin/orders, 100 requests per filter, one at a time:");
    for f in &filters {
        let mut lat = Vec::new();
        let mut total = 0;
        for _ in 0..100 {
            let (d, v) = get(&client, &format!("{base}/api/admin/orders?{f}"), &token).await;
            total = v["data"]["total"].as_i64().unwrap_or(0);
            lat.push(d);
        }
        lat.sort();
        println!(
            "   {f:<52} total {total:>7}  p50 {:>6.2} ms  p99 {:>6.2} ms",
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
        all.extend(lat);
    }
    let mut lat = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let url = match &cursor {
            Some(c) => format!("{base}/api/admin/orders?pageSize=50&cursor={c}"),
            None => format!("{base}/api/admin/orders?pageSize=50"),
        };
        let (d, v) = get(&client, &url, &token).await;
        cursor = v["data"]["nextCursor"].as_str().map(str::to_string);
        lat.push(d);
    }
    lat.sort();
    println!(
        "   {:<52} {:>13}  p50 {:>6.2} ms  p99 {:>6.2} ms",
        "cursor walk, 100 pages of 50",
        "",
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
    all.extend(lat);
    all.sort();
    println!(
        "   all list requests: p50 {:.2} ms, p99 {:.2} ms",
        pct(&all, 0.5),
        pct(&all, 0.99)
    );

    // 2. The export, with the server's heap sampled meanwhile.
    println!("\n2. GET /api/admin/orders/export.csv (every order):");
    for round in 0..2 {
        let before = heap_mb(pid);
        let sampling = Arc::new(AtomicBool::new(true));
        let peak = {
            let sampling = sampling.clone();
            tokio::spawn(async move {
                let mut peak = 0.0f64;
                while sampling.load(Ordering::Relaxed) {
                    peak = peak.max(heap_mb(pid));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                peak
            })
        };
        let (rows, secs) = export(&client, &base, &token).await;
        sampling.store(false, Ordering::Relaxed);
        let peak = peak.await.unwrap();
        println!(
            "   round {round}: {rows} rows in {secs:.2} s = {:.0} rows/s; server heap {before:.1} MB before, {peak:.1} MB peak, {:.1} MB after",
            rows as f64 / secs,
            heap_mb(pid)
        );
    }

    // 3. Stats, uncached: each period's first call, then again after the
    // cache's lifetime.
    println!("\n3. GET /api/admin/stats, uncached:");
    for round in 0..2 {
        if round > 0 {
            tokio::time::sleep(Duration::from_secs(11)).await;
        }
        let mut line = Vec::new();
        for p in [
            "today",
            "thisWeek",
            "thisMonth",
            "lastMonth",
            "thisYear",
            "all",
        ] {
            let (d, v) = get(
                &client,
                &format!("{base}/api/admin/stats?period={p}"),
                &token,
            )
            .await;
            line.push(format!(
                "{p} {:.1} ms ({} orders)",
                d.as_secs_f64() * 1000.0,
                v["data"][p]["orders"]
            ));
        }
        println!("   {}", line.join(", "));
    }

    // 4. Buyers, alone and beside exports and stats.
    let tokens = buyer_tokens(&client, &base, a.buyers).await;
    let n = 20_000;
    println!("\n4. buyers: {n} orders at concurrency {}:", a.concurrency);
    let alone = buyers(
        &client,
        &base,
        &tokens,
        (&sale_event, &sale_option),
        n,
        a.concurrency,
    )
    .await;
    println!(
        "   alone:                     {:>8.0} orders/s, p99 {:>6.2} ms",
        alone.0, alone.1
    );
    let busy = Arc::new(AtomicBool::new(true));
    let exporter = {
        let (client, base, token, busy) =
            (client.clone(), base.clone(), token.clone(), busy.clone());
        tokio::spawn(async move {
            let (mut rows, mut secs, mut stats) = (0, 0.0, 0);
            while busy.load(Ordering::Relaxed) {
                let (r, s) = export(&client, &base, &token).await;
                rows += r;
                secs += s;
                for p in ["thisYear", "all"] {
                    get(
                        &client,
                        &format!("{base}/api/admin/stats?period={p}"),
                        &token,
                    )
                    .await;
                    stats += 1;
                }
            }
            (rows, secs, stats)
        })
    };
    let beside = buyers(
        &client,
        &base,
        &tokens,
        (&sale_event, &sale_option),
        n,
        a.concurrency,
    )
    .await;
    busy.store(false, Ordering::Relaxed);
    let (rows, secs, stats) = exporter.await.unwrap();
    println!(
        "   beside exports and stats:  {:>8.0} orders/s, p99 {:>6.2} ms ({:.0}% of alone); meanwhile {rows} rows exported at {:.0} rows/s, {stats} stats calls",
        beside.0,
        beside.1,
        100.0 * beside.0 / alone.0,
        rows as f64 / secs.max(1e-9)
    );
    server.kill().ok();
    server.wait().ok();
}
