//! Orders over HTTP: create, idempotency, limits, cancel, expiry, sale
//! transitions, and a race for the last seats.

use std::time::Duration;

use crate::common::*;
use serde_json::{Value, json};
use standup_tickets::config::{Rate, RateLimits};
use standup_tickets::model::catalog::{ActiveStatus, EventStatus};

#[tokio::test]
async fn create_read_list_and_cancel() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "专场", days_from_today(5), "20:00"))
        .await;
    let (opt_a, opt_b) = (ev.option_ids[0].clone(), ev.option_ids[1].clone());
    let (token, user) = t.login("buyer", "dt").await;
    let (other, _) = t.login("other", "dt").await;

    let r = t
        .post("/api/orders", Some(&token), order_body(&ev.id, &opt_a, 2))
        .await;
    let order = r.data().clone();
    assert_eq!(order["status"], "pending");
    assert_eq!(order["quantity"], 2);
    assert_eq!(order["totalAmount"].to_string(), "177", "2 x 88.5");
    assert_eq!(order["unitPrice"].to_string(), "88.5");
    assert_eq!(order["userId"], user["id"]);
    assert_eq!(order["tenantId"], "dt");
    assert_eq!(order["userName"], "张三");
    assert_eq!(order["tickets"], json!([]));
    let expires =
        chrono::DateTime::parse_from_rfc3339(order["expiresAt"].as_str().unwrap()).unwrap();
    let hold = expires.signed_duration_since(chrono::Utc::now());
    assert!(hold > chrono::Duration::minutes(14) && hold <= chrono::Duration::minutes(15));
    assert_eq!(stock(&t, &opt_a).await.left, 98);
    let id = order["id"].as_str().unwrap().to_string();
    assert!((6..=32).contains(&id.len()), "valid out_trade_no");

    let detail = t.get_as(&format!("/api/orders/{id}"), &token).await;
    let d = detail.data();
    assert_eq!(d["event"]["title"], "专场");
    assert_eq!(d["priceOption"]["id"], opt_a.as_str());
    assert!(d["tickets"].is_array());
    // Someone else's order does not exist for them.
    t.get_as(&format!("/api/orders/{id}"), &other)
        .await
        .expect(404, "ORDER_NOT_FOUND");
    t.put(&format!("/api/orders/{id}/cancel"), Some(&other), json!({}))
        .await
        .expect(404, "ORDER_NOT_FOUND");
    t.get_as("/api/orders/nonexistent", &token)
        .await
        .expect(404, "ORDER_NOT_FOUND");
    t.get_as("/api/orders/%27%3B--", &token)
        .await
        .expect(404, "ORDER_NOT_FOUND");

    t.post("/api/orders", Some(&token), order_body(&ev.id, &opt_b, 1))
        .await
        .data();
    let list = t.get_as("/api/orders?tenantId=dt", &token).await;
    let items = list.data()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["id"], id.as_str(), "newest first");
    assert_eq!(items[0]["event"]["id"], ev.id.as_str());
    assert_eq!(t.get_as("/api/orders", &other).await.data()["total"], 0);
    assert_eq!(
        t.get_as("/api/orders?status=paid", &token).await.data()["total"],
        0
    );
    // A club that does not exist is not found, as on the catalogue's routes.
    t.get_as("/api/orders?tenantId=elsewhere", &token)
        .await
        .expect(404, "TENANT_NOT_FOUND");
    t.get_as("/api/orders?status=weird", &token)
        .await
        .expect(400, "VALIDATION_FAILED");
    t.get_as("/api/orders?pageSize=101", &token)
        .await
        .expect(400, "VALIDATION_FAILED");

    let c = t
        .put(&format!("/api/orders/{id}/cancel"), Some(&token), json!({}))
        .await;
    assert_eq!(c.json["message"], "订单已取消");
    assert_eq!(c.data()["status"], "cancelled");
    assert_eq!(c.data()["cancelReason"], "user");
    assert_eq!(stock(&t, &opt_a).await.left, 100, "stock released");
    t.put(&format!("/api/orders/{id}/cancel"), Some(&token), json!({}))
        .await
        .expect(409, "ORDER_NOT_PENDING");
    assert_eq!(stock(&t, &opt_a).await.left, 100, "released once only");
    t.post("/api/orders", None, order_body(&ev.id, &opt_a, 1))
        .await
        .expect(401, "UNAUTHORIZED");
    assert_invariants(&t).await;
}

