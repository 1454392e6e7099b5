//! Orders and the inventory they hold. Every function here runs inside the
//! writer's transaction, so a refused order changes nothing: in its own
//! savepoint, or for [`create`] (a checked command, no savepoint) because
//! every check comes before its first write.
//!
//! Stock moves only in three ways: a create takes it (conditional decrement,
//! never below zero), a cancel / expiry / refund-before-the-show gives it back,
//! and an owner changes an option's total. The invariants these keep are
//! checked by [`check_invariants`] in the property tests and the benchmark.

pub mod lists;

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::catalog::events_by_ids;
use super::inventory::{release, take_stock};
use super::reject;
use super::{StoreError, StoreResult};
use crate::error::Code;
use crate::ids::new_id;
use crate::model::catalog::PageRequest;
use crate::model::orders::{CancelReason, Order, OrderFilter, OrderStatus, Ticket, TicketStatus};
use crate::model::rules::{OptionFacts, Purchase, PurchaseFacts, check_purchase};
use crate::model::{Fen, Timestamp};

pub(super) const ORDER_COLS: &str =
    "id, tenant_id, user_id, event_id, price_option_id, quantity, unit_price,
    total_amount, user_name, user_phone, status, pay_method, transaction_id, paid_at, cancelled_at,
    refunded_at, expires_at, cancel_reason, created_at, updated_at, prepay_id IS NOT NULL";

pub(super) fn order_from_row(r: &Row<'_>) -> rusqlite::Result<Order> {
    let status: String = r.get(10)?;
    let reason: Option<String> = r.get(17)?;
    Ok(Order {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        user_id: r.get(2)?,
        event_id: r.get(3)?,
        price_option_id: r.get(4)?,
        quantity: r.get(5)?,
        unit_price: Fen(r.get(6)?),
        total_amount: Fen(r.get(7)?),
        user_name: r.get(8)?,
        user_phone: r.get(9)?,
        status: OrderStatus::parse(&status).unwrap_or(OrderStatus::Cancelled),
        pay_method: r.get(11)?,
        transaction_id: r.get(12)?,
        paid_at: r.get::<_, Option<i64>>(13)?.map(Timestamp),
        cancelled_at: r.get::<_, Option<i64>>(14)?.map(Timestamp),
        refunded_at: r.get::<_, Option<i64>>(15)?.map(Timestamp),
        expires_at: Timestamp(r.get(16)?),
        cancel_reason: reason.as_deref().and_then(CancelReason::parse),
        has_prepay: r.get(20)?,
        tickets: Vec::new(),
        event: None,
        price_option: None,
        created_at: Timestamp(r.get(18)?),
        updated_at: Timestamp(r.get(19)?),
    })
}

pub(crate) fn order_not_found() -> super::StoreError {
    reject(Code::OrderNotFound, "订单不存在")
}

pub(super) fn get_by_id_any_tenant(conn: &Connection, id: &str) -> StoreResult<Option<Order>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"))?
        .query_row([id], order_from_row)
        .optional()?)
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub user_id: String,
    pub event_id: String,
    pub price_option_id: String,
    pub quantity: i64,
    pub user_name: String,
    pub user_phone: String,
    pub idempotency_key: Option<String>,
    /// How long the order holds its seats unpaid (ms).
    pub hold_ms: i64,
}

/// Creates a pending order and takes its stock, or refuses with the reason.
///
/// With an Idempotency-Key, a retry of the same purchase gets the same order
/// back (whatever has sold since) and the same key on a different purchase is
/// refused. The key is looked up only when the purchase would not go through
/// as new: when it is refused, or when the insert meets the key's unique
/// index. A first attempt, the common case at an on-sale peak, costs the
/// writer no extra read. Both fallbacks happen before anything is written.
///
/// Runs as a checked command (`Store::write_checked`): every refusal comes
/// before the first write (the insert, which a unique-key collision aborts
/// whole), and a failure after it rolls back the writer's whole batch.
pub fn create(conn: &Connection, o: &NewOrder, now: i64) -> StoreResult<Order> {
    let refused = match place(conn, o, now) {
        Ok(Placed::Created(order)) => return Ok(*order),
        Ok(Placed::KeyTaken(e)) => StoreError::Db(e),
        Err(e @ StoreError::Rejected(_)) => e,
        Err(e) => return Err(e),
    };
    let Some(key) = &o.idempotency_key else {
        return Err(refused);
    };
    let existing = conn
        .prepare_cached(&format!(
            "SELECT {ORDER_COLS} FROM orders WHERE user_id = ?1 AND idempotency_key = ?2"
        ))?
        .query_row([&o.user_id, key], order_from_row)
        .optional()?;
    match existing {
        None => Err(refused),
        Some(existing)
            if existing.event_id == o.event_id
                && existing.price_option_id == o.price_option_id
                && existing.quantity == o.quantity =>
        {
            Ok(existing)
        }
        // The same key on a different purchase is a client bug worth naming.
        Some(_) => Err(reject(
            Code::IdempotencyKeyReused,
            "Idempotency-Key 已用于另一笔不同的订单",
        )),
    }
}

