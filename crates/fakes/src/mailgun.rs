//! Fake Mailgun (PROVIDERS.md section 1): `POST /v3/{domain}/messages` with Basic auth `api:KEY`,
//! form-urlencoded or multipart bodies, Mailgun's validation errors, scripted failures, and
//! signed JSON event webhooks (`delivered`, `failed`, `opened`, ...) sent after each accepted
//! message. Control endpoints for the demo live under `/_fake/`.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use futures_util::StreamExt as _;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::server::{self, Running, lock};
use crate::{Delivery, Failure};

/// What the fake accepts: the API key for Basic auth, the one sending domain it knows, and the
/// key it signs webhooks with.
#[derive(Clone, Debug)]
pub struct MailgunConfig {
    pub api_key: String,
    pub domain: String,
    pub webhook_signing_key: String,
}

/// One accepted send, as Mailgun understood the form.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MailgunMessage {
    /// The Message-ID returned to the sender, with angle brackets: `<20260101120000.abc@domain>`.
    pub id: String,
    pub from: String,
    /// Every `to` value, comma-separated lists split into one entry per address.
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub template: Option<String>,
    /// `h:Name` fields as `(Name, value)`, in request order.
    pub headers: Vec<(String, String)>,
    /// `v:name` fields as `(name, value)`, in request order.
    pub variables: Vec<(String, String)>,
    /// `o:tag` values.
    pub tags: Vec<String>,
    /// Other `o:` options as `(option, value)` without the prefix, e.g. `("tracking-opens", "yes")`.
    pub options: Vec<(String, String)>,
    /// File names of `attachment` and `inline` parts (multipart only).
    pub attachments: Vec<String>,
    pub domain: String,
}

impl MailgunMessage {
    /// The value of header `name` (`h:` field), compared without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// The value of custom variable `name` (`v:` field).
    pub fn variable(&self, name: &str) -> Option<&str> {
        find(&self.variables, name)
    }

    /// The bare addresses of every recipient: `to`, then `cc`, then `bcc`.
    pub fn recipients(&self) -> Vec<String> {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .map(|address| bare_address(address).to_owned())
            .collect()
    }
}

fn find<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// A fake Mailgun server on 127.0.0.1. Dropping it stops the server.
pub struct FakeMailgun {
    shared: Arc<Shared>,
    server: Running,
}

struct Shared {
    config: MailgunConfig,
    client: reqwest::Client,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sent: Vec<MailgunMessage>,
    requests: usize,
    failures: VecDeque<Failure>,
    webhook_url: Option<String>,
    webhook_events: Vec<String>,
    deliveries: Vec<Delivery>,
}

impl FakeMailgun {
    /// Starts the fake on a free loopback port.
    pub fn start(config: MailgunConfig) -> io::Result<FakeMailgun> {
        FakeMailgun::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts the fake on `addr` (the demo binary uses a fixed port).
    pub fn start_on(config: MailgunConfig, addr: SocketAddr) -> io::Result<FakeMailgun> {
        let shared = Arc::new(Shared {
            config,
            client: server::client()?,
            state: Mutex::new(State::default()),
        });
        let data = web::Data::from(shared.clone());
        let server = Running::start("mailgun", addr, move |cfg: &mut ServiceConfig| {
            routes(cfg, data.clone());
        })?;
        Ok(FakeMailgun { shared, server })
    }

    /// `http://127.0.0.1:PORT`, to use in place of `https://api.mailgun.net`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every accepted send, in order.
    pub fn sent(&self) -> Vec<MailgunMessage> {
        lock(&self.shared.state).sent.clone()
    }

    /// Every POST to `/v3/{domain}/messages`, accepted or not.
    pub fn requests(&self) -> usize {
        lock(&self.shared.state).requests
    }

    /// Queues `failure` as the answer to the next send that passes auth and the domain check.
    /// Several calls queue several failures, answered in order.
    pub fn fail_next(&self, failure: Failure) {
        lock(&self.shared.state).failures.push_back(failure);
    }

    /// After each accepted send, POST these events (e.g. `["delivered", "opened"]`) to `url`,
    /// one per event and recipient, in the order given, about 50 ms after the answer. `None`
    /// turns it off.
    pub fn set_webhook(&self, url: Option<String>, events: Vec<String>) {
        let mut state = lock(&self.shared.state);
        state.webhook_url = url;
        state.webhook_events = events;
    }

    /// Every webhook sent on its own so far (see [`FakeMailgun::set_webhook`]), in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.shared.state).deliveries.clone()
    }

