//! CSV imports: upload, preview and mapping, a dry run, the run itself (a background job with
//! progress and cancel, or in the foreground from the command line), undo, and the failed rows
//! as a CSV to fix and import again.
//!
//! An import never stays half done: it writes in batches, each recording what it changed, and
//! a cancel, an error or a restart in the middle undoes every batch already written.

mod apply;
mod plan;
pub mod read;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use domain::csv_import::{self, Encoding, ImportTarget};
use domain::custom_field::{FieldName, FieldType};
use domain::field_definition::CustomFieldDef;
use domain::ids::{ContactId, ImportId, WorkspaceId};
use domain::import_job::{
    DuplicatePolicy, ImportCounts, ImportRecord, ImportSettings, ImportStatus, NewField,
};
use domain::validation::ValidationError;
use storage::imports as store;

pub use read::{MAX_UPLOAD_BYTES, Sniffed};

use crate::{App, AppError, Caller};
use apply::{Lists, Writer};
use plan::{Column, FieldSpec};

/// Rows written per transaction: big enough to be fast (each commit writes and checkpoints
/// the pages it touched), small enough that other writers (someone adding a note meanwhile)
/// wait well under the busy timeout.
const BATCH: usize = 5000;

/// The page cache an import's connection gets (see `storage::Db::bulk`).
const BULK_CACHE_MIB: u32 = 16;

/// Where uploaded files wait for their import: `DATA_DIR/imports`.
pub fn uploads_dir(app: &App) -> PathBuf {
    app.settings().data_dir.join("imports")
}

fn upload_path(app: &App, id: ImportId) -> PathBuf {
    uploads_dir(app).join(format!("{id}.csv"))
}

/// A place in the uploads folder for an incoming file, before it becomes an import.
pub fn incoming_path(app: &App) -> Result<PathBuf, AppError> {
    let dir = uploads_dir(app);
    std::fs::create_dir_all(&dir)
        .map_err(|e| AppError::Internal(format!("cannot create {}: {e}", dir.display())))?;
    let token: u64 = rand::random();
    Ok(dir.join(format!(".incoming-{token:016x}")))
}

/// The caller for the command line: the workspace's owner, acting from the shell.
pub fn cli_caller(app: &App, ws: WorkspaceId) -> Result<Caller, AppError> {
    let owner = app
        .db()
        .read(|conn| storage::workspaces::owner_of(conn, ws))
        .map_err(|_| {
            AppError::Validation(ValidationError::new(
                "workspace",
                format!("There is no workspace with id {ws}. A workspace's id is the number in its address (/w/ID) and in GET /api/v1/workspaces."),
            ))
        })?;
    Ok(Caller {
        user_id: owner,
        actor: domain::audit::Actor::Cli,
        ip: None,
    })
}

/// Takes an uploaded file (written to `incoming`, from [`incoming_path`] or anywhere on the
/// same disk) into a new import of the workspace, after checking that it reads as CSV.
pub fn upload(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    file_name: &str,
    incoming: &Path,
) -> Result<(ImportRecord, Sniffed), AppError> {
    let result = (|| {
        app.db()
            .read(|conn| storage::workspaces::get(conn, caller.user_id, ws))?;
        let size = std::fs::metadata(incoming).map(|m| m.len()).unwrap_or(0);
        if size > MAX_UPLOAD_BYTES {
            return Err(ValidationError::new(
                "file",
                format!(
                    "The file is {:.0} MB; the most pi-crm takes at once is {} MB. Split it into smaller files.",
                    size as f64 / 1_048_576.0,
                    MAX_UPLOAD_BYTES / 1_048_576
                ),
            )
            .into());
        }
        let sniffed = read::sniff(incoming, None, None)?;
        if sniffed.total_rows == 0 {
            return Err(no_rows());
        }
        Ok(sniffed)
    })();
    let sniffed = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(incoming);
            return Err(e);
        }
    };
    let name = clean_file_name(file_name);
    let now = Utc::now();
    let id = app.db().write(|conn| {
        let id = store::insert(conn, caller.user_id, ws, &name, now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("import.upload", "import")
                .workspace(ws)
                .entity(id)
                .after(&serde_json::json!({"file": name, "rows": sniffed.total_rows})),
            now,
        )?;
        Ok::<_, AppError>(id)
    })?;
    let target = upload_path(app, id);
    if let Some(dir) = target.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::rename(incoming, &target)
        .or_else(|_| std::fs::copy(incoming, &target).map(|_| ()))
        .map_err(|e| AppError::Internal(format!("cannot keep the uploaded file: {e}")))?;
    let _ = std::fs::remove_file(incoming);
    Ok((get(app, caller, id)?, sniffed))
}

