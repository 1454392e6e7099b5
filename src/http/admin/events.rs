//! Admin show routes (spec §管理后台接口 3 演出管理): list and read for any
//! admin of the club; create, edit, delete, cancel and duplicate for owners.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::AppError;
use crate::http::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use crate::http::extract::{J, P, Q, keyword_param, non_empty};
use crate::http::guards::{Owner, Staff};
use crate::model::catalog::{Event, EventStatus, Page, PageRequest};
use crate::model::events::{AdminEventFilter, EventInput};
use crate::model::sales::EventAdminInfo;
use crate::model::time::parse_date;
use crate::service::admin::events::{self as events, DuplicateInput};
use crate::state::AppState;

/// Documentation shape of a show in the admin answers: the spec's `Event`
/// with `draft` among its statuses and each price option also with `sold`,
/// `held` and `revenue`, plus [`EventAdminInfo`]. Written by hand because
/// flattening `Event` would keep its public status (an intersection in a
/// generated client, where `draft` could never appear).
pub struct AdminEvent;

impl utoipa::PartialSchema for AdminEvent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let mut event =
            serde_json::to_value(<Event as utoipa::PartialSchema>::schema()).unwrap_or_default();
        event["properties"]["status"] =
            serde_json::json!({"$ref": "#/components/schemas/EventStatus"});
        event["properties"]["priceOptions"]["items"] = serde_json::json!({"allOf": [
            {"$ref": "#/components/schemas/PriceOption"},
            {"$ref": "#/components/schemas/Sales"},
        ]});
        serde_json::from_value(serde_json::json!({
            "description": "A show as the admin sees it: the spec's Event (its status may be draft; each price option adds sold, held and revenue) and EventAdminInfo.",
            "allOf": [event, {"$ref": "#/components/schemas/EventAdminInfo"}],
        }))
        .unwrap_or_default()
    }
}

