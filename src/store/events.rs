//! Shows as a club manages them: the admin list and detail (with what each
//! option has sold), create, edit (stock, options, publishing, edit
//! conflicts), delete, duplicate and cancel. Every function takes the club's
//! scope; another club's show is "not found". Every write is audited in its
//! own transaction.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::{Value as Json, json};

use super::StoreResult;
use super::audit::{AuditActor, Target, audit};
use super::catalog::{EVENT_COLS, attach_price_options, event_from_row, like_pattern};
use super::changes::{self, Changes};
use super::orders::{Actor, cancel};
use super::refunds::{RefundCause, insert_refund};
use super::reject;
use crate::error::{Code, Rejection};
use crate::ids::new_id;
use crate::model::Fen;
use crate::model::catalog::{ActiveStatus, Event, EventStatus, PageRequest};
use crate::model::events::{
    AdminEventFilter, EventDraft, NewEvent, NewPriceOption, Visibility, derived_status,
};
use crate::model::orders::CancelReason;
use crate::model::sales::{EventAdminInfo, RefundProgress, Sales};
use crate::model::scope::TenantScope;
use crate::model::time::Timestamp;
use crate::model::time::{local_to_utc_ms, now_ms};

fn event_not_found() -> super::StoreError {
    reject(Code::EventNotFound, "演出不存在")
}

fn target<'a>(scope: &'a TenantScope, id: &'a str) -> Target<'a> {
    Target {
        tenant_id: scope.id(),
        kind: "event",
        id,
    }
}

