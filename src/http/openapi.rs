//! The OpenAPI document: what utoipa derives from the handlers, made exact
//! where derivation cannot be. Routes outside the handlers are described by
//! hand, operation ids made unique, and a property the server leaves out
//! when it has no value is optional, never `null` (what a typed client
//! generated from the document expects).

use serde_json::{Value, json};
use utoipa::OpenApi;

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
pub struct ApiDoc;

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

/// The derived document made exact (see the module's comment).
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> Value {
    unique_operation_ids(&mut doc);
    let mut v = serde_json::to_value(&doc).unwrap_or_default();
    optional_not_nullable(&mut v);
    query_rules(&mut v);
    shared_errors(&mut v);
    v
}

/// Every answer's optional property loses `null`: the server omits what it
/// has not (`skip_serializing_if`), so `T | null` would only make a client
/// check for a value that never comes. Request bodies keep `null`, which
/// the server reads as absent.
fn optional_not_nullable(doc: &mut Value) {
    let mut roots = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for item in paths.values() {
            for op in item.as_object().into_iter().flat_map(|m| m.values()) {
                let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                    continue;
                };
                for r in responses.values() {
                    for media in r["content"]
                        .as_object()
                        .into_iter()
                        .flat_map(|m| m.values())
                    {
                        roots.push(media["schema"].clone());
                    }
                }
            }
        }
    }
    // The named schemas an answer reaches, following references.
    let mut reached = std::collections::BTreeSet::new();
    let mut todo = roots;
    while let Some(schema) = todo.pop() {
        let mut refs = Vec::new();
        collect_refs(&schema, &mut refs);
        for name in refs {
            if reached.insert(name.clone())
                && let Some(s) = doc["components"]["schemas"].get(&name)
            {
                todo.push(s.clone());
            }
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for op in item
                .as_object_mut()
                .into_iter()
                .flat_map(|m| m.values_mut())
            {
                let responses = op.get_mut("responses").and_then(Value::as_object_mut);
                for r in responses.into_iter().flat_map(|m| m.values_mut()) {
                    let content = r.get_mut("content").and_then(Value::as_object_mut);
                    for media in content.into_iter().flat_map(|m| m.values_mut()) {
                        if let Some(schema) = media.get_mut("schema") {
                            strip_optional_null(schema);
                        }
                    }
                }
            }
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in reached {
            if let Some(s) = schemas.get_mut(&name) {
                strip_optional_null(s);
            }
        }
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(name) = m
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.push(name.to_string());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// In `schema` and every schema inside it (references are not followed).
fn strip_optional_null(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let required: Vec<String> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, prop) in props.iter_mut() {
            if !required.contains(name) {
                not_null(prop);
            }
        }
    }
    for (key, sub) in obj.iter_mut() {
        match key.as_str() {
            "properties" => sub
                .as_object_mut()
                .into_iter()
                .flat_map(|m| m.values_mut())
                .for_each(strip_optional_null),
            "items" | "additionalProperties" => strip_optional_null(sub),
            "allOf" | "oneOf" | "anyOf" => sub
                .as_array_mut()
                .into_iter()
                .flatten()
                .for_each(strip_optional_null),
            _ => {}
        }
    }
}

/// `T | null` becomes `T`, in either way utoipa writes it.
fn not_null(prop: &mut Value) {
    if let Some(types) = prop.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            prop["type"] = types[0].clone();
        }
        return;
    }
    let Some(one_of) = prop.get("oneOf").and_then(Value::as_array) else {
        return;
    };
    let rest: Vec<Value> = one_of
        .iter()
        .filter(|s| *s != &json!({"type": "null"}))
        .cloned()
        .collect();
    if rest.len() == 1 {
        let mut only = rest[0].clone();
        if let (Some(d), Some(m)) = (prop.get("description").cloned(), only.as_object_mut()) {
            m.entry("description").or_insert(d);
        }
        *prop = only;
    } else {
        prop["oneOf"] = Value::Array(rest);
    }
}

/// The query parameters every list shares are read by the same parsers
/// (`PageRequest`, `parse_date`, the status enums): their rules, written
/// once here for every route that takes them, so generated requests and
/// clients stay inside what the server accepts.
fn query_rules(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let public = path.starts_with("/api/events");
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            let params = op.get_mut("parameters").and_then(Value::as_array_mut);
            for p in params.into_iter().flatten() {
                if p["in"] != "query" {
                    continue;
                }
                let name = p["name"].as_str().unwrap_or_default().to_string();
                let schema = match name.as_str() {
                    "page" => json!({"type": "integer", "minimum": 1, "maximum": 1_000_000}),
                    "pageSize" => json!({"type": "integer", "minimum": 1, "maximum": 100}),
                    "date" | "from" | "to" => or_empty(json!({"type": "string", "format": "date"})),
                    "since" => {
                        or_empty(json!({"type": "integer", "minimum": 0, "maximum": i64::MAX}))
                    }
                    "period" => or_empty(json!({"$ref": "#/components/schemas/Period"})),
                    "status" if public => {
                        or_empty(json!({"$ref": "#/components/schemas/PublicEventStatus"}))
                    }
                    "status" if path.starts_with("/api/admin/events") => {
                        or_empty(json!({"$ref": "#/components/schemas/EventStatus"}))
                    }
                    "status" if path.contains("/orders") => {
                        or_empty(json!({"$ref": "#/components/schemas/OrderStatus"}))
                    }
                    // The public catalogue needs to know the club; a value
                    // of white space alone is trimmed to nothing (400).
                    "tenantId" if public => {
                        p["required"] = json!(true);
                        json!({"type": "string", "minLength": 1, "pattern": NOT_ONLY_TRIMMED})
                    }
                    _ => continue,
                };
                p["schema"] = schema;
            }
        }
    }
}

/// Holds a character other than the white space the server trims (Rust's
/// `str::trim`, spelled out: a regex's `\s` means more in some languages).
const NOT_ONLY_TRIMMED: &str =
    r"[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// An empty value is read as absent (`status=` is every status).
fn or_empty(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "string", "maxLength": 0}]})
}

/// The errors any route of a kind can answer, from the layers every such
/// route passes through: a JSON body's extractor (`400` on a missing or
/// malformed body) and the bearer guards (`401` without a valid token,
/// `403` with a token of the other kind).
fn shared_errors(doc: &mut Value) {
    let error = |codes: &str| {
        json!({"description": codes, "content": {"application/json":
            {"schema": {"$ref": "#/components/schemas/ApiError"}}}})
    };
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if !path.starts_with("/api/") || path.contains("/notify") {
            continue;
        }
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            let json_body = op
                .pointer("/requestBody/content/application~1json")
                .is_some();
            let bearer = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x.get("bearer").is_some()));
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            if json_body {
                responses
                    .entry("400")
                    .or_insert_with(|| error("VALIDATION_FAILED"));
            }
            if bearer {
                responses.entry("401").or_insert_with(|| {
                    error("UNAUTHORIZED / TOKEN_INVALID / TOKEN_EXPIRED / TOKEN_REVOKED")
                });
                responses
                    .entry("403")
                    .or_insert_with(|| error("TOKEN_KIND_MISMATCH"));
            }
        }
    }
}