#[tokio::test]
async fn bad_input_changes_nothing() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "专场", days_from_today(5), "20:00"))
        .await;
    let opt = ev.option_ids[0].clone();
    let (token, _) = t.login("buyer", "dt").await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (order_body(&ev.id, &opt, 0), 400, "VALIDATION_FAILED"),
        (order_body(&ev.id, &opt, -3), 400, "VALIDATION_FAILED"),
        (order_body(&ev.id, &opt, 7), 400, "EXCEEDS_MAX_PER_ORDER"),
        (
            order_body(&ev.id, &opt, 1_000_000_000_000),
            400,
            "EXCEEDS_MAX_PER_ORDER",
        ),
        (
            json!({"eventId": ev.id, "priceOptionId": opt, "quantity": 1.5,
                "userInfo": {"name": "张三", "phone": "13800138000"}}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            json!({"eventId": ev.id, "priceOptionId": opt, "quantity": 1}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            json!({"eventId": ev.id, "priceOptionId": opt, "quantity": 1,
                "userInfo": {"name": "", "phone": "13800138000"}}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            json!({"eventId": ev.id, "priceOptionId": opt, "quantity": 1,
                "userInfo": {"name": "名".repeat(51), "phone": "13800138000"}}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            json!({"eventId": ev.id, "priceOptionId": opt, "quantity": 1,
                "userInfo": {"name": "张三", "phone": "1380013800"}}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            json!({"eventId": ev.id, "priceOptionId": opt, "quantity": 1,
                "userInfo": {"name": "<script>", "phone": "+8613800138000"}}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            order_body("01ZZZZZZZZZZZZZZZZZZZZZZZZ", &opt, 1),
            404,
            "EVENT_NOT_FOUND",
        ),
        (
            order_body("x'; DROP TABLE orders;--", &opt, 1),
            404,
            "EVENT_NOT_FOUND",
        ),
        (
            order_body(&ev.id, "01ZZZZZZZZZZZZZZZZZZZZZZZZ", 1),
            404,
            "PRICE_OPTION_NOT_FOUND",
        ),
    ];
    for (body, status, error) in cases {
        t.post("/api/orders", Some(&token), body)
            .await
            .expect(status, error);
    }
    // An option of another show is not this show's option.
    let other = t
        .seed_event(show("dt", "另一场", days_from_today(6), "20:00"))
        .await;
    t.post(
        "/api/orders",
        Some(&token),
        order_body(&ev.id, &other.option_ids[0], 1),
    )
    .await
    .expect(404, "PRICE_OPTION_NOT_FOUND");
    let res = t
        .client
        .post(t.url("/api/orders"))
        .bearer_auth(&token)
        .header("idempotency-key", "x".repeat(65))
        .json(&order_body(&ev.id, &opt, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    assert_eq!(stock(&t, &opt).await.left, 100);
    let n: i64 = t
        .store()
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(n, 0, "no order was written");
}

/// The order body is parsed once on the fast path; content types and
/// malformed bodies still get the same answers as through axum's `Json`
/// (400 envelopes naming the problem), and nothing is bought by them.
#[tokio::test]
async fn order_bodies_by_content_type() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "专场", days_from_today(5), "20:00"))
        .await;
    let opt = ev.option_ids[0].clone();
    let (token, _) = t.login("buyer", "dt").await;
    let good = order_body(&ev.id, &opt, 1).to_string();
    let send = |ctype: Option<&'static str>, body: String| {
        let mut req = t
            .client
            .post(t.url("/api/orders"))
            .bearer_auth(&token)
            .body(body);
        if let Some(c) = ctype {
            req = req.header("content-type", c);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    for refused in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let (status, body) = send(refused, good.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("VALIDATION_FAILED")),
            "{refused:?}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("请求体须为 JSON 格式"),
            "{body}"
        );
    }
    // Malformed JSON, and a field of the wrong type: the message names the field.
    let (status, body) = send(Some("application/json"), "{\"eventId\": ".into()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("VALIDATION_FAILED"))
    );
    let wrong = json!({"eventId": ev.id, "priceOptionId": opt, "quantity": "2",
        "userInfo": {"name": "张三", "phone": "13800138000"}});
    let (status, body) = send(Some("application/json"), wrong.to_string()).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("quantity"),
        "{body}"
    );
    let nested = json!({"eventId": ev.id, "priceOptionId": opt, "quantity": 1,
        "userInfo": {"name": 7, "phone": "13800138000"}});
    let (_, body) = send(Some("application/json"), nested.to_string()).await;
    assert!(
        body["message"].as_str().unwrap().contains("userInfo.name"),
        "{body}"
    );
    assert_eq!(stock(&t, &opt).await.left, 100, "nothing bought so far");

    // Every spelling a client uses is accepted: parameters, case, +json.
    for (i, ctype) in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.club+json",
    ]
    .into_iter()
    .enumerate()
    {
        let (status, body) = send(Some(ctype), good.clone()).await;
        assert_eq!(status, 200, "{ctype}: {body}");
        assert_eq!(stock(&t, &opt).await.left, 99 - i as i64, "{ctype}");
    }
    assert_invariants(&t).await;
}

