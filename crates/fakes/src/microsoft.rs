//! Fake Microsoft 365 (PROVIDERS.md section 4) on one loopback server: the identity platform
//! under `/{tenant}/oauth2/v2.0/` (an authorize endpoint whose consent approves at once unless
//! told to deny, and a token endpoint for the authorization-code grant with PKCE, refresh with
//! rotation and client credentials; AADSTS error JSON; one resource per access token), and the
//! Graph mail API under `/v1.0/`: `me`, `sendMail` (JSON and MIME forms; `202` with an empty
//! body), inbox `messages`, `messages/{id}` and `messages/delta` (nextLink/deltaLink paging,
//! `@removed` entries, `410` once delta tokens expire). Graph errors use Graph's envelope,
//! throttling answers can be scripted, access tokens expired and refresh tokens revoked.
//! Control endpoints for the demo live under `/_fake/`.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::Failure;
use crate::api::{
    self, Access, Challenge, Code, Consent, RecordedRequest, Refresh, RequestLog, Tokens,
};
use crate::mime;
use crate::server::{self, Running, lock};
use crate::smtp::TokenCheck;

/// An early answer (an error response) of a helper, boxed because responses are large.
type Answer<T> = Result<T, Box<HttpResponse>>;

/// The mailbox's address (mail and userPrincipalName) unless [`FakeMicrosoft::set_account`]
/// changes it.
pub const DEFAULT_ACCOUNT: &str = "owner@loanfactory.test";

/// The Graph resource; scopes without a resource (`Mail.Send`) belong to it.
pub const GRAPH: &str = "https://graph.microsoft.com";
/// The Exchange Online resource of SMTP and IMAP tokens.
pub const OUTLOOK: &str = "https://outlook.office.com";
pub const SCOPE_MAIL_SEND: &str = "https://graph.microsoft.com/Mail.Send";
pub const SCOPE_MAIL_READ: &str = "https://graph.microsoft.com/Mail.Read";
pub const SCOPE_USER_READ: &str = "https://graph.microsoft.com/User.Read";
/// The scope of SMTP AUTH XOAUTH2 tokens (a Graph token is refused there).
pub const SCOPE_SMTP_SEND: &str = "https://outlook.office.com/SMTP.Send";

/// OpenID Connect scopes: no resource of their own.
const OIDC: [&str; 4] = ["openid", "profile", "email", "offline_access"];

const SEND: &[&str] = &[SCOPE_MAIL_SEND];
/// Enough to list messages without bodies.
const READ_BASIC: &[&str] = &[
    "https://graph.microsoft.com/Mail.ReadBasic",
    SCOPE_MAIL_READ,
    "https://graph.microsoft.com/Mail.ReadWrite",
];
/// Needed for bodies and headers.
const READ_BODY: &[&str] = &[
    SCOPE_MAIL_READ,
    "https://graph.microsoft.com/Mail.ReadWrite",
];
const USER: &[&str] = &[
    SCOPE_USER_READ,
    "https://graph.microsoft.com/User.ReadWrite",
    "https://graph.microsoft.com/User.ReadBasic.All",
    "https://graph.microsoft.com/User.Read.All",
    "https://graph.microsoft.com/Directory.Read.All",
];

/// The id of the inbox folder (`parentFolderId` of inbox messages; also accepted in paths).
pub const INBOX_FOLDER_ID: &str = "AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAADfakeinboxAQ";

const DEFAULT_PAGE_SIZE: usize = 10;

/// The one app registration the fake knows, and the tenant in its URLs (`common`,
/// `organizations`, a tenant id or a domain).
#[derive(Clone, Debug)]
pub struct MicrosoftConfig {
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
}

/// One message accepted by `sendMail`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GraphMessage {
    pub subject: String,
    /// `Text` or `HTML` as sent (JSON form; any case Graph accepts); for the MIME form, `HTML`
    /// when the MIME has an HTML part.
    pub content_type: String,
    pub content: String,
    /// Bare addresses.
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub reply_to: Vec<String>,
    /// `message.from` (JSON form) or the `From` header (MIME form), if given.
    pub from: Option<String>,
    /// As given (JSON `internetMessageId` or the MIME `Message-ID`), or made up like
    /// Exchange's.
    pub internet_message_id: String,
    /// `internetMessageHeaders` (JSON form) or every MIME header, decoded (MIME form).
    pub headers: Vec<(String, String)>,
    pub save_to_sent_items: bool,
    /// The decoded MIME message (MIME form).
    pub mime: Option<String>,
    /// The request body (JSON form).
    pub request: Option<Value>,
    pub conversation_id: String,
}

impl GraphMessage {
    /// The value of header `name`, compared without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        mime::header(&self.headers, name)
    }
}

/// A fake Microsoft identity platform + Graph server on 127.0.0.1. Dropping it stops the
/// server.
pub struct FakeMicrosoft {
    shared: Arc<Shared>,
    server: Running,
}

struct Shared {
    config: MicrosoftConfig,
    log: Arc<RequestLog>,
    state: Mutex<State>,
}

/// A message in the fake inbox.
#[derive(Clone, Debug)]
struct InboxMessage {
    id: String,
    /// The change number of its last change (delivery or removal).
    seq: u64,
    removed: bool,
    subject: String,
    from: String,
    from_name: Option<String>,
    to: String,
    text: String,
    html: Option<String>,
    internet_message_id: String,
    in_reply_to: Option<String>,
    conversation_id: String,
    received: DateTime<Utc>,
    change_key: String,
}

struct State {
    account: String,
    user_id: String,
    tenant_id: String,
    tokens: Tokens,
    consents: Vec<Consent>,
    denials: usize,
    strict_rotation: bool,
    sent: Vec<GraphMessage>,
    inbox: Vec<InboxMessage>,
    /// The number of the last change to the inbox.
    seq: u64,
    /// Delta tokens of an older generation answer 410.
    delta_generation: u64,
    failures: VecDeque<Failure>,
    token_failures: VecDeque<Failure>,
}

/// A scope as the fake records it: OIDC scopes lowercase, bare Graph permissions with the
/// Graph resource in front.
fn normalize(scope: &str) -> String {
    let lower = scope.to_ascii_lowercase();
    if OIDC.contains(&lower.as_str()) {
        lower
    } else if scope.contains("://") {
        scope.to_owned()
    } else {
        format!("{GRAPH}/{scope}")
    }
}

fn normalize_scopes(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in api::split_scopes(scope) {
        let scope = normalize(&scope);
        if !out.iter().any(|s| s.eq_ignore_ascii_case(&scope)) {
            out.push(scope);
        }
    }
    out
}

/// The resource of a scope, lowercase (`https://graph.microsoft.com`); `None` for OIDC scopes.
fn resource_of(scope: &str) -> Option<String> {
    if OIDC.contains(&scope) {
        return None;
    }
    scope
        .rsplit_once('/')
        .map(|(resource, _)| resource.to_ascii_lowercase())
}

