//! The club's home page content over HTTP: banners and merch, edited by
//! the owner, shown on the public home at once, refused when bad without a
//! trace.

use serde_json::{Value, json};
use standup_tickets::model::admins::AdminRole;

use crate::common::admin::{admin_token, audit_actions, create_show, owner_token, show_body};
use crate::common::*;

const XSS: &str = "<script>alert('x')</script>\"'&";

fn banner(title: &str) -> Value {
    json!({"title": title, "image": "/static/dt/a.png", "link": "/pages/event/detail?id=1"})
}

async fn home(t: &TestApp) -> Value {
    t.data("/api/events/home?tenantId=dt").await
}

fn titles(items: &Value, field: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn banners_from_the_console_to_the_home_page() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    t.seed_tenant("xc").await;
    let owner = owner_token(&t, "dt").await;
    let staff = admin_token(&t, "dt", "door", AdminRole::Staff).await;
    let other = owner_token(&t, "xc").await;
    let show = create_show(&t, &owner, show_body(5)).await;
    let foreign = create_show(&t, &other, show_body(5)).await;

    // Create two; the home shows them in order at once.
    let mut b = banner(XSS);
    b["eventId"] = show["id"].clone();
    b["sortOrder"] = json!(2);
    let first = t.post("/api/admin/banners", Some(&owner), b).await;
    assert_eq!(first.json["message"], "创建成功", "{}", first.text);
    let first = first.data().clone();
    assert_eq!(first["title"], XSS, "verbatim");
    assert_eq!(first["status"], "active");
    let mut b = banner("元旦");
    b["sortOrder"] = json!(1);
    let second = t
        .post("/api/admin/banners", Some(&owner), b)
        .await
        .data()
        .clone();
    let h = home(&t).await;
    assert_eq!(titles(&h["banners"], "title"), ["元旦", XSS]);
    assert_eq!(h["banners"][1]["eventId"], show["id"]);

    // Staff read but may not write.
    let list = t.get_as("/api/admin/banners", &staff).await;
    assert_eq!(list.data().as_array().unwrap().len(), 2);
    t.post("/api/admin/banners", Some(&staff), banner("x"))
        .await
        .expect(403, "OWNER_ONLY");

    // Bad input: the field is named, nothing is written.
    let before = t.get_as("/api/admin/banners", &owner).await.data().clone();
    for (patch, field) in [
        (json!({"link": "javascript:alert(1)"}), "link"),
        (json!({"link": "http://example.com"}), "link"),
        (json!({"link": "//evil.example.com/x"}), "link"),
        (json!({"image": ""}), "image"),
        (json!({"image": "javascript:alert(1)"}), "image"),
        (json!({"eventId": foreign["id"]}), "eventId"),
        (json!({"eventId": "' OR 1=1 --"}), "eventId"),
        (json!({"sortOrder": -1}), "sortOrder"),
        (json!({"sortOrder": 1_000_000}), "sortOrder"),
        (json!({"title": "长".repeat(51)}), "title"),
        (json!({"title": "a\u{0}b"}), "title"),
        (json!({"status": "on"}), "status"),
        (json!({"startsAt": "明天"}), "startsAt"),
        (
            json!({"startsAt": "2026-12-02T10:00:00+08:00", "endsAt": "2026-12-02T09:00:00+08:00"}),
            "endsAt",
        ),
    ] {
        let mut body = banner("坏");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = t
            .post("/api/admin/banners", Some(&owner), body.clone())
            .await;
        r.expect(400, "VALIDATION_FAILED");
        assert!(
            r.json["message"].as_str().unwrap().starts_with(field),
            "{}",
            r.text
        );
        let id = first["id"].as_str().unwrap();
        t.put(&format!("/api/admin/banners/{id}"), Some(&owner), body)
            .await
            .expect(400, "VALIDATION_FAILED");
    }
    assert_eq!(t.get_as("/api/admin/banners", &owner).await.data(), &before);

    // A window: future and past banners, and disabled ones, stay off the home.
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let gone = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    for (title, patch) in [
        ("未开始", json!({"startsAt": soon})),
        ("已结束", json!({"endsAt": gone})),
        ("停用", json!({"status": "disabled"})),
    ] {
        let mut body = banner(title);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = t.post("/api/admin/banners", Some(&owner), body).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(titles(&home(&t).await["banners"], "title"), ["元旦", XSS]);
    assert_eq!(
        t.get_as("/api/admin/banners", &owner)
            .await
            .data()
            .as_array()
            .unwrap()
            .len(),
        5
    );

    // Edit, reorder, delete: each on the home at once.
    let id = second["id"].as_str().unwrap();
    let r = t
        .put(
            &format!("/api/admin/banners/{id}"),
            Some(&owner),
            banner("元旦快乐"),
        )
        .await;
    assert_eq!(r.data()["title"], "元旦快乐");
    assert_eq!(r.data()["sortOrder"], 0, "a whole body: no sortOrder is 0");
    let all: Vec<String> = titles(t.get_as("/api/admin/banners", &owner).await.data(), "id");
    let mut reversed = all.clone();
    reversed.reverse();
    let r = t
        .put(
            "/api/admin/banners/order",
            Some(&owner),
            json!({"ids": reversed}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        titles(&home(&t).await["banners"], "title"),
        [XSS, "元旦快乐"]
    );
    for bad in [json!([]), json!([all[0], all[0]]), json!(all[..4])] {
        t.put(
            "/api/admin/banners/order",
            Some(&owner),
            json!({"ids": bad}),
        )
        .await
        .expect(400, "VALIDATION_FAILED");
    }
    // Another club's owner finds none of these.
    let fid = first["id"].as_str().unwrap();
    t.get_as(&format!("/api/admin/banners/{fid}"), &other)
        .await
        .expect(404, "BANNER_NOT_FOUND");
    t.put(
        &format!("/api/admin/banners/{fid}"),
        Some(&other),
        banner("抢"),
    )
    .await
    .expect(404, "BANNER_NOT_FOUND");
    t.delete(&format!("/api/admin/banners/{fid}"), Some(&other))
        .await
        .expect(404, "BANNER_NOT_FOUND");
    t.put(
        "/api/admin/banners/order",
        Some(&other),
        json!({"ids": [fid]}),
    )
    .await
    .expect(400, "VALIDATION_FAILED");
    assert_eq!(
        t.get_as(&format!("/api/admin/banners/{fid}"), &owner)
            .await
            .data()["title"],
        XSS
    );
    let r = t
        .delete(&format!("/api/admin/banners/{fid}"), Some(&owner))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    t.delete(&format!("/api/admin/banners/{fid}"), Some(&owner))
        .await
        .expect(404, "BANNER_NOT_FOUND");
    t.get_as("/api/admin/banners/not-an-id", &owner)
        .await
        .expect(404, "BANNER_NOT_FOUND");
    assert_eq!(titles(&home(&t).await["banners"], "title"), ["元旦快乐"]);
    let actions = audit_actions(&t, &owner, "banner").await;
    for a in [
        "banner_created",
        "banner_updated",
        "banner_reordered",
        "banner_deleted",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn merch_with_prices_in_yuan() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    let body = |name: &str, price: Value| {
        json!({"name": name, "price": price, "image": "https://cdn.example.com/t.png",
               "description": format!("第一行\n{XSS}"), "link": "https://shop.example.com/t"})
    };
    let tee = t
        .post("/api/admin/merch", Some(&owner), body("T恤", json!(88.5)))
        .await;
    assert_eq!(tee.status, 200, "{}", tee.text);
    let tee = tee.data().clone();
    assert_eq!(tee["price"], 88.5);
    assert_eq!(tee["description"], format!("第一行\n{XSS}"));
    let mut mug = body("杯子", json!(30));
    mug["originalPrice"] = json!(45);
    mug["sortOrder"] = json!(1);
    let mug = t
        .post("/api/admin/merch", Some(&owner), mug)
        .await
        .data()
        .clone();
    assert_eq!(mug["originalPrice"], 45);
    let h = home(&t).await;
    assert_eq!(titles(&h["merch"], "name"), ["T恤", "杯子"]);
    // A name full of markup is kept exactly, in the admin list and the home.
    let mut odd = body(XSS, json!(1));
    odd["sortOrder"] = json!(9);
    let odd = t
        .post("/api/admin/merch", Some(&owner), odd)
        .await
        .data()
        .clone();
    assert_eq!(odd["name"], XSS);
    assert_eq!(home(&t).await["merch"][2]["name"], XSS);
    let id = odd["id"].as_str().unwrap();
    t.delete(&format!("/api/admin/merch/{id}"), Some(&owner))
        .await
        .data();
    assert_eq!(h["merch"][0]["price"], 88.5);

    let before = t.get_as("/api/admin/merch", &owner).await.data().clone();
    for (b, field) in [
        (body("贵", json!(12.345)), "price"),
        (body("负", json!(-1)), "price"),
        (body("天价", json!(100_000.01)), "price"),
        (body("", json!(1)), "name"),
        (body(&"名".repeat(51), json!(1)), "name"),
        (
            {
                let mut b = body("折", json!(50));
                b["originalPrice"] = json!(40);
                b
            },
            "originalPrice",
        ),
        (
            {
                let mut b = body("链", json!(5));
                b["link"] = json!("javascript:void(0)");
                b
            },
            "link",
        ),
        (
            {
                let mut b = body("长", json!(5));
                b["description"] = json!("字".repeat(501));
                b
            },
            "description",
        ),
    ] {
        let r = t.post("/api/admin/merch", Some(&owner), b).await;
        r.expect(400, "VALIDATION_FAILED");
        assert!(
            r.json["message"].as_str().unwrap().starts_with(field),
            "{}",
            r.text
        );
    }
    t.post(
        "/api/admin/merch",
        Some(&owner),
        json!({"name": "x", "price": "88"}),
    )
    .await
    .expect(400, "VALIDATION_FAILED");
    assert_eq!(t.get_as("/api/admin/merch", &owner).await.data(), &before);

    // Disable one: off the home; reorder; delete.
    let id = mug["id"].as_str().unwrap();
    let mut off = body("杯子", json!(30));
    off["status"] = json!("disabled");
    t.put(&format!("/api/admin/merch/{id}"), Some(&owner), off)
        .await
        .data();
    assert_eq!(titles(&home(&t).await["merch"], "name"), ["T恤"]);
    let ids = json!([mug["id"], tee["id"]]);
    t.put("/api/admin/merch/order", Some(&owner), json!({"ids": ids}))
        .await
        .data();
    let list = t.get_as("/api/admin/merch", &owner).await;
    assert_eq!(titles(list.data(), "name"), ["杯子", "T恤"]);
    let tid = tee["id"].as_str().unwrap();
    t.delete(&format!("/api/admin/merch/{tid}"), Some(&owner))
        .await
        .data();
    assert!(home(&t).await["merch"].as_array().unwrap().is_empty());
    t.get_as(&format!("/api/admin/merch/{tid}"), &owner)
        .await
        .expect(404, "MERCH_NOT_FOUND");
    let actions = audit_actions(&t, &owner, "merch").await;
    for a in [
        "merch_created",
        "merch_updated",
        "merch_reordered",
        "merch_deleted",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn a_club_has_at_most_fifty_banners() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    for i in 0..50 {
        let r = t
            .post(
                "/api/admin/banners",
                Some(&owner),
                banner(&format!("第{i}个")),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = t
        .post("/api/admin/banners", Some(&owner), banner("多一个"))
        .await;
    r.expect(400, "VALIDATION_FAILED");
    assert!(r.json["message"].as_str().unwrap().contains("50"));
    // The home lists the first 20.
    assert_eq!(home(&t).await["banners"].as_array().unwrap().len(), 20);
}