/// What each option of these shows has sold and holds, from their orders.
fn sales_by_option(conn: &Connection, event_ids: &[&str]) -> StoreResult<HashMap<String, Sales>> {
    if event_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT price_option_id,
                COALESCE(SUM(CASE WHEN status = 'paid' OR status = 'used' THEN quantity END), 0),
                COALESCE(SUM(CASE WHEN status = 'pending' THEN quantity END), 0),
                COALESCE(SUM(CASE WHEN status = 'paid' OR status = 'used' THEN total_amount END), 0)
         FROM orders WHERE event_id IN ({}) GROUP BY price_option_id",
        vec!["?"; event_ids.len()].join(",")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(event_ids.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            Sales {
                sold: r.get(1)?,
                held: r.get(2)?,
                revenue: Fen(r.get(3)?),
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The refunds a show's cancellation started, and how far they are.
pub(crate) fn refund_progress(conn: &Connection, event_id: &str) -> StoreResult<RefundProgress> {
    let (total, done, failed): (i64, i64, i64) = conn
        .prepare_cached(
            "SELECT COUNT(*),
                    COALESCE(SUM(r.status = 'success'), 0),
                    COALESCE(SUM(r.status = 'abnormal' OR r.status = 'closed'
                                 OR (r.status = 'processing' AND r.last_error IS NOT NULL)), 0)
             FROM refunds r JOIN orders o ON o.id = r.order_id
             WHERE o.event_id = ?1 AND r.cause = 'event_cancelled'",
        )?
        .query_row([event_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let last_error: Option<String> = conn
        .prepare_cached(
            "SELECT COALESCE(r.last_error, '微信支付退款状态：' || r.status)
             FROM refunds r JOIN orders o ON o.id = r.order_id
             WHERE o.event_id = ?1 AND r.cause = 'event_cancelled'
               AND (r.last_error IS NOT NULL OR r.status = 'abnormal' OR r.status = 'closed')
             ORDER BY r.updated_at DESC LIMIT 1",
        )?
        .query_row([event_id], |r| r.get(0))
        .optional()?;
    Ok(RefundProgress {
        refunds_total: total,
        refunds_done: done,
        refunds_failed: failed,
        last_error,
    })
}

/// Adds version, sales (per option and per show) and cancellation to shows
/// whose options are loaded.
fn attach_admin_info(conn: &Connection, events: &mut [Event]) -> StoreResult<()> {
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let sales = sales_by_option(conn, &ids)?;
    let sql = format!(
        "SELECT id, version, cancel_reason, cancelled_at FROM events WHERE id IN ({})",
        vec!["?"; ids.len()].join(",")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let extra: HashMap<String, (i64, Option<String>, Option<i64>)> = stmt
        .query_map(params_from_iter(ids.iter()), |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for e in events.iter_mut() {
        let mut total = Sales::default();
        for o in e.price_options.iter_mut() {
            let s = sales.get(&o.id).copied().unwrap_or_default();
            total += s;
            o.sales = Some(s);
        }
        let (version, cancel_reason, cancelled_at) = extra.get(&e.id).cloned().unwrap_or_default();
        let refunds = if e.status == EventStatus::Cancelled {
            Some(refund_progress(conn, &e.id)?)
        } else {
            None
        };
        e.admin = Some(EventAdminInfo {
            version,
            sales: total,
            cancel_reason,
            cancelled_at: cancelled_at.map(Timestamp),
            refunds,
        });
    }
    Ok(())
}

/// One of the club's shows, any status, with sales.
pub(crate) fn get_event(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
) -> StoreResult<Option<Event>> {
    let sql = format!("SELECT {EVENT_COLS} FROM events e WHERE e.id = ?1 AND e.tenant_id = ?2");
    let Some(event) = conn
        .prepare_cached(&sql)?
        .query_row([id, scope.id()], event_from_row)
        .optional()?
    else {
        return Ok(None);
    };
    let mut one = [event];
    attach_price_options(conn, &mut one)?;
    attach_admin_info(conn, &mut one)?;
    let [event] = one;
    Ok(Some(event))
}

/// A page of the club's shows (drafts too), latest date first.
pub(crate) fn list_events(
    conn: &Connection,
    scope: &TenantScope,
    filter: &AdminEventFilter,
    page: PageRequest,
) -> StoreResult<(Vec<Event>, i64)> {
    let mut clauses = vec!["e.tenant_id = ?".to_string()];
    let mut args: Vec<Value> = vec![Value::Text(scope.id().to_string())];
    if let Some(st) = filter.status {
        clauses.push("e.status = ?".into());
        args.push(Value::Text(st.as_str().into()));
    }
    if let Some(d) = filter.from {
        clauses.push("e.event_date >= ?".into());
        args.push(Value::Text(d.format("%Y-%m-%d").to_string()));
    }
    if let Some(d) = filter.to {
        clauses.push("e.event_date <= ?".into());
        args.push(Value::Text(d.format("%Y-%m-%d").to_string()));
    }
    if let Some(kw) = &filter.keyword {
        clauses.push(
            "(e.title LIKE ? ESCAPE '\\' OR e.venue LIKE ? ESCAPE '\\'
              OR e.performers LIKE ? ESCAPE '\\' OR e.id = ?)"
                .into(),
        );
        let pat = like_pattern(kw);
        args.extend(std::iter::repeat_n(Value::Text(pat), 3));
        args.push(Value::Text(kw.clone()));
    }
    let where_sql = clauses.join(" AND ");
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM events e WHERE {where_sql}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    if total == 0 || page.offset() >= total {
        return Ok((Vec::new(), total));
    }
    args.push(Value::Integer(page.page_size));
    args.push(Value::Integer(page.offset()));
    let mut events = conn
        .prepare_cached(&format!(
            "SELECT {EVENT_COLS} FROM events e WHERE {where_sql}
             ORDER BY e.event_date DESC, e.event_time DESC, e.id DESC LIMIT ? OFFSET ?"
        ))?
        .query_map(params_from_iter(args.iter()), event_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_price_options(conn, &mut events)?;
    attach_admin_info(conn, &mut events)?;
    Ok((events, total))
}

/// A summary of a show for the audit log.
fn summary(e: &Event) -> Json {
    json!({
        "title": e.title, "eventDate": e.event_date, "eventTime": e.event_time,
        "venue": e.venue, "status": e.status.as_str(), "totalSeats": e.total_seats,
        "options": e.price_options.iter()
            .map(|o| json!({"id": o.id, "name": o.name, "price": o.price, "totalCount": o.total_count,
                            "status": o.status.as_str()}))
            .collect::<Vec<_>>(),
    })
}

/// A new show from a validated body. Options with an `id` are refused: a
/// new show has none yet.
pub(crate) fn create_event(
    conn: &Connection,
    scope: &TenantScope,
    tz: Tz,
    draft: &EventDraft,
    admin_id: &str,
    now: i64,
) -> StoreResult<String> {
    changes::note(conn, Changes::CATALOG | Changes::SALES);
    if let Some(i) = draft.show.options.iter().position(|o| o.id.is_some()) {
        return Err(reject(
            Code::ValidationFailed,
            format!("priceOptions[{i}].id：新演出的票档不能带 id"),
        ));
    }
    let remaining: i64 = draft.show.options.iter().map(|o| o.total_count).sum();
    let status = derived_status(draft.visibility, draft.show.sale_start_at, remaining, now);
    let show = NewEvent {
        status,
        ..draft.show.clone()
    };
    let InsertedEvent { id, .. } = insert_event(conn, scope, tz, &show)?;
    let created = get_event(conn, scope, &id)?.ok_or_else(event_not_found)?;
    audit(
        conn,
        AuditActor::Admin(admin_id),
        "event_created",
        target(scope, &id),
        &json!({ "after": summary(&created) }),
        now,
    )?;
    if draft.visibility == Visibility::Published {
        audit(
            conn,
            AuditActor::Admin(admin_id),
            "event_published",
            target(scope, &id),
            &json!({ "status": status.as_str() }),
            now,
        )?;
    }
    Ok(id)
}

/// Orders that still hold or have bought seats (pending, paid, used).
fn live_orders(conn: &Connection, event_id: &str) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM orders WHERE event_id = ?1
                 AND (status = 'pending' OR status = 'paid' OR status = 'used')",
        )?
        .query_row([event_id], |r| r.get(0))?)
}

fn any_orders(conn: &Connection, column: &str, id: &str) -> StoreResult<bool> {
    let sql = format!("SELECT 1 FROM orders WHERE {column} = ?1 LIMIT 1");
    Ok(conn.prepare_cached(&sql)?.exists([id])?)
}

/// Saves a whole show body over the stored one (`PUT`): texts, sale window,
/// limits, publishing, and the options (new ones added, left-out ones
/// disabled if they have orders and deleted if not, totals resized without
/// going below what is sold and held). One transaction: a refusal anywhere
/// changes nothing.
pub(crate) fn update_event(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
    draft: &EventDraft,
    admin_id: &str,
    now: i64,
) -> StoreResult<()> {
    changes::note(conn, Changes::CATALOG | Changes::SALES);
    let before = get_event(conn, scope, id)?.ok_or_else(event_not_found)?;
    let info = before.admin.clone().unwrap_or_default();
    if before.status == EventStatus::Cancelled {
        return Err(reject(Code::EventCancelled, "演出已取消，不能再修改"));
    }
    let Some(version) = draft.version else {
        return Err(reject(
            Code::ValidationFailed,
            "version：修改演出须带上读取时的 version",
        ));
    };
    if version != info.version {
        return Err(reject(
            Code::EditConflict,
            format!(
                "该演出已被他人修改（当前版本 {}，你的版本 {version}），请刷新后再保存",
                info.version
            ),
        ));
    }
    let was_public = before.status != EventStatus::Draft;
    if draft.visibility == Visibility::Draft && was_public && live_orders(conn, id)? > 0 {
        return Err(reject(
            Code::EventHasOrders,
            "该演出已有订单，不能改回草稿；如需停售请取消演出",
        ));
    }
    let mut stock_changes = Vec::new();
    let mut kept: Vec<&str> = Vec::new();
    for (i, o) in draft.show.options.iter().enumerate() {
        let Some(oid) = &o.id else {
            conn.prepare_cached(
                "INSERT INTO price_options (id, event_id, name, price, original_price,
                     description, total_count, remaining_count, sort_order, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                new_id(),
                id,
                o.name,
                o.price.0,
                o.original_price.map(|f| f.0),
                o.description,
                o.total_count,
                o.sort_order,
                o.status.as_str(),
                now
            ])?;
            stock_changes.push(json!({"option": o.name, "from": 0, "to": o.total_count}));
            continue;
        };
        let Some(current) = before.price_options.iter().find(|p| &p.id == oid) else {
            return Err(reject(
                Code::PriceOptionNotFound,
                format!("priceOptions[{i}].id：本演出没有这个票档"),
            ));
        };
        kept.push(oid);
        let sales = current.sales.unwrap_or_default();
        let committed = current.total_count - current.remaining_count;
        if o.total_count < committed {
            return Err(reject(
                Code::StockBelowSold,
                format!(
                    "priceOptions[{i}].totalCount：票档「{}」已售 {} 张、待支付锁定 {} 张，总量不能少于 {committed}",
                    current.name, sales.sold, sales.held
                ),
            ));
        }
        conn.prepare_cached(
            "UPDATE price_options SET name = ?2, price = ?3, original_price = ?4,
                 description = ?5, total_count = ?6, remaining_count = ?6 - ?7,
                 sort_order = ?8, status = ?9
             WHERE id = ?1",
        )?
        .execute(params![
            oid,
            o.name,
            o.price.0,
            o.original_price.map(|f| f.0),
            o.description,
            o.total_count,
            committed,
            o.sort_order,
            o.status.as_str()
        ])?;
        if o.total_count != current.total_count {
            stock_changes.push(json!({"option": o.name, "from": current.total_count,
                                      "to": o.total_count, "committed": committed}));
        }
    }
    for gone in before
        .price_options
        .iter()
        .filter(|p| !kept.contains(&p.id.as_str()))
    {
        if any_orders(conn, "price_option_id", &gone.id)? {
            conn.prepare_cached("UPDATE price_options SET status = 'disabled' WHERE id = ?1")?
                .execute([&gone.id])?;
        } else {
            conn.prepare_cached("DELETE FROM price_options WHERE id = ?1")?
                .execute([&gone.id])?;
            stock_changes.push(json!({"option": gone.name, "from": gone.total_count, "to": 0}));
        }
    }
    let (total, remaining): (i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(total_count), 0), COALESCE(SUM(remaining_count), 0)
             FROM price_options WHERE event_id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let status = derived_status(draft.visibility, draft.show.sale_start_at, remaining, now);
    conn.prepare_cached(
        "UPDATE events SET title = ?2, description = ?3, poster = ?4, city = ?5, venue = ?6,
             address = ?7, event_date = ?8, event_time = ?9, starts_at = ?10, duration = ?11,
             performers = ?12, tags = ?13, status = ?14, sale_start_at = ?15, sale_end_at = ?16,
             is_recommended = ?17, max_per_order = ?18, max_per_user = ?19,
             total_seats = ?20, remaining_seats = ?21, version = version + 1, updated_at = ?22
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        draft.show.title,
        draft.show.description,
        draft.show.poster,
        draft.show.city,
        draft.show.venue,
        draft.show.address,
        draft.show.event_date.format("%Y-%m-%d").to_string(),
        draft.show.event_time.format("%H:%M").to_string(),
        draft.starts_at,
        draft.show.duration,
        serde_json::to_string(&draft.show.performers).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&draft.show.tags).unwrap_or_else(|_| "[]".into()),
        status.as_str(),
        draft.show.sale_start_at,
        draft.show.sale_end_at,
        draft.show.is_recommended,
        draft.show.max_per_order,
        draft.show.max_per_user,
        total,
        remaining,
        now
    ])?;
    let after = get_event(conn, scope, id)?.ok_or_else(event_not_found)?;
    let who = AuditActor::Admin(admin_id);
    audit(
        conn,
        who,
        "event_updated",
        target(scope, id),
        &json!({"before": summary(&before), "after": summary(&after)}),
        now,
    )?;
    if !stock_changes.is_empty() {
        audit(
            conn,
            who,
            "stock_changed",
            target(scope, id),
            &json!({ "changes": stock_changes }),
            now,
        )?;
    }
    let is_public = status != EventStatus::Draft;
    if is_public != was_public {
        let action = if is_public {
            "event_published"
        } else {
            "event_unpublished"
        };
        audit(
            conn,
            who,
            action,
            target(scope, id),
            &json!({"status": status.as_str()}),
            now,
        )?;
    }
    Ok(())
}

/// Deletes a show that has never had an order (else `EVENT_HAS_ORDERS`).
pub(crate) fn delete_event(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
    admin_id: &str,
    now: i64,
) -> StoreResult<()> {
    changes::note(conn, Changes::CATALOG | Changes::SALES);
    let before = get_event(conn, scope, id)?.ok_or_else(event_not_found)?;
    if any_orders(conn, "event_id", id)? {
        return Err(reject(
            Code::EventHasOrders,
            "该演出已有订单，不能删除；如需停演请取消演出（已付款订单将全额退款）",
        ));
    }
    conn.prepare_cached("DELETE FROM events WHERE id = ?1")?
        .execute([id])?;
    audit(
        conn,
        AuditActor::Admin(admin_id),
        "event_deleted",
        target(scope, id),
        &json!({ "before": summary(&before) }),
        now,
    )?;
    Ok(())
}

/// A new draft with the texts and options of `id` (full stock) at another
/// date. The sale end keeps its distance from the show's start.
#[allow(clippy::too_many_arguments)]
pub(crate) fn duplicate_event(
    conn: &Connection,
    scope: &TenantScope,
    tz: Tz,
    id: &str,
    when: (NaiveDate, NaiveTime, i64),
    sale_start_at: Option<i64>,
    admin_id: &str,
    now: i64,
) -> StoreResult<String> {
    changes::note(conn, Changes::CATALOG | Changes::SALES);
    let src = get_event(conn, scope, id)?.ok_or_else(event_not_found)?;
    let (date, time, starts_at) = when;
    let new = NewEvent {
        title: src.title.clone(),
        description: src.description.clone(),
        poster: src.poster.clone(),
        city: src.city.clone(),
        venue: src.venue.clone(),
        address: src.address.clone(),
        event_date: date,
        event_time: time,
        duration: src.duration,
        performers: src.performers.clone(),
        tags: src.tags.clone(),
        status: EventStatus::Draft,
        sale_start_at,
        sale_end_at: src
            .sale_end_at
            .map(|e| starts_at - (src.starts_at.0 - e.0))
            .filter(|e| sale_start_at.is_none_or(|s| *e > s)),
        is_recommended: src.is_recommended,
        max_per_order: src.max_per_order,
        max_per_user: src.max_per_user,
        options: src
            .price_options
            .iter()
            .filter(|o| o.status == ActiveStatus::Active)
            .map(|o| NewPriceOption {
                id: None,
                name: o.name.clone(),
                price: o.price,
                original_price: o.original_price,
                description: o.description.clone(),
                total_count: o.total_count,
                sort_order: o.sort_order,
                status: o.status,
            })
            .collect(),
    };
    if new.options.is_empty() {
        return Err(reject(
            Code::ValidationFailed,
            "该演出没有在售的票档，无法复制",
        ));
    }
    let InsertedEvent { id: new_id, .. } = insert_event(conn, scope, tz, &new)?;
    audit(
        conn,
        AuditActor::Admin(admin_id),
        "event_duplicated",
        target(scope, &new_id),
        &json!({"from": id, "eventDate": new.event_date.format("%Y-%m-%d").to_string(),
                "eventTime": new.event_time.format("%H:%M").to_string()}),
        now,
    )?;
    Ok(new_id)
}

/// What a cancellation did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cancelled {
    /// False when the show was already cancelled: nothing was done again.
    pub newly: bool,
    pub holds_released: usize,
    pub refunds_started: usize,
}

