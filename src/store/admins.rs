//! Club staff accounts. Passwords are argon2id PHC strings, hashed by the
//! caller (outside the writer, since hashing is deliberately slow).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreResult;
use super::audit::{AuditActor, Target, audit};
use super::changes::{self, Changes};
use crate::error::Code;
use crate::error::Rejection;
use crate::ids::new_id;
use crate::model::Timestamp;
use crate::model::admins::{Admin, AdminRole, Standing};
use crate::model::admins::{AdminChange, LOCK_AFTER_FAILURES, after_failure, keeps_an_owner};
use crate::model::catalog::ActiveStatus;
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;

const ADMIN_COLS: &str =
    "id, tenant_id, username, role, status, last_login_at, created_at, display_name, locked_until";

fn admin_from_row(r: &Row<'_>) -> rusqlite::Result<Admin> {
    let role: String = r.get(3)?;
    let status: String = r.get(4)?;
    Ok(Admin {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        username: r.get(2)?,
        role: AdminRole::parse(&role).unwrap_or(AdminRole::Staff),
        status: ActiveStatus::parse(&status).unwrap_or(ActiveStatus::Disabled),
        last_login_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
        created_at: Timestamp(r.get(6)?),
        display_name: r.get(7)?,
        locked_until: r
            .get::<_, Option<i64>>(8)?
            .filter(|&t| t > now_ms())
            .map(Timestamp),
    })
}

pub fn create(
    conn: &Connection,
    scope: &TenantScope,
    username: &str,
    display_name: Option<&str>,
    role: AdminRole,
    password_hash: &str,
) -> StoreResult<Admin> {
    changes::note(conn, Changes::TEAM);
    let tenant_id = scope.id();
    if !super::tenants::exists(conn, tenant_id)? {
        return Err(Rejection::new(Code::TenantNotFound, "俱乐部不存在").into());
    }
    let now = now_ms();
    let id = new_id();
    let n = conn.execute(
        "INSERT INTO admins (id, tenant_id, username, display_name, password_hash, role, status,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?7)
         ON CONFLICT(tenant_id, username) DO NOTHING",
        params![
            id,
            tenant_id,
            username,
            display_name,
            password_hash,
            role.as_str(),
            now
        ],
    )?;
    if n == 0 {
        return Err(Rejection::new(Code::AdminExists, format!("管理员 {username} 已存在")).into());
    }
    get(conn, scope, &id)?.ok_or_else(|| Rejection::new(Code::AdminNotFound, "管理员不存在").into())
}

pub(crate) fn get(conn: &Connection, scope: &TenantScope, id: &str) -> StoreResult<Option<Admin>> {
    let tenant_id = scope.id();
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ADMIN_COLS} FROM admins WHERE tenant_id = ?1 AND id = ?2"
        ))?
        .query_row([tenant_id, id], admin_from_row)
        .optional()?)
}

/// What a login attempt needs to know of a username, from one address.
pub(crate) struct LoginCandidate {
    pub admin: Admin,
    pub password_hash: String,
    pub epoch: i64,
    /// This address is locked out of this username until then.
    pub locked_until: Option<i64>,
    /// The admin signed in from this address before.
    pub known_address: bool,
}

/// How long an address an admin signed in from stays "known".
const KNOWN_ADDRESS_MS: i64 = 90 * 24 * 3600 * 1000;

/// The admin, its password hash and session epoch, and how this address
/// stands with it, for a login attempt.
pub(crate) fn find_for_login(
    conn: &Connection,
    scope: &TenantScope,
    username: &str,
    client_ip: &str,
    now: i64,
) -> StoreResult<Option<LoginCandidate>> {
    let tenant_id = scope.id();
    let found = conn
        .prepare_cached(&format!(
            "SELECT {ADMIN_COLS}, password_hash, session_epoch FROM admins
             WHERE tenant_id = ?1 AND username = ?2"
        ))?
        .query_row([tenant_id, username], |r| {
            Ok((admin_from_row(r)?, r.get(9)?, r.get(10)?))
        })
        .optional()?;
    let Some((admin, password_hash, epoch)) = found else {
        return Ok(None);
    };
    let locked_until: Option<i64> = conn
        .prepare_cached(
            "SELECT locked_until FROM login_failures
             WHERE tenant_id = ?1 AND username = ?2 AND client_ip = ?3 AND locked_until > ?4",
        )?
        .query_row(params![tenant_id, admin.username, client_ip, now], |r| {
            r.get(0)
        })
        .optional()?;
    let known_address = conn
        .prepare_cached(
            "SELECT 1 FROM admin_addresses
             WHERE admin_id = ?1 AND client_ip = ?2 AND last_login_at > ?3",
        )?
        .exists(params![admin.id, client_ip, now - KNOWN_ADDRESS_MS])?;
    Ok(Some(LoginCandidate {
        admin,
        password_hash,
        epoch,
        locked_until,
        known_address,
    }))
}

