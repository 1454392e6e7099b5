//! The offline door over HTTP: the pack, uploads from devices that scanned
//! while the basement had no signal, replays, and the earliest scan winning.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use standup_tickets::model::Timestamp;

use crate::checkin::{Door, door};
use crate::common::admin::owner_token;
use crate::common::*;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .to_rfc3339()
}

/// What a scanner computes from a scanned code, written from the protocol
/// as docs/API.md states it, not from the server's code.
fn digest(key_b64url: &str, code: &str) -> String {
    let key = URL_SAFE_NO_PAD.decode(key_b64url).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(code.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
}

impl Door {
    async fn sync(&self, device: &str, scans: &[(&str, i64)]) -> Reply {
        let scans: Vec<Value> = scans
            .iter()
            .map(|(code, at)| json!({"qrCode": code, "scannedAt": rfc3339(*at)}))
            .collect();
        self.t
            .post(
                "/api/admin/checkin/sync",
                Some(&self.staff),
                json!({"deviceId": device, "scans": scans}),
            )
            .await
    }

    async fn pack(&self, etag: Option<&str>) -> reqwest::Response {
        let mut req = self
            .t
            .client
            .get(
                self.t
                    .url(&format!("/api/admin/events/{}/door-pack", self.tonight)),
            )
            .bearer_auth(&self.staff);
        if let Some(tag) = etag {
            req = req.header("if-none-match", tag);
        }
        req.send().await.unwrap()
    }

    /// Everything the door changes: tickets, orders and the scan history.
    async fn snapshot(&self) -> String {
        self.t
            .store()
            .read(|c| {
                let mut out = String::new();
                for sql in [
                    "SELECT id, status, used_at, used_by, used_device FROM tickets ORDER BY id",
                    "SELECT id, status, updated_at FROM orders ORDER BY id",
                    "SELECT * FROM checkins ORDER BY id",
                ] {
                    let mut s = c.prepare(sql)?;
                    let n = s.column_count();
                    let rows = s.query_map([], |r| {
                        let mut line = Vec::new();
                        for i in 0..n {
                            line.push(format!("{:?}", r.get_ref(i)?));
                        }
                        Ok(line.join("|"))
                    })?;
                    for row in rows {
                        out.push_str(&row?);
                        out.push('\n');
                    }
                }
                Ok(out)
            })
            .await
            .unwrap()
    }
}

fn results(r: &Reply) -> Vec<&str> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.data()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["result"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn two_offline_devices_the_earliest_scan_wins_and_replays_change_nothing() {
    let d = door().await;
    let (_, shared) = d.tickets(&d.tonight, &d.option, 1).await;
    let (_, a_only) = d.tickets(&d.tonight, &d.option, 1).await;
    let (_, b_only) = d.tickets(&d.tonight, &d.option, 1).await;
    let (x, y, z) = (&shared[0], &a_only[0], &b_only[0]);

    // Both devices download the pack before the signal goes.
    let res = d.pack(None).await;
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let bytes = res.text().await.unwrap();
    let pack: Value = serde_json::from_str(&bytes).unwrap();
    let pack = &pack["data"];
    assert_eq!(pack["sold"], 3);
    assert_eq!(pack["checkedIn"], 0);
    assert_eq!(
        etag,
        format!("W/\"{}\"", pack["packVersion"].as_str().unwrap())
    );
    assert_eq!(pack["digest"]["algorithm"], "HMAC-SHA256");
    let key = pack["digest"]["key"].as_str().unwrap();
    let digests: Vec<&str> = pack["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["digest"].as_str().unwrap())
        .collect();
    for (_, code) in [x, y, z] {
        assert!(digests.contains(&digest(key, code).as_str()), "{code}");
        // No code, nor either half of one, in the bytes.
        assert!(!bytes.contains(code.as_str()));
        let parts: Vec<&str> = code.split('.').collect();
        assert!(!bytes.contains(parts[1]) && !bytes.contains(parts[2]));
    }
    // Nor the server's QR key in any spelling.
    let qr_key: Vec<u8> =
        d.t.store()
            .read(|c| {
                Ok(c.query_row(
                    "SELECT value FROM server_keys WHERE name = 'ticket_qr'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
    for spelled in [
        hex::encode(&qr_key),
        hex::encode_upper(&qr_key),
        STANDARD.encode(&qr_key),
        URL_SAFE_NO_PAD.encode(&qr_key),
    ] {
        assert!(!bytes.contains(&spelled));
    }
    assert!(!bytes.contains("ST1."), "no code prefix at all");
    assert_eq!(pack["tickets"][0]["contactName"], "张三");
    // Compressed for a scanner that accepts gzip.
    let zipped =
        d.t.client
            .get(d.t.url(&format!("/api/admin/events/{}/door-pack", d.tonight)))
            .bearer_auth(&d.staff)
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["etag"].to_str().unwrap(), etag);
    assert!(zipped.bytes().await.unwrap().len() < bytes.len());
    // Re-downloading an unchanged pack costs a 304 and no body.
    let again = d.pack(Some(&etag)).await;
    assert_eq!(again.status(), 304);
    assert!(again.text().await.unwrap().is_empty());

    // Offline: A scans X at 20:00, B at 20:05 (a copied ticket), each one more.
    // Earlier tonight, but never before the club's midnight: a scan dated
    // yesterday would be for another night's show.
    let now = now_ms();
    let midnight = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(chrono_tz::Asia::Shanghai)
        .unwrap()
        .timestamp_millis();
    let t0 = (now - 30 * 60_000).max(midnight + 1_000);
    let gap = ((now - t0) / 3).min(5 * 60_000);
    let (a_at, b_at) = (t0, t0 + gap);
    let a_scans = [(x.1.as_str(), a_at), (y.1.as_str(), a_at + 1_000)];
    let b_scans = [(x.1.as_str(), b_at), (z.1.as_str(), b_at + 1_000)];

    // B syncs first: both its scans are in, for now.
    let b1 = d.sync("door-B", &b_scans).await;
    assert_eq!(results(&b1), ["accepted", "accepted"]);
    // A's earlier scan takes X over.
    let a1 = d.sync("door-A", &a_scans).await;
    assert_eq!(results(&a1), ["accepted", "accepted"]);
    assert_eq!(a1.data()["accepted"], 2);

    // B uploads again: nothing changes, and X is now B's duplicate, with the winner.
    let before = d.snapshot().await;
    let b2 = d.sync("door-B", &b_scans).await;
    assert_eq!(results(&b2), ["duplicate", "accepted"]);
    let w = &b2.data()["results"][0]["winner"];
    assert_eq!(w["deviceId"], "door-A");
    assert_eq!(w["scannedAt"], json!(Timestamp(a_at)));
    assert_eq!(w["usedBy"], "door");
    let lost = b2.data()["superseded"].as_array().unwrap();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0]["ticketId"], x.0.as_str());
    assert_eq!(lost[0]["winner"]["deviceId"], "door-A");
    // A uploads again too: the same answers, nothing changes.
    let a2 = d.sync("door-A", &a_scans).await;
    assert_eq!(results(&a2), ["accepted", "accepted"]);
    assert_eq!(d.snapshot().await, before, "replays change nothing");
    assert!(a2.data()["superseded"].as_array().unwrap().is_empty());

    // Both devices refresh: X in at A's time on A; Y and Z in; a new version.
    let res = d.pack(Some(&etag)).await;
    assert_eq!(res.status(), 200);
    let fresh: Value = res.json().await.unwrap();
    let fresh = &fresh["data"];
    assert_eq!(fresh["checkedIn"], 3);
    assert_ne!(fresh["packVersion"], pack["packVersion"]);
    let by_id = |id: &str| {
        fresh["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["ticketId"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(&x.0)["deviceId"], "door-A");
    assert_eq!(by_id(&x.0)["usedAt"], json!(Timestamp(a_at)));
    assert_eq!(by_id(&z.0)["deviceId"], "door-B");
    // Online, X is told as already in, by A.
    let r = d.scan(&d.staff, json!({"qrCode": x.1})).await;
    r.expect(409, "TICKET_ALREADY_USED");
    assert!(r.json["message"].as_str().unwrap().contains("door-A"));
    let count =
        d.t.get_as(
            &format!("/api/admin/events/{}/checkins", d.tonight),
            &d.staff,
        )
        .await;
    assert_eq!(count.data()["checkedIn"], 3);
    assert_invariants(&d.t).await;
}

#[tokio::test]
async fn offline_scans_are_judged_as_of_their_own_time() {
    let d = door().await;
    let now = now_ms();
    let (order, two) = d.tickets(&d.tonight, &d.option, 2).await;

    // An online entry at now; an offline scan a minute earlier replaces it.
    let r = d
        .scan(
            &d.staff,
            json!({"qrCode": two[0].1, "deviceId": "online-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = d.sync("cellar", &[(two[0].1.as_str(), now - 60_000)]).await;
    assert_eq!(results(&s), ["accepted"]);
    let online = d.scan(&d.staff, json!({"qrCode": two[0].1})).await;
    assert!(online.json["message"].as_str().unwrap().contains("cellar"));

    // The order's last ticket by sync: the order is used. Undo restores it,
    // and the same upload again reports the undo instead of re-admitting.
    let last = [(two[1].1.as_str(), now - 30_000)];
    assert_eq!(results(&d.sync("cellar", &last).await), ["accepted"]);
    assert_eq!(
        order_statuses(&d.t, std::slice::from_ref(&order)).await,
        ["used"]
    );
    d.t.post(
        "/api/admin/checkin/undo",
        Some(&d.staff),
        json!({"ticketId": two[1].0}),
    )
    .await
    .data();
    assert_eq!(
        order_statuses(&d.t, std::slice::from_ref(&order)).await,
        ["paid"]
    );
    let replay = d.sync("cellar", &last).await;
    assert_eq!(results(&replay), ["rejected"]);
    assert_eq!(replay.data()["results"][0]["error"], "CHECKIN_UNDONE");
    assert_eq!(
        order_statuses(&d.t, std::slice::from_ref(&order)).await,
        ["paid"]
    );

    // Void, forged, another club's, another show, unreadable time: rejected
    // with their codes, and the good scans beside them still go in.
    let (refunded, r1) = d.tickets(&d.tonight, &d.option, 1).await;
    d.t.put(
        &format!("/api/admin/orders/{refunded}/refund"),
        Some(&d.owner),
        json!({"reason": "退"}),
    )
    .await
    .data();
    let other =
        crate::common::admin::create_show(&d.t, &d.owner, crate::common::admin::show_body(4)).await;
    let (_, later) = d
        .tickets(
            other["id"].as_str().unwrap(),
            other["priceOptions"][0]["id"].as_str().unwrap(),
            1,
        )
        .await;
    d.t.seed_tenant("xc").await;
    let x_owner = owner_token(&d.t, "xc").await;
    let (_, good) = d.tickets(&d.tonight, &d.option, 1).await;
    let mut forged = good[0].1.clone();
    let end = forged.pop().unwrap();
    forged.push(if end == 'A' { 'B' } else { 'A' });
    let body = json!({"deviceId": "cellar", "eventId": d.tonight, "scans": [
        {"qrCode": r1[0].1, "scannedAt": now - 5_000},
        {"qrCode": forged, "scannedAt": now - 4_000},
        {"qrCode": later[0].1, "scannedAt": now - 3_000},
        {"qrCode": good[0].1, "scannedAt": now + 3_600_000},
        {"qrCode": good[0].1, "scannedAt": "昨天晚上"},
        {"qrCode": "'; DROP TABLE tickets; --", "scannedAt": now},
    ]});
    let before = d.snapshot().await;
    let r =
        d.t.post("/api/admin/checkin/sync", Some(&d.staff), body.clone())
            .await;
    assert_eq!(
        results(&r),
        [
            "rejected", "rejected", "rejected", "accepted", "rejected", "rejected"
        ]
    );
    let errors: Vec<&str> = r.data()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["error"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        errors,
        [
            "TICKET_VOID",
            "TICKET_NOT_FOUND",
            "WRONG_SHOW",
            "-",
            "VALIDATION_FAILED",
            "TICKET_NOT_FOUND"
        ]
    );
    // A clock ahead is taken as the upload's time, never later.
    let applied = r.data()["results"][3]["scannedAt"].as_str().unwrap();
    let applied = chrono::DateTime::parse_from_rfc3339(applied)
        .unwrap()
        .timestamp_millis();
    assert!(applied <= now_ms() && applied >= now, "{applied}");
    let after = d.snapshot().await;
    assert_ne!(before, after);
    let again =
        d.t.post("/api/admin/checkin/sync", Some(&d.staff), body.clone())
            .await;
    assert_eq!(results(&again), results(&r));
    assert_eq!(d.snapshot().await, after, "replay changes nothing");
    // Another club's admin finds none of these tickets.
    let x =
        d.t.post(
            "/api/admin/checkin/sync",
            Some(&x_owner),
            json!({"deviceId": "x", "scans": [{"qrCode": good[0].1, "scannedAt": now}]}),
        )
        .await;
    assert_eq!(x.data()["results"][0]["error"], "TICKET_NOT_FOUND");
    assert_eq!(d.snapshot().await, after);

    // The upload itself: a device is required, and a size.
    for (bad, why) in [
        (json!({"scans": []}), "deviceId"),
        (json!({"deviceId": "  ", "scans": []}), "deviceId"),
        (json!({"deviceId": "d".repeat(65), "scans": []}), "deviceId"),
        (
            json!({"deviceId": "d", "eventId": "x'--", "scans": []}),
            "eventId",
        ),
        (
            json!({"deviceId": "d", "scans": [{"qrCode": 5, "scannedAt": now}]}),
            "qrCode",
        ),
        (
            json!({"deviceId": "d", "scans": vec![json!({"qrCode": "x", "scannedAt": now}); 5001]}),
            "scans",
        ),
    ] {
        let r =
            d.t.post("/api/admin/checkin/sync", Some(&d.staff), bad)
                .await;
        r.expect(400, "VALIDATION_FAILED");
        assert!(
            r.json["message"].as_str().unwrap().contains(why),
            "{}",
            r.text
        );
    }
    let empty =
        d.t.post(
            "/api/admin/checkin/sync",
            Some(&d.staff),
            json!({"deviceId": "idle", "scans": []}),
        )
        .await;
    assert_eq!(empty.data()["accepted"], 0);
    assert_eq!(d.snapshot().await, after);

    // The pack of another club's show, or of no show, is not found.
    d.t.get_as(
        &format!("/api/admin/events/{}/door-pack", d.tonight),
        &x_owner,
    )
    .await
    .expect(404, "EVENT_NOT_FOUND");
    assert_invariants(&d.t).await;
}

#[tokio::test]
async fn an_expired_ticket_scanned_offline_before_it_expired_goes_in() {
    let d = door().await;
    let (_, t) = d.tickets(&d.tonight, &d.option, 2).await;
    // The show ended 6.5 hours ago (dated the day it ended); tickets expired
    // half an hour ago.
    let (id, ended) = (d.tonight.clone(), now_ms() - 6 * 3_600_000 - 30 * 60_000);
    let day = rfc3339(ended - 60_000)[..10].to_string();
    d.t.write(move |c| {
        c.execute(
            "UPDATE events SET starts_at = ?2 - duration * 60000, event_date = ?3 WHERE id = ?1",
            rusqlite::params![id, ended, day],
        )?;
        let after = 6 * 3_600_000;
        standup_tickets::store::checkin::expire_tickets(
            c,
            after,
            chrono::Utc::now().timestamp_millis(),
        )?;
        Ok(())
    })
    .await;
    d.scan(&d.staff, json!({"qrCode": t[0].1}))
        .await
        .expect(409, "TICKET_EXPIRED");
    // Expired tickets are not in a pack downloaded now.
    let pack: Value = d.pack(None).await.json().await.unwrap();
    assert_eq!(pack["data"]["sold"], 0);
    let r = d
        .sync(
            "cellar",
            &[
                (t[0].1.as_str(), ended - 60_000),
                (t[1].1.as_str(), ended + 7 * 3_600_000),
            ],
        )
        .await;
    assert_eq!(results(&r), ["accepted", "rejected"]);
    assert_eq!(r.data()["results"][1]["error"], "TICKET_EXPIRED");
    assert_invariants(&d.t).await;
}

/// The door's changes since a cursor: an empty 304 while nothing happens,
/// then each ticket let in, taken back or voided, as it stands now, and a
/// cursor that moves on. Another club's show is not found; a bad cursor is
/// a Chinese 400.
#[tokio::test]
async fn door_changes_tell_a_device_what_the_other_doors_did() {
    let d = door().await;
    let (order, codes) = d.tickets(&d.tonight, &d.option, 2).await;
    let (first, second) = (&codes[0], &codes[1]);
    let pack: Value = d.pack(None).await.json().await.unwrap();
    let key = pack["data"]["digest"]["key"].as_str().unwrap().to_string();
    let cursor = pack["data"]["cursor"].as_i64().unwrap();
    let path = |since: i64| format!("/api/admin/events/{}/door-changes?since={since}", d.tonight);
    let quiet = d.t.get_as(&path(cursor), &d.staff).await;
    assert_eq!(quiet.status, 304, "{}", quiet.text);
    assert!(quiet.text.is_empty());

    // Another door lets the first ticket in.
    d.scan(
        &d.owner,
        json!({"qrCode": first.1, "eventId": d.tonight, "deviceId": "门口2"}),
    )
    .await
    .data();
    let r = d.t.get_as(&path(cursor), &d.staff).await;
    let c = r.data();
    let moved = c["cursor"].as_i64().unwrap();
    assert!(moved > cursor);
    assert_eq!(
        (c["sold"].as_i64(), c["checkedIn"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(c["more"], false);
    let changes = c["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["digest"], digest(&key, &first.1));
    assert_eq!(changes[0]["ticketId"], first.0.as_str());
    assert_eq!(changes[0]["usedBy"], "owner");
    assert_eq!(changes[0]["deviceId"], "门口2");
    assert!(changes[0]["usedAt"].is_string() && changes[0].get("void").is_none());
    assert_eq!(d.t.get_as(&path(moved), &d.staff).await.status, 304);

    // Taken back, then the second ticket in offline: one answer with both.
    d.t.post(
        "/api/admin/checkin/undo",
        Some(&d.owner),
        json!({"ticketId": first.0}),
    )
    .await
    .data();
    d.sync("cellar", &[(second.1.as_str(), now_ms() - 1_000)])
        .await
        .data();
    let c = d.t.get_as(&path(moved), &d.staff).await.data().clone();
    let changes = c["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    let undone = changes
        .iter()
        .find(|x| x["ticketId"] == first.0.as_str())
        .unwrap();
    assert!(undone.get("usedAt").is_none(), "{undone}");
    let offline = changes
        .iter()
        .find(|x| x["ticketId"] == second.0.as_str())
        .unwrap();
    assert_eq!(offline["deviceId"], "cellar");
    assert_eq!(c["checkedIn"], 1);

    // The order is refunded (forced: a ticket is in): both tickets void.
    let after = c["cursor"].as_i64().unwrap();
    d.t.put(
        &format!("/api/admin/orders/{order}/refund"),
        Some(&d.owner),
        json!({"reason": "演出调整", "force": true}),
    )
    .await
    .data();
    let c = d.t.get_as(&path(after), &d.staff).await.data().clone();
    let changes = c["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|x| x["void"] == true), "{changes:?}");
    assert_eq!(c["sold"], 0);
    // From the start: every ticket once, as it stands now.
    let all = d.t.get_as(&path(0), &d.staff).await.data().clone();
    assert_eq!(all["changes"].as_array().unwrap().len(), 2);

    // Bad cursors, another club, not an id.
    for bad in ["abc", "-1", "1.5", "99999999999999999999"] {
        let r =
            d.t.get_as(
                &format!("/api/admin/events/{}/door-changes?since={bad}", d.tonight),
                &d.staff,
            )
            .await;
        r.expect(400, "VALIDATION_FAILED");
        assert!(r.json["message"].as_str().unwrap().contains("since"));
    }
    d.t.seed_tenant("xc").await;
    let stranger = owner_token(&d.t, "xc").await;
    d.t.get_as(&path(0), &stranger)
        .await
        .expect(404, "EVENT_NOT_FOUND");
    d.t.get_as("/api/admin/events/nope/door-changes", &d.staff)
        .await
        .expect(404, "EVENT_NOT_FOUND");
    assert_invariants(&d.t).await;
}
