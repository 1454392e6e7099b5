//! Coupons: the terms a club sets and what they take off an order, in fen.
//! One function prices an order with a coupon ([`Coupon::discount`]); the
//! quote, the order's writer transaction and the tests all ask it, so a
//! coupon is one more input to the price, never a second path.

use super::Fen;

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terms {
    /// 立减: a fixed amount off the order.
    AmountOff { amount_off: Fen },
    /// 满减: a fixed amount off an order of at least `min_amount`.
    Threshold { min_amount: Fen, amount_off: Fen },
    /// 折扣: the order at `rate` percent (80 is 八折), the saving capped at
    /// `max_discount` when there is one.
    Discount {
        rate: i64,
        max_discount: Option<Fen>,
    },
    /// 兑换券: one ticket of the order free.
    FreeTicket,
}

/// Which shows and price options a coupon may be used on: empty lists
/// mean every one of the club's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub event_ids: Vec<String>,
    pub price_option_ids: Vec<String>,
}

impl Scope {
    pub fn covers(&self, event_id: &str, price_option_id: &str) -> bool {
        (self.event_ids.is_empty() || self.event_ids.iter().any(|e| e == event_id))
            && (self.price_option_ids.is_empty()
                || self.price_option_ids.iter().any(|o| o == price_option_id))
    }
}

/// A buyer's coupon as an order sees it: its terms, where it applies, and
/// the window in which it may be spent (epoch milliseconds, end excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    pub terms: Terms,
    pub scope: Scope,
    pub valid_from: i64,
    pub valid_to: i64,
}

/// The order a coupon is asked to price.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub event_id: &'a str,
    pub price_option_id: &'a str,
    /// The option's price, per ticket.
    pub unit_price: Fen,
    pub quantity: i64,
}

impl Line<'_> {
    /// What the tickets cost before any coupon.
    pub fn original(&self) -> Fen {
        Fen(self.unit_price.0.saturating_mul(self.quantity.max(0)))
    }
}

/// Why a coupon cannot price an order: each is a refusal the buyer is
/// told (and the quote lists beside the unusable coupon).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotUsable {
    NotStarted,
    Expired,
    /// Another show or price option.
    NotApplicable,
    /// A 满减 coupon on an order below its threshold; the shortfall.
    BelowThreshold {
        short_by: Fen,
    },
}

impl NotUsable {
    /// In the buyer's words, for the quote.
    pub fn reason(&self) -> String {
        match self {
            NotUsable::NotStarted => "未到可用时间".into(),
            NotUsable::Expired => "已过期".into(),
            NotUsable::NotApplicable => "不适用于该演出或票档".into(),
            NotUsable::BelowThreshold { short_by } => {
                format!("还差 {} 元可用", short_by.yuan_text())
            }
        }
    }
}

impl Coupon {
    /// What the coupon takes off `line` at `now`: never more than the order
    /// costs, so the total paid is never negative.
    pub fn discount(&self, line: &Line<'_>, now: i64) -> Result<Fen, NotUsable> {
        if now < self.valid_from {
            return Err(NotUsable::NotStarted);
        }
        if now >= self.valid_to {
            return Err(NotUsable::Expired);
        }
        if !self.scope.covers(line.event_id, line.price_option_id) {
            return Err(NotUsable::NotApplicable);
        }
        Ok(Fen(self.terms.off(line)?.0.clamp(0, line.original().0)))
    }
}

impl Terms {
    fn off(&self, line: &Line<'_>) -> Result<Fen, NotUsable> {
        let original = line.original();
        Ok(match *self {
            Terms::AmountOff { amount_off } => amount_off,
            Terms::Threshold {
                min_amount,
                amount_off,
            } => {
                if original.0 < min_amount.0 {
                    return Err(NotUsable::BelowThreshold {
                        short_by: Fen(min_amount.0 - original.0),
                    });
                }
                amount_off
            }
            Terms::Discount { rate, max_discount } => {
                // The buyer pays `rate`% rounded up to the fen: the saving
                // is never more than the rate promises.
                let cost = original.0.max(0);
                let paid = (cost as u128 * rate.clamp(0, 100) as u128).div_ceil(100);
                let off = Fen(cost - paid as i64);
                match max_discount {
                    Some(cap) if cap.0 < off.0 => cap,
                    _ => off,
                }
            }
            Terms::FreeTicket if line.quantity > 0 => line.unit_price,
            Terms::FreeTicket => Fen(0),
        })
    }

