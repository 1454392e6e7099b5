//! A protocol-faithful stand-in for WeChat Pay APIv3 on 127.0.0.1. It checks
//! OUR `Authorization` signatures with the merchant public key, answers like
//! WeChat (JSON, error codes, every answer signed with the "WeChat Pay public
//! key"), and builds notifies encrypted with the APIv3 key. All keys are
//! generated here; the production client code runs unchanged against it.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::Sha256;
use standup_tickets::config::{PayConfig, Secret};
use standup_tickets::wechat::pay::crypto::encrypt_resource;

pub const MCH_ID: &str = "1900000109";
pub const MCH_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const PUB_KEY_ID: &str = "PUB_KEY_ID_0119000001092025000000000001";
pub const API_V3_KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";
pub const MCH_KEY_V2: &str = "192006250b4c09247ec02edce69f6a2d";

/// 2048-bit keys take a moment to generate: once per test binary.
pub struct Keys {
    pub merchant: RsaPrivateKey,
    pub wechat: RsaPrivateKey,
    /// Someone else's key, for forged signatures.
    pub stranger: RsaPrivateKey,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rsa::rand_core::OsRng;
        let new_key = |rng: &mut rsa::rand_core::OsRng| RsaPrivateKey::new(rng, 2048).unwrap();
        Keys {
            merchant: new_key(&mut rng),
            wechat: new_key(&mut rng),
            stranger: new_key(&mut rng),
        }
    })
}

pub fn rsa_sign(key: &RsaPrivateKey, msg: &[u8]) -> String {
    let sk = SigningKey::<Sha256>::new(key.clone());
    B64.encode(sk.sign(msg).to_bytes())
}

