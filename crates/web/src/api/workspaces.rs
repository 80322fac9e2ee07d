//! `/api/v1/workspaces`: list, create, read and change workspaces.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use actix_web::web;
use app::workspaces::CreateWorkspace;
use domain::api_key::Scope;
use domain::ids::WorkspaceId;
use domain::workspace::{
    Color, TimeZone, Workspace, WorkspaceChanges, WorkspaceName, parse_approvers, parse_help_text,
    parse_postal_address,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{List, Paging, parse_json, read_body};
use crate::auth::ApiCaller;
use crate::errors::{ApiError, ErrorEnvelope};
use crate::state::blocking;

/// A workspace as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct WorkspaceJson {
    pub id: i64,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    /// IANA name, e.g. `America/Los_Angeles`.
    pub time_zone: String,
    pub postal_address: String,
    pub requires_approval: bool,
    /// Usernames of the people who approve campaigns here.
    pub approvers: Vec<String>,
    /// The answer to a contact who texts HELP.
    pub help_text: String,
    pub archived: bool,
    pub archived_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Workspace> for WorkspaceJson {
    fn from(ws: Workspace) -> Self {
        Self {
            id: ws.id.0,
            name: ws.name.as_str().to_owned(),
            color: ws.color.as_str().to_owned(),
            time_zone: ws.time_zone.as_str().to_owned(),
            postal_address: ws.postal_address,
            requires_approval: ws.requires_approval,
            approvers: ws.approvers.iter().map(|u| u.as_str().to_owned()).collect(),
            help_text: ws.help_text,
            archived: ws.archived_at.is_some(),
            archived_at: ws.archived_at.map(|t| t.to_rfc3339()),
            created_at: ws.created_at.to_rfc3339(),
            updated_at: ws.updated_at.to_rfc3339(),
        }
    }
}

/// Fields to create a workspace with; only `name` is required.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    pub name: String,
    pub color: Option<String>,
    pub time_zone: Option<String>,
    pub postal_address: Option<String>,
    pub requires_approval: Option<bool>,
    pub approvers: Option<Vec<String>>,
    pub help_text: Option<String>,
}

/// Fields to change; leave a field out to keep it. `id` and the owner cannot be changed.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchRequest {
    pub name: Option<String>,
    pub color: Option<String>,
    pub time_zone: Option<String>,
    pub postal_address: Option<String>,
    pub requires_approval: Option<bool>,
    pub approvers: Option<Vec<String>>,
    pub help_text: Option<String>,
    pub archived: Option<bool>,
}

impl PatchRequest {
    fn to_changes(&self) -> Result<WorkspaceChanges, domain::validation::ValidationError> {
        Ok(WorkspaceChanges {
            name: self.name.as_deref().map(WorkspaceName::parse).transpose()?,
            color: self.color.as_deref().map(Color::parse).transpose()?,
            time_zone: self.time_zone.as_deref().map(TimeZone::parse).transpose()?,
            postal_address: self
                .postal_address
                .as_deref()
                .map(parse_postal_address)
                .transpose()?,
            requires_approval: self.requires_approval,
            approvers: self
                .approvers
                .as_ref()
                .map(|names| parse_approvers(names.iter().map(String::as_str)))
                .transpose()?,
            help_text: self.help_text.as_deref().map(parse_help_text).transpose()?,
            archived: self.archived,
        })
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Include archived workspaces (default false).
    pub include_archived: Option<bool>,
}

/// List your workspaces.
#[utoipa::path(get, path = "/api/v1/workspaces", tag = "workspaces",
    params(Paging, ListQuery),
    responses(
        (status = 200, description = "A page of workspaces", body = inline(List<WorkspaceJson>)),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)),
    security(("bearer" = ["workspaces:read"])))]
pub async fn list(
    api: ApiCaller,
    paging: web::Query<Paging>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::WorkspacesRead)?;
    let (uid, include, page) = (
        api.caller.user_id,
        query.include_archived.unwrap_or(false),
        paging.request(),
    );
    let page = blocking(&api.state.app, move |app| {
        app::workspaces::list(app, uid, include, page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(List::from_page(page, WorkspaceJson::from)))
}

/// Create a workspace.
#[utoipa::path(post, path = "/api/v1/workspaces", tag = "workspaces",
    request_body = CreateRequest,
    responses(
        (status = 201, description = "Created", body = WorkspaceJson),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 409, description = "You already have a workspace with this name", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["workspaces:write"])))]
pub async fn create(api: ApiCaller, body: web::Payload) -> Result<HttpResponse, ApiError> {
    api.require(Scope::WorkspacesWrite)?;
    let body = read_body(body).await?;
    let req: CreateRequest = parse_json(&body)?;
    let input = CreateWorkspace {
        name: req.name,
        color: req.color,
        time_zone: req.time_zone,
        postal_address: req.postal_address,
        requires_approval: req.requires_approval,
        approvers: req.approvers,
        help_text: req.help_text,
    };
    let caller = api.caller.clone();
    let ws = blocking(&api.state.app, move |app| {
        app::workspaces::create(app, &caller, input)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/workspaces/{}", ws.id)))
        .json(WorkspaceJson::from(ws)))
}

/// Read one workspace.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}", tag = "workspaces",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    responses((status = 200, body = WorkspaceJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["workspaces:read"])))]
pub async fn get(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::WorkspacesRead)?;
    let (uid, id) = (api.caller.user_id, WorkspaceId(path.into_inner()));
    let ws = blocking(&api.state.app, move |app| {
        app::workspaces::get(app, uid, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(WorkspaceJson::from(ws)))
}

/// Change a workspace's settings, archive (`"archived": true`) or restore it.
#[utoipa::path(patch, path = "/api/v1/workspaces/{workspace_id}", tag = "workspaces",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    request_body = PatchRequest,
    responses((status = 200, body = WorkspaceJson), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["workspaces:write"])))]
pub async fn patch(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::WorkspacesWrite)?;
    let id = WorkspaceId(path.into_inner());
    // Answer 404 for another user's id before looking at the body, so nothing about it leaks.
    let req: PatchRequest = api
        .body_for(move |app, c| app::workspaces::get(app, c.user_id, id), body)
        .await?;
    let changes = req.to_changes()?;
    if changes.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Nothing to change: send at least one field.",
        ));
    }
    let caller = api.caller.clone();
    let ws = blocking(&api.state.app, move |app| {
        app::workspaces::update(app, &caller, id, changes)
    })
    .await?;
    Ok(HttpResponse::Ok().json(WorkspaceJson::from(ws)))
}
