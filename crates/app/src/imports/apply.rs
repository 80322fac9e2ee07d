//! Writing drafts into the workspace, and undoing them. Every change an import makes is
//! recorded in `import_changes` in the transaction that makes it (a created contact, or the
//! contact as it was before an update), so an import can be undone however it ended.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::contact::{BaseFields, Contact};
use domain::contact_log::{LogKind, NewLogEntry};
use domain::custom_field::{FieldValue, StoredValue};
use domain::ids::{ContactId, CustomFieldId, ImportId, ListId, UserId, WorkspaceId};
use domain::list::ListKind;
use domain::validation::ValidationError;
use serde::{Deserialize, Serialize};
use storage::Conn;
use storage::contacts;

use super::plan::{Draft, FieldSpec, RawBase};
use crate::{AppError, Caller};

/// Names to ids of the workspace's stages and tags, made as rows need them.
pub struct Lists {
    workspace: WorkspaceId,
    stages: HashMap<String, ListId>,
    tags: HashMap<String, ListId>,
    default_stage: ListId,
    /// The lists the current transaction's rows refer to (see [`Writer::check_parents`]).
    used: HashSet<ListId>,
}

impl Lists {
    pub fn load(conn: &mut Conn, workspace: WorkspaceId) -> Result<Self, AppError> {
        let mut stages = HashMap::new();
        let mut tags = HashMap::new();
        let mut default_stage = None;
        for list in storage::lists::for_workspace(conn, workspace, None)? {
            match list.kind {
                ListKind::Primary => {
                    default_stage.get_or_insert(list.id);
                    stages.insert(list.name.to_lowercase(), list.id);
                }
                ListKind::Secondary => {
                    tags.insert(list.name.to_lowercase(), list.id);
                }
            }
        }
        Ok(Self {
            workspace,
            stages,
            tags,
            default_stage: default_stage
                .ok_or_else(|| AppError::Internal("workspace has no stage".into()))?,
            used: HashSet::new(),
        })
    }

    /// The stage of contacts whose row names none: the workspace's first.
    fn default_stage(&mut self) -> ListId {
        self.used.insert(self.default_stage);
        self.default_stage
    }

    /// The stage or tag named `name`, made (and audited) if the workspace lacks it, so no row
    /// is refused for a status or label the other CRM had. New stages go at the end.
    fn find_or_make(
        &mut self,
        conn: &mut Conn,
        caller: &Caller,
        kind: ListKind,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<ListId, AppError> {
        let workspace = self.workspace;
        let known = match kind {
            ListKind::Primary => &mut self.stages,
            ListKind::Secondary => &mut self.tags,
        };
        let key = name.to_lowercase();
        if let Some(id) = known.get(&key) {
            self.used.insert(*id);
            return Ok(*id);
        }
        let id = storage::lists::insert(conn, workspace, kind, name, now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("list.create", "list")
                .workspace(workspace)
                .entity(id)
                .after(&serde_json::json!({"name": name, "kind": kind.as_str(), "by": "import"})),
            now,
        )?;
        known.insert(key, id);
        self.used.insert(id);
        Ok(id)
    }
}

/// The contact as it was before an import changed it: enough to put it back.
#[derive(Debug, Serialize, Deserialize)]
struct Before {
    first_name: String,
    last_name: String,
    primary_email: String,
    primary_phone: String,
    company: String,
    stage: i64,
    tags: Vec<i64>,
    /// Field id -> stored text, number, date.
    values: Vec<(i64, String, Option<f64>, Option<String>)>,
}

impl Before {
    fn of(c: &Contact) -> Self {
        Self {
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            primary_email: c
                .primary_email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            primary_phone: c
                .primary_phone
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            company: c.company.clone(),
            stage: c.primary_list.id.0,
            tags: c.tags.iter().map(|t| t.id.0).collect(),
            values: c
                .custom
                .iter()
                .map(|v| {
                    let s = v.value.to_stored();
                    (v.field_id.0, s.text, s.number, s.date)
                })
                .collect(),
        }
    }

