//! The demo club `demo`: what `cargo run --release` serves on a fresh machine, so
//! a mini-program developer has real-looking data at once. Dates are relative to
//! today in the club's zone; posters are small SVGs written to the upload folder.

use std::path::Path;

use chrono::{Duration, NaiveTime};

use crate::model::Fen;
use crate::model::catalog::{ActiveStatus, Contact, EventStatus, Features, Theme};
use crate::model::content::{AdminBanner, AdminMerch, BannerDraft, MerchDraft};
use crate::model::events::{NewEvent, NewPriceOption};
use crate::model::scope::TenantScope;
use crate::model::time::{now_ms, today_in};
use crate::state::AppState;
use crate::store::content::insert;
use crate::store::events::insert_event;
use crate::store::tenants::{self, NewTenant};

pub(crate) const DEMO_TENANT: &str = "demo";

struct Show {
    title: &'static str,
    days_ahead: i64,
    time: (u32, u32),
    performers: &'static [&'static str],
    tags: &'static [&'static str],
    recommended: bool,
    /// Sale opens this many hours from now (an 即将开售 show); None = on sale now.
    sale_opens_in_hours: Option<i64>,
    /// (name, price fen, original price fen, count)
    options: &'static [(&'static str, i64, Option<i64>, i64)],
    color: &'static str,
}

const SHOWS: &[Show] = &[
    Show {
        title: "周五夜·新人开放麦",
        days_ahead: 2,
        time: (20, 0),
        performers: &["阿乐", "小周", "大鹏鹏"],
        tags: &["开放麦", "新人"],
        recommended: false,
        sale_opens_in_hours: None,
        options: &[("普通座", 4900, None, 80), ("前排座", 6800, Some(8800), 20)],
        color: "#FF5A36",
    },
    Show {
        title: "老纪 2026 巡演·上海站",
        days_ahead: 10,
        time: (19, 30),
        performers: &["老纪"],
        tags: &["专场", "巡演"],
        recommended: true,
        sale_opens_in_hours: None,
        options: &[
            ("看台区", 8850, None, 150),
            ("中区", 12800, Some(15800), 100),
            ("VIP 前排", 18800, Some(22800), 50),
        ],
        color: "#722ED1",
    },
    Show {
        title: "即兴喜剧之夜",
        days_ahead: 14,
        time: (20, 0),
        performers: &["即兴社", "毛毛", "阿坤"],
        tags: &["即兴", "互动"],
        recommended: false,
        sale_opens_in_hours: None,
        options: &[("普通座", 6800, None, 90), ("前排座", 9900, None, 30)],
        color: "#13C2C2",
    },
    Show {
        title: "周末加场·爆笑拼盘",
        days_ahead: 21,
        time: (15, 0),
        performers: &["阿乐", "毛毛", "小周", "老纪"],
        tags: &["拼盘", "周末"],
        recommended: false,
        sale_opens_in_hours: None,
        options: &[("普通座", 7800, None, 8), ("前排座", 10800, None, 2)],
        color: "#FA8C16",
    },
    Show {
        title: "王小明 个人专场《不好笑退票》",
        days_ahead: 35,
        time: (19, 30),
        performers: &["王小明"],
        tags: &["专场", "即将开售"],
        recommended: true,
        sale_opens_in_hours: Some(72),
        options: &[
            ("普通座", 12800, None, 200),
            ("VIP 座", 19800, None, 60),
            ("签名套票", 29900, None, 20),
        ],
        color: "#EB2F96",
    },
    Show {
        title: "女性脱口秀专场",
        days_ahead: 45,
        time: (20, 0),
        performers: &["小鹿", "Echo", "阿May"],
        tags: &["主题专场"],
        recommended: false,
        sale_opens_in_hours: None,
        options: &[("普通座", 8800, None, 120), ("前排座", 12800, None, 30)],
        color: "#2F54EB",
    },
    Show {
        title: "跨年喜剧夜",
        days_ahead: 55,
        time: (21, 30),
        performers: &["老纪", "王小明", "小鹿", "即兴社"],
        tags: &["跨年", "拼盘"],
        recommended: true,
        sale_opens_in_hours: None,
        options: &[("普通座", 16800, None, 200), ("前排座", 22800, None, 50)],
        color: "#F5222D",
    },
];

