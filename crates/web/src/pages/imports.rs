//! The import wizard: upload a CSV, check the preview and the mapping (with new fields typed on
//! the spot), choose what happens to duplicates, try a dry run, import with a progress bar that
//! can be cancelled, then download the failed rows or undo the whole import.

use actix_web::{HttpRequest, HttpResponse, web};
use app::imports::{Mapping, Preview, RunOptions};
use domain::csv_import::{self, Encoding, ImportTarget};
use domain::custom_field::FieldType;
use domain::ids::{ImportId, WorkspaceId};
use domain::import_job::{DuplicatePolicy, ImportRecord, ImportStatus};
use maud::{Markup, html};

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::workspaces::load;
use crate::pages::{flash, html, see_other};
use crate::state::blocking;
use crate::upload::UploadError;
use crate::views::components::{csrf_field, when};
use crate::views::layout::{FlashKind, Section};

/// The caller's import, or 404.
async fn load_import(who: &SignedIn, id: ImportId) -> Result<ImportRecord, PageError> {
    let caller = who.caller.clone();
    Ok(blocking(&who.state.app, move |app| {
        app::imports::get(app, &caller, id)
    })
    .await?)
}

fn page_of(id: ImportId) -> String {
    format!("/imports/{id}")
}

fn counts_line(r: &ImportRecord) -> Markup {
    let c = r.counts;
    html! {
        ul ."flex flex-wrap gap-2 text-sm" data-counts {
            li ."rounded bg-emerald-100 px-2 py-1 text-emerald-900" { (c.created) " new" }
            li ."rounded bg-blue-100 px-2 py-1 text-blue-900" { (c.updated) " updated" }
            li ."rounded bg-slate-100 px-2 py-1 text-slate-800" { (c.skipped) " skipped" }
            li ."rounded px-2 py-1" .(if c.failed > 0 { "bg-red-100 text-red-900" } else { "bg-slate-100 text-slate-800" }) { (c.failed) " failed" }
        }
    }
}

fn status_label(r: &ImportRecord) -> &'static str {
    match r.status {
        ImportStatus::Uploaded => "Waiting for its mapping",
        ImportStatus::Running => "Importing",
        ImportStatus::Done if r.dry_run => "Dry run done",
        ImportStatus::Done => "Imported",
        ImportStatus::Failed => "Failed",
        ImportStatus::Cancelled => "Cancelled",
        ImportStatus::Reverted => "Undone",
    }
}

/// `GET /w/{ws}/imports`: the upload form and the workspace's recent imports.
pub async fn index(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let (caller, id) = (who.caller.clone(), ws.id);
    let recent = blocking(&who.state.app, move |app| {
        app::imports::list(app, &caller, id)
    })
    .await?;
    let max_mb = app::imports::MAX_UPLOAD_BYTES / 1_048_576;
    let markup = who
        .render("Import contacts", Some(ws), Section::Contacts, |chrome| html! {
            h1 ."mb-4 text-2xl font-semibold" { "Import contacts" }
            div ."grid max-w-3xl gap-6" {
                form ."card space-y-3" method="post" enctype="multipart/form-data"
                    action=(format!("/w/{id}/imports?csrf_token={}", chrome.csrf)) {
                    p ."text-slate-700" {
                        "Upload a CSV file: an export from Google Contacts, Outlook, another CRM, or a spreadsheet saved as CSV. "
                        "You will see the first rows and choose where each column goes before anything is imported."
                    }
                    label ."label" for="import-file" { "CSV file (up to " (max_mb) " MB)" }
                    input ."input" #import-file type="file" name="file" accept=".csv,text/csv,text/plain" required;
                    button ."btn btn-primary" type="submit" { "Upload and preview" }
                }
                @if !recent.is_empty() {
                    section ."card" {
                        h2 ."mb-2 text-lg font-semibold" { "Recent imports" }
                        ul ."divide-y divide-slate-200" #import-list {
                            @for r in &recent {
                                li ."flex flex-wrap items-center gap-2 py-2" {
                                    a ."font-medium text-blue-700 underline" href=(page_of(r.id)) { (r.file_name) }
                                    span ."text-sm text-slate-600" { (status_label(r)) " · " (when(r.created_at)) }
                                    @if r.status.is_final() { (counts_line(r)) }
                                }
                            }
                        }
                    }
                }
            }
        })
        .await?;
    Ok(html(markup))
}

