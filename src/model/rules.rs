//! The box office's rules as pure functions over rows the store has already
//! loaded in its transaction: whether a purchase goes through, whether an
//! order may be refunded, and what a payment does to its order. The store
//! loads, asks these, then writes; they are tested here without SQLite.

use super::catalog::EventStatus;
use super::orders::OrderStatus;
use crate::error::{Code, Rejection};

/// What the purchase check reads, in the writer's one lookup.
#[derive(Debug, Clone)]
pub struct PurchaseFacts<'a> {
    pub event_status: &'a str,
    pub starts_at: i64,
    pub sale_start_at: Option<i64>,
    pub sale_end_at: Option<i64>,
    pub max_per_order: i64,
    pub max_per_user: i64,
    /// `None` when the option does not exist or belongs to another show.
    pub option: Option<OptionFacts<'a>>,
    /// Seats this buyer already holds (pending or paid) for the show.
    pub held: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct OptionFacts<'a> {
    pub price: i64,
    pub status: &'a str,
    pub remaining: i64,
}

/// A purchase the rules allow: what it costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purchase {
    pub unit_price: i64,
    pub total: i64,
}

/// The show on sale, the option active, the per-order and per-user limits,
/// then stock, in that order (the first refusal is the one the buyer sees).
pub fn check_purchase(
    f: &PurchaseFacts<'_>,
    quantity: i64,
    now: i64,
) -> Result<Purchase, Rejection> {
    match EventStatus::parse(f.event_status) {
        Some(EventStatus::OnSale) | Some(EventStatus::SoldOut) => {}
        Some(EventStatus::Upcoming) => {
            return Err(Rejection::new(Code::SaleNotStarted, "尚未开售，请稍后再来"));
        }
        Some(EventStatus::Cancelled) => {
            return Err(Rejection::new(Code::EventCancelled, "演出已取消"));
        }
        _ => return Err(Rejection::new(Code::EventNotFound, "演出不存在")),
    }
    if f.sale_start_at.is_some_and(|s| s > now) {
        return Err(Rejection::new(Code::SaleNotStarted, "尚未开售，请稍后再来"));
    }
    if f.starts_at <= now || f.sale_end_at.is_some_and(|e| e <= now) {
        return Err(Rejection::new(Code::SaleEnded, "本场演出已停止售票"));
    }
    let Some(option) = f.option else {
        return Err(Rejection::new(Code::PriceOptionNotFound, "票档不存在"));
    };
    if option.status != "active" {
        return Err(Rejection::new(Code::PriceOptionUnavailable, "该票档已停售"));
    }
    if quantity < 1 || quantity > f.max_per_order {
        return Err(Rejection::new(
            Code::ExceedsMaxPerOrder,
            format!("每单限购 1-{} 张", f.max_per_order),
        ));
    }
    if f.held + quantity > f.max_per_user {
        let left = (f.max_per_user - f.held).max(0);
        return Err(Rejection::new(
            Code::PurchaseLimitExceeded,
            format!("每人限购 {} 张，您还可购买 {left} 张", f.max_per_user),
        ));
    }
    if option.remaining < quantity {
        return Err(if option.remaining == 0 {
            Rejection::new(Code::SoldOut, "该票档已售罄")
        } else {
            Rejection::new(
                Code::InsufficientStock,
                format!("余票不足，该票档仅剩 {} 张", option.remaining),
            )
        });
    }
    let total = option
        .price
        .checked_mul(quantity)
        .ok_or_else(|| Rejection::new(Code::ValidationFailed, "金额超出范围"))?;
    Ok(Purchase {
        unit_price: option.price,
        total,
    })
}

/// Any refund: the order is paid (or, when `allow_used`, checked in) and no
/// refund is under way or done.
pub fn check_refundable(
    status: OrderStatus,
    refund_live: bool,
    allow_used: bool,
) -> Result<(), Rejection> {
    if refund_live || status == OrderStatus::Refunded {
        return Err(Rejection::new(
            Code::RefundExists,
            "该订单已申请退款，请勿重复提交",
        ));
    }
    if status == OrderStatus::Used && !allow_used {
        return Err(Rejection::new(Code::TicketUsed, "已检票入场的订单不能退款"));
    }
    if !(status == OrderStatus::Paid || (allow_used && status == OrderStatus::Used)) {
        return Err(Rejection::new(
            Code::OrderNotPaid,
            "只有已支付且未使用的订单可以退款",
        ));
    }
    Ok(())
}

