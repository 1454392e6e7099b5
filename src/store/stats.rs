//! The reads behind the club's figures (model/stats.rs defines them).

use chrono::NaiveDate;
use rusqlite::{Connection, params};

use super::StoreResult;
use crate::model::Fen;
use crate::model::scope::TenantScope;
use crate::model::stats::{BUCKET_MS, Bucket, TopEvent};

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

/// The orders paid in [from, to) that were kept or refunded, counted per
/// quarter hour; and how many buyers they had. Read from the covering
/// index on payments alone.
pub(crate) fn paid_between(
    conn: &Connection,
    scope: &TenantScope,
    from_ms: i64,
    to_ms: i64,
) -> StoreResult<(Vec<Bucket>, i64)> {
    const KEPT: &str = "(status = 'paid' OR status = 'used')";
    const PAID: &str = "tenant_id = ?1 AND paid_at >= ?2 AND paid_at < ?3
        AND (status = 'paid' OR status = 'used' OR status = 'refunded')";
    let buckets = conn
        .prepare_cached(&format!(
            "SELECT paid_at / ?4, COUNT(*),
                    COALESCE(SUM(CASE WHEN {KEPT} THEN total_amount END), 0),
                    COALESCE(SUM(CASE WHEN {KEPT} THEN quantity END), 0)
             FROM orders WHERE {PAID} GROUP BY 1"
        ))?
        .query_map(params![scope.id(), from_ms, to_ms, BUCKET_MS], |r| {
            Ok(Bucket {
                start_ms: r.get::<_, i64>(0)? * BUCKET_MS,
                orders: r.get(1)?,
                revenue: r.get(2)?,
                tickets: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let users: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(DISTINCT user_id) FROM orders WHERE {PAID}"))?
        .query_row(params![scope.id(), from_ms, to_ms], |r| r.get(0))?;
    Ok((buckets, users))
}

/// The `limit` shows that earned most from the orders paid in [from, to).
pub(crate) fn top_events(
    conn: &Connection,
    scope: &TenantScope,
    from_ms: i64,
    to_ms: i64,
    limit: i64,
) -> StoreResult<Vec<TopEvent>> {
    Ok(conn
        .prepare_cached(
            "SELECT s.event_id, e.title, e.event_date, s.orders, s.tickets, s.revenue
             FROM (SELECT event_id, COUNT(*) AS orders,
                          COALESCE(SUM(CASE WHEN status = 'paid' OR status = 'used'
                                            THEN quantity END), 0) AS tickets,
                          COALESCE(SUM(CASE WHEN status = 'paid' OR status = 'used'
                                            THEN total_amount END), 0) AS revenue
                   FROM orders
                   WHERE tenant_id = ?1 AND paid_at >= ?2 AND paid_at < ?3
                     AND (status = 'paid' OR status = 'used' OR status = 'refunded')
                   GROUP BY event_id) s
             JOIN events e ON e.id = s.event_id
             ORDER BY s.revenue DESC, s.tickets DESC, s.event_id LIMIT ?4",
        )?
        .query_map(params![scope.id(), from_ms, to_ms, limit], |r| {
            Ok(TopEvent {
                event_id: r.get(0)?,
                title: r.get(1)?,
                event_date: r.get(2)?,
                orders: r.get(3)?,
                tickets: r.get(4)?,
                revenue: Fen(r.get(5)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}
