//! WeChat Pay's notifies (v3 JSON and the legacy v2 XML): verified, recorded
//! with their verdict, and settled once however often they come. Only what
//! WeChat signed is recorded: anyone can post to the notify URL, so a notify
//! that fails verification is counted (metrics, by reason) and sampled in
//! the log, and never stored nor linked to an order.

use std::collections::BTreeMap;

use crate::ids::looks_like_id;
use crate::model::time::now_ms;
use crate::state::{AppState, PayProvider};
use crate::store::StoreError;
use crate::store::payments::{self as q, NotificationRecord, Payment, Settlement};
use crate::store::refunds::{self, RefundOutcome};
use crate::wechat::pay::{SignatureHeaders, Transaction, WechatPay, v2};

use super::checkout::settle;

/// A notify that failed verification: counted by reason, and logged with a
/// short sample of its body at most once a second (a flood neither fills
/// the disk nor the log).
fn unverified(state: &AppState, kind: &'static str, reason: &'static str, body: &[u8]) {
    state.metrics.notify(reason);
    static LAST_SAMPLE_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let now = now_ms();
    let last = LAST_SAMPLE_MS.load(std::sync::atomic::Ordering::Relaxed);
    if now - last < 1_000
        || LAST_SAMPLE_MS
            .compare_exchange(
                last,
                now,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            )
            .is_err()
    {
        return;
    }
    let sample: String = String::from_utf8_lossy(&body[..body.len().min(160)])
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    tracing::warn!(kind, reason, bytes = body.len(), sample = %sample,
        "notify refused before verification (not stored)");
}

/// Why a v3 signature check failed, as a metrics label.
fn v3_reason(e: &crate::wechat::pay::VerifyError) -> &'static str {
    use crate::wechat::pay::VerifyError as V;
    match e {
        V::MissingHeaders => "unverified_unsigned",
        V::UnknownSerial => "unverified_unknown_serial",
        V::StaleTimestamp => "unverified_stale",
        V::SignTest => "unverified_signtest",
        V::BadSignature => "unverified_signature",
    }
}

/// One verified notify: recorded with its verdict, whatever becomes of it.
struct Received<'a> {
    state: &'a AppState,
    kind: &'static str,
    raw: String,
    headers: Option<String>,
}

impl Received<'_> {
    async fn record(
        &self,
        processed: bool,
        order: Option<String>,
        notify_id: Option<String>,
        verdict: String,
    ) {
        self.state
            .metrics
            .notify(notify_outcome(processed, &verdict));
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
                        verified: true,
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

/// Why a notify was refused, and what WeChat is told. WeChat retries a
/// refused notify, so the kind says whether a retry can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotifyFault {
    /// WeChat Pay (or its v2 notify) is not configured here.
    Disabled,
    /// The signature did not verify.
    Forged,
    /// Too many unverified notifies from this address.
    Flood,
    /// Verified (or parseable) but not acceptable: wrong merchant, unknown
    /// order or refund, wrong amount, unreadable content.
    Refused,
    /// Ours to fix: could not be applied now; a retry may succeed.
    Failed,
}

pub(crate) struct NotifyRefusal {
    pub fault: NotifyFault,
    pub message: &'static str,
}

fn refuse(fault: NotifyFault, message: &'static str) -> NotifyRefusal {
    NotifyRefusal { fault, message }
}

/// `POST /api/payments/wechat/notify` (v3 JSON). Every notify is recorded
/// with its verdict; a verified payment is settled once however often it
/// comes.
pub(crate) async fn notify_v3(
    state: &AppState,
    client: std::net::IpAddr,
    sig: &SignatureHeaders,
    body: &[u8],
    refund_notify: bool,
) -> Result<(), NotifyRefusal> {
    let kind = if refund_notify { "refund_v3" } else { "pay_v3" };
    let PayProvider::WeChat(pay) = &state.pay else {
        return Err(refuse(NotifyFault::Disabled, "未启用微信支付"));
    };
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
    let record = |processed, order, notify_id, verdict| {
        received.record(processed, order, notify_id, verdict)
    };
    if let Err(e) = pay.verifier.verify(sig, body, now_ms() / 1000) {
        unverified(state, kind, v3_reason(&e), body);
        if unverified_flood(state, client) {
            return Err(refuse(NotifyFault::Flood, "请求过于频繁"));
        }
        return Err(refuse(NotifyFault::Forged, "签名验证失败"));
    }
    let (envelope, plain) = match crate::wechat::pay::open_notify(body, &pay.api_v3_key) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, kind, "notify refused: resource");
            record(false, None, None, format!("rejected: {e}")).await;
            return Err(refuse(NotifyFault::Refused, "通知内容无法解密"));
        }
    };
    let notify_id = Some(envelope.id.clone()).filter(|s| !s.is_empty());
    if refund_notify {
        let info: crate::wechat::pay::RefundInfo = match serde_json::from_slice(&plain) {
            Ok(i) => i,
            Err(_) => {
                record(false, None, notify_id, "rejected: refund resource".into()).await;
                return Err(refuse(NotifyFault::Refused, "退款通知格式错误"));
            }
        };
        if info.mchid.as_deref().is_some_and(|m| m != pay.mch_id()) {
            record(false, None, notify_id, "rejected: mchid".into()).await;
            return Err(refuse(NotifyFault::Refused, "商户号不符"));
        }
        let outcome = RefundOutcome::from_wechat(info.state(), info.refund_id.clone());
        let no = info.out_refund_no.clone();
        let result = state
            .store
            .write(move |c| refunds::finish_refund(c, &no, &outcome, now_ms()))
            .await;
        let order = info.out_trade_no.clone();
        return match result {
            Ok(_) => {
                record(true, order, notify_id, format!("refund {}", info.state())).await;
                Ok(())
            }
            Err(StoreError::Rejected(_)) => {
                record(false, order, notify_id, "rejected: unknown refund".into()).await;
                Err(refuse(NotifyFault::Refused, "退款单不存在"))
            }
            Err(e) => {
                tracing::error!(error = %e, "refund notify could not be applied");
                Err(refuse(NotifyFault::Failed, "处理失败，请重试"))
            }
        };
    }
    let tx: Transaction = match serde_json::from_slice(&plain) {
        Ok(t) => t,
        Err(_) => {
            record(
                false,
                None,
                notify_id,
                "rejected: transaction resource".into(),
            )
            .await;
            return Err(refuse(NotifyFault::Refused, "支付通知格式错误"));
        }
    };
    let order_id = Some(tx.out_trade_no.clone());
    match check_transaction(state, pay, &tx).await {
        Ok(Some(payment)) => match settle(state, payment).await {
            Ok(s) => {
                record(true, order_id, notify_id, settlement_verdict(&s)).await;
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e.message, "payment could not be settled");
                record(false, order_id, notify_id, format!("failed: {}", e.code)).await;
                Err(refuse(NotifyFault::Failed, "处理失败，请重试"))
            }
        },
        Ok(None) => {
            record(
                true,
                order_id,
                notify_id,
                format!("ignored: {}", tx.trade_state),
            )
            .await;
            Ok(())
        }
        Err((verdict, refusal)) => {
            record(false, order_id, notify_id, verdict).await;
            Err(refusal)
        }
    }
}

