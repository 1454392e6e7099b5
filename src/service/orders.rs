//! Buying tickets: create, look up, list, cancel. The inventory rules live in
//! `store::orders` and run inside the single writer, so two buyers can never
//! both get the last seat.

use crate::error::AppError;
use crate::error::Code;
use crate::ids::looks_like_id;
use crate::model::catalog::{Page, PageRequest};
use crate::model::orders::OrderFilter;
use crate::model::orders::{CancelReason, Order, valid_contact, valid_idempotency_key};
use crate::model::time::now_ms;
use crate::state::AppState;
use crate::store::orders::{self as q, Actor, NewOrder};

/// Sanity bound before any rule is consulted; the show's own `maxPerOrder`
/// is the real limit.
const MAX_QUANTITY: i64 = 100;

pub struct CreateInput {
    pub event_id: String,
    pub price_option_id: String,
    pub quantity: i64,
    pub name: String,
    pub phone: String,
    pub idempotency_key: Option<String>,
}

pub async fn create(
    state: &AppState,
    user_id: &str,
    input: CreateInput,
) -> Result<Order, AppError> {
    if !looks_like_id(&input.event_id) {
        return Err(AppError::event_not_found());
    }
    if !looks_like_id(&input.price_option_id) {
        return Err(AppError::new(Code::PriceOptionNotFound, "票档不存在"));
    }
    if input.quantity < 1 {
        return Err(AppError::validation("quantity：购买数量至少 1 张"));
    }
    if input.quantity > MAX_QUANTITY {
        return Err(AppError::new(
            Code::ExceedsMaxPerOrder,
            format!("quantity：每单最多 {MAX_QUANTITY} 张（各场演出可能限购更少）"),
        ));
    }
    let (user_name, user_phone) = valid_contact(&input.name, &input.phone)?;
    let idempotency_key = input
        .idempotency_key
        .as_deref()
        .map(valid_idempotency_key)
        .transpose()?
        .map(str::to_string);
    state.limits.check_orders(user_id)?;
    let order = NewOrder {
        user_id: user_id.to_string(),
        event_id: input.event_id,
        price_option_id: input.price_option_id,
        quantity: input.quantity,
        user_name,
        user_phone,
        idempotency_key,
        hold_ms: state.config.order_payment_timeout.as_millis() as i64,
    };
    // `now` is taken on the writer thread, at the moment the rules are checked.
    // `create` checks everything before its first write: no savepoint needed.
    let created: Result<Order, AppError> = state
        .store
        .write_checked(move |c| q::create(c, &order, now_ms()))
        .await
        .map_err(AppError::from);
    state.metrics.order(
        match &created {
            Ok(_) => "created",
            Err(e) if matches!(e.code, Code::SoldOut | Code::InsufficientStock) => "sold_out",
            Err(_) => "refused",
        },
        1,
    );
    created
}

pub(crate) async fn get(
    state: &AppState,
    user_id: &str,
    order_id: &str,
) -> Result<Order, AppError> {
    if !looks_like_id(order_id) {
        return Err(q::order_not_found().into());
    }
    let (u, id) = (user_id.to_string(), order_id.to_string());
    state
        .store
        .read(move |c| q::get_for_user(c, &u, &id))
        .await?
        .ok_or_else(|| AppError::from(q::order_not_found()))
}

pub(crate) async fn list(
    state: &AppState,
    user_id: &str,
    filter: OrderFilter,
    page: PageRequest,
) -> Result<Page<Order>, AppError> {
    // A club named must exist and be open, as on every other public route.
    if let Some(t) = &filter.tenant_id {
        crate::service::catalog::tenant(state, t).await?;
    }
    let u = user_id.to_string();
    let (items, total) = state
        .store
        .read(move |c| q::list_for_user(c, &u, &filter, page))
        .await?;
    Ok(Page::new(items, total, page.page, page.page_size))
}

pub async fn cancel(state: &AppState, user_id: &str, order_id: &str) -> Result<Order, AppError> {
    if !looks_like_id(order_id) {
        return Err(q::order_not_found().into());
    }
    let (u, id) = (user_id.to_string(), order_id.to_string());
    Ok(state
        .store
        .write(move |c| q::cancel(c, Actor::User(&u), &id, CancelReason::User, now_ms()))
        .await?)
}

/// Orders the expiry job cancels per run; a backlog drains over consecutive runs.
const EXPIRE_BATCH: i64 = 500;

/// The `expire` job: cancels pending orders past their hold that no payment
/// can reach and releases their seats. Orders that reached WeChat Pay are
/// asked about first by the `reconcile` job; the mock provider has nothing to
/// ask, so here they expire with the rest. Never waits on WeChat, so seats
/// come back on time however slow it is.
pub(crate) async fn expire_holds(state: &AppState) -> anyhow::Result<usize> {
    let now = now_ms();
    let mut due = state
        .store
        .read(move |c| q::due_without_prepay(c, now, EXPIRE_BATCH))
        .await?;
    if state.pay.is_mock() {
        let prepaid = state
            .store
            .read(move |c| q::due_with_prepay(c, now, EXPIRE_BATCH))
            .await?;
        due.extend(prepaid.into_iter().map(|(id, _)| id));
    }
    expire(state, due).await
}

/// Cancels these pending orders if they are still due; returns how many were.
pub async fn expire(state: &AppState, due: Vec<String>) -> anyhow::Result<usize> {
    if due.is_empty() {
        return Ok(0);
    }
    let n = state
        .store
        .write(move |c| q::expire(c, &due, now_ms()))
        .await?;
    if n > 0 {
        tracing::info!(expired = n, "released stock of unpaid orders");
        state.metrics.order("expired", n as u64);
    }
    Ok(n)
}