/// The name shown in logs ("Imported from clients.csv"): no folders, one line, not too long.
fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let clean: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if clean.trim().is_empty() {
        "upload.csv".into()
    } else {
        clean.trim().to_owned()
    }
}

pub fn get(app: &App, caller: &Caller, id: ImportId) -> Result<ImportRecord, AppError> {
    Ok(app.db().read(|conn| store::get(conn, caller.user_id, id))?)
}

pub fn list(app: &App, caller: &Caller, ws: WorkspaceId) -> Result<Vec<ImportRecord>, AppError> {
    Ok(app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        store::for_workspace(conn, caller.user_id, ws, 20)
    })?)
}

/// The file as the wizard shows it, with the suggested target and guessed type per column.
#[derive(Debug, Clone)]
pub struct Preview {
    pub sniffed: Sniffed,
    pub suggested: Vec<ImportTarget>,
    /// For columns no field matches: the type a new field would get.
    pub guessed: Vec<FieldType>,
    pub fields: Vec<CustomFieldDef>,
}

pub fn preview(
    app: &App,
    caller: &Caller,
    id: ImportId,
    encoding: Option<Encoding>,
    delimiter: Option<u8>,
) -> Result<Preview, AppError> {
    let record = get(app, caller, id)?;
    let path = upload_path(app, id);
    if !path.exists() {
        return Err(gone());
    }
    let sniffed = read::sniff(&path, encoding, delimiter)?;
    let fields = crate::custom_fields::for_workspace(app, caller, record.workspace_id)?;
    let names: Vec<String> = fields.iter().map(|f| f.name.as_str().to_owned()).collect();
    let suggested = csv_import::auto_map(&sniffed.headers, &names);
    let guessed = guess_types(&path, &sniffed)?;
    Ok(Preview {
        sniffed,
        suggested,
        guessed,
        fields,
    })
}

fn no_rows() -> AppError {
    ValidationError::new(
        "file",
        "The file has a header row but no contacts under it: check that you exported the contacts, not only the column names.",
    )
    .into()
}

fn gone() -> AppError {
    ValidationError::new(
        "file",
        "The uploaded file is no longer here (it is removed once imported, or after a day). Upload it again.",
    )
    .into()
}

/// The type each column's values suggest, from the first thousand rows.
fn guess_types(path: &Path, sniffed: &Sniffed) -> Result<Vec<FieldType>, AppError> {
    const SAMPLE: usize = 1000;
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); sniffed.headers.len()];
    let mut rows = read::Rows::open(path, sniffed.encoding, sniffed.delimiter)?;
    rows.next_row()?;
    let mut n = 0;
    while let Some((_, cells)) = rows.next_row()? {
        if let Ok(cells) = cells {
            for (column, cell) in columns.iter_mut().zip(cells) {
                column.push(cell);
            }
        }
        n += 1;
        if n >= SAMPLE {
            break;
        }
    }
    Ok(columns
        .iter()
        .map(|values| {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            csv_import::guess_type(&values)
        })
        .collect())
}

