//! The stats route (spec §管理后台接口 2 获取统计数据), for owners.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::AppError;
use crate::http::envelope::{ApiError, ApiResponse, ok_raw};
use crate::http::extract::{Q, non_empty};
use crate::http::guards::Owner;
use crate::model::stats::{Period, Stats};
use crate::service::admin::stats;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    pub tenant_id: Option<String>,
    /// today | thisWeek | thisMonth (default) | lastMonth | thisYear | all,
    /// in the club's time zone.
    pub period: Option<String>,
}

#[utoipa::path(
    get, path = "/api/admin/stats", tag = "admin",
    summary = "统计数据：累计演出、订单、收入、购票用户，所选时段的同名数据块（如 thisMonth），按日序列与收入最高的演出",
    security(("bearer" = [])),
    params(StatsParams),
    responses(
        (status = 200, description = "另含以 period 命名的数据块 {events, orders, revenue, users}", body = ApiResponse<Stats>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TENANT_FORBIDDEN / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Owner(admin): Owner,
    Q(p): Q<StatsParams>,
) -> Result<Response, AppError> {
    let scope = admin.scope(p.tenant_id.as_deref())?;
    let period = match non_empty(p.period) {
        None => Period::ThisMonth,
        Some(s) => Period::parse(&s).ok_or_else(|| {
            AppError::validation(
                "period 须为 today、thisWeek、thisMonth、lastMonth、thisYear 或 all",
            )
        })?,
    };
    Ok(ok_raw(&stats::stats(&state, scope, period).await?))
}
