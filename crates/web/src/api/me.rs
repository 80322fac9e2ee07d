//! `/api/v1/me`: who this key belongs to and what it may do; handy to test a key.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::ApiCaller;
use crate::errors::{ApiError, ErrorEnvelope};
use crate::state::blocking;

#[derive(Serialize, ToSchema)]
pub struct MeJson {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub key_label: String,
    pub scopes: Vec<String>,
}

/// The key's owner and scopes.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = MeJson), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn show(api: ApiCaller) -> Result<HttpResponse, ApiError> {
    let uid = api.caller.user_id;
    let user = blocking(&api.state.app, move |app| app::accounts::get_user(app, uid)).await?;
    Ok(HttpResponse::Ok().json(MeJson {
        user_id: user.id.0,
        username: user.username.as_str().to_owned(),
        display_name: user.display_name.as_str().to_owned(),
        key_label: api.key.label.clone(),
        scopes: api
            .key
            .scopes
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
    }))
}