#[tokio::test]
async fn idempotency_key_returns_the_same_order() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "专场", days_from_today(5), "20:00"))
        .await;
    let opt = ev.option_ids[0].clone();
    let (token, _) = t.login("buyer", "dt").await;
    let send = |key: &'static str, quantity: i64| {
        let (t, token, ev, opt) = (&t, token.clone(), ev.id.clone(), opt.clone());
        async move {
            let res = t
                .client
                .post(t.url("/api/orders"))
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(&order_body(&ev, &opt, quantity))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    // Retries, some concurrent: one purchase.
    let (a, b, c) = tokio::join!(send("retry-1", 2), send("retry-1", 2), send("retry-1", 2));
    let d = send("retry-1", 2).await;
    let ids: Vec<&Value> = [&a, &b, &c, &d]
        .iter()
        .map(|r| &r.1["data"]["id"])
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0] && id.is_string()),
        "{ids:?}"
    );
    assert_eq!(stock(&t, &opt).await.left, 98, "stock taken once");
    let (status, body) = send("retry-1", 3).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("IDEMPOTENCY_KEY_REUSED"))
    );
    // A different key is a different purchase.
    let (status, body) = send("retry-2", 1).await;
    assert_eq!(status, 200);
    assert_ne!(&body["data"]["id"], ids[0]);

    // A retry still gets its order once the show is sold out and the buyer
    // is at their limit (what a new purchase would be refused for), and a
    // reused key is named as such, whatever else is wrong with the purchase.
    let mut small = show("dt", "两座", days_from_today(5), "21:00");
    small.options = vec![option("唯一", 100, 2, 0)];
    small.max_per_user = 2;
    let small = t.seed_event(small).await;
    let one = small.option_ids[0].clone();
    let buy = |key: &'static str, quantity: i64| {
        let (t, token, ev, opt) = (&t, token.clone(), small.id.clone(), one.clone());
        async move {
            let mut req = t
                .client
                .post(t.url("/api/orders"))
                .bearer_auth(token)
                .json(&order_body(&ev, &opt, quantity));
            if !key.is_empty() {
                req = req.header("idempotency-key", key);
            }
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, first) = buy("last-two", 2).await;
    assert_eq!(status, 200, "{first}");
    let (status, body) = buy("", 1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("PURCHASE_LIMIT_EXCEEDED"))
    );
    let (status, again) = buy("last-two", 2).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"]["id"], first["data"]["id"]);
    for quantity in [1, 99] {
        let (status, body) = buy("last-two", quantity).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("IDEMPOTENCY_KEY_REUSED")),
            "{body}"
        );
    }
    assert_eq!(stock(&t, &one).await.left, 0, "two seats taken, once");
    assert_invariants(&t).await;
}

