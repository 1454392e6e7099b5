//! The public catalogue over HTTP: shapes, filters, pagination, tenants, drafts,
//! calendar boundaries in Asia/Shanghai, money as yuan.

use crate::common::*;
use serde_json::Value;
use standup_tickets::model::Fen;
use standup_tickets::model::catalog::{ActiveStatus, EventStatus};
use standup_tickets::model::content::{AdminBanner, AdminMerch, BannerDraft, MerchDraft};
use standup_tickets::model::scope::TenantScope;
use standup_tickets::store::{content, tenants};

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn tenant_config_has_the_spec_shape() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let cfg = t.data("/api/tenants/dt").await;
    assert_eq!(cfg["id"], "dt");
    assert_eq!(cfg["name"], "俱乐部 dt");
    for k in ["primary", "accent", "bg", "text", "muted"] {
        assert!(cfg["theme"][k].as_str().unwrap().starts_with('#'), "{k}");
    }
    for k in ["enableCalendar", "enableMembership", "enableCoupon"] {
        assert!(cfg["features"][k].is_boolean(), "{k}");
    }
    // Optional fields are absent, not null.
    assert!(cfg.get("logo").is_none());

    t.expect_error("/api/tenants/nope", 404, "TENANT_NOT_FOUND")
        .await;
    t.expect_error("/api/tenants/DROP%20TABLE", 404, "TENANT_NOT_FOUND")
        .await;
    t.expect_error(
        &format!("/api/tenants/{}", "a".repeat(500)),
        404,
        "TENANT_NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn a_disabled_tenant_is_invisible_everywhere() {
    let t = TestApp::start().await;
    t.seed_tenant("gone").await;
    let ev = t
        .seed_event(show("gone", "停业前最后一场", days_from_today(3), "20:00"))
        .await;
    // Visible while active.
    t.data("/api/tenants/gone").await;
    t.data(&format!("/api/events/{}", ev.id)).await;

    t.write(|c| tenants::set_status(c, "gone", ActiveStatus::Disabled))
        .await;
    t.app.state.caches.catalog.invalidate();

    t.expect_error("/api/tenants/gone", 404, "TENANT_NOT_FOUND")
        .await;
    t.expect_error("/api/events/home?tenantId=gone", 404, "TENANT_NOT_FOUND")
        .await;
    t.expect_error("/api/events?tenantId=gone", 404, "TENANT_NOT_FOUND")
        .await;
    t.expect_error(
        "/api/events/calendar/2026/12?tenantId=gone",
        404,
        "TENANT_NOT_FOUND",
    )
    .await;
    t.expect_error(&format!("/api/events/{}", ev.id), 404, "EVENT_NOT_FOUND")
        .await;
}

