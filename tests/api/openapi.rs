//! `/api/openapi.json` is a valid OpenAPI 3.1 document (read by the `oas3`
//! crate, every `$ref` resolving) that describes every route the server
//! answers: each one with a summary, its path parameters, a success
//! response, error envelopes and its security; and every path it lists is
//! one the router really serves.

use std::collections::HashSet;

use serde_json::Value;

use crate::common::admin::{create_show, owner_token, paid_order, show_body};
use crate::common::*;

/// Every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// Paths the router adds itself (not through a documented handler), read
/// from its source, as the document spells them.
fn routed_by_hand() -> Vec<String> {
    let src = include_str!("../../src/http/mod.rs");
    let mut out = Vec::new();
    for (marker, suffix) in [(".route(\"", ""), (".nest_service(\"", "/{path}")] {
        for piece in src.split(marker).skip(1) {
            let path = piece.split('"').next().unwrap();
            out.push(format!("{path}{suffix}").replace("{*path}", "{path}"));
        }
    }
    out
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

#[tokio::test]
async fn the_document_is_openapi_3_1_and_describes_every_route() {
    let t = TestApp::start().await;
    let text = t
        .client
        .get(t.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert!(spec.validate_version().is_ok(), "{}", spec.openapi);
    let doc: Value = serde_json::from_str(&text).unwrap();

    // Every reference points at something defined.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50);
    for r in all {
        let pointer = r.strip_prefix('#').expect("local references only");
        assert!(doc.pointer(pointer).is_some(), "{r} resolves");
    }

    let paths = doc["paths"].as_object().unwrap();
    for hand in routed_by_hand() {
        assert!(
            paths.contains_key(&hand),
            "{hand} is routed but not documented"
        );
    }
    let mut ids = HashSet::new();
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let at = format!("{} {path}", method.to_uppercase());
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{at}: summary"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{at}: tag"
            );
            if let Some(id) = op["operationId"].as_str() {
                assert!(ids.insert(id.to_string()), "{at}: operationId {id} twice");
            }
            // Path parameters named in the template are declared.
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            for seg in path.split('/') {
                if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    assert!(declared.contains(&name), "{at}: path parameter {name}");
                }
            }
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses
                    .keys()
                    .any(|s| s.starts_with('2') || s.starts_with('3')),
                "{at}: a success response"
            );
            // Errors are the envelope, except WeChat Pay's notify answers
            // (WeChat's own `{code: FAIL}` shape).
            if path.starts_with("/api/") && !path.contains("notify") {
                for (status, r) in responses {
                    if !(status.starts_with('4') || status.starts_with('5')) {
                        continue;
                    }
                    if let Some(json) = r["content"].get("application/json") {
                        assert_eq!(
                            json["schema"]["$ref"], "#/components/schemas/ApiError",
                            "{at} {status}: the error envelope"
                        );
                    }
                }
                assert!(
                    responses
                        .keys()
                        .any(|s| s.starts_with('4') || s.starts_with('5')),
                    "{at}: its errors are described"
                );
            }
            // Signed-in routes say so.
            let needs_token = (path.starts_with("/api/admin/") && path != "/api/admin/auth/login")
                || path.starts_with("/api/users/")
                || path.starts_with("/api/orders")
                || path == "/api/payments/wechat"
                || path == "/api/payments/refund";
            if needs_token {
                let security = op["security"]
                    .as_array()
                    .map(|s| s.to_vec())
                    .unwrap_or_default();
                assert!(
                    security.iter().any(|s| s.get("bearer").is_some()),
                    "{at}: bearer security"
                );
            }

            // And the router answers it: never "no such route".
            let concrete: String = path
                .split('/')
                .map(|s| if s.starts_with('{') { "x" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let res = t
                .client
                .request(method.to_uppercase().parse().unwrap(), t.url(&concrete))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            // The router's own fallback (a file or console page that is
            // missing says so in other words).
            assert!(
                !(status == 404 && body["message"] == "接口不存在") && status != 405,
                "{at}: documented but not routed ({status} {body})"
            );
        }
    }
}

