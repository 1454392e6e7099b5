//! Property tests of the inventory rules: random sequences of create / cancel /
//! expire / pay / refund / stock changes across options and users, each step
//! run in a savepoint exactly as the writer runs it, checked after every step
//! against a model and against DESIGN.md §4's invariants.

use chrono::{NaiveDate, NaiveTime};
use proptest::prelude::*;
use rusqlite::Connection;
use standup_tickets::model::Fen;
use standup_tickets::model::events::{NewEvent, NewPriceOption};
use standup_tickets::model::orders::CancelReason;
use standup_tickets::model::orders::RefundActor;
use standup_tickets::model::scope::TenantScope;
use standup_tickets::model::tickets::QrKey;
use standup_tickets::store::events::insert_event;
use standup_tickets::store::orders::{self, Actor, NewOrder, check_invariants};
use standup_tickets::store::payments::{self, Payment, Settlement, money_by_order};
use standup_tickets::store::refunds::{self, RefundOutcome};
use standup_tickets::store::{StoreError, StoreResult, inventory, migrations, tenants, users};

const USERS: usize = 4;
const MAX_PER_ORDER: i64 = 4;
const MAX_PER_USER: i64 = 6;
const HOLD_MS: i64 = 60_000;

#[derive(Debug, Clone)]
enum Op {
    Create {
        user: usize,
        option: usize,
        qty: i64,
        key: Option<u8>,
    },
    Cancel {
        order: prop::sample::Index,
        by_owner: bool,
    },
    Expire {
        advance_ms: i64,
    },
    Pay {
        order: prop::sample::Index,
    },
    Refund {
        order: prop::sample::Index,
    },
    SetTotal {
        option: usize,
        total: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..USERS, 0..3usize, 0..7i64, prop::option::of(0..3u8))
            .prop_map(|(user, option, qty, key)| Op::Create { user, option, qty, key }),
        2 => (any::<prop::sample::Index>(), any::<bool>())
            .prop_map(|(order, by_owner)| Op::Cancel { order, by_owner }),
        1 => (0..120_000i64).prop_map(|advance_ms| Op::Expire { advance_ms }),
        2 => any::<prop::sample::Index>().prop_map(|order| Op::Pay { order }),
        1 => any::<prop::sample::Index>().prop_map(|order| Op::Refund { order }),
        1 => (0..3usize, 0..12i64).prop_map(|(option, total)| Op::SetTotal { option, total }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum St {
    Pending,
    Paid,
    Cancelled,
    Refunded,
}

#[derive(Debug, Clone)]
struct MOrder {
    id: String,
    user: usize,
    option: usize,
    qty: i64,
    status: St,
    expires_at: i64,
    key: Option<u8>,
    /// Money was taken for it (a transaction exists).
    paid: bool,
}

struct World {
    conn: Connection,
    user_ids: Vec<String>,
    event_id: String,
    option_ids: Vec<String>,
    total: Vec<i64>,
    remaining: Vec<i64>,
    orders: Vec<MOrder>,
    now: i64,
}

/// Runs `f` the way the writer does: in a savepoint, rolled back on refusal.
fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    conn.execute_batch("SAVEPOINT cmd").unwrap();
    let r = f(conn);
    if r.is_err() {
        conn.execute_batch("ROLLBACK TO cmd").unwrap();
    }
    conn.execute_batch("RELEASE cmd").unwrap();
    r
}

fn code<T: std::fmt::Debug>(r: &StoreResult<T>) -> Option<&'static str> {
    match r {
        Ok(_) => None,
        Err(StoreError::Rejected(rej)) => Some(rej.code.as_str()),
        Err(e) => panic!("unexpected store error: {e}"),
    }
}

