//! Plumbing shared by the OAuth-protected API fakes (Google and Microsoft): the token store
//! (authorization codes with PKCE, access tokens, refresh tokens), consent records, Bearer and
//! client-credential parsing, the request log, redirects and the small HTML pages of the fake
//! consent screens.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::server::{self, lock};

/// One visit to a fake consent screen (the authorization endpoint), approved or denied.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Consent {
    pub client_id: String,
    pub redirect_uri: String,
    /// The `scope` parameter as sent (space-separated).
    pub scope: String,
    pub state: Option<String>,
    /// The code handed to the redirect URI; `None` when the consent was denied.
    pub code: Option<String>,
    /// Every query parameter, in order (`access_type`, `prompt`, `response_mode`, ...).
    pub query: Vec<(String, String)>,
}

impl Consent {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.query, name)
    }
}

/// One request a fake answered (control endpoints under `/_fake/` are left out).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordedRequest {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The raw query string, empty when there was none.
    pub query: String,
    /// The HTTP status the fake answered.
    pub status: u16,
}

/// The request log of one fake, shared with the logging middleware through `app_data`.
#[derive(Default)]
pub(crate) struct RequestLog(pub(crate) Mutex<Vec<RecordedRequest>>);

/// Middleware recording every request outside `/_fake/` with the status it got.
pub(crate) async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let query = req.query_string().to_owned();
    let log = req.app_data::<web::Data<RequestLog>>().cloned();
    let response = next.call(req).await?;
    if let Some(log) = log
        && !path.starts_with("/_fake/")
    {
        lock(&log.0).push(RecordedRequest {
            method,
            path,
            query,
            status: response.status().as_u16(),
        });
    }
    Ok(response)
}

/// A PKCE challenge from the authorization request (RFC 7636).
#[derive(Clone, Debug)]
pub(crate) struct Challenge {
    pub method: String,
    pub value: String,
}

impl Challenge {
    /// The challenge of an authorization request, if it has one.
    pub fn from_query(query: &[(String, String)]) -> Option<Challenge> {
        let value = param(query, "code_challenge")?;
        Some(Challenge {
            method: param(query, "code_challenge_method")
                .unwrap_or("plain")
                .to_owned(),
            value: value.to_owned(),
        })
    }

    pub fn verify(&self, verifier: Option<&str>) -> bool {
        let Some(verifier) = verifier else {
            return false;
        };
        if self.method.eq_ignore_ascii_case("S256") {
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == self.value
        } else {
            verifier == self.value
        }
    }
}

/// What an authorization code stands for.
#[derive(Clone, Debug)]
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    /// Whether a refresh token comes with it (`access_type=offline` / `offline_access`).
    pub offline: bool,
    pub challenge: Option<Challenge>,
    pub used: bool,
}

/// What an access token allows.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    pub scopes: Vec<String>,
    /// The resource it was issued for (Microsoft); Google uses one audience.
    pub audience: String,
    pub expired: bool,
    /// Issued by the client-credentials grant (no signed-in user).
    pub app_only: bool,
}

impl Access {
    /// Whether any of `wanted` was granted (scope names compared without regard to case).
    pub fn allows(&self, wanted: &[&str]) -> bool {
        self.scopes
            .iter()
            .any(|scope| wanted.iter().any(|w| w.eq_ignore_ascii_case(scope)))
    }
}

/// What a refresh token can be redeemed for.
#[derive(Clone, Debug)]
pub(crate) struct Refresh {
    pub client_id: String,
    /// Everything consented to (Microsoft: every resource).
    pub scopes: Vec<String>,
    /// The scopes of the last access token issued from it.
    pub last_scopes: Vec<String>,
    pub revoked: bool,
}

/// Every code and token one fake issued.
#[derive(Default)]
pub(crate) struct Tokens {
    pub codes: HashMap<String, Code>,
    pub access: HashMap<String, Access>,
    pub refresh: HashMap<String, Refresh>,
}

impl Tokens {
    /// Makes every access token issued so far answer as expired.
    pub fn expire_access(&mut self) {
        for access in self.access.values_mut() {
            access.expired = true;
        }
    }

    /// Makes every refresh token issued so far answer `invalid_grant`.
    pub fn revoke_refresh(&mut self) {
        for refresh in self.refresh.values_mut() {
            refresh.revoked = true;
        }
    }

    /// The valid (not expired) access token `token`.
    pub fn valid_access(&self, token: &str) -> Option<&Access> {
        self.access.get(token).filter(|access| !access.expired)
    }
}

/// The form fields of a urlencoded body, in order (empty on a malformed body).
pub(crate) fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// The query parameters of `req`, in order.
pub(crate) fn query(req: &HttpRequest) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}

/// The first value of `name` in `pairs`.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Every value of `name` in `pairs`.
pub(crate) fn params<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .collect()
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The client id and secret of a token request: HTTP Basic (`client_secret_basic`) or form
/// fields (`client_secret_post`).
pub(crate) fn client_credentials(
    req: &HttpRequest,
    form: &[(String, String)],
) -> (Option<String>, Option<String>) {
    if let Some((id, secret)) = server::basic_auth(req) {
        let decode = |s: &str| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
                .ok()
                .and_then(|mut v| v.pop())
                .map(|(_, v)| v)
                .unwrap_or_else(|| s.to_owned())
        };
        return (Some(decode(&id)), Some(decode(&secret)));
    }
    (
        param(form, "client_id").map(str::to_owned),
        param(form, "client_secret").map(str::to_owned),
    )
}

/// Scope values split on spaces.
pub(crate) fn split_scopes(scope: &str) -> Vec<String> {
    scope.split_whitespace().map(str::to_owned).collect()
}

/// A 302 to `uri` with `params` added to its query string.
pub(crate) fn redirect(uri: &str, params: &[(&str, &str)]) -> HttpResponse {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let (base, fragment) = match uri.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (uri, None),
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let mut location = format!("{base}{separator}{query}");
    if let Some(fragment) = fragment {
        location.push('#');
        location.push_str(fragment);
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A small HTML error page, like a provider's consent screen shows.
pub(crate) fn page(status: u16, title: &str, message: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1><p>{message}</p></body></html>",
            title = escape_html(title),
            message = escape_html(message)
        ))
}

/// Whether `uri` can take a redirect (an absolute http or https URL).
pub(crate) fn redirectable(uri: &str) -> bool {
    let lower = uri.to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")) && uri.len() > 8
}

pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A JWT-shaped token: real header and claims, a random "signature" nobody can check.
pub(crate) fn fake_jwt(claims: &Value) -> String {
    let header = serde_json::json!({ "alg": "RS256", "kid": "fake-key", "typ": "JWT" });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        server::random_alnum(86)
    )
}

/// A random UUID-shaped string (8-4-4-4-12 lowercase hex).
pub(crate) fn uuid() -> String {
    let hex = format!("{:032x}", rand::random::<u128>());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Answers a token endpoint success the way OAuth servers do: JSON, never cached.
pub(crate) fn token_json(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache, no-store, max-age=0"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let challenge = Challenge {
            method: "S256".into(),
            value: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        };
        assert!(challenge.verify(Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")));
        assert!(!challenge.verify(Some("wrong")));
        assert!(!challenge.verify(None));
    }

    #[test]
    fn redirects_keep_existing_query_and_fragment() {
        let response = redirect(
            "http://x.test/cb?a=1#top",
            &[("code", "4/0A b"), ("state", "s")],
        );
        assert_eq!(
            response.headers().get(header::LOCATION).unwrap(),
            "http://x.test/cb?a=1&code=4%2F0A+b&state=s#top"
        );
    }
}
