//! WeChat Pay APIv3 client: JSAPI prepay, query, close, refund, with every
//! request signed by the merchant key and every answer's signature verified.
//! Notify parsing lives here too; what a payment means for an order is
//! `crate::service::payments`.

pub mod crypto;
pub mod v2;

use std::time::Duration;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model::time::now_ms;
pub use crypto::{MerchantSigner, SignatureHeaders, Verifier, VerifyError};

/// Everything needed to talk to WeChat Pay as one merchant.
pub struct WechatPay {
    http: reqwest::Client,
    base: String,
    pub app_id: String,
    pub signer: MerchantSigner,
    pub verifier: Verifier,
    pub api_v3_key: [u8; 32],
    /// APIv2 key: when set, v2 XML notifies are accepted too.
    pub mch_key_v2: Option<String>,
    pub notify_url: String,
    pub refund_notify_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayError {
    /// Could not reach WeChat, or it answered 5xx / nonsense: try again later.
    #[error("微信支付暂时不可用: {0}")]
    Unavailable(String),
    /// WeChat's answer failed signature verification.
    #[error("微信支付应答验签失败: {0}")]
    BadSignature(VerifyError),
    /// WeChat refused the request (4xx with its error code).
    #[error("微信支付拒绝了请求: {code} {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
}

impl PayError {
    pub fn code(&self) -> Option<&str> {
        match self {
            PayError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The transaction object of a query answer or a decrypted payment notify.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transaction {
    #[serde(default)]
    pub appid: String,
    #[serde(default)]
    pub mchid: String,
    #[serde(default)]
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub trade_state: String,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub amount: Option<TransactionAmount>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TransactionAmount {
    #[serde(default)]
    pub total: Option<i64>,
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// A refund as WeChat reports it (refund answer, query, or refund notify).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RefundInfo {
    #[serde(default)]
    pub refund_id: Option<String>,
    #[serde(default)]
    pub out_refund_no: String,
    #[serde(default)]
    pub out_trade_no: Option<String>,
    /// In refund answers and queries.
    #[serde(default)]
    pub status: Option<String>,
    /// In refund notifies.
    #[serde(default)]
    pub refund_status: Option<String>,
    #[serde(default)]
    pub mchid: Option<String>,
}

impl RefundInfo {
    pub fn state(&self) -> &str {
        self.status
            .as_deref()
            .or(self.refund_status.as_deref())
            .unwrap_or("")
    }
}

/// The envelope of a v3 notify (payment or refund).
#[derive(Debug, Clone, Deserialize)]
pub struct NotifyEnvelope {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub event_type: String,
    pub resource: NotifyResource,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NotifyResource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: String,
    pub nonce: String,
    #[serde(default)]
    pub original_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("通知格式错误")]
    Malformed,
    #[error(transparent)]
    Decrypt(#[from] crypto::DecryptError),
}

/// Parses a v3 notify body and decrypts its resource. Shared by the notify
/// endpoint and the fuzz target.
pub fn open_notify(
    body: &[u8],
    api_v3_key: &[u8],
) -> Result<(NotifyEnvelope, Vec<u8>), NotifyError> {
    let env: NotifyEnvelope = serde_json::from_slice(body).map_err(|_| NotifyError::Malformed)?;
    if env.resource.algorithm != "AEAD_AES_256_GCM" {
        return Err(crypto::DecryptError::Algorithm.into());
    }
    let plain = crypto::decrypt_resource(
        api_v3_key,
        &env.resource.nonce,
        &env.resource.associated_data,
        &env.resource.ciphertext,
    )?;
    Ok((env, plain))
}

pub fn nonce() -> String {
    crate::ids::random_token(32)
}

impl WechatPay {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        http: reqwest::Client,
        base: &str,
        app_id: &str,
        signer: MerchantSigner,
        verifier: Verifier,
        api_v3_key: [u8; 32],
        mch_key_v2: Option<String>,
        public_base_url: &str,
    ) -> Self {
        let public = public_base_url.trim_end_matches('/');
        WechatPay {
            http,
            base: base.trim_end_matches('/').to_string(),
            app_id: app_id.to_string(),
            signer,
            verifier,
            api_v3_key,
            mch_key_v2,
            notify_url: format!("{public}/api/payments/wechat/notify"),
            refund_notify_url: format!("{public}/api/payments/wechat/refund-notify"),
        }
    }

    pub fn mch_id(&self) -> &str {
        &self.signer.mch_id
    }

    /// One signed call; the answer's signature is verified before its body is
    /// trusted. Returns the status and the (verified) body.
    async fn call(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, bytes::Bytes), PayError> {
        let body_text = body.map(|b| b.to_string()).unwrap_or_default();
        let ts = now_ms() / 1000;
        let nonce = nonce();
        let auth =
            self.signer
                .authorization(method.as_str(), path_and_query, &body_text, ts, &nonce);
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path_and_query))
            .header("Authorization", auth)
            .header("Accept", "application/json")
            .timeout(Duration::from_secs(5));
        if body.is_some() {
            req = req
                .header("Content-Type", "application/json")
                .body(body_text);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| PayError::Unavailable(e.to_string()))?;
        let status = resp.status().as_u16();
        let headers = SignatureHeaders::from_headers(resp.headers());
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| PayError::Unavailable(e.to_string()))?;
        if status >= 500 {
            return Err(PayError::Unavailable(format!("HTTP {status}")));
        }
        if (200..300).contains(&status) {
            self.verifier
                .verify(&headers, &bytes, now_ms() / 1000)
                .map_err(PayError::BadSignature)?;
            return Ok((status, bytes));
        }
        #[derive(Deserialize, Default)]
        struct ErrBody {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }
        let e: ErrBody = serde_json::from_slice(&bytes).unwrap_or_default();
        Err(PayError::Refused {
            status,
            code: e.code,
            message: e.message,
        })
    }

