//! The registry of periodic jobs. Each runs as its own task on its own
//! interval, so a job that waits on WeChat never delays one that releases
//! seats or opens a sale. Every job is idempotent and writes through the
//! writer, so it is safe beside any number of buyers and can also be run once
//! from the command line (`standup-tickets tick NAME`). A job's function lives
//! with its service; this file only names and schedules them.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::service::admin::admins;
use crate::service::admin::checkin;
use crate::service::{backups, catalog, orders, payments, users};
use crate::state::AppState;

type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<usize>> + Send>>;

/// One periodic job: what it is called, how often it runs, what it does.
/// `run` returns how many things it changed (for logs and the CLI).
pub struct Job {
    pub name: &'static str,
    /// One line for `standup-tickets tick` (Chinese, as the CLI speaks).
    pub about: &'static str,
    pub every: Duration,
    /// Run once before the server accepts requests, so what fell due while it
    /// was down is settled first.
    pub at_start: bool,
    run: fn(AppState) -> JobFuture,
}

impl Job {
    pub async fn run_once(&self, state: &AppState) -> anyhow::Result<usize> {
        (self.run)(state.clone()).await
    }
}

const SECOND: Duration = Duration::from_secs(1);

/// Every periodic job, in the order they run at start.
pub static JOBS: &[Job] = &[
    Job {
        name: "expire",
        about: "释放超时未支付订单的座位（未发起微信支付的）",
        every: SECOND,
        at_start: true,
        run: |s| Box::pin(async move { orders::expire_holds(&s).await }),
    },
    Job {
        name: "reconcile",
        about: "向微信支付核对已超时的订单：已付款的入账，其余关单并取消",
        every: SECOND,
        at_start: false,
        run: |s| Box::pin(async move { payments::reconcile_expired(&s).await }),
    },
    Job {
        name: "sales",
        about: "到点开售",
        every: SECOND,
        at_start: true,
        run: |s| Box::pin(async move { catalog::open_due_sales(&s).await }),
    },
    Job {
        name: "refunds",
        about: "发送到期的退款（取消演出的批量退款、失败后的重试），并查询尚无结果的退款",
        every: SECOND,
        at_start: false,
        run: |s| Box::pin(async move { payments::retry_refunds(&s).await }),
    },
    Job {
        name: "tickets",
        about: "演出结束 TICKET_EXPIRE_AFTER 之后，未使用的票标记为过期",
        every: Duration::from_secs(60),
        at_start: true,
        run: |s| Box::pin(async move { checkin::expire_tickets(&s).await }),
    },
    Job {
        name: "disabled-users",
        about: "重新读取已停用的用户",
        every: users::DISABLED_USERS_REFRESH,
        at_start: true,
        run: |s| Box::pin(async move { users::refresh_disabled_users(&s).await }),
    },
    Job {
        name: "backup",
        about: "到时间就备份数据库到 BACKUP_DIR，并删除超出 BACKUP_KEEP 的旧备份",
        every: Duration::from_secs(60),
        at_start: false,
        run: |s| Box::pin(async move { backups::scheduled(&s).await }),
    },
    Job {
        name: "logins",
        about: "清理一天前的登录失败记录和 90 天未用的登录地址",
        every: Duration::from_secs(3600),
        at_start: false,
        run: |s| Box::pin(async move { admins::prune_logins(&s).await }),
    },
    Job {
        name: "limits",
        about: "清理已恢复的限流记录",
        every: Duration::from_secs(60),
        at_start: false,
        run: |s| {
            Box::pin(async move {
                s.limits.sweep();
                Ok(0)
            })
        },
    },
];

pub fn find(name: &str) -> Option<&'static Job> {
    JOBS.iter().find(|j| j.name == name)
}

/// Runs the jobs marked `at_start` once, in order; a failure stops the start.
pub async fn run_at_start(state: &AppState) -> anyhow::Result<()> {
    for job in JOBS.iter().filter(|j| j.at_start) {
        job.run_once(state)
            .await
            .map_err(|e| e.context(format!("job {}", job.name)))?;
    }
    Ok(())
}

/// Starts every job on its own task; dropping or aborting the handles stops them.
pub fn spawn_all(state: &AppState) -> Vec<JoinHandle<()>> {
    JOBS.iter()
        .map(|job| tokio::spawn(schedule(job, state.clone())))
        .collect()
}

async fn schedule(job: &'static Job, state: AppState) {
    let mut tick = tokio::time::interval(job.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = job.run_once(&state).await {
            tracing::warn!(job = job.name, error = %format!("{e:#}"), "job failed");
        }
    }
}
