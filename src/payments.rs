//! Payments: turning a pending order into a paid one with tickets, and money
//! back out again. WeChat Pay APIv3 in production; in dev mode (no merchant
//! configuration, never in production) a mock provider that returns
//! well-formed parameters and is confirmed by `POST /api/dev/payments/{id}/confirm`,
//! which runs the same settlement code as a real notify.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;

use crate::app::AppState;
use crate::config::Config;
use crate::domain::orders::{Order, OrderStatus};
use crate::domain::time::now_ms;
use crate::error::AppError;
use crate::ids::looks_like_id;
use crate::store::StoreError;
use crate::store::payments::{
    self as q, NotificationRecord, Payment, RefundActor, RefundOutcome, RefundRequest, Settlement,
};
use crate::tickets::QrKey;
use crate::wechat::pay::{
    MerchantSigner, PayError, PaymentParams, SignatureHeaders, Transaction, Verifier, WechatPay, v2,
};

/// Who takes the money.
pub enum PayProvider {
    WeChat(Arc<WechatPay>),
    /// Dev mode only.
    Mock,
}

impl PayProvider {
    /// Reads and parses the merchant keys named by the config (a bad file
    /// stops the start with its name), or the mock in dev mode.
    pub fn from_config(config: &Config) -> anyhow::Result<PayProvider> {
        let Some(p) = &config.pay else {
            anyhow::ensure!(!config.is_production(), "生产环境必须配置微信支付");
            tracing::warn!("no WECHAT_MCH_ID: dev mode, payments use the mock provider");
            return Ok(PayProvider::Mock);
        };
        let read = |path: &std::path::Path, var: &str| {
            std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{var}: 无法读取 {}: {e}", path.display()))
        };
        let signer = MerchantSigner::from_pem(
            &read(&p.mch_private_key_path, "WECHAT_MCH_PRIVATE_KEY_PATH")?,
            &p.mch_id,
            &p.mch_serial_no,
        )
        .map_err(|e| anyhow::anyhow!("WECHAT_MCH_PRIVATE_KEY_PATH: {e}"))?;
        let mut verifier = Verifier::default();
        if let Some((id, path)) = &p.pay_public_key {
            verifier
                .add_public_key(id, &read(path, "WECHAT_PAY_PUBLIC_KEY_PATH")?)
                .map_err(|e| anyhow::anyhow!("WECHAT_PAY_PUBLIC_KEY_PATH: {e}"))?;
        }
        for path in &p.platform_cert_paths {
            verifier
                .add_certificate(&read(path, "WECHAT_PAY_PLATFORM_CERT_PATHS")?)
                .map_err(|e| anyhow::anyhow!("WECHAT_PAY_PLATFORM_CERT_PATHS: {e}"))?;
        }
        let app_id = config
            .wechat
            .as_ref()
            .map(|w| w.app_id.clone())
            .ok_or_else(|| anyhow::anyhow!("WECHAT_APP_ID: 微信支付需要小程序 appid"))?;
        let mut api_v3_key = [0u8; 32];
        api_v3_key.copy_from_slice(p.api_v3_key.0.as_bytes());
        Ok(PayProvider::WeChat(Arc::new(WechatPay::new(
            crate::wechat::http_client()?,
            &config.wechat_pay_base_url,
            &app_id,
            signer,
            verifier,
            api_v3_key,
            p.mch_key_v2.as_ref().map(|k| k.0.clone()),
            &p.public_base_url,
        ))))
    }

    pub fn is_mock(&self) -> bool {
        matches!(self, PayProvider::Mock)
    }
}

/// A prepay id is valid for 2 hours at WeChat; reuse it with a margin.
const PREPAY_VALID_MS: i64 = 2 * 3600 * 1000 - 5 * 60 * 1000;

fn pay_unavailable(e: PayError) -> AppError {
    tracing::error!(error = %e, "WeChat Pay call failed");
    AppError {
        retry_after: Some(3),
        ..AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "PAYMENT_UNAVAILABLE",
            "支付服务暂时不可用，请稍后重试",
        )
    }
}

