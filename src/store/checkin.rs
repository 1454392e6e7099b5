//! Check-in, in the writer: a scan is decided and recorded in one
//! transaction, so two scanners on the same ticket cannot both let it in.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::StoreResult;
use super::audit::{AuditActor, Target, audit};
use super::reject;
use crate::error::Code;
use crate::model::Timestamp;
use crate::model::checkin::{
    CheckinResult, DoorCount, OptionCount, ScanPoint, Scanned, TicketFacts, check_in_outcome,
    mask_phone,
};
use crate::model::orders::OrderStatus;
use crate::model::scope::TenantScope;
use crate::model::time::parse_date;

/// How long a steward may take back a scan.
pub const UNDO_WINDOW_MS: i64 = 10 * 60 * 1000;

fn not_found() -> super::StoreError {
    reject(Code::TicketNotFound, "票券不存在")
}

pub(super) struct Loaded {
    pub ticket_id: String,
    pub order_id: String,
    pub facts: TicketFacts,
    pub contact_name: String,
    contact_phone: String,
    quantity: i64,
    event_date: String,
    event_time: String,
    option_id: String,
    pub option_name: String,
    /// When the show ends (unix ms).
    pub ends_at: i64,
}

pub(super) fn load(
    conn: &Connection,
    scope: &TenantScope,
    qr_code: &str,
) -> StoreResult<Option<Loaded>> {
    Ok(conn
        .prepare_cached(
            "SELECT t.id, t.order_id, t.status, t.used_at, a.username, t.used_device,
                    o.status, o.user_name, o.user_phone, o.quantity, o.event_id,
                    o.price_option_id, e.title, e.event_date, e.event_time, e.status, p.name,
                    EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id
                            AND (r.status = 'processing' OR r.status = 'success'
                                 OR r.status = 'abnormal')),
                    e.starts_at + e.duration * 60000
             FROM tickets t
             JOIN orders o ON o.id = t.order_id AND o.tenant_id = ?2
             JOIN events e ON e.id = o.event_id
             JOIN price_options p ON p.id = o.price_option_id
             LEFT JOIN admins a ON a.id = t.used_by
             WHERE t.qr_code = ?1",
        )?
        .query_row(params![qr_code, scope.id()], |r| {
            let order_status: String = r.get(6)?;
            let event_date: String = r.get(13)?;
            let event_status: String = r.get(15)?;
            Ok(Loaded {
                ticket_id: r.get(0)?,
                order_id: r.get(1)?,
                facts: TicketFacts {
                    ticket_status: r.get(2)?,
                    used_at: r.get(3)?,
                    used_by: r.get(4)?,
                    used_device: r.get(5)?,
                    order_status: OrderStatus::parse(&order_status)
                        .unwrap_or(OrderStatus::Cancelled),
                    refund: r.get(17)?,
                    event_id: r.get(10)?,
                    event_title: r.get(12)?,
                    event_date: parse_date(&event_date).unwrap_or_default(),
                    event_cancelled: event_status == "cancelled",
                },
                contact_name: r.get(7)?,
                contact_phone: r.get(8)?,
                quantity: r.get(9)?,
                event_date,
                event_time: r.get(14)?,
                option_id: r.get(11)?,
                option_name: r.get(16)?,
                ends_at: r.get(18)?,
            })
        })
        .optional()?)
}

fn checked_in(conn: &Connection, order_id: &str) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM tickets WHERE order_id = ?1 AND status = 'used'")?
        .query_row([order_id], |r| r.get(0))?)
}

