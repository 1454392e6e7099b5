//! Payments: turning a pending order into a paid one with tickets, and money
//! back out again. WeChat Pay APIv3 in production; in dev mode (no merchant
//! configuration, never in production) a mock provider that returns
//! well-formed parameters and is confirmed by `POST /api/dev/payments/{id}/confirm`,
//! which runs the same settlement code as a real notify.

mod checkout;
mod notify;
mod reconcile;
mod refunds;

pub(crate) use checkout::{dev_confirm, load_qr_key, start};
pub(crate) use notify::{NotifyFault, notify_v2, notify_v3};
pub(crate) use reconcile::{buyer_order, reconcile_expired};
pub(crate) use refunds::{refund, retry_refunds, send_due_refunds};
