//! The offline door: what a show's pack is built from, and offline scans
//! applied in the writer, each as if made at its own time.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreResult;
use super::checkin::{Entry, Loaded, let_in, load, record};
use crate::error::{Code, Rejection};
use crate::model::Timestamp;
use crate::model::checkin::ScanPoint;
use crate::model::door::{ScanReport, ScanResult, Superseded, SyncVerdict, Winner, sync_verdict};
use crate::model::scope::TenantScope;

/// A show as its pack names it.
pub struct PackShow {
    pub title: String,
    pub date: String,
    pub time: String,
}

/// A ticket that may come through the door, with its code: the service
/// turns the code into the pack's digest and it goes no further.
pub struct PackRow {
    pub qr_code: String,
    pub ticket_id: String,
    pub order_id: String,
    pub option_name: String,
    pub contact_name: String,
    pub used_at: Option<i64>,
    pub used_by: Option<String>,
    pub device_id: Option<String>,
    /// Can no longer come in (only ever set in changes).
    pub void: bool,
}

fn pack_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PackRow> {
    Ok(PackRow {
        qr_code: r.get(0)?,
        ticket_id: r.get(1)?,
        order_id: r.get(2)?,
        option_name: r.get(3)?,
        contact_name: r.get(4)?,
        used_at: r.get(5)?,
        used_by: r.get(6)?,
        device_id: r.get(7)?,
        void: r.get(8)?,
    })
}

/// Whether a ticket of a paid or used order can come in: not expired, no
/// refund under way or done. `t` and `o` name the ticket and its order.
const CAN_GO_IN: &str = "(o.status = 'paid' OR o.status = 'used') AND t.status != 'expired'
     AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id
                     AND (r.status = 'processing' OR r.status = 'success'
                          OR r.status = 'abnormal'))";

fn show(conn: &Connection, scope: &TenantScope, event_id: &str) -> StoreResult<Option<PackShow>> {
    Ok(conn
        .prepare_cached(
            "SELECT title, event_date, event_time FROM events WHERE id = ?1 AND tenant_id = ?2",
        )?
        .query_row(params![event_id, scope.id()], |r| {
            Ok(PackShow {
                title: r.get(0)?,
                date: r.get(1)?,
                time: r.get(2)?,
            })
        })
        .optional()?)
}

/// The newest change at a show's door (0: none yet).
fn cursor(conn: &Connection, event_id: &str) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM door_changes WHERE event_id = ?1")?
        .query_row([event_id], |r| r.get(0))?)
}

/// The tickets of one of the club's shows that can go in (paid and used
/// orders without a refund under way or done, tickets not expired), and the
/// door history's cursor as of them. `None`: not the club's show.
pub(crate) fn pack_rows(
    conn: &Connection,
    scope: &TenantScope,
    event_id: &str,
) -> StoreResult<Option<(PackShow, i64, Vec<PackRow>)>> {
    let Some(show) = show(conn, scope, event_id)? else {
        return Ok(None);
    };
    let at = cursor(conn, event_id)?;
    let rows = conn
        .prepare_cached(&format!(
            "SELECT t.qr_code, t.id, o.id, p.name, o.user_name, t.used_at, a.username,
                    t.used_device, 0
             FROM orders o
             JOIN tickets t ON t.order_id = o.id
             JOIN price_options p ON p.id = o.price_option_id
             LEFT JOIN admins a ON a.id = t.used_by
             WHERE o.event_id = ?1 AND {CAN_GO_IN}
             ORDER BY t.id"
        ))?
        .query_map([event_id], pack_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some((show, at, rows)))
}

/// What changed at a show's door after `since`.
pub struct ChangeRows {
    pub cursor: i64,
    pub more: bool,
    pub sold: i64,
    pub checked_in: i64,
    pub rows: Vec<PackRow>,
}

