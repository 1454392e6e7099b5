//! The web console in a real headless Chromium, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`). Without them the test says
//! how to install them and passes, unless `REQUIRE_BROWSER=1` (as `.ci/run`
//! sets), which makes their absence a failure. Screenshots go to
//! `target/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use standup_tickets::model::admins::AdminRole;

use crate::common::admin::admin_token;
use crate::common::binary::free_port;
use crate::common::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver's log endpoint: the page's console messages, failed
/// requests included.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// chromedriver's network emulation: offline, or back to normal.
#[derive(Debug)]
pub struct Network {
    pub offline: bool,
}

impl WebDriverCompatibleCommand for Network {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/chromium/network_conditions",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        if self.offline {
            let body = json!({"network_conditions": {
                "offline": true, "latency": 0, "download_throughput": 0, "upload_throughput": 0,
            }});
            (http::Method::POST, Some(body.to_string()))
        } else {
            (http::Method::DELETE, None)
        }
    }
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    shots: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A headless Chromium, or `None` (skipped, with how to install it).
pub async fn browser() -> Option<Browser> {
    let required = std::env::var("REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    if !(std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists()) {
        let how =
            "the console's browser test needs Chromium: apt-get install chromium chromium-driver";
        assert!(!required, "REQUIRE_BROWSER=1 but {how}");
        eprintln!("skipped: {how}");
        return None;
    }
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1440,900", "--lang=zh-CN"],
        },
        "goog:loggingPrefs": {"browser": "ALL"},
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    standup_tickets::wechat::install_crypto_provider();
    let client = ClientBuilder::rustls()
        .expect("tls roots")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a browser session");
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    Some(Browser {
        client,
        driver,
        shots,
    })
}

