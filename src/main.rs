//! The `standup-tickets` command: serve (default), migrate, demo, tenant.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use standup_tickets::app;
use standup_tickets::config::Config;
use standup_tickets::domain::catalog::ActiveStatus;
use standup_tickets::store::{Store, tenants};

#[derive(Parser)]
#[command(
    name = "standup-tickets",
    version,
    about = "脱口秀俱乐部票务系统 (单文件部署)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and console (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo club `demo` (does nothing if it exists).
    Demo,
    /// Manage clubs.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a club.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
    },
    /// Hide a club from the public API.
    Disable {
        #[arg(long)]
        id: String,
    },
    /// Make a disabled club public again.
    Enable {
        #[arg(long)]
        id: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let _log_guard = standup_tickets::logging::init(&config.log_level);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let path = config.database_path();
    Ok(tokio::task::spawn_blocking(move || Store::open(&path)).await??)
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => app::serve(config).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            let applied = &store.info().applied_migrations;
            if applied.is_empty() {
                println!("数据库已是最新，无需迁移");
            } else {
                println!("已应用迁移: {}", applied.join(", "));
            }
            store.close().await;
            Ok(())
        }
        Command::Demo => {
            let state = app::build_state(Config {
                demo_on_empty: false,
                ..config
            })
            .await?;
            let loaded = standup_tickets::demo::load(&state).await?;
            println!(
                "{}",
                if loaded {
                    "已加载演示俱乐部 demo"
                } else {
                    "演示俱乐部 demo 已存在，未做修改"
                }
            );
            state.store.close().await;
            Ok(())
        }
        Command::Tenant { command } => {
            let store = open_store(&config).await?;
            let result = match command {
                TenantCommand::Create { id, name } => {
                    let t = tenants::NewTenant {
                        id: id.clone(),
                        name,
                        ..Default::default()
                    };
                    store.write(move |c| tenants::insert(c, &t)).await.map(|_| {
                        println!("已创建俱乐部 {id}");
                    })
                }
                TenantCommand::Disable { id } => store
                    .write(move |c| tenants::set_status(c, &id, ActiveStatus::Disabled))
                    .await
                    .map(|_| println!("已停用")),
                TenantCommand::Enable { id } => store
                    .write(move |c| tenants::set_status(c, &id, ActiveStatus::Active))
                    .await
                    .map(|_| println!("已启用")),
            };
            store.close().await;
            Ok(result?)
        }
    }
}
