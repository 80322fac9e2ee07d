//! `pi-crm-fakes`: runs the fake Mailgun and Twilio on loopback for a local demo of pi-crm, and
//! on request the fake Google Workspace, Microsoft 365 and SMTP server too; prints what to
//! paste into pi-crm's settings, and waits for Ctrl-C.
//!
//! Keys come from the environment (`FAKE_MAILGUN_API_KEY`, `FAKE_MAILGUN_DOMAIN`,
//! `FAKE_MAILGUN_SIGNING_KEY`, `FAKE_TWILIO_ACCOUNT_SID`, `FAKE_TWILIO_AUTH_TOKEN`,
//! `FAKE_GOOGLE_CLIENT_ID`, ...; see the usage text) or fixed defaults, so settings saved once
//! keep working across restarts.

use std::net::SocketAddr;
use std::process::ExitCode;

use fakes::{
    FakeGoogle, FakeMailgun, FakeMicrosoft, FakeSmtp, FakeTwilio, GoogleConfig, MailgunConfig,
    MicrosoftConfig, SmtpConfig, TwilioConfig,
};

const USAGE: &str = "\
Usage: pi-crm-fakes [OPTIONS]

Options:
  --mailgun-port PORT        port of the fake Mailgun (default 18081; 0 = any free port)
  --twilio-port PORT         port of the fake Twilio (default 18082; 0 = any free port)
  --mailgun-webhook URL      after each accepted email, POST signed events to URL
  --mailgun-events LIST      events to send there (default: delivered), e.g. delivered,opened
  --twilio-statuses LIST     status callbacks after each SMS with a StatusCallback
                             (default: sent,delivered; `none` for none; `undelivered:30007`
                             adds ErrorCode=30007)
  --google-port PORT         also run the fake Google (OAuth + Gmail API), e.g. 18083
  --microsoft-port PORT      also run the fake Microsoft 365 (login + Graph), e.g. 18084
  --smtp-port PORT           also run the fake SMTP server (plain TCP), e.g. 2525
                             (these three start only when asked; 0 = any free port)
  -h, --help                 this text

Environment: FAKE_MAILGUN_API_KEY, FAKE_MAILGUN_DOMAIN, FAKE_MAILGUN_SIGNING_KEY,
FAKE_TWILIO_ACCOUNT_SID, FAKE_TWILIO_AUTH_TOKEN, FAKE_GOOGLE_CLIENT_ID,
FAKE_GOOGLE_CLIENT_SECRET, FAKE_GOOGLE_ACCOUNT, FAKE_MICROSOFT_TENANT,
FAKE_MICROSOFT_CLIENT_ID, FAKE_MICROSOFT_CLIENT_SECRET, FAKE_MICROSOFT_ACCOUNT,
FAKE_SMTP_USERNAME, FAKE_SMTP_PASSWORD override the defaults.";