/// A property the document leaves out of `required` is never `null` in an
/// answer: the document says "optional", and the server omits it. The
/// mini-program's answers are read for real (a show with an order paid,
/// its tickets, the buyer, the console's views of them) and no `null`
/// appears anywhere in their `data`.
#[tokio::test]
async fn answers_leave_out_what_they_have_not_and_never_send_null() {
    fn nulls(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Null => out.push(at.to_string()),
            Value::Object(m) => m
                .iter()
                .for_each(|(k, x)| nulls(x, &format!("{at}.{k}"), out)),
            Value::Array(a) => a.iter().for_each(|x| nulls(x, &format!("{at}[]"), out)),
            _ => {}
        }
    }
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    let show = create_show(&t, &owner, show_body(3)).await;
    let event = show["id"].as_str().unwrap().to_string();
    let option = show["priceOptions"][1]["id"].as_str().unwrap().to_string();
    let (order, _) = paid_order(&t, "null-check", "dt", &event, &option, 2).await;
    let (buyer, _) = t.login("null-check", "dt").await;
    let date = show["eventDate"].as_str().unwrap();
    let (year, month) = (&date[..4], date[5..7].trim_start_matches('0'));

    let public = [
        "/api/tenants/dt".to_string(),
        "/api/events/home?tenantId=dt".to_string(),
        format!("/api/events/calendar/{year}/{month}?tenantId=dt"),
        format!("/api/events/{event}"),
        "/api/events?tenantId=dt".to_string(),
    ];
    let mut answers = Vec::new();
    for path in &public {
        answers.push((path.clone(), t.get(path).await.1));
    }
    for path in [
        format!("/api/orders/{order}"),
        "/api/orders?tenantId=dt".to_string(),
        "/api/users/me".to_string(),
    ] {
        answers.push((path.clone(), t.get_as(&path, &buyer).await.json));
    }
    for path in [
        format!("/api/admin/events/{event}"),
        "/api/admin/events".to_string(),
        format!("/api/admin/orders/{order}"),
        "/api/admin/orders".to_string(),
        "/api/admin/stats?period=today".to_string(),
        "/api/admin/tenant".to_string(),
    ] {
        answers.push((path.clone(), t.get_as(&path, &owner).await.json));
    }
    for (path, body) in answers {
        assert_eq!(body["code"], 200, "{path}: {body}");
        let mut found = Vec::new();
        nulls(&body["data"], "data", &mut found);
        assert!(found.is_empty(), "{path} sends null at {found:?}");
    }
}

/// The paths outside the API answer a missing file with the same JSON
/// envelope the document promises (never an empty or a text body, never
/// a server error).
#[tokio::test]
async fn missing_files_answer_the_documented_envelope() {
    let t = TestApp::start().await;
    // A name longer than the file system allows is missing too, not a 500.
    let too_long = format!("/static/{}.png", "长".repeat(120));
    for path in [
        "/static/nothing-here.png",
        "/admin/nothing-here.js",
        &too_long,
    ] {
        let res = t.client.get(t.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let kind = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "NOT_FOUND", "{path}");
        assert!(
            !body["message"].as_str().unwrap().is_ascii(),
            "{path}: Chinese"
        );
    }
}

/// The text patterns the document publishes accept exactly the strings the
/// server's own text rule accepts (trimmed, 1..=max characters, no control
/// characters; newlines and tabs inside a multi-line field), so a client
/// that validates against the schema is never refused for a title the
/// schema allowed, nor told a title is fine that the server refuses.
#[tokio::test]
async fn text_patterns_agree_with_the_servers_text_rule() {
    use standup_tickets::model::fields::{optional_text, text};
    let t = TestApp::start().await;
    let (_, doc) = t.get("/api/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    // (schema, property, max, multi-line, optional)
    let fields = [
        ("EventInput", "title", 100, false, false),
        ("EventInput", "city", 50, false, false),
        ("EventInput", "description", 5000, true, true),
        ("PriceOptionInput", "name", 50, false, false),
        ("PriceOptionInput", "description", 200, false, true),
        ("MerchInput", "name", 50, false, false),
        ("MerchInput", "description", 500, true, true),
        ("BannerInput", "title", 50, false, true),
        ("NewAdminInput", "displayName", 32, false, true),
        ("CancelBody", "reason", 200, false, false),
        ("RefundBody", "reason", 80, false, true),
    ];
    for (schema, prop, max, multi, optional) in fields {
        let pattern = schemas[schema]["properties"][prop]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}.{prop} has a pattern"));
        let re = regex::Regex::new(pattern).unwrap();
        let samples = [
            String::new(),
            " ".into(),
            "\t\n ".into(),
            "a".into(),
            " 小王 ".into(),
            "a b".into(),
            "a\nb".into(),
            "a\tb".into(),
            "a\rb".into(),
            "a\u{7}b".into(),
            "a\u{85}b".into(),
            "\u{1c}a".into(),
            "a\u{1f}".into(),
            "\u{feff}a".into(),
            "\u{2003}a\u{2028}".into(),
            "\u{3000}中\u{3000}".into(),
            "<script>'; DROP TABLE x;--".into(),
            "中".repeat(max),
            format!("  {}  ", "中".repeat(max)),
            "中".repeat(max + 1),
            format!("{}\n{}", "a".repeat(max / 2), "b".repeat(max / 2 - 1)),
        ];
        for s in samples {
            let server = if optional {
                optional_text(Some(&s), prop, max, multi).is_ok()
            } else {
                text(&s, prop, max, multi).is_ok()
            };
            assert_eq!(
                re.is_match(&s),
                server,
                "{schema}.{prop} on {s:?}: the schema and the server disagree"
            );
        }
    }
}
