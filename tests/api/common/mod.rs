//! Test harness: the real app on 127.0.0.1:0 with a temporary data dir, spoken
//! to over HTTP. Fixtures are written through the app's own store functions.

pub mod admin;
pub mod binary;
pub mod fake_pay;
pub mod fake_wechat;
pub mod scenarios;

use fake_pay::FakePay;
use fake_wechat::FakeWechat;
use standup_tickets::config::WechatCredentials;
use standup_tickets::model::scope::TenantScope;

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
use reqwest::StatusCode;
use serde_json::Value;
use standup_tickets::app::{self, RunningApp};
use standup_tickets::config::Config;
use standup_tickets::model::Fen;
use standup_tickets::model::events::{NewEvent, NewPriceOption};
use standup_tickets::store::events::{InsertedEvent, insert_event};
use standup_tickets::store::tenants::{NewTenant, insert};
use standup_tickets::store::{Store, StoreResult};

pub struct TestApp {
    pub app: RunningApp,
    pub client: reqwest::Client,
    /// The fake WeChat login server, when built with [`TestAppBuilder::fake_wechat`].
    pub wechat: Option<FakeWechat>,
    /// The fake WeChat Pay server, when built with [`TestAppBuilder::fake_pay`].
    pub pay: Option<FakePay>,
    _tmp: Option<tempfile::TempDir>,
    _keys: Option<tempfile::TempDir>,
}

type Tweak = Box<dyn FnOnce(&mut Config) + Send>;

/// How a test's app is started: which fakes stand in for WeChat, and what
/// the config says besides `Config::for_tests`.
#[derive(Default)]
pub struct TestAppBuilder {
    tweaks: Vec<Tweak>,
    wechat: bool,
    pay: Option<bool>,
    dir: Option<PathBuf>,
    servers: Option<(FakeWechat, FakePay)>,
}

impl TestAppBuilder {
    /// WeChat login against the fake server (real credentials in the config).
    pub fn fake_wechat(mut self) -> Self {
        self.wechat = true;
        self
    }

    /// WeChat Pay APIv3 against the fake server, with merchant keys generated
    /// for the test (implies [`Self::fake_wechat`]: pay needs the app id).
    pub fn fake_pay(mut self) -> Self {
        self.wechat = true;
        self.pay = Some(self.pay.unwrap_or(false));
        self
    }

    /// As [`Self::fake_pay`], with the legacy v2 notify key configured too.
    pub fn fake_pay_with_v2(mut self) -> Self {
        self.wechat = true;
        self.pay = Some(true);
        self
    }

    /// Adjusts the config (applied after the fakes' settings, in order).
    pub fn config(mut self, tweak: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.tweaks.push(Box::new(tweak));
        self
    }

    /// The fake WeChat servers of an app that was stopped (a restart: what
    /// WeChat knows survives it, as it would).
    pub fn fakes(mut self, wechat: FakeWechat, pay: FakePay) -> Self {
        self.wechat = true;
        self.pay = Some(false);
        self.servers = Some((wechat, pay));
        self
    }

