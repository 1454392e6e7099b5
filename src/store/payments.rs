//! Money in and out: prepay ids, settling a payment (tickets issued in the same
//! transaction), refunds, and the record of every notification. All writes run
//! in the writer, so a notify delivered ten times is settled once.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreResult;
use super::orders::{
    get_by_id, held_by_user, order_not_found, reject, return_refunded_seats, show_ahead, take_stock,
};
use crate::ids::new_id;
use crate::model::RejectKind;
use crate::model::orders::{Order, OrderStatus};
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

/// What a payment needs to know about an order: the order, the buyer's
/// openid and the show's title (the payment description).
pub struct PayableOrder {
    pub order: Order,
    pub openid: String,
    pub title: String,
    pub prepay_id: Option<String>,
    pub prepay_expires_at: Option<i64>,
}

pub fn payable_order(
    conn: &Connection,
    user_id: &str,
    order_id: &str,
) -> StoreResult<Option<PayableOrder>> {
    let Some(order) = get_by_id(conn, order_id)?.filter(|o| o.user_id == user_id) else {
        return Ok(None);
    };
    let (openid, title, prepay_id, prepay_expires_at) = conn
        .prepare_cached(
            "SELECT u.openid, e.title, o.prepay_id, o.prepay_expires_at
             FROM orders o JOIN users u ON u.id = o.user_id JOIN events e ON e.id = o.event_id
             WHERE o.id = ?1",
        )?
        .query_row([order_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
    Ok(Some(PayableOrder {
        order,
        openid,
        title,
        prepay_id,
        prepay_expires_at,
    }))
}

/// Remembers the WeChat prepay id of a still-pending order.
pub fn set_prepay(
    conn: &Connection,
    order_id: &str,
    prepay_id: &str,
    expires_at: i64,
    now: i64,
) -> StoreResult<()> {
    let n = conn
        .prepare_cached(
            "UPDATE orders SET prepay_id = ?2, prepay_expires_at = ?3, updated_at = ?4
             WHERE id = ?1 AND status = 'pending'",
        )?
        .execute(params![order_id, prepay_id, expires_at, now])?;
    if n == 0 {
        return Err(reject(
            RejectKind::Conflict,
            "ORDER_NOT_PENDING",
            "订单不是待支付状态",
        ));
    }
    Ok(())
}

/// A payment WeChat reports for one of our orders.
#[derive(Debug, Clone)]
pub struct Payment {
    pub order_id: String,
    pub transaction_id: String,
    /// Fen actually paid (`amount.total`).
    pub amount: i64,
}

/// What settling a payment did.
#[derive(Debug, Clone)]
pub enum Settlement {
    /// Pending → paid, tickets issued.
    Paid(Order),
    /// This transaction was settled before: nothing changed.
    AlreadySettled,
    /// The order had been cancelled, but its seats were still there: taken
    /// again, order paid, tickets issued.
    Recovered(Order),
    /// The money cannot be kept (order cancelled and sold out, or a second
    /// transaction for a paid order): a refund was recorded and must be sent.
    MustRefund(RefundRequest),
}

/// A refund recorded in `refunds` that WeChat still has to be asked for.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub out_refund_no: String,
    pub order_id: String,
    pub amount: i64,
    pub total: i64,
    pub reason: Option<String>,
}

/// Applies a verified payment to its order. The caller has checked that the
/// amount equals the order's total.
pub fn settle_payment(
    conn: &Connection,
    p: &Payment,
    key: &QrKey,
    now: i64,
) -> StoreResult<Settlement> {
    let Some(order) = get_by_id(conn, &p.order_id)? else {
        return Err(order_not_found());
    };
    if order.transaction_id.as_deref() == Some(p.transaction_id.as_str()) {
        return Ok(Settlement::AlreadySettled);
    }
    let refund_of = |reason: &str| -> StoreResult<Settlement> {
        Ok(Settlement::MustRefund(insert_refund(
            conn,
            &order,
            p.amount,
            Some(reason),
            "system",
            now,
        )?))
    };
    match order.status {
        OrderStatus::Pending => {
            mark_paid(conn, &order.id, &p.transaction_id, now)?;
            issue_tickets(conn, &order, key, now)?;
            Ok(Settlement::Paid(full(conn, &order.id)?))
        }
        OrderStatus::Cancelled => {
            // Late payment: keep it if the seats are still there and the show
            // is ahead, otherwise give the money back.
            let show_ahead = show_ahead(conn, &order.event_id, now)?;
            // The per-user limit still holds for a late payment.
            let held = held_by_user(conn, &order.user_id, &order.event_id)?;
            let max_per_user: i64 = conn
                .prepare_cached("SELECT max_per_user FROM events WHERE id = ?1")?
                .query_row([&order.event_id], |r| r.get(0))?;
            if show_ahead
                && held + order.quantity <= max_per_user
                && take_stock(
                    conn,
                    &order.event_id,
                    &order.price_option_id,
                    order.quantity,
                    None,
                    now,
                )?
            {
                conn.prepare_cached(
                    "UPDATE orders SET status = 'pending', cancel_reason = NULL,
                         cancelled_at = NULL WHERE id = ?1",
                )?
                .execute([&order.id])?;
                mark_paid(conn, &order.id, &p.transaction_id, now)?;
                issue_tickets(conn, &order, key, now)?;
                tracing::warn!(order = %order.id, "payment after cancellation: seats taken again, order paid");
                return Ok(Settlement::Recovered(full(conn, &order.id)?));
            }
            // Record who paid what on the order, then refund it.
            conn.prepare_cached(
                "UPDATE orders SET transaction_id = ?2, paid_at = ?3, pay_method = 'wechat',
                     updated_at = ?3 WHERE id = ?1",
            )?
            .execute(params![order.id, p.transaction_id, now])?;
            tracing::warn!(order = %order.id, "payment after cancellation with no seats left: refunding");
            refund_of("订单已关闭且余票不足，自动退款")
        }
        // WeChat lets one out_trade_no be paid once, so a different
        // transaction for a settled order should not exist: keep the order as
        // it is and leave a trace for a human.
        OrderStatus::Paid | OrderStatus::Used | OrderStatus::Refunded => {
            tracing::error!(order = %order.id, transaction = %p.transaction_id,
                "a second transaction for a settled order; order left untouched");
            audit(
                conn,
                &order.tenant_id,
                "unexpected_second_payment",
                &order.id,
                &p.transaction_id,
                now,
            )?;
            Ok(Settlement::AlreadySettled)
        }
    }
}

fn mark_paid(conn: &Connection, order_id: &str, transaction_id: &str, now: i64) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE orders SET status = 'paid', paid_at = ?2, transaction_id = ?3,
             pay_method = 'wechat', updated_at = ?2
         WHERE id = ?1 AND status = 'pending'",
    )?
    .execute(params![order_id, now, transaction_id])?;
    Ok(())
}

