//! Start, restart, migrations, the demo club, the CLI, health and OpenAPI.

use std::process::Command;

use crate::common::*;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_standup-tickets");

#[tokio::test]
async fn restart_keeps_data_and_applies_no_migration_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let first = TestApp::start_in(tmp.path(), |_| {}).await;
    assert_eq!(
        first.store().info().applied_migrations,
        [
            "0001_init.sql",
            "0002_admin.sql",
            "0003_checkin.sql",
            "0004_door_scans.sql",
            "0005_club.sql",
            "0006_trust.sql"
        ]
    );
    first.seed_tenant("dt").await;
    let ev = first
        .seed_event(show("dt", "重启前创建", days_from_today(3), "20:00"))
        .await;
    first.stop().await;

    let second = TestApp::start_in(tmp.path(), |_| {}).await;
    assert!(second.store().info().applied_migrations.is_empty());
    let d = second.data(&format!("/api/events/{}", ev.id)).await;
    assert_eq!(d["title"], "重启前创建");
    let recorded: i64 = second
        .store()
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(recorded, 6);
    second.stop().await;
}

#[tokio::test]
async fn an_empty_database_gets_the_demo_club_once() {
    let tmp = tempfile::tempdir().unwrap();
    let t = TestApp::start_in(tmp.path(), |c| c.demo_on_empty = true).await;
    let cfg = t.data("/api/tenants/demo").await;
    assert!(!cfg["name"].as_str().unwrap().is_empty());

    let list = t.data("/api/events?tenantId=demo&pageSize=100").await;
    let items = list["items"].as_array().unwrap();
    assert!(items.len() >= 6, "6+ shows");
    let today = days_from_today(0);
    let horizon = days_from_today(62);
    for e in items {
        let n = e["priceOptions"].as_array().unwrap().len();
        assert!((2..=3).contains(&n), "2-3 price options: {}", e["title"]);
        let d = date(e["eventDate"].as_str().unwrap());
        assert!(d >= today && d <= horizon, "within two months");
        assert!(e["poster"].as_str().unwrap().starts_with("/static/"));
    }
    let home = t.data("/api/events/home?tenantId=demo").await;
    assert!(!home["recommended"].as_array().unwrap().is_empty());
    assert!(!home["upcomingSale"].as_array().unwrap().is_empty());
    assert!(!home["banners"].as_array().unwrap().is_empty());
    assert!(!home["merch"].as_array().unwrap().is_empty());
    let sale = &home["upcomingSale"][0];
    assert_eq!(sale["status"], "upcoming");
    assert!(sale["saleStartAt"].as_str().unwrap() > chrono::Utc::now().to_rfc3339().as_str());

    // Demo images are real files served from the upload folder.
    let poster = items[0]["poster"].as_str().unwrap();
    let res = t.client.get(t.url(poster)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().starts_with("<svg"));
    t.stop().await;

    // A restart does not load it again.
    let again = TestApp::start_in(tmp.path(), |c| c.demo_on_empty = true).await;
    let list2 = again.data("/api/events?tenantId=demo&pageSize=100").await;
    assert_eq!(list2["total"], list["total"]);
    again.stop().await;
}

