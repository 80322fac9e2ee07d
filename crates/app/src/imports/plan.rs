//! From a row of cells to a contact draft: each mapped cell parsed by the same rules as a form
//! (email, phone, dates, numbers...), with the reason in words when a cell is wrong.

use domain::contact::{BaseFields, RawBaseFields};
use domain::csv_import::{self, ImportTarget};
use domain::custom_field::{FieldType, FieldValue};
use domain::ids::CustomFieldId;
use domain::values::Region;

/// A custom field the rows fill: one that exists, or one the import will create.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// `None` until created (and in a dry run, where nothing is created).
    pub id: Option<CustomFieldId>,
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
    pub required: bool,
    pub default_value: Option<String>,
}

/// What a column feeds.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Skip,
    FirstName,
    LastName,
    FullName,
    Email,
    Phone,
    Company,
    Stage,
    Tags,
    /// Index into the import's field specs.
    Field(usize),
}

impl Column {
    pub fn of(target: &ImportTarget, fields: &[FieldSpec]) -> Column {
        match target {
            ImportTarget::Skip => Column::Skip,
            ImportTarget::FirstName => Column::FirstName,
            ImportTarget::LastName => Column::LastName,
            ImportTarget::FullName => Column::FullName,
            ImportTarget::PrimaryEmail => Column::Email,
            ImportTarget::PrimaryPhone => Column::Phone,
            ImportTarget::Company => Column::Company,
            ImportTarget::PrimaryList => Column::Stage,
            ImportTarget::Tags => Column::Tags,
            ImportTarget::Custom(name) => fields
                .iter()
                .position(|f| f.name == *name)
                .map_or(Column::Skip, Column::Field),
        }
    }
}

/// The text of the base fields a row gives (empty: the row does not give it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawBase {
    pub first_name: String,
    pub last_name: String,
    pub primary_email: String,
    pub primary_phone: String,
    pub company: String,
}

impl RawBase {
    pub fn parse(&self) -> Result<BaseFields, domain::validation::ValidationError> {
        BaseFields::parse(
            &RawBaseFields {
                first_name: &self.first_name,
                last_name: &self.last_name,
                primary_email: &self.primary_email,
                primary_phone: &self.primary_phone,
                company: &self.company,
            },
            Region::default(),
        )
    }
}

/// A row, read and checked.
#[derive(Debug, Clone)]
pub struct Draft {
    pub raw: RawBase,
    pub base: BaseFields,
    pub stage: Option<String>,
    pub tags: Vec<String>,
    /// Field spec index and value.
    pub values: Vec<(usize, FieldValue)>,
}

impl Draft {
    /// The lower-cased email and the E.164 phone, by which duplicates are found.
    pub fn keys(&self) -> (Option<String>, Option<String>) {
        (
            self.base.primary_email.as_ref().map(|e| e.normalized()),
            self.base
                .primary_phone
                .as_ref()
                .map(|p| p.as_str().to_owned()),
        )
    }
}

/// The column header a base field's error should name.
fn header_for<'a>(field: &'a str, columns: &[Column], headers: &'a [String]) -> &'a str {
    let wanted: &[Column] = match field {
        "first_name" => &[Column::FirstName, Column::FullName],
        "last_name" => &[Column::LastName, Column::FullName],
        "primary_email" => &[Column::Email],
        "primary_phone" => &[Column::Phone],
        "company" => &[Column::Company],
        _ => &[],
    };
    columns
        .iter()
        .position(|c| wanted.contains(c))
        .and_then(|i| headers.get(i))
        .map_or(field, String::as_str)
}

/// Reads one row. `Err` holds the reason the row cannot be imported.
pub fn draft(
    cells: &[String],
    columns: &[Column],
    headers: &[String],
    fields: &[FieldSpec],
) -> Result<Draft, String> {
    if cells.len() != columns.len() {
        let hint = if cells.iter().any(|c| c.contains('\n')) {
            "a quote (\") opened in a cell is probably never closed"
        } else if cells.len() > columns.len() {
            "a cell with the delimiter in it may be missing its quotes"
        } else {
            "the line may have been cut short or split in two"
        };
        return Err(format!(
            "This row has {} cells but the header has {} columns: {hint}.",
            cells.len(),
            columns.len()
        ));
    }
    let mut raw = RawBase::default();
    let mut full_name = String::new();
    let mut stage = None;
    let mut tags = Vec::new();
    let mut values = Vec::new();
    for ((cell, column), header) in cells.iter().zip(columns).zip(headers) {
        let cell = unneutralise(cell.trim());
        if cell.is_empty() {
            continue;
        }
        match column {
            Column::Skip => {}
            Column::FirstName => raw.first_name = cell.to_owned(),
            Column::LastName => raw.last_name = cell.to_owned(),
            Column::FullName => full_name = cell.to_owned(),
            Column::Email => raw.primary_email = cell.to_owned(),
            Column::Phone => raw.primary_phone = cell.to_owned(),
            Column::Company => raw.company = cell.to_owned(),
            Column::Stage => stage = Some(cell.to_owned()),
            Column::Tags => tags.extend(csv_import::split_tags(cell)),
            Column::Field(i) => {
                let spec = &fields[*i];
                match FieldValue::parse(spec.field_type, cell, Region::default()) {
                    Ok(Some(value)) => values.push((*i, value)),
                    Ok(None) => {}
                    Err(message) => return Err(format!("{header}: {message}")),
                }
            }
        }
    }
    // A full name fills only what separate first and last name columns left empty.
    if !full_name.is_empty() && raw.first_name.is_empty() && raw.last_name.is_empty() {
        let (first, last) = csv_import::split_full_name(&full_name);
        raw.first_name = first;
        raw.last_name = last;
    }
    let base = raw
        .parse()
        .map_err(|e| format!("{}: {}", header_for(&e.field, columns, headers), e.message))?;
    if raw == RawBase::default() {
        return Err(
            "This row has no name, email, phone or company, so there is no contact to make.".into(),
        );
    }
    for tag in &tags {
        domain::list::parse_list_name(tag).map_err(|e| format!("Tag '{tag}': {}", e.message))?;
    }
    if let Some(name) = &stage {
        domain::list::parse_list_name(name)
            .map_err(|e| format!("Stage '{name}': {}", e.message))?;
    }
    Ok(Draft {
        raw,
        base,
        stage,
        tags,
        values,
    })
}

/// Takes back the `'` an export (pi-crm's, or a spreadsheet's) puts before a cell that would
/// run as a formula, so a round trip gives back the text that was there.
fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// Why a new contact from this draft would be refused: a required field without a value
/// or a default.
pub fn missing_required(draft: &Draft, fields: &[FieldSpec]) -> Option<String> {
    fields
        .iter()
        .enumerate()
        .find(|(i, f)| {
            f.required && f.default_value.is_none() && !draft.values.iter().any(|(v, _)| v == i)
        })
        .map(|(_, f)| format!("{} is required, and this row leaves it empty.", f.label))
}
