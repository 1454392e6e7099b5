//! Payment routes (spec §支付相关接口), WeChat's notify endpoints, ticket QR
//! images and the dev-mode payment confirmation.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::envelope::{ApiError, ApiResponse, ok, ok_with_message};
use super::extract::{J, P};
use super::guards::{ClientIp, CurrentUser};
use crate::error::AppError;
use crate::error::Code;
use crate::model::orders::RefundActor;
use crate::model::orders::{Order, OrderStatus};
use crate::service::payments::NotifyFault;
use crate::service::{payments, tickets};
use crate::state::AppState;
use crate::wechat::pay::{PaymentParams, SignatureHeaders, v2};

/// Notifies are about 1 KB; anything far larger is not WeChat.
const MAX_NOTIFY_BYTES: usize = 64 * 1024;
/// WeChat limits a refund reason to 80 characters.
const MAX_REASON_CHARS: usize = 80;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayBody {
    pub order_id: String,
}

#[utoipa::path(
    post, path = "/api/payments/wechat", tag = "payments",
    summary = "发起支付：返回 wx.requestPayment 所需参数（APIv3，signType RSA）",
    security(("bearer" = [])),
    request_body = PayBody,
    responses(
        (status = 200, body = ApiResponse<PaymentParams>),
        (status = 401, body = ApiError),
        (status = 404, description = "ORDER_NOT_FOUND", body = ApiError),
        (status = 409, description = "ORDER_NOT_PENDING / ORDER_EXPIRED", body = ApiError),
        (status = 503, description = "PAYMENT_UNAVAILABLE", body = ApiError),
    )
)]
pub async fn pay(
    State(state): State<AppState>,
    user: CurrentUser,
    J(body): J<PayBody>,
) -> Result<Response, AppError> {
    Ok(ok(&payments::start(&state, &user.id, &body.order_id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundBody {
    pub order_id: String,
    /// Up to 80 characters; shown to the buyer by WeChat.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,78}[^\s\x00-\x1f\x7f-\x9f])?)?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub reason: Option<String>,
}

#[utoipa::path(
    post, path = "/api/payments/refund", tag = "payments",
    summary = "申请退款（全部票券未使用，且距开演超过 REFUND_CUTOFF）",
    security(("bearer" = [])),
    request_body = RefundBody,
    responses(
        (status = 200, description = "退款成功 / 退款申请已提交", body = ApiResponse<Order>),
        (status = 400, description = "VALIDATION_FAILED", body = ApiError),
        (status = 401, body = ApiError),
        (status = 404, description = "ORDER_NOT_FOUND", body = ApiError),
        (status = 409, description = "ORDER_NOT_PAID / REFUND_EXISTS / TICKET_USED / REFUND_WINDOW_CLOSED", body = ApiError),
    )
)]
pub async fn refund(
    State(state): State<AppState>,
    user: CurrentUser,
    J(body): J<RefundBody>,
) -> Result<Response, AppError> {
    let reason = body
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if let Some(r) = &reason
        && (r.chars().count() > MAX_REASON_CHARS || r.chars().any(char::is_control))
    {
        return Err(AppError::validation(
            "退款原因最多 80 个字符，且不能包含控制字符",
        ));
    }
    let cutoff_ms = state.config.refund_cutoff.as_millis() as i64;
    let order = payments::refund(
        &state,
        RefundActor::User {
            user_id: user.id.clone(),
            cutoff_ms,
        },
        &body.order_id,
        reason,
    )
    .await?;
    let message = if order.status == OrderStatus::Refunded {
        "退款成功"
    } else {
        "退款申请已提交"
    };
    Ok(ok_with_message(message, &order))
}

fn fail(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"code": "FAIL", "message": message})),
    )
        .into_response()
}

