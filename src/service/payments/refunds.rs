//! Money back out: a refund is recorded first, then sent to WeChat; its
//! verdict comes by answer, notify or the retry job.

use crate::error::AppError;
use crate::ids::looks_like_id;
use crate::model::orders::{Order, RefundActor};
use crate::model::time::now_ms;
use crate::service::catalog;
use crate::state::{AppState, PayProvider};
use crate::store::refunds::{self as q, RefundOutcome, RefundRequest};

/// Asks WeChat for a recorded refund and applies a final answer at once;
/// PROCESSING waits for the notify (or the `refunds` job).
pub(crate) async fn send_refund(state: &AppState, req: &RefundRequest) -> Option<Order> {
    let outcome = match &state.pay {
        PayProvider::Mock => RefundOutcome::Success {
            refund_id: Some(format!("mock_refund_{}", req.out_refund_no)),
        },
        PayProvider::WeChat(pay) => match pay
            .refund(
                &req.order_id,
                &req.out_refund_no,
                req.reason.as_deref(),
                req.amount,
                req.total,
            )
            .await
        {
            Ok(info) => RefundOutcome::from_wechat(info.state(), info.refund_id.clone()),
            Err(e) => {
                // Unknown whether WeChat got it: the tick asks again later,
                // with the same out_refund_no (safe to repeat).
                tracing::warn!(error = %e, refund = %req.out_refund_no, "refund call failed; will retry");
                RefundOutcome::Processing
            }
        },
    };
    let no = req.out_refund_no.clone();
    match catalog::write(state, move |c| q::finish_refund(c, &no, &outcome, now_ms())).await {
        Ok(order) => order,
        Err(e) => {
            tracing::error!(error = %e, "could not record a refund result");
            None
        }
    }
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

/// Re-asks WeChat about refunds with no verdict yet (call failed, or the
/// notify is late); resends a refund WeChat never received.
pub(crate) async fn retry_refunds(state: &AppState) -> anyhow::Result<usize> {
    let PayProvider::WeChat(pay) = &state.pay else {
        return Ok(0);
    };
    let before = now_ms() - 60_000;
    let stale = state
        .store
        .read(move |c| q::stale_refunds(c, before, 20))
        .await?;
    let n = stale.len();
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
                catalog::write(state, move |c| q::finish_refund(c, &no, &outcome, now_ms()))
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