/// (title, colour, index into SHOWS of the advertised show)
const BANNERS: &[(&str, &str, usize)] = &[
    ("老纪巡演上海站 火热售票中", "#722ED1", 1),
    ("王小明专场 即将开售", "#EB2F96", 4),
];

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn svg(width: u32, height: u32, color: &str, title: &str, subtitle: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\
<rect width=\"100%\" height=\"100%\" fill=\"{color}\"/>\
<text x=\"50%\" y=\"45%\" font-size=\"{fs}\" fill=\"#fff\" text-anchor=\"middle\" font-family=\"sans-serif\">{t}</text>\
<text x=\"50%\" y=\"60%\" font-size=\"{fs2}\" fill=\"#fff\" opacity=\"0.8\" text-anchor=\"middle\" font-family=\"sans-serif\">{s}</text></svg>",
        fs = width / 14,
        fs2 = width / 22,
        t = escape_xml(title),
        s = escape_xml(subtitle),
    )
}

fn write_asset(dir: &Path, name: &str, body: &str) {
    // Images are decoration: a read-only upload folder must not stop the demo.
    if let Err(e) = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(dir.join(name), body))
    {
        tracing::warn!(error = %e, file = name, "could not write demo image");
    }
}

/// Prints the demo owner's one-time password where the person who started the
/// server will see it (stdout, not only the log).
pub(crate) fn announce_admin(password: &str) {
    println!();
    println!("  演示俱乐部管理员（仅显示这一次，请妥善保存）：");
    println!("    俱乐部 tenantId: {DEMO_TENANT}");
    println!("    用户名: {DEMO_ADMIN}");
    println!("    密码:   {password}");
    println!(
        "  修改密码: standup-tickets admin passwd --tenant {DEMO_TENANT} --username {DEMO_ADMIN} --password-stdin"
    );
    println!();
}

pub(crate) const DEMO_ADMIN: &str = "admin";

