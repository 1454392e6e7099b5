//! The seam between orders and WeChat Pay. The payment issue fills these in;
//! until then no order ever has a prepay id, so nothing reaches here.

use crate::app::AppState;

/// What to do with an expired pending order that reached WeChat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeforeExpire {
    /// WeChat says unpaid (and the WeChat order is now closed): expire it.
    Expire,
    /// WeChat says paid: process the payment instead of expiring.
    Paid,
    /// WeChat could not be asked: try again on a later tick.
    Retry,
}

/// Called by the expiry tick for each expired order with a prepay id, before
/// it is cancelled: a payment may have just happened. The payment issue queries
/// `GET /v3/pay/transactions/out-trade-no/{id}` here and closes the WeChat order.
pub async fn before_expire(_state: &AppState, _order_id: &str) -> BeforeExpire {
    BeforeExpire::Expire
}
