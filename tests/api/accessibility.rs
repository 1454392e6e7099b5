//! The console for everyone: axe-core (npm) runs inside the real Chromium on
//! every page at a phone's width and a desk's, with data on them, and finds
//! no serious or critical violation. Needs Chromium (as `browser.rs` says)
//! and axe-core: `npm install --prefix target/axe axe-core@4` (as `.ci/run`
//! does), or `AXE_CORE_JS` naming `axe.min.js`; without it the test says so
//! and passes, unless `REQUIRE_BROWSER=1`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use standup_tickets::model::admins::AdminRole;

use crate::browser::{Browser, browser};
use crate::common::admin::{
    admin_token, create_show, date_today, owner_token, paid_order, show_body,
};
use crate::common::*;

fn axe_source() -> Option<String> {
    let path = std::env::var("AXE_CORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/axe/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).ok()
}

/// The serious and critical violations on the page now, one line each.
async fn violations(b: &Browser, axe: &str) -> Vec<String> {
    b.client.execute(axe, vec![]).await.unwrap();
    let found = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, {resultTypes: ['violations']}) \
               .then((r) => done(r.violations \
                 .filter((v) => v.impact === 'serious' || v.impact === 'critical') \
                 .map((v) => v.impact + ' ' + v.id + ': ' + v.nodes.length + ' × ' \
                   + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')))) \
               .catch((e) => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap_or_default()
}

/// Table cells of money, a number, a date or a time that run over more than
/// one line.
async fn broken_numbers(b: &Browser) -> Vec<String> {
    let found = b
        .client
        .execute(
            "return [...document.querySelectorAll('td')] \
               .filter((td) => /^[¥\\d][\\d.,:\\- ¥]*$/.test(td.textContent.trim())) \
               .filter((td) => { const r = document.createRange(); r.selectNodeContents(td); \
                 const lines = new Set([...r.getClientRects()].map((x) => Math.round(x.top))); \
                 return lines.size > 1; }) \
               .map((td) => td.textContent.trim());",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap_or_default()
}

#[tokio::test]
async fn every_console_page_passes_axe_at_both_widths() {
    let Some(b) = browser().await else {
        return;
    };
    let Some(axe) = axe_source() else {
        let how =
            "the accessibility test needs axe-core: npm install --prefix target/axe axe-core@4";
        assert!(
            !std::env::var("REQUIRE_BROWSER").is_ok_and(|v| v == "1"),
            "REQUIRE_BROWSER=1 but {how}"
        );
        eprintln!("skipped: {how}");
        return;
    };
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    admin_token(&t, "dt", "boss", AdminRole::Owner).await;
    admin_token(&t, "dt", "door.li", AdminRole::Staff).await;
    let owner = owner_token(&t, "dt").await;
    let show = create_show(&t, &owner, show_body(3)).await;
    let (event, option) = (
        show["id"].as_str().unwrap().to_string(),
        show["priceOptions"][0]["id"].as_str().unwrap().to_string(),
    );
    let (order, _) = paid_order(&t, "buyer-1", "dt", &event, &option, 2).await;
    let (refunded, _) = paid_order(&t, "buyer-2", "dt", &event, &option, 1).await;
    t.put(
        &format!("/api/admin/orders/{refunded}/refund"),
        Some(&owner),
        json!({"reason": "临时有事"}),
    )
    .await
    .data();
    date_today(&t, &event).await;

    b.client.goto(&t.url("/admin/")).await.unwrap();
    b.until("the login form", "document.getElementById('login-club')")
        .await;
    let mut found: Vec<String> = Vec::new();
    for (w, h) in [(375, 812), (1440, 900)] {
        b.size(w, h).await;
        for v in violations(&b, &axe).await {
            found.push(format!("login @{w}: {v}"));
        }
    }
    b.fill("#login-club", "dt").await;
    b.fill("#login-user", "boss").await;
    b.fill("#login-pass", "admin-pass-123").await;
    b.click("#login-submit").await;
    b.until(
        "signed in",
        "document.querySelector('main.page h1')?.textContent === '概览'",
    )
    .await;
    let pages = [
        ("/admin/", "stats-cards"),
        ("/admin/events", "events-list"),
        (&format!("/admin/events/{event}") as &str, "event-title"),
        (&format!("/admin/events/{event}/edit"), "ev-title"),
        ("/admin/events/new", "ev-title"),
        ("/admin/orders", "orders-list"),
        (&format!("/admin/orders/{order}"), "order-status"),
        (&format!("/admin/orders/{refunded}"), "order-status"),
        ("/admin/door", "door-code"),
        ("/admin/content", "main-content-ready"),
        ("/admin/team", "team-form"),
        ("/admin/settings", "set-logo-file"),
        ("/admin/audit", "audit-kind"),
    ];
    for (path, ready) in pages {
        b.client.goto(&t.url(path)).await.unwrap();
        if ready == "main-content-ready" {
            tokio::time::sleep(Duration::from_millis(800)).await;
        } else {
            b.until(path, &format!("document.getElementById('{ready}')"))
                .await;
        }
        // Let the page's requests settle.
        tokio::time::sleep(Duration::from_millis(300)).await;
        for (w, h) in [(375, 812), (1440, 900)] {
            b.size(w, h).await;
            for v in violations(&b, &axe).await {
                found.push(format!("{path} @{w}: {v}"));
            }
            for cell in broken_numbers(&b).await {
                found.push(format!("{path} @{w}: a number broken over lines: {cell}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} serious or critical:\n{}",
        found.len(),
        found.join("\n")
    );
}
