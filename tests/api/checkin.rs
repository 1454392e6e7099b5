//! The door over HTTP: every scan outcome, undo, and scanners racing.

use std::sync::Arc;

use serde_json::{Value, json};
use standup_tickets::model::admins::AdminRole;

use crate::common::admin::{admin_token, create_show, owner_token, show_body};
use crate::common::*;

pub(crate) struct Door {
    pub t: Arc<TestApp>,
    pub owner: String,
    pub staff: String,
    pub tonight: String,
    pub option: String,
}

/// A show tonight (dated today in the club's zone) with plenty of seats.
pub(crate) async fn door() -> Door {
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    let staff = admin_token(&t, "dt", "door", AdminRole::Staff).await;
    let mut body = show_body(3);
    body["maxPerUser"] = json!(50);
    body["maxPerOrder"] = json!(10);
    body["priceOptions"][1]["totalCount"] = json!(1000);
    let e = create_show(&t, &owner, body).await;
    let tonight = e["id"].as_str().unwrap().to_string();
    crate::common::admin::date_today(&t, &tonight).await;
    Door {
        t: Arc::new(t),
        owner,
        staff,
        option: e["priceOptions"][1]["id"].as_str().unwrap().to_string(),
        tonight,
    }
}

impl Door {
    /// A paid order of `qty` tickets for `event`; its ticket codes and id.
    pub async fn tickets(
        &self,
        event: &str,
        option: &str,
        qty: i64,
    ) -> (String, Vec<(String, String)>) {
        let (tok, _) = self
            .t
            .login(&format!("b-{}", standup_tickets::ids::new_id()), "dt")
            .await;
        let o = self
            .t
            .post("/api/orders", Some(&tok), order_body(event, option, qty))
            .await;
        let id = o.data()["id"].as_str().unwrap().to_string();
        let paid = self
            .t
            .post(&format!("/api/dev/payments/{id}/confirm"), None, json!({}))
            .await;
        let tickets = paid.data()["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_string(),
                    t["qrCode"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (id, tickets)
    }

    pub async fn scan(&self, token: &str, body: Value) -> Reply {
        self.t.post("/api/admin/checkin", Some(token), body).await
    }
}

#[tokio::test]
async fn every_outcome_at_the_door() {
    let d = door().await;
    let (order, tickets) = d.tickets(&d.tonight, &d.option, 2).await;
    let (first, second) = (&tickets[0], &tickets[1]);

    let r = d
        .scan(
            &d.staff,
            json!({"qrCode": first.1, "eventId": d.tonight, "deviceId": "门口1"}),
        )
        .await;
    let ok = r.data();
    assert_eq!(r.json["message"], "检票成功");
    assert_eq!(ok["contactPhone"], "138****8000");
    assert_eq!(ok["contactName"], "张三");
    assert_eq!(
        (ok["orderCheckedIn"].as_i64(), ok["orderTickets"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(ok["priceOptionName"], "普通");
    assert_eq!(
        order_statuses(&d.t, std::slice::from_ref(&order)).await,
        ["paid"]
    );

    // Again: who, when and which device.
    let again = d.scan(&d.owner, json!({"qrCode": first.1})).await;
    again.expect(409, "TICKET_ALREADY_USED");
    let msg = again.json["message"].as_str().unwrap();
    assert!(msg.contains("door") && msg.contains("门口1"), "{msg}");

    // Forged, mistyped, junk: 404 without a lookup.
    let mut forged = first.1.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        forged.as_str(),
        "",
        "ST1.x.y",
        "'; DROP TABLE tickets; --",
        &"9".repeat(5000),
    ] {
        d.scan(&d.staff, json!({"qrCode": bad}))
            .await
            .expect(404, "TICKET_NOT_FOUND");
    }

    // The last ticket of the order makes it used.
    let r = d.scan(&d.staff, json!({"qrCode": second.1})).await;
    assert_eq!(r.data()["orderCheckedIn"], 2);
    assert_eq!(
        order_statuses(&d.t, std::slice::from_ref(&order)).await,
        ["used"]
    );
    // Undo: the ticket is valid again and the order paid.
    let r =
        d.t.post(
            "/api/admin/checkin/undo",
            Some(&d.staff),
            json!({"ticketId": second.0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        order_statuses(&d.t, std::slice::from_ref(&order)).await,
        ["paid"]
    );
    d.t.post(
        "/api/admin/checkin/undo",
        Some(&d.staff),
        json!({"ticketId": second.0}),
    )
    .await
    .expect(409, "TICKET_NOT_USED");
    // Older than ten minutes: too late to undo.
    let tid = first.0.clone();
    d.t.write(move |c| {
        c.execute(
            "UPDATE tickets SET used_at = used_at - 11 * 60 * 1000 WHERE id = ?1",
            [&tid],
        )?;
        c.execute(
            "UPDATE checkins SET scanned_at = scanned_at - 11 * 60 * 1000 WHERE ticket_id = ?1",
            [&tid],
        )?;
        Ok(())
    })
    .await;
    d.t.post(
        "/api/admin/checkin/undo",
        Some(&d.staff),
        json!({"ticketId": first.0}),
    )
    .await
    .expect(409, "UNDO_WINDOW_CLOSED");

    // Another show, and a show on another day: WRONG_SHOW, forced only by an owner.
    let other = create_show(&d.t, &d.owner, show_body(4)).await;
    let other_id = other["id"].as_str().unwrap();
    let other_opt = other["priceOptions"][0]["id"].as_str().unwrap();
    let (_, later) = d.tickets(other_id, other_opt, 1).await;
    let r = d
        .scan(
            &d.staff,
            json!({"qrCode": later[0].1, "eventId": d.tonight}),
        )
        .await;
    r.expect(409, "WRONG_SHOW");
    assert!(r.json["message"].as_str().unwrap().contains("周五开放麦"));
    d.scan(&d.staff, json!({"qrCode": later[0].1}))
        .await
        .expect(409, "WRONG_SHOW");
    d.scan(&d.staff, json!({"qrCode": later[0].1, "force": true}))
        .await
        .expect(403, "OWNER_ONLY");
    let r = d
        .scan(&d.owner, json!({"qrCode": later[0].1, "force": true}))
        .await;
    assert_eq!(r.data()["forced"], true);
    let log =
        d.t.get_as("/api/admin/audit-log?targetType=ticket", &d.owner)
            .await;
    let actions: Vec<&str> = log.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"checkin_forced") && actions.contains(&"checkin_undone"));

    // Refunded, refund pending, cancelled show: void, even forced.
    let (refunded, t1) = d.tickets(&d.tonight, &d.option, 1).await;
    d.t.put(
        &format!("/api/admin/orders/{refunded}/refund"),
        Some(&d.owner),
        json!({"reason": "退"}),
    )
    .await
    .data();
    let r = d
        .scan(&d.owner, json!({"qrCode": t1[0].1, "force": true}))
        .await;
    r.expect(409, "TICKET_VOID");
    assert!(r.json["message"].as_str().unwrap().contains("已退款"));
    let (pending_refund, t2) = d.tickets(&d.tonight, &d.option, 1).await;
    d.t.write(move |c| {
        c.execute(
            "INSERT INTO refunds (id, out_refund_no, tenant_id, order_id, amount, status,
                 requested_by, created_at, updated_at)
             VALUES ('rf1', 'rf1', 'dt', ?1, 8850, 'processing', 'user:x', 0, 0)",
            [&pending_refund],
        )?;
        Ok(())
    })
    .await;
    d.scan(&d.staff, json!({"qrCode": t2[0].1}))
        .await
        .expect(409, "TICKET_VOID");

    // Another club's ticket is not found here.
    d.t.seed_tenant("xc").await;
    let x_owner = owner_token(&d.t, "xc").await;
    d.scan(&x_owner, json!({"qrCode": t2[0].1}))
        .await
        .expect(404, "TICKET_NOT_FOUND");
    let (_, t3) = d.tickets(&d.tonight, &d.option, 1).await;
    d.t.post(
        &format!("/api/admin/events/{}/cancel", d.tonight),
        Some(&d.owner),
        json!({"reason": "停电"}),
    )
    .await
    .data();
    let r = d.scan(&d.staff, json!({"qrCode": t3[0].1})).await;
    r.expect(409, "TICKET_VOID");
    assert_invariants(&d.t).await;
}

#[tokio::test]
async fn scanners_racing_let_each_ticket_in_once() {
    let d = door().await;
    let (_, one) = d.tickets(&d.tonight, &d.option, 1).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (t, token, code) = (d.t.clone(), d.staff.clone(), one[0].1.clone());
        tasks.spawn(async move {
            t.post(
                "/api/admin/checkin",
                Some(&token),
                json!({"qrCode": code, "deviceId": format!("scanner-{i}")}),
            )
            .await
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        match r.status {
            200 => ok += 1,
            409 => assert_eq!(r.json["error"], "TICKET_ALREADY_USED"),
            _ => panic!("{}", r.text),
        }
    }
    assert_eq!(ok, 1, "exactly one scan lets the ticket in");

    // 200 tickets, 200 scans at once: all in.
    let mut codes = Vec::new();
    for _ in 0..20 {
        let (_, t) = d.tickets(&d.tonight, &d.option, 10).await;
        codes.extend(t.into_iter().map(|(_, c)| c));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for code in codes {
        let (t, token) = (d.t.clone(), d.staff.clone());
        tasks.spawn(async move {
            t.post("/api/admin/checkin", Some(&token), json!({"qrCode": code}))
                .await
                .status
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = tasks.join_next().await {
        statuses.push(s.unwrap());
    }
    assert_eq!(statuses, vec![200; 200]);
    let used: i64 =
        d.t.store()
            .read(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM tickets WHERE status = 'used'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
    assert_eq!(used, 201);
    let orders_used: i64 =
        d.t.store()
            .read(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM orders WHERE status = 'used'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
    assert_eq!(orders_used, 21);
    let count =
        d.t.get_as(
            &format!("/api/admin/events/{}/checkins", d.tonight),
            &d.staff,
        )
        .await;
    let count = count.data();
    assert_eq!(
        (count["sold"].as_i64(), count["checkedIn"].as_i64()),
        (Some(201), Some(201))
    );
    assert_eq!(count["byOption"][1]["checkedIn"], 201);
    assert_eq!(count["lastScans"].as_array().unwrap().len(), 20);
    assert_invariants(&d.t).await;
}

#[tokio::test]
async fn tickets_expire_after_the_show_and_only_an_owner_forces_them_in() {
    let tmp = tempfile::tempdir().unwrap();
    let t = TestApp::start_in(tmp.path(), |_| {}).await;
    t.seed_tenant("dt").await;
    let owner = owner_token(&t, "dt").await;
    let e = create_show(&t, &owner, show_body(3)).await;
    let (event, option) = (
        e["id"].as_str().unwrap().to_string(),
        e["priceOptions"][0]["id"].as_str().unwrap().to_string(),
    );
    let (oid, codes) =
        crate::common::admin::paid_order(&t, "late-comer", "dt", &event, &option, 2).await;
    let code = codes[0].clone();
    // The show ended seven hours ago (the default expiry is six).
    let id = event.clone();
    t.write(move |c| {
        let ended = chrono::Utc::now().timestamp_millis() - 7 * 3_600_000 - 90 * 60_000;
        c.execute(
            "UPDATE events SET starts_at = ?2 WHERE id = ?1",
            rusqlite::params![id, ended],
        )?;
        Ok(())
    })
    .await;
    t.stop().await;
    // The job runs before the restarted server takes requests.
    let t = TestApp::start_in(tmp.path(), |_| {}).await;
    let owner = crate::common::admin::admin_token(&t, "dt", "owner2", AdminRole::Owner).await;
    let staff = admin_token(&t, "dt", "door", AdminRole::Staff).await;
    let statuses: Vec<String> = {
        let oid = oid.clone();
        t.store()
            .read(move |c| {
                let mut s = c.prepare("SELECT status FROM tickets WHERE order_id = ?1")?;
                let v = s
                    .query_map([&oid], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?;
                Ok(v)
            })
            .await
            .unwrap()
    };
    assert_eq!(statuses, ["expired", "expired"]);
    t.post("/api/admin/checkin", Some(&staff), json!({"qrCode": code}))
        .await
        .expect(409, "TICKET_EXPIRED");
    t.post(
        "/api/admin/checkin",
        Some(&staff),
        json!({"qrCode": code, "force": true}),
    )
    .await
    .expect(403, "OWNER_ONLY");
    let r = t
        .post(
            "/api/admin/checkin",
            Some(&owner),
            json!({"qrCode": code, "force": true}),
        )
        .await;
    assert_eq!(r.data()["forced"], true);
    t.stop().await;
}
