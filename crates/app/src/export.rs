//! Contacts as CSV: base fields (by their API names), one column per custom field (by name),
//! then the stage and the tags. RFC 4180 quoting, UTF-8; cells a spreadsheet would run as a
//! formula are neutralised, except plain numbers such as an E.164 phone or a negative amount.

use domain::contact::Contact;
use domain::field_definition::CustomFieldDef;

use crate::AppError;

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

/// Writes the CSV; `bom` adds a UTF-8 byte-order mark so Excel opens accents right.
pub fn contacts_csv(
    contacts: &[Contact],
    defs: &[CustomFieldDef],
    bom: bool,
) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let mut writer = csv::Writer::from_writer(out);
    let mut header: Vec<String> = BASE_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    header.extend(defs.iter().map(|d| d.name.as_str().to_owned()));
    header.push("primary_list".into());
    header.push("tags".into());
    let fail = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    writer.write_record(&header).map_err(fail)?;
    for c in contacts {
        let mut row = vec![
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
        ];
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
        writer
            .write_record(row.iter().map(|cell| neutralise(cell)))
            .map_err(fail)?;
    }
    writer
        .into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))
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