/// `POST /api/payments/wechat`: the parameters for `wx.requestPayment`.
pub async fn start(
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
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "ORDER_NOT_PENDING",
            "订单不是待支付状态",
        ));
    }
    if p.order.expires_at.0 <= now {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "ORDER_EXPIRED",
            "订单已超时，请重新下单",
        ));
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
        sign_type: "RSA".into(),
        pay_sign: "DEV-MOCK".into(),
    }
}

/// Settles a verified payment and sends any refund it calls for.
pub async fn settle(state: &AppState, payment: Payment) -> Result<Settlement, AppError> {
    let key = state.qr_key.clone();
    let settlement = state
        .store
        .write(move |c| q::settle_payment(c, &payment, &key, now_ms()))
        .await?;
    if let Settlement::MustRefund(req) = &settlement {
        // The notify must be answered within 5 s; the refund goes on its own.
        let (state, req) = (state.clone(), req.clone());
        tokio::spawn(async move { send_refund(&state, &req).await });
    }
    state.caches.invalidate_catalog();
    Ok(settlement)
}

/// Asks WeChat for a recorded refund and applies a final answer at once;
/// PROCESSING waits for the notify (or the refund tick).
pub async fn send_refund(state: &AppState, req: &RefundRequest) -> Option<Order> {
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
    match state
        .store
        .write(move |c| q::finish_refund(c, &no, &outcome, now_ms()))
        .await
    {
        Ok(order) => {
            state.caches.invalidate_catalog();
            order
        }
        Err(e) => {
            tracing::error!(error = %e, "could not record a refund result");
            None
        }
    }
}

/// `POST /api/payments/refund` (buyer) — and, without the policy, admins.
pub async fn refund(
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
        .read(move |c| crate::store::orders::find_with_details(c, &id))
        .await?
        .ok_or_else(|| crate::store::orders::order_not_found().into())
}

/// One received notify: recorded with its verdict, whatever becomes of it.
struct Received<'a> {
    state: &'a AppState,
    kind: &'static str,
    raw: String,
    headers: Option<String>,
}

impl Received<'_> {
    async fn record(
        &self,
        verified: bool,
        processed: bool,
        order: Option<String>,
        notify_id: Option<String>,
        verdict: String,
    ) {
        let (kind, raw, headers) = (self.kind, self.raw.clone(), self.headers.clone());
        let r = self
            .state
            .store
            .write(move |c| {
                q::record_notification(
                    c,
                    &NotificationRecord {
                        kind,
                        notify_id: notify_id.as_deref(),
                        order_id: order.as_deref(),
                        raw_body: &raw,
                        headers: headers.as_deref(),
                        verified,
                        processed,
                        verdict: &verdict,
                    },
                    now_ms(),
                )
            })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "could not record a payment notification");
        }
    }
}

/// Why a notify was refused: the HTTP status WeChat sees, and what we log.
pub struct NotifyRefusal {
    pub status: StatusCode,
    pub message: &'static str,
}

fn refuse(status: StatusCode, message: &'static str) -> NotifyRefusal {
    NotifyRefusal { status, message }
}

