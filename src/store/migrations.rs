//! Plain SQL migrations from `migrations/`, compiled into the binary and applied
//! in order at start. Each runs in its own transaction and is recorded, so a
//! second start applies nothing.

use rusqlite::{Connection, params};

use super::{StoreError, StoreResult};
use crate::domain::time::now_ms;

/// (version, file name, SQL). Versions are the files' numeric prefixes; a test
/// checks this list matches the folder.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_init.sql",
        include_str!("../../migrations/0001_init.sql"),
    ),
    (
        2,
        "0002_wechat_sessions.sql",
        include_str!("../../migrations/0002_wechat_sessions.sql"),
    ),
    (
        3,
        "0003_payments.sql",
        include_str!("../../migrations/0003_payments.sql"),
    ),
];

pub fn apply(conn: &mut Connection) -> StoreResult<Vec<String>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at INTEGER NOT NULL
         ) STRICT;",
    )?;
    let newest_applied: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let newest_known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if newest_applied > newest_known {
        return Err(StoreError::Migration(format!(
            "数据库版本 ({newest_applied}) 比程序 ({newest_known}) 新：请使用更新的版本"
        )));
    }
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        if *version <= newest_applied {
            continue;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Migration(format!("{name}: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![version, name, now_ms()],
        )?;
        tx.commit()?;
        tracing::info!(migration = name, "applied migration");
        applied.push(name.to_string());
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_matches_the_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS.iter().map(|m| m.1.to_string()).collect();
        assert_eq!(files, listed);
        for (i, (version, name, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i64 + 1);
            assert!(name.starts_with(&format!("{version:04}_")));
        }
    }

    #[test]
    fn applies_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(apply(&mut conn).unwrap().len(), MIGRATIONS.len());
        assert!(apply(&mut conn).unwrap().is_empty());
    }
}
