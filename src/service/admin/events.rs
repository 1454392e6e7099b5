//! A club puts on its shows: list, detail, create, edit, delete, duplicate
//! and cancel (with the mass refund that follows). The public catalogue
//! shows each write at once: its store functions note it (`store::changes`).

use crate::error::AppError;
use crate::ids::looks_like_id;
use crate::model::admins::AdminActor;
use crate::model::catalog::{Event, Page, PageRequest};
use crate::model::events::{
    AdminEventFilter, EventInput, admin_reason, instant, show_start, validate,
};
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;
use crate::service::payments;
use crate::state::AppState;
use crate::store::events as q;

fn not_found() -> AppError {
    AppError::event_not_found()
}

pub(crate) async fn list(
    state: &AppState,
    scope: &TenantScope,
    filter: AdminEventFilter,
    page: PageRequest,
) -> Result<Page<Event>, AppError> {
    let scope = scope.clone();
    let (items, total) = state
        .store
        .read(move |c| q::list_events(c, &scope, &filter, page))
        .await?;
    Ok(Page::new(items, total, page.page, page.page_size))
}

pub(crate) async fn get(
    state: &AppState,
    scope: &TenantScope,
    id: &str,
) -> Result<Event, AppError> {
    if !looks_like_id(id) {
        return Err(not_found());
    }
    let (scope, id) = (scope.clone(), id.to_string());
    state
        .store
        .read(move |c| q::get_event(c, &scope, &id))
        .await?
        .ok_or_else(not_found)
}

pub(crate) async fn create(
    state: &AppState,
    admin: &AdminActor,
    input: EventInput,
) -> Result<Event, AppError> {
    let tz = state.config.timezone;
    let draft = validate(&input, tz, now_ms(), None)?;
    let a = admin.clone();
    let id = state
        .store
        .write(move |c| q::create_event(c, &a.scope, tz, &draft, &a.id, now_ms()))
        .await?;
    get(state, &admin.scope, &id).await
}

pub(crate) async fn update(
    state: &AppState,
    admin: &AdminActor,
    id: &str,
    input: EventInput,
) -> Result<Event, AppError> {
    let current = get(state, &admin.scope, id).await?;
    if current.status == crate::model::catalog::EventStatus::Cancelled {
        return Err(AppError::new(
            crate::error::Code::EventCancelled,
            "演出已取消，不能再修改",
        ));
    }
    let draft = validate(
        &input,
        state.config.timezone,
        now_ms(),
        Some(current.starts_at.0),
    )?;
    let (a, eid) = (admin.clone(), id.to_string());
    state
        .store
        .write(move |c| q::update_event(c, &a.scope, &eid, &draft, &a.id, now_ms()))
        .await?;
    get(state, &admin.scope, id).await
}

pub(crate) async fn delete(state: &AppState, admin: &AdminActor, id: &str) -> Result<(), AppError> {
    if !looks_like_id(id) {
        return Err(not_found());
    }
    let (a, eid) = (admin.clone(), id.to_string());
    state
        .store
        .write(move |c| q::delete_event(c, &a.scope, &eid, &a.id, now_ms()))
        .await?;
    Ok(())
}

/// Cancels the show; its paid orders' refunds are sent by the `refunds`
/// job, which this nudges at once rather than at its next tick.
pub(crate) async fn cancel(
    state: &AppState,
    admin: &AdminActor,
    id: &str,
    reason: &str,
) -> Result<Event, AppError> {
    let reason = admin_reason(reason, "取消原因")?;
    if !looks_like_id(id) {
        return Err(not_found());
    }
    let (a, eid) = (admin.clone(), id.to_string());
    let done = state
        .store
        .write(move |c| q::cancel_event(c, &a.scope, &eid, &reason, &a.id, now_ms()))
        .await?;
    if done.refunds_started > 0 {
        let s = state.clone();
        tokio::spawn(async move {
            if let Err(e) = payments::send_due_refunds(&s).await {
                tracing::warn!(error = %format!("{e:#}"), "sending a cancelled show's refunds");
            }
        });
    }
    if done.newly {
        tracing::info!(
            event = id,
            holds = done.holds_released,
            refunds = done.refunds_started,
            "show cancelled"
        );
    }
    get(state, &admin.scope, id).await
}

/// When the copy is on: a date and time in the future, and an optional sale
/// start before it.
pub struct DuplicateInput {
    pub event_date: String,
    pub event_time: String,
    pub sale_start_at: Option<String>,
}

pub(crate) async fn duplicate(
    state: &AppState,
    admin: &AdminActor,
    id: &str,
    input: DuplicateInput,
) -> Result<Event, AppError> {
    let tz = state.config.timezone;
    let when = show_start(&input.event_date, &input.event_time, tz)?;
    let now = now_ms();
    if when.2 <= now {
        return Err(AppError::validation("eventDate：演出时间须在未来"));
    }
    let sale_start_at = instant(input.sale_start_at.as_deref(), "saleStartAt")?;
    if sale_start_at.is_some_and(|s| s >= when.2) {
        return Err(AppError::validation("saleStartAt：须早于演出开始时间"));
    }
    if !looks_like_id(id) {
        return Err(not_found());
    }
    let (a, eid) = (admin.clone(), id.to_string());
    let new_id = state
        .store
        .write(move |c| {
            q::duplicate_event(c, &a.scope, tz, &eid, when, sale_start_at, &a.id, now_ms())
        })
        .await?;
    get(state, &admin.scope, &new_id).await
}