    /// The terms in words, as the console's preview and the wallet say
    /// them: 立减 10 元, 满 100 减 20, 8 折, 8.5 折 最多减 30 元, 免费兑换 1 张.
    pub fn describe(&self) -> String {
        match *self {
            Terms::AmountOff { amount_off } => format!("立减 {} 元", amount_off.yuan_text()),
            Terms::Threshold {
                min_amount,
                amount_off,
            } => format!(
                "满 {} 减 {}",
                min_amount.yuan_text(),
                amount_off.yuan_text()
            ),
            Terms::Discount { rate, max_discount } => {
                let fold = if rate % 10 == 0 {
                    format!("{} 折", rate / 10)
                } else {
                    format!("{}.{} 折", rate / 10, rate % 10)
                };
                match max_discount {
                    Some(cap) => format!("{fold} 最多减 {} 元", cap.yuan_text()),
                    None => fold,
                }
            }
            Terms::FreeTicket => "免费兑换 1 张".into(),
        }
    }
}

impl Fen {
    /// Yuan as a person writes it: `20`, `88.5`, `0.01`.
    pub fn yuan_text(self) -> String {
        let (sign, abs) = if self.0 < 0 {
            ("-", -self.0)
        } else {
            ("", self.0)
        };
        let (yuan, fen) = (abs / 100, abs % 100);
        match fen {
            0 => format!("{sign}{yuan}"),
            f if f % 10 == 0 => format!("{sign}{yuan}.{}", f / 10),
            f => format!("{sign}{yuan}.{f:02}"),
        }
    }
}

/// The buyer's usable coupons for one order, best (largest saving) first;
/// equal savings keep the order they came in.
pub fn best_first<T>(usable: &mut [(T, Fen)]) {
    usable.sort_by_key(|u| std::cmp::Reverse(u.1.0));
}

