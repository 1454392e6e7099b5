//! The public catalogue's reads: shows, their price options, banners and
//! merch as the mini-program sees them, and the job that opens sales. Every
//! function takes the tenant where the data is tenant-scoped, so a caller
//! cannot forget it. Inserts live with their aggregate (`events`, `content`).

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::StoreResult;
use super::changes::{self, Changes};
use crate::model::catalog::{
    ActiveStatus, Banner, Event, EventStatus, MerchItem, PageRequest, PriceOption,
};
use crate::model::scope::TenantScope;
use crate::model::{Fen, Timestamp};

pub(super) const EVENT_COLS: &str =
    "e.id, e.tenant_id, e.title, e.description, e.poster, e.city, e.venue,
    e.address, e.event_date, e.event_time, e.duration, e.total_seats, e.remaining_seats,
    e.performers, e.tags, e.status, e.sale_start_at, e.sale_end_at, e.starts_at,
    e.is_recommended, e.max_per_order, e.max_per_user, e.created_at, e.updated_at";

fn json_list(text: String) -> Vec<String> {
    serde_json::from_str(&text).unwrap_or_default()
}

pub(super) fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    let status: String = r.get(15)?;
    Ok(Event {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        poster: r.get(4)?,
        city: r.get(5)?,
        venue: r.get(6)?,
        address: r.get(7)?,
        event_date: r.get(8)?,
        event_time: r.get(9)?,
        duration: r.get(10)?,
        total_seats: r.get(11)?,
        remaining_seats: r.get(12)?,
        performers: json_list(r.get(13)?),
        tags: json_list(r.get(14)?),
        // The CHECK constraint makes anything else impossible.
        status: EventStatus::parse(&status).unwrap_or(EventStatus::Draft),
        price_options: Vec::new(),
        sale_start_at: r.get::<_, Option<i64>>(16)?.map(Timestamp),
        sale_end_at: r.get::<_, Option<i64>>(17)?.map(Timestamp),
        starts_at: Timestamp(r.get(18)?),
        is_recommended: r.get(19)?,
        max_per_order: r.get(20)?,
        max_per_user: r.get(21)?,
        created_at: Timestamp(r.get(22)?),
        updated_at: Timestamp(r.get(23)?),
        admin: None,
    })
}

fn price_option_from_row(r: &Row<'_>) -> rusqlite::Result<PriceOption> {
    let status: String = r.get(9)?;
    Ok(PriceOption {
        id: r.get(0)?,
        event_id: r.get(1)?,
        name: r.get(2)?,
        price: Fen(r.get(3)?),
        original_price: r.get::<_, Option<i64>>(4)?.map(Fen),
        description: r.get(5)?,
        total_count: r.get(6)?,
        remaining_count: r.get(7)?,
        sort_order: r.get(8)?,
        status: ActiveStatus::parse(&status).unwrap_or(ActiveStatus::Disabled),
        sales: None,
    })
}

/// Loads the price options of all `events` in ONE query (no N+1), sorted by
/// `sortOrder`.
pub(crate) fn attach_price_options(conn: &Connection, events: &mut [Event]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let placeholders = vec!["?"; ids.len()].join(",");
    let sql = format!(
        "SELECT id, event_id, name, price, original_price, description, total_count,
                remaining_count, sort_order, status
         FROM price_options WHERE event_id IN ({placeholders})
         ORDER BY event_id, sort_order, id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut by_event: HashMap<String, Vec<PriceOption>> = HashMap::new();
    for po in stmt.query_map(params_from_iter(ids.iter()), price_option_from_row)? {
        let po = po?;
        by_event.entry(po.event_id.clone()).or_default().push(po);
    }
    for e in events.iter_mut() {
        // An event may appear in several home sections: clone rather than take.
        if let Some(list) = by_event.get(&e.id) {
            e.price_options = list.clone();
        }
    }
    Ok(())
}

/// A public event by id: not a draft, and its tenant active.
pub(crate) fn find_public_event(conn: &Connection, id: &str) -> StoreResult<Option<Event>> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events e
         JOIN tenants t ON t.id = e.tenant_id AND t.status = 'active'
         WHERE e.id = ?1 AND e.status != 'draft'"
    );
    let event = conn
        .prepare_cached(&sql)?
        .query_row([id], event_from_row)
        .optional()?;
    let Some(event) = event else { return Ok(None) };
    let mut one = [event];
    attach_price_options(conn, &mut one)?;
    let [event] = one;
    Ok(Some(event))
}

