//! Refunds: recorded first (tickets void at once), then asked of WeChat; the
//! verdict is applied once, whether it comes by answer, notify or retry.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::StoreResult;
use super::audit::{AuditActor, Target, audit};
use super::changes::{self, Changes};
use super::inventory::return_refunded_seats;
use super::orders::{get_by_id_any_tenant, order_not_found};
use super::reject;
use crate::error::Code;
use crate::ids::new_id;
use crate::model::events::refund_backoff_ms;
use crate::model::orders::{Order, OrderStatus, RefundActor};
use crate::model::rules::{check_refund_window, check_refundable, check_tickets_unused};

/// A refund recorded in `refunds` that WeChat still has to be asked for.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub out_refund_no: String,
    pub order_id: String,
    pub amount: i64,
    pub total: i64,
    pub reason: Option<String>,
}

/// Why a refund exists. The refunds of a cancelled show are not sent by
/// the request that made them but by the `refunds` job, from `due_at` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundCause {
    Buyer,
    Admin,
    LatePayment,
    EventCancelled { due_at: i64 },
}

impl RefundCause {
    fn as_stored(self) -> &'static str {
        match self {
            RefundCause::Buyer => "buyer",
            RefundCause::Admin => "admin",
            RefundCause::LatePayment => "late_payment",
            RefundCause::EventCancelled { .. } => "event_cancelled",
        }
    }
}

