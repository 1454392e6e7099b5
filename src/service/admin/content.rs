//! A club's home page content: banners and merch, one set of use-cases over
//! both (`model::content::Item`). Reads for any admin; the public home
//! shows a write at once (`store::changes`).

use crate::error::AppError;
use crate::ids::looks_like_id;
use crate::model::admins::AdminActor;
use crate::model::content::{Item, Kind, ReorderInput};
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;
use crate::state::AppState;
use crate::store::content::{self as q, Stored};

fn not_found(kind: Kind) -> AppError {
    kind.not_found().into()
}

/// An id in a path: a malformed one is simply not found.
fn checked(kind: Kind, id: Option<&str>) -> Result<Option<String>, AppError> {
    match id {
        Some(id) if !looks_like_id(id) => Err(not_found(kind)),
        id => Ok(id.map(str::to_string)),
    }
}

/// The club's items of one kind, in display order.
pub(crate) async fn list<T: Stored>(
    state: &AppState,
    scope: &TenantScope,
) -> Result<Vec<T>, AppError> {
    let scope = scope.clone();
    Ok(state.store.read(move |c| q::list::<T>(c, &scope)).await?)
}

pub(crate) async fn get<T: Stored>(
    state: &AppState,
    scope: &TenantScope,
    id: &str,
) -> Result<T, AppError> {
    let id = checked(T::KIND, Some(id))?.unwrap_or_default();
    let scope = scope.clone();
    state
        .store
        .read(move |c| q::get::<T>(c, &scope, &id))
        .await?
        .ok_or_else(|| not_found(T::KIND))
}

/// Creates an item (`id` None) or replaces one.
pub(crate) async fn save<T: Stored>(
    state: &AppState,
    admin: &AdminActor,
    id: Option<&str>,
    input: T::Input,
) -> Result<T, AppError> {
    let id = checked(T::KIND, id)?;
    let draft = T::check(&input)?;
    let a = admin.clone();
    Ok(state
        .store
        .write(move |c| q::save::<T>(c, &a.scope, id.as_deref(), &draft, &a.id, now_ms()))
        .await?)
}

pub(crate) async fn delete<T: Item>(
    state: &AppState,
    admin: &AdminActor,
    id: &str,
) -> Result<(), AppError> {
    let kind = T::KIND;
    let id = checked(kind, Some(id))?.unwrap_or_default();
    let a = admin.clone();
    Ok(state
        .store
        .write(move |c| q::delete(c, &a.scope, kind, &id, &a.id, now_ms()))
        .await?)
}

pub(crate) async fn reorder<T: Item>(
    state: &AppState,
    admin: &AdminActor,
    input: ReorderInput,
) -> Result<(), AppError> {
    let kind = T::KIND;
    let a = admin.clone();
    Ok(state
        .store
        .write(move |c| q::reorder(c, &a.scope, kind, &input, &a.id, now_ms()))
        .await?)
}
