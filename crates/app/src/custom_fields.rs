//! Custom field definitions: create, relabel, reorder, delete (with every stored value).

use chrono::Utc;
use domain::custom_field::{FieldName, FieldType};
use domain::field_definition::{CustomFieldDef, parse_default, parse_label};
use domain::ids::{CustomFieldId, WorkspaceId};
use domain::validation::ValidationError;
use storage::custom_fields::{self, FieldChanges, NewField};

use crate::{App, AppError, Caller};

/// What a person gives to define a field. Without a name, one is made from the label.
#[derive(Debug, Clone, Default)]
pub struct FieldInput {
    pub name: Option<String>,
    pub label: String,
    pub field_type: String,
    pub required: bool,
    pub default_value: Option<String>,
    pub transaction_related: bool,
    /// `None`: the field applies in all of the caller's workspaces.
    pub workspace: Option<WorkspaceId>,
}

pub fn create(app: &App, caller: &Caller, input: FieldInput) -> Result<CustomFieldDef, AppError> {
    let label = parse_label(&input.label)?;
    let name = match input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(raw) => FieldName::parse(raw).map_err(|m| ValidationError::new("name", m))?,
        None => FieldName::from_label(&label).ok_or_else(|| {
            ValidationError::new(
                "name",
                "Give the field a name of letters, digits and underscores.",
            )
        })?,
    };
    let field_type =
        FieldType::parse(&input.field_type).map_err(|m| ValidationError::new("field_type", m))?;
    let default_value = parse_default(field_type, input.default_value.as_deref().unwrap_or(""))?;
    app.db().write(|conn| {
        if let Some(ws) = input.workspace {
            storage::workspaces::get(conn, caller.user_id, ws)?;
        }
        // A name must mean one thing in any workspace: refuse it when a field of the same name
        // applies there already (user-wide, or in that workspace).
        let clash = custom_fields::all_for_owner(conn, caller.user_id)?
            .into_iter()
            .any(|f| {
                f.name == name
                    && (f.workspace_id.is_none()
                        || input.workspace.is_none()
                        || f.workspace_id == input.workspace)
            });
        if clash {
            return Err(AppError::Conflict {
                field: "name",
                message: format!(
                    "You already have a field named '{}'. Choose another name.",
                    name.as_str()
                ),
            });
        }
        let now = Utc::now();
        let def = custom_fields::insert(
            conn,
            NewField {
                owner: caller.user_id,
                workspace: input.workspace,
                name: &name,
                label: &label,
                field_type,
                required: input.required,
                default_value: default_value.as_deref(),
                transaction_related: input.transaction_related,
            },
            now,
        )?;
        let mut entry = caller
            .audit("custom_field.create", "custom_field")
            .entity(def.id)
            .after(&def);
        if let Some(ws) = def.workspace_id {
            entry = entry.workspace(ws);
        }
        storage::audit::insert(conn, &entry, now)?;
        Ok(def)
    })
}

pub fn all(app: &App, caller: &Caller) -> Result<Vec<CustomFieldDef>, AppError> {
    Ok(app
        .db()
        .read(|c| custom_fields::all_for_owner(c, caller.user_id))?)
}

/// The fields that apply in a workspace, in order.
pub fn for_workspace(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
) -> Result<Vec<CustomFieldDef>, AppError> {
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        Ok(custom_fields::for_workspace(conn, caller.user_id, ws)?)
    })
}

pub fn get(app: &App, caller: &Caller, id: CustomFieldId) -> Result<CustomFieldDef, AppError> {
    Ok(app
        .db()
        .read(|c| custom_fields::get(c, caller.user_id, id))?)
}

/// A partial change; the name and type never change, so stored values stay valid.
#[derive(Debug, Clone, Default)]
pub struct FieldUpdate {
    pub label: Option<String>,
    pub required: Option<bool>,
    /// `Some("")` clears the default.
    pub default_value: Option<String>,
    pub transaction_related: Option<bool>,
    pub position: Option<i64>,
}

pub fn update(
    app: &App,
    caller: &Caller,
    id: CustomFieldId,
    update: FieldUpdate,
) -> Result<CustomFieldDef, AppError> {
    app.db().write(|conn| {
        let before = custom_fields::get(conn, caller.user_id, id)?;
        let label = match &update.label {
            Some(l) => parse_label(l)?,
            None => before.label.clone(),
        };
        let default_value = match &update.default_value {
            Some(d) => parse_default(before.field_type, d)?,
            None => before.default_value.clone(),
        };
        let now = Utc::now();
        let after = custom_fields::update(
            conn,
            caller.user_id,
            id,
            FieldChanges {
                label: &label,
                required: update.required.unwrap_or(before.required),
                default_value: default_value.as_deref(),
                transaction_related: update
                    .transaction_related
                    .unwrap_or(before.transaction_related),
                position: update.position.unwrap_or(before.position),
            },
            now,
        )?;
        storage::audit::insert(
            conn,
            &with_workspace(caller.audit("custom_field.update", "custom_field"), &after)
                .entity(id)
                .before(&before)
                .after(&after),
            now,
        )?;
        Ok(after)
    })
}

/// Moves a field one place up or down among the caller's fields.
pub fn reorder(app: &App, caller: &Caller, id: CustomFieldId, up: bool) -> Result<(), AppError> {
    app.db().write(|conn| {
        let mut fields = custom_fields::all_for_owner(conn, caller.user_id)?;
        let Some(at) = fields.iter().position(|f| f.id == id) else {
            return Err(AppError::NotFound);
        };
        let other = if up {
            at.checked_sub(1)
        } else {
            Some(at + 1).filter(|i| *i < fields.len())
        };
        if let Some(other) = other {
            fields.swap(at, other);
            let now = Utc::now();
            for (i, f) in fields.iter().enumerate() {
                if f.position != i as i64 {
                    custom_fields::update(
                        conn,
                        caller.user_id,
                        f.id,
                        FieldChanges {
                            label: &f.label,
                            required: f.required,
                            default_value: f.default_value.as_deref(),
                            transaction_related: f.transaction_related,
                            position: i as i64,
                        },
                        now,
                    )?;
                }
            }
            storage::audit::insert(
                conn,
                &caller
                    .audit("custom_field.reorder", "custom_field")
                    .entity(id),
                now,
            )?;
        }
        Ok(())
    })
}

/// Deletes a definition and every value stored for it. The UI asks first.
pub fn delete(app: &App, caller: &Caller, id: CustomFieldId) -> Result<(), AppError> {
    app.db().write(|conn| {
        let before = custom_fields::get(conn, caller.user_id, id)?;
        let holders = storage::contacts::with_value_of(conn, id)?;
        custom_fields::delete(conn, caller.user_id, id)?;
        // The deleted values must stop matching searches.
        for contact in holders {
            storage::contacts::reindex(conn, contact)?;
        }
        storage::audit::insert(
            conn,
            &with_workspace(caller.audit("custom_field.delete", "custom_field"), &before)
                .entity(id)
                .before(&before),
            Utc::now(),
        )?;
        Ok(())
    })
}

/// A workspace-scoped field's changes show in that workspace's audit page too.
fn with_workspace(
    entry: domain::audit::NewAuditEntry,
    def: &CustomFieldDef,
) -> domain::audit::NewAuditEntry {
    match def.workspace_id {
        Some(ws) => entry.workspace(ws),
        None => entry,
    }
}
