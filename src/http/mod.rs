//! HTTP: routes, middleware, the envelope and extractors.

pub mod catalog;
pub mod envelope;
pub mod extract;
pub mod health;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tracing::Span;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::AppError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "standup-tickets",
        description = "脱口秀俱乐部票务系统 API。所有 /api 响应均为 {code, message, data?, timestamp}；\
                       失败时另含 error (机器可读错误码)。金额以元为单位的数字表示 (最多两位小数)。"
    ),
    tags(
        (name = "catalog", description = "演出目录 (公开)"),
        (name = "ops", description = "运维"),
    )
)]
struct ApiDoc;

/// The routes and their OpenAPI description, generated from the same handlers.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalog::get_tenant))
        .routes(routes!(catalog::home))
        .routes(routes!(catalog::calendar))
        .routes(routes!(catalog::event_detail))
        .routes(routes!(catalog::list_events))
        .routes(routes!(health::healthz))
        .split_for_parts()
}

#[derive(Clone, Default)]
struct UlidRequestId;

impl MakeRequestId for UlidRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&crate::ids::new_id())
            .ok()
            .map(RequestId::new)
    }
}

/// One access-log line per request, inside the request's span (so it carries
/// the request id).
#[derive(Clone, Copy)]
struct LogResponse;

impl<B> tower_http::trace::OnResponse<B> for LogResponse {
    fn on_response(self, res: &Response<B>, latency: Duration, _: &Span) {
        tracing::info!(
            status = res.status().as_u16(),
            latency_us = latency.as_micros() as u64,
            "done"
        );
    }
}

async fn not_found() -> AppError {
    AppError::not_found("NOT_FOUND", "接口不存在")
}

async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "不支持的请求方法",
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    AppError::internal(anyhow::anyhow!("handler panicked")).into_response()
}

/// The whole app: routes, OpenAPI document, static uploads, fallbacks and middleware.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = routes();
    let openapi_json = Bytes::from(openapi.to_json().unwrap_or_default());
    let uploads = ServeDir::new(&state.config.upload_path);

    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(UlidRequestId))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("req", id, method = %req.method(), path = req.uri().path())
                })
                .on_request(())
                .on_response(LogResponse)
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(CatchPanicLayer::custom(panic_response));

    api.route(
        "/api/openapi.json",
        get(move || {
            let body = openapi_json.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
    .nest_service("/static", uploads)
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .with_state(state)
    .layer(middleware)
}
