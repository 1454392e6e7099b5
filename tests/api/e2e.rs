//! A club's night, end to end, in a real headless Chromium against the real
//! binary (`standup-tickets` started on a temporary data dir, as a club
//! runs it): sign in, create a show with two price options and an uploaded
//! poster, publish it, buyers pay (dev mode), refund one order in 订单,
//! check tickets in on 检票 (the second time says 已检票), lose the network,
//! scan from the door pack, come back and see the scan synced, and see 概览
//! change. A show titled with markup is text on every page that lists it.
//! Every page is loaded at 375 and 1440 px with no console error; the
//! screenshots go to `target/screenshots/`. Skipped as `browser.rs` says.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::json;

use crate::browser::{Browser, Network, browser};
use crate::common::binary::Binary;

const CLUB: &str = "night";
const PASSWORD: &str = "a-long-door-password";
const XSS: &str = "<img src=x onerror=alert(1)>";
/// docs/API.md's door-pack vector: a door key, a code, and its digest.
const VECTOR_KEY: &str = "D1R0u3x5Abnj97FvluEKmh3BSJHqu0iFSHf3kUcOI48";
const VECTOR_CODE: &str = "ST1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA";
const VECTOR_DIGEST: &str = "-cz7qbQCwkiCT6gSo6tJlA";

/// A zone where it is late morning now, so tonight's 20:00 show is today
/// wherever and whenever the test runs.
fn late_morning_zone() -> (String, chrono::FixedOffset) {
    use chrono::Timelike;
    let hour = chrono::Utc::now().hour() as i32;
    let mut east = 11 - hour;
    if east < -12 {
        east += 24;
    }
    if east > 14 {
        east -= 24;
    }
    // POSIX-style names: Etc/GMT-8 is eight hours east of UTC.
    let name = match east {
        0 => "Etc/GMT".to_string(),
        e if e > 0 => format!("Etc/GMT-{e}"),
        e => format!("Etc/GMT+{}", -e),
    };
    (name, chrono::FixedOffset::east_opt(east * 3600).unwrap())
}

impl Browser {
    async fn go(&self, base: &str, path: &str) {
        self.client.goto(&format!("{base}{path}")).await.unwrap();
    }

    async fn set(&self, css: &str, value: &str) {
        self.client
            .execute(
                "const el = document.querySelector(arguments[0]); el.value = arguments[1]; \
                 el.dispatchEvent(new Event('input', {bubbles: true})); \
                 el.dispatchEvent(new Event('change', {bubbles: true}));",
                vec![json!(css), json!(value)],
            )
            .await
            .unwrap();
    }

    async fn upload(&self, css: &str, file: &std::path::Path) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(file.to_str().unwrap())
            .await
            .unwrap();
    }

    /// The title shows as text, and no element came from it.
    async fn shows_as_text(&self, page: &str) {
        let ok = self
            .until(
                page,
                &format!(
                    "document.body.innerText.includes({XSS:?}) && !document.querySelector('img[src=\"x\"]')"
                ),
            )
            .await;
        assert_eq!(ok, true, "{page}");
    }

    /// Both widths, screenshots, and nothing in the console.
    async fn both_widths(&self, name: &str, expected: &[&str]) {
        for (w, h) in [(375, 740), (1440, 900)] {
            self.size(w, h).await;
            tokio::time::sleep(Duration::from_millis(150)).await;
            self.shot(&format!("{name}-{w}")).await;
        }
        self.assert_clean(name, expected).await;
    }
}

fn png(path: &std::path::Path, w: u32, h: u32, rgb: [u8; 3]) {
    image::RgbImage::from_pixel(w, h, image::Rgb(rgb))
        .save(path)
        .unwrap();
}

