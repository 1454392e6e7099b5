//! Property test of the door over HTTP: random interleavings of online
//! scans, offline scans uploaded (and uploaded again), undos, refunds and
//! ticket expiry. After every step no ticket is in twice, a used ticket is
//! in by exactly the scan it names, no ticket is in on a refunded order, and
//! the stock is whole; every answer agrees with what the database then says.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::checkin::{Door, door};
use crate::common::admin::{create_show, show_body};
use crate::common::*;

const DEVICES: usize = 3;
/// Tickets per case: one order of two, two orders of one.
const TICKETS: usize = 4;
const ORDER_OF: [usize; TICKETS] = [0, 0, 1, 2];

#[derive(Debug, Clone)]
enum Op {
    Online {
        ticket: usize,
        device: usize,
    },
    Offline {
        ticket: usize,
        device: usize,
        minutes_ago: i64,
    },
    Sync {
        device: usize,
        forget: bool,
    },
    Undo {
        ticket: usize,
    },
    Refund {
        order: usize,
    },
    Expire,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..TICKETS, 0..DEVICES).prop_map(|(ticket, device)| Op::Online { ticket, device }),
        5 => (0..TICKETS, 0..DEVICES, 0..90i64)
            .prop_map(|(ticket, device, minutes_ago)| Op::Offline { ticket, device, minutes_ago }),
        3 => (0..DEVICES, any::<bool>()).prop_map(|(device, forget)| Op::Sync { device, forget }),
        2 => (0..TICKETS).prop_map(|ticket| Op::Undo { ticket }),
        2 => (0..3usize).prop_map(|order| Op::Refund { order }),
        1 => Just(Op::Expire),
    ]
}

struct Case {
    event: String,
    orders: Vec<String>,
    tickets: Vec<(String, String)>,
    queues: Vec<Vec<(String, i64)>>,
}

/// A show tonight with the case's three orders.
async fn case(d: &Door) -> Case {
    let e = create_show(&d.t, &d.owner, show_body(3)).await;
    let event = e["id"].as_str().unwrap().to_string();
    let option = e["priceOptions"][1]["id"].as_str().unwrap().to_string();
    crate::common::admin::date_today(&d.t, &event).await;
    let mut orders = Vec::new();
    let mut tickets = Vec::new();
    for qty in [2, 1, 1] {
        let (order, t) = d.tickets(&event, &option, qty).await;
        orders.push(order);
        tickets.extend(t);
    }
    Case {
        event,
        orders,
        tickets,
        queues: vec![Vec::new(); DEVICES],
    }
}