#[tokio::test]
async fn healthz_and_openapi_list_every_route() {
    let t = TestApp::start().await;
    let h = t.data("/healthz").await;
    assert_eq!(h["status"], "ok");

    let res = t
        .client
        .get(t.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/tenants/{tenantId}",
        "/api/events/home",
        "/api/events/calendar/{year}/{month}",
        "/api/events/{eventId}",
        "/api/events",
        "/healthz",
    ] {
        assert!(paths[p]["get"].is_object(), "{p} documented");
        assert!(
            paths[p]["get"]["responses"]["200"].is_object(),
            "{p} has a 200 schema"
        );
    }
    for (p, method) in [
        ("/api/auth/wechat/login", "post"),
        ("/api/users/me", "get"),
        ("/api/users/profile", "put"),
        ("/api/users/phone", "post"),
        ("/api/admin/auth/login", "post"),
        ("/api/admin/me", "get"),
        ("/api/orders", "post"),
        ("/api/orders", "get"),
        ("/api/orders/{orderId}", "get"),
        ("/api/orders/{orderId}/cancel", "put"),
        ("/api/payments/wechat", "post"),
        ("/api/payments/refund", "post"),
        ("/api/payments/wechat/notify", "post"),
        ("/api/payments/wechat/refund-notify", "post"),
        ("/api/tickets/{ticketId}/qr.svg", "get"),
        ("/api/dev/payments/{orderId}/confirm", "post"),
    ] {
        assert!(
            paths[p][method]["responses"].is_object(),
            "{method} {p} documented"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let params: Vec<&str> = paths["/api/events"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in [
        "tenantId", "page", "pageSize", "status", "date", "city", "keyword",
    ] {
        assert!(params.contains(&p), "/api/events documents {p}");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in [
        "Event",
        "PriceOption",
        "TenantConfig",
        "HomeData",
        "Banner",
        "MerchItem",
        "ApiError",
    ] {
        assert!(schemas.contains_key(s), "schema {s}");
    }
    let event_props = schemas["Event"]["properties"].as_object().unwrap();
    assert!(event_props.contains_key("priceOptions") && event_props.contains_key("remainingSeats"));
}

#[test]
fn cli_migrate_tenant_create_and_bad_config() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cli(tmp.path(), &["migrate"], "", &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("0001_init.sql"));
    let out = cli(tmp.path(), &["migrate"], "", &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("无需迁移"));

    let out = cli(
        tmp.path(),
        &["tenant", "create", "--id", "xclub", "--name", "X 俱乐部"],
        "",
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    let again = cli(
        tmp.path(),
        &["tenant", "create", "--id", "xclub", "--name", "重复"],
        "",
        &[],
    );
    assert!(!again.status.success(), "duplicate id refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("已存在"));
    let bad = cli(
        tmp.path(),
        &["tenant", "create", "--id", "Bad Id!", "--name", "x"],
        "",
        &[],
    );
    assert!(!bad.status.success());

    let out = cli(tmp.path(), &["demo"], "", &[]);
    assert!(out.status.success(), "{out:?}");
    let out = cli(tmp.path(), &["demo"], "", &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("已存在"));

    let out = cli(tmp.path(), &["migrate"], "", &[("PORT", "not-a-port")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORT"));
    let out = cli(
        tmp.path(),
        &["migrate"],
        "",
        &[("APP_TIMEZONE", "Mars/Base")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("APP_TIMEZONE"));
}

#[tokio::test]
async fn cli_created_tenant_is_served() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cli(
        tmp.path(),
        &["tenant", "create", "--id", "xclub", "--name", "X 俱乐部"],
        "",
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    let t = TestApp::start_in(tmp.path(), |_| {}).await;
    assert_eq!(t.data("/api/tenants/xclub").await["name"], "X 俱乐部");
    // Disabled from the CLI while the server runs: gone within the cache's second.
    let out = cli(tmp.path(), &["tenant", "disable", "--id", "xclub"], "", &[]);
    assert!(out.status.success(), "{out:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    t.expect_error("/api/tenants/xclub", 404, "TENANT_NOT_FOUND")
        .await;
    t.stop().await;
}

#[tokio::test]
async fn serve_binary_starts_and_stops_on_sigterm() {
    standup_tickets::wechat::install_crypto_provider();
    let tmp = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new(BIN)
        .env("DATA_DIR", tmp.path())
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("LOG_LEVEL", "warn")
        .env_remove("APP_ENV")
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = client.get(&url).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(ready, "server became ready");
    let demo = client
        .get(format!("http://127.0.0.1:{port}/api/tenants/demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(demo.status(), 200, "demo club served by default");
    let pid = child.id().unwrap();
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "clean exit: {status:?}");
}

/// `standup-tickets tick NAME` runs one job once on a stopped server's data
/// dir: an unpaid hold that ran out while nothing was serving is released.
#[tokio::test]
async fn tick_runs_one_job_on_the_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let t = TestApp::start_in(tmp.path(), |c| {
        c.order_payment_timeout = std::time::Duration::from_secs(1)
    })
    .await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "专场", days_from_today(3), "20:00"))
        .await;
    let (token, _) = t.login("buyer", "dt").await;
    let opt = ev.option_ids[0].clone();
    let order = t
        .post("/api/orders", Some(&token), order_body(&ev.id, &opt, 2))
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.stop().await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    let list = cli(tmp.path(), &["tick"], "", &[]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success(), "{list:?}");
    for job in [
        "expire",
        "reconcile",
        "sales",
        "refunds",
        "disabled-users",
        "limits",
    ] {
        assert!(listed.contains(job), "{job} listed: {listed}");
    }
    let unknown = cli(tmp.path(), &["tick", "nope"], "", &[]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nope"));

    let out = cli(tmp.path(), &["tick", "expire"], "", &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("任务 expire 完成: 1 项"),
        "{out:?}"
    );
    let again = cli(tmp.path(), &["tick", "expire"], "", &[]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("任务 expire 完成: 0 项"));

    let t = TestApp::start_in(tmp.path(), |_| {}).await;
    assert_eq!(order_statuses(&t, &[order]).await, ["cancelled"]);
    assert_eq!(stock(&t, &opt).await.left, 100);
    assert_invariants(&t).await;
    t.stop().await;
}
