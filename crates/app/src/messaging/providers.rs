//! How a workspace sends email and how a user sends texts: settings checked on the way in,
//! secrets sealed with the installation key (never shown back, never logged), and the sender
//! built from them for the queue.

use chrono::{DateTime, Utc};
use domain::ids::{UserId, WorkspaceId};
use domain::messaging::{EmailProviderKind, MailgunRegion};
use domain::validation::ValidationError;
use domain::values::{EmailAddress, PhoneNumber, Region};
use integrations::gmail::{self, Gmail};
use integrations::graph::{self, Graph};
use integrations::mailgun::{Mailgun, MailgunEmail};
use integrations::mime::{self, OutgoingEmail};
use integrations::oauth::OAuthClient;
use integrations::outbound::SendError;
use integrations::smtp::{Smtp, SmtpAuth, SmtpTls};
use integrations::twilio::{self, Twilio};
use serde::{Deserialize, Serialize};

use crate::{App, AppError, Caller};

/// What a person sends to set up a workspace's email (the API body and the settings form).
/// Secrets left empty keep the ones already stored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailProviderInput {
    pub kind: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub webhook_signing_key: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub base_url: Option<String>,
    /// Google and Microsoft: the OAuth client registered for pi-crm.
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    /// Microsoft: `common`, `organizations`, a tenant id or domain.
    #[serde(default)]
    pub tenant: String,
    /// SMTP.
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (587), `implicit` (465) or `none` (a test server on this machine only).
    #[serde(default)]
    pub tls: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    /// SMTP: sign in with the password (empty or `password`), or with an OAuth connection
    /// (`google` or `microsoft`, XOAUTH2), connected in the browser like those kinds.
    #[serde(default)]
    pub smtp_oauth: String,
}

/// The settings of each kind that are not secret, stored as JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PlainConfig {
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub tenant: String,
    /// The mailbox an OAuth connection signed in as.
    #[serde(default)]
    pub account: Option<String>,
    /// Where reading replies stopped: Gmail's history id or Graph's delta link.
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub tls: String,
    #[serde(default)]
    pub username: String,
    /// SMTP signing in through an OAuth connection: `google` or `microsoft`; empty for a password.
    #[serde(default)]
    pub smtp_oauth: String,
}

/// The secret settings, sealed with the installation key.
#[derive(Default, Clone, Serialize, Deserialize)]
pub(crate) struct SecretConfig {
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub webhook_signing_key: String,
    #[serde(default)]
    pub client_secret: String,
    #[serde(default)]
    pub refresh_token: String,
    #[serde(default)]
    pub access_token: String,
    /// Epoch seconds.
    #[serde(default)]
    pub access_expires_at: i64,
    #[serde(default)]
    pub password: String,
}

/// A workspace's email settings as shown: secrets only as a hint of their last characters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailProviderView {
    pub kind: EmailProviderKind,
    pub label: &'static str,
    pub from: String,
    pub domain: String,
    pub region: String,
    pub base_url: Option<String>,
    pub api_key_hint: Option<String>,
    pub has_webhook_signing_key: bool,
    pub client_id: String,
    pub has_client_secret: bool,
    pub tenant: String,
    /// Google and Microsoft: the mailbox connected, if any.
    pub account: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub tls: String,
    pub username: String,
    pub has_password: bool,
    /// SMTP through an OAuth connection (`google`, `microsoft`), or empty for a password.
    pub smtp_oauth: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// An OAuth mailbox: the client that refreshes its token and the API that sends.
#[derive(Debug, Clone)]
pub struct OAuthMailbox {
    pub ws: WorkspaceId,
    pub oauth: OAuthClient,
    /// Microsoft asks for the scopes again on refresh.
    pub scopes: Option<&'static str>,
}

/// How the queue sends a workspace's email.
#[derive(Debug, Clone)]
pub enum EmailSender {
    /// Kept on this machine, shown on the Outbox page.
    Outbox { from: String },
    Mailgun {
        client: Mailgun,
        from: String,
        domain: String,
    },
    Google {
        gmail: Gmail,
        mailbox: OAuthMailbox,
        from: String,
    },
    Microsoft {
        graph: Graph,
        mailbox: OAuthMailbox,
        from: String,
    },
    Smtp {
        smtp: Smtp,
        from: String,
        /// Signing in with XOAUTH2: the connection that gives the access token.
        oauth: Option<OAuthMailbox>,
    },
}

