//! Contacts: create, change, find, trash and restore, with every change audited and every
//! contact-facing event written to the contact's log in the same transaction.

use chrono::{DateTime, Duration, Utc};
use domain::contact::{BaseFields, Contact, ContactQuery, RawBaseFields, TRASH_DAYS};
use domain::contact_log::{CallOutcome, LogEntry, LogKind, NewLogEntry, parse_note};
use domain::custom_field::FieldValue;
use domain::field_definition::CustomFieldDef;
use domain::ids::{ContactId, ListId, WorkspaceId};
use domain::list::{ListKind, ListSpec};
use domain::pagination::{Page, PageRequest};
use domain::validation::ValidationError;
use domain::values::Region;
use storage::Conn;
use storage::contact_log::Cursor;

/// Where a page of the log ended; pass it back for the next page.
pub type LogCursor = Cursor;
use storage::contacts;

use crate::{App, AppError, Caller};

/// A custom value as it arrives: typed text from a form, or JSON from the API.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Text(String),
    Json(serde_json::Value),
}

/// The whole of a contact as a form or the API sends it to create one.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    pub first_name: String,
    pub last_name: String,
    pub primary_email: String,
    pub primary_phone: String,
    pub company: String,
    /// The stage; the workspace's first stage when absent.
    pub stage: Option<ListSpec>,
    /// Tags; unknown names become new tags, unknown ids are refused.
    pub tags: Vec<ListSpec>,
    /// Custom values by field name.
    pub custom: Vec<(String, RawValue)>,
    /// Create even when a contact with the same email or phone exists.
    pub allow_duplicate: bool,
}

/// A partial change: `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub primary_email: Option<String>,
    pub primary_phone: Option<String>,
    pub company: Option<String>,
    pub stage: Option<ListSpec>,
    /// Replaces the tags.
    pub tags: Option<Vec<ListSpec>>,
    /// Field name and new value; `None`, an empty text or JSON null clears it.
    pub custom: Vec<(String, Option<RawValue>)>,
    pub allow_duplicate: bool,
}

fn parse_value(
    def: &CustomFieldDef,
    raw: &RawValue,
) -> Result<Option<FieldValue>, ValidationError> {
    let parsed = match raw {
        RawValue::Text(text) => FieldValue::parse(def.field_type, text, Region::default()),
        RawValue::Json(value) => {
            FieldValue::parse_json_value(def.field_type, value, Region::default())
        }
    };
    parsed.map_err(|m| ValidationError::new(def.name.as_str().to_owned(), m))
}

fn find_def<'a>(
    defs: &'a [CustomFieldDef],
    name: &str,
) -> Result<&'a CustomFieldDef, ValidationError> {
    defs.iter().find(|d| d.name.as_str() == name.trim()).ok_or_else(|| {
        ValidationError::new(
            name.trim().to_owned(),
            format!("There is no custom field named '{}' in this workspace. Define it under Settings > Custom fields first.", name.trim()),
        )
    })
}

fn resolve_stage(
    conn: &mut Conn,
    ws: WorkspaceId,
    stage: Option<&ListSpec>,
) -> Result<ListId, AppError> {
    let missing = |what: String| -> AppError {
        ValidationError::new(
            "primary_list",
            format!("There is no stage {what} in this workspace."),
        )
        .into()
    };
    match stage {
        Some(ListSpec::Id(id)) => storage::lists::find_by_id(conn, ws, ListKind::Primary, *id)?
            .ok_or_else(|| missing(format!("with id {id}"))),
        Some(ListSpec::Name(name)) if !name.trim().is_empty() => {
            storage::lists::find_by_name(conn, ws, ListKind::Primary, name)?
                .ok_or_else(|| missing(format!("'{}'", name.trim())))
        }
        _ => storage::lists::for_workspace(conn, ws, Some(ListKind::Primary))?
            .first()
            .map(|l| l.id)
            .ok_or_else(|| AppError::Internal("workspace has no stage".into())),
    }
}