#[tokio::test]
async fn limits_stock_and_sale_windows() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let mut e = show("dt", "小场", days_from_today(3), "20:00");
    e.options = vec![option("普通", 5000, 5, 0), option("停售", 5000, 5, 1)];
    e.options[1].status = ActiveStatus::Disabled;
    e.max_per_user = 4;
    let ev = t.seed_event(e).await;
    let (opt, disabled) = (ev.option_ids[0].clone(), ev.option_ids[1].clone());
    let (a, _) = t.login("a", "dt").await;
    let (b, _) = t.login("b", "dt").await;

    t.post("/api/orders", Some(&a), order_body(&ev.id, &disabled, 1))
        .await
        .expect(409, "PRICE_OPTION_UNAVAILABLE");
    t.post("/api/orders", Some(&a), order_body(&ev.id, &opt, 3))
        .await
        .data();
    let r = t
        .post("/api/orders", Some(&a), order_body(&ev.id, &opt, 2))
        .await;
    r.expect(409, "PURCHASE_LIMIT_EXCEEDED");
    assert!(
        r.json["message"].as_str().unwrap().contains('1'),
        "says how many are left"
    );
    let r = t
        .post("/api/orders", Some(&b), order_body(&ev.id, &opt, 3))
        .await;
    r.expect(409, "INSUFFICIENT_STOCK");
    assert!(r.json["message"].as_str().unwrap().contains('2'));
    t.post("/api/orders", Some(&b), order_body(&ev.id, &opt, 2))
        .await
        .data();
    let Stock { seats, status, .. } = stock(&t, &opt).await;
    assert_eq!(
        (seats, status.as_str()),
        (5, "onSale"),
        "the disabled option still counts"
    );
    t.post("/api/orders", Some(&a), order_body(&ev.id, &opt, 1))
        .await
        .expect(409, "SOLD_OUT");

    // Sold out at zero, back on sale when a hold is released.
    let mut solo = show("dt", "一座", days_from_today(3), "21:00");
    solo.options = vec![option("唯一", 100, 1, 0)];
    let solo = t.seed_event(solo).await;
    let o = t
        .post(
            "/api/orders",
            Some(&a),
            order_body(&solo.id, &solo.option_ids[0], 1),
        )
        .await;
    assert_eq!(stock(&t, &solo.option_ids[0]).await.status, "soldOut");
    t.app.state.caches.catalog.invalidate();
    assert_eq!(
        t.data(&format!("/api/events/{}", solo.id)).await["status"],
        "soldOut"
    );
    let id = o.data()["id"].as_str().unwrap().to_string();
    t.put(&format!("/api/orders/{id}/cancel"), Some(&a), json!({}))
        .await
        .data();
    assert_eq!(stock(&t, &solo.option_ids[0]).await.status, "onSale");

    // Windows: not yet on sale, already started, cancelled, sale ended.
    let mut later = show("dt", "未开售", days_from_today(9), "20:00");
    later.status = EventStatus::Upcoming;
    let later = t.seed_event(later).await;
    t.post(
        "/api/orders",
        Some(&a),
        order_body(&later.id, &later.option_ids[0], 1),
    )
    .await
    .expect(409, "SALE_NOT_STARTED");
    let past = t
        .seed_event(show("dt", "昨天", days_from_today(-1), "20:00"))
        .await;
    t.post(
        "/api/orders",
        Some(&a),
        order_body(&past.id, &past.option_ids[0], 1),
    )
    .await
    .expect(409, "SALE_ENDED");
    let mut ended = show("dt", "停售", days_from_today(9), "20:00");
    ended.sale_end_at = Some(standup_tickets::model::time::now_ms() - 1000);
    let ended = t.seed_event(ended).await;
    t.post(
        "/api/orders",
        Some(&a),
        order_body(&ended.id, &ended.option_ids[0], 1),
    )
    .await
    .expect(409, "SALE_ENDED");
    let mut off = show("dt", "取消", days_from_today(9), "20:00");
    off.status = EventStatus::Cancelled;
    let off = t.seed_event(off).await;
    t.post(
        "/api/orders",
        Some(&a),
        order_body(&off.id, &off.option_ids[0], 1),
    )
    .await
    .expect(409, "EVENT_CANCELLED");
    let mut draft = show("dt", "草稿", days_from_today(9), "20:00");
    draft.status = EventStatus::Draft;
    let draft = t.seed_event(draft).await;
    t.post(
        "/api/orders",
        Some(&a),
        order_body(&draft.id, &draft.option_ids[0], 1),
    )
    .await
    .expect(404, "EVENT_NOT_FOUND");
    assert_invariants(&t).await;
}

