//! Every admin route in the role × route table (common/scenarios.rs).

use reqwest::Method;

use serde_json::json;
use standup_tickets::model::scope::TenantScope;

use crate::common::admin::show_body;
use crate::common::scenarios::{Actors, Allowed, Role, Route, run};
use crate::common::{TestApp, days_from_today, seed_paid_order, show};

const API_DOC: &str = include_str!("../../docs/API.md");

#[tokio::test]
async fn every_admin_route_by_role() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let actors = Actors::sign_in(&t, "dt").await;
    // One show per destructive route, so each row finds its own.
    let mut ids = Vec::new();
    for title in ["edit", "delete", "cancel"] {
        ids.push(
            t.seed_event(show("dt", title, days_from_today(5), "20:00"))
                .await
                .id,
        );
    }
    let [edit, delete, cancel] = [&ids[0], &ids[1], &ids[2]];
    let order = seed_paid_order(&t, "dt", edit).await;
    let content = t
        .write(|c| {
            use standup_tickets::model::catalog::ActiveStatus;
            use standup_tickets::model::content::{
                AdminBanner, AdminMerch, BannerDraft, MerchDraft,
            };
            use standup_tickets::store::content::insert;
            let club = TenantScope::vouched("dt");
            let banner = BannerDraft {
                title: "b".into(),
                image: "/static/dt/b.png".into(),
                link: None,
                event_id: None,
                sort_order: 0,
                starts_at: None,
                ends_at: None,
                status: ActiveStatus::Active,
            };
            let merch = MerchDraft {
                name: "m".into(),
                description: None,
                image: None,
                price: standup_tickets::model::Fen(100),
                original_price: None,
                link: None,
                sort_order: 0,
                status: ActiveStatus::Active,
            };
            Ok([
                insert::<AdminBanner>(c, &club, &banner)?,
                insert::<AdminBanner>(c, &club, &banner)?,
                insert::<AdminMerch>(c, &club, &merch)?,
                insert::<AdminMerch>(c, &club, &merch)?,
            ])
        })
        .await;
    let [banner, gone_banner, merch, gone_merch] =
        [&content[0], &content[1], &content[2], &content[3]];
    let banner_body = json!({"title": "t", "image": "/static/dt/t.png"});
    let merch_body = json!({"name": "t", "price": 1});
    let no_banner = |r: Route| r.answers(Role::OtherClub, 404, "BANNER_NOT_FOUND");
    let no_merch = |r: Route| r.answers(Role::OtherClub, 404, "MERCH_NOT_FOUND");
    let teammate = crate::common::admin::create_admin(
        &t,
        "dt",
        "teammate",
        standup_tickets::model::admins::AdminRole::Staff,
        "teammate-pass-1",
    )
    .await
    .id;
    let no_admin = |r: Route| r.answers(Role::OtherClub, 404, "ADMIN_NOT_FOUND");
    // A wrong old password: refused for everyone, so no token changes.
    let wrong_old = |r: Route| {
        r.answers(Role::Owner, 400, "VALIDATION_FAILED")
            .answers(Role::Staff, 400, "VALIDATION_FAILED")
            .answers(Role::OtherClub, 400, "VALIDATION_FAILED")
    };
    let incomplete = |r: Route| r.answers(Role::OtherClub, 400, "VALIDATION_FAILED");
    let mut put_body = show_body(5);
    put_body["version"] = json!(1);
    let not_ours = |r: Route| r.answers(Role::OtherClub, 404, "EVENT_NOT_FOUND");
    let not_ours_order = |r: Route| r.answers(Role::OtherClub, 404, "ORDER_NOT_FOUND");
    let forbidden = |r: Route| r.answers(Role::OtherClub, 403, "TENANT_FORBIDDEN");
    // A code no club minted is refused after the role check, for every admin.
    let no_ticket = |r: Route| {
        r.answers(Role::Owner, 404, "TICKET_NOT_FOUND")
            .answers(Role::Staff, 404, "TICKET_NOT_FOUND")
            .answers(Role::OtherClub, 404, "TICKET_NOT_FOUND")
    };
    let table = [
        Route::new(Method::GET, "/api/admin/me", Allowed::Staff),
        forbidden(Route::new(
            Method::GET,
            "/api/admin/me?tenantId=dt",
            Allowed::Staff,
        )),
        Route::new(Method::GET, "/api/admin/events", Allowed::Staff),
        forbidden(Route::new(
            Method::GET,
            "/api/admin/events?tenantId=dt",
            Allowed::Staff,
        )),
        Route::new(Method::POST, "/api/admin/events", Allowed::Owner).body(show_body(5)),
        forbidden(
            Route::new(Method::POST, "/api/admin/events", Allowed::Owner).body({
                let mut b = show_body(5);
                b["tenantId"] = json!("dt");
                b
            }),
        ),
        not_ours(Route::new(
            Method::GET,
            &format!("/api/admin/events/{edit}"),
            Allowed::Staff,
        )),
        not_ours(
            Route::new(
                Method::PUT,
                &format!("/api/admin/events/{edit}"),
                Allowed::Owner,
            )
            .body(put_body),
        ),
        not_ours(
            Route::new(
                Method::POST,
                &format!("/api/admin/events/{edit}/duplicate"),
                Allowed::Owner,
            )
            .body(
                json!({"eventDate": days_from_today(9).format("%Y-%m-%d").to_string(),
                             "eventTime": "20:00"}),
            ),
        ),
        not_ours(Route::new(
            Method::DELETE,
            &format!("/api/admin/events/{delete}"),
            Allowed::Owner,
        )),
        not_ours(
            Route::new(
                Method::POST,
                &format!("/api/admin/events/{cancel}/cancel"),
                Allowed::Owner,
            )
            .body(json!({"reason": "演员生病"})),
        ),
        Route::new(Method::GET, "/api/admin/audit-log", Allowed::Owner),
        forbidden(Route::new(
            Method::GET,
            "/api/admin/audit-log?tenantId=dt",
            Allowed::Owner,
        )),
        Route::new(Method::GET, "/api/admin/orders", Allowed::Staff),
        forbidden(Route::new(
            Method::GET,
            "/api/admin/orders?tenantId=dt",
            Allowed::Staff,
        )),
        not_ours_order(Route::new(
            Method::GET,
            &format!("/api/admin/orders/{order}"),
            Allowed::Staff,
        )),
        not_ours_order(
            Route::new(
                Method::PUT,
                &format!("/api/admin/orders/{order}/refund"),
                Allowed::Owner,
            )
            .body(json!({"reason": "顾客来电"})),
        ),
        Route::new(Method::GET, "/api/admin/orders/export.csv", Allowed::Owner),
        forbidden(Route::new(
            Method::GET,
            "/api/admin/orders/export.csv?tenantId=dt",
            Allowed::Owner,
        )),
        no_ticket(
            Route::new(Method::POST, "/api/admin/checkin", Allowed::Staff)
                .body(json!({"qrCode": "ST1.forged.code"})),
        ),
        no_ticket(
            Route::new(Method::POST, "/api/admin/checkin/undo", Allowed::Staff)
                .body(json!({"ticketId": "01NOSUCHTICKET000000000000"})),
        ),
        not_ours(Route::new(
            Method::GET,
            &format!("/api/admin/events/{edit}/checkins"),
            Allowed::Staff,
        )),
        not_ours(Route::new(
            Method::GET,
            &format!("/api/admin/events/{edit}/door-pack"),
            Allowed::Staff,
        )),
        // Its refunded order's ticket is a change (void).
        not_ours(Route::new(
            Method::GET,
            &format!("/api/admin/events/{edit}/door-changes?since=0"),
            Allowed::Staff,
        )),
        Route::new(Method::POST, "/api/admin/checkin/sync", Allowed::Staff)
            .body(json!({"deviceId": "door", "scans": []})),
        // Reordering names every item of the club: the other club has none.
        incomplete(
            Route::new(Method::PUT, "/api/admin/banners/order", Allowed::Owner)
                .body(json!({"ids": [banner, gone_banner]})),
        ),
        incomplete(
            Route::new(Method::PUT, "/api/admin/merch/order", Allowed::Owner)
                .body(json!({"ids": [merch, gone_merch]})),
        ),
        Route::new(Method::GET, "/api/admin/banners", Allowed::Staff),
        Route::new(Method::POST, "/api/admin/banners", Allowed::Owner).body(banner_body.clone()),
        no_banner(Route::new(
            Method::GET,
            &format!("/api/admin/banners/{banner}"),
            Allowed::Staff,
        )),
        no_banner(
            Route::new(
                Method::PUT,
                &format!("/api/admin/banners/{banner}"),
                Allowed::Owner,
            )
            .body(banner_body),
        ),
        no_banner(Route::new(
            Method::DELETE,
            &format!("/api/admin/banners/{gone_banner}"),
            Allowed::Owner,
        )),
        Route::new(Method::GET, "/api/admin/merch", Allowed::Staff),
        Route::new(Method::POST, "/api/admin/merch", Allowed::Owner).body(merch_body.clone()),
        no_merch(Route::new(
            Method::GET,
            &format!("/api/admin/merch/{merch}"),
            Allowed::Staff,
        )),
        no_merch(
            Route::new(
                Method::PUT,
                &format!("/api/admin/merch/{merch}"),
                Allowed::Owner,
            )
            .body(merch_body),
        ),
        no_merch(Route::new(
            Method::DELETE,
            &format!("/api/admin/merch/{gone_merch}"),
            Allowed::Owner,
        )),
        Route::new(Method::GET, "/api/admin/tenant", Allowed::Staff),
        Route::new(Method::PUT, "/api/admin/tenant", Allowed::Owner)
            .body(json!({"name": "俱乐部"})),
        Route::new(Method::GET, "/api/admin/admins", Allowed::Owner),
        Route::new(Method::POST, "/api/admin/admins", Allowed::Owner)
            .body(json!({"username": "newcomer", "role": "staff", "password": "newcomer-pass-1"})),
        no_admin(
            Route::new(
                Method::PUT,
                &format!("/api/admin/admins/{teammate}"),
                Allowed::Owner,
            )
            .body(json!({"displayName": "队友"})),
        ),
        no_admin(
            Route::new(
                Method::POST,
                &format!("/api/admin/admins/{teammate}/password"),
                Allowed::Owner,
            )
            .body(json!({"password": "teammate-pass-2"})),
        ),
        no_admin(Route::new(
            Method::POST,
            &format!("/api/admin/admins/{teammate}/logout-all"),
            Allowed::Owner,
        )),
        wrong_old(
            Route::new(Method::PUT, "/api/admin/me/password", Allowed::Staff)
                .body(json!({"oldPassword": "not-my-password", "newPassword": "whatever-pass-1"})),
        ),
        // JSON is not an upload: refused after the role check.
        Route::new(Method::POST, "/api/admin/uploads", Allowed::Owner)
            .body(json!({"file": "x"}))
            .answers(Role::Owner, 400, "VALIDATION_FAILED")
            .answers(Role::OtherClub, 400, "VALIDATION_FAILED"),
        Route::new(Method::GET, "/api/admin/uploads", Allowed::Owner),
        Route::new(
            Method::DELETE,
            "/api/admin/uploads/01NOSUCHUPLOAD000000000000",
            Allowed::Owner,
        )
        .answers(Role::Owner, 404, "UPLOAD_NOT_FOUND")
        .answers(Role::OtherClub, 404, "UPLOAD_NOT_FOUND"),
        Route::new(Method::GET, "/api/admin/stats", Allowed::Owner),
        forbidden(Route::new(
            Method::GET,
            "/api/admin/stats?tenantId=dt&period=all",
            Allowed::Owner,
        )),
        // Last: it retires the token that calls it.
        Route::new(Method::POST, "/api/admin/me/logout-all", Allowed::Staff),
    ];
    run(&t, &actors, &table).await;

    // The table covers every admin route the OpenAPI document lists.
    let (_, doc) = t.get("/api/openapi.json").await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/admin/") || path == "/api/admin/auth/login" {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let covered = table.iter().any(|r| {
                r.method.as_str().eq_ignore_ascii_case(method)
                    && same_route(path, r.path.split('?').next().unwrap())
            });
            assert!(covered, "{method} {path} is not in the role table");
            let listed = format!("| {} | `{path}", method.to_uppercase());
            assert!(
                API_DOC.contains(&listed),
                "docs/API.md's admin table lacks {method} {path}"
            );
        }
    }
}

/// Whether a concrete path matches an OpenAPI path with `{param}` segments.
fn same_route(pattern: &str, path: &str) -> bool {
    let (a, b): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), path.split('/').collect());
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(p, s)| p == s || (p.starts_with('{') && p.ends_with('}')))
}
