//! Sharing through the API: share a contact with a user, revoke, list what is shared with you,
//! read it, and "save as" a copy in one of your workspaces.

use actix_web::{HttpResponse, web};
use app::shares::SharedContact;
use domain::api_key::Scope;
use domain::contact::Share;
use domain::ids::{ContactId, ShareId, WorkspaceId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::api::contacts::{ContactJson, LogJson};

use crate::auth::ApiCaller;
use crate::errors::{ApiError, ErrorEnvelope};
use crate::state::blocking;

#[derive(Serialize, ToSchema)]
pub struct ShareJson {
    pub id: i64,
    pub contact_id: i64,
    pub username: String,
    pub include_log: bool,
    pub created_at: String,
}

impl From<Share> for ShareJson {
    fn from(s: Share) -> Self {
        Self {
            id: s.id.0,
            contact_id: s.contact_id.0,
            username: s.recipient_username,
            include_log: s.include_log,
            created_at: s.created_at.to_rfc3339(),
        }
    }
}

/// A contact shared with you: its details, never the owner's ids or workspace.
#[derive(Serialize, ToSchema)]
pub struct SharedContactJson {
    /// The share's id: the one `/api/v1/shared-contacts/{id}` takes.
    pub id: i64,
    pub shared_by: String,
    pub shared_at: String,
    pub first_name: String,
    pub last_name: String,
    pub primary_email: Option<String>,
    pub primary_phone: Option<String>,
    pub company: String,
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    /// Present when the owner shared the log.
    pub log: Option<Vec<LogJson>>,
}

impl From<SharedContact> for SharedContactJson {
    fn from(v: SharedContact) -> Self {
        let c = v.contact;
        Self {
            id: v.share.id.0,
            shared_by: v.share.owner_name,
            shared_at: v.share.created_at.to_rfc3339(),
            first_name: c.first_name,
            last_name: c.last_name,
            primary_email: c.primary_email.map(|e| e.as_str().to_owned()),
            primary_phone: c.primary_phone.map(|p| p.as_str().to_owned()),
            company: c.company,
            custom: c
                .custom
                .into_iter()
                .map(|v| (v.name.as_str().to_owned(), v.value.to_json()))
                .collect(),
            log: v
                .share
                .include_log
                .then(|| v.log.into_iter().map(LogJson::from).collect()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SharedContactList {
    pub items: Vec<SharedContactJson>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    pub username: String,
    /// Also show the communication log (default false: base and custom fields only).
    pub include_log: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveAsRequest {
    pub workspace_id: i64,
}

/// Share a contact with another user (read-only for them).
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/shares", tag = "sharing",
    params(("contact_id" = i64, Path, description = "Contact id")),
    request_body = ShareRequest,
    responses((status = 201, body = ShareJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn create(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let (caller, id) = (api.caller.clone(), ContactId(path.into_inner()));
    let req: ShareRequest = api
        .body_for(move |app, c| app::contacts::get(app, c, id), body)
        .await?;
    let include_log = req.include_log.unwrap_or(false);
    let share = blocking(&api.state.app, move |app| {
        app::shares::share(app, &caller, id, &req.username, include_log)
    })
    .await?;
    Ok(HttpResponse::Created().json(ShareJson::from(share)))
}

/// Stop sharing a contact with a user; their view disappears at once.
#[utoipa::path(delete, path = "/api/v1/contacts/{contact_id}/shares/{username}", tag = "sharing",
    params(("contact_id" = i64, Path, description = "Contact id"), ("username" = String, Path, description = "The user it is shared with")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn revoke(
    api: ApiCaller,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let (id, username) = path.into_inner();
    let caller = api.caller.clone();
    blocking(&api.state.app, move |app| {
        app::shares::revoke(app, &caller, ContactId(id), &username)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Contacts other users share with you.
#[utoipa::path(get, path = "/api/v1/shared-contacts", tag = "sharing",
    responses((status = 200, body = SharedContactList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn list(api: ApiCaller) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let caller = api.caller.clone();
    let items = blocking(&api.state.app, move |app| {
        app::shares::shared_with_me(app, &caller)
    })
    .await?;
    Ok(HttpResponse::Ok().json(SharedContactList {
        items: items.into_iter().map(SharedContactJson::from).collect(),
    }))
}

/// One contact shared with you.
#[utoipa::path(get, path = "/api/v1/shared-contacts/{share_id}", tag = "sharing",
    params(("share_id" = i64, Path, description = "The `id` of an item of /api/v1/shared-contacts")),
    responses((status = 200, body = SharedContactJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn get(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let id = ShareId(path.into_inner());
    let view = api.run(move |app, c| app::shares::view(app, c, id)).await?;
    Ok(HttpResponse::Ok().json(SharedContactJson::from(view)))
}

/// Save a shared contact as an independent copy in one of your workspaces.
#[utoipa::path(post, path = "/api/v1/shared-contacts/{share_id}/save-as", tag = "sharing",
    params(("share_id" = i64, Path, description = "The `id` of an item of /api/v1/shared-contacts")),
    request_body = SaveAsRequest,
    responses((status = 201, body = ContactJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn save_as(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let (caller, id) = (api.caller.clone(), ShareId(path.into_inner()));
    let req: SaveAsRequest = api
        .body_for(move |app, c| app::shares::view(app, c, id), body)
        .await?;
    let ws = WorkspaceId(req.workspace_id);
    let copy = blocking(&api.state.app, move |app| {
        app::shares::save_as(app, &caller, id, ws)
    })
    .await?;
    Ok(HttpResponse::Created().json(ContactJson::from(copy)))
}
