//! Running the binary: `check-config` names every problem and masks
//! secrets, `LOG_FORMAT=json` writes one JSON object per line, and SIGTERM
//! in the middle of a rush finishes the writes already taken (every order a
//! buyer was told about is there after a restart, stock agreeing).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::common::admin::show_body;
use crate::common::binary::Binary;

const CLUB: &str = "ops";
const PASSWORD: &str = "operations-password";

#[test]
fn check_config_masks_secrets_and_names_every_problem() {
    let secret = "s3cret-0123456789abcdef0123456789abcdef";
    let bin = Binary::new().env("JWT_SECRET", secret);
    let out = bin.run(&["check-config"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains(secret), "the secret is masked: {text}");
    assert!(text.contains("***"), "{text}");
    assert!(text.contains("配置没有问题"), "{text}");
    assert!(text.contains("APP_TIMEZONE") && text.contains("Asia/Shanghai（默认）"));

    let blocker = bin.data_dir().join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let bad = Binary::new()
        .env("PORT", "abc")
        .env("LOG_FORMAT", "xml")
        .env("BACKUP_KEEP", "0")
        .env("BACKUP_DIR", bin.data_dir().to_str().unwrap());
    let out = bad.run(&["check-config"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    for var in ["PORT", "LOG_FORMAT", "BACKUP_KEEP"] {
        assert!(text.contains(&format!("配置错误 {var}")), "{var}: {text}");
    }
    let unwritable = Binary::new().env("BACKUP_DIR", blocker.join("sub").to_str().unwrap());
    let out = unwritable.run(&["check-config"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("配置错误 BACKUP_DIR: 无法写入"), "{text}");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let bin = Binary::new()
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "info");
    let log = bin.data_dir().join("server.log");
    let s = bin
        .serve_with(Stdio::from(std::fs::File::create(&log).unwrap()))
        .await;
    let _ = s.http.get(s.url("/api/tenants/nope")).send().await;
    let _ = s.http.get(s.url("/api/events?tenantId=x")).send().await;
    assert!(s.terminate().success());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{text}");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
}

#[tokio::test]
async fn sigterm_in_a_rush_keeps_every_acknowledged_order() {
    let bin = Binary::new();
    bin.club(CLUB, "运维俱乐部", PASSWORD);
    let s = Arc::new(bin.serve().await);
    let owner = s.owner(CLUB, PASSWORD).await;
    let mut body = show_body(3);
    body["priceOptions"] = json!([{"name": "普通", "price": 60, "totalCount": 500}]);
    let show = s.post("/api/admin/events", Some(&owner), body).await;
    let event = show["id"].as_str().unwrap().to_string();
    let option = show["priceOptions"][0]["id"].as_str().unwrap().to_string();
    let mut buyers = Vec::new();
    for i in 0..60 {
        buyers.push(s.buyer(CLUB, &format!("dev-rush-{i}")).await);
    }
    let mut rush = Vec::new();
    for (i, token) in buyers.into_iter().enumerate() {
        let (s, event, option) = (s.clone(), event.clone(), option.clone());
        rush.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(i as u64 % 20)).await;
            let res = s
                .http
                .post(s.url("/api/orders"))
                .bearer_auth(&token)
                .json(
                    &json!({"eventId": event, "priceOptionId": option, "quantity": 2,
                              "userInfo": {"name": "观众", "phone": format!("138{i:08}")}}),
                )
                .send()
                .await;
            match res {
                Ok(r) if r.status().is_success() => {
                    let v: serde_json::Value = r.json().await.ok()?;
                    v["data"]["id"].as_str().map(str::to_string)
                }
                _ => None,
            }
        }));
    }
    // Stop while orders are still arriving; the server drains what it took.
    tokio::time::sleep(Duration::from_millis(8)).await;
    s.signal_term();
    let mut acked = Vec::new();
    for r in rush {
        if let Some(id) = r.await.unwrap() {
            acked.push(id);
        }
    }
    let s = Arc::into_inner(s).unwrap();
    assert!(s.wait().success(), "a clean exit after SIGTERM");
    eprintln!("{} of 60 orders acknowledged before the stop", acked.len());

    let s = bin.serve().await;
    let owner = s.owner(CLUB, PASSWORD).await;
    for id in &acked {
        let o = s
            .get(&format!("/api/admin/orders/{id}"), Some(&owner))
            .await;
        assert_eq!(o["status"], "pending", "{id}");
    }
    let page = s
        .get(
            &format!("/api/admin/orders?eventId={event}&pageSize=1"),
            Some(&owner),
        )
        .await;
    let orders = page["total"].as_i64().unwrap();
    assert!(orders >= acked.len() as i64);
    let detail = s
        .get(&format!("/api/admin/events/{event}"), Some(&owner))
        .await;
    let left = detail["priceOptions"][0]["remainingCount"]
        .as_i64()
        .unwrap();
    assert_eq!(
        left + 2 * orders,
        500,
        "every held seat belongs to an order"
    );
}

/// `healthcheck` (Docker's HEALTHCHECK) exits 0 against a serving server on
/// `PORT` and 1 when nothing answers there.
#[tokio::test]
async fn healthcheck_answers_for_the_local_server() {
    let bin = Binary::new();
    let s = bin.serve().await;
    let port = s.base.rsplit(':').next().unwrap().to_string();
    let run = |port: &str| {
        std::process::Command::new(crate::common::binary::BIN)
            .arg("healthcheck")
            .env("PORT", port)
            .env("HOST", "0.0.0.0")
            .output()
            .unwrap()
    };
    let up = run(&port);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    drop(s);
    let down = run(&port);
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("无法连接"));
}