#[tokio::test]
async fn event_detail_sorts_options_and_renders_yuan() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let mut e = show("dt", "专场", days_from_today(5), "19:30");
    e.options = vec![
        option("C", 19999, 10, 3),
        option("A", 8850, 10, 1),
        option("B", 8800, 10, 2),
    ];
    e.options[1].original_price = Some(Fen(1));
    e.performers = vec!["甲".into(), "乙".into()];
    let ev = t.seed_event(e).await;

    let d = t.data(&format!("/api/events/{}", ev.id)).await;
    for k in [
        "id",
        "tenantId",
        "title",
        "description",
        "city",
        "venue",
        "address",
        "eventDate",
        "eventTime",
        "duration",
        "totalSeats",
        "remainingSeats",
        "performers",
        "tags",
        "status",
        "priceOptions",
        "createdAt",
        "updatedAt",
    ] {
        assert!(d.get(k).is_some(), "missing {k}: {d}");
    }
    assert_eq!(d["eventTime"], "19:30");
    assert_eq!(d["status"], "onSale");
    assert_eq!(d["totalSeats"], 30);
    assert_eq!(d["remainingSeats"], 30);
    assert_eq!(d["performers"], serde_json::json!(["甲", "乙"]));
    let opts = d["priceOptions"].as_array().unwrap();
    let names: Vec<&str> = opts.iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["A", "B", "C"]);
    // 8850 fen -> 88.5; 8800 -> 88; 19999 -> 199.99; 1 -> 0.01
    assert_eq!(opts[0]["price"].to_string(), "88.5");
    assert_eq!(opts[0]["originalPrice"].to_string(), "0.01");
    assert_eq!(opts[1]["price"].to_string(), "88");
    assert_eq!(opts[2]["price"].to_string(), "199.99");
    assert!(opts[1].get("originalPrice").is_none());
    for o in opts {
        for k in [
            "id",
            "eventId",
            "name",
            "price",
            "totalCount",
            "remainingCount",
            "sortOrder",
            "status",
        ] {
            assert!(o.get(k).is_some(), "option missing {k}");
        }
        assert_eq!(o["eventId"], ev.id.as_str());
    }

    t.expect_error(
        "/api/events/01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        404,
        "EVENT_NOT_FOUND",
    )
    .await;
    t.expect_error("/api/events/'%20OR%201=1--", 404, "EVENT_NOT_FOUND")
        .await;
    t.expect_error(
        &format!("/api/events/{}", "x".repeat(1000)),
        404,
        "EVENT_NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn drafts_never_appear_publicly() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let d = days_from_today(4);
    let mut draft = show("dt", "草稿演出", d, "20:00");
    draft.status = EventStatus::Draft;
    draft.is_recommended = true;
    let draft = t.seed_event(draft).await;
    t.seed_event(show("dt", "公开演出", d, "21:00")).await;

    t.expect_error(&format!("/api/events/{}", draft.id), 404, "EVENT_NOT_FOUND")
        .await;
    let list = t.data("/api/events?tenantId=dt").await;
    assert_eq!(titles(&list["items"]), ["公开演出"]);
    assert_eq!(list["total"], 1);
    let home = t.data("/api/events/home?tenantId=dt").await;
    assert_eq!(titles(&home["upcoming"]), ["公开演出"]);
    assert!(home["recommended"].as_array().unwrap().is_empty());
    let cal = t
        .data(&format!(
            "/api/events/calendar/{}?tenantId=dt",
            d.format("%Y/%-m")
        ))
        .await;
    assert_eq!(titles(&cal[d.format("%Y-%m-%d").to_string()]), ["公开演出"]);
    t.expect_error(
        "/api/events?tenantId=dt&status=draft",
        400,
        "VALIDATION_FAILED",
    )
    .await;
}

#[tokio::test]
async fn home_has_all_sections() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let mut rec = show("dt", "推荐专场", days_from_today(10), "19:30");
    rec.is_recommended = true;
    t.seed_event(rec).await;
    t.seed_event(show("dt", "明天的开放麦", days_from_today(1), "20:00"))
        .await;
    let mut soon = show("dt", "即将开售", days_from_today(30), "19:30");
    soon.status = EventStatus::Upcoming;
    soon.sale_start_at = Some(standup_tickets::model::time::now_ms() + 86_400_000);
    t.seed_event(soon).await;
    t.seed_event(show("dt", "上周的演出", days_from_today(-7), "20:00"))
        .await;
    let mut cancelled = show("dt", "取消的演出", days_from_today(2), "20:00");
    cancelled.status = EventStatus::Cancelled;
    t.seed_event(cancelled).await;
    t.write(|c| {
        content::insert::<AdminBanner>(
            c,
            &TenantScope::vouched("dt"),
            &BannerDraft {
                title: "横幅".into(),
                image: "https://img.example.com/b.png".into(),
                link: None,
                event_id: None,
                sort_order: 0,
                starts_at: None,
                ends_at: None,
                status: ActiveStatus::Active,
            },
        )?;
        content::insert::<AdminMerch>(
            c,
            &TenantScope::vouched("dt"),
            &MerchDraft {
                name: "T 恤".into(),
                description: None,
                image: None,
                price: Fen(12850),
                original_price: None,
                link: None,
                sort_order: 0,
                status: ActiveStatus::Active,
            },
        )
    })
    .await;
    t.app.state.caches.catalog.invalidate();

    let home = t.data("/api/events/home?tenantId=dt").await;
    assert_eq!(
        titles(&home["upcoming"]),
        ["明天的开放麦", "推荐专场", "即将开售"],
        "soonest first; past and cancelled shows excluded"
    );
    assert_eq!(titles(&home["recommended"]), ["推荐专场"]);
    assert_eq!(titles(&home["upcomingSale"]), ["即将开售"]);
    assert_eq!(home["banners"][0]["title"], "横幅");
    assert_eq!(home["merch"][0]["price"].to_string(), "128.5");
    // Shows in home carry their price options (loaded in one query).
    assert_eq!(
        home["upcoming"][0]["priceOptions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        home["recommended"][0]["priceOptions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    t.expect_error("/api/events/home", 400, "VALIDATION_FAILED")
        .await;
    t.expect_error("/api/events/home?tenantId=", 400, "VALIDATION_FAILED")
        .await;
    t.expect_error("/api/events/home?tenantId=nope", 404, "TENANT_NOT_FOUND")
        .await;
}

#[tokio::test]
async fn calendar_groups_by_the_clubs_local_date() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    // 23:30 on Dec 31 and 00:30 on Jan 1 in Shanghai: the second is still Dec 31
    // in UTC, but belongs to January on the club's calendar.
    t.seed_event(show("dt", "跨年前", date("2026-12-31"), "23:30"))
        .await;
    let newyear = t
        .seed_event(show("dt", "新年第一场", date("2027-01-01"), "00:30"))
        .await;
    t.seed_event(show("dt", "十二月初", date("2026-12-01"), "00:00"))
        .await;
    t.seed_event(show("dt", "十一月末", date("2026-11-30"), "23:59"))
        .await;

    let dec = t.data("/api/events/calendar/2026/12?tenantId=dt").await;
    let keys: Vec<&String> = dec.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["2026-12-01", "2026-12-31"]);
    assert_eq!(titles(&dec["2026-12-31"]), ["跨年前"]);
    let jan = t.data("/api/events/calendar/2027/1?tenantId=dt").await;
    assert_eq!(titles(&jan["2027-01-01"]), ["新年第一场"]);
    assert_eq!(jan.as_object().unwrap().len(), 1);
    let detail = t.data(&format!("/api/events/{}", newyear.id)).await;
    assert_eq!(detail["startsAt"], "2026-12-31T16:30:00.000Z");
    assert_eq!(detail["eventDate"], "2027-01-01");
    // Zero-padded month works too; an empty month is an empty object.
    let jan2 = t.data("/api/events/calendar/2027/01?tenantId=dt").await;
    assert_eq!(jan2, jan);
    assert_eq!(
        t.data("/api/events/calendar/2027/2?tenantId=dt").await,
        serde_json::json!({})
    );

    for bad in [
        "2026/13",
        "2026/0",
        "abc/1",
        "2026/x",
        "99999999999/1",
        "1999/5",
        "2026/-1",
    ] {
        t.expect_error(
            &format!("/api/events/calendar/{bad}?tenantId=dt"),
            400,
            "VALIDATION_FAILED",
        )
        .await;
    }
    t.expect_error("/api/events/calendar/2026/12", 400, "VALIDATION_FAILED")
        .await;
}

