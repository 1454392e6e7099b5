//! Tickets: the server's QR key, tickets issued when an order is paid, and a
//! buyer's own ticket code.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreResult;
use crate::ids::new_id;
use crate::model::orders::Order;
use crate::model::tickets::QrKey;

/// The server's ticket key, created on first use and kept in the database.
pub fn qr_key(conn: &Connection, now: i64) -> StoreResult<QrKey> {
    let existing: Option<Vec<u8>> = conn
        .prepare_cached("SELECT value FROM server_keys WHERE name = 'ticket_qr'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    if let Some(v) = existing
        && let Ok(k) = <[u8; 32]>::try_from(v.as_slice())
    {
        return Ok(QrKey(k));
    }
    let key = QrKey::generate();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO server_keys (name, value, created_at) VALUES ('ticket_qr', ?1, ?2)",
    )?
    .execute(params![key.0.to_vec(), now])?;
    Ok(key)
}

/// `quantity` tickets, each with its own QR code.
pub(super) fn issue_tickets(
    conn: &Connection,
    order: &Order,
    key: &QrKey,
    now: i64,
) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO tickets (id, order_id, qr_code, status, created_at)
         VALUES (?1, ?2, ?3, 'valid', ?4)",
    )?;
    for _ in 0..order.quantity {
        stmt.execute(params![new_id(), order.id, key.mint(), now])?;
    }
    Ok(())
}

/// A ticket's QR code, for its owner only.
pub(crate) fn ticket_code_for_user(
    conn: &Connection,
    user_id: &str,
    ticket_id: &str,
) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT t.qr_code FROM tickets t JOIN orders o ON o.id = t.order_id
             WHERE t.id = ?1 AND o.user_id = ?2",
        )?
        .query_row([ticket_id, user_id], |r| r.get(0))
        .optional()?)
}
