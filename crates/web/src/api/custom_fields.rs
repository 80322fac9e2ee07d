//! `/api/v1/workspaces/{id}/custom-fields` and `/api/v1/custom-fields/{id}`: the definitions of
//! the details kept on contacts.

use actix_web::{HttpResponse, web};
use app::custom_fields::{FieldInput, FieldUpdate};
use domain::api_key::Scope;
use domain::field_definition::CustomFieldDef;
use domain::ids::{CustomFieldId, WorkspaceId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::ApiCaller;
use crate::errors::{ApiError, ErrorEnvelope};
use crate::state::blocking;

#[derive(Serialize, ToSchema)]
pub struct CustomFieldJson {
    pub id: i64,
    /// The stable key, used in contacts' `custom` and in `cf.<name>` filters.
    pub name: String,
    pub label: String,
    /// `text`, `date`, `number`, `url`, `phone`, `email` or `json`.
    pub field_type: String,
    pub required: bool,
    pub default_value: Option<String>,
    pub position: i64,
    pub transaction_related: bool,
    /// `null` when the field applies in all of your workspaces.
    pub workspace_id: Option<i64>,
}

impl From<CustomFieldDef> for CustomFieldJson {
    fn from(d: CustomFieldDef) -> Self {
        Self {
            id: d.id.0,
            name: d.name.as_str().to_owned(),
            label: d.label,
            field_type: d.field_type.as_str().to_owned(),
            required: d.required,
            default_value: d.default_value,
            position: d.position,
            transaction_related: d.transaction_related,
            workspace_id: d.workspace_id.map(|w| w.0),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CustomFieldList {
    pub items: Vec<CustomFieldJson>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFieldRequest {
    /// Made from the label when absent (`Loan file link` -> `loan_file_link`).
    pub name: Option<String>,
    pub label: String,
    pub field_type: String,
    pub required: Option<bool>,
    pub default_value: Option<String>,
    pub transaction_related: Option<bool>,
    /// `"user"`: the field applies in all your workspaces; `"workspace"` (default): only here.
    pub scope: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchFieldRequest {
    pub label: Option<String>,
    pub required: Option<bool>,
    /// `""` clears the default.
    pub default_value: Option<String>,
    pub transaction_related: Option<bool>,
    pub position: Option<i64>,
}

/// The custom fields that apply in a workspace (yours user-wide and the workspace's own).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/custom-fields", tag = "custom fields",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    responses((status = 200, body = CustomFieldList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn list(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let ws = WorkspaceId(path.into_inner());
    let defs = api
        .run(move |app, c| app::custom_fields::for_workspace(app, c, ws))
        .await?;
    Ok(HttpResponse::Ok().json(CustomFieldList {
        items: defs.into_iter().map(CustomFieldJson::from).collect(),
    }))
}

/// Define a custom field.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace_id}/custom-fields", tag = "custom fields",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    request_body = CreateFieldRequest,
    responses((status = 201, body = CustomFieldJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn create(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let ws = WorkspaceId(path.into_inner());
    let req: CreateFieldRequest = api
        .body_for(move |app, c| app::workspaces::get(app, c.user_id, ws), body)
        .await?;
    let workspace = match req.scope.as_deref().unwrap_or("workspace") {
        "workspace" => Some(ws),
        "user" => None,
        _ => {
            return Err(ApiError::validation(
                "scope",
                "Scope is 'workspace' or 'user'.",
            ));
        }
    };
    let input = FieldInput {
        name: req.name,
        label: req.label,
        field_type: req.field_type,
        required: req.required.unwrap_or(false),
        default_value: req.default_value,
        transaction_related: req.transaction_related.unwrap_or(false),
        workspace,
    };
    let caller = api.caller.clone();
    let def = blocking(&api.state.app, move |app| {
        app::custom_fields::create(app, &caller, input)
    })
    .await?;
    Ok(HttpResponse::Created().json(CustomFieldJson::from(def)))
}

/// Relabel, reorder or change a field's options; its name and type stay.
#[utoipa::path(patch, path = "/api/v1/custom-fields/{custom_field_id}", tag = "custom fields",
    params(("custom_field_id" = i64, Path, description = "Custom field id")),
    request_body = PatchFieldRequest,
    responses((status = 200, body = CustomFieldJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn patch(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let (caller, id) = (api.caller.clone(), CustomFieldId(path.into_inner()));
    let req: PatchFieldRequest = api
        .body_for(move |app, c| app::custom_fields::get(app, c, id), body)
        .await?;
    let update = FieldUpdate {
        label: req.label,
        required: req.required,
        default_value: req.default_value,
        transaction_related: req.transaction_related,
        position: req.position,
    };
    let def = blocking(&api.state.app, move |app| {
        app::custom_fields::update(app, &caller, id, update)
    })
    .await?;
    Ok(HttpResponse::Ok().json(CustomFieldJson::from(def)))
}

/// Delete a field and every value stored for it.
#[utoipa::path(delete, path = "/api/v1/custom-fields/{custom_field_id}", tag = "custom fields",
    params(("custom_field_id" = i64, Path, description = "Custom field id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn delete(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let (caller, id) = (api.caller.clone(), CustomFieldId(path.into_inner()));
    blocking(&api.state.app, move |app| {
        app::custom_fields::delete(app, &caller, id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