/// `POST /api/payments/wechat/notify` (v3 JSON). Every notify is recorded
/// with its verdict; a verified payment is settled once however often it
/// comes.
pub async fn notify_v3(
    state: &AppState,
    client: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    body: &[u8],
    refund_notify: bool,
) -> Result<(), NotifyRefusal> {
    let kind = if refund_notify { "refund_v3" } else { "pay_v3" };
    let PayProvider::WeChat(pay) = &state.pay else {
        return Err(refuse(StatusCode::NOT_FOUND, "未启用微信支付"));
    };
    let sig = SignatureHeaders::from_headers(headers);
    let headers_json = serde_json::json!({
        "serial": sig.serial, "timestamp": sig.timestamp, "nonce": sig.nonce,
    })
    .to_string();
    let received = Received {
        state,
        kind,
        raw: String::from_utf8_lossy(body).into_owned(),
        headers: Some(headers_json),
    };
    let record = |verified, processed, order, notify_id, verdict| {
        received.record(verified, processed, order, notify_id, verdict)
    };
    if let Err(e) = pay.verifier.verify(&sig, body, now_ms() / 1000) {
        tracing::warn!(error = %e, kind, "notify refused: signature");
        if unverified_flood(state, client) {
            return Err(refuse(StatusCode::TOO_MANY_REQUESTS, "请求过于频繁"));
        }
        record(false, false, None, None, format!("rejected: {e}")).await;
        return Err(refuse(StatusCode::UNAUTHORIZED, "签名验证失败"));
    }
    let (envelope, plain) = match crate::wechat::pay::open_notify(body, &pay.api_v3_key) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, kind, "notify refused: resource");
            record(true, false, None, None, format!("rejected: {e}")).await;
            return Err(refuse(StatusCode::BAD_REQUEST, "通知内容无法解密"));
        }
    };
    let notify_id = Some(envelope.id.clone()).filter(|s| !s.is_empty());
    if refund_notify {
        let info: crate::wechat::pay::RefundInfo = match serde_json::from_slice(&plain) {
            Ok(i) => i,
            Err(_) => {
                record(
                    true,
                    false,
                    None,
                    notify_id,
                    "rejected: refund resource".into(),
                )
                .await;
                return Err(refuse(StatusCode::BAD_REQUEST, "退款通知格式错误"));
            }
        };
        if info.mchid.as_deref().is_some_and(|m| m != pay.mch_id()) {
            record(true, false, None, notify_id, "rejected: mchid".into()).await;
            return Err(refuse(StatusCode::BAD_REQUEST, "商户号不符"));
        }
        let outcome = RefundOutcome::from_wechat(info.state(), info.refund_id.clone());
        let no = info.out_refund_no.clone();
        let result = state
            .store
            .write(move |c| q::finish_refund(c, &no, &outcome, now_ms()))
            .await;
        let order = info.out_trade_no.clone();
        return match result {
            Ok(_) => {
                state.caches.invalidate_catalog();
                record(
                    true,
                    true,
                    order,
                    notify_id,
                    format!("refund {}", info.state()),
                )
                .await;
                Ok(())
            }
            Err(StoreError::Rejected(_)) => {
                record(
                    true,
                    false,
                    order,
                    notify_id,
                    "rejected: unknown refund".into(),
                )
                .await;
                Err(refuse(StatusCode::BAD_REQUEST, "退款单不存在"))
            }
            Err(e) => {
                tracing::error!(error = %e, "refund notify could not be applied");
                Err(refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "处理失败，请重试",
                ))
            }
        };
    }
    let tx: Transaction = match serde_json::from_slice(&plain) {
        Ok(t) => t,
        Err(_) => {
            record(
                true,
                false,
                None,
                notify_id,
                "rejected: transaction resource".into(),
            )
            .await;
            return Err(refuse(StatusCode::BAD_REQUEST, "支付通知格式错误"));
        }
    };
    let order_id = Some(tx.out_trade_no.clone());
    match check_transaction(state, pay, &tx).await {
        Ok(Some(payment)) => match settle(state, payment).await {
            Ok(s) => {
                record(true, true, order_id, notify_id, settlement_verdict(&s)).await;
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e.message, "payment could not be settled");
                record(
                    true,
                    false,
                    order_id,
                    notify_id,
                    format!("failed: {}", e.code),
                )
                .await;
                Err(refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "处理失败，请重试",
                ))
            }
        },
        Ok(None) => {
            record(
                true,
                true,
                order_id,
                notify_id,
                format!("ignored: {}", tx.trade_state),
            )
            .await;
            Ok(())
        }
        Err((verdict, refusal)) => {
            record(true, false, order_id, notify_id, verdict).await;
            Err(refusal)
        }
    }
}

