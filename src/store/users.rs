//! Users: created at first WeChat login, global across clubs (one openid);
//! `tenant_users` records which clubs each has used.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreResult;
use crate::error::Code;
use crate::error::Rejection;
use crate::ids::new_id;
use crate::model::Timestamp;
use crate::model::catalog::ActiveStatus;
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;
use crate::model::users::User;

const USER_COLS: &str = "id, openid, unionid, nickname, avatar, phone, real_name, gender, city,
    province, country, status, created_at, updated_at";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let status: String = r.get(11)?;
    Ok(User {
        id: r.get(0)?,
        openid: r.get(1)?,
        unionid: r.get(2)?,
        nickname: r.get(3)?,
        avatar: r.get(4)?,
        phone: r.get(5)?,
        real_name: r.get(6)?,
        gender: r.get(7)?,
        city: r.get(8)?,
        province: r.get(9)?,
        country: r.get(10)?,
        status: ActiveStatus::parse(&status).unwrap_or(ActiveStatus::Disabled),
        created_at: Timestamp(r.get(12)?),
        updated_at: Timestamp(r.get(13)?),
    })
}

pub(crate) fn get(conn: &Connection, id: &str) -> StoreResult<Option<User>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"))?
        .query_row([id], user_from_row)
        .optional()?)
}

/// Whether the user exists and is active: what every authenticated request checks.
pub(crate) fn is_active(conn: &Connection, id: &str) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1 AND status = 'active'")?
        .exists([id])?)
}

/// Every disabled user's id (a partial index keeps this a short read).
pub(crate) fn disabled_ids(conn: &Connection) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM users WHERE status = 'disabled'")?;
    let ids = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// A login: finds or creates the user by openid, stores the session key,
/// records the club. A disabled user is refused and nothing is written.
pub fn login(
    conn: &Connection,
    scope: &TenantScope,
    openid: &str,
    unionid: Option<&str>,
    session_key: Option<&str>,
) -> StoreResult<User> {
    let tenant_id = scope.id();
    let now = now_ms();
    conn.prepare_cached(
        "INSERT INTO users (id, openid, unionid, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'active', ?4, ?4)
         ON CONFLICT(openid) DO UPDATE SET
             unionid = COALESCE(excluded.unionid, users.unionid)",
    )?
    .execute(params![new_id(), openid, unionid, now])?;
    let user = conn
        .prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE openid = ?1"))?
        .query_row([openid], user_from_row)?;
    if user.status != ActiveStatus::Active {
        // The caller's savepoint rolls back the unionid touch as well.
        return Err(Rejection::from(Code::UserDisabled).into());
    }
    if let Some(key) = session_key {
        conn.prepare_cached(
            "INSERT INTO wechat_sessions (user_id, session_key, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(user_id) DO UPDATE SET session_key = excluded.session_key,
                 updated_at = excluded.updated_at",
        )?
        .execute(params![user.id, key, now])?;
    }
    conn.prepare_cached(
        "INSERT INTO tenant_users (tenant_id, user_id, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT(tenant_id, user_id) DO UPDATE SET last_seen = excluded.last_seen",
    )?
    .execute(params![tenant_id, user.id, now])?;
    Ok(user)
}

/// Fields a user may change about themselves; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProfileUpdate {
    pub nickname: Option<String>,
    pub avatar: Option<String>,
    pub phone: Option<String>,
    pub real_name: Option<String>,
    pub gender: Option<i64>,
}

pub(crate) fn update_profile(conn: &Connection, id: &str, u: &ProfileUpdate) -> StoreResult<User> {
    let n = conn
        .prepare_cached(
            "UPDATE users SET nickname = COALESCE(?2, nickname), avatar = COALESCE(?3, avatar),
                 phone = COALESCE(?4, phone), real_name = COALESCE(?5, real_name),
                 gender = COALESCE(?6, gender), updated_at = ?7
             WHERE id = ?1 AND status = 'active'",
        )?
        .execute(params![
            id,
            u.nickname,
            u.avatar,
            u.phone,
            u.real_name,
            u.gender,
            now_ms()
        ])?;
    if n == 0 {
        return Err(Rejection::new(Code::UserNotFound, "用户不存在").into());
    }
    get(conn, id)?.ok_or_else(|| Rejection::new(Code::UserNotFound, "用户不存在").into())
}

pub fn set_status(conn: &Connection, id: &str, status: ActiveStatus) -> StoreResult<()> {
    let n = conn.execute(
        "UPDATE users SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status.as_str(), now_ms()],
    )?;
    if n == 0 {
        return Err(Rejection::new(Code::UserNotFound, "用户不存在").into());
    }
    Ok(())
}
