//! Fake Twilio Programmable Messaging (PROVIDERS.md section 2): `POST
//! /2010-04-01/Accounts/{AccountSid}/Messages.json` with Basic auth `AccountSid:AuthToken`,
//! Twilio's error JSON (`{code, message, more_info, status}`), an opt-out list that inbound
//! STOP/START messages maintain, and signed (`X-Twilio-Signature`) status callbacks and inbound
//! message webhooks. Control endpoints for the demo live under `/_fake/`.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;

use crate::server::{self, Running, lock};
use crate::{Delivery, Failure};

const API_VERSION: &str = "2010-04-01";

/// The number a Messaging Service "picks" when a send names `MessagingServiceSid` and no `From`
/// (Twilio's magic test number).
pub const SERVICE_NUMBER: &str = "+15005550006";

/// Keywords that opt the sender out (PROVIDERS.md 2.5); the message must be the keyword alone.
const OPT_OUT_KEYWORDS: [&str; 8] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];
const OPT_IN_KEYWORDS: [&str; 3] = ["START", "YES", "UNSTOP"];

/// What the fake accepts: the account SID (path and Basic auth user) and the auth token (Basic
/// auth password, and the key every webhook is signed with).
#[derive(Clone, Debug)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: String,
}

/// One accepted send.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TwilioMessage {
    /// `SM` (or `MM` with media) and 32 hex characters.
    pub sid: String,
    /// `From` as sent, or [`SERVICE_NUMBER`] when only `MessagingServiceSid` was given.
    pub from: String,
    pub to: String,
    pub body: String,
    pub status_callback: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub media_urls: Vec<String>,
}

/// A fake Twilio server on 127.0.0.1. Dropping it stops the server.
pub struct FakeTwilio {
    shared: Arc<Shared>,
    server: Running,
}

struct Shared {
    config: TwilioConfig,
    client: reqwest::Client,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sent: Vec<TwilioMessage>,
    requests: usize,
    failures: VecDeque<Failure>,
    opted_out: HashSet<String>,
    statuses: Vec<String>,
    deliveries: Vec<Delivery>,
}

impl FakeTwilio {
    /// Starts the fake on a free loopback port.
    pub fn start(config: TwilioConfig) -> io::Result<FakeTwilio> {
        FakeTwilio::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts the fake on `addr` (the demo binary uses a fixed port).
    pub fn start_on(config: TwilioConfig, addr: SocketAddr) -> io::Result<FakeTwilio> {
        let shared = Arc::new(Shared {
            config,
            client: server::client()?,
            state: Mutex::new(State::default()),
        });
        let data = web::Data::from(shared.clone());
        let server = Running::start("twilio", addr, move |cfg: &mut ServiceConfig| {
            routes(cfg, data.clone());
        })?;
        Ok(FakeTwilio { shared, server })
    }

    /// `http://127.0.0.1:PORT`, to use in place of `https://api.twilio.com`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every accepted send, in order.
    pub fn sent(&self) -> Vec<TwilioMessage> {
        lock(&self.shared.state).sent.clone()
    }

    /// Every POST to `Messages.json`, accepted or not.
    pub fn requests(&self) -> usize {
        lock(&self.shared.state).requests
    }

    /// Queues `failure` as the answer to the next send that passes auth and the account check.
    /// Several calls queue several failures, answered in order.
    pub fn fail_next(&self, failure: Failure) {
        lock(&self.shared.state).failures.push_back(failure);
    }

    /// Sends to `number` now fail with 400 / 21610, as after the person texted STOP.
    pub fn opt_out(&self, number: &str) {
        lock(&self.shared.state).opted_out.insert(number.to_owned());
    }

    /// Undoes [`FakeTwilio::opt_out`], as after the person texted START.
    pub fn opt_in(&self, number: &str) {
        lock(&self.shared.state).opted_out.remove(number);
    }

    /// Whether sends to `number` are blocked.
    pub fn is_opted_out(&self, number: &str) -> bool {
        lock(&self.shared.state).opted_out.contains(number)
    }

    /// After each accepted send that has a `StatusCallback`, POST these `MessageStatus` values
    /// (e.g. `["sent", "delivered"]`) to it, signed, in order, about 50 ms after the answer.
    /// `"undelivered:30007"` sends `MessageStatus=undelivered` with `ErrorCode=30007`.
    pub fn set_status_callbacks(&self, statuses: Vec<String>) {
        lock(&self.shared.state).statuses = statuses;
    }

    /// Every status callback sent on its own so far, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.shared.state).deliveries.clone()
    }

