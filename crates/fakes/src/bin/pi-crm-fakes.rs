//! `pi-crm-fakes`: runs the fake Mailgun and Twilio on loopback for a local demo of pi-crm,
//! prints what to paste into pi-crm's settings, and waits for Ctrl-C.
//!
//! Keys come from the environment (`FAKE_MAILGUN_API_KEY`, `FAKE_MAILGUN_DOMAIN`,
//! `FAKE_MAILGUN_SIGNING_KEY`, `FAKE_TWILIO_ACCOUNT_SID`, `FAKE_TWILIO_AUTH_TOKEN`) or fixed
//! defaults, so settings saved once keep working across restarts.

use std::net::SocketAddr;
use std::process::ExitCode;

use fakes::{FakeMailgun, FakeTwilio, MailgunConfig, TwilioConfig};

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
  -h, --help                 this text

Environment: FAKE_MAILGUN_API_KEY, FAKE_MAILGUN_DOMAIN, FAKE_MAILGUN_SIGNING_KEY,
FAKE_TWILIO_ACCOUNT_SID, FAKE_TWILIO_AUTH_TOKEN override the default keys.";

struct Options {
    mailgun_port: u16,
    twilio_port: u16,
    mailgun_webhook: Option<String>,
    mailgun_events: Vec<String>,
    twilio_statuses: Vec<String>,
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

Try from a shell:
  curl -s {mg}/_fake/messages
  curl -s -X POST {mg}/_fake/events -H 'Content-Type: application/json' \\
       -d '{{\"event\":\"opened\",\"url\":\"http://127.0.0.1:8080/YOUR/MAILGUN/WEBHOOK\"}}'
  curl -s {tw}/_fake/messages
  curl -s -X POST {tw}/_fake/inbound -H 'Content-Type: application/json' \\
       -d '{{\"url\":\"http://127.0.0.1:8080/YOUR/TWILIO/WEBHOOK\",\"from\":\"+15558675310\",\"to\":\"+15017122661\",\"body\":\"STOP\"}}'
  curl -s -X POST {tw}/_fake/status -H 'Content-Type: application/json' \\
       -d '{{\"status\":\"undelivered\",\"error_code\":\"30007\"}}'

Ctrl-C stops.",
        api_key = mailgun_config.api_key,
        domain = mailgun_config.domain,
        signing_key = mailgun_config.webhook_signing_key,
        sid = twilio_config.account_sid,
        token = twilio_config.auth_token,
    );

    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tokio::signal::ctrl_c())?;
    println!("stopping");
    drop((mailgun, twilio));
    Ok(())
}

fn with_context(err: std::io::Error, what: &str) -> std::io::Error {
    std::io::Error::new(err.kind(), format!("{what}: {err}"))
}
