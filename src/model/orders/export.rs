//! The orders CSV a club opens in Excel: UTF-8 with a BOM (or Excel shows
//! the Chinese as mojibake), a Chinese header, money in yuan, times in the
//! club's zone, RFC 4180 quoting, and cells that a spreadsheet would run as
//! a formula defused with a leading `'`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::OrderCursor;
use crate::model::Fen;

pub const BOM: &[u8] = b"\xEF\xBB\xBF";

pub const HEADER: [&str; 17] = [
    "订单号",
    "下单时间",
    "状态",
    "演出",
    "演出日期",
    "演出时间",
    "票档",
    "单价（元）",
    "数量",
    "金额（元）",
    "联系人",
    "手机号",
    "支付方式",
    "微信支付单号",
    "支付时间",
    "退款时间",
    "取消原因",
];

/// One row of the CSV export: the order with its show and option named.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub id: String,
    pub created_at: i64,
    pub status: String,
    pub event_title: String,
    pub event_date: String,
    pub event_time: String,
    pub option_name: String,
    pub unit_price: i64,
    pub quantity: i64,
    pub total_amount: i64,
    pub user_name: String,
    pub user_phone: String,
    pub pay_method: Option<String>,
    pub transaction_id: Option<String>,
    pub paid_at: Option<i64>,
    pub refunded_at: Option<i64>,
    pub cancel_reason: Option<String>,
}

impl ExportRow {
    pub fn cursor(&self) -> OrderCursor {
        OrderCursor {
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }
}

fn status_name(s: &str) -> &str {
    match s {
        "pending" => "待支付",
        "paid" => "已支付",
        "cancelled" => "已取消",
        "refunded" => "已退款",
        "used" => "已使用",
        other => other,
    }
}

/// How an order was paid, as the club reads it.
fn pay_method_name(s: &str) -> &str {
    match s {
        "wechat" => "微信支付",
        other => other,
    }
}

fn cancel_name(s: &str) -> &str {
    match s {
        "user" => "用户取消",
        "timeout" => "超时未支付",
        "admin" => "管理员取消",
        "event_cancelled" => "演出取消",
        other => other,
    }
}

/// `2026-12-02 20:31:05` in the club's zone.
fn local_time(tz: Tz, ms: Option<i64>) -> String {
    ms.and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn yuan(fen: i64) -> String {
    let f = Fen(fen);
    serde_json::to_string(&f).unwrap_or_default()
}

/// A cell a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR first)
/// gets a leading `'`, so it shows as text.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Appends `rows` as CSV records (quoting as RFC 4180 needs) to `out`.
pub fn write_rows(out: &mut Vec<u8>, rows: &[ExportRow], tz: Tz) -> std::io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    for r in rows {
        let cells: [String; 17] = [
            r.id.clone(),
            local_time(tz, Some(r.created_at)),
            status_name(&r.status).to_string(),
            r.event_title.clone(),
            r.event_date.clone(),
            r.event_time.clone(),
            r.option_name.clone(),
            yuan(r.unit_price),
            r.quantity.to_string(),
            yuan(r.total_amount),
            r.user_name.clone(),
            r.user_phone.clone(),
            r.pay_method
                .as_deref()
                .map(pay_method_name)
                .unwrap_or_default()
                .to_string(),
            r.transaction_id.clone().unwrap_or_default(),
            local_time(tz, r.paid_at),
            local_time(tz, r.refunded_at),
            r.cancel_reason
                .as_deref()
                .map(cancel_name)
                .unwrap_or_default()
                .to_string(),
        ];
        w.write_record(cells.iter().map(|c| defuse(c).into_owned()))?;
    }
    w.flush()
}

/// The BOM and the header row: the first bytes of every export.
pub fn preamble() -> Vec<u8> {
    let mut out = BOM.to_vec();
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(&mut out);
    // Writing to a Vec cannot fail.
    let _ = w.write_record(HEADER);
    let _ = w.flush();
    drop(w);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> ExportRow {
        ExportRow {
            id: "01J0000000000000000000ORDR".into(),
            created_at: 1_798_732_800_000, // 2027-01-01 00:00 Shanghai
            status: "paid".into(),
            event_title: "专场, \"特别\"\n加场".into(),
            event_date: "2027-01-02".into(),
            event_time: "20:00".into(),
            option_name: "前排".into(),
            unit_price: 8850,
            quantity: 2,
            total_amount: 17700,
            user_name: name.into(),
            user_phone: "13800138000".into(),
            pay_method: Some("wechat".into()),
            transaction_id: None,
            paid_at: None,
            refunded_at: None,
            cancel_reason: None,
        }
    }

    #[test]
    fn quotes_money_time_and_formulas() {
        let mut out = Vec::new();
        write_rows(
            &mut out,
            &[row("=HYPERLINK(\"x\")")],
            chrono_tz::Asia::Shanghai,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"专场, \"\"特别\"\"\n加场\""), "{text}");
        assert!(text.contains(",88.5,2,177,"), "{text}");
        assert!(text.contains("2027-01-01 00:00:00"), "{text}");
        assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{text}");
        assert!(text.contains("已支付"));
        assert!(
            text.contains(",微信支付,") && !text.contains(",wechat,"),
            "{text}"
        );
        assert!(text.ends_with("\r\n"));
        for bad in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(defuse(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(defuse("张三"), "张三");
        assert!(preamble().starts_with(BOM));
    }
}
