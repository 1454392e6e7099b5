//! HTTP: routes, middleware, the envelope and extractors.

pub mod admin;
mod admission;
pub mod catalog;
pub mod console;
pub mod envelope;
pub mod extract;
pub mod guards;
pub mod hardening;
pub mod health;
pub mod openapi;
pub mod orders;
pub mod payments;
pub mod request_log;
mod route_metrics;
pub mod server;
pub mod users;

use std::convert::Infallible;

use tokio::net::TcpListener;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use bytes::Bytes;
use tower::ServiceExt;
use tower_http::services::ServeDir;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::AppError;
use crate::error::Code;
use crate::state::AppState;

/// The routes and their OpenAPI description, generated from the same handlers.
pub fn routes() -> (Router<AppState>, serde_json::Value) {
    let (router, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(catalog::get_tenant))
        .routes(routes!(catalog::home))
        .routes(routes!(catalog::calendar))
        .routes(routes!(catalog::event_detail))
        .routes(routes!(catalog::list_events))
        .routes(routes!(users::wechat_login))
        .routes(routes!(users::me))
        .routes(routes!(users::update_profile))
        .routes(routes!(users::bind_phone))
        .routes(routes!(orders::create, orders::list))
        .routes(routes!(orders::get))
        .routes(routes!(orders::cancel))
        .routes(routes!(payments::pay))
        .routes(routes!(payments::refund))
        .routes(routes!(payments::notify))
        .routes(routes!(payments::refund_notify))
        .routes(routes!(payments::ticket_qr))
        .routes(routes!(payments::dev_confirm))
        .routes(routes!(admin::admins::login))
        .routes(routes!(admin::admins::admin_me))
        .routes(routes!(admin::events::list, admin::events::create))
        .routes(routes!(
            admin::events::get,
            admin::events::update,
            admin::events::delete
        ))
        .routes(routes!(admin::events::cancel))
        .routes(routes!(admin::events::duplicate))
        .routes(routes!(admin::audit::list))
        .routes(routes!(admin::orders::list))
        .routes(routes!(admin::orders::export))
        .routes(routes!(admin::orders::get))
        .routes(routes!(admin::orders::refund))
        .routes(routes!(admin::stats::get))
        .routes(routes!(admin::checkin::check_in))
        .routes(routes!(admin::checkin::undo))
        .routes(routes!(admin::checkin::door_count))
        // The pack is the one large download a steward makes, often on poor
        // mobile data; compressed when the scanner accepts gzip.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(admin::door::pack))
                .routes(routes!(admin::door::changes))
                .layer(tower_http::compression::CompressionLayer::new().gzip(true)),
        )
        // Up to 5,000 offline scans in one upload.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(admin::door::sync))
                .layer(axum::extract::DefaultBodyLimit::max(DOOR_SYNC_BODY_LIMIT)),
        )
        .routes(routes!(
            admin::content::list_banners,
            admin::content::create_banner
        ))
        .routes(routes!(
            admin::content::get_banner,
            admin::content::update_banner,
            admin::content::delete_banner
        ))
        .routes(routes!(admin::content::reorder_banners))
        .routes(routes!(
            admin::content::list_merch,
            admin::content::create_merch
        ))
        .routes(routes!(
            admin::content::get_merch,
            admin::content::update_merch,
            admin::content::delete_merch
        ))
        .routes(routes!(admin::content::reorder_merch))
        .routes(routes!(admin::tenants::get, admin::tenants::save))
        .routes(routes!(admin::admins::list, admin::admins::create))
        .routes(routes!(admin::admins::update))
        .routes(routes!(admin::admins::reset_password))
        .routes(routes!(admin::admins::change_own_password))
        .routes(routes!(admin::admins::logout_all_own))
        .routes(routes!(admin::admins::logout_all))
        // The upload route counts its own body limit (UPLOAD_MAX_BYTES).
        .merge(
            OpenApiRouter::new()
                .routes(routes!(admin::uploads::create, admin::uploads::list))
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .routes(routes!(admin::uploads::delete))
        .routes(routes!(health::healthz))
        .routes(routes!(health::metrics))
        .split_for_parts();
    (router, openapi::finish(doc))
}

async fn not_found() -> AppError {
    AppError::new(Code::NotFound, "接口不存在")
}

async fn no_such_file() -> AppError {
    AppError::new(Code::NotFound, "文件不存在")
}

async fn method_not_allowed() -> AppError {
    AppError::new(Code::MethodNotAllowed, "不支持的请求方法")
}

