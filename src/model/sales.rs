//! What the admin answers add to the spec's `Event` and `PriceOption`:
//! sales per option and show, the edit version, and a cancelled show's
//! refund progress.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Fen, Timestamp};

/// What an option has sold: the admin answers add these to each option.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sales {
    /// Seats in paid and used orders.
    pub sold: i64,
    /// Seats in pending orders (held until they are paid or expire).
    pub held: i64,
    /// Yuan: paid and used orders (refunded ones are no longer counted).
    #[schema(value_type = f64)]
    pub revenue: Fen,
}

impl std::ops::AddAssign for Sales {
    fn add_assign(&mut self, o: Sales) {
        self.sold += o.sold;
        self.held += o.held;
        self.revenue = Fen(self.revenue.0 + o.revenue.0);
    }
}

/// What the admin answers add to a show.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventAdminInfo {
    /// Send it back with a `PUT`: a save over a newer version is refused.
    pub version: i64,
    #[serde(flatten)]
    pub sales: Sales,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<Timestamp>,
    /// A cancelled show: the refunds of its paid orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunds: Option<RefundProgress>,
}

/// How far the refunds of a cancelled show have come.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundProgress {
    pub refunds_total: i64,
    pub refunds_done: i64,
    /// Refunds whose last attempt failed (retried with backoff) or that
    /// WeChat closed or marked abnormal (need a human).
    pub refunds_failed: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}
