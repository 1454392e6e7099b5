//! Who is calling: WeChat login for buyers, password login for club staff,
//! profiles and phone numbers. Handlers parse; this decides; `store` persists.

use std::net::IpAddr;
use std::time::Duration;

use crate::cache::SignedIn;
use crate::error::AppError;
use crate::error::Code;
use crate::error::Rejection;
use crate::model::accounts::{
    Admin, AdminRole, Standing, User, bounded_text, valid_new_password, valid_phone, valid_url,
    valid_username,
};
use crate::model::admins::locked;
use crate::model::catalog::ActiveStatus;
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;
use crate::state::AppState;
use crate::store::audit::AuditActor;
use crate::store::users::ProfileUpdate;
use crate::store::{Store, admins, users};
use crate::tokens;
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

fn bad_credentials() -> AppError {
    AppError::new(Code::InvalidCredentials, "用户名或密码错误")
}

/// `POST /api/admin/auth/login`. An unknown user and a wrong password get the
/// same answer after the same amount of hashing work. Wrong passwords lock
/// out the address they come from (five in a row), and slow down every
/// address the admin never signed in from once the username has had its
/// hour's allowance from all of them together.
pub(crate) async fn admin_login(
    state: &AppState,
    tenant_id: &str,
    username: &str,
    password: &str,
    client: IpAddr,
) -> Result<LoginOutcome<Admin>, AppError> {
    if password.len() > crate::model::accounts::MAX_PASSWORD_BYTES
        || !crate::model::catalog::valid_tenant_id(tenant_id)
        || username.len() > 64
    {
        return Err(bad_credentials());
    }
    let ip = client.to_string();
    let (tenant, name, at) = (
        tenant_id.to_string(),
        username.trim().to_string(),
        ip.clone(),
    );
    let found = state
        .store
        .read(move |c| {
            if tenants_active(c, &tenant)? {
                admins::find_for_login(c, &TenantScope::vouched(&tenant), &name, &at, now_ms())
            } else {
                Ok(None)
            }
        })
        .await?;
    if let Some(f) = &found {
        // This address is locked out: refused even with the right password.
        if let Some((r, wait)) = f.locked_until.and_then(|until| locked(until, now_ms())) {
            return Err(AppError {
                retry_after: Some(wait),
                ..r.into()
            });
        }
        state.limits.admit_password_check(
            tenant_id,
            &f.admin.username,
            f.known_address,
            now_ms(),
        )?;
    }
    let password = password.to_string();
    let hash = found.as_ref().map(|f| f.password_hash.clone());
    let ok =
        tokio::task::spawn_blocking(move || tokens::verify_password(&password, hash.as_deref()))
            .await
            .map_err(AppError::internal)?;
    let Some(found) = found else {
        return Err(bad_credentials());
    };
    let scope = TenantScope::vouched(&found.admin.tenant_id);
    if !ok {
        state
            .limits
            .password_failed(tenant_id, &found.admin.username, now_ms());
        let (s, admin, at) = (scope.clone(), found.admin.clone(), ip.clone());
        let lock = state
            .store
            .write(move |c| admins::login_failed(c, &s, &admin, &at, now_ms()))
            .await?;
        return Err(match lock.and_then(|until| locked(until, now_ms())) {
            Some((r, wait)) => AppError {
                retry_after: Some(wait),
                ..r.into()
            },
            None => bad_credentials(),
        });
    }
    let admin = found.admin;
    if admin.status != ActiveStatus::Active {
        return Err(AppError::new(Code::AdminDisabled, "该管理员账号已停用"));
    }
    let (s, a) = (scope.clone(), admin.clone());
    state
        .store
        .write(move |c| admins::touch_login(c, &s, &a, &ip, now_ms()))
        .await?;
    let token = state
        .tokens
        .issue_admin(&admin.id, &admin.tenant_id, admin.role, found.epoch)
        .map_err(AppError::internal)?;
    Ok(LoginOutcome {
        token,
        principal: admin,
        expires_in: state.tokens.ttl().as_secs(),
    })
}

/// The `logins` job.
pub(crate) async fn prune_logins(state: &AppState) -> anyhow::Result<usize> {
    Ok(state
        .store
        .write(|c| admins::prune_logins(c, now_ms()))
        .await?)
}