struct Options {
    mailgun_port: u16,
    twilio_port: u16,
    mailgun_webhook: Option<String>,
    mailgun_events: Vec<String>,
    twilio_statuses: Vec<String>,
    google_port: Option<u16>,
    microsoft_port: Option<u16>,
    smtp_port: Option<u16>,
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("pi-crm-fakes: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pi-crm-fakes: {err}");
            ExitCode::FAILURE
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        mailgun_port: 18081,
        twilio_port: 18082,
        mailgun_webhook: None,
        mailgun_events: vec!["delivered".into()],
        twilio_statuses: vec!["sent".into(), "delivered".into()],
        google_port: None,
        microsoft_port: None,
        smtp_port: None,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let port = || {
            value
                .parse::<u16>()
                .map_err(|_| format!("{flag}: not a port: {value}"))
        };
        match flag.as_str() {
            "--mailgun-port" => options.mailgun_port = port()?,
            "--twilio-port" => options.twilio_port = port()?,
            "--mailgun-webhook" => options.mailgun_webhook = Some(value),
            "--mailgun-events" => options.mailgun_events = list(&value),
            "--twilio-statuses" => options.twilio_statuses = list(&value),
            "--google-port" => options.google_port = Some(port()?),
            "--microsoft-port" => options.microsoft_port = Some(port()?),
            "--smtp-port" => options.smtp_port = Some(port()?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(Some(options))
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty() && *item != "none")
        .map(str::to_owned)
        .collect()
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn run(options: Options) -> std::io::Result<()> {
    let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
    let mailgun_config = MailgunConfig {
        api_key: env_or("FAKE_MAILGUN_API_KEY", "key-fake-mailgun"),
        domain: env_or("FAKE_MAILGUN_DOMAIN", "mg.example.test"),
        webhook_signing_key: env_or("FAKE_MAILGUN_SIGNING_KEY", "fake-signing-key"),
    };
    let twilio_config = TwilioConfig {
        account_sid: env_or(
            "FAKE_TWILIO_ACCOUNT_SID",
            "AC00000000000000000000000000000000",
        ),
        auth_token: env_or("FAKE_TWILIO_AUTH_TOKEN", "fake-twilio-token"),
    };
    let mailgun = FakeMailgun::start_on(mailgun_config.clone(), loopback(options.mailgun_port))
        .map_err(|err| with_context(err, "starting the fake Mailgun"))?;
    let twilio = FakeTwilio::start_on(twilio_config.clone(), loopback(options.twilio_port))
        .map_err(|err| with_context(err, "starting the fake Twilio"))?;
    mailgun.set_webhook(
        options.mailgun_webhook.clone(),
        options.mailgun_events.clone(),
    );
    twilio.set_status_callbacks(options.twilio_statuses.clone());

    let (mg, tw) = (mailgun.base_url(), twilio.base_url());
    let events = match &options.mailgun_webhook {
        Some(url) if !options.mailgun_events.is_empty() => {
            format!("{} -> {url}", options.mailgun_events.join(", "))
        }
        _ => "none sent on their own (pass --mailgun-webhook URL)".to_owned(),
    };
    let statuses = if options.twilio_statuses.is_empty() {
        "none".to_owned()
    } else {
        format!(
            "{} (to each message's StatusCallback)",
            options.twilio_statuses.join(", ")
        )
    };
    let extra = Extra::start(&options, loopback)?;
    println!(
        "\
pi-crm fakes are running. Paste these into pi-crm's settings:

Mailgun
  API base URL         {mg}
  API key              {api_key}
  Sending domain       {domain}
  Webhook signing key  {signing_key}
  Events               {events}

Twilio
  API base URL         {tw}
  Account SID          {sid}
  Auth token           {token}
  Status callbacks     {statuses}
{extra}
Try from a shell:
  curl -s {mg}/_fake/messages
  curl -s -X POST {mg}/_fake/events -H 'Content-Type: application/json' \\
       -d '{{\"event\":\"opened\",\"url\":\"http://127.0.0.1:8080/YOUR/MAILGUN/WEBHOOK\"}}'
  curl -s {tw}/_fake/messages
  curl -s -X POST {tw}/_fake/inbound -H 'Content-Type: application/json' \\
       -d '{{\"url\":\"http://127.0.0.1:8080/YOUR/TWILIO/WEBHOOK\",\"from\":\"+15558675310\",\"to\":\"+15017122661\",\"body\":\"STOP\"}}'
  curl -s -X POST {tw}/_fake/status -H 'Content-Type: application/json' \\
       -d '{{\"status\":\"undelivered\",\"error_code\":\"30007\"}}'
{extra_tries}
Ctrl-C stops.",
        api_key = mailgun_config.api_key,
        domain = mailgun_config.domain,
        signing_key = mailgun_config.webhook_signing_key,
        sid = twilio_config.account_sid,
        token = twilio_config.auth_token,
        extra = extra.settings(),
        extra_tries = extra.tries(),
    );

    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tokio::signal::ctrl_c())?;
    println!("stopping");
    drop((mailgun, twilio, extra));
    Ok(())
}

/// The fakes started only on request, with their settings.
struct Extra {
    google: Option<(FakeGoogle, GoogleConfig)>,
    microsoft: Option<(FakeMicrosoft, MicrosoftConfig)>,
    smtp: Option<(FakeSmtp, SmtpConfig)>,
}

impl Extra {
    fn start(options: &Options, loopback: impl Fn(u16) -> SocketAddr) -> std::io::Result<Extra> {
        let google = match options.google_port {
            Some(port) => {
                let config = GoogleConfig {
                    client_id: env_or(
                        "FAKE_GOOGLE_CLIENT_ID",
                        "fake-client-id.apps.googleusercontent.com",
                    ),
                    client_secret: env_or("FAKE_GOOGLE_CLIENT_SECRET", "GOCSPX-fake-google-secret"),
                };
                let fake = FakeGoogle::start_on(config.clone(), loopback(port))
                    .map_err(|err| with_context(err, "starting the fake Google"))?;
                fake.set_account(&env_or(
                    "FAKE_GOOGLE_ACCOUNT",
                    fakes::google::DEFAULT_ACCOUNT,
                ));
                Some((fake, config))
            }
            None => None,
        };
        let microsoft = match options.microsoft_port {
            Some(port) => {
                let config = MicrosoftConfig {
                    tenant: env_or("FAKE_MICROSOFT_TENANT", "common"),
                    client_id: env_or(
                        "FAKE_MICROSOFT_CLIENT_ID",
                        "00000000-0000-0000-0000-00000000f4ce",
                    ),
                    client_secret: env_or("FAKE_MICROSOFT_CLIENT_SECRET", "fake~microsoft~secret"),
                };
                let fake = FakeMicrosoft::start_on(config.clone(), loopback(port))
                    .map_err(|err| with_context(err, "starting the fake Microsoft 365"))?;
                fake.set_account(&env_or(
                    "FAKE_MICROSOFT_ACCOUNT",
                    fakes::microsoft::DEFAULT_ACCOUNT,
                ));
                Some((fake, config))
            }
            None => None,
        };
        let smtp = match options.smtp_port {
            Some(port) => {
                let config = SmtpConfig {
                    username: env_or("FAKE_SMTP_USERNAME", "owner@loanfactory.test"),
                    password: env_or("FAKE_SMTP_PASSWORD", "fake-smtp-password"),
                    oauth_token: None,
                };
                let fake = FakeSmtp::start_on(config.clone(), loopback(port))
                    .map_err(|err| with_context(err, "starting the fake SMTP server"))?;
                // XOAUTH2 takes the access tokens the fake providers issue.
                if let Some((google, _)) = &google {
                    fake.accept_tokens(google.smtp_token_check());
                }
                if let Some((microsoft, _)) = &microsoft {
                    fake.accept_tokens(microsoft.smtp_token_check());
                }
                Some((fake, config))
            }
            None => None,
        };
        Ok(Extra {
            google,
            microsoft,
            smtp,
        })
    }

