//! Club staff accounts. Passwords are argon2id PHC strings, hashed by the
//! caller (outside the writer, since hashing is deliberately slow).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreResult;
use crate::error::Code;
use crate::error::Rejection;
use crate::ids::new_id;
use crate::model::Timestamp;
use crate::model::accounts::{Admin, AdminRole};
use crate::model::catalog::ActiveStatus;
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;

const ADMIN_COLS: &str = "id, tenant_id, username, role, status, last_login_at, created_at";

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
    })
}

pub fn create(
    conn: &Connection,
    scope: &TenantScope,
    username: &str,
    role: AdminRole,
    password_hash: &str,
) -> StoreResult<Admin> {
    let tenant_id = scope.id();
    if !super::tenants::exists(conn, tenant_id)? {
        return Err(Rejection::new(Code::TenantNotFound, "俱乐部不存在").into());
    }
    let now = now_ms();
    let id = new_id();
    let n = conn.execute(
        "INSERT INTO admins (id, tenant_id, username, password_hash, role, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?6)
         ON CONFLICT(tenant_id, username) DO NOTHING",
        params![id, tenant_id, username, password_hash, role.as_str(), now],
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

/// The admin and its password hash, for a login attempt.
pub(crate) fn find_for_login(
    conn: &Connection,
    scope: &TenantScope,
    username: &str,
) -> StoreResult<Option<(Admin, String)>> {
    let tenant_id = scope.id();
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ADMIN_COLS}, password_hash FROM admins WHERE tenant_id = ?1 AND username = ?2"
        ))?
        .query_row([tenant_id, username], |r| {
            Ok((admin_from_row(r)?, r.get(7)?))
        })
        .optional()?)
}

pub(crate) fn touch_login(conn: &Connection, scope: &TenantScope, id: &str) -> StoreResult<()> {
    let tenant_id = scope.id();
    conn.prepare_cached("UPDATE admins SET last_login_at = ?3 WHERE tenant_id = ?1 AND id = ?2")?
        .execute(params![tenant_id, id, now_ms()])?;
    Ok(())
}

pub(crate) fn set_password(
    conn: &Connection,
    scope: &TenantScope,
    username: &str,
    password_hash: &str,
) -> StoreResult<()> {
    let tenant_id = scope.id();
    let n = conn.execute(
        "UPDATE admins SET password_hash = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND username = ?2",
        params![tenant_id, username, password_hash, now_ms()],
    )?;
    if n == 0 {
        return Err(Rejection::new(Code::AdminNotFound, "管理员不存在").into());
    }
    Ok(())
}

pub fn set_status(
    conn: &Connection,
    scope: &TenantScope,
    username: &str,
    status: ActiveStatus,
) -> StoreResult<()> {
    let tenant_id = scope.id();
    let n = conn.execute(
        "UPDATE admins SET status = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND username = ?2",
        params![tenant_id, username, status.as_str(), now_ms()],
    )?;
    if n == 0 {
        return Err(Rejection::new(Code::AdminNotFound, "管理员不存在").into());
    }
    Ok(())
}

/// Active and still in an active club: what every admin request checks.
pub(crate) fn is_active(conn: &Connection, scope: &TenantScope, id: &str) -> StoreResult<bool> {
    let tenant_id = scope.id();
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM admins a JOIN tenants t ON t.id = a.tenant_id AND t.status = 'active'
             WHERE a.tenant_id = ?1 AND a.id = ?2 AND a.status = 'active'",
        )?
        .exists([tenant_id, id])?)
}