impl EmailSender {
    pub fn provider(&self) -> &'static str {
        match self {
            EmailSender::Outbox { .. } => "outbox",
            EmailSender::Mailgun { .. } => "mailgun",
            EmailSender::Google { .. } => "google",
            EmailSender::Microsoft { .. } => "microsoft",
            EmailSender::Smtp { .. } => "smtp",
        }
    }

    pub fn from(&self) -> &str {
        match self {
            EmailSender::Outbox { from }
            | EmailSender::Mailgun { from, .. }
            | EmailSender::Google { from, .. }
            | EmailSender::Microsoft { from, .. }
            | EmailSender::Smtp { from, .. } => from,
        }
    }
}

fn hint(secret: &str) -> Option<String> {
    let chars: Vec<char> = secret.chars().collect();
    if chars.is_empty() {
        return None;
    }
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    Some(format!("…{tail}"))
}

/// `Name <address>` or a bare address; the address must be valid.
pub fn parse_from(raw: &str) -> Result<String, ValidationError> {
    let raw = raw.trim();
    let address = match (raw.rfind('<'), raw.rfind('>')) {
        (Some(open), Some(close)) if open < close => &raw[open + 1..close],
        _ => raw,
    };
    if raw.is_empty() || raw.contains(['\r', '\n']) {
        return Err(ValidationError::new(
            "from",
            "Give the sender, such as Ana Lopez <ana@mg.example.com>.",
        ));
    }
    EmailAddress::parse(address).map_err(|m| ValidationError::new("from", m))?;
    Ok(raw.to_owned())
}

fn parse_base_url(raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            Ok(Some(url.trim_end_matches('/').to_owned()))
        }
        Some(_) => Err(ValidationError::new(
            "base_url",
            "The base URL must start with https:// (or http:// for a local test server).",
        )),
    }
}

fn workspace_of(app: &App, caller: &Caller, ws: WorkspaceId) -> Result<(), AppError> {
    app.db()
        .read(|c| storage::workspaces::get(c, caller.user_id, ws))?;
    Ok(())
}

/// A provider's stored settings, opened: kind, plain, secret, when last changed.
pub(crate) type Stored = (EmailProviderKind, PlainConfig, SecretConfig, DateTime<Utc>);

/// The stored settings of a workspace's email provider, opened.
pub(crate) fn stored(app: &App, ws: WorkspaceId) -> Result<Option<Stored>, AppError> {
    let Some(stored) = app.db().read(|c| storage::providers::email(c, ws))? else {
        return Ok(None);
    };
    let Some(kind) = EmailProviderKind::parse(&stored.kind) else {
        return Ok(None);
    };
    let plain: PlainConfig = serde_json::from_str(&stored.config).unwrap_or_default();
    let secrets: SecretConfig = open_secrets(app, stored.secrets_enc.as_deref())?;
    Ok(Some((kind, plain, secrets, stored.updated_at)))
}

pub fn email_provider(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
) -> Result<EmailProviderView, AppError> {
    workspace_of(app, caller, ws)?;
    let (kind, plain, secrets, updated_at) = match stored(app, ws)? {
        Some((kind, plain, secrets, at)) => (kind, plain, secrets, Some(at)),
        None => (
            EmailProviderKind::Outbox,
            PlainConfig::default(),
            SecretConfig::default(),
            None,
        ),
    };
    Ok(EmailProviderView {
        kind,
        label: kind.label(),
        from: plain.from,
        domain: plain.domain,
        region: plain.region,
        base_url: plain.base_url,
        api_key_hint: hint(&secrets.api_key),
        has_webhook_signing_key: !secrets.webhook_signing_key.is_empty(),
        client_id: plain.client_id,
        has_client_secret: !secrets.client_secret.is_empty(),
        tenant: plain.tenant,
        account: plain.account.filter(|_| !secrets.refresh_token.is_empty()),
        host: plain.host,
        port: (plain.port != 0).then_some(plain.port),
        tls: plain.tls,
        username: plain.username,
        has_password: !secrets.password.is_empty(),
        smtp_oauth: plain.smtp_oauth,
        updated_at,
    })
}

fn open_secrets<T: Default + for<'de> Deserialize<'de>>(
    app: &App,
    sealed: Option<&str>,
) -> Result<T, AppError> {
    match sealed {
        None => Ok(T::default()),
        Some(sealed) => {
            let plain = app.secrets().decrypt(sealed)?;
            serde_json::from_slice(&plain)
                .map_err(|_| AppError::Internal("stored provider secrets are damaged".into()))
        }
    }
}

fn seal(app: &App, value: &impl Serialize) -> Result<String, AppError> {
    let plain = serde_json::to_vec(value)
        .map_err(|e| AppError::Internal(format!("cannot encode secrets: {e}")))?;
    Ok(app.secrets().encrypt(&plain))
}

