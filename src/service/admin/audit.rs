//! The club's audit log, for its owner.

use crate::error::AppError;
use crate::model::audit::{AuditEntry, AuditFilter};
use crate::model::catalog::{Page, PageRequest};
use crate::model::scope::TenantScope;
use crate::state::AppState;
use crate::store::audit as q;

pub(crate) async fn list(
    state: &AppState,
    scope: &TenantScope,
    filter: AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEntry>, AppError> {
    let scope = scope.clone();
    let (items, total) = state
        .store
        .read(move |c| q::list(c, &scope, &filter, page))
        .await?;
    Ok(Page::new(items, total, page.page, page.page_size))
}
