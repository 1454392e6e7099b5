//! Every console write that changes something public is in the public read
//! at once. The catalogue lives an hour here, so only the invalidation the
//! writer runs after the commit can explain a fresh answer, and each read
//! is made once before the write so that a stale copy would be served.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::admin::{create_show, editable, owner_token, show_body};
use crate::common::*;

async fn public(t: &TestApp, show: &str) -> [Value; 4] {
    [
        t.data(&format!("/api/events/{show}")).await,
        t.data("/api/events/home?tenantId=dt").await,
        t.data("/api/events?tenantId=dt&page=1&pageSize=50").await,
        t.data("/api/tenants/dt").await,
    ]
}

fn list_titles(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn console_writes_are_public_at_once() {
    let t = TestApp::start_with(|c| c.catalog_ttl = Duration::from_secs(3600)).await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    let show = create_show(&t, &owner, show_body(5)).await;
    let id = show["id"].as_str().unwrap().to_string();
    let [detail, _, list, _] = public(&t, &id).await;
    assert_eq!(detail["title"], "周五开放麦");
    assert_eq!(list_titles(&list), ["周五开放麦"]);
    // Cached now: a second read is the same answer.
    assert_eq!(t.data(&format!("/api/events/{id}")).await, detail);

    // The show's text and its stock.
    let mut body = editable(
        &t.get_as(&format!("/api/admin/events/{id}"), &owner)
            .await
            .data()
            .clone(),
    );
    body["title"] = json!("周五开放麦·加场");
    body["priceOptions"][1]["totalCount"] = json!(80);
    let r = t
        .put(&format!("/api/admin/events/{id}"), Some(&owner), body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let [detail, home, list, _] = public(&t, &id).await;
    assert_eq!(detail["title"], "周五开放麦·加场");
    assert_eq!(detail["priceOptions"][1]["totalCount"], 80);
    assert_eq!(detail["priceOptions"][1]["remainingCount"], 80);
    assert_eq!(detail["remainingSeats"], 100);
    assert_eq!(list_titles(&list), ["周五开放麦·加场"]);
    assert!(home["banners"].as_array().unwrap().is_empty());

    // A banner and a piece of merch.
    let banner = t
        .post(
            "/api/admin/banners",
            Some(&owner),
            json!({"title": "元旦", "image": "/static/dt/a.png", "link": "/pages/index/index"}),
        )
        .await;
    assert_eq!(banner.status, 200, "{}", banner.text);
    let merch = t
        .post(
            "/api/admin/merch",
            Some(&owner),
            json!({"name": "T恤", "price": 88, "image": "https://cdn.example.com/t.png"}),
        )
        .await;
    assert_eq!(merch.status, 200, "{}", merch.text);
    let [_, home, _, _] = public(&t, &id).await;
    assert_eq!(home["banners"][0]["title"], "元旦");
    assert_eq!(home["merch"][0]["name"], "T恤");
    let merch_id = merch.data()["id"].as_str().unwrap().to_string();
    let r = t
        .delete(&format!("/api/admin/merch/{merch_id}"), Some(&owner))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let [_, home, _, _] = public(&t, &id).await;
    assert!(home["merch"].as_array().unwrap().is_empty());

    // The club's settings.
    let r = t
        .put(
            "/api/admin/tenant",
            Some(&owner),
            json!({"name": "新名字俱乐部"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let [_, _, _, club] = public(&t, &id).await;
    assert_eq!(club["name"], "新名字俱乐部");

    // A second show, then the first cancelled and the second deleted.
    let second = create_show(&t, &owner, show_body(6)).await;
    let second = second["id"].as_str().unwrap().to_string();
    let [_, _, list, _] = public(&t, &id).await;
    assert_eq!(list_titles(&list).len(), 2);
    t.data(&format!("/api/events/{second}")).await;
    let r = t
        .post(
            &format!("/api/admin/events/{id}/cancel"),
            Some(&owner),
            json!({"reason": "主演生病"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let detail = t.data(&format!("/api/events/{id}")).await;
    assert_eq!(detail["status"], "cancelled");
    let r = t
        .delete(&format!("/api/admin/events/{second}"), Some(&owner))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (status, gone) = t.get(&format!("/api/events/{second}")).await;
    assert_eq!(status, 404, "{gone}");
    assert_eq!(gone["error"], "EVENT_NOT_FOUND");
}

#[tokio::test]
async fn a_sale_opening_is_public_at_once() {
    let t = TestApp::start_with(|c| c.catalog_ttl = Duration::from_secs(3600)).await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    let mut body = show_body(5);
    // On sale from two seconds from now: upcoming until then.
    body["saleStartAt"] = json!((chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339());
    let show = create_show(&t, &owner, body).await;
    let id = show["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.data(&format!("/api/events/{id}")).await["status"],
        "upcoming"
    );
    // The `sales` job opens it within a second of its time.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = t.data(&format!("/api/events/{id}")).await["status"].clone();
        if status == "onSale" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
