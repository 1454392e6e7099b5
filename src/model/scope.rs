//! The club a piece of work is confined to.
//!
//! Store functions that read or write one club's data take a `TenantScope`,
//! so a handler cannot forget the club: it has no scope to pass unless one of
//! the few places below made it. A test keeps that list closed.

use std::sync::Arc;

/// A club id that has been vouched for. Made only by:
/// - `http::guards`: the club in a verified admin token;
/// - `service::catalog` / `service::admin::admins`: a club found active by the
///   public catalogue or a login, before anything else is read;
/// - `cli` and `service::demo`: the operator on the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantScope(Arc<str>);

impl TenantScope {
    /// See the type's list of callers; `tests/api/architecture.rs` keeps it closed.
    pub fn vouched(tenant_id: &str) -> TenantScope {
        TenantScope(tenant_id.into())
    }

    pub fn id(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