    /// Waits until at least `count` automatic callbacks were sent (or `timeout` passed), and
    /// returns them all. Blocks the calling thread; see [`FakeTwilio::wait_for_deliveries_async`].
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

    /// [`FakeTwilio::wait_for_deliveries`] for async tests (needs a tokio timer).
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

    /// POSTs a signed inbound SMS webhook (`MessageSid`, `AccountSid`, `From`, `To`, `Body`,
    /// `NumMedia=0`, ...) to `url`, signed over `url` exactly as given, and returns the HTTP
    /// status. A STOP-type body opts `from` out first, a START-type body opts it back in, as
    /// Twilio does. Blocks the calling thread.
    pub fn inbound(&self, url: &str, from: &str, to: &str, body: &str) -> io::Result<u16> {
        self.inbound_reply(url, from, to, body)
            .map(|(status, _)| status)
    }

    /// [`FakeTwilio::inbound`], also returning the body of the answer (the TwiML reply).
    pub fn inbound_reply(
        &self,
        url: &str,
        from: &str,
        to: &str,
        body: &str,
    ) -> io::Result<(u16, String)> {
        let params = self.shared.inbound_params(from, to, body);
        let (shared, url) = (self.shared.clone(), url.to_owned());
        self.server
            .block_on(async move { shared.post_signed(&url, &params).await })?
            .map_err(io::Error::other)
    }

    /// [`FakeTwilio::inbound_reply`] without blocking: the request runs on the fake's thread.
    pub async fn inbound_async(
        &self,
        url: &str,
        from: &str,
        to: &str,
        body: &str,
    ) -> io::Result<(u16, String)> {
        let params = self.shared.inbound_params(from, to, body);
        let (shared, url) = (self.shared.clone(), url.to_owned());
        self.server
            .run(async move { shared.post_signed(&url, &params).await })
            .await?
            .map_err(io::Error::other)
    }

    /// POSTs one signed status callback for `message_sid` to `url` and returns the HTTP status.
    /// `From`/`To` come from the sent message with that SID (left out for an unknown SID).
    /// Blocks the calling thread.
    pub fn status_callback(
        &self,
        url: &str,
        message_sid: &str,
        status: &str,
        error_code: Option<&str>,
    ) -> io::Result<u16> {
        let params = self.shared.callback_params(message_sid, status, error_code);
        let (shared, url) = (self.shared.clone(), url.to_owned());
        self.server
            .block_on(async move { shared.post_signed(&url, &params).await })?
            .map(|(status, _)| status)
            .map_err(io::Error::other)
    }

    /// [`FakeTwilio::status_callback`] without blocking: the request runs on the fake's thread.
    pub async fn status_callback_async(
        &self,
        url: &str,
        message_sid: &str,
        status: &str,
        error_code: Option<&str>,
    ) -> io::Result<u16> {
        let params = self.shared.callback_params(message_sid, status, error_code);
        let (shared, url) = (self.shared.clone(), url.to_owned());
        self.server
            .run(async move { shared.post_signed(&url, &params).await })
            .await?
            .map(|(status, _)| status)
            .map_err(io::Error::other)
    }

    /// `X-Twilio-Signature` for a form POST of `params` to `url`, with this fake's auth token.
    pub fn signature(&self, url: &str, params: &[(String, String)]) -> String {
        signature(&self.shared.config.auth_token, url, params)
    }

    /// Stops the server now (dropping the fake does the same).
    pub fn stop(&mut self) {
        self.server.stop();
    }
}

