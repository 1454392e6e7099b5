//! The club's figures for the console (model/stats.rs says what they
//! count), cached briefly per club and period.

use bytes::Bytes;

use crate::cache::get_or_load;
use crate::error::AppError;
use crate::model::scope::TenantScope;
use crate::model::stats::{Period, PeriodBlock, Stats, Tally};
use crate::model::time::today_in;
use crate::state::AppState;
use crate::store::stats as q;

/// How many shows `topEvents` lists.
const TOP_EVENTS: usize = 5;

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
            serde_json::to_vec(&s).map_err(AppError::internal)?,
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
            let first_sale = q::first_paid_at(c, &scope)?.and_then(|ms| {
                chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
                    .map(|t| t.with_timezone(&tz).date_naive())
            });
            let (first, last) = period.days(today, first_sale);
            let mut tally = Tally::new(tz, first, last, last.min(today));
            q::each_paid(c, &scope, |row| tally.add(row))?;
            let mut block = tally.period.clone();
            block.events = q::events_between(c, &scope, first, last)?;
            // A few more than listed: cancelled shows drop out.
            let mut top_events = tally.top_events(TOP_EVENTS * 4);
            let ids: Vec<String> = top_events.iter().map(|e| e.event_id.clone()).collect();
            let names = q::event_names(c, &scope, &ids)?;
            top_events.retain(|e| names.contains_key(&e.event_id));
            top_events.truncate(TOP_EVENTS);
            for e in &mut top_events {
                if let Some((title, date)) = names.get(&e.event_id) {
                    e.title = title.clone();
                    e.event_date = date.clone();
                }
            }
            Ok(Stats {
                total_events: q::published_events(c, &scope)?,
                total_orders: tally.all.orders,
                total_revenue: tally.all.revenue,
                total_users: tally.all.users,
                period,
                from: first.format("%Y-%m-%d").to_string(),
                to: last.format("%Y-%m-%d").to_string(),
                block: PeriodBlock::new(period, block),
                series: tally.series,
                top_events,
            })
        })
        .await?;
    Ok(s)
}
