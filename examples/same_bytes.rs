//! The yardstick for a cached read: a trivial axum server that answers
//! `GET /x` with a file's bytes as JSON (and `/healthz`), on the same
//! runtime shape as the catalogue example's in-process one (two workers).
//! `examples/request_cost.sh` runs it under callgrind beside the real
//! server.
//!
//!   PORT=8081 cargo run --release --example same_bytes -- FILE [--headers]
//!
//! With `--headers` the answer also carries the request id and the six
//! security headers ours sends (as fixed values), to tell what the headers
//! themselves cost from what our code does.

#[path = "support/mod.rs"]
mod support;

fn main() {
    let usage = "usage: PORT=… same_bytes FILE";
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .expect(usage);
    let file = std::env::args().nth(1).expect(usage);
    let with_headers = std::env::args().nth(2).as_deref() == Some("--headers");
    let body = bytes::Bytes::from(std::fs::read(file).expect("FILE"));
    // Parsed once; each answer clones them (as ours inserts constants).
    let hardening: std::sync::Arc<Vec<_>> = std::sync::Arc::new(
        support::HARDENING
            .iter()
            .map(|(n, v)| {
                (
                    axum::http::HeaderName::from_static(n),
                    axum::http::HeaderValue::from_static(v),
                )
            })
            .collect(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let app = axum::Router::new()
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .route(
                "/x",
                axum::routing::get(move || {
                    let b = body.clone();
                    let hardening = hardening.clone();
                    async move {
                        let mut res = axum::response::IntoResponse::into_response((
                            [("content-type", "application/json; charset=utf-8")],
                            b,
                        ));
                        if with_headers {
                            let h = res.headers_mut();
                            for (name, value) in hardening.iter() {
                                h.insert(name.clone(), value.clone());
                            }
                        }
                        res
                    }
                }),
            );
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the port");
        axum::serve(l, app).await.expect("serving");
    });
}