fn resolve_tags(
    conn: &mut Conn,
    caller: &Caller,
    ws: WorkspaceId,
    tags: &[ListSpec],
    now: DateTime<Utc>,
) -> Result<Vec<ListId>, AppError> {
    let mut out = Vec::new();
    for tag in tags {
        let id = match tag {
            ListSpec::Id(id) => storage::lists::find_by_id(conn, ws, ListKind::Secondary, *id)?
                .ok_or_else(|| {
                    ValidationError::new(
                        "tags",
                        format!("There is no tag with id {id} in this workspace."),
                    )
                })?,
            ListSpec::Name(name) if name.trim().is_empty() => continue,
            ListSpec::Name(name) => {
                match storage::lists::find_by_name(conn, ws, ListKind::Secondary, name)? {
                    Some(id) => id,
                    None => create_tag(conn, caller, ws, name, now)?,
                }
            }
        };
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Creates a tag on the fly (typed in a contact form, an API call or a bulk action), audited.
pub(crate) fn create_tag(
    conn: &mut Conn,
    caller: &Caller,
    ws: WorkspaceId,
    name: &str,
    now: DateTime<Utc>,
) -> Result<ListId, AppError> {
    let name =
        domain::list::parse_list_name(name).map_err(|e| ValidationError::new("tags", e.message))?;
    let id = storage::lists::insert(conn, ws, ListKind::Secondary, &name, now)?;
    storage::audit::insert(
        conn,
        &caller
            .audit("list.create", "list")
            .workspace(ws)
            .entity(id)
            .after(&serde_json::json!({"name": name, "kind": "secondary"})),
        now,
    )?;
    Ok(id)
}

fn duplicate_error(
    existing: ContactId,
    base: &BaseFields,
    conn: &mut Conn,
) -> Result<AppError, AppError> {
    let other = contacts::load(conn, &[existing])?
        .pop()
        .ok_or(AppError::NotFound)?;
    let by_email = base.primary_email.is_some()
        && other.primary_email.as_ref().map(|e| e.normalized())
            == base.primary_email.as_ref().map(|e| e.normalized());
    Ok(AppError::Duplicate {
        existing,
        field: if by_email {
            "primary_email"
        } else {
            "primary_phone"
        },
        message: format!(
            "{} already has this {}. Open that contact, merge them, or save anyway.",
            other.display_name(),
            if by_email {
                "email address"
            } else {
                "phone number"
            }
        ),
    })
}

/// Writes values and logs changes of transaction-related fields.
fn apply_values(
    conn: &mut Conn,
    caller: &Caller,
    contact: ContactId,
    before: Option<&Contact>,
    values: &[(&CustomFieldDef, Option<FieldValue>)],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    for (def, value) in values {
        let old = before
            .and_then(|c| c.custom_value(def.name.as_str()))
            .cloned();
        match value {
            Some(v) => contacts::set_value(conn, contact, def.id, &v.to_stored())?,
            None => contacts::clear_value(conn, contact, def.id)?,
        }
        if def.transaction_related && before.is_some() && old.as_ref() != value.as_ref() {
            let show = |v: &Option<FieldValue>| {
                v.as_ref()
                    .map_or_else(|| "(empty)".to_owned(), FieldValue::display)
            };
            storage::contact_log::insert(
                conn,
                contact,
                &NewLogEntry::new(LogKind::System, format!("{}: {} -> {}", def.label, show(&old), show(value), ), now)
                    .meta(serde_json::json!({"field": def.name.as_str(), "old": old.as_ref().map(FieldValue::to_json), "new": value.as_ref().map(FieldValue::to_json)})),
                Some(caller.user_id),
                now,
            )?;
        }
    }
    Ok(())
}

pub fn create(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    input: ContactInput,
) -> Result<Contact, AppError> {
    let base = BaseFields::parse(
        &RawBaseFields {
            first_name: &input.first_name,
            last_name: &input.last_name,
            primary_email: &input.primary_email,
            primary_phone: &input.primary_phone,
            company: &input.company,
        },
        Region::default(),
    )?;
    app.db().write(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        let now = Utc::now();
        let defs = storage::custom_fields::for_workspace(conn, caller.user_id, ws)?;
        let mut values: Vec<(&CustomFieldDef, Option<FieldValue>)> = Vec::new();
        for (name, raw) in &input.custom {
            let def = find_def(&defs, name)?;
            // A blank value is no value: the field's default (if any) fills it below.
            if let Some(value) = parse_value(def, raw)? {
                values.push((def, Some(value)));
            }
        }
        for def in &defs {
            if values.iter().any(|(d, _)| d.id == def.id) {
                continue;
            }
            if let Some(default) = &def.default_value {
                let value =
                    FieldValue::from_stored(def.field_type, default).map_err(AppError::Internal)?;
                values.push((def, Some(value)));
            }
        }
        for def in defs.iter().filter(|d| d.required) {
            if !values.iter().any(|(d, v)| d.id == def.id && v.is_some()) {
                return Err(ValidationError::new(
                    def.name.as_str().to_owned(),
                    format!("{} is required.", def.label),
                )
                .into());
            }
        }
        if !input.allow_duplicate
            && let Some(existing) = contacts::duplicates_of(conn, ws, &base, None)?.first()
        {
            return Err(duplicate_error(*existing, &base, conn)?);
        }
        let stage = resolve_stage(conn, ws, input.stage.as_ref())?;
        let id = contacts::insert(conn, ws, &base, stage, now)?;
        for tag in resolve_tags(conn, caller, ws, &input.tags, now)? {
            contacts::add_tag(conn, ws, id, tag)?;
        }
        apply_values(conn, caller, id, None, &values, now)?;
        storage::contact_log::insert(
            conn,
            id,
            &NewLogEntry::new(LogKind::System, "Contact created", now),
            Some(caller.user_id),
            now,
        )?;
        contacts::reindex(conn, id)?;
        let contact = contacts::load(conn, &[id])?
            .pop()
            .ok_or(AppError::NotFound)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("contact.create", "contact")
                .workspace(ws)
                .entity(id)
                .after(&contact),
            now,
        )?;
        Ok(contact)
    })
}

