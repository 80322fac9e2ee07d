//! Integrations: the clients of outside services (email through Mailgun, Google Workspace,
//! Microsoft 365 and SMTP; texts through Twilio; OAuth2; signed webhooks).
//!
//! Empty in the foundation release: each provider arrives with the messaging issue. Every client
//! here will take its base URL from configuration, so tests run the real client against a fake
//! server on 127.0.0.1.
//!
//! Must not depend on: `storage`, `app`, `web`, diesel or actix. Depends only on `domain`.