/// Cancels a show in one transaction: sales stop (status `cancelled`), every
/// pending order is cancelled and its seats released, and every paid order
/// gets a full refund recorded, due at once, which the `refunds` job sends
/// (and retries) from here on, across restarts. Its tickets are void at
/// once. A second call finds the show cancelled and does nothing.
pub(crate) fn cancel_event(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
    reason: &str,
    admin_id: &str,
    now: i64,
) -> StoreResult<Cancelled> {
    changes::note(conn, Changes::CATALOG | Changes::SALES);
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM events WHERE id = ?1 AND tenant_id = ?2")?
        .query_row([id, scope.id()], |r| r.get(0))
        .optional()?;
    let Some(status) = status else {
        return Err(event_not_found());
    };
    if status == EventStatus::Cancelled.as_str() {
        return Ok(Cancelled::default());
    }
    conn.prepare_cached(
        "UPDATE events SET status = 'cancelled', cancel_reason = ?2, cancelled_at = ?3,
             version = version + 1, updated_at = ?3
         WHERE id = ?1",
    )?
    .execute(params![id, reason, now])?;
    let pending: Vec<String> = conn
        .prepare_cached("SELECT id FROM orders WHERE event_id = ?1 AND status = 'pending'")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for order_id in &pending {
        cancel(
            conn,
            Actor::System,
            order_id,
            CancelReason::EventCancelled,
            now,
        )?;
    }
    let paid: Vec<String> = conn
        .prepare_cached(
            "SELECT o.id FROM orders o WHERE o.event_id = ?1 AND o.status = 'paid'
               AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id
                               AND (r.status = 'processing' OR r.status = 'success'))",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let refund_reason = format!("演出取消：{reason}");
    for order_id in &paid {
        let order = super::orders::get_by_id_any_tenant(conn, order_id)?
            .ok_or_else(super::orders::order_not_found)?;
        insert_refund(
            conn,
            &order,
            order.total_amount.0,
            Some(&refund_reason),
            &format!("admin:{admin_id}"),
            RefundCause::EventCancelled { due_at: now },
            now,
        )?;
        conn.prepare_cached(
            "UPDATE tickets SET status = 'expired' WHERE order_id = ?1 AND status = 'valid'",
        )?
        .execute([order_id])?;
    }
    audit(
        conn,
        AuditActor::Admin(admin_id),
        "event_cancelled",
        target(scope, id),
        &json!({"reason": reason, "statusBefore": status, "pendingCancelled": pending.len(),
                "refundsStarted": paid.len()}),
        now,
    )?;
    Ok(Cancelled {
        newly: true,
        holds_released: pending.len(),
        refunds_started: paid.len(),
    })
}

