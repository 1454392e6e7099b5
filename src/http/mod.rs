//! HTTP: routes, middleware, the envelope and extractors.

pub mod accounts;
pub mod admin_audit;
pub mod admin_events;
pub mod admin_orders;
pub mod admin_stats;
pub mod admin_tenant;
pub mod admins;
pub mod catalog;
pub mod checkin;
pub mod console;
pub mod content;
pub mod door;
pub mod envelope;
pub mod extract;
pub mod guards;
pub mod health;
pub mod orders;
pub mod payments;
pub mod request_log;
pub mod server;
pub mod uploads;

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

#[derive(OpenApi)]
#[openapi(
    info(
        title = "standup-tickets",
        description = "脱口秀俱乐部票务系统 API。所有 /api 响应均为 {code, message, data?, timestamp}；\
                       失败时另含 error (机器可读错误码)。金额以元为单位的数字表示 (最多两位小数)。"
    ),
    tags(
        (name = "catalog", description = "演出目录 (公开)"),
        (name = "identity", description = "小程序用户：登录与资料"),
        (name = "orders", description = "订单"),
        (name = "payments", description = "支付、退款与票券"),
        (name = "dev", description = "开发模式专用（生产环境不存在）"),
        (name = "admin", description = "管理后台"),
        (name = "ops", description = "运维"),
    ),
    modifiers(&BearerAuth, &OutsideRouter)
)]
struct ApiDoc;

/// The routes served beside the handlers' own: the console, uploaded
/// files and this document. Described by hand so the document lists every
/// path the server answers.
struct OutsideRouter;

impl utoipa::Modify for OutsideRouter {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let get = |summary: &str, ok: serde_json::Value, param: Option<&str>| {
            let mut op = serde_json::json!({
                "tags": ["ops"],
                "summary": summary,
                "responses": {
                    "200": ok,
                    "404": {"description": "NOT_FOUND", "content": {"application/json":
                        {"schema": {"$ref": "#/components/schemas/ApiError"}}}}
                }
            });
            if let Some(name) = param {
                op["parameters"] = serde_json::json!([{"name": name, "in": "path",
                    "required": true, "schema": {"type": "string"}}]);
            }
            serde_json::from_value::<utoipa::openapi::path::PathItem>(
                serde_json::json!({"get": op}),
            )
            .expect("a well-formed path item")
        };
        let html = serde_json::json!({"description": "控制台页面", "content": {"text/html": {}}});
        for (path, item) in [
            (
                "/admin",
                get(
                    "管理控制台（跳转到 /admin/）",
                    serde_json::json!({"description": "跳转"}),
                    None,
                ),
            ),
            ("/admin/", get("管理控制台", html.clone(), None)),
            (
                "/admin/{path}",
                get("管理控制台的页面与静态文件", html, Some("path")),
            ),
            (
                "/static/{path}",
                get(
                    "上传的图片（按扩展名给出类型，缓存一年）",
                    serde_json::json!({"description": "图片", "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}),
                    Some("path"),
                ),
            ),
            (
                "/api/openapi.json",
                get(
                    "本 OpenAPI 文档",
                    serde_json::json!({"description": "OpenAPI 3.1", "content": {"application/json": {}}}),
                    None,
                ),
            ),
        ] {
            doc.paths.paths.insert(path.to_string(), item);
        }
    }
}

/// Declares the `bearer` scheme the authenticated routes name.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The routes and their OpenAPI description, generated from the same handlers.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalog::get_tenant))
        .routes(routes!(catalog::home))
        .routes(routes!(catalog::calendar))
        .routes(routes!(catalog::event_detail))
        .routes(routes!(catalog::list_events))
        .routes(routes!(accounts::wechat_login))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::update_profile))
        .routes(routes!(accounts::bind_phone))
        .routes(routes!(orders::create, orders::list))
        .routes(routes!(orders::get))
        .routes(routes!(orders::cancel))
        .routes(routes!(payments::pay))
        .routes(routes!(payments::refund))
        .routes(routes!(payments::notify))
        .routes(routes!(payments::refund_notify))
        .routes(routes!(payments::ticket_qr))
        .routes(routes!(payments::dev_confirm))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::admin_me))
        .routes(routes!(admin_events::list, admin_events::create))
        .routes(routes!(
            admin_events::get,
            admin_events::update,
            admin_events::delete
        ))
        .routes(routes!(admin_events::cancel))
        .routes(routes!(admin_events::duplicate))
        .routes(routes!(admin_audit::list))
        .routes(routes!(admin_orders::list))
        .routes(routes!(admin_orders::export))
        .routes(routes!(admin_orders::get))
        .routes(routes!(admin_orders::refund))
        .routes(routes!(admin_stats::get))
        .routes(routes!(checkin::check_in))
        .routes(routes!(checkin::undo))
        .routes(routes!(checkin::door_count))
        // The pack is the one large download a steward makes, often on poor
        // mobile data; compressed when the scanner accepts gzip.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(door::pack))
                .routes(routes!(door::changes))
                .layer(tower_http::compression::CompressionLayer::new().gzip(true)),
        )
        // Up to 5,000 offline scans in one upload.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(door::sync))
                .layer(axum::extract::DefaultBodyLimit::max(DOOR_SYNC_BODY_LIMIT)),
        )
        .routes(routes!(content::list_banners, content::create_banner))
        .routes(routes!(
            content::get_banner,
            content::update_banner,
            content::delete_banner
        ))
        .routes(routes!(content::reorder_banners))
        .routes(routes!(content::list_merch, content::create_merch))
        .routes(routes!(
            content::get_merch,
            content::update_merch,
            content::delete_merch
        ))
        .routes(routes!(content::reorder_merch))
        .routes(routes!(admin_tenant::get, admin_tenant::save))
        .routes(routes!(admins::list, admins::create))
        .routes(routes!(admins::update))
        .routes(routes!(admins::reset_password))
        .routes(routes!(admins::change_own_password))
        .routes(routes!(admins::logout_all_own))
        .routes(routes!(admins::logout_all))
        // The upload route counts its own body limit (UPLOAD_MAX_BYTES).
        .merge(
            OpenApiRouter::new()
                .routes(routes!(uploads::create, uploads::list))
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .routes(routes!(uploads::delete))
        .routes(routes!(health::healthz))
        .routes(routes!(health::metrics))
        .split_for_parts();
    let mut doc = doc;
    unique_operation_ids(&mut doc);
    (router, doc)
}