/// `quantity` tickets, each with its own QR code.
fn issue_tickets(conn: &Connection, order: &Order, key: &QrKey, now: i64) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO tickets (id, order_id, qr_code, status, created_at)
         VALUES (?1, ?2, ?3, 'valid', ?4)",
    )?;
    for _ in 0..order.quantity {
        stmt.execute(params![new_id(), order.id, key.mint(), now])?;
    }
    Ok(())
}

fn full(conn: &Connection, order_id: &str) -> StoreResult<Order> {
    super::orders::find_with_details(conn, order_id)?.ok_or_else(order_not_found)
}

fn insert_refund(
    conn: &Connection,
    order: &Order,
    amount: i64,
    reason: Option<&str>,
    requested_by: &str,
    now: i64,
) -> StoreResult<RefundRequest> {
    let out_refund_no = new_id();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO refunds (id, out_refund_no, tenant_id, order_id, amount, reason, status,
                 requested_by, created_at, updated_at)
             VALUES (?1, ?1, ?2, ?3, ?4, ?5, 'processing', ?6, ?7, ?7)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            out_refund_no,
            order.tenant_id,
            order.id,
            amount,
            reason,
            requested_by,
            now
        ])?;
    if inserted == 0 {
        return Err(reject(
            RejectKind::Conflict,
            "REFUND_EXISTS",
            "该订单已申请退款，请勿重复提交",
        ));
    }
    Ok(RefundRequest {
        out_refund_no,
        order_id: order.id.clone(),
        amount,
        total: order.total_amount.0,
        reason: reason.map(str::to_string),
    })
}

/// Who asks for a refund, and whether the buyer's policy applies.
#[derive(Debug, Clone)]
pub enum RefundActor {
    /// The buyer: own orders only, every ticket still valid, the show more
    /// than `cutoff_ms` away.
    User { user_id: String, cutoff_ms: i64 },
    /// A club admin (admin issue): no policy checks, own club only.
    Admin { admin_id: String, tenant_id: String },
}