/// Writes a provider's settings as they are (used by the OAuth flow and token refreshes).
pub(crate) fn put(
    conn: &mut storage::Conn,
    app: &App,
    ws: WorkspaceId,
    kind: EmailProviderKind,
    plain: &PlainConfig,
    secrets: &SecretConfig,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let config = serde_json::to_string(plain)
        .map_err(|e| AppError::Internal(format!("cannot encode settings: {e}")))?;
    let sealed = seal(app, secrets)?;
    storage::providers::put_email(conn, ws, kind.as_str(), &config, Some(&sealed), now)?;
    Ok(())
}

fn required(field: &'static str, value: &str, message: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, message.to_owned()));
    }
    Ok(())
}

/// Sets a workspace's email provider. Each kind checks its own fields; secrets left empty
/// keep the stored ones (of the same kind); `outbox` keeps everything on this machine.
pub fn set_email_provider(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    input: &EmailProviderInput,
) -> Result<EmailProviderView, AppError> {
    workspace_of(app, caller, ws)?;
    let kind = EmailProviderKind::parse(input.kind.trim()).ok_or_else(|| {
        ValidationError::new(
            "kind",
            "Choose the kind of email account: mailgun, google, microsoft, smtp or outbox.",
        )
    })?;
    let now = Utc::now();
    let (before_plain, before) = match stored(app, ws)? {
        Some((k, plain, secrets, _)) if k == kind => (plain, secrets),
        _ => (PlainConfig::default(), SecretConfig::default()),
    };
    let base_url = parse_base_url(input.base_url.as_deref())?;
    let mut plain = PlainConfig {
        base_url,
        ..PlainConfig::default()
    };
    let mut secrets = SecretConfig::default();
    match kind {
        EmailProviderKind::Outbox => {}
        EmailProviderKind::Mailgun => {
            let domain = input.domain.trim().to_ascii_lowercase();
            if domain.is_empty() || domain.contains(['/', ' ', '@']) || !domain.contains('.') {
                return Err(ValidationError::new(
                    "domain",
                    "Give the Mailgun sending domain, such as mg.example.com.",
                )
                .into());
            }
            let region = MailgunRegion::parse(&input.region).ok_or_else(|| {
                ValidationError::new(
                    "region",
                    "The region is us or eu, as in Mailgun's dashboard.",
                )
            })?;
            plain.domain = domain;
            plain.region = region.as_str().into();
            plain.from = parse_from(&input.from)?;
            secrets.api_key = keep_or(&input.api_key, before.api_key);
            secrets.webhook_signing_key =
                keep_or(&input.webhook_signing_key, before.webhook_signing_key);
            required(
                "api_key",
                &secrets.api_key,
                "Paste the domain's sending API key from Mailgun (Sending > Domain settings > Sending keys).",
            )?;
            required(
                "webhook_signing_key",
                &secrets.webhook_signing_key,
                "Paste the HTTP webhook signing key from Mailgun (Sending > Webhooks): without it pi-crm cannot trust delivery events.",
            )?;
        }
        EmailProviderKind::Google | EmailProviderKind::Microsoft => {
            oauth_client(input, &before, &mut plain, &mut secrets)?;
            if kind == EmailProviderKind::Microsoft {
                plain.tenant = match input.tenant.trim() {
                    "" => "common".to_owned(),
                    t if t
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c)) =>
                    {
                        t.to_owned()
                    }
                    _ => {
                        return Err(ValidationError::new(
                            "tenant",
                            "The tenant is common, organizations, a tenant id or your domain.",
                        )
                        .into());
                    }
                };
            }
            if !input.from.trim().is_empty() {
                plain.from = parse_from(&input.from)?;
            }
            // The same client keeps its connection; a new client must be connected again.
            if before_plain.client_id == plain.client_id && before_plain.base_url == plain.base_url
            {
                plain.account = before_plain.account.clone();
                plain.cursor = before_plain.cursor.clone();
                secrets.refresh_token = before.refresh_token.clone();
                secrets.access_token = before.access_token.clone();
                secrets.access_expires_at = before.access_expires_at;
                if plain.from.is_empty() {
                    plain.from = before_plain.from.clone();
                }
            }
        }
        EmailProviderKind::Smtp => {
            let host = input.host.trim().to_ascii_lowercase();
            if host.is_empty() || host.contains(['/', ' ', '@', ':']) {
                return Err(ValidationError::new(
                    "host",
                    "Give the mail server's name, such as smtp.example.com.",
                )
                .into());
            }
            let tls = SmtpTls::parse(&input.tls).ok_or_else(|| {
                ValidationError::new(
                    "tls",
                    "Security is starttls (port 587) or implicit (port 465).",
                )
            })?;
            if tls == SmtpTls::None && host != "localhost" && host != "127.0.0.1" {
                return Err(ValidationError::new(
                    "tls",
                    "A mail server away from this machine needs TLS: choose starttls or implicit.",
                )
                .into());
            }
            plain.host = host;
            plain.port = input.port.unwrap_or(match tls {
                SmtpTls::Implicit => 465,
                _ => 587,
            });
            plain.tls = tls.as_str().into();
            plain.username = input.username.trim().to_owned();
            plain.from = parse_from(&input.from)?;
            plain.smtp_oauth = match input.smtp_oauth.trim() {
                "" | "password" => String::new(),
                kind @ ("google" | "microsoft") => kind.to_owned(),
                _ => {
                    return Err(ValidationError::new(
                        "smtp_oauth",
                        "Sign in with password, google or microsoft.",
                    )
                    .into());
                }
            };
            if plain.smtp_oauth.is_empty() {
                secrets.password = keep_or(&input.password, before.password);
                if !plain.username.is_empty() {
                    required(
                        "password",
                        &secrets.password,
                        "Give the mailbox's password (an app password where the provider asks for one).",
                    )?;
                }
            } else {
                required(
                    "username",
                    &plain.username,
                    "Give the mailbox's address: XOAUTH2 signs in as it.",
                )?;
                oauth_client(input, &before, &mut plain, &mut secrets)?;
                plain.tenant = input.tenant.trim().to_owned();
                if before_plain.client_id == plain.client_id
                    && before_plain.smtp_oauth == plain.smtp_oauth
                    && before_plain.base_url == plain.base_url
                {
                    plain.account = before_plain.account.clone();
                    secrets.refresh_token = before.refresh_token.clone();
                    secrets.access_token = before.access_token.clone();
                    secrets.access_expires_at = before.access_expires_at;
                }
            }
        }
    }
    app.db().write(|conn| {
        put(conn, app, ws, kind, &plain, &secrets, now)?;
        let shown = serde_json::json!({
            "kind": kind.as_str(), "domain": plain.domain, "region": plain.region, "from": plain.from,
            "base_url": plain.base_url, "client_id": plain.client_id, "tenant": plain.tenant,
            "host": plain.host, "port": plain.port, "tls": plain.tls, "username": plain.username,
        });
        storage::audit::insert(
            conn,
            &caller
                .audit("email_provider.set", "workspace")
                .workspace(ws)
                .entity(ws)
                .after(&shown),
            now,
        )?;
        Ok::<_, AppError>(())
    })?;
    email_provider(app, caller, ws)
}