/// utoipa names an operation after its handler, and several modules have a
/// `list` or a `get`; OpenAPI wants each id once (client generators name
/// their methods after them). A shared name becomes its path's words and
/// the method: `admin_events_get`.
fn unique_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    use std::collections::HashMap;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in doc.paths.paths.values() {
        for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch]
            .into_iter()
            .flatten()
        {
            if let Some(id) = &op.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let words: Vec<&str> = path
            .split('/')
            .filter(|w| !w.is_empty() && *w != "api" && !w.starts_with('{'))
            .collect();
        for (method, op) in [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ] {
            let Some(op) = op else { continue };
            if op.operation_id.as_ref().is_some_and(|id| seen[id] > 1) {
                let mut id = words.join("_").replace(['-', '.'], "_");
                if path.ends_with('}') {
                    id.push_str("_item");
                }
                op.operation_id = Some(format!("{id}_{method}"));
            }
        }
    }
}

async fn not_found() -> AppError {
    AppError::new(Code::NotFound, "接口不存在")
}

async fn method_not_allowed() -> AppError {
    AppError::new(Code::MethodNotAllowed, "不支持的请求方法")
}

/// Routes, OpenAPI document, static uploads and fallbacks (no middleware).
pub fn router(state: AppState) -> Router {
    let (api, openapi) = routes();
    let openapi_json = Bytes::from(openapi.to_json().unwrap_or_default());
    // Files only: a folder is 404, never a redirect (which, nested under
    // /static, would lose the prefix, and for `/static///x` point at
    // another host).
    let uploads = ServeDir::new(&state.config.upload_path)
        .append_index_html_on_directories(false)
        .redirect_to_trailing_slash(false);

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
    .nest_service("/static", static_files(uploads))
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .with_state(state)
}

/// Uploaded images: their type from the extension we gave them, never
/// sniffed, and cached for a year (a file's name never changes meaning).
fn static_files(
    dir: ServeDir,
) -> impl tower::Service<
    axum::http::Request<axum::body::Body>,
    Response = axum::response::Response<tower_http::services::fs::ServeFileSystemResponseBody>,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ Sync
+ 'static {
    use tower_http::set_header::SetResponseHeaderLayer;
    tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        .service(dir)
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
    // The wildcard routes first: the document spells them `{path}`.
    let templates = request_log::RouteTemplates::new(
        ["/admin/{*path}", "/static/{*path}"]
            .into_iter()
            .chain(openapi.paths.paths.keys().map(String::as_str))
            .filter(|t| !matches!(*t, "/admin/{path}" | "/static/{path}")),
    );
    let cors = cors(&state.config.cors_origins);
    let app = tower::ServiceBuilder::new()
        .layer(request_log::RequestLogLayer::new(state.clone(), templates))
        .option_layer(cors)
        .layer(axum::extract::DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .service(router(state));
    server::serve(
        listener,
        app.map_response(|r| r.map(axum::body::Body::new)),
        shutdown,
    )
    .await
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
        let doc = serde_json::to_value(&doc).unwrap();
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
