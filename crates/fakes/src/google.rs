//! Fake Google (PROVIDERS.md section 3) on one loopback server: the OAuth consent screen (it
//! approves at once, unless told to deny) and token endpoint, userinfo, and the Gmail API a CRM
//! uses: `messages/send` (base64url `raw`), `history` for incremental sync (404 once the start
//! id is older than the history kept), `messages/{id}` in every format, `messages` listing with
//! a subset of Gmail's search syntax, and `profile`. Errors use Google's shapes (OAuth
//! `{"error","error_description"}`, API `{"error":{"code","message","errors","status"}}`).
//! Access tokens can be expired, refresh tokens revoked, history expired, and any Gmail call
//! scripted to fail. Control endpoints for the demo live under `/_fake/`.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chrono::{NaiveDate, Utc};
use rand::Rng as _;
use serde_json::{Value, json};

use crate::Failure;
use crate::api::{
    self, Access, Challenge, Code, Consent, RecordedRequest, Refresh, RequestLog, Tokens,
};
use crate::mime;
use crate::server::{self, Running, lock};
use crate::smtp::TokenCheck;

/// An early answer (an error response) of a helper, boxed because responses are large.
type Answer<T> = Result<T, Box<HttpResponse>>;

/// The mailbox's address unless [`FakeGoogle::set_account`] changes it.
pub const DEFAULT_ACCOUNT: &str = "owner@loanfactory.test";

pub const SCOPE_SEND: &str = "https://www.googleapis.com/auth/gmail.send";
pub const SCOPE_READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
pub const SCOPE_COMPOSE: &str = "https://www.googleapis.com/auth/gmail.compose";
pub const SCOPE_MODIFY: &str = "https://www.googleapis.com/auth/gmail.modify";
pub const SCOPE_METADATA: &str = "https://www.googleapis.com/auth/gmail.metadata";
/// Full access; the only scope SMTP and IMAP XOAUTH2 accept.
pub const SCOPE_MAIL: &str = "https://mail.google.com/";
/// What the short scope `email` stands for.
pub const SCOPE_EMAIL: &str = "https://www.googleapis.com/auth/userinfo.email";
/// What the short scope `profile` stands for.
pub const SCOPE_PROFILE: &str = "https://www.googleapis.com/auth/userinfo.profile";

/// Scopes that allow `messages.send` (PROVIDERS.md 3.2).
const SEND: &[&str] = &[SCOPE_SEND, SCOPE_COMPOSE, SCOPE_MODIFY, SCOPE_MAIL];
/// Scopes that allow reading bodies (`messages.get` full/raw).
const READ: &[&str] = &[SCOPE_READONLY, SCOPE_MODIFY, SCOPE_MAIL];
/// Scopes that allow `history.list`, `messages.list` and metadata-only gets.
const METADATA: &[&str] = &[SCOPE_READONLY, SCOPE_MODIFY, SCOPE_MAIL, SCOPE_METADATA];
/// Scopes that allow `users.getProfile` (`gmail.send` alone does not).
const PROFILE: &[&str] = &[
    SCOPE_READONLY,
    SCOPE_MODIFY,
    SCOPE_COMPOSE,
    SCOPE_METADATA,
    SCOPE_MAIL,
];

/// Labels of a message delivered to the inbox.
const INBOX_LABELS: [&str; 3] = ["UNREAD", "CATEGORY_PERSONAL", "INBOX"];

/// The one OAuth client the fake knows.
#[derive(Clone, Debug)]
pub struct GoogleConfig {
    pub client_id: String,
    pub client_secret: String,
}

/// One message in the fake mailbox: sent through the API (label `SENT`) or delivered to the
/// inbox by [`FakeGoogle::deliver_inbound`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GmailMessage {
    /// 16 hex digits, as Gmail's.
    pub id: String,
    pub thread_id: String,
    pub label_ids: Vec<String>,
    /// The history id of the change that added it.
    pub history_id: String,
    /// Milliseconds since the epoch.
    pub internal_date: i64,
    /// The decoded RFC 5322 message as stored. A `Message-ID` header is put in front when the
    /// sender gave none, as Gmail adds one.
    pub raw: String,
    /// Its headers, unfolded and RFC 2047-decoded.
    pub headers: Vec<(String, String)>,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    /// With angle brackets, as in the header.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    /// The `threadId` the sender asked for (sends only). Gmail keeps the message in that thread
    /// only when it also has `In-Reply-To`/`References` and a matching subject.
    pub requested_thread_id: Option<String>,
}

impl GmailMessage {
    /// The value of header `name`, compared without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        mime::header(&self.headers, name)
    }

    /// The first `text/plain` part, decoded.
    pub fn text(&self) -> Option<String> {
        mime::parse(&self.raw)
            .find("text/plain")
            .map(mime::Part::text)
    }

    /// The first `text/html` part, decoded.
    pub fn html(&self) -> Option<String> {
        mime::parse(&self.raw)
            .find("text/html")
            .map(mime::Part::text)
    }
}

/// A fake Google OAuth + Gmail server on 127.0.0.1. Dropping it stops the server.
pub struct FakeGoogle {
    shared: Arc<Shared>,
    server: Running,
}

struct Shared {
    config: GoogleConfig,
    log: Arc<RequestLog>,
    state: Mutex<State>,
}

struct State {
    account: String,
    /// The account's stable `sub`.
    subject: String,
    tokens: Tokens,
    consents: Vec<Consent>,
    denials: usize,
    messages: Vec<GmailMessage>,
    /// `(history id, index in messages)` of every `messageAdded` record kept.
    history: Vec<(u64, usize)>,
    history_id: u64,
    /// A `startHistoryId` below this answers 404.
    oldest_history_id: u64,
    last_message_id: u64,
    failures: VecDeque<Failure>,
    token_failures: VecDeque<Failure>,
}

