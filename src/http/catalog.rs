//! Public catalogue routes (spec §演出相关接口 and the tenant config).

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::envelope::{ApiError, ApiResponse, ok_raw};
use super::extract::{P, Q, non_empty};
use crate::error::AppError;
use crate::model::catalog::{Event, EventStatus, HomeData, Page, PageRequest, TenantConfig};
use crate::model::time::parse_date;
use crate::service::catalog::{self, ListQuery};
use crate::state::AppState;

/// Longest `city` / `keyword` filter accepted.
const MAX_FILTER_CHARS: usize = 50;

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TenantQuery {
    /// The club, e.g. `demo`.
    pub tenant_id: Option<String>,
}

fn required_tenant(t: Option<String>) -> Result<String, AppError> {
    non_empty(t).ok_or_else(|| AppError::validation("缺少参数 tenantId"))
}

#[utoipa::path(
    get, path = "/api/tenants/{tenantId}", tag = "catalog",
    summary = "俱乐部配置 (TenantConfig)：主题、联系方式、功能开关",
    params(("tenantId" = String, Path, description = "俱乐部 ID")),
    responses(
        (status = 200, body = ApiResponse<TenantConfig>),
        (status = 404, description = "TENANT_NOT_FOUND (不存在或已停用)", body = ApiError),
    )
)]
pub async fn get_tenant(
    State(state): State<AppState>,
    P(tenant_id): P<String>,
) -> Result<Response, AppError> {
    Ok(ok_raw(&catalog::tenant(&state, &tenant_id).await?))
}

#[utoipa::path(
    get, path = "/api/events/home", tag = "catalog",
    summary = "首页数据：banners, upcoming, recommended, upcomingSale, merch",
    params(TenantQuery),
    responses(
        (status = 200, body = ApiResponse<HomeData>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 404, description = "TENANT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn home(
    State(state): State<AppState>,
    Q(q): Q<TenantQuery>,
) -> Result<Response, AppError> {
    let tenant_id = required_tenant(q.tenant_id)?;
    Ok(ok_raw(&catalog::home(&state, &tenant_id).await?))
}

#[utoipa::path(
    get, path = "/api/events/calendar/{year}/{month}", tag = "catalog",
    summary = "日历：该月每天的演出 {\"YYYY-MM-DD\": Event[]}（俱乐部所在时区）",
    params(
        ("year" = i32, Path, minimum = 2000, maximum = 2100),
        ("month" = u32, Path, minimum = 1, maximum = 12),
        TenantQuery,
    ),
    responses(
        (status = 200, body = ApiResponse<HashMap<String, Vec<Event>>>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 404, description = "TENANT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn calendar(
    State(state): State<AppState>,
    P((year, month)): P<(i32, u32)>,
    Q(q): Q<TenantQuery>,
) -> Result<Response, AppError> {
    let tenant_id = required_tenant(q.tenant_id)?;
    Ok(ok_raw(
        &catalog::calendar(&state, &tenant_id, year, month).await?,
    ))
}

#[utoipa::path(
    get, path = "/api/events/{eventId}", tag = "catalog",
    summary = "演出详情（priceOptions 按 sortOrder 排序）",
    params(("eventId" = String, Path)),
    responses(
        (status = 200, body = ApiResponse<Event>),
        (status = 404, description = "EVENT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn event_detail(
    State(state): State<AppState>,
    P(event_id): P<String>,
) -> Result<Response, AppError> {
    Ok(ok_raw(&catalog::event(&state, &event_id).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct EventListParams {
    pub tenant_id: Option<String>,
    /// ≥ 1, default 1.
    pub page: Option<i64>,
    /// 1-100, default 10.
    pub page_size: Option<i64>,
    /// upcoming | onSale | soldOut | cancelled
    pub status: Option<String>,
    /// YYYY-MM-DD: only that day. Without it, shows from today on.
    pub date: Option<String>,
    pub city: Option<String>,
    /// Matches title, venue or performers.
    pub keyword: Option<String>,
}

fn bounded(v: Option<String>, name: &str) -> Result<Option<String>, AppError> {
    match non_empty(v) {
        Some(s) if s.chars().count() > MAX_FILTER_CHARS => Err(AppError::validation(format!(
            "{name} 不能超过 {MAX_FILTER_CHARS} 个字符"
        ))),
        other => Ok(other),
    }
}

#[utoipa::path(
    get, path = "/api/events", tag = "catalog",
    summary = "演出列表（分页）",
    params(EventListParams),
    responses(
        (status = 200, body = ApiResponse<Page<Event>>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 404, description = "TENANT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn list_events(
    State(state): State<AppState>,
    Q(p): Q<EventListParams>,
) -> Result<Response, AppError> {
    let tenant_id = required_tenant(p.tenant_id)?;
    let page = PageRequest::new(p.page, p.page_size)?;
    let status = match non_empty(p.status) {
        None => None,
        Some(s) => Some(EventStatus::parse_public(&s).ok_or_else(|| {
            AppError::validation("status 须为 upcoming、onSale、soldOut 或 cancelled")
        })?),
    };
    let date = match non_empty(p.date) {
        None => None,
        Some(d) => Some(
            parse_date(&d)
                .ok_or_else(|| AppError::validation("date 须为 YYYY-MM-DD 格式的日期"))?,
        ),
    };
    let query = ListQuery {
        status,
        date,
        city: bounded(p.city, "city")?,
        keyword: bounded(p.keyword, "keyword")?,
        page,
    };
    Ok(ok_raw(&catalog::list(&state, &tenant_id, query).await?))
}
