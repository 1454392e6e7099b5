//! In-process caches, replacing the spec's Redis, split by concern.
//!
//! The contract of the catalogue cache (tenants, shows, pages):
//! - every entry lives at most `CATALOG_TTL` (one second, [`TTL`]), whoever
//!   wrote the row (this process, the CLI, a restore): nothing public is
//!   staler than that;
//! - a write that changes what a show *is* (status, sale opening, settled or
//!   refunded seats, club config, banners, merch) notes it in its store
//!   function (`store::changes`), and the writer empties the catalogue after
//!   the commit, before the writer's caller hears "done" ([`Caches::forget`]);
//! - order creation, cancellation and expiry move remaining counts and rely
//!   on the one-second lifetime alone: invalidating on every order would
//!   empty the cache exactly when an on-sale rush needs it.
//!
//! Values are the serialized `data` JSON, so a hit costs one copy into the
//! envelope. The session cache remembers signed-in callers (see each field).
//!
//! Every cache is a [`TtlCache`]: quick_cache's concurrent map (a hit is a
//! shard's read lock and one probe) with a lifetime and a generation stamped
//! on each entry.

use crate::store::Changes;
use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use quick_cache::sync::{EntryAction, EntryResult};

use crate::error::AppError;

/// `None` caches "not found", so a flood of requests for a bad id does not
/// reach the database either.
pub type Cached = Option<Bytes>;

#[derive(Clone)]
pub struct Caches {
    pub catalog: CatalogCache,
    pub sessions: SessionCache,
    /// The admin stats answers by club and period ([`STATS_TTL`]), emptied by
    /// every payment and refund (`store::Changes::SALES`).
    pub stats: Counted,
    /// Orders whose payment state was asked of WeChat in the last few seconds
    /// (a buyer polling an order must not turn into a query per poll).
    pub payment_polls: TtlCache<()>,
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
    pub admins: TtlCache<Option<crate::model::admins::Standing>>,
    /// Buyer tokens already verified, by the exact token string, with whom
    /// they name and when they expire: a buyer's next requests skip the
    /// signature check and the database. Only a token whose signature held
    /// and whose user was found active gets in; expiry is re-checked on every
    /// use and disabling is caught by `disabled_users`, so an entry can be
    /// trusted for its whole life (`ACTIVE_USER_TTL` at most).
    pub user_tokens: TtlCache<SignedIn>,
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

/// The catalogue's lifetime unless `CATALOG_TTL` says otherwise.
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

/// A map whose entries live at most `ttl`, and all die at once on
/// [`TtlCache::invalidate_all`]. Bounded by weight (bytes for answers, one
/// per entry otherwise); quick_cache evicts the least useful beyond it.
///
/// Invalidation bumps a generation as well as clearing the map, so an answer
/// loaded from before a write and stored after it is never served.
pub struct TtlCache<V> {
    inner: Arc<TtlInner<V>>,
}

impl<V> Clone for TtlCache<V> {
    fn clone(&self) -> Self {
        TtlCache {
            inner: self.inner.clone(),
        }
    }
}

struct TtlInner<V> {
    map: quick_cache::sync::Cache<String, Stamped<V>, Weigh<V>>,
    ttl: Duration,
    generation: AtomicU64,
}

#[derive(Clone)]
struct Stamped<V> {
    born: Instant,
    generation: u64,
    value: V,
}

struct Weigh<V>(fn(&str, &V) -> u64);

impl<V> Clone for Weigh<V> {
    fn clone(&self) -> Self {
        Weigh(self.0)
    }
}

impl<V> quick_cache::Weighter<String, Stamped<V>> for Weigh<V> {
    fn weight(&self, key: &String, v: &Stamped<V>) -> u64 {
        (self.0)(key, &v.value)
    }
}

/// One per entry: the capacity counts entries.
fn one<V>(_: &str, _: &V) -> u64 {
    1
}

/// An answer's bytes and its key's, plus the entry's own keeping.
fn bytes_of(key: &str, v: &Cached) -> u64 {
    (key.len() + v.as_ref().map_or(0, |b| b.len()) + 64) as u64
}

impl<V: Clone> TtlCache<V> {
    /// `capacity` in the weigher's unit; the map starts small and grows.
    fn with_weigher(ttl: Duration, capacity: u64, weigh: fn(&str, &V) -> u64) -> Self {
        TtlCache {
            inner: Arc::new(TtlInner {
                map: quick_cache::sync::Cache::with_weighter(256, capacity, Weigh(weigh)),
                ttl,
                generation: AtomicU64::new(0),
            }),
        }
    }

    /// At most `entries` entries.
    pub fn new(ttl: Duration, entries: u64) -> Self {
        TtlCache::with_weigher(ttl, entries, one)
    }

