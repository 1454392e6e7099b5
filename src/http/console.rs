//! The web console at `/admin/`: the files of `assets/admin/`, embedded in
//! the binary and prepared once at start.
//!
//! Files refer to each other with `?v=__BUILD__`; the placeholder becomes a
//! hash of the whole console, so such a URL names one exact content and is
//! cached for a year, while `index.html` (and a bare URL) is revalidated
//! each time against its strong `ETag`. Text files are also kept gzipped.
//! A path without a file extension is a page of the console's own router
//! and gets `index.html`. Every answer carries a strict CSP: no inline
//! script, no eval, not framed.

use std::collections::HashMap;
use std::io::Write;
use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "assets/admin/"]
struct Files;

/// What the page may load: only this origin's scripts, styles, fonts and
/// API; images also from https (posters) and data/blob URLs (previews,
/// the camera); never framed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                   img-src 'self' https: data: blob:; media-src 'self' blob:; \
                   connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

const PLACEHOLDER: &str = "__BUILD__";
/// In the service worker: the JSON list of every file it keeps for offline use.
const SHELL_PLACEHOLDER: &str = "__SHELL__";
const SERVICE_WORKER: &str = "sw.js";

struct Asset {
    bytes: Bytes,
    gzip: Option<Bytes>,
    content_type: &'static str,
    etag: HeaderValue,
}

/// The console, ready to serve.
pub struct Console {
    files: HashMap<String, Asset>,
    /// The hash every versioned URL carries.
    pub build: String,
}

fn content_type(name: &str) -> Option<&'static str> {
    Some(match name.rsplit_once('.')?.1 {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" | "webmanifest" => "application/manifest+json",
        "ico" => "image/x-icon",
        _ => return None,
    })
}

fn is_text(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.ends_with("json")
        || content_type.contains("svg")
}

fn gzipped(bytes: &[u8]) -> Option<Bytes> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).ok()?;
    let out = enc.finish().ok()?;
    (out.len() < bytes.len()).then(|| Bytes::from(out))
}

impl Console {
    fn load() -> Console {
        let mut names: Vec<String> = Files::iter()
            .map(|n| n.to_string())
            .filter(|n| content_type(n).is_some())
            .collect();
        names.sort();
        let mut bundle = Sha256::new();
        for name in &names {
            if let Some(f) = Files::get(name) {
                bundle.update(name.as_bytes());
                bundle.update(f.data.as_ref());
            }
        }
        let build = hex::encode(&bundle.finalize()[..8]);
        let shell: Vec<String> = names
            .iter()
            .filter(|n| n.as_str() != SERVICE_WORKER)
            .map(|n| match n.as_str() {
                "index.html" => "/admin/".to_string(),
                n => format!("/admin/{n}?v={build}"),
            })
            .collect();
        let shell = serde_json::to_string(&shell).unwrap_or_else(|_| "[]".into());
        let mut files = HashMap::new();
        for name in names {
            let (Some(f), Some(ct)) = (Files::get(&name), content_type(&name)) else {
                continue;
            };
            let mut bytes = f.data.into_owned();
            if is_text(ct) {
                let text = String::from_utf8_lossy(&bytes)
                    .replace(PLACEHOLDER, &build)
                    .replace(SHELL_PLACEHOLDER, &shell);
                bytes = text.into_bytes();
            }
            let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
            files.insert(
                name,
                Asset {
                    gzip: is_text(ct).then(|| gzipped(&bytes)).flatten(),
                    bytes: Bytes::from(bytes),
                    content_type: ct,
                    etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
                },
            );
        }
        Console { files, build }
    }

    /// The answer for `path` (below `/admin/`) with the request's query and
    /// headers.
    pub fn respond(&self, path: &str, query: Option<&str>, headers: &HeaderMap) -> Response {
        let path = path.trim_start_matches('/');
        let last = path.rsplit('/').next().unwrap_or("");
        let name = if path.is_empty() || !last.contains('.') {
            "index.html"
        } else {
            path
        };
        let Some(asset) = self.files.get(name) else {
            return with_security(
                crate::error::AppError::new(crate::error::Code::NotFound, "页面不存在")
                    .into_response(),
            );
        };
        let versioned = name != "index.html"
            && query.is_some_and(|q| {
                q.split('&')
                    .any(|kv| kv.strip_prefix("v=") == Some(self.build.as_str()))
            });
        let cache = if versioned {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let matches = headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim() == asset.etag.to_str().unwrap_or_default() || t.trim() == "*");
        let accepts_gzip = headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|e| {
                let mut parts = e.split(';');
                parts.next().map(str::trim) == Some("gzip")
                    && !parts.any(|p| p.trim().replace(' ', "") == "q=0")
            });
        let mut res = if matches {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            match (&asset.gzip, accepts_gzip) {
                (Some(z), true) => {
                    let mut r = z.clone().into_response();
                    r.headers_mut()
                        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    r
                }
                _ => asset.bytes.clone().into_response(),
            }
        };
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        h.insert(header::ETAG, asset.etag.clone());
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        with_security(res)
    }
}

fn with_security(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// The console, prepared on first use.
pub static CONSOLE: LazyLock<Console> = LazyLock::new(Console::load);

/// `GET /admin/{*path}` and `GET /admin/`.
pub async fn serve(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let path = uri.path().strip_prefix("/admin").unwrap_or("");
    CONSOLE.respond(path, uri.query(), &headers)
}

/// `GET /admin`: the console lives at `/admin/`.
pub async fn redirect() -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, "/admin/")],
    )
        .into_response()
}
