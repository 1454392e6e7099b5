//! Clubs as the operator on the server manages them (CLI, demo). Each change
//! is audited as `cli` in the same transaction.

use crate::error::AppError;
use crate::model::catalog::ActiveStatus;
use crate::model::time::now_ms;
use crate::store::audit::{AuditActor, Target, audit};
use crate::store::{Store, tenants};

pub(crate) use crate::store::tenants::NewTenant;

pub async fn create(store: &Store, tenant: NewTenant) -> Result<(), AppError> {
    Ok(store
        .write(move |c| {
            tenants::insert(c, &tenant)?;
            audit(
                c,
                AuditActor::Cli,
                "tenant_created",
                Target {
                    tenant_id: &tenant.id,
                    kind: "tenant",
                    id: &tenant.id,
                },
                &serde_json::json!({ "name": tenant.name }),
                now_ms(),
            )
        })
        .await?)
}

/// A disabled club disappears from the public API and its admins are refused.
pub async fn set_status(store: &Store, id: &str, status: ActiveStatus) -> Result<(), AppError> {
    let id = id.to_string();
    Ok(store
        .write(move |c| {
            tenants::set_status(c, &id, status)?;
            audit(
                c,
                AuditActor::Cli,
                "tenant_status_set",
                Target {
                    tenant_id: &id,
                    kind: "tenant",
                    id: &id,
                },
                &serde_json::json!({ "status": status.as_str() }),
                now_ms(),
            )
        })
        .await?)
}
