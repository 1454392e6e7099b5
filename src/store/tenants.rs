//! Tenants (clubs).

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreResult;
use crate::error::Code;
use crate::error::Rejection;
use crate::model::catalog::{ActiveStatus, Contact, Features, TenantConfig, Theme};
use crate::model::time::now_ms;

#[derive(Debug, Clone, Default)]
pub struct NewTenant {
    pub id: String,
    pub name: String,
    pub logo: Option<String>,
    pub theme: Option<Theme>,
    pub contact: Option<Contact>,
    pub features: Option<Features>,
}

fn parse_json<T: serde::de::DeserializeOwned>(text: Option<String>) -> Option<T> {
    text.and_then(|s| serde_json::from_str(&s).ok())
}

fn to_json<T: serde::Serialize>(v: &Option<T>) -> Option<String> {
    v.as_ref().and_then(|v| serde_json::to_string(v).ok())
}

/// Creates a tenant; an existing id is a `TENANT_EXISTS` conflict.
pub fn insert(conn: &Connection, t: &NewTenant) -> StoreResult<()> {
    if !crate::model::catalog::valid_tenant_id(&t.id) {
        return Err(Rejection::new(
            Code::ValidationFailed,
            "俱乐部 ID 须为 1-50 位小写字母、数字、- 或 _",
        )
        .into());
    }
    let name = t.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Rejection::new(Code::ValidationFailed, "俱乐部名称须为 1-100 个字符").into());
    }
    let now = now_ms();
    let inserted = conn.execute(
        "INSERT INTO tenants (id, name, logo, theme_config, features_config, contact_info,
                              status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?7)
         ON CONFLICT(id) DO NOTHING",
        params![
            t.id,
            name,
            t.logo,
            to_json(&t.theme),
            to_json(&t.features),
            to_json(&t.contact),
            now
        ],
    )?;
    if inserted == 0 {
        return Err(Rejection::new(Code::TenantExists, format!("俱乐部 {} 已存在", t.id)).into());
    }
    Ok(())
}

pub fn set_status(conn: &Connection, id: &str, status: ActiveStatus) -> StoreResult<()> {
    let n = conn.execute(
        "UPDATE tenants SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status.as_str(), now_ms()],
    )?;
    if n == 0 {
        return Err(Rejection::new(Code::TenantNotFound, "俱乐部不存在").into());
    }
    Ok(())
}

pub(crate) fn count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM tenants", [], |r| r.get(0))?)
}

pub(crate) fn exists(conn: &Connection, id: &str) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM tenants WHERE id = ?1")?
        .exists([id])?)
}

/// The public configuration of an active tenant; disabled tenants are invisible.
pub(crate) fn find_active(conn: &Connection, id: &str) -> StoreResult<Option<TenantConfig>> {
    let row = conn
        .prepare_cached(
            "SELECT id, name, logo, theme_config, features_config, contact_info
             FROM tenants WHERE id = ?1 AND status = 'active'",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })
        .optional()?;
    Ok(row.map(|(id, name, logo, theme, features, contact)| {
        // Config JSON is written by us, but a hand-edited row must not break the
        // mini-program: anything unreadable falls back to defaults.
        TenantConfig {
            id,
            name,
            logo,
            theme: parse_json(theme).unwrap_or_default(),
            contact: parse_json(contact),
            features: parse_json(features).unwrap_or_default(),
        }
    }))
}
