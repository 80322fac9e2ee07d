//! Building the HTTP server: middleware order, extractor limits and error shapes, routes.

use std::net::TcpListener;

use actix_session::SessionMiddleware;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_web::cookie::{SameSite, time::Duration};
use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, error, web};

use crate::config::{MAX_FORM_BYTES, MAX_JSON_BYTES, WebConfig};
use crate::errors::{ApiError, PageError};
use crate::security::{csrf, headers};
use crate::session_store::SqliteSessionStore;
use crate::state::AppState;
use crate::{errors, routes};

/// Binds `addr` ("127.0.0.1:8080", or port 0 for any free port).
pub fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
}

/// The built server and a handle on the state its jobs need.
pub struct WebServer {
    /// Await or spawn this to serve. Signals are not handled here: the binary stops the server
    /// gracefully through `server.handle()` on SIGTERM or SIGINT.
    pub server: Server,
    pub maintenance: Maintenance,
}

/// What scheduled jobs may do to the running web layer.
#[derive(Clone)]
pub struct Maintenance {
    state: web::Data<AppState>,
}

impl Maintenance {
    /// Tells /readyz whether the scheduled jobs are running.
    pub fn set_scheduler_running(&self, running: bool) {
        self.state
            .scheduler_running
            .store(running, std::sync::atomic::Ordering::Relaxed);
    }

    /// Forgets rate-limit buckets nobody used lately (memory stays flat on a Pi).
    pub fn prune_rate_limits(&self) {
        self.state.limiters.retain_recent();
    }
}

/// The server on `listener`, not yet awaited. Stopping it finishes requests in flight (up to 10
/// seconds) first.
pub fn server(
    app: app::App,
    config: WebConfig,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<WebServer> {
    let workers = config.workers.max(1);
    let state = web::Data::new(AppState::new(app, config));
    let returned = state.clone();
    let cookie_key = state.cookie_key();
    let absolute = state.app.settings().session_absolute;
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(
            SqliteSessionStore::new(state.app.clone()),
            cookie_key.clone(),
        )
        .cookie_name(state.cookie_name("pi-crm-session"))
        .cookie_secure(state.config.tls)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_path("/".into())
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(Duration::seconds(absolute.as_secs() as i64))
                .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build();
        App::new()
            .app_data(state.clone())
            .app_data(
                web::FormConfig::default()
                    .limit(MAX_FORM_BYTES)
                    .error_handler(|err, _| {
                        error::InternalError::from_response(
                            err.to_string(),
                            actix_web::ResponseError::error_response(&PageError::BadRequest(
                                "The form could not be read. Reload the page and try again.".into(),
                            )),
                        )
                        .into()
                    }),
            )
            .app_data(web::PayloadConfig::new(MAX_JSON_BYTES))
            .app_data(web::PathConfig::default().error_handler(|_, req| {
                let response = if req.path().starts_with("/api/") {
                    actix_web::ResponseError::error_response(&ApiError::not_found())
                } else {
                    actix_web::ResponseError::error_response(&PageError::NotFound)
                };
                error::InternalError::from_response("bad path", response).into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|err, req| {
                let message = format!("A query parameter could not be read: {err}.");
                let response = if req.path().starts_with("/api/") {
                    actix_web::ResponseError::error_response(&ApiError::new(
                        actix_web::http::StatusCode::BAD_REQUEST,
                        "invalid_query",
                        message.clone(),
                    ))
                } else {
                    actix_web::ResponseError::error_response(&PageError::BadRequest(
                        message.clone(),
                    ))
                };
                error::InternalError::from_response(message, response).into()
            }))
            .wrap(from_fn(csrf::middleware))
            .wrap(sessions)
            .wrap(Compress::default())
            .wrap(from_fn(headers::middleware))
            .wrap(from_fn(crate::server::access_log))
            .configure(routes::configure)
            .default_service(web::to(errors::not_found))
    })
    .workers(workers)
    .shutdown_timeout(10)
    .disable_signals();
    let server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls)?,
        None => server.listen(listener)?,
    }
    .run();
    Ok(WebServer {
        server,
        maintenance: Maintenance { state: returned },
    })
}

/// One line per request: method, path (never the query, which may hold search terms), status
/// and time. No cookies, bodies or personal data.
pub async fn access_log(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let res = next.call(req).await?;
    tracing::info!(
        %method,
        route = %path,
        status = res.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(res)
}