#[tokio::test]
async fn list_paginates_and_filters() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    t.seed_tenant("other").await;
    for i in 0..25 {
        let mut e = show(
            "dt",
            &format!("演出{i:02}"),
            days_from_today(1 + i),
            "20:00",
        );
        if i % 5 == 0 {
            e.status = EventStatus::SoldOut;
        }
        if i == 3 {
            e.city = "北京".into();
            e.title = "100%_真实 <b>爆笑</b>".into();
        }
        t.seed_event(e).await;
    }
    t.seed_event(show("other", "别家的演出", days_from_today(2), "20:00"))
        .await;
    t.seed_event(show("dt", "昨天的演出", days_from_today(-1), "20:00"))
        .await;

    let p1 = t.data("/api/events?tenantId=dt").await;
    assert_eq!(p1["total"], 25, "past show and other tenant excluded");
    assert_eq!(p1["page"], 1);
    assert_eq!(p1["pageSize"], 10);
    assert_eq!(p1["totalPages"], 3);
    assert_eq!(p1["items"].as_array().unwrap().len(), 10);
    assert_eq!(p1["items"][0]["title"], "演出00");

    let p3 = t.data("/api/events?tenantId=dt&page=3&pageSize=10").await;
    assert_eq!(p3["items"].as_array().unwrap().len(), 5);
    assert_eq!(p3["items"][4]["title"], "演出24");
    let past_end = t.data("/api/events?tenantId=dt&page=4").await;
    assert_eq!(past_end["items"], serde_json::json!([]));
    assert_eq!(past_end["total"], 25);
    let big = t.data("/api/events?tenantId=dt&pageSize=100").await;
    assert_eq!(big["items"].as_array().unwrap().len(), 25);
    assert_eq!(big["totalPages"], 1);

    for bad in [
        "pageSize=0",
        "pageSize=101",
        "pageSize=-1",
        "page=0",
        "page=-5",
        "page=abc",
        "page=1.5",
        "pageSize=99999999999999999999",
        "status=ONSALE",
        "status=%27%3B--",
        "date=2026-13-01",
        "date=tomorrow",
    ] {
        t.expect_error(
            &format!("/api/events?tenantId=dt&{bad}"),
            400,
            "VALIDATION_FAILED",
        )
        .await;
    }
    let long = "长".repeat(51);
    t.expect_error(
        &format!("/api/events?tenantId=dt&keyword={long}"),
        400,
        "VALIDATION_FAILED",
    )
    .await;
    t.expect_error("/api/events", 400, "VALIDATION_FAILED")
        .await;
    t.expect_error("/api/events?tenantId=nope", 404, "TENANT_NOT_FOUND")
        .await;

    let sold = t
        .data("/api/events?tenantId=dt&status=soldOut&pageSize=100")
        .await;
    assert_eq!(sold["total"], 5);
    assert!(
        sold["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "soldOut")
    );

    let day = days_from_today(4).format("%Y-%m-%d").to_string();
    let on_day = t.data(&format!("/api/events?tenantId=dt&date={day}")).await;
    assert_eq!(on_day["total"], 1);
    assert_eq!(on_day["items"][0]["eventDate"], day.as_str());
    // An explicit past date shows that day's history.
    let yesterday = days_from_today(-1).format("%Y-%m-%d").to_string();
    let past = t
        .data(&format!("/api/events?tenantId=dt&date={yesterday}"))
        .await;
    assert_eq!(titles(&past["items"]), ["昨天的演出"]);

    let bj = t
        .data("/api/events?tenantId=dt&city=%E5%8C%97%E4%BA%AC")
        .await;
    assert_eq!(bj["total"], 1);
    // LIKE wildcards in a keyword are literal; HTML comes back as data, untouched.
    let kw = t.data("/api/events?tenantId=dt&keyword=100%25_").await;
    assert_eq!(titles(&kw["items"]), ["100%_真实 <b>爆笑</b>"]);
    let percent = t.data("/api/events?tenantId=dt&keyword=%25").await;
    assert_eq!(
        titles(&percent["items"]),
        ["100%_真实 <b>爆笑</b>"],
        "a bare % must not match everything"
    );
    let inj = t
        .data("/api/events?tenantId=dt&keyword=%27%20OR%201%3D1%20--")
        .await;
    assert_eq!(inj["total"], 0);
    let performer = t
        .data("/api/events?tenantId=dt&keyword=%E6%BC%94%E5%91%98%E7%94%B2")
        .await;
    assert_eq!(performer["total"], 25, "keyword matches performers");
    // Unknown parameters are ignored (mini-programs add cache busters).
    t.data("/api/events?tenantId=dt&_t=123").await;
}