impl State {
    fn new() -> State {
        let mut rng = rand::thread_rng();
        let history_id = rng.gen_range(1_000_000..2_000_000);
        State {
            account: DEFAULT_ACCOUNT.to_owned(),
            subject: format!("1{:020}", rng.gen_range(0..10u64.pow(19))),
            tokens: Tokens::default(),
            consents: Vec::new(),
            denials: 0,
            messages: Vec::new(),
            history: Vec::new(),
            history_id,
            oldest_history_id: 0,
            last_message_id: 0x18c2_0000_0000_0000 | (u64::from(rng.r#gen::<u32>()) << 12),
            failures: VecDeque::new(),
            token_failures: VecDeque::new(),
        }
    }

    /// Moves the history id on; Gmail's increase but are not contiguous.
    fn bump(&mut self) -> u64 {
        self.history_id += rand::thread_rng().gen_range(1..=9);
        self.history_id
    }

    fn new_message_id(&mut self) -> String {
        self.last_message_id += rand::thread_rng().gen_range(1..=4095);
        format!("{:016x}", self.last_message_id)
    }

    /// The thread of the message that `headers` reply to (In-Reply-To, then References).
    fn thread_for_reply(&self, headers: &[(String, String)]) -> Option<String> {
        let mut parents: Vec<&str> = mime::header(headers, "In-Reply-To").into_iter().collect();
        if let Some(references) = mime::header(headers, "References") {
            parents.extend(references.split_whitespace().rev());
        }
        parents.iter().find_map(|parent| {
            self.messages
                .iter()
                .find(|m| mime::bare_id(&m.message_id) == mime::bare_id(parent))
                .map(|m| m.thread_id.clone())
        })
    }

    /// Stores a message and records its `messageAdded` history.
    fn add(
        &mut self,
        raw: String,
        labels: &[&str],
        thread: Option<String>,
        requested_thread_id: Option<String>,
    ) -> GmailMessage {
        let mut headers = mime::message_headers(&raw);
        let raw = if mime::header(&headers, "Message-ID").is_none() {
            let id = format!("<CA+fake{}@mail.gmail.com>", server::random_alnum(40));
            headers.insert(0, ("Message-ID".into(), id.clone()));
            format!("Message-ID: {id}\r\n{raw}")
        } else {
            raw
        };
        let list = |name: &str| -> Vec<String> {
            mime::header_all(&headers, name)
                .into_iter()
                .flat_map(mime::split_addresses)
                .collect()
        };
        let id = self.new_message_id();
        let history_id = self.bump();
        let message = GmailMessage {
            thread_id: thread.unwrap_or_else(|| id.clone()),
            id,
            label_ids: labels.iter().map(|l| (*l).to_owned()).collect(),
            history_id: history_id.to_string(),
            internal_date: Utc::now().timestamp_millis(),
            from: mime::header(&headers, "From")
                .unwrap_or_default()
                .to_owned(),
            to: list("To"),
            cc: list("Cc"),
            bcc: list("Bcc"),
            subject: mime::header(&headers, "Subject")
                .unwrap_or_default()
                .to_owned(),
            message_id: mime::header(&headers, "Message-ID")
                .unwrap_or_default()
                .to_owned(),
            in_reply_to: mime::header(&headers, "In-Reply-To").map(str::to_owned),
            requested_thread_id,
            headers,
            raw,
        };
        self.messages.push(message.clone());
        self.history.push((history_id, self.messages.len() - 1));
        message
    }

    fn deliver(&mut self, raw: String) -> GmailMessage {
        let headers = mime::message_headers(&raw);
        let thread = self.thread_for_reply(&headers);
        self.add(raw, &INBOX_LABELS, thread, None)
    }

    /// A new access token (and a refresh token when `offline`) for `scopes`, as the token
    /// endpoint answers it.
    fn issue(&mut self, config: &GoogleConfig, scopes: &[String], offline: bool) -> Value {
        let access_token = format!("ya29.a0{}", server::random_alnum(150));
        self.tokens.access.insert(
            access_token.clone(),
            Access {
                scopes: scopes.to_vec(),
                audience: "google".into(),
                expired: false,
                app_only: false,
            },
        );
        let mut body = json!({
            "access_token": access_token,
            "expires_in": 3599,
            "scope": scopes.join(" "),
            "token_type": "Bearer",
        });
        if offline {
            let refresh_token = format!("1//0{}", server::random_alnum(100));
            self.tokens.refresh.insert(
                refresh_token.clone(),
                Refresh {
                    client_id: config.client_id.clone(),
                    scopes: scopes.to_vec(),
                    last_scopes: scopes.to_vec(),
                    revoked: false,
                },
            );
            body["refresh_token"] = Value::String(refresh_token);
        }
        if scopes.iter().any(|scope| scope == "openid") {
            body["id_token"] = Value::String(self.id_token(config, scopes));
        }
        body
    }

    fn id_token(&self, config: &GoogleConfig, scopes: &[String]) -> String {
        let now = Utc::now().timestamp();
        let mut claims = json!({
            "iss": "https://accounts.google.com",
            "azp": config.client_id,
            "aud": config.client_id,
            "sub": self.subject,
            "iat": now,
            "exp": now + 3599,
        });
        if scopes.iter().any(|scope| scope == SCOPE_EMAIL) {
            claims["email"] = Value::String(self.account.clone());
            claims["email_verified"] = Value::Bool(true);
        }
        api::fake_jwt(&claims)
    }
}

impl FakeGoogle {
    /// Starts the fake on a free loopback port.
    pub fn start(config: GoogleConfig) -> io::Result<FakeGoogle> {
        FakeGoogle::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts the fake on `addr` (the demo binary uses a fixed port).
    pub fn start_on(config: GoogleConfig, addr: SocketAddr) -> io::Result<FakeGoogle> {
        let log = Arc::new(RequestLog::default());
        let shared = Arc::new(Shared {
            config,
            log: log.clone(),
            state: Mutex::new(State::new()),
        });
        let data = web::Data::from(shared.clone());
        let log = web::Data::from(log);
        let server = Running::start("google", addr, move |cfg: &mut ServiceConfig| {
            routes(cfg, data.clone(), log.clone());
        })?;
        Ok(FakeGoogle { shared, server })
    }

    /// `http://127.0.0.1:PORT`: the Gmail API base (in place of `https://gmail.googleapis.com`),
    /// and the host of every other endpoint below.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The consent screen, in place of `https://accounts.google.com/o/oauth2/v2/auth`.
    pub fn authorize_url(&self) -> String {
        format!("{}/o/oauth2/v2/auth", self.base_url())
    }

    /// The token endpoint, in place of `https://oauth2.googleapis.com/token`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url())
    }

    /// The mailbox's address.
    pub fn account(&self) -> String {
        lock(&self.shared.state).account.clone()
    }

    /// Changes the mailbox's address (profile, userinfo, id tokens, SMTP token checks, the
    /// `To` of later inbound mail).
    pub fn set_account(&self, email: &str) {
        lock(&self.shared.state).account = email.to_owned();
    }

    /// Messages sent through the API (label `SENT`), in order.
    pub fn sent(&self) -> Vec<GmailMessage> {
        self.with_label("SENT")
    }

    /// Messages delivered to the inbox, in order.
    pub fn inbox(&self) -> Vec<GmailMessage> {
        self.with_label("INBOX")
    }

    fn with_label(&self, label: &str) -> Vec<GmailMessage> {
        lock(&self.shared.state)
            .messages
            .iter()
            .filter(|m| m.label_ids.iter().any(|l| l == label))
            .cloned()
            .collect()
    }

    /// Every request answered so far (OAuth, userinfo and Gmail), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log.0).clone()
    }

    /// Every visit to the consent screen, in order.
    pub fn consents(&self) -> Vec<Consent> {
        lock(&self.shared.state).consents.clone()
    }

    /// Queues `failure` as the answer to the next Gmail API call that passes authentication
    /// (see [`failure`] for Google's error shapes). Several calls queue several failures.
    pub fn fail_next(&self, failure: Failure) {
        lock(&self.shared.state).failures.push_back(failure);
    }

    /// Queues `failure` as the answer to the next token request that names the right client.
    pub fn fail_next_token(&self, failure: Failure) {
        lock(&self.shared.state).token_failures.push_back(failure);
    }

    /// The next visit to the consent screen redirects with `error=access_denied`, as when the
    /// person clicks Cancel.
    pub fn deny_next_consent(&self) {
        lock(&self.shared.state).denials += 1;
    }

    /// Every refresh token issued so far now answers `invalid_grant` ("Token has been expired
    /// or revoked."). Tokens issued later work.
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.shared.state).tokens.revoke_refresh();
    }

    /// Every access token issued so far now answers 401 (`authError`). Tokens issued later
    /// (e.g. by a refresh) work.
    pub fn expire_access_tokens(&self) {
        lock(&self.shared.state).tokens.expire_access();
    }

    /// Issues tokens for `scope` (space-separated) without the browser flow: `(access token,
    /// refresh token)`.
    pub fn issue_tokens(&self, scope: &str) -> (String, String) {
        let mut state = lock(&self.shared.state);
        let body = state.issue(&self.shared.config, &normalize_scopes(scope), true);
        (
            body["access_token"].as_str().unwrap_or_default().to_owned(),
            body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    /// The mailbox's current history id (what `profile` answers).
    pub fn history_id(&self) -> String {
        lock(&self.shared.state).history_id.to_string()
    }

    /// Forgets all history so far: any `startHistoryId` below the current history id now
    /// answers 404, as after Gmail dropped old history. The current id keeps working.
    pub fn expire_history(&self) {
        let mut state = lock(&self.shared.state);
        state.oldest_history_id = state.history_id;
        let oldest = state.oldest_history_id;
        state.history.retain(|(id, _)| *id > oldest);
    }

    /// Delivers a message from `from` to the mailbox's inbox and moves the history id on;
    /// returns its Gmail id. With `html` it is `multipart/alternative`. `in_reply_to` (a
    /// Message-ID, brackets optional) sets `In-Reply-To` and `References`, and puts the message
    /// in the thread of the message with that Message-ID when there is one.
    pub fn deliver_inbound(
        &self,
        from: &str,
        subject: &str,
        text: &str,
        html: Option<&str>,
        in_reply_to: Option<&str>,
    ) -> String {
        let mut state = lock(&self.shared.state);
        let raw = mime::build(&mime::Inbound {
            from,
            to: &state.account.clone(),
            subject,
            text,
            html,
            message_id: &format!("CA+{}@mail.gmail.com", server::random_alnum(40)),
            in_reply_to,
            date: Utc::now(),
        });
        state.deliver(raw).id
    }

    /// Delivers `raw` (a whole RFC 5322 message) to the inbox as is; returns its Gmail id.
    pub fn deliver_raw(&self, raw: &str) -> String {
        lock(&self.shared.state).deliver(raw.to_owned()).id
    }

    /// A check for [`crate::FakeSmtp::accept_tokens`]: XOAUTH2 succeeds for the mailbox's
    /// address with an unexpired access token of this fake that has `https://mail.google.com/`.
    pub fn smtp_token_check(&self) -> TokenCheck {
        let shared = self.shared.clone();
        Arc::new(move |user: &str, token: &str| {
            let state = lock(&shared.state);
            user.eq_ignore_ascii_case(&state.account)
                && state
                    .tokens
                    .valid_access(token)
                    .is_some_and(|access| access.allows(&[SCOPE_MAIL]))
        })
    }

    /// Stops the server now (dropping the fake does the same).
    pub fn stop(&mut self) {
        self.server.stop();
    }
}

/// Scopes as Google records them: `email` and `profile` expanded to their URLs.
fn normalize_scopes(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in api::split_scopes(scope) {
        let scope = match scope.as_str() {
            "email" => SCOPE_EMAIL.to_owned(),
            "profile" => SCOPE_PROFILE.to_owned(),
            _ => scope,
        };
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

/// The `status` of Google's error envelope for an HTTP code.
fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        501 => "NOT_IMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

/// Google's API error body (PROVIDERS.md 3.2): `{"error":{"code","message","errors":[{
/// "message","domain","reason"}],"status"}}`. Rate and quota reasons get domain `usageLimits`.
pub fn error_body(code: u16, reason: &str, message: &str) -> Value {
    let lower = reason.to_ascii_lowercase();
    let domain = if lower.contains("ratelimit") || lower.contains("limitexceeded") {
        "usageLimits"
    } else {
        "global"
    };
    let mut detail = json!({ "message": message, "domain": domain, "reason": reason });
    if code == 401 {
        detail["location"] = Value::String("Authorization".into());
        detail["locationType"] = Value::String("header".into());
    }
    json!({
        "error": {
            "code": code,
            "message": message,
            "errors": [detail],
            "status": status_name(code),
        }
    })
}

/// A scripted Gmail failure in Google's shape, e.g. `failure(429, "rateLimitExceeded",
/// Some(30))`, `failure(403, "userRateLimitExceeded", None)`, `failure(503, "backendError",
/// None)`.
pub fn failure(code: u16, reason: &str, retry_after: Option<u64>) -> Failure {
    let message = match reason {
        "rateLimitExceeded" => "Rate Limit Exceeded",
        "userRateLimitExceeded" => "User-rate limit exceeded.",
        "dailyLimitExceeded" => "Daily Limit Exceeded",
        "quotaExceeded" => "Quota exceeded.",
        "backendError" => "Backend Error",
        "authError" => "Invalid Credentials",
        "insufficientPermissions" => "Request had insufficient authentication scopes.",
        _ => match code {
            429 => "Resource has been exhausted (e.g. check quota).",
            500 => "Internal error encountered.",
            503 => "The service is currently unavailable.",
            _ => "Error",
        },
    };
    Failure {
        status: code,
        body: error_body(code, reason, message).to_string(),
        retry_after,
    }
}

fn gmail_error(code: u16, reason: &str, message: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(code)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    let mut response = HttpResponse::build(status);
    if code == 401 {
        response.insert_header((
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
        ));
    }
    response.json(error_body(code, reason, message))
}

const CREDENTIALS_HELP: &str = "Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

/// 401 for a missing (`present` false) or invalid/expired token.
fn unauthenticated(present: bool) -> HttpResponse {
    if present {
        gmail_error(
            401,
            "authError",
            &format!("Request had invalid authentication credentials. {CREDENTIALS_HELP}"),
        )
    } else {
        gmail_error(
            401,
            "required",
            &format!("Request is missing required authentication credential. {CREDENTIALS_HELP}"),
        )
    }
}

/// An OAuth error of the token endpoint: `{"error","error_description"}`.
fn token_error(status: u16, error: &str, description: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-cache, no-store, max-age=0"))
        .json(json!({ "error": error, "error_description": description }))
}

fn routes(cfg: &mut ServiceConfig, data: web::Data<Shared>, log: web::Data<RequestLog>) {
    cfg.app_data(data).app_data(log).service(
        web::scope("")
            .wrap(from_fn(api::log_requests))
            .route("/o/oauth2/v2/auth", web::get().to(authorize))
            .route("/token", web::post().to(token))
            .route("/revoke", web::post().to(revoke))
            .route("/oauth2/v2/userinfo", web::get().to(userinfo_v2))
            .route("/oauth2/v3/userinfo", web::get().to(userinfo_v3))
            .route("/v1/userinfo", web::get().to(userinfo_v3))
            .route("/gmail/v1/users/{user}/messages/send", web::post().to(send))
            .route(
                "/upload/gmail/v1/users/{user}/messages/send",
                web::post().to(upload),
            )
            .route("/gmail/v1/users/{user}/messages", web::get().to(list))
            .route("/gmail/v1/users/{user}/messages/{id}", web::get().to(get))
            .route("/gmail/v1/users/{user}/history", web::get().to(history))
            .route("/gmail/v1/users/{user}/profile", web::get().to(profile))
            .route("/_fake/messages", web::get().to(control_sent))
            .route("/_fake/inbox", web::get().to(control_inbox))
            .route("/_fake/inbound", web::post().to(control_inbound))
            .route("/_fake/expire-tokens", web::post().to(control_expire))
            .route("/_fake/revoke-tokens", web::post().to(control_revoke))
            .route("/_fake/expire-history", web::post().to(control_history))
            .default_service(web::to(not_found)),
    );
}

async fn not_found() -> HttpResponse {
    gmail_error(404, "notFound", "Requested entity was not found.")
}

// ---- OAuth --------------------------------------------------------------------------------

async fn authorize(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let query = api::query(&req);
    let get = |name: &str| api::param(&query, name);
    let invalid = |message: &str| api::page(400, "Error 400: invalid_request", message);
    let client_id = get("client_id").unwrap_or_default();
    if client_id.is_empty() {
        return invalid("Missing required parameter: client_id");
    }
    if client_id != shared.config.client_id {
        return api::page(
            400,
            "Error 401: invalid_client",
            "The OAuth client was not found.",
        );
    }
    let Some(redirect_uri) = get("redirect_uri") else {
        return invalid("Missing required parameter: redirect_uri");
    };
    if !api::redirectable(redirect_uri) {
        return api::page(
            400,
            "Error 400: redirect_uri_mismatch",
            &format!("Invalid redirect_uri: {redirect_uri}"),
        );
    }
    match get("response_type") {
        Some("code") => {}
        Some(other) => {
            return api::page(
                400,
                "Error 400: unsupported_response_type",
                &format!("Unsupported response_type: {other}"),
            );
        }
        None => return invalid("Missing required parameter: response_type"),
    }
    let scope = get("scope").unwrap_or_default();
    if scope.trim().is_empty() {
        return invalid("Missing required parameter: scope");
    }
    let scopes = normalize_scopes(scope);
    let mut state = lock(&shared.state);
    let denied = state.denials > 0;
    if denied {
        state.denials -= 1;
    }
    let code = (!denied).then(|| format!("4/0A{}", server::random_alnum(70)));
    state.consents.push(Consent {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scope: scope.to_owned(),
        state: get("state").map(str::to_owned),
        code: code.clone(),
        query: query.clone(),
    });
    if let Some(code) = &code {
        state.tokens.codes.insert(
            code.clone(),
            Code {
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                scopes: scopes.clone(),
                offline: get("access_type") == Some("offline"),
                challenge: Challenge::from_query(&query),
                used: false,
            },
        );
    }
    drop(state);
    let joined = scopes.join(" ");
    let mut params: Vec<(&str, &str)> = Vec::new();
    if let Some(state) = get("state") {
        params.push(("state", state));
    }
    match &code {
        Some(code) => {
            params.push(("code", code));
            params.push(("scope", &joined));
            params.push(("authuser", "0"));
            params.push(("prompt", "consent"));
        }
        None => params.push(("error", "access_denied")),
    }
    api::redirect(redirect_uri, &params)
}

async fn token(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let form = api::form(&body);
    let get = |name: &str| api::param(&form, name).filter(|value| !value.is_empty());
    let (client_id, client_secret) = api::client_credentials(&req, &form);
    let config = &shared.config;
    let Some(client_id) = client_id.filter(|id| !id.is_empty()) else {
        return token_error(
            400,
            "invalid_request",
            "Could not determine client ID from request.",
        );
    };
    if client_id != config.client_id {
        return token_error(401, "invalid_client", "The OAuth client was not found.");
    }
    if client_secret.as_deref() != Some(config.client_secret.as_str()) {
        return token_error(401, "invalid_client", "Unauthorized");
    }
    let mut state = lock(&shared.state);
    if let Some(failure) = state.token_failures.pop_front() {
        return server::failure_response(&failure);
    }
    match get("grant_type") {
        Some("authorization_code") => {
            let Some(code) = get("code") else {
                return token_error(400, "invalid_request", "Missing required parameter: code");
            };
            let Some(grant) = state.tokens.codes.get_mut(code) else {
                return token_error(400, "invalid_grant", "Malformed auth code.");
            };
            if grant.used || grant.client_id != client_id {
                return token_error(400, "invalid_grant", "Bad Request");
            }
            match get("redirect_uri") {
                Some(uri) if uri == grant.redirect_uri => {}
                Some(_) => return token_error(400, "redirect_uri_mismatch", "Bad Request"),
                None => {
                    return token_error(400, "invalid_request", "Missing parameter: redirect_uri");
                }
            }
            if let Some(challenge) = &grant.challenge
                && !challenge.verify(get("code_verifier"))
            {
                return token_error(400, "invalid_grant", "Invalid code verifier.");
            }
            grant.used = true;
            let (scopes, offline) = (grant.scopes.clone(), grant.offline);
            let body = state.issue(config, &scopes, offline);
            api::token_json(&body)
        }
        Some("refresh_token") => {
            let Some(refresh_token) = get("refresh_token") else {
                return token_error(
                    400,
                    "invalid_request",
                    "Missing required parameter: refresh_token",
                );
            };
            let scopes = match state.tokens.refresh.get(refresh_token) {
                Some(refresh) if !refresh.revoked && refresh.client_id == client_id => {
                    refresh.scopes.clone()
                }
                Some(refresh) if !refresh.revoked => {
                    return token_error(400, "unauthorized_client", "Unauthorized");
                }
                _ => {
                    return token_error(400, "invalid_grant", "Token has been expired or revoked.");
                }
            };
            let body = state.issue(config, &scopes, false);
            api::token_json(&body)
        }
        Some(other) => token_error(
            400,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {other}"),
        ),
        None => token_error(400, "unsupported_grant_type", "Invalid grant_type: "),
    }
}

async fn revoke(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let form = api::form(&body);
    let query = api::query(&req);
    let token = api::param(&form, "token").or_else(|| api::param(&query, "token"));
    let mut state = lock(&shared.state);
    let tokens = &mut state.tokens;
    let known = match token {
        Some(token) => {
            if let Some(refresh) = tokens.refresh.get_mut(token) {
                refresh.revoked = true;
                true
            } else if let Some(access) = tokens.access.get_mut(token) {
                access.expired = true;
                true
            } else {
                false
            }
        }
        None => false,
    };
    if known {
        HttpResponse::Ok().json(json!({}))
    } else {
        token_error(400, "invalid_token", "Token expired or revoked")
    }
}

/// The access token of `req` if it is valid; Google's 401 otherwise.
fn valid_token(req: &HttpRequest, shared: &Shared) -> Answer<Access> {
    let Some(token) = api::bearer(req) else {
        return Err(Box::new(unauthenticated(false)));
    };
    lock(&shared.state)
        .tokens
        .valid_access(&token)
        .cloned()
        .ok_or_else(|| Box::new(unauthenticated(true)))
}

async fn userinfo_v2(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let access = match valid_token(&req, &shared) {
        Ok(access) => access,
        Err(response) => return *response,
    };
    let state = lock(&shared.state);
    let mut body = json!({
        "id": state.subject,
        "picture": "https://lh3.googleusercontent.com/a/default-user=s96-c",
    });
    if access.allows(&[SCOPE_EMAIL]) {
        body["email"] = Value::String(state.account.clone());
        body["verified_email"] = Value::Bool(true);
    }
    HttpResponse::Ok().json(body)
}

async fn userinfo_v3(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let access = match valid_token(&req, &shared) {
        Ok(access) => access,
        Err(response) => return *response,
    };
    let state = lock(&shared.state);
    let mut body = json!({
        "sub": state.subject,
        "picture": "https://lh3.googleusercontent.com/a/default-user=s96-c",
    });
    if access.allows(&[SCOPE_EMAIL]) {
        body["email"] = Value::String(state.account.clone());
        body["email_verified"] = Value::Bool(true);
    }
    HttpResponse::Ok().json(body)
}

// ---- Gmail --------------------------------------------------------------------------------

/// Authentication, scopes and the user id of a Gmail call, then the scripted failures.
fn gate(req: &HttpRequest, shared: &Shared, user: &str, allowed: &[&str]) -> Answer<()> {
    let access = valid_token(req, shared)?;
    if !access.allows(allowed) {
        return Err(Box::new(gmail_error(
            403,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        )));
    }
    let mut state = lock(&shared.state);
    if user != "me" && !user.eq_ignore_ascii_case(&state.account) {
        return Err(Box::new(gmail_error(
            403,
            "forbidden",
            &format!("Delegation denied for {}", state.account),
        )));
    }
    if let Some(failure) = state.failures.pop_front() {
        return Err(Box::new(server::failure_response(&failure)));
    }
    Ok(())
}

async fn send(
    req: HttpRequest,
    user: web::Path<String>,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Err(response) = gate(&req, &shared, &user, SEND) {
        return *response;
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return gmail_error(
                400,
                "badRequest",
                &format!("Invalid JSON payload received. {err}"),
            );
        }
    };
    let raw = request["raw"].as_str().unwrap_or_default();
    if raw.is_empty() {
        return gmail_error(
            400,
            "invalidArgument",
            "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
        );
    }
    // Gmail wants base64url (RFC 4648 §5); `+`, `/` or line breaks fail to decode.
    let valid = raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=');
    let decoded = valid
        .then(|| mime::URL_LENIENT.decode(raw.trim_end_matches('=')).ok())
        .flatten();
    let Some(decoded) = decoded else {
        let start: String = raw.chars().take(40).collect();
        return gmail_error(
            400,
            "invalidArgument",
            &format!("Invalid value for ByteString: {start}"),
        );
    };
    let thread_id = request["threadId"].as_str().map(str::to_owned);
    accept_sent(
        &shared,
        String::from_utf8_lossy(&decoded).into_owned(),
        thread_id,
    )
}

/// `POST /upload/gmail/v1/users/{user}/messages/send?uploadType=media`: the message as the body.
async fn upload(
    req: HttpRequest,
    user: web::Path<String>,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Err(response) = gate(&req, &shared, &user, SEND) {
        return *response;
    }
    let query = api::query(&req);
    if api::param(&query, "uploadType") != Some("media") {
        return gmail_error(
            400,
            "badRequest",
            "The fake supports uploadType=media only.",
        );
    }
    accept_sent(&shared, String::from_utf8_lossy(&body).into_owned(), None)
}

fn accept_sent(shared: &Shared, raw: String, thread_id: Option<String>) -> HttpResponse {
    let headers = mime::message_headers(&raw);
    let mut recipients = 0;
    for name in ["To", "Cc", "Bcc"] {
        for address in mime::header_all(&headers, name)
            .into_iter()
            .flat_map(mime::split_addresses)
        {
            if !mime::valid_address(mime::bare_address(&address)) {
                return gmail_error(400, "invalidArgument", &format!("Invalid {name} header"));
            }
            recipients += 1;
        }
    }
    if recipients == 0 {
        return gmail_error(400, "invalidArgument", "Recipient address required");
    }
    let mut state = lock(&shared.state);
    let thread = match thread_id.as_deref().filter(|id| !id.is_empty()) {
        Some(thread_id) => {
            let in_thread: Vec<&GmailMessage> = state
                .messages
                .iter()
                .filter(|m| m.thread_id == thread_id)
                .collect();
            if in_thread.is_empty() {
                return gmail_error(404, "notFound", "Requested entity was not found.");
            }
            let replies = mime::header(&headers, "In-Reply-To").is_some()
                || mime::header(&headers, "References").is_some();
            let subject = mime::base_subject(mime::header(&headers, "Subject").unwrap_or_default());
            let same_subject = in_thread
                .iter()
                .any(|m| mime::base_subject(&m.subject) == subject);
            (replies && same_subject).then(|| thread_id.to_owned())
        }
        None => None,
    };
    let message = state.add(raw, &["SENT"], thread, thread_id);
    HttpResponse::Ok().json(json!({
        "id": message.id,
        "threadId": message.thread_id,
        "labelIds": message.label_ids,
    }))
}

/// The `pageToken` offset of a listing; `Err` with Google's 400 on a bad token.
fn page_offset(query: &[(String, String)]) -> Answer<usize> {
    match api::param(query, "pageToken") {
        None | Some("") => Ok(0),
        Some(token) => token
            .parse()
            .map_err(|_| Box::new(gmail_error(400, "invalidArgument", "Invalid pageToken"))),
    }
}

fn max_results(query: &[(String, String)]) -> usize {
    api::param(query, "maxResults")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 500)
}

async fn history(
    req: HttpRequest,
    user: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Err(response) = gate(&req, &shared, &user, METADATA) {
        return *response;
    }
    let query = api::query(&req);
    let Some(start) = api::param(&query, "startHistoryId") else {
        return gmail_error(
            400,
            "invalidArgument",
            "Missing required parameter: startHistoryId",
        );
    };
    let Ok(start) = start.parse::<u64>() else {
        return gmail_error(400, "invalidArgument", "Invalid startHistoryId");
    };
    let types = api::params(&query, "historyTypes");
    const KNOWN: [&str; 4] = [
        "messageAdded",
        "messageDeleted",
        "labelAdded",
        "labelRemoved",
    ];
    if let Some(bad) = types.iter().find(|t| !KNOWN.contains(t)) {
        return gmail_error(
            400,
            "invalidArgument",
            &format!("Invalid value for historyTypes: {bad}"),
        );
    }
    let added = types.is_empty() || types.contains(&"messageAdded");
    let label = api::param(&query, "labelId");
    let offset = match page_offset(&query) {
        Ok(offset) => offset,
        Err(response) => return *response,
    };
    let max = max_results(&query);
    let state = lock(&shared.state);
    if start < state.oldest_history_id {
        return gmail_error(404, "notFound", "Requested entity was not found.");
    }
    let records: Vec<Value> = state
        .history
        .iter()
        .filter(|(id, _)| added && *id > start)
        .filter(|(_, index)| {
            label.is_none_or(|label| state.messages[*index].label_ids.iter().any(|l| l == label))
        })
        .map(|(id, index)| {
            let message = &state.messages[*index];
            json!({
                "id": id.to_string(),
                "messages": [{ "id": message.id, "threadId": message.thread_id }],
                "messagesAdded": [{ "message": {
                    "id": message.id,
                    "threadId": message.thread_id,
                    "labelIds": message.label_ids,
                } }],
            })
        })
        .collect();
    let mut body = json!({ "historyId": state.history_id.to_string() });
    // Google leaves empty lists out.
    let page: Vec<Value> = records.iter().skip(offset).take(max).cloned().collect();
    if !page.is_empty() {
        body["history"] = Value::Array(page);
    }
    if offset + max < records.len() {
        body["nextPageToken"] = Value::String((offset + max).to_string());
    }
    HttpResponse::Ok().json(body)
}

async fn list(
    req: HttpRequest,
    user: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Err(response) = gate(&req, &shared, &user, METADATA) {
        return *response;
    }
    let query = api::query(&req);
    let q = api::param(&query, "q").unwrap_or_default();
    let labels = api::params(&query, "labelIds");
    let offset = match page_offset(&query) {
        Ok(offset) => offset,
        Err(response) => return *response,
    };
    let max = max_results(&query);
    let state = lock(&shared.state);
    let found: Vec<&GmailMessage> = state
        .messages
        .iter()
        .rev()
        .filter(|m| {
            labels
                .iter()
                .all(|l| m.label_ids.iter().any(|have| have == l))
        })
        .filter(|m| matches_query(m, q))
        .collect();
    let mut body = json!({ "resultSizeEstimate": found.len() });
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(max)
        .map(|m| json!({ "id": m.id, "threadId": m.thread_id }))
        .collect();
    if !page.is_empty() {
        body["messages"] = Value::Array(page);
    }
    if offset + max < found.len() {
        body["nextPageToken"] = Value::String((offset + max).to_string());
    }
    HttpResponse::Ok().json(body)
}

/// Whether `message` matches Gmail search `q` (a subset: `in:`, `label:`, `is:unread`,
/// `from:`, `to:`, `cc:`, `subject:`, `rfc822msgid:`, `after:`, `before:`, `newer_than:`,
/// `older_than:`, `-` negation, and plain words searched in the whole message).
fn matches_query(message: &GmailMessage, q: &str) -> bool {
    terms(q).iter().all(|term| {
        let (negated, term) = match term.strip_prefix('-') {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, term.as_str()),
        };
        term_matches(message, term) != negated
    })
}

