//! The club's settings over HTTP: the owner saves them, the mini-program's
//! `GET /api/tenants/{id}` shows them at once, and the buyers' refund
//! cut-off is the club's own.

use serde_json::{Value, json};
use standup_tickets::model::admins::AdminRole;

use crate::common::admin::{admin_token, create_show, owner_token, show_body};
use crate::common::*;

const XSS: &str = "<img src=x onerror=alert(1)>\"'&";

fn settings() -> Value {
    json!({
        "name": format!("笑声 {XSS}"),
        "logo": "/static/dt/logo.png",
        "theme": {"primary": "#112233", "accent": "#aabbcc", "bg": "#000000",
                  "text": "#FFFFFF", "muted": "#808080"},
        "contact": {"phone": "021-6234 5678", "address": XSS, "email": "hi@club.example.com"},
        "features": {"enableCalendar": false, "enableMembership": true, "enableCoupon": false},
        "refundCutoffMinutes": 90
    })
}

#[tokio::test]
async fn the_owner_saves_settings_and_the_mini_program_sees_them() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    t.seed_tenant("xc").await;
    let owner = owner_token(&t, "dt").await;
    let staff = admin_token(&t, "dt", "door", AdminRole::Staff).await;
    let other = owner_token(&t, "xc").await;

    let before = t.get_as("/api/admin/tenant", &staff).await;
    let before = before.data().clone();
    assert_eq!(before["id"], "dt");
    assert_eq!(before["refundCutoffMinutes"], 24 * 60);
    assert_eq!(before["refundCutoffIsDefault"], true);
    assert_eq!(before["timezone"], "Asia/Shanghai");
    t.put("/api/admin/tenant", Some(&staff), settings())
        .await
        .expect(403, "OWNER_ONLY");

    let r = t.put("/api/admin/tenant", Some(&owner), settings()).await;
    assert_eq!(r.json["message"], "保存成功", "{}", r.text);
    let saved = r.data().clone();
    assert_eq!(saved["refundCutoffMinutes"], 90);
    assert_eq!(saved["refundCutoffIsDefault"], false);
    // The public config, at once, exactly as saved.
    let public = t.data("/api/tenants/dt").await;
    assert_eq!(public["name"], format!("笑声 {XSS}"));
    assert_eq!(public["logo"], "/static/dt/logo.png");
    assert_eq!(public["theme"]["accent"], "#aabbcc");
    assert_eq!(public["contact"]["address"], XSS);
    assert_eq!(public["features"]["enableMembership"], true);
    assert!(public.get("refundCutoffMinutes").is_none(), "not public");
    // The other club's save is its own.
    let mut theirs = settings();
    theirs["name"] = json!("别家");
    t.put("/api/admin/tenant", Some(&other), theirs)
        .await
        .data();
    assert_eq!(t.data("/api/tenants/xc").await["name"], "别家");
    assert_eq!(
        t.data("/api/tenants/dt").await["name"],
        format!("笑声 {XSS}")
    );

    // Bad fields: named, nothing saved.
    let current = t.get_as("/api/admin/tenant", &owner).await.data().clone();
    for (path, value, field) in [
        ("/name", json!(""), "name"),
        ("/name", json!("名".repeat(101)), "name"),
        ("/logo", json!("javascript:alert(1)"), "logo"),
        ("/theme/primary", json!("red"), "theme.primary"),
        ("/theme/muted", json!("#12345"), "theme.muted"),
        ("/theme/bg", json!("#GGGGGG"), "theme.bg"),
        ("/contact/email", json!("not-an-email"), "contact.email"),
        ("/contact/email", json!("a@b"), "contact.email"),
        ("/contact/phone", json!("电话"), "contact.phone"),
        (
            "/contact/address",
            json!("址".repeat(201)),
            "contact.address",
        ),
        ("/refundCutoffMinutes", json!(-5), "refundCutoffMinutes"),
        ("/refundCutoffMinutes", json!(43_201), "refundCutoffMinutes"),
    ] {
        let mut body = settings();
        *body.pointer_mut(path).unwrap() = value;
        let r = t.put("/api/admin/tenant", Some(&owner), body).await;
        r.expect(400, "VALIDATION_FAILED");
        assert!(
            r.json["message"].as_str().unwrap().starts_with(field),
            "{}",
            r.text
        );
    }
    let mut wrong_type = settings();
    wrong_type["features"]["enableCoupon"] = json!("yes");
    t.put("/api/admin/tenant", Some(&owner), wrong_type)
        .await
        .expect(400, "VALIDATION_FAILED");
    assert_eq!(t.get_as("/api/admin/tenant", &owner).await.data(), &current);

    // A minimal body: default theme and features, no contact, the server's cut-off.
    let r = t
        .put("/api/admin/tenant", Some(&owner), json!({"name": "极简"}))
        .await;
    let s = r.data();
    assert_eq!(s["refundCutoffIsDefault"], true);
    assert_eq!(s["theme"]["primary"], before["theme"]["primary"]);
    assert!(s.get("contact").is_none());
    let actions = crate::common::admin::audit_actions(&t, &owner, "tenant").await;
    assert_eq!(
        actions.iter().filter(|a| **a == "tenant_updated").count(),
        2
    );
}

