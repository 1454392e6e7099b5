//! In-process caches (moka), replacing the spec's Redis, split by concern.
//!
//! The contract of the catalogue cache (tenants, shows, pages):
//! - every entry lives at most one second ([`TTL`]), whoever wrote the row
//!   (this process, the CLI, a restore): nothing public is staler than that;
//! - a write that changes what a show *is* (status, sale opening, settled or
//!   refunded seats, club config) goes through `service::catalog::write`,
//!   which invalidates the catalogue once it has committed;
//! - order creation, cancellation and expiry move remaining counts and rely
//!   on the one-second lifetime alone: invalidating on every order would
//!   empty the cache exactly when an on-sale rush needs it.
//!
//! Values are the serialized `data` JSON, so a hit costs one copy into the
//! envelope. The session cache remembers signed-in callers (see each field).

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use moka::future::Cache;

use crate::error::AppError;

/// `None` caches "not found", so a flood of requests for a bad id does not
/// reach the database either.
pub type Cached = Option<Bytes>;

#[derive(Clone)]
pub struct Caches {
    pub catalog: CatalogCache,
    pub sessions: SessionCache,
    /// The admin stats answers by club and period ([`STATS_TTL`]), emptied by
    /// every payment and refund (`service::catalog::write`).
    pub stats: Counted,
    /// Orders whose payment state was asked of WeChat in the last few seconds
    /// (a buyer polling an order must not turn into a query per poll).
    pub payment_polls: Cache<String, ()>,
    /// Hits and misses of the counted caches.
    pub lookups: Lookups,
}

/// The public catalogue's answers (see the module's contract).
#[derive(Clone)]
pub struct CatalogCache {
    /// Tenant config by tenant id.
    pub tenants: Counted,
    /// Event detail by event id.
    pub events: Counted,
    /// Home, calendar and list pages, keyed by tenant and query.
    pub pages: Counted,
}

/// Who is signed in and still allowed.
#[derive(Clone)]
pub struct SessionCache {
    /// "Is this admin still active (and its club), in which role, and which
    /// session epoch do its tokens need?", keyed `<tenant>:<id>`; `None`
    /// when not active.
    pub admins: Cache<String, Option<crate::model::accounts::Standing>>,
    /// Buyer tokens already verified, by the exact token string, with whom
    /// they name and when they expire: a buyer's next requests skip the
    /// signature check and the database. Only a token whose signature held
    /// and whose user was found active gets in; expiry is re-checked on every
    /// use and disabling is caught by `disabled_users`, so an entry can be
    /// trusted for its whole life (`ACTIVE_USER_TTL` at most).
    pub user_tokens: Cache<String, SignedIn>,
    /// Every disabled user's id, re-read every second
    /// (the `disabled-users` job).
    pub disabled_users: Arc<RwLock<HashSet<String>>>,
}

/// A verified buyer token: its user and its expiry (Unix seconds).
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user_id: Arc<str>,
    pub exp: u64,
}

pub const TTL: Duration = Duration::from_secs(1);

/// Stats are sums over a period of orders: a few seconds old is fine, and
/// every payment or refund empties them anyway.
pub const STATS_TTL: Duration = Duration::from_secs(10);

/// How long an admin's "still active" answer is trusted before the database
/// is asked again: disabling an admin (or its club) takes effect within this.
pub const ADMIN_CHECK_TTL: Duration = Duration::from_secs(1);

/// How long a verified buyer token is remembered (its expiry is checked on
/// every use as well). Disabling does not wait for this (the disabled set is
/// checked first, and users are never deleted); it only bounds the memory of
/// buyers seen once.
pub const ACTIVE_USER_TTL: Duration = Duration::from_secs(3600);

/// A cache of answers that counts its hits and misses (for `/metrics`).
#[derive(Clone)]
pub struct Counted {
    pub name: &'static str,
    cache: Cache<String, Cached>,
    pub hits: prometheus_client::metrics::counter::Counter,
    pub misses: prometheus_client::metrics::counter::Counter,
}

impl std::ops::Deref for Counted {
    type Target = Cache<String, Cached>;
    fn deref(&self) -> &Cache<String, Cached> {
        &self.cache
    }
}

