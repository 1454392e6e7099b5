//! The audit log as the owner reads it.

use serde::Serialize;
use utoipa::ToSchema;

use super::Timestamp;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    /// `admin:<id>`, `user:<id>`, `system` or `cli`.
    pub actor: String,
    /// The admin's username when the actor is an admin of the club.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// e.g. `event_created`, `stock_changed`, `event_cancelled`, `refund_requested`.
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// The object as a person names it, while it exists: a show's title, an
    /// order's show and buyer, an admin's display name, a banner's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// What changed: a before/after summary or the action's details.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub actor: Option<String>,
}
