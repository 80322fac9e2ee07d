//! The OpenAPI 3 document, generated from the handlers' annotations and served without a key.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{audit, me, workspaces};
use crate::errors::{ErrorBody, ErrorEnvelope};

#[derive(OpenApi)]
#[openapi(
    info(title = "pi-crm API", version = "1", description = "Send your key as `Authorization: Bearer <key>`. Keys are created under Settings > API keys or with `pi-crm apikey create`; each carries scopes. Errors are `{\"error\":{\"code\",\"message\",\"field\"}}`."),
    paths(workspaces::list, workspaces::create, workspaces::get, workspaces::patch, me::show, audit::list),
    components(schemas(workspaces::WorkspaceJson, workspaces::CreateRequest, workspaces::PatchRequest, me::MeJson, audit::AuditJson, ErrorEnvelope, ErrorBody)),
    modifiers(&BearerAuth),
    tags((name = "workspaces", description = "Business lines; each is closed to other users"), (name = "account"), (name = "audit"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