/// Search terms split on spaces outside double quotes, quotes removed.
fn terms(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut current, mut quoted) = (String::new(), false);
    for c in q.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn term_matches(message: &GmailMessage, term: &str) -> bool {
    let lower = term.to_lowercase();
    let has_label = |label: &str| {
        message
            .label_ids
            .iter()
            .any(|l| l.eq_ignore_ascii_case(label))
    };
    let contains = |haystack: &str, needle: &str| haystack.to_lowercase().contains(needle);
    let Some((op, value)) = lower.split_once(':').filter(|(_, v)| !v.is_empty()) else {
        return contains(&message.raw, &lower);
    };
    let millis = message.internal_date;
    match op {
        "in" | "label" => value == "anywhere" || has_label(value),
        "is" => match value {
            "unread" => has_label("UNREAD"),
            "read" => !has_label("UNREAD"),
            other => has_label(other),
        },
        "from" => contains(&message.from, value),
        "to" => message
            .to
            .iter()
            .chain(&message.cc)
            .any(|a| contains(a, value)),
        "cc" => message.cc.iter().any(|a| contains(a, value)),
        "bcc" => message.bcc.iter().any(|a| contains(a, value)),
        "subject" => contains(&message.subject, value),
        "rfc822msgid" => {
            mime::bare_id(&message.message_id).eq_ignore_ascii_case(mime::bare_id(value))
        }
        "after" | "newer" => date_millis(value).is_some_and(|t| millis > t),
        "before" | "older" => date_millis(value).is_some_and(|t| millis < t),
        "newer_than" => {
            age_millis(value).is_some_and(|age| millis > Utc::now().timestamp_millis() - age)
        }
        "older_than" => {
            age_millis(value).is_some_and(|age| millis < Utc::now().timestamp_millis() - age)
        }
        _ => contains(&message.raw, &lower),
    }
}