/// The `scope` of a token answer: Graph permissions by their short names, others in full.
fn scope_string(scopes: &[String]) -> String {
    scopes
        .iter()
        .filter(|scope| *scope != "offline_access")
        .map(|scope| {
            scope
                .strip_prefix(&format!("{GRAPH}/"))
                .unwrap_or(scope)
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The identity platform's error body (PROVIDERS.md 4.1).
fn aad_body(error: &str, code: u32, description: &str) -> Value {
    let trace = api::uuid();
    let correlation = api::uuid();
    let timestamp = Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    })
}

fn aad_error(status: u16, error: &str, code: u32, description: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store, no-cache"))
        .json(aad_body(error, code, description))
}

fn missing(name: &str) -> HttpResponse {
    aad_error(
        400,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
    )
}

/// Graph's error body (PROVIDERS.md 4.3): `{"error":{"code","message","innerError":{...}}}`.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": api::uuid(),
                "client-request-id": api::uuid(),
            },
        }
    })
}

/// A scripted Graph failure, e.g. `failure(429, "TooManyRequests", "Too many requests",
/// Some(5))`, `failure(429, "ApplicationThrottled", "Application is over its
/// MailboxConcurrency limit.", Some(1))`, `failure(503, "ServiceNotAvailable", "...", None)`.
pub fn failure(status: u16, code: &str, message: &str, retry_after: Option<u64>) -> Failure {
    Failure {
        status,
        body: error_body(code, message).to_string(),
        retry_after,
    }
}

/// Graph's throttling answer: 429, `TooManyRequests`, `Retry-After: seconds`.
pub fn throttled(retry_after: u64) -> Failure {
    failure(
        429,
        "TooManyRequests",
        "Too many requests, retry after some time.",
        Some(retry_after),
    )
}

fn graph_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let http = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    let mut response = HttpResponse::build(http);
    if status == 401 {
        response.insert_header((
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        ));
    }
    response.json(error_body(code, message))
}

impl State {
    fn new() -> State {
        State {
            account: DEFAULT_ACCOUNT.to_owned(),
            user_id: api::uuid(),
            tenant_id: api::uuid(),
            tokens: Tokens::default(),
            consents: Vec::new(),
            denials: 0,
            strict_rotation: false,
            sent: Vec::new(),
            inbox: Vec::new(),
            seq: 0,
            delta_generation: 0,
            failures: VecDeque::new(),
            token_failures: VecDeque::new(),
        }
    }

    fn display_name(&self) -> String {
        let local = self.account.split('@').next().unwrap_or_default();
        let mut chars = local.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }

    /// An access token for `scopes` (one resource).
    fn new_access(
        &mut self,
        config: &MicrosoftConfig,
        scopes: &[String],
        app_only: bool,
    ) -> String {
        let audience = scopes
            .iter()
            .find_map(|scope| resource_of(scope))
            .unwrap_or_else(|| GRAPH.to_owned());
        let now = Utc::now().timestamp();
        let short = scope_string(scopes);
        let mut claims = json!({
            "aud": audience,
            "iss": format!("https://sts.windows.net/{}/", self.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + 3599,
            "appid": config.client_id,
            "tid": self.tenant_id,
            "ver": "1.0",
            "jti": server::random_alnum(22),
        });
        if app_only {
            claims["roles"] = Value::Array(
                short
                    .split(' ')
                    .map(|r| Value::String(r.to_owned()))
                    .collect(),
            );
        } else {
            claims["scp"] = Value::String(short);
            claims["upn"] = Value::String(self.account.clone());
            claims["unique_name"] = Value::String(self.account.clone());
            claims["oid"] = Value::String(self.user_id.clone());
        }
        let token = api::fake_jwt(&claims);
        self.tokens.access.insert(
            token.clone(),
            Access {
                scopes: scopes.to_vec(),
                audience,
                expired: false,
                app_only,
            },
        );
        token
    }

    fn new_refresh(
        &mut self,
        config: &MicrosoftConfig,
        consented: &[String],
        last: &[String],
    ) -> String {
        let token = format!("0.AX{}", server::random_alnum(180));
        self.tokens.refresh.insert(
            token.clone(),
            Refresh {
                client_id: config.client_id.clone(),
                scopes: consented.to_vec(),
                last_scopes: last.to_vec(),
                revoked: false,
            },
        );
        token
    }

    /// The token endpoint's answer for a user token.
    fn token_body(
        &mut self,
        config: &MicrosoftConfig,
        scopes: &[String],
        refresh: Option<String>,
    ) -> Value {
        let access_token = self.new_access(config, scopes, false);
        let mut body = json!({
            "token_type": "Bearer",
            "scope": scope_string(scopes),
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": access_token,
        });
        if let Some(refresh) = refresh {
            body["refresh_token"] = Value::String(refresh);
        }
        if scopes.iter().any(|s| s == "openid") {
            let now = Utc::now().timestamp();
            let mut claims = json!({
                "aud": config.client_id,
                "iss": format!("https://login.microsoftonline.com/{}/v2.0", self.tenant_id),
                "iat": now,
                "nbf": now,
                "exp": now + 3599,
                "name": self.display_name(),
                "oid": self.user_id,
                "preferred_username": self.account,
                "sub": URL_SAFE_NO_PAD.encode(self.user_id.as_bytes()),
                "tid": self.tenant_id,
                "ver": "2.0",
            });
            if scopes.iter().any(|s| s == "email") {
                claims["email"] = Value::String(self.account.clone());
            }
            body["id_token"] = Value::String(api::fake_jwt(&claims));
        }
        body
    }

    fn conversation_of(&self, parent: &str) -> Option<String> {
        let parent = mime::bare_id(parent);
        self.sent
            .iter()
            .find(|m| mime::bare_id(&m.internet_message_id) == parent)
            .map(|m| m.conversation_id.clone())
            .or_else(|| {
                self.inbox
                    .iter()
                    .find(|m| mime::bare_id(&m.internet_message_id) == parent)
                    .map(|m| m.conversation_id.clone())
            })
    }
}

fn new_conversation_id() -> String {
    format!("AAQkAG{}=", server::random_alnum(60))
}

/// The scopes of a token to issue: `requested` (or everything consented) cut to one resource,
/// each of them consented. `Err` is the identity platform's answer.
fn token_scopes(
    requested: Option<&[String]>,
    consented: &[String],
    client_id: &str,
) -> Answer<Vec<String>> {
    let wanted: Vec<String> = requested.unwrap_or(consented).to_vec();
    let mut resources: Vec<String> = Vec::new();
    for resource in wanted.iter().filter_map(|s| resource_of(s)) {
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }
    if requested.is_some() && resources.len() > 1 {
        return Err(Box::new(aad_error(
            400,
            "invalid_scope",
            28000,
            &format!(
                "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {} is not valid.",
                wanted.join(" ")
            ),
        )));
    }
    let resource = resources.first().cloned();
    let mut chosen: Vec<String> = Vec::new();
    for scope in wanted {
        match resource_of(&scope) {
            None => chosen.push(scope),
            Some(r) if Some(&r) != resource.as_ref() => {}
            Some(r) if scope.ends_with("/.default") => chosen.extend(
                consented
                    .iter()
                    .filter(|c| resource_of(c).as_ref() == Some(&r))
                    .cloned(),
            ),
            Some(_) => {
                if !consented.iter().any(|c| c.eq_ignore_ascii_case(&scope)) {
                    return Err(Box::new(aad_error(
                        400,
                        "invalid_grant",
                        65001,
                        &format!(
                            "The user or administrator has not consented to use the application with ID '{client_id}' named 'pi-crm'. Send an interactive authorization request for this user and resource."
                        ),
                    )));
                }
                chosen.push(scope);
            }
        }
    }
    Ok(chosen)
}

impl FakeMicrosoft {
    /// Starts the fake on a free loopback port.
    pub fn start(config: MicrosoftConfig) -> io::Result<FakeMicrosoft> {
        FakeMicrosoft::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts the fake on `addr` (the demo binary uses a fixed port).
    pub fn start_on(config: MicrosoftConfig, addr: SocketAddr) -> io::Result<FakeMicrosoft> {
        let log = Arc::new(RequestLog::default());
        let shared = Arc::new(Shared {
            config,
            log: log.clone(),
            state: Mutex::new(State::new()),
        });
        let data = web::Data::from(shared.clone());
        let log = web::Data::from(log);
        let server = Running::start("microsoft", addr, move |cfg: &mut ServiceConfig| {
            routes(cfg, data.clone(), log.clone());
        })?;
        Ok(FakeMicrosoft { shared, server })
    }

    /// `http://127.0.0.1:PORT`: the Graph base (in place of `https://graph.microsoft.com`) and
    /// the login base (in place of `https://login.microsoftonline.com`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// `{base}/{tenant}/oauth2/v2.0/authorize`.
    pub fn authorize_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/authorize",
            self.base_url(),
            self.shared.config.tenant
        )
    }