/// The current state of every ticket of one of the club's shows that
/// changed at the door after `since`, oldest change first, at most `limit`
/// tickets. `Ok(None)`: not the club's show; `Some(None)`: nothing changed
/// (the cheap answer an idle door gets every poll).
pub(crate) fn changes_since(
    conn: &Connection,
    scope: &TenantScope,
    event_id: &str,
    since: i64,
    limit: i64,
) -> StoreResult<Option<Option<ChangeRows>>> {
    let ours = conn
        .prepare_cached("SELECT 1 FROM events WHERE id = ?1 AND tenant_id = ?2")?
        .exists(params![event_id, scope.id()])?;
    if !ours {
        return Ok(None);
    }
    let newest = cursor(conn, event_id)?;
    if newest <= since {
        return Ok(Some(None));
    }
    let mut last = since;
    let rows = conn
        .prepare_cached(&format!(
            "SELECT t.qr_code, t.id, o.id, p.name, o.user_name, t.used_at, a.username,
                    t.used_device, NOT ({CAN_GO_IN}), c.seq
             FROM (SELECT ticket_id, MAX(seq) AS seq FROM door_changes
                   WHERE event_id = ?1 AND seq > ?2
                   GROUP BY ticket_id ORDER BY seq LIMIT ?3) c
             JOIN tickets t ON t.id = c.ticket_id
             JOIN orders o ON o.id = t.order_id
             JOIN price_options p ON p.id = o.price_option_id
             LEFT JOIN admins a ON a.id = t.used_by
             ORDER BY c.seq"
        ))?
        .query_map(params![event_id, since, limit], |r| {
            Ok((pack_row(r)?, r.get::<_, i64>(9)?))
        })?
        .map(|r| {
            r.map(|(row, seq)| {
                last = last.max(seq);
                row
            })
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let (sold, checked_in): (i64, i64) = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*), COALESCE(SUM(t.status = 'used'), 0)
             FROM orders o JOIN tickets t ON t.order_id = o.id
             WHERE o.event_id = ?1 AND {CAN_GO_IN}"
        ))?
        .query_row([event_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Some(Some(ChangeRows {
        cursor: last,
        more: last < newest,
        sold,
        checked_in,
        rows,
    })))
}

/// Who uploads, for which show, and the rules' settings.
pub(crate) struct SyncCtx<'a> {
    pub scope: &'a TenantScope,
    pub device: &'a str,
    pub admin_id: &'a str,
    /// The show the scanner was set to, if it said.
    pub event_id: Option<&'a str>,
    pub tz: Tz,
    /// A ticket expires this long after its show ends.
    pub expire_after_ms: i64,
    pub now: i64,
}

fn winner(t: &Loaded) -> Option<Winner> {
    let f = &t.facts;
    (f.ticket_status == "used").then(|| Winner {
        device_id: f.used_device.clone(),
        scanned_at: Timestamp(f.used_at.unwrap_or(0)),
        used_by: f.used_by.clone(),
    })
}

fn report(t: &Loaded, result: ScanResult, scanned_at: i64) -> ScanReport {
    ScanReport {
        result,
        scanned_at: Some(Timestamp(scanned_at)),
        ticket_id: Some(t.ticket_id.clone()),
        contact_name: Some(t.contact_name.clone()),
        price_option_name: Some(t.option_name.clone()),
        error: None,
        message: None,
        winner: None,
    }
}

fn refused(t: &Loaded, scanned_at: i64, r: Rejection) -> ScanReport {
    ScanReport {
        error: Some(r.code.as_str()),
        message: Some(r.message),
        ..report(t, ScanResult::Rejected, scanned_at)
    }
}

fn duplicate(t: &Loaded, scanned_at: i64) -> ScanReport {
    ScanReport {
        winner: winner(t),
        ..report(t, ScanResult::Duplicate, scanned_at)
    }
}

