//! `GET /metrics`: Prometheus text with requests by route template, orders,
//! payments, check-ins, the writer, the WAL and the caches; guarded by
//! `METRICS_TOKEN`, and refused in production without one.

use serde_json::json;
use standup_tickets::config::{AppEnv, Secret};

use crate::common::admin::{check_in_order, owner_token, paid_order};
use crate::common::*;

async fn scrape(t: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut req = t.client.get(t.url("/metrics"));
    if let Some(tok) = token {
        req = req.bearer_auth(tok);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The value of the one series `line_start` begins (name and labels).
fn value(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_orders_payments_checkins_and_the_writer() {
    let t = TestApp::start().await;
    t.seed_tenant("mt").await;
    let ev = t
        .seed_event(show("mt", "指标专场", days_from_today(3), "20:00"))
        .await;
    for _ in 0..3 {
        t.data(&format!("/api/events/{}", ev.id)).await;
    }
    // Bought while on sale, then dated today: the door lets tonight's show
    // in whatever the hour (a show today at 20:00 stops selling at 20:00).
    let (order, _) = paid_order(&t, "mbuyer-1", "mt", &ev.id, &ev.option_ids[0], 2).await;
    crate::common::admin::date_today(&t, &ev.id).await;
    check_in_order(&t, "mt", &order).await;
    let owner = owner_token(&t, "mt").await;
    let again = t
        .post(
            "/api/admin/checkin",
            Some(&owner),
            json!({"qrCode": t.store().read({
                let o = order.clone();
                move |c| Ok(c.query_row("SELECT qr_code FROM tickets WHERE order_id = ?1", [&o], |r| r.get::<_, String>(0))?)
            }).await.unwrap()}),
        )
        .await;
    assert_eq!(again.status, 409);

    let (status, text) = scrape(&t, None).await;
    assert_eq!(status, 200, "{text}");
    let route =
        r#"standup_http_requests_total{method="GET",route="/api/events/{eventId}",status="200"}"#;
    assert_eq!(value(&text, route), Some(3.0), "{text}");
    assert!(
        text.contains(r#"standup_http_request_duration_seconds_bucket{le="#)
            || text.contains(r#"route="/api/events/{eventId}",le="#),
        "latency histogram by route"
    );
    assert_eq!(
        value(&text, r#"standup_orders_total{outcome="created"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&text, r#"standup_payments_total{outcome="paid"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&text, r#"standup_checkins_total{outcome="admitted"}"#),
        Some(2.0)
    );
    assert_eq!(
        value(
            &text,
            r#"standup_checkins_total{outcome="TICKET_ALREADY_USED"}"#
        ),
        Some(1.0)
    );
    assert!(value(&text, "standup_writer_batch_size_count").unwrap() >= 3.0);
    assert!(value(&text, "standup_writer_commit_seconds_count").unwrap() >= 3.0);
    assert!(value(&text, "standup_writer_queue_depth").is_some());
    assert!(value(&text, "standup_wal_bytes").unwrap() > 0.0);
    // The first read of the show missed the cache; the next two hit it.
    assert!(
        value(
            &text,
            r#"standup_cache_lookups_total{cache="events",result="hit"}"#
        )
        .unwrap()
            >= 2.0
    );
    assert!(
        value(
            &text,
            r#"standup_cache_lookups_total{cache="events",result="miss"}"#
        )
        .unwrap()
            >= 1.0
    );
    // Unknown paths are one series, not one per path.
    t.get("/no/such/path/12345").await;
    let (_, text) = scrape(&t, None).await;
    assert!(text.contains(r#"route="unmatched",status="404""#));
    assert!(!text.contains("12345"));
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let token = "metrics-token-0123456789";
    let t = TestApp::start_with(move |c| c.metrics_token = Some(Secret(token.into()))).await;
    for bad in [None, Some("wrong-token-0123456789"), Some("")] {
        let (status, body) = scrape(&t, bad).await;
        assert_eq!(status, 401, "{bad:?}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"], "TOKEN_INVALID");
        assert!(!body.contains("standup_"), "nothing leaks");
    }
    let (status, text) = scrape(&t, Some(token)).await;
    assert_eq!(status, 200);
    assert!(text.contains("standup_http_requests_total"));
}

#[tokio::test]
async fn metrics_are_closed_in_production_without_a_token() {
    let t = TestApp::builder()
        .fake_wechat()
        .fake_pay()
        .config(|c| {
            c.app_env = AppEnv::Production;
            c.jwt_secret = Some(Secret("production-secret-0123456789abcdef-xyz".into()));
            c.metrics_token = None;
        })
        .start()
        .await;
    let (status, body) = scrape(&t, None).await;
    assert_eq!(status, 403);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "METRICS_DISABLED");
    assert!(v["message"].as_str().unwrap().contains("METRICS_TOKEN"));
}
