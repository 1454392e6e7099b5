//! A club puts on its shows over the admin API: create (and every refusal),
//! publish and unpublish, what the public sees, stock edits against sales,
//! edit conflicts, delete and duplicate.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::common::admin::{create_show, editable, owner_token, show_body};
use crate::common::*;

async fn club() -> (TestApp, String) {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let token = owner_token(&t, "dt").await;
    (t, token)
}

fn with(mut body: Value, path: &[&str], value: Value) -> Value {
    let mut at = &mut body;
    for (i, p) in path.iter().enumerate() {
        if i + 1 == path.len() {
            if let Ok(n) = p.parse::<usize>() {
                at[n] = value.clone();
            } else {
                at[*p] = value.clone();
            }
            break;
        }
        at = match p.parse::<usize>() {
            Ok(n) => &mut at[n],
            Err(_) => &mut at[*p],
        };
    }
    body
}

async fn event_count(t: &TestApp) -> i64 {
    t.store()
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?))
        .await
        .unwrap()
}

#[tokio::test]
async fn create_validates_every_field_and_writes_nothing_when_refused() {
    let (t, token) = club().await;
    let long = "长".repeat(101);
    let cases: Vec<(Value, &str)> = vec![
        (with(show_body(5), &["title"], json!("")), "title"),
        (with(show_body(5), &["title"], json!("   ")), "title"),
        (with(show_body(5), &["title"], json!(long)), "title"),
        (with(show_body(5), &["title"], json!("a\u{0}b")), "title"),
        (with(show_body(5), &["venue"], json!("")), "venue"),
        (with(show_body(5), &["address"], json!("")), "address"),
        (with(show_body(5), &["city"], json!("")), "city"),
        (
            with(show_body(5), &["eventDate"], json!("2026-02-30")),
            "eventDate",
        ),
        (
            with(show_body(5), &["eventDate"], json!("tomorrow")),
            "eventDate",
        ),
        (with(show_body(-1), &[], json!(null)), "eventDate"),
        (
            with(show_body(5), &["eventTime"], json!("25:00")),
            "eventTime",
        ),
        (with(show_body(5), &["duration"], json!(0)), "duration"),
        (with(show_body(5), &["duration"], json!(601)), "duration"),
        (
            with(show_body(5), &["maxPerOrder"], json!(0)),
            "maxPerOrder",
        ),
        (
            with(show_body(5), &["maxPerOrder"], json!(7)),
            "maxPerOrder",
        ),
        (with(show_body(5), &["maxPerUser"], json!(51)), "maxPerUser"),
        (
            with(show_body(5), &["status"], json!("cancelled")),
            "status",
        ),
        (with(show_body(5), &["status"], json!("<script>")), "status"),
        (with(show_body(5), &["totalSeats"], json!(70)), "totalSeats"),
        (
            with(show_body(5), &["remainingSeats"], json!(70)),
            "remainingSeats",
        ),
        (
            with(show_body(5), &["poster"], json!("javascript:alert(1)")),
            "poster",
        ),
        (
            with(show_body(5), &["performers"], json!(vec!["x"; 21])),
            "performers",
        ),
        (with(show_body(5), &["tags"], json!([""])), "tags"),
        (
            with(
                show_body(5),
                &["saleStartAt"],
                json!("2020-13-01T00:00:00Z"),
            ),
            "saleStartAt",
        ),
        (
            with(
                show_body(5),
                &["saleEndAt"],
                json!("2099-01-01T00:00:00+08:00"),
            ),
            "saleEndAt",
        ),
        (
            with(show_body(5), &["priceOptions"], json!([])),
            "priceOptions",
        ),
        (
            with(
                show_body(5),
                &["priceOptions"],
                json!(vec![json!({"name": "x", "price": 1, "totalCount": 1}); 21]),
            ),
            "priceOptions",
        ),
        (
            with(show_body(5), &["priceOptions", "0", "price"], json!(-1)),
            "priceOptions[0].price",
        ),
        (
            with(show_body(5), &["priceOptions", "0", "price"], json!(12.345)),
            "priceOptions[0].price",
        ),
        (
            with(
                show_body(5),
                &["priceOptions", "0", "price"],
                json!(100_000.01),
            ),
            "priceOptions[0].price",
        ),
        (
            with(
                show_body(5),
                &["priceOptions", "1", "totalCount"],
                json!(-5),
            ),
            "priceOptions[1].totalCount",
        ),
        (
            with(
                show_body(5),
                &["priceOptions", "1", "totalCount"],
                json!(100_001),
            ),
            "priceOptions[1].totalCount",
        ),
        (
            with(show_body(5), &["priceOptions", "1", "name"], json!("前排")),
            "priceOptions[1].name",
        ),
        (
            with(
                show_body(5),
                &["priceOptions", "0", "remainingCount"],
                json!(3),
            ),
            "priceOptions[0].remainingCount",
        ),
        (
            with(
                show_body(5),
                &["priceOptions", "0", "id"],
                json!("01J000000000000000000000"),
            ),
            "priceOptions[0].id",
        ),
    ];
    for (body, field) in cases {
        let r = t.post("/api/admin/events", Some(&token), body).await;
        r.expect(400, "VALIDATION_FAILED");
        let msg = r.json["message"].as_str().unwrap();
        assert!(msg.starts_with(field), "{field}: {msg}");
    }
    // A missing field and a wrong type are refused by the parser, by name.
    let mut no_title = show_body(5);
    no_title.as_object_mut().unwrap().remove("title");
    let r = t.post("/api/admin/events", Some(&token), no_title).await;
    r.expect(400, "VALIDATION_FAILED");
    assert!(r.text.contains("title"), "{}", r.text);
    let r = t
        .post(
            "/api/admin/events",
            Some(&token),
            with(show_body(5), &["duration"], json!("90")),
        )
        .await;
    r.expect(400, "VALIDATION_FAILED");
    assert_eq!(event_count(&t).await, 0, "no refused body wrote a show");
}

