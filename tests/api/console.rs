//! The web console as files over HTTP: types, ETags and caching, gzip, the
//! fallback for the console's own pages, the security headers, and
//! `ADMIN_CONSOLE=off`. (The pages themselves are driven in a browser.)

use crate::common::*;

const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/admin");

async fn get(t: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.get(t.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

#[tokio::test]
async fn the_console_is_served_with_caching_and_a_strict_policy() {
    let t = TestApp::start().await;
    let res = get(&t, "/admin", &[]).await;
    assert_eq!(res.status(), 308);
    assert_eq!(header(&res, "location"), "/admin/");

    let res = get(&t, "/admin/", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&res, "cache-control"), "no-cache");
    let csp = header(&res, "content-security-policy").to_string();
    for rule in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(rule), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    assert_eq!(header(&res, "referrer-policy"), "same-origin");
    let etag = header(&res, "etag").to_string();
    assert!(
        etag.starts_with('"') && etag.len() > 10,
        "a strong ETag: {etag}"
    );
    let index = res.text().await.unwrap();
    assert!(!index.contains("__BUILD__"));
    let build = index
        .split("/admin/js/app.js?v=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the script is versioned")
        .to_string();
    assert_eq!(build.len(), 16);

    // Unchanged: 304, no body.
    let res = get(&t, "/admin/", &[("if-none-match", &etag)]).await;
    assert_eq!(res.status(), 304);
    // The console's own pages get index.html.
    for page in ["/admin/login", "/admin/orders", "/admin/events/01ABC/edit"] {
        let res = get(&t, page, &[]).await;
        assert_eq!(res.status(), 200, "{page}");
        assert_eq!(res.text().await.unwrap(), index, "{page}");
    }
    // A versioned asset is cached for a year; a bare one is revalidated.
    let res = get(&t, &format!("/admin/js/app.js?v={build}"), &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        header(&res, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let js = res.text().await.unwrap();
    assert!(!js.contains("__BUILD__") && js.contains(&format!("?v={build}")));
    let res = get(&t, "/admin/js/app.js?v=old", &[]).await;
    assert_eq!(header(&res, "cache-control"), "no-cache");
    // Compressed where the client takes gzip.
    let res = get(
        &t,
        &format!("/admin/app.css?v={build}"),
        &[("accept-encoding", "gzip, br")],
    )
    .await;
    assert_eq!(header(&res, "content-encoding"), "gzip");
    assert_eq!(header(&res, "content-type"), "text/css; charset=utf-8");
    assert_eq!(header(&res, "vary"), "Accept-Encoding");
    let res = get(&t, "/admin/app.css", &[("accept-encoding", "gzip;q=0")]).await;
    assert_eq!(header(&res, "content-encoding"), "");
    // Unknown files and escapes are 404 (a client may normalise `..` away
    // before sending, leaving /admin/ altogether).
    let res = get(&t, "/admin/nope.js", &[]).await;
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    for bad in [
        "/admin/nope.js",
        "/admin/..%2f..%2fCargo.toml",
        "/admin/%2e%2e/%2e%2e/Cargo.toml",
        "/admin/README.md",
    ] {
        let res = get(&t, bad, &[]).await;
        assert_eq!(res.status(), 404, "{bad}");
    }
    t.stop().await;
}

#[tokio::test]
async fn admin_console_off_removes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let t = TestApp::start_in(tmp.path(), |c| c.admin_console = false).await;
    let res = get(&t, "/admin/", &[]).await;
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "NOT_FOUND");
    // The admin API stays.
    let res = get(&t, "/api/admin/me", &[]).await;
    assert_eq!(res.status(), 401);
    t.stop().await;
}

/// What the CSP promises, checked on the files: no inline script or style,
/// no `on…=` handlers, no eval; every module import is versioned and names
/// a file that exists.
#[test]
fn the_console_files_keep_the_policy() {
    let mut files = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(ASSETS)];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let name = path.display().to_string();
        if name.ends_with(".html") {
            for tag in text.split("<script").skip(1) {
                let open = tag.split('>').next().unwrap();
                assert!(open.contains("src="), "{name}: inline script");
                assert!(
                    tag.split('>').nth(1).unwrap().starts_with("</script"),
                    "{name}"
                );
            }
            assert!(!text.contains("<style"), "{name}: inline style");
            assert!(!text.contains(" style="), "{name}: style attribute");
            assert!(
                !text
                    .split_whitespace()
                    .any(|w| w.starts_with("on") && w.contains("=\"")),
                "{name}: inline handler"
            );
        }
        if name.ends_with(".js") {
            assert!(
                !text.contains("eval(") && !text.contains("new Function"),
                "{name}"
            );
            assert!(
                !text.contains("innerHTML") && !text.contains("insertAdjacentHTML"),
                "{name}: HTML from strings"
            );
            // Every static import, one line or several.
            for tail in text.split(" from '").skip(1) {
                let spec = tail.split('\'').next().unwrap_or("");
                assert!(
                    spec.ends_with("?v=__BUILD__"),
                    "{name}: unversioned import {spec}"
                );
                let target = path
                    .parent()
                    .unwrap()
                    .join(spec.trim_end_matches("?v=__BUILD__"));
                assert!(target.exists(), "{name}: {spec} is missing");
            }
        }
    }
}

/// The service worker keeps every console file (listed by the server, so
/// the list cannot fall behind), each at an address that serves it.
#[tokio::test]
async fn the_service_worker_keeps_every_console_file() {
    let t = TestApp::start().await;
    let res = get(&t, "/admin/sw.js", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "cache-control"),
        "no-cache",
        "updates are seen at once"
    );
    assert_eq!(
        header(&res, "content-type"),
        "text/javascript; charset=utf-8"
    );
    let sw = res.text().await.unwrap();
    assert!(!sw.contains("__SHELL__") && !sw.contains("__BUILD__"));
    let list = sw
        .split("const SHELL = ")
        .nth(1)
        .and_then(|r| r.split(";\n").next())
        .unwrap();
    let shell: Vec<String> = serde_json::from_str(list).unwrap();
    assert!(shell.contains(&"/admin/".to_string()));
    assert!(!shell.iter().any(|u| u.contains("sw.js")));
    for e in std::fs::read_dir(format!("{ASSETS}/js")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        assert!(
            shell
                .iter()
                .any(|u| u.starts_with(&format!("/admin/js/{name}?v="))),
            "{name} is not kept offline"
        );
    }
    for url in &shell {
        let res = get(&t, url, &[]).await;
        assert_eq!(res.status(), 200, "{url}");
    }
    t.stop().await;
}