/// `POST /w/{ws}/imports`: takes the file and opens its preview.
pub async fn upload(
    who: SignedIn,
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let back = format!("/w/{}/imports", ws.id);
    let mut upload = match crate::upload::read(&who.state.app, &req, body).await {
        Ok(u) => u,
        Err(UploadError::TooLarge(m) | UploadError::Bad(m)) => {
            flash(&who.session, FlashKind::Error, m);
            return Ok(see_other(&back));
        }
        Err(UploadError::Internal(m)) => return Err(app::AppError::Internal(m).into()),
    };
    let Some((name, incoming)) = upload.take_file() else {
        flash(
            &who.session,
            FlashKind::Error,
            "Choose a CSV file to upload.",
        );
        return Ok(see_other(&back));
    };
    let (caller, id) = (who.caller.clone(), ws.id);
    let result = blocking(&who.state.app, move |app| {
        app::imports::upload(app, &caller, id, &name, &incoming)
    })
    .await;
    match result {
        Ok((record, _)) => Ok(see_other(&page_of(record.id))),
        Err(app::AppError::Validation(v)) => {
            flash(&who.session, FlashKind::Error, v.message);
            Ok(see_other(&back))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct PreviewQuery {
    encoding: Option<String>,
    delimiter: Option<String>,
}

/// `GET /imports/{id}`: the mapping form, the progress, or the outcome, as the import stands.
pub async fn show(
    who: SignedIn,
    path: web::Path<i64>,
    query: web::Query<PreviewQuery>,
) -> Result<HttpResponse, PageError> {
    let id = ImportId(path.into_inner());
    let record = load_import(&who, id).await?;
    let ws = load(&who, record.workspace_id.0).await?;
    let mapping_stage = record.status == ImportStatus::Uploaded
        || (record.dry_run && record.status == ImportStatus::Done);
    let preview = if mapping_stage {
        let encoding = query.encoding.as_deref().and_then(Encoding::parse);
        let delimiter = query
            .delimiter
            .as_deref()
            .and_then(csv_import::parse_delimiter);
        let caller = who.caller.clone();
        match blocking(&who.state.app, move |app| {
            app::imports::preview(app, &caller, id, encoding, delimiter)
        })
        .await
        {
            Ok(p) => Some(Ok(p)),
            Err(app::AppError::Validation(v)) => Some(Err(v.message)),
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let title = format!("Import: {}", record.file_name);
    let markup = who
        .render(&title, Some(ws), Section::Contacts, |chrome| html! {
            div ."mb-4 flex flex-wrap items-center gap-3" {
                h1 ."text-2xl font-semibold" { "Import " span ."text-slate-600" { (record.file_name) } }
                a ."btn ml-auto" href=(format!("/w/{}/imports", record.workspace_id)) { "All imports" }
            }
            div ."grid max-w-4xl gap-6" {
                @match &preview {
                    Some(Ok(p)) => {
                        @if record.dry_run && record.status == ImportStatus::Done { (dry_run_result(&record)) }
                        (mapping_form(&chrome.csrf, &record, p))
                    }
                    Some(Err(message)) => div ."card text-red-900" role="alert" { (message) }
                    None => @if record.status == ImportStatus::Running {
                        (progress(&chrome.csrf, &record))
                    } @else {
                        (outcome(&chrome.csrf, &record))
                    },
                }
            }
        })
        .await?;
    Ok(html(markup))
}

fn dry_run_result(r: &ImportRecord) -> Markup {
    html! {
        section ."card space-y-2" #dry-run-result {
            h2 ."text-lg font-semibold" { "Dry run: nothing was changed" }
            p ."text-slate-700" { "Importing with these settings would give:" }
            (counts_line(r))
            @if r.counts.failed > 0 {
                p ."text-sm" {
                    a ."text-blue-700 underline" href=(format!("/imports/{}/failures.csv", r.id)) { "Download the " (r.counts.failed) " failed rows" }
                    " with the reason for each, to fix them and import them again."
                }
            }
        }
    }
}

fn target_value(t: &ImportTarget) -> String {
    match t {
        ImportTarget::Custom(name) => format!("custom:{name}"),
        other => other.as_str().to_owned(),
    }
}

fn mapping_form(csrf: &str, r: &ImportRecord, p: &Preview) -> Markup {
    let s = &p.sniffed;
    // After a dry run the choices made then come back; otherwise the suggestions.
    let earlier = r
        .settings
        .as_ref()
        .filter(|set| set.headers == s.headers)
        .cloned();
    let policy = earlier.as_ref().map(|e| (e.policy, e.overwrite));
    let field_names: Vec<&str> = p.fields.iter().map(|f| f.name.as_str()).collect();
    html! {
        form ."card space-y-2" method="get" action=(page_of(r.id)) #read-options {
            h2 ."text-lg font-semibold" { "How the file is read" }
            p ."text-sm text-slate-600" { "Found " (s.total_rows) " rows. If the preview looks garbled, change these." }
            div ."flex flex-wrap items-end gap-3" {
                div ."space-y-1" {
                    label ."label" for="encoding" { "Encoding" }
                    select ."input" #encoding name="encoding" {
                        @for e in Encoding::ALL { option value=(e.as_str()) selected[*e == s.encoding] { (e.label()) } }
                    }
                }
                div ."space-y-1" {
                    label ."label" for="delimiter" { "Separator" }
                    select ."input" #delimiter name="delimiter" {
                        @for d in [b',', b';', b'\t'] { option value=(csv_import::delimiter_name(d)) selected[d == s.delimiter] { (csv_import::delimiter_name(d)) } }
                    }
                }
                button ."btn" type="submit" { "Read again" }
            }
        }
        form ."space-y-4" method="post" action=(format!("/imports/{}/run", r.id)) #mapping-form {
            (csrf_field(csrf))
            input type="hidden" name="encoding" value=(s.encoding.as_str());
            input type="hidden" name="delimiter" value=(csv_import::delimiter_name(s.delimiter));
            section ."card" {
                h2 ."mb-1 text-lg font-semibold" { "Where each column goes" }
                p ."mb-3 text-sm text-slate-600" { "Known columns are matched already. A column no field matches can become a new custom field: check its type." }
                div ."divide-y divide-slate-200" {
                    @for (i, header) in s.headers.iter().enumerate() {
                        @let chosen = earlier.as_ref().and_then(|e| e.mapping.get(i).cloned()).unwrap_or_else(|| p.suggested[i].clone());
                        @let new_field = matches!(&chosen, ImportTarget::Custom(n) if !field_names.contains(&n.as_str()));
                        @let guessed = earlier.as_ref().and_then(|e| e.new_fields.iter().find(|f| f.column == i).map(|f| f.field_type)).unwrap_or(p.guessed[i]);
                        div ."grid gap-2 py-3 md:grid-cols-3 md:items-center" data-column=(i) {
                            div {
                                label ."font-medium" for=(format!("col-{i}")) { (header) }
                                p ."truncate text-xs text-slate-600" {
                                    @for row in s.preview.iter().take(3) { @if let Some(v) = row.get(i) { @if !v.is_empty() { span ."mr-2" { (v) } } } }
                                }
                            }
                            select ."input" id=(format!("col-{i}")) name=(format!("col_{i}")) {
                                option value="skip" selected[chosen == ImportTarget::Skip] { "Skip this column" }
                                @for t in ImportTarget::BUILT_IN.iter().filter(|t| **t != ImportTarget::Skip) {
                                    option value=(target_value(t)) selected[chosen == *t] { (t.label()) }
                                }
                                @for f in &p.fields {
                                    @let t = ImportTarget::Custom(f.name.as_str().to_owned());
                                    option value=(target_value(&t)) selected[chosen == t] { "Custom field: " (f.label) }
                                }
                                option value=(format!("new:{i}")) selected[new_field] { "New custom field \"" (header) "\"" }
                            }
                            div data-show-when-select=(format!("col-{i}")) data-show-when-prefix="new:" {
                                label ."sr-only" for=(format!("type-{i}")) { "Type of the new field" }
                                select ."input text-sm" id=(format!("type-{i}")) name=(format!("type_{i}")) title="Type, if this column becomes a new field" {
                                    @for t in FieldType::ALL.iter().filter(|t| **t != FieldType::Json) {
                                        option value=(t.as_str()) selected[*t == guessed] { "New field type: " (t.label()) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section ."card" {
                h2 ."mb-1 text-lg font-semibold" { "Contacts already here" }
                p ."mb-2 text-sm text-slate-600" { "A row is a duplicate when its email or phone matches a contact in this workspace, or an earlier row of the file." }
                @for (value, label, is) in [
                    ("skip", "Skip the row", policy.is_none() || policy == Some((DuplicatePolicy::Skip, false))),
                    ("update", "Update the contact: fill in what it is missing", policy == Some((DuplicatePolicy::Update, false))),
                    ("update_overwrite", "Update the contact: replace its values with the file's", policy == Some((DuplicatePolicy::Update, true))),
                    ("create", "Create a new contact anyway", policy.is_some_and(|p| p.0 == DuplicatePolicy::Create)),
                ] {
                    label ."flex items-center gap-2 py-1" {
                        input type="radio" name="policy" value=(value) checked[is];
                        span { (label) }
                    }
                }
            }
            div ."flex flex-wrap gap-3" {
                button ."btn" type="submit" name="action" value="dry_run" { "Dry run (change nothing)" }
                button ."btn btn-primary" type="submit" name="action" value="import" { "Import " (s.total_rows) " rows" }
            }
        }
    }
}

fn progress(csrf: &str, r: &ImportRecord) -> Markup {
    let percent = if r.total_rows > 0 {
        (r.processed_rows * 100 / r.total_rows).min(100)
    } else {
        0
    };
    html! {
        section ."card space-y-3" #import-progress
            hx-get=(format!("/imports/{}/progress", r.id)) hx-trigger="every 1s" hx-swap="outerHTML" {
            h2 ."text-lg font-semibold" { @if r.dry_run { "Checking the file…" } @else { "Importing…" } }
            progress ."h-3 w-full" max="100" value=(percent) aria-label="Import progress" {}
            p ."text-sm text-slate-700" { (r.processed_rows) " of " (r.total_rows) " rows (" (percent) "%)" }
            (counts_line(r))
            @if r.cancel_requested {
                p ."text-sm text-amber-900" { "Cancelling: undoing what was imported…" }
            } @else {
                form method="post" action=(format!("/imports/{}/cancel", r.id)) data-confirm="Stop the import? Everything it imported so far is undone." {
                    (csrf_field(csrf))
                    button ."btn btn-danger" type="submit" { "Cancel" }
                }
            }
        }
    }
}

fn outcome(csrf: &str, r: &ImportRecord) -> Markup {
    html! {
        section ."card space-y-3" #import-outcome {
            h2 ."text-lg font-semibold" { (status_label(r)) ": " (r.file_name) }
            @if let Some(finished) = r.finished_at { p ."text-sm text-slate-600" { "Finished " (when(finished)) } }
            @if let Some(error) = &r.error { p ."text-red-900" role="alert" { (error) } }
            @match r.status {
                ImportStatus::Cancelled => p { "The import was stopped and everything it had imported was undone." },
                ImportStatus::Reverted => p { "This import was undone: the contacts it created are gone and those it updated have their earlier values." },
                _ => {}
            }
            (counts_line(r))
            @if r.counts.failed > 0 {
                p ."text-sm" {
                    a ."text-blue-700 underline" href=(format!("/imports/{}/failures.csv", r.id)) { "Download the failed rows" }
                    " with the reason for each, fix them, and import that file."
                }
            }
            div ."flex flex-wrap gap-3" {
                a ."btn btn-primary" href=(format!("/w/{}/contacts", r.workspace_id)) { "See the contacts" }
                @if r.status == ImportStatus::Done && !r.dry_run {
                    form method="post" action=(format!("/imports/{}/revert", r.id))
                        data-confirm="Undo this import? Contacts it created are removed and contacts it updated get their earlier values back." {
                        (csrf_field(csrf))
                        button ."btn btn-danger" type="submit" { "Undo this import" }
                    }
                }
            }
        }
    }
}

/// `GET /imports/{id}/progress`: the progress card, polled; once the import ends the page
/// reloads to show how it ended.
pub async fn progress_fragment(
    who: SignedIn,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let id = ImportId(path.into_inner());
    let record = load_import(&who, id).await?;
    if record.status != ImportStatus::Running {
        return Ok(HttpResponse::Ok()
            .insert_header(("HX-Refresh", "true"))
            .content_type("text/html; charset=utf-8")
            .body(outcome("", &record).into_string()));
    }
    Ok(html(progress(&who.csrf, &record)))
}

/// `POST /imports/{id}/run`: a dry run or the import, with the form's mapping.
pub async fn run(
    who: SignedIn,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let id = ImportId(path.into_inner());
    let form = form.into_inner();
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let record = load_import(&who, id).await?;
    let headers = record.settings.as_ref().map(|s| s.headers.clone());
    let (policy, overwrite) = match get("policy") {
        "update" => (DuplicatePolicy::Update, false),
        "update_overwrite" => (DuplicatePolicy::Update, true),
        "create" => (DuplicatePolicy::Create, false),
        _ => (DuplicatePolicy::Skip, false),
    };
    let mut targets = Vec::new();
    let mut field_types = Vec::new();
    let mut create_fields = false;
    let columns = form.iter().filter(|(k, _)| k.starts_with("col_")).count();
    let caller = who.caller.clone();
    let encoding = Encoding::parse(get("encoding"));
    let delimiter = csv_import::parse_delimiter(get("delimiter"));
    // The headers as the form saw them, for naming new fields.
    let sniffed_headers = match headers {
        Some(h) if h.len() == columns => h,
        _ => blocking(&who.state.app, move |app| {
            app::imports::preview(app, &caller, id, encoding, delimiter).map(|p| p.sniffed.headers)
        })
        .await
        .unwrap_or_default(),
    };
    for i in 0..columns {
        let value = get(&format!("col_{i}"));
        let target = if value.starts_with("new:") {
            create_fields = true;
            if let Ok(t) = FieldType::parse(get(&format!("type_{i}"))) {
                field_types.push((i, t));
            }
            ImportTarget::Custom(
                sniffed_headers
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("Column {}", i + 1)),
            )
        } else {
            ImportTarget::parse(value)
        };
        targets.push(target);
    }
    let options = RunOptions {
        mapping: Mapping::ByColumn(targets),
        policy,
        overwrite,
        dry_run: get("action") == "dry_run",
        create_fields,
        encoding,
        delimiter,
        field_types,
    };
    let caller = who.caller.clone();
    let result = blocking(&who.state.app, move |app| {
        app::imports::start(app, &caller, id, options)
    })
    .await;
    match result {
        Ok(_) => Ok(see_other(&page_of(id))),
        Err(app::AppError::Validation(v)) => {
            flash(&who.session, FlashKind::Error, v.message);
            Ok(see_other(&page_of(id)))
        }
        Err(app::AppError::Conflict { message, .. }) => {
            flash(&who.session, FlashKind::Error, message);
            Ok(see_other(&page_of(id)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs `act` on the import and comes back to its page with `done` or the refusal in a toast.
async fn act_and_return(
    who: SignedIn,
    id: ImportId,
    act: fn(&app::App, &app::Caller, ImportId) -> Result<ImportRecord, app::AppError>,
    done: &'static str,
) -> Result<HttpResponse, PageError> {
    let caller = who.caller.clone();
    match blocking(&who.state.app, move |app| act(app, &caller, id)).await {
        Ok(_) => flash(&who.session, FlashKind::Success, done),
        Err(app::AppError::Conflict { message, .. }) => {
            flash(&who.session, FlashKind::Error, message)
        }
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(&page_of(id)))
}

pub async fn cancel(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let id = ImportId(path.into_inner());
    act_and_return(
        who,
        id,
        app::imports::cancel,
        "Cancelling: what was imported is being undone.",
    )
    .await
}

pub async fn revert(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let id = ImportId(path.into_inner());
    act_and_return(who, id, app::imports::revert, "The import was undone.").await
}

pub async fn failures(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let id = ImportId(path.into_inner());
    load_import(&who, id).await?;
    let caller = who.caller.clone();
    Ok(crate::download::csv(
        &who.state.app,
        &format!("import-{id}-failed-rows.csv"),
        move |app, out| app::imports::write_failures(app, &caller, id, out),
    ))
}

/// `GET /w/{ws}/contacts.csv`: the contacts the table's filters match, as CSV for Excel.
pub async fn export(
    who: SignedIn,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let ws = WorkspaceId(load(&who, path.into_inner()).await?.id.0);
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let trash = pairs.iter().any(|(k, v)| k == "trash" && v == "1");
    let caller = who.caller.clone();
    let plan = blocking(&who.state.app, move |app| {
        let mut query = app::contacts::query_from_params(app, &caller, ws, &pairs)?;
        query.trash = trash;
        app::export::plan(app, &caller, ws, &app::bulk::Target::Matching(query))
    })
    .await?;
    Ok(crate::download::csv(
        &who.state.app,
        "contacts.csv",
        move |app, out| app::export::write(app, &plan, true, out),
    ))
}
