//! A club's team as its owner manages it: new admins, changes of name, role
//! and status, passwords; the rule that a club always keeps an active
//! owner; and the login lockout after wrong passwords in a row.

use serde::Deserialize;
use utoipa::ToSchema;

use super::accounts::{AdminRole, valid_new_password, valid_username};
use super::catalog::ActiveStatus;
use super::fields::{optional_text, refuse};
use crate::error::{Code, Rejection};

/// Wrong passwords in a row that lock a username…
pub const LOCK_AFTER_FAILURES: i64 = 5;
/// …for this long.
pub const LOCK_MS: i64 = 15 * 60 * 1000;

/// The body of `POST /api/admin/admins`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewAdminInput {
    /// 3-32 letters, digits or `_ . @ -`, unique in the club.
    pub username: String,
    /// 1-32 characters: how the console and the door name this person.
    pub display_name: Option<String>,
    /// owner | staff
    pub role: String,
    /// At least 10 characters.
    pub password: String,
}

/// A new admin as validated.
#[derive(Debug, Clone)]
pub struct NewAdmin {
    pub username: String,
    pub display_name: Option<String>,
    pub role: AdminRole,
}

fn role(value: &str) -> Result<AdminRole, Rejection> {
    AdminRole::parse(value.trim()).ok_or_else(|| refuse("role", "须为 owner 或 staff"))
}

fn display_name(value: Option<&str>) -> Result<Option<String>, Rejection> {
    optional_text(value, "displayName", 32, false)
}

/// A password as set by an admin (`field` names it in the message).
pub fn new_password(value: &str, field: &str) -> Result<(), Rejection> {
    valid_new_password(value).map_err(|e| refuse(field, e.message))
}

impl NewAdminInput {
    pub fn validate(&self) -> Result<NewAdmin, Rejection> {
        let username = valid_username(&self.username).map_err(|e| refuse("username", e.message))?;
        let out = NewAdmin {
            username,
            display_name: display_name(self.display_name.as_deref())?,
            role: role(&self.role)?,
        };
        new_password(&self.password, "password")?;
        Ok(out)
    }
}

/// The body of `PUT /api/admin/admins/{id}`: any of the three.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUpdateInput {
    /// An empty string clears it.
    pub display_name: Option<String>,
    /// owner | staff
    pub role: Option<String>,
    /// active | disabled
    pub status: Option<String>,
}

/// What changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AdminChange {
    /// `Some(None)` clears the name.
    pub display_name: Option<Option<String>>,
    pub role: Option<AdminRole>,
    pub status: Option<ActiveStatus>,
}

impl AdminUpdateInput {
    pub fn validate(&self) -> Result<AdminChange, Rejection> {
        let change = AdminChange {
            display_name: self
                .display_name
                .as_deref()
                .map(|d| display_name(Some(d)))
                .transpose()?,
            role: self.role.as_deref().map(role).transpose()?,
            status: self
                .status
                .as_deref()
                .map(|s| {
                    ActiveStatus::parse(s.trim())
                        .ok_or_else(|| refuse("status", "须为 active 或 disabled"))
                })
                .transpose()?,
        };
        if change.display_name.is_none() && change.role.is_none() && change.status.is_none() {
            return Err(Rejection::new(
                Code::ValidationFailed,
                "请提供 displayName、role 或 status",
            ));
        }
        Ok(change)
    }
}

/// `POST /api/admin/admins/{id}/password`: the owner sets a new one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordInput {
    pub password: String,
}

/// `PUT /api/admin/me/password`: an admin changes their own.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnPasswordInput {
    pub old_password: String,
    pub new_password: String,
}

/// A club must keep an active owner: `active_owners_after` is how many
/// there would be once the change is made.
pub fn keeps_an_owner(active_owners_after: i64) -> Result<(), Rejection> {
    if active_owners_after < 1 {
        return Err(Rejection::new(
            Code::LastOwner,
            "这是俱乐部最后一个启用的店主账号，不能停用或改为员工；请先设置另一位店主",
        ));
    }
    Ok(())
}

/// After a wrong password: the new count of failures in a row, and the
/// lock's end when this one locks the username.
pub fn after_failure(failures_before: i64, now: i64) -> (i64, Option<i64>) {
    let failures = failures_before + 1;
    if failures >= LOCK_AFTER_FAILURES {
        (0, Some(now + LOCK_MS))
    } else {
        (failures, None)
    }
}

/// The refusal of a login while the username is locked until `until`.
pub fn locked(until: i64, now: i64) -> Option<(Rejection, u64)> {
    if until <= now {
        return None;
    }
    let wait_s = ((until - now) + 999) / 1000;
    let minutes = (wait_s + 59) / 60;
    Some((
        Rejection::new(
            Code::AccountLocked,
            format!("密码连续输错 {LOCK_AFTER_FAILURES} 次，账号已锁定，请 {minutes} 分钟后再试"),
        ),
        wait_s as u64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_failure_locks_for_fifteen_minutes() {
        let mut n = 0;
        for _ in 0..4 {
            let (next, lock) = after_failure(n, 1_000);
            assert!(lock.is_none());
            n = next;
        }
        assert_eq!(after_failure(n, 1_000), (0, Some(1_000 + LOCK_MS)));
        let (r, wait) = locked(1_000 + LOCK_MS, 1_000).unwrap();
        assert_eq!(r.code, Code::AccountLocked);
        assert_eq!(wait, 900);
        assert!(r.message.contains("15 分钟"));
        assert!(locked(1_000, 1_000).is_none());
    }

    #[test]
    fn a_club_keeps_an_owner() {
        assert!(keeps_an_owner(1).is_ok());
        assert_eq!(keeps_an_owner(0).unwrap_err().code, Code::LastOwner);
    }

    #[test]
    fn bodies_validate() {
        let ok = NewAdminInput {
            username: "door.wang".into(),
            display_name: Some("小王".into()),
            role: "staff".into(),
            password: "long-enough-1".into(),
        };
        assert!(ok.validate().is_ok());
        let mut short = ok.clone();
        short.password = "short".into();
        assert!(
            short
                .validate()
                .unwrap_err()
                .message
                .starts_with("password：")
        );
        let mut bad = ok.clone();
        bad.role = "admin".into();
        assert!(bad.validate().unwrap_err().message.starts_with("role："));
        let empty = AdminUpdateInput {
            display_name: None,
            role: None,
            status: None,
        };
        assert!(empty.validate().is_err());
        let clear = AdminUpdateInput {
            display_name: Some("".into()),
            role: None,
            status: None,
        };
        assert_eq!(clear.validate().unwrap().display_name, Some(None));
    }
}