/// Loads the demo club unless a tenant `demo` exists, with an owner `admin`
/// whose random password is returned (to be shown once). `None` if the club
/// was already there.
pub async fn load(state: &AppState) -> anyhow::Result<Option<String>> {
    let tz = state.config.timezone;
    let today = today_in(tz);
    let now = now_ms();
    let asset_dir = state.config.upload_path.join("demo");
    let url = |name: &str| format!("{}/demo/{name}", state.config.static_url);

    let mut events = Vec::new();
    for (i, show) in SHOWS.iter().enumerate() {
        let date = today + Duration::days(show.days_ahead);
        let poster = format!("poster-{}.svg", i + 1);
        write_asset(
            &asset_dir,
            &poster,
            &svg(
                600,
                800,
                show.color,
                show.title,
                &show.performers.join(" · "),
            ),
        );
        events.push(NewEvent {
            title: show.title.into(),
            description: Some(format!(
                "{}。演出时长约 90 分钟，请提前 20 分钟入场。本场为演示数据。",
                show.title
            )),
            poster: Some(url(&poster)),
            city: "上海".into(),
            venue: "笑点研究所·静安小剧场".into(),
            address: "上海市静安区示例路 100 号 3 楼".into(),
            event_date: date,
            event_time: NaiveTime::from_hms_opt(show.time.0, show.time.1, 0)
                .unwrap_or(NaiveTime::MIN),
            duration: 90,
            performers: show.performers.iter().map(|s| s.to_string()).collect(),
            tags: show.tags.iter().map(|s| s.to_string()).collect(),
            status: if show.sale_opens_in_hours.is_some() {
                EventStatus::Upcoming
            } else {
                EventStatus::OnSale
            },
            sale_start_at: Some(match show.sale_opens_in_hours {
                Some(h) => now + h * 3_600_000,
                None => now - 7 * 86_400_000,
            }),
            sale_end_at: None,
            is_recommended: show.recommended,
            max_per_order: 6,
            max_per_user: 10,
            options: show
                .options
                .iter()
                .enumerate()
                .map(|(n, (name, price, orig, count))| NewPriceOption {
                    id: None,
                    name: (*name).into(),
                    price: Fen(*price),
                    original_price: orig.map(Fen),
                    description: None,
                    total_count: *count,
                    sort_order: n as i64,
                    status: ActiveStatus::Active,
                })
                .collect(),
        });
    }
    for (i, (title, color, _)) in BANNERS.iter().enumerate() {
        write_asset(
            &asset_dir,
            &format!("banner-{}.svg", i + 1),
            &svg(750, 300, color, title, "笑点研究所"),
        );
    }
    let merch = [
        ("笑点研究所 T 恤", 12800, Some(15800), "#222222"),
        ("帆布袋", 4900, None, "#595959"),
        ("表情包贴纸套装", 900, None, "#FAAD14"),
    ];
    for (i, (name, _, _, color)) in merch.iter().enumerate() {
        write_asset(
            &asset_dir,
            &format!("merch-{}.svg", i + 1),
            &svg(400, 400, color, name, ""),
        );
    }
    let banner_urls = [url("banner-1.svg"), url("banner-2.svg")];
    let merch_urls: Vec<String> = (1..=merch.len())
        .map(|i| url(&format!("merch-{i}.svg")))
        .collect();

    // Hashed before the write so the club and its owner appear together.
    let password = crate::ids::random_token(16);
    let hash = {
        let p = password.clone();
        tokio::task::spawn_blocking(move || crate::tokens::hash_password(&p)).await??
    };
    let loaded = state
        .store
        .write(move |c| {
            if tenants::exists(c, DEMO_TENANT)? {
                return Ok(false);
            }
            tenants::insert(
                c,
                &NewTenant {
                    id: DEMO_TENANT.into(),
                    name: "笑点研究所（演示俱乐部）".into(),
                    logo: None,
                    theme: Some(Theme {
                        primary: "#FF5A36".into(),
                        accent: "#FFC53D".into(),
                        bg: "#141414".into(),
                        text: "#FFFFFF".into(),
                        muted: "#8C8C8C".into(),
                    }),
                    contact: Some(Contact {
                        phone: Some("021-00000000".into()),
                        address: Some("上海市静安区示例路 100 号 3 楼".into()),
                        email: Some("hello@example.com".into()),
                    }),
                    features: Some(Features {
                        enable_calendar: true,
                        enable_membership: false,
                        enable_coupon: false,
                    }),
                },
            )?;
            let scope = TenantScope::vouched(DEMO_TENANT);
            let mut ids = Vec::new();
            for e in &events {
                ids.push(insert_event(c, &scope, tz, e)?.id);
            }
            for (i, (title, _, event_idx)) in BANNERS.iter().enumerate() {
                insert::<AdminBanner>(
                    c,
                    &scope,
                    &BannerDraft {
                        title: (*title).into(),
                        image: banner_urls[i].clone(),
                        link: Some(format!("/pages/event/detail?id={}", ids[*event_idx])),
                        event_id: Some(ids[*event_idx].clone()),
                        sort_order: i as i64,
                        starts_at: None,
                        ends_at: None,
                        status: ActiveStatus::Active,
                    },
                )?;
            }
            for (i, (name, price, orig, _)) in merch.iter().enumerate() {
                insert::<AdminMerch>(
                    c,
                    &scope,
                    &MerchDraft {
                        name: (*name).into(),
                        description: Some("演出现场及小程序商城有售".into()),
                        image: Some(merch_urls[i].clone()),
                        price: Fen(*price),
                        original_price: orig.map(Fen),
                        link: None,
                        sort_order: i as i64,
                        status: ActiveStatus::Active,
                    },
                )?;
            }
            crate::store::admins::create(
                c,
                &scope,
                DEMO_ADMIN,
                Some("店主"),
                crate::model::admins::AdminRole::Owner,
                &hash,
            )?;
            Ok(true)
        })
        .await?;
    if !loaded {
        return Ok(None);
    }
    tracing::info!(
        tenant = DEMO_TENANT,
        shows = SHOWS.len(),
        admin = DEMO_ADMIN,
        "loaded the demo club"
    );
    Ok(Some(password))
}