/// Single-use codes are drawn from this alphabet: no 0/O, 1/I/L, so a code
/// read aloud or off paper is typed right.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_800_000_000_000;

    fn coupon(terms: Terms) -> Coupon {
        Coupon {
            terms,
            scope: Scope::default(),
            valid_from: NOW - 1,
            valid_to: NOW + 1,
        }
    }

    fn line(unit: i64, quantity: i64) -> Line<'static> {
        Line {
            event_id: "e1",
            price_option_id: "o1",
            unit_price: Fen(unit),
            quantity,
        }
    }

    #[test]
    fn each_kind_prices_an_order() {
        let two = line(8_850, 2); // ¥177
        let off = |t| coupon(t).discount(&two, NOW);
        assert_eq!(
            off(Terms::AmountOff {
                amount_off: Fen(1_000)
            }),
            Ok(Fen(1_000))
        );
        assert_eq!(
            off(Terms::Threshold {
                min_amount: Fen(10_000),
                amount_off: Fen(2_000)
            }),
            Ok(Fen(2_000))
        );
        assert_eq!(
            off(Terms::Threshold {
                min_amount: Fen(20_000),
                amount_off: Fen(2_000)
            }),
            Err(NotUsable::BelowThreshold {
                short_by: Fen(2_300)
            })
        );
        // 八折 of ¥177: pay ¥141.60, save ¥35.40.
        assert_eq!(
            off(Terms::Discount {
                rate: 80,
                max_discount: None
            }),
            Ok(Fen(3_540))
        );
        assert_eq!(
            off(Terms::Discount {
                rate: 80,
                max_discount: Some(Fen(3_000))
            }),
            Ok(Fen(3_000))
        );
        // 85% of 3 fen is 2.55: the buyer pays 3, saves nothing.
        assert_eq!(
            coupon(Terms::Discount {
                rate: 85,
                max_discount: None
            })
            .discount(&line(3, 1), NOW),
            Ok(Fen(0))
        );
        assert_eq!(off(Terms::FreeTicket), Ok(Fen(8_850)));
        // More off than the order costs: the order is free, never negative.
        assert_eq!(
            coupon(Terms::AmountOff {
                amount_off: Fen(50_000)
            })
            .discount(&two, NOW),
            Ok(Fen(17_700))
        );
    }

    #[test]
    fn window_and_scope() {
        let mut c = coupon(Terms::AmountOff {
            amount_off: Fen(100),
        });
        let l = line(1_000, 1);
        assert_eq!(c.discount(&l, NOW - 2), Err(NotUsable::NotStarted));
        assert_eq!(
            c.discount(&l, NOW + 1),
            Err(NotUsable::Expired),
            "end excluded"
        );
        c.scope.event_ids = vec!["e2".into()];
        assert_eq!(c.discount(&l, NOW), Err(NotUsable::NotApplicable));
        c.scope.event_ids.push("e1".into());
        c.scope.price_option_ids = vec!["o2".into()];
        assert_eq!(c.discount(&l, NOW), Err(NotUsable::NotApplicable));
        c.scope.price_option_ids.push("o1".into());
        assert_eq!(c.discount(&l, NOW), Ok(Fen(100)));
    }

    #[test]
    fn terms_in_words() {
        assert_eq!(
            Terms::AmountOff {
                amount_off: Fen(1_000)
            }
            .describe(),
            "立减 10 元"
        );
        assert_eq!(
            Terms::Threshold {
                min_amount: Fen(10_000),
                amount_off: Fen(2_050)
            }
            .describe(),
            "满 100 减 20.5"
        );
        assert_eq!(
            Terms::Discount {
                rate: 80,
                max_discount: None
            }
            .describe(),
            "8 折"
        );
        assert_eq!(
            Terms::Discount {
                rate: 85,
                max_discount: Some(Fen(3_001))
            }
            .describe(),
            "8.5 折 最多减 30.01 元"
        );
        assert_eq!(Terms::FreeTicket.describe(), "免费兑换 1 张");
        assert_eq!(
            NotUsable::BelowThreshold {
                short_by: Fen(2_300)
            }
            .reason(),
            "还差 23 元可用"
        );
    }

    #[test]
    fn best_saving_first() {
        let mut u = vec![
            ("a", Fen(100)),
            ("b", Fen(500)),
            ("c", Fen(100)),
            ("d", Fen(0)),
        ];
        best_first(&mut u);
        assert_eq!(
            u.iter().map(|x| x.0).collect::<Vec<_>>(),
            ["b", "a", "c", "d"]
        );
    }

    #[test]
    fn the_code_alphabet_has_nothing_to_misread() {
        for c in b"01OIL" {
            assert!(!CODE_ALPHABET.contains(c));
        }
    }

    fn any_terms() -> impl Strategy<Value = Terms> {
        prop_oneof![
            (0i64..10_000_000).prop_map(|a| Terms::AmountOff { amount_off: Fen(a) }),
            (0i64..10_000_000, 0i64..10_000_000).prop_map(|(m, a)| Terms::Threshold {
                min_amount: Fen(m),
                amount_off: Fen(a)
            }),
            (1i64..=99, proptest::option::of(0i64..10_000_000)).prop_map(|(r, m)| {
                Terms::Discount {
                    rate: r,
                    max_discount: m.map(Fen),
                }
            }),
            Just(Terms::FreeTicket),
        ]
    }

    proptest! {
        /// Whatever the terms and the order: the saving is within the
        /// order's cost, and what is paid is never negative.
        #[test]
        fn a_discount_never_exceeds_the_order(
            terms in any_terms(),
            unit in 0i64..10_000_000,
            quantity in 1i64..=50,
        ) {
            let l = line(unit, quantity);
            if let Ok(off) = coupon(terms).discount(&l, NOW) {
                prop_assert!(off.0 >= 0 && off.0 <= l.original().0);
                if let Terms::Discount { rate, .. } = terms {
                    // Paid at least `rate`%.
                    prop_assert!((l.original().0 - off.0) * 100 >= l.original().0 * rate);
                }
            }
        }
    }
}