pub fn get(app: &App, caller: &Caller, id: ContactId) -> Result<Contact, AppError> {
    Ok(app.db().read(|c| contacts::get(c, caller.user_id, id))?)
}

pub fn update(
    app: &App,
    caller: &Caller,
    id: ContactId,
    patch: ContactPatch,
) -> Result<Contact, AppError> {
    app.db().write(|conn| {
        let before = contacts::get(conn, caller.user_id, id)?;
        let ws = before.workspace_id;
        let now = Utc::now();
        let keep = |new: &Option<String>, old: &str| new.clone().unwrap_or_else(|| old.to_owned());
        let email = before
            .primary_email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default();
        let phone = before
            .primary_phone
            .as_ref()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let (first, last, em, ph, co) = (
            keep(&patch.first_name, &before.first_name),
            keep(&patch.last_name, &before.last_name),
            keep(&patch.primary_email, &email),
            keep(&patch.primary_phone, &phone),
            keep(&patch.company, &before.company),
        );
        let base = BaseFields::parse(
            &RawBaseFields {
                first_name: &first,
                last_name: &last,
                primary_email: &em,
                primary_phone: &ph,
                company: &co,
            },
            Region::default(),
        )?;
        let identity_changed = base.primary_email.as_ref().map(|e| e.normalized())
            != before.primary_email.as_ref().map(|e| e.normalized())
            || base.primary_phone != before.primary_phone;
        if identity_changed
            && !patch.allow_duplicate
            && let Some(existing) = contacts::duplicates_of(conn, ws, &base, Some(id))?.first()
        {
            return Err(duplicate_error(*existing, &base, conn)?);
        }
        let defs = storage::custom_fields::for_workspace(conn, caller.user_id, ws)?;
        let mut values: Vec<(&CustomFieldDef, Option<FieldValue>)> = Vec::new();
        for (name, raw) in &patch.custom {
            let def = find_def(&defs, name)?;
            let value = match raw {
                Some(raw) => parse_value(def, raw)?,
                None => None,
            };
            if def.required && value.is_none() {
                return Err(ValidationError::new(
                    def.name.as_str().to_owned(),
                    format!("{} is required.", def.label),
                )
                .into());
            }
            values.push((def, value));
        }
        contacts::update_base(conn, id, &base, now)?;
        if let Some(stage) = &patch.stage {
            let stage = resolve_stage(conn, ws, Some(stage))?;
            change_stage(conn, caller, &before, stage, now)?;
        }
        if let Some(tags) = &patch.tags {
            let wanted = resolve_tags(conn, caller, ws, tags, now)?;
            for old in &before.tags {
                if !wanted.contains(&old.id) {
                    contacts::remove_tag(conn, id, old.id)?;
                }
            }
            for tag in wanted {
                contacts::add_tag(conn, ws, id, tag)?;
            }
        }
        apply_values(conn, caller, id, Some(&before), &values, now)?;
        contacts::reindex(conn, id)?;
        let after = contacts::load(conn, &[id])?
            .pop()
            .ok_or(AppError::NotFound)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("contact.update", "contact")
                .workspace(ws)
                .entity(id)
                .before(&before)
                .after(&after),
            now,
        )?;
        Ok(after)
    })
}