impl ToSchema for AdminEvent {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use crate::model::catalog::{EventStatus, PriceOption};
        use crate::model::sales::Sales;
        use utoipa::PartialSchema;
        for (name, schema) in [
            ("EventStatus", EventStatus::schema()),
            ("PriceOption", PriceOption::schema()),
            ("Sales", Sales::schema()),
            ("EventAdminInfo", EventAdminInfo::schema()),
        ] {
            schemas.push((name.to_string(), schema));
        }
        <Event as ToSchema>::schemas(schemas);
        <EventAdminInfo as ToSchema>::schemas(schemas);
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AdminEventParams {
    /// If given, the admin's own club.
    pub tenant_id: Option<String>,
    /// ≥ 1, default 1.
    pub page: Option<i64>,
    /// 1-100, default 10.
    pub page_size: Option<i64>,
    /// draft | upcoming | onSale | soldOut | cancelled
    pub status: Option<String>,
    /// Matches title, venue, performers or the show id.
    pub keyword: Option<String>,
    /// YYYY-MM-DD: shows on or after this date.
    pub from: Option<String>,
    /// YYYY-MM-DD: shows on or before this date.
    pub to: Option<String>,
}

fn date_param(v: Option<String>, name: &str) -> Result<Option<chrono::NaiveDate>, AppError> {
    non_empty(v)
        .map(|d| {
            parse_date(&d)
                .ok_or_else(|| AppError::validation(format!("{name} 须为 YYYY-MM-DD 格式的日期")))
        })
        .transpose()
}

#[utoipa::path(
    get, path = "/api/admin/events", tag = "admin",
    summary = "演出列表（含草稿；每场附售出、锁定与收入）",
    security(("bearer" = [])),
    params(AdminEventParams),
    responses(
        (status = 200, body = ApiResponse<Page<AdminEvent>>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "TENANT_FORBIDDEN / TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Staff(admin): Staff,
    Q(p): Q<AdminEventParams>,
) -> Result<Response, AppError> {
    let scope = admin.scope(p.tenant_id.as_deref())?;
    let page = PageRequest::new(p.page, p.page_size)?;
    let status = non_empty(p.status)
        .map(|s| {
            EventStatus::parse(&s).ok_or_else(|| {
                AppError::validation("status 须为 draft、upcoming、onSale、soldOut 或 cancelled")
            })
        })
        .transpose()?;
    let filter = AdminEventFilter {
        status,
        keyword: keyword_param(p.keyword)?,
        from: date_param(p.from, "from")?,
        to: date_param(p.to, "to")?,
    };
    Ok(ok(&events::list(&state, scope, filter, page).await?))
}

#[utoipa::path(
    get, path = "/api/admin/events/{eventId}", tag = "admin",
    summary = "演出详情（任何状态；含版本、售出、锁定、收入与取消退款进度）",
    security(("bearer" = [])),
    params(("eventId" = String, Path)),
    responses(
        (status = 200, body = ApiResponse<AdminEvent>),
        (status = 401, body = ApiError),
        (status = 403, description = "TOKEN_KIND_MISMATCH / ADMIN_DISABLED", body = ApiError),
        (status = 404, description = "EVENT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Staff(admin): Staff,
    P(id): P<String>,
) -> Result<Response, AppError> {
    Ok(ok(&events::get(&state, &admin.scope, &id).await?))
}

#[utoipa::path(
    post, path = "/api/admin/events", tag = "admin",
    summary = "创建演出（默认草稿；status 为 onSale/upcoming 即发布）",
    security(("bearer" = [])),
    request_body = EventInput,
    responses(
        (status = 200, description = "创建成功", body = ApiResponse<AdminEvent>),
        (status = 400, description = "VALIDATION_FAILED（message 以字段名开头）", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TENANT_FORBIDDEN / TOKEN_KIND_MISMATCH", body = ApiError),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Owner(admin): Owner,
    J(body): J<EventInput>,
) -> Result<Response, AppError> {
    admin.scope(body.tenant_id.as_deref())?;
    let event = events::create(&state, &admin.actor(), body).await?;
    Ok(ok_with_message("创建成功", &event))
}

#[utoipa::path(
    put, path = "/api/admin/events/{eventId}", tag = "admin",
    summary = "保存演出（整份提交，须带读取时的 version；票档无 id 为新增，未提交的已有票档有订单则停用、无订单则删除）",
    security(("bearer" = [])),
    params(("eventId" = String, Path)),
    request_body = EventInput,
    responses(
        (status = 200, description = "保存成功", body = ApiResponse<AdminEvent>),
        (status = 400, description = "VALIDATION_FAILED（message 以字段名开头）", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TENANT_FORBIDDEN / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "EVENT_NOT_FOUND / PRICE_OPTION_NOT_FOUND", body = ApiError),
        (status = 409, description = "EDIT_CONFLICT / STOCK_BELOW_SOLD / EVENT_HAS_ORDERS / EVENT_CANCELLED", body = ApiError),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
    J(body): J<EventInput>,
) -> Result<Response, AppError> {
    admin.scope(body.tenant_id.as_deref())?;
    let event = events::update(&state, &admin.actor(), &id, body).await?;
    Ok(ok_with_message("保存成功", &event))
}

#[utoipa::path(
    delete, path = "/api/admin/events/{eventId}", tag = "admin",
    summary = "删除演出（仅限从未有过订单的演出；否则请取消演出）",
    security(("bearer" = [])),
    params(("eventId" = String, Path)),
    responses(
        (status = 200, description = "已删除", body = ApiResponse<Option<String>>),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "EVENT_NOT_FOUND", body = ApiError),
        (status = 409, description = "EVENT_HAS_ORDERS", body = ApiError),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
) -> Result<Response, AppError> {
    events::delete(&state, &admin.actor(), &id).await?;
    Ok(ok_with_message("已删除", &serde_json::Value::Null))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelBody {
    /// 1-200 characters; shown to buyers with their refund.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,198}[^\s\x00-\x1f\x7f-\x9f])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub reason: String,
}

#[utoipa::path(
    post, path = "/api/admin/events/{eventId}/cancel", tag = "admin",
    summary = "取消演出：立即停售、释放待支付订单，所有已支付订单全额退款（后台发送，失败自动重试，进度见 refunds）；重复调用不会重复退款",
    security(("bearer" = [])),
    params(("eventId" = String, Path)),
    request_body = CancelBody,
    responses(
        (status = 200, description = "演出已取消", body = ApiResponse<AdminEvent>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "EVENT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
    J(body): J<CancelBody>,
) -> Result<Response, AppError> {
    let event = events::cancel(&state, &admin.actor(), &id, &body.reason).await?;
    Ok(ok_with_message("演出已取消", &event))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateBody {
    /// YYYY-MM-DD, in the future.
    #[schema(format = Date)]
    pub event_date: String,
    /// HH:mm.
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub event_time: String,
    /// RFC 3339; before the new show's start.
    pub sale_start_at: Option<String>,
}

#[utoipa::path(
    post, path = "/api/admin/events/{eventId}/duplicate", tag = "admin",
    summary = "复制演出到新的日期：得到一份草稿，文字与票档相同、库存全满",
    security(("bearer" = [])),
    params(("eventId" = String, Path)),
    request_body = DuplicateBody,
    responses(
        (status = 200, description = "已复制", body = ApiResponse<AdminEvent>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "OWNER_ONLY / TOKEN_KIND_MISMATCH", body = ApiError),
        (status = 404, description = "EVENT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn duplicate(
    State(state): State<AppState>,
    Owner(admin): Owner,
    P(id): P<String>,
    J(body): J<DuplicateBody>,
) -> Result<Response, AppError> {
    let input = DuplicateInput {
        event_date: body.event_date,
        event_time: body.event_time,
        sale_start_at: body.sale_start_at,
    };
    let event = events::duplicate(&state, &admin.actor(), &id, input).await?;
    Ok(ok_with_message("已复制", &event))
}
