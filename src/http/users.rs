//! The buyer's routes: the mini-program's sign-in and profile (spec
//! §认证和用户相关).

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use super::extract::J;
use super::guards::{ClientIp, CurrentUser};
use crate::error::AppError;
use crate::model::users::User;
use crate::service::users::{self, ProfileInput};
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
    let out = users::wechat_login(&state, &body.code, &body.tenant_id).await?;
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
    Ok(ok(&users::me(&state, &user.id).await?))
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
    #[schema(schema_with = crate::model::users::gender_schema)]
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
    let update = users::validate_profile(ProfileInput {
        nickname: body.nickname,
        avatar: body.avatar,
        phone: body.phone,
        real_name: body.real_name,
        gender: body.gender,
    })?;
    let saved = users::save_profile(&state, &user.id, update).await?;
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
    let saved = users::bind_phone(&state, &user.id, &body.code).await?;
    Ok(ok_with_message("绑定成功", &saved))
}
