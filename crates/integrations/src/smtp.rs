//! SMTP submission through `mail-send` (design card): any mailbox, with a password or an
//! OAuth access token (XOAUTH2), over STARTTLS or implicit TLS; plain TCP only for a
//! loopback test server. Blocking on the outside like the other clients: each send drives a
//! small runtime of its own.

use std::time::Duration;

use mail_send::smtp::message::Message;
use mail_send::{Credentials, SmtpClientBuilder};

use crate::outbound::SendError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Port 587: plain, then STARTTLS (required).
    Starttls,
    /// Port 465: TLS from the first byte.
    Implicit,
    /// No TLS at all: only for a test server on this machine.
    None,
}

impl SmtpTls {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "starttls" | "" => Some(SmtpTls::Starttls),
            "implicit" | "tls" | "ssl" => Some(SmtpTls::Implicit),
            "none" => Some(SmtpTls::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::Starttls => "starttls",
            SmtpTls::Implicit => "implicit",
            SmtpTls::None => "none",
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub enum SmtpAuth {
    Password { username: String, password: String },
    Xoauth2 { username: String, token: String },
}

#[derive(Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub auth: Option<SmtpAuth>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);

impl Smtp {
    /// Sends `mime` from `envelope_from` to `to`.
    pub fn send(&self, envelope_from: &str, to: &str, mime: &[u8]) -> Result<(), SendError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SendError::retry(format!("cannot start the SMTP client: {e}"), None))?;
        let run = || runtime.block_on(self.send_async(envelope_from, to, mime));
        // A runtime cannot be driven from inside another one: use a thread of our own then.
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| s.spawn(run).join()).unwrap_or_else(|_| {
                Err(SendError::retry(
                    "the SMTP client stopped unexpectedly",
                    None,
                ))
            })
        } else {
            run()
        }
    }

    async fn send_async(&self, from: &str, to: &str, mime: &[u8]) -> Result<(), SendError> {
        let mut builder = SmtpClientBuilder::new(self.host.clone(), self.port)
            .map_err(|e| SendError::Settings {
                message: format!("cannot set up TLS for {}: {e}", self.host),
            })?
            .implicit_tls(self.tls == SmtpTls::Implicit)
            .timeout(TIMEOUT);
        if let Some(auth) = &self.auth {
            builder = builder.credentials(match auth {
                SmtpAuth::Password { username, password } => Credentials::Plain {
                    username: username.clone(),
                    secret: password.clone(),
                },
                SmtpAuth::Xoauth2 { username, token } => Credentials::XOauth2 {
                    username: username.clone(),
                    secret: token.clone(),
                },
            });
        }
        let message = Message::new(from, [to], mime);
        let outcome = match self.tls {
            SmtpTls::None => match builder.connect_plain().await {
                Ok(mut client) => client.send(message).await.map(|_| ()),
                Err(e) => Err(e),
            },
            _ => match builder.connect().await {
                Ok(mut client) => client.send(message).await.map(|_| ()),
                Err(e) => Err(e),
            },
        };
        outcome.map_err(|e| self.error(e))
    }

    fn error(&self, e: mail_send::Error) -> SendError {
        use mail_send::Error as E;
        let server = format!("{}:{}", self.host, self.port);
        match e {
            E::Io(_) | E::Timeout => SendError::retry(
                format!("The mail server {server} could not be reached; pi-crm will try again."),
                None,
            ),
            E::AuthenticationFailed(r) => SendError::Settings {
                message: format!(
                    "The mail server refused the sign-in ({} {}): check the username and password \
                     (or reconnect the account) in the workspace's email settings.",
                    r.code(),
                    r.message()
                ),
            },
            E::UnexpectedReply(r) if (400..500).contains(&r.code()) => SendError::retry(
                format!(
                    "The mail server asked to try later ({} {}).",
                    r.code(),
                    r.message()
                ),
                None,
            ),
            E::UnexpectedReply(r) => SendError::Rejected {
                message: format!(
                    "The mail server refused the email ({} {}).",
                    r.code(),
                    r.message()
                ),
            },
            E::MissingStartTls => SendError::Settings {
                message: format!(
                    "{server} does not offer STARTTLS: use implicit TLS (usually port 465) instead."
                ),
            },
            E::Tls(_) | E::InvalidTLSName => SendError::Settings {
                message: format!(
                    "A secure connection to {server} failed: check the host, the port and the security mode."
                ),
            },
            E::UnsupportedAuthMechanism | E::MissingCredentials => SendError::Settings {
                message: format!("{server} does not accept this kind of sign-in."),
            },
            other => SendError::Rejected {
                message: format!("The mail server did not take the email: {other}"),
            },
        }
    }
}