fn change_stage(
    conn: &mut Conn,
    caller: &Caller,
    before: &Contact,
    stage: ListId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if stage == before.primary_list.id {
        return Ok(());
    }
    contacts::set_stage(conn, before.id, stage, now)?;
    let name = storage::lists::get(conn, caller.user_id, stage)?.name;
    storage::contact_log::insert(
        conn,
        before.id,
        &NewLogEntry::new(
            LogKind::Stage,
            format!("Stage: {} -> {}", before.primary_list.name, name),
            now,
        )
        .meta(serde_json::json!({"from": before.primary_list.id, "to": stage})),
        Some(caller.user_id),
        now,
    )?;
    Ok(())
}

/// Moves a contact to another stage (the board's drag, or the stage picker).
pub fn set_stage(
    app: &App,
    caller: &Caller,
    id: ContactId,
    stage: ListId,
) -> Result<Contact, AppError> {
    update(
        app,
        caller,
        id,
        ContactPatch {
            stage: Some(ListSpec::Id(stage)),
            ..ContactPatch::default()
        },
    )
}

/// The workspace's contacts that match, a page of them, whole.
pub fn search(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    query: &ContactQuery,
    page: PageRequest,
) -> Result<Page<Contact>, AppError> {
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        let ids = contacts::search(conn, ws, query, page)?;
        let loaded = contacts::load(conn, &ids.items)?;
        Ok(Page {
            items: loaded,
            total: ids.total,
            page: ids.page,
            per_page: ids.per_page,
        })
    })
}

/// Moves a contact to the trash; it can be restored for 30 days.
pub fn trash(app: &App, caller: &Caller, id: ContactId) -> Result<Contact, AppError> {
    set_trashed(app, caller, id, true)
}

pub fn restore(app: &App, caller: &Caller, id: ContactId) -> Result<Contact, AppError> {
    set_trashed(app, caller, id, false)
}

fn set_trashed(
    app: &App,
    caller: &Caller,
    id: ContactId,
    trashed: bool,
) -> Result<Contact, AppError> {
    app.db().write(|conn| {
        let before = contacts::get(conn, caller.user_id, id)?;
        let now = Utc::now();
        contacts::set_trashed(conn, id, trashed.then_some(now), now)?;
        let summary = if trashed {
            "Moved to the trash"
        } else {
            "Restored from the trash"
        };
        storage::contact_log::insert(
            conn,
            id,
            &NewLogEntry::new(LogKind::System, summary, now),
            Some(caller.user_id),
            now,
        )?;
        let after = contacts::load(conn, &[id])?
            .pop()
            .ok_or(AppError::NotFound)?;
        let action = if trashed {
            "contact.trash"
        } else {
            "contact.restore"
        };
        storage::audit::insert(
            conn,
            &caller
                .audit(action, "contact")
                .workspace(before.workspace_id)
                .entity(id)
                .before(&before)
                .after(&after),
            now,
        )?;
        Ok(after)
    })
}

