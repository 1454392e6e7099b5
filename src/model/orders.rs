//! Orders and tickets as the API shows them (the spec's `Order` / `Ticket`), the
//! order state machine, and contact validation.

use crate::error::Code;
use serde::Serialize;
use utoipa::ToSchema;

use super::accounts::{bounded_text, valid_phone};
use super::catalog::{Event, PriceOption};
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

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub id: String,
    pub order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seat_no: Option<String>,
    pub qr_code: String,
    /// valid | used | expired
    pub status: String,
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
    /// than `cutoff_ms` away.
    User { user_id: String, cutoff_ms: i64 },
    /// A club admin (admin issue): no policy checks, own club only.
    Admin { admin_id: String, tenant_id: String },
}