/// The OAuth client registered for pi-crm (Google, Microsoft, or SMTP signing in through
/// one of them): its id, and its secret (kept from before when left empty).
fn oauth_client(
    input: &EmailProviderInput,
    before: &SecretConfig,
    plain: &mut PlainConfig,
    secrets: &mut SecretConfig,
) -> Result<(), ValidationError> {
    plain.client_id = input.client_id.trim().to_owned();
    required(
        "client_id",
        &plain.client_id,
        "Paste the OAuth client ID of the app you registered for pi-crm.",
    )?;
    secrets.client_secret = keep_or(&input.client_secret, before.client_secret.clone());
    required(
        "client_secret",
        &secrets.client_secret,
        "Paste the OAuth client secret of the app you registered for pi-crm.",
    )
}

fn keep_or(given: &str, before: String) -> String {
    match given.trim() {
        "" => before,
        new => new.to_owned(),
    }
}

/// Google's endpoints, or a test server's when `base_url` is set.
pub(crate) fn google_urls(base_url: Option<&str>) -> (String, String, String) {
    match base_url {
        Some(base) => (
            format!("{base}/o/oauth2/v2/auth"),
            format!("{base}/token"),
            base.to_owned(),
        ),
        None => (
            gmail::DEFAULT_AUTHORIZE_URL.to_owned(),
            gmail::DEFAULT_TOKEN_URL.to_owned(),
            gmail::DEFAULT_API_BASE.to_owned(),
        ),
    }
}