    /// `POST /v3/pay/transactions/jsapi` → prepay_id.
    pub async fn prepay(
        &self,
        order_id: &str,
        description: &str,
        total_fen: i64,
        openid: &str,
        time_expire: &str,
    ) -> Result<String, PayError> {
        let body = json!({
            "appid": self.app_id,
            "mchid": self.mch_id(),
            "description": description,
            "out_trade_no": order_id,
            "time_expire": time_expire,
            "notify_url": self.notify_url,
            "amount": {"total": total_fen, "currency": "CNY"},
            "payer": {"openid": openid},
        });
        let (_, bytes) = self
            .call(
                reqwest::Method::POST,
                "/v3/pay/transactions/jsapi",
                Some(&body),
            )
            .await?;
        #[derive(Deserialize)]
        struct Prepay {
            prepay_id: String,
        }
        serde_json::from_slice::<Prepay>(&bytes)
            .map(|p| p.prepay_id)
            .map_err(|e| PayError::Unavailable(format!("prepay answer: {e}")))
    }

    /// `GET /v3/pay/transactions/out-trade-no/{id}?mchid=`. `Ok(None)` when
    /// WeChat does not know the order (`ORDER_NOT_EXIST`).
    pub async fn query(&self, order_id: &str) -> Result<Option<Transaction>, PayError> {
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{order_id}?mchid={}",
            self.mch_id()
        );
        match self.call(reqwest::Method::GET, &path, None).await {
            Ok((_, bytes)) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| PayError::Unavailable(format!("query answer: {e}"))),
            Err(e) if e.code() == Some("ORDER_NOT_EXIST") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST …/out-trade-no/{id}/close`: the order can no longer be paid.
    pub async fn close(&self, order_id: &str) -> Result<(), PayError> {
        let path = format!("/v3/pay/transactions/out-trade-no/{order_id}/close");
        match self
            .call(
                reqwest::Method::POST,
                &path,
                Some(&json!({"mchid": self.mch_id()})),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Already closed, or never created at WeChat: nothing to close.
            Err(e) if matches!(e.code(), Some("ORDER_CLOSED") | Some("ORDER_NOT_EXIST")) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `POST /v3/refund/domestic/refunds`. Re-sending the same
    /// `out_refund_no` is safe: WeChat treats it as the same refund.
    pub async fn refund(
        &self,
        order_id: &str,
        out_refund_no: &str,
        reason: Option<&str>,
        refund_fen: i64,
        total_fen: i64,
    ) -> Result<RefundInfo, PayError> {
        let mut body = json!({
            "out_trade_no": order_id,
            "out_refund_no": out_refund_no,
            "notify_url": self.refund_notify_url,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
        });
        if let Some(r) = reason.filter(|r| !r.is_empty()) {
            body["reason"] = json!(r);
        }
        let (_, bytes) = self
            .call(
                reqwest::Method::POST,
                "/v3/refund/domestic/refunds",
                Some(&body),
            )
            .await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| PayError::Unavailable(format!("refund answer: {e}")))
    }

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`; `Ok(None)` when
    /// WeChat has no such refund (the request never reached it).
    pub async fn query_refund(&self, out_refund_no: &str) -> Result<Option<RefundInfo>, PayError> {
        let path = format!("/v3/refund/domestic/refunds/{out_refund_no}");
        match self.call(reqwest::Method::GET, &path, None).await {
            Ok((_, bytes)) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| PayError::Unavailable(format!("refund query answer: {e}"))),
            Err(e) if e.code() == Some("RESOURCE_NOT_EXISTS") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The parameters `wx.requestPayment` takes, signed with the merchant key.
    pub fn request_payment_params(&self, prepay_id: &str) -> PaymentParams {
        let time_stamp = (now_ms() / 1000).to_string();
        let nonce_str = nonce();
        let package = format!("prepay_id={prepay_id}");
        let pay_sign = self.signer.sign(
            crypto::pay_sign_message(&self.app_id, &time_stamp, &nonce_str, &package).as_bytes(),
        );
        PaymentParams {
            app_id: self.app_id.clone(),
            time_stamp,
            nonce_str,
            package,
            sign_type: SignType::Rsa,
            pay_sign,
        }
    }
}

/// The spec's answer to `POST /api/payments/wechat`: exactly what
/// `wx.requestPayment` takes.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentParams {
    pub app_id: String,
    /// Seconds since the epoch, as a string.
    pub time_stamp: String,
    pub nonce_str: String,
    /// `prepay_id=…`
    pub package: String,
    pub sign_type: SignType,
    pub pay_sign: String,
}

/// How `paySign` is signed: always RSA with SHA-256 (APIv3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum SignType {
    #[serde(rename = "RSA")]
    Rsa,
}

/// Random 12-character nonce for AEAD resources we produce (dev mock).
pub fn aead_nonce() -> String {
    let mut rng = rand::rng();
    (0..12)
        .map(|_| (b'a' + rng.random_range(0..26u8)) as char)
        .collect()
}
