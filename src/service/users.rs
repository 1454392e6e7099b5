//! The mini-program's buyers: WeChat login, profiles and phone numbers, and
//! whether a signed-in buyer is still allowed. Handlers parse; this decides;
//! `store` persists.

use std::time::Duration;

use crate::cache::SignedIn;
use crate::error::AppError;
use crate::error::Code;
use crate::error::Rejection;
use crate::model::fields::{bounded_text, valid_phone, valid_url};
use crate::model::users::User;
use crate::state::AppState;
use crate::store::users;
use crate::store::users::ProfileUpdate;
use crate::wechat::mini::WechatError;

pub(crate) struct LoginOutcome<T> {
    pub token: String,
    pub principal: T,
    pub expires_in: u64,
}

/// Login and phone codes from wx.login / getPhoneNumber: short printable tokens.
fn valid_code(code: &str) -> Result<&str, AppError> {
    let c = code.trim();
    if (1..=128).contains(&c.len())
        && c.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+' | b'/' | b'=')
        })
    {
        Ok(c)
    } else {
        Err(AppError::validation("code 无效：须为 1-128 位的微信凭证"))
    }
}

/// `POST /api/auth/wechat/login`: exchanges the code at WeChat (or, in dev mode,
/// takes `dev_<code>` as the openid), creates the user at first login, and
/// issues a user token.
pub(crate) async fn wechat_login(
    state: &AppState,
    code: &str,
    tenant_id: &str,
) -> Result<LoginOutcome<User>, AppError> {
    let code = valid_code(code)?;
    // The club must exist and be open (cached lookup; 404 otherwise).
    let scope = crate::service::catalog::public_scope(state, tenant_id).await?;
    let (openid, unionid, session_key) = match &state.wechat {
        Some(mp) => {
            let s = mp.code2session(code).await?;
            (s.openid, s.unionid, Some(s.session_key))
        }
        None => (format!("dev_{code}"), None, None),
    };
    let user = state
        .store
        .write(move |c| {
            users::login(
                c,
                &scope,
                &openid,
                unionid.as_deref(),
                session_key.as_deref(),
            )
        })
        .await?;
    let (token, exp) = state
        .tokens
        .issue_user_until(&user.id)
        .map_err(AppError::internal)?;
    // The login just found the user active: their first requests (often an
    // order, seconds later at an on-sale) need neither the signature check
    // nor the database.
    state.caches.sessions.user_tokens.insert(
        token.clone(),
        SignedIn {
            user_id: user.id.as_str().into(),
            exp,
        },
    );
    Ok(LoginOutcome {
        token,
        principal: user,
        expires_in: state.tokens.ttl().as_secs(),
    })
}

pub(crate) async fn me(state: &AppState, user_id: &str) -> Result<User, AppError> {
    let id = user_id.to_string();
    state
        .store
        .read(move |c| users::get(c, &id))
        .await?
        .ok_or_else(|| AppError::new(Code::UserNotFound, "用户不存在"))
}

/// `POST /api/users/phone`: the one-tap phone number. In dev mode the code
/// itself is the number.
pub(crate) async fn bind_phone(
    state: &AppState,
    user_id: &str,
    code: &str,
) -> Result<User, AppError> {
    let phone = match &state.wechat {
        Some(mp) => {
            let code = valid_code(code)?;
            let number = mp.phone_number(code).await?;
            // WeChat may return a foreign number; we store what we can call.
            valid_phone(&number)
                .map_err(|_| AppError::new(Code::PhoneNotSupported, "暂仅支持中国大陆手机号"))?
        }
        None => valid_phone(code)?,
    };
    save_profile(
        state,
        user_id,
        ProfileUpdate {
            phone: Some(phone),
            ..Default::default()
        },
    )
    .await
}

/// What a user may send to `PUT /api/users/profile`; absent fields stay as they are.
#[derive(Debug, Default)]
pub(crate) struct ProfileInput {
    pub nickname: Option<String>,
    pub avatar: Option<String>,
    pub phone: Option<String>,
    pub real_name: Option<String>,
    pub gender: Option<i64>,
}

