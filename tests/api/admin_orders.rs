//! A club's orders over the admin API: search with filters and cursor,
//! detail with records, owner refunds (idempotent, `force` for checked-in
//! orders), the stats across a month boundary in Asia/Shanghai, and the CSV
//! export.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone};
use serde_json::{Value, json};

use crate::common::admin::{create_show, owner_token, show_body};
use crate::common::*;

struct Club {
    t: TestApp,
    token: String,
    event: String,
    option: String,
}

async fn club() -> Club {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let token = owner_token(&t, "dt").await;
    let e = create_show(&t, &token, show_body(5)).await;
    Club {
        token,
        event: e["id"].as_str().unwrap().to_string(),
        option: e["priceOptions"][1]["id"].as_str().unwrap().to_string(),
        t,
    }
}

impl Club {
    /// An order by a new buyer with this contact; paid if `pay`.
    async fn order(&self, buyer: &str, name: &str, phone: &str, qty: i64, pay: bool) -> String {
        let (tok, _) = self.t.login(buyer, "dt").await;
        let body = json!({"eventId": self.event, "priceOptionId": self.option, "quantity": qty,
                          "userInfo": {"name": name, "phone": phone}});
        let o = self.t.post("/api/orders", Some(&tok), body).await;
        let id = o.data()["id"].as_str().unwrap().to_string();
        if pay {
            self.t
                .post(&format!("/api/dev/payments/{id}/confirm"), None, json!({}))
                .await
                .data();
        }
        id
    }