/// How the columns are mapped.
#[derive(Debug, Clone)]
pub enum Mapping {
    /// Known headers to their fields, the rest skipped (or, with `create_fields`, made into
    /// new custom fields).
    Auto,
    /// Column header -> target (`first_name`, `tags`, `skip`, a custom field's name...).
    /// Columns not named are skipped.
    ByHeader(Vec<(String, String)>),
    /// One target per column, in order (the wizard's form).
    ByColumn(Vec<ImportTarget>),
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub mapping: Mapping,
    pub policy: DuplicatePolicy,
    /// With the update policy: replace values already there, or only fill empty ones.
    pub overwrite: bool,
    pub dry_run: bool,
    /// Make a custom field for a column that names one that does not exist.
    pub create_fields: bool,
    pub encoding: Option<Encoding>,
    pub delimiter: Option<u8>,
    /// The type chosen for a new field, by column (else the guessed one).
    pub field_types: Vec<(usize, FieldType)>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            mapping: Mapping::Auto,
            policy: DuplicatePolicy::Skip,
            overwrite: false,
            dry_run: false,
            create_fields: false,
            encoding: None,
            delimiter: None,
            field_types: Vec::new(),
        }
    }
}

fn mapping_error(message: String) -> AppError {
    ValidationError::new("mapping", message).into()
}