/// A notify's verdict as one of a few words, for the metrics.
fn notify_outcome(processed: bool, verdict: &str) -> &'static str {
    match processed {
        false => "refused",
        true => match verdict {
            "paid" => "paid",
            "duplicate" => "duplicate",
            v if v.starts_with("paid after cancellation: seats") => "recovered",
            v if v.starts_with("paid after cancellation: refund") => "late_refund",
            _ => "processed",
        },
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
pub(super) async fn check_transaction(
    state: &AppState,
    pay: &WechatPay,
    tx: &Transaction,
) -> Result<Option<Payment>, (String, NotifyRefusal)> {
    if tx.mchid != pay.mch_id() || tx.appid != pay.app_id {
        tracing::error!(mchid = %tx.mchid, appid = %tx.appid, "notify for another merchant or app");
        return Err((
            "rejected: mchid/appid".into(),
            refuse(NotifyFault::Refused, "商户号或 appid 不符"),
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
            .read(move |c| crate::store::orders::find_with_details_any_tenant(c, &id))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let Some(order) = order else {
        return Err((
            "rejected: unknown order".into(),
            refuse(NotifyFault::Refused, "订单不存在"),
        ));
    };
    let Some(transaction_id) = transaction_id.filter(|t| !t.is_empty()) else {
        return Err((
            "rejected: no transaction id".into(),
            refuse(NotifyFault::Refused, "缺少微信支付订单号"),
        ));
    };
    if total != Some(order.total_amount.0) {
        tracing::error!(order = %order.id, expected = order.total_amount.0, got = ?total,
            "payment amount does not match the order");
        return Err((
            format!("rejected: amount {total:?} != {}", order.total_amount.0),
            refuse(NotifyFault::Refused, "金额不符"),
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
pub(crate) async fn notify_v2(
    state: &AppState,
    client: std::net::IpAddr,
    body: &[u8],
) -> Result<(), NotifyRefusal> {
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
    let record = |processed, order, verdict| received.record(processed, order, None, verdict);
    let Some(key) = key else {
        return Err(refuse(NotifyFault::Refused, "未启用 v2 通知"));
    };
    let parsed = v2::parse(body);
    let reason = match &parsed {
        Err(_) => Some("unverified_v2_xml"),
        Ok(fields) if !v2::verify(fields, &key) => Some("unverified_v2_sign"),
        Ok(_) => None,
    };
    if let Some(reason) = reason {
        unverified(state, "pay_v2", reason, body);
        if unverified_flood(state, client) {
            return Err(refuse(NotifyFault::Flood, "请求过于频繁"));
        }
        return match parsed {
            Err(_) => Err(refuse(NotifyFault::Refused, "XML 格式错误")),
            Ok(_) => Err(refuse(NotifyFault::Forged, "签名错误")),
        };
    }
    let fields: BTreeMap<String, String> = parsed.unwrap_or_default();
    let PayProvider::WeChat(pay) = &state.pay else {
        return Err(refuse(NotifyFault::Refused, "未启用微信支付"));
    };
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    let order_id = Some(get("out_trade_no").to_string());
    if get("mch_id") != pay.mch_id() || get("appid") != pay.app_id {
        record(false, order_id, "rejected: mch_id/appid".into()).await;
        return Err(refuse(NotifyFault::Refused, "商户号或 appid 不符"));
    }
    if get("return_code") != "SUCCESS" || get("result_code") != "SUCCESS" {
        record(true, order_id, "ignored: not a success".into()).await;
        return Ok(());
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
            record(false, order_id, verdict).await;
            return Err(refusal);
        }
    };
    match settle(state, payment).await {
        Ok(s) => {
            record(true, order_id, settlement_verdict(&s)).await;
            Ok(())
        }
        Err(e) => {
            record(false, order_id, format!("failed: {}", e.code)).await;
            Err(refuse(NotifyFault::Failed, "处理失败"))
        }
    }
}
