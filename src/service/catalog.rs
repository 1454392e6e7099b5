//! The public catalogue service: validated queries in, serialized JSON out,
//! through the caches. Handlers stay thin; SQL stays in `store`.

use bytes::Bytes;
use serde::Serialize;

use crate::cache::{Cached, get_or_load};
use crate::error::AppError;
use crate::model::catalog::{EventStatus, HomeData, Page, PageRequest};
use crate::model::scope::TenantScope;
use crate::model::time::{month_bounds, now_ms, today_in};
use crate::state::AppState;
use crate::store::{catalog as q, tenants};

/// How many shows each home section lists.
const HOME_SECTION_LIMIT: i64 = 10;

fn to_bytes<T: Serialize>(v: &T) -> Result<Bytes, AppError> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(AppError::internal)
}

fn found(c: Cached, not_found: fn() -> AppError) -> Result<Bytes, AppError> {
    c.ok_or_else(not_found)
}

/// The tenant's public config; also the gate every tenant-scoped read passes
/// when it loads (a cached page was produced under an active tenant less than
/// a second ago): unknown and disabled tenants are both `TENANT_NOT_FOUND`.
pub(crate) async fn tenant(state: &AppState, tenant_id: &str) -> Result<Bytes, AppError> {
    if !crate::model::catalog::valid_tenant_id(tenant_id) {
        return Err(AppError::tenant_not_found());
    }
    let c = get_or_load(&state.caches.catalog.tenants, tenant_id, async {
        // Owned only on a miss: the reader thread needs its own copy.
        let id = tenant_id.to_owned();
        let t = state
            .store
            .read(move |c| tenants::find_active(c, &id))
            .await?;
        t.as_ref().map(to_bytes).transpose()
    })
    .await?;
    found(c, AppError::tenant_not_found)
}

/// The scope of a public read: the club, once [`tenant`] found it active.
pub(crate) async fn public_scope(
    state: &AppState,
    tenant_id: &str,
) -> Result<TenantScope, AppError> {
    tenant(state, tenant_id).await?;
    Ok(TenantScope::vouched(tenant_id))
}

pub(crate) async fn event(state: &AppState, event_id: &str) -> Result<Bytes, AppError> {
    if !crate::ids::looks_like_id(event_id) {
        return Err(AppError::event_not_found());
    }
    let c = get_or_load(&state.caches.catalog.events, event_id, async {
        // Owned only on a miss: the reader thread needs its own copy.
        let id = event_id.to_owned();
        let e = state
            .store
            .read(move |c| q::find_public_event(c, &id))
            .await?;
        e.as_ref().map(to_bytes).transpose()
    })
    .await?;
    found(c, AppError::event_not_found)
}

pub(crate) async fn home(state: &AppState, tenant_id: &str) -> Result<Bytes, AppError> {
    let key = ["home:", tenant_id].concat();
    let c = get_or_load(&state.caches.catalog.pages, &key, async {
        let scope = public_scope(state, tenant_id).await?;
        let home = state
            .store
            .read(move |c| {
                let sections = q::home_sections(c, &scope, now_ms(), HOME_SECTION_LIMIT)?;
                Ok(HomeData {
                    banners: q::active_banners(c, &scope, now_ms())?,
                    upcoming: sections.upcoming,
                    recommended: sections.recommended,
                    upcoming_sale: sections.upcoming_sale,
                    merch: q::active_merch(c, &scope)?,
                })
            })
            .await?;
        Ok(Some(to_bytes(&home)?))
    })
    .await?;
    found(c, AppError::tenant_not_found)
}

/// `{"YYYY-MM-DD": Event[]}` for one month of the club's local calendar; days
/// without shows are absent.
pub(crate) async fn calendar(
    state: &AppState,
    tenant_id: &str,
    year: i32,
    month: u32,
) -> Result<Bytes, AppError> {
    if !(2000..=2100).contains(&year) {
        return Err(AppError::validation("年份须在 2000 到 2100 之间"));
    }
    let (first, last) =
        month_bounds(year, month).ok_or_else(|| AppError::validation("月份须在 1 到 12 之间"))?;
    let key = format!("cal:{tenant_id}:{year}:{month}");
    let c = get_or_load(&state.caches.catalog.pages, &key, async {
        let scope = public_scope(state, tenant_id).await?;
        let events = state
            .store
            .read(move |c| q::public_events_between(c, &scope, first, last))
            .await?;
        let mut days: std::collections::BTreeMap<String, Vec<_>> = Default::default();
        for e in events {
            days.entry(e.event_date.clone()).or_default().push(e);
        }
        Ok(Some(to_bytes(&days)?))
    })
    .await?;
    found(c, AppError::tenant_not_found)
}