/// The status WeChat sees for a refused notify.
fn notify_status(fault: NotifyFault) -> StatusCode {
    match fault {
        NotifyFault::Disabled => StatusCode::NOT_FOUND,
        NotifyFault::Forged => StatusCode::UNAUTHORIZED,
        NotifyFault::Flood => StatusCode::TOO_MANY_REQUESTS,
        NotifyFault::Refused => StatusCode::BAD_REQUEST,
        NotifyFault::Failed => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn is_xml(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("xml"))
}

/// What a notify answers on failure, in WeChat Pay's own shape (WeChat
/// retries until it reads a success).
#[derive(ToSchema)]
#[allow(dead_code, reason = "documentation only")]
pub struct NotifyFailure {
    #[schema(example = "FAIL")]
    pub code: String,
    pub message: String,
}

#[utoipa::path(
    post, path = "/api/payments/wechat/notify", tag = "payments",
    summary = "微信支付结果通知（APIv3 JSON；配置 WECHAT_MCH_KEY 时也接受 v2 XML）",
    request_body(content = String, description = "微信支付签名的通知原文", content_type = "application/json"),
    responses(
        (status = 204, description = "已处理（v2 XML 通知答 200 + SUCCESS）"),
        (status = 400, description = "内容无效，微信会重试", body = NotifyFailure),
        (status = 401, description = "签名验证失败", body = NotifyFailure),
        (status = 404, description = "未启用微信支付（未配置商户）", body = NotifyFailure),
    )
)]
pub async fn notify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return fail(StatusCode::PAYLOAD_TOO_LARGE, "通知过大");
    };
    if body.len() > MAX_NOTIFY_BYTES {
        return fail(StatusCode::PAYLOAD_TOO_LARGE, "通知过大");
    }
    if is_xml(&headers) {
        let (status, xml) = match payments::notify_v2(&state, ip, &body).await {
            Ok(()) => (StatusCode::OK, v2::reply(true, "")),
            Err(r) => (notify_status(r.fault), v2::reply(false, r.message)),
        };
        return (status, [(header::CONTENT_TYPE, "application/xml")], xml).into_response();
    }
    v3_notify(&state, ip, &headers, &body, false).await
}

/// A v3 notify (payment or refund): 204 when handled, `FAIL` otherwise.
async fn v3_notify(
    state: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: &Bytes,
    refund: bool,
) -> Response {
    if body.len() > MAX_NOTIFY_BYTES {
        return fail(StatusCode::PAYLOAD_TOO_LARGE, "通知过大");
    }
    let sig = SignatureHeaders::from_headers(headers);
    match payments::notify_v3(state, ip, &sig, body, refund).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => fail(notify_status(r.fault), r.message),
    }
}

#[utoipa::path(
    post, path = "/api/payments/wechat/refund-notify", tag = "payments",
    summary = "微信支付退款结果通知（REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED）",
    request_body(content = String, description = "微信支付签名的通知原文", content_type = "application/json"),
    responses(
        (status = 204, description = "已处理"),
        (status = 400, description = "内容无效，微信会重试", body = NotifyFailure),
        (status = 401, description = "签名验证失败", body = NotifyFailure),
        (status = 404, description = "未启用微信支付（未配置商户）", body = NotifyFailure),
    )
)]
pub async fn refund_notify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return fail(StatusCode::PAYLOAD_TOO_LARGE, "通知过大");
    };
    v3_notify(&state, ip, &headers, &body, true).await
}

#[utoipa::path(
    get, path = "/api/tickets/{ticketId}/qr.svg", tag = "payments",
    summary = "票券二维码（SVG，仅票主本人）",
    security(("bearer" = [])),
    params(("ticketId" = String, Path)),
    responses(
        (status = 200, content_type = "image/svg+xml", body = String),
        (status = 401, body = ApiError),
        (status = 404, description = "TICKET_NOT_FOUND", body = ApiError),
    )
)]
pub async fn ticket_qr(
    State(state): State<AppState>,
    user: CurrentUser,
    P(ticket_id): P<String>,
) -> Result<Response, AppError> {
    let svg = tickets::qr_for_user(&state, &user.id, &ticket_id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        svg,
    )
        .into_response())
}

#[utoipa::path(
    post, path = "/api/dev/payments/{orderId}/confirm", tag = "dev",
    summary = "开发模式：模拟支付成功（与真实通知走同一处理流程；生产环境不存在）",
    params(("orderId" = String, Path)),
    responses(
        (status = 200, body = ApiResponse<Order>),
        (status = 404, description = "ORDER_NOT_FOUND", body = ApiError),
    )
)]
pub async fn dev_confirm(
    State(state): State<AppState>,
    P(order_id): P<String>,
) -> Result<Response, AppError> {
    if !state.pay.is_mock() {
        return Err(AppError::new(Code::NotFound, "接口不存在"));
    }
    let order = payments::dev_confirm(&state, &order_id).await?;
    Ok(ok_with_message("模拟支付成功", &order))
}
