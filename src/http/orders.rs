//! Order routes (spec §订单相关接口).

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use super::extract::{IdempotencyKey, J, P, Q, non_empty};
use super::guards::CurrentUser;
use crate::error::AppError;
use crate::model::catalog::{Page, PageRequest};
use crate::model::orders::OrderFilter;
use crate::model::orders::{Order, OrderStatus};
use crate::service::orders::{self, CreateInput};
use crate::service::payments;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// 1-50 characters.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,48}[^\s\x00-\x1f\x7f-\x9f])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// Mainland mobile number.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*1[3-9][0-9]{9}[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub phone: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderBody {
    pub event_id: String,
    pub price_option_id: String,
    /// 1 to the show's maxPerOrder.
    #[schema(minimum = 1, maximum = 50)]
    pub quantity: i64,
    pub user_info: UserInfo,
}

#[utoipa::path(
    post, path = "/api/orders", tag = "orders",
    summary = "创建订单（锁定座位，待支付，expiresAt 前支付）",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "重试同一购买时带相同的值：返回同一订单，不会重复下单")),
    request_body = CreateOrderBody,
    responses(
        (status = 200, description = "下单成功", body = ApiResponse<Order>),
        (status = 400, description = "VALIDATION_FAILED / EXCEEDS_MAX_PER_ORDER", body = ApiError),
        (status = 401, body = ApiError),
        (status = 404, description = "EVENT_NOT_FOUND / PRICE_OPTION_NOT_FOUND", body = ApiError),
        (status = 409, description = "SOLD_OUT / INSUFFICIENT_STOCK / PURCHASE_LIMIT_EXCEEDED / SALE_NOT_STARTED / SALE_ENDED / EVENT_CANCELLED / PRICE_OPTION_UNAVAILABLE / IDEMPOTENCY_KEY_REUSED", body = ApiError),
        (status = 429, description = "RATE_LIMITED", body = ApiError),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    J(body): J<CreateOrderBody>,
) -> Result<Response, AppError> {
    let order = orders::create(
        &state,
        &user.id,
        CreateInput {
            event_id: body.event_id,
            price_option_id: body.price_option_id,
            quantity: body.quantity,
            name: body.user_info.name,
            phone: body.user_info.phone,
            idempotency_key,
        },
    )
    .await?;
    Ok(ok_with_message("下单成功", &order))
}

#[utoipa::path(
    get, path = "/api/orders/{orderId}", tag = "orders",
    summary = "订单详情（含 tickets、event、priceOption）",
    security(("bearer" = [])),
    params(("orderId" = String, Path)),
    responses(
        (status = 200, body = ApiResponse<Order>),
        (status = 401, body = ApiError),
        (status = 404, description = "ORDER_NOT_FOUND (不存在或不属于当前用户)", body = ApiError),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    P(order_id): P<String>,
) -> Result<Response, AppError> {
    Ok(ok(
        &payments::buyer_order(&state, &user.id, &order_id).await?
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct OrderListParams {
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    /// pending | paid | cancelled | refunded | used
    pub status: Option<String>,
    /// Only this club's orders.
    pub tenant_id: Option<String>,
}

#[utoipa::path(
    get, path = "/api/orders", tag = "orders",
    summary = "我的订单（最新在前）",
    security(("bearer" = [])),
    params(OrderListParams),
    responses(
        (status = 200, body = ApiResponse<Page<Order>>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 404, description = "TENANT_NOT_FOUND", body = ApiError),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Q(p): Q<OrderListParams>,
) -> Result<Response, AppError> {
    let page = PageRequest::new(p.page, p.page_size)?;
    let status = match non_empty(p.status) {
        None => None,
        Some(s) => Some(OrderStatus::parse(&s).ok_or_else(|| {
            AppError::validation("status 须为 pending、paid、cancelled、refunded 或 used")
        })?),
    };
    let tenant_id = match non_empty(p.tenant_id) {
        Some(t) if !crate::model::catalog::valid_tenant_id(&t) => {
            return Err(AppError::tenant_not_found());
        }
        other => other,
    };
    let page = orders::list(&state, &user.id, OrderFilter { tenant_id, status }, page).await?;
    Ok(ok(&page))
}

#[utoipa::path(
    put, path = "/api/orders/{orderId}/cancel", tag = "orders",
    summary = "取消待支付订单（释放座位）",
    security(("bearer" = [])),
    params(("orderId" = String, Path)),
    responses(
        (status = 200, description = "订单已取消", body = ApiResponse<Order>),
        (status = 401, body = ApiError),
        (status = 404, description = "ORDER_NOT_FOUND", body = ApiError),
        (status = 409, description = "ORDER_NOT_PENDING", body = ApiError),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    P(order_id): P<String>,
) -> Result<Response, AppError> {
    let order = orders::cancel(&state, &user.id, &order_id).await?;
    Ok(ok_with_message("订单已取消", &order))
}
