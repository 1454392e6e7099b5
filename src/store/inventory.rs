//! Seats: the conditional decrement that makes overselling impossible, and
//! every way seats come back (cancel, expiry, refund) or change (an owner
//! resizing an option). Price options and their show's sums move together.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreResult;
use super::reject;
use crate::error::Code;
use crate::model::orders::Order;
use crate::model::scope::TenantScope;

/// Takes `quantity` seats from an option and its event if that many are
/// left (the conditional decrement that makes overselling impossible); the
/// event turns sold out at zero. `false` = not enough stock, nothing changed.
///
/// `option_left`: what the option had before, when the caller read it in
/// this transaction. If the option keeps seats, so does the show (its count
/// is the sum of its options'), and the sold-out check is skipped.
pub(super) fn take_stock(
    conn: &Connection,
    event_id: &str,
    option_id: &str,
    quantity: i64,
    option_left: Option<i64>,
    now: i64,
) -> StoreResult<bool> {
    let taken = conn
        .prepare_cached(
            "UPDATE price_options SET remaining_count = remaining_count - ?2
             WHERE id = ?1 AND remaining_count >= ?2",
        )?
        .execute(params![option_id, quantity])?;
    if taken == 0 {
        return Ok(false);
    }
    // The count and the status change in separate statements: an UPDATE that
    // names `status` must rewrite both status indexes and re-check the
    // column's constraint on every order, though the status changes only at
    // the last seat.
    conn.prepare_cached(
        "UPDATE events SET remaining_seats = remaining_seats - ?2, updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![event_id, quantity, now])?;
    if option_left.is_some_and(|left| left > quantity) {
        return Ok(true);
    }
    conn.prepare_cached(
        "UPDATE events SET status = 'soldOut'
         WHERE id = ?1 AND remaining_seats = 0 AND status = 'onSale'",
    )?
    .execute([event_id])?;
    Ok(true)
}

/// Gives `quantity` seats back to an option and its event; a sold-out show is
/// on sale again.
pub(super) fn release(
    conn: &Connection,
    event_id: &str,
    option_id: &str,
    quantity: i64,
    now: i64,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE price_options SET remaining_count = remaining_count + ?2 WHERE id = ?1",
    )?
    .execute(params![option_id, quantity])?;
    // Split as in `take_stock`.
    conn.prepare_cached(
        "UPDATE events SET remaining_seats = remaining_seats + ?2, updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![event_id, quantity, now])?;
    conn.prepare_cached(
        "UPDATE events SET status = 'onSale' WHERE id = ?1 AND status = 'soldOut'",
    )?
    .execute([event_id])?;
    Ok(())
}

/// Whether the show is still ahead of `now` (seats can still be resold).
pub(super) fn show_ahead(conn: &Connection, event_id: &str, now: i64) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT starts_at > ?2 FROM events WHERE id = ?1")?
        .query_row(params![event_id, now], |r| r.get(0))?)
}

/// The seats of a refunded paid order: back on sale if the show is still
/// ahead; after it they cannot be resold and leave the inventory.
pub(super) fn return_refunded_seats(conn: &Connection, order: &Order, now: i64) -> StoreResult<()> {
    if show_ahead(conn, &order.event_id, now)? {
        return release(
            conn,
            &order.event_id,
            &order.price_option_id,
            order.quantity,
            now,
        );
    }
    conn.prepare_cached("UPDATE price_options SET total_count = total_count - ?2 WHERE id = ?1")?
        .execute(params![order.price_option_id, order.quantity])?;
    conn.prepare_cached("UPDATE events SET total_seats = total_seats - ?2 WHERE id = ?1")?
        .execute(params![order.event_id, order.quantity])?;
    Ok(())
}

/// An owner changes how many seats an option has. It cannot go below what is
/// sold or held.
pub fn set_option_total(
    conn: &Connection,
    scope: &TenantScope,
    option_id: &str,
    new_total: i64,
    now: i64,
) -> StoreResult<()> {
    let tenant_id = scope.id();
    let row = conn
        .prepare_cached(
            "SELECT p.event_id, p.total_count, p.remaining_count FROM price_options p
             JOIN events e ON e.id = p.event_id AND e.tenant_id = ?1
             WHERE p.id = ?2",
        )?
        .query_row([tenant_id, option_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .optional()?;
    let Some((event_id, total, remaining)) = row else {
        return Err(reject(Code::PriceOptionNotFound, "票档不存在"));
    };
    let committed = total - remaining;
    if new_total < committed {
        return Err(reject(
            Code::StockBelowSold,
            format!("已售出或锁定 {committed} 张，总量不能少于此数"),
        ));
    }
    let delta = new_total - total;
    conn.prepare_cached(
        "UPDATE price_options SET total_count = ?2, remaining_count = ?3 WHERE id = ?1",
    )?
    .execute(params![option_id, new_total, new_total - committed])?;
    conn.prepare_cached(
        "UPDATE events SET total_seats = total_seats + ?2, remaining_seats = remaining_seats + ?2,
             status = CASE
                 WHEN status = 'onSale' AND remaining_seats + ?2 = 0 THEN 'soldOut'
                 WHEN status = 'soldOut' AND remaining_seats + ?2 > 0 THEN 'onSale'
                 ELSE status END,
             updated_at = ?3
         WHERE id = ?1",
    )?
    .execute(params![event_id, delta, now])?;
    Ok(())
}
