//! Asking WeChat what the notifies have not told us: before an order that
//! reached WeChat is expired, and when a buyer polls a pending order.

use crate::error::AppError;
use crate::model::orders::{Order, OrderStatus};
use crate::model::time::now_ms;
use crate::state::{AppState, PayProvider};

use super::checkout::settle;
use super::notify::check_transaction;

/// What to do with an expired pending order that reached WeChat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BeforeExpire {
    /// WeChat says unpaid (and the WeChat order is now closed): expire it.
    Expire,
    /// WeChat says paid: the payment was settled instead.
    Paid,
    /// WeChat could not be asked: try again on a later tick.
    Retry,
}

/// How long past its hold an order may wait for WeChat to answer before it
/// is expired anyway (a payment arriving later is still kept or refunded).
const GIVE_UP_AFTER_MS: i64 = 10 * 60 * 1000;

/// Called by the expiry tick for each expired order with a prepay id, before
/// it is cancelled: a payment may have just happened. Queries WeChat; paid →
/// settle; otherwise close the WeChat order so it can no longer be paid.
pub(crate) async fn before_expire(
    state: &AppState,
    order_id: &str,
    expires_at: i64,
) -> BeforeExpire {
    let PayProvider::WeChat(pay) = &state.pay else {
        return BeforeExpire::Expire;
    };
    let overdue = now_ms() - expires_at > GIVE_UP_AFTER_MS;
    match pay.query(order_id).await {
        Ok(Some(tx)) if tx.trade_state == "SUCCESS" || tx.trade_state == "REFUND" => {
            let settled = match check_transaction(state, pay, &tx).await {
                Ok(Some(p)) => settle(state, p).await.is_ok(),
                _ => false,
            };
            if settled {
                BeforeExpire::Paid
            } else if overdue {
                BeforeExpire::Expire
            } else {
                BeforeExpire::Retry
            }
        }
        Ok(Some(tx)) if tx.trade_state == "USERPAYING" && !overdue => BeforeExpire::Retry,
        Ok(_) => match pay.close(order_id).await {
            Ok(()) => BeforeExpire::Expire,
            Err(e) => {
                tracing::warn!(error = %e, order = order_id, "close failed");
                if overdue {
                    BeforeExpire::Expire
                } else {
                    BeforeExpire::Retry
                }
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, order = order_id, "query before expiry failed");
            if overdue {
                BeforeExpire::Expire
            } else {
                BeforeExpire::Retry
            }
        }
    }
}

/// A buyer's order as its payment stands. Polling a pending order: if
/// WeChat already took the money but its notify is late, settle now and
/// show the paid order.
pub(crate) async fn buyer_order(
    state: &AppState,
    user_id: &str,
    order_id: &str,
) -> Result<Order, AppError> {
    let order = crate::service::orders::get(state, user_id, order_id).await?;
    if sync_pending(state, &order).await {
        return crate::service::orders::get(state, user_id, order_id).await;
    }
    Ok(order)
}

/// A buyer polling a pending order whose notify has not come: ask WeChat
/// (at most every few seconds per order) and settle if it was paid.
async fn sync_pending(state: &AppState, order: &Order) -> bool {
    let PayProvider::WeChat(pay) = &state.pay else {
        return false;
    };
    if order.status != OrderStatus::Pending
        || !order.has_prepay
        || !state.caches.should_poll_payment(&order.id)
    {
        return false;
    }
    match pay.query(&order.id).await {
        Ok(Some(tx)) if tx.trade_state == "SUCCESS" => {
            match check_transaction(state, pay, &tx).await {
                Ok(Some(p)) => settle(state, p).await.is_ok(),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Expired orders that reached WeChat, asked about per run.
const RECONCILE_BATCH: i64 = 500;
/// WeChat is asked about this many orders at once.
const RECONCILE_CONCURRENCY: usize = 16;
/// A run stops asking after this long; what it did not finish is asked again
/// on the next run (every step is safe to repeat).
const RECONCILE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(15);

/// The `reconcile` job: for each expired hold that reached WeChat, asks
/// whether it was paid (settle) or not (close at WeChat, then cancel here),
/// many at a time and within a deadline. It runs beside the `expire` job, so
/// a slow or silent WeChat delays only these orders.
pub(crate) async fn reconcile_expired(state: &AppState) -> anyhow::Result<usize> {
    if state.pay.is_mock() {
        return Ok(0);
    }
    let now = now_ms();
    let mut due = state
        .store
        .read(move |c| crate::store::orders::due_with_prepay(c, now, RECONCILE_BATCH))
        .await?
        .into_iter();
    let deadline = tokio::time::Instant::now() + RECONCILE_DEADLINE;
    let mut asking = tokio::task::JoinSet::new();
    let mut expire = Vec::new();
    let mut settled = 0;
    loop {
        while asking.len() < RECONCILE_CONCURRENCY {
            let Some((id, expires_at)) = due.next() else {
                break;
            };
            let state = state.clone();
            asking.spawn(async move {
                let verdict = before_expire(&state, &id, expires_at).await;
                (id, verdict)
            });
        }
        match tokio::time::timeout_at(deadline, asking.join_next()).await {
            Ok(Some(Ok((id, BeforeExpire::Expire)))) => expire.push(id),
            Ok(Some(Ok((_, BeforeExpire::Paid)))) => settled += 1,
            Ok(Some(Ok((_, BeforeExpire::Retry)))) => {}
            Ok(Some(Err(e))) => tracing::error!(error = %e, "reconcile task failed"),
            Ok(None) => break,
            Err(_) => {
                tracing::warn!(
                    unfinished = asking.len(),
                    "WeChat Pay is slow: reconciliation continues next run"
                );
                break;
            }
        }
    }
    // Dropping the set stops what is still waiting for WeChat.
    asking.abort_all();
    let expired = crate::service::orders::expire(state, expire).await?;
    Ok(expired + settled)
}