/// Deletes for good what is in the workspace's trash (all of it, or what is older than
/// 30 days when `only_expired`). Audited with the count.
pub fn empty_trash(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    only_expired: bool,
) -> Result<usize, AppError> {
    app.db().write(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        let now = Utc::now();
        let before = if only_expired {
            now - Duration::days(TRASH_DAYS)
        } else {
            now
        };
        let removed = contacts::purge_trash(conn, ws, before)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("contact.empty_trash", "workspace")
                .workspace(ws)
                .entity(ws)
                .after(&serde_json::json!({"removed": removed.len(), "ids": removed})),
            now,
        )?;
        Ok(removed.len())
    })
}

/// Other live contacts of the workspace with the same email or phone.
pub fn duplicates_of(app: &App, caller: &Caller, id: ContactId) -> Result<Vec<Contact>, AppError> {
    app.db().read(|conn| {
        let contact = contacts::get(conn, caller.user_id, id)?;
        let base = BaseFields {
            first_name: contact.first_name.clone(),
            last_name: contact.last_name.clone(),
            primary_email: contact.primary_email.clone(),
            primary_phone: contact.primary_phone.clone(),
            company: contact.company.clone(),
        };
        let ids = contacts::duplicates_of(conn, contact.workspace_id, &base, Some(id))?;
        Ok(contacts::load(conn, &ids)?)
    })
}

fn add_log(
    app: &App,
    caller: &Caller,
    id: ContactId,
    entry: NewLogEntry,
    action: &'static str,
    touch: bool,
) -> Result<LogEntry, AppError> {
    app.db().write(|conn| {
        let contact = contacts::get(conn, caller.user_id, id)?;
        let now = Utc::now();
        let entry_id = storage::contact_log::insert(conn, id, &entry, Some(caller.user_id), now)?;
        if touch {
            contacts::touch_contacted(conn, id, entry.occurred_at)?;
        }
        contacts::reindex(conn, id)?;
        let written = storage::contact_log::get(conn, entry_id)?;
        storage::audit::insert(
            conn,
            &caller
                .audit(action, "contact_log")
                .workspace(contact.workspace_id)
                .entity(entry_id)
                .after(&written),
            now,
        )?;
        Ok(written)
    })
}

/// Checks the contact is the caller's before anything is validated, so another user's id is a
/// plain "not found" whatever was sent.
fn check_owner(app: &App, caller: &Caller, id: ContactId) -> Result<(), AppError> {
    app.db()
        .read(|c| contacts::owner_workspace(c, caller.user_id, id))?;
    Ok(())
}

pub fn add_note(
    app: &App,
    caller: &Caller,
    id: ContactId,
    text: &str,
) -> Result<LogEntry, AppError> {
    check_owner(app, caller, id)?;
    let body = parse_note(text)?;
    let summary: String = body
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect();
    add_log(
        app,
        caller,
        id,
        NewLogEntry::new(LogKind::Note, summary, Utc::now()).body(body),
        "contact.note",
        false,
    )
}

