//! A backup of a large database while buyers order, measured.
//!
//!   cargo build --release
//!   cargo run --release --example backup -- --orders 1800000
//!   (`--bin FILE` the server, `--backup-bin FILE` what runs the backup)
//!
//! Seeds `--orders` paid orders (about 1 GB at 1.8 million) through the
//! store's own functions, starts the release binary on the data dir, then:
//!  1. buyers order alone at `--concurrency`: orders/s, p50 / p99 / max;
//!  2. the same buyers while `standup-tickets backup --to` copies the
//!     database: the backup's time and MB/s, and the buyers' orders/s,
//!     p50 / p99 / max during it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

#[path = "support/mod.rs"]
mod support;
use support::{buyer_tokens, free_port, pct, seed, start_server};

#[global_allocator]
static ALLOC: standup_tickets::alloc::Allocator = standup_tickets::alloc::Allocator;

struct Args {
    orders: usize,
    concurrency: usize,
    seconds: u64,
    bin: PathBuf,
    /// What runs `backup --to` (default: `bin`), e.g. a wrapper that nices it.
    backup_bin: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        orders: 1_800_000,
        concurrency: 16,
        seconds: 10,
        bin: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/standup-tickets"),
        backup_bin: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--orders" => a.orders = v.parse().expect("--orders N"),
            "--concurrency" => a.concurrency = v.parse().expect("--concurrency C"),
            "--seconds" => a.seconds = v.parse().expect("--seconds S"),
            "--bin" => a.bin = PathBuf::from(v),
            "--backup-bin" => a.backup_bin = Some(PathBuf::from(v)),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// Buyers ordering one seat each until `running` is cleared; every
/// order's latency, and how long they ran.
async fn until_stopped(
    client: &reqwest::Client,
    base: &str,
    tokens: &[String],
    (event, option): (&str, &str),
    concurrency: usize,
    running: Arc<AtomicBool>,
) -> (Vec<Duration>, f64) {
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, base, running) = (client.clone(), base.to_string(), running.clone());
        let tokens = tokens.to_vec();
        let (event, option) = (event.to_string(), option.to_string());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w;
            while running.load(Ordering::Relaxed) {
                let s = Instant::now();
                let r = client
                    .post(format!("{base}/api/orders"))
                    .bearer_auth(&tokens[i % tokens.len()])
                    .json(
                        &json!({"eventId": event, "priceOptionId": option, "quantity": 1,
                                "userInfo": {"name": "张三", "phone": "13800138000"}}),
                    )
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "order: {}", r.status());
                r.bytes().await.unwrap();
                lat.push(s.elapsed());
                i += concurrency;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    lat.sort();
    (lat, t0.elapsed().as_secs_f64())
}

fn report(label: &str, lat: &[Duration], secs: f64) {
    println!(
        "   {label:<16} {:>7.0} orders/s, p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>7.2} ms ({} orders)",
        lat.len() as f64 / secs,
        pct(lat, 0.50),
        pct(lat, 0.99),
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        lat.len()
    );
}

#[tokio::main]
async fn main() {
    standup_tickets::wechat::install_crypto_provider();
    let a = args();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("standup-tickets.db");
    let t0 = Instant::now();
    let (_, event, option) = seed(&db, a.orders).await;
    let size = std::fs::metadata(&db).unwrap().len() as f64 / 1_048_576.0;
    println!(
        "seeded {} paid orders in {:.0} s: database {size:.0} MB",
        a.orders,
        t0.elapsed().as_secs_f64()
    );

    let port = free_port();
    let mut server = start_server(&a.bin, dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let tokens = buyer_tokens(&client, &base, 1000).await;
    println!("buyers at concurrency {}:", a.concurrency);

    // Warm up, then buyers alone for the same time as the backup will take.
    let running = Arc::new(AtomicBool::new(true));
    let warm = {
        let (client, base, tokens, event, option, running) = (
            client.clone(),
            base.clone(),
            tokens.clone(),
            event.clone(),
            option.clone(),
            running.clone(),
        );
        tokio::spawn(async move {
            until_stopped(&client, &base, &tokens, (&event, &option), 4, running).await
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.store(false, Ordering::Relaxed);
    warm.await.unwrap();

    let alone = {
        let running = Arc::new(AtomicBool::new(true));
        let stop = running.clone();
        let secs = a.seconds;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            stop.store(false, Ordering::Relaxed);
        });
        until_stopped(
            &client,
            &base,
            &tokens,
            (&event, &option),
            a.concurrency,
            running,
        )
        .await
    };
    report("alone:", &alone.0, alone.1);

    // The same buyers while the CLI backs the database up.
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("bench.db");
    let running = Arc::new(AtomicBool::new(true));
    let backup = {
        let (bin, dir, file, running) = (
            a.backup_bin.clone().unwrap_or_else(|| a.bin.clone()),
            dir.path().to_path_buf(),
            file.clone(),
            running.clone(),
        );
        tokio::task::spawn_blocking(move || {
            // Let the buyers get going first.
            std::thread::sleep(Duration::from_millis(500));
            let wal = dir.join("standup-tickets.db-wal");
            let wal_mb = || std::fs::metadata(&wal).map_or(0, |m| m.len()) / 1_048_576;
            let wal_before = wal_mb();
            let t0 = Instant::now();
            let out = std::process::Command::new(&bin)
                .args(["backup", "--to"])
                .arg(&file)
                .env("DATA_DIR", &dir)
                .env("LOG_LEVEL", "warn")
                .output()
                .unwrap();
            let took = t0.elapsed();
            // The copy's snapshot keeps checkpoints from restarting the log,
            // so it grows by what buyers commit meanwhile.
            println!(
                "WAL: {wal_before} MB before the backup, {} MB at its end",
                wal_mb()
            );
            std::thread::sleep(Duration::from_millis(500));
            running.store(false, Ordering::Relaxed);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            took
        })
    };
    let during = until_stopped(
        &client,
        &base,
        &tokens,
        (&event, &option),
        a.concurrency,
        running,
    )
    .await;
    let took = backup.await.unwrap().as_secs_f64();
    let copied = std::fs::metadata(&file).unwrap().len() as f64 / 1_048_576.0;
    report("during backup:", &during.0, during.1);
    println!(
        "backup: {copied:.0} MB in {took:.1} s ({:.0} MB/s), checked and renamed into place",
        copied / took
    );
    let _ = server.kill();
    let _ = server.wait();
}
