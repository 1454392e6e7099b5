//! A club's team: its admins signing in and staying allowed, and the team
//! managed by its owner in the console or by the operator on the server
//! (the command line), through the same functions (`TeamActor`). Hashing
//! happens before the write, so the writer never waits on argon2.

use std::net::IpAddr;

use crate::error::{AppError, Code};
use crate::ids::looks_like_id;
use crate::model::admins::{Admin, Standing, locked};
use crate::model::admins::{AdminActor, TeamActor};
use crate::model::admins::{
    AdminUpdateInput, NewAdminInput, OwnPasswordInput, PasswordInput, new_password,
};
use crate::model::catalog::ActiveStatus;
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;
use crate::service::users::LoginOutcome;
use crate::state::AppState;
use crate::store::admins as q;
use crate::store::audit::{AuditActor, Target, audit};
use crate::store::{Store, admins};
use crate::tokens;

fn not_found() -> AppError {
    AppError::new(Code::AdminNotFound, "管理员不存在")
}

fn checked(id: &str) -> Result<String, AppError> {
    if looks_like_id(id) {
        Ok(id.to_string())
    } else {
        Err(not_found())
    }
}

pub(crate) async fn list(state: &AppState, scope: &TenantScope) -> Result<Vec<Admin>, AppError> {
    let scope = scope.clone();
    Ok(state.store.read(move |c| q::list(c, &scope)).await?)
}

/// Adds an admin to the club.
pub async fn create(
    store: &Store,
    actor: &TeamActor,
    input: NewAdminInput,
) -> Result<Admin, AppError> {
    let new = input.validate()?;
    let hash = hash_off_thread(&input.password).await?;
    let a = actor.clone();
    Ok(store
        .write(move |c| {
            let scope = a.scope();
            let admin = q::create(
                c,
                scope,
                &new.username,
                new.display_name.as_deref(),
                new.role,
                &hash,
            )?;
            audit(
                c,
                (&a).into(),
                "admin_created",
                Target {
                    tenant_id: scope.id(),
                    kind: "admin",
                    id: &admin.id,
                },
                &serde_json::json!({"username": admin.username, "role": admin.role,
                                    "displayName": admin.display_name}),
                now_ms(),
            )?;
            Ok(admin)
        })
        .await?)
}

/// Changes an admin's name, role or status, under the rule that the club
/// keeps an active owner.
pub async fn update(
    store: &Store,
    actor: &TeamActor,
    id: &str,
    input: AdminUpdateInput,
) -> Result<Admin, AppError> {
    let id = checked(id)?;
    let change = input.validate()?;
    let a = actor.clone();
    Ok(store
        .write(move |c| q::update(c, a.scope(), &id, &change, (&a).into(), now_ms()))
        .await?)
}

/// Sets a new password for one of the club's admins (and lifts a lock on
/// the username); the admin's tokens stop working.
pub async fn reset_password(
    store: &Store,
    actor: &TeamActor,
    id: &str,
    input: PasswordInput,
) -> Result<(), AppError> {
    let id = checked(id)?;
    new_password(&input.password, "password")?;
    let hash = hash_off_thread(&input.password).await?;
    let a = actor.clone();
    Ok(store
        .write(move |c| q::reset_password(c, a.scope(), &id, &hash, (&a).into(), now_ms()))
        .await?)
}

/// The id of the club's admin called `username` (the command line names
/// admins by username).
pub async fn id_of(store: &Store, scope: &TenantScope, username: &str) -> Result<String, AppError> {
    let (scope, name) = (scope.clone(), username.trim().to_string());
    Ok(store
        .read(move |c| q::id_by_username(c, &scope, &name))
        .await?)
}

/// "Sign out everywhere": every token the admin holds stops working (the
/// admin's own, or for an owner any of the club's admins).
pub(crate) async fn end_sessions(
    state: &AppState,
    actor: &AdminActor,
    id: &str,
) -> Result<(), AppError> {
    let id = checked(id)?;
    let (a, target) = (actor.clone(), id.clone());
    state
        .store
        .write(move |c| q::end_sessions(c, &a.scope, &target, &a.id, now_ms()))
        .await?;
    Ok(())
}

/// An admin changes their own password, proving the old one. Every token
/// the admin held stops working; the answer is a new one for this session.
pub(crate) async fn change_own_password(
    state: &AppState,
    me: &AdminActor,
    input: OwnPasswordInput,
) -> Result<String, AppError> {
    new_password(&input.new_password, "newPassword")?;
    let (scope, id) = (me.scope.clone(), me.id.clone());
    let stored = state
        .store
        .read(move |c| q::password_hash(c, &scope, &id))
        .await?;
    let old = input.old_password.clone();
    let ok = tokio::task::spawn_blocking(move || tokens::verify_password(&old, stored.as_deref()))
        .await
        .map_err(AppError::internal)?;
    if !ok {
        return Err(AppError::validation("oldPassword：原密码不正确"));
    }
    if input.old_password == input.new_password {
        return Err(AppError::validation("newPassword：新密码不能与原密码相同"));
    }
    let hash = hash_off_thread(&input.new_password).await?;
    let a = me.clone();
    let standing = state
        .store
        .write(move |c| {
            q::reset_password(
                c,
                &a.scope,
                &a.id,
                &hash,
                AuditActor::Admin(&a.id),
                now_ms(),
            )?;
            q::standing(c, &a.scope, &a.id)
        })
        .await?
        .ok_or_else(|| AppError::new(Code::AdminDisabled, "该管理员账号已停用"))?;
    state
        .tokens
        .issue_admin(&me.id, me.scope.id(), standing.role, standing.epoch)
        .map_err(AppError::internal)
}

async fn hash_off_thread(password: &str) -> Result<String, AppError> {
    let p = password.to_string();
    tokio::task::spawn_blocking(move || tokens::hash_password(&p))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
}

fn bad_credentials() -> AppError {
    AppError::new(Code::InvalidCredentials, "用户名或密码错误")
}

/// `POST /api/admin/auth/login`. An unknown user and a wrong password get the
/// same answer after the same amount of hashing work. Wrong passwords lock
/// out the address they come from (five in a row), and slow down every
/// address the admin never signed in from once the username has had its
/// hour's allowance from all of them together.
pub(crate) async fn login(
    state: &AppState,
    tenant_id: &str,
    username: &str,
    password: &str,
    client: IpAddr,
) -> Result<LoginOutcome<Admin>, AppError> {
    if password.len() > crate::model::admins::MAX_PASSWORD_BYTES
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

pub(crate) async fn me(
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

/// A signed-in admin's current role and session epoch if the admin (and
/// its club) is still active, trusted for `ADMIN_CHECK_TTL` before the
/// database is asked again: disabling, a change of role or password, and
/// "sign out everywhere" take effect within it.
pub(crate) async fn standing(
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
