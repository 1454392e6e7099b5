//! A club's home page content: banners and merch. Reads for any admin;
//! the public home shows a write at once (`store::changes`).

use crate::error::AppError;
use crate::ids::looks_like_id;
use crate::model::accounts::AdminActor;
use crate::model::content::{AdminBanner, AdminMerch, BannerInput, Kind, MerchInput, ReorderInput};
use crate::model::scope::TenantScope;
use crate::model::time::now_ms;
use crate::state::AppState;
use crate::store::content as q;

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

pub(crate) async fn banners(
    state: &AppState,
    scope: &TenantScope,
) -> Result<Vec<AdminBanner>, AppError> {
    let scope = scope.clone();
    Ok(state
        .store
        .read(move |c| q::list_banners(c, &scope))
        .await?)
}

pub(crate) async fn banner(
    state: &AppState,
    scope: &TenantScope,
    id: &str,
) -> Result<AdminBanner, AppError> {
    let id = checked(Kind::Banner, Some(id))?.unwrap_or_default();
    let scope = scope.clone();
    state
        .store
        .read(move |c| q::get_banner(c, &scope, &id))
        .await?
        .ok_or_else(|| not_found(Kind::Banner))
}

/// Creates a banner (`id` None) or replaces one.
pub(crate) async fn save_banner(
    state: &AppState,
    admin: &AdminActor,
    id: Option<&str>,
    input: BannerInput,
) -> Result<AdminBanner, AppError> {
    let id = checked(Kind::Banner, id)?;
    let draft = input.validate()?;
    let a = admin.clone();
    Ok(state
        .store
        .write(move |c| q::save_banner(c, &a.scope, id.as_deref(), &draft, &a.id, now_ms()))
        .await?)
}

pub(crate) async fn merch(
    state: &AppState,
    scope: &TenantScope,
) -> Result<Vec<AdminMerch>, AppError> {
    let scope = scope.clone();
    Ok(state.store.read(move |c| q::list_merch(c, &scope)).await?)
}

pub(crate) async fn merch_item(
    state: &AppState,
    scope: &TenantScope,
    id: &str,
) -> Result<AdminMerch, AppError> {
    let id = checked(Kind::Merch, Some(id))?.unwrap_or_default();
    let scope = scope.clone();
    state
        .store
        .read(move |c| q::get_merch(c, &scope, &id))
        .await?
        .ok_or_else(|| not_found(Kind::Merch))
}

/// Creates a merch item (`id` None) or replaces one.
pub(crate) async fn save_merch(
    state: &AppState,
    admin: &AdminActor,
    id: Option<&str>,
    input: MerchInput,
) -> Result<AdminMerch, AppError> {
    let id = checked(Kind::Merch, id)?;
    let draft = input.validate()?;
    let a = admin.clone();
    Ok(state
        .store
        .write(move |c| q::save_merch(c, &a.scope, id.as_deref(), &draft, &a.id, now_ms()))
        .await?)
}

pub(crate) async fn delete(
    state: &AppState,
    admin: &AdminActor,
    kind: Kind,
    id: &str,
) -> Result<(), AppError> {
    let id = checked(kind, Some(id))?.unwrap_or_default();
    let a = admin.clone();
    Ok(state
        .store
        .write(move |c| q::delete(c, &a.scope, kind, &id, &a.id, now_ms()))
        .await?)
}

pub(crate) async fn reorder(
    state: &AppState,
    admin: &AdminActor,
    kind: Kind,
    input: ReorderInput,
) -> Result<(), AppError> {
    let a = admin.clone();
    Ok(state
        .store
        .write(move |c| q::reorder(c, &a.scope, kind, &input, &a.id, now_ms()))
        .await?)
}
