//! The offline door's routes: the pack a scanner downloads before the signal
//! goes, and the upload of its scans when it comes back.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::envelope::{ApiError, ApiResponse, ok};
use crate::http::extract::{J, P, Q};
use crate::http::guards::Staff;
use crate::model::door::{DoorChanges, DoorPack, SyncReport};
use crate::service::admin::door::{self, OfflineScan};
use crate::state::AppState;

/// Whether `If-None-Match` names `etag` (weak comparison, as for GET).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

#[utoipa::path(
    get, path = "/api/admin/events/{eventId}/door-pack", tag = "admin",
    summary = "离线检票包：本场每张可入场票的票码摘要（不含票码与密钥）、票档、联系人与已知检票；带 ETag，未变化时 304",
    security(("bearer" = [])),
    params(
        ("eventId" = String, Path),
        ("If-None-Match" = Option<String>, Header, description = "上次下载的 ETag"),
    ),
    responses(
        (status = 200, body = ApiResponse<DoorPack>, headers(("ETag" = String))),
        (status = 304, description = "检票包未变化"),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
        (status = 404, description = "EVENT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn pack(
    State(state): State<AppState>,
    Staff(admin): Staff,
    P(event_id): P<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let pack = door::pack(&state, &admin.scope, &event_id).await?;
    let etag = format!("W/\"{}\"", pack.pack_version);
    let mut res = if not_modified(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ok(&pack)
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(res)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The cursor of the pack or of the last answer (0: from the start).
    pub since: Option<String>,
}

#[utoipa::path(
    get, path = "/api/admin/events/{eventId}/door-changes", tag = "admin",
    summary = "检票增量：自 since 游标以来本场入场、撤销、作废的票（当前状态）；无变化时 304。在线的检票设备每 2 秒询问一次，3 秒内得知其他设备的检票",
    security(("bearer" = [])),
    params(("eventId" = String, Path), ChangesQuery),
    responses(
        (status = 200, body = ApiResponse<DoorChanges>),
        (status = 304, description = "自 since 以来没有变化"),
        (status = 400, description = "VALIDATION_FAILED（since 须为非负整数）", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
        (status = 404, description = "EVENT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn changes(
    State(state): State<AppState>,
    Staff(admin): Staff,
    P(event_id): P<String>,
    Q(q): Q<ChangesQuery>,
) -> Result<Response, AppError> {
    let since = match q.since.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| AppError::validation("since 须为非负整数（上次的 cursor）"))?,
    };
    let mut res = match door::changes(&state, &admin.scope, &event_id, since).await? {
        Some(c) => ok(&c),
        None => StatusCode::NOT_MODIFIED.into_response(),
    };
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanBody {
    /// The code as scanned.
    pub qr_code: String,
    /// When the device scanned it: RFC 3339, or unix milliseconds.
    #[schema(value_type = String, example = "2026-12-02T20:05:31.250+08:00")]
    pub scanned_at: serde_json::Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncBody {
    /// The scanner (1-64 characters), the same on every upload.
    #[schema(
        required = true,
        nullable = false,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,64}$"
    )]
    pub device_id: Option<String>,
    /// The show the scanner was set to: a ticket of another show is rejected WRONG_SHOW.
    #[schema(
        pattern = r"^([\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*|[A-Za-z0-9_-]{1,64})$"
    )]
    pub event_id: Option<String>,
    /// In the order they were made, at most 5,000.
    #[serde(default)]
    #[schema(max_items = 5000)]
    pub scans: Vec<ScanBody>,
}

#[utoipa::path(
    post, path = "/api/admin/checkin/sync", tag = "admin",
    summary = "上传离线检票：每条按其扫码时间生效（最早的一次为准），逐条返回 accepted / duplicate（附最早一次的设备与时间）/ rejected（附错误码）；重复上传不改变任何数据",
    security(("bearer" = [])),
    request_body = SyncBody,
    responses(
        (status = 200, body = ApiResponse<SyncReport>),
        (status = 400, description = "VALIDATION_FAILED（缺 deviceId、超过 5000 条）", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
    )
)]
pub async fn sync(
    State(state): State<AppState>,
    Staff(admin): Staff,
    J(body): J<SyncBody>,
) -> Result<Response, AppError> {
    let scans = body
        .scans
        .into_iter()
        .map(|s| OfflineScan {
            qr_code: s.qr_code,
            scanned_at: s.scanned_at,
        })
        .collect();
    let report = door::sync(&state, &admin.actor(), body.device_id, body.event_id, scans).await?;
    Ok(ok(&report))
}