    /// Waits until at least `count` automatic webhooks were sent (or `timeout` passed), and
    /// returns them all. Blocks the calling thread; see [`FakeMailgun::wait_for_deliveries_async`].
    pub fn wait_for_deliveries(&self, count: usize, timeout: Duration) -> Vec<Delivery> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let deliveries = self.deliveries();
            if deliveries.len() >= count || std::time::Instant::now() >= deadline {
                return deliveries;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// [`FakeMailgun::wait_for_deliveries`] for async tests (needs a tokio timer).
    pub async fn wait_for_deliveries_async(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let deliveries = self.deliveries();
            if deliveries.len() >= count || tokio::time::Instant::now() >= deadline {
                return deliveries;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A signed webhook body (fresh token, current timestamp) for `event` about `message`, for
    /// its first recipient. `extra` is merged into `event-data`: objects merge key by key, a
    /// `null` removes the key, anything else replaces it. Setting `recipient` there also
    /// updates `recipient-domain`.
    pub fn event_payload(&self, event: &str, message: &MailgunMessage, extra: Value) -> Value {
        self.shared.event_payload(event, message, None, extra)
    }

    /// POSTs `payload` as JSON to `url` and returns the HTTP status. Blocks the calling thread;
    /// from a single-threaded async test whose server runs on the same thread, use
    /// [`FakeMailgun::post_webhook_async`].
    pub fn post_webhook(&self, url: &str, payload: &Value) -> io::Result<u16> {
        let (client, url, payload) = (self.shared.client.clone(), url.to_owned(), payload.clone());
        self.server
            .block_on(async move { post_json(&client, &url, &payload).await })?
            .map_err(io::Error::other)
    }

    /// [`FakeMailgun::post_webhook`] without blocking: the request runs on the fake's thread.
    pub async fn post_webhook_async(&self, url: &str, payload: &Value) -> io::Result<u16> {
        let (client, url, payload) = (self.shared.client.clone(), url.to_owned(), payload.clone());
        self.server
            .run(async move { post_json(&client, &url, &payload).await })
            .await?
            .map_err(io::Error::other)
    }

    /// Stops the server now (dropping the fake does the same).
    pub fn stop(&mut self) {
        self.server.stop();
    }
}

/// `lowercase_hex(HMAC-SHA256(signing_key, timestamp + token))`, Mailgun's webhook signature.
pub fn signature(signing_key: &str, timestamp: &str, token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    server::hex(&mac.finalize().into_bytes())
}

fn routes(cfg: &mut ServiceConfig, data: web::Data<Shared>) {
    cfg.app_data(data)
        .route("/v3/{domain}/messages", web::post().to(send))
        .route("/_fake/messages", web::get().to(control_messages))
        .route("/_fake/deliveries", web::get().to(control_deliveries))
        .route("/_fake/events", web::post().to(control_event));
}

fn error(status: u16, message: impl Into<String>) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status).json(json!({ "message": message.into() }))
}

async fn send(
    req: HttpRequest,
    domain: web::Path<String>,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    lock(&shared.state).requests += 1;
    let authorized = server::basic_auth(&req)
        .is_some_and(|(user, key)| user == "api" && key == shared.config.api_key);
    if !authorized {
        return HttpResponse::Unauthorized()
            .content_type("text/plain; charset=utf-8")
            .body("Forbidden");
    }
    let domain = domain.into_inner();
    if !domain.eq_ignore_ascii_case(&shared.config.domain) {
        return error(404, format!("Domain not found: {domain}"));
    }
    let failure = lock(&shared.state).failures.pop_front();
    if let Some(failure) = failure {
        return server::failure_response(&failure);
    }
    let form = match read_form(req.headers(), body).await {
        Ok(form) => form,
        Err(message) => return error(400, message),
    };
    let message = match message_from_form(form, &shared.config.domain) {
        Ok(message) => message,
        Err(message) => return error(400, message),
    };
    let webhook = {
        let mut state = lock(&shared.state);
        state.sent.push(message.clone());
        state
            .webhook_url
            .clone()
            .filter(|_| !state.webhook_events.is_empty())
            .map(|url| (url, state.webhook_events.clone()))
    };
    if let Some((url, events)) = webhook {
        actix_web::rt::spawn(auto_webhooks(
            shared.clone().into_inner(),
            url,
            events,
            message.clone(),
        ));
    }
    HttpResponse::Ok().json(json!({ "id": message.id, "message": "Queued. Thank you." }))
}

/// The fields of a send: text fields in order, and the file names of file parts.
struct Form {
    fields: Vec<(String, String)>,
    files: Vec<String>,
}

async fn read_form(headers: &HeaderMap, body: web::Bytes) -> Result<Form, String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut form = Form {
        fields: Vec::new(),
        files: Vec::new(),
    };
    if content_type.starts_with("multipart/form-data") {
        let stream =
            futures_util::stream::once(
                async move { Ok::<_, actix_web::error::PayloadError>(body) },
            );
        let mut multipart = actix_multipart::Multipart::new(headers, stream);
        while let Some(field) = multipart.next().await {
            let mut field = field.map_err(|err| format!("Malformed multipart body: {err}"))?;
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field
                .content_disposition()
                .and_then(|disposition| disposition.get_filename())
                .map(str::to_owned);
            let mut data = Vec::new();
            while let Some(chunk) = field.next().await {
                data.extend_from_slice(
                    &chunk.map_err(|err| format!("Malformed multipart body: {err}"))?,
                );
            }
            match file_name {
                Some(file_name) if name == "attachment" || name == "inline" => {
                    form.files.push(file_name);
                }
                _ => form
                    .fields
                    .push((name, String::from_utf8_lossy(&data).into_owned())),
            }
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        form.fields = serde_urlencoded::from_bytes(&body)
            .map_err(|err| format!("Malformed form body: {err}"))?;
    }
    Ok(form)
}

fn message_from_form(form: Form, domain: &str) -> Result<MailgunMessage, String> {
    let mut message = MailgunMessage {
        id: String::new(),
        from: String::new(),
        to: Vec::new(),
        cc: Vec::new(),
        bcc: Vec::new(),
        subject: String::new(),
        text: None,
        html: None,
        template: None,
        headers: Vec::new(),
        variables: Vec::new(),
        tags: Vec::new(),
        options: Vec::new(),
        attachments: form.files,
        domain: domain.to_owned(),
    };
    let mut subject = None;
    for (name, value) in form.fields {
        match name.as_str() {
            "from" => message.from = value.trim().to_owned(),
            "to" => message.to.extend(split_addresses(&value)),
            "cc" => message.cc.extend(split_addresses(&value)),
            "bcc" => message.bcc.extend(split_addresses(&value)),
            "subject" => subject = Some(value),
            "text" => message.text = Some(value),
            "html" => message.html = Some(value),
            "template" => message.template = Some(value),
            "o:tag" => message.tags.push(value),
            _ => {
                if let Some(header) = name.strip_prefix("h:") {
                    message.headers.push((header.to_owned(), value));
                } else if let Some(variable) = name.strip_prefix("v:") {
                    message.variables.push((variable.to_owned(), value));
                } else if let Some(option) = name.strip_prefix("o:") {
                    message.options.push((option.to_owned(), value));
                }
            }
        }
    }
    if message.from.is_empty() {
        return Err("from parameter is missing".into());
    }
    if !valid_address(bare_address(&message.from)) {
        return Err("'from' parameter is not a valid address. please check documentation".into());
    }
    if message.to.is_empty() && message.cc.is_empty() && message.bcc.is_empty() {
        return Err("Need at least one of 'to', 'cc' or 'bcc' parameters specified".into());
    }
    for (field, list) in [
        ("to", &message.to),
        ("cc", &message.cc),
        ("bcc", &message.bcc),
    ] {
        if list
            .iter()
            .any(|address| !valid_address(bare_address(address)))
        {
            return Err(format!(
                "'{field}' parameter is not a valid address. please check documentation"
            ));
        }
    }
    message.subject = subject.ok_or("subject parameter is missing")?;
    if message.text.is_none() && message.html.is_none() && message.template.is_none() {
        return Err(
            "Need at least one of 'text', 'html' or 'template' parameters specified".into(),
        );
    }
    message.id = format!(
        "<{}.{:016x}@{domain}>",
        Utc::now().format("%Y%m%d%H%M%S"),
        rand::random::<u64>()
    );
    Ok(message)
}

/// Splits `a@x.test, "Doe, Jane" <j@x.test>` at commas outside quotes and angle brackets.
fn split_addresses(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut current, mut quoted, mut angled) = (String::new(), false, false);
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angled = true,
            '>' if !quoted => angled = false,
            ',' if !quoted && !angled => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter()
        .map(|address| address.trim().to_owned())
        .filter(|address| !address.is_empty())
        .collect()
}

