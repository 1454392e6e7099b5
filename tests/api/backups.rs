//! Backups and restores with the real binary: `backup --to` while buyers
//! keep paying, `restore --from` into a fresh data dir that then serves
//! every order acknowledged before the backup; restore refused while a
//! server runs and for damaged, foreign or newer files (nothing changed);
//! scheduled backups written, pruned and shown in `/healthz`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use standup_tickets::config::BackupSchedule;

use crate::common::TestApp;
use crate::common::binary::{Binary, Load};

const CLUB: &str = "bk";
const PASSWORD: &str = "backup-owner-password";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_backup_under_load_restores_every_order_acknowledged_before_it() {
    let bin = Binary::new();
    bin.club(CLUB, "备份俱乐部", PASSWORD);
    let s = Arc::new(bin.serve().await);
    let owner = s.owner(CLUB, PASSWORD).await;
    let (event, option) = s.big_show(&owner, 100_000).await;

    // Buyers keep paying on two connections while the backup runs.
    let load = Load::start(&s, CLUB, &event, &option, 2);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = load.acked();
    assert!(!before.is_empty());
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("under-load.db");
    let out = {
        let dir = bin.data_dir().to_path_buf();
        let to = file.to_string_lossy().into_owned();
        tokio::task::spawn_blocking(move || Binary::at(&dir).run_ok(&["backup", "--to", &to], None))
            .await
            .unwrap()
    };
    assert!(out.contains("已备份到"), "{out}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let total = load.stop().await.len();
    assert!(
        total > before.len(),
        "buyers were served during and after the backup"
    );
    drop(s);

    // A fresh box: restore, serve, and find every order from before.
    let fresh = Binary::new();
    let out = fresh.run_ok(&["restore", "--from", &file.to_string_lossy()], None);
    assert!(out.contains("已从"), "{out}");
    assert!(
        !out.contains("原数据库已保留"),
        "nothing to keep on a fresh box"
    );
    let r = fresh.serve().await;
    let owner = r.owner(CLUB, PASSWORD).await;
    for id in &before {
        let o = r
            .get(&format!("/api/admin/orders/{id}"), Some(&owner))
            .await;
        assert_eq!(o["status"], "paid", "{id}");
        assert_eq!(o["tickets"].as_array().unwrap().len(), 1, "{id}");
    }
    let shows = r.get(&format!("/api/events/{event}"), None).await;
    let left = shows["priceOptions"][0]["remainingCount"].as_i64().unwrap();
    let page = r
        .get(
            &format!("/api/admin/orders?eventId={event}&pageSize=1"),
            Some(&owner),
        )
        .await;
    let in_copy = page["total"].as_i64().unwrap();
    assert!(in_copy >= before.len() as i64);
    assert_eq!(
        left + in_copy,
        100_000,
        "stock and orders agree in the copy"
    );
}

#[tokio::test]
async fn restore_is_refused_while_serving_and_for_bad_files() {
    let bin = Binary::new();
    bin.club(CLUB, "备份俱乐部", PASSWORD);
    let s = bin.serve().await;
    let owner = s.owner(CLUB, PASSWORD).await;
    let (event, option) = s.big_show(&owner, 100_000).await;
    let first = s.buy(CLUB, "甲", "13900000001", &event, &option, 1).await;
    let files = tempfile::tempdir().unwrap();
    let good = files.path().join("good.db");
    bin.run_ok(&["backup", "--to", &good.to_string_lossy()], None);
    // Sold after the backup: a restore would take it away.
    let second = s.buy(CLUB, "乙", "13900000002", &event, &option, 1).await;

    let out = bin.run(&["restore", "--from", &good.to_string_lossy()], None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("正被运行中"), "{}", stderr(&out));
    let second_id = second["id"].as_str().unwrap();
    let o = s
        .get(&format!("/api/admin/orders/{second_id}"), Some(&owner))
        .await;
    assert_eq!(o["status"], "paid", "the served database is untouched");
    assert!(s.terminate().success(), "SIGTERM stops the server cleanly");

    // Damaged, foreign and newer files: refused, the database kept as is.
    let noise = files.path().join("noise.db");
    std::fs::write(&noise, vec![0x5a; 8192]).unwrap();
    let half = files.path().join("half.db");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    let foreign = files.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hi');")
        .unwrap();
    let newer = files.path().join("newer.db");
    std::fs::copy(&good, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 0);")
        .unwrap();
    let missing = files.path().join("missing.db");
    for (file, says) in [
        (&noise, "不是 standup-tickets 的数据库"),
        (&half, ""),
        (&foreign, "不是 standup-tickets 的数据库"),
        (&newer, "比程序"),
        (&missing, "文件不存在"),
    ] {
        let out = bin.run(&["restore", "--from", &file.to_string_lossy()], None);
        assert!(!out.status.success(), "{}", file.display());
        assert!(
            stderr(&out).contains(says),
            "{}: {}",
            file.display(),
            stderr(&out)
        );
    }
    let s = bin.serve().await;
    let owner = s.owner(CLUB, PASSWORD).await;
    let o = s
        .get(&format!("/api/admin/orders/{second_id}"), Some(&owner))
        .await;
    assert_eq!(o["status"], "paid", "no refused restore changed anything");
    drop(s);

    // The good one, with the server stopped: back to the backup's moment,
    // the replaced database kept beside it.
    let out = bin.run_ok(&["restore", "--from", &good.to_string_lossy()], None);
    assert!(out.contains("原数据库已保留为"), "{out}");
    let kept: Vec<_> = std::fs::read_dir(bin.data_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".before-restore-"))
        .collect();
    assert_eq!(kept.len(), 1);
    let s = bin.serve().await;
    let owner = s.owner(CLUB, PASSWORD).await;
    let first_id = first["id"].as_str().unwrap();
    let o = s
        .get(&format!("/api/admin/orders/{first_id}"), Some(&owner))
        .await;
    assert_eq!(o["status"], "paid");
    let (status, body) = s
        .send(
            reqwest::Method::GET,
            &format!("/api/admin/orders/{second_id}"),
            Some(&owner),
            Value::Null,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("ORDER_NOT_FOUND"))
    );
}

