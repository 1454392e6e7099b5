//! The audit log: who did what to which of a club's records. Every write that
//! has an actor records itself here, in the same transaction as the write.

use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use super::StoreResult;
use crate::ids::new_id;
use crate::model::Timestamp;
use crate::model::audit::{AuditEntry, AuditFilter};
use crate::model::catalog::PageRequest;
use crate::model::scope::TenantScope;

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

impl<'a> From<&'a crate::model::admins::TeamActor> for AuditActor<'a> {
    fn from(actor: &'a crate::model::admins::TeamActor) -> Self {
        match actor {
            crate::model::admins::TeamActor::Admin(a) => AuditActor::Admin(&a.id),
            crate::model::admins::TeamActor::Operator(_) => AuditActor::Cli,
        }
    }
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

/// A page of the club's audit log, newest first.
pub(crate) fn list(
    conn: &Connection,
    scope: &TenantScope,
    filter: &AuditFilter,
    page: PageRequest,
) -> StoreResult<(Vec<AuditEntry>, i64)> {
    let mut clauses = vec!["l.tenant_id = ?".to_string()];
    let mut args: Vec<Value> = vec![Value::Text(scope.id().to_string())];
    for (column, v) in [
        ("l.target_type", &filter.target_type),
        ("l.target_id", &filter.target_id),
        ("l.actor", &filter.actor),
    ] {
        if let Some(v) = v {
            clauses.push(format!("{column} = ?"));
            args.push(Value::Text(v.clone()));
        }
    }
    let where_sql = clauses.join(" AND ");
    let total: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM audit_log l WHERE {where_sql}"
        ))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    if total == 0 || page.offset() >= total {
        return Ok((Vec::new(), total));
    }
    args.push(Value::Integer(page.page_size));
    args.push(Value::Integer(page.offset()));
    let items = conn
        .prepare_cached(&format!(
            "SELECT l.id, l.actor, a.username, l.action, l.target_type, l.target_id, l.detail,
                    l.created_at,
                    CASE l.target_type
                      WHEN 'event' THEN (SELECT title FROM events
                                         WHERE id = l.target_id AND tenant_id = l.tenant_id)
                      WHEN 'order' THEN (SELECT e.title || ' · ' || o.user_name
                                         FROM orders o JOIN events e ON e.id = o.event_id
                                         WHERE o.id = l.target_id AND o.tenant_id = l.tenant_id)
                      WHEN 'ticket' THEN (SELECT e.title || ' · ' || o.user_name
                                          FROM tickets t JOIN orders o ON o.id = t.order_id
                                          JOIN events e ON e.id = o.event_id
                                          WHERE t.id = l.target_id AND o.tenant_id = l.tenant_id)
                      WHEN 'admin' THEN (SELECT COALESCE(display_name, username) FROM admins
                                         WHERE id = l.target_id AND tenant_id = l.tenant_id)
                      WHEN 'banner' THEN (SELECT NULLIF(title, '') FROM banners
                                          WHERE id = l.target_id AND tenant_id = l.tenant_id)
                      WHEN 'merch' THEN (SELECT name FROM merch_items
                                         WHERE id = l.target_id AND tenant_id = l.tenant_id)
                      WHEN 'tenant' THEN (SELECT name FROM tenants WHERE id = l.tenant_id)
                    END
             FROM audit_log l
             LEFT JOIN admins a ON l.actor = 'admin:' || a.id AND a.tenant_id = l.tenant_id
             WHERE {where_sql} ORDER BY l.created_at DESC, l.id DESC LIMIT ? OFFSET ?"
        ))?
        .query_map(params_from_iter(args.iter()), |r| {
            let detail: Option<String> = r.get(6)?;
            Ok(AuditEntry {
                id: r.get(0)?,
                actor: r.get(1)?,
                actor_name: r.get(2)?,
                action: r.get(3)?,
                target_type: r.get(4)?,
                target_id: r.get(5)?,
                detail: detail
                    .and_then(|d| serde_json::from_str(&d).ok())
                    .unwrap_or(serde_json::Value::Null),
                created_at: Timestamp(r.get(7)?),
                target_name: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((items, total))
}
