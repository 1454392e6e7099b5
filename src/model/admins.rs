//! A club's team: admins as the API shows them, who may change the team
//! (`AdminActor`, `TeamActor`), the bodies of new admins, changes of name,
//! role and status, and passwords; the rule that a club always keeps an
//! active owner; and what wrong passwords cost: an address that guesses wrong five
//! times in a row is locked out of that username for a while (that address
//! only, so nobody can lock the owner out from elsewhere), and a username
//! guessed at from many addresses answers every address it has never
//! signed in from slowly (never the addresses it uses).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Timestamp;
use super::catalog::ActiveStatus;
use super::fields::{optional_text, refuse};
use super::scope::TenantScope;
use crate::error::{Code, Rejection};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AdminRole {
    /// Everything in the club.
    Owner,
    /// Check-in and read-only order lookup.
    Staff,
}

impl AdminRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Owner => "owner",
            AdminRole::Staff => "staff",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(AdminRole::Owner),
            "staff" => Some(AdminRole::Staff),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Admin {
    pub id: String,
    pub tenant_id: String,
    pub username: String,
    pub role: AdminRole,
    pub status: ActiveStatus,
    /// How the console and the door name this person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<Timestamp>,
    /// The latest lock wrong passwords put on this username from one
    /// address (that address only), while it lasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// What every admin request checks: the admin is active in an active club,
/// in this role, and its tokens of this session epoch are good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: AdminRole,
    pub epoch: i64,
}

/// Who acts on the admin side: an admin of the club in `scope`.
#[derive(Debug, Clone)]
pub struct AdminActor {
    pub id: String,
    pub scope: TenantScope,
}

/// Who changes a club's team: one of its admins in the console, or the
/// operator on the server (the command line, the tests' and benchmarks'
/// set-up). Both go through the same service functions and rules; the
/// audit log tells them apart (`admin:<id>` or `cli`).
#[derive(Debug, Clone)]
pub enum TeamActor {
    Admin(AdminActor),
    Operator(TenantScope),
}

impl TeamActor {
    pub fn scope(&self) -> &TenantScope {
        match self {
            TeamActor::Admin(a) => &a.scope,
            TeamActor::Operator(scope) => scope,
        }
    }
}

impl From<AdminActor> for TeamActor {
    fn from(a: AdminActor) -> Self {
        TeamActor::Admin(a)
    }
}

/// Admin usernames: 3-32 of letters, digits, `_ . @ -`.
pub fn valid_username(value: &str) -> Result<String, Rejection> {
    let v = value.trim();
    if (3..=32).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-'))
    {
        Ok(v.to_string())
    } else {
        Err(refuse_plain("用户名须为 3-32 位字母、数字或 _ . @ -"))
    }
}

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Bounded so hashing a hostile multi-megabyte "password" costs nothing
/// extra; counted in characters, as the OpenAPI `maxLength` counts.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The longest password a login reads: `MAX_PASSWORD_CHARS` of four bytes.
pub const MAX_PASSWORD_BYTES: usize = 4 * MAX_PASSWORD_CHARS;

pub fn valid_new_password(p: &str) -> Result<(), Rejection> {
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&p.chars().count()) {
        return Err(refuse_plain(format!(
            "密码须为 {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} 个字符"
        )));
    }
    Ok(())
}

fn refuse_plain(msg: impl Into<String>) -> Rejection {
    Rejection::new(Code::ValidationFailed, msg)
}

/// Wrong passwords in a row from one address that lock it out of a
/// username…
pub const LOCK_AFTER_FAILURES: i64 = 5;
/// …for this long.
pub const LOCK_MS: i64 = 15 * 60 * 1000;
/// Wrong passwords for one username, from every address together, within
/// an hour, before it is guessed at too often…
pub const FREE_FAILURES_PER_HOUR: usize = 20;
/// …after which addresses the admin never signed in from get one password
/// check per this long between them.
pub const SLOW_CHECK_MS: i64 = 10_000;
const HOUR_MS: i64 = 3600 * 1000;

/// The body of `POST /api/admin/admins`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewAdminInput {
    /// 3-32 letters, digits or `_ . @ -`, unique in the club.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[A-Za-z0-9_.@-]{3,32}[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub username: String,
    /// 1-32 characters: how the console and the door name this person.
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,30}[^\s\x00-\x1f\x7f-\x9f])?)?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub display_name: Option<String>,
    /// owner | staff
    #[schema(value_type = AdminRole)]
    pub role: String,
    /// At least 10 characters.
    #[schema(min_length = 10, max_length = 128)]
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
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,30}[^\s\x00-\x1f\x7f-\x9f])?)?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub display_name: Option<String>,
    /// owner | staff
    #[schema(value_type = Option<AdminRole>)]
    pub role: Option<String>,
    /// active | disabled
    #[schema(value_type = Option<ActiveStatus>)]
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
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
}