#[tokio::test]
async fn unpaid_orders_expire_and_release_stock() {
    let t = TestApp::start_with(|c| c.order_payment_timeout = Duration::from_secs(1)).await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "专场", days_from_today(5), "20:00"))
        .await;
    let opt = ev.option_ids[0].clone();
    let (token, _) = t.login("buyer", "dt").await;
    let o = t
        .post("/api/orders", Some(&token), order_body(&ev.id, &opt, 3))
        .await;
    let id = o.data()["id"].as_str().unwrap().to_string();
    assert_eq!(stock(&t, &opt).await.left, 97);
    // Expired within a couple of seconds of expiresAt (1 s hold + 1 s tick).
    let mut done = None;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let d = t.get_as(&format!("/api/orders/{id}"), &token).await;
        if d.data()["status"] == "cancelled" {
            done = Some(d.data().clone());
            break;
        }
    }
    let d = done.expect("expired within 4 s");
    assert_eq!(d["cancelReason"], "timeout");
    assert_eq!(stock(&t, &opt).await.left, 100);
    t.put(&format!("/api/orders/{id}/cancel"), Some(&token), json!({}))
        .await
        .expect(409, "ORDER_NOT_PENDING");
    assert_invariants(&t).await;
}

#[tokio::test]
async fn an_order_that_expired_while_down_is_cancelled_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let t = TestApp::start_in(tmp.path(), |_| {}).await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "专场", days_from_today(5), "20:00"))
        .await;
    let opt = ev.option_ids[0].clone();
    let (token, _) = t.login("buyer", "dt").await;
    let id = t
        .post("/api/orders", Some(&token), order_body(&ev.id, &opt, 2))
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.stop().await;

    // The power was off past the hold.
    let store =
        standup_tickets::store::Store::open(&tmp.path().join("standup-tickets.db")).unwrap();
    let oid = id.clone();
    store
        .write(move |c| {
            c.execute(
                "UPDATE orders SET expires_at = expires_at - 3600000 WHERE id = ?1",
                [&oid],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    store.close().await;

    let t = TestApp::start_in(tmp.path(), |_| {}).await;
    // Settled before the first request is served, not on a later tick.
    let d = t.get_as(&format!("/api/orders/{id}"), &token).await;
    assert_eq!(d.data()["status"], "cancelled");
    assert_eq!(d.data()["cancelReason"], "timeout");
    assert_eq!(stock(&t, &opt).await.left, 100);
    assert_invariants(&t).await;
}

#[tokio::test]
async fn sale_opens_at_its_start_time() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let mut e = show("dt", "即将开售", days_from_today(5), "20:00");
    e.status = EventStatus::Upcoming;
    e.sale_start_at = Some(standup_tickets::model::time::now_ms() + 1200);
    let ev = t.seed_event(e).await;
    let (token, _) = t.login("buyer", "dt").await;
    t.post(
        "/api/orders",
        Some(&token),
        order_body(&ev.id, &ev.option_ids[0], 1),
    )
    .await
    .expect(409, "SALE_NOT_STARTED");
    let home = t.data("/api/events/home?tenantId=dt").await;
    assert_eq!(home["upcomingSale"][0]["id"], ev.id.as_str());
    let mut opened = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = t
            .post(
                "/api/orders",
                Some(&token),
                order_body(&ev.id, &ev.option_ids[0], 1),
            )
            .await;
        if r.status == 200 {
            opened = true;
            break;
        }
        r.expect(409, "SALE_NOT_STARTED");
    }
    assert!(opened, "sale opened within a couple of seconds");
    assert_eq!(
        t.data(&format!("/api/events/{}", ev.id)).await["status"],
        "onSale"
    );
    let home = t.data("/api/events/home?tenantId=dt").await;
    assert_eq!(home["upcomingSale"], json!([]));
}

