//! Payments in dev mode (no merchant configuration): the mock provider, the
//! confirm route playing a payment through the real settlement, tickets and
//! their QR codes, and the buyer's refund with its policy.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn pay_confirm_tickets_and_refund() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "专场", days_from_today(5), "20:00"))
        .await;
    let opt = ev.option_ids[0].clone();
    let (token, _) = t.login("buyer", "dt").await;
    let (other, _) = t.login("other", "dt").await;
    let order = t
        .post("/api/orders", Some(&token), order_body(&ev.id, &opt, 2))
        .await
        .data()
        .clone();
    let id = order["id"].as_str().unwrap().to_string();
    assert_eq!(stock(&t, &opt).await.left, 98);

    // Pay parameters: the spec's shape, from the mock.
    let params = t
        .post("/api/payments/wechat", Some(&token), json!({"orderId": id}))
        .await
        .data()
        .clone();
    for k in [
        "appId",
        "timeStamp",
        "nonceStr",
        "package",
        "signType",
        "paySign",
    ] {
        assert!(params[k].is_string(), "{k} in {params}");
    }
    assert_eq!(params["signType"], "RSA");
    assert!(
        params["package"]
            .as_str()
            .unwrap()
            .starts_with("prepay_id=")
    );
    assert!(params["timeStamp"].as_str().unwrap().parse::<i64>().is_ok());
    // Someone else's order does not exist for them; junk ids neither.
    t.post("/api/payments/wechat", Some(&other), json!({"orderId": id}))
        .await
        .expect(404, "ORDER_NOT_FOUND");
    t.post(
        "/api/payments/wechat",
        Some(&token),
        json!({"orderId": "'; DROP TABLE orders; --"}),
    )
    .await
    .expect(404, "ORDER_NOT_FOUND");
    t.post("/api/payments/wechat", None, json!({"orderId": id}))
        .await
        .expect(401, "UNAUTHORIZED");

    // Confirm twice: one payment, one set of tickets.
    let paid = t
        .post(&format!("/api/dev/payments/{id}/confirm"), None, json!({}))
        .await
        .data()
        .clone();
    assert_eq!(paid["status"], "paid");
    let tickets = paid["tickets"].as_array().unwrap().clone();
    assert_eq!(tickets.len(), 2);
    let again = t
        .post(&format!("/api/dev/payments/{id}/confirm"), None, json!({}))
        .await
        .data()
        .clone();
    assert_eq!(
        again["tickets"], paid["tickets"],
        "same tickets after a replay"
    );
    assert_eq!(stock(&t, &opt).await.left, 98, "stock stays sold");
    let key = t.app.state.qr_key.clone();
    for tk in &tickets {
        let code = tk["qrCode"].as_str().unwrap();
        assert!(key.verify(code), "{code}");
        assert_eq!(tk["status"], "valid");
    }
    assert_ne!(tickets[0]["qrCode"], tickets[1]["qrCode"]);
    // Paying a paid order again is refused.
    t.post("/api/payments/wechat", Some(&token), json!({"orderId": id}))
        .await
        .expect(409, "ORDER_NOT_PENDING");

    // QR image for the owner only.
    let ticket_id = tickets[0]["id"].as_str().unwrap();
    let res = reqwest::Client::new()
        .get(t.url(&format!("/api/tickets/{ticket_id}/qr.svg")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.unwrap().contains("<svg"));
    t.get_as(&format!("/api/tickets/{ticket_id}/qr.svg"), &other)
        .await
        .expect(404, "TICKET_NOT_FOUND");

    // Refund: reason validated, then done (the mock refunds at once).
    t.post(
        "/api/payments/refund",
        Some(&token),
        json!({"orderId": id, "reason": "x".repeat(81)}),
    )
    .await
    .expect(400, "VALIDATION_FAILED");
    t.post("/api/payments/refund", Some(&other), json!({"orderId": id}))
        .await
        .expect(404, "ORDER_NOT_FOUND");
    let r = t
        .post(
            "/api/payments/refund",
            Some(&token),
            json!({"orderId": id, "reason": "临时有事"}),
        )
        .await;
    assert_eq!(r.json["message"], "退款成功", "{}", r.text);
    assert_eq!(r.data()["status"], "refunded");
    assert_eq!(stock(&t, &opt).await.left, 100, "seats back on sale");
    t.post("/api/payments/refund", Some(&token), json!({"orderId": id}))
        .await
        .expect(409, "REFUND_EXISTS");
    let after = t
        .get_as(&format!("/api/orders/{id}"), &token)
        .await
        .data()
        .clone();
    assert!(
        after["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|tk| tk["status"] == "expired")
    );
    assert_invariants(&t).await;
}

#[tokio::test]
async fn refund_policy_used_tickets_cutoff_and_unpaid() {
    // REFUND_CUTOFF=10d: a show a week away is inside the cutoff whatever
    // the time of day the test runs.
    let t = TestApp::start_with(|c| c.refund_cutoff = std::time::Duration::from_secs(10 * 86_400))
        .await;
    t.seed_tenant("dt").await;
    let soon = t
        .seed_event(show("dt", "下周", days_from_today(7), "20:00"))
        .await;
    let later = t
        .seed_event(show("dt", "下月", days_from_today(30), "20:00"))
        .await;
    let (token, _) = t.login("buyer", "dt").await;
    let buy = |ev: String, opt: String| {
        let (t, token) = (&t, token.clone());
        async move {
            let o = t
                .post("/api/orders", Some(&token), order_body(&ev, &opt, 1))
                .await
                .data()
                .clone();
            o["id"].as_str().unwrap().to_string()
        }
    };
    // Unpaid: nothing to refund.
    let unpaid = buy(later.id.clone(), later.option_ids[0].clone()).await;
    t.post(
        "/api/payments/refund",
        Some(&token),
        json!({"orderId": unpaid}),
    )
    .await
    .expect(409, "ORDER_NOT_PAID");

    // Within the cutoff: refused, tickets untouched.
    let tonight = buy(soon.id.clone(), soon.option_ids[0].clone()).await;
    t.post(
        &format!("/api/dev/payments/{tonight}/confirm"),
        None,
        json!({}),
    )
    .await
    .data();
    t.post(
        "/api/payments/refund",
        Some(&token),
        json!({"orderId": tonight}),
    )
    .await
    .expect(409, "REFUND_WINDOW_CLOSED");
    let o = t
        .get_as(&format!("/api/orders/{tonight}"), &token)
        .await
        .data()
        .clone();
    assert_eq!(o["status"], "paid");
    assert_eq!(o["tickets"][0]["status"], "valid");

    // A checked-in ticket: refused.
    let used = buy(later.id.clone(), later.option_ids[1].clone()).await;
    t.post(
        &format!("/api/dev/payments/{used}/confirm"),
        None,
        json!({}),
    )
    .await
    .data();
    crate::common::admin::check_in_order(&t, "dt", &used).await;
    t.post(
        "/api/payments/refund",
        Some(&token),
        json!({"orderId": used}),
    )
    .await
    .expect(409, "TICKET_USED");
    let o = t
        .get_as(&format!("/api/orders/{used}"), &token)
        .await
        .data()
        .clone();
    assert_eq!(o["status"], "used", "checked in, not refunded");
    assert_invariants(&t).await;
}

#[tokio::test]
async fn payment_after_expiry_is_kept_or_refunded() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let mut e = show("dt", "小场", days_from_today(3), "20:00");
    e.options = vec![option("唯一", 5000, 1, 0)];
    let ev = t.seed_event(e).await;
    let opt = ev.option_ids[0].clone();
    let (a, _) = t.login("a", "dt").await;
    let (b, _) = t.login("b", "dt").await;
    let first = t
        .post("/api/orders", Some(&a), order_body(&ev.id, &opt, 1))
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Cancelled (as the expiry tick would), the seat is free again...
    t.put(&format!("/api/orders/{first}/cancel"), Some(&a), json!({}))
        .await
        .data();
    assert_eq!(stock(&t, &opt).await.left, 1);
    // ...and a late payment takes it back: the buyer keeps the seat.
    let o = t
        .post(
            &format!("/api/dev/payments/{first}/confirm"),
            None,
            json!({}),
        )
        .await
        .data()
        .clone();
    assert_eq!(o["status"], "paid");
    assert_eq!(o["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(stock(&t, &opt).await.left, 0);

    // Now the show is sold out: b's order is cancelled, b pays late, and the
    // money goes back (the seat is a's).
    t.put(&format!("/api/orders/{first}/cancel"), Some(&a), json!({}))
        .await
        .expect(409, "ORDER_NOT_PENDING");
    let u = first.clone();
    let second = t
        .write(move |c| {
            // b's order was placed while the seat was free and then expired.
            let b_user: String =
                c.query_row("SELECT id FROM users WHERE openid = 'dev_b'", [], |r| {
                    r.get(0)
                })?;
            let id = standup_tickets::ids::new_id();
            c.execute(
                "INSERT INTO orders (id, tenant_id, user_id, event_id, price_option_id, quantity,
                     unit_price, total_amount, user_name, user_phone, status, expires_at,
                     cancel_reason, cancelled_at, created_at, updated_at)
                 SELECT ?1, tenant_id, ?2, event_id, price_option_id, 1, 5000, 5000, '李四',
                     '13900139000', 'cancelled', 0, 'timeout', 1, 1, 1 FROM orders WHERE id = ?3",
                rusqlite::params![id, b_user, u],
            )?;
            Ok(id)
        })
        .await;
    let o = t
        .post(
            &format!("/api/dev/payments/{second}/confirm"),
            None,
            json!({}),
        )
        .await
        .data()
        .clone();
    // The auto-refund runs on its own task; wait for it.
    let mut status = o["status"].as_str().unwrap().to_string();
    for _ in 0..50 {
        if status == "refunded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        status = t.get_as(&format!("/api/orders/{second}"), &b).await.data()["status"]
            .as_str()
            .unwrap()
            .to_string();
    }
    assert_eq!(status, "refunded");
    assert_eq!(stock(&t, &opt).await.left, 0, "a's seat untouched");
    let o = t
        .get_as(&format!("/api/orders/{second}"), &b)
        .await
        .data()
        .clone();
    assert!(
        o["tickets"].as_array().unwrap().is_empty(),
        "no tickets for refunded money"
    );
    assert_invariants(&t).await;
}
