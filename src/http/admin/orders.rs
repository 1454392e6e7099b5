//! Admin order routes (spec §管理后台接口 4 订单管理): search and read for
//! any admin of the club; refund and CSV export for owners.

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::AppError;
use crate::http::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use crate::http::extract::keyword_param;
use crate::http::extract::{J, P, Q, non_empty};
use crate::http::guards::{CurrentAdmin, Owner, Staff};
use crate::model::catalog::PageRequest;
use crate::model::orders::{AdminOrder, AdminOrderFilter, OrderCursor, OrderPage, OrderStatus};
use crate::model::time::{local_to_utc_ms, parse_date};
use crate::service::admin::orders;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AdminOrderParams {
    /// If given, the admin's own club.
    pub tenant_id: Option<String>,
    /// pending | paid | cancelled | refunded | used
    pub status: Option<String>,
    pub event_id: Option<String>,
    /// The order id, or part of the contact's phone or name.
    pub keyword: Option<String>,
    /// YYYY-MM-DD (the club's zone): created on or after this day.
    pub from: Option<String>,
    /// YYYY-MM-DD (the club's zone): created on or before this day.
    pub to: Option<String>,
    /// ≥ 1, default 1 (ignored with `cursor`).
    pub page: Option<i64>,
    /// 1-100, default 10.
    pub page_size: Option<i64>,
    /// `nextCursor` of the previous page: steady paging through long lists.
    pub cursor: Option<String>,
}

/// The export's filters: the list's, without its paging (the file has
/// every matching order).
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// If given, the admin's own club.
    pub tenant_id: Option<String>,
    /// pending | paid | cancelled | refunded | used
    pub status: Option<String>,
    pub event_id: Option<String>,
    /// The order id, or part of the contact's phone or name.
    pub keyword: Option<String>,
    /// YYYY-MM-DD (the club's zone): created on or after this day.
    pub from: Option<String>,
    /// YYYY-MM-DD (the club's zone): created on or before this day.
    pub to: Option<String>,
}

impl From<ExportParams> for AdminOrderParams {
    fn from(p: ExportParams) -> Self {
        AdminOrderParams {
            tenant_id: p.tenant_id,
            status: p.status,
            event_id: p.event_id,
            keyword: p.keyword,
            from: p.from,
            to: p.to,
            page: None,
            page_size: None,
            cursor: None,
        }
    }
}

fn filter(state: &AppState, p: &AdminOrderParams) -> Result<AdminOrderFilter, AppError> {
    let tz = state.config.timezone;
    let day = |v: &Option<String>, name: &str, next: bool| -> Result<Option<i64>, AppError> {
        non_empty(v.clone())
            .map(|d| {
                let d = parse_date(&d).ok_or_else(|| {
                    AppError::validation(format!("{name} 须为 YYYY-MM-DD 格式的日期"))
                })?;
                let d = if next { d.succ_opt().unwrap_or(d) } else { d };
                Ok(local_to_utc_ms(tz, d, chrono::NaiveTime::MIN))
            })
            .transpose()
    };
    let status = non_empty(p.status.clone())
        .map(|s| {
            OrderStatus::parse(&s).ok_or_else(|| {
                AppError::validation("status 须为 pending、paid、cancelled、refunded 或 used")
            })
        })
        .transpose()?;
    let event_id = non_empty(p.event_id.clone());
    if event_id.as_ref().is_some_and(|e| e.len() > 64) {
        return Err(AppError::validation("eventId 格式不正确"));
    }
    let (from_ms, to_ms) = (day(&p.from, "from", false)?, day(&p.to, "to", true)?);
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && f >= t
    {
        return Err(AppError::validation("from 不能晚于 to"));
    }
    Ok(AdminOrderFilter {
        status,
        event_id,
        keyword: keyword_param(p.keyword.clone())?,
        from_ms,
        to_ms,
    })
}

#[utoipa::path(
    get, path = "/api/admin/orders", tag = "admin",
    summary = "订单列表（最新在前；可按状态、演出、关键字、日期筛选；长列表用 cursor 翻页）",
    security(("bearer" = [])),
    params(AdminOrderParams),
    responses(
        (status = 200, body = ApiResponse<OrderPage>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "TENANT_FORBIDDEN / TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Staff(admin): Staff,
    Q(p): Q<AdminOrderParams>,
) -> Result<Response, AppError> {
    let scope = admin.scope(p.tenant_id.as_deref())?;
    let page = PageRequest::new(p.page, p.page_size)?;
    let cursor = non_empty(p.cursor.clone())
        .map(|c| OrderCursor::decode(&c))
        .transpose()?;
    let f = filter(&state, &p)?;
    Ok(ok(&orders::list(&state, scope, f, page, cursor).await?))
}

#[utoipa::path(
    get, path = "/api/admin/orders/{orderId}", tag = "admin",
    summary = "订单详情（票券、演出、票档、支付通知与退款记录）",
    security(("bearer" = [])),
    params(("orderId" = String, Path)),
    responses(
        (status = 200, body = ApiResponse<AdminOrder>),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
        (status = 404, description = "ORDER_NOT_FOUND", body = ApiError),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Staff(admin): Staff,
    P(id): P<String>,
) -> Result<Response, AppError> {
    Ok(ok(&orders::get(&state, &admin.scope, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminRefundBody {
    /// 1-200 characters.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,198}[^\s\x00-\x1f\x7f-\x9f])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub reason: String,
    /// Required to refund an order with a ticket already checked in.
    #[serde(default)]
    pub force: bool,
}

#[utoipa::path(
    put, path = "/api/admin/orders/{orderId}/refund", tag = "admin",
    summary = "全额退款（不受买家退款截止时间限制；已检票的订单须 force: true）",
    security(("bearer" = [])),
    params(("orderId" = String, Path)),
    request_body = AdminRefundBody,
    responses(
        (status = 200, description = "退款已提交", body = ApiResponse<AdminOrder>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "ORDER_NOT_FOUND", body = ApiError),
        (status = 409, description = "REFUND_EXISTS / ORDER_NOT_PAID / TICKET_USED", body = ApiError),
    )
)]
pub async fn refund(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
    J(body): J<AdminRefundBody>,
) -> Result<Response, AppError> {
    let order = orders::refund(&state, &admin.actor(), &id, &body.reason, body.force).await?;
    Ok(ok_with_message("退款已提交", &order))
}

fn export_response(state: &AppState, admin: &CurrentAdmin, f: AdminOrderFilter) -> Response {
    let rx = orders::export(state, &admin.scope, f);
    let body = Body::from_stream(stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let name = format!(
        "attachment; filename=\"orders-{}.csv\"",
        chrono::Utc::now()
            .with_timezone(&state.config.timezone)
            .format("%Y%m%d-%H%M")
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(
    get, path = "/api/admin/orders/export.csv", tag = "admin",
    summary = "导出订单 CSV（与列表相同的筛选；UTF-8 带 BOM，Excel 可直接打开；流式输出）",
    security(("bearer" = [])),
    params(ExportParams),
    responses(
        (status = 200, description = "CSV 文件", content_type = "text/csv", body = String),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TENANT_FORBIDDEN / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    Owner(admin): Owner,
    Q(p): Q<ExportParams>,
) -> Result<Response, AppError> {
    admin.scope(p.tenant_id.as_deref())?;
    let f = filter(&state, &p.into())?;
    Ok(export_response(&state, &admin, f))
}