enum Placed {
    Created(Box<Order>),
    /// The insert met an existing order with this Idempotency-Key; nothing
    /// was written.
    KeyTaken(rusqlite::Error),
}

/// The purchase as a new order: every check, then the insert (the first
/// write), then the stock.
fn place(conn: &Connection, o: &NewOrder, now: i64) -> StoreResult<Placed> {
    // The show, the chosen option and what this buyer already holds of the
    // show, in one lookup; a missing option (or one of another show) comes
    // back as NULLs, and so does a buyer with no hold row yet.
    let row = conn
        .prepare_cached(
            "SELECT e.tenant_id, e.status, e.starts_at, e.sale_start_at, e.sale_end_at,
                    e.max_per_order, e.max_per_user, p.price, p.status, p.remaining_count,
                    h.quantity
             FROM events e JOIN tenants t ON t.id = e.tenant_id AND t.status = 'active'
             LEFT JOIN price_options p ON p.id = ?2 AND p.event_id = e.id
             LEFT JOIN user_event_holds h ON h.user_id = ?3 AND h.event_id = e.id
             WHERE e.id = ?1",
        )?
        .query_row([&o.event_id, &o.price_option_id, &o.user_id], |r| {
            Ok((
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                ),
                (
                    r.get::<_, Option<i64>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                ),
                r.get::<_, Option<i64>>(10)?,
            ))
        })
        .optional()?;
    let Some((event, option, hold)) = row else {
        return Err(reject(Code::EventNotFound, "演出不存在"));
    };
    let (tenant_id, status, starts_at, sale_start_at, sale_end_at, max_per_order, max_per_user) =
        event;
    let already = hold.unwrap_or(0);
    let left = option.2;
    let facts = PurchaseFacts {
        event_status: &status,
        starts_at,
        sale_start_at,
        sale_end_at,
        max_per_order,
        max_per_user,
        option: match (option.0, option.1.as_deref(), option.2) {
            (Some(price), Some(status), Some(remaining)) => Some(OptionFacts {
                price,
                status,
                remaining,
            }),
            _ => None,
        },
        held: already,
    };
    let Purchase {
        unit_price: price,
        total,
    } = check_purchase(&facts, o.quantity, now)?;
    let left = left.unwrap_or(0);

    let id = new_id();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO orders (id, tenant_id, user_id, event_id, price_option_id, quantity,
             unit_price, total_amount, user_name, user_phone, status, expires_at,
             idempotency_key, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11, ?12, ?13, ?13)",
        )?
        .execute(params![
            id,
            tenant_id,
            o.user_id,
            o.event_id,
            o.price_option_id,
            o.quantity,
            price,
            total,
            o.user_name,
            o.user_phone,
            now + o.hold_ms,
            o.idempotency_key,
            now,
        ]);
    match inserted {
        Ok(_) => {}
        Err(e) if o.idempotency_key.is_some() && is_unique_violation(&e) => {
            return Ok(Placed::KeyTaken(e));
        }
        Err(e) => return Err(e.into()),
    }
    add_hold(conn, &o.user_id, &o.event_id, hold, already + o.quantity)?;
    // Checked above in this same transaction, and only this writer changes
    // stock: a refusal here means the counts disagree, so the whole command
    // rolls back as an error rather than a sold-out answer.
    if !take_stock(
        conn,
        &o.event_id,
        &o.price_option_id,
        o.quantity,
        Some(left),
        now,
    )? {
        return Err(StoreError::Commit(format!(
            "stock of option {} changed under the writer",
            o.price_option_id
        )));
    }
    Ok(Placed::Created(Box::new(Order {
        id,
        tenant_id,
        user_id: o.user_id.clone(),
        event_id: o.event_id.clone(),
        price_option_id: o.price_option_id.clone(),
        quantity: o.quantity,
        unit_price: Fen(price),
        total_amount: Fen(total),
        user_name: o.user_name.clone(),
        user_phone: o.user_phone.clone(),
        status: OrderStatus::Pending,
        pay_method: None,
        transaction_id: None,
        paid_at: None,
        cancelled_at: None,
        refunded_at: None,
        expires_at: Timestamp(now + o.hold_ms),
        cancel_reason: None,
        has_prepay: false,
        tickets: Vec::new(),
        event: None,
        price_option: None,
        created_at: Timestamp(now),
        updated_at: Timestamp(now),
    })))
}