/// `after:`/`before:` values: epoch seconds, or a date as `2026/01/31` or `2026-01-31`.
fn date_millis(value: &str) -> Option<i64> {
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(seconds * 1000);
    }
    let date = NaiveDate::parse_from_str(&value.replace('-', "/"), "%Y/%m/%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// `newer_than:`/`older_than:` values: `12h`, `2d`, `1m` (30 days), `1y` (365 days).
fn age_millis(value: &str) -> Option<i64> {
    let (number, unit) = value.split_at(value.len().checked_sub(1)?);
    let number: i64 = number.parse().ok()?;
    let hours = match unit {
        "h" => 1,
        "d" => 24,
        "m" => 24 * 30,
        "y" => 24 * 365,
        _ => return None,
    };
    Some(number * hours * 3_600_000)
}

async fn get(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (user, id) = path.into_inner();
    let query = api::query(&req);
    let format = api::param(&query, "format")
        .unwrap_or("full")
        .to_ascii_lowercase();
    let allowed = match format.as_str() {
        "full" | "raw" => READ,
        "metadata" | "minimal" => METADATA,
        _ => {
            return gmail_error(
                400,
                "invalidArgument",
                &format!("Invalid value at 'format': {format}"),
            );
        }
    };
    if let Err(response) = gate(&req, &shared, &user, allowed) {
        return *response;
    }
    let state = lock(&shared.state);
    let Some(message) = state.messages.iter().find(|m| m.id == id) else {
        return gmail_error(404, "notFound", "Requested entity was not found.");
    };
    let wanted = api::params(&query, "metadataHeaders");
    HttpResponse::Ok().json(message_json(message, &format, &wanted))
}

fn message_json(message: &GmailMessage, format: &str, metadata_headers: &[&str]) -> Value {
    let root = mime::parse(&message.raw);
    let mut body = json!({
        "id": message.id,
        "threadId": message.thread_id,
        "labelIds": message.label_ids,
        "snippet": snippet(&root),
        "sizeEstimate": message.raw.len(),
        "historyId": message.history_id,
        "internalDate": message.internal_date.to_string(),
    });
    match format {
        "raw" => body["raw"] = Value::String(URL_SAFE.encode(&message.raw)),
        "minimal" => {}
        "metadata" => {
            let headers: Vec<Value> = message
                .headers
                .iter()
                .filter(|(name, _)| {
                    metadata_headers.is_empty()
                        || metadata_headers
                            .iter()
                            .any(|w| w.eq_ignore_ascii_case(name))
                })
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect();
            body["payload"] = json!({ "mimeType": root.mime_type, "headers": headers });
        }
        _ => body["payload"] = payload(&root, "", &message.id),
    }
    body
}

/// Gmail's `payload` tree: `partId` `""` at the top, `0`, `1`, `1.0` below; leaves carry
/// base64url `body.data` (attachments an `attachmentId` instead).
fn payload(part: &mime::Part, part_id: &str, message_id: &str) -> Value {
    let headers: Vec<Value> = part
        .headers
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": mime::decode_words(value) }))
        .collect();
    let mut out = json!({
        "partId": part_id,
        "mimeType": part.mime_type,
        "filename": part.filename.clone().unwrap_or_default(),
        "headers": headers,
    });
    if part.parts.is_empty() {
        out["body"] = if part.filename.is_some() {
            json!({
                "attachmentId": format!("ANGjdJ{}", URL_SAFE_NO_PAD.encode(format!("{message_id}:{part_id}"))),
                "size": part.body.len(),
            })
        } else if part.body.is_empty() {
            json!({ "size": 0 })
        } else {
            json!({ "size": part.body.len(), "data": URL_SAFE.encode(&part.body) })
        };
    } else {
        out["body"] = json!({ "size": 0 });
        out["parts"] = part
            .parts
            .iter()
            .enumerate()
            .map(|(i, child)| {
                let id = if part_id.is_empty() {
                    i.to_string()
                } else {
                    format!("{part_id}.{i}")
                };
                payload(child, &id, message_id)
            })
            .collect();
    }
    out
}

/// The start of the text, whitespace collapsed and HTML-escaped, as Gmail's `snippet`.
fn snippet(root: &mime::Part) -> String {
    let text = root
        .find("text/plain")
        .map(mime::Part::text)
        .unwrap_or_default();
    let collapsed: Vec<&str> = text.split_whitespace().collect();
    let short: String = collapsed.join(" ").chars().take(200).collect();
    api::escape_html(&short)
}

async fn profile(
    req: HttpRequest,
    user: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Err(response) = gate(&req, &shared, &user, PROFILE) {
        return *response;
    }
    let state = lock(&shared.state);
    let threads: HashSet<&str> = state
        .messages
        .iter()
        .map(|m| m.thread_id.as_str())
        .collect();
    HttpResponse::Ok().json(json!({
        "emailAddress": state.account,
        "messagesTotal": state.messages.len(),
        "threadsTotal": threads.len(),
        "historyId": state.history_id.to_string(),
    }))
}

// ---- Control endpoints --------------------------------------------------------------------

async fn control_sent(shared: web::Data<Shared>) -> HttpResponse {
    let state = lock(&shared.state);
    let sent: Vec<&GmailMessage> = state
        .messages
        .iter()
        .filter(|m| m.label_ids.iter().any(|l| l == "SENT"))
        .collect();
    HttpResponse::Ok().json(sent)
}

async fn control_inbox(shared: web::Data<Shared>) -> HttpResponse {
    let state = lock(&shared.state);
    let inbox: Vec<&GmailMessage> = state
        .messages
        .iter()
        .filter(|m| m.label_ids.iter().any(|l| l == "INBOX"))
        .collect();
    HttpResponse::Ok().json(inbox)
}

/// Body of `POST /_fake/inbound`: a reply arriving in the inbox.
#[derive(serde::Deserialize)]
struct InboundRequest {
    from: String,
    subject: String,
    text: String,
    html: Option<String>,
    /// The Message-ID replied to; `"last"` means the last message sent.
    in_reply_to: Option<String>,
}

async fn control_inbound(
    shared: web::Data<Shared>,
    request: web::Json<InboundRequest>,
) -> HttpResponse {
    let request = request.into_inner();
    let mut state = lock(&shared.state);
    let in_reply_to = match request.in_reply_to.as_deref() {
        Some("last") => state
            .messages
            .iter()
            .rev()
            .find(|m| m.label_ids.iter().any(|l| l == "SENT"))
            .map(|m| m.message_id.clone()),
        other => other.map(str::to_owned),
    };
    let raw = mime::build(&mime::Inbound {
        from: &request.from,
        to: &state.account.clone(),
        subject: &request.subject,
        text: &request.text,
        html: request.html.as_deref(),
        message_id: &format!("CA+{}@mail.gmail.com", server::random_alnum(40)),
        in_reply_to: in_reply_to.as_deref(),
        date: Utc::now(),
    });
    let message = state.deliver(raw);
    HttpResponse::Ok().json(json!({
        "id": message.id,
        "threadId": message.thread_id,
        "historyId": message.history_id,
    }))
}

async fn control_expire(shared: web::Data<Shared>) -> HttpResponse {
    lock(&shared.state).tokens.expire_access();
    HttpResponse::NoContent().finish()
}

async fn control_revoke(shared: web::Data<Shared>) -> HttpResponse {
    lock(&shared.state).tokens.revoke_refresh();
    HttpResponse::NoContent().finish()
}

async fn control_history(shared: web::Data<Shared>) -> HttpResponse {
    let mut state = lock(&shared.state);
    state.oldest_history_id = state.history_id;
    let oldest = state.oldest_history_id;
    state.history.retain(|(id, _)| *id > oldest);
    HttpResponse::NoContent().finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(raw: &str, labels: &[&str]) -> GmailMessage {
        let mut state = State::new();
        state.add(raw.to_owned(), labels, None, None)
    }

    #[test]
    fn search_subset() {
        let m = message(
            "From: Alice <alice@example.com>\r\nTo: owner@loanfactory.test\r\nSubject: Re: Loan offer\r\nMessage-ID: <abc@x.test>\r\n\r\nSounds good\r\n",
            &INBOX_LABELS,
        );
        assert!(matches_query(&m, "in:inbox from:alice@example.com"));
        assert!(matches_query(&m, "subject:\"loan offer\" is:unread"));
        assert!(matches_query(&m, "rfc822msgid:abc@x.test"));
        assert!(matches_query(&m, "newer_than:2d -in:sent"));
        assert!(matches_query(&m, "after:2020/01/01 sounds"));
        assert!(!matches_query(&m, "in:sent"));
        assert!(!matches_query(&m, "before:2020-01-01"));
        assert!(!matches_query(&m, "older_than:1d"));
    }

    #[test]
    fn messages_get_a_message_id_and_history() {
        let m = message("To: a@x.test\r\nSubject: Hi\r\n\r\nHello\r\n", &["SENT"]);
        assert!(m.message_id.starts_with("<CA+fake") && m.message_id.ends_with("@mail.gmail.com>"));
        assert!(m.raw.starts_with("Message-ID: <CA+fake"));
        assert_eq!(m.id.len(), 16);
        assert_eq!(m.thread_id, m.id);
        let payload = payload(&mime::parse(&m.raw), "", &m.id);
        assert_eq!(payload["mimeType"], "text/plain");
        assert_eq!(payload["body"]["data"], URL_SAFE.encode("Hello\r\n"));
    }

    #[test]
    fn failure_shapes() {
        let f = failure(429, "rateLimitExceeded", Some(7));
        let body: Value = serde_json::from_str(&f.body).unwrap();
        assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
        assert_eq!(body["error"]["errors"][0]["reason"], "rateLimitExceeded");
        assert_eq!(f.retry_after, Some(7));
        let body = error_body(503, "backendError", "Backend Error");
        assert_eq!(body["error"]["errors"][0]["domain"], "global");
        assert_eq!(body["error"]["status"], "UNAVAILABLE");
    }
}
