//! The reads behind the club's figures (model/stats.rs defines them).

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{Connection, params, params_from_iter};

use super::StoreResult;
use crate::model::scope::TenantScope;
use crate::model::stats::PaidRow;

/// The club's shows that are neither drafts nor cancelled.
pub(crate) fn published_events(conn: &Connection, scope: &TenantScope) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM events WHERE tenant_id = ?1
                 AND status != 'draft' AND status != 'cancelled'",
        )?
        .query_row([scope.id()], |r| r.get(0))?)
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

/// Hands every paid order of the club to `visit`, in payment order, read
/// from the covering index on payments alone (no table lookups, no sort).
pub(crate) fn each_paid(
    conn: &Connection,
    scope: &TenantScope,
    mut visit: impl FnMut(PaidRow<'_>),
) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT paid_at, status, total_amount, quantity, user_id, event_id FROM orders
         WHERE tenant_id = ?1 AND paid_at IS NOT NULL ORDER BY paid_at",
    )?;
    let mut rows = stmt.query([scope.id()])?;
    while let Some(r) = rows.next()? {
        visit(PaidRow {
            paid_at: r.get(0)?,
            status: r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?,
            total: r.get(2)?,
            quantity: r.get(3)?,
            user_id: r.get_ref(4)?.as_str().map_err(rusqlite::Error::from)?,
            event_id: r.get_ref(5)?.as_str().map_err(rusqlite::Error::from)?,
        });
    }
    Ok(())
}

/// Titles and dates of the club's shows by id.
/// Titles and dates of the club's shows among `ids`, cancelled ones left
/// out (they are no club's top show).
pub(crate) fn event_names(
    conn: &Connection,
    scope: &TenantScope,
    ids: &[String],
) -> StoreResult<HashMap<String, (String, String)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, title, event_date FROM events
         WHERE tenant_id = ? AND status != 'cancelled' AND id IN ({})",
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
