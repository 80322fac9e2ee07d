//! `/api/v1/workspaces/{id}/lists`: a workspace's stages and tags.

use actix_web::{HttpResponse, web};
use domain::api_key::Scope;
use domain::ids::WorkspaceId;
use domain::list::{List, ListKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::ApiCaller;
use crate::errors::{ApiError, ErrorEnvelope};
use crate::state::blocking;

#[derive(Serialize, ToSchema)]
pub struct ListJson {
    pub id: i64,
    /// `primary` (a pipeline stage) or `secondary` (a tag).
    pub kind: String,
    pub name: String,
    pub position: i64,
    /// Contacts in it, not counting the trash.
    pub contacts: i64,
}

impl From<List> for ListJson {
    fn from(l: List) -> Self {
        Self {
            id: l.id.0,
            kind: l.kind.as_str().to_owned(),
            name: l.name,
            position: l.position,
            contacts: l.contacts,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListList {
    pub items: Vec<ListJson>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateListRequest {
    pub name: String,
    /// `primary` (stage) or `secondary` (tag).
    pub kind: String,
}

/// A workspace's stages (in board order) and tags.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/lists", tag = "contacts",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    responses((status = 200, body = ListList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn list(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let (caller, ws) = (api.caller.clone(), WorkspaceId(path.into_inner()));
    let lists = blocking(&api.state.app, move |app| {
        app::lists::for_workspace(app, &caller, ws, None)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListList {
        items: lists.into_iter().map(ListJson::from).collect(),
    }))
}

/// Add a stage or a tag.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace_id}/lists", tag = "contacts",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    request_body = CreateListRequest,
    responses((status = 201, body = ListJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn create(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let ws = WorkspaceId(path.into_inner());
    let req: CreateListRequest = api
        .body_for(move |app, c| app::workspaces::get(app, c.user_id, ws), body)
        .await?;
    let kind = ListKind::parse(&req.kind)?;
    let caller = api.caller.clone();
    let list = blocking(&api.state.app, move |app| {
        app::lists::create(app, &caller, ws, kind, &req.name)
    })
    .await?;
    Ok(HttpResponse::Created().json(ListJson::from(list)))
}
