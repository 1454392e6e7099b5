//! Crash safety: the real binary, paid through the fake WeChat Pay, is
//! SIGKILLed at random moments of an on-sale race and restarted on the same
//! data dir, again and again. After each restart every order a buyer was
//! told about is there with its quantity, every payment WeChat's notify was
//! acknowledged for is paid, and no 5xx was ever answered. Payments whose
//! notify the kill cut off settle after the restart (notify again, or the
//! expiry reconciliation asking WeChat); holds that expired while the server
//! was down are released as it starts; in the end DESIGN §4's invariants
//! hold over the whole database and no seat was sold twice.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use standup_tickets::store::Store;

use crate::common::assert_store_invariants;
use crate::common::binary::{Binary, Server};
use crate::common::fake_pay::{self, FakePay, Spoil};
use crate::common::fake_wechat::{self, FakeWechat};

const CLUB: &str = "crash";
const PASSWORD: &str = "crash-owner-password";
const SEATS: i64 = 500;
const KILLS: usize = 12;
const BUYERS: usize = 200;
/// Short holds, so some expire while the server is down.
const HOLD: Duration = Duration::from_secs(4);

/// What one buyer was told before the kill.
#[derive(Debug, Clone, Default)]
struct Told {
    order: Option<(String, i64)>,
    /// Paid at the fake WeChat (after a prepay the server answered).
    paid_at_wechat: bool,
    /// The server answered our notify with success.
    notify_acked: bool,
    /// A reply with a 5xx status, which must never come.
    server_error: Option<String>,
}

/// The binary with WeChat login and WeChat Pay pointed at the fakes.
fn with_fakes(bin: Binary, wechat: &FakeWechat, pay: &FakePay, keys: &Path) -> Binary {
    let cfg = FakePay::pay_config(keys, false);
    let (pub_id, pub_path) = cfg.pay_public_key.unwrap();
    bin.env("WECHAT_APP_ID", fake_wechat::APP_ID)
        .env("WECHAT_APP_SECRET", fake_wechat::APP_SECRET)
        .env("WECHAT_API_BASE_URL", &wechat.url())
        .env("WECHAT_MCH_ID", fake_pay::MCH_ID)
        .env("WECHAT_MCH_SERIAL_NO", fake_pay::MCH_SERIAL)
        .env(
            "WECHAT_MCH_PRIVATE_KEY_PATH",
            &cfg.mch_private_key_path.to_string_lossy(),
        )
        .env("WECHAT_API_V3_KEY", fake_pay::API_V3_KEY)
        .env("WECHAT_PAY_PUBLIC_KEY_ID", &pub_id)
        .env("WECHAT_PAY_PUBLIC_KEY_PATH", &pub_path.to_string_lossy())
        .env("PUBLIC_BASE_URL", "https://club.example.com")
        .env("WECHAT_PAY_BASE_URL", &pay.url())
        .env("ORDER_PAYMENT_TIMEOUT", &format!("{}s", HOLD.as_secs()))
}

/// Sends a signed TRANSACTION.SUCCESS notify for `order` as WeChat would;
/// the status (WeChat takes 200 or 204 as received).
async fn notify(http: &reqwest::Client, base: &str, pay: &FakePay, order: &str) -> Option<u16> {
    let (headers, body) = fake_pay::notify(
        "TRANSACTION.SUCCESS",
        "transaction",
        &pay.transaction(order),
        Spoil::None,
    );
    let mut req = http
        .post(format!("{base}/api/payments/wechat/notify"))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.send().await.ok().map(|r| r.status().as_u16())
}

/// Where the buyers buy: the server, the show and the fake WeChat Pay.
#[derive(Clone)]
struct Sale {
    http: reqwest::Client,
    base: String,
    pay: Arc<FakePay>,
    event: String,
    option: String,
}

/// One buyer: WeChat login, an order, and (if `pays`) prepay, payment at
/// WeChat and its notify; stops at the first failed call.
async fn buyer(sale: Sale, code: String, qty: i64, pays: bool) -> Told {
    let Sale {
        http,
        base,
        pay,
        event,
        option,
    } = sale;
    let mut told = Told::default();
    let call = |path: &str, token: Option<&str>, body: Value| {
        let mut req = http.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let res = req.send().await.ok()?;
            let status = res.status().as_u16();
            Some((status, res.json::<Value>().await.unwrap_or(Value::Null)))
        }
    };
    let check = |told: &mut Told, path: &str, status: u16, body: &Value| {
        if status >= 500 {
            told.server_error = Some(format!("{path}: {status} {body}"));
        }
        (200..300).contains(&status)
    };

    let Some((status, body)) = call(
        "/api/auth/wechat/login",
        None,
        json!({"code": code, "tenantId": CLUB}),
    )
    .await
    else {
        return told;
    };
    if !check(&mut told, "login", status, &body) {
        return told;
    }
    let token = body["data"]["token"].as_str().unwrap().to_string();
    let Some((status, body)) = call(
        "/api/orders",
        Some(&token),
        json!({"eventId": event, "priceOptionId": option, "quantity": qty,
               "userInfo": {"name": "抢票观众", "phone": "13800138000"}}),
    )
    .await
    else {
        return told;
    };
    if !check(&mut told, "order", status, &body) {
        return told;
    }
    let id = body["data"]["id"].as_str().unwrap().to_string();
    told.order = Some((id.clone(), qty));
    if !pays {
        return told;
    }
    let Some((status, body)) =
        call("/api/payments/wechat", Some(&token), json!({"orderId": id})).await
    else {
        return told;
    };
    if !check(&mut told, "prepay", status, &body) {
        return told;
    }
    pay.pay(&id);
    told.paid_at_wechat = true;
    if let Some(status) = notify(&http, &base, &pay, &id).await {
        told.notify_acked = (200..300).contains(&status);
        if status >= 500 {
            told.server_error = Some(format!("notify: {status}"));
        }
    }
    told
}

