//! The one middleware every request passes: it gives the request an id (kept
//! from `X-Request-Id` when the caller sent a sane one), echoes it on the
//! response, turns a panic into a 500 envelope, bounds the answer's time,
//! and writes one access-log line that carries the id and, for a 5xx, the
//! internal cause. What it asks of its neighbours, each in its own module:
//! whether to refuse the request up front (`admission`), the answer's
//! headers (`hardening`), the route's metric series (`route_metrics`).
//!
//! One hand-written layer instead of tower-http's request-id + trace +
//! catch-panic stack: that stack (a tracing span per request, boxed bodies, an
//! extension insert) costs a large share of a cached read (docs/PERFORMANCE.md,
//! `examples/catalog.rs`).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response};
use axum::response::IntoResponse;
use tower::{Layer, Service};

use super::route_metrics::{Measured, RouteTemplates};
use super::{admission, hardening};
use crate::error::{AppError, Code};
use crate::state::AppState;

pub use super::hardening::X_REQUEST_ID;

/// Attached by `AppError` to a 5xx response so the access line can say why.
#[derive(Clone, Debug)]
pub struct InternalCause(pub String);

/// A random per-process prefix plus a counter: unique across restarts in
/// practice, and far cheaper than a random id per request.
fn next_request_id() -> HeaderValue {
    static PREFIX: LazyLock<String> = LazyLock::new(|| {
        let id = crate::ids::new_id();
        id[id.len() - 8..].to_string()
    });
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n).as_bytes();
    // Assembled on the stack: the header value is the one allocation.
    let mut buf = [0u8; 32];
    let (prefix, len) = (PREFIX.as_bytes(), PREFIX.len() + 1 + digits.len());
    buf[..prefix.len()].copy_from_slice(prefix);
    buf[prefix.len()] = b'-';
    buf[prefix.len() + 1..len].copy_from_slice(digits);
    HeaderValue::from_bytes(&buf[..len]).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// A caller's id is kept only if it is short and printable, so it cannot
/// forge log lines or bloat them.
fn sane_incoming(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    (1..=64).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
}

/// Holds the app state for the per-IP `/api` rate limit and the metrics;
/// `None` (unit tests) means neither.
#[derive(Clone, Default)]
pub struct RequestLogLayer {
    state: Option<AppState>,
    routes: RouteTemplates,
}

impl RequestLogLayer {
    pub fn new(state: AppState, routes: RouteTemplates) -> Self {
        RequestLogLayer {
            state: Some(state),
            routes,
        }
    }
}

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;
    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog {
            inner,
            state: self.state.clone(),
            routes: self.routes.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestLog<S> {
    inner: S,
    state: Option<AppState>,
    routes: RouteTemplates,
}

/// What the access line needs of the request, which the app consumes.
struct Started {
    method: Method,
    /// A clone shares the request's bytes (no copy).
    uri: axum::http::Uri,
}

impl<S> Service<Request<Body>> for RequestLog<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = RequestLogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let at = Instant::now();
        let id = match req.headers().get(&X_REQUEST_ID) {
            Some(v) if sane_incoming(v) => v.clone(),
            // Nothing downstream reads it from the request: it is echoed
            // on the answer and written in the access line.
            _ => next_request_id(),
        };
        // Capture what the line needs only when someone will read it.
        let started = tracing::enabled!(target: "access", tracing::Level::ERROR).then(|| Started {
            method: req.method().clone(),
            uri: req.uri().clone(),
        });
        let measured = self.state.is_some().then(|| self.routes.measure(&req));
        let limited = admission::refusal(&req, self.state.as_ref());
        let hsts = self
            .state
            .as_ref()
            .is_some_and(|s| hardening::came_over_https(&req, s.config.trust_proxy));
        let timeout = self.state.as_ref().map(|s| s.config.request_timeout);
        RequestLogFuture {
            inner: match limited {
                None => Inner::Call {
                    fut: self.inner.call(req),
                    timeout,
                    deadline: None,
                },
                Some(err) => Inner::Refused {
                    res: Some(err.into_response()),
                },
            },
            id,
            at,
            started,
            measured,
            hsts,
        }
    }
}

pin_project_lite::pin_project! {
    pub struct RequestLogFuture<F> {
        #[pin]
        inner: Inner<F>,
        id: HeaderValue,
        at: Instant,
        started: Option<Started>,
        measured: Option<Measured>,
        hsts: bool,
    }
}

