//! Test harness: the real app on 127.0.0.1:0 with a temporary data dir, spoken
//! to over HTTP. Fixtures are written through the app's own store functions.
#![allow(dead_code)]

pub mod fake_pay;
pub mod fake_wechat;

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
use reqwest::StatusCode;
use serde_json::Value;
use standup_tickets::app::{self, RunningApp};
use standup_tickets::config::Config;
use standup_tickets::model::Fen;
use standup_tickets::store::catalog::{InsertedEvent, NewEvent, NewPriceOption, insert_event};
use standup_tickets::store::tenants::{NewTenant, insert};
use standup_tickets::store::{Store, StoreResult};

pub struct TestApp {
    pub app: RunningApp,
    pub client: reqwest::Client,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl TestApp {
    /// An empty database (no demo club).
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// A fresh temporary data dir (removed with the app); `tweak` adjusts the config.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut t = Self::start_in(&dir, tweak).await;
        t._tmp = Some(tmp);
        t
    }

    /// Starts on an existing data dir (for restarts); `tweak` adjusts the config.
    pub async fn start_in(dir: &Path, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = Config::for_tests(dir);
        tweak(&mut config);
        let app = app::spawn(config).await.expect("app starts");
        standup_tickets::wechat::install_crypto_provider();
        TestApp {
            app,
            client: reqwest::Client::new(),
            dir: dir.to_path_buf(),
            _tmp: None,
        }
    }

    pub fn store(&self) -> &Store {
        &self.app.state.store
    }

    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// GET, returning status and the parsed JSON body (which must be JSON).
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: body is not JSON ({e}): {text}"));
        (status, body)
    }

    /// GET that must succeed; returns `data` after checking the envelope.
    pub async fn data(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_envelope(&body, 200);
        body["data"].clone()
    }

    /// GET that must fail with `status` and machine code `error`.
    pub async fn expect_error(&self, path: &str, status: u16, error: &str) -> Value {
        let (got, body) = self.get(path).await;
        assert_eq!(got.as_u16(), status, "{path}: {body}");
        assert_envelope(&body, status);
        assert_eq!(body["error"], error, "{path}: {body}");
        let msg = body["message"].as_str().unwrap();
        assert!(
            msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "message should be Chinese: {msg}"
        );
        body
    }

    /// A request with an optional bearer token and JSON body; status and JSON
    /// body (plus the raw text, to look for things that must not be there).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = res.text().await.unwrap();
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: body is not JSON ({e}): {text}"));
        if json.get("code").is_some() {
            assert_envelope(&json, status);
        }
        Reply {
            status,
            json,
            text,
            retry_after,
        }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(reqwest::Method::PUT, path, token, Some(body))
            .await
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// Dev-mode (or fake-WeChat) login; returns (token, user).
    pub async fn login(&self, code: &str, tenant: &str) -> (String, Value) {
        let r = self
            .post(
                "/api/auth/wechat/login",
                None,
                serde_json::json!({"code": code, "tenantId": tenant}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["message"], "登录成功");
        (
            r.json["data"]["token"].as_str().unwrap().to_string(),
            r.json["data"]["user"].clone(),
        )
    }

    pub async fn write<T, F>(&self, f: F) -> T
    where
        F: FnOnce(&rusqlite::Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.store().write(f).await.expect("fixture write")
    }

    pub async fn seed_tenant(&self, id: &str) {
        let t = NewTenant {
            id: id.into(),
            name: format!("俱乐部 {id}"),
            ..Default::default()
        };
        self.write(move |c| insert(c, &t)).await;
    }

    pub async fn seed_event(&self, e: NewEvent) -> InsertedEvent {
        let tz = self.app.state.config.timezone;
        let out = self.write(move |c| insert_event(c, tz, &e)).await;
        self.app.state.caches.invalidate_catalog();
        out
    }

    pub async fn stop(self) {
        self.app.stop().await.expect("clean stop");
    }
}

pub struct Reply {
    pub status: u16,
    pub json: Value,
    pub text: String,
    pub retry_after: Option<String>,
}

impl Reply {
    /// Asserts a failure with this status and machine code.
    pub fn expect(&self, status: u16, error: &str) -> &Self {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.json["error"], error, "{}", self.text);
        self
    }

    pub fn data(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.text);
        &self.json["data"]
    }
}

pub fn assert_envelope(body: &Value, code: u16) {
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].is_string(), "{body}");
    let ts = body["timestamp"].as_i64().expect("timestamp in ms");
    assert!(ts > 1_700_000_000_000, "timestamp is milliseconds: {ts}");
}

pub fn option(name: &str, price_fen: i64, count: i64, sort: i64) -> NewPriceOption {
    NewPriceOption::active(name, Fen(price_fen), count, sort)
}

/// An on-sale show on `date` at `time` (club-local) with two price options.
pub fn show(tenant: &str, title: &str, date: NaiveDate, time: &str) -> NewEvent {
    NewEvent {
        description: Some("描述".into()),
        performers: vec!["演员甲".into()],
        tags: vec!["测试".into()],
        ..NewEvent::on_sale(
            tenant,
            title,
            date,
            NaiveTime::parse_from_str(time, "%H:%M").unwrap(),
            vec![
                option("普通座", 8850, 100, 0),
                option("前排座", 12800, 20, 1),
            ],
        )
    }
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The club's today shifted by `days`.
pub fn days_from_today(days: i64) -> NaiveDate {
    standup_tickets::model::time::today_in(chrono_tz::Asia::Shanghai) + chrono::Duration::days(days)
}

/// The body of `POST /api/orders` with a valid contact.
pub fn order_body(event: &str, option: &str, quantity: i64) -> Value {
    serde_json::json!({"eventId": event, "priceOptionId": option, "quantity": quantity,
           "userInfo": {"name": "张三", "phone": "13800138000"}})
}
