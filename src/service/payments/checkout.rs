//! Starting a payment (`wx.requestPayment` parameters), settling one however
//! it is learned of (notify, query, dev confirm), and the ticket key.

use crate::error::AppError;
use crate::error::Code;
use crate::ids::looks_like_id;
use crate::model::orders::{Order, OrderStatus};
use crate::model::tickets::QrKey;
use crate::model::time::now_ms;
use crate::state::{AppState, PayProvider};
use crate::store::payments::{self as q, Payment, Settlement};
use crate::wechat::pay::{PayError, PaymentParams};

use super::refunds::send_refund;

/// A prepay id is valid for 2 hours at WeChat; reuse it with a margin.
const PREPAY_VALID_MS: i64 = 2 * 3600 * 1000 - 5 * 60 * 1000;

fn pay_unavailable(e: PayError) -> AppError {
    tracing::error!(error = %e, "WeChat Pay call failed");
    AppError {
        retry_after: Some(3),
        ..AppError::new(Code::PaymentUnavailable, "支付服务暂时不可用，请稍后重试")
    }
}

/// `POST /api/payments/wechat`: the parameters for `wx.requestPayment`.
pub(crate) async fn start(
    state: &AppState,
    user_id: &str,
    order_id: &str,
) -> Result<PaymentParams, AppError> {
    if !looks_like_id(order_id) {
        return Err(crate::store::orders::order_not_found().into());
    }
    let (u, id) = (user_id.to_string(), order_id.to_string());
    let p = state
        .store
        .read(move |c| q::payable_order(c, &u, &id))
        .await?
        .ok_or_else(|| AppError::from(crate::store::orders::order_not_found()))?;
    let now = now_ms();
    if p.order.status != OrderStatus::Pending {
        return Err(AppError::new(Code::OrderNotPending, "订单不是待支付状态"));
    }
    if p.order.expires_at.0 <= now {
        return Err(AppError::new(Code::OrderExpired, "订单已超时，请重新下单"));
    }
    let reusable = p
        .prepay_id
        .clone()
        .filter(|_| p.prepay_expires_at.is_some_and(|e| e > now));
    let prepay_id = match (reusable, &state.pay) {
        (Some(id), _) => id,
        (None, PayProvider::Mock) => format!("mock_prepay_{}", p.order.id),
        (None, PayProvider::WeChat(pay)) => {
            let expire = chrono::DateTime::from_timestamp_millis(p.order.expires_at.0)
                .unwrap_or_default()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string();
            let description: String = p.title.chars().take(120).collect();
            pay.prepay(
                &p.order.id,
                &description,
                p.order.total_amount.0,
                &p.openid,
                &expire,
            )
            .await
            .map_err(pay_unavailable)?
        }
    };
    let (id, pid) = (p.order.id.clone(), prepay_id.clone());
    state
        .store
        .write(move |c| q::set_prepay(c, &id, &pid, now + PREPAY_VALID_MS, now_ms()))
        .await?;
    Ok(match &state.pay {
        PayProvider::WeChat(pay) => pay.request_payment_params(&prepay_id),
        PayProvider::Mock => mock_params(&prepay_id),
    })
}

/// Well-formed but unsigned parameters (the mock has no merchant key).
fn mock_params(prepay_id: &str) -> PaymentParams {
    PaymentParams {
        app_id: "wx_dev_mock".into(),
        time_stamp: (now_ms() / 1000).to_string(),
        nonce_str: crate::wechat::pay::nonce(),
        package: format!("prepay_id={prepay_id}"),
        sign_type: crate::wechat::pay::SignType::Rsa,
        pay_sign: "DEV-MOCK".into(),
    }
}

/// Settles a verified payment and sends any refund it calls for.
pub(crate) async fn settle(state: &AppState, payment: Payment) -> Result<Settlement, AppError> {
    let key = state.qr_key.clone();
    let settlement = state
        .store
        .write(move |c| q::settle_payment(c, &payment, &key, now_ms()))
        .await?;
    state.metrics.payment(match &settlement {
        Settlement::Paid(_) => "paid",
        Settlement::AlreadySettled => "duplicate",
        Settlement::Recovered(_) => "recovered",
        Settlement::MustRefund(_) => "must_refund",
    });
    if let Settlement::MustRefund(req) = &settlement {
        // The notify must be answered within 5 s; the refund goes on its own.
        let (state, req) = (state.clone(), req.clone());
        tokio::spawn(async move { send_refund(&state, &req).await });
    }
    Ok(settlement)
}

/// `POST /api/dev/payments/{orderId}/confirm`: plays a successful payment
/// through the same settlement as a notify. Dev mode only.
pub(crate) async fn dev_confirm(state: &AppState, order_id: &str) -> Result<Order, AppError> {
    let missing = || AppError::from(crate::store::orders::order_not_found());
    if !looks_like_id(order_id) {
        return Err(missing());
    }
    let id = order_id.to_string();
    let order = state
        .store
        .read(move |c| crate::store::orders::find_with_details_any_tenant(c, &id))
        .await?
        .ok_or_else(missing)?;
    let payment = Payment {
        order_id: order.id.clone(),
        transaction_id: format!("mock_tx_{}", order.id),
        amount: order.total_amount.0,
    };
    match settle(state, payment).await? {
        Settlement::Paid(o) | Settlement::Recovered(o) => Ok(o),
        Settlement::AlreadySettled | Settlement::MustRefund(_) => {
            let id = order.id.clone();
            state
                .store
                .read(move |c| crate::store::orders::find_with_details_any_tenant(c, &id))
                .await?
                .ok_or_else(missing)
        }
    }
}

/// The ticket key, loaded (or created) once at start.
pub(crate) async fn load_qr_key(store: &crate::store::Store) -> anyhow::Result<QrKey> {
    Ok(store
        .write(|c| crate::store::tickets::qr_key(c, now_ms()))
        .await?)
}