/// A good login: this address's failures start over, and it is known.
pub(crate) fn touch_login(
    conn: &Connection,
    scope: &TenantScope,
    admin: &Admin,
    client_ip: &str,
    now: i64,
) -> StoreResult<()> {
    let tenant_id = scope.id();
    conn.prepare_cached("UPDATE admins SET last_login_at = ?3 WHERE tenant_id = ?1 AND id = ?2")?
        .execute(params![tenant_id, admin.id, now])?;
    conn.prepare_cached(
        "DELETE FROM login_failures WHERE tenant_id = ?1 AND username = ?2 AND client_ip = ?3",
    )?
    .execute(params![tenant_id, admin.username, client_ip])?;
    conn.prepare_cached(
        "INSERT INTO admin_addresses (admin_id, client_ip, last_login_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (admin_id, client_ip) DO UPDATE SET last_login_at = excluded.last_login_at",
    )?
    .execute(params![admin.id, client_ip, now])?;
    Ok(())
}

/// A wrong password from one address: counted, and at the fifth in a row
/// that address is locked out of the username (audited, and shown on the
/// admin). Returns the lock's end if this one locked it.
pub(crate) fn login_failed(
    conn: &Connection,
    scope: &TenantScope,
    admin: &Admin,
    client_ip: &str,
    now: i64,
) -> StoreResult<Option<i64>> {
    let tenant_id = scope.id();
    let before: i64 = conn
        .prepare_cached(
            "SELECT failures FROM login_failures
             WHERE tenant_id = ?1 AND username = ?2 AND client_ip = ?3",
        )?
        .query_row(params![tenant_id, admin.username, client_ip], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let (failures, lock) = after_failure(before, now);
    conn.prepare_cached(
        "INSERT INTO login_failures (tenant_id, username, client_ip, failures, locked_until,
             last_failed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (tenant_id, username, client_ip) DO UPDATE SET
             failures = excluded.failures,
             locked_until = COALESCE(excluded.locked_until, locked_until),
             last_failed_at = excluded.last_failed_at",
    )?
    .execute(params![
        tenant_id,
        admin.username,
        client_ip,
        failures,
        lock,
        now
    ])?;
    if let Some(until) = lock {
        conn.prepare_cached(
            "UPDATE admins SET locked_until = MAX(COALESCE(locked_until, 0), ?3)
             WHERE tenant_id = ?1 AND id = ?2",
        )?
        .execute(params![tenant_id, admin.id, until])?;
        audit(
            conn,
            AuditActor::System,
            "admin_locked",
            Target {
                tenant_id,
                kind: "admin",
                id: &admin.id,
            },
            &serde_json::json!({ "failures": LOCK_AFTER_FAILURES, "lockedUntil": Timestamp(until),
                                 "address": client_ip }),
            now,
        )?;
    }
    Ok(lock)
}

/// Lifts every address's lock on one of the club's admins.
fn unlock(conn: &Connection, scope: &TenantScope, id: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "DELETE FROM login_failures WHERE tenant_id = ?1
             AND username = (SELECT username FROM admins WHERE tenant_id = ?1 AND id = ?2)",
    )?
    .execute(params![scope.id(), id])?;
    Ok(())
}

/// Forgets failures long past and addresses not used for 90 days.
pub(crate) fn prune_logins(conn: &Connection, now: i64) -> StoreResult<usize> {
    let failures = conn
        .prepare_cached(
            "DELETE FROM login_failures WHERE last_failed_at < ?1
                 AND (locked_until IS NULL OR locked_until < ?2)",
        )?
        .execute(params![now - 24 * 3600 * 1000, now])?;
    let addresses = conn
        .prepare_cached("DELETE FROM admin_addresses WHERE last_login_at < ?1")?
        .execute([now - KNOWN_ADDRESS_MS])?;
    Ok(failures + addresses)
}

/// "Sign out everywhere": every token the admin holds is refused from the
/// next standing check on. Audited.
pub(crate) fn end_sessions(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
    actor_id: &str,
    now: i64,
) -> StoreResult<()> {
    changes::note(conn, Changes::TEAM);
    let n = conn
        .prepare_cached(
            "UPDATE admins SET session_epoch = session_epoch + 1, updated_at = ?3
             WHERE tenant_id = ?1 AND id = ?2",
        )?
        .execute(params![scope.id(), id, now])?;
    if n == 0 {
        return Err(not_found());
    }
    audit(
        conn,
        AuditActor::Admin(actor_id),
        "admin_signed_out",
        Target {
            tenant_id: scope.id(),
            kind: "admin",
            id,
        },
        &serde_json::json!({}),
        now,
    )
}

