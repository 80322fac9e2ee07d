//! The `custom_fields` table: definitions of the extra details a user keeps on contacts.
//! Every query is scoped to the owner.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::custom_field::{FieldName, FieldType};
use domain::field_definition::CustomFieldDef;
use domain::ids::{CustomFieldId, UserId, WorkspaceId};

use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::custom_fields;
use crate::time::to_db;

#[derive(Queryable, Selectable)]
#[diesel(table_name = custom_fields)]
struct FieldRow {
    id: i64,
    owner_user_id: i64,
    workspace_id: Option<i64>,
    name: String,
    label: String,
    field_type: String,
    required: bool,
    default_value: Option<String>,
    position: i64,
    transaction_related: bool,
}

impl FieldRow {
    fn into_domain(self) -> Result<CustomFieldDef, StorageError> {
        Ok(CustomFieldDef {
            id: CustomFieldId(self.id),
            owner_user_id: UserId(self.owner_user_id),
            workspace_id: self.workspace_id.map(WorkspaceId),
            name: FieldName::parse(&self.name).map_err(StorageError::Corrupt)?,
            label: self.label,
            field_type: FieldType::parse(&self.field_type).map_err(StorageError::Corrupt)?,
            required: self.required,
            default_value: self.default_value,
            position: self.position,
            transaction_related: self.transaction_related,
        })
    }
}

pub struct NewField<'a> {
    pub owner: UserId,
    pub workspace: Option<WorkspaceId>,
    pub name: &'a FieldName,
    pub label: &'a str,
    pub field_type: FieldType,
    pub required: bool,
    pub default_value: Option<&'a str>,
    pub transaction_related: bool,
}

pub fn insert(
    conn: &mut Conn,
    new: NewField<'_>,
    now: DateTime<Utc>,
) -> Result<CustomFieldDef, StorageError> {
    let last: Option<i64> = custom_fields::table
        .filter(custom_fields::owner_user_id.eq(new.owner.0))
        .select(diesel::dsl::max(custom_fields::position))
        .first(conn)?;
    let row: FieldRow = diesel::insert_into(custom_fields::table)
        .values((
            custom_fields::owner_user_id.eq(new.owner.0),
            custom_fields::workspace_id.eq(new.workspace.map(|w| w.0)),
            custom_fields::name.eq(new.name.as_str()),
            custom_fields::label.eq(new.label),
            custom_fields::field_type.eq(new.field_type.as_str()),
            custom_fields::required.eq(new.required),
            custom_fields::default_value.eq(new.default_value),
            custom_fields::position.eq(last.map_or(0, |p| p + 1)),
            custom_fields::transaction_related.eq(new.transaction_related),
            custom_fields::created_at.eq(to_db(now)),
            custom_fields::updated_at.eq(to_db(now)),
        ))
        .returning(FieldRow::as_returning())
        .get_result(conn)?;
    row.into_domain()
}

/// The fields that apply in `workspace`: the owner's user-wide ones and the workspace's own.
pub fn for_workspace(
    conn: &mut Conn,
    owner: UserId,
    workspace: WorkspaceId,
) -> Result<Vec<CustomFieldDef>, StorageError> {
    let rows: Vec<FieldRow> = custom_fields::table
        .filter(custom_fields::owner_user_id.eq(owner.0))
        .filter(
            custom_fields::workspace_id
                .is_null()
                .or(custom_fields::workspace_id.eq(workspace.0)),
        )
        .order((custom_fields::position.asc(), custom_fields::id.asc()))
        .select(FieldRow::as_select())
        .load(conn)?;
    rows.into_iter().map(FieldRow::into_domain).collect()
}

/// Every definition of the owner, in every scope.
pub fn all_for_owner(conn: &mut Conn, owner: UserId) -> Result<Vec<CustomFieldDef>, StorageError> {
    let rows: Vec<FieldRow> = custom_fields::table
        .filter(custom_fields::owner_user_id.eq(owner.0))
        .order((custom_fields::position.asc(), custom_fields::id.asc()))
        .select(FieldRow::as_select())
        .load(conn)?;
    rows.into_iter().map(FieldRow::into_domain).collect()
}

pub fn get(
    conn: &mut Conn,
    owner: UserId,
    id: CustomFieldId,
) -> Result<CustomFieldDef, StorageError> {
    let row: FieldRow = custom_fields::table
        .filter(custom_fields::id.eq(id.0))
        .filter(custom_fields::owner_user_id.eq(owner.0))
        .select(FieldRow::as_select())
        .first(conn)?;
    row.into_domain()
}

/// What may change about a definition; its name and type stay, so stored values stay valid.
pub struct FieldChanges<'a> {
    pub label: &'a str,
    pub required: bool,
    pub default_value: Option<&'a str>,
    pub transaction_related: bool,
    pub position: i64,
}

pub fn update(
    conn: &mut Conn,
    owner: UserId,
    id: CustomFieldId,
    changes: FieldChanges<'_>,
    now: DateTime<Utc>,
) -> Result<CustomFieldDef, StorageError> {
    let n = diesel::update(
        custom_fields::table
            .filter(custom_fields::id.eq(id.0))
            .filter(custom_fields::owner_user_id.eq(owner.0)),
    )
    .set((
        custom_fields::label.eq(changes.label),
        custom_fields::required.eq(changes.required),
        custom_fields::default_value.eq(changes.default_value),
        custom_fields::transaction_related.eq(changes.transaction_related),
        custom_fields::position.eq(changes.position),
        custom_fields::updated_at.eq(to_db(now)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    get(conn, owner, id)
}

/// Removes a definition and, through the foreign key, every value stored for it.
pub fn delete(conn: &mut Conn, owner: UserId, id: CustomFieldId) -> Result<(), StorageError> {
    let n = diesel::delete(
        custom_fields::table
            .filter(custom_fields::id.eq(id.0))
            .filter(custom_fields::owner_user_id.eq(owner.0)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub fn exists(conn: &mut Conn, id: CustomFieldId) -> Result<bool, StorageError> {
    Ok(custom_fields::table
        .find(id.0)
        .select(custom_fields::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}