#[tokio::test]
async fn remaining_counts_are_never_staler_than_a_second() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let ev = t
        .seed_event(show("dt", "热门", days_from_today(3), "20:00"))
        .await;
    let path = format!("/api/events/{}", ev.id);
    assert_eq!(t.data(&path).await["remainingSeats"], 120);
    let list_path = "/api/events?tenantId=dt";
    assert_eq!(t.data(list_path).await["items"][0]["remainingSeats"], 120);

    // A write this process's cache does not hear about (another process, the CLI).
    let id = ev.id.clone();
    let opt = ev.option_ids[0].clone();
    t.write(move |c| {
        c.execute(
            "UPDATE price_options SET remaining_count = remaining_count - 7 WHERE id = ?1",
            [&opt],
        )?;
        c.execute(
            "UPDATE events SET remaining_seats = remaining_seats - 7 WHERE id = ?1",
            [&id],
        )?;
        Ok(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let d = t.data(&path).await;
    assert_eq!(d["remainingSeats"], 113);
    assert_eq!(d["priceOptions"][0]["remainingCount"], 93);
    assert_eq!(t.data(list_path).await["items"][0]["remainingSeats"], 113);
}

#[tokio::test]
async fn envelope_and_fallbacks() {
    let t = TestApp::start().await;
    let res = t
        .client
        .get(t.url("/api/nothing/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(res.headers().contains_key("x-request-id"));
    t.expect_error("/api/nothing/here", 404, "NOT_FOUND").await;
    t.expect_error("/", 404, "NOT_FOUND").await;

    let res = t.client.delete(t.url("/api/events")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "METHOD_NOT_ALLOWED");

    // A caller's request id is kept, so logs can be correlated end to end.
    let res = t
        .client
        .get(t.url("/healthz"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");
    let body: Value = res.json().await.unwrap();
    assert_envelope(&body, 200);
    assert_eq!(body["data"]["status"], "ok");
}
