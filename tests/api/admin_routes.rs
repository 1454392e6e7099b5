//! Every admin route in the role × route table (common/scenarios.rs).

use reqwest::Method;

use crate::common::TestApp;
use crate::common::scenarios::{Actors, Allowed, Role, Route, run};

#[tokio::test]
async fn every_admin_route_by_role() {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let actors = Actors::sign_in(&t, "dt").await;
    let table = [
        Route::new(Method::GET, "/api/admin/me", Allowed::Staff),
        Route::new(Method::GET, "/api/admin/me?tenantId=dt", Allowed::Staff).answers(
            Role::OtherClub,
            403,
            "TENANT_FORBIDDEN",
        ),
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
