//! The audit log: who did what to which of a club's records. Every write that
//! has an actor records itself here, in the same transaction as the write.

use rusqlite::{Connection, params};

use super::StoreResult;
use crate::ids::new_id;

/// Who acted, as stored in `audit_log.actor`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AuditActor<'a> {
    /// A background job or WeChat's notify.
    System,
    /// The command line on the server.
    Cli,
    Admin(&'a str),
    User(&'a str),
}

impl AuditActor<'_> {
    pub fn as_stored(&self) -> String {
        match self {
            AuditActor::System => "system".into(),
            AuditActor::Cli => "cli".into(),
            AuditActor::Admin(id) => format!("admin:{id}"),
            AuditActor::User(id) => format!("user:{id}"),
        }
    }
}

/// What was acted on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub tenant_id: &'a str,
    pub kind: &'a str,
    pub id: &'a str,
}

impl<'a> Target<'a> {
    pub fn order(tenant_id: &'a str, id: &'a str) -> Self {
        Target {
            tenant_id,
            kind: "order",
            id,
        }
    }
}

/// Appends one entry; `detail` is any JSON the action wants kept.
pub(crate) fn audit(
    conn: &Connection,
    actor: AuditActor<'_>,
    action: &str,
    target: Target<'_>,
    detail: &serde_json::Value,
    now: i64,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (id, tenant_id, actor, action, target_type, target_id, detail,
             created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        new_id(),
        target.tenant_id,
        actor.as_stored(),
        action,
        target.kind,
        target.id,
        detail.to_string(),
        now
    ])?;
    Ok(())
}
