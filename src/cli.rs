//! The `standup-tickets` command line: serve (default), migrate, demo, tenant,
//! admin, tick. Commands call services, never the store.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::app;
use crate::config::Config;
use crate::error::AppError;
use crate::model::admins::{AdminUpdateInput, NewAdminInput, PasswordInput, TeamActor};
use crate::model::catalog::ActiveStatus;
use crate::model::scope::TenantScope;
use crate::service::admin::admins;
use crate::service::admin::tenants;
use crate::store::Store;
use clap::{Parser, Subcommand};

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
    /// Run one periodic job once on the data directory and exit
    /// (without a name: list the jobs).
    Tick {
        /// The job's name (`expire`, `reconcile`, `sales`, …).
        name: Option<String>,
    },
    /// Write a consistent copy of the database to FILE (safe while the
    /// server runs).
    Backup {
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Replace the database with the backup FILE (the server must be
    /// stopped; the current database is kept beside it).
    Restore {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Print the configuration in effect (secrets masked) and every
    /// problem found; exit code 2 if there is any.
    CheckConfig,
    /// Print docs/CONFIGURATION.md's table of variables, made from their
    /// declarations (`config::OPTIONS`).
    #[command(hide = true)]
    ConfigTable,
    /// Ask the server on this box (`HOST`/`PORT`) for `/healthz`; exit 0 if
    /// it answers 200, 1 otherwise. For Docker's HEALTHCHECK, which has no
    /// curl in the image.
    Healthcheck,
    /// Manage clubs.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage a club's admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin; the password is read as one line from stdin.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "owner", value_parser = ["owner", "staff"])]
        role: String,
        /// Read the password from stdin (required: passwords never go in argv).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an admin's password (one line from stdin).
    Passwd {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Stop an admin from signing in.
    Disable {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        username: String,
    },
    /// Let a disabled admin sign in again.
    Enable {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        username: String,
    },
}

/// The operator on the server speaks for any club it names.
fn operator_scope(tenant: &str) -> TenantScope {
    TenantScope::vouched(tenant)
}

/// The operator, changing `tenant`'s team through the same functions as
/// its owner in the console.
fn operator(tenant: &str) -> TeamActor {
    TeamActor::Operator(operator_scope(tenant))
}

/// Disables or re-enables an admin by username, under the owner's rule
/// (the club keeps an active owner).
async fn set_status(
    store: &Store,
    tenant: &str,
    username: &str,
    status: ActiveStatus,
) -> anyhow::Result<()> {
    let id = admins::id_of(store, &operator_scope(tenant), username)
        .await
        .map_err(refused)?;
    let change = AdminUpdateInput {
        display_name: None,
        role: None,
        status: Some(status.as_str().to_string()),
    };
    admins::update(store, &operator(tenant), &id, change)
        .await
        .map_err(refused)?;
    Ok(())
}

/// A refusal, as the command line says it.
fn refused(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
}

/// One line from stdin, without its line ending.
fn read_password(flag: bool) -> anyhow::Result<String> {
    anyhow::ensure!(flag, "请使用 --password-stdin 并从标准输入提供密码");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
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

/// Parses the arguments and runs the command.
#[tokio::main]
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CheckConfig) => return check_config(),
        Some(Command::ConfigTable) => {
            print!("{}", crate::config::options_table());
            return ExitCode::SUCCESS;
        }
        Some(Command::Healthcheck) => return healthcheck(),
        _ => {}
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let _log_guard = crate::logging::init(&config.log_level, config.log_json);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether the process can create files in `dir` (creating it if needed).
fn writable(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let probe = dir.join(format!(".write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn check_config() -> ExitCode {
    let report = crate::config::check(|k| std::env::var(k).ok());
    let width = report.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    println!("生效的配置（* 表示来自环境变量）：");
    for (var, value, set) in &report.rows {
        println!("{} {var:<width$}  {value}", if *set { "*" } else { " " });
    }
    let mut problems = report.problems;
    if let Some(c) = &report.config {
        let mut dirs = vec![
            ("DATA_DIR", c.data_dir.clone()),
            ("UPLOAD_PATH", c.upload_path.clone()),
        ];
        if let Some(b) = &c.backups {
            dirs.push(("BACKUP_DIR", b.dir.clone()));
        }
        for (var, dir) in dirs {
            if let Err(e) = writable(&dir) {
                problems.push(format!("配置错误 {var}: 无法写入 {}: {e}", dir.display()));
            }
        }
        if c.is_production() && !c.trust_proxy {
            println!("\n提示：生产环境通常在 Caddy / nginx 之后运行，请确认是否需要 TRUST_PROXY=1");
        }
    }
    if problems.is_empty() {
        println!("\n配置没有问题");
        ExitCode::SUCCESS
    } else {
        println!("\n发现 {} 个问题：", problems.len());
        for p in &problems {
            println!("  - {p}");
        }
        ExitCode::from(2)
    }
}

/// One plain HTTP/1.1 request to the local server's `/healthz`: the
/// listener on `HOST` (the loopback when it listens on every address).
fn healthcheck() -> ExitCode {
    use std::io::{Read, Write};
    use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
    let var = |k: &str, default: &str| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    let port: u16 = match var("PORT", "3000").trim().parse() {
        Ok(p) => p,
        Err(_) => {
            eprintln!("PORT 不是端口号");
            return ExitCode::FAILURE;
        }
    };
    let host: IpAddr = var("HOST", "0.0.0.0")
        .trim()
        .parse()
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let host = if host.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host
    };
    let timeout = std::time::Duration::from_secs(5);
    let status = (|| -> std::io::Result<String> {
        let mut conn = TcpStream::connect_timeout(&SocketAddr::new(host, port), timeout)?;
        conn.set_read_timeout(Some(timeout))?;
        conn.set_write_timeout(Some(timeout))?;
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 64];
        let n = conn.read(&mut head)?;
        Ok(String::from_utf8_lossy(&head[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_string())
    })();
    match status {
        Ok(line) if line.split_whitespace().nth(1) == Some("200") => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Ok(line) => {
            eprintln!("服务不健康: {line}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("无法连接 {host}:{port}: {e}");
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
            match crate::service::demo::load(&state).await? {
                Some(password) => {
                    println!("已加载演示俱乐部 demo");
                    crate::service::demo::announce_admin(&password);
                }
                None => println!("演示俱乐部 demo 已存在，未做修改"),
            }
            state.store.close().await;
            Ok(())
        }
        // Answered in `main`, before the configuration must be valid.
        Command::CheckConfig | Command::ConfigTable | Command::Healthcheck => Ok(()),
        Command::Backup { to } => {
            let r = crate::service::backups::backup_to(&config, &to).await?;
            println!(
                "已备份到 {}（{:.1} MB，用时 {:.1} 秒）",
                r.path.display(),
                r.bytes as f64 / 1_048_576.0,
                r.elapsed.as_secs_f64()
            );
            Ok(())
        }
        Command::Restore { from } => {
            let r = crate::service::backups::restore(&config, &from).await?;
            println!(
                "已从 {} 恢复：{} 个订单，{} 张票，数据库版本 {}",
                from.display(),
                r.facts.orders,
                r.facts.tickets,
                r.facts.schema_version
            );
            if let Some(kept) = r.kept {
                println!("原数据库已保留为 {}", kept.display());
            }
            Ok(())
        }
        Command::Tick { name } => {
            let Some(name) = name else {
                for job in crate::jobs::JOBS {
                    println!(
                        "{:<16} 每 {:>3}s  {}",
                        job.name,
                        job.every.as_secs(),
                        job.about
                    );
                }
                return Ok(());
            };
            let job = crate::jobs::find(&name).ok_or_else(|| {
                anyhow::anyhow!("没有名为 {name} 的任务 (standup-tickets tick 列出全部)")
            })?;
            let state = app::build_state(Config {
                demo_on_empty: false,
                ..config
            })
            .await?;
            let result = job.run_once(&state).await;
            state.store.close().await;
            println!("任务 {} 完成: {} 项", job.name, result?);
            Ok(())
        }
        Command::Admin { command } => {
            let store = open_store(&config).await?;
            let result: anyhow::Result<()> = async {
                match command {
                    AdminCommand::Create {
                        tenant,
                        username,
                        role,
                        password_stdin,
                    } => {
                        let password = read_password(password_stdin)?;
                        let input = NewAdminInput {
                            username,
                            display_name: None,
                            role,
                            password,
                        };
                        let admin = admins::create(&store, &operator(&tenant), input)
                            .await
                            .map_err(refused)?;
                        println!(
                            "已创建管理员 {} (俱乐部 {}, 角色 {})",
                            admin.username,
                            admin.tenant_id,
                            admin.role.as_str()
                        );
                    }
                    AdminCommand::Passwd {
                        tenant,
                        username,
                        password_stdin,
                    } => {
                        let password = read_password(password_stdin)?;
                        let id = admins::id_of(&store, &operator_scope(&tenant), &username)
                            .await
                            .map_err(refused)?;
                        admins::reset_password(
                            &store,
                            &operator(&tenant),
                            &id,
                            PasswordInput { password },
                        )
                        .await
                        .map_err(refused)?;
                        println!("已更新密码");
                    }
                    AdminCommand::Disable { tenant, username } => {
                        set_status(&store, &tenant, &username, ActiveStatus::Disabled).await?;
                        println!("已停用");
                    }
                    AdminCommand::Enable { tenant, username } => {
                        set_status(&store, &tenant, &username, ActiveStatus::Active).await?;
                        println!("已启用");
                    }
                }
                Ok(())
            }
            .await;
            store.close().await;
            result
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
                    tenants::create(&store, t)
                        .await
                        .map(|_| println!("已创建俱乐部 {id}"))
                }
                TenantCommand::Disable { id } => {
                    tenants::set_status(&store, &id, ActiveStatus::Disabled)
                        .await
                        .map(|_| println!("已停用"))
                }
                TenantCommand::Enable { id } => {
                    tenants::set_status(&store, &id, ActiveStatus::Active)
                        .await
                        .map(|_| println!("已启用"))
                }
            };
            store.close().await;
            result.map_err(refused)
        }
    }
}