/// What the history already says of this scan (a replayed upload): the same
/// answer, except that a scan since beaten by an earlier one is a duplicate.
fn recorded(conn: &Connection, t: &Loaded, e: &Entry<'_>) -> StoreResult<Option<ScanReport>> {
    let row: Option<(i64, String, Option<String>, Option<String>)> = conn
        .prepare_cached(
            "SELECT scanned_at, state, code, message FROM checkins
             WHERE ticket_id = ?1 AND device_id = ?2 AND device_at = ?3",
        )?
        .query_row(params![t.ticket_id, e.device, e.device_at], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((at, state, code, message)) = row else {
        return Ok(None);
    };
    Ok(Some(match state.as_str() {
        "in" => report(t, ScanResult::Accepted, at),
        "duplicate" => duplicate(t, at),
        "undone" => refused(
            t,
            at,
            Rejection::new(Code::CheckinUndone, "该次检票已被撤销"),
        ),
        _ => {
            let code = code
                .as_deref()
                .and_then(Code::parse)
                .unwrap_or(Code::TicketVoid);
            refused(
                t,
                at,
                Rejection::new(code, message.unwrap_or_else(|| code.message().into())),
            )
        }
    }))
}

/// Applies one offline scan made at `device_at` (taken as the upload's time
/// if the device's clock is ahead). Recorded, so the same scan uploaded
/// again finds its answer and changes nothing.
pub(crate) fn apply_scan(
    conn: &Connection,
    ctx: &SyncCtx<'_>,
    qr_code: &str,
    device_at: i64,
) -> StoreResult<ScanReport> {
    let scanned_at = device_at.min(ctx.now);
    let Some(t) = load(conn, ctx.scope, qr_code)? else {
        return Ok(ScanReport::refused(
            Some(scanned_at),
            Rejection::new(Code::TicketNotFound, "票券不存在"),
        ));
    };
    let e = Entry {
        scope: ctx.scope,
        device: ctx.device,
        admin_id: ctx.admin_id,
        device_at,
        scanned_at,
        offline: true,
        now: ctx.now,
    };
    if let Some(answer) = recorded(conn, &t, &e)? {
        return Ok(answer);
    }
    let day = DateTime::<Utc>::from_timestamp_millis(scanned_at)
        .map(|d| d.with_timezone(&ctx.tz).date_naive())
        .unwrap_or_default();
    let door = ScanPoint {
        event_id: ctx.event_id,
        today: day,
        force: false,
        tz: ctx.tz,
    };
    let expires_at = t.ends_at.saturating_add(ctx.expire_after_ms);
    Ok(
        match sync_verdict(&t.facts, &door, scanned_at, expires_at) {
            SyncVerdict::In | SyncVerdict::Replaces => {
                let_in(conn, &t, &e)?;
                report(&t, ScanResult::Accepted, scanned_at)
            }
            SyncVerdict::Duplicate => {
                record(conn, &t.ticket_id, &e, "duplicate", None)?;
                duplicate(&t, scanned_at)
            }
            SyncVerdict::Refused(r) => {
                record(conn, &t.ticket_id, &e, "rejected", Some(&r))?;
                refused(&t, scanned_at, r)
            }
        },
    )
}

/// The device's scans since `since` that were let in and have since lost
/// to an earlier scan of the same ticket (at most 100, newest first).
pub(crate) fn superseded(
    conn: &Connection,
    scope: &TenantScope,
    device: &str,
    since: i64,
) -> StoreResult<Vec<Superseded>> {
    Ok(conn
        .prepare_cached(
            "SELECT c.ticket_id, c.scanned_at, o.user_name, t.used_device, t.used_at, a.username
             FROM checkins c
             JOIN tickets t ON t.id = c.ticket_id AND t.status = 'used'
             JOIN orders o ON o.id = t.order_id
             LEFT JOIN admins a ON a.id = t.used_by
             WHERE c.tenant_id = ?1 AND c.device_id = ?2 AND c.scanned_at >= ?3
               AND c.state = 'duplicate' AND c.was_in = 1
             ORDER BY c.scanned_at DESC LIMIT 100",
        )?
        .query_map(params![scope.id(), device, since], |r| {
            Ok(Superseded {
                ticket_id: r.get(0)?,
                scanned_at: Timestamp(r.get(1)?),
                contact_name: r.get(2)?,
                winner: Winner {
                    device_id: r.get(3)?,
                    scanned_at: Timestamp(r.get::<_, Option<i64>>(4)?.unwrap_or(0)),
                    used_by: r.get(5)?,
                },
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}
