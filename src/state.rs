//! What every request, job and CLI command shares: the store, caches, clients
//! and config. Depends on no service, so every service can depend on it.

use std::sync::Arc;

use crate::cache::Caches;
use crate::config::Config;
use crate::limits::Limits;
use crate::model::tickets::QrKey;
use crate::store::Store;
use crate::tokens::Tokens;
use crate::wechat::mini::MiniProgram;
use crate::wechat::pay::{MerchantSigner, Verifier, WechatPay};

/// Shared by every request. One `Arc`: extracting state clones it per request,
/// and one reference count is cheaper than one per field under load.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub store: Store,
    pub caches: Caches,
    pub tokens: Tokens,
    /// `None` in dev mode (no credentials, never in production).
    pub wechat: Option<MiniProgram>,
    pub limits: Limits,
    /// WeChat Pay, or the dev-mode mock.
    pub pay: PayProvider,
    /// Signs ticket QR codes; kept in the database.
    pub qr_key: QrKey,
    /// How the scheduled backups are going.
    pub backups: crate::store::backups::BackupStatus,
    /// What `/metrics` exposes.
    pub metrics: crate::metrics::Metrics,
}

impl AppState {
    pub fn new(inner: AppInner) -> AppState {
        AppState(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// Who takes the money.
pub enum PayProvider {
    WeChat(Arc<WechatPay>),
    /// Dev mode only.
    Mock,
}

impl PayProvider {
    /// Reads and parses the merchant keys named by the config (a bad file
    /// stops the start with its name), or the mock in dev mode.
    pub fn from_config(config: &Config) -> anyhow::Result<PayProvider> {
        let Some(p) = &config.pay else {
            anyhow::ensure!(!config.is_production(), "生产环境必须配置微信支付");
            tracing::warn!("no WECHAT_MCH_ID: dev mode, payments use the mock provider");
            return Ok(PayProvider::Mock);
        };
        let read = |path: &std::path::Path, var: &str| {
            std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{var}: 无法读取 {}: {e}", path.display()))
        };
        let signer = MerchantSigner::from_pem(
            &read(&p.mch_private_key_path, "WECHAT_MCH_PRIVATE_KEY_PATH")?,
            &p.mch_id,
            &p.mch_serial_no,
        )
        .map_err(|e| anyhow::anyhow!("WECHAT_MCH_PRIVATE_KEY_PATH: {e}"))?;
        let mut verifier = Verifier::default();
        if let Some((id, path)) = &p.pay_public_key {
            verifier
                .add_public_key(id, &read(path, "WECHAT_PAY_PUBLIC_KEY_PATH")?)
                .map_err(|e| anyhow::anyhow!("WECHAT_PAY_PUBLIC_KEY_PATH: {e}"))?;
        }
        for path in &p.platform_cert_paths {
            verifier
                .add_certificate(&read(path, "WECHAT_PAY_PLATFORM_CERT_PATHS")?)
                .map_err(|e| anyhow::anyhow!("WECHAT_PAY_PLATFORM_CERT_PATHS: {e}"))?;
        }
        let app_id = config
            .wechat
            .as_ref()
            .map(|w| w.app_id.clone())
            .ok_or_else(|| anyhow::anyhow!("WECHAT_APP_ID: 微信支付需要小程序 appid"))?;
        let mut api_v3_key = [0u8; 32];
        api_v3_key.copy_from_slice(p.api_v3_key.0.as_bytes());
        Ok(PayProvider::WeChat(Arc::new(WechatPay::new(
            crate::wechat::http_client()?,
            &config.wechat_pay_base_url,
            &app_id,
            signer,
            verifier,
            api_v3_key,
            p.mch_key_v2.as_ref().map(|k| k.0.clone()),
            &p.public_base_url,
        ))))
    }

    pub fn is_mock(&self) -> bool {
        matches!(self, PayProvider::Mock)
    }
}
