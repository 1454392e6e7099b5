//! Two door devices, as two stewards' phones: two real Chromium sessions
//! (each its own profile, so its own IndexedDB and device id) on 检票 for
//! the same show. A ticket any door has seen is never let in twice by
//! another while both were online a moment before, and a ticket nobody
//! scanned, let in offline by both, is one entry once they sync. Skipped as
//! `browser.rs` says.

use std::time::Duration;

use standup_tickets::model::admins::AdminRole;

use crate::browser::{Browser, Network, browser};
use crate::common::admin::{admin_token, create_show, date_today, owner_token, paid_order};
use crate::common::*;

async fn sign_in_at_the_door(b: &Browser, t: &TestApp, username: &str) {
    b.client.goto(&t.url("/admin/")).await.unwrap();
    b.fill("#login-club", "dt").await;
    b.fill("#login-user", username).await;
    b.fill("#login-pass", "admin-pass-123").await;
    b.click("#login-submit").await;
    // A steward's console opens on the door (which draws its heading twice:
    // while it loads tonight's shows, and with them).
    b.until(
        "signed in, on the door",
        "document.querySelector('main.page h1')?.textContent === '检票'",
    )
    .await;
    b.client.goto(&t.url("/admin/door")).await.unwrap();
    b.until(
        "the pack",
        "document.getElementById('door-count')?.textContent.includes('已售 3')",
    )
    .await;
}

async fn network(b: &Browser, offline: bool) {
    b.client.issue_cmd(Network { offline }).await.unwrap();
}

/// Entries the server has (scans that let a ticket in).
async fn entries(t: &TestApp) -> i64 {
    t.write(|c| {
        Ok(c.query_row(
            "SELECT COUNT(*) FROM checkins WHERE state = 'in'",
            [],
            |r| r.get::<_, i64>(0),
        )?)
    })
    .await
}

async fn count(b: &Browser) -> String {
    b.text("#door-count").await
}

#[tokio::test]
async fn two_doors_never_let_one_ticket_in_twice() {
    let Some(a) = browser().await else {
        return;
    };
    let Some(b) = browser().await else {
        return;
    };
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    admin_token(&t, "dt", "door.a", AdminRole::Staff).await;
    admin_token(&t, "dt", "door.b", AdminRole::Staff).await;
    let show = create_show(&t, &owner, crate::common::admin::show_body(3)).await;
    let (event, option) = (
        show["id"].as_str().unwrap().to_string(),
        show["priceOptions"][0]["id"].as_str().unwrap().to_string(),
    );
    date_today(&t, &event).await;
    let (_, x) = paid_order(&t, "buyer-x", "dt", &event, &option, 1).await;
    let (_, y) = paid_order(&t, "buyer-y", "dt", &event, &option, 1).await;
    let (_, z) = paid_order(&t, "buyer-z", "dt", &event, &option, 1).await;
    let (x, y, z) = (&x[0], &y[0], &z[0]);
    sign_in_at_the_door(&a, &t, "door.a").await;
    sign_in_at_the_door(&b, &t, "door.b").await;

    // A lets X in online; 3 s later B loses the network: the badge shows at
    // once, and B refuses X with A's time and name.
    assert_eq!(a.answer(x).await, (true, "检票成功".into()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    network(&b, true).await;
    let went = std::time::Instant::now();
    b.until(
        "B's offline badge, before any scan",
        "!document.getElementById('door-offline').hidden \
         && document.getElementById('door-offline').textContent.startsWith('离线')",
    )
    .await;
    // From the browser's `offline` event, not a failed poll (every 2 s).
    let why = b
        .client
        .execute(
            "return document.getElementById('door-offline').dataset.since",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(why, "event", "after {:?}", went.elapsed());
    let online = b
        .client
        .execute("return navigator.onLine", vec![])
        .await
        .unwrap();
    assert_eq!(online, false);
    assert_eq!(count(&b).await, "已入场 1 / 已售 3", "B knows of X");
    let (ok, title) = b.answer(x).await;
    assert!(
        !ok && title.starts_with("已检票") && title.contains("door.a"),
        "{title}"
    );
    let used_at: String = t
        .write({
            let x = x.clone();
            move |c| {
                Ok(c.query_row(
                    "SELECT used_at FROM tickets WHERE qr_code = ?1",
                    [&x],
                    |r| r.get::<_, i64>(0),
                )?)
            }
        })
        .await
        .to_string();
    let hm = chrono::DateTime::from_timestamp_millis(used_at.parse().unwrap())
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%H:%M")
        .to_string();
    assert!(title.contains(&hm), "A's time {hm} in {title}");

    // A loses the network too: its own online scan is in its pack.
    network(&a, true).await;
    a.until(
        "A's offline badge",
        "!document.getElementById('door-offline').hidden",
    )
    .await;
    assert_eq!(count(&a).await, "已入场 1 / 已售 3", "the count holds");
    let (ok, title) = a.answer(x).await;
    assert!(!ok && title.starts_with("已检票"), "{title}");

    // Y, which nobody scanned: let in offline by both.
    assert_eq!(a.answer(y).await, (true, "检票成功（离线）".into()));
    assert_eq!(count(&a).await, "已入场 2 / 已售 3");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(b.answer(y).await, (true, "检票成功（离线）".into()));
    assert_eq!(count(&b).await, "已入场 2 / 已售 3");
    assert_eq!(entries(&t).await, 1, "nothing reached the server yet");

    // Back online, A first: the sync reports one entry for Y in all.
    network(&a, false).await;
    a.until(
        "A synced",
        "(document.getElementById('door-sync').textContent || '').includes('已同步')",
    )
    .await;
    assert!(a.text("#door-sync").await.contains("已同步：1 张入场"));
    network(&b, false).await;
    b.until(
        "B synced",
        "(document.getElementById('door-sync').textContent || '').includes('已同步')",
    )
    .await;
    let report = b.text("#door-sync").await;
    assert!(
        report.contains("已同步：0 张入场") && report.contains("1 张重复"),
        "{report}"
    );
    assert_eq!(entries(&t).await, 2, "X once and Y once");
    let door = t
        .get_as(&format!("/api/admin/events/{event}/checkins"), &owner)
        .await;
    assert_eq!(door.data()["checkedIn"], 2);
    t.write(|c| {
        standup_tickets::store::checkin::check_door_invariants(c)?
            .map_err(standup_tickets::store::StoreError::Migration)?;
        Ok(())
    })
    .await;

    // Both online again learn each other's entries within 3 s: B lets Z in,
    // A refuses it.
    assert_eq!(b.answer(z).await, (true, "检票成功".into()));
    a.until(
        "A learns Z",
        "document.getElementById('door-count').textContent === '已入场 3 / 已售 3'",
    )
    .await;
    let (ok, title) = a.answer(z).await;
    assert!(!ok && title.starts_with("已检票"), "{title}");
    for (br, name) in [(&a, "door-a"), (&b, "door-b")] {
        br.size(375, 740).await;
        br.shot(&format!("{name}-375")).await;
        br.assert_clean(
            name,
            &[
                "ERR_INTERNET_DISCONNECTED",
                "/api/admin/checkin - Failed to load resource: the server responded with a status of 409",
            ],
        )
        .await;
    }
}