    /// `{base}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.base_url(),
            self.shared.config.tenant
        )
    }

    /// The mailbox's address.
    pub fn account(&self) -> String {
        lock(&self.shared.state).account.clone()
    }

    /// Changes the mailbox's address (`/me`, id tokens, SMTP token checks, later inbound mail).
    pub fn set_account(&self, email: &str) {
        lock(&self.shared.state).account = email.to_owned();
    }

    /// Every message `sendMail` accepted, in order.
    pub fn sent(&self) -> Vec<GraphMessage> {
        lock(&self.shared.state).sent.clone()
    }

    /// Every request answered so far (identity platform and Graph), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log.0).clone()
    }

    /// Every visit to the consent screen, in order.
    pub fn consents(&self) -> Vec<Consent> {
        lock(&self.shared.state).consents.clone()
    }

    /// Queues `failure` as the answer to the next Graph call that passes authentication (see
    /// [`throttled`] and [`failure`]). Several calls queue several failures.
    pub fn fail_next(&self, failure: Failure) {
        lock(&self.shared.state).failures.push_back(failure);
    }

    /// Queues `failure` as the answer to the next token request from the right client.
    pub fn fail_next_token(&self, failure: Failure) {
        lock(&self.shared.state).token_failures.push_back(failure);
    }

    /// The next visit to the consent screen redirects with `error=access_denied` (AADSTS65004).
    pub fn deny_next_consent(&self) {
        lock(&self.shared.state).denials += 1;
    }

    /// Every refresh token issued so far now answers `invalid_grant` (AADSTS70008).
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.shared.state).tokens.revoke_refresh();
    }

    /// Every access token issued so far now answers 401 `InvalidAuthenticationToken`
    /// ("Lifetime validation failed, the token is expired.").
    pub fn expire_access_tokens(&self) {
        lock(&self.shared.state).tokens.expire_access();
    }

    /// Off by default: a redeemed refresh token stays valid next to the new one it returned
    /// (Microsoft's behaviour). On: redeeming one revokes it, so a client that does not store
    /// the rotated token fails on its next refresh.
    pub fn set_strict_rotation(&self, strict: bool) {
        lock(&self.shared.state).strict_rotation = strict;
    }

    /// Every delta and skip token handed out so far now answers `410 Gone`.
    pub fn expire_delta_tokens(&self) {
        lock(&self.shared.state).delta_generation += 1;
    }

    /// Issues tokens for `scope` (space-separated; `offline_access` implied) without the
    /// browser flow: `(access token, refresh token)`. The access token is for the first
    /// resource named.
    pub fn issue_tokens(&self, scope: &str) -> (String, String) {
        let consented = normalize_scopes(scope);
        let scopes = token_scopes(None, &consented, &self.shared.config.client_id)
            .unwrap_or_else(|_| consented.clone());
        let mut state = lock(&self.shared.state);
        let refresh = state.new_refresh(&self.shared.config, &consented, &scopes);
        let access = state.new_access(&self.shared.config, &scopes, false);
        (access, refresh)
    }

    /// Delivers a message from `from` to the inbox (a new change for delta); returns its Graph
    /// id. The body is `html` when given (`contentType: html`), `text` otherwise; `text` is
    /// also the preview. `in_reply_to` (a Message-ID) appears as `In-Reply-To`/`References` in
    /// `internetMessageHeaders`, and puts the message in that message's conversation.
    pub fn deliver_inbound(
        &self,
        from: &str,
        subject: &str,
        text: &str,
        html: Option<&str>,
        in_reply_to: Option<&str>,
    ) -> String {
        deliver(
            &mut lock(&self.shared.state),
            from,
            subject,
            text,
            html,
            in_reply_to,
        )
    }

    /// Deletes an inbox message: the next delta round reports it as `@removed`. False when
    /// there is no such message.
    pub fn delete_inbound(&self, id: &str) -> bool {
        let mut state = lock(&self.shared.state);
        state.seq += 1;
        let seq = state.seq;
        match state.inbox.iter_mut().find(|m| m.id == id && !m.removed) {
            Some(message) => {
                message.removed = true;
                message.seq = seq;
                true
            }
            None => false,
        }
    }

    /// A check for [`crate::FakeSmtp::accept_tokens`]: XOAUTH2 succeeds for the mailbox's
    /// address with an unexpired access token of this fake for `https://outlook.office.com`
    /// with `SMTP.Send`. Graph tokens are refused, as Exchange does.
    pub fn smtp_token_check(&self) -> TokenCheck {
        let shared = self.shared.clone();
        Arc::new(move |user: &str, token: &str| {
            let state = lock(&shared.state);
            user.eq_ignore_ascii_case(&state.account)
                && state.tokens.valid_access(token).is_some_and(|access| {
                    access.audience.eq_ignore_ascii_case(OUTLOOK)
                        && access.allows(&[SCOPE_SMTP_SEND])
                })
        })
    }

    /// Stops the server now (dropping the fake does the same).
    pub fn stop(&mut self) {
        self.server.stop();
    }
}