    /// An existing data dir (for restarts) instead of a fresh temporary one.
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    pub async fn start(self) -> TestApp {
        let (tmp, dir) = match self.dir {
            Some(d) => (None, d),
            None => {
                let tmp = tempfile::tempdir().unwrap();
                let d = tmp.path().to_path_buf();
                (Some(tmp), d)
            }
        };
        let mut config = Config::for_tests(&dir);
        let (mut old_wechat, mut old_pay) = match self.servers {
            Some((w, p)) => (Some(w), Some(p)),
            None => (None, None),
        };
        let wechat = if self.wechat {
            let fake = match old_wechat.take() {
                Some(f) => f,
                None => FakeWechat::start().await,
            };
            config.wechat = Some(WechatCredentials {
                app_id: fake_wechat::APP_ID.into(),
                app_secret: fake_wechat::APP_SECRET.into(),
            });
            config.wechat_api_base_url = fake.url();
            Some(fake)
        } else {
            None
        };
        let (pay, keys) = match self.pay {
            Some(v2) => {
                let fake = match old_pay.take() {
                    Some(f) => f,
                    None => FakePay::start().await,
                };
                let keys = tempfile::tempdir().unwrap();
                config.pay = Some(FakePay::pay_config(keys.path(), v2));
                config.wechat_pay_base_url = fake.url();
                (Some(fake), Some(keys))
            }
            None => (None, None),
        };
        for tweak in self.tweaks {
            tweak(&mut config);
        }
        let app = app::spawn(config).await.expect("app starts");
        standup_tickets::wechat::install_crypto_provider();
        TestApp {
            app,
            client: reqwest::Client::new(),
            wechat,
            pay,
            _tmp: tmp,
            _keys: keys,
        }
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// An empty database (no demo club).
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// A fresh temporary data dir (removed with the app); `tweak` adjusts the config.
    pub async fn start_with(tweak: impl FnOnce(&mut Config) + Send + 'static) -> TestApp {
        Self::builder().config(tweak).start().await
    }

    /// Starts on an existing data dir (for restarts); `tweak` adjusts the config.
    pub async fn start_in(dir: &Path, tweak: impl FnOnce(&mut Config) + Send + 'static) -> TestApp {
        Self::builder().data_dir(dir).config(tweak).start().await
    }

    /// The fake WeChat Pay server (the app was built with `fake_pay()`).
    pub fn fake_pay(&self) -> &FakePay {
        self.pay.as_ref().expect("built with fake_pay()")
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
        let is_json = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.starts_with("application/json"));
        let text = res.text().await.unwrap();
        let json: Value = if is_json && !text.is_empty() {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{path}: body is not JSON ({e}): {text}"))
        } else {
            Value::Null
        };
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

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(reqwest::Method::DELETE, path, token, None).await
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

    pub async fn seed_event(&self, show: Show) -> InsertedEvent {
        let tz = self.app.state.config.timezone;
        let out = self
            .write(move |c| insert_event(c, &show.scope, tz, &show.event))
            .await;
        self.app.state.caches.catalog.invalidate();
        out
    }

    pub async fn stop(self) {
        self.app.stop().await.expect("clean stop");
    }

    /// Stops the app and hands back its fake WeChat servers, still serving.
    pub async fn stop_keeping_fakes(mut self) -> (FakeWechat, FakePay) {
        let fakes = (
            self.wechat.take().expect("fake WeChat"),
            self.pay.take().expect("fake WeChat Pay"),
        );
        self.stop().await;
        fakes
    }

    /// Pays `order_id` through the fake WeChat Pay as a buyer would: prepay,
    /// pay at WeChat, and WeChat's signed notify.
    pub async fn pay_at_wechat(&self, token: &str, order_id: &str) {
        self.post(
            "/api/payments/wechat",
            Some(token),
            serde_json::json!({"orderId": order_id}),
        )
        .await
        .data();
        self.fake_pay().pay(order_id);
        let resource = self.fake_pay().transaction(order_id);
        let (headers, body) = fake_pay::notify(
            "TRANSACTION.SUCCESS",
            "transaction",
            &resource,
            fake_pay::Spoil::None,
        );
        let mut req = self
            .client
            .post(self.url("/api/payments/wechat/notify"))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let res = req.send().await.unwrap();
        assert!(
            res.status().is_success(),
            "notify accepted: {}",
            res.status()
        );
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

/// A show to seed for a club: the event's fields are reached through it
/// (`show.status = …`).
pub struct Show {
    pub scope: TenantScope,
    pub event: NewEvent,
}

impl std::ops::Deref for Show {
    type Target = NewEvent;
    fn deref(&self) -> &NewEvent {
        &self.event
    }
}

impl std::ops::DerefMut for Show {
    fn deref_mut(&mut self) -> &mut NewEvent {
        &mut self.event
    }
}

/// An on-sale show of `tenant` on `date` at `time` (club-local) with two
/// price options.
pub fn show(tenant: &str, title: &str, date: NaiveDate, time: &str) -> Show {
    let event = NewEvent {
        description: Some("描述".into()),
        performers: vec!["演员甲".into()],
        tags: vec!["测试".into()],
        ..NewEvent::on_sale(
            title,
            date,
            NaiveTime::parse_from_str(time, "%H:%M").unwrap(),
            vec![
                option("普通座", 8850, 100, 0),
                option("前排座", 12800, 20, 1),
            ],
        )
    };
    Show {
        scope: TenantScope::vouched(tenant),
        event,
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

/// What a price option and its show have left, read back from the database.
#[derive(Debug)]
pub struct Stock {
    /// The option's `remaining_count`.
    pub left: i64,
    /// The show's `remaining_seats`.
    pub seats: i64,
    /// The show's status.
    pub status: String,
}

pub async fn stock(t: &TestApp, option_id: &str) -> Stock {
    let id = option_id.to_string();
    t.store()
        .read(move |c| {
            Ok(c.query_row(
                "SELECT p.remaining_count, e.remaining_seats, e.status FROM price_options p
                 JOIN events e ON e.id = p.event_id WHERE p.id = ?1",
                [&id],
                |r| {
                    Ok(Stock {
                        left: r.get(0)?,
                        seats: r.get(1)?,
                        status: r.get(2)?,
                    })
                },
            )?)
        })
        .await
        .unwrap()
}

/// DESIGN.md §4's invariants, and every fen paid either kept or refunded
/// (never more refunded than paid, a refunded order refunded in full).
pub async fn assert_invariants(t: &TestApp) {
    assert_store_invariants(t.store()).await
}

/// As [`assert_invariants`], on a store opened by the test itself (the data
/// dir of a real binary, once it has stopped).
pub async fn assert_store_invariants(store: &Store) {
    use standup_tickets::store::orders::check_invariants;
    use standup_tickets::store::payments::money_by_order;
    assert_eq!(
        store.read(check_invariants).await.unwrap(),
        Ok(()),
        "database invariants"
    );
    assert_eq!(
        store
            .read(standup_tickets::store::checkin::check_door_invariants)
            .await
            .unwrap(),
        Ok(()),
        "door invariants"
    );
    for (id, status, paid, refunded) in store.read(money_by_order).await.unwrap() {
        assert!(
            refunded <= paid,
            "order {id}: refunded {refunded} > paid {paid}"
        );
        if status == "refunded" {
            assert_eq!(refunded, paid, "order {id} refunded in full");
        }
    }
}

/// The `standup-tickets` binary on `dir`, as an operator would run it:
/// `stdin` is written to it (a password), `env` adds variables.
pub fn cli(dir: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> std::process::Output {
    use std::io::Write;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_standup-tickets"));
    cmd.args(args)
        .env("DATA_DIR", dir)
        .env("LOG_LEVEL", "warn")
        .env_remove("APP_ENV")
        .env_remove("PORT")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A paid order (dev-mode mock payment) for the show's first option, by a
/// new buyer of `club`; returns its id.
pub async fn seed_paid_order(t: &TestApp, club: &str, event_id: &str) -> String {
    let ev = t.data(&format!("/api/events/{event_id}")).await;
    let option = ev["priceOptions"][0]["id"].as_str().unwrap().to_string();
    let (token, _) = t
        .login(&format!("seed-{}", standup_tickets::ids::new_id()), club)
        .await;
    let o = t
        .post(
            "/api/orders",
            Some(&token),
            order_body(event_id, &option, 1),
        )
        .await;
    let id = o.data()["id"].as_str().unwrap().to_string();
    t.post(
        &format!("/api/dev/payments/{id}/confirm"),
        None,
        serde_json::json!({}),
    )
    .await
    .data();
    id
}

/// The orders' statuses as stored, in the order asked.
pub async fn order_statuses(t: &TestApp, ids: &[String]) -> Vec<String> {
    let ids = ids.to_vec();
    t.store()
        .read(move |c| {
            let mut out = Vec::new();
            for id in &ids {
                out.push(
                    c.query_row("SELECT status FROM orders WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })?,
                );
            }
            Ok(out)
        })
        .await
        .unwrap()
}
