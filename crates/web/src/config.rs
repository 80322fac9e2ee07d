//! Settings of the web layer: cookies, rate limits and body limits.

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// True when served over TLS: cookies get `Secure` and the `__Host-` prefix, and HSTS is sent.
    pub tls: bool,
    /// Sign-in attempts per minute from one address (Vaultwarden's default is 10).
    pub login_per_ip_per_minute: u32,
    /// Sign-in attempts per minute against one account, from anywhere.
    pub login_per_account_per_minute: u32,
    /// API requests per minute per key (and twice that per address).
    pub api_per_minute: u32,
    /// HTTP worker threads; two suit a Raspberry Pi.
    pub workers: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            tls: false,
            login_per_ip_per_minute: 10,
            login_per_account_per_minute: 5,
            api_per_minute: 300,
            workers: 2,
        }
    }
}

/// Largest urlencoded form body accepted.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// Largest JSON body accepted by the API.
pub const MAX_JSON_BYTES: usize = 256 * 1024;
