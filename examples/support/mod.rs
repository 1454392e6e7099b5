//! What the benchmarks share, and the only place they seed data: a year of
//! a club's sales, an on-sale rush, a night at the door (each through the
//! store's own functions); the release binary started on a data dir, and
//! buyers ordering against it.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{NaiveTime, TimeZone, Utc};
use serde_json::json;
use standup_tickets::model::Fen;
use standup_tickets::model::admins::AdminRole;
use standup_tickets::model::events::{NewEvent, NewPriceOption};
use standup_tickets::model::scope::TenantScope;
use standup_tickets::model::tickets::QrKey;
use standup_tickets::store::Store;
use standup_tickets::store::events::insert_event;
use standup_tickets::store::orders::{NewOrder, create};
use standup_tickets::store::payments::{Payment, Settlement, settle_payment};
use standup_tickets::store::tenants::{self, NewTenant};
use standup_tickets::store::{tickets, users};

pub const SHOWS: usize = 52;

/// The club every benchmark seeds into.
fn bench_club(c: &rusqlite::Connection) -> standup_tickets::store::StoreResult<()> {
    tenants::insert(
        c,
        &NewTenant {
            id: "bench".into(),
            name: "压测俱乐部".into(),
            ..Default::default()
        },
    )
}

/// A year of weekly shows with `orders` paid orders among them, each paid
/// in the week before its show; plus one show on sale next week for the
/// buyers of part 4. Returns (a past show's id, the on-sale show and option).
pub async fn seed(db: &Path, orders: usize) -> (String, String, String) {
    let store = Store::open(db).unwrap();
    let out = store
        .write(move |c| {
            bench_club(c)?;
            let tz = chrono_tz::Asia::Shanghai;
            let club = TenantScope::vouched("bench");
            let today = Utc::now().with_timezone(&tz).date_naive();
            let per_show = orders.div_ceil(SHOWS);
            let people = (per_show + 1).max(100);
            let mut user_ids = Vec::with_capacity(people);
            for i in 0..people {
                user_ids.push(users::login(c, &club, &format!("bench-{i}"), None, None)?.id);
            }
            let key = QrKey::generate();
            let mut made = 0;
            let mut a_show = String::new();
            for w in 0..SHOWS {
                let date = today - chrono::Duration::days(7 * (SHOWS - w) as i64);
                let show = insert_event(
                    c,
                    &club,
                    tz,
                    &NewEvent {
                        max_per_user: 50,
                        max_per_order: 6,
                        ..NewEvent::on_sale(
                            &format!("第 {w} 周开放麦"),
                            date,
                            NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
                            vec![
                                NewPriceOption::active("前排", Fen(12_000), 3 * per_show as i64, 0),
                                NewPriceOption::active("普通", Fen(8_850), 3 * per_show as i64, 1),
                            ],
                        )
                    },
                )?;
                a_show = show.id.clone();
                let starts = tz
                    .from_local_datetime(&date.and_hms_opt(20, 0, 0).unwrap())
                    .unwrap()
                    .timestamp_millis();
                let n = per_show.min(orders - made);
                for (i, user_id) in user_ids.iter().enumerate().take(n) {
                    // Spread over the six days before the show.
                    let at = starts - 6 * 86_400_000 + (i as i64 * 6 * 86_400_000) / n as i64;
                    let o = create(
                        c,
                        &NewOrder {
                            user_id: user_id.clone(),
                            event_id: show.id.clone(),
                            price_option_id: show.option_ids[i % 2].clone(),
                            quantity: 1 + (i % 3) as i64,
                            user_name: format!("观众{i}"),
                            user_phone: format!("139{:08}", i),
                            idempotency_key: None,
                            hold_ms: 900_000,
                        },
                        at,
                    )?;
                    settle_payment(
                        c,
                        &Payment {
                            order_id: o.id.clone(),
                            transaction_id: format!("tx{}", o.id),
                            amount: o.total_amount.0,
                        },
                        &key,
                        at + 30_000,
                    )?;
                }
                made += n;
            }
            let sale = insert_event(
                c,
                &club,
                tz,
                &NewEvent {
                    max_per_user: 1_000_000,
                    ..NewEvent::on_sale(
                        "下周加座专场",
                        today + chrono::Duration::days(7),
                        NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
                        vec![NewPriceOption::active("内场", Fen(28_800), 10_000_000, 0)],
                    )
                },
            )?;
            Ok((a_show, sale.id, sale.option_ids[0].clone()))
        })
        .await
        .unwrap();
    bench_admin(&store, "owner", AdminRole::Owner).await;
    store.close().await;
    out
}

/// Seeds a club with two shows: the race (`seats` seats) and a plentiful one.
pub async fn seed_rush(db: &Path, seats: i64) -> (String, String, String, String) {
    let store = Store::open(db).unwrap();
    let out = store
        .write(move |c| {
            bench_club(c)?;
            let mk = |title: &str, total: i64, per_user: i64| NewEvent {
                max_per_user: per_user,
                ..NewEvent::on_sale(
                    title,
                    Utc::now().date_naive() + chrono::Duration::days(7),
                    NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
                    vec![NewPriceOption::active("内场", Fen(28800), total, 0)],
                )
            };
            let tz = chrono_tz::Asia::Shanghai;
            let club = TenantScope::vouched("bench");
            let race = insert_event(c, &club, tz, &mk("抢票专场", seats, 1))?;
            let bulk = insert_event(c, &club, tz, &mk("加座专场", 10_000_000, 1_000_000))?;
            Ok((
                race.id,
                race.option_ids[0].clone(),
                bulk.id,
                bulk.option_ids[0].clone(),
            ))
        })
        .await
        .unwrap();
    store.close().await;
    out
}

