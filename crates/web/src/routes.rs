//! Every route pi-crm serves, in one table. The server registers exactly these, and the
//! isolation test walks exactly these, so a new route is covered by that test the moment it
//! exists.
//!
//! Path parameters are named after what they identify (`{workspace_id}`, `{session_id}`,
//! `{api_key_id}`); the isolation test knows how to fill each name with another user's id and
//! fails on a name it does not know, so a new kind of id cannot slip past it.

use actix_web::http::Method;
use actix_web::web;

use crate::{api, assets, pages, webhooks};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, setup, health, static assets, the OpenAPI document).
    Public,
    /// A signed-in browser session.
    Session,
    /// A bearer API key.
    ApiKey,
}

pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    register: fn() -> actix_web::Route,
}

macro_rules! route {
    ($method:ident $path:literal $access:ident => $handler:path) => {
        RouteDef {
            method: Method::$method,
            path: $path,
            access: Access::$access,
            register: || web::method(Method::$method).to($handler),
        }
    };
}

pub fn all() -> Vec<RouteDef> {
    vec![
        // Public.
        route!(GET "/healthz" Public => pages::health::healthz),
        route!(GET "/readyz" Public => pages::health::readyz),
        route!(GET "/assets/{name}" Public => assets::serve),
        route!(GET "/setup" Public => pages::setup::show),
        route!(POST "/setup" Public => pages::setup::submit),
        route!(GET "/login" Public => pages::login::show),
        route!(POST "/login" Public => pages::login::submit),
        route!(GET "/login/code" Public => pages::login::show_code),
        route!(POST "/login/code" Public => pages::login::submit_code),
        route!(GET "/api/v1/openapi.json" Public => api::openapi::document),
        // Signed public endpoints: the provider's HMAC or pi-crm's signed link is the check.
        route!(POST "/webhooks/mailgun/{workspace_id}" Public => webhooks::mailgun),
        route!(POST "/webhooks/twilio/sms" Public => webhooks::twilio_inbound),
        route!(POST "/webhooks/twilio/status" Public => webhooks::twilio_status),
        route!(GET "/u/{workspace_id}/{contact_id}/{signature}" Public => webhooks::unsubscribe_page),
        route!(POST "/u/{workspace_id}/{contact_id}/{signature}" Public => webhooks::unsubscribe),
        // Browser pages.
        route!(POST "/logout" Session => pages::login::logout),
        route!(GET "/" Session => pages::home::show),
        route!(GET "/workspaces" Session => pages::workspaces::list),
        route!(POST "/workspaces" Session => pages::workspaces::create),
        route!(GET "/w/{workspace_id}" Session => pages::workspaces::show),
        route!(GET "/w/{workspace_id}/settings" Session => pages::workspace_settings::show),
        route!(POST "/w/{workspace_id}/settings" Session => pages::workspace_settings::save),
        route!(POST "/w/{workspace_id}/archive" Session => pages::workspace_settings::archive),
        route!(POST "/w/{workspace_id}/unarchive" Session => pages::workspace_settings::unarchive),
        route!(GET "/w/{workspace_id}/audit" Session => pages::audit::workspace),
        route!(GET "/w/{workspace_id}/contacts" Session => pages::contacts::list),
        route!(GET "/w/{workspace_id}/contacts/new" Session => pages::contacts::new),
        route!(POST "/w/{workspace_id}/contacts" Session => pages::contacts::create),
        route!(POST "/w/{workspace_id}/contacts/bulk" Session => pages::contacts::bulk),
        route!(GET "/w/{workspace_id}/contacts.csv" Session => pages::imports::export),
        route!(GET "/w/{workspace_id}/imports" Session => pages::imports::index),
        route!(POST "/w/{workspace_id}/imports" Session => pages::imports::upload),
        route!(GET "/imports/{import_id}" Session => pages::imports::show),
        route!(GET "/imports/{import_id}/progress" Session => pages::imports::progress_fragment),
        route!(POST "/imports/{import_id}/run" Session => pages::imports::run),
        route!(POST "/imports/{import_id}/cancel" Session => pages::imports::cancel),
        route!(POST "/imports/{import_id}/revert" Session => pages::imports::revert),
        route!(GET "/imports/{import_id}/failures.csv" Session => pages::imports::failures),
        route!(POST "/w/{workspace_id}/trash/empty" Session => pages::contacts::empty_trash),
        route!(GET "/w/{workspace_id}/board" Session => pages::board::show),
        route!(GET "/w/{workspace_id}/lists" Session => pages::lists::show),
        route!(GET "/w/{workspace_id}/duplicates" Session => pages::merge::duplicates),
        route!(GET "/contacts/{contact_id}/merge" Session => pages::merge::show),
        route!(POST "/contacts/{contact_id}/merge" Session => pages::merge::merge),
        route!(POST "/w/{workspace_id}/lists" Session => pages::lists::create),
        route!(POST "/lists/{list_id}/rename" Session => pages::lists::rename),
        route!(POST "/lists/{list_id}/move" Session => pages::lists::move_list),
        route!(POST "/lists/{list_id}/delete" Session => pages::lists::delete),
        route!(GET "/contacts/{contact_id}" Session => pages::contact::show),
        route!(POST "/contacts/{contact_id}" Session => pages::contact::update),
        route!(POST "/contacts/{contact_id}/stage" Session => pages::contact::set_stage),
        route!(POST "/contacts/{contact_id}/notes" Session => pages::contact::add_note),
        route!(POST "/contacts/{contact_id}/calls" Session => pages::contact::log_call),
        route!(POST "/contacts/{contact_id}/trash" Session => pages::contact::trash),
        route!(POST "/contacts/{contact_id}/restore" Session => pages::contact::restore),
        route!(GET "/contacts/{contact_id}/log" Session => pages::contact::log_more),
        route!(POST "/contacts/{contact_id}/shares" Session => pages::contact::share),
        route!(POST "/contacts/{contact_id}/shares/revoke" Session => pages::contact::unshare),
        route!(GET "/shared" Session => pages::shared::list),
        route!(GET "/shared/{share_id}" Session => pages::shared::show),
        route!(POST "/shared/{share_id}/save-as" Session => pages::shared::save_as),
        route!(GET "/settings/fields" Session => pages::fields::show),
        route!(POST "/settings/fields" Session => pages::fields::create),
        route!(POST "/settings/fields/{custom_field_id}" Session => pages::fields::update),
        route!(POST "/settings/fields/{custom_field_id}/move" Session => pages::fields::move_field),
        route!(POST "/settings/fields/{custom_field_id}/delete" Session => pages::fields::delete),
        route!(GET "/settings/account" Session => pages::account::show),
        route!(POST "/settings/account" Session => pages::account::save_profile),
        route!(POST "/settings/password" Session => pages::account::change_password),
        route!(GET "/settings/security" Session => pages::security::show),
        route!(POST "/settings/totp/start" Session => pages::security::start_totp),
        route!(POST "/settings/totp/enable" Session => pages::security::enable_totp),
        route!(POST "/settings/totp/disable" Session => pages::security::disable_totp),
        route!(POST "/settings/sessions/{session_id}/end" Session => pages::security::end_session),
        route!(POST "/settings/sessions/end-others" Session => pages::security::end_others),
        route!(GET "/settings/api-keys" Session => pages::api_keys::show),
        route!(POST "/settings/api-keys" Session => pages::api_keys::create),
        route!(POST "/settings/api-keys/{api_key_id}/revoke" Session => pages::api_keys::revoke),
        route!(GET "/settings/audit" Session => pages::audit::account),
        route!(POST "/contacts/{contact_id}/messages" Session => pages::messages::send),
        route!(POST "/contacts/{contact_id}/messages/preview" Session => pages::messages::preview),
        route!(POST "/contacts/{contact_id}/do-not-contact" Session => pages::messages::do_not_contact),
        route!(GET "/w/{workspace_id}/messages" Session => pages::messages::queue),
        route!(POST "/w/{workspace_id}/messages/pause" Session => pages::messages::pause),
        route!(POST "/w/{workspace_id}/messages/bulk" Session => pages::messages::bulk_send),
        route!(POST "/w/{workspace_id}/messages/resume" Session => pages::messages::resume),
        route!(GET "/messages/{message_id}" Session => pages::messages::show),
        route!(POST "/messages/{message_id}/resend" Session => pages::messages::resend),
        route!(POST "/messages/{message_id}/drop" Session => pages::messages::drop_message),
        route!(GET "/w/{workspace_id}/email" Session => pages::messages::email_settings),
        route!(POST "/w/{workspace_id}/email" Session => pages::messages::save_email),
        route!(POST "/w/{workspace_id}/email/test" Session => pages::messages::test_email),
        route!(POST "/w/{workspace_id}/email/connect" Session => pages::messages::connect),
        route!(GET "/oauth/callback" Session => pages::messages::oauth_callback),
        route!(GET "/settings/texts" Session => pages::messages::texts_settings),
        route!(GET "/inbox" Session => pages::messages::inbox),
        route!(POST "/inbox/{inbound_id}/read" Session => pages::messages::mark_read),
        route!(POST "/settings/texts" Session => pages::messages::save_texts),
        route!(GET "/backups" Session => pages::backups::show),
        route!(POST "/backups" Session => pages::backups::create),
        route!(GET "/backups/{backup_id}/download" Session => pages::backups::download),
        // JSON API.
        route!(GET "/api/v1/me" ApiKey => api::me::show),
        route!(GET "/api/v1/workspaces" ApiKey => api::workspaces::list),
        route!(POST "/api/v1/workspaces" ApiKey => api::workspaces::create),
        route!(GET "/api/v1/workspaces/{workspace_id}" ApiKey => api::workspaces::get),
        route!(PATCH "/api/v1/workspaces/{workspace_id}" ApiKey => api::workspaces::patch),
        route!(GET "/api/v1/workspaces/{workspace_id}/audit" ApiKey => api::audit::list),
        route!(GET "/api/v1/workspaces/{workspace_id}/contacts" ApiKey => api::contacts::list),
        route!(POST "/api/v1/workspaces/{workspace_id}/contacts" ApiKey => api::contacts::create),
        route!(POST "/api/v1/workspaces/{workspace_id}/contacts/bulk" ApiKey => api::bulk::apply),
        route!(GET "/api/v1/workspaces/{workspace_id}/contacts.csv" ApiKey => api::bulk::export),
        route!(POST "/api/v1/workspaces/{workspace_id}/imports" ApiKey => api::imports::create),
        route!(GET "/api/v1/workspaces/{workspace_id}/imports" ApiKey => api::imports::list),
        route!(GET "/api/v1/imports/{import_id}" ApiKey => api::imports::get),
        route!(POST "/api/v1/imports/{import_id}/revert" ApiKey => api::imports::revert),
        route!(POST "/api/v1/imports/{import_id}/cancel" ApiKey => api::imports::cancel),
        route!(GET "/api/v1/imports/{import_id}/failures.csv" ApiKey => api::imports::failures),
        route!(GET "/api/v1/contacts/{contact_id}" ApiKey => api::contacts::get),
        route!(PATCH "/api/v1/contacts/{contact_id}" ApiKey => api::contacts::patch),
        route!(DELETE "/api/v1/contacts/{contact_id}" ApiKey => api::contacts::delete),
        route!(POST "/api/v1/contacts/{contact_id}/restore" ApiKey => api::contacts::restore),
        route!(GET "/api/v1/contacts/{contact_id}/log" ApiKey => api::contacts::log),
        route!(POST "/api/v1/contacts/{contact_id}/notes" ApiKey => api::contacts::add_note),
        route!(GET "/api/v1/workspaces/{workspace_id}/duplicates" ApiKey => api::contacts::duplicates),
        route!(POST "/api/v1/contacts/{contact_id}/merge" ApiKey => api::contacts::merge),
        route!(POST "/api/v1/contacts/{contact_id}/shares" ApiKey => api::shares::create),
        route!(DELETE "/api/v1/contacts/{contact_id}/shares/{username}" ApiKey => api::shares::revoke),
        route!(GET "/api/v1/shared-contacts" ApiKey => api::shares::list),
        route!(GET "/api/v1/shared-contacts/{share_id}" ApiKey => api::shares::get),
        route!(POST "/api/v1/shared-contacts/{share_id}/save-as" ApiKey => api::shares::save_as),
        route!(GET "/api/v1/workspaces/{workspace_id}/custom-fields" ApiKey => api::custom_fields::list),
        route!(POST "/api/v1/workspaces/{workspace_id}/custom-fields" ApiKey => api::custom_fields::create),
        route!(PATCH "/api/v1/custom-fields/{custom_field_id}" ApiKey => api::custom_fields::patch),
        route!(DELETE "/api/v1/custom-fields/{custom_field_id}" ApiKey => api::custom_fields::delete),
        route!(GET "/api/v1/workspaces/{workspace_id}/lists" ApiKey => api::lists::list),
        route!(PUT "/api/v1/workspaces/{workspace_id}/email-provider" ApiKey => api::messages::put_email_provider),
        route!(GET "/api/v1/workspaces/{workspace_id}/email-provider" ApiKey => api::messages::get_email_provider),
        route!(PUT "/api/v1/sms-provider" ApiKey => api::messages::put_sms_provider),
        route!(POST "/api/v1/contacts/{contact_id}/messages" ApiKey => api::messages::create),
        route!(GET "/api/v1/messages/{message_id}" ApiKey => api::messages::get),
        route!(POST "/api/v1/messages/{message_id}/resend" ApiKey => api::messages::resend),
        route!(POST "/api/v1/messages/{message_id}/drop" ApiKey => api::messages::drop_message),
        route!(POST "/api/v1/workspaces/{workspace_id}/lists" ApiKey => api::lists::create),
    ]
}

/// Registers every route of [`all`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    for def in all() {
        cfg.route(def.path, (def.register)());
    }
}

/// The names of the `{params}` in a path, in order.
pub fn params(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}
