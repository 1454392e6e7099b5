//! A club's team, managed by its owner in the console: admins, their roles
//! and status, and passwords. Hashing happens before the write, so the
//! writer never waits on argon2.

use crate::error::{AppError, Code};
use crate::ids::looks_like_id;
use crate::model::accounts::Admin;
use crate::model::accounts::AdminActor;
use crate::model::admins::{
    AdminUpdateInput, NewAdminInput, OwnPasswordInput, PasswordInput, new_password,
};
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;
use crate::service::accounts::hash_off_thread;
use crate::state::AppState;
use crate::store::admins as q;
use crate::store::audit::{AuditActor, Target, audit};
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

pub(crate) async fn create(
    state: &AppState,
    owner: &AdminActor,
    input: NewAdminInput,
) -> Result<Admin, AppError> {
    let new = input.validate()?;
    let hash = hash_off_thread(&input.password).await?;
    let a = owner.clone();
    Ok(state
        .store
        .write(move |c| {
            let admin = q::create(
                c,
                &a.scope,
                &new.username,
                new.display_name.as_deref(),
                new.role,
                &hash,
            )?;
            audit(
                c,
                AuditActor::Admin(&a.id),
                "admin_created",
                Target {
                    tenant_id: a.scope.id(),
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

pub(crate) async fn update(
    state: &AppState,
    owner: &AdminActor,
    id: &str,
    input: AdminUpdateInput,
) -> Result<Admin, AppError> {
    let id = checked(id)?;
    let change = input.validate()?;
    let (a, target) = (owner.clone(), id.clone());
    let admin = state
        .store
        .write(move |c| {
            q::update(
                c,
                &a.scope,
                &target,
                &change,
                AuditActor::Admin(&a.id),
                now_ms(),
            )
        })
        .await?;
    Ok(admin)
}

/// The owner sets a new password for one of the club's admins (and lifts a
/// lock on the username).
pub(crate) async fn reset_password(
    state: &AppState,
    owner: &AdminActor,
    id: &str,
    input: PasswordInput,
) -> Result<(), AppError> {
    let id = checked(id)?;
    new_password(&input.password, "password")?;
    let hash = hash_off_thread(&input.password).await?;
    let (a, target) = (owner.clone(), id.clone());
    state
        .store
        .write(move |c| {
            q::reset_password(
                c,
                &a.scope,
                &target,
                &hash,
                AuditActor::Admin(&a.id),
                now_ms(),
            )
        })
        .await?;
    Ok(())
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
