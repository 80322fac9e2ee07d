//! How a workspace sends email and how a user sends texts: settings checked on the way in,
//! secrets sealed with the installation key (never shown back, never logged), and the sender
//! built from them for the queue.

use chrono::{DateTime, Utc};
use domain::ids::{UserId, WorkspaceId};
use domain::messaging::{EmailProviderKind, MailgunRegion};
use domain::validation::ValidationError;
use domain::values::{EmailAddress, PhoneNumber, Region};
use integrations::mailgun::Mailgun;
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
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct MailgunPlain {
    domain: String,
    region: String,
    from: String,
    #[serde(default)]
    base_url: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct MailgunSecrets {
    api_key: String,
    webhook_signing_key: String,
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
    pub updated_at: Option<DateTime<Utc>>,
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
}

impl EmailSender {
    pub fn provider(&self) -> &'static str {
        match self {
            EmailSender::Outbox { .. } => "outbox",
            EmailSender::Mailgun { .. } => "mailgun",
        }
    }

    pub fn from(&self) -> &str {
        match self {
            EmailSender::Outbox { from } | EmailSender::Mailgun { from, .. } => from,
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

pub fn email_provider(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
) -> Result<EmailProviderView, AppError> {
    workspace_of(app, caller, ws)?;
    let stored = app.db().read(|c| storage::providers::email(c, ws))?;
    let Some(stored) = stored else {
        return Ok(outbox_view(None));
    };
    match EmailProviderKind::parse(&stored.kind) {
        Some(EmailProviderKind::Mailgun) => {
            let plain: MailgunPlain = serde_json::from_str(&stored.config).unwrap_or_default();
            let secrets: MailgunSecrets = open_secrets(app, stored.secrets_enc.as_deref())?;
            Ok(EmailProviderView {
                kind: EmailProviderKind::Mailgun,
                label: EmailProviderKind::Mailgun.label(),
                from: plain.from,
                domain: plain.domain,
                region: plain.region,
                base_url: plain.base_url,
                api_key_hint: hint(&secrets.api_key),
                has_webhook_signing_key: !secrets.webhook_signing_key.is_empty(),
                updated_at: Some(stored.updated_at),
            })
        }
        _ => Ok(outbox_view(Some(stored.updated_at))),
    }
}

fn outbox_view(updated_at: Option<DateTime<Utc>>) -> EmailProviderView {
    EmailProviderView {
        kind: EmailProviderKind::Outbox,
        label: EmailProviderKind::Outbox.label(),
        from: String::new(),
        domain: String::new(),
        region: String::new(),
        base_url: None,
        api_key_hint: None,
        has_webhook_signing_key: false,
        updated_at,
    }
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

/// Sets a workspace's email provider. Mailgun needs a domain, a region, a sender and the
/// keys (kept from before when left empty); `outbox` keeps everything on this machine.
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
    let (config, sealed) = match kind {
        EmailProviderKind::Outbox => ("{}".to_owned(), None),
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
            let from = parse_from(&input.from)?;
            let base_url = parse_base_url(input.base_url.as_deref())?;
            let before: MailgunSecrets =
                match app.db().read(|c| storage::providers::email(c, ws))? {
                    Some(s) if s.kind == "mailgun" => open_secrets(app, s.secrets_enc.as_deref())?,
                    _ => MailgunSecrets::default(),
                };
            let secrets = MailgunSecrets {
                api_key: keep_or(&input.api_key, before.api_key),
                webhook_signing_key: keep_or(
                    &input.webhook_signing_key,
                    before.webhook_signing_key,
                ),
            };
            if secrets.api_key.is_empty() {
                return Err(ValidationError::new(
                    "api_key",
                    "Paste the domain's sending API key from Mailgun (Sending > Domain settings > Sending keys).",
                )
                .into());
            }
            if secrets.webhook_signing_key.is_empty() {
                return Err(ValidationError::new(
                    "webhook_signing_key",
                    "Paste the HTTP webhook signing key from Mailgun (Sending > Webhooks): without it pi-crm cannot trust delivery events.",
                )
                .into());
            }
            let plain = MailgunPlain {
                domain,
                region: region.as_str().into(),
                from,
                base_url,
            };
            let config = serde_json::to_string(&plain)
                .map_err(|e| AppError::Internal(format!("cannot encode settings: {e}")))?;
            (config, Some(seal(app, &secrets)?))
        }
        other => {
            return Err(ValidationError::new(
                "kind",
                format!(
                    "{} accounts cannot be connected yet: use mailgun, or outbox to keep messages on this machine.",
                    other.label()
                ),
            )
            .into());
        }
    };
    app.db().write(|conn| {
        storage::providers::put_email(conn, ws, kind.as_str(), &config, sealed.as_deref(), now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("email_provider.set", "workspace")
                .workspace(ws)
                .entity(ws)
                .after(&serde_json::json!({"kind": kind.as_str(), "config": serde_json::from_str::<serde_json::Value>(&config).unwrap_or_default()})),
            now,
        )?;
        Ok::<_, AppError>(())
    })?;
    email_provider(app, caller, ws)
}

fn keep_or(given: &str, before: String) -> String {
    match given.trim() {
        "" => before,
        new => new.to_owned(),
    }
}

/// The sender the queue uses for a workspace (no owner check: the worker acts for the
/// installation). A workspace with no provider uses the Outbox.
pub fn email_sender(app: &App, ws: WorkspaceId) -> Result<EmailSender, AppError> {
    let stored = app.db().read(|c| storage::providers::email(c, ws))?;
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
    let Some(stored) = stored else {
        return outbox();
    };
    match EmailProviderKind::parse(&stored.kind) {
        Some(EmailProviderKind::Mailgun) => {
            let plain: MailgunPlain = serde_json::from_str(&stored.config).unwrap_or_default();
            let secrets: MailgunSecrets = open_secrets(app, stored.secrets_enc.as_deref())?;
            let region = MailgunRegion::parse(&plain.region).unwrap_or(MailgunRegion::Us);
            let base = plain
                .base_url
                .clone()
                .unwrap_or_else(|| region.base_url().to_owned());
            Ok(EmailSender::Mailgun {
                client: Mailgun::new(&base, &plain.domain, &secrets.api_key),
                from: plain.from,
                domain: plain.domain,
            })
        }
        _ => outbox(),
    }
}

/// The Mailgun webhook signing key of a workspace, if it sends through Mailgun.
pub fn mailgun_signing_key(app: &App, ws: WorkspaceId) -> Result<Option<String>, AppError> {
    let Some(stored) = app.db().read(|c| storage::providers::email(c, ws))? else {
        return Ok(None);
    };
    if stored.kind != "mailgun" {
        return Ok(None);
    }
    let secrets: MailgunSecrets = open_secrets(app, stored.secrets_enc.as_deref())?;
    Ok(Some(secrets.webhook_signing_key).filter(|k| !k.is_empty()))
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
    let outcome = match &sender {
        EmailSender::Outbox { .. } => Ok(
            "This workspace uses the Outbox: nothing leaves this machine, so there is nothing to test. Connect Mailgun to send for real."
                .to_owned(),
        ),
        EmailSender::Mailgun { client, from, domain } => client
            .send(&integrations::mailgun::MailgunEmail {
                from: from.clone(),
                to: to.as_str().to_owned(),
                subject: "pi-crm test email".into(),
                text: format!(
                    "This is a test from pi-crm. If you read this, email through Mailgun ({domain}) works."
                ),
                html: None,
                headers: Vec::new(),
                variables: Vec::new(),
                tags: vec!["pi-crm-test".into()],
            })
            .map(|id| format!("Mailgun took the test email (id {id}). Check {}'s inbox.", to.as_str())),
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
