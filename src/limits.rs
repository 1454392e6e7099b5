//! Request-rate limits (governor, GCRA): per client IP for all of /api, stricter
//! per IP for logins, per user for order creation; and, always on, the wrong
//! passwords each admin username had from all addresses (`Guesses`). Keys
//! that have gone quiet are swept every minute so memory stays bounded.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::{Rate, RateLimits};
use crate::error::AppError;
use crate::error::Code;
use crate::model::admins::{Guesses, slowed};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

pub struct Limits {
    api: Option<Keyed<IpAddr>>,
    login: Option<Keyed<IpAddr>>,
    /// Wrong passwords per `<tenant>:<username>` from every address: only
    /// failures count, so nobody can use it up for the admin.
    guesses: Mutex<HashMap<String, Guesses>>,
    orders: Option<Keyed<String>>,
}

fn guess_key(tenant: &str, username: &str) -> String {
    format!("{tenant}:{}", username.trim())
}

fn keyed<K: Hash + Eq + Clone>(rate: Option<Rate>) -> Option<Keyed<K>> {
    let rate = rate?;
    let count = NonZeroU32::new(rate.count)?;
    let period = rate.per / rate.count;
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))?.allow_burst(count);
    Some(RateLimiter::keyed(quota))
}

fn check<K: Hash + Eq + Clone>(limiter: &Option<Keyed<K>>, key: &K) -> Result<(), AppError> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        AppError {
            // Whole seconds, rounded up: "retry after 0" would invite a hot loop.
            retry_after: Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)),
            ..AppError::new(Code::RateLimited, "请求过于频繁，请稍后再试")
        }
    })
}

impl Limits {
    pub fn new(config: &RateLimits) -> Limits {
        Limits {
            api: keyed(config.api),
            login: keyed(config.login),
            guesses: Mutex::default(),
            orders: keyed(config.orders),
        }
    }

    pub fn check_api(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.api, &ip)
    }

    pub fn check_login(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.login, &ip)
    }

    fn guesses(&self) -> std::sync::MutexGuard<'_, HashMap<String, Guesses>> {
        self.guesses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether an existing admin's password may be checked now from an
    /// address it has (`known_address`) or has not signed in from.
    pub fn admit_password_check(
        &self,
        tenant: &str,
        username: &str,
        known_address: bool,
        now: i64,
    ) -> Result<(), AppError> {
        let mut all = self.guesses();
        let Some(g) = all.get_mut(&guess_key(tenant, username)) else {
            return Ok(());
        };
        g.admit(now, known_address).map_err(|wait| AppError {
            retry_after: Some(wait),
            ..slowed(wait).into()
        })
    }

    /// A wrong password for an existing admin, from any address.
    pub fn password_failed(&self, tenant: &str, username: &str, now: i64) {
        self.guesses()
            .entry(guess_key(tenant, username))
            .or_default()
            .failed(now);
    }

    pub fn check_orders(&self, user_id: &str) -> Result<(), AppError> {
        // Skip the key allocation when the limit is off.
        if self.orders.is_none() {
            return Ok(());
        }
        check(&self.orders, &user_id.to_string())
    }

    /// Forgets keys whose limits have fully recovered.
    pub fn sweep(&self) {
        fn forget<K: Hash + Eq + Clone>(limiter: &Option<Keyed<K>>) {
            if let Some(l) = limiter {
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
        forget(&self.api);
        forget(&self.login);
        forget(&self.orders);
        let now = crate::model::time::now_ms();
        self.guesses().retain(|_, g| !g.is_idle(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refuse_with_retry_after() {
        let limits = Limits::new(&RateLimits {
            api: None,
            login: Some(Rate {
                count: 3,
                per: Duration::from_secs(60),
            }),
            orders: None,
        });
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            limits.check_login(ip).unwrap();
        }
        let err = limits.check_login(ip).unwrap_err();
        assert_eq!(err.status(), 429);
        let wait = err.retry_after.unwrap();
        assert!((1..=20).contains(&wait), "{wait}");
        // Another address is unaffected; a disabled limit never refuses.
        limits.check_login("10.0.0.2".parse().unwrap()).unwrap();
        for _ in 0..1000 {
            limits.check_api(ip).unwrap();
        }
    }

    /// Wrong passwords from many addresses slow unknown addresses down for
    /// that username only, and never a known one.
    #[test]
    fn guesses_are_counted_per_username() {
        let limits = Limits::new(&RateLimits {
            api: None,
            login: None,
            orders: None,
        });
        let now = 10_000_000;
        for _ in 0..crate::model::admins::FREE_FAILURES_PER_HOUR {
            limits
                .admit_password_check("dt", "boss", false, now)
                .unwrap();
            limits.password_failed("dt", "boss", now);
        }
        limits
            .admit_password_check("dt", "boss", false, now)
            .unwrap();
        let err = limits
            .admit_password_check("dt", "boss", false, now + 1)
            .unwrap_err();
        assert_eq!(err.status(), 429);
        assert_eq!(err.retry_after, Some(10));
        limits
            .admit_password_check("dt", "boss", true, now + 1)
            .unwrap();
        limits
            .admit_password_check("dt", "door", false, now + 1)
            .unwrap();
        limits
            .admit_password_check("xc", "boss", false, now + 1)
            .unwrap();
    }
}