#[tokio::test]
async fn scheduled_backups_are_written_pruned_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("backups");
    let schedule = BackupSchedule {
        dir: dir.clone(),
        every: Duration::from_millis(1),
        keep: 2,
    };
    let data = tempfile::tempdir().unwrap();
    let t = TestApp::start_in(data.path(), move |c| c.backups = Some(schedule)).await;
    t.seed_tenant("sb").await;
    let job = standup_tickets::jobs::find("backup").unwrap();
    for _ in 0..3 {
        assert_eq!(job.run_once(&t.app.state).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "the oldest was pruned: {names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("standup-tickets-") && n.ends_with(".db"))
    );
    let health = t.data("/healthz").await;
    assert_eq!(health["backup"]["status"], "ok");
    assert!(
        health["backup"]["lastFile"]
            .as_str()
            .unwrap()
            .ends_with(&names[1])
    );
    assert_eq!(health["backup"]["failures"], 0);
    // Each is a whole database with the club in it.
    let conn = rusqlite::Connection::open(dir.join(&names[1])).unwrap();
    let clubs: i64 = conn
        .query_row("SELECT COUNT(*) FROM tenants WHERE id = 'sb'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(clubs, 1);
    t.stop().await;

    // A folder that cannot be written: the failure is logged and shown.
    let blocker = tmp.path().join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let schedule = BackupSchedule {
        dir: blocker.join("backups"),
        every: Duration::from_millis(1),
        keep: 2,
    };
    let data = tempfile::tempdir().unwrap();
    let t = TestApp::start_in(data.path(), move |c| c.backups = Some(schedule)).await;
    assert!(job.run_once(&t.app.state).await.is_err());
    let health = t.data("/healthz").await;
    assert_eq!(health["status"], "ok", "the server itself is fine");
    assert_eq!(health["backup"]["status"], "failing");
    assert!(health["backup"]["failures"].as_u64().unwrap() >= 1);
    assert!(health["backup"]["lastError"].as_str().is_some());
    t.stop().await;

    // Not configured: no backup section.
    let t = TestApp::start().await;
    assert!(t.data("/healthz").await.get("backup").is_none());
    t.stop().await;
}
