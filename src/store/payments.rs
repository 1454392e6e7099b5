//! Money in and out: prepay ids, settling a payment (tickets issued in the same
//! transaction), refunds, and the record of every notification. All writes run
//! in the writer, so a notify delivered ten times is settled once.

use rusqlite::{Connection, params};

use super::StoreResult;
use super::audit::{AuditActor, Target, audit};
use super::changes::{self, Changes};
use super::inventory::{show_ahead, take_stock};
use super::orders::{get_by_id_any_tenant, held_by_user, order_not_found};
use super::refunds::RefundCause;
use super::refunds::{RefundRequest, insert_refund};
use super::reject;
use super::tickets::issue_tickets;
use crate::error::Code;
use crate::ids::new_id;
use crate::model::orders::Order;
use crate::model::rules::{PaymentEffect, late_payment_may_keep_seats, payment_effect};
use crate::model::tickets::QrKey;

/// What a payment needs to know about an order: the order, the buyer's
/// openid and the show's title (the payment description).
pub(crate) struct PayableOrder {
    pub order: Order,
    pub openid: String,
    pub title: String,
    pub prepay_id: Option<String>,
    pub prepay_expires_at: Option<i64>,
}

pub(crate) fn payable_order(
    conn: &Connection,
    user_id: &str,
    order_id: &str,
) -> StoreResult<Option<PayableOrder>> {
    let Some(order) = get_by_id_any_tenant(conn, order_id)?.filter(|o| o.user_id == user_id) else {
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
pub(crate) fn set_prepay(
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
        return Err(reject(Code::OrderNotPending, "订单不是待支付状态"));
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

/// Applies a verified payment to its order. The caller has checked that the
/// amount equals the order's total.
pub fn settle_payment(
    conn: &Connection,
    p: &Payment,
    key: &QrKey,
    now: i64,
) -> StoreResult<Settlement> {
    changes::note(conn, Changes::CATALOG | Changes::SALES);
    let Some(order) = get_by_id_any_tenant(conn, &p.order_id)? else {
        return Err(order_not_found());
    };
    let refund_of = |reason: &str| -> StoreResult<Settlement> {
        Ok(Settlement::MustRefund(insert_refund(
            conn,
            &order,
            p.amount,
            Some(reason),
            "system",
            RefundCause::LatePayment,
            now,
        )?))
    };
    let same_transaction = order.transaction_id.as_deref() == Some(p.transaction_id.as_str());
    match payment_effect(order.status, same_transaction) {
        PaymentEffect::AlreadySettled => Ok(Settlement::AlreadySettled),
        PaymentEffect::Pay => {
            mark_paid(conn, &order.id, &p.transaction_id, now)?;
            issue_tickets(conn, &order, key, now)?;
            Ok(Settlement::Paid(full(conn, &order.id)?))
        }
        PaymentEffect::Late => {
            // Late payment: keep it if the seats are still there and the show
            // is ahead, otherwise give the money back.
            let show_ahead = show_ahead(conn, &order.event_id, now)?;
            // The per-user limit still holds for a late payment.
            let held = held_by_user(conn, &order.user_id, &order.event_id)?;
            let (max_per_user, cancelled): (i64, bool) = conn
                .prepare_cached(
                    "SELECT max_per_user, status = 'cancelled' FROM events WHERE id = ?1",
                )?
                .query_row([&order.event_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if late_payment_may_keep_seats(
                cancelled,
                show_ahead,
                held,
                order.quantity,
                max_per_user,
            ) && take_stock(
                conn,
                &order.event_id,
                &order.price_option_id,
                order.quantity,
                None,
                now,
            )? {
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
        PaymentEffect::SecondTransaction => {
            tracing::error!(order = %order.id, transaction = %p.transaction_id,
                "a second transaction for a settled order; order left untouched");
            audit(
                conn,
                AuditActor::System,
                "unexpected_second_payment",
                Target::order(&order.tenant_id, &order.id),
                &serde_json::json!({ "detail": p.transaction_id }),
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

fn full(conn: &Connection, order_id: &str) -> StoreResult<Order> {
    super::orders::find_with_details_any_tenant(conn, order_id)?.ok_or_else(order_not_found)
}

/// One received notification, whatever became of it.
pub(crate) struct NotificationRecord<'a> {
    pub kind: &'a str,
    pub notify_id: Option<&'a str>,
    pub order_id: Option<&'a str>,
    pub raw_body: &'a str,
    pub headers: Option<&'a str>,
    pub verified: bool,
    pub processed: bool,
    pub verdict: &'a str,
}

pub(crate) fn record_notification(
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
