//! Plain SQL migrations from `migrations/`, compiled into the binary and applied
//! in order at start. Each runs in its own transaction and is recorded, so a
//! second start applies nothing.

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, StoreResult};
use crate::model::time::now_ms;

/// (version, file name, SQL). Versions are the files' numeric prefixes; a test
/// checks this list matches the folder.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_init.sql",
        include_str!("../../migrations/0001_init.sql"),
    ),
    (
        2,
        "0002_admin.sql",
        include_str!("../../migrations/0002_admin.sql"),
    ),
    (
        3,
        "0003_checkin.sql",
        include_str!("../../migrations/0003_checkin.sql"),
    ),
    (
        4,
        "0004_door_scans.sql",
        include_str!("../../migrations/0004_door_scans.sql"),
    ),
    (
        5,
        "0005_club.sql",
        include_str!("../../migrations/0005_club.sql"),
    ),
    (
        6,
        "0006_trust.sql",
        include_str!("../../migrations/0006_trust.sql"),
    ),
];

pub fn apply(conn: &mut Connection) -> StoreResult<Vec<String>> {
    apply_list(conn, MIGRATIONS)
}

fn apply_list(conn: &mut Connection, migrations: &[(i64, &str, &str)]) -> StoreResult<Vec<String>> {
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
    let newest_known = migrations.last().map(|m| m.0).unwrap_or(0);
    if newest_applied > newest_known {
        return Err(StoreError::Migration(format!(
            "数据库版本 ({newest_applied}) 比程序 ({newest_known}) 新：请使用更新的版本"
        )));
    }
    let mut applied = Vec::new();
    for (version, name, sql) in migrations {
        if *version <= newest_applied {
            continue;
        }
        // SQLite's way to rebuild a table (create, copy, drop, rename): with
        // foreign keys on, dropping `orders` would cascade into `tickets`.
        // The pragma only takes effect outside a transaction; the keys are
        // verified before the migration commits instead.
        conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
        let outcome = apply_one(conn, *version, name, sql);
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        outcome?;
        tracing::info!(migration = name, "applied migration");
        applied.push(name.to_string());
    }
    Ok(applied)
}