/// Microsoft's endpoints for a tenant, or a test server's when `base_url` is set.
pub(crate) fn microsoft_urls(base_url: Option<&str>, tenant: &str) -> (String, String, String) {
    let (login, api) = match base_url {
        Some(base) => (base.to_owned(), base.to_owned()),
        None => (
            graph::DEFAULT_LOGIN_BASE.to_owned(),
            graph::DEFAULT_API_BASE.to_owned(),
        ),
    };
    let tenant = if tenant.is_empty() { "common" } else { tenant };
    (
        format!("{login}/{tenant}/oauth2/v2.0/authorize"),
        format!("{login}/{tenant}/oauth2/v2.0/token"),
        api,
    )
}

/// The OAuth side of a provider: Google or Microsoft themselves, or SMTP signing in through
/// one of them.
pub(crate) fn oauth_kind(
    kind: EmailProviderKind,
    plain: &PlainConfig,
) -> Option<EmailProviderKind> {
    match (kind, plain.smtp_oauth.as_str()) {
        (EmailProviderKind::Google | EmailProviderKind::Microsoft, _) => Some(kind),
        (EmailProviderKind::Smtp, "google") => Some(EmailProviderKind::Google),
        (EmailProviderKind::Smtp, "microsoft") => Some(EmailProviderKind::Microsoft),
        _ => None,
    }
}

/// The scopes an OAuth connection asks for: the APIs for Google and Microsoft mailboxes,
/// SMTP submission for SMTP with XOAUTH2 (Microsoft issues one token per resource).
pub(crate) fn oauth_scopes(kind: EmailProviderKind, plain: &PlainConfig) -> &'static str {
    match (kind, plain.smtp_oauth.as_str()) {
        (EmailProviderKind::Smtp, "google") => "https://mail.google.com/",
        (EmailProviderKind::Smtp, _) => "offline_access https://outlook.office.com/SMTP.Send",
        (EmailProviderKind::Google, _) => gmail::SCOPES,
        _ => graph::SCOPES,
    }
}

pub(crate) fn oauth_mailbox(
    ws: WorkspaceId,
    kind: EmailProviderKind,
    plain: &PlainConfig,
    secrets: &SecretConfig,
) -> (OAuthMailbox, String) {
    let smtp = kind == EmailProviderKind::Smtp;
    let kind = oauth_kind(kind, plain).unwrap_or(kind);
    let (authorize, token, api) = if kind == EmailProviderKind::Google {
        google_urls(plain.base_url.as_deref())
    } else {
        microsoft_urls(plain.base_url.as_deref(), &plain.tenant)
    };
    let provider = if kind == EmailProviderKind::Google {
        "Google"
    } else {
        "Microsoft"
    };
    (
        OAuthMailbox {
            ws,
            oauth: OAuthClient::new(
                provider,
                &authorize,
                &token,
                &plain.client_id,
                &secrets.client_secret,
            ),
            scopes: (kind == EmailProviderKind::Microsoft).then_some(if smtp {
                "offline_access https://outlook.office.com/SMTP.Send"
            } else {
                graph::SCOPES
            }),
        },
        api,
    )
}

/// The sender the queue uses for a workspace (no owner check: the worker acts for the
/// installation). A workspace with no provider uses the Outbox.
pub fn email_sender(app: &App, ws: WorkspaceId) -> Result<EmailSender, AppError> {
    let outbox = || -> Result<EmailSender, AppError> {
        let name = app
            .db()
            .read(|c| storage::workspaces::get_any(c, ws))
            .map(|w| w.name.as_str().to_owned())
            .unwrap_or_else(|_| "pi-crm".into());
        Ok(EmailSender::Outbox {
            from: format!(
                "{} <outbox@pi-crm.invalid>",
                name.replace(['<', '>', '"'], "")
            ),
        })
    };
    let Some((kind, plain, secrets, _)) = stored(app, ws)? else {
        return outbox();
    };
    let from_or_account = |plain: &PlainConfig| -> String {
        if plain.from.is_empty() {
            plain.account.clone().unwrap_or_default()
        } else {
            plain.from.clone()
        }
    };
    Ok(match kind {
        EmailProviderKind::Outbox => return outbox(),
        EmailProviderKind::Mailgun => {
            let region = MailgunRegion::parse(&plain.region).unwrap_or(MailgunRegion::Us);
            let base = plain
                .base_url
                .clone()
                .unwrap_or_else(|| region.base_url().to_owned());
            EmailSender::Mailgun {
                client: Mailgun::new(&base, &plain.domain, &secrets.api_key),
                from: plain.from,
                domain: plain.domain,
            }
        }
        EmailProviderKind::Google => {
            let (mailbox, api) = oauth_mailbox(ws, kind, &plain, &secrets);
            EmailSender::Google {
                gmail: Gmail::new(&api),
                mailbox,
                from: from_or_account(&plain),
            }
        }
        EmailProviderKind::Microsoft => {
            let (mailbox, api) = oauth_mailbox(ws, kind, &plain, &secrets);
            EmailSender::Microsoft {
                graph: Graph::new(&api),
                mailbox,
                from: from_or_account(&plain),
            }
        }
        EmailProviderKind::Smtp => {
            let oauth =
                oauth_kind(kind, &plain).map(|_| oauth_mailbox(ws, kind, &plain, &secrets).0);
            EmailSender::Smtp {
                smtp: Smtp {
                    host: plain.host.clone(),
                    port: plain.port,
                    tls: SmtpTls::parse(&plain.tls).unwrap_or(SmtpTls::Starttls),
                    auth: (!plain.username.is_empty()).then(|| match oauth {
                        // The token is fetched at send time (see `deliver_email`).
                        Some(_) => SmtpAuth::Xoauth2 {
                            username: plain.username.clone(),
                            token: String::new(),
                        },
                        None => SmtpAuth::Password {
                            username: plain.username.clone(),
                            password: secrets.password.clone(),
                        },
                    }),
                },
                from: plain.from,
                oauth,
            }
        }
    })
}