/// `a@x.test` out of `Name <a@x.test>`; the trimmed input when there are no angle brackets.
fn bare_address(address: &str) -> &str {
    match (address.rfind('<'), address.rfind('>')) {
        (Some(start), Some(end)) if start < end => address[start + 1..end].trim(),
        _ => address.trim(),
    }
}

fn valid_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !address
                    .chars()
                    .any(|c| c.is_whitespace() || c == '<' || c == '>')
        }
        None => false,
    }
}

async fn auto_webhooks(
    shared: Arc<Shared>,
    url: String,
    events: Vec<String>,
    message: MailgunMessage,
) {
    tokio::time::sleep(server::WEBHOOK_DELAY).await;
    for event in &events {
        for recipient in message.recipients() {
            let payload = shared.event_payload(event, &message, Some(&recipient), Value::Null);
            let result = post_json(&shared.client, &url, &payload).await;
            lock(&shared.state)
                .deliveries
                .push(server::delivery(&url, event, result));
        }
    }
}

async fn post_json(
    client: &reqwest::Client,
    url: &str,
    payload: &Value,
) -> Result<u16, reqwest::Error> {
    let response = client
        .post(url)
        .header(header::USER_AGENT.as_str(), "mailgun/treq-fake")
        .json(payload)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

impl Shared {
    fn event_payload(
        &self,
        event: &str,
        message: &MailgunMessage,
        recipient: Option<&str>,
        extra: Value,
    ) -> Value {
        let now = Utc::now();
        let timestamp = now.timestamp().to_string();
        let token = server::random_alnum(50);
        let recipient = recipient
            .map(str::to_owned)
            .or_else(|| message.recipients().into_iter().next())
            .unwrap_or_default();
        let variables: Map<String, Value> = message
            .variables
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        let size = message.text.as_deref().map_or(0, str::len)
            + message.html.as_deref().map_or(0, str::len)
            + 512;
        let mut data = json!({
            "id": server::random_alnum(22),
            "timestamp": now.timestamp_micros() as f64 / 1_000_000.0,
            "log-level": "info",
            "event": event,
            "recipient": recipient,
            "recipient-domain": domain_of(&recipient),
            "tags": message.tags,
            "user-variables": variables,
            "campaigns": [],
            "flags": {
                "is-routed": false,
                "is-authenticated": true,
                "is-system-test": false,
                "is-test-mode": message.options.iter().any(|(k, v)| k == "testmode" && v == "yes"),
            },
            "envelope": {
                "sender": bare_address(&message.from),
                "transport": "smtp",
                "targets": recipient,
            },
            "message": {
                "headers": {
                    "to": message.to.join(", "),
                    "message-id": message.id.trim_start_matches('<').trim_end_matches('>'),
                    "from": message.from,
                    "subject": message.subject,
                },
                "attachments": [],
                "size": size,
            },
            "domain": { "name": message.domain },
        });
        let defaults = event_defaults(event, &recipient, &extra);
        merge(&mut data, defaults);
        let sets_domain = extra.get("recipient-domain").is_some();
        merge(&mut data, extra);
        if !sets_domain {
            let domain = data["recipient"]
                .as_str()
                .map(domain_of)
                .unwrap_or_default();
            data["recipient-domain"] = Value::String(domain);
        }
        json!({
            "signature": {
                "timestamp": timestamp,
                "token": token,
                "signature": signature(&self.config.webhook_signing_key, &timestamp, &token),
            },
            "event-data": data,
        })
    }
}

fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_ascii_lowercase())
        .unwrap_or_default()
}