#[tokio::test]
async fn the_refund_cut_off_is_the_clubs_own() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    let e = create_show(&t, &owner, show_body(3)).await;
    let (event, option) = (
        e["id"].as_str().unwrap().to_string(),
        e["priceOptions"][0]["id"].as_str().unwrap().to_string(),
    );
    let (buyer, _) = t.login("early-bird", "dt").await;
    let mut orders = Vec::new();
    for _ in 0..2 {
        let o = t
            .post("/api/orders", Some(&buyer), order_body(&event, &option, 1))
            .await;
        let id = o.data()["id"].as_str().unwrap().to_string();
        t.post(&format!("/api/dev/payments/{id}/confirm"), None, json!({}))
            .await
            .data();
        orders.push(id);
    }
    // The show now starts in two hours.
    let id = event.clone();
    t.write(move |c| {
        let soon = chrono::Utc::now().timestamp_millis() + 2 * 3_600_000;
        c.execute(
            "UPDATE events SET starts_at = ?2 WHERE id = ?1",
            rusqlite::params![id, soon],
        )?;
        Ok(())
    })
    .await;
    // The server's 24 hours: too late.
    let r = t
        .post(
            "/api/payments/refund",
            Some(&buyer),
            json!({"orderId": orders[0]}),
        )
        .await;
    r.expect(409, "REFUND_WINDOW_CLOSED");
    assert!(
        r.json["message"].as_str().unwrap().contains("24 小时"),
        "{}",
        r.text
    );
    // The club allows refunds until 90 minutes before: in time.
    let mut s = settings();
    s["refundCutoffMinutes"] = json!(90);
    t.put("/api/admin/tenant", Some(&owner), s).await.data();
    let r = t
        .post(
            "/api/payments/refund",
            Some(&buyer),
            json!({"orderId": orders[0]}),
        )
        .await;
    assert_eq!(r.data()["status"], "refunded", "{}", r.text);
    // Three hours before: too late again, and the message says so.
    let mut s = settings();
    s["refundCutoffMinutes"] = json!(150);
    t.put("/api/admin/tenant", Some(&owner), s).await.data();
    let r = t
        .post(
            "/api/payments/refund",
            Some(&buyer),
            json!({"orderId": orders[1]}),
        )
        .await;
    r.expect(409, "REFUND_WINDOW_CLOSED");
    assert!(
        r.json["message"].as_str().unwrap().contains("150 分钟"),
        "{}",
        r.text
    );
    assert_eq!(
        order_statuses(&t, &orders[1..]).await,
        ["paid"],
        "untouched"
    );
    assert_invariants(&t).await;
}
