//! Admin identity routes (spec §管理后台接口 1).

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{ClientIp, CurrentAdmin};
use super::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use super::extract::J;
use crate::app::AppState;
use crate::domain::identity::Admin;
use crate::error::AppError;
use crate::identity;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminLoginBody {
    pub username: String,
    pub password: String,
    pub tenant_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminLoginData {
    pub token: String,
    pub admin: Admin,
    pub expires_in: u64,
}

#[utoipa::path(
    post, path = "/api/admin/auth/login", tag = "admin",
    summary = "管理员登录",
    request_body = AdminLoginBody,
    responses(
        (status = 200, description = "登录成功", body = ApiResponse<AdminLoginData>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, description = "INVALID_CREDENTIALS (用户不存在与密码错误同一回答)", body = ApiError),
        (status = 403, description = "ADMIN_DISABLED", body = ApiError),
        (status = 429, description = "RATE_LIMITED", body = ApiError),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    J(body): J<AdminLoginBody>,
) -> Result<Response, AppError> {
    state.limits.check_login(ip)?;
    let out =
        identity::admin_login(&state, &body.tenant_id, &body.username, &body.password).await?;
    Ok(ok_with_message(
        "登录成功",
        &AdminLoginData {
            token: out.token,
            admin: out.principal,
            expires_in: out.expires_in,
        },
    ))
}

#[utoipa::path(
    get, path = "/api/admin/me", tag = "admin",
    summary = "当前管理员（id、用户名、角色、俱乐部）",
    security(("bearer" = [])),
    params(("tenantId" = Option<String>, Query, description = "若提供，须为本俱乐部")),
    responses(
        (status = 200, body = ApiResponse<Admin>),
        (status = 401, body = ApiError),
        (status = 403, description = "TENANT_FORBIDDEN / TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
    )
)]
pub async fn me(State(state): State<AppState>, admin: CurrentAdmin) -> Result<Response, AppError> {
    Ok(ok(
        &identity::admin_me(&state, &admin.tenant_id, &admin.id).await?
    ))
}
