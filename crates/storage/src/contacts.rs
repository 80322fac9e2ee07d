//! The `contacts`, `contact_tags` and `contact_values` tables and the `contacts_fts` index.
//!
//! A contact is reached through its workspace's owner (`owner_workspace`), so another user's
//! contact is "not found". The search document of a contact is rewritten by `reindex` in the
//! transaction that changes the contact.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Text};
use domain::contact::{
    BaseFields, Contact, ContactQuery, ContactSort, ContactText, CustomValue, FilterOp,
};
use domain::custom_field::{FieldName, FieldType, FieldValue, StoredValue};
use domain::ids::{ContactId, CustomFieldId, ListId, UserId, WorkspaceId};
use domain::list::ListRef;
use domain::pagination::{Page, PageRequest};
use domain::values::{EmailAddress, PhoneNumber, Region};

use crate::bulk_insert::{all_inserted, insert_in_chunks};
use crate::db::Conn;
use crate::error::StorageError;
use crate::schema::{
    contact_log, contact_tags, contact_values, contacts, custom_fields, lists, workspaces,
};
use crate::time::{from_db, to_db};

#[derive(Queryable, Selectable)]
#[diesel(table_name = contacts)]
struct ContactRow {
    id: i64,
    workspace_id: i64,
    created_on: chrono::NaiveDateTime,
    first_name: String,
    last_name: String,
    primary_email: Option<String>,
    primary_phone: Option<String>,
    company: String,
    primary_list_id: i64,
    last_contacted_at: Option<chrono::NaiveDateTime>,
    deleted_at: Option<chrono::NaiveDateTime>,
    updated_at: chrono::NaiveDateTime,
}

fn corrupt(message: String) -> StorageError {
    StorageError::Corrupt(message)
}

/// The workspace of a contact, if that workspace belongs to `owner` (trashed contacts too).
pub fn owner_workspace(
    conn: &mut Conn,
    owner: UserId,
    id: ContactId,
) -> Result<WorkspaceId, StorageError> {
    let ws: i64 = contacts::table
        .inner_join(workspaces::table)
        .filter(contacts::id.eq(id.0))
        .filter(workspaces::owner_user_id.eq(owner.0))
        .select(contacts::workspace_id)
        .first(conn)?;
    Ok(WorkspaceId(ws))
}

fn base_values(base: &BaseFields) -> (Option<&str>, Option<String>, Option<&str>) {
    (
        base.primary_email.as_ref().map(EmailAddress::as_str),
        base.primary_email.as_ref().map(EmailAddress::normalized),
        base.primary_phone.as_ref().map(PhoneNumber::as_str),
    )
}

pub fn insert(
    conn: &mut Conn,
    workspace: WorkspaceId,
    base: &BaseFields,
    stage: ListId,
    now: DateTime<Utc>,
) -> Result<ContactId, StorageError> {
    let (email, email_key, phone) = base_values(base);
    let id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::workspace_id.eq(workspace.0),
            contacts::created_on.eq(to_db(now)),
            contacts::first_name.eq(&base.first_name),
            contacts::last_name.eq(&base.last_name),
            contacts::primary_email.eq(email),
            contacts::email_key.eq(email_key),
            contacts::primary_phone.eq(phone),
            contacts::company.eq(&base.company),
            contacts::primary_list_id.eq(stage.0),
            contacts::updated_at.eq(to_db(now)),
        ))
        .returning(contacts::id)
        .get_result(conn)?;
    Ok(ContactId(id))
}

/// The id SQLite would give the next contact. Inside the write transaction nobody else can
/// insert, so an import can give a batch its ids up front and insert them many at a time.
pub fn next_id(conn: &mut Conn) -> Result<ContactId, StorageError> {
    let max: Option<i64> = contacts::table
        .select(diesel::dsl::max(contacts::id))
        .first(conn)?;
    Ok(ContactId(max.unwrap_or(0) + 1))
}

/// Inserts many contacts with the ids given (from [`next_id`] on), many per statement.
pub fn insert_many(
    conn: &mut Conn,
    workspace: WorkspaceId,
    rows: Vec<(ContactId, BaseFields, ListId)>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let rows_len = rows.len();
    // Eleven bound values a row; SQLite takes 32,766 per statement. Owned values: diesel caches
    // only statements whose values have no borrowed parts.
    let values = rows.into_iter().map(|(id, base, stage)| {
        let email_key = base.primary_email.as_ref().map(EmailAddress::normalized);
        (
            contacts::id.eq(id.0),
            contacts::workspace_id.eq(workspace.0),
            contacts::created_on.eq(to_db(now)),
            contacts::first_name.eq(base.first_name),
            contacts::last_name.eq(base.last_name),
            contacts::primary_email.eq(base.primary_email.map(|e| e.as_str().to_owned())),
            contacts::email_key.eq(email_key),
            contacts::primary_phone.eq(base.primary_phone.map(|p| p.as_str().to_owned())),
            contacts::company.eq(base.company),
            contacts::primary_list_id.eq(stage.0),
            contacts::updated_at.eq(to_db(now)),
        )
    });
    // OR IGNORE, counted: a statement that cannot fail needs no statement journal.
    let inserted = insert_in_chunks!(
        conn,
        diesel::insert_or_ignore_into,
        contacts::table,
        values,
        500
    );
    all_inserted("contacts", inserted, rows_len)
}

