//! WeChat Pay APIv3 end to end against the fake in `common/fake_pay.rs`:
//! prepay and pay parameters, notifies (good, duplicate, forged, stale,
//! tampered, wrong amount), the v2 XML notify, the expiry tick asking WeChat
//! first, polling, and refunds settled synchronously or by notify.

use std::time::Duration;

use crate::common::fake_pay::{self, Spoil};
use crate::common::fake_wechat;
use crate::common::*;
use rsa::RsaPublicKey;
use serde_json::{Value, json};

struct Env {
    t: TestApp,
    token: String,
    event: String,
    option: String,
}

impl std::ops::Deref for Env {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.t
    }
}

async fn env_with(
    v2: bool,
    tweak: impl FnOnce(&mut standup_tickets::config::Config) + Send + 'static,
) -> Env {
    let builder = TestApp::builder();
    let builder = if v2 {
        builder.fake_pay_with_v2()
    } else {
        builder.fake_pay()
    };
    let t = builder.config(tweak).start().await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "专场", days_from_today(5), "20:00"))
        .await;
    let (token, _) = t.login("buyer-1", "dt").await;
    Env {
        t,
        token,
        event: ev.id,
        option: ev.option_ids[0].clone(),
    }
}

async fn env() -> Env {
    env_with(false, |_| {}).await
}

impl Env {
    async fn order(&self, quantity: i64) -> String {
        let o = self
            .t
            .post(
                "/api/orders",
                Some(&self.token),
                json!({"eventId": self.event, "priceOptionId": self.option, "quantity": quantity,
                       "userInfo": {"name": "张三", "phone": "13800138000"}}),
            )
            .await
            .data()
            .clone();
        o["id"].as_str().unwrap().to_string()
    }

    async fn prepay(&self, order_id: &str) -> Value {
        self.t
            .post(
                "/api/payments/wechat",
                Some(&self.token),
                json!({"orderId": order_id}),
            )
            .await
            .data()
            .clone()
    }

    async fn order_json(&self, id: &str) -> Value {
        self.t
            .get_as(&format!("/api/orders/{id}"), &self.token)
            .await
            .data()
            .clone()
    }