/// Checks a ticket in, or refuses with the reason. The order turns `used`
/// with its last ticket. A forced entry is audited.
pub(crate) fn check_in(
    conn: &Connection,
    scope: &TenantScope,
    qr_code: &str,
    door: &ScanPoint<'_>,
    device: Option<&str>,
    admin_id: &str,
    now: i64,
) -> StoreResult<CheckinResult> {
    let Some(t) = load(conn, scope, qr_code)? else {
        return Err(not_found());
    };
    let forced = check_in_outcome(&t.facts, door)?;
    let scan = Entry {
        scope,
        device: device.unwrap_or(""),
        admin_id,
        device_at: now,
        scanned_at: now,
        offline: false,
        now,
    };
    let_in(conn, &t, &scan)?;
    if forced {
        audit(
            conn,
            AuditActor::Admin(admin_id),
            "checkin_forced",
            Target {
                tenant_id: scope.id(),
                kind: "ticket",
                id: &t.ticket_id,
            },
            &json!({"order": t.order_id, "event": t.facts.event_id,
                    "ticketStatus": t.facts.ticket_status, "device": device}),
            now,
        )?;
    }
    Ok(CheckinResult {
        ticket_id: t.ticket_id,
        status: "used".into(),
        used_at: Timestamp(now),
        contact_name: t.contact_name,
        contact_phone: mask_phone(&t.contact_phone),
        event_id: t.facts.event_id,
        event_title: t.facts.event_title,
        event_date: t.event_date,
        event_time: t.event_time,
        price_option_id: t.option_id,
        price_option_name: t.option_name,
        order_checked_in: checked_in(conn, &t.order_id)?,
        order_tickets: t.quantity,
        order_id: t.order_id,
        forced,
    })
}

/// Notes that a ticket changed at the door (let in, taken back, voided), so
/// every door device polling the show learns it.
pub(super) fn note_change(
    conn: &Connection,
    event_id: &str,
    ticket_id: &str,
    now: i64,
) -> StoreResult<()> {
    conn.prepare_cached("INSERT INTO door_changes (event_id, ticket_id, at) VALUES (?1, ?2, ?3)")?
        .execute(params![event_id, ticket_id, now])?;
    Ok(())
}

/// Notes that every ticket of an order changed (a refund voids them).
pub(super) fn note_order_change(conn: &Connection, order_id: &str, now: i64) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO door_changes (event_id, ticket_id, at)
         SELECT o.event_id, t.id, ?2 FROM tickets t JOIN orders o ON o.id = t.order_id
         WHERE t.order_id = ?1",
    )?
    .execute(params![order_id, now])?;
    Ok(())
}

/// One scan as the door's history records it.
pub(super) struct Entry<'a> {
    pub scope: &'a TenantScope,
    /// '' when the scanner named none.
    pub device: &'a str,
    pub admin_id: &'a str,
    /// The time the device gave (the history's key with ticket and device).
    pub device_at: i64,
    pub scanned_at: i64,
    pub offline: bool,
    pub now: i64,
}

/// Records a scan in the door's history with its state (`in`, `duplicate`,
/// `rejected`) and, for a refusal, its code and message.
pub(super) fn record(
    conn: &Connection,
    ticket_id: &str,
    e: &Entry<'_>,
    state: &str,
    refusal: Option<&crate::error::Rejection>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO checkins (tenant_id, ticket_id, device_id, device_at, scanned_at,
             admin_id, offline, state, was_in, code, message, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8 = 'in', ?9, ?10, ?11)",
    )?
    .execute(params![
        e.scope.id(),
        ticket_id,
        e.device,
        e.device_at,
        e.scanned_at,
        e.admin_id,
        e.offline,
        state,
        refusal.map(|r| r.code.as_str()),
        refusal.map(|r| r.message.as_str()),
        e.now
    ])?;
    Ok(())
}