fn deliver(
    state: &mut State,
    from: &str,
    subject: &str,
    text: &str,
    html: Option<&str>,
    in_reply_to: Option<&str>,
) -> String {
    let conversation_id = in_reply_to
        .and_then(|parent| state.conversation_of(parent))
        .unwrap_or_else(new_conversation_id);
    let address = mime::bare_address(from).to_owned();
    let domain = address
        .rsplit_once('@')
        .map_or("mail.example.test", |(_, domain)| domain)
        .to_owned();
    state.seq += 1;
    let message = InboxMessage {
        id: format!("AAMkAG{}=", server::random_alnum(140)),
        seq: state.seq,
        removed: false,
        subject: subject.to_owned(),
        from: address,
        from_name: mime::display_name(from),
        to: state.account.clone(),
        text: text.to_owned(),
        html: html.map(str::to_owned),
        internet_message_id: format!("<{}@{domain}>", server::random_alnum(32)),
        in_reply_to: in_reply_to.map(mime::bracketed),
        conversation_id,
        received: Utc::now(),
        change_key: server::random_alnum(40),
    };
    let id = message.id.clone();
    state.inbox.push(message);
    id
}

fn routes(cfg: &mut ServiceConfig, data: web::Data<Shared>, log: web::Data<RequestLog>) {
    cfg.app_data(data).app_data(log).service(
        web::scope("")
            .wrap(from_fn(api::log_requests))
            .route("/{tenant}/oauth2/v2.0/authorize", web::get().to(authorize))
            .route("/{tenant}/oauth2/v2.0/token", web::post().to(token))
            .route("/v1.0/me", web::get().to(me))
            .route("/v1.0/users/{user}", web::get().to(me))
            .route("/v1.0/me/sendMail", web::post().to(send_mail))
            .route("/v1.0/users/{user}/sendMail", web::post().to(send_mail))
            .route(
                "/v1.0/me/mailFolders/{folder}/messages/delta",
                web::get().to(delta),
            )
            .route(
                "/v1.0/users/{user}/mailFolders/{folder}/messages/delta",
                web::get().to(delta),
            )
            .route(
                "/v1.0/me/mailFolders/{folder}/messages",
                web::get().to(list),
            )
            .route(
                "/v1.0/users/{user}/mailFolders/{folder}/messages",
                web::get().to(list),
            )
            .route("/v1.0/me/messages/{id}", web::get().to(get_message))
            .route(
                "/v1.0/users/{user}/messages/{id}",
                web::get().to(get_message),
            )
            .route("/_fake/messages", web::get().to(control_sent))
            .route("/_fake/inbound", web::post().to(control_inbound))
            .route("/_fake/expire-tokens", web::post().to(control_expire))
            .route("/_fake/revoke-tokens", web::post().to(control_revoke))
            .route("/_fake/expire-delta", web::post().to(control_delta))
            .default_service(web::to(not_found)),
    );
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    graph_error(
        400,
        "BadRequest",
        &format!("Resource not found for the segment '{}'.", req.path()),
    )
}

// ---- Identity platform --------------------------------------------------------------------

