//! The single writer: many concurrent commands share commits, and a refused or
//! panicking command rolls back alone without touching its batch-mates; a
//! checked command (no savepoint) that breaks its promise undoes its batch.

use crate::common::*;
use standup_tickets::error::{Code, Rejection};
use standup_tickets::store::StoreError;

/// The ids in `audit_log`, in order: the probe rows these tests write.
async fn audit_ids(t: &TestApp) -> Vec<String> {
    t.store()
        .read(|c| {
            let mut s = c.prepare("SELECT id FROM audit_log ORDER BY id")?;
            let v = s
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(v)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_commands_roll_back_alone() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let mut tasks = Vec::new();
    for i in 0..300 {
        let store = t.store().clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(move |c| {
                    c.execute(
                        "INSERT INTO audit_log (id, tenant_id, actor, action, created_at)
                         VALUES (?1, 'dt', 'test', 'probe', 0)",
                        [format!("a{i:04}")],
                    )?;
                    match i % 3 {
                        0 => Err(Rejection::new(Code::SoldOut, "拒绝").into()),
                        1 if i % 10 == 1 => panic!("command {i} panics"),
                        _ => Ok(i),
                    }
                })
                .await
        }));
    }
    let mut ok = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(v) => ok.push(v),
            Err(StoreError::Rejected(r)) => assert_eq!((i % 3, r.code.as_str()), (0, "SOLD_OUT")),
            Err(StoreError::Commit(_)) => {
                assert!(i % 3 == 1 && i % 10 == 1, "only panics abort: {i}")
            }
            Err(e) => panic!("{i}: {e}"),
        }
    }
    let rows = audit_ids(&t).await;
    let expected: Vec<String> = ok.iter().map(|i| format!("a{i:04}")).collect();
    assert_eq!(rows, expected, "exactly the successful commands are stored");
    assert!(rows.len() > 150);
    // The writer survived the panics.
    t.data("/healthz").await;
}

/// Checked commands run without a savepoint. One that refuses before
/// writing (or panics before writing) affects nobody; one that fails after
/// writing rolls its whole transaction back, so every command that shared it
/// hears an error and none of their rows are kept, while the commands queued
/// behind it still run. Exactly the commands answered "ok" are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checked_command_that_breaks_its_promise_undoes_its_batch() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    const BROKEN: usize = 150;
    let insert = |c: &rusqlite::Connection, i: usize| {
        c.execute(
            "INSERT INTO audit_log (id, tenant_id, actor, action, created_at)
             VALUES (?1, 'dt', 'test', 'probe', 0)",
            [format!("a{i:04}")],
        )
    };
    let mut tasks = Vec::new();
    for i in 0..300usize {
        let store = t.store().clone();
        tasks.push(tokio::spawn(async move {
            match i % 4 {
                // Refuses before writing: no savepoint needed, nothing undone.
                0 => {
                    store
                        .write_checked(move |_| -> Result<usize, StoreError> {
                            Err(Rejection::new(Code::SoldOut, "拒绝").into())
                        })
                        .await
                }
                // Panics before writing: only it is lost.
                1 if i % 20 == 1 => {
                    store
                        .write_checked(move |_| -> Result<usize, StoreError> {
                            panic!("checked command {i} panics")
                        })
                        .await
                }
                // An ordinary command beside them, in its savepoint.
                1 => {
                    store
                        .write(move |c| {
                            insert(c, i)?;
                            Ok(i)
                        })
                        .await
                }
                _ => {
                    store
                        .write_checked(move |c| {
                            insert(c, i)?;
                            if i == BROKEN {
                                return Err(Rejection::new(Code::SoldOut, "写后失败").into());
                            }
                            Ok(i)
                        })
                        .await
                }
            }
        }));
    }
    let (mut ok, mut undone) = (Vec::new(), Vec::new());
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(v) => ok.push(v),
            Err(StoreError::Rejected(r)) => {
                assert_eq!((i % 4, r.code.as_str()), (0, "SOLD_OUT"), "{i}")
            }
            Err(StoreError::Commit(e)) if i % 20 == 1 => assert!(e.contains("aborted"), "{e}"),
            Err(StoreError::Commit(e)) => {
                assert!(e.contains("rolled back"), "{i}: {e}");
                undone.push(i);
            }
            Err(e) => panic!("{i}: {e}"),
        }
    }
    assert!(undone.contains(&BROKEN), "the broken command hears of it");
    assert!(
        undone.len() <= standup_tickets::store::writer::DEFAULT_MAX_BATCH,
        "only its own transaction is undone: {undone:?}"
    );
    let expected: Vec<String> = ok.iter().map(|i| format!("a{i:04}")).collect();
    assert_eq!(
        audit_ids(&t).await,
        expected,
        "exactly the commands told ok are stored"
    );
    assert!(ok.len() > 100, "{}", ok.len());
    // The writer goes on.
    let after = t
        .store()
        .write_checked(move |c| {
            insert(c, 999)?;
            Ok(())
        })
        .await;
    assert!(after.is_ok());
    t.data("/healthz").await;
}

