//! Signing in as a club's admins and the bodies the admin API takes.

use serde_json::{Value, json};
use standup_tickets::model::admins::AdminRole;
use standup_tickets::model::scope::TenantScope;

use super::{TestApp, days_from_today};

/// Creates an admin of `club` as the operator does (the command line's
/// path through `service::admin::admins`).
pub async fn create_admin(
    t: &TestApp,
    club: &str,
    username: &str,
    role: AdminRole,
    password: &str,
) -> standup_tickets::model::admins::Admin {
    standup_tickets::service::admin::admins::create(
        t.store(),
        &standup_tickets::model::admins::TeamActor::Operator(TenantScope::vouched(club)),
        standup_tickets::model::admins::NewAdminInput {
            username: username.into(),
            display_name: None,
            role: role.as_str().into(),
            password: password.into(),
        },
    )
    .await
    .unwrap()
}

/// Creates an admin of `club` with `role` and signs it in; returns its token.
pub async fn admin_token(t: &TestApp, club: &str, username: &str, role: AdminRole) -> String {
    create_admin(t, club, username, role, "admin-pass-123").await;
    let r = t
        .post(
            "/api/admin/auth/login",
            None,
            json!({"username": username, "password": "admin-pass-123", "tenantId": club}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.data()["token"].as_str().unwrap().to_string()
}

pub async fn owner_token(t: &TestApp, club: &str) -> String {
    admin_token(t, club, "owner", AdminRole::Owner).await
}

/// A valid show body, `days` from today at 20:00, with two options.
pub fn show_body(days: i64) -> Value {
    json!({
        "title": "周五开放麦", "description": "新人专场\n欢迎来玩", "city": "上海",
        "venue": "笑果小剧场", "address": "南京西路 1 号",
        "eventDate": days_from_today(days).format("%Y-%m-%d").to_string(), "eventTime": "20:00",
        "duration": 90, "performers": ["小王", "小李"], "tags": ["开放麦"],
        "status": "onSale", "maxPerOrder": 4, "maxPerUser": 6,
        "priceOptions": [
            {"name": "前排", "price": 120, "originalPrice": 150, "totalCount": 20, "sortOrder": 0},
            {"name": "普通", "price": 88.5, "totalCount": 50, "sortOrder": 1}
        ]
    })
}

/// Creates a show through the API; returns the answer's `data`.
pub async fn create_show(t: &TestApp, token: &str, body: Value) -> Value {
    let r = t.post("/api/admin/events", Some(token), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.data().clone()
}

/// The body to `PUT` back for a show as read (`data` of a GET), with its
/// derived fields taken out.
pub fn editable(event: &Value) -> Value {
    let mut b = event.clone();
    let o = b.as_object_mut().unwrap();
    for k in ["totalSeats", "remainingSeats"] {
        o.remove(k);
    }
    for opt in o["priceOptions"].as_array_mut().unwrap() {
        opt.as_object_mut().unwrap().remove("remainingCount");
    }
    b
}

/// Checks every ticket of `order_id` in at the door, as a new owner of
/// `club` forcing a ticket of another day through.
pub async fn check_in_order(t: &TestApp, club: &str, order_id: &str) {
    let name = format!("door{}", &standup_tickets::ids::new_id()[18..]).to_lowercase();
    let token = admin_token(t, club, &name, AdminRole::Owner).await;
    let id = order_id.to_string();
    let codes: Vec<String> = t
        .store()
        .read(move |c| {
            let mut s = c.prepare("SELECT qr_code FROM tickets WHERE order_id = ?1")?;
            let v = s
                .query_map([&id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(v)
        })
        .await
        .unwrap();
    assert!(!codes.is_empty());
    for code in codes {
        let r = t
            .post(
                "/api/admin/checkin",
                Some(&token),
                json!({"qrCode": code, "force": true}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

/// Dates one of the club's shows today in the club's zone (the door only
/// lets tonight's tickets in).
pub async fn date_today(t: &TestApp, event_id: &str) {
    let (id, today) = (
        event_id.to_string(),
        chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%d")
            .to_string(),
    );
    t.write(move |c| {
        c.execute(
            "UPDATE events SET event_date = ?2 WHERE id = ?1",
            rusqlite::params![id, today],
        )?;
        Ok(())
    })
    .await;
}

/// A paid order (dev payment) of `qty` tickets by the dev buyer `buyer`:
/// the order id and its ticket codes.
pub async fn paid_order(
    t: &TestApp,
    buyer: &str,
    club: &str,
    event: &str,
    option: &str,
    qty: i64,
) -> (String, Vec<String>) {
    let (token, _) = t.login(buyer, club).await;
    let o = t
        .post(
            "/api/orders",
            Some(&token),
            super::order_body(event, option, qty),
        )
        .await;
    let id = o.data()["id"].as_str().unwrap().to_string();
    let paid = t
        .post(&format!("/api/dev/payments/{id}/confirm"), None, json!({}))
        .await;
    let codes = paid.data()["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["qrCode"].as_str().unwrap().to_string())
        .collect();
    (id, codes)
}

/// The actions of the club's audit log about `kind` (event, admin, …).
pub async fn audit_actions(t: &TestApp, owner: &str, kind: &str) -> Vec<String> {
    let log = t
        .get_as(&format!("/api/admin/audit-log?targetType={kind}"), owner)
        .await;
    log.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}
