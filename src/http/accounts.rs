//! Account routes: the mini-program buyer's sign-in and profile (spec
//! §认证和用户相关) and the admin sign-in (spec §管理后台接口 1).

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use super::extract::J;
use super::guards::{ClientIp, CurrentUser, Staff};
use crate::error::AppError;
use crate::model::accounts::{Admin, User};
use crate::service::accounts::{self, ProfileInput};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WechatLoginBody {
    /// From wx.login(); single use.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[A-Za-z0-9._+/=-]{1,128}[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub code: String,
    #[schema(pattern = r"^[a-z0-9_-]{1,50}$")]
    pub tenant_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginData<T> {
    pub token: String,
    pub user: T,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

#[utoipa::path(
    post, path = "/api/auth/wechat/login", tag = "identity",
    summary = "微信登录：用 wx.login 的 code 换取登录凭证",
    request_body = WechatLoginBody,
    responses(
        (status = 200, description = "登录成功", body = ApiResponse<LoginData<User>>),
        (status = 400, description = "VALIDATION_FAILED / INVALID_CODE", body = ApiError),
        (status = 403, description = "USER_DISABLED / RISKY_USER", body = ApiError),
        (status = 404, description = "TENANT_NOT_FOUND", body = ApiError),
        (status = 429, description = "RATE_LIMITED / WECHAT_RATE_LIMITED", body = ApiError),
        (status = 503, description = "WECHAT_BUSY / WECHAT_UNAVAILABLE", body = ApiError),
    )
)]
pub async fn wechat_login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    J(body): J<WechatLoginBody>,
) -> Result<Response, AppError> {
    state.limits.check_login(ip)?;
    let out = accounts::wechat_login(&state, &body.code, &body.tenant_id).await?;
    Ok(ok_with_message(
        "登录成功",
        &LoginData {
            token: out.token,
            user: out.principal,
            expires_in: out.expires_in,
        },
    ))
}

#[utoipa::path(
    get, path = "/api/users/me", tag = "identity",
    summary = "当前用户信息",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ApiResponse<User>),
        (status = 401, description = "UNAUTHORIZED / TOKEN_INVALID / TOKEN_EXPIRED", body = ApiError),
        (status = 403, description = "USER_DISABLED / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    Ok(ok(&accounts::me(&state, &user.id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileBody {
    /// 1-32 characters.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,30}[^\s\x00-\x1f\x7f-\x9f])?)?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub nickname: Option<String>,
    /// http(s) URL, at most 500 characters.
    #[schema(max_length = 500)]
    pub avatar: Option<String>,
    /// Mainland mobile number, 11 digits.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*1[3-9][0-9]{9}[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub phone: Option<String>,
    /// 1-50 characters.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,48}[^\s\x00-\x1f\x7f-\x9f])?)?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub real_name: Option<String>,
    /// 0 unknown, 1 male, 2 female.
    #[schema(schema_with = crate::model::accounts::gender_schema)]
    pub gender: Option<i64>,
}

#[utoipa::path(
    put, path = "/api/users/profile", tag = "identity",
    summary = "更新用户信息（只更新提供的字段）",
    security(("bearer" = [])),
    request_body = ProfileBody,
    responses(
        (status = 200, description = "更新成功", body = ApiResponse<User>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
    )
)]
pub async fn update_profile(
    State(state): State<AppState>,
    user: CurrentUser,
    J(body): J<ProfileBody>,
) -> Result<Response, AppError> {
    let update = accounts::validate_profile(ProfileInput {
        nickname: body.nickname,
        avatar: body.avatar,
        phone: body.phone,
        real_name: body.real_name,
        gender: body.gender,
    })?;
    let saved = accounts::save_profile(&state, &user.id, update).await?;
    Ok(ok_with_message("更新成功", &saved))
}

#[derive(Deserialize, ToSchema)]
pub struct PhoneBody {
    /// From the getPhoneNumber button; single use, valid 5 minutes.
    pub code: String,
}

#[utoipa::path(
    post, path = "/api/users/phone", tag = "identity",
    summary = "一键绑定手机号（getPhoneNumber 的 code）",
    security(("bearer" = [])),
    request_body = PhoneBody,
    responses(
        (status = 200, description = "绑定成功", body = ApiResponse<User>),
        (status = 400, description = "VALIDATION_FAILED / INVALID_CODE", body = ApiError),
        (status = 401, body = ApiError),
        (status = 422, description = "PHONE_NOT_SUPPORTED", body = ApiError),
        (status = 503, body = ApiError),
    )
)]
pub async fn bind_phone(
    State(state): State<AppState>,
    user: CurrentUser,
    J(body): J<PhoneBody>,
) -> Result<Response, AppError> {
    let saved = accounts::bind_phone(&state, &user.id, &body.code).await?;
    Ok(ok_with_message("绑定成功", &saved))
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
    let out =
        accounts::admin_login(&state, &body.tenant_id, &body.username, &body.password, ip).await?;
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
    Ok(ok(
        &accounts::admin_me(&state, &admin.scope, &admin.id).await?
    ))
}
