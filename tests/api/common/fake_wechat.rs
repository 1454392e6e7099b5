//! A protocol-faithful stand-in for WeChat's mini-program server API on
//! 127.0.0.1: jscode2session, stable_token and getuserphonenumber, with
//! WeChat's parameter checks and error codes. The production client talks to it
//! unchanged.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub const APP_ID: &str = "wx0123456789abcdef";
pub const APP_SECRET: &str = "fake-app-secret-0123456789abcdef";

#[derive(Default)]
pub struct FakeState {
    used_codes: Mutex<HashSet<String>>,
    current_token: Mutex<Option<String>>,
    pub token_calls: AtomicU32,
    pub session_calls: AtomicU32,
    pub phone_calls: AtomicU32,
    /// The next phone call finds its token revoked (as when another server
    /// forced a refresh): answers 40001 once.
    pub revoke_token: AtomicBool,
}

pub struct FakeWechat {
    pub addr: SocketAddr,
    pub state: Arc<FakeState>,
}

impl FakeWechat {
    pub async fn start() -> FakeWechat {
        let state = Arc::new(FakeState::default());
        let app = Router::new()
            .route("/sns/jscode2session", get(code2session))
            .route("/cgi-bin/stable_token", post(stable_token))
            .route("/wxa/business/getuserphonenumber", post(phone))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeWechat { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn err(code: i64, msg: &str) -> Json<Value> {
    Json(json!({"errcode": code, "errmsg": msg}))
}

#[derive(Deserialize)]
struct SessionQuery {
    appid: Option<String>,
    secret: Option<String>,
    js_code: Option<String>,
    grant_type: Option<String>,
}

/// Codes look like `<person>-<n>`: the person fixes the openid, so one person
/// logs in again with a fresh code. People whose name starts with `u` have a
/// unionid. A few names trigger WeChat's error answers.
async fn code2session(
    State(s): State<Arc<FakeState>>,
    Query(q): Query<SessionQuery>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    s.session_calls.fetch_add(1, Ordering::SeqCst);
    if q.appid.as_deref() != Some(APP_ID) {
        return err(40013, "invalid appid").into_response();
    }
    if q.secret.as_deref() != Some(APP_SECRET) {
        return err(40125, "invalid appsecret").into_response();
    }
    if q.grant_type.as_deref() != Some("authorization_code") {
        return err(40002, "invalid grant_type").into_response();
    }
    let Some(code) = q.js_code.filter(|c| !c.is_empty()) else {
        return err(41008, "missing code").into_response();
    };
    match code.as_str() {
        "busy" => return err(-1, "system error").into_response(),
        "bad" => return err(40029, "invalid code").into_response(),
        "limited" => return err(45011, "api minute-quota reach limit").into_response(),
        "risky" => return err(40226, "invalid risky user").into_response(),
        // WeChat labels JSON as text/plain; and sometimes a proxy answers HTML.
        "html" => return ([("content-type", "text/html")], "<html>502</html>").into_response(),
        _ => {}
    }
    if !s.used_codes.lock().unwrap().insert(code.clone()) {
        return err(40163, "code been used").into_response();
    }
    let person = code.split('-').next().unwrap_or(&code).to_string();
    let mut body = json!({
        "openid": format!("oid_{person}"),
        "session_key": format!("SESSIONKEY_{person}_secret=="),
    });
    if person.starts_with('u') {
        body["unionid"] = json!(format!("union_{person}"));
    }
    ([("content-type", "text/plain")], body.to_string()).into_response()
}

async fn stable_token(State(s): State<Arc<FakeState>>, Json(body): Json<Value>) -> Json<Value> {
    if body["grant_type"] != "client_credential" {
        return err(40002, "invalid grant_type");
    }
    if body["appid"] != APP_ID {
        return err(40013, "invalid appid");
    }
    if body["secret"] != APP_SECRET {
        return err(40125, "invalid appsecret");
    }
    let n = s.token_calls.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!("ACCESS_TOKEN_{n}");
    *s.current_token.lock().unwrap() = Some(token.clone());
    Json(json!({"access_token": token, "expires_in": 7200}))
}

#[derive(Deserialize)]
struct TokenQuery {
    access_token: Option<String>,
}

async fn phone(
    State(s): State<Arc<FakeState>>,
    Query(q): Query<TokenQuery>,
    Json(body): Json<Value>,
) -> Json<Value> {
    s.phone_calls.fetch_add(1, Ordering::SeqCst);
    let current = s.current_token.lock().unwrap().clone();
    if q.access_token.is_none() || q.access_token != current {
        return err(
            40001,
            "invalid credential, access_token is invalid or not latest",
        );
    }
    if s.revoke_token.swap(false, Ordering::SeqCst) {
        *s.current_token.lock().unwrap() = None;
        return err(
            40001,
            "invalid credential, access_token is invalid or not latest",
        );
    }
    let code = body["code"].as_str().unwrap_or_default();
    let (full, pure, country) = match code {
        "bad" => return err(40029, "invalid code"),
        "foreign" => ("+1 2025550123", "2025550123", json!(1)),
        // countryCode is documented as a string but arrives as a number.
        _ => ("13800138000", "13800138000", json!(86)),
    };
    Json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": full,
            "purePhoneNumber": pure,
            "countryCode": country,
            "watermark": {"timestamp": 1700000000, "appid": APP_ID}
        }
    }))
}
