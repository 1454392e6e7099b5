//! The offline door: a show's pack for a scanner to decide alone, and the
//! upload of the scans it made meanwhile.

use crate::error::{AppError, Code, Rejection};
use crate::ids::looks_like_id;
use crate::model::admins::AdminActor;
use crate::model::door::{
    DigestSpec, DoorChanges, DoorPack, MAX_CHANGES, MAX_SYNC_SCANS, PackTicket, ScanReport,
    SyncReport,
};
use crate::model::tickets::DOOR_DIGEST_LEN;
use crate::model::time::now_ms;
use crate::model::{Timestamp, scope::TenantScope};
use crate::service::admin::checkin::device;
use crate::state::AppState;
use crate::store::door::{self as q, SyncCtx};

/// Scans applied per writer turn, so buyers' orders interleave with a big
/// upload instead of waiting for all of it.
const SCANS_PER_TURN: usize = 250;
/// How far back a sync looks for this device's beaten scans.
const SUPERSEDED_WINDOW_MS: i64 = 48 * 3600 * 1000;

pub(crate) async fn pack(
    state: &AppState,
    scope: &TenantScope,
    event_id: &str,
) -> Result<DoorPack, AppError> {
    if !looks_like_id(event_id) {
        return Err(AppError::event_not_found());
    }
    let (s, id) = (scope.clone(), event_id.to_string());
    let (show, cursor, rows) = state
        .store
        .read(move |c| q::pack_rows(c, &s, &id))
        .await?
        .ok_or_else(AppError::event_not_found)?;
    let tickets = pack_tickets(state, event_id, rows);
    Ok(DoorPack {
        event_id: event_id.to_string(),
        event_title: show.title,
        event_date: show.date,
        event_time: show.time,
        pack_version: String::new(),
        cursor,
        digest: DigestSpec {
            algorithm: "HMAC-SHA256",
            key: state.qr_key.door_key(event_id).encoded(),
            length: DOOR_DIGEST_LEN,
            encoding: "base64url",
        },
        sold: tickets.len() as i64,
        checked_in: tickets.iter().filter(|t| t.used_at.is_some()).count() as i64,
        tickets,
    }
    .seal())
}

/// Rows as a device sees them: each code as its digest under the show's
/// door key, never the code itself.
fn pack_tickets(state: &AppState, event_id: &str, rows: Vec<q::PackRow>) -> Vec<PackTicket> {
    let key = state.qr_key.door_key(event_id);
    rows.into_iter()
        .map(|r| PackTicket {
            digest: key.digest(&r.qr_code),
            ticket_id: r.ticket_id,
            order_id: r.order_id,
            price_option_name: r.option_name,
            contact_name: r.contact_name,
            used_at: r.used_at.map(Timestamp),
            used_by: r.used_by,
            device_id: r.device_id,
            void: r.void,
        })
        .collect()
}

/// What changed at a show's door after `since` (a cursor from the pack or
/// the last answer); `None` when nothing did.
pub(crate) async fn changes(
    state: &AppState,
    scope: &TenantScope,
    event_id: &str,
    since: i64,
) -> Result<Option<DoorChanges>, AppError> {
    if !looks_like_id(event_id) {
        return Err(AppError::event_not_found());
    }
    let (s, id) = (scope.clone(), event_id.to_string());
    let Some(found) = state
        .store
        .read(move |c| q::changes_since(c, &s, &id, since, MAX_CHANGES))
        .await?
        .ok_or_else(AppError::event_not_found)?
    else {
        return Ok(None);
    };
    Ok(Some(DoorChanges {
        event_id: event_id.to_string(),
        cursor: found.cursor,
        more: found.more,
        sold: found.sold,
        checked_in: found.checked_in,
        changes: pack_tickets(state, event_id, found.rows),
    }))
}

/// One scan as uploaded: `scannedAt` is an RFC 3339 instant or unix
/// milliseconds.
pub struct OfflineScan {
    pub qr_code: String,
    pub scanned_at: serde_json::Value,
}

fn scan_time(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.timestamp_millis()),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .filter(|ms| chrono::DateTime::from_timestamp_millis(*ms).is_some())
}

enum Item {
    Done(ScanReport),
    Apply(String, i64),
}

/// Applies an upload in order, a few hundred scans per writer turn. A scan
/// whose code fails its MAC or whose time is unreadable is rejected without
/// a database read; the rest are judged as of their own time.
pub(crate) async fn sync(
    state: &AppState,
    admin: &AdminActor,
    device_id: Option<String>,
    event_id: Option<String>,
    scans: Vec<OfflineScan>,
) -> Result<SyncReport, AppError> {
    let Some(device_id) = device(device_id)? else {
        return Err(AppError::validation("deviceId：离线同步须注明设备"));
    };
    if scans.len() > MAX_SYNC_SCANS {
        return Err(AppError::validation(format!(
            "scans：一次最多上传 {MAX_SYNC_SCANS} 条，请分批同步"
        )));
    }
    let event_id = event_id.filter(|e| !e.trim().is_empty());
    if event_id.as_deref().is_some_and(|e| !looks_like_id(e)) {
        return Err(AppError::validation("eventId 格式不正确"));
    }
    let items: Vec<Item> = scans
        .into_iter()
        .map(|s| {
            let qr = s.qr_code.trim().to_string();
            match scan_time(&s.scanned_at) {
                None => Item::Done(ScanReport::refused(
                    None,
                    Rejection::new(
                        Code::ValidationFailed,
                        "scannedAt：须为 RFC 3339 时间或毫秒时间戳",
                    ),
                )),
                Some(at) if !state.qr_key.verify(&qr) => Item::Done(ScanReport::refused(
                    Some(at.min(now_ms())),
                    Rejection::new(Code::TicketNotFound, "无效的票码"),
                )),
                Some(at) => Item::Apply(qr, at),
            }
        })
        .collect();
    let expire_after =
        i64::try_from(state.config.ticket_expire_after.as_millis()).unwrap_or(i64::MAX / 4);
    let mut results = Vec::with_capacity(items.len());
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let turn: Vec<Item> = items.by_ref().take(SCANS_PER_TURN).collect();
        let (a, dev, ev, tz) = (
            admin.clone(),
            device_id.clone(),
            event_id.clone(),
            state.config.timezone,
        );
        let answered = state
            .store
            .write(move |c| {
                let ctx = SyncCtx {
                    scope: &a.scope,
                    device: &dev,
                    admin_id: &a.id,
                    event_id: ev.as_deref(),
                    tz,
                    expire_after_ms: expire_after,
                    now: now_ms(),
                };
                turn.into_iter()
                    .map(|item| match item {
                        Item::Done(r) => Ok(r),
                        Item::Apply(qr, at) => q::apply_scan(c, &ctx, &qr, at),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        results.extend(answered);
    }
    let (scope, dev) = (admin.scope.clone(), device_id.clone());
    let since = now_ms() - SUPERSEDED_WINDOW_MS;
    let superseded = state
        .store
        .read(move |c| q::superseded(c, &scope, &dev, since))
        .await?;
    let report = SyncReport::new(device_id, results, superseded);
    for (outcome, n) in [
        ("offline_accepted", report.accepted),
        ("offline_duplicate", report.duplicates),
        ("offline_rejected", report.rejected),
    ] {
        state.metrics.checkins_by(outcome, n as u64);
    }
    Ok(report)
}
