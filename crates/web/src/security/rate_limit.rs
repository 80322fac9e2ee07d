//! Rate limits with governor, one keyed limiter per purpose. Keys live in memory only;
//! `retain_recent` (called by a scheduled job) drops the idle ones.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::WebConfig;

pub struct Limiters {
    pub login_ip: DefaultKeyedRateLimiter<String>,
    pub login_account: DefaultKeyedRateLimiter<String>,
    pub api_key: DefaultKeyedRateLimiter<String>,
    pub api_ip: DefaultKeyedRateLimiter<String>,
    /// TOTP codes per account per hour: with the per-minute limit alone, slow guessing of a
    /// 6-digit code would succeed within weeks.
    pub code_hourly: DefaultKeyedRateLimiter<String>,
}

fn per_minute(n: u32) -> DefaultKeyedRateLimiter<String> {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_minute(n))
}

impl Limiters {
    pub fn new(config: &WebConfig) -> Self {
        Self {
            login_ip: per_minute(config.login_per_ip_per_minute),
            login_account: per_minute(config.login_per_account_per_minute),
            api_key: per_minute(config.api_per_minute),
            api_ip: per_minute(config.api_per_minute.saturating_mul(2)),
            code_hourly: RateLimiter::keyed(Quota::per_hour(
                NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            )),
        }
    }

    pub fn retain_recent(&self) {
        self.login_ip.retain_recent();
        self.login_account.retain_recent();
        self.api_key.retain_recent();
        self.api_ip.retain_recent();
        self.code_hourly.retain_recent();
    }
}

/// Takes one cell from `key`'s bucket; `Err(seconds)` says how long to wait.
pub fn check(limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), u64> {
    limiter.check_key(&key.to_owned()).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        wait.as_secs().max(1)
    })
}