/// Tickets a user holds or is buying for a show (pending, paid and used
/// orders): what the per-user limit counts. One row, written by `place`
/// when an order is created and kept by triggers on `orders` after that
/// (migrations/0001_init.sql).
pub(super) fn held_by_user(conn: &Connection, user_id: &str, event_id: &str) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT quantity FROM user_event_holds WHERE user_id = ?1 AND event_id = ?2",
        )?
        .query_row([user_id, event_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Records the buyer's new total for the show after an order insert (the
/// triggers keep it on every later change). `existing` is
/// the row as read in this transaction: `None` means there is none yet.
fn add_hold(
    conn: &Connection,
    user_id: &str,
    event_id: &str,
    existing: Option<i64>,
    total: i64,
) -> StoreResult<()> {
    let sql = if existing.is_some() {
        "UPDATE user_event_holds SET quantity = ?3 WHERE user_id = ?1 AND event_id = ?2"
    } else {
        "INSERT INTO user_event_holds (user_id, event_id, quantity) VALUES (?1, ?2, ?3)"
    };
    let changed = conn
        .prepare_cached(sql)?
        .execute(params![user_id, event_id, total])?;
    if changed != 1 {
        return Err(StoreError::Commit(format!(
            "hold of user {user_id} for event {event_id} changed under the writer"
        )));
    }
    Ok(())
}

/// The insert met a UNIQUE index (for orders: the Idempotency-Key's).
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Who may cancel: the buyer (their own orders only), or the system / an admin.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    User(&'a str),
    System,
}

/// Cancels a pending order and releases its stock. Someone else's order is
/// "not found", never "forbidden".
pub fn cancel(
    conn: &Connection,
    actor: Actor<'_>,
    order_id: &str,
    reason: CancelReason,
    now: i64,
) -> StoreResult<Order> {
    let Some(order) = get_by_id_any_tenant(conn, order_id)? else {
        return Err(order_not_found());
    };
    if let Actor::User(uid) = actor
        && order.user_id != uid
    {
        return Err(order_not_found());
    }
    let changed = conn
        .prepare_cached(
            "UPDATE orders SET status = 'cancelled', cancel_reason = ?2, cancelled_at = ?3,
                 updated_at = ?3
             WHERE id = ?1 AND status = 'pending'",
        )?
        .execute(params![order_id, reason.as_str(), now])?;
    if changed == 0 {
        return Err(reject(Code::OrderNotPending, "只有待支付的订单可以取消"));
    }
    release(
        conn,
        &order.event_id,
        &order.price_option_id,
        order.quantity,
        now,
    )?;
    Ok(Order {
        status: OrderStatus::Cancelled,
        cancel_reason: Some(reason),
        cancelled_at: Some(Timestamp(now)),
        updated_at: Timestamp(now),
        ..order
    })
}

/// Pending orders past their hold that have no WeChat prepay id: safe to
/// cancel without asking WeChat.
pub fn due_without_prepay(conn: &Connection, now: i64, limit: i64) -> StoreResult<Vec<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM orders WHERE status = 'pending' AND expires_at <= ?1
                 AND prepay_id IS NULL
             ORDER BY expires_at LIMIT ?2",
        )?
        .query_map(params![now, limit], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?)
}

