//! Identity over HTTP: WeChat login (dev mode and against a fake WeChat), the
//! phone number, profiles, tokens, admin accounts, tenant scoping, rate limits.

use std::time::{Duration, Instant};

use crate::common::fake_wechat::{APP_ID, APP_SECRET, FakeWechat};
use crate::common::*;
use serde_json::json;
use standup_tickets::config::{Rate, RateLimits, WechatCredentials};
use standup_tickets::model::admins::AdminRole;
use standup_tickets::model::catalog::ActiveStatus;
use standup_tickets::store::users;

async fn with_fake_wechat() -> TestApp {
    let t = TestApp::builder().fake_wechat().start().await;
    t.seed_tenant("dt").await;
    t
}

#[tokio::test]
async fn dev_mode_login_creates_once_and_profile_validates() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let (token, user) = t.login("abc", "dt").await;
    assert_eq!(user["openid"], "dev_abc");
    assert_eq!(user["status"], "active");
    let (_, again) = t.login("abc", "dt").await;
    assert_eq!(again["id"], user["id"], "repeat login is the same user");
    let (_, other) = t.login("xyz", "dt").await;
    assert_ne!(other["id"], user["id"]);

    let me = t.get_as("/api/users/me", &token).await;
    assert_eq!(me.data()["id"], user["id"]);

    let ok = t
        .put(
            "/api/users/profile",
            Some(&token),
            json!({"nickname": " 小明 ", "avatar": "https://img.example.com/a.png",
                   "phone": "13912345678", "realName": "王小明", "gender": 1, "ignored": true}),
        )
        .await;
    let u = ok.data();
    assert_eq!(ok.json["message"], "更新成功");
    assert_eq!(u["nickname"], "小明");
    assert_eq!(u["phone"], "13912345678");
    assert_eq!(u["realName"], "王小明");
    assert_eq!(u["gender"], 1);

    let huge = "长".repeat(10 * 1024 / 3);
    for bad in [
        json!({"phone": "12345"}),
        json!({"phone": "23912345678"}),
        json!({"nickname": huge}),
        json!({"nickname": ""}),
        json!({"nickname": "a\u{0007}b"}),
        json!({"avatar": "javascript:alert(1)"}),
        json!({"avatar": "ftp://x.cn/a.png"}),
        json!({"realName": "名".repeat(51)}),
        json!({"gender": 5}),
        json!({"nickname": 123}),
        json!({}),
        json!([1, 2]),
    ] {
        t.put("/api/users/profile", Some(&token), bad.clone())
            .await
            .expect(400, "VALIDATION_FAILED");
    }
    // Nothing was half-written.
    let after = t.get_as("/api/users/me", &token).await;
    assert_eq!(after.data()["nickname"], "小明");
    assert_eq!(after.data()["phone"], "13912345678");

    // Dev mode: the phone code is the number.
    let p = t
        .post(
            "/api/users/phone",
            Some(&token),
            json!({"code": "13700001111"}),
        )
        .await;
    assert_eq!(p.data()["phone"], "13700001111");
    t.post(
        "/api/users/phone",
        Some(&token),
        json!({"code": "not-a-phone"}),
    )
    .await
    .expect(400, "VALIDATION_FAILED");

    // Login input checks.
    for bad in [
        json!({"code": "", "tenantId": "dt"}),
        json!({"code": "a b", "tenantId": "dt"}),
        json!({"code": "x".repeat(200), "tenantId": "dt"}),
        json!({"code": "abc"}),
        json!({"tenantId": "dt"}),
    ] {
        t.post("/api/auth/wechat/login", None, bad)
            .await
            .expect(400, "VALIDATION_FAILED");
    }
    t.post(
        "/api/auth/wechat/login",
        None,
        json!({"code": "abc", "tenantId": "nope"}),
    )
    .await
    .expect(404, "TENANT_NOT_FOUND");
    let res = t
        .client
        .post(t.url("/api/auth/wechat/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn wechat_login_against_the_fake_server() {
    let t = with_fake_wechat().await;
    let fake = t.wechat.as_ref().unwrap();

    let first = t
        .post(
            "/api/auth/wechat/login",
            None,
            json!({"code": "ualice-1", "tenantId": "dt"}),
        )
        .await;
    let user = first.data()["user"].clone();
    assert_eq!(user["openid"], "oid_ualice");
    assert_eq!(user["unionid"], "union_ualice");
    assert_eq!(first.data()["expiresIn"], 7200);
    let second = t
        .post(
            "/api/auth/wechat/login",
            None,
            json!({"code": "ualice-2", "tenantId": "dt"}),
        )
        .await;
    assert_eq!(
        second.data()["user"]["id"],
        user["id"],
        "same openid, same user"
    );

    // The session key is stored server-side and appears in no response.
    let stored: String = t
        .store()
        .read({
            let id = user["id"].as_str().unwrap().to_string();
            move |c| {
                Ok(c.query_row(
                    "SELECT session_key FROM wechat_sessions WHERE user_id = ?1",
                    [&id],
                    |r| r.get(0),
                )?)
            }
        })
        .await
        .unwrap();
    assert!(stored.starts_with("SESSIONKEY_ualice"));
    let token = second.data()["token"].as_str().unwrap().to_string();
    let me = t.get_as("/api/users/me", &token).await;
    for body in [&first.text, &second.text, &me.text] {
        assert!(!body.contains("SESSIONKEY"), "session key leaked: {body}");
        assert!(!body.to_lowercase().contains("session_key") && !body.contains("sessionKey"));
    }

    // A used code, and each WeChat error.
    let cases = [
        ("ualice-1", 400, "INVALID_CODE"),
        ("bad", 400, "INVALID_CODE"),
        ("busy", 503, "WECHAT_BUSY"),
        ("limited", 429, "WECHAT_RATE_LIMITED"),
        ("risky", 403, "RISKY_USER"),
        ("html", 503, "WECHAT_UNAVAILABLE"),
    ];
    for (code, status, error) in cases {
        let r = t
            .post(
                "/api/auth/wechat/login",
                None,
                json!({"code": code, "tenantId": "dt"}),
            )
            .await;
        r.expect(status, error);
        assert!(!r.text.contains("SESSIONKEY"));
    }
    let users: i64 = t
        .store()
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(users, 1, "failed logins created nobody");

    // An unknown club never reaches WeChat (the code stays usable).
    let before = fake
        .state
        .session_calls
        .load(std::sync::atomic::Ordering::SeqCst);
    t.post(
        "/api/auth/wechat/login",
        None,
        json!({"code": "bob-1", "tenantId": "nope"}),
    )
    .await
    .expect(404, "TENANT_NOT_FOUND");
    assert_eq!(
        fake.state
            .session_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        before
    );
}

#[tokio::test]
async fn misconfigured_or_unreachable_wechat_is_a_clean_503() {
    let fake = FakeWechat::start().await;
    let url = fake.url();
    let t = TestApp::start_with(move |c| {
        c.wechat = Some(WechatCredentials {
            app_id: APP_ID.into(),
            app_secret: "wrong-secret".into(),
        });
        c.wechat_api_base_url = url;
    })
    .await;
    t.seed_tenant("dt").await;
    t.post(
        "/api/auth/wechat/login",
        None,
        json!({"code": "carol-1", "tenantId": "dt"}),
    )
    .await
    .expect(503, "WECHAT_MISCONFIGURED");

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let t2 = TestApp::start_with(move |c| {
        c.wechat = Some(WechatCredentials {
            app_id: APP_ID.into(),
            app_secret: APP_SECRET.into(),
        });
        c.wechat_api_base_url = format!("http://{closed}");
    })
    .await;
    t2.seed_tenant("dt").await;
    let r = t2
        .post(
            "/api/auth/wechat/login",
            None,
            json!({"code": "dave-1", "tenantId": "dt"}),
        )
        .await;
    r.expect(503, "WECHAT_UNAVAILABLE");
    assert!(r.retry_after.is_some());
}

#[tokio::test]
async fn phone_number_with_a_shared_cached_access_token() {
    use std::sync::atomic::Ordering::SeqCst;
    let t = with_fake_wechat().await;
    let fake = t.wechat.as_ref().unwrap();
    let (a, _) = t.login("erin-1", "dt").await;
    let (b, _) = t.login("frank-1", "dt").await;

    let r = t
        .post(
            "/api/users/phone",
            Some(&a),
            json!({"code": "phone-code-1"}),
        )
        .await;
    assert_eq!(r.data()["phone"], "13800138000");
    assert_eq!(r.json["message"], "绑定成功");
    t.post(
        "/api/users/phone",
        Some(&b),
        json!({"code": "phone-code-2"}),
    )
    .await
    .data();
    // Concurrent binds share the one token too.
    let (r1, r2) = tokio::join!(
        t.post(
            "/api/users/phone",
            Some(&a),
            json!({"code": "phone-code-3"})
        ),
        t.post(
            "/api/users/phone",
            Some(&b),
            json!({"code": "phone-code-4"})
        ),
    );
    r1.data();
    r2.data();
    assert_eq!(
        fake.state.token_calls.load(SeqCst),
        1,
        "one access token for all"
    );

    // A token revoked elsewhere: refreshed once, the request still succeeds.
    fake.state.revoke_token.store(true, SeqCst);
    t.post(
        "/api/users/phone",
        Some(&a),
        json!({"code": "phone-code-5"}),
    )
    .await
    .data();
    assert_eq!(fake.state.token_calls.load(SeqCst), 2);

    t.post("/api/users/phone", Some(&a), json!({"code": "bad"}))
        .await
        .expect(400, "INVALID_CODE");
    t.post("/api/users/phone", Some(&a), json!({"code": "foreign"}))
        .await
        .expect(422, "PHONE_NOT_SUPPORTED");
    t.post("/api/users/phone", None, json!({"code": "phone-code-6"}))
        .await
        .expect(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn tokens_expire_resist_tampering_and_do_not_cross_kinds() {
    let t = TestApp::start_with(|c| c.jwt_expires_in = Duration::from_secs(1)).await;
    t.seed_tenant("dt").await;
    let (user_token, _) = t.login("gina", "dt").await;
    crate::common::admin::create_admin(&t, "dt", "boss", AdminRole::Owner, "password-1").await;
    let admin = t
        .post(
            "/api/admin/auth/login",
            None,
            json!({"username": "boss", "password": "password-1", "tenantId": "dt"}),
        )
        .await;
    let admin_token = admin.data()["token"].as_str().unwrap().to_string();

    t.get_as("/api/users/me", &user_token).await.data();
    t.get_as("/api/admin/me", &admin_token).await.data();
    t.get_as("/api/admin/me", &user_token)
        .await
        .expect(403, "TOKEN_KIND_MISMATCH");
    t.get_as("/api/users/me", &admin_token)
        .await
        .expect(403, "TOKEN_KIND_MISMATCH");

    let mut tampered = user_token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    t.get_as("/api/users/me", &tampered)
        .await
        .expect(401, "TOKEN_INVALID");
    t.get_as("/api/users/me", "garbage")
        .await
        .expect(401, "TOKEN_INVALID");
    let r = t
        .call(reqwest::Method::GET, "/api/users/me", None, None)
        .await;
    r.expect(401, "UNAUTHORIZED");
    let res = t
        .client
        .get(t.url("/api/users/me"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    t.get_as("/api/users/me", &user_token)
        .await
        .expect(401, "TOKEN_EXPIRED");
    t.get_as("/api/admin/me", &admin_token)
        .await
        .expect(401, "TOKEN_EXPIRED");
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_or_use_a_token() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let (token, user) = t.login("henry", "dt").await;
    let id = user["id"].as_str().unwrap().to_string();
    // Seen active once: remembered, so later requests skip the database.
    t.get_as("/api/users/me", &token).await.data();
    let uid = id.clone();
    t.write(move |c| users::set_status(c, &uid, ActiveStatus::Disabled))
        .await;
    // The disabled set is re-read every second: the token stops working
    // within about that, though the user is still remembered as active.
    wait_for_status(&t, &token, 403)
        .await
        .expect(403, "USER_DISABLED");
    t.post(
        "/api/auth/wechat/login",
        None,
        json!({"code": "henry", "tenantId": "dt"}),
    )
    .await
    .expect(403, "USER_DISABLED");
    t.get_as("/api/users/me", &token)
        .await
        .expect(403, "USER_DISABLED");
    t.put("/api/users/profile", Some(&token), json!({"nickname": "x"}))
        .await
        .expect(403, "USER_DISABLED");

    // Enabled again: the same token works again as soon.
    t.write(move |c| users::set_status(c, &id, ActiveStatus::Active))
        .await;
    wait_for_status(&t, &token, 200).await.data();
}

/// Polls `/api/users/me` until it answers `status`, failing after 2.5 s.
async fn wait_for_status(t: &TestApp, token: &str, status: u16) -> crate::common::Reply {
    let since = Instant::now();
    loop {
        let r = t.get_as("/api/users/me", token).await;
        if r.status == status {
            return r;
        }
        assert!(
            since.elapsed() < Duration::from_millis(2500),
            "still {} after 2.5 s: {}",
            r.status,
            r.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn admin_login_scoping_and_roles() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    t.seed_tenant("other").await;
    let admin =
        crate::common::admin::create_admin(&t, "dt", "owner1", AdminRole::Owner, "s3cret-pass")
            .await;
    crate::common::admin::create_admin(&t, "dt", "door", AdminRole::Staff, "door-pass-1").await;

    let ok = t
        .post(
            "/api/admin/auth/login",
            None,
            json!({"username": "owner1", "password": "s3cret-pass", "tenantId": "dt"}),
        )
        .await;
    assert_eq!(ok.json["message"], "登录成功");
    let data = ok.data();
    assert_eq!(data["admin"]["id"], admin.id.as_str());
    assert_eq!(data["admin"]["role"], "owner");
    assert!(!ok.text.contains("argon2") && !ok.text.contains("password"));
    let token = data["token"].as_str().unwrap().to_string();

    let me = t.get_as("/api/admin/me", &token).await;
    assert_eq!(me.data()["username"], "owner1");
    assert_eq!(me.data()["tenantId"], "dt");
    assert!(me.data()["lastLoginAt"].is_string());
    t.get_as("/api/admin/me?tenantId=dt", &token).await.data();
    t.get_as("/api/admin/me?tenantId=other", &token)
        .await
        .expect(403, "TENANT_FORBIDDEN");

    let staff = t
        .post(
            "/api/admin/auth/login",
            None,
            json!({"username": "door", "password": "door-pass-1", "tenantId": "dt"}),
        )
        .await;
    assert_eq!(staff.data()["admin"]["role"], "staff");

    // Wrong password, unknown user, wrong club: one identical answer.
    let wrong = t
        .post(
            "/api/admin/auth/login",
            None,
            json!({"username": "owner1", "password": "nope-nope", "tenantId": "dt"}),
        )
        .await;
    wrong.expect(401, "INVALID_CREDENTIALS");
    let unknown = t
        .post(
            "/api/admin/auth/login",
            None,
            json!({"username": "ghost", "password": "nope-nope", "tenantId": "dt"}),
        )
        .await;
    unknown.expect(401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.json["message"], unknown.json["message"]);
    t.post(
        "/api/admin/auth/login",
        None,
        json!({"username": "owner1", "password": "s3cret-pass", "tenantId": "other"}),
    )
    .await
    .expect(401, "INVALID_CREDENTIALS");
    t.post(
        "/api/admin/auth/login",
        None,
        json!({"username": "owner1", "password": "x".repeat(10_000), "tenantId": "dt"}),
    )
    .await
    .expect(401, "INVALID_CREDENTIALS");
    // Past the 64 KB JSON limit, refused before anything is hashed.
    t.post(
        "/api/admin/auth/login",
        None,
        json!({"username": "owner1", "password": "x".repeat(100_000), "tenantId": "dt"}),
    )
    .await
    .expect(413, "BODY_TOO_LARGE");
    t.post("/api/admin/auth/login", None, json!({"username": "owner1"}))
        .await
        .expect(400, "VALIDATION_FAILED");

    // An unknown user costs the same hashing work as a wrong password.
    let time = |username: &'static str| {
        let t = &t;
        async move {
            let start = Instant::now();
            for _ in 0..3 {
                t.post(
                    "/api/admin/auth/login",
                    None,
                    json!({"username": username, "password": "wrong-pass", "tenantId": "dt"}),
                )
                .await;
            }
            start.elapsed()
        }
    };
    let (known, ghost) = (time("owner1").await, time("ghost").await);
    assert!(
        ghost * 3 > known,
        "unknown user answered suspiciously fast: {ghost:?} vs {known:?}"
    );

    // Disabled: refused at login and for an existing token.
    // Straight in the database: the club's only owner, whom neither the API
    // nor the command line would disable.
    t.write(|c| {
        c.execute(
            "UPDATE admins SET status = 'disabled' WHERE tenant_id = 'dt' AND username = 'owner1'",
            [],
        )?;
        Ok(())
    })
    .await;
    t.app.state.caches.sessions.admins.invalidate_all();
    t.post(
        "/api/admin/auth/login",
        None,
        json!({"username": "owner1", "password": "s3cret-pass", "tenantId": "dt"}),
    )
    .await
    .expect(403, "ADMIN_DISABLED");
    t.get_as("/api/admin/me", &token)
        .await
        .expect(403, "ADMIN_DISABLED");
}

#[tokio::test]
async fn logins_are_rate_limited_per_ip_with_retry_after() {
    let t = TestApp::start_with(|c| {
        c.rate_limits = RateLimits {
            api: None,
            login: Some(Rate {
                count: 3,
                per: Duration::from_secs(60),
            }),
            orders: None,
        };
    })
    .await;
    t.seed_tenant("dt").await;
    for i in 0..3 {
        t.login(&format!("ivy{i}"), "dt").await;
    }
    let r = t
        .post(
            "/api/auth/wechat/login",
            None,
            json!({"code": "ivy9", "tenantId": "dt"}),
        )
        .await;
    r.expect(429, "RATE_LIMITED");
    let wait: u64 = r.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    // The admin login shares the per-IP login budget; other routes do not.
    t.post(
        "/api/admin/auth/login",
        None,
        json!({"username": "a", "password": "b", "tenantId": "dt"}),
    )
    .await
    .expect(429, "RATE_LIMITED");
    t.data("/api/tenants/dt").await;
}

#[tokio::test]
async fn the_api_limit_is_per_client_ip() {
    let t = TestApp::start_with(|c| {
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
    t.seed_tenant("dt").await;
    let get = |ip: &'static str| {
        let t = &t;
        async move {
            t.client
                .get(t.url("/api/tenants/dt"))
                .header("x-forwarded-for", format!("6.6.6.6, {ip}"))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(get("1.1.1.1").await.status(), 200);
    }
    let limited = get("1.1.1.1").await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "RATE_LIMITED");
    // Another client (the proxy's right-most entry) has its own budget;
    // health checks are not /api.
    assert_eq!(get("2.2.2.2").await.status(), 200);
    assert_eq!(
        t.client
            .get(t.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn demo_club_owner_can_sign_in_with_the_printed_password() {
    let t = TestApp::start().await;
    let password = standup_tickets::service::demo::load(&t.app.state)
        .await
        .unwrap()
        .expect("loaded");
    let r = t
        .post(
            "/api/admin/auth/login",
            None,
            json!({"username": "admin", "password": password, "tenantId": "demo"}),
        )
        .await;
    assert_eq!(r.data()["admin"]["role"], "owner");
    assert!(
        standup_tickets::service::demo::load(&t.app.state)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn cli_admin_create_then_login() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| cli(tmp.path(), args, stdin, &[]);
    assert!(
        run(&["tenant", "create", "--id", "xclub", "--name", "X"], "")
            .status
            .success()
    );
    let short = run(
        &[
            "admin",
            "create",
            "--tenant",
            "xclub",
            "--username",
            "boss",
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("密码"));
    let no_flag = run(
        &["admin", "create", "--tenant", "xclub", "--username", "boss"],
        "long-enough-pw\n",
    );
    assert!(!no_flag.status.success());
    let ok = run(
        &[
            "admin",
            "create",
            "--tenant",
            "xclub",
            "--username",
            "boss",
            "--role",
            "staff",
            "--password-stdin",
        ],
        "long-enough-pw\n",
    );
    assert!(ok.status.success(), "{ok:?}");
    let dup = run(
        &[
            "admin",
            "create",
            "--tenant",
            "xclub",
            "--username",
            "boss",
            "--password-stdin",
        ],
        "another-pw-1\n",
    );
    assert!(!dup.status.success());
    let nope = run(
        &[
            "admin",
            "create",
            "--tenant",
            "ghost",
            "--username",
            "boss",
            "--password-stdin",
        ],
        "another-pw-1\n",
    );
    assert!(!nope.status.success());

    let t = TestApp::start_in(tmp.path(), |_| {}).await;
    let login = |pw: &'static str| {
        let t = &t;
        async move {
            t.post(
                "/api/admin/auth/login",
                None,
                json!({"username": "boss", "password": pw, "tenantId": "xclub"}),
            )
            .await
        }
    };
    assert_eq!(
        login("long-enough-pw").await.data()["admin"]["role"],
        "staff"
    );
    // The operator's changes are audited as `cli`, without the password.
    let audit: Vec<(String, String, String)> = t
        .store()
        .read(|c| {
            let mut s = c.prepare(
                "SELECT actor, action, COALESCE(detail, '') FROM audit_log
                 WHERE tenant_id = 'xclub' ORDER BY id",
            )?;
            let rows = s
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|(a, b, _)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        actions,
        [("cli", "tenant_created"), ("cli", "admin_created")],
        "{audit:?}"
    );
    assert!(audit.iter().all(|(_, _, d)| !d.contains("long-enough-pw")));
    let pw = run(
        &[
            "admin",
            "passwd",
            "--tenant",
            "xclub",
            "--username",
            "boss",
            "--password-stdin",
        ],
        "changed-pw-99\r\n",
    );
    assert!(pw.status.success(), "{pw:?}");
    login("long-enough-pw")
        .await
        .expect(401, "INVALID_CREDENTIALS");
    login("changed-pw-99").await.data();
    // Disabling and enabling go through the same change as the owner's.
    let off = run(
        &[
            "admin",
            "disable",
            "--tenant",
            "xclub",
            "--username",
            "boss",
        ],
        "",
    );
    assert!(off.status.success(), "{off:?}");
    login("changed-pw-99").await.expect(403, "ADMIN_DISABLED");
    let on = run(
        &["admin", "enable", "--tenant", "xclub", "--username", "boss"],
        "",
    );
    assert!(on.status.success(), "{on:?}");
    login("changed-pw-99").await.data();
    let ghost = run(
        &[
            "admin",
            "disable",
            "--tenant",
            "xclub",
            "--username",
            "nobody",
        ],
        "",
    );
    assert!(!ghost.status.success());
    let actions: Vec<(String, String)> = t
        .store()
        .read(|c| {
            let mut s = c.prepare(
                "SELECT actor, action FROM audit_log WHERE tenant_id = 'xclub' ORDER BY id",
            )?;
            let rows = s
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = actions
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        &actions[2..],
        [
            ("cli", "admin_password_reset"),
            ("cli", "admin_updated"),
            ("cli", "admin_updated")
        ],
        "{actions:?}"
    );
}

#[test]
fn production_refuses_to_start_without_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_standup-tickets");
    let out = std::process::Command::new(bin)
        .arg("migrate")
        .env("DATA_DIR", tmp.path())
        .env("APP_ENV", "production")
        .env("WECHAT_APP_ID", "wx1")
        .env("WECHAT_APP_SECRET", "s")
        .env("JWT_SECRET", "too-short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET"));
    let out = std::process::Command::new(bin)
        .arg("migrate")
        .env("DATA_DIR", tmp.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", "x".repeat(40))
        .env_remove("WECHAT_APP_ID")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("WECHAT_APP_ID"));
}