/// A valid access token for an OAuth mailbox: the stored one while it lasts, else a fresh one
/// from the refresh token (stored, with Microsoft's rotated refresh token). `force` refreshes
/// even a token that looks valid (the API just refused it).
pub fn access_token(app: &App, mailbox: &OAuthMailbox, force: bool) -> Result<String, SendError> {
    let settings_error =
        |e: AppError| SendError::retry(format!("cannot read the settings: {e}"), None);
    let Some((kind, mut plain, mut secrets, _)) =
        stored(app, mailbox.ws).map_err(settings_error)?
    else {
        return Err(SendError::Settings {
            message: "The email account was removed from the workspace's settings.".into(),
        });
    };
    let now = Utc::now().timestamp();
    if !force && !secrets.access_token.is_empty() && secrets.access_expires_at > now + 60 {
        return Ok(secrets.access_token);
    }
    if secrets.refresh_token.is_empty() {
        return Err(SendError::Settings {
            message: "The account is not connected yet: open the workspace's email settings and connect it.".into(),
        });
    }
    let tokens = mailbox
        .oauth
        .refresh(&secrets.refresh_token, mailbox.scopes)?;
    secrets.access_token = tokens.access_token.clone();
    secrets.access_expires_at = now + tokens.expires_in.max(60);
    if let Some(rotated) = tokens.refresh_token {
        secrets.refresh_token = rotated;
    }
    let stamp = Utc::now();
    app.db()
        .write(|conn| {
            plain.cursor = plain.cursor.take();
            put(conn, app, mailbox.ws, kind, &plain, &secrets, stamp)
        })
        .map_err(settings_error)?;
    Ok(tokens.access_token)
}

/// The Mailgun webhook signing key of a workspace, if it sends through Mailgun.
pub fn mailgun_signing_key(app: &App, ws: WorkspaceId) -> Result<Option<String>, AppError> {
    match stored(app, ws)? {
        Some((EmailProviderKind::Mailgun, _, secrets, _)) => {
            Ok(Some(secrets.webhook_signing_key).filter(|k| !k.is_empty()))
        }
        _ => Ok(None),
    }
}

// ---- Texts ----