    fn stamp(&self, value: V) -> Stamped<V> {
        Stamped {
            born: Instant::now(),
            generation: self.inner.generation.load(Ordering::Acquire),
            value,
        }
    }

    fn fresh(&self, s: &Stamped<V>, now: Instant) -> bool {
        s.generation == self.inner.generation.load(Ordering::Acquire)
            && now.saturating_duration_since(s.born) < self.inner.ttl
    }

    pub fn get(&self, key: &str) -> Option<V> {
        let s = self.inner.map.get(key)?;
        self.fresh(&s, Instant::now()).then_some(s.value)
    }

    pub fn insert(&self, key: String, value: V) {
        self.inner.map.insert(key, self.stamp(value));
    }

    /// Stores `value` unless a live entry (or another caller's store in
    /// progress) is there: true for the one caller that stored it.
    pub fn claim(&self, key: &str, value: V) -> bool {
        let now = Instant::now();
        let entry = self.inner.map.entry(key, Some(Duration::ZERO), |_, s| {
            if self.fresh(s, now) {
                EntryAction::Retain(())
            } else {
                EntryAction::ReplaceWithGuard
            }
        });
        match entry {
            EntryResult::Vacant(g) | EntryResult::Replaced(g, _) => {
                let _ = g.insert(self.stamp(value));
                true
            }
            _ => false,
        }
    }

    /// The live value, or `load`'s, loaded once: concurrent misses for the
    /// same key wait for one load instead of stampeding the database at an
    /// on-sale peak. A failed load stores nothing (the next waiter loads).
    pub async fn get_or_load<F>(&self, key: &str, load: F) -> Result<V, AppError>
    where
        F: Future<Output = Result<V, AppError>>,
    {
        if let Some(v) = self.get(key) {
            return Ok(v);
        }
        let entry = self
            .inner
            .map
            .entry_async(key, |_, s| {
                if self.fresh(s, Instant::now()) {
                    EntryAction::Retain(s.value.clone())
                } else {
                    EntryAction::ReplaceWithGuard
                }
            })
            .await;
        match entry {
            EntryResult::Retained(v) => Ok(v),
            EntryResult::Vacant(g) | EntryResult::Replaced(g, _) => {
                // Stamped before the read: the entry's second counts from
                // the data's age, not from when the read came back.
                let (born, generation) = (
                    Instant::now(),
                    self.inner.generation.load(Ordering::Acquire),
                );
                let value = load.await?;
                let _ = g.insert(Stamped {
                    born,
                    generation,
                    value: value.clone(),
                });
                Ok(value)
            }
            // Neither is asked for above.
            EntryResult::Removed(..) | EntryResult::Timeout => load.await,
        }
    }

    /// Drops one entry.
    pub fn invalidate(&self, key: &str) {
        self.inner.map.remove(key);
    }