    fn raw(&self) -> RawBase {
        RawBase {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            primary_email: self.primary_email.clone(),
            primary_phone: self.primary_phone.clone(),
            company: self.company.clone(),
        }
    }
}

/// The writes a batch's new contacts wait for, done together by [`Writer::flush`].
#[derive(Default)]
pub struct Pending {
    pub created: Vec<ContactId>,
    /// The new contacts themselves, inserted many at a time by [`Writer::flush`].
    contacts: Vec<(ContactId, BaseFields, ListId)>,
    tags: Vec<(ContactId, ListId)>,
    values: Vec<(ContactId, CustomFieldId, StoredValue)>,
    /// The id the next new contact gets (known once the batch's transaction holds the lock).
    next_id: Option<i64>,
}

/// What one import run writes with: who, where, from which file.
pub struct Writer<'a> {
    pub import: ImportId,
    pub caller: &'a Caller,
    pub workspace: WorkspaceId,
    pub file_name: &'a str,
    pub fields: &'a [FieldSpec],
    pub overwrite: bool,
}

impl Writer<'_> {
    fn field_id(&self, index: usize) -> Result<CustomFieldId, AppError> {
        self.fields[index]
            .id
            .ok_or_else(|| AppError::Internal("a custom field was not created".into()))
    }

    fn log(
        &self,
        conn: &mut Conn,
        contact: ContactId,
        summary: String,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        storage::contact_log::insert(
            conn,
            contact,
            &NewLogEntry::new(LogKind::System, summary, now)
                .meta(serde_json::json!({"import_id": self.import.0})),
            Some(self.caller.user_id),
            now,
        )?;
        Ok(())
    }

    /// Creates the contact and its tags; its custom values, log entry and change record wait
    /// in `pending` for [`Writer::flush`], which writes a batch's worth in a few statements.
    pub fn create(
        &self,
        conn: &mut Conn,
        lists: &mut Lists,
        pending: &mut Pending,
        draft: &Draft,
        now: DateTime<Utc>,
    ) -> Result<ContactId, AppError> {
        let stage = match &draft.stage {
            Some(name) => lists.find_or_make(conn, self.caller, ListKind::Primary, name, now)?,
            None => lists.default_stage(),
        };
        let next = match pending.next_id {
            Some(next) => next,
            None => contacts::next_id(conn)?.0,
        };
        pending.next_id = Some(next + 1);
        let id = ContactId(next);
        pending.contacts.push((id, draft.base.clone(), stage));
        for tag in &draft.tags {
            let tag = lists.find_or_make(conn, self.caller, ListKind::Secondary, tag, now)?;
            pending.tags.push((id, tag));
        }
        for (index, value) in &draft.values {
            pending
                .values
                .push((id, self.field_id(*index)?, value.to_stored()));
        }
        for (index, spec) in self.fields.iter().enumerate() {
            if let Some(default) = &spec.default_value
                && !draft.values.iter().any(|(i, _)| *i == index)
            {
                let value = FieldValue::from_stored(spec.field_type, default)
                    .map_err(AppError::Internal)?;
                pending
                    .values
                    .push((id, self.field_id(index)?, value.to_stored()));
            }
        }
        pending.created.push(id);
        Ok(id)
    }

    /// Before the transaction commits: whether everything its rows refer to is still there
    /// (the workspace, the stages and tags they use, the import's custom fields). The bulk
    /// connection does not check foreign keys row by row (see `storage::Db::bulk`), and a
    /// person may delete a tag or a field while the import runs.
    pub fn check_parents(&self, conn: &mut Conn, lists: &mut Lists) -> Result<(), AppError> {
        let used: Vec<ListId> = std::mem::take(&mut lists.used).into_iter().collect();
        let fields: Vec<CustomFieldId> = self.fields.iter().filter_map(|f| f.id).collect();
        if contacts::parents_exist(conn, self.workspace, &used, &fields)? {
            return Ok(());
        }
        Err(ValidationError::new(
            "file",
            "A stage, tag or custom field this import uses was deleted while it ran, so it \
             stopped and nothing of it was kept. Import the file again.",
        )
        .into())
    }

    /// Writes the batch's new contacts and what they wait for: tags, custom values, the
    /// "Imported from" log entries, the change records, then their search documents (which
    /// read the values).
    pub fn flush(
        &self,
        conn: &mut Conn,
        pending: &mut Pending,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        // The search documents first, from the values about to be inserted.
        let mut values = pending.values.iter().peekable();
        let documents: Vec<(ContactId, String)> = pending
            .contacts
            .iter()
            .map(|(id, base, _)| {
                // `values` holds the batch's values in the same order, contact by contact.
                let mut texts = Vec::new();
                while let Some((_, _, value)) = values.next_if(|(contact, ..)| contact == id) {
                    texts.push(value.text.as_str());
                }
                (*id, contacts::new_document(base, texts))
            })
            .collect();
        contacts::insert_many(
            conn,
            self.workspace,
            std::mem::take(&mut pending.contacts),
            now,
        )?;
        contacts::add_tags(conn, self.workspace, &pending.tags)?;
        contacts::insert_values(conn, std::mem::take(&mut pending.values))?;
        storage::contact_log::insert_many(
            conn,
            &pending.created,
            &NewLogEntry::new(
                LogKind::System,
                format!("Imported from {}", self.file_name),
                now,
            )
            .meta(serde_json::json!({"import_id": self.import.0})),
            Some(self.caller.user_id),
            now,
        )?;
        storage::imports::record_created(conn, self.import, &pending.created)?;
        contacts::index_new(conn, documents)?;
        pending.values.clear();
        pending.created.clear();
        pending.contacts.clear();
        pending.tags.clear();
        Ok(())
    }

    /// Fills (or, with `overwrite`, replaces) the contact's fields from the draft; cells the
    /// row leaves empty never clear anything. Tags are added. Returns whether it changed.
    pub fn update(
        &self,
        conn: &mut Conn,
        lists: &mut Lists,
        existing: &Contact,
        draft: &Draft,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        let before = Before::of(existing);
        let mut raw = before.raw();
        let mut changed = Vec::new();
        {
            let take = |ours: &mut String,
                        theirs: &str,
                        what: &'static str,
                        changed: &mut Vec<&'static str>| {
                if !theirs.is_empty() && (self.overwrite || ours.is_empty()) && ours != theirs {
                    *ours = theirs.to_owned();
                    changed.push(what);
                }
            };
            take(
                &mut raw.first_name,
                &draft.raw.first_name,
                "first name",
                &mut changed,
            );
            take(
                &mut raw.last_name,
                &draft.raw.last_name,
                "last name",
                &mut changed,
            );
            take(
                &mut raw.company,
                &draft.raw.company,
                "company",
                &mut changed,
            );
            // Email and phone are compared parsed: "(415) 555-0123" is the number already there.
            let email = draft
                .base
                .primary_email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default();
            take(&mut raw.primary_email, &email, "email", &mut changed);
            let phone = draft
                .base
                .primary_phone
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            take(&mut raw.primary_phone, &phone, "phone", &mut changed);
        }
        let base = raw.parse().map_err(AppError::Validation)?;
        contacts::update_base(conn, existing.id, &base, now)?;
        if let Some(name) = &draft.stage {
            let stage = lists.find_or_make(conn, self.caller, ListKind::Primary, name, now)?;
            if self.overwrite && stage != existing.primary_list.id {
                contacts::set_stage(conn, existing.id, stage, now)?;
                changed.push("stage");
            }
        }
        for tag in &draft.tags {
            let tag = lists.find_or_make(conn, self.caller, ListKind::Secondary, tag, now)?;
            if contacts::add_tag(conn, self.workspace, existing.id, tag)? {
                changed.push("tags");
            }
        }
        for (index, value) in &draft.values {
            let id = self.field_id(*index)?;
            let old = existing.custom.iter().find(|v| v.field_id == id);
            if old.is_some_and(|o| !self.overwrite || o.value == *value) {
                continue;
            }
            contacts::set_value(conn, existing.id, id, &value.to_stored())?;
            changed.push("custom fields");
        }
        if changed.is_empty() {
            return Ok(false);
        }
        changed.dedup();
        self.log(
            conn,
            existing.id,
            format!(
                "Updated from import of {} ({})",
                self.file_name,
                changed.join(", ")
            ),
            now,
        )?;
        contacts::reindex(conn, existing.id)?;
        let before = serde_json::to_string(&before).unwrap_or_default();
        storage::imports::record_change(conn, self.import, existing.id, false, Some(&before))?;
        Ok(true)
    }
}