/// `cache_lookups_total{cache, result}`: one series per cache and result.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct CacheLookup {
    pub cache: &'static str,
    /// hit · miss
    pub result: &'static str,
}

pub type Lookups = prometheus_client::metrics::family::Family<
    CacheLookup,
    prometheus_client::metrics::counter::Counter,
>;

impl Counted {
    /// Its counters are the family's own series (a counter clone shares its
    /// value), so a lookup costs one atomic add.
    fn new(name: &'static str, cache: Cache<String, Cached>, lookups: &Lookups) -> Counted {
        let series = |result| {
            lookups.get_or_create_owned(&CacheLookup {
                cache: name,
                result,
            })
        };
        Counted {
            name,
            cache,
            hits: series("hit"),
            misses: series("miss"),
        }
    }
}

fn build(name: &'static str, max_bytes: u64, lookups: &Lookups) -> Counted {
    let cache = Cache::builder()
        .time_to_live(TTL)
        .weigher(|k: &String, v: &Cached| {
            let size = k.len() + v.as_ref().map_or(0, |b| b.len()) + 64;
            u32::try_from(size).unwrap_or(u32::MAX)
        })
        .max_capacity(max_bytes)
        .build();
    Counted::new(name, cache, lookups)
}

impl Default for Caches {
    fn default() -> Self {
        let lookups = Lookups::default();
        Caches {
            catalog: CatalogCache {
                tenants: build("tenants", 4 << 20, &lookups),
                events: build("events", 32 << 20, &lookups),
                pages: build("pages", 32 << 20, &lookups),
            },
            sessions: SessionCache {
                admins: Cache::builder()
                    .time_to_live(ADMIN_CHECK_TTL)
                    .max_capacity(10_000)
                    .build(),
                // ~400 bytes an entry: 50,000 signed-in buyers take ~20 MB.
                user_tokens: Cache::builder()
                    .time_to_live(ACTIVE_USER_TTL)
                    .max_capacity(50_000)
                    .build(),
                disabled_users: Arc::default(),
            },
            stats: Counted::new(
                "stats",
                Cache::builder()
                    .time_to_live(STATS_TTL)
                    .max_capacity(1_000)
                    .build(),
                &lookups,
            ),
            payment_polls: Cache::builder()
                .time_to_live(Duration::from_secs(5))
                .max_capacity(100_000)
                .build(),
            lookups,
        }
    }
}

impl Caches {
    /// True at most once per order every 5 s.
    pub async fn should_poll_payment(&self, order_id: &str) -> bool {
        self.payment_polls
            .entry(order_id.to_string())
            .or_insert(())
            .await
            .is_fresh()
    }
}

impl CatalogCache {
    /// Drops every catalogue entry. Cheap, and a catalogue write is rare next
    /// to reads. Called by `service::catalog::write` after its commit.
    pub fn invalidate(&self) {
        self.tenants.invalidate_all();
        self.events.invalidate_all();
        self.pages.invalidate_all();
    }
}

impl SessionCache {
    pub fn is_disabled_user(&self, id: &str) -> bool {
        self.disabled_users
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    /// Replaces the disabled set (only when it changed: readers rarely wait).
    pub fn set_disabled_users(&self, ids: HashSet<String>) {
        if *self
            .disabled_users
            .read()
            .unwrap_or_else(|p| p.into_inner())
            == ids
        {
            return;
        }
        *self
            .disabled_users
            .write()
            .unwrap_or_else(|p| p.into_inner()) = ids;
    }
}

/// Returns the cached value or loads it once: concurrent misses for the same key
/// wait for one load instead of stampeding the database at an on-sale peak.
pub async fn get_or_load<F>(cache: &Counted, key: &str, load: F) -> Result<Cached, AppError>
where
    F: Future<Output = Result<Cached, AppError>>,
{
    // Fast path: a plain lookup, no key allocation, no loader bookkeeping.
    if let Some(hit) = cache.get(key).await {
        cache.hits.inc();
        return Ok(hit);
    }
    cache.misses.inc();
    cache
        .try_get_with(key.to_owned(), load)
        .await
        .map_err(|e: Arc<AppError>| AppError {
            code: e.code,
            message: e.message.clone(),
            retry_after: e.retry_after,
            source: None,
        })
}