/// Records a refund of a paid order and makes its tickets invalid at once.
/// A second request while one is in flight (or done) is `REFUND_EXISTS`.
pub fn begin_refund(
    conn: &Connection,
    actor: &RefundActor,
    order_id: &str,
    reason: Option<&str>,
    now: i64,
) -> StoreResult<RefundRequest> {
    let Some(order) = get_by_id(conn, order_id)? else {
        return Err(order_not_found());
    };
    let requested_by = match actor {
        RefundActor::User { user_id, .. } if order.user_id != *user_id => {
            return Err(order_not_found());
        }
        RefundActor::Admin { tenant_id, .. } if order.tenant_id != *tenant_id => {
            return Err(order_not_found());
        }
        RefundActor::User { user_id, .. } => format!("user:{user_id}"),
        RefundActor::Admin { admin_id, .. } => format!("admin:{admin_id}"),
    };
    let live: bool = conn
        .prepare_cached(
            "SELECT 1 FROM refunds WHERE order_id = ?1 AND status IN ('processing', 'success')",
        )?
        .exists([order_id])?;
    if live || order.status == OrderStatus::Refunded {
        return Err(reject(
            RejectKind::Conflict,
            "REFUND_EXISTS",
            "该订单已申请退款，请勿重复提交",
        ));
    }
    if order.status != OrderStatus::Paid {
        return Err(reject(
            RejectKind::Conflict,
            "ORDER_NOT_PAID",
            "只有已支付且未使用的订单可以退款",
        ));
    }
    if let RefundActor::User { cutoff_ms, .. } = actor {
        let cutoff_ms = *cutoff_ms;
        let used: bool = conn
            .prepare_cached("SELECT 1 FROM tickets WHERE order_id = ?1 AND status != 'valid'")?
            .exists([order_id])?;
        if used {
            return Err(reject(
                RejectKind::Conflict,
                "TICKET_USED",
                "已有票券使用过，不能退款",
            ));
        }
        let starts_at: i64 = conn
            .prepare_cached("SELECT starts_at FROM events WHERE id = ?1")?
            .query_row([&order.event_id], |r| r.get(0))?;
        if starts_at - now <= cutoff_ms {
            let hours = cutoff_ms / 3_600_000;
            return Err(reject(
                RejectKind::Conflict,
                "REFUND_WINDOW_CLOSED",
                format!("演出开始前 {hours} 小时内不能退款"),
            ));
        }
    }
    let req = insert_refund(
        conn,
        &order,
        order.total_amount.0,
        reason,
        &requested_by,
        now,
    )?;
    conn.prepare_cached(
        "UPDATE tickets SET status = 'expired' WHERE order_id = ?1 AND status = 'valid'",
    )?
    .execute([order_id])?;
    audit(
        conn,
        &order.tenant_id,
        "refund_requested",
        order_id,
        &requested_by,
        now,
    )?;
    Ok(req)
}

/// WeChat's verdict on a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Success {
        refund_id: Option<String>,
    },
    /// Closed without paying out: the order keeps its payment and tickets.
    Closed,
    /// Stuck at WeChat (e.g. the buyer's card was closed): needs a human.
    Abnormal,
    /// Still processing: nothing to record yet.
    Processing,
}

impl RefundOutcome {
    pub fn from_wechat(state: &str, refund_id: Option<String>) -> RefundOutcome {
        match state {
            "SUCCESS" => RefundOutcome::Success { refund_id },
            "CLOSED" => RefundOutcome::Closed,
            "ABNORMAL" => RefundOutcome::Abnormal,
            _ => RefundOutcome::Processing,
        }
    }
}

