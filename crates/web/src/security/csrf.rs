//! CSRF protection for every state-changing browser request (SECURITY.md 7).
//!
//! Signed double-submit: the browser holds a random nonce in an HttpOnly, SameSite=Lax
//! cookie; pages embed `HMAC(installation key, nonce)` as the token, in forms (`csrf_token`) and
//! in htmx's `X-CSRF-Token` header. A forger can neither read the token nor mint one for a nonce
//! they planted. On top, a foreign (or `null`) `Origin` is refused outright. The API under
//! `/api/` is exempt: it takes no cookies, only bearer keys. So are `/webhooks/` and `/u/`
//! (unsubscribe): cross-site by nature, they carry the provider's or pi-crm's own signature.

use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use futures_util::stream;

use crate::errors;
use crate::state::AppState;

pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
const COOKIE_BASE: &str = "pi-crm-csrf";

/// The token for the current request, for pages to embed.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn plausible_nonce(value: &str) -> bool {
    (16..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<Data<AppState>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError("missing state"));
    };
    let cookie_name = state.cookie_name(COOKIE_BASE);
    let existing = req
        .cookie(&cookie_name)
        .map(|c| c.value().to_owned())
        .filter(|v| plausible_nonce(v));
    let fresh = existing.is_none();
    let nonce = existing
        .clone()
        .unwrap_or_else(|| app::secrets::random_token(24));
    let token = state.app.secrets().sign("csrf", nonce.as_bytes());
    req.extensions_mut().insert(CsrfToken(token));

    if is_state_changing(req.method())
        && !req.path().starts_with("/api/")
        && !req.path().starts_with("/webhooks/")
        && !req.path().starts_with("/u/")
        && let Err(reason) = check(&mut req, &state, existing.as_deref()).await
    {
        tracing::warn!(
            reason,
            path = req.path(),
            "refused a request that failed the CSRF check"
        );
        let (http_req, _) = req.into_parts();
        let response = if reason == TOO_LARGE {
            errors::too_large(&http_req)
        } else {
            errors::csrf_refused(&http_req)
        };
        return Ok(ServiceResponse::new(http_req, response).map_into_right_body());
    }

    let mut res = next.call(req).await?;
    if fresh {
        let cookie = Cookie::build(cookie_name, nonce)
            .path("/")
            .http_only(true)
            .secure(state.config.tls)
            // Lax, not Strict: a Strict cookie is withheld when a link from another site opens
            // pi-crm, a new nonce would be minted, and forms open in other tabs would fail.
            // The nonce is useless without the key-derived token, so Lax costs nothing.
            .same_site(SameSite::Lax)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res.map_into_left_body())
}

async fn check(
    req: &mut ServiceRequest,
    state: &AppState,
    nonce: Option<&str>,
) -> Result<(), &'static str> {
    check_origin(req)?;
    let nonce = nonce.ok_or("no CSRF cookie")?;
    let token = match req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    {
        Some(t) => t,
        None => token_from_body(req).await?,
    };
    if state.app.secrets().verify("csrf", nonce.as_bytes(), &token) {
        Ok(())
    } else {
        Err("CSRF token does not match")
    }
}

/// A present `Origin` (or, without one, `Referer`) must be this server's own.
fn check_origin(req: &ServiceRequest) -> Result<(), &'static str> {
    let info = req.connection_info().clone();
    let own = format!("{}://{}", info.scheme(), info.host()).to_ascii_lowercase();
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin
            .to_str()
            .map_err(|_| "unreadable Origin")?
            .to_ascii_lowercase();
        if origin != own {
            return Err("foreign Origin");
        }
    } else if let Some(referer) = req.headers().get(header::REFERER) {
        let referer = referer
            .to_str()
            .map_err(|_| "unreadable Referer")?
            .to_ascii_lowercase();
        if referer != own && !referer.starts_with(&format!("{own}/")) {
            return Err("foreign Referer");
        }
    }
    Ok(())
}

const TOO_LARGE: &str = "body too large";

/// Reads `csrf_token` from a urlencoded body and puts the body back for the handler.
async fn token_from_body(req: &mut ServiceRequest) -> Result<String, &'static str> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > crate::config::MAX_FORM_BYTES) {
        return Err(TOO_LARGE);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return query_token(req).ok_or("no CSRF token");
    }
    let body = req.extract::<Bytes>().await.map_err(|_| TOO_LARGE)?;
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == FORM_FIELD)
                .map(|(_, v)| v)
        });
    let replay: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(stream::once(async move { Ok(body) }));
    req.set_payload(Payload::from(replay));
    token.ok_or("no CSRF token in the form")
}

/// Multipart uploads carry the token in the query string, since their body is streamed.
fn query_token(req: &ServiceRequest) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()?
        .into_iter()
        .find(|(k, _)| k == FORM_FIELD)
        .map(|(_, v)| v)
}
