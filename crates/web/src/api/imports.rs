//! CSV imports through the API: upload with a mapping and a duplicate policy (optionally a
//! dry run), follow the progress, cancel, download the failed rows, undo.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use app::imports::{Mapping, RunOptions};
use domain::api_key::Scope;
use domain::csv_import::{Encoding, parse_delimiter};
use domain::ids::{ImportId, WorkspaceId};
use domain::import_job::{DuplicatePolicy, ImportRecord};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::ApiCaller;
use crate::errors::{ApiError, ErrorEnvelope};
use crate::upload::UploadError;

#[derive(Serialize, ToSchema)]
pub struct ImportCountsJson {
    /// Contacts created (also given as `created`).
    pub new: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ImportJson {
    pub id: i64,
    pub workspace_id: i64,
    pub file_name: String,
    /// `uploaded`, `running`, `done`, `failed`, `cancelled` or `reverted`.
    pub status: String,
    pub dry_run: bool,
    /// Data rows in the file.
    pub total_rows: i64,
    pub processed_rows: i64,
    pub new: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    pub counts: ImportCountsJson,
    /// Why the import as a whole failed.
    pub error: Option<String>,
    /// The rows that failed, with the reason, as CSV.
    pub failures_url: String,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl From<ImportRecord> for ImportJson {
    fn from(r: ImportRecord) -> Self {
        let c = r.counts;
        Self {
            id: r.id.0,
            workspace_id: r.workspace_id.0,
            file_name: r.file_name,
            status: r.status.as_str().to_owned(),
            dry_run: r.dry_run,
            total_rows: r.total_rows,
            processed_rows: r.processed_rows,
            new: c.created,
            created: c.created,
            updated: c.updated,
            skipped: c.skipped,
            failed: c.failed,
            counts: ImportCountsJson {
                new: c.created,
                created: c.created,
                updated: c.updated,
                skipped: c.skipped,
                failed: c.failed,
            },
            error: r.error,
            failures_url: format!("/api/v1/imports/{}/failures.csv", r.id.0),
            created_at: r.created_at.to_rfc3339(),
            finished_at: r.finished_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImportList {
    pub items: Vec<ImportJson>,
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::TooLarge(m) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", m)
            }
            UploadError::Bad(m) => ApiError::validation("file", m),
            UploadError::Internal(m) => app::AppError::Internal(m).into(),
        }
    }
}

fn flag(value: Option<&str>, name: &str) -> Result<bool, ApiError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(ApiError::validation(
            name,
            format!("'{other}' is not true or false."),
        )),
    }
}

/// The run options from the upload's parts.
pub fn options_from(parts: &crate::upload::Upload) -> Result<RunOptions, ApiError> {
    let mapping = match parts.get("mapping").map(str::trim) {
        None | Some("" | "auto") => Mapping::Auto,
        Some(json) => {
            let invalid = || {
                ApiError::validation(
                    "mapping",
                    "The mapping must be auto, or a JSON object from column header to target, like {\"E-mail\": \"primary_email\", \"Closing\": \"closing_date\", \"Notes\": \"skip\"}.",
                )
            };
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(json).map_err(|_| invalid())?;
            let mut pairs = Vec::with_capacity(object.len());
            for (header, target) in object {
                let target = target.as_str().ok_or_else(invalid)?.to_owned();
                pairs.push((header, target));
            }
            Mapping::ByHeader(pairs)
        }
    };
    let policy = DuplicatePolicy::parse(parts.get("policy").unwrap_or("skip"))
        .map_err(|m| ApiError::validation("policy", m))?;
    let encoding = match parts
        .get("encoding")
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        None => None,
        Some(e) => Some(
            Encoding::parse(e)
                .ok_or_else(|| ApiError::validation("encoding", "Use utf-8 or windows-1252."))?,
        ),
    };
    let delimiter = match parts.get("delimiter").filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(
            parse_delimiter(d)
                .ok_or_else(|| ApiError::validation("delimiter", "Use comma, semicolon or tab."))?,
        ),
    };
    Ok(RunOptions {
        mapping,
        policy,
        overwrite: flag(parts.get("overwrite"), "overwrite")?,
        dry_run: flag(parts.get("dry_run"), "dry_run")?,
        create_fields: flag(parts.get("create_fields"), "create_fields")?,
        encoding,
        delimiter,
        field_types: Vec::new(),
    })
}