/// Undoes up to `limit` of the import's changes, newest first; returns how many it undid
/// (0 when nothing is left).
/// What one step of an undo did.
pub struct Undone {
    /// Changes taken back (0 when nothing is left).
    pub changes: usize,
    /// Contacts the import created that were kept because someone worked on them after it.
    pub kept: usize,
}

/// Undoes up to `limit` of the import's changes. With `finished` (undoing a completed import),
/// a contact it created that someone changed or added to since is kept: deleting it would
/// lose that work, or another contact merged into it.
pub fn undo_some(
    conn: &mut Conn,
    import: ImportId,
    user: UserId,
    file_name: &str,
    limit: i64,
    finished: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Undone, AppError> {
    let changes = storage::imports::changes(conn, import, limit)?;
    if changes.is_empty() {
        return Ok(Undone {
            changes: 0,
            kept: 0,
        });
    }
    let mut created: Vec<ContactId> = changes
        .iter()
        .filter(|c| c.created)
        .map(|c| c.contact)
        .collect();
    let kept = match finished {
        Some(t) => contacts::touched_since(conn, &created, t)?,
        None => Vec::new(),
    };
    created.retain(|c| !kept.contains(c));
    contacts::delete_for_good(conn, &created)?;
    for change in changes.iter().filter(|c| !c.created) {
        let Some(before) = change
            .before_json
            .as_deref()
            .and_then(|j| serde_json::from_str::<Before>(j).ok())
        else {
            continue;
        };
        // A contact deleted since the import has nothing to put back.
        let Some(current) = contacts::load(conn, &[change.contact])?.pop() else {
            continue;
        };
        let base = before.raw().parse().map_err(AppError::Validation)?;
        contacts::update_base(conn, current.id, &base, now)?;
        let lists = storage::lists::for_workspace(conn, current.workspace_id, None)?;
        let exists = |id: i64| lists.iter().any(|l| l.id.0 == id);
        if exists(before.stage) && before.stage != current.primary_list.id.0 {
            contacts::set_stage(conn, current.id, ListId(before.stage), now)?;
        }
        for tag in &current.tags {
            if !before.tags.contains(&tag.id.0) {
                contacts::remove_tag(conn, current.id, tag.id)?;
            }
        }
        for tag in before.tags.iter().filter(|t| exists(**t)) {
            contacts::add_tag(conn, current.workspace_id, current.id, ListId(*tag))?;
        }
        for value in &current.custom {
            if !before.values.iter().any(|(f, ..)| *f == value.field_id.0) {
                contacts::clear_value(conn, current.id, value.field_id)?;
            }
        }
        for (field, text, number, date) in &before.values {
            let stored = StoredValue {
                text: text.clone(),
                number: *number,
                date: date.clone(),
            };
            // A field deleted since then took its values with it.
            if current.custom.iter().any(|v| v.field_id.0 == *field) || field_exists(conn, *field)?
            {
                contacts::set_value(conn, current.id, CustomFieldId(*field), &stored)?;
            }
        }
        storage::contact_log::insert(
            conn,
            current.id,
            &NewLogEntry::new(
                LogKind::System,
                format!("Import of {file_name} undone: the earlier values are back"),
                now,
            )
            .meta(serde_json::json!({"import_id": import.0})),
            Some(user),
            now,
        )?;
        contacts::reindex(conn, current.id)?;
    }
    let done: Vec<ContactId> = changes.iter().map(|c| c.contact).collect();
    storage::imports::forget_changes(conn, import, &done)?;
    Ok(Undone {
        changes: changes.len(),
        kept: kept.len(),
    })
}

fn field_exists(conn: &mut Conn, field: i64) -> Result<bool, AppError> {
    Ok(storage::custom_fields::exists(conn, CustomFieldId(field))?)
}