fn tenants_active(c: &rusqlite::Connection, id: &str) -> crate::store::StoreResult<bool> {
    Ok(crate::store::tenants::find_active(c, id)?.is_some())
}

pub(crate) async fn admin_me(
    state: &AppState,
    scope: &TenantScope,
    admin_id: &str,
) -> Result<Admin, AppError> {
    let (scope, id) = (scope.clone(), admin_id.to_string());
    state
        .store
        .read(move |c| admins::get(c, &scope, &id))
        .await?
        .ok_or_else(|| AppError::new(Code::AdminNotFound, "管理员不存在"))
}

/// Creates an admin (CLI, demo). Hashing happens before the write so the
/// writer never waits on argon2.
pub async fn create_admin(
    store: &Store,
    scope: &TenantScope,
    username: &str,
    role: AdminRole,
    password: &str,
) -> Result<Admin, AppError> {
    let username = valid_username(username)?;
    valid_new_password(password)?;
    let hash = hash_off_thread(password).await?;
    let scope = scope.clone();
    Ok(store
        .write(move |c| {
            let admin = admins::create(c, &scope, &username, None, role, &hash)?;
            operator_audit(
                c,
                "admin_created",
                &scope,
                "admin",
                &admin.id,
                serde_json::json!({ "username": admin.username, "role": role.as_str() }),
            )?;
            Ok(admin)
        })
        .await?)
}

/// What the operator on the server (the CLI, the demo loader) changes is
/// audited as `cli`; secrets never go into the detail.
fn operator_audit(
    c: &rusqlite::Connection,
    action: &str,
    scope: &TenantScope,
    kind: &str,
    id: &str,
    detail: serde_json::Value,
) -> crate::store::StoreResult<()> {
    crate::store::audit::audit(
        c,
        crate::store::audit::AuditActor::Cli,
        action,
        crate::store::audit::Target {
            tenant_id: scope.id(),
            kind,
            id,
        },
        &detail,
        crate::model::time::now_ms(),
    )
}

/// The operator sets an admin's password by username (CLI): the same
/// store change as an owner's reset (a lock is lifted, tokens end), audited
/// as `cli`.
pub(crate) async fn set_admin_password(
    store: &Store,
    scope: &TenantScope,
    username: &str,
    password: &str,
) -> Result<(), AppError> {
    valid_new_password(password)?;
    let hash = hash_off_thread(password).await?;
    let (scope, name) = (scope.clone(), username.to_string());
    Ok(store
        .write(move |c| {
            let id = admins::id_by_username(c, &scope, &name)?;
            admins::reset_password(c, &scope, &id, &hash, AuditActor::Cli, now_ms())
        })
        .await?)
}

/// Disables or re-enables an admin by username (CLI): the same change as
/// an owner's, under the same rule (the club keeps an active owner),
/// audited as `cli`.
pub(crate) async fn set_admin_status(
    store: &Store,
    scope: &TenantScope,
    username: &str,
    status: ActiveStatus,
) -> Result<(), AppError> {
    let (scope, name) = (scope.clone(), username.to_string());
    let change = crate::model::admins::AdminChange {
        display_name: None,
        role: None,
        status: Some(status),
    };
    store
        .write(move |c| {
            let id = admins::id_by_username(c, &scope, &name)?;
            admins::update(c, &scope, &id, &change, AuditActor::Cli, now_ms())
        })
        .await?;
    Ok(())
}

pub(crate) async fn hash_off_thread(password: &str) -> Result<String, AppError> {
    let p = password.to_string();
    tokio::task::spawn_blocking(move || tokens::hash_password(&p))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
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

/// A signed-in admin's current role and session epoch if the admin (and
/// its club) is still active, trusted for `ADMIN_CHECK_TTL` before the
/// database is asked again: disabling, a change of role or password, and
/// "sign out everywhere" take effect within it.
pub(crate) async fn admin_standing(
    state: &AppState,
    scope: &TenantScope,
    id: &str,
) -> Result<Option<Standing>, AppError> {
    let key = format!("{scope}:{id}");
    if let Some(standing) = state.caches.sessions.admins.get(&key) {
        return Ok(standing);
    }
    let (t, i) = (scope.clone(), id.to_string());
    let standing = state
        .store
        .read(move |c| admins::standing(c, &t, &i))
        .await?;
    state.caches.sessions.admins.insert(key, standing);
    Ok(standing)
}