/// Import contacts from a CSV file (multipart: `file`; `mapping` = `auto` or a JSON object
/// from column header to target; `policy` = `skip`, `update` or `create`; optional `dry_run`,
/// `create_fields`, `overwrite`, `encoding`, `delimiter`). Runs in the background: follow it
/// with `GET /api/v1/imports/{id}`.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace_id}/imports", tag = "imports",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    request_body(content_type = "multipart/form-data", description = "file (the CSV), mapping, policy, dry_run, create_fields, overwrite, encoding, delimiter"),
    responses((status = 202, body = ImportJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn create(
    api: ApiCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let ws = WorkspaceId(path.into_inner());
    // Another user's workspace is a 404 before a byte of the file is stored.
    api.run(move |app, c| app::workspaces::get(app, c.user_id, ws))
        .await?;
    let mut upload = crate::upload::read(&api.state.app, &req, body).await?;
    let options = options_from(&upload)?;
    let (file_name, incoming) = upload.take_file().ok_or_else(|| {
        ApiError::validation("file", "Send the CSV file as a multipart part named file.")
    })?;
    let record = api
        .run(move |app, c| {
            let (record, _) = app::imports::upload(app, c, ws, &file_name, &incoming)?;
            app::imports::start(app, c, record.id, options)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(ImportJson::from(record)))
}

/// The workspace's recent imports, newest first.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/imports", tag = "imports",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    responses((status = 200, body = ImportList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn list(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let ws = WorkspaceId(path.into_inner());
    let items = api
        .run(move |app, c| app::imports::list(app, c, ws))
        .await?;
    Ok(HttpResponse::Ok().json(ImportList {
        items: items.into_iter().map(ImportJson::from).collect(),
    }))
}

/// An import's status and counts.
#[utoipa::path(get, path = "/api/v1/imports/{import_id}", tag = "imports",
    params(("import_id" = i64, Path, description = "Import id")),
    responses((status = 200, body = ImportJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn get(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let id = ImportId(path.into_inner());
    let record = api.run(move |app, c| app::imports::get(app, c, id)).await?;
    Ok(HttpResponse::Ok().json(ImportJson::from(record)))
}

/// Undo an import: the contacts it created are removed, those it updated get their earlier
/// values back.
#[utoipa::path(post, path = "/api/v1/imports/{import_id}/revert", tag = "imports",
    params(("import_id" = i64, Path, description = "Import id")),
    responses((status = 200, body = ImportJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn revert(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let id = ImportId(path.into_inner());
    let record = api
        .run(move |app, c| app::imports::revert(app, c, id))
        .await?;
    Ok(HttpResponse::Ok().json(ImportJson::from(record)))
}

/// Stop a running import; what it wrote is undone and it ends `cancelled`.
#[utoipa::path(post, path = "/api/v1/imports/{import_id}/cancel", tag = "imports",
    params(("import_id" = i64, Path, description = "Import id")),
    responses((status = 202, body = ImportJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:write"])))]
pub async fn cancel(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsWrite)?;
    let id = ImportId(path.into_inner());
    let record = api
        .run(move |app, c| app::imports::cancel(app, c, id))
        .await?;
    Ok(HttpResponse::Accepted().json(ImportJson::from(record)))
}

/// The rows the import could not take, as CSV: `error`, `row`, then the file's own columns,
/// ready to fix and import again.
#[utoipa::path(get, path = "/api/v1/imports/{import_id}/failures.csv", tag = "imports",
    params(("import_id" = i64, Path, description = "Import id")),
    responses((status = 200, description = "CSV", content_type = "text/csv"), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["contacts:read"])))]
pub async fn failures(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::ContactsRead)?;
    let id = ImportId(path.into_inner());
    api.run(move |app, c| app::imports::get(app, c, id)).await?;
    let caller = api.caller.clone();
    Ok(crate::download::csv(
        &api.state.app,
        &format!("import-{id}-failed-rows.csv"),
        move |app, out| app::imports::write_failures(app, &caller, id, out),
    ))
}
