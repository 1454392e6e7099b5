//! Tenants (clubs).

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreResult;
use super::audit::{AuditActor, Target, audit};
use super::changes::{self, Changes};
use crate::error::Code;
use crate::error::Rejection;
use crate::model::Timestamp;
use crate::model::catalog::{ActiveStatus, Contact, Features, TenantConfig, Theme};
use crate::model::scope::TenantScope;
use crate::model::tenants::{AdminTenant, TenantSettings};
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
    changes::note(conn, Changes::CATALOG);
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
    changes::note(conn, Changes::CATALOG);
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

type ConfigRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn config_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConfigRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

/// Config JSON is written by us, but a hand-edited row must not break the
/// mini-program: anything unreadable falls back to defaults.
fn config((id, name, logo, theme, features, contact): ConfigRow) -> TenantConfig {
    TenantConfig {
        id,
        name,
        logo,
        theme: parse_json(theme).unwrap_or_default(),
        contact: parse_json(contact),
        features: parse_json(features).unwrap_or_default(),
    }
}

/// The public configuration of an active tenant; disabled tenants are invisible.
pub(crate) fn find_active(conn: &Connection, id: &str) -> StoreResult<Option<TenantConfig>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, name, logo, theme_config, features_config, contact_info
             FROM tenants WHERE id = ?1 AND status = 'active'",
        )?
        .query_row([id], config_row)
        .optional()?
        .map(config))
}

/// The club's settings for its owner; `default_cutoff_ms` is the server's
/// refund cut-off, in force where the club set none.
pub(crate) fn admin_settings(
    conn: &Connection,
    scope: &TenantScope,
    default_cutoff_ms: i64,
    timezone: &str,
) -> StoreResult<Option<AdminTenant>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, name, logo, theme_config, features_config, contact_info,
                    refund_cutoff_ms, updated_at
             FROM tenants WHERE id = ?1",
        )?
        .query_row([scope.id()], |r| {
            let own: Option<i64> = r.get(6)?;
            Ok(AdminTenant {
                config: config(config_row(r)?),
                refund_cutoff_minutes: own.unwrap_or(default_cutoff_ms) / 60_000,
                refund_cutoff_is_default: own.is_none(),
                timezone: timezone.to_string(),
                updated_at: Timestamp(r.get(7)?),
            })
        })
        .optional()?)
}

/// Saves the whole settings, audited with what they were before.
pub(crate) fn save_settings(
    conn: &Connection,
    scope: &TenantScope,
    s: &TenantSettings,
    admin_id: &str,
    now: i64,
) -> StoreResult<()> {
    changes::note(conn, Changes::CATALOG);
    let before = admin_settings(conn, scope, 0, "")?;
    conn.prepare_cached(
        "UPDATE tenants SET name = ?2, logo = ?3, theme_config = ?4, features_config = ?5,
             contact_info = ?6, refund_cutoff_ms = ?7, updated_at = ?8
         WHERE id = ?1",
    )?
    .execute(params![
        scope.id(),
        s.name,
        s.logo,
        to_json(&Some(&s.theme)),
        to_json(&Some(&s.features)),
        to_json(&s.contact),
        s.refund_cutoff_ms,
        now
    ])?;
    audit(
        conn,
        AuditActor::Admin(admin_id),
        "tenant_updated",
        Target {
            tenant_id: scope.id(),
            kind: "tenant",
            id: scope.id(),
        },
        &serde_json::json!({
            "before": before.map(|b| b.config),
            "after": {"name": s.name, "logo": s.logo, "theme": s.theme, "contact": s.contact,
                      "features": s.features, "refundCutoffMs": s.refund_cutoff_ms},
        }),
        now,
    )
}

/// The club's own refund cut-off, if it set one.
pub(crate) fn refund_cutoff_ms(conn: &Connection, tenant_id: &str) -> StoreResult<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT refund_cutoff_ms FROM tenants WHERE id = ?1")?
        .query_row([tenant_id], |r| r.get(0))
        .optional()?
        .flatten())
}
