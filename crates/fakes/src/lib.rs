//! Loopback fakes of the providers pi-crm talks to (Mailgun, Twilio, Google Workspace, Microsoft
//! 365 and an SMTP submission server), for black-box tests and for a local demo
//! (`pi-crm-fakes`). Each HTTP fake is a real server on 127.0.0.1 that speaks the provider's wire
//! format (PROVIDERS.md sections 1 to 4), records what it was sent, answers scripted failures,
//! and sends signed webhooks back the way the provider does; the SMTP fake is a plain-TCP
//! server on 127.0.0.1.
//!
//! Invariant: this crate depends on no pi-crm crate. It computes signatures and builds payloads
//! on its own, so it can catch the mistakes of the code it tests instead of sharing them.

mod api;
mod mime;
mod server;

pub mod google;
pub mod mailgun;
pub mod microsoft;
pub mod smtp;
pub mod twilio;

// The crate's façade: tests name the fakes as `fakes::FakeMailgun`, `fakes::FakeTwilio`, ...
pub use api::{Consent, RecordedRequest};
pub use google::{FakeGoogle, GmailMessage, GoogleConfig};
pub use mailgun::{FakeMailgun, MailgunConfig, MailgunMessage};
pub use microsoft::{FakeMicrosoft, GraphMessage, MicrosoftConfig};
pub use smtp::{FakeSmtp, SmtpAuth, SmtpConfig, SmtpMessage, TokenCheck};
pub use twilio::{FakeTwilio, TwilioConfig, TwilioMessage};

/// A scripted answer to the next send, instead of the normal one. It is used once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status, e.g. 429 or 500.
    pub status: u16,
    /// Body sent as given: as `application/json` when it parses as JSON, as plain text otherwise.
    pub body: String,
    /// Seconds for a `Retry-After` header, if any.
    pub retry_after: Option<u64>,
}

/// One webhook the fake sent on its own (Mailgun events after a send, Twilio status callbacks),
/// or through the control endpoints of the demo binary.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// Where it was posted.
    pub url: String,
    /// The Mailgun event name or the Twilio `MessageStatus`.
    pub kind: String,
    /// The HTTP status the receiver answered, or why the request failed.
    pub status: Result<u16, String>,
}
