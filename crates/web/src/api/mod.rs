//! The JSON API under `/api/v1`: bearer keys only, scopes checked per route, one error
//! envelope, list answers as `{"items","total","page","per_page"}`, and an OpenAPI document
//! generated from these handlers.

pub mod audit;
pub mod bulk;
pub mod contacts;
pub mod custom_fields;
pub mod imports;
pub mod lists;
pub mod me;
pub mod messages;
pub mod openapi;
pub mod shares;
pub mod workspaces;

use actix_web::web::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::ApiError;

/// A page of items, the shape of every list endpoint.
#[derive(Serialize, utoipa::ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> List<T> {
    pub fn from_page<U>(page: domain::pagination::Page<U>, f: impl FnMut(U) -> T) -> Self {
        let page = page.map(f);
        Self {
            items: page.items,
            total: page.total,
            page: page.page,
            per_page: page.per_page,
        }
    }
}

/// Reads a request body up to the API's limit, answering 413 in the envelope beyond it.
pub async fn read_body(mut payload: actix_web::web::Payload) -> Result<Bytes, ApiError> {
    use futures_util::StreamExt;
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "invalid_body",
                "The request body could not be read.",
            )
        })?;
        if body.len() + chunk.len() > crate::config::MAX_JSON_BYTES {
            return Err(ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "The request body is too large: the limit is {} KiB.",
                    crate::config::MAX_JSON_BYTES / 1024
                ),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses a JSON body with messages that name the field at fault.
pub fn parse_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_json",
            "The request body is empty: send a JSON object.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        let field = text
            .split('`')
            .nth(1)
            .filter(|_| text.contains("field"))
            .map(str::to_owned);
        match (e.classify(), field) {
            (serde_json::error::Category::Data, Some(field)) => {
                let mut err = ApiError::validation(
                    &field,
                    format!("Field '{field}': {text}. Protected or unknown fields cannot be set."),
                );
                if !text.starts_with("unknown field") {
                    err.message = format!("Field '{field}': {text}.");
                }
                err
            }
            (serde_json::error::Category::Data, None) => ApiError::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("The JSON has a value of the wrong type: {text}."),
            ),
            _ => ApiError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("The request body is not valid JSON: {text}."),
            ),
        }
    })
}

/// Query parameters shared by list endpoints.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page (default 50, at most 200).
    pub per_page: Option<u32>,
}

impl Paging {
    pub fn request(&self) -> domain::pagination::PageRequest {
        domain::pagination::PageRequest::new(self.page, self.per_page)
    }
}