/// Every order the server was ever asked about, by the admin API.
async fn admin_order(s: &Server, owner: &str, id: &str) -> Value {
    s.get(&format!("/api/admin/orders/{id}"), Some(owner)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_an_on_sale_race_loses_nothing_acknowledged() {
    standup_tickets::wechat::install_crypto_provider();
    let wechat = FakeWechat::start().await;
    let pay = Arc::new(FakePay::start().await);
    let keys = tempfile::tempdir().unwrap();
    let bin = with_fakes(Binary::new(), &wechat, &pay, keys.path());
    bin.club(CLUB, "崩溃测试俱乐部", PASSWORD);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    let s = bin.serve().await;
    let owner = s.owner(CLUB, PASSWORD).await;
    let (event, option) = s.big_show(&owner, SEATS).await;
    let mut server = Some(s);
    let sale = |s: &Server| Sale {
        http: http.clone(),
        base: s.base.clone(),
        pay: pay.clone(),
        event: event.clone(),
        option: option.clone(),
    };

    let mut all: Vec<Told> = Vec::new();
    let mut delays = Vec::new();
    for round in 0..KILLS {
        let s = server.take().unwrap();
        let buyers: Vec<_> = (0..BUYERS)
            .map(|i| {
                tokio::spawn(buyer(
                    sale(&s),
                    format!("r{round}b{i}-1"),
                    1 + (i % 2) as i64,
                    i % 3 != 0,
                ))
            })
            .collect();
        let delay = rand::random_range(50..1500);
        delays.push(delay);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        drop(s); // SIGKILL, then reaped
        let mut told = Vec::new();
        for b in buyers {
            told.push(b.await.unwrap());
        }

        let s = bin.serve().await;
        let owner = s.owner(CLUB, PASSWORD).await;
        for t in &told {
            assert_eq!(t.server_error, None, "round {round}: no 5xx");
            let Some((id, qty)) = &t.order else { continue };
            let o = admin_order(&s, &owner, id).await;
            assert_eq!(o["quantity"].as_i64(), Some(*qty), "round {round}: {id}");
            if t.notify_acked {
                assert_eq!(o["status"], "paid", "round {round}: {id} was paid");
                assert_eq!(o["tickets"].as_array().unwrap().len(), *qty as usize);
            }
        }
        all.extend(told);
        server = Some(s);
    }
    let s = server.take().unwrap();
    let owner = s.owner(CLUB, PASSWORD).await;

    // Payments cut off by a kill: WeChat notifies again, and they settle.
    let mut resent = 0;
    for t in all.iter().filter(|t| t.paid_at_wechat && !t.notify_acked) {
        let (id, _) = t.order.as_ref().unwrap();
        let status = notify(&http, &s.base, &pay, id).await.unwrap();
        assert!((200..300).contains(&status), "{id}: {status}");
        resent += 1;
    }
    for t in all.iter().filter(|t| t.paid_at_wechat) {
        let (id, qty) = t.order.as_ref().unwrap();
        let o = admin_order(&s, &owner, id).await;
        assert_eq!(o["status"], "paid", "{id} settled after the restarts");
        assert_eq!(o["tickets"].as_array().unwrap().len(), *qty as usize);
    }

    // Holds placed just before a kill, expired while the server was down,
    // are released as it starts. They go on a show of their own: the race's
    // show may be sold out by now, and a check over no holds proves nothing.
    const LATE: i64 = 20;
    let (late_event, late_option) = s.big_show(&owner, LATE).await;
    let late_sale = Sale {
        event: late_event.clone(),
        option: late_option,
        ..sale(&s)
    };
    let remaining = |show: Value| show["priceOptions"][0]["remainingCount"].as_i64();
    let mut last = Vec::new();
    for i in 0..LATE {
        let t = buyer(late_sale.clone(), format!("last{i}-1"), 1, false).await;
        assert_eq!(t.server_error, None);
        last.push(t.order.expect("a late hold").0);
    }
    let show = s.get(&format!("/api/events/{late_event}"), None).await;
    assert_eq!(remaining(show), Some(0), "every late seat held");
    drop(s);
    tokio::time::sleep(HOLD + Duration::from_millis(500)).await;
    let started = Instant::now();
    let s = bin.serve().await;
    let owner = s.owner(CLUB, PASSWORD).await;
    for id in &last {
        let o = admin_order(&s, &owner, id).await;
        assert_eq!(o["status"], "cancelled", "{id} expired while down");
    }
    let show = s.get(&format!("/api/events/{late_event}"), None).await;
    assert_eq!(
        remaining(show),
        Some(LATE),
        "the late holds' seats are back"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let page = s
        .get(
            &format!("/api/admin/orders?eventId={event}&status=paid&pageSize=1"),
            Some(&owner),
        )
        .await;
    let paid_orders = page["total"].as_i64().unwrap();
    drop(s);

    let store = Store::open(&bin.data_dir().join("standup-tickets.db")).unwrap();
    assert_store_invariants(&store).await;
    let sold: i64 = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT COALESCE(SUM(quantity), 0) FROM orders WHERE status IN ('paid', 'used')",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert!(sold <= SEATS, "never oversold: {sold} of {SEATS}");
    store.close().await;

    let acked = all.iter().filter(|t| t.order.is_some()).count();
    eprintln!(
        "{KILLS} kills at {delays:?} ms; {acked} orders acknowledged, {paid_orders} paid \
         ({resent} settled by a notify after a restart), {} holds released at start, \
         {sold} of {SEATS} seats sold",
        last.len()
    );
}