/// Applies WeChat's verdict to a refund and its order; idempotent (a refund
/// no longer processing is left alone). Returns the order afterwards.
pub fn finish_refund(
    conn: &Connection,
    out_refund_no: &str,
    outcome: &RefundOutcome,
    now: i64,
) -> StoreResult<Option<Order>> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT order_id, status FROM refunds WHERE out_refund_no = ?1")?
        .query_row([out_refund_no], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((order_id, status)) = row else {
        return Err(reject(
            RejectKind::NotFound,
            "REFUND_NOT_FOUND",
            "退款记录不存在",
        ));
    };
    if status != "processing" || *outcome == RefundOutcome::Processing {
        return get_by_id(conn, &order_id);
    }
    let (new_status, refund_id) = match outcome {
        RefundOutcome::Success { refund_id } => ("success", refund_id.clone()),
        RefundOutcome::Closed => ("closed", None),
        RefundOutcome::Abnormal => ("abnormal", None),
        RefundOutcome::Processing => unreachable!("handled above"),
    };
    conn.prepare_cached(
        "UPDATE refunds SET status = ?2, wechat_refund_id = COALESCE(?3, wechat_refund_id),
             updated_at = ?4 WHERE out_refund_no = ?1",
    )?
    .execute(params![out_refund_no, new_status, refund_id, now])?;
    let order = get_by_id(conn, &order_id)?.ok_or_else(order_not_found)?;
    match (outcome, order.status) {
        (RefundOutcome::Success { .. }, OrderStatus::Paid) => {
            conn.prepare_cached(
                "UPDATE orders SET status = 'refunded', refunded_at = ?2, updated_at = ?2
                 WHERE id = ?1",
            )?
            .execute(params![order_id, now])?;
            return_refunded_seats(conn, &order, now)?;
        }
        // A late payment refunded: its seats were released at cancellation.
        (RefundOutcome::Success { .. }, OrderStatus::Cancelled) => {
            conn.prepare_cached(
                "UPDATE orders SET status = 'refunded', refunded_at = ?2, updated_at = ?2
                 WHERE id = ?1",
            )?
            .execute(params![order_id, now])?;
        }
        (RefundOutcome::Closed, OrderStatus::Paid) => {
            // No money went back: the buyer keeps the seats.
            conn.prepare_cached(
                "UPDATE tickets SET status = 'valid' WHERE order_id = ?1 AND status = 'expired'",
            )?
            .execute([&order_id])?;
        }
        _ => {}
    }
    audit(
        conn,
        &order.tenant_id,
        &format!("refund_{new_status}"),
        &order_id,
        out_refund_no,
        now,
    )?;
    get_by_id(conn, &order_id)
}

/// Refunds still processing, last touched before `before` (re-checked with
/// WeChat by the refund tick).
pub fn stale_refunds(
    conn: &Connection,
    before: i64,
    limit: i64,
) -> StoreResult<Vec<RefundRequest>> {
    Ok(conn
        .prepare_cached(
            "SELECT r.out_refund_no, r.order_id, r.amount, o.total_amount, r.reason
             FROM refunds r JOIN orders o ON o.id = r.order_id
             WHERE r.status = 'processing' AND r.updated_at < ?1
             ORDER BY r.updated_at LIMIT ?2",
        )?
        .query_map(params![before, limit], |r| {
            Ok(RefundRequest {
                out_refund_no: r.get(0)?,
                order_id: r.get(1)?,
                amount: r.get(2)?,
                total: r.get(3)?,
                reason: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Marks a refund as looked at now, so the tick does not re-check it at once.
pub fn touch_refund(conn: &Connection, out_refund_no: &str, now: i64) -> StoreResult<()> {
    conn.prepare_cached("UPDATE refunds SET updated_at = ?2 WHERE out_refund_no = ?1")?
        .execute(params![out_refund_no, now])?;
    Ok(())
}

/// One received notification, whatever became of it.
pub struct NotificationRecord<'a> {
    pub kind: &'a str,
    pub notify_id: Option<&'a str>,
    pub order_id: Option<&'a str>,
    pub raw_body: &'a str,
    pub headers: Option<&'a str>,
    pub verified: bool,
    pub processed: bool,
    pub verdict: &'a str,
}

pub fn record_notification(
    conn: &Connection,
    n: &NotificationRecord<'_>,
    now: i64,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO payment_notifications (id, kind, notify_id, order_id, raw_body, headers,
             verified, processed, verdict, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        new_id(),
        n.kind,
        n.notify_id,
        n.order_id,
        n.raw_body,
        n.headers,
        n.verified,
        n.processed,
        n.verdict,
        now
    ])?;
    Ok(())
}

fn audit(
    conn: &Connection,
    tenant_id: &str,
    action: &str,
    order_id: &str,
    detail: &str,
    now: i64,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (id, tenant_id, actor, action, target_type, target_id, detail,
             created_at)
         VALUES (?1, ?2, 'system', ?3, 'order', ?4, ?5, ?6)",
    )?
    .execute(params![
        new_id(),
        tenant_id,
        action,
        order_id,
        serde_json::json!({ "detail": detail }).to_string(),
        now
    ])?;
    Ok(())
}

/// A ticket's QR code, for its owner only.
pub fn ticket_code_for_user(
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

/// Money check for tests and the benchmark: per order, what was paid and
/// what was refunded (successful refunds only).
pub fn money_by_order(conn: &Connection) -> StoreResult<Vec<(String, String, i64, i64)>> {
    Ok(conn
        .prepare(
            "SELECT o.id, o.status,
                    CASE WHEN o.transaction_id IS NOT NULL THEN o.total_amount ELSE 0 END,
                    COALESCE((SELECT SUM(amount) FROM refunds r
                              WHERE r.order_id = o.id AND r.status = 'success'), 0)
             FROM orders o",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}