/// A show tonight and `n` paid one-ticket orders; returns the ticket codes.
pub async fn seed_door(db: &Path, n: usize) -> Vec<String> {
    let store = Store::open(db).unwrap();
    let codes = store
        .write(move |c| {
            bench_club(c)?;
            let tz = chrono_tz::Asia::Shanghai;
            let club = TenantScope::vouched("bench");
            let today = Utc::now().with_timezone(&tz).date_naive();
            let show = insert_event(
                c,
                &club,
                tz,
                &NewEvent {
                    max_per_user: 1_000_000,
                    ..NewEvent::on_sale(
                        "今晚专场",
                        today,
                        NaiveTime::from_hms_opt(23, 59, 0).unwrap(),
                        vec![NewPriceOption::active("内场", Fen(8_800), n as i64, 0)],
                    )
                },
            )?;
            let buyer = users::login(c, &club, "door-bench", None, None)?.id;
            let key = tickets::qr_key(c, 0)?;
            let mut codes = Vec::with_capacity(n);
            // Orders made an hour ago, when the show was still ahead.
            let at = Utc::now().timestamp_millis() - 3_600_000;
            for i in 0..n {
                let o = create(
                    c,
                    &NewOrder {
                        user_id: buyer.clone(),
                        event_id: show.id.clone(),
                        price_option_id: show.option_ids[0].clone(),
                        quantity: 1,
                        user_name: format!("观众{i}"),
                        user_phone: "13800138000".into(),
                        idempotency_key: None,
                        hold_ms: 900_000,
                    },
                    at,
                )?;
                let paid = settle_payment(
                    c,
                    &Payment {
                        order_id: o.id.clone(),
                        transaction_id: format!("tx{}", o.id),
                        amount: o.total_amount.0,
                    },
                    &key,
                    at,
                )?;
                if let Settlement::Paid(order) = paid {
                    codes.extend(order.tickets.into_iter().map(|t| t.qr_code));
                }
            }
            Ok(codes)
        })
        .await
        .unwrap();
    bench_admin(&store, "door", AdminRole::Staff).await;
    store.close().await;
    codes
}

/// An admin of the benchmarks' club (password `bench-password-1`), made as
/// the operator makes one.
async fn bench_admin(store: &Store, username: &str, role: AdminRole) {
    standup_tickets::service::admin::admins::create(
        store,
        &standup_tickets::model::admins::TeamActor::Operator(TenantScope::vouched("bench")),
        standup_tickets::model::admins::NewAdminInput {
            username: username.into(),
            display_name: None,
            role: role.as_str().into(),
            password: "bench-password-1".into(),
        },
    )
    .await
    .unwrap();
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_server(bin: &Path, dir: &Path, port: u16) -> Child {
    let child = Command::new(bin)
        .env("DATA_DIR", dir)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("LOG_LEVEL", "warn")
        .env("DEMO_DATA", "off")
        .env("RATE_LIMITS", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (cargo build --release)",
                bin.display()
            )
        });
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

pub fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Buyers ordering one seat each, `n` orders at `concurrency`; returns
/// (orders/s, p99 ms).
pub async fn buyers(
    client: &reqwest::Client,
    base: &str,
    tokens: &[String],
    (event, option): (&str, &str),
    n: usize,
    concurrency: usize,
) -> (f64, f64) {
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, base, next) = (client.clone(), base.to_string(), next.clone());
        let tokens = tokens.to_vec();
        let (event, option) = (event.to_string(), option.to_string());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return lat;
                }
                let s = Instant::now();
                let r = client
                    .post(format!("{base}/api/orders"))
                    .bearer_auth(&tokens[i % tokens.len()])
                    .json(
                        &json!({"eventId": event, "priceOptionId": option, "quantity": 1,
                                  "userInfo": {"name": "张三", "phone": "13800138000"}}),
                    )
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "order: {}", r.status());
                r.bytes().await.unwrap();
                lat.push(s.elapsed());
            }
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = t0.elapsed().as_secs_f64();
    lat.sort();
    (n as f64 / secs, pct(&lat, 0.99))
}

/// `n` buyers signed in (dev-mode WeChat login) to the benchmark club.
pub async fn buyer_tokens(client: &reqwest::Client, base: &str, n: usize) -> Vec<String> {
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        let v: serde_json::Value = client
            .post(format!("{base}/api/auth/wechat/login"))
            .json(&json!({"code": format!("buyer-{i}"), "tenantId": "bench"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(v["data"]["token"].as_str().unwrap().to_string());
    }
    tokens
}

/// What our JSON answers carry besides the type and length, as fixed
/// values: the yardsticks that send them too (`same_bytes --headers`, the
/// catalogue's "same bytes and headers") tell the headers' cost apart.
pub const HARDENING: [(&str, &str); 7] = [
    ("x-request-id", "0F2KTMZW-543285"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (
        "permissions-policy",
        "camera=(self), microphone=(), geolocation=()",
    ),
    ("cross-origin-opener-policy", "same-origin"),
];