pub(crate) struct ListQuery {
    pub status: Option<EventStatus>,
    pub date: Option<chrono::NaiveDate>,
    pub city: Option<String>,
    pub keyword: Option<String>,
    pub page: PageRequest,
}

/// A page of the tenant's shows, soonest first. Without `date`, shows from the
/// club's today on (past shows are history, not for sale); with `date`, that day.
pub(crate) async fn list(
    state: &AppState,
    tenant_id: &str,
    query: ListQuery,
) -> Result<Bytes, AppError> {
    let filter = q::EventFilter {
        status: query.status,
        date: query.date,
        from_date: Some(today_in(state.config.timezone)),
        city: query.city,
        keyword: query.keyword,
    };
    let page = query.page;
    let key = list_key(tenant_id, &filter, page);
    let c = get_or_load(&state.caches.catalog.pages, &key, async {
        let scope = public_scope(state, tenant_id).await?;
        let (items, total) = state
            .store
            .read(move |c| q::list_public_events(c, &scope, &filter, page))
            .await?;
        Ok(Some(to_bytes(&Page::new(
            items,
            total,
            page.page,
            page.page_size,
        ))?))
    })
    .await?;
    found(c, AppError::tenant_not_found)
}

/// The cache key of a list page: every input that shapes the answer, each
/// unambiguous (a text as its length, then itself; a date as its day
/// number). Built without `core::fmt`: formatting the seven fields cost a
/// cached list read a tenth of its work.
fn list_key(tenant_id: &str, f: &q::EventFilter, page: PageRequest) -> String {
    use chrono::Datelike;
    fn text(key: &mut String, t: Option<&str>) {
        key.push(':');
        if let Some(t) = t {
            key.push_str(itoa::Buffer::new().format(t.len()));
            key.push('=');
            key.push_str(t);
        } else {
            key.push('-');
        }
    }
    fn number(key: &mut String, v: Option<i64>) {
        key.push(':');
        match v {
            Some(v) => key.push_str(itoa::Buffer::new().format(v)),
            None => key.push('-'),
        }
    }
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| i64::from(d.num_days_from_ce()));
    let mut key = String::with_capacity(48 + tenant_id.len());
    key.push_str("list");
    text(&mut key, Some(tenant_id));
    text(&mut key, f.status.map(EventStatus::as_str));
    number(&mut key, day(f.date));
    number(&mut key, day(f.from_date));
    text(&mut key, f.city.as_deref());
    text(&mut key, f.keyword.as_deref());
    number(&mut key, Some(page.page));
    number(&mut key, Some(page.page_size));
    key
}

/// The `sales` job: `upcoming → onSale` at `sale_start_at`.
pub(crate) async fn open_due_sales(state: &AppState) -> anyhow::Result<usize> {
    let n = state
        .store
        .write(|c| q::open_due_sales(c, now_ms()))
        .await?;
    if n > 0 {
        tracing::info!(opened = n, "sales opened");
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(city: Option<&str>, keyword: Option<&str>) -> q::EventFilter {
        q::EventFilter {
            status: Some(EventStatus::OnSale),
            date: None,
            from_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 7),
            city: city.map(str::to_string),
            keyword: keyword.map(str::to_string),
        }
    }

    #[test]
    fn list_keys_tell_every_query_apart() {
        let page = PageRequest {
            page: 1,
            page_size: 10,
        };
        let keys = [
            list_key("demo", &filter(Some("a:"), Some("b")), page),
            list_key("demo", &filter(Some("a"), Some(":b")), page),
            list_key("demo", &filter(Some("a"), None), page),
            list_key("demo", &filter(None, Some("a")), page),
            list_key("demo:", &filter(None, None), page),
            list_key("demo", &filter(None, None), page),
            list_key(
                "demo",
                &filter(None, None),
                PageRequest {
                    page: 10,
                    page_size: 1,
                },
            ),
        ];
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:#?}");
        assert!(keys.iter().all(|k| k.starts_with("list:")));
        assert_eq!(
            keys[0],
            list_key("demo", &filter(Some("a:"), Some("b")), page)
        );
    }
}