/// A buyer's own refund, besides [`check_refundable`]: every ticket unused…
pub fn check_tickets_unused(any_ticket_used: bool) -> Result<(), Rejection> {
    if any_ticket_used {
        return Err(Rejection::new(Code::TicketUsed, "已有票券使用过，不能退款"));
    }
    Ok(())
}

/// …and the show more than `cutoff_ms` away.
pub fn check_refund_window(starts_at: i64, cutoff_ms: i64, now: i64) -> Result<(), Rejection> {
    if starts_at - now <= cutoff_ms {
        let minutes = cutoff_ms / 60_000;
        let span = if minutes % 60 == 0 {
            format!("{} 小时", minutes / 60)
        } else {
            format!("{minutes} 分钟")
        };
        return Err(Rejection::new(
            Code::RefundWindowClosed,
            format!("演出开始前 {span}内不能退款"),
        ));
    }
    Ok(())
}

/// What a verified payment does to its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEffect {
    /// This transaction was applied before: nothing changes.
    AlreadySettled,
    /// Pending → paid, tickets issued.
    Pay,
    /// Paid after its hold ran out: kept if the seats can be taken again
    /// ([`late_payment_may_keep_seats`] and the stock), else refunded.
    Late,
    /// Another transaction for a settled order: kept as it is, audited.
    SecondTransaction,
}

pub fn payment_effect(status: OrderStatus, same_transaction: bool) -> PaymentEffect {
    if same_transaction {
        return PaymentEffect::AlreadySettled;
    }
    match status {
        OrderStatus::Pending => PaymentEffect::Pay,
        OrderStatus::Cancelled => PaymentEffect::Late,
        OrderStatus::Paid | OrderStatus::Used | OrderStatus::Refunded => {
            PaymentEffect::SecondTransaction
        }
    }
}

