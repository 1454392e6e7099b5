//! The real `standup-tickets` binary on a data dir of its own, as a club
//! runs it: its commands (`tenant create`, `backup`, `restore`, …) and the
//! server on a free port, spoken to over HTTP. Dev mode (no WeChat).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_standup-tickets");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A data dir and the environment every command on it gets.
pub struct Binary {
    dir: PathBuf,
    env: Vec<(String, String)>,
    _tmp: Option<tempfile::TempDir>,
}

impl Binary {
    pub fn new() -> Binary {
        let tmp = tempfile::tempdir().unwrap();
        let mut b = Binary::at(tmp.path());
        b._tmp = Some(tmp);
        b
    }

    /// On an existing data dir (kept by the caller).
    pub fn at(dir: &Path) -> Binary {
        Binary {
            dir: dir.to_path_buf(),
            env: vec![
                ("APP_ENV".into(), "development".into()),
                ("DEMO_DATA".into(), "off".into()),
                ("LOG_LEVEL".into(), "warn".into()),
                ("RATE_LIMITS".into(), "off".into()),
            ],
            _tmp: None,
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Binary {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("DATA_DIR", &self.dir)
            .env_remove("WECHAT_APP_ID")
            .env_remove("WECHAT_APP_SECRET")
            .env_remove("WECHAT_MCH_ID")
            .env_remove("BACKUP_DIR");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// A command, with `stdin` as its input; its output, whatever the exit.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            let mut input = input;
            input.write_all(s.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// A command that must succeed; its standard output.
    pub fn run_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A club with an owner `boss` whose password is `password`.
    pub fn club(&self, id: &str, name: &str, password: &str) {
        self.run_ok(&["tenant", "create", "--id", id, "--name", name], None);
        self.run_ok(
            &[
                "admin",
                "create",
                "--tenant",
                id,
                "--username",
                "boss",
                "--password-stdin",
            ],
            Some(&format!("{password}\n")),
        );
    }

    /// The server, once `/healthz` answers.
    pub async fn serve(&self) -> Server {
        self.serve_with(Stdio::null()).await
    }

    /// As [`Binary::serve`], its log written to `stdout`.
    pub async fn serve_with(&self, stdout: Stdio) -> Server {
        standup_tickets::wechat::install_crypto_provider();
        let port = free_port();
        let child = self
            .command()
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let t0 = Instant::now();
        loop {
            if let Ok(r) = server.http.get(server.url("/healthz")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "the server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }
}

/// A serving `standup-tickets` process; killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Status and JSON body of a call.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A call that must succeed; the envelope's `data`.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Value {
        let (status, json) = self.send(method, path, token, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {json}");
        json["data"].clone()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Value {
        self.call(reqwest::Method::GET, path, token, Value::Null)
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, token, body).await
    }

    /// The owner `boss`'s token.
    pub async fn owner(&self, club: &str, password: &str) -> String {
        self.post(
            "/api/admin/auth/login",
            None,
            json!({"tenantId": club, "username": "boss", "password": password}),
        )
        .await["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A buyer's token (dev-mode WeChat login with code `code`).
    pub async fn buyer(&self, club: &str, code: &str) -> String {
        self.post(
            "/api/auth/wechat/login",
            None,
            json!({"code": code, "tenantId": club}),
        )
        .await["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A buyer pays for `qty` seats (dev-mode payment); the paid order.
    pub async fn buy(
        &self,
        club: &str,
        name: &str,
        phone: &str,
        event: &str,
        option: &str,
        qty: i64,
    ) -> Value {
        let token = self.buyer(club, &format!("dev-{phone}")).await;
        let order = self
            .post(
                "/api/orders",
                Some(&token),
                json!({"eventId": event, "priceOptionId": option, "quantity": qty,
                       "userInfo": {"name": name, "phone": phone}}),
            )
            .await;
        let id = order["id"].as_str().unwrap();
        self.post(&format!("/api/dev/payments/{id}/confirm"), None, json!({}))
            .await
    }

    /// Asks the server to stop, as systemd and Docker do (SIGTERM).
    pub fn signal_term(&self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
    }

    /// Waits for the process to exit.
    pub fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    /// SIGTERM, then the exit.
    pub fn terminate(self) -> std::process::ExitStatus {
        self.signal_term();
        self.wait()
    }
}

impl Server {
    /// A published show with `seats` seats at ¥0.50; (show, option).
    pub async fn big_show(&self, owner: &str, seats: i64) -> (String, String) {
        let mut body = crate::common::admin::show_body(3);
        body["priceOptions"] = json!([{"name": "普通", "price": 50, "totalCount": seats}]);
        let show = self.post("/api/admin/events", Some(owner), body).await;
        (
            show["id"].as_str().unwrap().to_string(),
            show["priceOptions"][0]["id"].as_str().unwrap().to_string(),
        )
    }
}

/// Buyers paying one seat each on `workers` connections until stopped; the
/// ids of the orders the server acknowledged as paid, in order.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    acked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(
        s: &std::sync::Arc<Server>,
        club: &str,
        event: &str,
        option: &str,
        workers: usize,
    ) -> Load {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let workers = (0..workers)
            .map(|w| {
                let (s, stop, acked) = (s.clone(), stop.clone(), acked.clone());
                let (club, event, option) =
                    (club.to_string(), event.to_string(), option.to_string());
                tokio::spawn(async move {
                    let mut i = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let phone = format!("139{w:02}{i:06}");
                        let o = s.buy(&club, "观众", &phone, &event, &option, 1).await;
                        assert_eq!(o["status"], "paid");
                        acked
                            .lock()
                            .unwrap()
                            .push(o["id"].as_str().unwrap().to_string());
                        i += 1;
                    }
                })
            })
            .collect();
        Load {
            stop,
            acked,
            workers,
        }
    }

    /// The orders acknowledged so far.
    pub fn acked(&self) -> Vec<String> {
        self.acked.lock().unwrap().clone()
    }

    /// Stops the buyers once their calls in flight are answered; every
    /// acknowledged order.
    pub async fn stop(self) -> Vec<String> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in self.workers {
            w.await.unwrap();
        }
        self.acked.lock().unwrap().clone()
    }
}