/// A user's Twilio settings (the API body and the settings form); an empty token keeps the
/// one stored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsProviderInput {
    pub kind: String,
    #[serde(default)]
    pub account_sid: String,
    #[serde(default)]
    pub auth_token: String,
    #[serde(default)]
    pub from_number: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TwilioPlain {
    account_sid: String,
    from_number: String,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    public_url: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct TwilioSecrets {
    auth_token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmsProviderView {
    pub kind: &'static str,
    pub account_sid: String,
    pub from_number: String,
    pub base_url: Option<String>,
    pub public_url: Option<String>,
    pub auth_token_hint: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// How the queue sends a user's texts.
#[derive(Debug, Clone)]
pub struct SmsSender {
    pub client: Twilio,
    pub from_number: String,
    /// The address Twilio calls back (status callbacks), when known.
    pub public_url: Option<String>,
    pub auth_token: String,
}

pub fn sms_provider(app: &App, caller: &Caller) -> Result<Option<SmsProviderView>, AppError> {
    let Some(stored) = app
        .db()
        .read(|c| storage::providers::sms(c, caller.user_id))?
    else {
        return Ok(None);
    };
    let plain: TwilioPlain = serde_json::from_str(&stored.config).unwrap_or_default();
    let secrets: TwilioSecrets = open_secrets(app, stored.secrets_enc.as_deref())?;
    Ok(Some(SmsProviderView {
        kind: "twilio",
        account_sid: plain.account_sid,
        from_number: plain.from_number,
        base_url: plain.base_url,
        public_url: plain.public_url,
        auth_token_hint: hint(&secrets.auth_token),
        updated_at: stored.updated_at,
    }))
}

pub fn set_sms_provider(
    app: &App,
    caller: &Caller,
    input: &SmsProviderInput,
) -> Result<SmsProviderView, AppError> {
    if input.kind.trim() != "twilio" {
        return Err(ValidationError::new("kind", "The only text provider is twilio.").into());
    }
    let sid = input.account_sid.trim();
    if !(sid.len() == 34
        && sid.starts_with("AC")
        && sid[2..].chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(ValidationError::new(
            "account_sid",
            "The account SID is AC followed by 32 letters and digits, as on Twilio's console.",
        )
        .into());
    }
    let from_number = PhoneNumber::parse(&input.from_number, Region::default())
        .map_err(|m| ValidationError::new("from_number", m))?;
    let base_url = parse_base_url(input.base_url.as_deref())?;
    let public_url = parse_base_url(input.public_url.as_deref()).map_err(|_| {
        ValidationError::new(
            "public_url",
            "The public URL must start with https://, the address at which Twilio reaches pi-crm.",
        )
    })?;
    let before: TwilioSecrets = match app
        .db()
        .read(|c| storage::providers::sms(c, caller.user_id))?
    {
        Some(s) => open_secrets(app, s.secrets_enc.as_deref())?,
        None => TwilioSecrets::default(),
    };
    let secrets = TwilioSecrets {
        auth_token: keep_or(&input.auth_token, before.auth_token),
    };
    if secrets.auth_token.is_empty() {
        return Err(ValidationError::new(
            "auth_token",
            "Paste the auth token from Twilio's console (Account info).",
        )
        .into());
    }
    let plain = TwilioPlain {
        account_sid: sid.to_owned(),
        from_number: from_number.as_str().to_owned(),
        base_url,
        public_url,
    };
    let config = serde_json::to_string(&plain)
        .map_err(|e| AppError::Internal(format!("cannot encode settings: {e}")))?;
    let sealed = seal(app, &secrets)?;
    let now = Utc::now();
    app.db().write(|conn| {
        storage::providers::put_sms(conn, caller.user_id, "twilio", &config, Some(&sealed), now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("sms_provider.set", "user")
                .entity(caller.user_id)
                .after(&serde_json::from_str::<serde_json::Value>(&config).unwrap_or_default()),
            now,
        )?;
        Ok::<_, AppError>(())
    })?;
    sms_provider(app, caller)?.ok_or(AppError::NotFound)
}

/// The sender for a user's texts, if they set one up.
pub fn sms_sender(app: &App, user: UserId) -> Result<Option<SmsSender>, AppError> {
    let Some(stored) = app.db().read(|c| storage::providers::sms(c, user))? else {
        return Ok(None);
    };
    let plain: TwilioPlain = serde_json::from_str(&stored.config).unwrap_or_default();
    let secrets: TwilioSecrets = open_secrets(app, stored.secrets_enc.as_deref())?;
    let base = plain
        .base_url
        .clone()
        .unwrap_or_else(|| twilio::DEFAULT_BASE_URL.to_owned());
    Ok(Some(SmsSender {
        client: Twilio::new(&base, &plain.account_sid, &secrets.auth_token),
        from_number: plain.from_number,
        public_url: plain
            .public_url
            .or_else(|| app.settings().public_url.clone()),
        auth_token: secrets.auth_token,
    }))
}

/// Whose Twilio number `number` is, with their sender (for inbound webhooks).
pub fn sms_owner_of_number(
    app: &App,
    number: &str,
) -> Result<Option<(UserId, SmsSender)>, AppError> {
    let all = app.db().read(storage::providers::all_sms)?;
    for (user, stored) in all {
        let plain: TwilioPlain = serde_json::from_str(&stored.config).unwrap_or_default();
        if plain.from_number == number
            && let Some(sender) = sms_sender(app, user)?
        {
            return Ok(Some((user, sender)));
        }
    }
    Ok(None)
}

/// Sends a test email through the workspace's provider right away (not through the queue),
/// so a person sees the provider's own answer. Answers what happened, in words.
pub fn send_test_email(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    to: &str,
) -> Result<String, AppError> {
    workspace_of(app, caller, ws)?;
    let to = EmailAddress::parse(to).map_err(|m| ValidationError::new("to", m))?;
    let sender = email_sender(app, ws)?;
    let now = Utc::now();
    let email = OutgoingEmail {
        from: sender.from().to_owned(),
        to: to.as_str().to_owned(),
        subject: "pi-crm test email".into(),
        text: format!(
            "This is a test from pi-crm. If you read this, email through {} works.",
            EmailProviderKind::parse(sender.provider())
                .map(|k| k.label())
                .unwrap_or("this account")
        ),
        html: None,
        message_id: None,
        headers: Vec::new(),
    };
    let outcome = match &sender {
        EmailSender::Outbox { .. } => Ok(
            "This workspace uses the Outbox: nothing leaves this machine, so there is nothing to test. Connect an email account to send for real."
                .to_owned(),
        ),
        other => deliver_email(app, other, &email, None, false).map(|_| {
            format!(
                "{} took the test email. Check {}'s inbox.",
                EmailProviderKind::parse(other.provider())
                    .map(|k| k.label())
                    .unwrap_or("The provider"),
                to.as_str()
            )
        }),
    };
    app.db().write(|conn| {
        storage::audit::insert(
            conn,
            &caller
                .audit("email_provider.test", "workspace")
                .workspace(ws)
                .entity(ws)
                .after(&serde_json::json!({ "ok": outcome.is_ok() })),
            now,
        )?;
        Ok::<_, AppError>(())
    })?;
    outcome
        .map_err(|e| ValidationError::new("to", format!("The test email was not sent: {e}")).into())
}

/// Calls an OAuth mailbox's API with its access token, refreshing it once when refused.
fn with_token<T>(
    app: &App,
    mailbox: &OAuthMailbox,
    call: impl Fn(&str) -> Result<T, SendError>,
) -> Result<T, SendError> {
    let token = access_token(app, mailbox, false)?;
    match call(&token) {
        Err(SendError::Unauthorized { .. }) => {
            let fresh = access_token(app, mailbox, true)?;
            call(&fresh).map_err(|e| match e {
                SendError::Unauthorized { message } => SendError::Settings {
                    message: format!(
                        "{message}: reconnect the account in the workspace's email settings."
                    ),
                },
                other => other,
            })
        }
        other => other,
    }
}

/// Hands one email to the workspace's provider; answers the provider's id for it (pi-crm's
/// own Message-ID where the provider gives none).
pub fn deliver_email(
    app: &App,
    sender: &EmailSender,
    email: &OutgoingEmail,
    message: Option<domain::ids::MessageId>,
    marketing: bool,
) -> Result<String, SendError> {
    let own_id = || email.message_id.clone().unwrap_or_default();
    match sender {
        EmailSender::Outbox { .. } => Ok(own_id()),
        EmailSender::Mailgun { client, .. } => {
            let mut headers = email.headers.clone();
            if let Some(id) = &email.message_id
                && !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("Message-ID"))
            {
                headers.push(("Message-ID".into(), format!("<{id}>")));
            }
            client.send(&MailgunEmail {
                from: email.from.clone(),
                to: email.to.clone(),
                subject: email.subject.clone(),
                text: email.text.clone(),
                html: email.html.clone(),
                headers,
                variables: message
                    .map(|id| vec![("pi_crm_message_id".to_owned(), id.0.to_string())])
                    .unwrap_or_default(),
                tags: if marketing {
                    vec!["pi-crm-marketing".into()]
                } else {
                    Vec::new()
                },
            })
        }
        EmailSender::Google { gmail, mailbox, .. } => {
            let raw = mime::build(email);
            with_token(app, mailbox, |token| gmail.send(token, &raw))
        }
        EmailSender::Microsoft { graph, mailbox, .. } => {
            let raw = mime::build(email);
            with_token(app, mailbox, |token| graph.send(token, &raw))?;
            Ok(own_id())
        }
        EmailSender::Smtp { smtp, oauth, .. } => {
            let raw = mime::build(email);
            let (_, envelope_from) = mime::split_address(&email.from);
            let (_, to) = mime::split_address(&email.to);
            match (oauth, &smtp.auth) {
                (Some(mailbox), Some(SmtpAuth::Xoauth2 { username, .. })) => {
                    let token = access_token(app, mailbox, false)?;
                    let signed_in = Smtp {
                        auth: Some(SmtpAuth::Xoauth2 {
                            username: username.clone(),
                            token,
                        }),
                        ..smtp.clone()
                    };
                    signed_in.send(&envelope_from, &to, &raw)?;
                }
                _ => smtp.send(&envelope_from, &to, &raw)?,
            }
            Ok(own_id())
        }
    }
}
