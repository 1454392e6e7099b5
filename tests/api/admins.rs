//! The club's team over HTTP: the owner adds, changes, disables and resets
//! admins; a club always keeps an owner; wrong passwords lock a username.

use serde_json::{Value, json};

use crate::common::admin::owner_token;
use crate::common::*;

const XSS: &str = "<b onmouseover=alert(1)>王</b>";

async fn login(t: &TestApp, username: &str, password: &str) -> Reply {
    t.post(
        "/api/admin/auth/login",
        None,
        json!({"username": username, "password": password, "tenantId": "dt"}),
    )
    .await
}

async fn token(t: &TestApp, username: &str, password: &str) -> String {
    let r = login(t, username, password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.data()["token"].as_str().unwrap().to_string()
}

async fn add(t: &TestApp, owner: &str, username: &str, role: &str) -> Value {
    let r = t
        .post(
            "/api/admin/admins",
            Some(owner),
            json!({"username": username, "displayName": XSS, "role": role,
                   "password": "first-password-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.data().clone()
}

/// Polls `path` with `token` until it answers `status` (a change is felt
/// within a second).
async fn within_a_second(t: &TestApp, path: &str, token: &str, status: u16) {
    let t0 = std::time::Instant::now();
    loop {
        let r = t.get_as(path, token).await;
        if r.status == status {
            return;
        }
        assert!(t0.elapsed().as_millis() < 1_500, "{path}: still {}", r.text);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_owner_manages_the_team() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    t.seed_tenant("xc").await;
    let owner = owner_token(&t, "dt").await;
    let other = owner_token(&t, "xc").await;

    let door = add(&t, &owner, "door.wang", "staff").await;
    assert_eq!(door["displayName"], XSS, "verbatim");
    assert_eq!(door["role"], "staff");
    assert!(door.get("passwordHash").is_none() && !door.to_string().contains("argon2"));
    let staff = token(&t, "door.wang", "first-password-1").await;
    t.get_as("/api/admin/admins", &staff)
        .await
        .expect(403, "OWNER_ONLY");
    let list = t.get_as("/api/admin/admins", &owner).await;
    assert_eq!(list.data().as_array().unwrap().len(), 2);
    assert!(
        t.get_as("/api/admin/admins", &other)
            .await
            .data()
            .as_array()
            .unwrap()
            .len()
            == 1
    );

    // Bad bodies, duplicates: refused, nothing created.
    for (body, field) in [
        (
            json!({"username": "ab", "role": "staff", "password": "long-enough-1"}),
            "username",
        ),
        (
            json!({"username": "a b c", "role": "staff", "password": "long-enough-1"}),
            "username",
        ),
        (
            json!({"username": "new1", "role": "admin", "password": "long-enough-1"}),
            "role",
        ),
        (
            json!({"username": "new1", "role": "staff", "password": "nine-char"}),
            "password",
        ),
        (
            json!({"username": "new1", "role": "staff", "password": "long-enough-1",
                   "displayName": "名".repeat(33)}),
            "displayName",
        ),
    ] {
        let r = t.post("/api/admin/admins", Some(&owner), body).await;
        r.expect(400, "VALIDATION_FAILED");
        assert!(
            r.json["message"].as_str().unwrap().starts_with(field),
            "{}",
            r.text
        );
    }
    t.post(
        "/api/admin/admins",
        Some(&owner),
        json!({"username": "door.wang", "role": "owner", "password": "long-enough-1"}),
    )
    .await
    .expect(409, "ADMIN_EXISTS");
    assert_eq!(
        t.get_as("/api/admin/admins", &owner)
            .await
            .data()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Disable: the token stops within a second, and stays stopped when the
    // account comes back; a new sign-in works.
    let id = door["id"].as_str().unwrap();
    let path = format!("/api/admin/admins/{id}");
    let r = t
        .put(&path, Some(&owner), json!({"status": "disabled"}))
        .await;
    assert_eq!(r.data()["status"], "disabled");
    within_a_second(&t, "/api/admin/me", &staff, 403).await;
    login(&t, "door.wang", "first-password-1")
        .await
        .expect(403, "ADMIN_DISABLED");
    t.put(&path, Some(&owner), json!({"status": "active"}))
        .await
        .data();
    within_a_second(&t, "/api/admin/me", &staff, 401).await;
    t.get_as("/api/admin/me", &staff)
        .await
        .expect(401, "TOKEN_REVOKED");
    let staff = token(&t, "door.wang", "first-password-1").await;
    // Promote: the staff token is retired, the new one passes owner routes;
    // demote: the owner token is retired at once, the next one is staff.
    t.put(&path, Some(&owner), json!({"role": "owner"}))
        .await
        .data();
    within_a_second(&t, "/api/admin/admins", &staff, 401).await;
    let promoted = token(&t, "door.wang", "first-password-1").await;
    t.get_as("/api/admin/admins", &promoted).await.data();
    t.put(
        &path,
        Some(&owner),
        json!({"role": "staff", "displayName": ""}),
    )
    .await
    .data();
    within_a_second(&t, "/api/admin/admins", &promoted, 401).await;
    // Changing only the display name retires nothing.
    let staff = token(&t, "door.wang", "first-password-1").await;
    t.put(&path, Some(&owner), json!({"displayName": ""}))
        .await
        .data();
    t.get_as("/api/admin/admins", &staff)
        .await
        .expect(403, "OWNER_ONLY");
    let me = t.get_as("/api/admin/me", &staff).await;
    assert!(me.data().get("displayName").is_none(), "cleared");
    for (body, field) in [
        (json!({}), "请提供"),
        (json!({"role": "root"}), "role"),
        (json!({"status": "gone"}), "status"),
    ] {
        let r = t.put(&path, Some(&owner), body).await;
        r.expect(400, "VALIDATION_FAILED");
        assert!(
            r.json["message"].as_str().unwrap().starts_with(field),
            "{}",
            r.text
        );
    }
    // Another club's owner finds no such admin.
    t.put(&path, Some(&other), json!({"status": "disabled"}))
        .await
        .expect(404, "ADMIN_NOT_FOUND");
    t.post(
        &format!("{path}/password"),
        Some(&other),
        json!({"password": "hijacked-pass-1"}),
    )
    .await
    .expect(404, "ADMIN_NOT_FOUND");
    t.put(
        "/api/admin/admins/not-an-id",
        Some(&owner),
        json!({"status": "active"}),
    )
    .await
    .expect(404, "ADMIN_NOT_FOUND");
    token(&t, "door.wang", "first-password-1").await;

    // The owner resets the password: the old one fails, the new one works.
    t.post(
        &format!("{path}/password"),
        Some(&owner),
        json!({"password": "short"}),
    )
    .await
    .expect(400, "VALIDATION_FAILED");
    let r = t
        .post(
            &format!("{path}/password"),
            Some(&owner),
            json!({"password": "second-password-2"}),
        )
        .await;
    assert_eq!(r.json["message"], "密码已重设", "{}", r.text);
    login(&t, "door.wang", "first-password-1")
        .await
        .expect(401, "INVALID_CREDENTIALS");
    let staff = token(&t, "door.wang", "second-password-2").await;

    // The admin changes their own, proving the old one.
    for (body, field) in [
        (
            json!({"oldPassword": "wrong-password", "newPassword": "third-password-3"}),
            "oldPassword",
        ),
        (
            json!({"oldPassword": "second-password-2", "newPassword": "short"}),
            "newPassword",
        ),
        (
            json!({"oldPassword": "second-password-2", "newPassword": "second-password-2"}),
            "newPassword",
        ),
    ] {
        let r = t.put("/api/admin/me/password", Some(&staff), body).await;
        r.expect(400, "VALIDATION_FAILED");
        assert!(
            r.json["message"].as_str().unwrap().starts_with(field),
            "{}",
            r.text
        );
    }
    let r = t
        .put(
            "/api/admin/me/password",
            Some(&staff),
            json!({"oldPassword": "second-password-2", "newPassword": "third-password-3"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    token(&t, "door.wang", "third-password-3").await;

    let log = t
        .get_as("/api/admin/audit-log?targetType=admin", &owner)
        .await;
    let actions: Vec<&str> = log.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "admin_created",
        "admin_updated",
        "admin_password_reset",
        "admin_password_changed",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(!log.text.contains("password-"), "no secret in the log");
}

#[tokio::test]
async fn a_club_always_keeps_an_active_owner() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    let me = t.get_as("/api/admin/me", &owner).await.data().clone();
    let my_path = format!("/api/admin/admins/{}", me["id"].as_str().unwrap());
    for body in [json!({"status": "disabled"}), json!({"role": "staff"})] {
        let r = t.put(&my_path, Some(&owner), body).await;
        r.expect(409, "LAST_OWNER");
    }
    // With a second owner, one may step down; then the other may not.
    let second = add(&t, &owner, "partner", "owner").await;
    let r = t
        .put(&my_path, Some(&owner), json!({"role": "staff"}))
        .await;
    assert_eq!(r.data()["role"], "staff");
    let partner = token(&t, "partner", "first-password-1").await;
    let path = format!("/api/admin/admins/{}", second["id"].as_str().unwrap());
    t.put(&path, Some(&partner), json!({"status": "disabled"}))
        .await
        .expect(409, "LAST_OWNER");
    // A disabled owner does not count: make one, then the partner is still the last.
    let third = add(&t, &partner, "sleeping", "owner").await;
    let third_path = format!("/api/admin/admins/{}", third["id"].as_str().unwrap());
    t.put(&third_path, Some(&partner), json!({"status": "disabled"}))
        .await
        .data();
    t.put(&path, Some(&partner), json!({"role": "staff"}))
        .await
        .expect(409, "LAST_OWNER");
    let owners = t.get_as("/api/admin/admins", &partner).await;
    let active_owners = owners
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["role"] == "owner" && a["status"] == "active")
        .count();
    assert_eq!(active_owners, 1, "untouched");
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_address_out_for_fifteen_minutes() {
    // The test config has RATE_LIMITS off: the lockout is not a rate limit.
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    add(&t, &owner, "door.li", "staff").await;
    for _ in 0..4 {
        login(&t, "door.li", "wrong-password")
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
    let fifth = login(&t, "door.li", "wrong-password").await;
    fifth.expect(429, "ACCOUNT_LOCKED");
    assert!(fifth.json["message"].as_str().unwrap().contains("15 分钟"));
    // Even the right password is refused, with when to come back.
    let right = login(&t, "door.li", "first-password-1").await;
    right.expect(429, "ACCOUNT_LOCKED");
    let wait: u64 = right.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    // Another username is not locked; the owner sees the lock.
    token(&t, "owner", "admin-pass-123").await;
    let list = t.get_as("/api/admin/admins", &owner).await;
    let li = list
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "door.li")
        .unwrap()
        .clone();
    assert!(li.get("lockedUntil").is_some());
    let log = t
        .get_as("/api/admin/audit-log?targetType=admin", &owner)
        .await;
    assert!(log.text.contains("admin_locked"));

    // Fifteen minutes later (the lock moved into the past): the right
    // password works, and the count started over.
    let id = li["id"].as_str().unwrap().to_string();
    t.write(move |c| {
        c.execute(
            "UPDATE login_failures SET locked_until = ?1",
            rusqlite::params![chrono::Utc::now().timestamp_millis() - 1],
        )?;
        c.execute(
            "UPDATE admins SET locked_until = NULL WHERE id = ?1",
            rusqlite::params![id],
        )?;
        Ok(())
    })
    .await;
    token(&t, "door.li", "first-password-1").await;
    for _ in 0..4 {
        login(&t, "door.li", "wrong-password")
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
    token(&t, "door.li", "first-password-1").await;
    for _ in 0..4 {
        login(&t, "door.li", "wrong-password")
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
    login(&t, "door.li", "wrong-password")
        .await
        .expect(429, "ACCOUNT_LOCKED");
    // The owner's reset lifts the lock.
    let path = format!("/api/admin/admins/{}/password", li["id"].as_str().unwrap());
    t.post(&path, Some(&owner), json!({"password": "fresh-password-9"}))
        .await
        .data();
    token(&t, "door.li", "fresh-password-9").await;
    // An unknown username is never "locked": it is just wrong.
    for _ in 0..6 {
        login(&t, "nobody", "wrong-password")
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
}