pub(super) fn insert_refund(
    conn: &Connection,
    order: &Order,
    amount: i64,
    reason: Option<&str>,
    requested_by: &str,
    cause: RefundCause,
    now: i64,
) -> StoreResult<RefundRequest> {
    let out_refund_no = new_id();
    let due_at = match cause {
        RefundCause::EventCancelled { due_at } => Some(due_at),
        _ => None,
    };
    let inserted = conn
        .prepare_cached(
            "INSERT INTO refunds (id, out_refund_no, tenant_id, order_id, amount, reason, status,
                 requested_by, cause, next_attempt_at, created_at, updated_at)
             VALUES (?1, ?1, ?2, ?3, ?4, ?5, 'processing', ?6, ?7, ?8, ?9, ?9)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            out_refund_no,
            order.tenant_id,
            order.id,
            amount,
            reason,
            requested_by,
            cause.as_stored(),
            due_at,
            now
        ])?;
    if inserted == 0 {
        return Err(reject(Code::RefundExists, "该订单已申请退款，请勿重复提交"));
    }
    // Its tickets are void at the door from now on: tell the door devices.
    super::checkin::note_order_change(conn, &order.id, now)?;
    Ok(RefundRequest {
        out_refund_no,
        order_id: order.id.clone(),
        amount,
        total: order.total_amount.0,
        reason: reason.map(str::to_string),
    })
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
    let Some(order) = get_by_id_any_tenant(conn, order_id)? else {
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
    // An admin may refund a checked-in order, with `force` (below).
    check_refundable(
        order.status,
        live,
        matches!(actor, RefundActor::Admin { .. }),
    )?;
    if let RefundActor::Admin { force: false, .. } = actor {
        let used: bool = conn
            .prepare_cached("SELECT 1 FROM tickets WHERE order_id = ?1 AND status = 'used'")?
            .exists([order_id])?;
        if used {
            return Err(reject(
                Code::TicketUsed,
                "该订单已有票券检票入场；如确需退款，请带 force: true 再提交",
            ));
        }
    }
    if let RefundActor::User { cutoff_ms, .. } = actor {
        let used: bool = conn
            .prepare_cached("SELECT 1 FROM tickets WHERE order_id = ?1 AND status != 'valid'")?
            .exists([order_id])?;
        check_tickets_unused(used)?;
        let starts_at: i64 = conn
            .prepare_cached("SELECT starts_at FROM events WHERE id = ?1")?
            .query_row([&order.event_id], |r| r.get(0))?;
        let cutoff =
            super::tenants::refund_cutoff_ms(conn, &order.tenant_id)?.unwrap_or(*cutoff_ms);
        check_refund_window(starts_at, cutoff, now)?;
    }
    let cause = match actor {
        RefundActor::User { .. } => RefundCause::Buyer,
        RefundActor::Admin { .. } => RefundCause::Admin,
    };
    let req = insert_refund(
        conn,
        &order,
        order.total_amount.0,
        reason,
        &requested_by,
        cause,
        now,
    )?;
    conn.prepare_cached(
        "UPDATE tickets SET status = 'expired' WHERE order_id = ?1 AND status = 'valid'",
    )?
    .execute([order_id])?;
    let who = match actor {
        RefundActor::User { user_id, .. } => AuditActor::User(user_id),
        RefundActor::Admin { admin_id, .. } => AuditActor::Admin(admin_id),
    };
    audit(
        conn,
        who,
        "refund_requested",
        Target::order(&order.tenant_id, order_id),
        &json!({
            "requestedBy": requested_by,
            "reason": reason,
            "amount": order.total_amount,
            "statusBefore": order.status.as_str(),
            "force": matches!(actor, RefundActor::Admin { force: true, .. }),
        }),
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

/// Applies WeChat's verdict to a refund and its order; idempotent (a refund
/// no longer processing is left alone). Returns the order afterwards.
pub fn finish_refund(
    conn: &Connection,
    out_refund_no: &str,
    outcome: &RefundOutcome,
    now: i64,
) -> StoreResult<Option<Order>> {
    changes::note(conn, Changes::CATALOG | Changes::SALES);
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT order_id, status FROM refunds WHERE out_refund_no = ?1")?
        .query_row([out_refund_no], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((order_id, status)) = row else {
        return Err(reject(Code::RefundNotFound, "退款记录不存在"));
    };
    if status != "processing" || *outcome == RefundOutcome::Processing {
        return get_by_id_any_tenant(conn, &order_id);
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
    let order = get_by_id_any_tenant(conn, &order_id)?.ok_or_else(order_not_found)?;
    match (outcome, order.status) {
        (RefundOutcome::Success { .. }, OrderStatus::Paid | OrderStatus::Used) => {
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
        (RefundOutcome::Closed, OrderStatus::Paid | OrderStatus::Used) => {
            // No money went back: the buyer keeps the seats.
            conn.prepare_cached(
                "UPDATE tickets SET status = 'valid' WHERE order_id = ?1 AND status = 'expired'",
            )?
            .execute([&order_id])?;
            super::checkin::note_order_change(conn, &order_id, now)?;
        }
        _ => {}
    }
    audit(
        conn,
        AuditActor::System,
        &format!("refund_{new_status}"),
        Target::order(&order.tenant_id, &order_id),
        &json!({ "detail": out_refund_no }),
        now,
    )?;
    get_by_id_any_tenant(conn, &order_id)
}

/// `out_refund_no, order_id, amount, total_amount, reason`, as the refund
/// queries select them.
fn refund_request_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RefundRequest> {
    Ok(RefundRequest {
        out_refund_no: r.get(0)?,
        order_id: r.get(1)?,
        amount: r.get(2)?,
        total: r.get(3)?,
        reason: r.get(4)?,
    })
}

/// Refunds still processing, last touched before `before` (re-checked with
/// WeChat by the `refunds` job).
pub(crate) fn stale_refunds(
    conn: &Connection,
    before: i64,
    limit: i64,
) -> StoreResult<Vec<RefundRequest>> {
    Ok(conn
        .prepare_cached(
            "SELECT r.out_refund_no, r.order_id, r.amount, o.total_amount, r.reason
             FROM refunds r JOIN orders o ON o.id = r.order_id
             WHERE r.status = 'processing' AND r.next_attempt_at IS NULL AND r.updated_at < ?1
             ORDER BY r.updated_at LIMIT ?2",
        )?
        .query_map(params![before, limit], refund_request_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Marks a refund as looked at now, so the tick does not re-check it at once.
pub(crate) fn touch_refund(conn: &Connection, out_refund_no: &str, now: i64) -> StoreResult<()> {
    conn.prepare_cached("UPDATE refunds SET updated_at = ?2 WHERE out_refund_no = ?1")?
        .execute(params![out_refund_no, now])?;
    Ok(())
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

/// Refunds whose (re)send is due: a cancelled show's, and those whose last
/// send failed.
pub(crate) fn due_refunds(
    conn: &Connection,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<RefundRequest>> {
    Ok(conn
        .prepare_cached(
            "SELECT r.out_refund_no, r.order_id, r.amount, o.total_amount, r.reason
             FROM refunds r JOIN orders o ON o.id = r.order_id
             WHERE r.status = 'processing' AND r.next_attempt_at IS NOT NULL
               AND r.next_attempt_at <= ?1
             ORDER BY r.next_attempt_at LIMIT ?2",
        )?
        .query_map(params![now, limit], refund_request_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Records one send of a refund. A failed send (WeChat refused it, e.g.
/// `NOT_ENOUGH`, or could not be reached) is due again after the backoff
/// for its attempt count; it is never given up. A send WeChat took waits for
/// its verdict (notify, or the stale-refund query).
pub(crate) fn record_send(
    conn: &Connection,
    out_refund_no: &str,
    failure: Option<&str>,
    retry_base_ms: i64,
    now: i64,
) -> StoreResult<()> {
    changes::note(conn, Changes::CATALOG | Changes::SALES);
    let attempts: Option<i64> = conn
        .prepare_cached(
            "SELECT attempts FROM refunds WHERE out_refund_no = ?1 AND status = 'processing'",
        )?
        .query_row([out_refund_no], |r| r.get(0))
        .optional()?;
    let Some(attempts) = attempts.map(|a| a + 1) else {
        return Ok(());
    };
    let next = failure.map(|_| now + refund_backoff_ms(retry_base_ms, attempts));
    conn.prepare_cached(
        "UPDATE refunds SET attempts = ?2, last_error = ?3, next_attempt_at = ?4, updated_at = ?5
         WHERE out_refund_no = ?1",
    )?
    .execute(params![out_refund_no, attempts, failure, next, now])?;
    Ok(())
}