#[tokio::test]
async fn pooled_connections_cannot_write() {
    let t = TestApp::start().await;
    let err = t
        .store()
        .read(|c| Ok(c.execute("DELETE FROM tenants", [])?))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Db(_)), "{err}");
}

#[tokio::test]
async fn writes_after_close_are_refused() {
    let t = TestApp::start().await;
    t.store().close().await;
    let err = t.store().write(|_| Ok(())).await.unwrap_err();
    assert!(matches!(err, StoreError::Closed), "{err}");
    t.expect_error("/healthz", 503, "SERVICE_UNAVAILABLE").await;
}

/// Every acknowledged write went through the WAL flush and is found by a
/// brand-new connection once the store is closed; the writer's connection
/// runs `synchronous=NORMAL` because durability is its flusher's job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_are_flushed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = standup_tickets::store::Store::open(&path).unwrap();
    let sync: i64 = store
        .write(|c| Ok(c.query_row("PRAGMA synchronous", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(sync, 1, "NORMAL on the writer; the flusher syncs the WAL");
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(move |c| {
                    c.execute(
                        "INSERT INTO tenants (id, name, status, created_at, updated_at)
                         VALUES (?1, 'x', 'active', 0, 0)",
                        [format!("t{i}")],
                    )?;
                    Ok(())
                })
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    store.close().await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM tenants WHERE id LIKE 't%'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 200);
}

/// Under a sustained stream of writes a passive checkpoint never catches up,
/// so without help the WAL only grows. Past its limit the writer finishes the
/// checkpoint between commits and the log starts over: the file stays a
/// fraction of what was written, and nothing written is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_starts_over_under_sustained_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("standup-tickets.db");
    let store = standup_tickets::store::Store::open_with(
        &path,
        standup_tickets::store::StoreOptions {
            max_batch: 64,
            wal_restart_frames: 300,
            wal_coalesce: true,
            ..Default::default()
        },
    )
    .unwrap();
    store
        .write(|c| {
            c.execute_batch("CREATE TABLE scratch (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")?;
            Ok(())
        })
        .await
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_millis(1500);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while std::time::Instant::now() < until {
                store
                    .write(|c| {
                        c.execute("INSERT INTO scratch (body) VALUES (zeroblob(2000))", [])?;
                        Ok(())
                    })
                    .await
                    .unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut written = 0u64;
    for t in tasks {
        written += t.await.unwrap();
    }
    let wal = std::fs::metadata(tmp.path().join("standup-tickets.db-wal"))
        .unwrap()
        .len();
    // Each row takes at least two 1 KB pages of log.
    let logged = written * 2 * 1024;
    assert!(written > 500, "only {written} writes in 1.5 s");
    assert!(
        wal < logged / 3,
        "WAL is {wal} bytes after {logged} bytes were logged: it never started over"
    );
    let (rows, check): (i64, String) = store
        .read(|c| {
            Ok((
                c.query_row("SELECT COUNT(*) FROM scratch", [], |r| r.get(0))?,
                c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(rows as u64, written);
    assert_eq!(check, "ok");
    store.close().await;
}