/// `base64(HMAC-SHA1(auth_token, url + name + value ...))`: parameter names in byte order, the
/// values of a repeated name in byte order too, duplicates counted once (as twilio-python does).
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in params {
        sorted.entry(name).or_default().insert(value);
    }
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC accepts any key length");
    mac.update(url.as_bytes());
    for (name, values) in sorted {
        for value in values {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

fn routes(cfg: &mut ServiceConfig, data: web::Data<Shared>) {
    cfg.app_data(data)
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            web::post().to(send),
        )
        .route("/_fake/messages", web::get().to(control_messages))
        .route("/_fake/deliveries", web::get().to(control_deliveries))
        .route("/_fake/inbound", web::post().to(control_inbound))
        .route("/_fake/status", web::post().to(control_status))
        .default_service(web::to(not_found));
}

/// Twilio's error envelope.
fn error(status: u16, code: u32, message: impl Into<String>) -> HttpResponse {
    let http = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(http).json(json!({
        "code": code,
        "message": message.into(),
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    }))
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    error(
        404,
        20404,
        format!("The requested resource {} was not found", req.path()),
    )
}

async fn send(
    req: HttpRequest,
    account: web::Path<String>,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    lock(&shared.state).requests += 1;
    let config = &shared.config;
    let authorized = server::basic_auth(&req)
        .is_some_and(|(user, token)| user == config.account_sid && token == config.auth_token);
    if !authorized {
        return error(401, 20003, "Authenticate");
    }
    if account.as_str() != config.account_sid {
        return not_found(req).await;
    }
    let failure = lock(&shared.state).failures.pop_front();
    if let Some(failure) = failure {
        return server::failure_response(&failure);
    }
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |name: &str| {
        params
            .iter()
            .find(|(key, value)| key == name && !value.trim().is_empty())
            .map(|(_, value)| value.clone())
    };
    let media_urls: Vec<String> = params
        .iter()
        .filter(|(key, _)| key == "MediaUrl")
        .map(|(_, value)| value.clone())
        .collect();
    let Some(to) = get("To") else {
        return error(400, 21604, "A 'To' phone number is required.");
    };
    let service = get("MessagingServiceSid");
    let from = match (get("From"), &service) {
        (Some(from), _) => from,
        (None, Some(_)) => SERVICE_NUMBER.to_owned(),
        (None, None) => return error(400, 21603, "A 'From' phone number is required."),
    };
    let text = get("Body").unwrap_or_default();
    if text.is_empty() && media_urls.is_empty() {
        return error(400, 21602, "Message body is required.");
    }
    if text.chars().count() > 1600 {
        return error(
            400,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    if !valid_number(&to) {
        return error(
            400,
            21211,
            format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    if lock(&shared.state).opted_out.contains(&to) {
        return error(400, 21610, "Attempt to send to unsubscribed recipient");
    }
    let prefix = if media_urls.is_empty() { "SM" } else { "MM" };
    let message = TwilioMessage {
        sid: format!("{prefix}{:032x}", rand::random::<u128>()),
        from,
        to,
        body: text,
        status_callback: get("StatusCallback"),
        messaging_service_sid: service,
        media_urls,
    };
    let statuses = {
        let mut state = lock(&shared.state);
        state.sent.push(message.clone());
        state.statuses.clone()
    };
    if let Some(url) = message.status_callback.clone()
        && !statuses.is_empty()
    {
        actix_web::rt::spawn(auto_callbacks(
            shared.clone().into_inner(),
            url,
            statuses,
            message.sid.clone(),
        ));
    }
    HttpResponse::Created().json(created_json(&shared.config, &message))
}

/// E.164 (`+` and up to 15 digits), optionally behind a channel prefix such as `whatsapp:`.
fn valid_number(number: &str) -> bool {
    let number = match number.split_once(':') {
        Some((channel, rest)) if channel.chars().all(|c| c.is_ascii_lowercase()) => rest,
        _ => number,
    };
    number.strip_prefix('+').is_some_and(|digits| {
        (6..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// Segments Twilio would bill: 160/153 characters in GSM-7 (approximated as ASCII), 70/67
/// otherwise.
fn segments(body: &str) -> usize {
    let (single, multi) = if body.is_ascii() {
        (160, 153)
    } else {
        (70, 67)
    };
    let length = body.chars().count();
    if length <= single {
        1
    } else {
        length.div_ceil(multi)
    }
}

fn created_json(config: &TwilioConfig, message: &TwilioMessage) -> Value {
    let now = Utc::now().to_rfc2822();
    let uri = format!(
        "/{API_VERSION}/Accounts/{}/Messages/{}",
        config.account_sid, message.sid
    );
    let (status, num_segments, from) = match message.messaging_service_sid {
        Some(_) => ("accepted", "0".to_owned(), Value::Null),
        None => (
            "queued",
            segments(&message.body).to_string(),
            Value::String(message.from.clone()),
        ),
    };
    json!({
        "sid": message.sid,
        "account_sid": config.account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": now,
        "date_updated": now,
        "date_sent": null,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": from,
        "to": message.to,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": message.media_urls.len().to_string(),
        "num_segments": num_segments,
        "price": null,
        "price_unit": "USD",
        "status": status,
        "subresource_uris": { "media": format!("{uri}/Media.json") },
        "uri": format!("{uri}.json"),
    })
}

async fn auto_callbacks(shared: Arc<Shared>, url: String, statuses: Vec<String>, sid: String) {
    tokio::time::sleep(server::WEBHOOK_DELAY).await;
    for entry in statuses {
        let (status, code) = match entry.split_once(':') {
            Some((status, code)) => (status, Some(code)),
            None => (entry.as_str(), None),
        };
        let params = shared.callback_params(&sid, status, code);
        let result = shared.post_signed(&url, &params).await;
        let delivery = server::delivery(&url, status, result.map(|(status, _)| status));
        lock(&shared.state).deliveries.push(delivery);
    }
}

impl Shared {
    fn inbound_params(&self, from: &str, to: &str, body: &str) -> Vec<(String, String)> {
        let keyword = body.trim().to_ascii_uppercase();
        {
            let mut state = lock(&self.state);
            if OPT_OUT_KEYWORDS.contains(&keyword.as_str()) {
                state.opted_out.insert(from.to_owned());
            } else if OPT_IN_KEYWORDS.contains(&keyword.as_str()) {
                state.opted_out.remove(from);
            }
        }
        let sid = format!("SM{:032x}", rand::random::<u128>());
        let segments = segments(body).to_string();
        [
            ("AccountSid", self.config.account_sid.as_str()),
            ("ApiVersion", API_VERSION),
            ("Body", body),
            ("From", from),
            ("MessageSid", &sid),
            ("NumMedia", "0"),
            ("NumSegments", &segments),
            ("SmsMessageSid", &sid),
            ("SmsSid", &sid),
            ("SmsStatus", "received"),
            ("To", to),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    fn callback_params(
        &self,
        sid: &str,
        status: &str,
        error_code: Option<&str>,
    ) -> Vec<(String, String)> {
        let message = lock(&self.state)
            .sent
            .iter()
            .find(|message| message.sid == sid)
            .cloned();
        let mut params = vec![
            ("AccountSid", self.config.account_sid.clone()),
            ("ApiVersion", API_VERSION.to_owned()),
        ];
        if let Some(code) = error_code {
            params.push(("ErrorCode", code.to_owned()));
        }
        if let Some(message) = &message {
            params.push(("From", message.from.clone()));
        }
        params.push(("MessageSid", sid.to_owned()));
        params.push(("MessageStatus", status.to_owned()));
        if let Some(service) = message
            .as_ref()
            .and_then(|m| m.messaging_service_sid.clone())
        {
            params.push(("MessagingServiceSid", service));
        }
        params.push(("SmsSid", sid.to_owned()));
        params.push(("SmsStatus", status.to_owned()));
        if let Some(message) = &message {
            params.push(("To", message.to.clone()));
        }
        params
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    }

    /// POSTs `params` form-encoded to `url` with `X-Twilio-Signature`; the status and body of
    /// the answer.
    async fn post_signed(
        &self,
        url: &str,
        params: &[(String, String)],
    ) -> Result<(u16, String), reqwest::Error> {
        let response = self
            .client
            .post(url)
            .header(
                "X-Twilio-Signature",
                signature(&self.config.auth_token, url, params),
            )
            .header("User-Agent", "TwilioProxy/1.1")
            .form(params)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.unwrap_or_default()))
    }
}

async fn control_messages(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(&lock(&shared.state).sent)
}

async fn control_deliveries(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(&lock(&shared.state).deliveries)
}

/// Body of `POST /_fake/inbound`: an SMS from `from` to `to` arriving at `url`.
#[derive(serde::Deserialize)]
struct InboundRequest {
    url: String,
    from: String,
    to: String,
    body: String,
}

async fn control_inbound(
    shared: web::Data<Shared>,
    request: web::Json<InboundRequest>,
) -> HttpResponse {
    let params = shared.inbound_params(&request.from, &request.to, &request.body);
    match shared.post_signed(&request.url, &params).await {
        Ok((status, reply)) => HttpResponse::Ok().json(json!({ "status": status, "reply": reply })),
        Err(err) => HttpResponse::BadGateway().json(json!({ "error": err.to_string() })),
    }
}

/// Body of `POST /_fake/status`: one status callback for a sent message.
#[derive(serde::Deserialize)]
struct StatusRequest {
    status: String,
    /// Defaults to the last message sent.
    message_sid: Option<String>,
    /// Defaults to the message's `StatusCallback`.
    url: Option<String>,
    error_code: Option<String>,
}

async fn control_status(
    shared: web::Data<Shared>,
    request: web::Json<StatusRequest>,
) -> HttpResponse {
    let message = {
        let state = lock(&shared.state);
        state
            .sent
            .iter()
            .rev()
            .find(|m| request.message_sid.as_ref().is_none_or(|sid| &m.sid == sid))
            .cloned()
    };
    let Some(message) = message else {
        return error(404, 20404, "no such message was sent");
    };
    let Some(url) = request.url.clone().or(message.status_callback) else {
        return error(
            400,
            21609,
            "no url given and the message had no StatusCallback",
        );
    };
    let params =
        shared.callback_params(&message.sid, &request.status, request.error_code.as_deref());
    let result = shared.post_signed(&url, &params).await;
    let delivery = server::delivery(&url, &request.status, result.map(|(status, _)| status));
    lock(&shared.state).deliveries.push(delivery.clone());
    HttpResponse::Ok().json(json!({ "delivery": delivery }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn basic(caller: &str) -> Vec<(String, String)> {
        pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", caller),
            ("Digits", "1234"),
            ("From", caller),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn signature_matches_known_vectors() {
        // PROVIDERS.md 2.6 and provider_vectors.py (twilio-python's test vectors).
        let check = |url: &str, params: &[(String, String)], want: &str| {
            assert_eq!(signature("12345", url, params), want, "{url} {params:?}");
        };
        check(URL, &basic("+12349013030"), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        check(URL, &basic("+14158675309"), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        check(
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &basic("+14158675309"),
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
        );
        check(
            "http://mycompany.com:80/myapp.php?foo=1&bar=2",
            &basic("+14158675309"),
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
        );
        check(
            URL,
            &pairs(&[
                ("Sid", "CA123"),
                ("SidAccount", "AC123"),
                ("Digits", "5678"),
                ("Digits", "1234"),
            ]),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
        );
        check(
            &format!(
                "{URL}&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
            ),
            &[],
            "a9nBmqA0ju/hNViExpshrM61xv4=",
        );
    }

    #[test]
    fn numbers_and_segments() {
        assert!(valid_number("+15558675310"));
        assert!(valid_number("whatsapp:+15558675310"));
        assert!(!valid_number("5558675310"));
        assert!(!valid_number("+1555"));
        assert!(!valid_number("+1 555 867 5310"));
        assert_eq!(segments("hi"), 1);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"é".repeat(71)), 2);
    }
}