fn apply_one(conn: &mut Connection, version: i64, name: &str, sql: &str) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(sql)
        .map_err(|e| StoreError::Migration(format!("{name}: {e}")))?;
    let broken: Option<String> = tx
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()?;
    if let Some(table) = broken {
        return Err(StoreError::Migration(format!(
            "{name}: leaves a broken foreign key in {table}"
        )));
    }
    tx.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
        params![version, name, now_ms()],
    )?;
    tx.commit()?;
    Ok(())
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

    fn seeded() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        apply(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('t', 'T', 0, 0);
             INSERT INTO users (id, openid, created_at, updated_at) VALUES ('u', 'o', 0, 0);
             INSERT INTO events (id, tenant_id, title, city, venue, address, event_date,
                     event_time, starts_at, total_seats, remaining_seats, status, created_at,
                     updated_at)
                 VALUES ('e', 't', 'Show', 'C', 'V', 'A', '2030-01-01', '20:00', 0, 10, 8,
                     'onSale', 0, 0);
             INSERT INTO price_options (id, event_id, name, price, total_count,
                     remaining_count, created_at)
                 VALUES ('p', 'e', 'A', 100, 10, 8, 0);
             INSERT INTO orders (id, tenant_id, user_id, event_id, price_option_id, quantity,
                     unit_price, total_amount, user_name, user_phone, status, expires_at,
                     created_at, updated_at)
                 VALUES ('o1', 't', 'u', 'e', 'p', 2, 100, 200, 'N', '13800000000', 'paid',
                     0, 0, 0),
                        ('o2', 't', 'u', 'e', 'p', 1, 100, 100, 'N', '13800000000',
                     'cancelled', 0, 0, 0);
             UPDATE orders SET cancel_reason = 'timeout' WHERE id = 'o2';
             INSERT INTO tickets (id, order_id, qr_code, created_at)
                 VALUES ('k1', 'o1', 'q1', 0), ('k2', 'o1', 'q2', 0);",
        )
        .unwrap();
        conn
    }

    /// A database made by the release before 0006 upgrades: its admins keep
    /// their accounts at session epoch 0 (the tokens they hold carry none,
    /// which reads as 0, so they stay valid), and the forged notifies it had
    /// stored go while WeChat's verified ones stay.
    #[test]
    fn upgrades_a_database_of_the_previous_release() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        apply_list(&mut conn, &MIGRATIONS[..5]).unwrap();
        conn.execute_batch(
            "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('t', 'T', 0, 0);
             INSERT INTO admins (id, tenant_id, username, password_hash, role, status,
                     created_at, updated_at, failed_logins, locked_until)
                 VALUES ('a', 't', 'boss', 'h', 'owner', 'active', 0, 0, 3, NULL);
             INSERT INTO payment_notifications (id, kind, order_id, raw_body, verified,
                     processed, verdict, received_at)
                 VALUES ('n1', 'pay_v3', 'o', '{}', 1, 1, 'paid', 0),
                        ('n2', 'pay_v2', 'o', '<xml>forged</xml>', 0, 0, 'rejected: sign', 0);",
        )
        .unwrap();
        assert_eq!(apply(&mut conn).unwrap(), vec!["0006_trust.sql"]);
        let (username, epoch): (String, i64) = conn
            .query_row(
                "SELECT username, session_epoch FROM admins WHERE id = 'a'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((username.as_str(), epoch), ("boss", 0));
        let kept: Vec<String> = conn
            .prepare("SELECT id FROM payment_notifications ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(kept, ["n1"]);
        for table in ["login_failures", "admin_addresses", "door_changes"] {
            let n: i64 = conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 0);
        }
    }

    /// A database written by a newer binary is refused, and left as it is.
    #[test]
    fn refuses_a_database_newer_than_the_binary() {
        let mut conn = seeded();
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, 'future', 0)",
            [MIGRATIONS.len() as i64 + 1],
        )
        .unwrap();
        let before = dump(&conn);
        let err = apply(&mut conn).unwrap_err().to_string();
        assert!(err.contains("比程序"), "{err}");
        assert_eq!(dump(&conn), before);
    }

    /// The constraints refuse bad values and allow every good one; the
    /// per-user holds follow the orders through the triggers.
    #[test]
    fn the_schema_checks_what_it_stores() {
        let conn = seeded();
        let before = dump(&conn);
        let bad = [
            "UPDATE orders SET status = 'lost' WHERE id = 'o1'",
            "UPDATE orders SET cancel_reason = 'whim' WHERE id = 'o2'",
            "UPDATE orders SET total_amount = 1 WHERE id = 'o1'",
            "UPDATE tickets SET status = 'torn' WHERE id = 'k1'",
            "INSERT INTO tickets (id, order_id, qr_code, created_at) VALUES ('k3', 'nope', 'q3', 0)",
        ];
        for sql in bad {
            assert!(conn.execute(sql, []).is_err(), "{sql} was accepted");
        }
        assert_eq!(dump(&conn), before);
        for s in ["pending", "paid", "cancelled", "refunded", "used"] {
            conn.execute("UPDATE orders SET status = ?1 WHERE id = 'o1'", [s])
                .unwrap();
        }
        for r in ["user", "timeout", "admin", "event_cancelled"] {
            conn.execute("UPDATE orders SET cancel_reason = ?1 WHERE id = 'o2'", [r])
                .unwrap();
        }
        for s in ["valid", "used", "expired"] {
            conn.execute("UPDATE tickets SET status = ?1 WHERE id = 'k1'", [s])
                .unwrap();
        }
        // o1 ends `used`, which holds its seats; o2 moves to pending and back.
        conn.execute("UPDATE orders SET status = 'pending' WHERE id = 'o2'", [])
            .unwrap();
        let held = |c: &Connection| -> i64 {
            c.query_row(
                "SELECT COALESCE(SUM(quantity), 0) FROM user_event_holds
                 WHERE user_id = 'u' AND event_id = 'e'",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(held(&conn), 3);
        conn.execute("UPDATE orders SET status = 'cancelled' WHERE id = 'o2'", [])
            .unwrap();
        assert_eq!(held(&conn), 2);
    }

    /// A later migration may rebuild a table (SQLite's create, copy, drop,
    /// rename): the runner turns foreign keys off around it, so dropping the
    /// old `orders` cascades into none of its tickets, and on again after.
    #[test]
    fn a_migration_that_rebuilds_a_table_keeps_the_data() {
        let mut conn = seeded();
        let before = dump(&conn);
        let create: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'orders'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let rebuild = format!(
            "{};
             INSERT INTO orders_new SELECT * FROM orders;
             DROP TABLE orders;
             ALTER TABLE orders_new RENAME TO orders;",
            create.replacen("CREATE TABLE orders", "CREATE TABLE orders_new", 1)
        );
        let mut later = MIGRATIONS.to_vec();
        later.push((later.len() as i64 + 1, "next_rebuild.sql", rebuild.as_str()));
        assert_eq!(
            apply_list(&mut conn, &later).unwrap(),
            vec!["next_rebuild.sql"]
        );
        assert_eq!(dump(&conn), before);
        let fk: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert!(fk);
    }

    fn dump(conn: &Connection) -> Vec<String> {
        let mut rows = Vec::new();
        for sql in [
            "SELECT id || '|' || status || '|' || quantity || '|' || COALESCE(cancel_reason, '-')
             FROM orders ORDER BY id",
            "SELECT id || '|' || order_id || '|' || status || '|' || qr_code FROM tickets ORDER BY id",
        ] {
            let mut stmt = conn.prepare(sql).unwrap();
            rows.extend(
                stmt.query_map([], |r| r.get::<_, String>(0))
                    .unwrap()
                    .map(|r| r.unwrap()),
            );
        }
        rows
    }
}