pub fn rsa_verify(key: &RsaPublicKey, msg: &[u8], sig_b64: &str) -> bool {
    let Ok(sig) = B64.decode(sig_b64) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(sig.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(msg, &sig)
        .is_ok()
}

#[derive(Debug, Clone)]
pub struct FakeTx {
    pub amount: i64,
    pub openid: String,
    pub appid: String,
    pub state: String,
    pub transaction_id: String,
    pub time_expire: String,
    pub notify_url: String,
}

#[derive(Default)]
pub struct PayState {
    pub txs: Mutex<HashMap<String, FakeTx>>,
    pub refunds: Mutex<HashMap<String, Value>>,
    /// What a refund request answers: SUCCESS or PROCESSING.
    pub refund_answer: Mutex<String>,
    pub prepay_calls: AtomicU32,
    pub query_calls: AtomicU32,
    /// How long an order query takes to answer (a slow or silent WeChat).
    pub query_delay: Mutex<std::time::Duration>,
    pub close_calls: AtomicU32,
    pub refund_calls: AtomicU32,
    /// How many refund requests to refuse with `403 NOT_ENOUGH` (the
    /// merchant's balance is short) before taking them again.
    pub refund_refusals: AtomicU32,
    /// Requests whose Authorization did not verify.
    pub bad_auth: AtomicU32,
}

pub struct FakePay {
    pub addr: SocketAddr,
    pub state: Arc<PayState>,
}

impl FakePay {
    pub async fn start() -> FakePay {
        let state = Arc::new(PayState {
            refund_answer: Mutex::new("SUCCESS".into()),
            ..Default::default()
        });
        let app = axum::Router::new()
            .route("/{*path}", any(handle))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakePay { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes the key files and returns the merchant configuration the app
    /// is started with.
    pub fn pay_config(dir: &Path, with_v2: bool) -> PayConfig {
        let k = keys();
        let key_path = dir.join("apiclient_key.pem");
        std::fs::write(
            &key_path,
            k.merchant.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        let pub_path = dir.join("pub_key.pem");
        std::fs::write(
            &pub_path,
            RsaPublicKey::from(&k.wechat)
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        )
        .unwrap();
        PayConfig {
            mch_id: MCH_ID.into(),
            mch_serial_no: MCH_SERIAL.into(),
            mch_private_key_path: key_path,
            api_v3_key: Secret(API_V3_KEY.into()),
            pay_public_key: Some((PUB_KEY_ID.into(), pub_path)),
            platform_cert_paths: Vec::new(),
            mch_key_v2: with_v2.then(|| Secret(MCH_KEY_V2.into())),
            public_base_url: "https://club.example.com".into(),
        }
    }

    /// The buyer pays at WeChat: the transaction becomes SUCCESS.
    pub fn pay(&self, order_id: &str) -> FakeTx {
        let mut txs = self.state.txs.lock().unwrap();
        let tx = txs.get_mut(order_id).expect("prepaid order");
        tx.state = "SUCCESS".into();
        tx.transaction_id = format!("4200000{}", &order_id[..10]);
        tx.clone()
    }

    /// A SUCCESS transaction for `order_id` as a notify would carry it,
    /// without the fake's own record changing (so polling finds it unpaid).
    pub fn success_resource(&self, order_id: &str) -> Value {
        let txs = self.state.txs.lock().unwrap();
        let mut tx = txs.get(order_id).expect("prepaid order").clone();
        tx.state = "SUCCESS".into();
        tx.transaction_id = format!("4200000{}", &order_id[..10]);
        transaction_json(order_id, &tx)
    }

    /// The decrypted transaction WeChat would send for `order_id`.
    pub fn transaction(&self, order_id: &str) -> Value {
        let txs = self.state.txs.lock().unwrap();
        let tx = txs.get(order_id).expect("prepaid order");
        transaction_json(order_id, tx)
    }
}

pub fn transaction_json(order_id: &str, tx: &FakeTx) -> Value {
    json!({
        "appid": tx.appid, "mchid": MCH_ID, "out_trade_no": order_id,
        "transaction_id": tx.transaction_id, "trade_type": "JSAPI",
        "trade_state": tx.state, "trade_state_desc": "支付成功", "bank_type": "CMC",
        "attach": "", "success_time": "2026-11-25T18:00:00+08:00",
        "payer": {"openid": tx.openid},
        "amount": {"total": tx.amount, "payer_total": tx.amount, "currency": "CNY", "payer_currency": "CNY"}
    })
}

/// How to spoil a notify, for the rejection tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoil {
    None,
    ForgedSignature,
    WrongSerial,
    StaleTimestamp,
    SignTest,
    TamperedCiphertext,
    WrongApiV3Key,
}

/// A v3 notify as WeChat sends it: encrypted resource, signed headers.
pub fn notify(
    event_type: &str,
    original_type: &str,
    resource: &Value,
    spoil: Spoil,
) -> (Vec<(String, String)>, String) {
    let nonce = "fakeNonce123";
    let key: [u8; 32] = if spoil == Spoil::WrongApiV3Key {
        *b"ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
    } else {
        API_V3_KEY.as_bytes().try_into().unwrap()
    };
    let mut ciphertext =
        encrypt_resource(&key, nonce, original_type, resource.to_string().as_bytes());
    if spoil == Spoil::TamperedCiphertext {
        let mut raw = B64.decode(&ciphertext).unwrap();
        raw[3] ^= 0x01;
        ciphertext = B64.encode(raw);
    }
    let body = json!({
        "id": format!("EV-{}", standup_tickets::ids::new_id()),
        "create_time": "2026-11-25T18:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": ciphertext, "associated_data": original_type, "nonce": nonce}
    })
    .to_string();
    (signed_headers(body.as_bytes(), spoil), body)
}

pub fn signed_headers(body: &[u8], spoil: Spoil) -> Vec<(String, String)> {
    let k = keys();
    let mut ts = chrono::Utc::now().timestamp();
    if spoil == Spoil::StaleTimestamp {
        ts -= 301;
    }
    let nonce = standup_tickets::wechat::pay::nonce();
    let msg = standup_tickets::wechat::pay::crypto::response_message(&ts.to_string(), &nonce, body);
    let signer = if spoil == Spoil::ForgedSignature {
        &k.stranger
    } else {
        &k.wechat
    };
    let mut signature = rsa_sign(signer, &msg);
    if spoil == Spoil::SignTest {
        signature = format!("WECHATPAY/SIGNTEST/{signature}");
    }
    let serial = if spoil == Spoil::WrongSerial {
        "PUB_KEY_ID_0000000000000000000000000000"
    } else {
        PUB_KEY_ID
    };
    vec![
        ("Wechatpay-Serial".into(), serial.into()),
        ("Wechatpay-Timestamp".into(), ts.to_string()),
        ("Wechatpay-Nonce".into(), nonce),
        ("Wechatpay-Signature".into(), signature),
        (
            "Wechatpay-Signature-Type".into(),
            "WECHATPAY2-SHA256-RSA2048".into(),
        ),
    ]
}

/// A v2 XML notify, signed with MD5 or HMAC-SHA256.
pub fn v2_notify(order_id: &str, amount: i64, appid: &str, hmac: bool, key: &str) -> String {
    let mut f: BTreeMap<String, String> = [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("appid", appid),
        ("mch_id", MCH_ID),
        ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
        ("openid", "oid_buyer"),
        ("trade_type", "JSAPI"),
        ("bank_type", "CMC"),
        ("fee_type", "CNY"),
        ("out_trade_no", order_id),
        ("time_end", "20261125180000"),
        ("is_subscribe", "N"),
        ("attach", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    f.insert("total_fee".into(), amount.to_string());
    f.insert("cash_fee".into(), amount.to_string());
    f.insert(
        "transaction_id".into(),
        format!("4200v2{}", &order_id[..10]),
    );
    let sign = if hmac {
        f.insert("sign_type".into(), "HMAC-SHA256".into());
        standup_tickets::wechat::pay::v2::sign_hmac_sha256(&f, key)
    } else {
        standup_tickets::wechat::pay::v2::sign_md5(&f, key)
    };
    f.insert("sign".into(), sign);
    standup_tickets::wechat::pay::v2::to_xml(&f)
}

fn parse_authorization(h: &str) -> Option<HashMap<String, String>> {
    let rest = h.strip_prefix("WECHATPAY2-SHA256-RSA2048 ")?;
    let mut out = HashMap::new();
    for part in rest.split(',') {
        let (k, v) = part.split_once('=')?;
        out.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
    }
    Some(out)
}

fn answer(status: StatusCode, body: Option<Value>) -> Response {
    let text = body.map(|b| b.to_string()).unwrap_or_default();
    let mut resp = (status, text.clone()).into_response();
    for (k, v) in signed_headers(text.as_bytes(), Spoil::None) {
        resp.headers_mut().insert(
            axum::http::HeaderName::try_from(k).unwrap(),
            v.parse().unwrap(),
        );
    }
    resp.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    resp
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    answer(status, Some(json!({"code": code, "message": message})))
}

async fn handle(
    State(s): State<Arc<PayState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Every request must carry a valid merchant signature.
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization);
    let url = uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    let ok = auth.as_ref().is_some_and(|a| {
        let msg = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            method,
            url,
            a.get("timestamp").map(String::as_str).unwrap_or(""),
            a.get("nonce_str").map(String::as_str).unwrap_or(""),
            String::from_utf8_lossy(&body)
        );
        a.get("mchid").map(String::as_str) == Some(MCH_ID)
            && a.get("serial_no").map(String::as_str) == Some(MCH_SERIAL)
            && rsa_verify(
                &RsaPublicKey::from(&keys().merchant),
                msg.as_bytes(),
                a.get("signature").map(String::as_str).unwrap_or(""),
            )
    });
    if !ok {
        s.bad_auth.fetch_add(1, Ordering::SeqCst);
        return error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", "签名错误");
    }
    let path = uri.path();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if method == Method::POST && path == "/v3/pay/transactions/jsapi" {
        s.prepay_calls.fetch_add(1, Ordering::SeqCst);
        let Some(order_id) = json["out_trade_no"].as_str() else {
            return error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "缺少 out_trade_no");
        };
        if json["mchid"] != MCH_ID
            || json["amount"]["currency"] != "CNY"
            || !json["amount"]["total"].is_i64()
            || json["payer"]["openid"].as_str().is_none_or(str::is_empty)
            || !json["notify_url"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://"))
            || json["description"]
                .as_str()
                .is_none_or(|d| d.chars().count() > 127)
        {
            return error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "参数错误");
        }
        let time_expire = json["time_expire"].as_str().unwrap_or("").to_string();
        if chrono::DateTime::parse_from_rfc3339(&time_expire).is_err() {
            return error(
                StatusCode::BAD_REQUEST,
                "PARAM_ERROR",
                "time_expire 格式错误",
            );
        }
        s.txs.lock().unwrap().insert(
            order_id.to_string(),
            FakeTx {
                amount: json["amount"]["total"].as_i64().unwrap(),
                openid: json["payer"]["openid"].as_str().unwrap().to_string(),
                appid: json["appid"].as_str().unwrap_or("").to_string(),
                state: "NOTPAY".into(),
                transaction_id: String::new(),
                time_expire,
                notify_url: json["notify_url"].as_str().unwrap().to_string(),
            },
        );
        return answer(
            StatusCode::OK,
            Some(json!({"prepay_id": format!("wx{}", &order_id[..16])})),
        );
    }
    if let Some(rest) = path.strip_prefix("/v3/pay/transactions/out-trade-no/") {
        if let Some(order_id) = rest.strip_suffix("/close") {
            s.close_calls.fetch_add(1, Ordering::SeqCst);
            if json["mchid"] != MCH_ID {
                return error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "mchid");
            }
            let mut txs = s.txs.lock().unwrap();
            return match txs.get_mut(order_id) {
                Some(tx) if tx.state == "SUCCESS" => {
                    error(StatusCode::BAD_REQUEST, "ORDER_PAID", "订单已支付")
                }
                Some(tx) => {
                    tx.state = "CLOSED".into();
                    answer(StatusCode::NO_CONTENT, None)
                }
                None => error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在"),
            };
        }
        s.query_calls.fetch_add(1, Ordering::SeqCst);
        let delay = *s.query_delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if !uri
            .query()
            .unwrap_or("")
            .contains(&format!("mchid={MCH_ID}"))
        {
            return error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "mchid");
        }
        let txs = s.txs.lock().unwrap();
        return match txs.get(rest) {
            Some(tx) => answer(StatusCode::OK, Some(transaction_json(rest, tx))),
            None => error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在"),
        };
    }
    if method == Method::POST && path == "/v3/refund/domestic/refunds" {
        s.refund_calls.fetch_add(1, Ordering::SeqCst);
        if s.refund_refusals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return error(
                StatusCode::FORBIDDEN,
                "NOT_ENOUGH",
                "基本账户余额不足，请充值后重新发起",
            );
        }
        let order_id = json["out_trade_no"].as_str().unwrap_or("");
        let no = json["out_refund_no"].as_str().unwrap_or("").to_string();
        let txs = s.txs.lock().unwrap();
        let Some(tx) = txs
            .get(order_id)
            .filter(|t| t.state == "SUCCESS" || t.state == "REFUND")
        else {
            return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "订单未支付");
        };
        if json["amount"]["total"].as_i64() != Some(tx.amount)
            || json["amount"]["refund"]
                .as_i64()
                .is_none_or(|r| r <= 0 || r > tx.amount)
            || json["amount"]["currency"] != "CNY"
        {
            return error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "金额错误");
        }
        let mut refunds = s.refunds.lock().unwrap();
        let status = s.refund_answer.lock().unwrap().clone();
        let r = refunds.entry(no.clone()).or_insert_with(|| {
            json!({
                "refund_id": format!("5030{}", &no[..10]), "out_refund_no": no,
                "transaction_id": tx.transaction_id, "out_trade_no": order_id,
                "channel": "ORIGINAL", "user_received_account": "招商银行信用卡0403",
                "create_time": "2026-11-25T18:00:00+08:00", "status": status,
                "amount": {"total": tx.amount, "refund": json["amount"]["refund"],
                           "payer_total": tx.amount, "payer_refund": json["amount"]["refund"],
                           "settlement_refund": json["amount"]["refund"], "settlement_total": tx.amount,
                           "discount_refund": 0, "currency": "CNY"}
            })
        });
        return answer(StatusCode::OK, Some(r.clone()));
    }
    if let Some(no) = path.strip_prefix("/v3/refund/domestic/refunds/") {
        let refunds = s.refunds.lock().unwrap();
        return match refunds.get(no) {
            Some(r) => answer(StatusCode::OK, Some(r.clone())),
            None => error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "退款单不存在"),
        };
    }
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such API")
}
