//! `/api/v1/workspaces/{id}/audit`: a workspace's audit log, newest first.

use actix_web::{HttpResponse, web};
use domain::api_key::Scope;
use domain::audit::{AuditEntry, AuditFilter};
use domain::ids::WorkspaceId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{List, Paging};
use crate::auth::ApiCaller;
use crate::errors::{ApiError, ErrorEnvelope};
use crate::state::blocking;

#[derive(Serialize, ToSchema)]
pub struct AuditJson {
    pub id: i64,
    pub at: String,
    pub actor_kind: String,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl From<AuditEntry> for AuditJson {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id.0,
            at: e.at.to_rfc3339(),
            actor_kind: e.actor_kind,
            actor: e.actor_label,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            before: e.before,
            after: e.after,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only actions starting with this, e.g. `workspace.`.
    pub action: Option<String>,
}

/// A workspace's audit log.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/audit", tag = "audit",
    params(("workspace_id" = i64, Path, description = "Workspace id"), Paging, AuditParams),
    responses((status = 200, body = inline(List<AuditJson>)), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["audit:read"])))]
pub async fn list(
    api: ApiCaller,
    path: web::Path<i64>,
    paging: web::Query<Paging>,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::AuditRead)?;
    let filter = AuditFilter {
        action_prefix: params.action.clone(),
        ..AuditFilter::default()
    };
    let (caller, id, page) = (
        api.caller.clone(),
        WorkspaceId(path.into_inner()),
        paging.request(),
    );
    let page = blocking(&api.state.app, move |app| {
        app::audit::for_workspace(app, &caller, id, &filter, page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(List::from_page(page, AuditJson::from)))
}