    /// Drops every entry, including answers being loaded right now.
    pub fn invalidate_all(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        self.inner.map.clear();
    }
}

/// A cache of answers that counts its hits and misses (for `/metrics`).
#[derive(Clone)]
pub struct Counted {
    pub name: &'static str,
    cache: TtlCache<Cached>,
    pub hits: prometheus_client::metrics::counter::Counter,
    pub misses: prometheus_client::metrics::counter::Counter,
}

impl std::ops::Deref for Counted {
    type Target = TtlCache<Cached>;
    fn deref(&self) -> &TtlCache<Cached> {
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
    fn new(name: &'static str, cache: TtlCache<Cached>, lookups: &Lookups) -> Counted {
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

fn build(name: &'static str, ttl: Duration, max_bytes: u64, lookups: &Lookups) -> Counted {
    Counted::new(
        name,
        TtlCache::with_weigher(ttl, max_bytes, bytes_of),
        lookups,
    )
}

impl Default for Caches {
    fn default() -> Self {
        Caches::new(TTL)
    }
}

impl Caches {
    /// Catalogue answers live `catalog_ttl` (`CATALOG_TTL`).
    pub fn new(catalog_ttl: Duration) -> Self {
        let lookups = Lookups::default();
        Caches {
            catalog: CatalogCache {
                tenants: build("tenants", catalog_ttl, 4 << 20, &lookups),
                events: build("events", catalog_ttl, 32 << 20, &lookups),
                pages: build("pages", catalog_ttl, 32 << 20, &lookups),
            },
            sessions: SessionCache {
                admins: TtlCache::new(ADMIN_CHECK_TTL, 10_000),
                // ~400 bytes an entry: 50,000 signed-in buyers take ~20 MB.
                user_tokens: TtlCache::new(ACTIVE_USER_TTL, 50_000),
                disabled_users: Arc::default(),
            },
            stats: build("stats", STATS_TTL, 4 << 20, &lookups),
            payment_polls: TtlCache::new(Duration::from_secs(5), 100_000),
            lookups,
        }
    }
}

impl Caches {
    /// Empties what depends on a commit's changes: registered with the
    /// store at start (`Store::on_change`), so no writer chooses.
    pub fn forget(&self, changed: Changes) {
        if changed.contains(Changes::CATALOG) {
            self.catalog.invalidate();
        }
        if changed.intersects(Changes::CATALOG | Changes::SALES) {
            self.stats.invalidate_all();
        }
        if changed.contains(Changes::TEAM) {
            self.sessions.admins.invalidate_all();
        }
    }

    /// True at most once per order every 5 s.
    pub fn should_poll_payment(&self, order_id: &str) -> bool {
        self.payment_polls.claim(order_id, ())
    }
}

impl CatalogCache {
    /// Drops every catalogue entry. Cheap, and a catalogue write is rare next
    /// to reads.
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

/// Returns the cached answer or loads it once ([`TtlCache::get_or_load`]),
/// counting hits and misses.
pub async fn get_or_load<F>(cache: &Counted, key: &str, load: F) -> Result<Cached, AppError>
where
    F: Future<Output = Result<Cached, AppError>>,
{
    if let Some(hit) = cache.get(key) {
        cache.hits.inc();
        return Ok(hit);
    }
    cache.misses.inc();
    cache.cache.get_or_load(key, load).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn answer(s: &'static str) -> Cached {
        Some(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn an_entry_dies_with_its_lifetime() {
        let c: TtlCache<u32> = TtlCache::new(Duration::from_millis(50), 10);
        c.insert("a".into(), 1);
        assert_eq!(c.get("a"), Some(1));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get("a"), None);
    }

    #[test]
    fn a_claim_holds_once_per_lifetime() {
        let c: TtlCache<()> = TtlCache::new(Duration::from_millis(50), 10);
        assert!(c.claim("order", ()));
        assert!(!c.claim("order", ()));
        assert!(c.claim("other", ()));
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.claim("order", ()));
    }

    #[tokio::test]
    async fn concurrent_misses_load_once() {
        let c: TtlCache<Cached> = TtlCache::with_weigher(TTL, 1 << 20, bytes_of);
        let loads = Arc::new(AtomicUsize::new(0));
        let all = (0..50).map(|_| {
            let (c, loads) = (c.clone(), loads.clone());
            tokio::spawn(async move {
                c.get_or_load("k", async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(answer("v"))
                })
                .await
                .unwrap()
            })
        });
        for r in futures_util::future::join_all(all).await {
            assert_eq!(r.unwrap(), answer("v"));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_load_stores_nothing() {
        let c: TtlCache<Cached> = TtlCache::with_weigher(TTL, 1 << 20, bytes_of);
        let err = c
            .get_or_load("k", async { Err(AppError::event_not_found()) })
            .await
            .unwrap_err();
        assert_eq!(err.code, crate::error::Code::EventNotFound);
        assert_eq!(c.get("k"), None);
        let v = c.get_or_load("k", async { Ok(answer("v")) }).await.unwrap();
        assert_eq!(v, answer("v"));
    }

    /// A read that began before a write and finished after it must not
    /// leave the old answer behind for the rest of its second.
    #[tokio::test]
    async fn an_answer_loaded_across_an_invalidation_is_not_served() {
        let c: TtlCache<Cached> = TtlCache::with_weigher(TTL, 1 << 20, bytes_of);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let loader = {
            let c = c.clone();
            tokio::spawn(async move {
                c.get_or_load("k", async {
                    started_tx.send(()).unwrap();
                    go_rx.await.unwrap();
                    Ok(answer("before the write"))
                })
                .await
                .unwrap()
            })
        };
        started_rx.await.unwrap();
        c.invalidate_all();
        go_tx.send(()).unwrap();
        assert_eq!(loader.await.unwrap(), answer("before the write"));
        assert_eq!(c.get("k"), None, "the stale answer is not served");
        let v = c
            .get_or_load("k", async { Ok(answer("after")) })
            .await
            .unwrap();
        assert_eq!(v, answer("after"));
    }

    #[test]
    fn the_weight_bounds_the_bytes_kept() {
        let c: TtlCache<Cached> = TtlCache::with_weigher(TTL, 64 << 10, bytes_of);
        let big = Some(Bytes::from(vec![b'x'; 1 << 10]));
        for i in 0..1_000 {
            c.insert(format!("k{i}"), big.clone());
        }
        assert!(c.inner.map.weight() <= 64 << 10, "{}", c.inner.map.weight());
    }
}
