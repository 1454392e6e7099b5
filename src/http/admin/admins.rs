//! The club's team: an admin signs in (spec §管理后台接口 1) and reads who
//! they are; the owner lists, adds and changes admins and resets their
//! passwords; every admin changes their own password.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use crate::http::extract::{J, P};
use crate::http::guards::{ClientIp, Owner, Staff};
use crate::model::admins::Admin;
use crate::model::admins::{AdminUpdateInput, NewAdminInput, OwnPasswordInput, PasswordInput};
use crate::service::admin::admins;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/admin/admins", tag = "admin",
    summary = "俱乐部的管理员（店主与员工），含停用与锁定状态",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ApiResponse<Vec<Admin>>),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Owner(admin): Owner,
) -> Result<Response, AppError> {
    Ok(ok(&admins::list(&state, &admin.scope).await?))
}

#[utoipa::path(
    post, path = "/api/admin/admins", tag = "admin",
    summary = "新增管理员（role 为 owner 或 staff；密码至少 10 个字符）",
    security(("bearer" = [])),
    request_body = NewAdminInput,
    responses(
        (status = 200, description = "创建成功", body = ApiResponse<Admin>),
        (status = 400, description = "VALIDATION_FAILED（message 以字段名开头）", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 409, description = "ADMIN_EXISTS", body = ApiError),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Owner(admin): Owner,
    J(body): J<NewAdminInput>,
) -> Result<Response, AppError> {
    let created = admins::create(&state.store, &admin.actor().into(), body).await?;
    Ok(ok_with_message("创建成功", &created))
}

#[utoipa::path(
    put, path = "/api/admin/admins/{adminId}", tag = "admin",
    summary = "修改管理员的显示名、角色或状态（停用后其登录在 1 秒内失效；不能停用或降级最后一个店主）",
    security(("bearer" = [])),
    params(("adminId" = String, Path)),
    request_body = AdminUpdateInput,
    responses(
        (status = 200, description = "保存成功", body = ApiResponse<Admin>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "ADMIN_NOT_FOUND", body = ApiError),
        (status = 409, description = "LAST_OWNER", body = ApiError),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
    J(body): J<AdminUpdateInput>,
) -> Result<Response, AppError> {
    let saved = admins::update(&state.store, &admin.actor().into(), &id, body).await?;
    Ok(ok_with_message("保存成功", &saved))
}

#[utoipa::path(
    post, path = "/api/admin/admins/{adminId}/password", tag = "admin",
    summary = "重设管理员密码（同时解除锁定）",
    security(("bearer" = [])),
    params(("adminId" = String, Path)),
    request_body = PasswordInput,
    responses(
        (status = 200, description = "密码已重设", body = ApiResponse<Option<String>>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "ADMIN_NOT_FOUND", body = ApiError),
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
    J(body): J<PasswordInput>,
) -> Result<Response, AppError> {
    admins::reset_password(&state.store, &admin.actor().into(), &id, body).await?;
    Ok(ok_with_message("密码已重设", &serde_json::Value::Null))
}

/// A fresh token for the session that made the change.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    /// Replaces the token this request was made with (which, like every
    /// other token of this admin, no longer works).
    pub token: String,
}

#[utoipa::path(
    put, path = "/api/admin/me/password", tag = "admin",
    summary = "修改自己的密码（须提供原密码）；此前签发的所有登录凭证随即失效，响应附带本设备的新凭证",
    security(("bearer" = [])),
    request_body = OwnPasswordInput,
    responses(
        (status = 200, description = "密码已修改", body = ApiResponse<NewToken>),
        (status = 400, description = "VALIDATION_FAILED（原密码不正确、新密码太短）", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
    )
)]
pub async fn change_own_password(
    State(state): State<AppState>,
    Staff(admin): Staff,
    J(body): J<OwnPasswordInput>,
) -> Result<Response, AppError> {
    let token = admins::change_own_password(&state, &admin.actor(), body).await?;
    Ok(ok_with_message("密码已修改", &NewToken { token }))
}

#[utoipa::path(
    post, path = "/api/admin/me/logout-all", tag = "admin",
    summary = "退出所有设备：本人此前签发的所有登录凭证（包括本次请求所用的）在 1 秒内失效",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "已退出所有设备", body = ApiResponse<Option<String>>),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
    )
)]
pub async fn logout_all_own(
    State(state): State<AppState>,
    Staff(admin): Staff,
) -> Result<Response, AppError> {
    admins::end_sessions(&state, &admin.actor(), &admin.id).await?;
    Ok(ok_with_message("已退出所有设备", &serde_json::Value::Null))
}

#[utoipa::path(
    post, path = "/api/admin/admins/{adminId}/logout-all", tag = "admin",
    summary = "让某位管理员退出所有设备：其所有登录凭证在 1 秒内失效（密码不变）",
    security(("bearer" = [])),
    params(("adminId" = String, Path)),
    responses(
        (status = 200, description = "已退出所有设备", body = ApiResponse<Option<String>>),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "ADMIN_NOT_FOUND", body = ApiError),
    )
)]
pub async fn logout_all(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
) -> Result<Response, AppError> {
    admins::end_sessions(&state, &admin.actor(), &id).await?;
    Ok(ok_with_message("已退出所有设备", &serde_json::Value::Null))
}

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
        (status = 429, description = "RATE_LIMITED（本地址登录过于频繁，或该账号正被多处猜测密码：未登录过的地址须等待 Retry-After）/ ACCOUNT_LOCKED（本地址连续输错 5 次，15 分钟内不能登录该账号；其他地址不受影响）", body = ApiError),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    J(body): J<AdminLoginBody>,
) -> Result<Response, AppError> {
    state.limits.check_login(ip)?;
    let out = admins::login(&state, &body.tenant_id, &body.username, &body.password, ip).await?;
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
pub async fn admin_me(
    State(state): State<AppState>,
    Staff(admin): Staff,
) -> Result<Response, AppError> {
    Ok(ok(&admins::me(&state, &admin.scope, &admin.id).await?))
}
