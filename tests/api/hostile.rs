//! Hostile clients against the real server: a 10 MB JSON body, a 1 MB
//! header, a 100 KB URL, a client sending one byte a second, 2,000 idle
//! connections and a body that never finishes. Each gets a clear 4xx (our
//! envelope where the request got that far) or a closed connection, never
//! a 5xx, and buyers are served meanwhile. Security headers are on every
//! response; CORS answers only the origins `CORS_ORIGINS` names.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// Writes `request` (ignoring a connection the server closes midway) and
/// reads what comes back until the server closes or 10 s pass.
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The status of a raw answer, if there was one.
fn status_of(answer: &str) -> Option<u16> {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
}

/// The JSON envelope of a raw answer (sent whole or as one chunk).
fn envelope_of(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if a < b => &body[a..=b],
        _ => "",
    };
    serde_json::from_str(json).unwrap_or(Value::Null)
}

/// How many descriptors this process may open (`ulimit -n`).
fn fd_limit() -> usize {
    std::process::Command::new("sh")
        .args(["-c", "ulimit -n"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_get_a_clear_4xx_or_a_closed_connection_and_buyers_are_served() {
    let t = TestApp::start().await;
    t.seed_tenant("hx").await;
    let ev = t
        .seed_event(show("hx", "防御专场", days_from_today(3), "20:00"))
        .await;
    let option = ev.option_ids[0].clone();
    let before = stock(&t, &option).await.left;
    let addr = t.app.addr;

    // 2,000 connections that never send a byte (fewer where `ulimit -n`
    // would not allow them: server and client share this process).
    let idle_count = 2000.min(fd_limit().saturating_sub(400) / 2);
    if idle_count < 2000 {
        eprintln!("ulimit -n allows {idle_count} idle connections, not 2,000");
    }
    let mut idle = Vec::with_capacity(idle_count);
    for _ in 0..idle_count {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let flood_started = Instant::now();

    // One byte a second of a request head that would never end.
    let dribbler = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
            .iter()
            .copied();
        for b in head.chain(std::iter::repeat(b'a')) {
            if s.write_all(&[b]).await.is_err() {
                break;
            }
            // A closed connection shows as EOF on read.
            let mut buf = [0u8; 256];
            match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => break,
                Err(_) => {}
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never cut off");
        }
        started.elapsed()
    });

    // Buyers, while all that is open.
    let (buyer, _) = t.login("hbuyer-1", "hx").await;
    let mut orders = 0;
    for i in 0..10 {
        let started = Instant::now();
        t.data(&format!("/api/events/{}", ev.id)).await;
        let (token, _) = t.login(&format!("hb{i}-1"), "hx").await;
        let r = t
            .post("/api/orders", Some(&token), order_body(&ev.id, &option, 1))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        orders += 1;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a buyer waited {:?}",
            started.elapsed()
        );
    }

    // 10 MB of JSON: refused from its Content-Length, nothing ordered.
    let huge = json!({"eventId": ev.id, "priceOptionId": option, "quantity": 1,
                      "userInfo": {"name": "x".repeat(10 << 20), "phone": "13800138000"}});
    match t
        .client
        .post(t.url("/api/orders"))
        .bearer_auth(&buyer)
        .json(&huge)
        .send()
        .await
    {
        Ok(res) => {
            assert_eq!(res.status(), 413);
            let body: Value = res.json().await.unwrap();
            assert_envelope(&body, 413);
            assert_eq!(body["error"], "BODY_TOO_LARGE");
        }
        // The server may close before the client has written it all.
        Err(e) => eprintln!("10 MB body: connection closed ({e})"),
    }
    // The same without a length (chunked): cut at the limit as it streams.
    let mut chunked = format!(
        "POST /api/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {buyer}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..160 {
        chunked.extend(format!("{:x}\r\n", 64 << 10).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 64 << 10));
        chunked.extend(b"\r\n");
    }
    chunked.extend(b"0\r\n\r\n");
    let answer = raw(addr, &chunked).await;
    assert!(
        matches!(status_of(&answer), None | Some(413)),
        "chunked 10 MB: {answer:.300}"
    );
    if status_of(&answer) == Some(413) {
        assert_eq!(envelope_of(&answer)["error"], "BODY_TOO_LARGE");
    }

    // A 1 MB header: hyper refuses the head (431) or closes.
    let mut big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 1 << 20));
    big.extend(b"\r\n\r\n");
    let answer = raw(addr, &big).await;
    assert!(
        matches!(status_of(&answer), None | Some(431)),
        "1 MB header: {answer:.200}"
    );
    // 40 KB of headers, under hyper's buffer: our envelope.
    let r = t
        .client
        .get(t.url("/healthz"))
        .header("x-big", "a".repeat(40 << 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "HEADERS_TOO_LARGE"
    );
    // A 100 KB URL: past hyper's 64 KB URI limit, its bare 414 and close;
    // a 20 KB one reaches our check and gets the envelope.
    for (kb, envelope) in [(100, false), (20, true)] {
        let long = format!("/api/events?tenantId=hx&keyword={}", "a".repeat(kb << 10));
        let answer = raw(
            addr,
            format!("GET {long} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        assert_eq!(status_of(&answer), Some(414), "{kb} KB: {answer:.300}");
        if envelope {
            let body = envelope_of(&answer);
            assert_envelope(&body, 414);
            assert_eq!(body["error"], "URI_TOO_LONG");
            assert!(body["message"].as_str().unwrap().contains("过长"));
        }
    }

    // The dribbler is cut off at the 30 s head deadline, however it dribbles.
    let cut = dribbler.await.unwrap();
    assert!(
        cut >= Duration::from_secs(29) && cut < Duration::from_secs(40),
        "slow client cut after {cut:?}"
    );
    // The idle connections are closed by the same deadline.
    let wait = Duration::from_secs(32).saturating_sub(flood_started.elapsed());
    tokio::time::sleep(wait).await;
    let mut closed = 0;
    for s in idle.iter_mut().step_by(20) {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            Ok(Ok(_)) => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(closed, idle.len().div_ceil(20), "idle connections closed");
    drop(idle);

    // Buyers still served; nothing hostile ordered; no 5xx ever answered.
    let r = t
        .post("/api/orders", Some(&buyer), order_body(&ev.id, &option, 1))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    orders += 1;
    assert_eq!(stock(&t, &option).await.left, before - orders);
    let metrics = t.client.get(t.url("/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("standup_http_requests_total") && l.contains("status=\"5")),
        "no 5xx: {text}"
    );
    assert_invariants(&t).await;
}

#[tokio::test]
async fn a_body_that_never_finishes_gets_408_after_request_timeout() {
    let t = TestApp::start_with(|c| c.request_timeout = Duration::from_secs(2)).await;
    t.seed_tenant("hy").await;
    let ev = t
        .seed_event(show("hy", "慢请求专场", days_from_today(3), "20:00"))
        .await;
    let (token, _) = t.login("slow-1", "hy").await;
    let before = stock(&t, &ev.option_ids[0]).await.left;
    let started = Instant::now();
    let head = format!(
        "POST /api/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"eventId\":"
    );
    let answer = raw(t.app.addr, head.as_bytes()).await;
    assert_eq!(status_of(&answer), Some(408), "{answer}");
    assert_eq!(envelope_of(&answer)["error"], "REQUEST_TIMEOUT");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(stock(&t, &ev.option_ids[0]).await.left, before);
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let t = TestApp::start_with(|c| c.trust_proxy = true).await;
    t.seed_tenant("hz").await;
    for path in ["/api/tenants/hz", "/no/such/route", "/healthz"] {
        let r = t.client.get(t.url(path)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(h.contains_key("permissions-policy"), "{path}");
        assert!(!h.contains_key("strict-transport-security"), "plain http");
    }
    // Behind the proxy over HTTPS: HSTS as well.
    let r = t
        .client
        .get(t.url("/healthz"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("strict-transport-security"));
    // The console keeps its own, stricter policy.
    let r = t.client.get(t.url("/admin/")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src"), "{csp}");
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let plain = TestApp::start().await;
    plain.seed_tenant("hc").await;
    let r = plain
        .client
        .get(plain.url("/api/tenants/hc"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!r.headers().contains_key("access-control-allow-origin"));

    let t = TestApp::start_with(|c| c.cors_origins = Some(vec!["https://club.example.com".into()]))
        .await;
    t.seed_tenant("hc").await;
    let preflight = |origin: &'static str| {
        t.client
            .request(reqwest::Method::OPTIONS, t.url("/api/orders"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight("https://club.example.com").await.unwrap();
    assert!(ok.status().is_success());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://club.example.com"
    );
    let methods = ok.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let evil = preflight("https://evil.example").await.unwrap();
    assert!(!evil.headers().contains_key("access-control-allow-origin"));
    let r = t
        .client
        .get(t.url("/api/tenants/hc"))
        .header("origin", "https://club.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://club.example.com"
    );
}