/// The club's admins, oldest first.
pub(crate) fn list(conn: &Connection, scope: &TenantScope) -> StoreResult<Vec<Admin>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ADMIN_COLS} FROM admins WHERE tenant_id = ?1 ORDER BY created_at, id"
        ))?
        .query_map([scope.id()], admin_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

fn not_found() -> super::StoreError {
    Rejection::new(Code::AdminNotFound, "管理员不存在").into()
}

/// Changes an admin's name, role or status; never leaves the club without
/// an active owner. Audited with before and after.
pub(crate) fn update(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
    change: &AdminChange,
    actor: AuditActor<'_>,
    now: i64,
) -> StoreResult<Admin> {
    changes::note(conn, Changes::TEAM);
    let before = get(conn, scope, id)?.ok_or_else(not_found)?;
    let role = change.role.unwrap_or(before.role);
    let status = change.status.unwrap_or(before.status);
    let display_name = match &change.display_name {
        Some(d) => d.clone(),
        None => before.display_name.clone(),
    };
    let was_active_owner = before.role == AdminRole::Owner && before.status == ActiveStatus::Active;
    let stays_active_owner = role == AdminRole::Owner && status == ActiveStatus::Active;
    if was_active_owner && !stays_active_owner {
        let owners: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM admins WHERE tenant_id = ?1 AND role = 'owner'
                 AND status = 'active'",
            )?
            .query_row([scope.id()], |r| r.get(0))?;
        keeps_an_owner(owners - 1)?;
    }
    conn.prepare_cached(
        "UPDATE admins SET display_name = ?3, role = ?4, status = ?5, updated_at = ?6,
             session_epoch = session_epoch + (role != ?4 OR status != ?5)
         WHERE tenant_id = ?1 AND id = ?2",
    )?
    .execute(params![
        scope.id(),
        id,
        display_name,
        role.as_str(),
        status.as_str(),
        now
    ])?;
    let after = get(conn, scope, id)?.ok_or_else(not_found)?;
    audit(
        conn,
        actor,
        "admin_updated",
        Target {
            tenant_id: scope.id(),
            kind: "admin",
            id,
        },
        &serde_json::json!({
            "before": {"displayName": before.display_name, "role": before.role, "status": before.status},
            "after": {"displayName": after.display_name, "role": after.role, "status": after.status},
        }),
        now,
    )?;
    Ok(after)
}

/// The stored password hash of one of the club's admins.
pub(crate) fn password_hash(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT password_hash FROM admins WHERE tenant_id = ?1 AND id = ?2")?
        .query_row([scope.id(), id], |r| r.get(0))
        .optional()?)
}

/// Sets an admin's password (and lifts a lock), audited without the secret.
pub(crate) fn reset_password(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
    password_hash: &str,
    actor: AuditActor<'_>,
    now: i64,
) -> StoreResult<()> {
    changes::note(conn, Changes::TEAM);
    let n = conn
        .prepare_cached(
            "UPDATE admins SET password_hash = ?3, failed_logins = 0, locked_until = NULL,
                 updated_at = ?4, session_epoch = session_epoch + 1
             WHERE tenant_id = ?1 AND id = ?2",
        )?
        .execute(params![scope.id(), id, password_hash, now])?;
    if n == 0 {
        return Err(not_found());
    }
    unlock(conn, scope, id)?;
    let action = match actor {
        AuditActor::Admin(a) if a == id => "admin_password_changed",
        _ => "admin_password_reset",
    };
    audit(
        conn,
        actor,
        action,
        Target {
            tenant_id: scope.id(),
            kind: "admin",
            id,
        },
        &serde_json::json!({}),
        now,
    )
}

/// The id of the club's admin with this username (the command line names
/// admins by username).
pub(crate) fn id_by_username(
    conn: &Connection,
    scope: &TenantScope,
    username: &str,
) -> StoreResult<String> {
    conn.prepare_cached("SELECT id FROM admins WHERE tenant_id = ?1 AND username = ?2")?
        .query_row([scope.id(), username], |r| r.get(0))
        .optional()?
        .ok_or_else(not_found)
}

/// The role and session epoch of an admin that is active and still in an
/// active club (what every admin request checks); `None` otherwise.
pub(crate) fn standing(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
) -> StoreResult<Option<Standing>> {
    let tenant_id = scope.id();
    let row: Option<(String, i64)> = conn
        .prepare_cached(
            "SELECT a.role, a.session_epoch FROM admins a
             JOIN tenants t ON t.id = a.tenant_id AND t.status = 'active'
             WHERE a.tenant_id = ?1 AND a.id = ?2 AND a.status = 'active'",
        )?
        .query_row([tenant_id, id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.and_then(|(role, epoch)| AdminRole::parse(&role).map(|role| Standing { role, epoch })))
}