/// Turns the options into the settings the run uses: every column's target resolved, the
/// fields to create named and typed.
fn settle(
    app: &App,
    caller: &Caller,
    record: &ImportRecord,
    options: &RunOptions,
) -> Result<(ImportSettings, i64), AppError> {
    let path = upload_path(app, record.id);
    if !path.exists() {
        return Err(gone());
    }
    let sniffed = read::sniff(&path, options.encoding, options.delimiter)?;
    if sniffed.total_rows == 0 {
        return Err(no_rows());
    }
    let defs = crate::custom_fields::for_workspace(app, caller, record.workspace_id)?;
    let names: Vec<String> = defs.iter().map(|f| f.name.as_str().to_owned()).collect();
    let headers = &sniffed.headers;
    let mut mapping: Vec<ImportTarget> = match &options.mapping {
        Mapping::Auto => csv_import::auto_map(headers, &names),
        Mapping::ByColumn(targets) => {
            if targets.len() != headers.len() {
                return Err(mapping_error(format!(
                    "The mapping has {} columns but the file has {}.",
                    targets.len(),
                    headers.len()
                )));
            }
            targets.clone()
        }
        Mapping::ByHeader(pairs) => {
            let mut out = vec![ImportTarget::Skip; headers.len()];
            for (header, target) in pairs {
                let Some(i) = headers.iter().position(|h| h == header.trim()).or_else(|| {
                    headers
                        .iter()
                        .position(|h| h.eq_ignore_ascii_case(header.trim()))
                }) else {
                    return Err(mapping_error(format!(
                        "The mapping names a column '{header}' that the file does not have. Its columns are: {}.",
                        headers.join(", ")
                    )));
                };
                out[i] = ImportTarget::parse(target);
            }
            out
        }
    };
    let guessed = guess_types(&path, &sniffed)?;
    let mut new_fields: Vec<NewField> = Vec::new();
    for (column, target) in mapping.iter_mut().enumerate() {
        let wants_field = match target {
            ImportTarget::Custom(name) => Some(name.clone()),
            // With automatic mapping, `create_fields` turns unmatched columns that hold
            // something into fields of their own; an `id` column never does.
            ImportTarget::Skip
                if matches!(options.mapping, Mapping::Auto)
                    && options.create_fields
                    && !headers[column].trim().eq_ignore_ascii_case("id")
                    && column_has_values(&sniffed, column) =>
            {
                Some(headers[column].clone())
            }
            _ => None,
        };
        let Some(wanted) = wants_field else { continue };
        if let Some(def) = find_field(&defs, &wanted) {
            *target = ImportTarget::Custom(def.name.as_str().to_owned());
            continue;
        }
        if !options.create_fields {
            return Err(mapping_error(format!(
                "There is no custom field '{wanted}' in this workspace: create it first (Settings > Custom fields), or let the import create it (create_fields). A column can also go to {}, or a custom field's name.",
                ImportTarget::BUILT_IN
                    .iter()
                    .map(ImportTarget::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let name = FieldName::from_label(&wanted)
            .map(|n| n.as_str().to_owned())
            .ok_or_else(|| {
                mapping_error(format!(
                    "The column '{wanted}' cannot name a field: give it a name with letters or digits."
                ))
            })?;
        let name = unique_name(&name, &defs, &new_fields);
        let field_type = options
            .field_types
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, t)| *t)
            .or_else(|| guessed.get(column).copied())
            .unwrap_or(FieldType::Text);
        *target = ImportTarget::Custom(name.clone());
        new_fields.push(NewField {
            column,
            name,
            label: wanted.trim().chars().take(100).collect(),
            field_type,
        });
    }
    check_targets(&mapping, headers)?;
    Ok((
        ImportSettings {
            encoding: sniffed.encoding,
            delimiter: sniffed.delimiter,
            headers: sniffed.headers.clone(),
            mapping,
            policy: options.policy,
            overwrite: options.overwrite,
            new_fields,
        },
        sniffed.total_rows,
    ))
}

/// Whether the previewed rows hold anything in the column.
fn column_has_values(sniffed: &Sniffed, column: usize) -> bool {
    sniffed
        .preview
        .iter()
        .any(|row| row.get(column).is_some_and(|c| !c.trim().is_empty()))
}

fn find_field<'a>(defs: &'a [CustomFieldDef], wanted: &str) -> Option<&'a CustomFieldDef> {
    let wanted = wanted.trim();
    defs.iter()
        .find(|d| d.name.as_str() == wanted)
        .or_else(|| defs.iter().find(|d| d.label.eq_ignore_ascii_case(wanted)))
        .or_else(|| {
            let as_name = FieldName::from_label(wanted)?;
            defs.iter().find(|d| d.name == as_name)
        })
}

fn unique_name(name: &str, defs: &[CustomFieldDef], new: &[NewField]) -> String {
    let taken =
        |n: &str| defs.iter().any(|d| d.name.as_str() == n) || new.iter().any(|f| f.name == n);
    if !taken(name) {
        return name.to_owned();
    }
    (2..)
        .map(|i| format!("{name}_{i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| name.to_owned())
}

/// Each field is filled by one column at most.
fn check_targets(mapping: &[ImportTarget], headers: &[String]) -> Result<(), AppError> {
    let mut seen: HashMap<&ImportTarget, &str> = HashMap::new();
    for (target, header) in mapping.iter().zip(headers) {
        if matches!(target, ImportTarget::Skip | ImportTarget::Tags) {
            continue;
        }
        if let Some(first) = seen.insert(target, header) {
            return Err(mapping_error(format!(
                "Both '{first}' and '{header}' are mapped to {}: map one of them to skip.",
                target.as_str()
            )));
        }
    }
    if !mapping.iter().any(|t| !matches!(t, ImportTarget::Skip)) {
        return Err(mapping_error(
            "No column is mapped to a field, so nothing would be imported. Map at least a name, email or phone column.".into(),
        ));
    }
    Ok(())
}

/// Settles the options and marks the import running (creating the new fields first, unless
/// it is a dry run). Returns the field specs the run fills.
fn begin(
    app: &App,
    caller: &Caller,
    id: ImportId,
    options: &RunOptions,
) -> Result<(ImportRecord, ImportSettings, Vec<FieldSpec>), AppError> {
    let record = get(app, caller, id)?;
    if record.status == ImportStatus::Running {
        return Err(AppError::Conflict {
            field: "status",
            message: "This import is running already.".into(),
        });
    }
    if record.status != ImportStatus::Uploaded
        && !(record.dry_run && record.status == ImportStatus::Done)
    {
        return Err(AppError::Conflict {
            field: "status",
            message: "This import has run already. Upload the file again to import it again."
                .into(),
        });
    }
    let (settings, total) = settle(app, caller, &record, options)?;
    let mut fields: Vec<FieldSpec> =
        crate::custom_fields::for_workspace(app, caller, record.workspace_id)?
            .into_iter()
            .map(|d| FieldSpec {
                id: Some(d.id),
                name: d.name.as_str().to_owned(),
                label: d.label,
                field_type: d.field_type,
                required: d.required,
                default_value: d.default_value,
            })
            .collect();
    for new in &settings.new_fields {
        let id = if options.dry_run {
            None
        } else {
            let def = crate::custom_fields::create(
                app,
                caller,
                crate::custom_fields::FieldInput {
                    name: Some(new.name.clone()),
                    label: new.label.clone(),
                    field_type: new.field_type.as_str().to_owned(),
                    workspace: Some(record.workspace_id),
                    ..Default::default()
                },
            )?;
            Some(def.id)
        };
        fields.push(FieldSpec {
            id,
            name: new.name.clone(),
            label: new.label.clone(),
            field_type: new.field_type,
            required: false,
            default_value: None,
        });
    }
    let now = Utc::now();
    app.db().write(|conn| {
        if !store::start(conn, id, &settings, options.dry_run, total)? {
            return Err(AppError::Conflict {
                field: "status",
                message: "This import was started already.".into(),
            });
        }
        storage::audit::insert(
            conn,
            &caller
                .audit("import.start", "import")
                .workspace(record.workspace_id)
                .entity(id)
                .after(&serde_json::json!({
                    "file": record.file_name,
                    "dry_run": options.dry_run,
                    "policy": settings.policy.as_str(),
                    "rows": total,
                    "new_fields": settings.new_fields.len(),
                })),
            now,
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok((get(app, caller, id)?, settings, fields))
}

/// Starts the import in the background; poll [`get`] for its progress.
pub fn start(
    app: &App,
    caller: &Caller,
    id: ImportId,
    options: RunOptions,
) -> Result<ImportRecord, AppError> {
    let (record, settings, fields) = begin(app, caller, id, &options)?;
    let (app2, caller2) = (app.clone(), caller.clone());
    std::thread::Builder::new()
        .name(format!("import-{id}"))
        .spawn(move || finish_run(&app2, &caller2, id, &settings, &fields))
        .map_err(|e| AppError::Internal(format!("cannot start the import: {e}")))?;
    Ok(record)
}

/// Runs the import to its end before returning (the command line).
pub fn run_now(
    app: &App,
    caller: &Caller,
    id: ImportId,
    options: RunOptions,
) -> Result<ImportRecord, AppError> {
    let (_, settings, fields) = begin(app, caller, id, &options)?;
    finish_run(app, caller, id, &settings, &fields);
    get(app, caller, id)
}

enum Ending {
    Done,
    Cancelled,
}

/// Held by the process running an import, so a server starting meanwhile does not take an
/// import another process (the command line) is running for one a crash left behind.
fn run_lock(app: &App, id: ImportId) -> Option<std::fs::File> {
    let path = uploads_dir(app).join(format!("{id}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ok()?;
    file.try_lock().ok()?;
    Some(file)
}

fn finish_run(
    app: &App,
    caller: &Caller,
    id: ImportId,
    settings: &ImportSettings,
    fields: &[FieldSpec],
) {
    let _lock = run_lock(app, id);
    let outcome = execute(app, caller, id, settings, fields);
    let record = match app.db().read(|conn| store::get_any(conn, id)) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(import = id.0, cause = %e, "import record vanished");
            return;
        }
    };
    let (status, error, action) = match outcome {
        Ok(Ending::Done) => (ImportStatus::Done, None, "import.finish"),
        Ok(Ending::Cancelled) => (ImportStatus::Cancelled, None, "import.cancel"),
        Err(e) => {
            tracing::error!(import = id.0, cause = %e, "import failed");
            let message = match &e {
                AppError::Validation(v) => v.message.clone(),
                other => format!("The import stopped: {other}. Nothing of it was kept."),
            };
            (ImportStatus::Failed, Some(message), "import.failed")
        }
    };
    if status != ImportStatus::Done
        && let Err(e) = undo_all(app, id, caller, &record.file_name, None)
    {
        tracing::error!(import = id.0, cause = %e, "could not undo a stopped import");
    }
    // Thousands of new rows make the planner's statistics stale (an early `PRAGMA optimize` on
    // a near-empty database would otherwise have every later lookup scan whole tables).
    if !record.dry_run
        && let Err(e) = app.db().optimize()
    {
        tracing::warn!(cause = %e, "could not refresh the query statistics");
    }
    let now = Utc::now();
    let ended = app.db().write(|conn| {
        store::finish(conn, id, status, error.as_deref(), now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit(action, "import")
                .workspace(record.workspace_id)
                .entity(id)
                .after(&serde_json::json!({
                    "created": record.counts.created,
                    "updated": record.counts.updated,
                    "skipped": record.counts.skipped,
                    "failed": record.counts.failed,
                    "dry_run": record.dry_run,
                })),
            now,
        )?;
        Ok::<_, AppError>(())
    });
    if let Err(e) = ended {
        tracing::error!(import = id.0, cause = %e, "could not record the end of an import");
    }
    // A real import's file has served; a dry run's waits for the real run.
    if !record.dry_run && status == ImportStatus::Done {
        let _ = std::fs::remove_file(upload_path(app, id));
    }
    let _ = std::fs::remove_file(uploads_dir(app).join(format!("{id}.lock")));
}

/// One row's fate.
enum Fate {
    Create(plan::Draft),
    Update(ContactId, plan::Draft),
    Skip,
    Fail(String),
}

fn execute(
    app: &App,
    caller: &Caller,
    id: ImportId,
    settings: &ImportSettings,
    fields: &[FieldSpec],
) -> Result<Ending, AppError> {
    let record = app.db().read(|conn| store::get_any(conn, id))?;
    let ws = record.workspace_id;
    let columns: Vec<Column> = settings
        .mapping
        .iter()
        .map(|t| Column::of(t, fields))
        .collect();
    let mut rows = read::Rows::open(&upload_path(app, id), settings.encoding, settings.delimiter)?;
    rows.next_row()?;
    let (mut by_email, mut by_phone) = (HashMap::new(), HashMap::new());
    let mut lists = app.db().read(|conn| {
        for (contact, email, phone) in storage::contacts::duplicate_keys(conn, ws)? {
            if let Some(e) = email {
                by_email.entry(e).or_insert(contact);
            }
            if let Some(p) = phone {
                by_phone.entry(p).or_insert(contact);
            }
        }
        Lists::load(conn, ws)
    })?;
    let writer = Writer {
        import: id,
        caller,
        workspace: ws,
        file_name: &record.file_name,
        fields,
        overwrite: settings.overwrite,
    };
    let mut counts = ImportCounts::default();
    let mut processed = 0i64;
    // Contacts a dry run would create get made-up ids, so later rows match them.
    let mut imagined = 0i64;
    app.db().bulk(BULK_CACHE_MIB, |bulk| {
        loop {
            let mut batch = Vec::with_capacity(BATCH);
            while batch.len() < BATCH {
                let Some((number, cells)) = rows.next_row()? else {
                    break;
                };
                let (draft, cells) = match cells {
                    Ok(cells) => (
                        plan::draft(&cells, &columns, &settings.headers, fields),
                        cells,
                    ),
                    Err(reason) => (Err(reason), rows.lossy_cells()),
                };
                batch.push((number, draft, cells));
            }
            if batch.is_empty() {
                break;
            }
            let mut fates = Vec::with_capacity(batch.len());
            for (number, draft, cells) in batch {
                let fate = match draft {
                    Err(reason) => Fate::Fail(reason),
                    Ok(draft) => {
                        let (email, phone) = draft.keys();
                        let existing = email
                            .as_ref()
                            .and_then(|e| by_email.get(e))
                            .or_else(|| phone.as_ref().and_then(|p| by_phone.get(p)))
                            .copied();
                        match (existing, settings.policy) {
                            (Some(_), DuplicatePolicy::Skip) => Fate::Skip,
                            (Some(contact), DuplicatePolicy::Update) => {
                                Fate::Update(contact, draft)
                            }
                            _ => match plan::missing_required(&draft, fields) {
                                Some(reason) => Fate::Fail(reason),
                                None => {
                                    if record.dry_run {
                                        imagined -= 1;
                                        remember(
                                            &mut by_email,
                                            &mut by_phone,
                                            &draft,
                                            ContactId(imagined),
                                        );
                                    }
                                    Fate::Create(draft)
                                }
                            },
                        }
                    }
                };
                fates.push((number, fate, cells));
            }
            processed += fates.len() as i64;
            let now = Utc::now();
            bulk.write(|conn| {
                let mut pending = apply::Pending::default();
                for (number, fate, cells) in fates {
                    let fate = match fate {
                        Fate::Update(contact, draft) if !record.dry_run && contact.0 > 0 => {
                            // A row repeating one created earlier in this batch: write that one
                            // out first, so the update sees (and the undo record keeps) it whole.
                            if pending.created.contains(&contact) {
                                writer.flush(conn, &mut pending, now)?;
                            }
                            match storage::contacts::load(conn, &[contact])?.pop() {
                                Some(existing) => {
                                    match writer.update(conn, &mut lists, &existing, &draft, now) {
                                        Ok(_) => Fate::Update(contact, draft),
                                        Err(AppError::Validation(v)) => Fate::Fail(v.message),
                                        Err(other) => return Err(other),
                                    }
                                }
                                None => {
                                    Fate::Fail("The matching contact was deleted meanwhile.".into())
                                }
                            }
                        }
                        Fate::Create(draft) if !record.dry_run => {
                            let contact =
                                writer.create(conn, &mut lists, &mut pending, &draft, now)?;
                            remember(&mut by_email, &mut by_phone, &draft, contact);
                            Fate::Create(draft)
                        }
                        other => other,
                    };
                    match fate {
                        Fate::Create(_) => counts.created += 1,
                        Fate::Update(..) => counts.updated += 1,
                        Fate::Skip => counts.skipped += 1,
                        Fate::Fail(reason) => {
                            counts.failed += 1;
                            store::add_failure(conn, id, number, &reason, &cells)?;
                        }
                    }
                }
                writer.flush(conn, &mut pending, now)?;
                writer.check_parents(conn, &mut lists)?;
                store::progress(conn, id, processed, counts)?;
                Ok::<_, AppError>(())
            })?;
            if app.db().read(|conn| store::cancel_requested(conn, id))? {
                return Ok(Ending::Cancelled);
            }
        }
        Ok(Ending::Done)
    })
}

fn remember(
    by_email: &mut HashMap<String, ContactId>,
    by_phone: &mut HashMap<String, ContactId>,
    draft: &plan::Draft,
    contact: ContactId,
) {
    let (email, phone) = draft.keys();
    if let Some(e) = email {
        by_email.entry(e).or_insert(contact);
    }
    if let Some(p) = phone {
        by_phone.entry(p).or_insert(contact);
    }
}

/// Undoes everything the import wrote, a batch per transaction.
/// Returns the changes undone and the created contacts kept (see `apply::undo_some`).
fn undo_all(
    app: &App,
    id: ImportId,
    caller: &Caller,
    file_name: &str,
    finished: Option<chrono::DateTime<Utc>>,
) -> Result<(usize, usize), AppError> {
    let (mut undone, mut kept) = (0, 0);
    loop {
        let now = Utc::now();
        let step = app.db().write(|conn| {
            apply::undo_some(
                conn,
                id,
                caller.user_id,
                file_name,
                BATCH as i64,
                finished,
                now,
            )
        })?;
        if step.changes == 0 {
            return Ok((undone, kept));
        }
        undone += step.changes;
        kept += step.kept;
    }
}

/// Asks a running import to stop; it undoes what it wrote and ends `cancelled`.
pub fn cancel(app: &App, caller: &Caller, id: ImportId) -> Result<ImportRecord, AppError> {
    let record = get(app, caller, id)?;
    if record.status != ImportStatus::Running {
        return Err(AppError::Conflict {
            field: "status",
            message: "This import is not running, so there is nothing to cancel.".into(),
        });
    }
    app.db().write(|conn| store::request_cancel(conn, id))?;
    get(app, caller, id)
}

/// Undoes a finished import: the contacts it created are removed, those it updated get their
/// earlier values back.
pub fn revert(app: &App, caller: &Caller, id: ImportId) -> Result<ImportRecord, AppError> {
    let record = get(app, caller, id)?;
    let refusal = match (record.status, record.dry_run) {
        (ImportStatus::Running, _) => Some("This import is still running: cancel it instead."),
        (ImportStatus::Done, false) => None,
        (ImportStatus::Done, true) => {
            Some("A dry run changed nothing, so there is nothing to undo.")
        }
        (ImportStatus::Reverted, _) => Some("This import was undone already."),
        (ImportStatus::Uploaded, _) => Some("This import has not run yet."),
        _ => Some("This import did not complete, so nothing of it was kept."),
    };
    if let Some(message) = refusal {
        return Err(AppError::Conflict {
            field: "status",
            message: message.into(),
        });
    }
    let (undone, kept) = undo_all(app, id, caller, &record.file_name, record.finished_at)?;
    let note = (kept > 0).then(|| {
        format!(
            "{kept} contact(s) this import created were kept: someone changed them or added to them after the import."
        )
    });
    let now = Utc::now();
    app.db().write(|conn| {
        store::finish(conn, id, ImportStatus::Reverted, note.as_deref(), now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("import.revert", "import")
                .workspace(record.workspace_id)
                .entity(id)
                .after(&serde_json::json!({"contacts": undone, "kept": kept})),
            now,
        )?;
        Ok::<_, AppError>(())
    })?;
    get(app, caller, id)
}

/// At start: an import left running by a crash or a stop is undone and marked failed.
pub fn recover(app: &App) -> Result<usize, AppError> {
    let running = app.db().read(store::running)?;
    let mut recovered = 0;
    for id in &running {
        // Running in another process right now: not ours to undo.
        let Some(_lock) = run_lock(app, *id) else {
            continue;
        };
        recovered += 1;
        let record = app.db().read(|conn| store::get_any(conn, *id))?;
        let caller = Caller {
            user_id: record.owner_user_id,
            actor: domain::audit::Actor::Job {
                name: "import-recovery".into(),
            },
            ip: None,
        };
        undo_all(app, *id, &caller, &record.file_name, None)?;
        let now = Utc::now();
        app.db().write(|conn| {
            store::finish(
                conn,
                *id,
                ImportStatus::Failed,
                Some("pi-crm stopped while this import ran, so what it had done was undone. Upload the file and import it again."),
                now,
            )?;
            storage::audit::insert(
                conn,
                &caller
                    .audit("import.failed", "import")
                    .workspace(record.workspace_id)
                    .entity(id),
                now,
            )?;
            Ok::<_, AppError>(())
        })?;
        let _ = std::fs::remove_file(uploads_dir(app).join(format!("{id}.lock")));
    }
    Ok(recovered)
}

/// Writes the rows the import could not take as CSV: the original header and cells, with an
/// `error` column first, so the file can be fixed and imported again.
pub fn write_failures<W: Write>(
    app: &App,
    caller: &Caller,
    id: ImportId,
    out: W,
) -> Result<(), AppError> {
    let record = get(app, caller, id)?;
    let fail = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    // Failed rows are often ragged: the file gives them back as they were.
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(out);
    let mut header = vec!["error".to_owned(), "row".to_owned()];
    header.extend(record.settings.map(|s| s.headers).unwrap_or_default());
    writer.write_record(&header).map_err(fail)?;
    let mut after = 0;
    loop {
        let page = app
            .db()
            .read(|conn| store::failures(conn, id, after, 1000))?;
        let Some(last) = page.last() else { break };
        after = last.row_number;
        for row in page {
            let mut cells = vec![row.reason, row.row_number.to_string()];
            cells.extend(row.cells);
            writer
                .write_record(cells.iter().map(|c| crate::export::neutralise(c)))
                .map_err(fail)?;
        }
    }
    writer
        .flush()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))
}

/// Removes uploaded files no import will use any more: older than a day and not running.
pub fn remove_stale_uploads(app: &App) -> Result<usize, AppError> {
    let dir = uploads_dir(app);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(0);
    };
    let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(24 * 3600);
    let mut removed = 0;
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < cutoff);
        let running = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_suffix(".csv"))
            .and_then(|n| n.parse::<i64>().ok())
            .and_then(|n| app.db().read(|conn| store::get_any(conn, ImportId(n))).ok())
            .is_some_and(|r| r.status == ImportStatus::Running);
        if old && !running && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}
