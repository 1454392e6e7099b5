//! The writer's own ceiling, without HTTP: many tasks create orders straight
//! through `Store::write` on a fresh on-disk database.
//!
//!   cargo run --release --example writer -- [orders] [tasks] [batch]

use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveTime, Utc};
use standup_tickets::model::Fen;
use standup_tickets::model::events::{NewEvent, NewPriceOption};
use standup_tickets::model::scope::TenantScope;
use standup_tickets::model::time::now_ms;
use standup_tickets::store::events::insert_event;
use standup_tickets::store::orders::{self, NewOrder};
use standup_tickets::store::{Store, StoreOptions};
use standup_tickets::store::{tenants, users};

#[tokio::main]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().unwrap());
    let total = args.next().unwrap_or(100_000);
    let tasks = args.next().unwrap_or(256);
    let batch = args.next().unwrap_or(64);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open_with(
            &dir.path().join("w.db"),
            StoreOptions {
                max_batch: batch,
                ..StoreOptions::default()
            },
        )
        .unwrap(),
    );
    let (event, option, users) = store
        .write(|c| {
            tenants::insert(
                c,
                &tenants::NewTenant {
                    id: "w".into(),
                    name: "W".into(),
                    ..Default::default()
                },
            )?;
            let users: Vec<String> = (0..5000)
                .map(|i| {
                    users::login(c, &TenantScope::vouched("w"), &format!("o{i}"), None, None)
                        .map(|u| u.id)
                })
                .collect::<Result<_, _>>()?;
            let e = insert_event(
                c,
                &TenantScope::vouched("w"),
                chrono_tz::Asia::Shanghai,
                &NewEvent {
                    max_per_user: 1_000_000,
                    ..NewEvent::on_sale(
                        "w",
                        Utc::now().date_naive() + chrono::Duration::days(7),
                        NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
                        vec![NewPriceOption::active("o", Fen(100), 100_000_000, 0)],
                    )
                },
            )?;
            Ok((e.id, e.option_ids[0].clone(), users))
        })
        .await
        .unwrap();
    let users = Arc::new(users);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cpu_before = thread_cpu_ns("sqlite-writer");
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (store, users, next, event, option) = (
            store.clone(),
            users.clone(),
            next.clone(),
            event.clone(),
            option.clone(),
        );
        handles.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let o = NewOrder {
                    user_id: users[i % users.len()].clone(),
                    event_id: event.clone(),
                    price_option_id: option.clone(),
                    quantity: 1,
                    user_name: "张三".into(),
                    user_phone: "13800138000".into(),
                    idempotency_key: Some(format!("k{i}")),
                    hold_ms: 900_000,
                };
                store
                    .write_checked(move |c| orders::create(c, &o, now_ms()))
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    // Wall-clock rates swing ±10% between runs on a shared 2-core machine;
    // the writer thread's own CPU time per order is the steadier figure when
    // comparing schema or SQL changes.
    let cpu = thread_cpu_ns("sqlite-writer").saturating_sub(cpu_before);
    println!(
        "{total} orders through the writer (batch {batch}, {tasks} tasks): {:.0} orders/s, \
         writer thread {:.1} µs CPU per order",
        total as f64 / secs,
        cpu as f64 / 1000.0 / total as f64
    );
    store.close().await;
}

/// CPU time (ns) the named thread of this process has run, from
/// `/proc/self/task/*/schedstat` (Linux; 0 elsewhere).
fn thread_cpu_ns(name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}
