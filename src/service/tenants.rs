//! Clubs as the operator on the server manages them (CLI, demo).

use crate::error::AppError;
use crate::model::catalog::ActiveStatus;
use crate::store::{Store, tenants};

pub use crate::store::tenants::NewTenant;

pub async fn create(store: &Store, tenant: NewTenant) -> Result<(), AppError> {
    Ok(store.write(move |c| tenants::insert(c, &tenant)).await?)
}

/// A disabled club disappears from the public API and its admins are refused.
pub async fn set_status(store: &Store, id: &str, status: ActiveStatus) -> Result<(), AppError> {
    let id = id.to_string();
    Ok(store
        .write(move |c| tenants::set_status(c, &id, status))
        .await?)
}