/// Whether the workspace exists and the lists and custom fields are still there, the lists
/// in that workspace. A bulk transaction (which does not check foreign keys) asks this about
/// everything its rows refer to before it commits.
pub fn parents_exist(
    conn: &mut Conn,
    workspace: WorkspaceId,
    list_ids: &[ListId],
    field_ids: &[CustomFieldId],
) -> Result<bool, StorageError> {
    let workspace_there: i64 = workspaces::table
        .filter(workspaces::id.eq(workspace.0))
        .count()
        .get_result(conn)?;
    let wanted: Vec<i64> = list_ids.iter().map(|l| l.0).collect();
    let lists_there: i64 = lists::table
        .filter(lists::workspace_id.eq(workspace.0))
        .filter(lists::id.eq_any(&wanted))
        .count()
        .get_result(conn)?;
    let wanted_fields: Vec<i64> = field_ids.iter().map(|f| f.0).collect();
    let fields_there: i64 = custom_fields::table
        .filter(custom_fields::id.eq_any(&wanted_fields))
        .count()
        .get_result(conn)?;
    Ok(workspace_there == 1
        && lists_there as usize == distinct(&wanted)
        && fields_there as usize == distinct(&wanted_fields))
}

fn distinct(ids: &[i64]) -> usize {
    ids.iter().collect::<std::collections::HashSet<_>>().len()
}

/// Adds many (contact, tag) pairs of one workspace; pairs already there are kept.
pub fn add_tags(
    conn: &mut Conn,
    workspace: WorkspaceId,
    pairs: &[(ContactId, ListId)],
) -> Result<(), StorageError> {
    for chunk in pairs.chunks(5000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(contact, tag)| {
                (
                    contact_tags::contact_id.eq(contact.0),
                    contact_tags::list_id.eq(tag.0),
                    contact_tags::workspace_id.eq(workspace.0),
                )
            })
            .collect();
        diesel::insert_or_ignore_into(contact_tags::table)
            .values(values)
            .execute(conn)?;
    }
    Ok(())
}