/// A ticket's status and entry time, as stored.
async fn ticket(t: &TestApp, id: &str) -> (String, Option<i64>) {
    let id = id.to_string();
    t.store()
        .read(move |c| {
            Ok(c.query_row(
                "SELECT status, used_at FROM tickets WHERE id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await
        .unwrap()
}

fn ms(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

async fn step(d: &Door, c: &mut Case, op: &Op) {
    let now = chrono::Utc::now().timestamp_millis();
    match *op {
        Op::Online { ticket: i, device } => {
            let r = d
                .scan(
                    &d.staff,
                    json!({"qrCode": c.tickets[i].1, "deviceId": format!("online-{device}")}),
                )
                .await;
            match r.status {
                200 => assert_eq!(ticket(&d.t, &c.tickets[i].0).await.0, "used"),
                409 => {
                    let code = r.json["error"].as_str().unwrap();
                    assert!(
                        ["TICKET_ALREADY_USED", "TICKET_VOID", "TICKET_EXPIRED"].contains(&code),
                        "{}",
                        r.text
                    );
                }
                _ => panic!("{}", r.text),
            }
        }
        Op::Offline {
            ticket: i,
            device,
            minutes_ago,
        } => c.queues[device].push((c.tickets[i].1.clone(), now - minutes_ago * 60_000)),
        Op::Sync { device, forget } => {
            let scans: Vec<Value> = c.queues[device]
                .iter()
                .map(|(code, at)| json!({"qrCode": code, "scannedAt": at}))
                .collect();
            let r =
                d.t.post(
                    "/api/admin/checkin/sync",
                    Some(&d.staff),
                    json!({"deviceId": format!("cellar-{device}"), "eventId": c.event,
                           "scans": scans}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            for res in r.data()["results"].as_array().unwrap() {
                let id = res["ticketId"].as_str().unwrap();
                let (status, used_at) = ticket(&d.t, id).await;
                match res["result"].as_str().unwrap() {
                    // In by this scan, or since by an earlier one.
                    "accepted" => {
                        assert_eq!(status, "used", "{res}");
                        assert!(used_at.unwrap() <= ms(&res["scannedAt"]), "{res}");
                    }
                    "duplicate" => {
                        if let Some(w) = res["winner"].as_object() {
                            assert!(ms(&w["scannedAt"]) <= ms(&res["scannedAt"]), "{res}");
                        }
                    }
                    "rejected" => {
                        let code = res["error"].as_str().unwrap();
                        // WRONG_SHOW only for a scan made before midnight.
                        let other_day = code == "WRONG_SHOW"
                            && chrono::DateTime::from_timestamp_millis(ms(&res["scannedAt"]))
                                .unwrap()
                                .with_timezone(&chrono_tz::Asia::Shanghai)
                                .date_naive()
                                != chrono::Utc::now()
                                    .with_timezone(&chrono_tz::Asia::Shanghai)
                                    .date_naive();
                        assert!(
                            other_day
                                || ["TICKET_VOID", "TICKET_EXPIRED", "CHECKIN_UNDONE"]
                                    .contains(&code),
                            "{res}"
                        );
                    }
                    other => panic!("{other}"),
                }
            }
            if forget {
                c.queues[device].clear();
            }
        }
        Op::Undo { ticket: i } => {
            let r =
                d.t.post(
                    "/api/admin/checkin/undo",
                    Some(&d.staff),
                    json!({"ticketId": c.tickets[i].0}),
                )
                .await;
            match r.status {
                200 => assert_eq!(ticket(&d.t, &c.tickets[i].0).await.0, "valid"),
                409 => assert!(
                    ["TICKET_NOT_USED", "UNDO_WINDOW_CLOSED"]
                        .contains(&r.json["error"].as_str().unwrap()),
                    "{}",
                    r.text
                ),
                _ => panic!("{}", r.text),
            }
        }
        Op::Refund { order } => {
            let id = &c.orders[order];
            let r =
                d.t.put(
                    &format!("/api/admin/orders/{id}/refund"),
                    Some(&d.owner),
                    json!({"reason": "顾客来电"}),
                )
                .await;
            match r.status {
                200 => {
                    for (i, (tid, _)) in c.tickets.iter().enumerate() {
                        if ORDER_OF[i] == order {
                            assert_ne!(ticket(&d.t, tid).await.0, "used");
                        }
                    }
                }
                409 => assert!(
                    ["TICKET_USED", "REFUND_EXISTS"].contains(&r.json["error"].as_str().unwrap()),
                    "{}",
                    r.text
                ),
                _ => panic!("{}", r.text),
            }
        }
        Op::Expire => {
            // The show ended 6.5 hours ago: its unused tickets expire now,
            // and offline scans older than half an hour were made in time.
            let id = c.event.clone();
            d.t.write(move |conn| {
                conn.execute(
                    "UPDATE events SET starts_at = ?2 - duration * 60000 WHERE id = ?1",
                    rusqlite::params![id, now - 6 * 3_600_000 - 30 * 60_000],
                )?;
                standup_tickets::store::checkin::expire_tickets(conn, 6 * 3_600_000, now)?;
                Ok(())
            })
            .await;
        }
    }
}

#[test]
fn the_door_never_lets_a_ticket_in_twice() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let d: Arc<Door> = Arc::new(rt.block_on(door()));
    let cases = std::env::var("DOOR_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 1..40), |ops| {
        rt.block_on(async {
            let mut c = case(&d).await;
            for op in &ops {
                step(&d, &mut c, op).await;
                assert_invariants(&d.t).await;
            }
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