/// The ticket goes in by this scan: an entry it had by a later scan becomes
/// a duplicate, and the order turns `used` with its last ticket.
pub(super) fn let_in(conn: &Connection, t: &Loaded, e: &Entry<'_>) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE checkins SET state = 'duplicate' WHERE ticket_id = ?1 AND state = 'in'",
    )?
    .execute([&t.ticket_id])?;
    conn.prepare_cached(
        "UPDATE tickets SET status = 'used', used_at = ?2, used_by = ?3, used_device = ?4
         WHERE id = ?1",
    )?
    .execute(params![
        t.ticket_id,
        e.scanned_at,
        e.admin_id,
        Some(e.device).filter(|d| !d.is_empty())
    ])?;
    conn.prepare_cached(
        "UPDATE orders SET status = 'used', updated_at = ?2
         WHERE id = ?1 AND status = 'paid'
           AND NOT EXISTS (SELECT 1 FROM tickets WHERE order_id = ?1 AND status != 'used')",
    )?
    .execute(params![t.order_id, e.now])?;
    note_change(conn, &t.facts.event_id, &t.ticket_id, e.now)?;
    record(conn, &t.ticket_id, e, "in", None)
}

/// Takes back a scan made less than ten minutes ago (a mis-scan): the
/// ticket is valid again, and a `used` order is `paid` again. Audited.
pub(crate) fn undo(
    conn: &Connection,
    scope: &TenantScope,
    ticket_id: &str,
    admin_id: &str,
    now: i64,
) -> StoreResult<()> {
    let row: Option<(String, String, Option<i64>, String)> = conn
        .prepare_cached(
            "SELECT t.order_id, t.status, t.used_at, o.event_id FROM tickets t
             JOIN orders o ON o.id = t.order_id AND o.tenant_id = ?2
             WHERE t.id = ?1",
        )?
        .query_row(params![ticket_id, scope.id()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((order_id, status, used_at, event_id)) = row else {
        return Err(not_found());
    };
    if status != "used" {
        return Err(reject(Code::TicketNotUsed, "该票尚未检票，无需撤销"));
    }
    if used_at.is_none_or(|at| now - at > UNDO_WINDOW_MS) {
        return Err(reject(Code::UndoWindowClosed, "检票超过 10 分钟，不能撤销"));
    }
    conn.prepare_cached(
        "UPDATE tickets SET status = 'valid', used_at = NULL, used_by = NULL, used_device = NULL
         WHERE id = ?1",
    )?
    .execute([ticket_id])?;
    conn.prepare_cached(
        "UPDATE checkins SET state = 'undone' WHERE ticket_id = ?1 AND state = 'in'",
    )?
    .execute([ticket_id])?;
    conn.prepare_cached(
        "UPDATE orders SET status = 'paid', updated_at = ?2 WHERE id = ?1 AND status = 'used'",
    )?
    .execute(params![order_id, now])?;
    note_change(conn, &event_id, ticket_id, now)?;
    audit(
        conn,
        AuditActor::Admin(admin_id),
        "checkin_undone",
        Target {
            tenant_id: scope.id(),
            kind: "ticket",
            id: ticket_id,
        },
        &json!({"order": order_id, "usedAt": used_at}),
        now,
    )?;
    Ok(())
}

/// Sold and checked-in tickets of one of the club's shows, per option, and
/// the latest scans. `None`: not the club's show.
pub(crate) fn door_count(
    conn: &Connection,
    scope: &TenantScope,
    event_id: &str,
) -> StoreResult<Option<DoorCount>> {
    let ours: bool = conn
        .prepare_cached("SELECT 1 FROM events WHERE id = ?1 AND tenant_id = ?2")?
        .exists(params![event_id, scope.id()])?;
    if !ours {
        return Ok(None);
    }
    let by_option = conn
        .prepare_cached(
            "SELECT p.id, p.name,
                    COUNT(t.id),
                    COALESCE(SUM(t.status = 'used'), 0)
             FROM price_options p
             LEFT JOIN orders o ON o.price_option_id = p.id
                  AND (o.status = 'paid' OR o.status = 'used')
             LEFT JOIN tickets t ON t.order_id = o.id
             WHERE p.event_id = ?1
             GROUP BY p.id ORDER BY p.sort_order, p.id",
        )?
        .query_map([event_id], |r| {
            Ok(OptionCount {
                price_option_id: r.get(0)?,
                name: r.get(1)?,
                sold: r.get(2)?,
                checked_in: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let last_scans = conn
        .prepare_cached(
            "SELECT t.id, t.used_at, a.username, t.used_device, o.user_name, p.name
             FROM tickets t
             JOIN orders o ON o.id = t.order_id AND o.event_id = ?1
             JOIN price_options p ON p.id = o.price_option_id
             LEFT JOIN admins a ON a.id = t.used_by
             WHERE t.status = 'used'
             ORDER BY t.used_at DESC, t.id DESC LIMIT 20",
        )?
        .query_map([event_id], |r| {
            Ok(Scanned {
                ticket_id: r.get(0)?,
                used_at: Timestamp(r.get::<_, Option<i64>>(1)?.unwrap_or(0)),
                used_by: r.get(2)?,
                device_id: r.get(3)?,
                contact_name: r.get(4)?,
                price_option_name: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(DoorCount {
        sold: by_option.iter().map(|o| o.sold).sum(),
        checked_in: by_option.iter().map(|o| o.checked_in).sum(),
        by_option,
        last_scans,
    }))
}

/// Valid tickets of shows that ended more than `after_ms` ago become
/// `expired` (refused at the door unless forced). Returns how many.
pub fn expire_tickets(conn: &Connection, after_ms: i64, now: i64) -> StoreResult<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE tickets SET status = 'expired'
             WHERE status = 'valid' AND order_id IN (
                 SELECT o.id FROM orders o JOIN events e ON e.id = o.event_id
                 WHERE e.starts_at + e.duration * 60000 + ?1 < ?2
                   AND (o.status = 'paid' OR o.status = 'used'))",
        )?
        .execute(params![after_ms, now])?)
}

/// The door's invariants, for tests: no ticket is in twice, a used ticket is
/// in by exactly the one scan its row names, and no ticket is in on a
/// refunded order unless an owner forced that refund or cancelled the show.
pub fn check_door_invariants(conn: &Connection) -> StoreResult<Result<(), String>> {
    let twice: Option<String> = conn
        .query_row(
            "SELECT ticket_id FROM checkins WHERE state = 'in'
             GROUP BY ticket_id HAVING COUNT(*) > 1 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = twice {
        return Ok(Err(format!("ticket {id} is in by two scans")));
    }
    let unmatched: Option<(String, String)> = conn
        .query_row(
            "SELECT t.id, t.status FROM tickets t
             LEFT JOIN checkins c ON c.ticket_id = t.id AND c.state = 'in'
             WHERE (t.status = 'used') != (c.id IS NOT NULL)
                OR (c.id IS NOT NULL AND (c.scanned_at != t.used_at
                    OR c.device_id != COALESCE(t.used_device, '')))
             LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, status)) = unmatched {
        return Ok(Err(format!(
            "ticket {id} ({status}) and its scans disagree"
        )));
    }
    let refunded: Option<String> = conn
        .query_row(
            "SELECT t.id FROM tickets t JOIN orders o ON o.id = t.order_id
             WHERE t.status = 'used'
               AND (o.status = 'refunded' OR EXISTS (
                    SELECT 1 FROM refunds r WHERE r.order_id = o.id
                    AND r.status IN ('processing', 'success', 'abnormal')))
               AND NOT EXISTS (
                    SELECT 1 FROM refunds r WHERE r.order_id = o.id
                    AND r.cause = 'event_cancelled')
               AND NOT EXISTS (
                    SELECT 1 FROM audit_log l WHERE l.target_id = o.id
                    AND l.action = 'refund_requested'
                    AND json_extract(l.detail, '$.force') = 1)
             LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = refunded {
        return Ok(Err(format!("ticket {id} is in on a refunded order")));
    }
    Ok(Ok(()))
}