/// Events by id (any status), with their price options; for order details.
pub(crate) fn events_by_ids(conn: &Connection, ids: &[&str]) -> StoreResult<Vec<Event>> {
    let mut ids: Vec<&str> = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events e WHERE e.id IN ({})",
        vec!["?"; ids.len()].join(",")
    );
    let mut events = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(ids.iter()), event_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_price_options(conn, &mut events)?;
    Ok(events)
}

/// `upcoming → onSale` (or `soldOut`) for shows whose sale start has come and
/// that have not started yet. Returns how many changed.
pub(crate) fn open_due_sales(conn: &Connection, now: i64) -> StoreResult<usize> {
    let opened = conn
        .prepare_cached(
            "UPDATE events SET
                 status = CASE WHEN remaining_seats > 0 THEN 'onSale' ELSE 'soldOut' END,
                 updated_at = ?1
             WHERE status = 'upcoming' AND sale_start_at IS NOT NULL AND sale_start_at <= ?1
                 AND starts_at > ?1",
        )?
        .execute([now])?;
    // Every second: only a sale that opened empties the catalogue, or an
    // on-sale rush would reload it from the database each tick.
    if opened > 0 {
        changes::note(conn, Changes::CATALOG);
    }
    Ok(opened)
}

/// Filters of the public list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct EventFilter {
    pub status: Option<EventStatus>,
    /// Exactly this local date; otherwise shows from `from_date` on.
    pub date: Option<NaiveDate>,
    pub from_date: Option<NaiveDate>,
    pub city: Option<String>,
    pub keyword: Option<String>,
}

/// Escapes LIKE wildcards so a keyword like "100%" matches literally.
pub(super) fn like_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// One page of a tenant's public shows, soonest first, plus the total count.
pub(crate) fn list_public_events(
    conn: &Connection,
    scope: &TenantScope,
    filter: &EventFilter,
    page: PageRequest,
) -> StoreResult<(Vec<Event>, i64)> {
    let tenant_id = scope.id();
    let mut clauses = vec![
        "e.tenant_id = ?".to_string(),
        "e.status != 'draft'".to_string(),
    ];
    let mut args: Vec<Value> = vec![Value::Text(tenant_id.to_string())];
    if let Some(st) = filter.status {
        clauses.push("e.status = ?".into());
        args.push(Value::Text(st.as_str().into()));
    }
    if let Some(d) = filter.date {
        clauses.push("e.event_date = ?".into());
        args.push(Value::Text(d.format("%Y-%m-%d").to_string()));
    } else if let Some(d) = filter.from_date {
        clauses.push("e.event_date >= ?".into());
        args.push(Value::Text(d.format("%Y-%m-%d").to_string()));
    }
    if let Some(city) = &filter.city {
        clauses.push("e.city = ?".into());
        args.push(Value::Text(city.clone()));
    }
    if let Some(kw) = &filter.keyword {
        clauses.push(
            "(e.title LIKE ? ESCAPE '\\' OR e.venue LIKE ? ESCAPE '\\' OR e.performers LIKE ? ESCAPE '\\')"
                .into(),
        );
        let pat = like_pattern(kw);
        args.extend(std::iter::repeat_n(Value::Text(pat), 3));
    }
    let where_sql = clauses.join(" AND ");
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM events e WHERE {where_sql}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    if total == 0 || page.offset() >= total {
        return Ok((Vec::new(), total));
    }
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events e WHERE {where_sql}
         ORDER BY e.event_date, e.event_time, e.id LIMIT ? OFFSET ?"
    );
    args.push(Value::Integer(page.page_size));
    args.push(Value::Integer(page.offset()));
    let mut events = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), event_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_price_options(conn, &mut events)?;
    Ok((events, total))
}