/// Ids of what [`insert_event`] created.
#[derive(Debug, Clone)]
pub struct InsertedEvent {
    pub id: String,
    pub option_ids: Vec<String>,
}

pub fn insert_event(
    conn: &Connection,
    scope: &TenantScope,
    tz: Tz,
    e: &NewEvent,
) -> StoreResult<InsertedEvent> {
    changes::note(conn, Changes::CATALOG | Changes::SALES);
    if !super::tenants::exists(conn, scope.id())? {
        return Err(Rejection::new(Code::TenantNotFound, "俱乐部不存在").into());
    }
    if e.options.iter().any(|o| o.total_count < 0 || o.price.0 < 0) {
        return Err(Rejection::new(Code::ValidationFailed, "票价与数量不能为负").into());
    }
    let now = now_ms();
    let id = new_id();
    let total: i64 = e.options.iter().map(|o| o.total_count).sum();
    let starts_at = local_to_utc_ms(tz, e.event_date, e.event_time);
    conn.prepare_cached(
        "INSERT INTO events (id, tenant_id, title, description, poster, city, venue, address,
             event_date, event_time, starts_at, duration, total_seats, remaining_seats,
             performers, tags, status, sale_start_at, sale_end_at, is_recommended,
             max_per_order, max_per_user, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15, ?16,
                 ?17, ?18, ?19, ?20, ?21, ?22, ?22)",
    )?
    .execute(params![
        id,
        scope.id(),
        e.title,
        e.description,
        e.poster,
        e.city,
        e.venue,
        e.address,
        e.event_date.format("%Y-%m-%d").to_string(),
        e.event_time.format("%H:%M").to_string(),
        starts_at,
        e.duration,
        total,
        serde_json::to_string(&e.performers).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&e.tags).unwrap_or_else(|_| "[]".into()),
        e.status.as_str(),
        e.sale_start_at,
        e.sale_end_at,
        e.is_recommended,
        e.max_per_order,
        e.max_per_user,
        now,
    ])?;
    let mut option_ids = Vec::with_capacity(e.options.len());
    for o in &e.options {
        let oid = new_id();
        conn.prepare_cached(
            "INSERT INTO price_options (id, event_id, name, price, original_price, description,
                 total_count, remaining_count, sort_order, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            oid,
            id,
            o.name,
            o.price.0,
            o.original_price.map(|f| f.0),
            o.description,
            o.total_count,
            o.sort_order,
            o.status.as_str(),
            now,
        ])?;
        option_ids.push(oid);
    }
    Ok(InsertedEvent { id, option_ids })
}