/// A call logged by hand: when, how long, how it went, and a note.
pub fn log_call(
    app: &App,
    caller: &Caller,
    id: ContactId,
    at: DateTime<Utc>,
    minutes: u32,
    outcome: CallOutcome,
    note: &str,
) -> Result<LogEntry, AppError> {
    check_owner(app, caller, id)?;
    if minutes > 24 * 60 {
        return Err(ValidationError::new(
            "duration_minutes",
            "A call lasts less than a day: give the minutes.",
        )
        .into());
    }
    if at > Utc::now() + Duration::minutes(5) {
        return Err(ValidationError::new(
            "occurred_at",
            "That time is in the future: give when the call happened.",
        )
        .into());
    }
    let summary = match (outcome, minutes) {
        (CallOutcome::Connected, m) if m > 0 => format!("Call: talked for {m} min"),
        (o, _) => format!("Call: {}", o.label().to_lowercase()),
    };
    let entry = NewLogEntry::new(LogKind::Call, summary, at)
        .body(note.trim())
        .meta(serde_json::json!({"minutes": minutes, "outcome": outcome.as_str()}));
    add_log(
        app,
        caller,
        id,
        entry,
        "contact.call",
        outcome == CallOutcome::Connected,
    )
}

/// One page of a contact's log, newest first, optionally one kind; `after` continues a page.
pub fn log(
    app: &App,
    caller: &Caller,
    id: ContactId,
    kind: Option<LogKind>,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<LogEntry>, AppError> {
    app.db().read(|conn| {
        contacts::owner_workspace(conn, caller.user_id, id)?;
        Ok(storage::contact_log::page(
            conn,
            id,
            kind,
            after,
            limit.clamp(1, 200),
        )?)
    })
}

/// Reads the contacts table's filters from query parameters, the same for the page and the
/// API: `q`, `list` (stage, by id or name), `tag`, `sort`, `not_contacted_days`, `trash`, and
/// `cf.<field>` (equals) or `cf.<field>.<op>` with op one of eq, contains, before, after,
/// empty, gt, lt. Values are checked against the field's type.
pub fn query_from_params(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    params: &[(String, String)],
) -> Result<ContactQuery, AppError> {
    use domain::contact::{ContactSort, CustomFilter, FilterOp};
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        let defs = storage::custom_fields::for_workspace(conn, caller.user_id, ws)?;
        let mut query = ContactQuery::default();
        // The page's filter form sends one condition as three fields; read it as `cf.` too.
        let field_of = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
        let (cf_field, cf_op, cf_value) = (field_of("cf_field"), field_of("cf_op"), field_of("cf_value"));
        let mut extra = Vec::new();
        if !cf_field.is_empty() && (!cf_value.is_empty() || cf_op == "empty") {
            let op = if cf_op.is_empty() { "eq".to_owned() } else { cf_op };
            extra.push((format!("cf.{cf_field}.{op}"), if cf_value.is_empty() { "1".to_owned() } else { cf_value }));
        }
        for (key, value) in params.iter().chain(extra.iter()) {
            let value = value.trim();
            match key.as_str() {
                "q" if !value.is_empty() => query.text = Some(value.chars().take(200).collect()),
                "list" | "stage" if !value.is_empty() => {
                    query.stage = Some(storage::lists::find(conn, ws, ListKind::Primary, value)?.ok_or_else(|| {
                        ValidationError::new("list", format!("There is no stage '{value}' in this workspace."))
                    })?)
                }
                "tag" if !value.is_empty() => {
                    query.tag = Some(storage::lists::find(conn, ws, ListKind::Secondary, value)?.ok_or_else(|| {
                        ValidationError::new("tag", format!("There is no tag '{value}' in this workspace."))
                    })?)
                }
                "sort" if !value.is_empty() => {
                    query.sort = ContactSort::parse(value).ok_or_else(|| {
                        ValidationError::new("sort", "Sort by name, newest, oldest, last_contacted or updated.")
                    })?
                }
                "not_contacted_days" if !value.is_empty() => {
                    let days: u32 = value.parse().map_err(|_| {
                        ValidationError::new("not_contacted_days", "Give a whole number of days, like 60.")
                    })?;
                    query.not_contacted_since = Some(Utc::now() - Duration::days(i64::from(days.min(36_500))));
                }
                "trash" => query.trash = matches!(value, "1" | "true" | "yes" | "on"),
                key if key.starts_with("cf.") => {
                    let rest = &key[3..];
                    let (name, op) = match rest.rsplit_once('.') {
                        Some((name, op)) => (name, FilterOp::parse(op).ok_or_else(|| {
                            ValidationError::new(key.to_owned(), "Unknown condition: use eq, contains, before, after, empty, gt or lt.")
                        })?),
                        None => (rest, FilterOp::Equals),
                    };
                    let def = find_def(&defs, name)?;
                    let canonical = match op {
                        FilterOp::IsEmpty => None,
                        FilterOp::Contains if value.is_empty() => continue,
                        FilterOp::Contains => Some(value.to_owned()),
                        FilterOp::Before | FilterOp::After => Some(
                            domain::values::parse_date(value)
                                .map_err(|m| ValidationError::new(def.name.as_str().to_owned(), m))?
                                .format("%Y-%m-%d")
                                .to_string(),
                        ),
                        FilterOp::GreaterThan | FilterOp::LessThan => Some(
                            domain::values::parse_decimal(value).map_err(|m| ValidationError::new(def.name.as_str().to_owned(), m))?,
                        ),
                        FilterOp::Equals => match parse_value(def, &RawValue::Text(value.to_owned()))? {
                            Some(v) => Some(v.to_stored().text),
                            None => continue,
                        },
                    };
                    query.custom.push(CustomFilter { field_id: def.id, op, value: canonical });
                }
                _ => {}
            }
        }
        Ok(query)
    })
}

