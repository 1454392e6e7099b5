//! Background ticks: expire unpaid holds, open sales whose start has come.
//! Both are idempotent and run through the writer, so they are safe beside any
//! number of concurrent buyers, and both run once at start so what fell due
//! while the server was down is handled before the first request.

use std::time::Duration;

use crate::model::time::now_ms;
use crate::service::payments::{self, BeforeExpire};
use crate::state::AppState;
use crate::store::{catalog, orders};

/// Orders handled per tick; a backlog drains over consecutive ticks.
const EXPIRE_BATCH: i64 = 500;
const TICK: Duration = Duration::from_secs(1);

/// Cancels pending orders past their hold and releases their stock. Returns
/// how many were cancelled.
pub async fn expire_tick(state: &AppState) -> anyhow::Result<usize> {
    let now = now_ms();
    let plain = state
        .store
        .read(move |c| orders::due_without_prepay(c, now, EXPIRE_BATCH))
        .await?;
    let with_prepay = state
        .store
        .read(move |c| orders::due_with_prepay(c, now, EXPIRE_BATCH))
        .await?;
    let mut due = plain;
    for (id, expires_at) in with_prepay {
        match payments::before_expire(state, &id, expires_at).await {
            BeforeExpire::Expire => due.push(id),
            BeforeExpire::Paid | BeforeExpire::Retry => {}
        }
    }
    if due.is_empty() {
        return Ok(0);
    }
    let n = state
        .store
        .write(move |c| orders::expire(c, &due, now_ms()))
        .await?;
    if n > 0 {
        tracing::info!(expired = n, "released stock of unpaid orders");
    }
    Ok(n)
}

/// `upcoming → onSale` at `sale_start_at`.
pub async fn sale_tick(state: &AppState) -> anyhow::Result<usize> {
    let n = state
        .store
        .write(|c| catalog::open_due_sales(c, now_ms()))
        .await?;
    if n > 0 {
        state.caches.invalidate_catalog();
        tracing::info!(opened = n, "sales opened");
    }
    Ok(n)
}

/// Runs both ticks once (at start), then every second until the task is dropped.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = expire_tick(&state).await {
            tracing::warn!(error = %e, "expiry tick failed");
        }
        if let Err(e) = sale_tick(&state).await {
            tracing::warn!(error = %e, "sale tick failed");
        }
        if let Err(e) = payments::refund_tick(&state).await {
            tracing::warn!(error = %e, "refund tick failed");
        }
    }
}