    async fn send(
        &self,
        path: &str,
        headers: &[(String, String)],
        body: String,
        xml: bool,
    ) -> (u16, String) {
        let mut req = reqwest::Client::new().post(self.t.url(path)).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req = req.header(
            "content-type",
            if xml { "text/xml" } else { "application/json" },
        );
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    async fn notify(&self, order_id: &str, resource: &Value, spoil: Spoil) -> (u16, String) {
        let _ = order_id;
        let (headers, body) =
            fake_pay::notify("TRANSACTION.SUCCESS", "transaction", resource, spoil);
        self.send("/api/payments/wechat/notify", &headers, body, false)
            .await
    }

    async fn notifications(&self) -> i64 {
        self.t
            .store()
            .read(|c| {
                Ok(
                    c.query_row("SELECT COUNT(*) FROM payment_notifications", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .await
            .unwrap()
    }

    async fn invariants(&self) {
        assert_invariants(&self.t).await;
    }
}

#[tokio::test]
async fn prepay_params_are_signed_and_reused() {
    let e = env().await;
    let id = e.order(2).await;
    let p = e.prepay(&id).await;
    assert_eq!(
        e.fake_pay()
            .state
            .bad_auth
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "our Authorization verified"
    );
    assert_eq!(p["appId"], fake_wechat::APP_ID);
    assert_eq!(p["signType"], "RSA");
    let package = p["package"].as_str().unwrap();
    assert!(package.starts_with("prepay_id=wx"));
    // paySign verifies with the merchant public key over the four lines.
    let msg = format!(
        "{}\n{}\n{}\n{}\n",
        p["appId"].as_str().unwrap(),
        p["timeStamp"].as_str().unwrap(),
        p["nonceStr"].as_str().unwrap(),
        package
    );
    assert!(fake_pay::rsa_verify(
        &RsaPublicKey::from(&fake_pay::keys().merchant),
        msg.as_bytes(),
        p["paySign"].as_str().unwrap()
    ));
    // The WeChat order carries our amount, the buyer's openid and the hold.
    let tx = e
        .fake_pay()
        .state
        .txs
        .lock()
        .unwrap()
        .get(&id)
        .cloned()
        .unwrap();
    assert_eq!(tx.amount, 17700, "2 x 88.50 in fen");
    assert_eq!(tx.openid, "oid_buyer");
    assert_eq!(
        tx.notify_url,
        "https://club.example.com/api/payments/wechat/notify"
    );
    assert!(tx.time_expire.ends_with("+08:00"), "{}", tx.time_expire);
    // A second call reuses the prepay id.
    let again = e.prepay(&id).await;
    assert_eq!(again["package"], p["package"]);
    assert_eq!(
        e.fake_pay()
            .state
            .prepay_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[tokio::test]
async fn good_notify_pays_once_however_often_it_comes() {
    let e = env().await;
    let id = e.order(2).await;
    e.prepay(&id).await;
    let resource = e.fake_pay().success_resource(&id);
    let (status, body) = e.notify(&id, &resource, Spoil::None).await;
    assert!(status == 200 || status == 204, "{status} {body}");
    let o = e.order_json(&id).await;
    assert_eq!(o["status"], "paid");
    assert_eq!(o["transactionId"], resource["transaction_id"]);
    let tickets = o["tickets"].clone();
    assert_eq!(tickets.as_array().unwrap().len(), 2);
    for _ in 0..9 {
        let (status, _) = e.notify(&id, &resource, Spoil::None).await;
        assert_eq!(status, 204);
    }
    let o = e.order_json(&id).await;
    assert_eq!(o["tickets"], tickets, "one set of tickets");
    assert_eq!(e.notifications().await, 10, "every notify recorded");
    e.invariants().await;
}

#[tokio::test]
async fn bad_notifies_are_refused_and_change_nothing() {
    let e = env().await;
    let id = e.order(1).await;
    e.prepay(&id).await;
    // WeChat's own record stays NOTPAY, so polling cannot settle it: only a
    // notify could.
    let good = e.fake_pay().success_resource(&id);
    let before = e.order_json(&id).await;
    assert_eq!(before["status"], "pending");
    let mut wrong_amount = good.clone();
    wrong_amount["amount"]["total"] = json!(1);
    let mut wrong_mch = good.clone();
    wrong_mch["mchid"] = json!("1900000000");
    let mut unknown_order = good.clone();
    unknown_order["out_trade_no"] = json!("01ZZZZZZZZZZZZZZZZZZZZZZZZ");
    let cases: Vec<(&str, Value, Spoil, u16)> = vec![
        (
            "forged signature",
            good.clone(),
            Spoil::ForgedSignature,
            401,
        ),
        ("unknown serial", good.clone(), Spoil::WrongSerial, 401),
        ("stale timestamp", good.clone(), Spoil::StaleTimestamp, 401),
        ("signature probe", good.clone(), Spoil::SignTest, 401),
        (
            "tampered ciphertext",
            good.clone(),
            Spoil::TamperedCiphertext,
            400,
        ),
        ("wrong APIv3 key", good.clone(), Spoil::WrongApiV3Key, 400),
        ("wrong amount", wrong_amount, Spoil::None, 400),
        ("another merchant", wrong_mch, Spoil::None, 400),
        ("unknown order", unknown_order, Spoil::None, 400),
    ];
    for (what, resource, spoil, status) in cases {
        let (got, body) = e.notify(&id, &resource, spoil).await;
        assert_eq!(got, status, "{what}: {body}");
        let reply: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(reply["code"], "FAIL", "{what}");
        assert!(reply["message"].is_string());
        let now = e.order_json(&id).await;
        assert_eq!(now, before, "{what}: order untouched");
    }
    // Junk bodies and missing headers: clean refusals.
    for body in ["", "{", "null", "[]", &"x".repeat(70_000)] {
        let (status, _) = e
            .send("/api/payments/wechat/notify", &[], body.to_string(), false)
            .await;
        assert!((400..500).contains(&status), "{status}");
    }
    // Each refusal of a verified notify was recorded with its verdict; the
    // unverified ones (anyone can send those) were not stored at all.
    let verdicts: Vec<(i64, String)> =
        e.t.store()
            .read(|c| {
                let mut s = c.prepare("SELECT verified, verdict FROM payment_notifications")?;
                let v = s
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(v)
            })
            .await
            .unwrap();
    assert!(
        verdicts
            .iter()
            .all(|(verified, v)| *verified == 1 && v.starts_with("rejected")),
        "{verdicts:?}"
    );
    assert_eq!(verdicts.len(), 5, "{verdicts:?}");
    // And the good one still works afterwards.
    let (status, _) = e.notify(&id, &good, Spoil::None).await;
    assert_eq!(status, 204);
    assert_eq!(e.order_json(&id).await["status"], "paid");
}

#[tokio::test]
async fn v2_xml_notify_good_and_bad_signs() {
    let e = env_with(true, |_| {}).await;
    let md5_order = e.order(1).await;
    let hmac_order = e.order(1).await;
    let bad_order = e.order(1).await;
    let xml = fake_pay::v2_notify(
        &md5_order,
        8850,
        fake_wechat::APP_ID,
        false,
        fake_pay::MCH_KEY_V2,
    );
    let (status, body) = e.send("/api/payments/wechat/notify", &[], xml, true).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<return_code><![CDATA[SUCCESS]]></return_code>"),
        "{body}"
    );
    assert_eq!(e.order_json(&md5_order).await["status"], "paid");
    let xml = fake_pay::v2_notify(
        &hmac_order,
        8850,
        fake_wechat::APP_ID,
        true,
        fake_pay::MCH_KEY_V2,
    );
    let (status, _) = e.send("/api/payments/wechat/notify", &[], xml, true).await;
    assert_eq!(status, 200);
    assert_eq!(e.order_json(&hmac_order).await["status"], "paid");

    // Wrong key, wrong amount, DTD, junk: FAIL, order untouched.
    let wrong_key = fake_pay::v2_notify(&bad_order, 8850, fake_wechat::APP_ID, false, "wrong-key");
    let wrong_amount = fake_pay::v2_notify(
        &bad_order,
        1,
        fake_wechat::APP_ID,
        false,
        fake_pay::MCH_KEY_V2,
    );
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><out_trade_no>&x;</out_trade_no></xml>".to_string();
    for (what, xml, status) in [
        ("wrong key", wrong_key, 401),
        ("wrong amount", wrong_amount, 400),
        ("DTD", xxe, 400),
        ("junk", "<xml><a>".to_string(), 400),
    ] {
        let (got, body) = e.send("/api/payments/wechat/notify", &[], xml, true).await;
        assert_eq!(got, status, "{what}: {body}");
        assert!(body.contains("FAIL"), "{what}: {body}");
        assert!(!body.contains("root:"), "no file read");
    }
    assert_eq!(e.order_json(&bad_order).await["status"], "pending");
    e.invariants().await;
}

/// The database file and its WAL, in bytes.
fn database_bytes(dir: &std::path::Path) -> u64 {
    ["standup-tickets.db", "standup-tickets.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// A stranger posting forged notifies as fast as it can: 2,000 of three
/// kinds, each with a 32 KB body. Nothing of them is stored, no order's
/// detail shows them, and a genuine notify afterwards still pays.
#[tokio::test]
async fn a_flood_of_forged_notifies_does_not_fill_the_disk() {
    let e = env_with(true, |_| {}).await;
    let dir = e.t.app.state.config.data_dir.clone();
    let id = e.order(1).await;
    e.prepay(&id).await;
    let owner = crate::common::admin::owner_token(&e.t, "dt").await;
    let before_rows = e.notifications().await;
    let before = database_bytes(&dir);
    let good = e.fake_pay().success_resource(&id);
    let padding = "x".repeat(32 * 1024);
    let mut padded = good.clone();
    padded["padding"] = json!(padding);
    // Three forgeries, made once (signing is the slow part) and sent over
    // and over: a v3 notify with a wrong signature, one with no signature
    // headers, and a v2 XML notify with no sign naming the order.
    let (forged_headers, forged_body) = fake_pay::notify(
        "TRANSACTION.SUCCESS",
        "transaction",
        &padded,
        Spoil::ForgedSignature,
    );
    let (_, unsigned_body) =
        fake_pay::notify("TRANSACTION.SUCCESS", "transaction", &padded, Spoil::None);
    let mut fields = std::collections::BTreeMap::new();
    for (k, v) in [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("appid", fake_wechat::APP_ID),
        ("mch_id", fake_pay::MCH_ID),
        ("out_trade_no", id.as_str()),
        ("total_fee", "8850"),
        ("transaction_id", "4200000000000000000000000000"),
        ("attach", &padding[..8 * 1024]),
    ] {
        fields.insert(k.to_string(), v.to_string());
    }
    let unsigned_xml = standup_tickets::wechat::pay::v2::to_xml(&fields);
    let started = std::time::Instant::now();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for i in 0..2_000 {
        let (headers, body, xml) = match i % 3 {
            0 => (forged_headers.clone(), forged_body.clone(), false),
            1 => (Vec::new(), unsigned_body.clone(), false),
            _ => (Vec::new(), unsigned_xml.clone(), true),
        };
        let mut req =
            e.t.client
                .post(e.t.url("/api/payments/wechat/notify"))
                .header(
                    "content-type",
                    if xml { "text/xml" } else { "application/json" },
                )
                .body(body);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let status = req.send().await.unwrap().status().as_u16();
        *statuses.entry(status).or_default() += 1;
    }
    let took = started.elapsed();
    let after = database_bytes(&dir);
    let grown = after.saturating_sub(before);
    eprintln!("2000 forged notifies in {took:?}: {statuses:?}; database {before} -> {after} bytes");
    assert!(
        statuses.keys().all(|s| (400..500).contains(s)),
        "{statuses:?}"
    );
    assert!(grown < 1024 * 1024, "grew by {grown} bytes");
    assert_eq!(e.notifications().await, before_rows, "none stored");
    let detail = e.t.get_as(&format!("/api/admin/orders/{id}"), &owner).await;
    let detail = detail.data();
    assert_eq!(detail["status"], "pending");
    assert!(
        detail["notifications"]
            .as_array()
            .is_none_or(|n| n.is_empty()),
        "{detail}"
    );
    let text = detail.to_string();
    assert!(!text.contains("xxxx"), "no forged body in the detail");
    // The forgeries were counted by reason.
    let metrics =
        e.t.client
            .get(e.t.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    for reason in [
        "unverified_signature",
        "unverified_unsigned",
        "unverified_v2_sign",
    ] {
        assert!(metrics.contains(reason), "{reason} counted");
    }
    // A genuine notify still pays the order.
    let (status, _) = e.notify(&id, &good, Spoil::None).await;
    assert_eq!(status, 204);
    assert_eq!(e.order_json(&id).await["status"], "paid");
    e.invariants().await;
}

#[tokio::test]
async fn expiry_asks_wechat_first_then_closes_or_settles() {
    let e = env_with(false, |c| c.order_payment_timeout = Duration::from_secs(1)).await;
    let unpaid = e.order(1).await;
    let paid_quietly = e.order(1).await;
    e.prepay(&unpaid).await;
    e.prepay(&paid_quietly).await;
    // The buyer paid at WeChat but the notify never arrived.
    e.fake_pay().pay(&paid_quietly);
    let mut done = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let a = e.order_json(&unpaid).await;
        let b = e.order_json(&paid_quietly).await;
        if a["status"] == "cancelled" && b["status"] == "paid" {
            assert_eq!(a["cancelReason"], "timeout");
            assert_eq!(b["tickets"].as_array().unwrap().len(), 1);
            done = true;
            break;
        }
    }
    assert!(done, "expired one, settled the other");
    use std::sync::atomic::Ordering::SeqCst;
    assert!(
        e.fake_pay().state.query_calls.load(SeqCst) >= 2,
        "queried before expiring"
    );
    assert_eq!(
        e.fake_pay().state.close_calls.load(SeqCst),
        1,
        "closed the unpaid one only"
    );
    assert_eq!(
        e.fake_pay().state.txs.lock().unwrap()[&unpaid].state,
        "CLOSED",
        "can no longer be paid at WeChat"
    );
    e.invariants().await;
}

#[tokio::test]
async fn polling_a_pending_order_finds_a_late_payment() {
    let e = env().await;
    let id = e.order(1).await;
    // Before it reached WeChat there is nothing to ask.
    assert_eq!(e.order_json(&id).await["status"], "pending");
    assert_eq!(
        e.fake_pay()
            .state
            .query_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    e.prepay(&id).await;
    e.fake_pay().pay(&id);
    let o = e.order_json(&id).await;
    assert_eq!(o["status"], "paid", "settled from the query");
    assert_eq!(o["tickets"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn refunds_sync_and_by_notify() {
    let e = env().await;
    let paid = |id: String| {
        let e = &e;
        async move {
            e.prepay(&id).await;
            e.fake_pay().pay(&id);
            let r = e.fake_pay().transaction(&id);
            assert_eq!(e.notify(&id, &r, Spoil::None).await.0, 204);
        }
    };
    // WeChat answers SUCCESS at once.
    let sync = e.order(2).await;
    paid(sync.clone()).await;
    let r =
        e.t.post(
            "/api/payments/refund",
            Some(&e.token),
            json!({"orderId": sync, "reason": "行程有变"}),
        )
        .await;
    assert_eq!(r.json["message"], "退款成功", "{}", r.text);
    assert_eq!(r.data()["status"], "refunded");
    e.t.post(
        "/api/payments/refund",
        Some(&e.token),
        json!({"orderId": sync}),
    )
    .await
    .expect(409, "REFUND_EXISTS");
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(
        e.fake_pay().state.refund_calls.load(SeqCst),
        1,
        "one refund at WeChat"
    );

    // WeChat answers PROCESSING; the notify settles it.
    *e.fake_pay().state.refund_answer.lock().unwrap() = "PROCESSING".into();
    let later = e.order(1).await;
    paid(later.clone()).await;
    let r =
        e.t.post(
            "/api/payments/refund",
            Some(&e.token),
            json!({"orderId": later}),
        )
        .await;
    assert_eq!(r.json["message"], "退款申请已提交", "{}", r.text);
    let o = r.data().clone();
    assert_eq!(o["status"], "paid");
    assert!(
        o["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "expired"),
        "tickets stop being valid at once"
    );
    let (out_refund_no, refund_id): (String, String) = {
        let refunds = e.fake_pay().state.refunds.lock().unwrap();
        let r = refunds
            .values()
            .find(|r| r["out_trade_no"] == later.as_str())
            .unwrap();
        (
            r["out_refund_no"].as_str().unwrap().to_string(),
            r["refund_id"].as_str().unwrap().to_string(),
        )
    };
    let resource = json!({"mchid": fake_pay::MCH_ID, "out_trade_no": later,
        "transaction_id": "x", "out_refund_no": out_refund_no, "refund_id": refund_id,
        "refund_status": "SUCCESS", "success_time": "2026-11-25T18:00:00+08:00",
        "user_received_account": "招商银行信用卡0403",
        "amount": {"total": 8850, "refund": 8850, "payer_total": 8850, "payer_refund": 8850}});
    // A forged refund notify changes nothing.
    let (headers, body) = fake_pay::notify(
        "REFUND.SUCCESS",
        "refund",
        &resource,
        Spoil::ForgedSignature,
    );
    let (status, _) = e
        .send("/api/payments/wechat/refund-notify", &headers, body, false)
        .await;
    assert_eq!(status, 401);
    assert_eq!(e.order_json(&later).await["status"], "paid");
    for _ in 0..3 {
        let (headers, body) = fake_pay::notify("REFUND.SUCCESS", "refund", &resource, Spoil::None);
        let (status, text) = e
            .send("/api/payments/wechat/refund-notify", &headers, body, false)
            .await;
        assert_eq!(status, 204, "{text}");
    }
    assert_eq!(e.order_json(&later).await["status"], "refunded");
    let seats: i64 =
        e.t.store()
            .read({
                let o = e.option.clone();
                move |c| {
                    Ok(c.query_row(
                        "SELECT remaining_count FROM price_options WHERE id = ?1",
                        [&o],
                        |r| r.get(0),
                    )?)
                }
            })
            .await
            .unwrap();
    assert_eq!(seats, 100, "all seats back on sale");
    e.invariants().await;
}

#[tokio::test]
async fn notifies_skip_the_ip_limit_but_forgeries_do_not() {
    use standup_tickets::config::{Rate, RateLimits};
    let e = env_with(false, |c| {
        c.trust_proxy = true;
        c.rate_limits = RateLimits {
            api: Some(Rate {
                count: 5,
                per: Duration::from_secs(60),
            }),
            login: None,
            orders: None,
        };
    })
    .await;
    let id = e.order(1).await;
    e.prepay(&id).await;
    let from_wechat = |h: &[(String, String)]| {
        let mut h = h.to_vec();
        h.push(("X-Forwarded-For".into(), "101.226.103.1".into()));
        h
    };
    // A forger from WeChat's address burns that address's budget...
    let good = e.fake_pay().success_resource(&id);
    let mut codes = Vec::new();
    for _ in 0..8 {
        let (headers, body) = fake_pay::notify(
            "TRANSACTION.SUCCESS",
            "transaction",
            &good,
            Spoil::ForgedSignature,
        );
        codes.push(
            e.send(
                "/api/payments/wechat/notify",
                &from_wechat(&headers),
                body,
                false,
            )
            .await
            .0,
        );
    }
    assert_eq!(&codes[..5], &[401; 5]);
    assert!(codes[5..].iter().all(|c| *c == 429), "{codes:?}");
    assert_eq!(e.notifications().await, 0, "forgeries are never stored");
    // ...yet genuine notifies from it still go through.
    let (headers, body) =
        fake_pay::notify("TRANSACTION.SUCCESS", "transaction", &good, Spoil::None);
    let (status, text) = e
        .send(
            "/api/payments/wechat/notify",
            &from_wechat(&headers),
            body,
            false,
        )
        .await;
    assert_eq!(status, 204, "{text}");
    assert_eq!(e.order_json(&id).await["status"], "paid");
}

#[tokio::test]
async fn refund_closed_gives_tickets_back_abnormal_keeps_them_void() {
    let e = env().await;
    *e.fake_pay().state.refund_answer.lock().unwrap() = "PROCESSING".into();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = e.order(1).await;
        e.prepay(&id).await;
        e.fake_pay().pay(&id);
        let r = e.fake_pay().transaction(&id);
        assert_eq!(e.notify(&id, &r, Spoil::None).await.0, 204);
        e.t.post(
            "/api/payments/refund",
            Some(&e.token),
            json!({"orderId": id}),
        )
        .await
        .data();
        ids.push(id);
    }
    for (id, event, state) in [
        (&ids[0], "REFUND.CLOSED", "CLOSED"),
        (&ids[1], "REFUND.ABNORMAL", "ABNORMAL"),
    ] {
        let no = e
            .fake_pay()
            .state
            .refunds
            .lock()
            .unwrap()
            .values()
            .find(|r| r["out_trade_no"] == id.as_str())
            .unwrap()["out_refund_no"]
            .as_str()
            .unwrap()
            .to_string();
        let resource = json!({"mchid": fake_pay::MCH_ID, "out_trade_no": id,
            "out_refund_no": no, "refund_id": "5030x", "refund_status": state,
            "amount": {"total": 8850, "refund": 8850, "payer_total": 8850, "payer_refund": 8850}});
        let (headers, body) = fake_pay::notify(event, "refund", &resource, Spoil::None);
        assert_eq!(
            e.send("/api/payments/wechat/refund-notify", &headers, body, false)
                .await
                .0,
            204
        );
    }
    let closed = e.order_json(&ids[0]).await;
    assert_eq!(closed["status"], "paid");
    assert_eq!(
        closed["tickets"][0]["status"], "valid",
        "no money went back"
    );
    let abnormal = e.order_json(&ids[1]).await;
    assert_eq!(abnormal["status"], "paid");
    assert_eq!(
        abnormal["tickets"][0]["status"], "expired",
        "money in limbo: not valid"
    );
    // The closed one may be asked for again.
    let r =
        e.t.post(
            "/api/payments/refund",
            Some(&e.token),
            json!({"orderId": ids[0]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    e.invariants().await;
}

#[tokio::test]
async fn a_v3_payment_after_expiry_with_the_seat_gone_is_refunded() {
    let e = env().await;
    // One seat left in a fresh option.
    let mut show_def = show("dt", "小场", days_from_today(4), "20:00");
    show_def.options = vec![option("唯一", 6600, 1, 0)];
    let ev = e.t.seed_event(show_def).await;
    let (other, _) = e.t.login("other-1", "dt").await;
    let body = |ev: &str, opt: &str| {
        json!({"eventId": ev, "priceOptionId": opt, "quantity": 1,
               "userInfo": {"name": "张三", "phone": "13800138000"}})
    };
    let late =
        e.t.post(
            "/api/orders",
            Some(&e.token),
            body(&ev.id, &ev.option_ids[0]),
        )
        .await
        .data()["id"]
            .as_str()
            .unwrap()
            .to_string();
    e.prepay(&late).await;
    e.t.put(
        &format!("/api/orders/{late}/cancel"),
        Some(&e.token),
        json!({}),
    )
    .await
    .data();
    // Someone else buys the freed seat and pays.
    e.t.post("/api/orders", Some(&other), body(&ev.id, &ev.option_ids[0]))
        .await
        .data();
    // The first buyer's payment lands anyway.
    e.fake_pay().pay(&late);
    let r = e.fake_pay().transaction(&late);
    assert_eq!(
        e.notify(&late, &r, Spoil::None).await.0,
        204,
        "acknowledged"
    );
    let mut status = String::new();
    for _ in 0..50 {
        status = e.order_json(&late).await["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "refunded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "refunded");
    let refunded = e
        .fake_pay()
        .state
        .refunds
        .lock()
        .unwrap()
        .values()
        .any(|x| x["out_trade_no"] == late.as_str() && x["amount"]["refund"] == 6600);
    assert!(refunded, "WeChat was asked to refund the full amount");
    e.invariants().await;
}

/// Expiry with a WeChat Pay that is slow (`delay`) to answer order queries:
/// `prepaid` holds that reached WeChat and `plain` ones that did not, expiring
/// together, and a sale due to open meanwhile. Returns the prepaid ids, the
/// plain ids and the env once every plain hold is released.
async fn expiry_beside_a_slow_wechat(
    delay: Duration,
    prepaid: usize,
    plain: usize,
) -> (Env, Vec<String>, Vec<String>) {
    use standup_tickets::config::RateLimits;
    use standup_tickets::model::catalog::EventStatus;
    let e = env_with(false, |c| {
        c.order_payment_timeout = Duration::from_secs(4);
        c.rate_limits = RateLimits {
            api: None,
            login: None,
            orders: None,
        };
    })
    .await;
    *e.fake_pay().state.query_delay.lock().unwrap() = delay;
    let mut big = show("dt", "大场", days_from_today(6), "20:00");
    big.max_per_user = 1_000;
    let big = e.t.seed_event(big).await;
    let (other, _) = e.t.login("buyer-2", "dt").await;
    let mut ids = (Vec::new(), Vec::new());
    for i in 0..prepaid + plain {
        let token = if i < prepaid { &e.token } else { &other };
        let o =
            e.t.post(
                "/api/orders",
                Some(token),
                order_body(&big.id, &big.option_ids[0], 1),
            )
            .await
            .data()
            .clone();
        let id = o["id"].as_str().unwrap().to_string();
        if i < prepaid {
            e.t.post("/api/payments/wechat", Some(token), json!({"orderId": id}))
                .await
                .data();
            ids.0.push(id);
        } else {
            ids.1.push(id);
        }
    }
    // A sale that opens while the first queries are still waiting.
    let opens_at = standup_tickets::model::time::now_ms() + 5_000;
    let mut upcoming = show("dt", "即将开售", days_from_today(7), "20:00");
    upcoming.status = standup_tickets::model::catalog::EventStatus::Upcoming;
    upcoming.sale_start_at = Some(opens_at);
    let upcoming = e.t.seed_event(upcoming).await;
    let plain_ids = ids.1.clone();
    let start = std::time::Instant::now();
    let mut opened_seen = None;
    loop {
        let (ids, ev) = (plain_ids.clone(), upcoming.id.clone());
        let (rows, status): (Vec<(String, i64, i64)>, String) =
            e.t.store()
                .read(move |c| {
                    let mut rows = Vec::new();
                    for id in &ids {
                        rows.push(c.query_row(
                            "SELECT status, expires_at, updated_at FROM orders WHERE id = ?1",
                            [id],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                        )?);
                    }
                    let status =
                        c.query_row("SELECT status FROM events WHERE id = ?1", [&ev], |r| {
                            r.get(0)
                        })?;
                    Ok((rows, status))
                })
                .await
                .unwrap();
        let now = standup_tickets::model::time::now_ms();
        if status == EventStatus::OnSale.as_str() && opened_seen.is_none() {
            opened_seen = Some(now);
        }
        for (status, expires_at, updated_at) in &rows {
            if status == "cancelled" {
                assert!(
                    updated_at - expires_at <= 2_000,
                    "a plain hold was released {} ms after its expiry",
                    updated_at - expires_at
                );
            } else {
                assert!(
                    now - expires_at <= 2_000,
                    "a plain hold is still {status} {} ms after its expiry",
                    now - expires_at
                );
            }
        }
        if rows.iter().all(|r| r.0 == "cancelled") && opened_seen.is_some() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "plain holds never released"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let opened = opened_seen.unwrap();
    assert!(
        opened - opens_at <= 2_000,
        "the sale opened {} ms late",
        opened - opens_at
    );
    (e, ids.0, ids.1)
}

#[tokio::test]
async fn a_slow_wechat_does_not_hold_back_seat_release_or_sale_opening() {
    use std::sync::atomic::Ordering::SeqCst;
    let (e, prepaid, _plain) = expiry_beside_a_slow_wechat(Duration::from_secs(3), 50, 50).await;
    // The prepaid holds are asked about 16 at a time, closed at WeChat, then
    // cancelled here, within a few runs of the job.
    let start = std::time::Instant::now();
    loop {
        let statuses = order_statuses(&e.t, &prepaid).await;
        if statuses.iter().all(|s| s == "cancelled") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(45),
            "prepaid holds not settled: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(e.fake_pay().state.query_calls.load(SeqCst) >= 50);
    assert!(e.fake_pay().state.close_calls.load(SeqCst) >= 50);
    let txs = e.fake_pay().state.txs.lock().unwrap().clone();
    for id in &prepaid {
        assert_eq!(
            txs[id].state, "CLOSED",
            "closed at WeChat before cancelling"
        );
    }
    for o in prepaid.iter().take(3) {
        assert_eq!(e.order_json(o).await["cancelReason"], "timeout");
    }
    e.invariants().await;
}

#[tokio::test]
async fn a_silent_wechat_does_not_hold_back_seat_release() {
    use std::sync::atomic::Ordering::SeqCst;
    // Never answers: every query runs into the client's timeout.
    let (e, prepaid, _plain) = expiry_beside_a_slow_wechat(Duration::from_secs(3600), 10, 10).await;
    // Unanswered, the prepaid holds are not given up (a payment may have
    // happened): they stay pending and WeChat is not told to close them.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        order_statuses(&e.t, &prepaid)
            .await
            .iter()
            .all(|s| s == "pending")
    );
    assert!(e.fake_pay().state.query_calls.load(SeqCst) >= 1);
    assert_eq!(e.fake_pay().state.close_calls.load(SeqCst), 0);
    e.invariants().await;
}