/// Pending orders past their hold that did reach WeChat: a payment may have
/// just happened, so they are checked with WeChat before they expire.
pub(crate) fn due_with_prepay(
    conn: &Connection,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<(String, i64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, expires_at FROM orders WHERE status = 'pending' AND expires_at <= ?1
                 AND prepay_id IS NOT NULL
             ORDER BY expires_at LIMIT ?2",
        )?
        .query_map(params![now, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Cancels as `timeout` each listed order that is still pending and past its
/// hold (another command may have paid or cancelled it meanwhile).
pub fn expire(conn: &Connection, ids: &[String], now: i64) -> StoreResult<usize> {
    let mut n = 0;
    for id in ids {
        let still_due: bool = conn
            .prepare_cached(
                "SELECT 1 FROM orders WHERE id = ?1 AND status = 'pending' AND expires_at <= ?2",
            )?
            .exists(params![id, now])?;
        if still_due {
            cancel(conn, Actor::System, id, CancelReason::Timeout, now)?;
            n += 1;
        }
    }
    Ok(n)
}

fn tickets_for(conn: &Connection, order_ids: &[&str]) -> StoreResult<HashMap<String, Vec<Ticket>>> {
    let mut out: HashMap<String, Vec<Ticket>> = HashMap::new();
    if order_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT id, order_id, seat_no, qr_code, status, used_at, created_at FROM tickets
         WHERE order_id IN ({}) ORDER BY order_id, id",
        vec!["?"; order_ids.len()].join(",")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(order_ids.iter()), |r| {
        Ok(Ticket {
            id: r.get(0)?,
            order_id: r.get(1)?,
            seat_no: r.get(2)?,
            qr_code: r.get(3)?,
            // The table's CHECK allows only these; never show an unknown as valid.
            status: TicketStatus::parse(&r.get::<_, String>(4)?).unwrap_or(TicketStatus::Expired),
            used_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
            created_at: Timestamp(r.get(6)?),
        })
    })?;
    for t in rows {
        let t = t?;
        out.entry(t.order_id.clone()).or_default().push(t);
    }
    Ok(out)
}

/// Fills tickets, event and price option for a page of orders, in three
/// queries whatever the page size.
pub(super) fn attach_details(conn: &Connection, orders: &mut [Order]) -> StoreResult<()> {
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    let mut tickets = tickets_for(conn, &ids)?;
    let event_ids: Vec<&str> = orders.iter().map(|o| o.event_id.as_str()).collect();
    let events: HashMap<String, _> = events_by_ids(conn, &event_ids)?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    for o in orders.iter_mut() {
        o.tickets = tickets.remove(&o.id).unwrap_or_default();
        if let Some(e) = events.get(&o.event_id) {
            o.price_option = e
                .price_options
                .iter()
                .find(|p| p.id == o.price_option_id)
                .cloned();
            o.event = Some(e.clone());
        }
    }
    Ok(())
}

/// Any order by id, with tickets, event and price option (payments and admin
/// paths; the buyer's path is [`get_for_user`]).
pub(crate) fn find_with_details_any_tenant(
    conn: &Connection,
    order_id: &str,
) -> StoreResult<Option<Order>> {
    let Some(order) = get_by_id_any_tenant(conn, order_id)? else {
        return Ok(None);
    };
    let mut one = [order];
    attach_details(conn, &mut one)?;
    let [order] = one;
    Ok(Some(order))
}

/// One of the buyer's own orders, with tickets, event and price option.
pub(crate) fn get_for_user(
    conn: &Connection,
    user_id: &str,
    order_id: &str,
) -> StoreResult<Option<Order>> {
    Ok(find_with_details_any_tenant(conn, order_id)?.filter(|o| o.user_id == user_id))
}

/// The buyer's orders, newest first.
pub(crate) fn list_for_user(
    conn: &Connection,
    user_id: &str,
    filter: &OrderFilter,
    page: PageRequest,
) -> StoreResult<(Vec<Order>, i64)> {
    let mut clauses = vec!["user_id = ?1".to_string()];
    let mut args: Vec<rusqlite::types::Value> = vec![user_id.to_string().into()];
    if let Some(t) = &filter.tenant_id {
        args.push(t.clone().into());
        clauses.push(format!("tenant_id = ?{}", args.len()));
    }
    if let Some(s) = filter.status {
        args.push(s.as_str().to_string().into());
        clauses.push(format!("status = ?{}", args.len()));
    }
    let where_sql = clauses.join(" AND ");
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM orders WHERE {where_sql}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    if total == 0 || page.offset() >= total {
        return Ok((Vec::new(), total));
    }
    args.push(page.page_size.into());
    args.push(page.offset().into());
    let n = args.len();
    let mut orders = conn
        .prepare_cached(&format!(
            "SELECT {ORDER_COLS} FROM orders WHERE {where_sql}
             ORDER BY created_at DESC, id DESC LIMIT ?{} OFFSET ?{n}",
            n - 1
        ))?
        .query_map(params_from_iter(args.iter()), order_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_details(conn, &mut orders)?;
    Ok((orders, total))
}

/// Checks DESIGN.md §4's inventory invariants over the whole database:
/// remaining + held + sold = total and remaining ≥ 0 per option; event sums;
/// amounts; per-user limits. Returns the first violation found.
pub fn check_invariants(conn: &Connection) -> StoreResult<Result<(), String>> {
    let bad_option: Option<(String, i64, i64, i64, i64)> = conn
        .query_row(
            "SELECT p.id, p.total_count, p.remaining_count,
                    COALESCE(SUM(CASE WHEN o.status = 'pending' THEN o.quantity END), 0),
                    COALESCE(SUM(CASE WHEN o.status IN ('paid', 'used') THEN o.quantity END), 0)
             FROM price_options p LEFT JOIN orders o ON o.price_option_id = p.id
             GROUP BY p.id
             HAVING p.remaining_count < 0
                 OR p.remaining_count
                    + COALESCE(SUM(CASE WHEN o.status = 'pending' THEN o.quantity END), 0)
                    + COALESCE(SUM(CASE WHEN o.status IN ('paid', 'used') THEN o.quantity END), 0)
                    != p.total_count
             LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    if let Some((id, total, remaining, held, sold)) = bad_option {
        return Ok(Err(format!(
            "option {id}: remaining {remaining} + held {held} + sold {sold} != total {total}"
        )));
    }
    let bad_event: Option<(String, i64, i64, i64, i64)> = conn
        .query_row(
            "SELECT e.id, e.total_seats, e.remaining_seats,
                    COALESCE(SUM(p.total_count), 0), COALESCE(SUM(p.remaining_count), 0)
             FROM events e LEFT JOIN price_options p ON p.event_id = e.id
             GROUP BY e.id
             HAVING e.total_seats != COALESCE(SUM(p.total_count), 0)
                 OR e.remaining_seats != COALESCE(SUM(p.remaining_count), 0)
             LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    if let Some((id, ts, rs, sum_t, sum_r)) = bad_event {
        return Ok(Err(format!(
            "event {id}: seats {rs}/{ts} but options sum to {sum_r}/{sum_t}"
        )));
    }
    let bad_amount: Option<String> = conn
        .query_row(
            "SELECT id FROM orders WHERE total_amount != unit_price * quantity LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = bad_amount {
        return Ok(Err(format!("order {id}: total != unit price x quantity")));
    }
    let over_limit: Option<(String, String, i64, i64)> = conn
        .query_row(
            "SELECT o.user_id, o.event_id, SUM(o.quantity), e.max_per_user
             FROM orders o JOIN events e ON e.id = o.event_id
             WHERE o.status IN ('pending', 'paid', 'used')
             GROUP BY o.user_id, o.event_id
             HAVING SUM(o.quantity) > e.max_per_user
             LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    if let Some((u, e, n, max)) = over_limit {
        return Ok(Err(format!("user {u} holds {n} > {max} for event {e}")));
    }
    // A show on sale has seats; a sold-out one has none.
    let bad_status: Option<(String, String, i64)> = conn
        .query_row(
            "SELECT id, status, remaining_seats FROM events
             WHERE (status = 'onSale' AND remaining_seats = 0)
                OR (status = 'soldOut' AND remaining_seats > 0)
             LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((id, status, left)) = bad_status {
        return Ok(Err(format!(
            "event {id} is {status} with {left} seats left"
        )));
    }
    // The per-user counts the limit check reads agree with the orders.
    let bad_hold: Option<(String, String, i64, i64)> = conn
        .query_row(
            "SELECT COALESCE(o.user_id, h.user_id), COALESCE(o.event_id, h.event_id),
                    COALESCE(o.n, 0), COALESCE(h.quantity, 0)
             FROM (SELECT user_id, event_id, SUM(quantity) AS n FROM orders
                   WHERE status IN ('pending', 'paid', 'used')
                   GROUP BY user_id, event_id) o
             FULL JOIN (SELECT * FROM user_event_holds WHERE quantity != 0) h
               ON h.user_id = o.user_id AND h.event_id = o.event_id
             WHERE COALESCE(o.n, 0) != COALESCE(h.quantity, 0)
             LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    if let Some((u, e, n, held)) = bad_hold {
        return Ok(Err(format!(
            "user {u} has {n} in orders for event {e} but the count says {held}"
        )));
    }
    Ok(Ok(()))
}