/// A tenant's public shows between two local dates (inclusive), by date and time.
pub(crate) fn public_events_between(
    conn: &Connection,
    scope: &TenantScope,
    first: NaiveDate,
    last: NaiveDate,
) -> StoreResult<Vec<Event>> {
    let tenant_id = scope.id();
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events e
         WHERE e.tenant_id = ?1 AND e.status != 'draft'
           AND e.event_date BETWEEN ?2 AND ?3
         ORDER BY e.event_date, e.event_time, e.id"
    );
    let mut events = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                tenant_id,
                first.format("%Y-%m-%d").to_string(),
                last.format("%Y-%m-%d").to_string()
            ],
            event_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_price_options(conn, &mut events)?;
    Ok(events)
}

/// The three show sections of the home page, price options loaded once for all.
pub(crate) struct HomeSections {
    pub upcoming: Vec<Event>,
    pub recommended: Vec<Event>,
    pub upcoming_sale: Vec<Event>,
}

pub(crate) fn home_sections(
    conn: &Connection,
    scope: &TenantScope,
    now: i64,
    limit: i64,
) -> StoreResult<HomeSections> {
    let tenant_id = scope.id();
    let query = |extra: &str, order: &str| -> StoreResult<Vec<Event>> {
        let sql = format!(
            "SELECT {EVENT_COLS} FROM events e
             WHERE e.tenant_id = ?1 AND e.status IN ('upcoming', 'onSale', 'soldOut')
               AND e.starts_at > ?2 {extra}
             ORDER BY {order} LIMIT ?3"
        );
        Ok(conn
            .prepare_cached(&sql)?
            .query_map(params![tenant_id, now, limit], event_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    };
    let upcoming = query("", "e.starts_at, e.id")?;
    let recommended = query("AND e.is_recommended = 1", "e.starts_at, e.id")?;
    let upcoming_sale = query(
        "AND e.status = 'upcoming' AND e.sale_start_at > ?2",
        "e.sale_start_at, e.starts_at, e.id",
    )?;
    // One price-option query for all three sections, then split them back.
    let (n_upcoming, n_recommended) = (upcoming.len(), recommended.len());
    let mut all = upcoming;
    all.extend(recommended);
    all.extend(upcoming_sale);
    attach_price_options(conn, &mut all)?;
    let upcoming_sale = all.split_off(n_upcoming + n_recommended);
    let recommended = all.split_off(n_upcoming);
    let upcoming = all;
    Ok(HomeSections {
        upcoming,
        recommended,
        upcoming_sale,
    })
}

/// The club's active banners whose window holds `now`, in order.
pub(crate) fn active_banners(
    conn: &Connection,
    scope: &TenantScope,
    now: i64,
) -> StoreResult<Vec<Banner>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, title, image, link, event_id, sort_order FROM banners
             WHERE tenant_id = ?1 AND status = 'active'
               AND (starts_at IS NULL OR starts_at <= ?2) AND (ends_at IS NULL OR ends_at > ?2)
             ORDER BY sort_order, id LIMIT 20",
        )?
        .query_map(params![scope.id(), now], |r| {
            Ok(Banner {
                id: r.get(0)?,
                title: r.get(1)?,
                image: r.get(2)?,
                link: r.get(3)?,
                event_id: r.get(4)?,
                sort_order: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn active_merch(conn: &Connection, scope: &TenantScope) -> StoreResult<Vec<MerchItem>> {
    let tenant_id = scope.id();
    Ok(conn
        .prepare_cached(
            "SELECT id, name, description, image, price, original_price, link, sort_order
             FROM merch_items WHERE tenant_id = ?1 AND status = 'active'
             ORDER BY sort_order, id LIMIT 50",
        )?
        .query_map([tenant_id], |r| {
            Ok(MerchItem {
                id: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
                image: r.get(3)?,
                price: Fen(r.get(4)?),
                original_price: r.get::<_, Option<i64>>(5)?.map(Fen),
                link: r.get(6)?,
                sort_order: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(like_pattern("100%_\\"), "%100\\%\\_\\\\%");
    }
}
