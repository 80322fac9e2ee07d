//! What every sending client shares: the one error type the send queue understands (retry
//! later, or give up with words a person can act on) and the blocking HTTP client settings.

use std::time::Duration;

/// Why a provider did not take a message. The queue retries `Retry` with backoff and
/// gives up on the others; every message is written for the person reading the queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The provider is busy or down (429, 5xx, no answer): try again, after `after` if given.
    #[error("{message}")]
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// The provider refused this message (bad address, opted out, too large): do not retry.
    #[error("{message}")]
    Rejected { message: String },
    /// The recipient opted out at the provider (Twilio 21610): do not retry, suppress.
    #[error("{message}")]
    OptedOut { message: String },
    /// The account settings are wrong (key refused, domain unknown): fix them, then resend.
    #[error("{message}")]
    Settings { message: String },
    /// The access token was refused: refresh it and try once more (OAuth providers).
    #[error("{message}")]
    Unauthorized { message: String },
}

impl SendError {
    pub fn retry(message: impl Into<String>, after: Option<Duration>) -> Self {
        SendError::Retry {
            message: message.into(),
            after,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Retry { .. })
    }
}

/// One blocking HTTP client per provider call site: short connect timeout, bounded total time.
pub(crate) fn http_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("pi-crm/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::blocking::Client::new())
}

/// `Retry-After` in seconds (the only form providers here send), capped at an hour.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}

/// A transport failure (refused, timed out, reset) in words, always worth a retry.
pub(crate) fn unreachable(provider: &str, base_url: &str, err: &reqwest::Error) -> SendError {
    let what = if err.is_timeout() {
        "did not answer in time"
    } else {
        "could not be reached"
    };
    SendError::retry(
        format!("{provider} {what} at {base_url}: check the network; pi-crm will try again"),
        None,
    )
}

/// At most `max` characters of a provider's answer, for an error message.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}
