//! A club's banners and merch as the admin edits them. Every write is
//! audited in its transaction.

use crate::store::changes::{self, Changes};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

use super::audit::{AuditActor, Target, audit};
use super::{StoreResult, reject};
use crate::error::Code;
use crate::ids::new_id;
use crate::model::catalog::ActiveStatus;
use crate::model::content::{
    AdminBanner, AdminMerch, BannerDraft, Kind, MAX_ITEMS, MerchDraft, ReorderInput,
};
use crate::model::scope::TenantScope;
use crate::model::{Fen, Timestamp};

fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::Banner => "banners",
        Kind::Merch => "merch_items",
    }
}

fn status(r: &Row<'_>, i: usize) -> rusqlite::Result<ActiveStatus> {
    Ok(ActiveStatus::parse(&r.get::<_, String>(i)?).unwrap_or(ActiveStatus::Disabled))
}

const BANNER_COLUMNS: &str = "id, title, image, link, event_id, sort_order, starts_at, ends_at,
     status, created_at, updated_at";

fn banner_row(r: &Row<'_>) -> rusqlite::Result<AdminBanner> {
    Ok(AdminBanner {
        id: r.get(0)?,
        title: r.get(1)?,
        image: r.get(2)?,
        link: r.get(3)?,
        event_id: r.get(4)?,
        sort_order: r.get(5)?,
        starts_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
        ends_at: r.get::<_, Option<i64>>(7)?.map(Timestamp),
        status: status(r, 8)?,
        created_at: Timestamp(r.get(9)?),
        updated_at: Timestamp(r.get(10)?),
    })
}

const MERCH_COLUMNS: &str = "id, name, description, image, price, original_price, link,
     sort_order, status, created_at, updated_at";

fn merch_row(r: &Row<'_>) -> rusqlite::Result<AdminMerch> {
    Ok(AdminMerch {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        image: r.get(3)?,
        price: Fen(r.get(4)?),
        original_price: r.get::<_, Option<i64>>(5)?.map(Fen),
        link: r.get(6)?,
        sort_order: r.get(7)?,
        status: status(r, 8)?,
        created_at: Timestamp(r.get(9)?),
        updated_at: Timestamp(r.get(10)?),
    })
}

