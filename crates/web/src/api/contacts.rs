//! `/api/v1/workspaces/{id}/contacts` and `/api/v1/contacts/{id}`: contacts with their stage,
//! tags and custom values; notes and the log.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use app::contacts::{ContactInput, ContactPatch, LogCursor, RawValue};
use domain::api_key::Scope;
use domain::contact::Contact;
use domain::contact_log::{LogEntry, LogKind};
use domain::ids::{ContactId, ListId, LogEntryId, WorkspaceId};
use domain::list::ListSpec;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::api::{List, Paging};
use crate::auth::ApiCaller;
use crate::errors::{ApiError, ErrorEnvelope};
use crate::state::blocking;

/// A contact as the API shows it. `primary_list` and `tags` are names (ids beside them).
#[derive(Serialize, ToSchema)]
pub struct ContactJson {
    pub id: i64,
    pub workspace_id: i64,
    pub created_on: String,
    pub first_name: String,
    pub last_name: String,
    pub primary_email: Option<String>,
    /// E.164, e.g. `+14155550123`.
    pub primary_phone: Option<String>,
    pub company: String,
    /// The stage's name.
    pub primary_list: String,
    pub primary_list_id: i64,
    pub tags: Vec<String>,
    pub tag_ids: Vec<i64>,
    /// Custom values by field name.
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    pub last_contacted_at: Option<String>,
    pub deleted_at: Option<String>,
    pub updated_at: String,
}

