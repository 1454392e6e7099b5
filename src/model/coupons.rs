//! Coupons: the terms a club sets and what they take off an order, in fen.
//! One function prices an order with a coupon ([`Coupon::discount`]); the
//! quote, the order's writer transaction and the tests all ask it, so a
//! coupon is one more input to the price, never a second path.

use serde::Deserialize;
use utoipa::ToSchema;

use super::Fen;
use super::catalog::ActiveStatus;
use super::fields::{in_range, instant, optional_text, refuse, text, yuan};
use crate::error::Rejection;

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

/// How a coupon's validity is set: a fixed window, or a number of days
/// from when each buyer gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Window { from: i64, to: i64 },
    Days(i64),
}

impl Validity {
    /// The window of a coupon a buyer gets at `issued_at`.
    pub fn window(self, issued_at: i64) -> (i64, i64) {
        match self {
            Validity::Window { from, to } => (from, to),
            Validity::Days(days) => (issued_at, issued_at + days * 86_400_000),
        }
    }
}

/// The body of `POST`/`PUT /api/admin/coupons`; money in yuan.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CouponInput {
    /// 1-50 characters.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// amountOff | threshold | discount | freeTicket
    pub kind: String,
    /// Yuan off (amountOff, threshold).
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount_off: Option<serde_json::Number>,
    /// The order total from which a threshold coupon applies, in yuan.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub min_amount: Option<serde_json::Number>,
    /// The percentage paid, 1-99 (80 = 八折).
    #[serde(default)]
    pub discount_rate: Option<i64>,
    /// The most a discount coupon takes off, in yuan.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub max_discount: Option<serde_json::Number>,
    /// Empty: every show of the club.
    #[serde(default)]
    pub event_ids: Vec<String>,
    #[serde(default)]
    pub price_option_ids: Vec<String>,
    /// RFC 3339; with `validTo`, instead of `validDays`.
    #[serde(default)]
    pub valid_from: Option<String>,
    #[serde(default)]
    pub valid_to: Option<String>,
    /// Days from when a buyer gets it, 1-3650.
    #[serde(default)]
    pub valid_days: Option<i64>,
    /// How many may ever be issued, by every channel together.
    pub total_count: i64,
    /// Per buyer, 1-100 (default 1).
    #[serde(default)]
    pub per_user_limit: Option<i64>,
    /// Shown in the mini-program's coupon centre.
    #[serde(default)]
    pub claimable: bool,
    /// A shared promo code: 4-32 letters, digits, `-` or `_`; matched
    /// without regard to case.
    #[serde(default)]
    pub code: Option<String>,
    /// active | disabled
    #[serde(default)]
    pub status: Option<String>,
}

/// A checked coupon body, money in fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponDraft {
    pub name: String,
    pub description: Option<String>,
    pub terms: Terms,
    pub scope: Scope,
    pub validity: Validity,
    pub total_count: i64,
    pub per_user_limit: i64,
    pub claimable: bool,
    /// Upper-cased.
    pub code: Option<String>,
    pub status: ActiveStatus,
}

/// The most coupons one batch may ever issue.
pub const MAX_TOTAL: i64 = 1_000_000;
/// The most shows or price options a coupon may name.
pub const MAX_SCOPE: usize = 200;

fn amount(n: Option<&serde_json::Number>, field: &str) -> Result<Fen, Rejection> {
    let f = yuan(n.ok_or_else(|| refuse(field, "必填"))?, field)?;
    if f.0 == 0 {
        return Err(refuse(field, "须大于 0"));
    }
    Ok(f)
}