/// `PUT /api/admin/me/password`: an admin changes their own.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnPasswordInput {
    pub old_password: String,
    #[schema(min_length = 10, max_length = 128)]
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

/// The wrong passwords one username had in the last hour, from anywhere,
/// and when the next check from an unknown address may be made.
#[derive(Debug, Clone, Default)]
pub struct Guesses {
    /// Times of the latest failures, oldest first; never more than the
    /// free allowance.
    failures: std::collections::VecDeque<i64>,
    next_check: i64,
}

impl Guesses {
    fn forget_old(&mut self, now: i64) {
        while self.failures.front().is_some_and(|&t| t <= now - HOUR_MS) {
            self.failures.pop_front();
        }
    }

    /// Whether a password check may be made now: always from an address the
    /// admin signed in from; from another, once per `SLOW_CHECK_MS` while
    /// the username has had its hour's allowance of failures. `Err` is the
    /// wait in seconds.
    pub fn admit(&mut self, now: i64, known_address: bool) -> Result<(), u64> {
        self.forget_old(now);
        if known_address || self.failures.len() < FREE_FAILURES_PER_HOUR {
            return Ok(());
        }
        if now < self.next_check {
            return Err(((self.next_check - now + 999) / 1000) as u64);
        }
        self.next_check = now + SLOW_CHECK_MS;
        Ok(())
    }

    pub fn failed(&mut self, now: i64) {
        self.forget_old(now);
        if self.failures.len() == FREE_FAILURES_PER_HOUR {
            self.failures.pop_front();
        }
        self.failures.push_back(now);
    }

    /// Nothing left to remember.
    pub fn is_idle(&self, now: i64) -> bool {
        self.failures.back().is_none_or(|&t| t <= now - HOUR_MS) && self.next_check <= now
    }
}

/// The refusal of a check from an unknown address while the username is
/// guessed at from many.
pub fn slowed(wait_s: u64) -> Rejection {
    Rejection::new(
        Code::RateLimited,
        format!("该账号近期密码错误过多，请 {wait_s} 秒后再试；常用网络不受影响"),
    )
}

/// The refusal of a login while this address is locked out until `until`.
pub fn locked(until: i64, now: i64) -> Option<(Rejection, u64)> {
    if until <= now {
        return None;
    }
    let wait_s = ((until - now) + 999) / 1000;
    let minutes = (wait_s + 59) / 60;
    Some((
        Rejection::new(
            Code::AccountLocked,
            format!(
                "密码连续输错 {LOCK_AFTER_FAILURES} 次，已暂停本网络的登录，请 {minutes} 分钟后再试"
            ),
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
    fn many_addresses_guessing_one_username_are_slowed_never_its_own() {
        let mut g = Guesses::default();
        let t0 = 1_000_000;
        for i in 0..FREE_FAILURES_PER_HOUR as i64 {
            assert!(g.admit(t0 + i, false).is_ok());
            g.failed(t0 + i);
        }
        let now = t0 + 100;
        // One check from a new address, then a wait; a known address never waits.
        assert!(g.admit(now, false).is_ok());
        assert_eq!(g.admit(now + 1, false), Err(10));
        assert!(g.admit(now + 1, true).is_ok());
        assert!(g.admit(now + SLOW_CHECK_MS, false).is_ok());
        // An hour after the failures, the allowance is back.
        let later = t0 + HOUR_MS + 100;
        assert!(g.is_idle(later + SLOW_CHECK_MS));
        assert!(g.admit(later, false).is_ok());
        assert!(g.admit(later, false).is_ok());
        assert!(slowed(9).message.contains("9 秒"));
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

    #[test]
    fn usernames_and_passwords() {
        assert!(valid_username("admin").is_ok());
        assert!(valid_username("ab").is_err());
        assert!(valid_username("a b c").is_err());
        assert!(valid_username("管理员").is_err());
        assert!(valid_new_password("123456789").is_err());
        assert!(valid_new_password("1234567890").is_ok());
        assert!(valid_new_password(&"x".repeat(257)).is_err());
    }
}
