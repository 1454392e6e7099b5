//! A club's orders for its admins: search (pages or cursor), one order with
//! its records, a full refund without the buyer's cut-off, and the CSV
//! export, streamed a chunk at a time so memory stays flat however many
//! orders there are.

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::error::AppError;
use crate::ids::looks_like_id;
use crate::model::admins::AdminActor;
use crate::model::catalog::{Page, PageRequest};
use crate::model::events::admin_reason;
use crate::model::orders::export::{preamble, write_rows};
use crate::model::orders::{AdminOrder, AdminOrderFilter, OrderCursor, OrderPage, RefundActor};
use crate::model::scope::TenantScope;
use crate::service::payments;
use crate::state::AppState;
use crate::store::orders::lists as q;
use crate::store::orders::order_not_found;

/// Rows per read of the export: small enough that one read is a few
/// milliseconds of one pool connection, large enough to stream fast.
const EXPORT_CHUNK: i64 = 2000;

pub(crate) async fn list(
    state: &AppState,
    scope: &TenantScope,
    filter: AdminOrderFilter,
    page: PageRequest,
    cursor: Option<OrderCursor>,
) -> Result<OrderPage, AppError> {
    let scope = scope.clone();
    let (items, total) = state
        .store
        .read(move |c| {
            q::list_orders(
                c,
                &scope,
                &filter,
                cursor.as_ref(),
                page.offset(),
                page.page_size,
            )
        })
        .await?;
    let next_cursor = (items.len() as i64 == page.page_size)
        .then(|| items.last())
        .flatten()
        .map(|o| {
            OrderCursor {
                created_at: o.created_at.0,
                id: o.id.clone(),
            }
            .encode()
        });
    let p = Page::new(items, total, page.page, page.page_size);
    Ok(OrderPage {
        items: p.items,
        total: p.total,
        page: p.page,
        page_size: p.page_size,
        total_pages: p.total_pages,
        next_cursor,
    })
}

pub(crate) async fn get(
    state: &AppState,
    scope: &TenantScope,
    id: &str,
) -> Result<AdminOrder, AppError> {
    if !looks_like_id(id) {
        return Err(order_not_found().into());
    }
    let (scope, id) = (scope.clone(), id.to_string());
    state
        .store
        .read(move |c| q::get_order(c, &scope, &id))
        .await?
        .ok_or_else(|| order_not_found().into())
}

/// A full refund of a paid order by an owner: no buyer cut-off; an order
/// with a checked-in ticket needs `force`. Same path as the buyer's (recorded,
/// sent, retried), so a second request is `REFUND_EXISTS`.
pub(crate) async fn refund(
    state: &AppState,
    admin: &AdminActor,
    id: &str,
    reason: &str,
    force: bool,
) -> Result<AdminOrder, AppError> {
    let reason = admin_reason(reason, "退款原因")?;
    let actor = RefundActor::Admin {
        admin_id: admin.id.clone(),
        tenant_id: admin.scope.id().to_string(),
        force,
    };
    payments::refund(state, actor, id, Some(reason)).await?;
    get(state, &admin.scope, id).await
}

/// The export as a stream of CSV chunks: BOM and header first, then the
/// matching orders newest first. A read that fails ends the stream with an
/// error, so the download is visibly incomplete rather than quietly short.
pub(crate) fn export(
    state: &AppState,
    scope: &TenantScope,
    filter: AdminOrderFilter,
) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let (tx, rx) = mpsc::channel(2);
    let (state, scope, tz) = (state.clone(), scope.clone(), state.config.timezone);
    tokio::spawn(async move {
        if tx.send(Ok(Bytes::from(preamble()))).await.is_err() {
            return;
        }
        let mut after: Option<OrderCursor> = None;
        loop {
            let (s, f, a) = (scope.clone(), filter.clone(), after.clone());
            let rows = match state
                .store
                .read(move |c| q::export_rows(c, &s, &f, a.as_ref(), EXPORT_CHUNK))
                .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "order export failed");
                    let _ = tx.send(Err(std::io::Error::other("导出中断"))).await;
                    return;
                }
            };
            let Some(last) = rows.last() else { return };
            after = Some(last.cursor());
            let mut buf = Vec::with_capacity(rows.len() * 192);
            if let Err(e) = write_rows(&mut buf, &rows, tz) {
                let _ = tx.send(Err(e)).await;
                return;
            }
            let done = (rows.len() as i64) < EXPORT_CHUNK;
            // The client went away: stop reading.
            if tx.send(Ok(Bytes::from(buf))).await.is_err() || done {
                return;
            }
        }
    });
    rx
}
