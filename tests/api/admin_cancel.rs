//! Cancelling a show: sales stop, holds are released, and every paid order
//! is refunded in full through WeChat Pay exactly once, retried while WeChat
//! refuses (`NOT_ENOUGH`), across a restart of the server.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::admin::{create_show, owner_token, show_body};
use crate::common::*;

fn builder(dir: &std::path::Path) -> TestAppBuilder {
    TestApp::builder().data_dir(dir).config(|c| {
        c.refund_retry_after = Duration::from_millis(300);
    })
}

async fn progress(t: &TestApp, token: &str, id: &str) -> Value {
    let r = t.get_as(&format!("/api/admin/events/{id}"), token).await;
    r.data()["refunds"].clone()
}

async fn wait_for(t: &TestApp, token: &str, id: &str, done: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let p = progress(t, token, id).await;
        if p["refundsDone"] == done {
            return p;
        }
        assert!(Instant::now() < deadline, "refunds stuck at {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_cancelled_show_refunds_every_paid_order_once_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let t = builder(tmp.path()).fake_pay().start().await;
    t.seed_tenant("dt").await;
    let token = owner_token(&t, "dt").await;
    let body = {
        let mut b = show_body(5);
        b["maxPerUser"] = json!(4);
        b
    };
    let show_a = create_show(&t, &token, body.clone()).await;
    let other = create_show(&t, &token, body).await;
    let (id, opt) = (
        show_a["id"].as_str().unwrap().to_string(),
        show_a["priceOptions"][1]["id"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let mut paid = Vec::new();
    for i in 0..30 {
        let (buyer, _) = t.login(&format!("buyer{i}-1"), "dt").await;
        let o = t
            .post(
                "/api/orders",
                Some(&buyer),
                order_body(&id, &opt, 1 + i % 2),
            )
            .await;
        let oid = o.data()["id"].as_str().unwrap().to_string();
        t.pay_at_wechat(&buyer, &oid).await;
        paid.push(oid);
    }
    // Two unpaid holds on the show, and a paid order on another show.
    let mut pending = Vec::new();
    for i in 0..2 {
        let (buyer, _) = t.login(&format!("holder{i}-1"), "dt").await;
        let o = t
            .post("/api/orders", Some(&buyer), order_body(&id, &opt, 2))
            .await;
        pending.push(o.data()["id"].as_str().unwrap().to_string());
    }
    let (keeper, _) = t.login("keeper", "dt").await;
    let other_opt = other["priceOptions"][0]["id"].as_str().unwrap();
    let kept = t
        .post(
            "/api/orders",
            Some(&keeper),
            order_body(other["id"].as_str().unwrap(), other_opt, 1),
        )
        .await;
    let kept = kept.data()["id"].as_str().unwrap().to_string();
    t.pay_at_wechat(&keeper, &kept).await;

    // The merchant account is short: the first 40 refund requests are refused.
    t.fake_pay()
        .state
        .refund_refusals
        .store(40, Ordering::SeqCst);
    let r = t
        .post(
            &format!("/api/admin/events/{id}/cancel"),
            Some(&token),
            json!({"reason": "主演临时生病"}),
        )
        .await;
    let answer = r.data().clone();
    assert_eq!(answer["status"], "cancelled");
    assert_eq!(answer["cancelReason"], "主演临时生病");
    assert_eq!(answer["refunds"]["refundsTotal"], 30);
    // Sales stop at once; holds are released.
    assert_eq!(
        order_statuses(&t, &pending).await,
        ["cancelled", "cancelled"]
    );
    let (late, _) = t.login("late", "dt").await;
    t.post("/api/orders", Some(&late), order_body(&id, &opt, 1))
        .await
        .expect(409, "EVENT_CANCELLED");
    assert_eq!(
        t.data(&format!("/api/events/{id}")).await["status"],
        "cancelled"
    );

    // The first round fails and says why; then the server restarts.
    let deadline = Instant::now() + Duration::from_secs(20);
    let failing = loop {
        let p = progress(&t, &token, &id).await;
        if p["refundsFailed"].as_i64().unwrap_or(0) > 0 {
            break p;
        }
        assert!(Instant::now() < deadline, "no failure recorded: {p}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        failing["lastError"]
            .as_str()
            .unwrap()
            .contains("NOT_ENOUGH"),
        "{failing}"
    );
    assert!(failing["refundsDone"].as_i64().unwrap() < 30);
    let (wechat, pay) = t.stop_keeping_fakes().await;
    let t = builder(tmp.path()).fakes(wechat, pay).start().await;
    let token = crate::common::admin::admin_token(
        &t,
        "dt",
        "owner2",
        standup_tickets::model::admins::AdminRole::Owner,
    )
    .await;
    let done = wait_for(&t, &token, &id, 30).await;
    assert_eq!(done["refundsFailed"], 0, "{done}");
    assert_eq!(order_statuses(&t, &paid).await, vec!["refunded"; 30]);
    assert_eq!(
        order_statuses(&t, std::slice::from_ref(&kept)).await,
        ["paid"]
    );

    // Exactly one refund per order at WeChat, each for the full amount.
    let totals: Vec<(String, i64)> = {
        let ids = paid.clone();
        t.store()
            .read(move |c| {
                let mut out = Vec::new();
                for id in &ids {
                    out.push((
                        id.clone(),
                        c.query_row("SELECT total_amount FROM orders WHERE id = ?1", [id], |r| {
                            r.get(0)
                        })?,
                    ));
                }
                Ok(out)
            })
            .await
            .unwrap()
    };
    {
        let refunds = t.fake_pay().state.refunds.lock().unwrap();
        for (id, total) in &totals {
            let at_wechat: Vec<&Value> = refunds
                .values()
                .filter(|r| r["out_trade_no"] == id.as_str())
                .collect();
            assert_eq!(at_wechat.len(), 1, "order {id} refunded once at WeChat");
            assert_eq!(at_wechat[0]["amount"]["refund"], *total);
        }
        assert_eq!(refunds.len(), 30);
    }
    // Every fen: paid = refunded + kept, per order and in all.
    let (paid_fen, refunded_fen, kept_fen): (i64, i64, i64) = t
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT SUM(total_amount) FROM orders WHERE paid_at IS NOT NULL),
                        (SELECT SUM(amount) FROM refunds WHERE status = 'success'),
                        (SELECT SUM(total_amount) FROM orders WHERE status = 'paid')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(paid_fen, refunded_fen + kept_fen);
    assert_eq!(kept_fen, 12000);
    assert_invariants(&t).await;

    // Cancelling again refunds nothing twice.
    let calls = t.fake_pay().state.refund_calls.load(Ordering::SeqCst);
    let again = t
        .post(
            &format!("/api/admin/events/{id}/cancel"),
            Some(&token),
            json!({"reason": "再点一次"}),
        )
        .await;
    assert_eq!(again.data()["refunds"]["refundsTotal"], 30);
    assert_eq!(again.data()["cancelReason"], "主演临时生病");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        t.fake_pay().state.refund_calls.load(Ordering::SeqCst),
        calls
    );
    // A cancelled show cannot be edited back.
    let current = t.get_as(&format!("/api/admin/events/{id}"), &token).await;
    let mut body = crate::common::admin::editable(current.data());
    body["title"] = json!("改名");
    t.put(&format!("/api/admin/events/{id}"), Some(&token), body)
        .await
        .expect(409, "EVENT_CANCELLED");
    let log = t
        .get_as(&format!("/api/admin/audit-log?targetId={id}"), &token)
        .await;
    let cancelled = log.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "event_cancelled")
        .count();
    assert_eq!(cancelled, 1);
    t.stop().await;
}