impl World {
    fn new(totals: [i64; 3]) -> World {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        migrations::apply(&mut conn).unwrap();
        tenants::insert(
            &conn,
            &tenants::NewTenant {
                id: "p".into(),
                name: "P".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let user_ids = (0..USERS)
            .map(|i| {
                users::login(
                    &conn,
                    &TenantScope::vouched("p"),
                    &format!("o{i}"),
                    None,
                    None,
                )
                .unwrap()
                .id
            })
            .collect();
        let tz = chrono_tz::Asia::Shanghai;
        let event = insert_event(
            &conn,
            &TenantScope::vouched("p"),
            tz,
            &NewEvent {
                max_per_order: MAX_PER_ORDER,
                max_per_user: MAX_PER_USER,
                ..NewEvent::on_sale(
                    "prop",
                    NaiveDate::from_ymd_opt(2099, 1, 1).unwrap(),
                    NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
                    totals
                        .iter()
                        .enumerate()
                        .map(|(i, t)| {
                            NewPriceOption::active(
                                &format!("o{i}"),
                                Fen(8850 + i as i64),
                                *t,
                                i as i64,
                            )
                        })
                        .collect(),
                )
            },
        )
        .unwrap();
        World {
            conn,
            user_ids,
            event_id: event.id,
            option_ids: event.option_ids,
            total: totals.to_vec(),
            remaining: totals.to_vec(),
            orders: Vec::new(),
            now: standup_tickets::model::time::now_ms(),
        }
    }

    /// Option `i` costs 88.50 + i fen (as seeded).
    fn price(&self, option: usize) -> i64 {
        8850 + option as i64
    }

    fn active_qty(&self, user: usize) -> i64 {
        self.orders
            .iter()
            .filter(|o| o.user == user && matches!(o.status, St::Pending | St::Paid))
            .map(|o| o.qty)
            .sum()
    }

    fn step(&mut self, op: &Op) {
        match op {
            Op::Create {
                user,
                option,
                qty,
                key,
            } => {
                let key_text = key.map(|k| format!("key-{k}"));
                let new = NewOrder {
                    user_id: self.user_ids[*user].clone(),
                    event_id: self.event_id.clone(),
                    price_option_id: self.option_ids[*option].clone(),
                    quantity: *qty,
                    user_name: "张三".into(),
                    user_phone: "13800138000".into(),
                    idempotency_key: key_text,
                    hold_ms: HOLD_MS,
                };
                let now = self.now;
                let r = in_savepoint(&self.conn, |c| orders::create(c, &new, now));
                // The model's verdict, in the rules' order.
                let previous = key.and_then(|k| {
                    self.orders
                        .iter()
                        .find(|o| o.user == *user && o.key == Some(k))
                        .cloned()
                });
                let expected = if let Some(prev) = &previous {
                    if prev.option == *option && prev.qty == *qty {
                        assert_eq!(r.as_ref().unwrap().id, prev.id, "idempotent retry");
                        return;
                    }
                    Some("IDEMPOTENCY_KEY_REUSED")
                } else if *qty < 1 || *qty > MAX_PER_ORDER {
                    Some("EXCEEDS_MAX_PER_ORDER")
                } else if self.active_qty(*user) + qty > MAX_PER_USER {
                    Some("PURCHASE_LIMIT_EXCEEDED")
                } else if self.remaining[*option] == 0 {
                    Some("SOLD_OUT")
                } else if self.remaining[*option] < *qty {
                    Some("INSUFFICIENT_STOCK")
                } else {
                    None
                };
                assert_eq!(code(&r), expected, "create {op:?}");
                if let Ok(o) = r {
                    self.remaining[*option] -= qty;
                    self.orders.push(MOrder {
                        id: o.id,
                        user: *user,
                        option: *option,
                        qty: *qty,
                        status: St::Pending,
                        expires_at: now + HOLD_MS,
                        key: *key,
                        paid: false,
                    });
                }
            }
            Op::Cancel { order, by_owner } => {
                if self.orders.is_empty() {
                    return;
                }
                let i = order.index(self.orders.len());
                let o = self.orders[i].clone();
                // Half the time a stranger tries: it must look like nothing.
                let stranger = &self.user_ids[(o.user + 1) % USERS];
                let actor = if *by_owner {
                    Actor::User(&self.user_ids[o.user])
                } else {
                    Actor::User(stranger)
                };
                let now = self.now;
                let r = in_savepoint(&self.conn, |c| {
                    orders::cancel(c, actor, &o.id, CancelReason::User, now)
                });
                let expected = if !by_owner {
                    Some("ORDER_NOT_FOUND")
                } else if o.status != St::Pending {
                    Some("ORDER_NOT_PENDING")
                } else {
                    None
                };
                assert_eq!(code(&r), expected, "cancel");
                if r.is_ok() {
                    self.orders[i].status = St::Cancelled;
                    self.remaining[o.option] += o.qty;
                }
            }
            Op::Expire { advance_ms } => {
                self.now += advance_ms;
                let now = self.now;
                let due = orders::due_without_prepay(&self.conn, now, 1000).unwrap();
                in_savepoint(&self.conn, |c| orders::expire(c, &due, now)).unwrap();
                for o in self.orders.iter_mut() {
                    if o.status == St::Pending && o.expires_at <= now {
                        o.status = St::Cancelled;
                        self.remaining[o.option] += o.qty;
                    }
                }
            }
            Op::Pay { order } => {
                // A payment for any order, in any state, as a notify (or a
                // replay of one) would bring it.
                if self.orders.is_empty() {
                    return;
                }
                let i = order.index(self.orders.len());
                let o = self.orders[i].clone();
                let now = self.now;
                let key = QrKey([7; 32]);
                let price = self.price(o.option);
                let payment = Payment {
                    order_id: o.id.clone(),
                    transaction_id: format!("tx-{}", o.id),
                    amount: price * o.qty,
                };
                let r = in_savepoint(&self.conn, |c| {
                    payments::settle_payment(c, &payment, &key, now)
                })
                .unwrap();
                match (o.status, r) {
                    (St::Pending, Settlement::Paid(_)) => {
                        self.orders[i].status = St::Paid;
                        self.orders[i].paid = true;
                    }
                    (St::Paid | St::Refunded, Settlement::AlreadySettled) => {}
                    (St::Cancelled, s) if o.paid => {
                        // Its late payment was refunded before: a replay.
                        assert!(matches!(s, Settlement::AlreadySettled), "{s:?}");
                    }
                    (St::Cancelled, Settlement::Recovered(_)) => {
                        assert!(self.remaining[o.option] >= o.qty, "recovered without stock");
                        assert!(self.active_qty(o.user) + o.qty <= MAX_PER_USER);
                        self.remaining[o.option] -= o.qty;
                        self.orders[i].status = St::Paid;
                        self.orders[i].paid = true;
                    }
                    (St::Cancelled, Settlement::MustRefund(req)) => {
                        assert!(
                            self.remaining[o.option] < o.qty
                                || self.active_qty(o.user) + o.qty > MAX_PER_USER,
                            "refunded although it could be kept"
                        );
                        assert_eq!(req.amount, price * o.qty);
                        // WeChat refunds it.
                        in_savepoint(&self.conn, |c| {
                            refunds::finish_refund(
                                c,
                                &req.out_refund_no,
                                &RefundOutcome::Success { refund_id: None },
                                now,
                            )
                        })
                        .unwrap();
                        self.orders[i].status = St::Refunded;
                        self.orders[i].paid = true;
                    }
                    (st, s) => panic!("pay on {st:?} gave {s:?}"),
                }
            }
            Op::Refund { order } => {
                if self.orders.is_empty() {
                    return;
                }
                let i = order.index(self.orders.len());
                let o = self.orders[i].clone();
                let now = self.now;
                let r = in_savepoint(&self.conn, |c| {
                    let req = refunds::begin_refund(
                        c,
                        &RefundActor::Admin {
                            admin_id: "a".into(),
                            tenant_id: "p".into(),
                            force: false,
                        },
                        &o.id,
                        None,
                        now,
                    )?;
                    refunds::finish_refund(
                        c,
                        &req.out_refund_no,
                        &RefundOutcome::Success { refund_id: None },
                        now,
                    )
                });
                let expected = match o.status {
                    St::Paid => None,
                    St::Refunded => Some("REFUND_EXISTS"),
                    _ => Some("ORDER_NOT_PAID"),
                };
                assert_eq!(code(&r), expected, "refund");
                if r.is_ok() {
                    self.orders[i].status = St::Refunded;
                    self.remaining[o.option] += o.qty;
                }
            }
            Op::SetTotal { option, total } => {
                let committed = self.total[*option] - self.remaining[*option];
                let now = self.now;
                let id = self.option_ids[*option].clone();
                let r = in_savepoint(&self.conn, |c| {
                    inventory::set_option_total(c, &TenantScope::vouched("p"), &id, *total, now)
                });
                let expected = (*total < committed).then_some("STOCK_BELOW_SOLD");
                assert_eq!(code(&r), expected, "set total");
                if r.is_ok() {
                    self.total[*option] = *total;
                    self.remaining[*option] = total - committed;
                }
            }
        }
    }

    fn check(&self) {
        assert_eq!(check_invariants(&self.conn).unwrap(), Ok(()));
        // Every fen: paid − refunded = kept, per order and in total.
        let (mut paid_sum, mut refunded_sum, mut kept_sum) = (0, 0, 0);
        for (id, status, paid, refunded) in money_by_order(&self.conn).unwrap() {
            let m = self.orders.iter().find(|o| o.id == id).unwrap();
            let total = self.price(m.option) * m.qty;
            let kept = if status == "paid" || status == "used" {
                total
            } else {
                0
            };
            assert_eq!(paid - refunded, kept, "order {id} ({status})");
            assert_eq!(paid, if m.paid { total } else { 0 }, "order {id} paid");
            paid_sum += paid;
            refunded_sum += refunded;
            kept_sum += kept;
        }
        assert_eq!(paid_sum - refunded_sum, kept_sum);
        // Paid orders hold exactly `quantity` tickets; others hold none valid.
        for o in &self.orders {
            let (all, valid): (i64, i64) = self
                .conn
                .query_row(
                    "SELECT COUNT(*), COALESCE(SUM(status = 'valid'), 0) FROM tickets WHERE order_id = ?1",
                    [&o.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            match o.status {
                St::Paid => assert_eq!((all, valid), (o.qty, o.qty), "tickets of {}", o.id),
                _ => assert_eq!(valid, 0, "no valid tickets on {:?} {}", o.status, o.id),
            }
        }
        for (i, id) in self.option_ids.iter().enumerate() {
            let (total, remaining): (i64, i64) = self
                .conn
                .query_row(
                    "SELECT total_count, remaining_count FROM price_options WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(
                (total, remaining),
                (self.total[i], self.remaining[i]),
                "option {i}"
            );
        }
        let (seats, status): (i64, String) = self
            .conn
            .query_row(
                "SELECT remaining_seats, status FROM events WHERE id = ?1",
                [&self.event_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let expected_status = if seats == 0 { "soldOut" } else { "onSale" };
        assert_eq!(status, expected_status, "event status follows its stock");
        for (u, _) in self.user_ids.iter().enumerate() {
            assert!(self.active_qty(u) <= MAX_PER_USER);
        }
    }
}

/// `PROPTEST_CASES` when set (a longer hunt), else 256.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn inventory_never_breaks(totals in [1..8i64, 0..5i64, 3..10i64], ops in prop::collection::vec(op(), 50..120)) {
        let mut w = World::new(totals);
        w.check();
        for op in &ops {
            w.step(op);
            w.check();
        }
    }
}
