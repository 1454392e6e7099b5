//! Orders and tickets as the API shows them (the spec's `Order` / `Ticket`), the
//! order state machine, and contact validation.

pub mod export;

use crate::error::Code;
use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::{Event, PriceOption};
use super::fields::{bounded_text, valid_phone};
use super::{Fen, Timestamp};
use crate::error::Rejection;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum OrderStatus {
    /// Holding stock until `expiresAt`, waiting for payment.
    Pending,
    Paid,
    Cancelled,
    Refunded,
    /// Every ticket checked in.
    Used,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Used => "used",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => OrderStatus::Pending,
            "paid" => OrderStatus::Paid,
            "cancelled" => OrderStatus::Cancelled,
            "refunded" => OrderStatus::Refunded,
            "used" => OrderStatus::Used,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The buyer cancelled.
    User,
    /// Not paid before `expiresAt`.
    Timeout,
    Admin,
    EventCancelled,
}

impl CancelReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::User => "user",
            CancelReason::Timeout => "timeout",
            CancelReason::Admin => "admin",
            CancelReason::EventCancelled => "event_cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => CancelReason::User,
            "timeout" => CancelReason::Timeout,
            "admin" => CancelReason::Admin,
            "event_cancelled" => CancelReason::EventCancelled,
            _ => return None,
        })
    }
}

/// A ticket's state as the spec names it (a refunded order's tickets are
/// `expired`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum TicketStatus {
    Valid,
    Used,
    Expired,
}

impl TicketStatus {
    pub fn parse(s: &str) -> Option<TicketStatus> {
        Some(match s {
            "valid" => TicketStatus::Valid,
            "used" => TicketStatus::Used,
            "expired" => TicketStatus::Expired,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub id: String,
    pub order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seat_no: Option<String>,
    pub qr_code: String,
    pub status: TicketStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub used_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// The spec's `Order`, plus `unitPrice`, `expiresAt` and `cancelReason`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub event_id: String,
    pub price_option_id: String,
    pub quantity: i64,
    /// Yuan: the option's price when the order was made.
    #[schema(value_type = f64)]
    pub unit_price: Fen,
    /// Yuan: unitPrice × quantity.
    #[schema(value_type = f64)]
    pub total_amount: Fen,
    pub user_name: String,
    pub user_phone: String,
    pub status: OrderStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub paid_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub refunded_at: Option<Timestamp>,
    /// A pending order holds its seats until then; pay before it.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<CancelReason>,
    /// Whether the order reached WeChat Pay (internal: decides whether a
    /// poll asks WeChat about it).
    #[serde(skip)]
    #[schema(ignore)]
    pub has_prepay: bool,
    pub tickets: Vec<Ticket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_option: Option<PriceOption>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// Contact details on an order: name 1-50 characters, mainland mobile.
pub fn valid_contact(name: &str, phone: &str) -> Result<(String, String), Rejection> {
    Ok((bounded_text(name, "联系人姓名", 50)?, valid_phone(phone)?))
}

/// `Idempotency-Key`: 1-64 printable ASCII characters.
pub fn valid_idempotency_key(key: &str) -> Result<&str, Rejection> {
    if (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(key)
    } else {
        Err(Rejection::new(
            Code::ValidationFailed,
            "Idempotency-Key 须为 1-64 个可见 ASCII 字符",
        ))
    }
}

/// Filters for a buyer's order list.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub tenant_id: Option<String>,
    pub status: Option<OrderStatus>,
}

/// Who asks for a refund, and whether the buyer's policy applies.
#[derive(Debug, Clone)]
pub enum RefundActor {
    /// The buyer: own orders only, every ticket still valid, the show more
    /// than the club's cut-off away (`cutoff_ms`, the server's, where the
    /// club set none).
    User { user_id: String, cutoff_ms: i64 },
    /// A club admin: no cut-off, own club only; an order with a ticket
    /// checked in needs `force`.
    Admin {
        admin_id: String,
        tenant_id: String,
        force: bool,
    },
}

/// Filters of the admin order list and export.
#[derive(Debug, Clone, Default)]
pub struct AdminOrderFilter {
    pub status: Option<OrderStatus>,
    pub event_id: Option<String>,
    /// Matches the order id exactly, or the contact's phone or name in part.
    pub keyword: Option<String>,
    /// Created at or after (unix ms).
    pub from_ms: Option<i64>,
    /// Created before (unix ms).
    pub to_ms: Option<i64>,
}

/// Where a page of the admin list ended: the last order's creation time and
/// id, opaque to clients (`nextCursor` → `cursor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCursor {
    pub created_at: i64,
    pub id: String,
}

impl OrderCursor {
    pub fn encode(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{}.{}", self.created_at, self.id))
    }

    pub fn decode(text: &str) -> Result<OrderCursor, Rejection> {
        use base64::Engine;
        let bad = || Rejection::new(Code::ValidationFailed, "cursor 无效，请从第一页重新加载");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let (at, id) = raw.split_once('.').ok_or_else(bad)?;
        let created_at = at.parse().map_err(|_| bad())?;
        if !crate::ids::looks_like_id(id) {
            return Err(bad());
        }
        Ok(OrderCursor {
            created_at,
            id: id.to_string(),
        })
    }
}

/// A refund of an order, as the admin detail lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundRecord {
    pub id: String,
    pub out_refund_no: String,
    #[schema(value_type = f64)]
    pub amount: Fen,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// processing | success | abnormal | closed
    pub status: String,
    /// `user:<id>`, `admin:<id>` or `system`.
    pub requested_by: String,
    /// buyer | admin | late_payment | event_cancelled
    pub cause: String,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A payment notification WeChat sent about an order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRecord {
    /// pay_v3 | pay_v2 | refund_v3
    pub kind: String,
    pub verified: bool,
    pub processed: bool,
    pub verdict: String,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
}

/// The admin's view of an order: the spec's `Order` (tickets, event, option)
/// plus its payment notifications and refunds.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminOrder {
    #[serde(flatten)]
    pub order: Order,
    pub payments: Vec<PaymentRecord>,
    pub refunds: Vec<RefundRecord>,
}

/// A page of the admin list: the spec's pagination plus `nextCursor`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    pub items: Vec<Order>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub total_pages: i64,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
