//! Clubs as the operator on the server manages them (CLI, demo), each change
//! audited as `cli`; and a club's own settings as its owner edits them.

use crate::error::AppError;
use crate::model::admins::AdminActor;
use crate::model::catalog::ActiveStatus;
use crate::model::scope::TenantScope;
use crate::model::tenants::{AdminTenant, TenantSettingsInput};
use crate::model::time::now_ms;
use crate::state::AppState;
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

fn default_cutoff_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.refund_cutoff.as_millis()).unwrap_or(i64::MAX / 4)
}

/// The club's settings, for its admins.
pub(crate) async fn settings(
    state: &AppState,
    scope: &TenantScope,
) -> Result<AdminTenant, AppError> {
    let (scope, cutoff, tz) = (
        scope.clone(),
        default_cutoff_ms(state),
        state.config.timezone.name(),
    );
    state
        .store
        .read(move |c| tenants::admin_settings(c, &scope, cutoff, tz))
        .await?
        .ok_or_else(AppError::tenant_not_found)
}

/// Saves the whole settings; the public config shows them at once.
pub(crate) async fn save_settings(
    state: &AppState,
    admin: &AdminActor,
    input: TenantSettingsInput,
) -> Result<AdminTenant, AppError> {
    let s = input.validate()?;
    let a = admin.clone();
    state
        .store
        .write(move |c| tenants::save_settings(c, &a.scope, &s, &a.id, now_ms()))
        .await?;
    settings(state, &admin.scope).await
}