#[tokio::test]
async fn a_created_show_is_public_at_once_and_a_draft_never() {
    let (t, token) = club().await;
    let sql_title = "'; DROP TABLE events; -- <b>专场</b> 😀";
    let e = create_show(&t, &token, with(show_body(5), &["title"], json!(sql_title))).await;
    assert_eq!(e["status"], "onSale");
    assert_eq!(e["title"], sql_title, "stored as written");
    assert_eq!(
        (e["totalSeats"].as_i64(), e["remainingSeats"].as_i64()),
        (Some(70), Some(70))
    );
    assert_eq!(e["version"], 1);
    assert_eq!(
        (
            e["sold"].as_i64(),
            e["held"].as_i64(),
            e["revenue"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(e["priceOptions"][1]["price"], 88.5);
    assert_eq!(e["priceOptions"][1]["sold"], 0);
    let id = e["id"].as_str().unwrap();
    let public = t.data(&format!("/api/events/{id}")).await;
    assert_eq!(public["title"], sql_title);
    assert!(public.get("version").is_none(), "admin fields stay private");
    assert!(public["priceOptions"][0].get("sold").is_none());
    let list = t.data("/api/events?tenantId=dt").await;
    assert_eq!(list["total"], 1);

    let draft = create_show(&t, &token, with(show_body(6), &["status"], json!("draft"))).await;
    assert_eq!(draft["status"], "draft");
    let did = draft["id"].as_str().unwrap();
    t.expect_error(&format!("/api/events/{did}"), 404, "EVENT_NOT_FOUND")
        .await;
    assert_eq!(t.data("/api/events?tenantId=dt").await["total"], 1);
    let home = t.data("/api/events/home?tenantId=dt").await;
    assert!(
        !home.to_string().contains(did),
        "a draft is not on the home page"
    );
    // The admin list has both, and filters by status, keyword and dates.
    let all = t.get_as("/api/admin/events", &token).await;
    assert_eq!(all.data()["total"], 2);
    let drafts = t.get_as("/api/admin/events?status=draft", &token).await;
    assert_eq!(drafts.data()["items"][0]["id"], did);
    let by_kw = t
        .get_as("/api/admin/events?keyword=DROP%20TABLE", &token)
        .await;
    assert_eq!(by_kw.data()["total"], 1);
    let from = days_from_today(6).format("%Y-%m-%d").to_string();
    let later = t
        .get_as(&format!("/api/admin/events?from={from}"), &token)
        .await;
    assert_eq!(later.data()["total"], 1);
    t.get_as("/api/admin/events?status=bogus", &token)
        .await
        .expect(400, "VALIDATION_FAILED");
    t.get_as("/api/admin/events?from=2026-13-01", &token)
        .await
        .expect(400, "VALIDATION_FAILED");
    t.get_as("/api/admin/events?pageSize=101", &token)
        .await
        .expect(400, "VALIDATION_FAILED");

    // Publishing the draft puts it on sale, with a future sale start upcoming.
    let start = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let body = with(
        with(editable(&draft), &["status"], json!("onSale")),
        &["saleStartAt"],
        json!(start),
    );
    let r = t
        .put(&format!("/api/admin/events/{did}"), Some(&token), body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.data()["status"], "upcoming");
    assert_eq!(
        t.data(&format!("/api/events/{did}")).await["status"],
        "upcoming"
    );
}

#[tokio::test]
async fn stock_edits_move_remaining_and_never_go_below_sold_and_held() {
    let (t, token) = club().await;
    let e = create_show(&t, &token, show_body(5)).await;
    let id = e["id"].as_str().unwrap().to_string();
    let front = e["priceOptions"][0]["id"].as_str().unwrap().to_string();
    // Two buyers: one pays 3 front seats, one holds 2.
    let (paid_buyer, _) = t.login("paid", "dt").await;
    let o = t
        .post("/api/orders", Some(&paid_buyer), order_body(&id, &front, 3))
        .await;
    let oid = o.data()["id"].as_str().unwrap().to_string();
    t.post(&format!("/api/dev/payments/{oid}/confirm"), None, json!({}))
        .await
        .data();
    let (holder, _) = t.login("holder", "dt").await;
    t.post("/api/orders", Some(&holder), order_body(&id, &front, 2))
        .await
        .data();

    let current = t.get_as(&format!("/api/admin/events/{id}"), &token).await;
    let current = current.data().clone();
    assert_eq!(current["priceOptions"][0]["sold"], 3);
    assert_eq!(current["priceOptions"][0]["held"], 2);
    assert_eq!(current["priceOptions"][0]["revenue"], 360);
    assert_eq!(
        (current["sold"].as_i64(), current["held"].as_i64()),
        (Some(3), Some(2))
    );

    // Below sold + held: refused with both numbers, nothing changed.
    let below = with(
        editable(&current),
        &["priceOptions", "0", "totalCount"],
        json!(4),
    );
    let r = t
        .put(&format!("/api/admin/events/{id}"), Some(&token), below)
        .await;
    r.expect(409, "STOCK_BELOW_SOLD");
    let msg = r.json["message"].as_str().unwrap();
    assert!(msg.contains("已售 3") && msg.contains("锁定 2"), "{msg}");
    let s = stock(&t, &front).await;
    assert_eq!((s.left, s.seats), (15, 65), "untouched");

    // Another show's option id is not this show's: 404, nothing changed.
    let elsewhere = create_show(&t, &token, show_body(6)).await;
    let foreign = with(
        editable(&current),
        &["priceOptions", "1", "id"],
        elsewhere["priceOptions"][0]["id"].clone(),
    );
    t.put(&format!("/api/admin/events/{id}"), Some(&token), foreign)
        .await
        .expect(404, "PRICE_OPTION_NOT_FOUND");
    // Exactly sold + held: allowed; the option is sold out, the show is not.
    let exact = with(
        editable(&current),
        &["priceOptions", "0", "totalCount"],
        json!(5),
    );
    let r = t
        .put(&format!("/api/admin/events/{id}"), Some(&token), exact)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.data()["priceOptions"][0]["remainingCount"], 0);
    assert_eq!(r.data()["version"], 2);
    let s = stock(&t, &front).await;
    assert_eq!((s.left, s.seats, s.status.as_str()), (0, 50, "onSale"));

    // A stale version is a conflict, never a silent overwrite.
    let stale = with(editable(&current), &["title"], json!("覆盖"));
    t.put(&format!("/api/admin/events/{id}"), Some(&token), stale)
        .await
        .expect(409, "EDIT_CONFLICT");
    let no_version = {
        let mut b = editable(&current);
        b.as_object_mut().unwrap().remove("version");
        b
    };
    t.put(&format!("/api/admin/events/{id}"), Some(&token), no_version)
        .await
        .expect(400, "VALIDATION_FAILED");
    let after = t.get_as(&format!("/api/admin/events/{id}"), &token).await;
    assert_eq!(after.data()["title"], "周五开放麦");

    // Left out with orders: disabled; a new option without id: added.
    let fresh = after.data().clone();
    let mut body = editable(&fresh);
    body["priceOptions"] = json!([
        fresh["priceOptions"][1].clone(),
        {"name": "站票", "price": 30, "totalCount": 10}
    ]);
    body["priceOptions"][0]
        .as_object_mut()
        .unwrap()
        .remove("remainingCount");
    let r = t
        .put(&format!("/api/admin/events/{id}"), Some(&token), body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let opts = r.data()["priceOptions"].as_array().unwrap().clone();
    assert_eq!(opts.len(), 3);
    let front_now = opts.iter().find(|o| o["id"] == front.as_str()).unwrap();
    assert_eq!(front_now["status"], "disabled");
    assert_eq!(r.data()["totalSeats"], 65);
    // Left out without orders: deleted.
    let mut body = editable(r.data());
    let keep: Vec<Value> = body["priceOptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["name"] != "站票")
        .cloned()
        .collect();
    body["priceOptions"] = json!(keep);
    let r = t
        .put(&format!("/api/admin/events/{id}"), Some(&token), body)
        .await;
    assert_eq!(r.data()["priceOptions"].as_array().unwrap().len(), 2);
    // Unpublishing a show with orders is refused.
    let body = with(editable(r.data()), &["status"], json!("draft"));
    t.put(&format!("/api/admin/events/{id}"), Some(&token), body)
        .await
        .expect(409, "EVENT_HAS_ORDERS");
    assert_invariants(&t).await;
    let log = t
        .get_as("/api/admin/audit-log?targetType=event", &token)
        .await;
    let actions: Vec<&str> = log.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"stock_changed") && actions.contains(&"event_created"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn stock_edits_beside_buyers_keep_the_invariants() {
    let (t, token) = club().await;
    let t = Arc::new(t);
    let body = with(
        show_body(5),
        &["priceOptions", "0", "totalCount"],
        json!(40),
    );
    let body = with(body, &["maxPerUser"], json!(10));
    let e = create_show(&t, &token, body).await;
    let id = e["id"].as_str().unwrap().to_string();
    let front = e["priceOptions"][0]["id"].as_str().unwrap().to_string();
    let mut buyers = Vec::new();
    for i in 0..20 {
        let (tok, _) = t.login(&format!("b{i}"), "dt").await;
        buyers.push(tok);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for tok in buyers {
        let (t, id, front) = (t.clone(), id.clone(), front.clone());
        tasks.spawn(async move {
            for _ in 0..3 {
                let r = t
                    .post("/api/orders", Some(&tok), order_body(&id, &front, 1))
                    .await;
                assert!(r.status == 200 || r.status == 409, "{}", r.text);
            }
        });
    }
    // Meanwhile the owner shrinks and grows the option; each save either
    // lands or is refused with the numbers, never oversells.
    let mut refused = 0;
    for total in [30, 10, 50, 20, 45, 25] {
        let current = t.get_as(&format!("/api/admin/events/{id}"), &token).await;
        let body = with(
            editable(current.data()),
            &["priceOptions", "0", "totalCount"],
            json!(total),
        );
        let r = t
            .put(&format!("/api/admin/events/{id}"), Some(&token), body)
            .await;
        match r.status {
            200 => {}
            409 => {
                assert_eq!(r.json["error"], "STOCK_BELOW_SOLD");
                refused += 1;
            }
            _ => panic!("{}", r.text),
        }
    }
    while tasks.join_next().await.is_some() {}
    let _ = refused;
    assert_invariants(&t).await;
}

#[tokio::test]
async fn delete_only_without_orders_and_duplicate_for_next_week() {
    let (t, token) = club().await;
    let e = create_show(&t, &token, show_body(5)).await;
    let id = e["id"].as_str().unwrap().to_string();
    let (buyer, _) = t.login("b", "dt").await;
    let opt = e["priceOptions"][1]["id"].as_str().unwrap();
    let o = t
        .post("/api/orders", Some(&buyer), order_body(&id, opt, 1))
        .await;
    let oid = o.data()["id"].as_str().unwrap().to_string();
    t.put(
        &format!("/api/orders/{oid}/cancel"),
        Some(&buyer),
        json!({}),
    )
    .await
    .data();
    let r = t
        .call(
            reqwest::Method::DELETE,
            &format!("/api/admin/events/{id}"),
            Some(&token),
            None,
        )
        .await;
    r.expect(409, "EVENT_HAS_ORDERS");
    assert!(
        r.json["message"].as_str().unwrap().contains("取消"),
        "suggests cancel"
    );

    // Duplicate: a draft, same texts and options, full stock, new date.
    let date = days_from_today(12).format("%Y-%m-%d").to_string();
    let r = t
        .post(
            &format!("/api/admin/events/{id}/duplicate"),
            Some(&token),
            json!({"eventDate": date, "eventTime": "19:30"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let copy = r.data().clone();
    assert_eq!(copy["status"], "draft");
    assert_eq!(copy["title"], e["title"]);
    assert_eq!(
        (copy["eventDate"].as_str(), copy["eventTime"].as_str()),
        (Some(date.as_str()), Some("19:30"))
    );
    assert_eq!(copy["remainingSeats"], 70);
    assert_eq!(copy["priceOptions"].as_array().unwrap().len(), 2);
    assert_ne!(copy["priceOptions"][0]["id"], e["priceOptions"][0]["id"]);
    t.post(
        &format!("/api/admin/events/{id}/duplicate"),
        Some(&token),
        json!({"eventDate": "2020-01-01", "eventTime": "19:30"}),
    )
    .await
    .expect(400, "VALIDATION_FAILED");
    // The copy has no orders: it can be deleted, and then it is gone.
    let cid = copy["id"].as_str().unwrap();
    let r = t
        .call(
            reqwest::Method::DELETE,
            &format!("/api/admin/events/{cid}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    t.get_as(&format!("/api/admin/events/{cid}"), &token)
        .await
        .expect(404, "EVENT_NOT_FOUND");
    assert_invariants(&t).await;
}

#[tokio::test]
async fn two_admins_saving_the_same_version_at_once_one_wins() {
    let (t, token) = club().await;
    let second = crate::common::admin::admin_token(
        &t,
        "dt",
        "partner",
        standup_tickets::model::admins::AdminRole::Owner,
    )
    .await;
    let e = create_show(&t, &token, show_body(5)).await;
    let id = e["id"].as_str().unwrap().to_string();
    let path = format!("/api/admin/events/{id}");
    let a = with(editable(&e), &["title"], json!("甲改的标题"));
    let b = with(editable(&e), &["title"], json!("乙改的标题"));
    let (ra, rb) = tokio::join!(
        t.put(&path, Some(&token), a),
        t.put(&path, Some(&second), b)
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", ra.text, rb.text);
    let loser = if ra.status == 409 { &ra } else { &rb };
    assert_eq!(loser.json["error"], "EDIT_CONFLICT");
    let winner_title = if ra.status == 200 {
        "甲改的标题"
    } else {
        "乙改的标题"
    };
    let now = t.get_as(&path, &token).await;
    assert_eq!(now.data()["title"], winner_title);
    assert_eq!(now.data()["version"], 2);
}
