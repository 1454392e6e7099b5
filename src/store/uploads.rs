//! The images a club uploaded, and whether anything still shows them.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

use super::audit::{AuditActor, Target, audit};
use super::{StoreResult, reject};
use crate::error::Code;
use crate::model::scope::TenantScope;

/// An upload's row.
#[derive(Debug, Clone)]
pub struct UploadRow {
    pub id: String,
    pub file_name: String,
    pub content_type: String,
    pub bytes: i64,
    pub width: i64,
    pub height: i64,
    pub in_use: bool,
    pub created_at: i64,
}

/// Whether the club's shows, banners, merch or logo name `u.file_name`
/// (file names are random, so containing it is naming it).
const IN_USE: &str = "(EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = u.tenant_id
                                AND instr(e.poster, u.file_name) > 0)
     OR EXISTS (SELECT 1 FROM banners b WHERE b.tenant_id = u.tenant_id
                AND instr(b.image, u.file_name) > 0)
     OR EXISTS (SELECT 1 FROM merch_items m WHERE m.tenant_id = u.tenant_id
                AND instr(m.image, u.file_name) > 0)
     OR EXISTS (SELECT 1 FROM tenants t WHERE t.id = u.tenant_id
                AND instr(t.logo, u.file_name) > 0))";

fn row(r: &Row<'_>) -> rusqlite::Result<UploadRow> {
    Ok(UploadRow {
        id: r.get(0)?,
        file_name: r.get(1)?,
        content_type: r.get(2)?,
        bytes: r.get(3)?,
        width: r.get(4)?,
        height: r.get(5)?,
        in_use: r.get(6)?,
        created_at: r.get(7)?,
    })
}

/// Records a stored file (audited).
pub(crate) fn insert(
    conn: &Connection,
    scope: &TenantScope,
    u: &UploadRow,
    admin_id: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO uploads (id, tenant_id, file_name, content_type, bytes, width, height,
             uploaded_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        u.id,
        scope.id(),
        u.file_name,
        u.content_type,
        u.bytes,
        u.width,
        u.height,
        admin_id,
        u.created_at
    ])?;
    audit(
        conn,
        AuditActor::Admin(admin_id),
        "upload_created",
        Target {
            tenant_id: scope.id(),
            kind: "upload",
            id: &u.id,
        },
        &json!({"file": u.file_name, "bytes": u.bytes, "type": u.content_type}),
        u.created_at,
    )
}

/// The club's uploads, newest first.
pub(crate) fn list(conn: &Connection, scope: &TenantScope) -> StoreResult<Vec<UploadRow>> {
    let sql = format!(
        "SELECT u.id, u.file_name, u.content_type, u.bytes, u.width, u.height, {IN_USE},
                u.created_at
         FROM uploads u WHERE u.tenant_id = ?1 ORDER BY u.created_at DESC, u.id DESC"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([scope.id()], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Forgets an unused upload; returns its file name for the caller to
/// remove. A file still shown somewhere is `409 UPLOAD_IN_USE`.
pub(crate) fn delete(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
    admin_id: &str,
    now: i64,
) -> StoreResult<String> {
    let sql = format!(
        "SELECT u.id, u.file_name, u.content_type, u.bytes, u.width, u.height, {IN_USE},
                u.created_at
         FROM uploads u WHERE u.id = ?1 AND u.tenant_id = ?2"
    );
    let Some(u) = conn
        .prepare_cached(&sql)?
        .query_row(params![id, scope.id()], row)
        .optional()?
    else {
        return Err(reject(Code::UploadNotFound, "文件不存在"));
    };
    if u.in_use {
        return Err(reject(
            Code::UploadInUse,
            "图片正在被演出海报、横幅、周边或 Logo 使用，请先替换再删除",
        ));
    }
    conn.prepare_cached("DELETE FROM uploads WHERE id = ?1")?
        .execute([id])?;
    audit(
        conn,
        AuditActor::Admin(admin_id),
        "upload_deleted",
        Target {
            tenant_id: scope.id(),
            kind: "upload",
            id,
        },
        &json!({"file": u.file_name, "bytes": u.bytes}),
        now,
    )?;
    Ok(u.file_name)
}