impl From<Contact> for ContactJson {
    fn from(c: Contact) -> Self {
        Self {
            id: c.id.0,
            workspace_id: c.workspace_id.0,
            created_on: c.created_on.to_rfc3339(),
            first_name: c.first_name,
            last_name: c.last_name,
            primary_email: c.primary_email.map(|e| e.as_str().to_owned()),
            primary_phone: c.primary_phone.map(|p| p.as_str().to_owned()),
            company: c.company,
            primary_list: c.primary_list.name,
            primary_list_id: c.primary_list.id.0,
            tag_ids: c.tags.iter().map(|t| t.id.0).collect(),
            tags: c.tags.into_iter().map(|t| t.name).collect(),
            custom: c
                .custom
                .into_iter()
                .map(|v| (v.name.as_str().to_owned(), v.value.to_json()))
                .collect(),
            last_contacted_at: c.last_contacted_at.map(|t| t.to_rfc3339()),
            deleted_at: c.deleted_at.map(|t| t.to_rfc3339()),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// A list or tag named by its name or its id.
#[derive(Deserialize, ToSchema, Clone)]
#[serde(untagged)]
pub enum NameOrId {
    Id(i64),
    Name(String),
}

impl NameOrId {
    pub fn spec(&self) -> ListSpec {
        match self {
            NameOrId::Id(id) => ListSpec::Id(ListId(*id)),
            NameOrId::Name(name) => ListSpec::Name(name.clone()),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub primary_email: Option<String>,
    pub primary_phone: Option<String>,
    pub company: Option<String>,
    /// Stage by name or id (default: the workspace's first stage).
    pub primary_list: Option<NameOrId>,
    /// Tags by name or id; unknown names become new tags.
    pub tags: Option<Vec<NameOrId>>,
    /// Custom values by field name; null clears one.
    #[schema(value_type = Object)]
    pub custom: Option<Map<String, Value>>,
    /// Create or save even when a contact with the same email or phone exists.
    pub allow_duplicate: Option<bool>,
}

fn params(req: &HttpRequest) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}

/// List and search a workspace's contacts.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/contacts", tag = "contacts",
    params(
        ("workspace_id" = i64, Path, description = "Workspace id"),
        Paging,
        ("q" = Option<String>, Query, description = "Full-text search over names, email, phone, company, custom values and notes; each word matches the start of a word (\"mona\" finds \"Monalisa\")."),
        ("list" = Option<String>, Query, description = "Stage, by name or id."),
        ("tag" = Option<String>, Query, description = "Tag, by name or id."),
        ("sort" = Option<String>, Query, description = "name (default), newest, oldest, last_contacted, updated."),
        ("not_contacted_days" = Option<u32>, Query, description = "Only contacts not contacted in this many days (or never)."),
        ("trash" = Option<bool>, Query, description = "true: list the trash instead."),
        ("cf.<field>" = Option<String>, Query, description = "Custom-field filter: cf.<field>=<value> for equality, or cf.<field>.<op>=<value> with op eq, contains, before, after (dates), gt, lt (numbers), empty (any value)."),
    ),
    responses((status = 200, body = inline(List<ContactJson>)), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn list(
    api: ApiCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let (caller, ws, page, params) = (
        api.caller.clone(),
        WorkspaceId(path.into_inner()),
        paging.request(),
        params(&req),
    );
    let found = blocking(&api.state.app, move |app| {
        let query = app::contacts::query_from_params(app, &caller, ws, &params)?;
        app::contacts::search(app, &caller, ws, &query, page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, ContactJson::from)))
}

fn custom_values(map: Option<Map<String, Value>>) -> Vec<(String, Option<RawValue>)> {
    map.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, (!v.is_null()).then_some(RawValue::Json(v))))
        .collect()
}

/// Create a contact. A duplicate (same email or phone in the workspace) answers 409 with the
/// existing contact's id in `error.existing_id`, unless `allow_duplicate` is true.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace_id}/contacts", tag = "contacts",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    request_body = ContactRequest,
    responses((status = 201, body = ContactJson), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn create(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let ws = WorkspaceId(path.into_inner());
    let req: ContactRequest = api
        .body_for(move |app, c| app::workspaces::get(app, c.user_id, ws), body)
        .await?;
    let input = ContactInput {
        first_name: req.first_name.unwrap_or_default(),
        last_name: req.last_name.unwrap_or_default(),
        primary_email: req.primary_email.unwrap_or_default(),
        primary_phone: req.primary_phone.unwrap_or_default(),
        company: req.company.unwrap_or_default(),
        stage: req.primary_list.map(|l| l.spec()),
        tags: req
            .tags
            .unwrap_or_default()
            .iter()
            .map(NameOrId::spec)
            .collect(),
        custom: custom_values(req.custom)
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
        allow_duplicate: req.allow_duplicate.unwrap_or(false),
    };
    let caller = api.caller.clone();
    let contact = blocking(&api.state.app, move |app| {
        app::contacts::create(app, &caller, ws, input)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/contacts/{}", contact.id)))
        .json(ContactJson::from(contact)))
}

/// Read a contact.
#[utoipa::path(get, path = "/api/v1/contacts/{contact_id}", tag = "contacts",
    params(("contact_id" = i64, Path, description = "Contact id")),
    responses((status = 200, body = ContactJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn get(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let id = ContactId(path.into_inner());
    let contact = api
        .run(move |app, c| app::contacts::get(app, c, id))
        .await?;
    Ok(HttpResponse::Ok().json(ContactJson::from(contact)))
}

/// Change a contact: only the fields sent change; `tags` replaces the tags; a custom value of
/// null clears it.
#[utoipa::path(patch, path = "/api/v1/contacts/{contact_id}", tag = "contacts",
    params(("contact_id" = i64, Path, description = "Contact id")),
    request_body = ContactRequest,
    responses((status = 200, body = ContactJson), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn patch(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let (caller, id) = (api.caller.clone(), ContactId(path.into_inner()));
    let req: ContactRequest = api
        .body_for(move |app, c| app::contacts::get(app, c, id), body)
        .await?;
    let patch = ContactPatch {
        first_name: req.first_name,
        last_name: req.last_name,
        primary_email: req.primary_email,
        primary_phone: req.primary_phone,
        company: req.company,
        stage: req.primary_list.map(|l| l.spec()),
        tags: req.tags.map(|t| t.iter().map(NameOrId::spec).collect()),
        custom: custom_values(req.custom),
        allow_duplicate: req.allow_duplicate.unwrap_or(false),
    };
    let contact = blocking(&api.state.app, move |app| {
        app::contacts::update(app, &caller, id, patch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ContactJson::from(contact)))
}

/// Move a contact to the trash (restorable for 30 days with `POST .../restore`).
#[utoipa::path(delete, path = "/api/v1/contacts/{contact_id}", tag = "contacts",
    params(("contact_id" = i64, Path, description = "Contact id")),
    responses((status = 200, body = ContactJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn delete(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let id = ContactId(path.into_inner());
    let contact = api
        .run(move |app, c| app::contacts::trash(app, c, id))
        .await?;
    Ok(HttpResponse::Ok().json(ContactJson::from(contact)))
}

/// Bring a contact back from the trash.
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/restore", tag = "contacts",
    params(("contact_id" = i64, Path, description = "Contact id")),
    responses((status = 200, body = ContactJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn restore(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let id = ContactId(path.into_inner());
    let contact = api
        .run(move |app, c| app::contacts::restore(app, c, id))
        .await?;
    Ok(HttpResponse::Ok().json(ContactJson::from(contact)))
}

#[derive(Serialize, ToSchema)]
pub struct LogJson {
    pub id: i64,
    /// `email`, `text`, `call`, `ai`, `stage`, `note`, `system`.
    pub kind: String,
    pub summary: String,
    pub body: String,
    #[schema(value_type = Object)]
    pub meta: Option<Value>,
    pub occurred_at: String,
}

impl From<LogEntry> for LogJson {
    fn from(e: LogEntry) -> Self {
        Self {
            id: e.id.0,
            kind: e.kind.as_str().to_owned(),
            summary: e.summary,
            body: e.body,
            meta: e.meta,
            occurred_at: e.occurred_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LogPage {
    pub items: Vec<LogJson>,
    /// Pass as `after` to get the next (older) entries; absent on the last page.
    pub next: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// Only entries of this kind.
    pub kind: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// Entries per page (default 50, at most 200).
    pub limit: Option<i64>,
}

/// Log cursors are `<unix millis>.<entry id>`, opaque to clients.
pub fn parse_cursor(raw: &str) -> Option<LogCursor> {
    let (ms, id) = raw.split_once('.')?;
    Some(LogCursor {
        occurred_at: chrono::DateTime::from_timestamp_millis(ms.parse().ok()?)?,
        id: LogEntryId(id.parse().ok()?),
    })
}

pub fn format_cursor(entry: &LogEntry) -> String {
    format!("{}.{}", entry.occurred_at.timestamp_millis(), entry.id.0)
}

/// A contact's communication log, newest first.
#[utoipa::path(get, path = "/api/v1/contacts/{contact_id}/log", tag = "contacts",
    params(("contact_id" = i64, Path, description = "Contact id"), LogParams),
    responses((status = 200, body = LogPage), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn log(
    api: ApiCaller,
    path: web::Path<i64>,
    params: web::Query<LogParams>,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let kind = match params.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => Some(LogKind::parse(k).ok_or_else(|| {
            ApiError::validation("kind", "Use email, text, call, ai, stage, note or system.")
        })?),
        None => None,
    };
    let after = match params.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(parse_cursor(a).ok_or_else(|| {
            ApiError::validation("after", "Pass the `next` value of the previous page.")
        })?),
        None => None,
    };
    let limit = params.limit.unwrap_or(50).clamp(1, 200);
    let (caller, id) = (api.caller.clone(), ContactId(path.into_inner()));
    let entries = blocking(&api.state.app, move |app| {
        app::contacts::log(app, &caller, id, kind, after, limit + 1)
    })
    .await?;
    let has_more = entries.len() as i64 > limit;
    let items: Vec<LogEntry> = entries.into_iter().take(limit as usize).collect();
    let next = has_more.then(|| items.last().map(format_cursor)).flatten();
    Ok(HttpResponse::Ok().json(LogPage {
        items: items.into_iter().map(LogJson::from).collect(),
        next,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub body: String,
}

/// Add a note to a contact's log.
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/notes", tag = "contacts",
    params(("contact_id" = i64, Path, description = "Contact id")),
    request_body = NoteRequest,
    responses((status = 201, body = LogJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn add_note(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let (caller, id) = (api.caller.clone(), ContactId(path.into_inner()));
    let req: NoteRequest = api
        .body_for(move |app, c| app::contacts::get(app, c, id), body)
        .await?;
    let entry = blocking(&api.state.app, move |app| {
        app::contacts::add_note(app, &caller, id, &req.body)
    })
    .await?;
    Ok(HttpResponse::Created().json(LogJson::from(entry)))
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateGroup {
    /// What they share: `primary_email` or `primary_phone`.
    pub reason: String,
    pub contacts: Vec<ContactJson>,
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateList {
    pub items: Vec<DuplicateGroup>,
}

/// Contacts of a workspace that share an email (ignoring case and spaces) or a phone number.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/duplicates", tag = "contacts",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    responses((status = 200, body = DuplicateList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn duplicates(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let ws = WorkspaceId(path.into_inner());
    let groups = api
        .run(move |app, c| app::contacts::duplicate_groups(app, c, ws))
        .await?;
    Ok(HttpResponse::Ok().json(DuplicateList {
        items: groups
            .into_iter()
            .map(|(reason, contacts)| DuplicateGroup {
                reason: reason.to_owned(),
                contacts: contacts.into_iter().map(ContactJson::from).collect(),
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The contact merged into this one; it goes to the trash.
    pub source_id: i64,
    /// For each conflicting field (base field, `primary_list`, or custom field name): `"target"`
    /// or `"source"`. A conflicting field not named keeps the target's value; fields only the
    /// source has are carried over.
    #[schema(value_type = Object)]
    pub resolutions: Option<Map<String, Value>>,
}

/// Merge another contact into this one.
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/merge", tag = "contacts",
    params(("contact_id" = i64, Path, description = "The surviving contact")),
    request_body = MergeRequest,
    responses((status = 200, body = ContactJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn merge(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let (caller, id) = (api.caller.clone(), ContactId(path.into_inner()));
    let req: MergeRequest = api
        .body_for(move |app, c| app::contacts::get(app, c, id), body)
        .await?;
    let mut resolutions = Vec::new();
    for (field, side) in req.resolutions.unwrap_or_default() {
        let side = side
            .as_str()
            .and_then(app::contacts::Side::parse)
            .ok_or_else(|| {
                ApiError::validation(
                    &field,
                    format!("Resolve '{field}' with \"target\" or \"source\"."),
                )
            })?;
        resolutions.push((field, side));
    }
    let source = ContactId(req.source_id);
    let merged = blocking(&api.state.app, move |app| {
        app::contacts::merge(app, &caller, id, source, &resolutions)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ContactJson::from(merged)))
}
