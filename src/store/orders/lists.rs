//! A club's orders as its admins search them: the filtered list (pages or a
//! cursor), one order with its payment and refund records, and the rows of
//! the CSV export, read a chunk at a time.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::{ORDER_COLS, attach_details, find_with_details_any_tenant, order_from_row};
use crate::model::orders::export::ExportRow;
use crate::model::orders::{
    AdminOrder, AdminOrderFilter, Order, OrderCursor, PaymentRecord, RefundRecord,
};
use crate::model::scope::TenantScope;
use crate::model::{Fen, Timestamp};
use crate::store::StoreResult;

/// The WHERE clause and its arguments for a filter (columns of `orders`
/// under the alias `o`).
fn where_clause(scope: &TenantScope, f: &AdminOrderFilter) -> (String, Vec<Value>) {
    let mut clauses = vec!["o.tenant_id = ?".to_string()];
    let mut args: Vec<Value> = vec![Value::Text(scope.id().to_string())];
    if let Some(s) = f.status {
        clauses.push("o.status = ?".into());
        args.push(Value::Text(s.as_str().into()));
    }
    if let Some(e) = &f.event_id {
        clauses.push("o.event_id = ?".into());
        args.push(Value::Text(e.clone()));
    }
    if let Some(from) = f.from_ms {
        clauses.push("o.created_at >= ?".into());
        args.push(Value::Integer(from));
    }
    if let Some(to) = f.to_ms {
        clauses.push("o.created_at < ?".into());
        args.push(Value::Integer(to));
    }
    if let Some(kw) = &f.keyword {
        // instr: a plain substring test, cheaper per row than LIKE, and no
        // wildcards to escape.
        clauses
            .push("(o.id = ? OR instr(o.user_phone, ?) > 0 OR instr(o.user_name, ?) > 0)".into());
        args.extend(std::iter::repeat_n(Value::Text(kw.clone()), 3));
    }
    (clauses.join(" AND "), args)
}

fn after_cursor(where_sql: &mut String, args: &mut Vec<Value>, cursor: Option<&OrderCursor>) {
    // The first term bounds the index range on (tenant_id, created_at); an
    // OR alone would make SQLite scan the club's orders from the top.
    if let Some(c) = cursor {
        where_sql.push_str(" AND o.created_at <= ? AND (o.created_at < ? OR o.id < ?)");
        args.push(Value::Integer(c.created_at));
        args.push(Value::Integer(c.created_at));
        args.push(Value::Text(c.id.clone()));
    }
}

/// One page of the club's orders, newest first, and how many match in all.
/// With a cursor the page starts after it (`offset` is then ignored).
pub(crate) fn list_orders(
    conn: &Connection,
    scope: &TenantScope,
    filter: &AdminOrderFilter,
    cursor: Option<&OrderCursor>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<Order>, i64)> {
    let (mut where_sql, mut args) = where_clause(scope, filter);
    // Counting by status or keyword reads every order's row anyway: one
    // pass over the table costs half of walking the club's index and
    // looking each row up. A show or a date range narrows the index first.
    let narrowed = filter.event_id.is_some() || filter.from_ms.is_some() || filter.to_ms.is_some();
    let scan = if !narrowed && (filter.status.is_some() || filter.keyword.is_some()) {
        "NOT INDEXED"
    } else {
        ""
    };
    let total: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM orders o {scan} WHERE {where_sql}"
        ))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    after_cursor(&mut where_sql, &mut args, cursor);
    args.push(Value::Integer(limit));
    args.push(Value::Integer(if cursor.is_some() { 0 } else { offset }));
    let mut orders = conn
        .prepare_cached(&format!(
            "SELECT {ORDER_COLS} FROM orders o WHERE {where_sql}
             ORDER BY o.created_at DESC, o.id DESC LIMIT ? OFFSET ?"
        ))?
        .query_map(params_from_iter(args.iter()), order_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_details(conn, &mut orders)?;
    Ok((orders, total))
}

/// One of the club's orders with its tickets, show, option, payment
/// notifications and refunds.
pub(crate) fn get_order(
    conn: &Connection,
    scope: &TenantScope,
    id: &str,
) -> StoreResult<Option<AdminOrder>> {
    let Some(order) = find_with_details_any_tenant(conn, id)?.filter(|o| o.tenant_id == scope.id())
    else {
        return Ok(None);
    };
    let payments = conn
        .prepare_cached(
            "SELECT kind, verified, processed, verdict, received_at FROM payment_notifications
             WHERE order_id = ?1 ORDER BY received_at",
        )?
        .query_map([id], |r| {
            Ok(PaymentRecord {
                kind: r.get(0)?,
                verified: r.get(1)?,
                processed: r.get(2)?,
                verdict: r.get(3)?,
                received_at: Timestamp(r.get(4)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let refunds = conn
        .prepare_cached(
            "SELECT id, out_refund_no, amount, reason, status, requested_by, cause, attempts,
                    last_error, created_at, updated_at
             FROM refunds WHERE order_id = ?1 ORDER BY created_at",
        )?
        .query_map([id], |r| {
            Ok(RefundRecord {
                id: r.get(0)?,
                out_refund_no: r.get(1)?,
                amount: Fen(r.get(2)?),
                reason: r.get(3)?,
                status: r.get(4)?,
                requested_by: r.get(5)?,
                cause: r.get(6)?,
                attempts: r.get(7)?,
                last_error: r.get(8)?,
                created_at: Timestamp(r.get(9)?),
                updated_at: Timestamp(r.get(10)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(AdminOrder {
        order,
        payments,
        refunds,
    }))
}

/// Up to `limit` export rows after `after`, newest first. Each chunk is its
/// own short read, so an export never holds a snapshot open for long.
pub(crate) fn export_rows(
    conn: &Connection,
    scope: &TenantScope,
    filter: &AdminOrderFilter,
    after: Option<&OrderCursor>,
    limit: i64,
) -> StoreResult<Vec<ExportRow>> {
    let (mut where_sql, mut args) = where_clause(scope, filter);
    after_cursor(&mut where_sql, &mut args, after);
    args.push(Value::Integer(limit));
    let sql = format!(
        "SELECT o.id, o.created_at, o.status, e.title, e.event_date, e.event_time, p.name,
                o.unit_price, o.quantity, o.total_amount, o.user_name, o.user_phone,
                o.pay_method, o.transaction_id, o.paid_at, o.refunded_at, o.cancel_reason
         FROM orders o
         JOIN events e ON e.id = o.event_id
         JOIN price_options p ON p.id = o.price_option_id
         WHERE {where_sql}
         ORDER BY o.created_at DESC, o.id DESC LIMIT ?"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), |r| {
            Ok(ExportRow {
                id: r.get(0)?,
                created_at: r.get(1)?,
                status: r.get(2)?,
                event_title: r.get(3)?,
                event_date: r.get(4)?,
                event_time: r.get(5)?,
                option_name: r.get(6)?,
                unit_price: r.get(7)?,
                quantity: r.get(8)?,
                total_amount: r.get(9)?,
                user_name: r.get(10)?,
                user_phone: r.get(11)?,
                pay_method: r.get(12)?,
                transaction_id: r.get(13)?,
                paid_at: r.get(14)?,
                refunded_at: r.get(15)?,
                cancel_reason: r.get(16)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}
