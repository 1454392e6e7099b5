//! Config + state -> a running server. The one place that wires things.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cache::Caches;
use crate::config::Config;
use crate::limits::Limits;
use crate::state::{AppInner, AppState, PayProvider};
use crate::store::{Store, StoreOptions, tenants};
use crate::tokens::Tokens;
use crate::wechat::mini::MiniProgram;

/// Opens the store (applying migrations) and the clients: what every command
/// needs. The server also runs [`prepare`] before it serves.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let path = config.database_path();
    let opts = StoreOptions {
        max_batch: config.writer_max_batch,
        wal_coalesce: config.wal_coalesce,
        own_checkpoints: !config.litestream,
        ..StoreOptions::default()
    };
    let store = tokio::task::spawn_blocking(move || Store::open_with(&path, opts))
        .await?
        .with_context(|| format!("无法打开数据库 {}", config.database_path().display()))?;
    let secret = crate::tokens::resolve_secret(&config)?;
    let tokens = Tokens::new(&secret, config.jwt_expires_in);
    let wechat = match &config.wechat {
        Some(creds) => Some(MiniProgram::new(
            crate::wechat::http_client()?,
            &config.wechat_api_base_url,
            creds.clone(),
        )),
        None => {
            tracing::warn!(
                "no WECHAT_APP_ID: dev mode, any login code is accepted (openid = dev_<code>)"
            );
            None
        }
    };
    let limits = Limits::new(&config.rate_limits);
    let pay = PayProvider::from_config(&config)?;
    let qr_key = crate::service::payments::load_qr_key(&store).await?;
    let caches = Caches::new(config.catalog_ttl);
    let mut metrics = crate::metrics::Metrics::new();
    let writer = store.writer_metrics();
    metrics.register(
        "writer_batch_size",
        "Write commands per SQLite transaction",
        writer.batch_size.clone(),
    );
    metrics.register(
        "writer_commit_seconds",
        "Time from BEGIN to COMMIT of one batch (the WAL sync is pipelined)",
        writer.commit_seconds.clone(),
    );
    metrics.register(
        "cache_lookups",
        "Lookups of the answer caches by result (hit, miss)",
        caches.lookups.clone(),
    );
    let forget = caches.clone();
    store.on_change(move |changed| forget.forget(changed));
    let state = AppState::new(AppInner {
        config,
        store,
        caches,
        metrics,
        tokens,
        wechat,
        limits,
        pay,
        qr_key,
        backups: Default::default(),
    });
    Ok(state)
}

/// Before serving: what fell due while the server was down is settled, and an
/// empty database outside production gets the demo club.
async fn prepare(state: &AppState) -> anyhow::Result<()> {
    crate::jobs::run_at_start(state).await?;
    if state.config.demo_on_empty && !state.config.is_production() {
        let empty = state.store.read(tenants::count).await? == 0;
        if empty && let Some(password) = crate::service::demo::load(state).await? {
            crate::service::demo::announce_admin(&password);
        }
    }
    Ok(())
}

async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let jobs = crate::jobs::spawn_all(&state);
    let served = crate::http::serve(listener, state.clone(), shutdown).await;
    for job in jobs {
        job.abort();
    }
    served?;
    // In-flight requests are done; commit whatever they queued, then stop.
    state.store.close().await;
    Ok(())
}

/// A server running in this process: what tests and benchmarks start.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Graceful stop, as on SIGTERM: in-flight requests finish, writes commit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await?
    }
}

/// Starts the app on `config.host:config.port` (port 0 picks a free one).
pub async fn spawn(config: Config) -> anyhow::Result<RunningApp> {
    let listener = TcpListener::bind((config.host, config.port)).await?;
    let addr = listener.local_addr()?;
    let state = build_state(config).await?;
    prepare(&state).await?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, state.clone(), async {
        let _ = rx.await;
    }));
    Ok(RunningApp {
        addr,
        state,
        shutdown: Some(tx),
        task,
    })
}

/// `standup-tickets serve`: runs until SIGTERM or Ctrl-C.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = (config.host, config.port);
    // One server per data dir; a restore waits for it to stop.
    let _lock = crate::service::backups::lock_data_dir(&config)?;
    let state = build_state(config).await?;
    prepare(&state).await?;
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("无法监听 {}:{}", bind.0, bind.1))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        db = %state.config.database_path().display(),
        env = ?state.config.app_env,
        tz = %state.config.timezone,
        "standup-tickets is serving"
    );
    run(listener, state, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
