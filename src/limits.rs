//! Request-rate limits (governor, GCRA): per client IP for all of /api, stricter
//! per IP for logins (and per username for admin logins), per user for order
//! creation. Keys that have gone quiet are
//! swept every minute so memory stays bounded.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::{Rate, RateLimits};
use crate::error::AppError;
use crate::error::Code;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

pub struct Limits {
    api: Option<Keyed<IpAddr>>,
    login: Option<Keyed<IpAddr>>,
    /// Admin logins per `<tenant>:<username>`, at the login rate: many
    /// addresses guessing one password still go slowly.
    admin_login: Option<Keyed<String>>,
    orders: Option<Keyed<String>>,
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
            admin_login: keyed(config.login),
            orders: keyed(config.orders),
        }
    }

    pub fn check_api(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.api, &ip)
    }

    pub fn check_login(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.login, &ip)
    }

    /// An admin login: per address, and per username in its club.
    pub fn check_admin_login(
        &self,
        ip: IpAddr,
        tenant: &str,
        username: &str,
    ) -> Result<(), AppError> {
        check(&self.login, &ip)?;
        if self.admin_login.is_none() {
            return Ok(());
        }
        let key = format!("{tenant}:{}", username.trim().to_lowercase());
        check(&self.admin_login, &key)
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
        forget(&self.admin_login);
        forget(&self.orders);
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

    /// Many addresses guessing one admin's password are held back by the
    /// per-username limit; another username is not.
    #[test]
    fn admin_logins_are_limited_per_username_too() {
        let limits = Limits::new(&RateLimits {
            api: None,
            login: Some(Rate {
                count: 3,
                per: Duration::from_secs(60),
            }),
            orders: None,
        });
        for i in 0..3 {
            let ip: IpAddr = format!("10.0.1.{i}").parse().unwrap();
            limits.check_admin_login(ip, "dt", "boss").unwrap();
        }
        let fresh: IpAddr = "10.0.2.1".parse().unwrap();
        let err = limits.check_admin_login(fresh, "dt", " BOSS ").unwrap_err();
        assert_eq!(err.status(), 429);
        limits.check_admin_login(fresh, "dt", "door").unwrap();
        limits.check_admin_login(fresh, "xc", "boss").unwrap();
    }
}
