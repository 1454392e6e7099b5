//! The writer's WAL, written one commit per write (store/wal_vfs.rs): at any
//! moment between two commits the files on disk are a complete database.
//! Each snapshot copies the files as a power cut would leave them (what the
//! OS has been given), from inside a writer command, so no commit is half
//! way; the copy is then opened with SQLite's default VFS, as a restart
//! after a crash would open it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use standup_tickets::error::{Code, Rejection};
use standup_tickets::store::tenants::{self, NewTenant};
use standup_tickets::store::{Store, StoreError, StoreOptions};

fn insert(c: &Connection, id: &str, detail: &str) -> rusqlite::Result<usize> {
    c.execute(
        "INSERT INTO audit_log (id, tenant_id, actor, action, detail, created_at)
         VALUES (?1, 'w', 'test', 'probe', ?2, 0)",
        [id, detail],
    )
}

/// Copies the database and its WAL (in that order: pages the checkpointer
/// copies meanwhile are also in the log) to `to`.
fn snapshot(db: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    std::fs::copy(db, to.join("s.db"))?;
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    if wal.exists() {
        std::fs::copy(wal, to.join("s.db-wal"))?;
    }
    Ok(())
}

/// Opens a snapshot as a restart after a crash would, checks it whole, and
/// returns the probe ids it holds.
fn recovered_ids(dir: &Path) -> BTreeSet<String> {
    // Read-write, so SQLite rebuilds the WAL index from the log itself.
    let c = Connection::open_with_flags(dir.join("s.db"), OpenFlags::SQLITE_OPEN_READ_WRITE)
        .expect("open snapshot");
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "snapshot {} is corrupt", dir.display());
    let mut s = c.prepare("SELECT id FROM audit_log").unwrap();
    s.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Many concurrent commands of every size (one-frame rows, rows of many
/// overflow pages, commands larger than the page cache, which spill pages to
/// the log before their commit and rewrite them, refusals), a log small
/// enough to start over many times, and snapshots taken while it all runs:
/// each snapshot holds every command acknowledged before it was taken, and
/// only acknowledged ones, and is a sound database.
/// Run with the coalescing VFS and with SQLite's own (`WAL_COALESCE=off`).
async fn every_commit_is_whole_on_disk(wal_coalesce: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let store = Store::open_with(
        &db,
        StoreOptions {
            max_batch: 64,
            wal_restart_frames: 256,
            wal_coalesce,
            ..Default::default()
        },
    )
    .unwrap();
    let tenant = NewTenant {
        id: "w".into(),
        name: "W".into(),
        ..Default::default()
    };
    store
        .write(move |c| tenants::insert(c, &tenant))
        .await
        .unwrap();

    let acked = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let mut tasks = Vec::new();
    for i in 0..1200usize {
        let (store, acked) = (store.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let id = format!("p{i:05}");
            let size = match i % 100 {
                // Several MB in one command: more than the 2 MB page cache
                // (SQLite spills to the log mid-command) and more than the
                // VFS collects before writing.
                7 => 5 << 20,
                0..=19 => 20_000 + i * 37,
                _ => i % 300,
            };
            let refuse = i % 9 == 4;
            let key = id.clone();
            let result = store
                .write(move |c| {
                    let detail = "明".repeat(size / 3 + 1);
                    insert(c, &key, &detail)?;
                    if size > 1 << 20 {
                        // Rewrite what was spilled: frames of this very
                        // transaction overwritten in place.
                        c.execute(
                            "UPDATE audit_log SET detail = upper(detail) || 'x' WHERE id = ?1",
                            [&key],
                        )?;
                    }
                    if refuse {
                        return Err(Rejection::new(Code::SoldOut, "拒绝").into());
                    }
                    Ok(())
                })
                .await;
            match result {
                Ok(()) => {
                    acked.lock().unwrap().insert(id);
                }
                Err(StoreError::Rejected(_)) => assert!(refuse),
                Err(e) => panic!("{id}: {e}"),
            }
        }));
    }

    let mut snapshots = Vec::new();
    for n in 0..6 {
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        let before: BTreeSet<String> = acked.lock().unwrap().clone();
        let to = dir.path().join(format!("snap{n}"));
        let (from, into) = (db.clone(), to.clone());
        store
            .write(move |_| Ok(snapshot(&from, &into)?))
            .await
            .unwrap();
        snapshots.push((to, before));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 1000, "{} acknowledged", acked.len());

    for (to, before) in &snapshots {
        let ids = recovered_ids(to);
        assert!(
            before.is_subset(&ids),
            "{}: {} acknowledged commands missing",
            to.display(),
            before.difference(&ids).count()
        );
        assert!(
            ids.is_subset(&acked),
            "{}: a refused command was kept",
            to.display()
        );
    }

    // And after everything: the live files as a crash would leave them, then
    // the database after a clean close.
    let last = dir.path().join("last");
    let (from, into) = (db.clone(), last.clone());
    store
        .write(move |_| Ok(snapshot(&from, &into)?))
        .await
        .unwrap();
    assert_eq!(recovered_ids(&last), acked);
    store.close().await;
    let closed = dir.path().join("closed");
    snapshot(&db, &closed).unwrap();
    assert_eq!(recovered_ids(&closed), acked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_commit_is_whole_on_disk_when_acknowledged() {
    every_commit_is_whole_on_disk(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_commit_is_whole_on_disk_without_coalescing() {
    every_commit_is_whole_on_disk(false).await;
}

/// `store/wal_vfs.rs` relies on how this SQLite's `wal.c` and `os_unix.c`
/// write the log (frame order, header rewrites, the restart). When the bundled
/// SQLite changes, re-read them against `wal_vfs.rs`, then update this version.
#[test]
fn bundled_sqlite_is_the_one_wal_vfs_was_checked_against() {
    assert_eq!(
        rusqlite::version(),
        "3.53.2",
        "the bundled SQLite changed: re-read wal.c and os_unix.c against store/wal_vfs.rs"
    );
}

/// Frames in the log and frames copied back so far, from the WAL index
/// header in `-shm` (native byte order, as SQLite writes it).
fn wal_index(db: &Path) -> (u32, u32) {
    let shm = std::fs::read(format!("{}-shm", db.display())).unwrap();
    let word = |at: usize| u32::from_ne_bytes(shm[at..at + 4].try_into().unwrap());
    (word(16), word(96))
}

/// With `LITESTREAM=1` the store checkpoints nothing, not even as it
/// closes: Litestream must read every frame before it is copied back.
/// Our own checkpointer, on otherwise, copies the log back within moments.
#[tokio::test]
async fn without_own_checkpoints_the_log_is_left_to_litestream() {
    for own_checkpoints in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.db");
        let store = Store::open_with(
            &db,
            StoreOptions {
                own_checkpoints,
                ..Default::default()
            },
        )
        .unwrap();
        let tenant = NewTenant {
            id: "w".into(),
            name: "W".into(),
            ..Default::default()
        };
        store
            .write(move |c| tenants::insert(c, &tenant))
            .await
            .unwrap();
        for i in 0..50 {
            store
                .write(move |c| Ok(insert(c, &format!("l{i}"), "x").map(|_| ())?))
                .await
                .unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        let (frames, copied) = wal_index(&db);
        assert!(frames > 0);
        if own_checkpoints {
            assert_eq!(copied, frames, "our checkpointer copied the log back");
        } else {
            assert_eq!(copied, 0, "nothing checkpointed with LITESTREAM=1");
            store.close().await;
            drop(store);
            let wal = std::fs::metadata(format!("{}-wal", db.display())).unwrap();
            assert!(wal.len() > 0, "the log is kept for Litestream on close");
        }
    }
}