pub fn update_base(
    conn: &mut Conn,
    id: ContactId,
    base: &BaseFields,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let (email, email_key, phone) = base_values(base);
    diesel::update(contacts::table.find(id.0))
        .set((
            contacts::first_name.eq(&base.first_name),
            contacts::last_name.eq(&base.last_name),
            contacts::primary_email.eq(email),
            contacts::email_key.eq(email_key),
            contacts::primary_phone.eq(phone),
            contacts::company.eq(&base.company),
            contacts::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves the contact to another stage. The foreign key refuses a list that is not a stage of
/// the contact's own workspace.
pub fn set_stage(
    conn: &mut Conn,
    id: ContactId,
    stage: ListId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(contacts::table.find(id.0))
        .set((
            contacts::primary_list_id.eq(stage.0),
            contacts::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn add_tag(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    tag: ListId,
) -> Result<bool, StorageError> {
    let n = diesel::insert_or_ignore_into(contact_tags::table)
        .values((
            contact_tags::contact_id.eq(id.0),
            contact_tags::list_id.eq(tag.0),
            contact_tags::workspace_id.eq(workspace.0),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn remove_tag(conn: &mut Conn, id: ContactId, tag: ListId) -> Result<bool, StorageError> {
    let n = diesel::delete(
        contact_tags::table
            .filter(contact_tags::contact_id.eq(id.0))
            .filter(contact_tags::list_id.eq(tag.0)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

pub fn set_value(
    conn: &mut Conn,
    id: ContactId,
    field: CustomFieldId,
    value: &StoredValue,
) -> Result<(), StorageError> {
    diesel::replace_into(contact_values::table)
        .values((
            contact_values::contact_id.eq(id.0),
            contact_values::field_id.eq(field.0),
            contact_values::value_text.eq(&value.text),
            contact_values::value_number.eq(value.number),
            contact_values::value_date.eq(value.date.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Inserts many values of contacts that have none yet (an import's batch), a thousand per
/// statement.
pub fn insert_values(
    conn: &mut Conn,
    rows: Vec<(ContactId, CustomFieldId, StoredValue)>,
) -> Result<(), StorageError> {
    let expected = rows.len();
    // Five bound values a row; SQLite takes 32,766 per statement.
    let values = rows.into_iter().map(|(contact, field, v)| {
        (
            contact_values::contact_id.eq(contact.0),
            contact_values::field_id.eq(field.0),
            contact_values::value_text.eq(v.text),
            contact_values::value_number.eq(v.number),
            contact_values::value_date.eq(v.date),
        )
    });
    let inserted = insert_in_chunks!(
        conn,
        diesel::insert_or_ignore_into,
        contact_values::table,
        values,
        1000
    );
    all_inserted("custom values", inserted, expected)
}

pub fn clear_value(
    conn: &mut Conn,
    id: ContactId,
    field: CustomFieldId,
) -> Result<(), StorageError> {
    diesel::delete(
        contact_values::table
            .filter(contact_values::contact_id.eq(id.0))
            .filter(contact_values::field_id.eq(field.0)),
    )
    .execute(conn)?;
    Ok(())
}

pub fn set_trashed(
    conn: &mut Conn,
    id: ContactId,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(contacts::table.find(id.0))
        .set((
            contacts::deleted_at.eq(at.map(to_db)),
            contacts::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes for good the workspace's contacts trashed before `before`; returns how many.
pub fn purge_trash(
    conn: &mut Conn,
    workspace: WorkspaceId,
    before: DateTime<Utc>,
) -> Result<Vec<ContactId>, StorageError> {
    let ids: Vec<i64> = contacts::table
        .filter(contacts::workspace_id.eq(workspace.0))
        .filter(contacts::deleted_at.le(to_db(before)))
        .select(contacts::id)
        .load(conn)?;
    for id in &ids {
        diesel::sql_query("DELETE FROM contacts_fts WHERE rowid = ?")
            .bind::<BigInt, _>(*id)
            .execute(conn)?;
    }
    // By the same condition, not by a list of ids: SQLite caps bound values at 32,766.
    diesel::delete(
        contacts::table
            .filter(contacts::workspace_id.eq(workspace.0))
            .filter(contacts::deleted_at.le(to_db(before))),
    )
    .execute(conn)?;
    Ok(ids.into_iter().map(ContactId).collect())
}

pub fn touch_contacted(
    conn: &mut Conn,
    id: ContactId,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(contacts::table.find(id.0))
        .set(contacts::last_contacted_at.eq(to_db(at)))
        .execute(conn)?;
    Ok(())
}

/// Live contacts of the workspace with the same email (lower-cased) or phone (E.164).
pub fn duplicates_of(
    conn: &mut Conn,
    workspace: WorkspaceId,
    base: &BaseFields,
    except: Option<ContactId>,
) -> Result<Vec<ContactId>, StorageError> {
    let email_key = base.primary_email.as_ref().map(EmailAddress::normalized);
    let phone = base.primary_phone.as_ref().map(|p| p.as_str().to_owned());
    if email_key.is_none() && phone.is_none() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = contacts::table
        .filter(contacts::workspace_id.eq(workspace.0))
        .filter(contacts::deleted_at.is_null())
        .filter(contacts::id.ne(except.map_or(-1, |c| c.0)))
        .filter(
            contacts::email_key
                .eq(email_key.unwrap_or_else(|| "\u{0}".into()))
                .or(contacts::primary_phone.eq(phone.unwrap_or_else(|| "\u{0}".into()))),
        )
        .order(contacts::id.asc())
        .select(contacts::id)
        .load(conn)?;
    Ok(ids.into_iter().map(ContactId).collect())
}

/// Loads whole contacts, in the order of `ids`; missing ids are skipped.
pub fn load(conn: &mut Conn, ids: &[ContactId]) -> Result<Vec<Contact>, StorageError> {
    // SQLite caps bound values per statement; load big selections in chunks.
    const CHUNK: usize = 500;
    if ids.len() > CHUNK {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            out.extend(load(conn, chunk)?);
        }
        return Ok(out);
    }
    let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
    let rows: Vec<ContactRow> = contacts::table
        .filter(contacts::id.eq_any(&raw))
        .select(ContactRow::as_select())
        .load(conn)?;
    let stages = stage_names(conn, &rows)?;
    let mut tags: HashMap<i64, Vec<ListRef>> = HashMap::new();
    for (contact, id, name) in contact_tags::table
        .inner_join(lists::table)
        .filter(contact_tags::contact_id.eq_any(&raw))
        .order((lists::position.asc(), lists::name.asc()))
        .select((contact_tags::contact_id, lists::id, lists::name))
        .load::<(i64, i64, String)>(conn)?
    {
        tags.entry(contact).or_default().push(ListRef {
            id: ListId(id),
            name,
        });
    }
    let mut values: HashMap<i64, Vec<CustomValue>> = HashMap::new();
    for (contact, field, name, label, kind, text) in contact_values::table
        .inner_join(custom_fields::table)
        .filter(contact_values::contact_id.eq_any(&raw))
        .order((custom_fields::position.asc(), custom_fields::id.asc()))
        .select((
            contact_values::contact_id,
            custom_fields::id,
            custom_fields::name,
            custom_fields::label,
            custom_fields::field_type,
            contact_values::value_text,
        ))
        .load::<(i64, i64, String, String, String, String)>(conn)?
    {
        let field_type = FieldType::parse(&kind).map_err(corrupt)?;
        values.entry(contact).or_default().push(CustomValue {
            field_id: CustomFieldId(field),
            name: FieldName::parse(&name).map_err(corrupt)?,
            label,
            value: FieldValue::from_stored(field_type, &text).map_err(corrupt)?,
        });
    }
    let mut by_id: HashMap<i64, Contact> = HashMap::new();
    for r in rows {
        let contact = Contact {
            id: ContactId(r.id),
            workspace_id: WorkspaceId(r.workspace_id),
            created_on: from_db(r.created_on),
            first_name: r.first_name,
            last_name: r.last_name,
            primary_email: r
                .primary_email
                .as_deref()
                .map(EmailAddress::parse)
                .transpose()
                .map_err(corrupt)?,
            primary_phone: r
                .primary_phone
                .as_deref()
                .map(|p| PhoneNumber::parse(p, Region::Us))
                .transpose()
                .map_err(corrupt)?,
            company: r.company,
            primary_list: ListRef {
                id: ListId(r.primary_list_id),
                name: stages.get(&r.primary_list_id).cloned().unwrap_or_default(),
            },
            tags: tags.remove(&r.id).unwrap_or_default(),
            custom: values.remove(&r.id).unwrap_or_default(),
            last_contacted_at: r.last_contacted_at.map(from_db),
            deleted_at: r.deleted_at.map(from_db),
            updated_at: from_db(r.updated_at),
        };
        by_id.insert(r.id, contact);
    }
    Ok(raw.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The names of the stages `rows` are in, by list id.
fn stage_names(conn: &mut Conn, rows: &[ContactRow]) -> Result<HashMap<i64, String>, StorageError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.primary_list_id).collect();
    Ok(lists::table
        .filter(lists::id.eq_any(&ids))
        .select((lists::id, lists::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// The contacts `ids` as text, in that order, with the stored text of the values of `fields`
/// in that order: what an export writes, read without building (and parsing) whole contacts.
pub fn load_text(
    conn: &mut Conn,
    ids: &[ContactId],
    fields: &[CustomFieldId],
) -> Result<Vec<ContactText>, StorageError> {
    const CHUNK: usize = 500;
    let mut out = Vec::with_capacity(ids.len());
    let column: HashMap<i64, usize> = fields.iter().enumerate().map(|(i, f)| (f.0, i)).collect();
    for chunk in ids.chunks(CHUNK) {
        let raw: Vec<i64> = chunk.iter().map(|c| c.0).collect();
        let rows: Vec<ContactRow> = contacts::table
            .filter(contacts::id.eq_any(&raw))
            .select(ContactRow::as_select())
            .load(conn)?;
        let stages = stage_names(conn, &rows)?;
        let mut by_id: HashMap<i64, ContactText> = HashMap::with_capacity(rows.len());
        for r in rows {
            let text = ContactText {
                id: ContactId(r.id),
                stage: stages.get(&r.primary_list_id).cloned().unwrap_or_default(),
                first_name: r.first_name,
                last_name: r.last_name,
                primary_email: r.primary_email.unwrap_or_default(),
                primary_phone: r.primary_phone.unwrap_or_default(),
                company: r.company,
                tags: Vec::new(),
                values: vec![String::new(); fields.len()],
            };
            by_id.insert(r.id, text);
        }
        for (contact, name) in contact_tags::table
            .inner_join(lists::table)
            .filter(contact_tags::contact_id.eq_any(&raw))
            .order((lists::position.asc(), lists::name.asc()))
            .select((contact_tags::contact_id, lists::name))
            .load::<(i64, String)>(conn)?
        {
            if let Some(c) = by_id.get_mut(&contact) {
                c.tags.push(name);
            }
        }
        for (contact, field, text) in contact_values::table
            .filter(contact_values::contact_id.eq_any(&raw))
            .select((
                contact_values::contact_id,
                contact_values::field_id,
                contact_values::value_text,
            ))
            .load::<(i64, i64, String)>(conn)?
        {
            if let (Some(c), Some(i)) = (by_id.get_mut(&contact), column.get(&field)) {
                c.values[*i] = text;
            }
        }
        out.extend(raw.iter().filter_map(|id| by_id.remove(id)));
    }
    Ok(out)
}

/// One contact, if its workspace belongs to `owner`.
pub fn get(conn: &mut Conn, owner: UserId, id: ContactId) -> Result<Contact, StorageError> {
    owner_workspace(conn, owner, id)?;
    load(conn, &[id])?.pop().ok_or(StorageError::NotFound)
}

/// Turns what a person typed into an FTS5 query: every word must match the start of a word.
/// Words are quoted, so FTS syntax in the input is just text.
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(12)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

type Filter = Box<dyn BoxableExpression<contacts::table, diesel::sqlite::Sqlite, SqlType = Bool>>;

/// `contacts.id IN (the contacts whose value of `field` meets `condition`)`: a set built once
/// through the (field, value) indexes, rather than a subquery run per contact.
fn value_in(field: CustomFieldId, condition: &str) -> diesel::expression::SqlLiteral<Bool> {
    sql::<Bool>(&format!(
        "contacts.id IN (SELECT v.contact_id FROM contact_values v WHERE v.field_id = {} AND {condition}",
        field.0
    ))
}

fn filters(query: &ContactQuery) -> Vec<Filter> {
    let mut out: Vec<Filter> = Vec::new();
    if let Some(fts) = query.text.as_deref().and_then(fts_query) {
        out.push(Box::new(
            sql::<Bool>("contacts.id IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ")
                .bind::<Text, _>(fts)
                .sql(")"),
        ));
    }
    if let Some(stage) = query.stage {
        out.push(Box::new(contacts::primary_list_id.eq(stage.0)));
    }
    if let Some(tag) = query.tag {
        out.push(Box::new(
            sql::<Bool>(
                "contacts.id IN (SELECT t.contact_id FROM contact_tags t WHERE t.list_id = ",
            )
            .bind::<BigInt, _>(tag.0)
            .sql(")"),
        ));
    }
    for f in &query.custom {
        let value = f.value.clone().unwrap_or_default();
        let filter: Filter = match f.op {
            FilterOp::Equals => Box::new(
                value_in(f.field_id, "v.value_text = ")
                    .bind::<Text, _>(value)
                    .sql(")"),
            ),
            FilterOp::Contains => {
                let escaped = value
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                Box::new(
                    value_in(f.field_id, "v.value_text LIKE ")
                        .bind::<Text, _>(format!("%{escaped}%"))
                        .sql(" ESCAPE '\\')"),
                )
            }
            FilterOp::Before => Box::new(
                value_in(f.field_id, "v.value_date < ")
                    .bind::<Text, _>(value)
                    .sql(")"),
            ),
            FilterOp::After => Box::new(
                value_in(f.field_id, "v.value_date > ")
                    .bind::<Text, _>(value)
                    .sql(")"),
            ),
            FilterOp::GreaterThan | FilterOp::LessThan => {
                let number: f64 = value.parse().unwrap_or(0.0);
                let op = if f.op == FilterOp::GreaterThan {
                    "v.value_number > "
                } else {
                    "v.value_number < "
                };
                Box::new(value_in(f.field_id, op).bind::<Double, _>(number).sql(")"))
            }
            FilterOp::IsEmpty => Box::new(sql::<Bool>(&format!(
                "contacts.id NOT IN (SELECT v.contact_id FROM contact_values v WHERE v.field_id = {})",
                f.field_id.0
            ))),
        };
        out.push(filter);
    }
    if let Some(since) = query.not_contacted_since {
        out.push(Box::new(
            contacts::last_contacted_at
                .is_null()
                .or(contacts::last_contacted_at.lt(to_db(since)))
                .assume_not_null(),
        ));
    }
    out
}

type Matching<'a> = contacts::BoxedQuery<'a, diesel::sqlite::Sqlite>;

/// The workspace's live (or trashed) contacts that pass every filter of `query`.
fn matching(workspace: WorkspaceId, query: &ContactQuery) -> Matching<'static> {
    let mut q = contacts::table
        .filter(contacts::workspace_id.eq(workspace.0))
        .into_boxed();
    q = if query.trash {
        q.filter(contacts::deleted_at.is_not_null())
    } else {
        q.filter(contacts::deleted_at.is_null())
    };
    for f in filters(query) {
        q = q.filter(f);
    }
    q
}

fn order_of(sort: ContactSort) -> &'static str {
    match sort {
        ContactSort::Name => {
            "contacts.last_name COLLATE NOCASE, contacts.first_name COLLATE NOCASE, contacts.id"
        }
        ContactSort::Newest => "contacts.created_on DESC, contacts.id DESC",
        ContactSort::Oldest => "contacts.created_on, contacts.id",
        ContactSort::LastContacted => {
            "contacts.last_contacted_at IS NOT NULL, contacts.last_contacted_at, contacts.id"
        }
        ContactSort::Updated => "contacts.updated_at DESC, contacts.id DESC",
    }
}

/// Every matching id, in the table's order (for bulk actions and exports).
pub fn matching_ids(
    conn: &mut Conn,
    workspace: WorkspaceId,
    query: &ContactQuery,
) -> Result<Vec<ContactId>, StorageError> {
    let ids: Vec<i64> = matching(workspace, query)
        .order(sql::<Text>(order_of(query.sort)))
        .select(contacts::id)
        .load(conn)?;
    Ok(ids.into_iter().map(ContactId).collect())
}

/// The ids of the workspace's contacts that match, one page of them, and how many match.
pub fn search(
    conn: &mut Conn,
    workspace: WorkspaceId,
    query: &ContactQuery,
    page: PageRequest,
) -> Result<Page<ContactId>, StorageError> {
    let filtered = query.text.is_some()
        || query.stage.is_some()
        || query.tag.is_some()
        || !query.custom.is_empty()
        || query.not_contacted_since.is_some();
    if filtered {
        // Filters cost more than the rows they leave: evaluate them once, in order, and take
        // the count and the page from that (half the work of a count plus a page query).
        let all = matching_ids(conn, workspace, query)?;
        let total = all.len() as i64;
        let ids = all
            .into_iter()
            .skip(page.offset() as usize)
            .take(page.limit() as usize)
            .collect();
        return Ok(Page::new(ids, total, page));
    }
    let total: i64 = matching(workspace, query).count().get_result(conn)?;
    let ids: Vec<i64> = matching(workspace, query)
        .order(sql::<Text>(order_of(query.sort)))
        .limit(page.limit())
        .offset(page.offset())
        .select(contacts::id)
        .load(conn)?;
    Ok(Page::new(
        ids.into_iter().map(ContactId).collect(),
        total,
        page,
    ))
}

/// Rewrites the contact's search document: names, email, phone (several spellings), company,
/// custom values and notes.
pub fn reindex(conn: &mut Conn, id: ContactId) -> Result<(), StorageError> {
    let Some(doc) = document(conn, id, true)? else {
        return Ok(());
    };
    diesel::sql_query("DELETE FROM contacts_fts WHERE rowid = ?")
        .bind::<BigInt, _>(id.0)
        .execute(conn)?;
    insert_document(conn, id, doc)
}

/// A new contact's search document, from what is being inserted: its base fields and the
/// text of its custom values (an import builds it without reading the rows back).
pub fn new_document<'a>(base: &BaseFields, values: impl IntoIterator<Item = &'a str>) -> String {
    let (email, _, phone) = base_values(base);
    let mut parts = base_parts(
        &base.first_name,
        &base.last_name,
        &base.company,
        email,
        phone,
    );
    parts.extend(values.into_iter().map(str::to_owned));
    parts.join(" ")
}

/// Indexes contacts created in this transaction (an import's batch) with their documents
/// from [`new_document`]. The documents are written back to back: FTS5 writes its pending
/// terms out at every statement savepoint, so inserts interleaved with other writes would each
/// become a tiny segment to merge later, many times slower. New contacts have no notes and no
/// earlier document.
pub fn index_new(conn: &mut Conn, documents: Vec<(ContactId, String)>) -> Result<(), StorageError> {
    use search_index::contacts_fts;
    let expected = documents.len();
    let rows = documents
        .into_iter()
        .map(|(id, doc)| (contacts_fts::rowid.eq(id.0), contacts_fts::doc.eq(doc)));
    let inserted = insert_in_chunks!(conn, diesel::insert_into, contacts_fts::table, rows, 500);
    all_inserted("search documents", inserted, expected)
}

/// Writes every contact's search document when the index is empty but contacts exist (after
/// a migration rebuilt the index). Answers how many were written.
pub fn rebuild_search_if_empty(conn: &mut Conn) -> Result<usize, StorageError> {
    if indexed_document_count(conn)? > 0 {
        return Ok(0);
    }
    let ids: Vec<i64> = contacts::table
        .select(contacts::id)
        .order(contacts::id)
        .load(conn)?;
    let mut written = 0;
    for chunk in ids.chunks(2_000) {
        let chunk: Vec<ContactId> = chunk.iter().copied().map(ContactId).collect();
        for (id, doc) in documents(conn, &chunk, true)? {
            insert_document(conn, id, doc)?;
            written += 1;
        }
    }
    Ok(written)
}

/// The search documents of many contacts at once (see [`document`]), in id order.
fn documents(
    conn: &mut Conn,
    ids: &[ContactId],
    notes: bool,
) -> Result<Vec<(ContactId, String)>, StorageError> {
    use std::collections::BTreeMap;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        let raw: Vec<i64> = chunk.iter().map(|c| c.0).collect();
        let rows: Vec<ContactRow> = contacts::table
            .filter(contacts::id.eq_any(&raw))
            .order(contacts::id)
            .select(ContactRow::as_select())
            .load(conn)?;
        let mut extra: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        let values: Vec<(i64, String)> = contact_values::table
            .filter(contact_values::contact_id.eq_any(&raw))
            .select((contact_values::contact_id, contact_values::value_text))
            .load(conn)?;
        for (id, text) in values {
            extra.entry(id).or_default().push(text);
        }
        if notes {
            let bodies: Vec<(i64, String)> = contact_log::table
                .filter(contact_log::contact_id.eq_any(&raw))
                .filter(contact_log::kind.eq_any(["note", "call"]))
                .select((contact_log::contact_id, contact_log::body))
                .load(conn)?;
            for (id, body) in bodies {
                extra.entry(id).or_default().push(body);
            }
        }
        for row in rows {
            let id = row.id;
            let mut parts = row_parts(&row);
            parts.extend(extra.remove(&id).unwrap_or_default());
            out.push((ContactId(id), parts.join(" ")));
        }
    }
    Ok(out)
}

/// The base fields' part of a search document.
fn base_parts(
    first_name: &str,
    last_name: &str,
    company: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> Vec<String> {
    let mut parts = vec![
        first_name.to_owned(),
        last_name.to_owned(),
        company.to_owned(),
    ];
    parts.extend(email.map(str::to_owned));
    if let Some(phone) = phone {
        parts.extend(phone_spellings(phone));
    }
    parts
}

fn row_parts(row: &ContactRow) -> Vec<String> {
    base_parts(
        &row.first_name,
        &row.last_name,
        &row.company,
        row.primary_email.as_deref(),
        row.primary_phone.as_deref(),
    )
}

fn insert_document(conn: &mut Conn, id: ContactId, doc: String) -> Result<(), StorageError> {
    diesel::insert_into(search_index::contacts_fts::table)
        .values((
            search_index::contacts_fts::rowid.eq(id.0),
            search_index::contacts_fts::doc.eq(doc),
        ))
        .execute(conn)?;
    Ok(())
}

/// The search index as diesel sees it, for inserts only (their statement is then prepared
/// once, not for every contact). Not in `schema`, which mirrors the ordinary tables.
mod search_index {
    diesel::table! {
        contacts_fts (rowid) {
            rowid -> BigInt,
            doc -> Text,
        }
    }
}

/// The contact's search document: names, email, phone (several spellings), company, custom
/// values and (with `notes`) the text of notes and calls.
fn document(conn: &mut Conn, id: ContactId, notes: bool) -> Result<Option<String>, StorageError> {
    let Some(row): Option<ContactRow> = contacts::table
        .find(id.0)
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let mut parts = row_parts(&row);
    let values: Vec<String> = contact_values::table
        .filter(contact_values::contact_id.eq(id.0))
        .select(contact_values::value_text)
        .load(conn)?;
    parts.extend(values);
    if notes {
        let bodies: Vec<String> = contact_log::table
            .filter(contact_log::contact_id.eq(id.0))
            .filter(contact_log::kind.eq_any(["note", "call"]))
            .select(contact_log::body)
            .load(conn)?;
        parts.extend(bodies);
    }
    Ok(Some(parts.join(" ")))
}

/// `+14155550123` is found by `4155550123`, `415`, `555` or `0123`.
fn phone_spellings(e164: &str) -> Vec<String> {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    let mut out = vec![digits.clone()];
    if let Some(national) = digits
        .strip_prefix('1')
        .filter(|n| n.len() == 10 && e164.starts_with("+1"))
    {
        out.push(national.to_owned());
        out.push(format!(
            "{} {} {}",
            &national[..3],
            &national[3..6],
            &national[6..]
        ));
    }
    out
}

/// How many contacts have a search document (for tests and health checks).
pub fn indexed_document_count(conn: &mut Conn) -> Result<i64, StorageError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows: Vec<Count> =
        diesel::sql_query("SELECT count(*) AS n FROM contacts_fts").load(conn)?;
    Ok(rows.first().map_or(0, |c| c.n))
}

/// Every contact (trashed ones too) whose stage is `stage`.
pub fn in_stage(conn: &mut Conn, stage: ListId) -> Result<Vec<ContactId>, StorageError> {
    let ids: Vec<i64> = contacts::table
        .filter(contacts::primary_list_id.eq(stage.0))
        .select(contacts::id)
        .load(conn)?;
    Ok(ids.into_iter().map(ContactId).collect())
}

pub fn any_in_stage(conn: &mut Conn, stage: ListId) -> Result<bool, StorageError> {
    Ok(diesel::select(diesel::dsl::exists(
        contacts::table.filter(contacts::primary_list_id.eq(stage.0)),
    ))
    .get_result(conn)?)
}

/// Groups of live contacts in the workspace that share a lower-cased email or an E.164 phone,
/// each with the field they share.
pub fn duplicate_groups(
    conn: &mut Conn,
    workspace: WorkspaceId,
) -> Result<Vec<(&'static str, Vec<ContactId>)>, StorageError> {
    let live = || {
        contacts::table
            .filter(contacts::workspace_id.eq(workspace.0))
            .filter(contacts::deleted_at.is_null())
    };
    let by_email: Vec<(Option<String>, i64)> = live()
        .filter(contacts::email_key.is_not_null())
        .filter(sql::<Bool>(
            "contacts.email_key IN (SELECT email_key FROM contacts c2 WHERE c2.workspace_id = contacts.workspace_id \
             AND c2.deleted_at IS NULL AND c2.email_key IS NOT NULL GROUP BY email_key HAVING count(*) > 1)",
        ))
        .order((contacts::email_key.asc(), contacts::id.asc()))
        .select((contacts::email_key, contacts::id))
        .load(conn)?;
    let by_phone: Vec<(Option<String>, i64)> = live()
        .filter(contacts::primary_phone.is_not_null())
        .filter(sql::<Bool>(
            "contacts.primary_phone IN (SELECT primary_phone FROM contacts c2 WHERE c2.workspace_id = contacts.workspace_id \
             AND c2.deleted_at IS NULL AND c2.primary_phone IS NOT NULL GROUP BY primary_phone HAVING count(*) > 1)",
        ))
        .order((contacts::primary_phone.asc(), contacts::id.asc()))
        .select((contacts::primary_phone, contacts::id))
        .load(conn)?;
    let mut groups: Vec<(&'static str, Vec<ContactId>)> = Vec::new();
    for (field, rows) in [("primary_email", by_email), ("primary_phone", by_phone)] {
        let mut current: Option<String> = None;
        for (key, id) in rows {
            if key != current {
                groups.push((field, Vec::new()));
                current = key;
            }
            if let Some((_, ids)) = groups.last_mut() {
                ids.push(ContactId(id));
            }
        }
    }
    // A pair that shares both email and phone is listed once.
    let mut seen: Vec<Vec<ContactId>> = Vec::new();
    groups.retain(|(_, ids)| {
        if seen.contains(ids) {
            false
        } else {
            seen.push(ids.clone());
            true
        }
    });
    Ok(groups)
}

/// The contacts that hold a value for `field`.
pub fn with_value_of(
    conn: &mut Conn,
    field: CustomFieldId,
) -> Result<Vec<ContactId>, StorageError> {
    let ids: Vec<i64> = contact_values::table
        .filter(contact_values::field_id.eq(field.0))
        .select(contact_values::contact_id)
        .load(conn)?;
    Ok(ids.into_iter().map(ContactId).collect())
}

/// A contact and the keys duplicates are found by: lower-cased email, E.164 phone.
pub type DuplicateKeys = (ContactId, Option<String>, Option<String>);

/// Every live contact's duplicate keys in the workspace, for an import to match its rows in
/// memory instead of one query per row.
pub fn duplicate_keys(
    conn: &mut Conn,
    workspace: WorkspaceId,
) -> Result<Vec<DuplicateKeys>, StorageError> {
    Ok(contacts::table
        .filter(contacts::workspace_id.eq(workspace.0))
        .filter(contacts::deleted_at.is_null())
        .filter(
            contacts::email_key
                .is_not_null()
                .or(contacts::primary_phone.is_not_null()),
        )
        .select((contacts::id, contacts::email_key, contacts::primary_phone))
        .load::<(i64, Option<String>, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, email, phone)| (ContactId(id), email, phone))
        .collect())
}

/// Those of `ids` changed, or given a log entry, after `since`: contacts someone has worked on.
pub fn touched_since(
    conn: &mut Conn,
    ids: &[ContactId],
    since: DateTime<Utc>,
) -> Result<Vec<ContactId>, StorageError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let raw: Vec<i64> = chunk.iter().map(|c| c.0).collect();
        let edited: Vec<i64> = contacts::table
            .filter(contacts::id.eq_any(&raw))
            .filter(contacts::updated_at.gt(to_db(since)))
            .select(contacts::id)
            .load(conn)?;
        let logged: Vec<i64> = contact_log::table
            .filter(contact_log::contact_id.eq_any(&raw))
            .filter(contact_log::created_at.gt(to_db(since)))
            .select(contact_log::contact_id)
            .distinct()
            .load(conn)?;
        for id in edited.into_iter().chain(logged) {
            if !out.contains(&ContactId(id)) {
                out.push(ContactId(id));
            }
        }
    }
    Ok(out)
}

/// Deletes contacts for good, with their values, tags, log and search document (undoing an
/// import). Ids of contacts that no longer exist are ignored.
pub fn delete_for_good(conn: &mut Conn, ids: &[ContactId]) -> Result<usize, StorageError> {
    for id in ids {
        diesel::sql_query("DELETE FROM contacts_fts WHERE rowid = ?")
            .bind::<BigInt, _>(id.0)
            .execute(conn)?;
    }
    let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
    Ok(diesel::delete(contacts::table.filter(contacts::id.eq_any(raw))).execute(conn)?)
}

/// Whether the contact is marked Do Not Contact (no email, no text).
pub fn do_not_contact(conn: &mut Conn, id: ContactId) -> Result<bool, StorageError> {
    Ok(contacts::table
        .find(id.0)
        .select(contacts::do_not_contact)
        .first(conn)?)
}

pub fn set_do_not_contact(conn: &mut Conn, id: ContactId, value: bool) -> Result<(), StorageError> {
    diesel::update(contacts::table.find(id.0))
        .set(contacts::do_not_contact.eq(value))
        .execute(conn)?;
    Ok(())
}

/// Live contacts in `owner`'s workspaces whose phone is `phone` (E.164): who a text came from.
pub fn with_phone(
    conn: &mut Conn,
    owner: UserId,
    phone: &str,
) -> Result<Vec<ContactId>, StorageError> {
    Ok(contacts::table
        .inner_join(workspaces::table)
        .filter(workspaces::owner_user_id.eq(owner.0))
        .filter(contacts::primary_phone.eq(phone))
        .filter(contacts::deleted_at.is_null())
        .order(contacts::id)
        .select(contacts::id)
        .load::<i64>(conn)?
        .into_iter()
        .map(ContactId)
        .collect())
}

/// Live contacts of the workspace with this email (lower-cased): who an email came from.
pub fn with_email(
    conn: &mut Conn,
    workspace: WorkspaceId,
    email_key: &str,
) -> Result<Vec<ContactId>, StorageError> {
    Ok(contacts::table
        .filter(contacts::workspace_id.eq(workspace.0))
        .filter(contacts::deleted_at.is_null())
        .filter(contacts::email_key.eq(email_key))
        .order(contacts::id)
        .select(contacts::id)
        .load::<i64>(conn)?
        .into_iter()
        .map(ContactId)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_becomes_a_safe_prefix_query() {
        let check = |input: &str, expected: Option<&str>| {
            assert_eq!(fts_query(input).as_deref(), expected, "{input:?}")
        };
        check("Mona", Some("\"Mona\"*"));
        check("  mona  lisa ", Some("\"mona\"* \"lisa\"*"));
        check("mona@ex", Some("\"mona\"* \"ex\"*"));
        check("\" OR 1=1 --", Some("\"OR\"* \"1\"* \"1\"*"));
        check("NEAR(a b)", Some("\"NEAR\"* \"a\"* \"b\"*"));
        check("***", None);
        check("", None);
    }

    fn workspace(db: &crate::Db, owner: &str) -> (WorkspaceId, Vec<ListId>) {
        use domain::list::ListKind;
        db.write(|conn| {
            let now = Utc::now();
            let user = crate::users::insert(
                conn,
                &domain::user::Username::parse(owner).unwrap(),
                &domain::user::DisplayName::parse(owner).unwrap(),
                "x",
                now,
            )?;
            let ws = crate::workspaces::insert(
                conn,
                user.id,
                &domain::workspace::NewWorkspace {
                    name: domain::workspace::WorkspaceName::parse("W").unwrap(),
                    color: None,
                    time_zone: Default::default(),
                    postal_address: String::new(),
                },
                &domain::workspace::Color::nth_default(0),
                now,
            )?;
            crate::lists::create_defaults(conn, ws.id, now)?;
            let tag = crate::lists::insert(conn, ws.id, ListKind::Secondary, "Hot", now)?;
            let mut ids: Vec<ListId> =
                crate::lists::for_workspace(conn, ws.id, Some(ListKind::Primary))?
                    .into_iter()
                    .map(|l| l.id)
                    .collect();
            ids.push(tag);
            Ok::<_, StorageError>((ws.id, ids))
        })
        .unwrap()
    }

    #[test]
    fn the_database_keeps_exactly_one_stage_per_contact() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Db::open_in(dir.path()).unwrap();
        db.migrate().unwrap();
        let (ws, lists) = workspace(&db, "alice");
        let (other_ws, other_lists) = workspace(&db, "bob");
        let (stage, tag) = (lists[0], *lists.last().unwrap());
        let base = BaseFields {
            first_name: "Mona".into(),
            ..Default::default()
        };
        let now = Utc::now();
        let insert = |list: ListId, ws: WorkspaceId| db.write(|c| insert(c, ws, &base, list, now));
        let id = insert(stage, ws).unwrap();
        assert!(insert(tag, ws).is_err(), "a tag is not a stage");
        assert!(
            insert(other_lists[0], ws).is_err(),
            "another workspace's stage"
        );
        assert!(insert(ListId(999_999), ws).is_err(), "no such list");
        assert!(db.write(|c| set_stage(c, id, tag, now)).is_err());
        assert!(db.write(|c| set_stage(c, id, other_lists[1], now)).is_err());
        assert!(db.write(|c| set_stage(c, id, lists[1], now)).is_ok());
        // A stage that holds contacts cannot be removed from under them.
        assert!(db.write(|c| crate::lists::delete(c, lists[1])).is_err());
        // Tags must belong to the contact's workspace too.
        assert!(db.write(|c| add_tag(c, ws, id, tag)).unwrap());
        assert!(
            db.write(|c| add_tag(c, other_ws, id, *other_lists.last().unwrap()))
                .is_err()
        );
        assert!(
            db.write(|c| add_tag(c, ws, id, lists[0])).is_err(),
            "a stage is not a tag"
        );
    }

    #[test]
    fn trash_and_purge_keep_the_search_index_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Db::open_in(dir.path()).unwrap();
        db.migrate().unwrap();
        let (ws, lists) = workspace(&db, "alice");
        let now = Utc::now();
        let base = BaseFields {
            first_name: "Monalisa".into(),
            ..Default::default()
        };
        let id = db
            .write(|c| {
                let id = insert(c, ws, &base, lists[0], now)?;
                reindex(c, id)?;
                Ok::<_, StorageError>(id)
            })
            .unwrap();
        let find = |trash: bool| {
            let q = ContactQuery {
                text: Some("mona".into()),
                trash,
                ..Default::default()
            };
            db.read(|c| search(c, ws, &q, PageRequest::default()))
                .unwrap()
                .total
        };
        assert_eq!((find(false), find(true)), (1, 0));
        db.write(|c| set_trashed(c, id, Some(now), now)).unwrap();
        assert_eq!((find(false), find(true)), (0, 1));
        let purged = db.write(|c| purge_trash(c, ws, now)).unwrap();
        assert_eq!(purged, [id]);
        assert_eq!(db.read(indexed_document_count).unwrap(), 0);
        assert_eq!((find(false), find(true)), (0, 0));
    }

    #[test]
    fn an_emptied_search_index_is_rebuilt_with_every_contact() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Db::open_in(dir.path()).unwrap();
        db.migrate().unwrap();
        let (ws, lists) = workspace(&db, "alice");
        let now = Utc::now();
        let base = |name: &str| BaseFields {
            first_name: name.into(),
            primary_phone: Some(
                domain::values::PhoneNumber::parse("(415) 555-0123", Default::default()).unwrap(),
            ),
            ..Default::default()
        };
        let ids = db
            .write(|c| {
                let (mona, leo) = (base("Monalisa"), base("Leonardo"));
                let a = insert(c, ws, &mona, lists[0], now)?;
                let b = insert(c, ws, &leo, lists[0], now)?;
                index_new(
                    c,
                    vec![(a, new_document(&mona, [])), (b, new_document(&leo, []))],
                )?;
                Ok::<_, StorageError>([a, b])
            })
            .unwrap();
        let find = |text: &str| {
            let q = ContactQuery {
                text: Some(text.into()),
                ..Default::default()
            };
            db.read(|c| search(c, ws, &q, PageRequest::default()))
                .unwrap()
                .total
        };
        assert_eq!(
            (find("mona"), find("leo"), find("555"), find("4155550123")),
            (1, 1, 2, 2)
        );
        // As after the migration that rebuilt the index: empty, with contacts in the tables.
        db.write(|c| {
            diesel::sql_query("DELETE FROM contacts_fts")
                .execute(c)
                .map_err(StorageError::from)
        })
        .unwrap();
        assert_eq!(find("mona"), 0);
        assert_eq!(db.write(rebuild_search_if_empty).unwrap(), ids.len());
        assert_eq!(
            (find("mona"), find("leo"), find("555"), find("mo")),
            (1, 1, 2, 1)
        );
        assert_eq!(
            db.write(rebuild_search_if_empty).unwrap(),
            0,
            "only when empty"
        );
    }

    #[test]
    fn phones_are_findable_by_their_parts() {
        assert_eq!(
            phone_spellings("+14155550123"),
            ["14155550123", "4155550123", "415 555 0123"]
        );
        assert_eq!(phone_spellings("+447911123456"), ["447911123456"]);
    }
}
