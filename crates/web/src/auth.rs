//! Who is asking: `SignedIn` for browser pages (a session cookie), `ApiCaller` for the JSON API
//! (a bearer key). The two never mix: the API ignores cookies and pages ignore keys.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::{Method, StatusCode, header};
use actix_web::web::Data;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use app::{AppError, Caller};
use domain::api_key::{ApiKey, Scope};
use domain::ids::{SessionId, UserId};
use domain::user::User;
use futures_util::future::LocalBoxFuture;

use crate::errors::{ApiError, PageError};
use crate::security::csrf::CsrfToken;
use crate::security::{peer_ip, rate_limit};
use crate::session_store::{KEY_SESSION_ID, KEY_USER};
use crate::state::{AppState, blocking};

/// A signed-in person in the browser, with what a page needs to render for them.
pub struct SignedIn {
    pub state: Data<AppState>,
    pub user: User,
    pub caller: Caller,
    pub session: Session,
    pub session_id: Option<SessionId>,
    pub csrf: String,
}

pub fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("hx-request")
}

pub fn csrf_token(req: &HttpRequest) -> String {
    req.extensions()
        .get::<CsrfToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default()
}

impl FromRequest for SignedIn {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<Data<AppState>>()
                .cloned()
                .ok_or(PageError::Internal)?;
            let session = req.get_session();
            let htmx = is_htmx(&req);
            // Come back to the page after signing in; after a POST, to the start page.
            let next = if req.method() == Method::GET {
                req.uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let login = move || PageError::LoginRequired { next, htmx };
            let Some(uid) = session.get::<i64>(KEY_USER).ok().flatten() else {
                return Err(login());
            };
            let user = match blocking(&state.app, move |app| {
                app::accounts::get_user(app, UserId(uid))
            })
            .await
            {
                Ok(user) => user,
                Err(AppError::NotFound) => {
                    session.purge();
                    return Err(login());
                }
                Err(other) => return Err(other.into()),
            };
            let session_id = session
                .get::<i64>(KEY_SESSION_ID)
                .ok()
                .flatten()
                .map(SessionId);
            let caller = Caller::browser(user.id, peer_ip(&req));
            Ok(SignedIn {
                csrf: csrf_token(&req),
                state,
                user,
                caller,
                session,
                session_id,
            })
        })
    }
}

/// A request to the JSON API with a valid bearer key.
pub struct ApiCaller {
    pub state: Data<AppState>,
    pub key: ApiKey,
    pub caller: Caller,
}

const QUERY_KEY_NAMES: &[&str] = &[
    "api_key",
    "apikey",
    "key",
    "access_token",
    "token",
    "bearer",
];

impl ApiCaller {
    /// Runs a use case as this caller, on a blocking thread.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&app::App, &Caller) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let caller = self.caller.clone();
        Ok(blocking(&self.state.app, move |app| f(app, &caller)).await?)
    }

    /// Reads a JSON body only after `owns` confirmed that the record in the path is the
    /// caller's, so another user's id is a 404 whatever the body says.
    pub async fn body_for<T: serde::de::DeserializeOwned, R: Send + 'static>(
        &self,
        owns: impl FnOnce(&app::App, &Caller) -> Result<R, AppError> + Send + 'static,
        body: actix_web::web::Payload,
    ) -> Result<T, ApiError> {
        self.run(owns).await?;
        crate::api::parse_json(&crate::api::read_body(body).await?)
    }

    /// 403 unless the key carries `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.key.scopes.contains(scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "This API key does not have the '{}' scope. Create a key with it under Settings > API keys.",
                    scope.as_str()
                ),
            ))
        }
    }
}

fn too_many(retry_after: u64) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("Too many requests. Wait {retry_after} seconds and try again."),
    );
    e.retry_after = Some(retry_after);
    e
}

fn key_in_query(req: &HttpRequest) -> bool {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .map(|pairs| {
            pairs.iter().any(|(k, v)| {
                QUERY_KEY_NAMES.contains(&k.to_ascii_lowercase().as_str())
                    || v.starts_with(app::api_keys::KEY_PREFIX)
            })
        })
        .unwrap_or(false)
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req.app_data::<Data<AppState>>().cloned().ok_or_else(|| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Server misconfigured.",
                )
            })?;
            if key_in_query(&req) {
                return Err(ApiError::unauthorized(
                    "API keys in the URL are refused, because URLs end up in logs and browser history. \
                     Send the key in the header 'Authorization: Bearer <key>', and revoke the key you put in the URL.",
                ));
            }
            let ip = peer_ip(&req);
            rate_limit::check(&state.limiters.api_ip, ip.as_deref().unwrap_or("unknown"))
                .map_err(too_many)?;
            let secret = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(|v| v.trim().to_owned())
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "Missing API key. Send it in the header 'Authorization: Bearer <key>'; create keys under Settings > API keys.",
                    )
                })?;
            rate_limit::check(&state.limiters.api_key, &app::secrets::sha256_hex(&secret))
                .map_err(too_many)?;
            let found = blocking(&state.app, move |app| {
                app::api_keys::authenticate(app, &secret)
            })
            .await
            .map_err(ApiError::from)?;
            let Some((key, user)) = found else {
                return Err(ApiError::unauthorized(
                    "This API key is not valid or has been revoked. Check the key, or create a new one under Settings > API keys.",
                ));
            };
            let caller = Caller::api(user.id, key.id, ip);
            Ok(ApiCaller { state, key, caller })
        })
    }
}