    /// The settings blocks, each after an empty line.
    fn settings(&self) -> String {
        let mut out = String::new();
        if let Some((fake, config)) = &self.google {
            out.push_str(&format!(
                "
Google Workspace (consent is approved at once; any redirect URI)
  Client ID            {id}
  Client secret        {secret}
  Authorization URL    {authorize}
  Token URL            {token}
  Gmail API base URL   {base}
  Mailbox              {account}
",
                id = config.client_id,
                secret = config.client_secret,
                authorize = fake.authorize_url(),
                token = fake.token_url(),
                base = fake.base_url(),
                account = fake.account(),
            ));
        }
        if let Some((fake, config)) = &self.microsoft {
            out.push_str(&format!(
                "
Microsoft 365 (consent is approved at once; any redirect URI)
  Tenant               {tenant}
  Client ID            {id}
  Client secret        {secret}
  Login base URL       {base}
  Token URL            {token}
  Graph base URL       {base}
  Mailbox              {account}
",
                tenant = config.tenant,
                id = config.client_id,
                secret = config.client_secret,
                base = fake.base_url(),
                token = fake.token_url(),
                account = fake.account(),
            ));
        }
        if let Some((fake, config)) = &self.smtp {
            let oauth = match (&self.google, &self.microsoft) {
                (None, None) => "not accepted (start --google-port or --microsoft-port too)",
                _ => {
                    "access tokens of the fakes above (Google: https://mail.google.com/; Microsoft: SMTP.Send)"
                }
            };
            out.push_str(&format!(
                "
SMTP
  Host                 {host}
  Port                 {port}
  Security (TLS mode)  none (plain TCP, loopback only)
  Username             {user}
  Password             {password}
  XOAUTH2              {oauth}
",
                host = fake.host(),
                port = fake.port(),
                user = config.username,
                password = config.password,
            ));
        }
        out
    }

    /// Shell lines to deliver replies to the fake mailboxes.
    fn tries(&self) -> String {
        let mut out = String::new();
        let body = "{\"from\":\"alice@example.com\",\"subject\":\"Re: Hello\",\"text\":\"Thanks!\",\"in_reply_to\":\"last\"}";
        for (name, base) in [
            (
                "Gmail",
                self.google.as_ref().map(|(fake, _)| fake.base_url()),
            ),
            (
                "Microsoft 365",
                self.microsoft.as_ref().map(|(fake, _)| fake.base_url()),
            ),
        ] {
            if let Some(base) = base {
                out.push_str(&format!(
                    "  curl -s {base}/_fake/messages\n  curl -s -X POST {base}/_fake/inbound -H 'Content-Type: application/json' \\\n       -d '{body}'   # a reply in {name}\n"
                ));
            }
        }
        out
    }
}

fn with_context(err: std::io::Error, what: &str) -> std::io::Error {
    std::io::Error::new(err.kind(), format!("{what}: {err}"))
}
