//! Integrations: the clients of outside services (email through Mailgun, Google Workspace,
//! Microsoft 365 and SMTP; texts through Twilio; OAuth2; signed webhooks; off-site backup
//! storage).
//!
//! Every client here takes its base URL from configuration, so tests run the real client
//! against a real or fake server on 127.0.0.1.
//!
//! Must not depend on: `storage`, `app`, `web`, diesel or actix. Depends only on `domain`.

pub mod gmail;
pub mod graph;
pub mod mailgun;
pub mod mime;
pub mod oauth;
pub mod offsite;
pub mod outbound;
pub mod smtp;
pub mod twilio;
pub mod webhooks;
