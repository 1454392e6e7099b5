//! The club's own settings (spec `TenantConfig` plus the refund cut-off):
//! any admin reads them, the owner saves them.

use axum::extract::State;
use axum::response::Response;

use crate::error::AppError;
use crate::http::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use crate::http::extract::J;
use crate::http::guards::{Owner, Staff};
use crate::model::tenants::{AdminTenant, TenantSettingsInput};
use crate::service::admin::tenants;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/admin/tenant", tag = "admin",
    summary = "俱乐部设置：名称、Logo、主题色、联系方式、功能开关与退款截止时间",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ApiResponse<AdminTenant>),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
    )
)]
pub async fn get(State(state): State<AppState>, Staff(admin): Staff) -> Result<Response, AppError> {
    Ok(ok(&tenants::settings(&state, &admin.scope).await?))
}

#[utoipa::path(
    put, path = "/api/admin/tenant", tag = "admin",
    summary = "保存俱乐部设置（整份提交；小程序在 1 秒内看到）",
    security(("bearer" = [])),
    request_body = TenantSettingsInput,
    responses(
        (status = 200, description = "保存成功", body = ApiResponse<AdminTenant>),
        (status = 400, description = "VALIDATION_FAILED（message 以字段名开头）", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn save(
    State(state): State<AppState>,
    Owner(admin): Owner,
    J(body): J<TenantSettingsInput>,
) -> Result<Response, AppError> {
    let saved = tenants::save_settings(&state, &admin.actor(), body).await?;
    Ok(ok_with_message("保存成功", &saved))
}
