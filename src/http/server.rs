//! The accept loop: HTTP/1.1 connections served by hyper with the limits a
//! public server needs, which `axum::serve` does not set.
//!
//! - A client has [`HEAD_TIMEOUT`] to send a whole request head, however it
//!   dribbles it, and an idle keep-alive connection as long to start the
//!   next one; then the connection is closed. 2,000 idle sockets cost a
//!   task and a small buffer each, and are gone after that.
//! - A request head larger than [`MAX_HEAD_BYTES`] is refused by hyper
//!   (431) and the connection closed; below that, `request_log` answers
//!   over-long URLs and header sets with our envelope.
//! - On shutdown the listener closes, each connection finishes the request
//!   it is serving and closes, and `serve` returns once all are done.
//!
//! HTTP/1.1 only: the reverse proxy in front (Caddy, nginx) speaks HTTP/2
//! to browsers and HTTP/1.1 to us.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

/// The whole request head must arrive within this.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// hyper's read buffer for a request head: beyond it, 431 and close.
pub const MAX_HEAD_BYTES: usize = 256 << 10;

/// Serves `app` on `listener` until `shutdown` resolves, then lets every
/// connection finish its request in flight.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    // Dropped senders tell connections to wind down; `closed` tells the
    // loop when the last connection has.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let svc = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.map(Body::new)
        });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(stop);
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(());
    stop_tx.closed().await;
    Ok(())
}