impl Browser {
    /// Waits until the script `expr` is truthy; its value.
    pub async fn until(&self, what: &str, expr: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let v = self
                .client
                .execute(&format!("return {expr}"), vec![])
                .await
                .unwrap();
            if !(v.is_null() || v == false || v == "" || v == 0) {
                return v;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "{what}: {expr} → {v}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Console errors and failed requests since the last call.
    pub async fn errors(&self) -> Vec<String> {
        let log = self.client.issue_cmd(BrowserLog).await.unwrap_or_default();
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// No console error and no failed request, but for the API refusals
    /// the test asked for (`expected`: e.g. "/api/admin/checkin - … 409").
    pub async fn assert_clean(&self, what: &str, expected: &[&str]) {
        let errors: Vec<String> = self
            .errors()
            .await
            .into_iter()
            .filter(|e| !expected.iter().any(|x| e.contains(x)))
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:#?}");
    }

    pub async fn size(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
    }

    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Types `code` and Enter into the focused field, as a handheld scanner does.
    pub async fn scan(&self, code: &str) {
        self.client
            .active_element()
            .await
            .unwrap()
            .send_keys(&format!("{code}\u{E007}"))
            .await
            .unwrap();
    }

    /// Scans `code` at the door; the answer's title, and whether it is green.
    pub async fn answer(&self, code: &str) -> (bool, String) {
        self.client
            .execute(
                "document.getElementById('door-result').replaceChildren()",
                vec![],
            )
            .await
            .unwrap();
        self.scan(code).await;
        let title = self.text("#door-result .door-title").await;
        let ok = self
            .client
            .execute(
                "return !!document.querySelector('#door-result .door-ok')",
                vec![],
            )
            .await
            .unwrap();
        (ok == true, title)
    }

    /// Waits for `css` and returns its text.
    pub async fn text(&self, css: &str) -> String {
        let el = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        el.text().await.unwrap()
    }

    /// Waits for `css`.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }
}

#[tokio::test]
async fn the_console_signs_in_and_shows_the_overview() {
    let Some(b) = browser().await else {
        return;
    };
    let t = TestApp::start().await;
    t.seed_tenant("dt").await;
    admin_token(&t, "dt", "boss", AdminRole::Owner).await;

    b.client.goto(&t.url("/admin/")).await.unwrap();
    assert_eq!(b.text("main.login h1").await, "俱乐部管理后台");
    for (w, h) in [(375, 740), (1440, 900)] {
        b.size(w, h).await;
        b.shot(&format!("login-{w}")).await;
    }
    b.assert_clean("login page", &[]).await;

    // A wrong password: the server's message, and still on the login page.
    b.fill("#login-club", "dt").await;
    b.fill("#login-user", "boss").await;
    b.fill("#login-pass", "wrong-password").await;
    b.click("#login-submit").await;
    assert_eq!(b.text("#login-status .notice").await, "用户名或密码错误");
    // The right one: the overview.
    b.fill("#login-pass", "admin-pass-123").await;
    b.click("#login-submit").await;
    assert_eq!(b.text("main.page h1").await, "概览");
    assert!(b.text(".cards .card .label").await.contains("收入"));
    let url = b.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/admin/");
    for (w, h) in [(375, 740), (1440, 900)] {
        b.size(w, h).await;
        b.shot(&format!("overview-{w}")).await;
    }
    b.assert_clean("overview", &["/api/admin/auth/login - Failed to load resource: the server responded with a status of 401"])
        .await;

    // The door: tonight's show, a paid ticket typed in as a handheld would.
    let owner = crate::common::admin::owner_token(&t, "dt").await;
    let show =
        crate::common::admin::create_show(&t, &owner, crate::common::admin::show_body(3)).await;
    let (event, option) = (
        show["id"].as_str().unwrap().to_string(),
        show["priceOptions"][0]["id"].as_str().unwrap().to_string(),
    );
    crate::common::admin::date_today(&t, &event).await;
    let (_, codes) =
        crate::common::admin::paid_order(&t, "door-buyer", "dt", &event, &option, 2).await;
    let code = &codes[0];
    b.client.goto(&t.url("/admin/door")).await.unwrap();
    b.until(
        "the count",
        "document.getElementById('door-count')?.textContent.includes('已售')",
    )
    .await;
    let focused = b
        .client
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, "door-code", "the code field has the focus");
    b.scan(code).await;
    assert_eq!(
        b.text("#door-result .door-ok .door-title").await,
        "检票成功"
    );
    b.size(375, 740).await;
    b.shot("door-ok-375").await;
    // The same code again: told who let it in, in red.
    b.scan(code).await;
    assert!(
        b.text("#door-result .door-bad .door-title")
            .await
            .starts_with("已检票")
    );
    b.shot("door-again-375").await;
    b.size(1440, 900).await;
    b.click("#door-undo").await;
    assert_eq!(b.text("#door-result .door-ok .door-title").await, "已撤销");
    b.assert_clean("door", &["/api/admin/checkin - Failed to load resource: the server responded with a status of 409"])
        .await;

    // 员工: a short password is refused next to its field; then added.
    b.client.goto(&t.url("/admin/team")).await.unwrap();
    assert_eq!(b.text("main.page h1").await, "员工");
    b.text("#team-form").await;
    b.fill("#team-username", "door.zhao").await;
    b.fill("#team-display", "<img src=x onerror=alert(1)>")
        .await;
    b.fill("#team-password", "short").await;
    b.click("#team-form button[type=submit]").await;
    b.until(
        "the short password refused by its field",
        "document.getElementById('team-password-error').textContent.includes('10')",
    )
    .await;
    b.fill("#team-password", "long-enough-pass-1").await;
    b.click("#team-form button[type=submit]").await;
    assert_eq!(b.text("#team-status .notice").await, "已新增");
    assert_eq!(
        b.text("#team-password-error").await,
        "",
        "the error goes with the fix"
    );
    let table = b.text("main.page table").await;
    assert!(
        table.contains("door.zhao") && table.contains("<img src=x onerror=alert(1)>"),
        "as text: {table}"
    );
    for (w, h) in [(375, 740), (1440, 900)] {
        b.size(w, h).await;
        b.shot(&format!("team-{w}")).await;
    }
    // 重设密码: a dialog with a password field, never a prompt in clear.
    b.client
        .execute(
            "[...document.querySelectorAll('main.page tr')] \
               .find((r) => r.textContent.includes('door.zhao')) \
               .querySelector('button:nth-of-type(3)').click()",
            vec![],
        )
        .await
        .unwrap();
    b.until("the dialog", "document.querySelector('dialog[open]')")
        .await;
    let kind = b
        .client
        .execute(
            "return document.getElementById('reset-password').type",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kind, "password");
    b.fill("#reset-password", "short").await;
    b.click("#reset-submit").await;
    b.until(
        "the short one refused in the dialog",
        "document.getElementById('reset-password-error').textContent.includes('10')",
    )
    .await;
    b.shot("team-reset-1440").await;
    b.fill("#reset-password", "another-long-pass-2").await;
    b.click("#reset-submit").await;
    b.until(
        "reset",
        "!document.querySelector('dialog') \
         && document.getElementById('team-status').textContent.includes('已为 door.zhao 重设密码')",
    )
    .await;
    // 设置: a logo uploaded from the page, a bad email refused by its field,
    // then saved and seen by the mini-program.
    b.client.goto(&t.url("/admin/settings")).await.unwrap();
    assert_eq!(b.text("main.page h1").await, "设置");
    let logo = std::env::temp_dir().join(format!("st-logo-{}.png", std::process::id()));
    image::RgbImage::from_pixel(40, 40, image::Rgb([255, 90, 54]))
        .save(&logo)
        .unwrap();
    b.client
        .find(Locator::Css("#set-logo-file"))
        .await
        .unwrap()
        .send_keys(logo.to_str().unwrap())
        .await
        .unwrap();
    let t0 = Instant::now();
    loop {
        let v = b
            .client
            .execute("return document.getElementById('set-logo').value", vec![])
            .await
            .unwrap();
        if v.as_str().is_some_and(|v| v.starts_with("/static/dt/")) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the logo did not upload: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.fill("#set-name", "笑声俱乐部").await;
    b.fill("#set-email", "not-an-email").await;
    b.click("#settings-form button[type=submit]").await;
    assert!(b.text("#set-email-error").await.contains("邮箱"));
    b.fill("#set-email", "hi@club.example.com").await;
    b.fill("#set-theme-primary", "#123456").await;
    b.click("#settings-form button[type=submit]").await;
    assert!(
        b.text("#settings-status .notice")
            .await
            .starts_with("已保存")
    );
    assert_eq!(b.text(".bar .club").await, "笑声俱乐部", "the bar follows");
    let public = t.data("/api/tenants/dt").await;
    assert_eq!(public["name"], "笑声俱乐部");
    assert_eq!(public["theme"]["primary"], "#123456");
    assert!(public["logo"].as_str().unwrap().starts_with("/static/dt/"));
    for (w, h) in [(375, 740), (1440, 900)] {
        b.size(w, h).await;
        b.shot(&format!("settings-{w}")).await;
    }
    b.assert_clean(
        "team and settings",
        &[
            "/api/admin/admins - Failed to load resource: the server responded with a status of 400",
            "/password - Failed to load resource: the server responded with a status of 400",
            "/api/admin/tenant - Failed to load resource: the server responded with a status of 400",
        ],
    )
    .await;

    // 操作日志 lists it.
    b.client.goto(&t.url("/admin/audit")).await.unwrap();
    assert_eq!(b.text("main.page h1").await, "操作日志");
    assert!(b.text("main.page table").await.contains("新增员工"));
    for (w, h) in [(375, 740), (1440, 900)] {
        b.size(w, h).await;
        b.shot(&format!("audit-{w}")).await;
    }
    b.assert_clean("audit", &[]).await;

    // A revoked token returns to the login page with a message.
    b.client
        .execute(
            "sessionStorage.setItem('st.token', 'revoked'); location.reload();",
            vec![],
        )
        .await
        .unwrap();
    assert!(b.text("#login-status .notice").await.contains("登录"));
    b.client.clone().close().await.unwrap();
    t.stop().await;
}
