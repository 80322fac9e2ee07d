//! Bulk actions and CSV export of a workspace's contacts through the API.

use actix_web::{HttpRequest, HttpResponse, web};
use app::bulk::{Action, Target};
use domain::api_key::Scope;
use domain::ids::{ContactId, WorkspaceId};
use domain::list::ListKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::api::contacts::NameOrId;

use crate::auth::ApiCaller;
use crate::errors::{ApiError, ErrorEnvelope};
use crate::state::blocking;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// `add_tag`, `remove_tag`, `set_stage` or `trash`.
    pub action: String,
    /// The contacts: these ids...
    pub ids: Option<Vec<i64>>,
    /// ...or every contact matching these filters (the list endpoint's query parameters:
    /// `q`, `list`, `tag`, `cf.<field>[.<op>]`, `not_contacted_days`, `trash`).
    #[schema(value_type = Object)]
    pub filter: Option<Map<String, Value>>,
    /// For add_tag / remove_tag: the tag's name.
    pub tag: Option<String>,
    /// For set_stage: the stage, by name or id.
    pub stage: Option<NameOrId>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    /// How many contacts changed.
    pub changed: usize,
}

fn filter_pairs(filter: &Map<String, Value>) -> Vec<(String, String)> {
    filter
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect()
}

/// Apply an action to many contacts at once.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace_id}/contacts/bulk", tag = "contacts",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    request_body = BulkRequest,
    responses((status = 200, body = BulkResult), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn apply(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let ws = WorkspaceId(path.into_inner());
    let req: BulkRequest = api
        .body_for(move |app, c| app::workspaces::get(app, c.user_id, ws), body)
        .await?;
    let caller = api.caller.clone();
    let changed = blocking(&api.state.app, move |app| {
        let target = match (req.ids, req.filter) {
            (Some(ids), None) => Target::Ids(ids.into_iter().map(ContactId).collect()),
            (None, Some(filter)) => Target::Matching(app::contacts::query_from_params(
                app,
                &caller,
                ws,
                &filter_pairs(&filter),
            )?),
            _ => {
                return Err(domain::validation::ValidationError::new(
                    "ids",
                    "Send either `ids` or `filter`.",
                )
                .into());
            }
        };
        let missing = |f: &'static str| {
            domain::validation::ValidationError::new(f, format!("This action needs `{f}`."))
        };
        let action = match req.action.as_str() {
            "add_tag" => Action::AddTag(req.tag.ok_or_else(|| missing("tag"))?),
            "remove_tag" => Action::RemoveTag(req.tag.ok_or_else(|| missing("tag"))?),
            "set_stage" => {
                let stage = req.stage.ok_or_else(|| missing("stage"))?;
                let text = match stage {
                    NameOrId::Id(id) => id.to_string(),
                    NameOrId::Name(name) => name,
                };
                let id = app::lists::find(app, &caller, ws, ListKind::Primary, &text)?.ok_or_else(
                    || {
                        domain::validation::ValidationError::new(
                            "stage",
                            format!("There is no stage '{text}'."),
                        )
                    },
                )?;
                Action::SetStage(id)
            }
            "trash" => Action::Trash,
            _ => {
                return Err(domain::validation::ValidationError::new(
                    "action",
                    "Use add_tag, remove_tag, set_stage or trash.",
                )
                .into());
            }
        };
        app::bulk::apply(app, &caller, ws, &target, &action)
    })
    .await?;
    Ok(HttpResponse::Ok().json(BulkResult { changed }))
}

/// The workspace's contacts as CSV, with the same filters as the list (`bom=1` adds a byte
/// order mark for Excel).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/contacts.csv", tag = "contacts",
    params(("workspace_id" = i64, Path, description = "Workspace id"),
        ("bom" = Option<bool>, Query, description = "Start with a UTF-8 byte-order mark, so Excel reads accents right.")),
    responses((status = 200, description = "CSV: base fields, one column per custom field, primary_list, tags", content_type = "text/csv"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn export(
    api: ApiCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let ws = WorkspaceId(path.into_inner());
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let bom = pairs
        .iter()
        .any(|(k, v)| k == "bom" && matches!(v.as_str(), "1" | "true"));
    let caller = api.caller.clone();
    let plan = blocking(&api.state.app, move |app| {
        let query = app::contacts::query_from_params(app, &caller, ws, &pairs)?;
        app::export::plan(app, &caller, ws, &Target::Matching(query))
    })
    .await?;
    Ok(crate::download::csv(
        &api.state.app,
        "contacts.csv",
        move |app, out| app::export::write(app, &plan, bom, out),
    ))
}
