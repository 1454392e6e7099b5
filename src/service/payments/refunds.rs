//! Money back out: a refund is recorded first, then sent to WeChat; its
//! verdict comes by answer, notify or the retry job.

use crate::error::AppError;
use crate::ids::looks_like_id;
use crate::model::orders::{Order, RefundActor};
use crate::model::time::now_ms;
use crate::state::{AppState, PayProvider};
use crate::store::refunds::{self as q, RefundOutcome, RefundRequest};

/// Asks WeChat for a recorded refund and applies a final answer at once;
/// PROCESSING waits for the notify (or the `refunds` job). A send that
/// fails is recorded and sent again after a backoff by the `refunds` job.
pub(crate) async fn send_refund(state: &AppState, req: &RefundRequest) -> Option<Order> {
    let sent = match &state.pay {
        PayProvider::Mock => Ok(RefundOutcome::Success {
            refund_id: Some(format!("mock_refund_{}", req.out_refund_no)),
        }),
        PayProvider::WeChat(pay) => pay
            .refund(
                &req.order_id,
                &req.out_refund_no,
                req.reason.as_deref(),
                req.amount,
                req.total,
            )
            .await
            .map(|info| RefundOutcome::from_wechat(info.state(), info.refund_id.clone()))
            .map_err(|e| e.to_string()),
    };
    state.metrics.refund(match &sent {
        Ok(RefundOutcome::Success { .. }) => "succeeded",
        Ok(RefundOutcome::Processing) => "processing",
        Ok(RefundOutcome::Closed) => "closed",
        Ok(RefundOutcome::Abnormal) => "abnormal",
        Err(_) => "error",
    });
    if let Err(e) = &sent {
        // Safe to repeat: WeChat keys a refund by its out_refund_no.
        tracing::warn!(error = %e, refund = %req.out_refund_no, "refund not taken by WeChat; will retry");
    }
    let no = req.out_refund_no.clone();
    let base = i64::try_from(state.config.refund_retry_after.as_millis()).unwrap_or(30_000);
    let recorded = state
        .store
        .write(move |c| {
            let now = now_ms();
            q::record_send(c, &no, sent.as_ref().err().map(String::as_str), base, now)?;
            match &sent {
                Ok(outcome) => q::finish_refund(c, &no, outcome, now),
                Err(_) => Ok(None),
            }
        })
        .await;
    match recorded {
        Ok(order) => order,
        Err(e) => {
            tracing::error!(error = %e, "could not record a refund result");
            None
        }
    }
}

/// Sends the refunds that are due (a cancelled show's, failed ones whose
/// backoff has passed), a few at a time.
pub(crate) async fn send_due_refunds(state: &AppState) -> anyhow::Result<usize> {
    const BATCH: i64 = 64;
    const AT_ONCE: usize = 8;
    let due = state
        .store
        .read(move |c| q::due_refunds(c, now_ms(), BATCH))
        .await?;
    let n = due.len();
    let mut running = tokio::task::JoinSet::new();
    for req in due {
        if running.len() >= AT_ONCE {
            running.join_next().await;
        }
        let state = state.clone();
        running.spawn(async move {
            send_refund(&state, &req).await;
        });
    }
    while running.join_next().await.is_some() {}
    Ok(n)
}

/// `POST /api/payments/refund` (buyer) — and, without the policy, admins.
pub(crate) async fn refund(
    state: &AppState,
    actor: RefundActor,
    order_id: &str,
    reason: Option<String>,
) -> Result<Order, AppError> {
    if !looks_like_id(order_id) {
        return Err(crate::store::orders::order_not_found().into());
    }
    let id = order_id.to_string();
    let req = state
        .store
        .write(move |c| q::begin_refund(c, &actor, &id, reason.as_deref(), now_ms()))
        .await?;
    send_refund(state, &req).await;
    let id = order_id.to_string();
    state
        .store
        .read(move |c| crate::store::orders::find_with_details_any_tenant(c, &id))
        .await?
        .ok_or_else(|| crate::store::orders::order_not_found().into())
}

/// Sends the refunds that are due, then re-asks WeChat about refunds with no verdict yet (call failed, or the
/// notify is late); resends a refund WeChat never received.
pub(crate) async fn retry_refunds(state: &AppState) -> anyhow::Result<usize> {
    let sent = send_due_refunds(state).await?;
    let PayProvider::WeChat(pay) = &state.pay else {
        return Ok(sent);
    };
    let before = now_ms() - 60_000;
    let stale = state
        .store
        .read(move |c| q::stale_refunds(c, before, 20))
        .await?;
    let n = sent + stale.len();
    for req in stale {
        let no = req.out_refund_no.clone();
        state
            .store
            .write(move |c| q::touch_refund(c, &no, now_ms()))
            .await?;
        match pay.query_refund(&req.out_refund_no).await {
            Ok(Some(info)) => {
                let outcome = RefundOutcome::from_wechat(info.state(), info.refund_id.clone());
                let no = req.out_refund_no.clone();
                state
                    .store
                    .write(move |c| q::finish_refund(c, &no, &outcome, now_ms()))
                    .await?;
            }
            Ok(None) => {
                send_refund(state, &req).await;
            }
            Err(e) => tracing::warn!(error = %e, "refund query failed"),
        }
    }
    Ok(n)
}
