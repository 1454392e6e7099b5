//! Check-in routes: one scan decided by the server while the scanner is
//! online (any admin of the club; `force` is an owner's), taking a
//! mis-scan back, and the door count. The offline scanner is `door`.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use crate::http::extract::{J, P};
use crate::http::guards::Staff;
use crate::model::admins::AdminRole;
use crate::model::checkin::{CheckinResult, DoorCount};
use crate::service::admin::checkin::{self, Scan};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckinBody {
    /// The ticket's QR code as scanned.
    #[schema(min_length = 1)]
    pub qr_code: String,
    /// The show the scanner is set to: a ticket of another show is WRONG_SHOW.
    #[schema(
        pattern = r"^([\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*|[A-Za-z0-9_-]{1,64})$"
    )]
    pub event_id: Option<String>,
    /// The scanner (≤ 64 characters), told to whoever scans the ticket again.
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]{0,64}$")]
    pub device_id: Option<String>,
    /// Owners only: let in a ticket of another day or show, or an expired one (audited).
    #[serde(default)]
    pub force: bool,
}

#[utoipa::path(
    post, path = "/api/admin/checkin", tag = "admin",
    summary = "检票：票码有效则入场（订单全部入场后变为 used）；拒绝时 message 可直接读给观众听",
    security(("bearer" = [])),
    request_body = CheckinBody,
    responses(
        (status = 200, description = "检票成功", body = ApiResponse<CheckinResult>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY（force）/ TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
        (status = 404, description = "TICKET_NOT_FOUND（伪造、输错或其他俱乐部的票）", body = ApiError),
        (status = 409, description = "TICKET_ALREADY_USED / TICKET_VOID / TICKET_EXPIRED / WRONG_SHOW", body = ApiError),
    )
)]
pub async fn check_in(
    State(state): State<AppState>,
    Staff(admin): Staff,
    J(body): J<CheckinBody>,
) -> Result<Response, AppError> {
    let scan = Scan {
        qr_code: body.qr_code,
        event_id: body.event_id,
        device_id: body.device_id,
        force: body.force,
    };
    let out =
        checkin::check_in(&state, &admin.actor(), admin.role == AdminRole::Owner, scan).await?;
    Ok(ok_with_message("检票成功", &out))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UndoBody {
    pub ticket_id: String,
}

#[utoipa::path(
    post, path = "/api/admin/checkin/undo", tag = "admin",
    summary = "撤销检票（10 分钟内的误扫）",
    security(("bearer" = [])),
    request_body = UndoBody,
    responses(
        (status = 200, description = "已撤销", body = ApiResponse<Option<String>>),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
        (status = 404, description = "TICKET_NOT_FOUND", body = ApiError),
        (status = 409, description = "TICKET_NOT_USED / UNDO_WINDOW_CLOSED", body = ApiError),
    )
)]
pub async fn undo(
    State(state): State<AppState>,
    Staff(admin): Staff,
    J(body): J<UndoBody>,
) -> Result<Response, AppError> {
    checkin::undo(&state, &admin.actor(), &body.ticket_id).await?;
    Ok(ok_with_message("已撤销", &serde_json::Value::Null))
}

#[utoipa::path(
    get, path = "/api/admin/events/{eventId}/checkins", tag = "admin",
    summary = "门口计数：已售票数、已入场数（按票档）与最近的检票",
    security(("bearer" = [])),
    params(("eventId" = String, Path)),
    responses(
        (status = 200, body = ApiResponse<DoorCount>),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
        (status = 404, description = "EVENT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn door_count(
    State(state): State<AppState>,
    Staff(admin): Staff,
    P(event_id): P<String>,
) -> Result<Response, AppError> {
    Ok(ok(
        &checkin::door_count(&state, &admin.scope, &event_id).await?
    ))
}