/// A late payment keeps its seats only while the show is ahead and the
/// buyer's limit still allows them (the stock itself is the writer's
/// conditional take).
pub fn late_payment_may_keep_seats(
    show_cancelled: bool,
    show_ahead: bool,
    held: i64,
    quantity: i64,
    max_per_user: i64,
) -> bool {
    !show_cancelled && show_ahead && held + quantity <= max_per_user
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn facts(status: &'static str) -> PurchaseFacts<'static> {
        PurchaseFacts {
            event_status: status,
            starts_at: NOW + 86_400_000,
            sale_start_at: None,
            sale_end_at: None,
            max_per_order: 4,
            max_per_user: 6,
            option: Some(OptionFacts {
                price: 8850,
                status: "active",
                remaining: 10,
            }),
            held: 0,
        }
    }

    fn refused(r: Result<Purchase, Rejection>) -> &'static str {
        r.unwrap_err().code.as_str()
    }

    #[test]
    fn a_purchase_within_the_rules_costs_price_times_quantity() {
        assert_eq!(
            check_purchase(&facts("onSale"), 3, NOW),
            Ok(Purchase {
                unit_price: 8850,
                total: 26_550
            })
        );
        // A sold-out show whose option has seats back still sells.
        assert!(check_purchase(&facts("soldOut"), 1, NOW).is_ok());
    }

    #[test]
    fn refusals_come_in_order() {
        assert_eq!(
            refused(check_purchase(&facts("upcoming"), 1, NOW)),
            "SALE_NOT_STARTED"
        );
        assert_eq!(
            refused(check_purchase(&facts("cancelled"), 1, NOW)),
            "EVENT_CANCELLED"
        );
        assert_eq!(
            refused(check_purchase(&facts("draft"), 1, NOW)),
            "EVENT_NOT_FOUND"
        );
        let mut f = facts("onSale");
        f.sale_start_at = Some(NOW + 1);
        assert_eq!(refused(check_purchase(&f, 1, NOW)), "SALE_NOT_STARTED");
        let mut f = facts("onSale");
        f.sale_end_at = Some(NOW);
        assert_eq!(refused(check_purchase(&f, 1, NOW)), "SALE_ENDED");
        let mut f = facts("onSale");
        f.starts_at = NOW;
        assert_eq!(refused(check_purchase(&f, 1, NOW)), "SALE_ENDED");
        let mut f = facts("onSale");
        f.option = None;
        assert_eq!(
            refused(check_purchase(&f, 1, NOW)),
            "PRICE_OPTION_NOT_FOUND"
        );
        let mut f = facts("onSale");
        f.option.as_mut().unwrap().status = "disabled";
        assert_eq!(
            refused(check_purchase(&f, 1, NOW)),
            "PRICE_OPTION_UNAVAILABLE"
        );
        for q in [0, -1, 5] {
            assert_eq!(
                refused(check_purchase(&facts("onSale"), q, NOW)),
                "EXCEEDS_MAX_PER_ORDER"
            );
        }
        let mut f = facts("onSale");
        f.held = 4;
        let r = check_purchase(&f, 3, NOW).unwrap_err();
        assert_eq!(
            (r.code.as_str(), r.message.as_str()),
            ("PURCHASE_LIMIT_EXCEEDED", "每人限购 6 张，您还可购买 2 张")
        );
        let mut f = facts("onSale");
        f.option.as_mut().unwrap().remaining = 2;
        let r = check_purchase(&f, 3, NOW).unwrap_err();
        assert_eq!(
            (r.code.as_str(), r.message.as_str()),
            ("INSUFFICIENT_STOCK", "余票不足，该票档仅剩 2 张")
        );
        f.option.as_mut().unwrap().remaining = 0;
        assert_eq!(refused(check_purchase(&f, 1, NOW)), "SOLD_OUT");
        let mut f = facts("onSale");
        f.option.as_mut().unwrap().price = i64::MAX;
        assert_eq!(refused(check_purchase(&f, 2, NOW)), "VALIDATION_FAILED");
    }

    #[test]
    fn refund_policy() {
        assert!(check_refundable(OrderStatus::Paid, false, false).is_ok());
        assert!(check_refundable(OrderStatus::Used, false, true).is_ok());
        let code = |r: Result<(), Rejection>| r.unwrap_err().code.as_str();
        assert_eq!(
            code(check_refundable(OrderStatus::Paid, true, false)),
            "REFUND_EXISTS"
        );
        assert_eq!(
            code(check_refundable(OrderStatus::Refunded, false, true)),
            "REFUND_EXISTS"
        );
        for s in [OrderStatus::Pending, OrderStatus::Cancelled] {
            assert_eq!(code(check_refundable(s, false, false)), "ORDER_NOT_PAID");
        }
        assert_eq!(
            code(check_refundable(OrderStatus::Used, false, false)),
            "TICKET_USED"
        );
        let day = 86_400_000;
        assert!(check_tickets_unused(false).is_ok());
        assert_eq!(code(check_tickets_unused(true)), "TICKET_USED");
        assert!(check_refund_window(NOW + day + 1, day, NOW).is_ok());
        let r = check_refund_window(NOW + day, day, NOW).unwrap_err();
        assert_eq!(
            (r.code.as_str(), r.message.as_str()),
            ("REFUND_WINDOW_CLOSED", "演出开始前 24 小时内不能退款")
        );
    }

    #[test]
    fn payment_effects() {
        use PaymentEffect::*;
        assert_eq!(payment_effect(OrderStatus::Paid, true), AlreadySettled);
        assert_eq!(payment_effect(OrderStatus::Pending, false), Pay);
        assert_eq!(payment_effect(OrderStatus::Cancelled, false), Late);
        for s in [OrderStatus::Paid, OrderStatus::Used, OrderStatus::Refunded] {
            assert_eq!(payment_effect(s, false), SecondTransaction);
        }
        assert!(late_payment_may_keep_seats(false, true, 2, 2, 4));
        assert!(!late_payment_may_keep_seats(false, true, 3, 2, 4));
        assert!(!late_payment_may_keep_seats(false, false, 0, 1, 4));
        assert!(!late_payment_may_keep_seats(true, true, 0, 1, 4));
    }
}
