//! What every handler can reach: the use cases, the web settings and the rate limiters.

use app::App;

use crate::config::WebConfig;
use crate::security::rate_limit::Limiters;

pub struct AppState {
    pub app: App,
    pub config: WebConfig,
    pub limiters: Limiters,
    /// Set by the binary once its scheduled jobs run; /readyz reports it.
    pub scheduler_running: std::sync::atomic::AtomicBool,
}

impl AppState {
    pub fn new(app: App, config: WebConfig) -> Self {
        let limiters = Limiters::new(&config);
        Self {
            app,
            config,
            limiters,
            scheduler_running: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The 64-byte key actix-session signs and encrypts its cookie with, derived from the
    /// installation secret so sessions survive restarts.
    pub fn cookie_key(&self) -> actix_web::cookie::Key {
        let a = self.app.secrets().derive("session-cookie-1");
        let b = self.app.secrets().derive("session-cookie-2");
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&a);
        bytes[32..].copy_from_slice(&b);
        actix_web::cookie::Key::from(&bytes)
    }

    pub fn cookie_name(&self, base: &str) -> String {
        if self.config.tls {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }
}

/// Runs a blocking use case off the async workers.
pub async fn blocking<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&App) -> Result<T, app::AppError> + Send + 'static,
) -> Result<T, app::AppError> {
    let app = app.clone();
    actix_web::web::block(move || f(&app))
        .await
        .map_err(|e| app::AppError::Internal(format!("blocking task failed: {e}")))?
}
