//! How failures look: friendly HTML pages for the browser, the JSON envelope
//! `{"error":{"code","message","field"}}` for the API. Neither ever shows internals; a 500 is
//! logged once with its cause and shown as an apology.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use app::AppError;
use maud::html;
use serde::Serialize;

use crate::views::layout;

/// A failure while serving a page or an htmx fragment.
#[derive(Debug)]
pub enum PageError {
    NotFound,
    /// Not signed in: go to the sign-in page and come back to `next` afterwards.
    LoginRequired {
        next: String,
        htmx: bool,
    },
    Forbidden(String),
    BadRequest(String),
    TooMany {
        retry_after: u64,
        message: String,
    },
    Unavailable(String),
    Internal,
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl From<AppError> for PageError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::NotFound => PageError::NotFound,
            AppError::Validation(v) => PageError::BadRequest(v.message),
            AppError::Conflict { message, .. } | AppError::Duplicate { message, .. } => {
                PageError::BadRequest(message)
            }
            AppError::Unauthorized(m) | AppError::Forbidden(m) => PageError::Forbidden(m),
            e @ (AppError::DiskFull | AppError::Busy) => PageError::Unavailable(e.to_string()),
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error while serving a page");
                PageError::Internal
            }
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::LoginRequired { htmx: true, .. } => StatusCode::UNAUTHORIZED,
            PageError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            PageError::LoginRequired { next, htmx } => {
                let target = login_url(next);
                if *htmx {
                    HttpResponse::Unauthorized()
                        .insert_header(("HX-Redirect", target))
                        .finish()
                } else {
                    HttpResponse::SeeOther()
                        .insert_header((header::LOCATION, target))
                        .finish()
                }
            }
            PageError::NotFound => page(
                status,
                "Page not found",
                html! {
                    p { "There is nothing here. It may have been moved or removed, or the link is mistyped." }
                },
            ),
            PageError::Forbidden(m) => page(status, "Not allowed", html! { p { (m) } }),
            PageError::BadRequest(m) => page(status, "Something is not right", html! { p { (m) } }),
            PageError::TooMany {
                retry_after,
                message,
            } => {
                let mut res = page(status, "Slow down", html! { p { (message) } });
                res.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after));
                res
            }
            PageError::Unavailable(m) => page(status, "Please try again", html! { p { (m) } }),
            PageError::Internal => page(
                status,
                "Something went wrong",
                html! {
                    p { "pi-crm could not finish this. Nothing you typed was lost on our side: go back and try again." }
                    p ."text-sm text-slate-600" { "If it keeps happening, the server log has the details." }
                },
            ),
        }
    }
}

fn login_url(next: &str) -> String {
    if next.is_empty() || next == "/" || !next.starts_with('/') || next.starts_with("//") {
        "/login".to_owned()
    } else {
        format!("/login?next={}", urlencode(next))
    }
}

pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .map(|s| s[2..].to_owned())
        .unwrap_or_default()
}

fn page(status: StatusCode, title: &str, body: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(
            layout::bare(
                title,
                html! {
                    h1 ."text-2xl font-semibold mb-4" { (title) }
                    div ."space-y-3 text-slate-700" { (body) }
                    p ."mt-6" { a ."btn btn-primary" href="/" { "Go to the start page" } }
                },
            )
            .into_string(),
        )
}

/// The answer to a state-changing request without a valid CSRF token or with a foreign Origin.
pub fn csrf_refused(req: &HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return ApiError::new(StatusCode::FORBIDDEN, "csrf", "Request refused.").error_response();
    }
    page(
        StatusCode::FORBIDDEN,
        "This page has expired",
        html! {
            p { "For your safety pi-crm refused this request: it did not come from a current pi-crm page." }
            p { "Reload the page and try again. What you typed may need to be entered again." }
        },
    )
}

/// The answer to a form too large to read (the limit keeps a Pi's memory safe).
pub fn too_large(req: &HttpRequest) -> HttpResponse {
    let limit_kib = crate::config::MAX_FORM_BYTES / 1024;
    if req.path().starts_with("/api/") {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is too large: the limit is {limit_kib} KiB."),
        )
        .error_response();
    }
    page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Too much at once",
        html! {
            p { "What you sent is larger than pi-crm accepts in one form (" (limit_kib) " KiB). Nothing was saved." }
            p { "Go back, shorten the longest field, and try again." }
        },
    )
}

/// The default service: anything no route matched.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        ApiError::not_found().error_response()
    } else {
        PageError::NotFound.error_response()
    }
}

/// A failure in the JSON API, rendered as the error envelope.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
    /// For a duplicate: the contact that already exists.
    pub existing_id: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: `unauthorized`, `forbidden`, `not_found`, `validation_failed`,
    /// `conflict`, `invalid_json`, `rate_limited`, `unavailable`, `internal`.
    pub code: String,
    /// What went wrong and what to do, for a person.
    pub message: String,
    /// The request field at fault, when there is one.
    pub field: Option<String>,
    /// With `duplicate`: the id of the contact that already has this email or phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            existing_id: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        );
        e.field = Some(field.to_owned());
        e
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.code)
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::NotFound => ApiError::not_found(),
            AppError::Validation(v) => ApiError::validation(&v.field, v.message),
            AppError::Conflict { field, message } => {
                let mut e = ApiError::new(StatusCode::CONFLICT, "conflict", message);
                e.field = (!field.is_empty()).then(|| field.to_owned());
                e
            }
            AppError::Unauthorized(m) => ApiError::unauthorized(m),
            AppError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            AppError::Duplicate {
                existing,
                field,
                message,
            } => {
                let mut e = ApiError::new(StatusCode::CONFLICT, "duplicate", message);
                e.field = Some(field.to_owned());
                e.existing_id = Some(existing.0);
                e
            }
            e @ (AppError::DiskFull | AppError::Busy) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            ),
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error while serving the API");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on the server. Try again; if it persists, check the server log.",
                )
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.json(ErrorEnvelope {
            error: ErrorBody {
                code: self.code.to_owned(),
                message: self.message.clone(),
                field: self.field.clone(),
                existing_id: self.existing_id,
            },
        })
    }
}

pub fn not_found_page() -> HttpResponse {
    PageError::NotFound.error_response()
}

impl From<domain::validation::ValidationError> for ApiError {
    fn from(v: domain::validation::ValidationError) -> Self {
        ApiError::validation(&v.field, v.message)
    }
}
