//! The offline door: the pack a scanner downloads to decide alone, and the
//! rule that applies its scans when it is back online. Earliest scan wins:
//! an offline scan made before the ticket's recorded entry takes its place,
//! and the later one becomes the duplicate.

use std::borrow::Cow;

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::Timestamp;
use super::checkin::{ScanPoint, TicketFacts, check_in_outcome};
use crate::error::Rejection;

/// Scans in one upload, at most: a full house of a large club, twice.
pub const MAX_SYNC_SCANS: usize = 5_000;

/// How a scanner turns a scanned code into a pack digest.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DigestSpec {
    /// HMAC-SHA256
    pub algorithm: &'static str,
    /// This show's door key, base64url: it can neither mint nor verify a code.
    pub key: String,
    /// Leading bytes of the MAC kept (16).
    pub length: usize,
    /// base64url
    pub encoding: &'static str,
}

/// One ticket that may come through the door.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackTicket {
    /// base64url(HMAC-SHA256(key, scanned code)[..16]).
    pub digest: String,
    pub ticket_id: String,
    pub order_id: String,
    pub price_option_name: String,
    pub contact_name: String,
    /// Set when the ticket is already in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub used_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// In a change: the ticket can no longer come in (refunded, its order
    /// no longer paid, expired). Never set in a pack, which leaves such
    /// tickets out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub void: bool,
}

/// What changed at a show's door since a device's cursor: the current
/// state of every ticket let in, taken back or voided since.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoorChanges {
    pub event_id: String,
    /// Pass it as `since` next time.
    pub cursor: i64,
    /// More changes wait: ask again at once with the new cursor.
    pub more: bool,
    /// The show's count now.
    pub sold: i64,
    pub checked_in: i64,
    pub changes: Vec<PackTicket>,
}

/// Changes in one answer, at most.
pub const MAX_CHANGES: i64 = 2_000;

/// Everything a scanner needs to decide alone for one show.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoorPack {
    pub event_id: String,
    pub event_title: String,
    pub event_date: String,
    pub event_time: String,
    /// Changes whenever anything in the pack does; the ETag carries it.
    pub pack_version: String,
    /// The show's door history as of this pack: poll
    /// `door-changes?since=` with it to learn what happens next.
    pub cursor: i64,
    pub digest: DigestSpec,
    /// Tickets in the pack, and how many of them are in.
    pub sold: i64,
    pub checked_in: i64,
    /// Tickets of paid and used orders without a refund, in ticket id order.
    pub tickets: Vec<PackTicket>,
}

impl DoorPack {
    /// Sets `pack_version` to a hash of everything else, so equal packs have
    /// equal versions whichever request built them.
    pub fn seal(mut self) -> DoorPack {
        self.pack_version.clear();
        let bytes = serde_json::to_vec(&self).unwrap_or_default();
        let hash = Sha256::digest(&bytes);
        self.pack_version = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
        self
    }
}

/// What an offline scan does when it reaches the server.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncVerdict {
    /// The ticket was not in: this scan lets it in.
    In,
    /// The ticket is in by a later scan: this earlier one takes its place.
    Replaces,
    /// The ticket was already in, by this scan's time.
    Duplicate,
    Refused(Rejection),
}

/// Judges a scan as if it had been made at `scanned_at`: a ticket that has
/// since expired was still good then, and a ticket in by a later scan is
/// judged as not yet in. The show's day is the scan's own day.
pub fn sync_verdict(
    facts: &TicketFacts,
    door: &ScanPoint<'_>,
    scanned_at: i64,
    expires_at: i64,
) -> SyncVerdict {
    let winner_at = (facts.ticket_status == "used").then(|| facts.used_at.unwrap_or(i64::MIN));
    let expired_since = facts.ticket_status == "expired" && scanned_at < expires_at;
    let facts = if winner_at.is_some() || expired_since {
        Cow::Owned(TicketFacts {
            ticket_status: "valid".into(),
            ..facts.clone()
        })
    } else {
        Cow::Borrowed(facts)
    };
    if let Err(r) = check_in_outcome(&facts, door) {
        return SyncVerdict::Refused(r);
    }
    match winner_at {
        None => SyncVerdict::In,
        Some(at) if scanned_at < at => SyncVerdict::Replaces,
        Some(_) => SyncVerdict::Duplicate,
    }
}

/// accepted · duplicate · rejected
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScanResult {
    Accepted,
    Duplicate,
    Rejected,
}

/// The scan that has the ticket in.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Winner {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub scanned_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
}

/// The server's answer for one uploaded scan, in upload order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanReport {
    pub result: ScanResult,
    /// As applied: the device's time, at most the upload's.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scanned_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_option_name: Option<String>,
    /// A rejected scan's code (TICKET_NOT_FOUND, TICKET_VOID, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A duplicate's winning scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<Winner>,
}

