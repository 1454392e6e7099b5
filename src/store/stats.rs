//! The reads behind the club's figures (model/stats.rs defines them).

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{Connection, params, params_from_iter};

use super::StoreResult;
use crate::model::scope::TenantScope;
use crate::model::stats::PaidOrder;

/// All-time: shows, paid orders, revenue (fen) and buyers.
pub(crate) fn totals(conn: &Connection, scope: &TenantScope) -> StoreResult<(i64, i64, i64, i64)> {
    let events: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM events WHERE tenant_id = ?1
                 AND status != 'draft' AND status != 'cancelled'",
        )?
        .query_row([scope.id()], |r| r.get(0))?;
    let (orders, revenue, users): (i64, i64, i64) = conn
        .prepare_cached(
            "SELECT COUNT(*),
                    COALESCE(SUM(CASE WHEN status = 'paid' OR status = 'used' THEN total_amount END), 0),
                    COUNT(DISTINCT user_id)
             FROM orders WHERE tenant_id = ?1 AND paid_at IS NOT NULL
               AND (status = 'paid' OR status = 'used' OR status = 'refunded')",
        )?
        .query_row([scope.id()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok((events, orders, revenue, users))
}

/// Shows (not drafts, not cancelled) dated between two local days.
pub(crate) fn events_between(
    conn: &Connection,
    scope: &TenantScope,
    first: NaiveDate,
    last: NaiveDate,
) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM events WHERE tenant_id = ?1
                 AND status != 'draft' AND status != 'cancelled'
                 AND event_date BETWEEN ?2 AND ?3",
        )?
        .query_row(
            params![
                scope.id(),
                first.format("%Y-%m-%d").to_string(),
                last.format("%Y-%m-%d").to_string()
            ],
            |r| r.get(0),
        )?)
}

/// When the club's first paid order was paid.
pub(crate) fn first_paid_at(conn: &Connection, scope: &TenantScope) -> StoreResult<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT MIN(paid_at) FROM orders WHERE tenant_id = ?1 AND paid_at IS NOT NULL",
        )?
        .query_row([scope.id()], |r| r.get(0))?)
}

/// Orders paid in [from, to) that were kept or refunded.
pub(crate) fn paid_between(
    conn: &Connection,
    scope: &TenantScope,
    from_ms: i64,
    to_ms: i64,
) -> StoreResult<Vec<PaidOrder>> {
    Ok(conn
        .prepare_cached(
            "SELECT paid_at, status, total_amount, quantity, user_id, event_id FROM orders
             WHERE tenant_id = ?1 AND paid_at >= ?2 AND paid_at < ?3
               AND (status = 'paid' OR status = 'used' OR status = 'refunded')",
        )?
        .query_map(params![scope.id(), from_ms, to_ms], |r| {
            Ok(PaidOrder {
                paid_at: r.get(0)?,
                status: r.get(1)?,
                total: r.get(2)?,
                quantity: r.get(3)?,
                user_id: r.get(4)?,
                event_id: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Titles and dates of the club's shows by id.
pub(crate) fn event_names(
    conn: &Connection,
    scope: &TenantScope,
    ids: &[String],
) -> StoreResult<HashMap<String, (String, String)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, title, event_date FROM events WHERE tenant_id = ? AND id IN ({})",
        vec!["?"; ids.len()].join(",")
    );
    let args = std::iter::once(scope.id().to_string()).chain(ids.iter().cloned());
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), |r| {
            Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))
        })?
        .collect::<rusqlite::Result<_>>()?)
}