#[tokio::test]
async fn a_club_runs_a_night_from_the_console() {
    let Some(b) = browser().await else {
        return;
    };
    let (zone, offset) = late_morning_zone();
    let bin = Binary::new().env("APP_TIMEZONE", &zone);
    bin.club(CLUB, "夜猫喜剧", PASSWORD);
    let s = bin.serve().await;
    let base = s.base.clone();
    let today = chrono::Utc::now()
        .with_timezone(&offset)
        .date_naive()
        .to_string();
    let files = tempfile::tempdir().unwrap();
    let poster = files.path().join("poster.png");
    png(&poster, 300, 400, [40, 40, 120]);

    // 登录
    b.go(&base, "/admin/").await;
    b.fill("#login-club", CLUB).await;
    b.fill("#login-user", "boss").await;
    b.fill("#login-pass", PASSWORD).await;
    b.click("#login-submit").await;
    assert_eq!(b.text("main.page h1").await, "概览");
    let before = b.text("#stats-cards").await;

    // The door's own HMAC (crypto.subtle is missing on plain-http origins)
    // gives docs/API.md's test vector.
    let digest = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             import('/admin/js/hmac.js').then((m) => done(m.doorDigest(arguments[0], arguments[1])));",
            vec![json!(VECTOR_KEY), json!(VECTOR_CODE)],
        )
        .await
        .unwrap();
    assert_eq!(digest, VECTOR_DIGEST);

    // 演出 → 新建: a missing city is refused next to its field.
    b.go(&base, "/admin/events").await;
    assert!(b.text("#events-list").await.contains("还没有演出"));
    b.click("#events-new").await;
    assert_eq!(b.text("main.page h1").await, "新建演出");
    b.both_widths("event-new", &[]).await;
    b.fill("#ev-title", XSS).await;
    b.upload("#ev-poster-file", &poster).await;
    b.until(
        "poster uploaded",
        "document.getElementById('ev-poster').value.startsWith('/static/')",
    )
    .await;
    b.set("#ev-date", &today).await;
    b.set("#ev-time", "20:00").await;
    b.fill("#ev-venue", "地下室剧场").await;
    b.fill("#ev-address", "长乐路 1 号").await;
    let opt = |n: usize, label: &str| {
        format!("#event-options fieldset:nth-of-type({n}) input[aria-label='{label}']")
    };
    b.fill(&opt(1, "票档名称"), "普通").await;
    b.fill(&opt(1, "价格（元）"), "88").await;
    b.fill(&opt(1, "数量"), "50").await;
    b.click("#event-add-option").await;
    b.fill(&opt(2, "票档名称"), "前排").await;
    b.fill(&opt(2, "价格（元）"), "188.5").await;
    b.fill(&opt(2, "数量"), "10").await;
    // 前排 first: moved up with its button.
    b.click("#event-options fieldset:nth-of-type(2) .option-actions button:nth-child(1)")
        .await;
    b.click("#event-save-publish").await;
    b.until(
        "city refused",
        "document.getElementById('ev-city-error').textContent",
    )
    .await;
    b.fill("#ev-city", "上海").await;
    b.click("#event-save-publish").await;
    assert_eq!(b.text("#event-title").await, XSS);
    let url = b.client.current_url().await.unwrap();
    let event = url.path().trim_start_matches("/admin/events/").to_string();
    b.shows_as_text("show page").await;
    assert!(b.text("#event-sales").await.contains("前排"));
    b.both_widths(
        "event",
        &["/api/admin/events - Failed to load resource: the server responded with a status of 400"],
    )
    .await;

    // Published: the mini-program lists it, poster and both options.
    let public = s.get(&format!("/api/events?tenantId={CLUB}"), None).await;
    let listed = &public["items"][0];
    assert_eq!(listed["title"], XSS);
    assert!(
        listed["poster"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/static/{CLUB}/"))
    );
    let detail = s.get(&format!("/api/events/{event}"), None).await;
    let options = detail["priceOptions"].as_array().unwrap();
    assert_eq!(options.len(), 2);
    assert_eq!(options[0]["name"], "前排", "the order set in the form");
    assert_eq!(options[1]["price"], 88.0);
    let normal = options[1]["id"].as_str().unwrap().to_string();

    // Two buyers pay: one ticket to refund, two to check in.
    let refund_me = s.buy(CLUB, "小李", "13900000001", &event, &normal, 1).await;
    let door = s.buy(CLUB, "小王", "13900000002", &event, &normal, 2).await;
    let refund_id = refund_me["id"].as_str().unwrap().to_string();
    let codes: Vec<String> = door["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["qrCode"].as_str().unwrap().to_string())
        .collect();
    let refunded_code = refund_me["tickets"][0]["qrCode"]
        .as_str()
        .unwrap()
        .to_string();

    // 订单: found by phone, refunded with a reason.
    b.go(&base, "/admin/orders").await;
    b.shows_as_text("orders").await;
    b.fill("#orders-keyword", "13900000001").await;
    b.until(
        "the filter",
        "document.querySelectorAll('#orders-list a.order-link').length === 1",
    )
    .await;
    // 导出 CSV of this filter: fetched with the token, saved by the browser.
    b.click("#orders-export").await;
    b.until(
        "exported",
        "document.querySelector('#orders-status-line .notice')?.textContent.startsWith('已导出 orders-')",
    )
    .await;
    b.both_widths("orders", &[]).await;
    b.click("#orders-list a.order-link").await;
    assert!(b.text("main.page h1").await.contains(&refund_id));
    b.shows_as_text("order page").await;
    b.click("#order-refund").await;
    assert!(b.text("#refund-summary").await.contains("¥88.00"));
    b.click("#refund-confirm").await;
    b.until(
        "a reason is required",
        "document.getElementById('refund-reason-error').textContent",
    )
    .await;
    b.fill("#refund-reason", "观众临时有事").await;
    b.click("#refund-confirm").await;
    assert_eq!(b.text("#order-status-line .notice").await, "退款已提交");
    b.both_widths(
        "order",
        &["/refund - Failed to load resource: the server responded with a status of 400"],
    )
    .await;
    let owner = s.owner(CLUB, PASSWORD).await;
    let t0 = Instant::now();
    loop {
        let o = s
            .get(&format!("/api/admin/orders/{refund_id}"), Some(&owner))
            .await;
        if o["status"] == "refunded" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "not refunded: {o}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 检票: typed as a handheld types; a second try says 已检票.
    b.go(&base, "/admin/door").await;
    b.shows_as_text("door").await;
    b.until(
        "the pack",
        "document.getElementById('door-count').textContent.includes('已售 2')",
    )
    .await;
    assert_eq!(b.answer(&codes[0]).await, (true, "检票成功".into()));
    let (ok, again) = b.answer(&codes[0]).await;
    assert!(!ok && again.starts_with("已检票"), "{again}");
    let (ok, void) = b.answer(&refunded_code).await;
    assert!(!ok && void.contains("退款"), "{void}");
    b.both_widths(
        "door",
        &["/api/admin/checkin - Failed to load resource: the server responded with a status of 409"],
    )
    .await;

    // No network: decided from the pack, queued.
    b.client.issue_cmd(Network { offline: true }).await.unwrap();
    assert_eq!(b.answer(&codes[1]).await, (true, "检票成功（离线）".into()));
    assert_eq!(b.text("#door-offline").await, "离线 · 1 条待同步");
    let (ok, again) = b.answer(&codes[1]).await;
    assert!(!ok && again.starts_with("已检票"), "{again}");
    assert_eq!(b.answer(&refunded_code).await, (false, "无效票码".into()));
    let count = s
        .get(&format!("/api/admin/events/{event}/checkins"), Some(&owner))
        .await;
    assert_eq!(count["checkedIn"], 1, "nothing reached the server yet");
    b.both_widths("door-offline", &["ERR_INTERNET_DISCONNECTED"])
        .await;

    // Back online: the queue goes up by itself.
    b.client
        .issue_cmd(Network { offline: false })
        .await
        .unwrap();
    b.until(
        "synced",
        "(document.getElementById('door-sync').textContent || '').includes('已同步')",
    )
    .await;
    assert!(b.text("#door-sync").await.contains("1 张入场"));
    b.until(
        "badge gone",
        "document.getElementById('door-offline').hidden",
    )
    .await;
    let count = s
        .get(&format!("/api/admin/events/{event}/checkins"), Some(&owner))
        .await;
    assert_eq!(count["checkedIn"], 2);
    b.assert_clean("door back online", &["ERR_INTERNET_DISCONNECTED"])
        .await;

    // 概览 has moved: two paid orders' money, one refunded.
    b.go(&base, "/admin/").await;
    b.until("stats", "document.getElementById('stats-cards')")
        .await;
    let after = b.text("#stats-cards").await;
    assert_ne!(before, after);
    assert!(after.contains("¥176.00"), "{after}");
    b.shows_as_text("overview").await;
    b.both_widths("overview-night", &[]).await;

    // 演出 list and the edit form: the title as text.
    b.go(&base, "/admin/events").await;
    b.shows_as_text("events").await;
    b.both_widths("events", &[]).await;
    b.go(&base, &format!("/admin/events/{event}/edit")).await;
    b.until("form", "document.getElementById('ev-title')").await;
    let title = b
        .client
        .execute("return document.getElementById('ev-title').value", vec![])
        .await
        .unwrap();
    assert_eq!(title, XSS);
    b.both_widths("event-edit", &[]).await;

    // 首页内容: a banner with an uploaded image; merch reordered.
    let banner = files.path().join("banner.png");
    png(&banner, 750, 300, [200, 60, 40]);
    b.go(&base, "/admin/content").await;
    b.click("#banners-add").await;
    b.upload("#banner-image-file", &banner).await;
    b.until(
        "banner image",
        "document.getElementById('banner-image').value.startsWith('/static/')",
    )
    .await;
    b.fill("#banner-title", "周五夜场").await;
    b.click("#banners-form button[type=submit]").await;
    b.until(
        "banner listed",
        "document.querySelector('#content-banners .item-title')?.textContent === '周五夜场'",
    )
    .await;
    for (name, price) in [("帆布袋", "39"), ("T 恤", "99")] {
        b.click("#merch-add").await;
        b.fill("#merch-name", name).await;
        b.fill("#merch-price", price).await;
        b.click("#merch-form button[type=submit]").await;
        b.until(
            "merch listed",
            &format!("document.querySelector('#content-merch').textContent.includes('{name}')"),
        )
        .await;
    }
    b.click("#content-merch li:first-child .item-actions button:nth-child(2)")
        .await;
    b.until(
        "saved",
        "document.querySelector('#content-merch .notice')?.textContent === '顺序已保存'",
    )
    .await;
    let merch = s.get("/api/admin/merch", Some(&owner)).await;
    assert_eq!(merch[0]["name"], "T 恤");
    let home = s
        .get(&format!("/api/events/home?tenantId={CLUB}"), None)
        .await;
    assert_eq!(home["banners"][0]["title"], "周五夜场");
    b.both_widths("content", &[]).await;

    // 复制到下周, 发布, then 取消演出: the confirmation counts the paid
    // orders, and the page follows their refunds.
    b.go(&base, &format!("/admin/events/{event}")).await;
    b.click("#event-duplicate").await;
    b.click("#dup-form button[type=submit]").await;
    b.until("the copy's form", "location.pathname.endsWith('/edit')")
        .await;
    let url = b.client.current_url().await.unwrap();
    let copy = url
        .path()
        .trim_start_matches("/admin/events/")
        .trim_end_matches("/edit")
        .to_string();
    assert_ne!(copy, event);
    b.go(&base, &format!("/admin/events/{copy}")).await;
    assert_eq!(b.text(".title-row .badge").await, "草稿");
    b.click("#event-publish").await;
    b.until(
        "published",
        "document.querySelector('.title-row .badge')?.textContent === '售票中'",
    )
    .await;
    let detail = s.get(&format!("/api/events/{copy}"), None).await;
    let option = detail["priceOptions"][1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let next_week = s.buy(CLUB, "老张", "13900000003", &copy, &option, 2).await;
    b.go(&base, &format!("/admin/events/{copy}")).await;
    b.click("#event-cancel").await;
    assert!(
        b.text("#cancel-count").await.contains("1 个已支付订单"),
        "the confirmation says what will happen"
    );
    b.fill("#cancel-reason", "演员生病，改期另行通知").await;
    b.click("#cancel-confirm").await;
    b.until(
        "refunded",
        "document.getElementById('event-refunds')?.textContent.includes('已退款 1 / 1')",
    )
    .await;
    assert_eq!(b.text(".title-row .badge").await, "已取消");
    b.both_widths("event-cancelled", &[]).await;
    let o = s
        .get(
            &format!("/api/admin/orders/{}", next_week["id"].as_str().unwrap()),
            Some(&owner),
        )
        .await;
    assert_eq!(o["status"], "refunded");
    let first = s.get(&format!("/api/events/{event}"), None).await;
    assert_eq!(first["status"], "onSale", "the original show is untouched");

    // The rest of the pages at both widths.
    for (path, h1) in [
        ("team", "员工"),
        ("settings", "设置"),
        ("audit", "操作日志"),
    ] {
        b.go(&base, &format!("/admin/{path}")).await;
        assert_eq!(b.text("main.page h1").await, h1);
        b.both_widths(path, &[]).await;
    }
    b.client.clone().close().await.unwrap();
}