impl ScanReport {
    /// A scan refused before any ticket was found.
    pub fn refused(scanned_at: Option<i64>, r: Rejection) -> ScanReport {
        ScanReport {
            result: ScanResult::Rejected,
            scanned_at: scanned_at.map(Timestamp),
            ticket_id: None,
            contact_name: None,
            price_option_name: None,
            error: Some(r.code.as_str()),
            message: Some(r.message),
            winner: None,
        }
    }
}

/// A scan of this device the server had let in, since beaten by an
/// earlier scan of the same ticket on another device.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Superseded {
    pub ticket_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub scanned_at: Timestamp,
    pub contact_name: String,
    pub winner: Winner,
}

/// The answer to an upload.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub device_id: String,
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<ScanReport>,
    /// This device's scans of the last two days that lost to an earlier one.
    pub superseded: Vec<Superseded>,
}

impl SyncReport {
    pub fn new(device_id: String, results: Vec<ScanReport>, superseded: Vec<Superseded>) -> Self {
        let count = |k: ScanResult| results.iter().filter(|r| r.result == k).count();
        SyncReport {
            device_id,
            accepted: count(ScanResult::Accepted),
            duplicates: count(ScanResult::Duplicate),
            rejected: count(ScanResult::Rejected),
            results,
            superseded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::orders::OrderStatus;
    use chrono::NaiveDate;

    const AT: i64 = 1_796_211_060_000;

    fn facts(status: &str, used_at: Option<i64>) -> TicketFacts {
        TicketFacts {
            ticket_status: status.into(),
            used_at,
            used_by: None,
            used_device: None,
            order_status: OrderStatus::Paid,
            refund: false,
            event_id: "e1".into(),
            event_title: "专场".into(),
            event_date: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            event_cancelled: false,
        }
    }

    fn door() -> ScanPoint<'static> {
        ScanPoint {
            event_id: None,
            today: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            force: false,
            tz: chrono_tz::Asia::Shanghai,
        }
    }

    #[test]
    fn the_earliest_scan_wins() {
        let d = door();
        assert_eq!(
            sync_verdict(&facts("valid", None), &d, AT, i64::MAX),
            SyncVerdict::In
        );
        let used = facts("used", Some(AT));
        assert_eq!(
            sync_verdict(&used, &d, AT - 1, i64::MAX),
            SyncVerdict::Replaces
        );
        assert_eq!(
            sync_verdict(&used, &d, AT, i64::MAX),
            SyncVerdict::Duplicate
        );
        assert_eq!(
            sync_verdict(&used, &d, AT + 1, i64::MAX),
            SyncVerdict::Duplicate
        );
    }

    #[test]
    fn a_scan_is_judged_at_its_own_time() {
        let d = door();
        let expired = facts("expired", None);
        assert_eq!(sync_verdict(&expired, &d, AT, AT + 1), SyncVerdict::In);
        let late = sync_verdict(&expired, &d, AT + 1, AT + 1);
        assert!(matches!(late, SyncVerdict::Refused(r) if r.code.as_str() == "TICKET_EXPIRED"));
        let mut refunded = facts("used", Some(AT));
        refunded.order_status = OrderStatus::Refunded;
        let v = sync_verdict(&refunded, &d, AT - 1, i64::MAX);
        assert!(matches!(v, SyncVerdict::Refused(r) if r.code.as_str() == "TICKET_VOID"));
        let mut other_day = door();
        other_day.today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let v = sync_verdict(&facts("valid", None), &other_day, AT, i64::MAX);
        assert!(matches!(v, SyncVerdict::Refused(r) if r.code.as_str() == "WRONG_SHOW"));
    }

    #[test]
    fn equal_packs_have_equal_versions() {
        let pack = |name: &str| {
            DoorPack {
                event_id: "e1".into(),
                event_title: "专场".into(),
                event_date: "2026-12-02".into(),
                event_time: "20:00".into(),
                pack_version: String::new(),
                cursor: 7,
                digest: DigestSpec {
                    algorithm: "HMAC-SHA256",
                    key: "k".into(),
                    length: 16,
                    encoding: "base64url",
                },
                sold: 1,
                checked_in: 0,
                tickets: vec![PackTicket {
                    digest: "d".into(),
                    ticket_id: "t".into(),
                    order_id: "o".into(),
                    price_option_name: "普通".into(),
                    contact_name: name.into(),
                    used_at: None,
                    used_by: None,
                    device_id: None,
                    void: false,
                }],
            }
            .seal()
        };
        assert_eq!(pack("张三").pack_version, pack("张三").pack_version);
        assert_ne!(pack("张三").pack_version, pack("李四").pack_version);
        assert_eq!(pack("张三").pack_version.len(), 24);
    }
}
