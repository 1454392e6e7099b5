//! Every `message` a person may read is Chinese: every route the OpenAPI
//! document lists is called with malformed bodies (bad JSON, the wrong
//! shape, wrong types, the wrong content type), malformed queries and odd
//! path values, as its kind of caller; no answer is a 5xx, and no message
//! carries an English phrase (field names, codes and the like may appear
//! alone).

use serde_json::Value;

use crate::common::admin::owner_token;
use crate::common::*;

/// Two ASCII words in a row (`missing field`, `invalid type`), as serde and
/// axum write: what a message must never carry.
fn english_phrase(message: &str) -> Option<String> {
    let words: Vec<&str> = message
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';'))
        .collect();
    words
        .windows(2)
        .find(|w| {
            w.iter()
                .all(|s| s.len() >= 2 && s.chars().all(|c| c.is_ascii_alphabetic()))
        })
        .map(|w| w.join(" "))
}

#[test]
fn the_check_catches_english() {
    assert!(english_phrase("请求体格式错误: missing field `userInfo`").is_some());
    assert!(english_phrase("quantity 须为整数").is_none());
    assert!(english_phrase("请求体须为 JSON 格式（Content-Type 须为 application/json）").is_none());
    assert!(english_phrase("status 须为 pending、paid、cancelled、refunded 或 used").is_none());
}

#[tokio::test]
async fn every_route_answers_malformed_input_in_chinese() {
    let t = TestApp::builder().fake_pay().start().await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    let (buyer, _) = t.login("walker", "dt").await;
    let (_, doc) = t.get("/api/openapi.json").await;
    let bodies: [(&str, &str); 6] = [
        ("application/json", "{"),
        ("application/json", "[]"),
        ("application/json", "null"),
        (
            "application/json",
            r#"{"quantity":"two","page":"x","eventId":7,"userInfo":[],"code":false,"scans":{}}"#,
        ),
        ("application/json", r#"{"quantity":null,"name":{"a":1}}"#),
        ("text/plain", "hello"),
    ];
    let queries = [
        "page=abc&pageSize=abc",
        "year=abc&month=13x",
        "since=abc&from=notadate&to=2026-13-40",
        "page=99999999999999999999&pageSize=-1",
        "tenantId=nosuchclub",
        "status=%E4%B8%AD&keyword=%00",
    ];
    let mut calls = 0;
    let mut bad = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") || path.contains("openapi") {
            continue;
        }
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "01NOSUCHID0000000000000000"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let token = if path.starts_with("/api/admin/") {
            Some(owner.as_str())
        } else {
            Some(buyer.as_str())
        };
        for method in item.as_object().unwrap().keys() {
            let m: reqwest::Method = method.to_uppercase().parse().unwrap();
            let mut requests: Vec<reqwest::RequestBuilder> = Vec::new();
            if m != reqwest::Method::GET && m != reqwest::Method::DELETE {
                for (ct, body) in bodies {
                    requests.push(
                        t.client
                            .request(m.clone(), t.url(&concrete))
                            .header("content-type", ct)
                            .body(body),
                    );
                }
            }
            for q in queries {
                requests.push(
                    t.client
                        .request(m.clone(), t.url(&format!("{concrete}?{q}")))
                        .header("content-type", "application/json")
                        .body("{}"),
                );
            }
            // Odd path values: unicode, markup, far too long.
            if path.contains('{') {
                for odd in ["%E4%B8%AD%E6%96%87", "%3Cb%3E", &"9".repeat(300)] {
                    let p = path
                        .split('/')
                        .map(|seg| if seg.starts_with('{') { odd } else { seg })
                        .collect::<Vec<_>>()
                        .join("/");
                    requests.push(t.client.request(m.clone(), t.url(&p)));
                }
            }
            for req in requests {
                let req = match token {
                    Some(tok) => req.bearer_auth(tok),
                    None => req,
                };
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                let text = res.text().await.unwrap();
                calls += 1;
                if status >= 500 {
                    bad.push(format!("{method} {path}: {status} {text}"));
                    continue;
                }
                let Ok(json) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if let Some(message) = json["message"].as_str()
                    && let Some(phrase) = english_phrase(message)
                {
                    bad.push(format!("{method} {path}: \"{phrase}\" in {message}"));
                }
            }
        }
    }
    assert!(calls > 500, "{calls} calls");
    bad.sort();
    bad.dedup();
    assert!(bad.is_empty(), "{} answers:\n{}", bad.len(), bad.join("\n"));
}