    async fn get(&self, path: &str) -> Value {
        self.t.get_as(path, &self.token).await.data().clone()
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn search_filters_cursor_and_detail() {
    let c = club().await;
    let mut all = Vec::new();
    for i in 0..23 {
        let phone = format!("139{:08}", i);
        all.push(
            c.order(&format!("b{i}"), &format!("观众{i}"), &phone, 1, i % 3 != 0)
                .await,
        );
    }
    let special = c.order("zz", "王小二", "13712345678", 2, true).await;
    all.push(special.clone());

    let first = c.get("/api/admin/orders?pageSize=10").await;
    assert_eq!(
        (first["total"].as_i64(), first["totalPages"].as_i64()),
        (Some(24), Some(3))
    );
    assert_eq!(first["items"][0]["id"], special.as_str(), "newest first");
    assert!(first["items"][0]["event"]["title"].is_string());
    // Cursor paging visits every order once.
    let mut seen: Vec<String> = ids(&first);
    let mut cursor = first["nextCursor"].as_str().map(str::to_string);
    while let Some(cur) = cursor {
        let page = c
            .get(&format!("/api/admin/orders?pageSize=10&cursor={cur}"))
            .await;
        seen.extend(ids(&page));
        cursor = page["nextCursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 24);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 24);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>(),
        all.iter().collect::<HashSet<_>>()
    );
    // Filters: status, keyword (phone part, name, id), show, dates.
    assert_eq!(
        c.get("/api/admin/orders?status=pending&pageSize=100").await["total"],
        8
    );
    assert_eq!(
        c.get("/api/admin/orders?keyword=12345678").await["total"],
        1
    );
    assert_eq!(
        c.get("/api/admin/orders?keyword=%E7%8E%8B%E5%B0%8F").await["total"],
        1
    );
    assert_eq!(
        c.get(&format!("/api/admin/orders?keyword={special}")).await["total"],
        1
    );
    assert_eq!(
        c.get("/api/admin/orders?keyword=%25").await["total"],
        0,
        "% is literal"
    );
    assert_eq!(
        c.get(&format!("/api/admin/orders?eventId={}", c.event))
            .await["total"],
        24
    );
    assert_eq!(c.get("/api/admin/orders?eventId=nope").await["total"], 0);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let d = |n: i64| {
        (today + chrono::Duration::days(n))
            .format("%Y-%m-%d")
            .to_string()
    };
    assert_eq!(
        c.get(&format!("/api/admin/orders?from={}&to={}", d(0), d(0)))
            .await["total"],
        24
    );
    assert_eq!(
        c.get(&format!("/api/admin/orders?from={}", d(1))).await["total"],
        0
    );
    for bad in [
        "status=lost",
        "from=2026-02-30",
        "pageSize=0",
        "cursor=%21%21",
        "cursor=bm90LWEtY3Vyc29y",
        "keyword=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        c.t.get_as(&format!("/api/admin/orders?{bad}"), &c.token)
            .await
            .expect(400, "VALIDATION_FAILED");
    }
    c.t.get_as(
        &format!("/api/admin/orders?from={}&to={}", d(1), d(0)),
        &c.token,
    )
    .await
    .expect(400, "VALIDATION_FAILED");
    // Detail: tickets, show, option, refunds and payments.
    let detail = c.get(&format!("/api/admin/orders/{special}")).await;
    assert_eq!(detail["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(detail["priceOption"]["id"], c.option.as_str());
    assert_eq!(detail["refunds"], json!([]));
    assert!(detail["payments"].is_array());
    c.t.get_as("/api/admin/orders/01NOSUCHORDER0000000000000", &c.token)
        .await
        .expect(404, "ORDER_NOT_FOUND");
}

#[tokio::test]
async fn owner_refunds_once_and_needs_force_for_a_checked_in_order() {
    let c = club().await;
    let a = c.order("ra", "甲", "13800000001", 2, true).await;
    let pending = c.order("rb", "乙", "13800000002", 1, false).await;
    let used = c.order("rc", "丙", "13800000003", 1, true).await;
    let s0 = stock(&c.t, &c.option).await;

    let r =
        c.t.put(
            &format!("/api/admin/orders/{a}/refund"),
            Some(&c.token),
            json!({"reason": ""}),
        )
        .await;
    r.expect(400, "VALIDATION_FAILED");
    let r =
        c.t.put(
            &format!("/api/admin/orders/{a}/refund"),
            Some(&c.token),
            json!({"reason": "顾客来电，行程有变"}),
        )
        .await;
    let d = r.data();
    assert_eq!(d["status"], "refunded");
    assert_eq!(d["refunds"][0]["status"], "success");
    assert_eq!(d["refunds"][0]["cause"], "admin");
    assert_eq!(d["refunds"][0]["amount"], 177);
    assert_eq!(
        stock(&c.t, &c.option).await.left,
        s0.left + 2,
        "seats back on sale"
    );
    c.t.put(
        &format!("/api/admin/orders/{a}/refund"),
        Some(&c.token),
        json!({"reason": "再退一次"}),
    )
    .await
    .expect(409, "REFUND_EXISTS");
    c.t.put(
        &format!("/api/admin/orders/{pending}/refund"),
        Some(&c.token),
        json!({"reason": "未支付"}),
    )
    .await
    .expect(409, "ORDER_NOT_PAID");
    // A checked-in ticket (the door marks it used).
    crate::common::admin::check_in_order(&c.t, "dt", &used).await;
    let r =
        c.t.put(
            &format!("/api/admin/orders/{used}/refund"),
            Some(&c.token),
            json!({"reason": "演出中途停电"}),
        )
        .await;
    r.expect(409, "TICKET_USED");
    assert!(r.json["message"].as_str().unwrap().contains("force"));
    assert_eq!(
        order_statuses(&c.t, std::slice::from_ref(&used)).await,
        ["used"],
        "untouched"
    );
    let r =
        c.t.put(
            &format!("/api/admin/orders/{used}/refund"),
            Some(&c.token),
            json!({"reason": "演出中途停电", "force": true}),
        )
        .await;
    assert_eq!(r.data()["status"], "refunded");
    assert_invariants(&c.t).await;
    let log = c
        .get(&format!(
            "/api/admin/audit-log?targetType=order&targetId={used}"
        ))
        .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "refund_requested" && e["actorName"] == "owner")
    );
}

/// 23:30 local on `day` in Shanghai, as unix ms.
fn local_ms(day: NaiveDate, h: u32, m: u32) -> i64 {
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap()))
        .unwrap()
        .timestamp_millis()
}

#[tokio::test]
async fn stats_count_payments_on_their_local_day_across_a_month_boundary() {
    let c = club().await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let this_month = today.with_day(1).unwrap();
    let last_day_before = this_month.pred_opt().unwrap();
    // A: 2 tickets paid at 23:30 on the last day of last month (15:30 UTC);
    // B: 1 ticket paid at 00:30 on the first of this month; C: paid last
    // month, then refunded.
    let a = c.order("sa", "甲", "13800000001", 2, true).await;
    let b = c.order("sb", "乙", "13800000002", 1, true).await;
    let cc = c.order("sc", "丙", "13800000003", 1, true).await;
    let _pending = c.order("sd", "丁", "13800000004", 1, false).await;
    let times = [
        (a.clone(), local_ms(last_day_before, 23, 30)),
        (b.clone(), local_ms(this_month, 0, 30)),
        (cc.clone(), local_ms(last_day_before, 12, 0)),
    ];
    c.t.write(move |conn| {
        for (id, at) in &times {
            conn.execute(
                "UPDATE orders SET paid_at = ?2 WHERE id = ?1",
                rusqlite::params![id, at],
            )?;
        }
        Ok(())
    })
    .await;
    let last = c.get("/api/admin/stats?period=lastMonth").await;
    assert_eq!(
        last["lastMonth"],
        json!({"events": 0, "orders": 2, "revenue": 265.5, "users": 2})
    );
    c.t.put(
        &format!("/api/admin/orders/{cc}/refund"),
        Some(&c.token),
        json!({"reason": "退票"}),
    )
    .await
    .data();
    // The refund shows at once (the cache is emptied by refunds).
    let last = c.get("/api/admin/stats?period=lastMonth").await;
    assert_eq!(
        last["lastMonth"],
        json!({"events": 0, "orders": 2, "revenue": 177, "users": 2})
    );
    let series = last["series"].as_array().unwrap();
    assert_eq!(series.len() as u32, last_day_before.day());
    let end = series.last().unwrap();
    assert_eq!(end["date"], last_day_before.format("%Y-%m-%d").to_string());
    assert_eq!(
        (end["orders"].as_i64(), end["tickets"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(end["revenue"], 177);
    assert_eq!(
        last["from"],
        last_day_before
            .with_day(1)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    );

    let now = c.get("/api/admin/stats").await;
    assert_eq!(now["period"], "thisMonth");
    let show_in_month = (today + chrono::Duration::days(5)).month() == today.month();
    assert_eq!(
        now["thisMonth"],
        json!({"events": i64::from(show_in_month), "orders": 1, "revenue": 88.5, "users": 1})
    );
    assert_eq!(
        now["series"][0]["date"],
        this_month.format("%Y-%m-%d").to_string()
    );
    assert_eq!(now["series"][0]["orders"], 1);
    assert_eq!(now["series"].as_array().unwrap().len() as u32, today.day());
    assert_eq!(now["topEvents"][0]["eventId"], c.event.as_str());
    assert_eq!(now["topEvents"][0]["title"], "周五开放麦");
    assert_eq!(
        (
            now["totalOrders"].as_i64(),
            now["totalUsers"].as_i64(),
            now["totalEvents"].as_i64()
        ),
        (Some(3), Some(3), Some(1))
    );
    assert_eq!(now["totalRevenue"], 265.5);
    let all = c.get("/api/admin/stats?period=all").await;
    assert_eq!(all["all"]["orders"], 3);
    for p in ["today", "thisWeek", "thisYear"] {
        assert!(c.get(&format!("/api/admin/stats?period={p}")).await[p].is_object());
    }
    c.t.get_as("/api/admin/stats?period=THISMONTH", &c.token)
        .await
        .expect(400, "VALIDATION_FAILED");
}

/// Writes `n` paid orders straight into the store (the export's scale
/// test), with a few contact names a spreadsheet would misread.
async fn bulk_orders(c: &Club, n: usize) {
    let (event, option) = (c.event.clone(), c.option.clone());
    c.t.write(move |conn| {
        conn.execute(
            "INSERT INTO users (id, openid, status, created_at, updated_at)
             VALUES ('bulk-user', 'bulk-openid', 'active', 0, 0)",
            [],
        )?;
        let mut stmt = conn.prepare(
            "INSERT INTO orders (id, tenant_id, user_id, event_id, price_option_id, quantity,
                 unit_price, total_amount, user_name, user_phone, status, expires_at, paid_at,
                 pay_method, created_at, updated_at)
             VALUES (?1, 'dt', 'bulk-user', ?2, ?3, 1, 8850, 8850, ?4, '13800138000', 'paid',
                     0, ?5, 'wechat', ?5, ?5)",
        )?;
        let names = [
            "张三",
            "=HYPERLINK(\"http://x\")",
            "+86 李四",
            "@SUM(A1)",
            "逗号,\"引号\"\n换行",
        ];
        let base = chrono::Utc::now().timestamp_millis() - 3_600_000;
        for i in 0..n {
            stmt.execute(rusqlite::params![
                standup_tickets::ids::new_id(),
                event,
                option,
                names[i % names.len()],
                base + i as i64
            ])?;
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn csv_export_streams_every_order_safely_for_excel() {
    let c = club().await;
    let refunded = c.order("x1", "退款人", "13900000001", 1, true).await;
    c.t.put(
        &format!("/api/admin/orders/{refunded}/refund"),
        Some(&c.token),
        json!({"reason": "退"}),
    )
    .await
    .data();
    bulk_orders(&c, 10_000).await;
    let res =
        c.t.client
            .get(c.t.url("/api/admin/orders/export.csv"))
            .bearer_auth(&c.token)
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"orders-")
    );
    assert!(res.headers().get("content-length").is_none(), "streamed");
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel");
    let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header[0], "订单号");
    assert_eq!(header.len(), 17);
    assert!(header.contains(&"金额（元）".to_string()));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 10_001);
    let name_col = header.iter().position(|h| h == "联系人").unwrap();
    let names: HashSet<&str> = rows.iter().map(|r| &r[name_col]).collect();
    assert!(
        names.contains("'=HYPERLINK(\"http://x\")"),
        "formula defused"
    );
    assert!(names.contains("'+86 李四") && names.contains("'@SUM(A1)"));
    assert!(names.contains("逗号,\"引号\"\n换行"), "quoted, round-trips");
    assert!(!names.iter().any(|n| n.starts_with('=')));
    let amount_col = header.iter().position(|h| h == "金额（元）").unwrap();
    assert_eq!(&rows[5][amount_col], "88.5");
    let status_col = header.iter().position(|h| h == "状态").unwrap();
    let time_col = header.iter().position(|h| h == "下单时间").unwrap();
    assert_eq!(rows[0][time_col].len(), "2026-12-02 20:31:05".len());
    let r_row = rows.iter().find(|r| r[0] == *refunded).unwrap();
    assert_eq!(&r_row[status_col], "已退款");
    // The same filters as the list.
    let res =
        c.t.client
            .get(c.t.url("/api/admin/orders/export.csv?status=refunded"))
            .bearer_auth(&c.token)
            .send()
            .await
            .unwrap();
    let text = res.text().await.unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    c.t.get_as("/api/admin/orders/export.csv?from=nope", &c.token)
        .await
        .expect(400, "VALIDATION_FAILED");
}