/// Groups of contacts in the workspace that look like the same person (same email or phone).
pub fn duplicate_groups(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
) -> Result<Vec<(&'static str, Vec<Contact>)>, AppError> {
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        let groups = contacts::duplicate_groups(conn, ws)?;
        let mut out = Vec::new();
        for (field, ids) in groups {
            out.push((field, contacts::load(conn, &ids)?));
        }
        Ok(out)
    })
}

/// Which contact's value wins where the two differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Target,
    Source,
}

impl Side {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "target" => Some(Side::Target),
            "source" => Some(Side::Source),
            _ => None,
        }
    }
}

/// The fields on which two contacts differ (both have a value, and the values differ): base
/// field names, `primary_list`, and custom field names.
pub fn conflicts(target: &Contact, source: &Contact) -> Vec<String> {
    let mut out = Vec::new();
    let base = |c: &Contact| {
        [
            ("first_name", c.first_name.clone()),
            ("last_name", c.last_name.clone()),
            (
                "primary_email",
                c.primary_email
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            (
                "primary_phone",
                c.primary_phone
                    .as_ref()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            ("company", c.company.clone()),
        ]
    };
    for ((name, t), (_, s)) in base(target).into_iter().zip(base(source)) {
        if !t.is_empty() && !s.is_empty() && t != s {
            out.push(name.to_owned());
        }
    }
    if target.primary_list.id != source.primary_list.id {
        out.push("primary_list".to_owned());
    }
    for v in &target.custom {
        if let Some(other) = source.custom_value(v.name.as_str())
            && *other != v.value
        {
            out.push(v.name.as_str().to_owned());
        }
    }
    out
}

/// Merges `source` into `target`: each conflicting field takes the side named in
/// `resolutions` (the target's when not named), fields only the source has are carried over,
/// tags are united, the whole log moves to the target, "Merged <source> into <target>" is
/// logged, and the source goes to the trash (restorable).
pub fn merge(
    app: &App,
    caller: &Caller,
    target_id: ContactId,
    source_id: ContactId,
    resolutions: &[(String, Side)],
) -> Result<Contact, AppError> {
    app.db().write(|conn| {
        let target = contacts::get(conn, caller.user_id, target_id)?;
        let source = contacts::get(conn, caller.user_id, source_id)?;
        if target.workspace_id != source.workspace_id {
            return Err(AppError::NotFound);
        }
        if target_id == source_id {
            return Err(ValidationError::new("source_id", "Choose two different contacts to merge.").into());
        }
        if source.deleted_at.is_some() || target.deleted_at.is_some() {
            return Err(ValidationError::new("source_id", "Restore the contact from the trash before merging it.").into());
        }
        let known = conflicts(&target, &source);
        for (field, _) in resolutions {
            if !known.contains(field) && !is_mergeable_field(field, &target, &source) {
                return Err(ValidationError::new(field.clone(), format!("'{field}' is not a field of these contacts.")).into());
            }
        }
        let side = |field: &str| resolutions.iter().find(|(f, _)| f == field).map_or(Side::Target, |(_, s)| *s);
        let pick = |field: &str, t: String, s: String| -> String {
            if t.is_empty() || (side(field) == Side::Source && !s.is_empty()) { s } else { t }
        };
        let email = |c: &Contact| c.primary_email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default();
        let phone = |c: &Contact| c.primary_phone.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default();
        let (first, last, em, ph, co) = (
            pick("first_name", target.first_name.clone(), source.first_name.clone()),
            pick("last_name", target.last_name.clone(), source.last_name.clone()),
            pick("primary_email", email(&target), email(&source)),
            pick("primary_phone", phone(&target), phone(&source)),
            pick("company", target.company.clone(), source.company.clone()),
        );
        let base = BaseFields::parse(
            &RawBaseFields { first_name: &first, last_name: &last, primary_email: &em, primary_phone: &ph, company: &co },
            Region::default(),
        )?;
        let now = Utc::now();
        contacts::update_base(conn, target_id, &base, now)?;
        if side("primary_list") == Side::Source {
            change_stage(conn, caller, &target, source.primary_list.id, now)?;
        }
        for tag in &source.tags {
            contacts::add_tag(conn, target.workspace_id, target_id, tag.id)?;
        }
        // Through apply_values, so transaction-related fields log their change as any edit does.
        let defs = storage::custom_fields::for_workspace(conn, caller.user_id, target.workspace_id)?;
        let mut values: Vec<(&CustomFieldDef, Option<FieldValue>)> = Vec::new();
        for v in &source.custom {
            let keep_target = target.custom_value(v.name.as_str()).is_some() && side(v.name.as_str()) == Side::Target;
            if let (false, Some(def)) = (keep_target, defs.iter().find(|d| d.id == v.field_id)) {
                values.push((def, Some(v.value.clone())));
            }
        }
        apply_values(conn, caller, target_id, Some(&target), &values, now)?;
        storage::contact_log::reassign(conn, source_id, target_id)?;
        let summary = format!("Merged {} into {}", source.display_name(), target.display_name());
        storage::contact_log::insert(
            conn,
            target_id,
            &NewLogEntry::new(LogKind::System, summary.clone(), now).meta(serde_json::json!({"source_id": source_id, "resolutions": resolutions.iter().map(|(f, s)| (f.clone(), if *s == Side::Source { "source" } else { "target" })).collect::<std::collections::BTreeMap<_, _>>()})),
            Some(caller.user_id),
            now,
        )?;
        contacts::set_trashed(conn, source_id, Some(now), now)?;
        storage::contact_log::insert(conn, source_id, &NewLogEntry::new(LogKind::System, summary, now), Some(caller.user_id), now)?;
        contacts::reindex(conn, target_id)?;
        contacts::reindex(conn, source_id)?;
        let after = contacts::load(conn, &[target_id])?.pop().ok_or(AppError::NotFound)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("contact.merge", "contact")
                .workspace(target.workspace_id)
                .entity(target_id)
                .before(&serde_json::json!({"target": target, "source": source}))
                .after(&after),
            now,
        )?;
        Ok(after)
    })
}

fn is_mergeable_field(field: &str, target: &Contact, source: &Contact) -> bool {
    [
        "first_name",
        "last_name",
        "primary_email",
        "primary_phone",
        "company",
        "primary_list",
    ]
    .contains(&field)
        || target.custom_value(field).is_some()
        || source.custom_value(field).is_some()
}