pin_project_lite::pin_project! {
    /// Either the app's answer in progress, or a refusal decided up front
    /// (rate limit) that never reaches the app.
    #[project = InnerProj]
    enum Inner<F> {
        // The timer is set only once the answer is not ready at first
        // poll (a cached read is): a timer costs a clock read and a place
        // in the runtime's wheel.
        Call {
            #[pin] fut: F,
            timeout: Option<std::time::Duration>,
            #[pin] deadline: Option<tokio::time::Sleep>,
        },
        Refused { res: Option<Response<Body>> },
    }
}

impl<F, E> Future for RequestLogFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let polled = match this.inner.as_mut().project() {
            InnerProj::Call {
                fut,
                timeout,
                mut deadline,
            } => {
                match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
                    Ok(Poll::Pending) => {
                        if let (None, Some(t)) = (deadline.as_ref().get_ref(), *timeout) {
                            let at = tokio::time::Instant::from_std(*this.at) + t;
                            deadline.set(Some(tokio::time::sleep_until(at)));
                        }
                        match deadline.as_pin_mut().map(|d| d.poll(cx)) {
                            // The handler's future is dropped with this one: what
                            // it already handed the writer still commits.
                            Some(Poll::Ready(())) => Ok(Poll::Ready(Ok(AppError::new(
                                Code::RequestTimeout,
                                "请求超时，请稍后重试",
                            )
                            .into_response()))),
                            _ => Ok(Poll::Pending),
                        }
                    }
                    other => other,
                }
            }
            InnerProj::Refused { res } => Ok(Poll::Ready(Ok(res
                .take()
                .unwrap_or_else(|| Response::new(Body::empty()))))),
        };
        let mut res = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Err(e))) => return Poll::Ready(Err(e)),
            Ok(Poll::Ready(Ok(res))) => res,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                AppError::internal(anyhow::anyhow!("handler panicked: {what}")).into_response()
            }
        };
        hardening::finish(res.headers_mut(), this.id, *this.hsts);
        let took = this.at.elapsed();
        let status = res.status().as_u16();
        if let Some(m) = this.measured.take() {
            m.record(status, took);
        }
        if let Some(s) = this.started.take() {
            let us = took.as_micros() as u64;
            let id = this.id.to_str().unwrap_or("-");
            let (method, path) = (s.method.as_str(), s.uri.path());
            if status >= 500 {
                let cause = res
                    .extensions()
                    .get::<InternalCause>()
                    .map_or("-", |c| c.0.as_str());
                tracing::error!(target: "access", %id, %method, %path, status, us, cause, "request failed");
            } else if tracing::enabled!(target: "access", tracing::Level::INFO) {
                let line = crate::logging::Access {
                    id,
                    method,
                    path,
                    status,
                    us,
                };
                if !crate::logging::access(&line) {
                    // Display, not Debug: nothing here needs escaping (the
                    // id was checked, HTTP paths hold no spaces or control
                    // bytes).
                    tracing::info!(target: "access", %id, %method, %path, status, us);
                }
            }
        }
        Poll::Ready(Ok(res))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_unique_and_valid() {
        let a = next_request_id();
        let b = next_request_id();
        assert_ne!(a, b);
        assert!(sane_incoming(&a));
    }

    #[test]
    fn hostile_incoming_ids_are_replaced() {
        for bad in ["", "a b", "x\ty", &"a".repeat(65), "<script>"] {
            let v = HeaderValue::from_str(bad).unwrap();
            assert!(!sane_incoming(&v), "{bad:?}");
        }
        assert!(sane_incoming(&HeaderValue::from_static("trace-abc-123")));
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_500_envelope() {
        use tower::ServiceExt;
        let inner = tower::service_fn(|_: Request<Body>| async {
            if true {
                panic!("boom");
            }
            Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
        });
        let res = RequestLogLayer::default()
            .layer(inner)
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap();
        assert_eq!(res.status(), 500);
        assert!(res.headers().contains_key(&X_REQUEST_ID));
        assert!(
            res.extensions()
                .get::<InternalCause>()
                .unwrap()
                .0
                .contains("boom")
        );
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"], "INTERNAL_ERROR");
        assert!(!v.to_string().contains("boom"), "details are not sent");
    }
}
