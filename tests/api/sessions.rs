//! The gate: an admin token never outlives the password, role or account it
//! was issued for, and nobody can lock the owner out by guessing wrong.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::admin::owner_token;
use crate::common::*;

/// Polls `path` until `token` is refused as retired; at most a second
/// and a half (the standing check is trusted for one second).
async fn retired_within_a_second(t: &TestApp, path: &str, token: &str) {
    let t0 = Instant::now();
    loop {
        let r = t.get_as(path, token).await;
        if r.status == 401 {
            r.expect(401, "TOKEN_REVOKED");
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_millis(1_500),
            "{path}: still {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sign_in(t: &TestApp, username: &str, password: &str) -> String {
    let r = t
        .post(
            "/api/admin/auth/login",
            None,
            json!({"username": username, "password": password, "tenantId": "dt"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.data()["token"].as_str().unwrap().to_string()
}

async fn admin_count(t: &TestApp) -> i64 {
    t.write(|c| Ok(c.query_row("SELECT COUNT(*) FROM admins", [], |r| r.get(0))?))
        .await
}

#[tokio::test]
async fn a_token_never_outlives_the_password_role_or_account_it_was_issued_for() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    t.seed_tenant("xc").await;
    let kept = owner_token(&t, "dt").await;
    let other_club = owner_token(&t, "xc").await;

    // Own password change: the kept token is refused within a second, for
    // reads and for creating an owner; the answer's token and a new sign-in
    // work.
    let r = t
        .put(
            "/api/admin/me/password",
            Some(&kept),
            json!({"oldPassword": "admin-pass-123", "newPassword": "new-owner-pass-1"}),
        )
        .await;
    let fresh = r.data()["token"].as_str().unwrap().to_string();
    retired_within_a_second(&t, "/api/admin/admins", &kept).await;
    let before = admin_count(&t).await;
    t.post(
        "/api/admin/admins",
        Some(&kept),
        json!({"username": "intruder", "role": "owner", "password": "intruder-pass-1"}),
    )
    .await
    .expect(401, "TOKEN_REVOKED");
    assert_eq!(admin_count(&t).await, before, "no owner was created");
    t.get_as("/api/admin/admins", &fresh).await.data();
    let owner = sign_in(&t, "owner", "new-owner-pass-1").await;

    // The owner resets a steward's password: the steward's token is retired.
    let door = t
        .post(
            "/api/admin/admins",
            Some(&owner),
            json!({"username": "door.li", "role": "staff", "password": "door-pass-111"}),
        )
        .await
        .data()
        .clone();
    let door_id = door["id"].as_str().unwrap().to_string();
    let steward = sign_in(&t, "door.li", "door-pass-111").await;
    t.get_as("/api/admin/me", &steward).await.data();
    t.post(
        &format!("/api/admin/admins/{door_id}/password"),
        Some(&owner),
        json!({"password": "door-pass-222"}),
    )
    .await
    .data();
    retired_within_a_second(&t, "/api/admin/me", &steward).await;
    let steward = sign_in(&t, "door.li", "door-pass-222").await;

    // Demotion and disabling retire tokens too.
    let partner = t
        .post(
            "/api/admin/admins",
            Some(&owner),
            json!({"username": "partner", "role": "owner", "password": "partner-pass-1"}),
        )
        .await
        .data()
        .clone();
    let partner_path = format!("/api/admin/admins/{}", partner["id"].as_str().unwrap());
    let as_partner = sign_in(&t, "partner", "partner-pass-1").await;
    t.put(&partner_path, Some(&owner), json!({"role": "staff"}))
        .await
        .data();
    retired_within_a_second(&t, "/api/admin/admins", &as_partner).await;
    let as_partner = sign_in(&t, "partner", "partner-pass-1").await;
    t.get_as("/api/admin/admins", &as_partner)
        .await
        .expect(403, "OWNER_ONLY");
    t.put(&partner_path, Some(&owner), json!({"status": "disabled"}))
        .await
        .data();
    let t0 = Instant::now();
    loop {
        let r = t.get_as("/api/admin/me", &as_partner).await;
        if r.status != 200 {
            assert!([401, 403].contains(&r.status), "{}", r.text);
            break;
        }
        assert!(t0.elapsed() < Duration::from_millis(1_500));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Sign out everywhere, by the owner for a steward: the steward's token is
    // retired, the password still works. A steward cannot do it to others;
    // another club's owner finds no such admin.
    t.post(
        &format!("/api/admin/admins/{door_id}/logout-all"),
        Some(&steward),
        json!({}),
    )
    .await
    .expect(403, "OWNER_ONLY");
    t.post(
        &format!("/api/admin/admins/{door_id}/logout-all"),
        Some(&other_club),
        json!({}),
    )
    .await
    .expect(404, "ADMIN_NOT_FOUND");
    t.get_as("/api/admin/me", &steward).await.data();
    let r = t
        .post(
            &format!("/api/admin/admins/{door_id}/logout-all"),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(r.json["message"], "已退出所有设备");
    retired_within_a_second(&t, "/api/admin/me", &steward).await;
    let steward = sign_in(&t, "door.li", "door-pass-222").await;
    t.get_as("/api/admin/me", &steward).await.data();

    // And by the owner for themselves: every one of the owner's tokens.
    t.post("/api/admin/me/logout-all", Some(&owner), json!({}))
        .await
        .data();
    retired_within_a_second(&t, "/api/admin/me", &owner).await;
    retired_within_a_second(&t, "/api/admin/me", &fresh).await;
    let owner = sign_in(&t, "owner", "new-owner-pass-1").await;
    t.get_as("/api/admin/admins", &owner).await.data();
    // The steward was not signed out by the owner's own.
    t.get_as("/api/admin/me", &steward).await.data();

    let log = t
        .get_as("/api/admin/audit-log?targetType=admin", &owner)
        .await;
    assert!(log.text.contains("admin_signed_out"));
}

async fn login_from(t: &TestApp, ip: &str, username: &str, password: &str) -> Reply {
    let res = t
        .client
        .post(t.url("/api/admin/auth/login"))
        .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
        .json(&json!({"username": username, "password": password, "tenantId": "dt"}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = res.text().await.unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_envelope(&json, status);
    Reply {
        status,
        json,
        text,
        retry_after,
    }
}

/// Wrong passwords lock out the address they come from, never the owner
/// signing in from elsewhere; a guess spread over many addresses is slowed
/// to a crawl for every address the owner never used, and never gets the
/// right password checked.
#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out() {
    let t = TestApp::start_with(|c| c.trust_proxy = true).await;
    t.seed_tenant("dt").await;
    owner_token(&t, "dt").await;
    // The owner's office, where the owner has signed in before.
    login_from(&t, "198.51.100.7", "owner", "admin-pass-123")
        .await
        .data();

    // Twenty wrong passwords from address A: A is locked out, even with the
    // right one.
    let mut refused = Vec::new();
    for _ in 0..20 {
        refused.push(login_from(&t, "192.0.2.1", "owner", "wrong-password").await);
    }
    assert_eq!(
        refused
            .iter()
            .filter(|r| r.json["error"] == "INVALID_CREDENTIALS")
            .count(),
        4
    );
    assert!(
        refused[4..]
            .iter()
            .all(|r| r.status == 429 && r.json["error"] == "ACCOUNT_LOCKED")
    );
    let right = login_from(&t, "192.0.2.1", "owner", "admin-pass-123").await;
    right.expect(429, "ACCOUNT_LOCKED");
    assert!(right.retry_after.is_some());
    // The owner from address B, never used before: in at once.
    let t0 = Instant::now();
    login_from(&t, "192.0.2.2", "owner", "admin-pass-123")
        .await
        .data();
    assert!(t0.elapsed() < Duration::from_secs(2));

    // A distributed guess: 1,000 wrong passwords over 100 addresses, ten
    // each, then the right password from yet another address.
    let started = Instant::now();
    let mut checked = 0;
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..10 {
        for host in 0..100 {
            let ip = format!("10.9.{host}.1");
            let r = login_from(&t, &ip, "owner", &format!("guess-{round}-{host}")).await;
            assert_ne!(r.status, 200);
            let code = r.json["error"].as_str().unwrap().to_string();
            if code == "INVALID_CREDENTIALS" {
                checked += 1;
            }
            *answers.entry(code).or_default() += 1;
        }
    }
    let guessing = started.elapsed();
    // A check that locked its address answered ACCOUNT_LOCKED: count those
    // by the lock each one wrote.
    let locks: i64 = t
        .write(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'admin_locked'
                 AND json_extract(detail, '$.address') LIKE '10.9.%'",
                [],
                |r| r.get(0),
            )?)
        })
        .await;
    checked += locks as usize;
    let lucky = login_from(&t, "10.10.0.1", "owner", "admin-pass-123").await;
    lucky.expect(429, "RATE_LIMITED");
    let wait: u64 = lucky.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=10).contains(&wait), "{wait}");
    // Of 1,000 guesses, only the hour's allowance and one per ten seconds
    // got a password check.
    let allowance = 20 - 5 + (guessing.as_secs() as usize / 10) + 1;
    assert!(checked <= allowance, "{checked} checked: {answers:?}");
    // The owner, from the office, is not slowed at all.
    let t0 = Instant::now();
    login_from(&t, "198.51.100.7", "owner", "admin-pass-123")
        .await
        .data();
    assert!(t0.elapsed() < Duration::from_secs(2));
    eprintln!(
        "distributed guess: 1000 tries in {guessing:?}, {checked} password checks, answers {answers:?}"
    );

    // An unknown username is never locked nor slowed: it is just wrong.
    for _ in 0..30 {
        login_from(&t, "192.0.2.1", "nobody", "wrong-password")
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
}
