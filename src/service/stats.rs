//! The club's figures for the console (model/stats.rs says what they
//! count), cached briefly per club and period.

use bytes::Bytes;

use crate::cache::get_or_load;
use crate::error::AppError;
use crate::model::Fen;
use crate::model::scope::TenantScope;
use crate::model::stats::{Period, Stats, day_range_ms, summarize};
use crate::model::time::today_in;
use crate::state::AppState;
use crate::store::stats as q;

/// How many shows `topEvents` lists.
const TOP_EVENTS: i64 = 5;

/// The stats answer (`data` JSON) for the club and period.
pub(crate) async fn stats(
    state: &AppState,
    scope: &TenantScope,
    period: Period,
) -> Result<Bytes, AppError> {
    let key = format!("{}:{}", scope.id(), period.as_str());
    let cached = get_or_load(&state.caches.stats, &key, async {
        let s = compute(state, scope, period).await?;
        Ok(Some(Bytes::from(
            serde_json::to_vec(&s.to_json()).map_err(AppError::internal)?,
        )))
    })
    .await?;
    cached.ok_or_else(|| AppError::internal(anyhow::anyhow!("stats not computed")))
}

async fn compute(state: &AppState, scope: &TenantScope, period: Period) -> Result<Stats, AppError> {
    let tz = state.config.timezone;
    let today = today_in(tz);
    let scope = scope.clone();
    let s = state
        .store
        .read(move |c| {
            let (events, orders, revenue, users) = q::totals(c, &scope)?;
            let first_sale = q::first_paid_at(c, &scope)?.and_then(|ms| {
                chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
                    .map(|t| t.with_timezone(&tz).date_naive())
            });
            let (first, last) = period.days(today, first_sale);
            let (from_ms, to_ms) = day_range_ms(tz, first, last);
            let (buckets, users_in_period) = q::paid_between(c, &scope, from_ms, to_ms)?;
            let (mut block, series) = summarize(&buckets, tz, first, last.min(today));
            block.users = users_in_period;
            block.events = q::events_between(c, &scope, first, last)?;
            let top_events = q::top_events(c, &scope, from_ms, to_ms, TOP_EVENTS)?;
            Ok(Stats {
                total_events: events,
                total_orders: orders,
                total_revenue: Fen(revenue),
                total_users: users,
                period: period.as_str().to_string(),
                from: first.format("%Y-%m-%d").to_string(),
                to: last.format("%Y-%m-%d").to_string(),
                block,
                series,
                top_events,
            })
        })
        .await?;
    Ok(s)
}