/// What Mailgun puts in `event-data` for each kind of event, beyond the common fields.
fn event_defaults(event: &str, recipient: &str, extra: &Value) -> Value {
    match event {
        "accepted" => json!({ "method": "HTTP" }),
        "delivered" => json!({
            "delivery-status": {
                "attempt-no": 1,
                "code": 250,
                "message": "OK",
                "description": "",
                "enhanced-code": "",
                "mx-host": format!("mx.{}", domain_of(recipient)),
                "session-seconds": 0.42,
                "tls": true,
                "certificate-verified": true,
                "utf8": true,
            },
        }),
        "failed" if extra.get("severity").and_then(Value::as_str) == Some("temporary") => json!({
            "log-level": "warn",
            "severity": "temporary",
            "reason": "generic",
            "delivery-status": {
                "attempt-no": 1,
                "code": 452,
                "message": "4.2.2 The email account that you tried to reach is over quota.",
                "description": "",
                "enhanced-code": "4.2.2",
                "session-seconds": 0.31,
                "retry-seconds": 600,
            },
        }),
        "failed" => json!({
            "log-level": "error",
            "severity": "permanent",
            "reason": "generic",
            "delivery-status": {
                "attempt-no": 1,
                "code": 550,
                "message": "5.1.1 The email account that you tried to reach does not exist.",
                "description": "",
                "enhanced-code": "5.1.1",
                "session-seconds": 0.31,
            },
        }),
        "opened" | "clicked" => {
            let mut defaults = json!({
                "ip": "203.0.113.7",
                "geolocation": { "country": "US", "region": "CA", "city": "San Francisco" },
                "client-info": {
                    "client-os": "Linux",
                    "device-type": "desktop",
                    "client-name": "Firefox",
                    "client-type": "browser",
                    "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                },
            });
            if event == "clicked" {
                defaults["url"] = Value::String("https://example.com/".into());
            }
            defaults
        }
        "complained" => json!({ "log-level": "warn" }),
        _ => json!({}),
    }
}

/// Merges `extra` into `target`: objects key by key, `null` removes a key, anything else
/// replaces the value.
fn merge(target: &mut Value, extra: Value) {
    match (target, extra) {
        (Value::Object(target), Value::Object(extra)) => {
            for (key, value) in extra {
                if value.is_null() {
                    target.remove(&key);
                } else if let Some(existing) = target.get_mut(&key) {
                    merge(existing, value);
                } else {
                    target.insert(key, value);
                }
            }
        }
        (_, Value::Null) => {}
        (target, extra) => *target = extra,
    }
}

async fn control_messages(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(&lock(&shared.state).sent)
}

async fn control_deliveries(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(&lock(&shared.state).deliveries)
}

/// Body of `POST /_fake/events`: sends one signed event for a sent message.
#[derive(serde::Deserialize)]
struct EventRequest {
    event: String,
    /// Defaults to the URL given to `set_webhook` / `--mailgun-webhook`.
    url: Option<String>,
    /// The message's id, with or without angle brackets; defaults to the last one sent.
    message_id: Option<String>,
    /// Defaults to the message's first recipient.
    recipient: Option<String>,
    #[serde(default)]
    extra: Value,
}

async fn control_event(
    shared: web::Data<Shared>,
    request: web::Json<EventRequest>,
) -> HttpResponse {
    let request = request.into_inner();
    let (message, url) = {
        let state = lock(&shared.state);
        let wanted = request
            .message_id
            .as_deref()
            .map(|id| id.trim_start_matches('<').trim_end_matches('>'));
        let message = state
            .sent
            .iter()
            .rev()
            .find(|message| {
                wanted
                    .is_none_or(|id| message.id.trim_start_matches('<').trim_end_matches('>') == id)
            })
            .cloned();
        (message, request.url.clone().or(state.webhook_url.clone()))
    };
    let Some(message) = message else {
        return error(404, "no such message was sent");
    };
    let Some(url) = url else {
        return error(400, "no url given and no webhook configured");
    };
    let payload = shared.event_payload(
        &request.event,
        &message,
        request.recipient.as_deref(),
        request.extra,
    );
    let result = post_json(&shared.client, &url, &payload).await;
    let delivery = server::delivery(&url, &request.event, result);
    lock(&shared.state).deliveries.push(delivery.clone());
    HttpResponse::Ok().json(json!({ "delivery": delivery, "payload": payload }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_worked_example() {
        // PROVIDERS.md 1.5, re-computed by provider_vectors.py.
        assert_eq!(
            signature(
                "key-test-signing-0123456789abcdef",
                "1770920772",
                "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
            ),
            "a653b9dc47f76c56f059cb515adf6ec92b01d4e4ac3afb406635c6c4f3ee4a82"
        );
    }

    #[test]
    fn splits_address_lists() {
        assert_eq!(
            split_addresses(r#"a@x.test, "Doe, Jane" <j@x.test>,,b@y.test"#),
            vec!["a@x.test", r#""Doe, Jane" <j@x.test>"#, "b@y.test"]
        );
        assert_eq!(bare_address(r#""Doe, Jane" <j@x.test>"#), "j@x.test");
        assert!(valid_address("j@x.test"));
        assert!(!valid_address("not-an-address"));
        assert!(!valid_address("a b@x.test"));
    }

    #[test]
    fn merge_replaces_removes_and_recurses() {
        let mut target = json!({ "a": 1, "b": { "c": 2, "d": 3 }, "e": 4 });
        merge(
            &mut target,
            json!({ "a": 5, "b": { "c": 6 }, "e": null, "f": [1] }),
        );
        assert_eq!(target, json!({ "a": 5, "b": { "c": 6, "d": 3 }, "f": [1] }));
    }
}