pub(crate) fn validate_profile(input: ProfileInput) -> Result<ProfileUpdate, Rejection> {
    let update = ProfileUpdate {
        nickname: input
            .nickname
            .map(|v| bounded_text(&v, "昵称", 32))
            .transpose()?,
        avatar: input.avatar.map(|v| valid_url(&v, "头像")).transpose()?,
        phone: input.phone.map(|v| valid_phone(&v)).transpose()?,
        real_name: input
            .real_name
            .map(|v| bounded_text(&v, "真实姓名", 50))
            .transpose()?,
        gender: match input.gender {
            None => None,
            Some(g @ 0..=2) => Some(g),
            Some(_) => {
                return Err(Rejection::new(Code::ValidationFailed, "性别须为 0、1 或 2"));
            }
        },
    };
    if update.nickname.is_none()
        && update.avatar.is_none()
        && update.phone.is_none()
        && update.real_name.is_none()
        && update.gender.is_none()
    {
        return Err(Rejection::new(Code::ValidationFailed, "没有需要更新的字段"));
    }
    Ok(update)
}

pub(crate) async fn save_profile(
    state: &AppState,
    user_id: &str,
    update: ProfileUpdate,
) -> Result<User, AppError> {
    let id = user_id.to_string();
    Ok(state
        .store
        .write(move |c| users::update_profile(c, &id, &update))
        .await?)
}

/// How often the disabled users are re-read: disabling a user takes effect
/// within this, whichever process (server or CLI) wrote it.
pub(crate) const DISABLED_USERS_REFRESH: Duration = Duration::from_secs(1);

/// Re-reads the disabled users into the in-memory set every request checks.
pub(crate) async fn refresh_disabled_users(state: &AppState) -> anyhow::Result<usize> {
    let ids = state.store.read(users::disabled_ids).await?;
    let n = ids.len();
    state
        .caches
        .sessions
        .set_disabled_users(ids.into_iter().collect());
    Ok(n)
}

/// What a buyer is told when WeChat login fails.
impl From<WechatError> for AppError {
    fn from(e: WechatError) -> AppError {
        match e {
            WechatError::Busy => AppError {
                retry_after: Some(1),
                ..AppError::new(Code::WechatBusy, "微信服务繁忙，请稍后重试")
            },
            WechatError::InvalidCode => {
                AppError::new(Code::InvalidCode, "微信凭证无效或已过期，请重新获取")
            }
            WechatError::RateLimited => AppError {
                retry_after: Some(60),
                ..AppError::new(Code::WechatRateLimited, "操作太频繁，请稍后再试")
            },
            WechatError::RiskyUser => AppError::new(
                Code::RiskyUser,
                "该微信账号暂时无法登录，请稍后再试或联系微信客服",
            ),
            WechatError::Misconfigured(code, msg) => {
                // The club's own setup is wrong: loud in the log, vague to the buyer.
                tracing::error!(errcode = code, errmsg = %msg, "WeChat rejected our app credentials: check WECHAT_APP_ID / WECHAT_APP_SECRET");
                AppError {
                    source: Some(anyhow::anyhow!("wechat misconfigured: {code} {msg}")),
                    ..AppError::new(Code::WechatMisconfigured, "服务暂不可用，请联系俱乐部")
                }
            }
            WechatError::Other(code, msg) => {
                tracing::warn!(errcode = code, errmsg = %msg, "WeChat returned an error");
                AppError::new(Code::WechatError, "微信服务异常，请稍后重试")
            }
            WechatError::Unreachable(why) => {
                tracing::warn!(error = %why, "WeChat unreachable");
                AppError {
                    retry_after: Some(1),
                    ..AppError::new(Code::WechatUnavailable, "无法连接微信服务，请稍后重试")
                }
            }
        }
    }
}

/// Whether a signed-in user is active: refused at once if in the disabled
/// set (re-read every second), else the database decides. Asked only when a
/// token is first seen; its answer is remembered with the token.
pub(crate) async fn user_active(state: &AppState, id: &str) -> Result<bool, AppError> {
    if state.caches.sessions.is_disabled_user(id) {
        return Ok(false);
    }
    let lookup = id.to_string();
    Ok(state
        .store
        .read(move |c| users::is_active(c, &lookup))
        .await?)
}
