//! A club's banners and merch as the admin edits them. Every write is
//! audited in its transaction.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

use super::audit::{AuditActor, Target, audit};
use super::changes::{self, Changes};
use super::{StoreResult, reject};
use crate::error::Code;
use crate::ids::new_id;
use crate::model::catalog::ActiveStatus;
use crate::model::content::{
    AdminBanner, AdminMerch, BannerDraft, Item, Kind, MAX_ITEMS, MerchDraft, ReorderInput,
};
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;
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

/// How one kind of item is kept: its columns, its row, and its upsert.
pub trait Stored: Item + Sized {
    const COLUMNS: &'static str;
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self>;
    /// What must hold of the draft in the database (a banner's show is
    /// the club's).
    fn check_refs(_conn: &Connection, _scope: &TenantScope, _d: &Self::Draft) -> StoreResult<()> {
        Ok(())
    }
    /// Inserts the draft as `id`, or replaces the row that has it.
    fn upsert(
        conn: &Connection,
        scope: &TenantScope,
        id: &str,
        d: &Self::Draft,
        now: i64,
    ) -> StoreResult<()>;
}

/// All of the club's items of one kind, in display order.
pub(crate) fn list<T: Stored>(conn: &Connection, scope: &TenantScope) -> StoreResult<Vec<T>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE tenant_id = ?1 ORDER BY sort_order, id",
        T::COLUMNS,
        table(T::KIND)
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([scope.id()], T::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn get<T: Stored>(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
) -> StoreResult<Option<T>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1 AND tenant_id = ?2",
        T::COLUMNS,
        table(T::KIND)
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![id, scope.id()], T::from_row)
        .optional()?)
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

/// Creates (`id` None) or replaces one of the club's items, audited.
pub(crate) fn save<T: Stored>(
    conn: &Connection,
    scope: &TenantScope,
    id: Option<&str>,
    d: &T::Draft,
    admin_id: &str,
    now: i64,
) -> StoreResult<T> {
    changes::note(conn, Changes::CATALOG);
    T::check_refs(conn, scope, d)?;
    let (id, created) = target_id(conn, scope, T::KIND, id)?;
    T::upsert(conn, scope, &id, d, now)?;
    let saved = get::<T>(conn, scope, &id)?.ok_or_else(|| not_found(T::KIND))?;
    audit_save(
        conn,
        target(scope, T::KIND, &id),
        created,
        &json!(saved),
        admin_id,
        now,
    )?;
    Ok(saved)
}

impl Stored for AdminBanner {
    const COLUMNS: &'static str = BANNER_COLUMNS;

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        banner_row(r)
    }

    fn check_refs(conn: &Connection, scope: &TenantScope, d: &BannerDraft) -> StoreResult<()> {
        if let Some(event) = &d.event_id {
            let ours = conn
                .prepare_cached("SELECT 1 FROM events WHERE id = ?1 AND tenant_id = ?2")?
                .exists(params![event, scope.id()])?;
            if !ours {
                return Err(reject(Code::ValidationFailed, "eventId：演出不存在"));
            }
        }
        Ok(())
    }

    fn upsert(
        conn: &Connection,
        scope: &TenantScope,
        id: &str,
        d: &BannerDraft,
        now: i64,
    ) -> StoreResult<()> {
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
        Ok(())
    }
}

impl Stored for AdminMerch {
    const COLUMNS: &'static str = MERCH_COLUMNS;

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        merch_row(r)
    }

    fn upsert(
        conn: &Connection,
        scope: &TenantScope,
        id: &str,
        d: &MerchDraft,
        now: i64,
    ) -> StoreResult<()> {
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
        Ok(())
    }
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

/// Inserts an item as it is, unaudited and outside the club's limit: what
/// the demo and the tests seed with. The console saves through [`save`].
pub fn insert<T: Stored>(
    conn: &Connection,
    scope: &TenantScope,
    d: &T::Draft,
) -> StoreResult<String> {
    changes::note(conn, Changes::CATALOG);
    let id = new_id();
    T::upsert(conn, scope, &id, d, now_ms())?;
    Ok(id)
}