async fn authorize(
    req: HttpRequest,
    tenant: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let query = api::query(&req);
    let get = |name: &str| api::param(&query, name).filter(|v| !v.is_empty());
    let config = &shared.config;
    let sign_in_error = |code: u32, message: &str| {
        api::page(
            400,
            "Sorry, but we're having trouble signing you in.",
            &format!("AADSTS{code}: {message}"),
        )
    };
    if !tenant.eq_ignore_ascii_case(&config.tenant) {
        return sign_in_error(
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let Some(client_id) = get("client_id") else {
        return sign_in_error(
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    if client_id != config.client_id {
        return sign_in_error(
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        );
    }
    let Some(redirect_uri) = get("redirect_uri") else {
        return sign_in_error(
            900144,
            "The request body must contain the following parameter: 'redirect_uri'.",
        );
    };
    if !api::redirectable(redirect_uri) {
        return sign_in_error(
            50011,
            &format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'."
            ),
        );
    }
    if let Some(mode) = get("response_mode")
        && mode != "query"
    {
        return sign_in_error(
            900144,
            &format!("The fake supports response_mode=query only, not '{mode}'."),
        );
    }
    let state_param = get("state");
    let redirect_error = |error: &str, description: String| {
        let mut params = vec![
            ("error", error),
            ("error_description", description.as_str()),
        ];
        if let Some(state) = state_param {
            params.push(("state", state));
        }
        api::redirect(redirect_uri, &params)
    };
    match get("response_type") {
        Some("code") => {}
        other => {
            return redirect_error(
                "unsupported_response_type",
                format!(
                    "AADSTS700054: response_type '{}' is not enabled for the application.",
                    other.unwrap_or_default()
                ),
            );
        }
    }
    let Some(scope) = get("scope") else {
        return redirect_error(
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'scope'.".into(),
        );
    };
    let scopes = normalize_scopes(scope);
    let mut state = lock(&shared.state);
    let denied = state.denials > 0;
    if denied {
        state.denials -= 1;
    }
    let code = (!denied).then(|| format!("1.AX{}", server::random_alnum(160)));
    state.consents.push(Consent {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scope: scope.to_owned(),
        state: state_param.map(str::to_owned),
        code: code.clone(),
        query: query.clone(),
    });
    let Some(code) = code else {
        drop(state);
        return redirect_error(
            "access_denied",
            "AADSTS65004: User declined to consent to access the app.".into(),
        );
    };
    state.tokens.codes.insert(
        code.clone(),
        Code {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            offline: scopes.iter().any(|s| s == "offline_access"),
            scopes,
            challenge: Challenge::from_query(&query),
            used: false,
        },
    );
    drop(state);
    let session_state = api::uuid();
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = state_param {
        params.push(("state", state));
    }
    params.push(("session_state", &session_state));
    api::redirect(redirect_uri, &params)
}

async fn token(
    req: HttpRequest,
    tenant: web::Path<String>,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let config = &shared.config;
    if !tenant.eq_ignore_ascii_case(&config.tenant) {
        return aad_error(
            400,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let form = api::form(&body);
    let get = |name: &str| api::param(&form, name).filter(|v| !v.is_empty());
    let Some(grant_type) = get("grant_type") else {
        return missing("grant_type");
    };
    let (client_id, client_secret) = api::client_credentials(&req, &form);
    let Some(client_id) = client_id.filter(|id| !id.is_empty()) else {
        return missing("client_id");
    };
    if client_id != config.client_id {
        return aad_error(
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    match client_secret.filter(|s| !s.is_empty()) {
        None => {
            return aad_error(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
        Some(secret) if secret != config.client_secret => {
            return aad_error(
                401,
                "invalid_client",
                7000215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
        Some(_) => {}
    }
    let mut state = lock(&shared.state);
    if let Some(failure) = state.token_failures.pop_front() {
        return server::failure_response(&failure);
    }
    let requested = get("scope").map(normalize_scopes);
    match grant_type {
        "authorization_code" => {
            let Some(code) = get("code") else {
                return missing("code");
            };
            let Some(grant) = state.tokens.codes.get_mut(code) else {
                return aad_error(
                    400,
                    "invalid_grant",
                    70000,
                    "The provided value for the 'code' parameter is not valid.",
                );
            };
            if grant.client_id != client_id {
                return aad_error(
                    400,
                    "invalid_grant",
                    70000,
                    "The provided value for the 'code' parameter is not valid. The code was issued to a different client.",
                );
            }
            if grant.used {
                return aad_error(
                    400,
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
                );
            }
            match get("redirect_uri") {
                Some(uri) if uri == grant.redirect_uri => {}
                Some(uri) => {
                    return aad_error(
                        400,
                        "invalid_grant",
                        500112,
                        &format!(
                            "The reply address '{uri}' does not match the reply address '{}' provided when requesting Authorization code.",
                            grant.redirect_uri
                        ),
                    );
                }
                None => return missing("redirect_uri"),
            }
            if let Some(challenge) = &grant.challenge
                && !challenge.verify(get("code_verifier"))
            {
                return aad_error(
                    400,
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                );
            }
            grant.used = true;
            let (consented, offline) = (grant.scopes.clone(), grant.offline);
            let scopes = match token_scopes(requested.as_deref(), &consented, &client_id) {
                Ok(scopes) => scopes,
                Err(response) => return *response,
            };
            let refresh = offline.then(|| state.new_refresh(config, &consented, &scopes));
            let body = state.token_body(config, &scopes, refresh);
            api::token_json(&body)
        }
        "refresh_token" => {
            let Some(token) = get("refresh_token") else {
                return missing("refresh_token");
            };
            let Some(refresh) = state.tokens.refresh.get(token).cloned() else {
                return aad_error(
                    400,
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid.",
                );
            };
            if refresh.revoked {
                return aad_error(
                    400,
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
                );
            }
            if refresh.client_id != client_id {
                return aad_error(
                    400,
                    "invalid_grant",
                    70000,
                    "The refresh token was issued to a different client.",
                );
            }
            let scopes = match &requested {
                Some(requested) => {
                    match token_scopes(Some(requested), &refresh.scopes, &client_id) {
                        Ok(scopes) => scopes,
                        Err(response) => return *response,
                    }
                }
                None => refresh.last_scopes.clone(),
            };
            if state.strict_rotation
                && let Some(old) = state.tokens.refresh.get_mut(token)
            {
                old.revoked = true;
            }
            let rotated = state.new_refresh(config, &refresh.scopes, &scopes);
            let body = state.token_body(config, &scopes, Some(rotated));
            api::token_json(&body)
        }
        "client_credentials" => {
            let Some(scope) = get("scope") else {
                return missing("scope");
            };
            let Some(resource) = scope.trim().strip_suffix("/.default") else {
                return aad_error(
                    400,
                    "invalid_scope",
                    1002012,
                    &format!(
                        "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                    ),
                );
            };
            let roles: Vec<String> = ["Mail.Send", "Mail.ReadWrite", "User.Read.All"]
                .iter()
                .map(|role| format!("{resource}/{role}"))
                .collect();
            let access_token = state.new_access(config, &roles, true);
            api::token_json(&json!({
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": access_token,
            }))
        }
        other => aad_error(
            400,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        ),
    }
}

// ---- Graph --------------------------------------------------------------------------------

/// Authentication (token, audience, lifetime), the user of the path, the permissions
/// (`denied` is the error code and message when they are missing), then the scripted
/// failures. Answers the access token.
fn gate(
    req: &HttpRequest,
    shared: &Shared,
    allowed: &[&str],
    denied: (&str, &str),
) -> Answer<Access> {
    let unauthorized = |message: &str| graph_error(401, "InvalidAuthenticationToken", message);
    let Some(token) = api::bearer(req) else {
        return Err(Box::new(unauthorized("Access token is empty.")));
    };
    let mut state = lock(&shared.state);
    let Some(access) = state.tokens.access.get(&token).cloned() else {
        return Err(Box::new(unauthorized(
            "Access token validation failure. Invalid signature.",
        )));
    };
    if access.expired {
        return Err(Box::new(unauthorized(
            "Lifetime validation failed, the token is expired.",
        )));
    }
    if !access.audience.eq_ignore_ascii_case(GRAPH) {
        return Err(Box::new(unauthorized(
            "Access token validation failure. Invalid audience.",
        )));
    }
    match req.match_info().get("user") {
        None if access.app_only => {
            return Err(Box::new(graph_error(
                400,
                "BadRequest",
                "/me request is only valid with delegated authentication flow.",
            )));
        }
        Some(user)
            if !user.eq_ignore_ascii_case(&state.account)
                && !user.eq_ignore_ascii_case(&state.user_id) =>
        {
            return Err(Box::new(graph_error(
                404,
                "ErrorInvalidUser",
                &format!("The requested user '{user}' is invalid."),
            )));
        }
        _ => {}
    }
    if !access.allows(allowed) {
        return Err(Box::new(graph_error(403, denied.0, denied.1)));
    }
    if let Some(failure) = state.failures.pop_front() {
        return Err(Box::new(server::failure_response(&failure)));
    }
    Ok(access)
}

const MAIL_DENIED: (&str, &str) = (
    "ErrorAccessDenied",
    "Access is denied. Check credentials and try again.",
);

async fn me(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    if let Err(response) = gate(
        &req,
        &shared,
        USER,
        (
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
    ) {
        return *response;
    }
    let state = lock(&shared.state);
    let name = state.display_name();
    HttpResponse::Ok().json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
        "businessPhones": [],
        "displayName": name,
        "givenName": name,
        "jobTitle": null,
        "mail": state.account,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": "en-US",
        "surname": null,
        "userPrincipalName": state.account,
        "id": state.user_id,
    }))
}

async fn send_mail(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    if let Err(response) = gate(&req, &shared, SEND, MAIL_DENIED) {
        return *response;
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let parsed = if content_type.starts_with("text/plain") {
        mime_message(&body)
    } else {
        json_message(&body)
    };
    let mut message = match parsed {
        Ok(message) => message,
        Err(response) => return *response,
    };
    let mut state = lock(&shared.state);
    let parent = message
        .header("In-Reply-To")
        .map(str::to_owned)
        .filter(|_| message.mime.is_some());
    message.conversation_id = parent
        .and_then(|parent| state.conversation_of(&parent))
        .unwrap_or_else(new_conversation_id);
    state.sent.push(message);
    // 202 with an empty body: no message id comes back (PROVIDERS.md 4.2).
    HttpResponse::Accepted().finish()
}

fn invalid_recipient(address: &str) -> HttpResponse {
    graph_error(
        400,
        "ErrorInvalidRecipients",
        &format!(
            "At least one recipient is not valid., Recipient '{address}' is not resolved. All recipients must be resolved before a message can be submitted."
        ),
    )
}

fn no_recipients() -> HttpResponse {
    graph_error(
        400,
        "ErrorInvalidRecipients",
        "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
    )
}

fn new_internet_message_id() -> String {
    format!(
        "<{}@PH0PR11MB{:04}.namprd11.prod.outlook.com>",
        server::random_alnum(36),
        rand::random::<u16>() % 10_000
    )
}

/// The MIME form: the body is the base64 of a whole MIME message.
fn mime_message(body: &[u8]) -> Answer<GraphMessage> {
    let cleaned: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let decoded = if cleaned.is_empty() {
        None
    } else {
        mime::LENIENT.decode(&cleaned).ok()
    };
    let Some(decoded) = decoded else {
        return Err(Box::new(graph_error(
            400,
            "ErrorMimeContentInvalidBase64String",
            "Invalid base64 string for MIME content.",
        )));
    };
    let raw = String::from_utf8_lossy(&decoded).into_owned();
    let headers = mime::message_headers(&raw);
    let list = |name: &str| -> Answer<Vec<String>> {
        let mut out = Vec::new();
        for address in mime::header_all(&headers, name)
            .into_iter()
            .flat_map(mime::split_addresses)
        {
            let bare = mime::bare_address(&address);
            if !mime::valid_address(bare) {
                return Err(Box::new(invalid_recipient(bare)));
            }
            out.push(bare.to_owned());
        }
        Ok(out)
    };
    let (to, cc, bcc, reply_to) = (list("To")?, list("Cc")?, list("Bcc")?, list("Reply-To")?);
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err(Box::new(no_recipients()));
    }
    let root = mime::parse(&raw);
    let (content_type, content) = match (root.find("text/html"), root.find("text/plain")) {
        (Some(html), _) => ("HTML", html.text()),
        (None, Some(text)) => ("Text", text.text()),
        (None, None) => ("Text", String::new()),
    };
    Ok(GraphMessage {
        subject: mime::header(&headers, "Subject")
            .unwrap_or_default()
            .to_owned(),
        content_type: content_type.into(),
        content,
        to,
        cc,
        bcc,
        reply_to,
        from: mime::header(&headers, "From").map(str::to_owned),
        internet_message_id: mime::header(&headers, "Message-ID")
            .map(str::to_owned)
            .unwrap_or_else(new_internet_message_id),
        save_to_sent_items: true,
        mime: Some(raw),
        request: None,
        conversation_id: String::new(),
        headers,
    })
}

/// The JSON form: `{"message":{...},"saveToSentItems":bool}`.
fn json_message(body: &[u8]) -> Answer<GraphMessage> {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Err(Box::new(graph_error(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )));
    };
    let Some(message) = request.get("message").filter(|m| m.is_object()) else {
        return Err(Box::new(graph_error(
            400,
            "ErrorInvalidParameter",
            "The value of the parameter 'Message' is empty.",
        )));
    };
    let list = |key: &str| -> Answer<Vec<String>> {
        let mut out = Vec::new();
        for recipient in message[key].as_array().into_iter().flatten() {
            let address = recipient["emailAddress"]["address"]
                .as_str()
                .unwrap_or_default()
                .trim();
            if !mime::valid_address(address) {
                return Err(Box::new(invalid_recipient(address)));
            }
            out.push(address.to_owned());
        }
        Ok(out)
    };
    let (to, cc, bcc, reply_to) = (
        list("toRecipients")?,
        list("ccRecipients")?,
        list("bccRecipients")?,
        list("replyTo")?,
    );
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err(Box::new(no_recipients()));
    }
    let content_type = message["body"]["contentType"]
        .as_str()
        .unwrap_or("Text")
        .to_owned();
    if !["text", "html"].contains(&content_type.to_ascii_lowercase().as_str()) {
        return Err(Box::new(graph_error(
            400,
            "RequestBodyRead",
            &format!("Requested value '{content_type}' was not found."),
        )));
    }
    let mut headers = Vec::new();
    for entry in message["internetMessageHeaders"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = entry["name"].as_str().unwrap_or_default();
        if !name.to_ascii_lowercase().starts_with("x-") {
            return Err(Box::new(graph_error(
                400,
                "InvalidInternetMessageHeader",
                &format!(
                    "The internet message header name '{name}' should start with 'x-' or 'X-'."
                ),
            )));
        }
        headers.push((
            name.to_owned(),
            entry["value"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    Ok(GraphMessage {
        subject: message["subject"].as_str().unwrap_or_default().to_owned(),
        content_type,
        content: message["body"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        to,
        cc,
        bcc,
        reply_to,
        from: message["from"]["emailAddress"]["address"]
            .as_str()
            .map(str::to_owned),
        internet_message_id: message["internetMessageId"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(new_internet_message_id),
        headers,
        save_to_sent_items: request["saveToSentItems"].as_bool().unwrap_or(true),
        mime: None,
        request: Some(request.clone()),
        conversation_id: String::new(),
    })
}

/// `odata.maxpagesize` and `outlook.body-content-type` from the `Prefer` headers.
fn preferences(req: &HttpRequest) -> (Option<usize>, Option<String>) {
    let mut page = None;
    let mut body = None;
    for value in req.headers().get_all("prefer") {
        for preference in value.to_str().unwrap_or_default().split(',') {
            let preference = preference.trim();
            if let Some(size) = preference.strip_prefix("odata.maxpagesize=") {
                page = size.trim().parse().ok();
            } else if let Some(kind) = preference.strip_prefix("outlook.body-content-type=") {
                body = Some(kind.trim().trim_matches('"').to_ascii_lowercase());
            }
        }
    }
    (page, body)
}

fn folder_ok(req: &HttpRequest) -> Answer<()> {
    let folder = req.match_info().get("folder").unwrap_or_default();
    if folder.eq_ignore_ascii_case("inbox") || folder == INBOX_FOLDER_ID {
        Ok(())
    } else {
        Err(Box::new(graph_error(
            404,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        )))
    }
}

/// `$select` as a list.
fn select_list(select: &str) -> Vec<String> {
    select
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A message as Graph renders it: `select` limits the properties (`internetMessageHeaders`
/// only when selected), `body_pref` is `Prefer: outlook.body-content-type`, and without a
/// permission that reads bodies the body, preview and headers are left out.
fn render(
    message: &InboxMessage,
    select: &[String],
    body_pref: Option<&str>,
    bodies: bool,
) -> Value {
    let (content_type, content) = match (body_pref, &message.html) {
        (Some("text"), _) => ("text", message.text.clone()),
        (_, Some(html)) => ("html", html.clone()),
        (Some("html"), None) => (
            "html",
            format!(
                "<html><head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body><div>{}</div></body></html>",
                api::escape_html(&message.text).replace('\n', "<br>\r\n")
            ),
        ),
        (_, None) => ("text", message.text.clone()),
    };
    let person = |address: &str, name: Option<&str>| json!({ "emailAddress": { "name": name.unwrap_or(address), "address": address } });
    let from = person(&message.from, message.from_name.as_deref());
    let time = message.received.to_rfc3339_opts(SecondsFormat::Secs, true);
    let preview: String = message
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(255)
        .collect();
    let mut headers = vec![
        json!({ "name": "From", "value": match &message.from_name {
            Some(name) => format!("{name} <{}>", message.from),
            None => message.from.clone(),
        } }),
        json!({ "name": "To", "value": message.to }),
        json!({ "name": "Subject", "value": message.subject }),
        json!({ "name": "Date", "value": message.received.to_rfc2822() }),
        json!({ "name": "Message-ID", "value": message.internet_message_id }),
    ];
    if let Some(parent) = &message.in_reply_to {
        headers.push(json!({ "name": "In-Reply-To", "value": parent }));
        headers.push(json!({ "name": "References", "value": parent }));
    }
    headers.push(json!({ "name": "MIME-Version", "value": "1.0" }));
    let mut full = json!({
        "@odata.type": "#microsoft.graph.message",
        "@odata.etag": format!("W/\"{}\"", message.change_key),
        "id": message.id,
        "createdDateTime": time,
        "lastModifiedDateTime": time,
        "changeKey": message.change_key,
        "categories": [],
        "receivedDateTime": time,
        "sentDateTime": time,
        "hasAttachments": false,
        "internetMessageId": message.internet_message_id,
        "subject": message.subject,
        "bodyPreview": preview,
        "importance": "normal",
        "parentFolderId": INBOX_FOLDER_ID,
        "conversationId": message.conversation_id,
        "isDeliveryReceiptRequested": false,
        "isReadReceiptRequested": false,
        "isRead": false,
        "isDraft": false,
        "webLink": format!("https://outlook.office365.com/owa/?ItemID={}&exvsurl=1&viewmodel=ReadMessageItem", message.id),
        "inferenceClassification": "focused",
        "body": { "contentType": content_type, "content": content },
        "sender": from,
        "from": from,
        "toRecipients": [person(&message.to, None)],
        "ccRecipients": [],
        "bccRecipients": [],
        "replyTo": [],
        "flag": { "flagStatus": "notFlagged" },
    });
    if !select.is_empty() {
        let Value::Object(all) = &mut full else {
            return full;
        };
        let mut kept = Map::new();
        for (key, value) in std::mem::take(all) {
            let always = matches!(key.as_str(), "@odata.type" | "@odata.etag" | "id");
            if always || select.iter().any(|s| s.eq_ignore_ascii_case(&key)) {
                kept.insert(key, value);
            }
        }
        if select
            .iter()
            .any(|s| s.eq_ignore_ascii_case("internetMessageHeaders"))
        {
            kept.insert("internetMessageHeaders".into(), Value::Array(headers));
        }
        full = Value::Object(kept);
    }
    if !bodies && let Value::Object(all) = &mut full {
        for key in [
            "body",
            "bodyPreview",
            "uniqueBody",
            "internetMessageHeaders",
        ] {
            all.remove(key);
        }
    }
    full
}

/// Where a delta round stands; carried, opaque, in `$skiptoken` and `$deltatoken`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cursor {
    generation: u64,
    /// Changes after this one...
    from: u64,
    /// ...up to this one belong to the round.
    upto: u64,
    offset: usize,
    /// The first round: removed messages are left out.
    initial: bool,
    select: String,
    change_type: String,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.generation,
            self.from,
            self.upto,
            self.offset,
            u8::from(self.initial),
            self.select,
            self.change_type
        ))
    }

    fn decode(token: &str) -> Option<Cursor> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
        let fields: Vec<&str> = text.splitn(7, '|').collect();
        let [generation, from, upto, offset, initial, select, change_type] = fields[..] else {
            return None;
        };
        Some(Cursor {
            generation: generation.parse().ok()?,
            from: from.parse().ok()?,
            upto: upto.parse().ok()?,
            offset: offset.parse().ok()?,
            initial: initial == "1",
            select: select.to_owned(),
            change_type: change_type.to_owned(),
        })
    }
}

fn base_link(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}{}", info.scheme(), info.host(), req.path())
}

fn with_preferences(page: Option<usize>, body: Option<&str>) -> Option<String> {
    let mut applied = Vec::new();
    if let Some(page) = page {
        applied.push(format!("odata.maxpagesize={page}"));
    }
    if let Some(body) = body {
        applied.push(format!("outlook.body-content-type=\"{body}\""));
    }
    (!applied.is_empty()).then(|| applied.join(", "))
}

async fn delta(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let access = match gate(&req, &shared, READ_BASIC, MAIL_DENIED) {
        Ok(access) => access,
        Err(response) => return *response,
    };
    if let Err(response) = folder_ok(&req) {
        return *response;
    }
    let query = api::query(&req);
    let (page_pref, body_pref) = preferences(&req);
    let state = lock(&shared.state);
    let bad_token = || graph_error(400, "BadRequest", "The delta or skip token is not valid.");
    let cursor = if let Some(token) = api::param(&query, "$skiptoken") {
        match Cursor::decode(token) {
            Some(cursor) => cursor,
            None => return bad_token(),
        }
    } else if let Some(token) = api::param(&query, "$deltatoken") {
        match Cursor::decode(token) {
            Some(previous) => Cursor {
                from: previous.upto,
                upto: state.seq,
                offset: 0,
                initial: false,
                ..previous
            },
            None => return bad_token(),
        }
    } else {
        Cursor {
            generation: state.delta_generation,
            from: 0,
            upto: state.seq,
            offset: 0,
            initial: true,
            select: api::param(&query, "$select").unwrap_or_default().to_owned(),
            change_type: api::param(&query, "changeType")
                .unwrap_or_default()
                .to_ascii_lowercase(),
        }
    };
    if cursor.generation < state.delta_generation {
        return graph_error(
            410,
            "SyncStateNotFound",
            "The sync state generation is no longer valid. Start a full synchronization again.",
        );
    }
    let mut changes: Vec<&InboxMessage> = state
        .inbox
        .iter()
        .filter(|m| m.seq > cursor.from && m.seq <= cursor.upto)
        .filter(|m| !(cursor.initial && m.removed))
        .filter(|m| match cursor.change_type.as_str() {
            "created" => !m.removed,
            "deleted" => m.removed,
            "updated" => false,
            _ => true,
        })
        .collect();
    changes.sort_by_key(|m| m.seq);
    let size = page_pref
        .or_else(|| api::param(&query, "$top").and_then(|t| t.parse().ok()))
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, 1000);
    let select = select_list(&cursor.select);
    let bodies = access.allows(READ_BODY);
    let value: Vec<Value> = changes
        .iter()
        .skip(cursor.offset)
        .take(size)
        .map(|m| {
            if m.removed {
                json!({
                    "@odata.type": "#microsoft.graph.message",
                    "id": m.id,
                    "@removed": { "reason": "deleted" },
                })
            } else {
                render(m, &select, body_pref.as_deref(), bodies)
            }
        })
        .collect();
    let base = base_link(&req);
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(message)",
        "value": value,
    });
    if cursor.offset + size < changes.len() {
        let next = Cursor {
            offset: cursor.offset + size,
            ..cursor.clone()
        };
        body["@odata.nextLink"] = Value::String(format!("{base}?$skiptoken={}", next.encode()));
    } else {
        let done = Cursor {
            offset: 0,
            initial: false,
            ..cursor.clone()
        };
        body["@odata.deltaLink"] = Value::String(format!("{base}?$deltatoken={}", done.encode()));
    }
    let mut response = HttpResponse::Ok();
    if let Some(applied) = with_preferences(page_pref, body_pref.as_deref()) {
        response.insert_header(("Preference-Applied", applied));
    }
    response.json(body)
}

/// `$filter=receivedDateTime ge|gt|le|lt <ISO 8601>`; `Ok(None)` without a filter.
fn received_filter(filter: Option<&str>) -> Answer<Option<(String, DateTime<Utc>)>> {
    let Some(filter) = filter.filter(|f| !f.trim().is_empty()) else {
        return Ok(None);
    };
    let parts: Vec<&str> = filter.split_whitespace().collect();
    let invalid = || {
        graph_error(
            400,
            "ErrorInvalidUrlQueryFilter",
            "The fake supports only $filter=receivedDateTime ge|gt|le|lt <date>.",
        )
    };
    let [property, op, value] = parts[..] else {
        return Err(Box::new(invalid()));
    };
    if !property.eq_ignore_ascii_case("receivedDateTime") || !["ge", "gt", "le", "lt"].contains(&op)
    {
        return Err(Box::new(invalid()));
    }
    let time = DateTime::parse_from_rfc3339(value.trim_matches('\''))
        .map_err(|_| Box::new(invalid()))?
        .with_timezone(&Utc);
    Ok(Some((op.to_owned(), time)))
}

async fn list(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let access = match gate(&req, &shared, READ_BASIC, MAIL_DENIED) {
        Ok(access) => access,
        Err(response) => return *response,
    };
    if let Err(response) = folder_ok(&req) {
        return *response;
    }
    let query = api::query(&req);
    let (_, body_pref) = preferences(&req);
    let filter = match received_filter(api::param(&query, "$filter")) {
        Ok(filter) => filter,
        Err(response) => return *response,
    };
    let top = api::param(&query, "$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, 1000);
    let skip = api::param(&query, "$skip")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let select = select_list(api::param(&query, "$select").unwrap_or_default());
    let bodies = access.allows(READ_BODY);
    let state = lock(&shared.state);
    let mut found: Vec<&InboxMessage> = state
        .inbox
        .iter()
        .filter(|m| !m.removed)
        .filter(|m| match &filter {
            None => true,
            Some((op, time)) => match op.as_str() {
                "ge" => m.received >= *time,
                "gt" => m.received > *time,
                "le" => m.received <= *time,
                _ => m.received < *time,
            },
        })
        .collect();
    found.sort_by(|a, b| b.received.cmp(&a.received).then(b.seq.cmp(&a.seq)));
    let value: Vec<Value> = found
        .iter()
        .skip(skip)
        .take(top)
        .map(|m| render(m, &select, body_pref.as_deref(), bodies))
        .collect();
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('me')/mailFolders('inbox')/messages",
        "value": value,
    });
    if skip + top < found.len() {
        let mut next: Vec<(String, String)> =
            query.into_iter().filter(|(k, _)| k != "$skip").collect();
        next.push(("$skip".into(), (skip + top).to_string()));
        let next = serde_urlencoded::to_string(&next).unwrap_or_default();
        body["@odata.nextLink"] = Value::String(format!("{}?{next}", base_link(&req)));
    }
    HttpResponse::Ok().json(body)
}

async fn get_message(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let access = match gate(&req, &shared, READ_BASIC, MAIL_DENIED) {
        Ok(access) => access,
        Err(response) => return *response,
    };
    let id = req.match_info().get("id").unwrap_or_default();
    let query = api::query(&req);
    let (_, body_pref) = preferences(&req);
    let select = select_list(api::param(&query, "$select").unwrap_or_default());
    let state = lock(&shared.state);
    match state.inbox.iter().find(|m| m.id == id && !m.removed) {
        Some(message) => HttpResponse::Ok().json(render(
            message,
            &select,
            body_pref.as_deref(),
            access.allows(READ_BODY),
        )),
        None => graph_error(
            404,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        ),
    }
}

// ---- Control endpoints --------------------------------------------------------------------

async fn control_sent(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(&lock(&shared.state).sent)
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
        Some("last") => state.sent.last().map(|m| m.internet_message_id.clone()),
        other => other.map(str::to_owned),
    };
    let id = deliver(
        &mut state,
        &request.from,
        &request.subject,
        &request.text,
        request.html.as_deref(),
        in_reply_to.as_deref(),
    );
    HttpResponse::Ok().json(json!({ "id": id }))
}

async fn control_expire(shared: web::Data<Shared>) -> HttpResponse {
    lock(&shared.state).tokens.expire_access();
    HttpResponse::NoContent().finish()
}

async fn control_revoke(shared: web::Data<Shared>) -> HttpResponse {
    lock(&shared.state).tokens.revoke_refresh();
    HttpResponse::NoContent().finish()
}

async fn control_delta(shared: web::Data<Shared>) -> HttpResponse {
    lock(&shared.state).delta_generation += 1;
    HttpResponse::NoContent().finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_normalize_and_split_by_resource() {
        let consented = normalize_scopes(
            "offline_access Mail.Send https://graph.microsoft.com/Mail.Read https://outlook.office.com/SMTP.Send",
        );
        assert_eq!(
            consented,
            [
                "offline_access",
                SCOPE_MAIL_SEND,
                SCOPE_MAIL_READ,
                SCOPE_SMTP_SEND
            ]
        );
        let graph = token_scopes(None, &consented, "c").unwrap();
        assert_eq!(graph, ["offline_access", SCOPE_MAIL_SEND, SCOPE_MAIL_READ]);
        assert_eq!(scope_string(&graph), "Mail.Send Mail.Read");
        let smtp = token_scopes(Some(&[SCOPE_SMTP_SEND.to_owned()]), &consented, "c").unwrap();
        assert_eq!(smtp, [SCOPE_SMTP_SEND]);
        assert_eq!(scope_string(&smtp), SCOPE_SMTP_SEND);
        let both = normalize_scopes("Mail.Send https://outlook.office.com/SMTP.Send");
        assert_eq!(
            token_scopes(Some(&both), &consented, "c")
                .unwrap_err()
                .status(),
            400
        );
        let more = normalize_scopes("Mail.ReadWrite");
        assert!(token_scopes(Some(&more), &consented, "c").is_err());
    }

    #[test]
    fn cursors_round_trip() {
        let cursor = Cursor {
            generation: 2,
            from: 5,
            upto: 9,
            offset: 10,
            initial: true,
            select: "id,subject,body".into(),
            change_type: "created".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not-a-token"), None);
    }

    #[test]
    fn aad_errors_have_the_documented_shape() {
        let body = aad_body("invalid_grant", 70008, "expired");
        assert_eq!(body["error_codes"], json!([70008]));
        let description = body["error_description"].as_str().unwrap();
        assert!(description.starts_with("AADSTS70008: expired\r\nTrace ID: "));
        assert!(description.contains("\r\nCorrelation ID: "));
        assert_eq!(
            body["error_uri"],
            "https://login.microsoftonline.com/error?code=70008"
        );
    }
}
