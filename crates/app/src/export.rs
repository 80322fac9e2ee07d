//! Contacts as CSV: base fields (by their API names), one column per custom field (by name),
//! then the stage and the tags. RFC 4180 quoting, UTF-8, streamed; cells a spreadsheet would run as a
//! formula are neutralised, except plain numbers such as an E.164 phone or a negative amount.

use std::io::Write;

use domain::contact::Contact;
use domain::field_definition::CustomFieldDef;
use domain::ids::{ContactId, WorkspaceId};
use storage::contacts;

use crate::bulk::Target;
use crate::{App, AppError, Caller};

pub const BASE_COLUMNS: &[&str] = &[
    "id",
    "first_name",
    "last_name",
    "primary_email",
    "primary_phone",
    "company",
];

/// A cell that starts like a formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading `'`, unless
/// it is a plain number (`+14155550123`, `-12.50`), which spreadsheets read as a number.
pub fn neutralise(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if !risky {
        return cell.to_owned();
    }
    let body = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let plain_number = !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || c == '.')
        && body.chars().filter(|c| *c == '.').count() <= 1
        && body.chars().any(|c| c.is_ascii_digit());
    if plain_number {
        cell.to_owned()
    } else {
        format!("'{cell}")
    }
}

/// What an export will write: the contacts' ids in the table's order, and the fields that
/// make the columns. Settled before the first byte goes out, so a bad filter is an error
/// response, not a broken download.
pub struct ExportPlan {
    ids: Vec<ContactId>,
    defs: Vec<CustomFieldDef>,
}

impl ExportPlan {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

pub fn plan(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    target: &Target,
) -> Result<ExportPlan, AppError> {
    let ids = crate::bulk::resolve_ids(app, caller, ws, target)?;
    let defs = crate::custom_fields::for_workspace(app, caller, ws)?;
    Ok(ExportPlan { ids, defs })
}

/// The header row: the API's field names, then one column per custom field, stage and tags.
pub fn header(defs: &[CustomFieldDef]) -> Vec<String> {
    let mut header: Vec<String> = BASE_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    header.extend(defs.iter().map(|d| d.name.as_str().to_owned()));
    header.push("primary_list".into());
    header.push("tags".into());
    header
}

/// Writes the CSV to `out`, loading contacts a few hundred at a time, so memory stays flat
/// however many there are. `bom` adds a UTF-8 byte-order mark so Excel opens accents right.
pub fn write<W: Write>(
    app: &App,
    plan: &ExportPlan,
    bom: bool,
    mut out: W,
) -> Result<(), AppError> {
    let fail = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    if bom {
        out.write_all("\u{feff}".as_bytes())
            .map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    }
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header(&plan.defs)).map_err(fail)?;
    let mut row: Vec<String> = Vec::new();
    app.db().read(|conn| {
        for chunk in plan.ids.chunks(500) {
            for c in contacts::load(conn, chunk)? {
                row.clear();
                fill_row(&mut row, &c, &plan.defs);
                writer
                    .write_record(row.iter().map(|cell| neutralise(cell)))
                    .map_err(fail)?;
            }
        }
        Ok::<_, AppError>(())
    })?;
    writer
        .flush()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))
}

fn fill_row(row: &mut Vec<String>, c: &Contact, defs: &[CustomFieldDef]) {
    row.extend([
        c.id.to_string(),
        c.first_name.clone(),
        c.last_name.clone(),
        c.primary_email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        c.primary_phone
            .as_ref()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        c.company.clone(),
    ]);
    for d in defs {
        row.push(
            c.custom_value(d.name.as_str())
                .map(|v| v.to_stored().text)
                .unwrap_or_default(),
        );
    }
    row.push(c.primary_list.name.clone());
    row.push(
        c.tags
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_but_numbers_stay() {
        let check = |cell: &str, expected: &str| assert_eq!(neutralise(cell), expected, "{cell:?}");
        check("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")");
        check("@SUM(A1)", "'@SUM(A1)");
        check("+14155550123", "+14155550123");
        check("-12.50", "-12.50");
        check("-", "'-");
        check("+1+1", "'+1+1");
        check("-1.2.3", "'-1.2.3");
        check("\tx", "'\tx");
        check("\rx", "'\rx");
        check("Mona", "Mona");
        check("", "");
    }
}