fn settlement_verdict(s: &Settlement) -> String {
    match s {
        Settlement::Paid(_) => "paid".into(),
        Settlement::AlreadySettled => "duplicate".into(),
        Settlement::Recovered(_) => "paid after cancellation: seats taken again".into(),
        Settlement::MustRefund(r) => format!("paid after cancellation: refund {}", r.out_refund_no),
    }
}

/// Checks a decrypted transaction against our merchant, app and order.
/// `Ok(None)`: not a success (nothing to do). `Err`: refuse (WeChat retries).
async fn check_transaction(
    state: &AppState,
    pay: &WechatPay,
    tx: &Transaction,
) -> Result<Option<Payment>, (String, NotifyRefusal)> {
    if tx.mchid != pay.mch_id() || tx.appid != pay.app_id {
        tracing::error!(mchid = %tx.mchid, appid = %tx.appid, "notify for another merchant or app");
        return Err((
            "rejected: mchid/appid".into(),
            refuse(StatusCode::BAD_REQUEST, "商户号或 appid 不符"),
        ));
    }
    if tx.trade_state != "SUCCESS" {
        return Ok(None);
    }
    expected_payment(
        state,
        &tx.out_trade_no,
        tx.transaction_id.as_deref(),
        tx.amount.as_ref().and_then(|a| a.total),
    )
    .await
    .map(Some)
}

/// The order must exist and the amount must be exactly its total.
async fn expected_payment(
    state: &AppState,
    order_id: &str,
    transaction_id: Option<&str>,
    total: Option<i64>,
) -> Result<Payment, (String, NotifyRefusal)> {
    let id = order_id.to_string();
    let order = if looks_like_id(order_id) {
        state
            .store
            .read(move |c| crate::store::orders::find_with_details(c, &id))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let Some(order) = order else {
        return Err((
            "rejected: unknown order".into(),
            refuse(StatusCode::BAD_REQUEST, "订单不存在"),
        ));
    };
    let Some(transaction_id) = transaction_id.filter(|t| !t.is_empty()) else {
        return Err((
            "rejected: no transaction id".into(),
            refuse(StatusCode::BAD_REQUEST, "缺少微信支付订单号"),
        ));
    };
    if total != Some(order.total_amount.0) {
        tracing::error!(order = %order.id, expected = order.total_amount.0, got = ?total,
            "payment amount does not match the order");
        return Err((
            format!("rejected: amount {total:?} != {}", order.total_amount.0),
            refuse(StatusCode::BAD_REQUEST, "金额不符"),
        ));
    }
    Ok(Payment {
        order_id: order.id,
        transaction_id: transaction_id.to_string(),
        amount: order.total_amount.0,
    })
}

/// Notifies skip the per-IP API limit (WeChat sends many from few
/// addresses), so what fails verification is counted against it here: a
/// flood of forgeries is refused without filling the notification log.
fn unverified_flood(state: &AppState, client: std::net::IpAddr) -> bool {
    state.limits.check_api(client).is_err()
}

/// The legacy v2 XML notify: verified with the APIv2 key; answered in XML.
pub async fn notify_v2(
    state: &AppState,
    client: std::net::IpAddr,
    body: &[u8],
) -> (StatusCode, String) {
    let key = match &state.pay {
        PayProvider::WeChat(pay) => pay.mch_key_v2.clone(),
        PayProvider::Mock => None,
    };
    let received = Received {
        state,
        kind: "pay_v2",
        raw: String::from_utf8_lossy(body).into_owned(),
        headers: None,
    };
    let record = |verified, processed, order, verdict| {
        received.record(verified, processed, order, None, verdict)
    };
    let Some(key) = key else {
        return (StatusCode::BAD_REQUEST, v2::reply(false, "未启用 v2 通知"));
    };
    let parsed = v2::parse(body);
    let verdict = match &parsed {
        Err(e) => Some(format!("rejected: {e}")),
        Ok(fields) if !v2::verify(fields, &key) => Some("rejected: sign".to_string()),
        Ok(_) => None,
    };
    if let Some(verdict) = verdict {
        if unverified_flood(state, client) {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                v2::reply(false, "请求过于频繁"),
            );
        }
        let order = parsed
            .as_ref()
            .ok()
            .and_then(|f| f.get("out_trade_no").cloned());
        record(false, false, order, verdict).await;
        return match parsed {
            Err(_) => (StatusCode::BAD_REQUEST, v2::reply(false, "XML 格式错误")),
            Ok(_) => (StatusCode::UNAUTHORIZED, v2::reply(false, "签名错误")),
        };
    }
    let fields: BTreeMap<String, String> = parsed.unwrap_or_default();
    let PayProvider::WeChat(pay) = &state.pay else {
        return (StatusCode::BAD_REQUEST, v2::reply(false, "未启用微信支付"));
    };
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    let order_id = Some(get("out_trade_no").to_string());
    if get("mch_id") != pay.mch_id() || get("appid") != pay.app_id {
        record(true, false, order_id, "rejected: mch_id/appid".into()).await;
        return (
            StatusCode::BAD_REQUEST,
            v2::reply(false, "商户号或 appid 不符"),
        );
    }
    if get("return_code") != "SUCCESS" || get("result_code") != "SUCCESS" {
        record(true, true, order_id, "ignored: not a success".into()).await;
        return (StatusCode::OK, v2::reply(true, ""));
    }
    let total = get("total_fee").parse::<i64>().ok();
    let payment = match expected_payment(
        state,
        get("out_trade_no"),
        Some(get("transaction_id")),
        total,
    )
    .await
    {
        Ok(p) => p,
        Err((verdict, refusal)) => {
            record(true, false, order_id, verdict).await;
            return (refusal.status, v2::reply(false, refusal.message));
        }
    };
    match settle(state, payment).await {
        Ok(s) => {
            record(true, true, order_id, settlement_verdict(&s)).await;
            (StatusCode::OK, v2::reply(true, ""))
        }
        Err(e) => {
            record(true, false, order_id, format!("failed: {}", e.code)).await;
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                v2::reply(false, "处理失败"),
            )
        }
    }
}