/// All of the club's items of one kind, in display order.
fn list<T>(
    conn: &Connection,
    scope: &TenantScope,
    kind: Kind,
    columns: &str,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let sql = format!(
        "SELECT {columns} FROM {} WHERE tenant_id = ?1 ORDER BY sort_order, id",
        table(kind)
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([scope.id()], map)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

fn get<T>(
    conn: &Connection,
    scope: &TenantScope,
    kind: Kind,
    id: &str,
    columns: &str,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Option<T>> {
    let sql = format!(
        "SELECT {columns} FROM {} WHERE id = ?1 AND tenant_id = ?2",
        table(kind)
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![id, scope.id()], map)
        .optional()?)
}

pub(crate) fn list_banners(
    conn: &Connection,
    scope: &TenantScope,
) -> StoreResult<Vec<AdminBanner>> {
    list(conn, scope, Kind::Banner, BANNER_COLUMNS, banner_row)
}

pub(crate) fn get_banner(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
) -> StoreResult<Option<AdminBanner>> {
    get(conn, scope, Kind::Banner, id, BANNER_COLUMNS, banner_row)
}

pub(crate) fn list_merch(conn: &Connection, scope: &TenantScope) -> StoreResult<Vec<AdminMerch>> {
    list(conn, scope, Kind::Merch, MERCH_COLUMNS, merch_row)
}

pub(crate) fn get_merch(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
) -> StoreResult<Option<AdminMerch>> {
    get(conn, scope, Kind::Merch, id, MERCH_COLUMNS, merch_row)
}

fn not_found(kind: Kind) -> super::StoreError {
    super::StoreError::Rejected(kind.not_found())
}

/// The id for a save: a new one (within the club's limit), or `id` if it
/// is the club's.
fn target_id(
    conn: &Connection,
    scope: &TenantScope,
    kind: Kind,
    id: Option<&str>,
) -> StoreResult<(String, bool)> {
    match id {
        Some(id) => {
            let sql = format!(
                "SELECT 1 FROM {} WHERE id = ?1 AND tenant_id = ?2",
                table(kind)
            );
            if conn.prepare_cached(&sql)?.exists(params![id, scope.id()])? {
                Ok((id.to_string(), false))
            } else {
                Err(not_found(kind))
            }
        }
        None => {
            let sql = format!("SELECT COUNT(*) FROM {} WHERE tenant_id = ?1", table(kind));
            let n: i64 = conn
                .prepare_cached(&sql)?
                .query_row([scope.id()], |r| r.get(0))?;
            if n >= MAX_ITEMS as i64 {
                return Err(reject(
                    Code::ValidationFailed,
                    format!("最多 {MAX_ITEMS} 个{}，请先删除不用的", kind.label()),
                ));
            }
            Ok((new_id(), true))
        }
    }
}

fn target<'a>(scope: &'a TenantScope, kind: Kind, id: &'a str) -> Target<'a> {
    Target {
        tenant_id: scope.id(),
        kind: kind.noun(),
        id,
    }
}

fn audit_save(
    conn: &Connection,
    target: Target<'_>,
    created: bool,
    detail: &serde_json::Value,
    admin_id: &str,
    now: i64,
) -> StoreResult<()> {
    let action = format!(
        "{}_{}",
        target.kind,
        if created { "created" } else { "updated" }
    );
    audit(
        conn,
        AuditActor::Admin(admin_id),
        &action,
        target,
        detail,
        now,
    )
}

/// Creates (`id` None) or replaces a banner; its show must be the club's.
pub(crate) fn save_banner(
    conn: &Connection,
    scope: &TenantScope,
    id: Option<&str>,
    d: &BannerDraft,
    admin_id: &str,
    now: i64,
) -> StoreResult<AdminBanner> {
    changes::note(conn, Changes::CATALOG);
    if let Some(event) = &d.event_id {
        let ours = conn
            .prepare_cached("SELECT 1 FROM events WHERE id = ?1 AND tenant_id = ?2")?
            .exists(params![event, scope.id()])?;
        if !ours {
            return Err(reject(Code::ValidationFailed, "eventId：演出不存在"));
        }
    }
    let (id, created) = target_id(conn, scope, Kind::Banner, id)?;
    conn.prepare_cached(
        "INSERT INTO banners (id, tenant_id, title, image, link, event_id, sort_order, starts_at,
             ends_at, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, image = excluded.image,
             link = excluded.link, event_id = excluded.event_id,
             sort_order = excluded.sort_order, starts_at = excluded.starts_at,
             ends_at = excluded.ends_at, status = excluded.status,
             updated_at = excluded.updated_at",
    )?
    .execute(params![
        id,
        scope.id(),
        d.title,
        d.image,
        d.link,
        d.event_id,
        d.sort_order,
        d.starts_at,
        d.ends_at,
        d.status.as_str(),
        now
    ])?;
    let saved = get_banner(conn, scope, &id)?.ok_or_else(|| not_found(Kind::Banner))?;
    audit_save(
        conn,
        target(scope, Kind::Banner, &id),
        created,
        &json!(saved),
        admin_id,
        now,
    )?;
    Ok(saved)
}

/// Creates (`id` None) or replaces a merch item.
pub(crate) fn save_merch(
    conn: &Connection,
    scope: &TenantScope,
    id: Option<&str>,
    d: &MerchDraft,
    admin_id: &str,
    now: i64,
) -> StoreResult<AdminMerch> {
    changes::note(conn, Changes::CATALOG);
    let (id, created) = target_id(conn, scope, Kind::Merch, id)?;
    conn.prepare_cached(
        "INSERT INTO merch_items (id, tenant_id, name, description, image, price, original_price,
             link, sort_order, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name,
             description = excluded.description, image = excluded.image,
             price = excluded.price, original_price = excluded.original_price,
             link = excluded.link, sort_order = excluded.sort_order,
             status = excluded.status, updated_at = excluded.updated_at",
    )?
    .execute(params![
        id,
        scope.id(),
        d.name,
        d.description,
        d.image,
        d.price.0,
        d.original_price.map(|f| f.0),
        d.link,
        d.sort_order,
        d.status.as_str(),
        now
    ])?;
    let saved = get_merch(conn, scope, &id)?.ok_or_else(|| not_found(Kind::Merch))?;
    audit_save(
        conn,
        target(scope, Kind::Merch, &id),
        created,
        &json!(saved),
        admin_id,
        now,
    )?;
    Ok(saved)
}

/// Deletes one of the club's items.
pub(crate) fn delete(
    conn: &Connection,
    scope: &TenantScope,
    kind: Kind,
    id: &str,
    admin_id: &str,
    now: i64,
) -> StoreResult<()> {
    changes::note(conn, Changes::CATALOG);
    let sql = format!(
        "DELETE FROM {} WHERE id = ?1 AND tenant_id = ?2",
        table(kind)
    );
    if conn
        .prepare_cached(&sql)?
        .execute(params![id, scope.id()])?
        == 0
    {
        return Err(not_found(kind));
    }
    audit(
        conn,
        AuditActor::Admin(admin_id),
        &format!("{}_deleted", kind.noun()),
        target(scope, kind, id),
        &json!({}),
        now,
    )
}

/// Puts the club's items in the order given (every one, each once):
/// `sortOrder` becomes 10, 20, 30…
pub(crate) fn reorder(
    conn: &Connection,
    scope: &TenantScope,
    kind: Kind,
    input: &ReorderInput,
    admin_id: &str,
    now: i64,
) -> StoreResult<()> {
    changes::note(conn, Changes::CATALOG);
    let sql = format!("SELECT id FROM {} WHERE tenant_id = ?1", table(kind));
    let current = conn
        .prepare_cached(&sql)?
        .query_map([scope.id()], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    let ids = input.validate(&current)?;
    let sql = format!(
        "UPDATE {} SET sort_order = ?2, updated_at = ?3 WHERE id = ?1",
        table(kind)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    for (i, id) in ids.iter().enumerate() {
        stmt.execute(params![id, (i as i64 + 1) * 10, now])?;
    }
    audit(
        conn,
        AuditActor::Admin(admin_id),
        &format!("{}_reordered", kind.noun()),
        target(scope, kind, ""),
        &json!({ "ids": ids }),
        now,
    )
}
