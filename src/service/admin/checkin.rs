//! Check-in: a ticket scanned in while the scanner is online, a mis-scan
//! taken back, the door count. The offline scanner's pack and sync are
//! `door`, which applies each offline scan through the same decision.

use crate::error::{AppError, Code};
use crate::ids::looks_like_id;
use crate::model::admins::AdminActor;
use crate::model::checkin::{CheckinResult, DoorCount, ScanPoint};
use crate::model::scope::TenantScope;
use crate::model::time::{now_ms, today_in};
use crate::state::AppState;
use crate::store::checkin as q;

/// What a scanner sends.
pub struct Scan {
    pub qr_code: String,
    pub event_id: Option<String>,
    pub device_id: Option<String>,
    pub force: bool,
}

pub(crate) fn device(id: Option<String>) -> Result<Option<String>, AppError> {
    match id.map(|d| d.trim().to_string()).filter(|d| !d.is_empty()) {
        Some(d) if d.chars().count() > 64 || d.chars().any(char::is_control) => Err(
            AppError::validation("deviceId：最多 64 个字符，不含控制字符"),
        ),
        d => Ok(d),
    }
}

/// A scan, decided and recorded by the writer. A code whose MAC fails is
/// "not found" before anything is read; so is another club's ticket.
/// `force` (a wrong day or an expired ticket) is for owners only.
pub(crate) async fn check_in(
    state: &AppState,
    admin: &AdminActor,
    is_owner: bool,
    scan: Scan,
) -> Result<CheckinResult, AppError> {
    let result = decide(state, admin, is_owner, scan).await;
    state.metrics.checkin(match &result {
        Ok(_) => "admitted",
        Err(e) => e.code.as_str(),
    });
    result
}

async fn decide(
    state: &AppState,
    admin: &AdminActor,
    is_owner: bool,
    scan: Scan,
) -> Result<CheckinResult, AppError> {
    if scan.force && !is_owner {
        return Err(AppError::new(Code::OwnerOnly, "只有店主可以强制放行"));
    }
    let qr = scan.qr_code.trim().to_string();
    if !state.qr_key.verify(&qr) {
        return Err(AppError::new(Code::TicketNotFound, "无效的票码"));
    }
    let event_id = scan.event_id.filter(|e| !e.trim().is_empty());
    if event_id.as_deref().is_some_and(|e| !looks_like_id(e)) {
        return Err(AppError::validation("eventId 格式不正确"));
    }
    let device = device(scan.device_id)?;
    let (a, tz, force) = (admin.clone(), state.config.timezone, scan.force);
    Ok(state
        .store
        .write(move |c| {
            let door = ScanPoint {
                event_id: event_id.as_deref(),
                today: today_in(tz),
                force,
                tz,
            };
            q::check_in(c, &a.scope, &qr, &door, device.as_deref(), &a.id, now_ms())
        })
        .await?)
}

pub(crate) async fn undo(
    state: &AppState,
    admin: &AdminActor,
    ticket_id: &str,
) -> Result<(), AppError> {
    if !looks_like_id(ticket_id) {
        return Err(AppError::new(Code::TicketNotFound, "票券不存在"));
    }
    let (a, id) = (admin.clone(), ticket_id.to_string());
    Ok(state
        .store
        .write(move |c| q::undo(c, &a.scope, &id, &a.id, now_ms()))
        .await?)
}

pub(crate) async fn door_count(
    state: &AppState,
    scope: &TenantScope,
    event_id: &str,
) -> Result<DoorCount, AppError> {
    if !looks_like_id(event_id) {
        return Err(AppError::event_not_found());
    }
    let (scope, id) = (scope.clone(), event_id.to_string());
    state
        .store
        .read(move |c| q::door_count(c, &scope, &id))
        .await?
        .ok_or_else(AppError::event_not_found)
}

/// The `tickets` job: tickets of shows long over expire.
pub(crate) async fn expire_tickets(state: &AppState) -> anyhow::Result<usize> {
    let after = i64::try_from(state.config.ticket_expire_after.as_millis()).unwrap_or(i64::MAX / 4);
    let n = state
        .store
        .write(move |c| q::expire_tickets(c, after, now_ms()))
        .await?;
    if n > 0 {
        tracing::info!(expired = n, "tickets of past shows expired");
    }
    Ok(n)
}
