//! WeChat's servers: the mini-program API (login, phone number) here; Pay
//! arrives with the payment issue. Base URLs are configurable so tests run the
//! production client against protocol-faithful fakes on 127.0.0.1.

pub mod mini;
pub mod pay;

use std::time::Duration;

/// reqwest is built without a bundled TLS crypto provider; ring is the one the
/// rest of the binary uses. Must run before any reqwest client is built;
/// installing twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// One HTTP client for all outbound calls: short timeouts, because a buyer is
/// waiting on the other end of every one of them.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    install_crypto_provider();
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(5))
        .user_agent(concat!("standup-tickets/", env!("CARGO_PKG_VERSION")))
        .build()?)
}