#[tokio::test]
async fn order_creation_is_rate_limited_per_user() {
    let t = TestApp::start_with(|c| {
        c.rate_limits = RateLimits {
            api: None,
            login: None,
            orders: Some(Rate {
                count: 2,
                per: Duration::from_secs(60),
            }),
        }
    })
    .await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "专场", days_from_today(5), "20:00"))
        .await;
    let (a, _) = t.login("a", "dt").await;
    let (b, _) = t.login("b", "dt").await;
    for _ in 0..2 {
        t.post(
            "/api/orders",
            Some(&a),
            order_body(&ev.id, &ev.option_ids[0], 1),
        )
        .await
        .data();
    }
    let r = t
        .post(
            "/api/orders",
            Some(&a),
            order_body(&ev.id, &ev.option_ids[0], 1),
        )
        .await;
    r.expect(429, "RATE_LIMITED");
    assert!(r.retry_after.is_some());
    t.post(
        "/api/orders",
        Some(&b),
        order_body(&ev.id, &ev.option_ids[0], 1),
    )
    .await
    .data();
    assert_eq!(stock(&t, &ev.option_ids[0]).await.left, 97);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_buyers_race_for_fifty_seats() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let mut e = show("dt", "爆款专场", days_from_today(5), "20:00");
    e.options = vec![option("内场", 28800, 50, 0)];
    let ev = t.seed_event(e).await;
    let opt = ev.option_ids[0].clone();
    let mut tokens = Vec::new();
    for i in 0..300 {
        tokens.push(t.login(&format!("fan{i}"), "dt").await.0);
    }
    let client = t.client.clone();
    let url = t.url("/api/orders");
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(tokens.len()));
    let mut tasks = Vec::new();
    for token in tokens {
        let (client, url, body, start) = (
            client.clone(),
            url.clone(),
            order_body(&ev.id, &opt, 1),
            start.clone(),
        );
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (status, body["error"].as_str().map(str::to_string))
        }));
    }
    let (mut sold, mut sold_out) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            (200, None) => sold += 1,
            (409, Some(e)) if e == "SOLD_OUT" => sold_out += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((sold, sold_out), (50, 250));
    let Stock {
        left,
        seats,
        status,
    } = stock(&t, &opt).await;
    assert_eq!((left, seats, status.as_str()), (0, 0, "soldOut"));
    let held: i64 = t
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT SUM(quantity) FROM orders WHERE status = 'pending'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(held, 50);
    assert_invariants(&t).await;
}