/// `POST /api/dev/payments/{orderId}/confirm`: plays a successful payment
/// through the same settlement as a notify. Dev mode only.
pub async fn dev_confirm(state: &AppState, order_id: &str) -> Result<Order, AppError> {
    let missing = || AppError::from(crate::store::orders::order_not_found());
    if !looks_like_id(order_id) {
        return Err(missing());
    }
    let id = order_id.to_string();
    let order = state
        .store
        .read(move |c| crate::store::orders::find_with_details(c, &id))
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
                .read(move |c| crate::store::orders::find_with_details(c, &id))
                .await?
                .ok_or_else(missing)
        }
    }
}

/// What to do with an expired pending order that reached WeChat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeforeExpire {
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
pub async fn before_expire(state: &AppState, order_id: &str, expires_at: i64) -> BeforeExpire {
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

/// A buyer polling a pending order whose notify has not come: ask WeChat
/// (at most every few seconds per order) and settle if it was paid.
pub async fn sync_pending(state: &AppState, order: &Order) -> bool {
    let PayProvider::WeChat(pay) = &state.pay else {
        return false;
    };
    if order.status != OrderStatus::Pending
        || !order.has_prepay
        || !state.caches.should_poll_payment(&order.id).await
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

/// Re-asks WeChat about refunds with no verdict yet (call failed, or the
/// notify is late); resends a refund WeChat never received.
pub async fn refund_tick(state: &AppState) -> anyhow::Result<usize> {
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

/// The ticket key, loaded (or created) once at start.
pub async fn load_qr_key(store: &crate::store::Store) -> anyhow::Result<QrKey> {
    Ok(store.write(|c| q::qr_key(c, now_ms())).await?)
}
