//! The OpenAPI 3 document, generated from the handlers' annotations and served without a key.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{
    audit, bulk, contacts, custom_fields, imports, lists, me, messages, shares, workspaces,
};
use crate::errors::{ErrorBody, ErrorEnvelope};

#[derive(OpenApi)]
#[openapi(
    info(title = "pi-crm API", version = "1", description = "Send your key as `Authorization: Bearer <key>`. Keys are created under Settings > API keys or with `pi-crm apikey create`; each carries scopes. Errors are `{\"error\":{\"code\",\"message\",\"field\"}}`."),
    paths(
        workspaces::list, workspaces::create, workspaces::get, workspaces::patch, me::show, audit::list,
        contacts::list, contacts::create, contacts::get, contacts::patch, contacts::delete, contacts::restore,
        contacts::log, contacts::add_note, contacts::duplicates, contacts::merge,
        custom_fields::list, custom_fields::create, custom_fields::patch, custom_fields::delete,
        lists::list, lists::create,
        shares::create, shares::revoke, shares::list, shares::get, shares::save_as,
        bulk::apply, bulk::export,
        imports::create, imports::list, imports::get, imports::revert, imports::cancel, imports::failures,
        messages::put_email_provider, messages::get_email_provider, messages::put_sms_provider,
        messages::create, messages::get, messages::resend, messages::drop_message,
    ),
    components(schemas(
        workspaces::WorkspaceJson, workspaces::CreateRequest, workspaces::PatchRequest, me::MeJson, audit::AuditJson,
        contacts::ContactJson, contacts::ContactRequest, contacts::NameOrId, contacts::LogJson, contacts::LogPage, contacts::NoteRequest, contacts::DuplicateGroup, contacts::DuplicateList, contacts::MergeRequest,
        custom_fields::CustomFieldJson, custom_fields::CustomFieldList, custom_fields::CreateFieldRequest, custom_fields::PatchFieldRequest,
        lists::ListJson, lists::ListList, lists::CreateListRequest,
        shares::ShareJson, shares::SharedContactJson, shares::SharedContactList, shares::ShareRequest, shares::SaveAsRequest,
        bulk::BulkRequest, bulk::BulkResult,
        imports::ImportJson, imports::ImportCountsJson, imports::ImportList,
        messages::EmailProviderJson, messages::EmailProviderBody, messages::SmsProviderJson, messages::SmsProviderBody,
        messages::MessageBody, messages::MessageJson, messages::MessageEventJson,
        ErrorEnvelope, ErrorBody,
    )),
    modifiers(&BearerAuth),
    tags((name = "workspaces", description = "Business lines; each is closed to other users"), (name = "contacts", description = "Contacts, their stages, tags, custom values and log"), (name = "custom fields"), (name = "sharing", description = "One contact shared read-only with another user"), (name = "imports", description = "CSV imports: dry run, progress, failed rows, undo"), (name = "messages", description = "Email and text: providers, sending, delivery"), (name = "account"), (name = "audit"))
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
