//! Contacts as CSV: base fields (by their API names), one column per custom field (by name),
//! then the stage and the tags. RFC 4180 quoting, UTF-8, streamed; cells a spreadsheet would run as a
//! formula are neutralised, except plain numbers such as an E.164 phone or a negative amount.

use std::io::Write;

use domain::contact::ContactText;
use domain::field_definition::CustomFieldDef;
use domain::ids::{ContactId, CustomFieldId, WorkspaceId};
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

/// The page cache an export reads with (see `storage::Db::read_large`): enough for the
/// contacts, values and tags of 100,000 contacts, taken only as pages are read.
const EXPORT_CACHE_MIB: u32 = 64;

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
    let fields: Vec<CustomFieldId> = plan.defs.iter().map(|d| d.id).collect();
    let mut row: Vec<String> = Vec::new();
    app.db().read_large(EXPORT_CACHE_MIB, |conn| {
        for chunk in plan.ids.chunks(500) {
            for c in contacts::load_text(conn, chunk, &fields)? {
                row.clear();
                fill_row(&mut row, c);
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

fn fill_row(row: &mut Vec<String>, c: ContactText) {
    row.extend([
        c.id.to_string(),
        c.first_name,
        c.last_name,
        c.primary_email,
        c.primary_phone,
        c.company,
    ]);
    row.extend(c.values);
    row.push(c.stage);
    row.push(c.tags.join(", "));
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