fn ids(values: &[String], field: &str) -> Result<Vec<String>, Rejection> {
    if values.len() > MAX_SCOPE {
        return Err(refuse(field, format!("最多 {MAX_SCOPE} 项")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let v = v.trim();
        if !crate::ids::looks_like_id(v) {
            return Err(refuse(field, "含有无效的 id"));
        }
        if out.iter().any(|o| o == v) {
            return Err(refuse(field, "同一 id 出现了两次"));
        }
        out.push(v.to_string());
    }
    Ok(out)
}

/// A promo code as stored and matched: trimmed, upper-cased.
pub fn normalize_code(code: &str) -> Result<String, Rejection> {
    let c = code.trim().to_ascii_uppercase();
    if (4..=32).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(c)
    } else {
        Err(refuse("code", "须为 4-32 位字母、数字、- 或 _"))
    }
}

impl CouponInput {
    /// Checks the body; whether its show ids are the club's is the store's
    /// to say.
    pub fn validate(&self) -> Result<CouponDraft, Rejection> {
        let name = text(&self.name, "name", 50, false)?;
        let description = optional_text(self.description.as_deref(), "description", 500, true)?;
        let terms = match self.kind.trim() {
            "amountOff" => Terms::AmountOff {
                amount_off: amount(self.amount_off.as_ref(), "amountOff")?,
            },
            "threshold" => {
                let min_amount = amount(self.min_amount.as_ref(), "minAmount")?;
                let amount_off = amount(self.amount_off.as_ref(), "amountOff")?;
                if amount_off.0 >= min_amount.0 {
                    return Err(refuse("amountOff", "须小于 minAmount"));
                }
                Terms::Threshold {
                    min_amount,
                    amount_off,
                }
            }
            "discount" => Terms::Discount {
                rate: in_range(
                    self.discount_rate
                        .ok_or_else(|| refuse("discountRate", "必填"))?,
                    "discountRate",
                    1,
                    99,
                )?,
                max_discount: self
                    .max_discount
                    .as_ref()
                    .map(|n| amount(Some(n), "maxDiscount"))
                    .transpose()?,
            },
            "freeTicket" => Terms::FreeTicket,
            _ => {
                return Err(refuse(
                    "kind",
                    "须为 amountOff、threshold、discount 或 freeTicket",
                ));
            }
        };
        let from = instant(self.valid_from.as_deref(), "validFrom")?;
        let to = instant(self.valid_to.as_deref(), "validTo")?;
        let validity = match (from, to, self.valid_days) {
            (Some(from), Some(to), None) if to > from => Validity::Window { from, to },
            (Some(_), Some(_), None) => return Err(refuse("validTo", "须晚于 validFrom")),
            (None, None, Some(days)) => Validity::Days(in_range(days, "validDays", 1, 3650)?),
            (_, _, Some(_)) if from.is_some() || to.is_some() => {
                return Err(refuse("validDays", "与 validFrom/validTo 只能二选一"));
            }
            (Some(_), None, _) => return Err(refuse("validTo", "必填")),
            _ => {
                return Err(refuse(
                    "validFrom",
                    "须填写 validFrom 与 validTo，或 validDays",
                ));
            }
        };
        let status = match self.status.as_deref().map(str::trim) {
            None => ActiveStatus::Active,
            Some(s) => {
                ActiveStatus::parse(s).ok_or_else(|| refuse("status", "须为 active 或 disabled"))?
            }
        };
        Ok(CouponDraft {
            name,
            description,
            terms,
            scope: Scope {
                event_ids: ids(&self.event_ids, "eventIds")?,
                price_option_ids: ids(&self.price_option_ids, "priceOptionIds")?,
            },
            validity,
            total_count: in_range(self.total_count, "totalCount", 1, MAX_TOTAL)?,
            per_user_limit: in_range(self.per_user_limit.unwrap_or(1), "perUserLimit", 1, 100)?,
            claimable: self.claimable,
            code: self.code.as_deref().map(normalize_code).transpose()?,
            status,
        })
    }
}

impl CouponDraft {
    /// Whether saving `new` over `self` would change what a buyer who holds
    /// the coupon already has (its terms, where it applies, or a window
    /// that ends sooner or starts later): refused once any is issued. The
    /// name, the description, a later end, a larger supply, the channels
    /// and the status may change.
    pub fn changes_what_buyers_hold(&self, new: &CouponDraft) -> bool {
        let window_shrinks = match (self.validity, new.validity) {
            (Validity::Window { from: f0, to: t0 }, Validity::Window { from: f1, to: t1 }) => {
                f1 > f0 || t1 < t0
            }
            (Validity::Days(d0), Validity::Days(d1)) => d1 < d0,
            _ => true,
        };
        self.terms != new.terms
            || self.scope != new.scope
            || window_shrinks
            || new.per_user_limit < self.per_user_limit
    }
}

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

    fn input(kind: &str) -> CouponInput {
        CouponInput {
            name: "新人券".into(),
            description: None,
            kind: kind.into(),
            amount_off: Some(20.into()),
            min_amount: Some(100.into()),
            discount_rate: Some(80),
            max_discount: None,
            event_ids: vec![],
            price_option_ids: vec![],
            valid_from: None,
            valid_to: None,
            valid_days: Some(30),
            total_count: 100,
            per_user_limit: None,
            claimable: true,
            code: Some(" new-2027 ".into()),
            status: None,
        }
    }

    fn refused(i: &CouponInput) -> String {
        i.validate().unwrap_err().message
    }

    #[test]
    fn a_body_becomes_terms_in_fen() {
        let d = input("threshold").validate().unwrap();
        assert_eq!(
            d.terms,
            Terms::Threshold {
                min_amount: Fen(10_000),
                amount_off: Fen(2_000)
            }
        );
        assert_eq!((d.per_user_limit, d.code.as_deref()), (1, Some("NEW-2027")));
        assert_eq!(d.validity.window(1_000), (1_000, 1_000 + 30 * 86_400_000));
        assert_eq!(
            input("discount").validate().unwrap().terms,
            Terms::Discount {
                rate: 80,
                max_discount: None
            }
        );
        assert_eq!(
            input("freeTicket").validate().unwrap().terms,
            Terms::FreeTicket
        );
    }

    #[test]
    fn bad_bodies_name_their_field() {
        let with = |f: &dyn Fn(&mut CouponInput)| {
            let mut i = input("threshold");
            f(&mut i);
            refused(&i)
        };
        for (why, field) in [
            (with(&|i| i.amount_off = Some(100.into())), "amountOff"),
            (
                with(&|i| i.amount_off = Some(serde_json::Number::from_f64(0.001).unwrap())),
                "amountOff",
            ),
            (with(&|i| i.amount_off = Some((-5).into())), "amountOff"),
            (with(&|i| i.amount_off = Some(0.into())), "amountOff"),
            (with(&|i| i.min_amount = None), "minAmount"),
            (with(&|i| i.kind = "bogo".into()), "kind"),
            (
                with(&|i| {
                    i.kind = "discount".into();
                    i.discount_rate = Some(100)
                }),
                "discountRate",
            ),
            (
                with(&|i| {
                    i.kind = "discount".into();
                    i.discount_rate = Some(0)
                }),
                "discountRate",
            ),
            (with(&|i| i.valid_days = Some(0)), "validDays"),
            (
                with(&|i| i.valid_from = Some("2027-01-01T00:00:00+08:00".into())),
                "validDays",
            ),
            (
                with(&|i| {
                    i.valid_days = None;
                    i.valid_from = Some("2027-01-02T00:00:00+08:00".into());
                    i.valid_to = Some("2027-01-01T00:00:00+08:00".into());
                }),
                "validTo",
            ),
            (with(&|i| i.valid_days = None), "validFrom"),
            (with(&|i| i.total_count = 0), "totalCount"),
            (with(&|i| i.total_count = MAX_TOTAL + 1), "totalCount"),
            (with(&|i| i.per_user_limit = Some(0)), "perUserLimit"),
            (with(&|i| i.code = Some("a b".into())), "code"),
            (with(&|i| i.code = Some("abc".into())), "code"),
            (
                with(&|i| i.event_ids = vec!["' OR 1=1 --".into()]),
                "eventIds",
            ),
            (with(&|i| i.name = " ".into()), "name"),
            (with(&|i| i.name = "券".repeat(51)), "name"),
            (with(&|i| i.status = Some("gone".into())), "status"),
        ] {
            assert!(why.starts_with(field), "{field}: {why}");
        }
    }

    #[test]
    fn what_may_change_once_issued() {
        let held = input("threshold").validate().unwrap();
        let mut i = input("threshold");
        i.name = "老客券".into();
        i.total_count = 500;
        i.claimable = false;
        i.status = Some("disabled".into());
        assert!(!held.changes_what_buyers_hold(&i.validate().unwrap()));
        i.valid_days = Some(60);
        assert!(
            !held.changes_what_buyers_hold(&i.validate().unwrap()),
            "longer"
        );
        for change in [
            |i: &mut CouponInput| i.amount_off = Some(30.into()),
            |i: &mut CouponInput| i.kind = "amountOff".into(),
            |i: &mut CouponInput| i.valid_days = Some(10),
            |i: &mut CouponInput| i.event_ids = vec!["01JABCDEFGHJKMNPQRSTVWXYZ0".into()],
        ] {
            let mut i = input("threshold");
            change(&mut i);
            let new = i.validate().unwrap();
            assert!(held.changes_what_buyers_hold(&new), "{new:?}");
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