/// Routes, OpenAPI document, static uploads and fallbacks (no middleware).
pub fn router(state: AppState) -> Router {
    let (api, openapi) = routes();
    let openapi_json = Bytes::from(serde_json::to_vec(&openapi).unwrap_or_default());
    let api = if state.config.admin_console {
        api.route("/admin", get(console::redirect))
            .route("/admin/", get(console::serve))
            .route("/admin/{*path}", get(console::serve))
    } else {
        api
    };
    api.route(
        "/api/openapi.json",
        get(move || {
            let body = openapi_json.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
    .nest_service("/static", static_files(state.config.upload_path.clone()))
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .with_state(state)
}

/// Uploaded images: their type from the extension we gave them, never
/// sniffed, and cached for a year (a file's name never changes meaning).
/// Files only: a folder is 404, never a redirect (which, nested under
/// /static, would lose the prefix, and for `/static///x` point at another
/// host). A missing file is the JSON `404 NOT_FOUND` every other path
/// answers.
fn static_files(
    dir: std::path::PathBuf,
) -> impl tower::Service<
    axum::http::Request<axum::body::Body>,
    Response = impl axum::response::IntoResponse,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ Sync
+ 'static {
    use tower_http::set_header::SetResponseHeaderLayer;
    tower::ServiceBuilder::new()
        // A name the file system refuses (too long, say) is no file either:
        // never a bare 500.
        .map_response(|res: axum::http::Response<_>| {
            use axum::response::IntoResponse;
            if res.status().is_server_error() {
                AppError::new(Code::NotFound, "文件不存在").into_response()
            } else {
                res.into_response()
            }
        })
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        .service(
            ServeDir::new(dir)
                .append_index_html_on_directories(false)
                .redirect_to_trailing_slash(false)
                .not_found_service(get(no_such_file)),
        )
}

/// JSON bodies above this are refused with `413 BODY_TOO_LARGE` (routes
/// that take more say so: door sync, uploads).
pub const JSON_BODY_LIMIT: usize = 64 << 10;
/// A door device's upload of offline scans (5,000 at most, ~120 bytes each).
pub const DOOR_SYNC_BODY_LIMIT: usize = 1 << 20;

/// Serves the app until `shutdown` resolves, then lets in-flight requests finish.
///
/// The middleware wraps the router as a whole rather than through
/// `Router::layer`, which would box and clone it per route and per request.
/// The body limit set out here is a default: a route's own
/// `DefaultBodyLimit` runs later and replaces it.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (_, openapi) = routes();
    let documented = openapi["paths"].as_object().cloned().unwrap_or_default();
    // The wildcard routes first: the document spells them `{path}`.
    let templates = route_metrics::RouteTemplates::new(
        ["/admin/{*path}", "/static/{*path}"]
            .into_iter()
            .chain(documented.keys().map(String::as_str))
            .filter(|t| !matches!(*t, "/admin/{path}" | "/static/{path}")),
        &state.metrics,
    );
    let cors = cors(state.config.cors_origins.as_deref().unwrap_or_default());
    let app = tower::ServiceBuilder::new()
        .layer(request_log::RequestLogLayer::new(state.clone(), templates))
        .option_layer(cors)
        .layer_fn(BodyLimit::new)
        .service(router(state));
    server::serve(
        listener,
        app.map_response(|r| r.map(axum::body::Body::new)),
        shutdown,
    )
    .await
}

/// `DefaultBodyLimit::max(JSON_BODY_LIMIT)` for the requests whose body a
/// handler may read. A GET or HEAD skips it: no such route reads a body, and
/// the limit rides on each request as an extension (an allocation).
#[derive(Clone)]
struct BodyLimit<S> {
    limited: <axum::extract::DefaultBodyLimit as tower::Layer<S>>::Service,
    plain: S,
}

impl<S: Clone> BodyLimit<S> {
    fn new(inner: S) -> Self {
        use tower::Layer;
        BodyLimit {
            limited: axum::extract::DefaultBodyLimit::max(JSON_BODY_LIMIT).layer(inner.clone()),
            plain: inner,
        }
    }
}

impl<S> tower::Service<axum::http::Request<axum::body::Body>> for BodyLimit<S>
where
    S: tower::Service<axum::http::Request<axum::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        match self.limited.poll_ready(cx) {
            std::task::Poll::Ready(Ok(())) => self.plain.poll_ready(cx),
            other => other,
        }
    }

    fn call(&mut self, req: axum::http::Request<axum::body::Body>) -> S::Future {
        use axum::http::Method;
        if matches!(*req.method(), Method::GET | Method::HEAD) {
            self.plain.call(req)
        } else {
            self.limited.call(req)
        }
    }
}

/// `CORS_ORIGINS`: only those origins, only what the API uses; `None`
/// (no CORS headers at all, so browsers refuse cross-origin calls) when
/// the list is empty.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([HeaderName::from_static("x-request-id")])
            .max_age(std::time::Duration::from_secs(3600)),
    )
}

#[cfg(test)]
mod tests {
    use crate::error::Code;

    /// Every machine code a route's OpenAPI responses name is in the
    /// catalogue, under the status the catalogue gives it.
    #[test]
    fn openapi_names_only_catalogue_codes_with_their_status() {
        let (_, doc) = super::routes();
        let mut named = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let Some(responses) = op["responses"].as_object() else {
                    continue;
                };
                for (status, response) in responses {
                    let text = response["description"].as_str().unwrap_or("");
                    for word in text.split(|c: char| !(c.is_ascii_uppercase() || c == '_')) {
                        if word.len() < 4 || !word.contains('_') {
                            continue;
                        }
                        let code = Code::parse(word).unwrap_or_else(|| {
                            panic!("{method} {path} {status}: {word} is not in the catalogue")
                        });
                        assert_eq!(
                            status,
                            &code.status().to_string(),
                            "{method} {path}: {word} is answered with {}",
                            code.status()
                        );
                        named += 1;
                    }
                }
            }
        }
        assert!(named > 10, "the descriptions name the codes ({named})");
    }
}
