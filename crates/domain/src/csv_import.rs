//! The pure pieces of the CSV contact import wizard: guessing a file's encoding and delimiter
//! from its first bytes, mapping its columns to contact fields, and splitting the cells that
//! hold more than one value (full names, tag lists).
//!
//! The caller reads the file and runs the CSV reader; everything here works on bytes and
//! strings it is handed, so the wizard's guesses can be tested without files.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::custom_field::FieldType;
use crate::values::{EmailAddress, PhoneNumber, Region, parse_date, parse_decimal, parse_url};

/// The text encodings the wizard offers. Excel on Windows still saves "CSV" in Windows-1252,
/// so that is the one alternative to UTF-8 people actually meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    // Explicit names: kebab-case alone would give `utf8` and `windows1252`, not the labels
    // `as_str` and every other tool use.
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "windows-1252")]
    Windows1252,
}

impl Encoding {
    pub const ALL: &'static [Encoding] = &[Encoding::Utf8, Encoding::Windows1252];

    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1252 => "windows-1252",
        }
    }

    /// The usual names of each encoding, in any case. Latin-1 is accepted as Windows-1252,
    /// as browsers do: the two differ only in characters Latin-1 leaves unprintable.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "windows-1252" | "cp1252" | "latin1" => Some(Encoding::Windows1252),
            _ => None,
        }
    }

    /// The name shown in the UI.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Windows1252 => "Windows-1252 (Excel on Windows)",
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The bytes without a leading UTF-8 byte order mark, which Excel writes at the start of
/// "CSV UTF-8" files and which would otherwise stick to the first header.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

/// UTF-8 if the sample is valid UTF-8, else Windows-1252. The sample is the start of a file,
/// so a character cut off at its very end still counts as UTF-8.
pub fn detect_encoding(sample: &[u8]) -> Encoding {
    match std::str::from_utf8(strip_bom(sample)) {
        Ok(_) => Encoding::Utf8,
        // `error_len() == None` means the input ended inside a character, not a bad byte.
        Err(e) if e.error_len().is_none() => Encoding::Utf8,
        Err(_) => Encoding::Windows1252,
    }
}

/// One cell's text. The error is the end of a sentence: the caller puts the cell's row and
/// column in front of it.
pub fn decode_field(bytes: &[u8], encoding: Encoding) -> Result<String, String> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| {
            "is not valid UTF-8: choose Windows-1252 as the encoding, or save the file as CSV UTF-8"
                .to_owned()
        }),
        // Every byte has a meaning in Windows-1252, so this cannot fail.
        Encoding::Windows1252 => Ok(encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned()),
    }
}

/// Comma first: it wins ties.
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// How many records of the sample the delimiter guess looks at.
const SAMPLE_RECORDS: usize = 20;

/// The delimiter that splits the sample's first records most consistently: the one whose
/// count per record is the same, and above zero, on the most records; then the one giving
/// more columns; then the comma. Spreadsheets set to European locales save with `;`, since
/// there the comma is the decimal separator.
pub fn detect_delimiter(sample: &[u8]) -> u8 {
    let sample = strip_bom(sample);
    let mut best: Option<(usize, usize, u8)> = None;
    for delimiter in DELIMITERS {
        let Some((records, count)) = most_common_count(&delimiter_counts(sample, delimiter)) else {
            continue;
        };
        if best.is_none_or(|(r, c, _)| (records, count) > (r, c)) {
            best = Some((records, count, delimiter));
        }
    }
    best.map_or(b',', |(_, _, d)| d)
}

/// The non-zero count shared by the most records, as (records, count); the higher count on a
/// tie.
fn most_common_count(counts: &[usize]) -> Option<(usize, usize)> {
    let mut frequency: HashMap<usize, usize> = HashMap::new();
    for &count in counts.iter().filter(|&&c| c > 0) {
        *frequency.entry(count).or_default() += 1;
    }
    frequency
        .into_iter()
        .map(|(count, records)| (records, count))
        .max()
}

/// Where the scan of a record stands, as the CSV reader sees it: a quote opens a quoted field
/// only at the start of a field, so a stray inch mark (`6" shelf`) does not swallow the rest.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    FieldStart,
    Unquoted,
    Quoted,
    /// Just after a quote inside a quoted field: `""` is an escaped quote, anything else ends
    /// the quoting.
    QuoteInQuoted,
}

/// The number of `delimiter`s outside quotes in each of the sample's first non-blank records.
/// A newline inside quotes does not end a record. The last record is left out when others
/// exist, as the sample may have cut it short.
fn delimiter_counts(sample: &[u8], delimiter: u8) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut count = 0;
    let mut blank = true;
    let mut state = Scan::FieldStart;
    for &b in sample {
        match state {
            Scan::Quoted => {
                if b == b'"' {
                    state = Scan::QuoteInQuoted;
                }
                continue;
            }
            Scan::QuoteInQuoted if b == b'"' => {
                state = Scan::Quoted;
                continue;
            }
            _ => {}
        }
        if b == delimiter {
            count += 1;
            blank = false;
            state = Scan::FieldStart;
        } else if b == b'\n' {
            if !blank {
                counts.push(count);
                if counts.len() == SAMPLE_RECORDS {
                    return counts;
                }
            }
            count = 0;
            blank = true;
            state = Scan::FieldStart;
        } else if b == b'"' && state == Scan::FieldStart {
            blank = false;
            state = Scan::Quoted;
        } else {
            if !b.is_ascii_whitespace() {
                blank = false;
            }
            state = Scan::Unquoted;
        }
    }
    if !blank && counts.is_empty() {
        counts.push(count);
    }
    counts
}

/// The delimiter's name in the UI and in form values.
pub fn delimiter_name(delimiter: u8) -> &'static str {
    match delimiter {
        b';' => "semicolon",
        b'\t' => "tab",
        _ => "comma",
    }
}

/// A delimiter by name or as the character itself.
pub fn parse_delimiter(raw: &str) -> Option<u8> {
    // Not trimmed before matching the tab character, which trimming would remove.
    if raw == "\t" {
        return Some(b'\t');
    }
    match raw.trim().to_ascii_lowercase().as_str() {
        "comma" | "," => Some(b','),
        "semicolon" | ";" => Some(b';'),
        "tab" | "\\t" => Some(b'\t'),
        _ => None,
    }
}

/// Where a column's values go. The string form (`as_str`) is the contract with the API and
/// the wizard's form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImportTarget {
    Skip,
    FirstName,
    LastName,
    /// One column holding the whole name, split into first and last on import.
    FullName,
    PrimaryEmail,
    PrimaryPhone,
    Company,
    PrimaryList,
    Tags,
    /// A custom field, by its name.
    Custom(String),
}

impl ImportTarget {
    /// Every target but custom fields, in the order the wizard lists them.
    pub const BUILT_IN: &'static [ImportTarget] = &[
        ImportTarget::Skip,
        ImportTarget::FirstName,
        ImportTarget::LastName,
        ImportTarget::FullName,
        ImportTarget::PrimaryEmail,
        ImportTarget::PrimaryPhone,
        ImportTarget::Company,
        ImportTarget::PrimaryList,
        ImportTarget::Tags,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            ImportTarget::Skip => "skip",
            ImportTarget::FirstName => "first_name",
            ImportTarget::LastName => "last_name",
            ImportTarget::FullName => "name",
            ImportTarget::PrimaryEmail => "primary_email",
            ImportTarget::PrimaryPhone => "primary_phone",
            ImportTarget::Company => "company",
            ImportTarget::PrimaryList => "primary_list",
            ImportTarget::Tags => "tags",
            ImportTarget::Custom(name) => name,
        }
    }

    /// The fixed strings in any case, `custom:NAME` for a custom field whose name would read
    /// as one of them, and anything else as a custom field's name. Empty means skip.
    pub fn parse(raw: &str) -> ImportTarget {
        let value = raw.trim();
        let lower = value.to_ascii_lowercase();
        if let Some(target) = ImportTarget::BUILT_IN.iter().find(|t| t.as_str() == lower) {
            return target.clone();
        }
        // ASCII lower-casing keeps byte offsets, so the prefix length cuts `value` safely.
        if lower.starts_with("custom:") {
            let name = value["custom:".len()..].trim();
            return if name.is_empty() {
                ImportTarget::Skip
            } else {
                ImportTarget::Custom(name.to_owned())
            };
        }
        if value.is_empty() {
            ImportTarget::Skip
        } else {
            ImportTarget::Custom(value.to_owned())
        }
    }

    /// The name shown in the wizard's column menus.
    pub fn label(&self) -> String {
        match self {
            ImportTarget::Skip => "Skip this column".to_owned(),
            ImportTarget::FirstName => "First name".to_owned(),
            ImportTarget::LastName => "Last name".to_owned(),
            ImportTarget::FullName => "Full name (split into first and last)".to_owned(),
            ImportTarget::PrimaryEmail => "Email".to_owned(),
            ImportTarget::PrimaryPhone => "Phone".to_owned(),
            ImportTarget::Company => "Company".to_owned(),
            ImportTarget::PrimaryList => "Stage (primary list)".to_owned(),
            ImportTarget::Tags => "Tags".to_owned(),
            ImportTarget::Custom(name) => format!("Custom field: {name}"),
        }
    }
}

impl Serialize for ImportTarget {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // A custom field named like a fixed target (`skip`) would come back as that
            // target, so it travels with its prefix.
            ImportTarget::Custom(name) if ImportTarget::parse(name) != *self => {
                serializer.serialize_str(&format!("custom:{name}"))
            }
            _ => serializer.serialize_str(self.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for ImportTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| ImportTarget::parse(&s))
    }
}

/// A header in a comparable form: trimmed, lower case, with `_`, `-`, `.` and runs of spaces
/// as one space, so `E-mail 1 - Value`, `first_name` and `First  Name` meet the table below.
fn normalise_header(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || matches!(c, '_' | '-' | '.'))
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The built-in target a normalised header means, and its rank: when several columns mean the
/// same target, the lowest rank wins, then the first column. Only phones have ranks: the
/// mobile number is the one that takes texts, and Outlook's "Primary Phone" is usually empty.
fn known_header(normalised: &str) -> Option<(ImportTarget, u8)> {
    let target = match normalised {
        "first name" | "firstname" | "first" | "given name" => ImportTarget::FirstName,
        "last name" | "lastname" | "last" | "surname" | "family name" => ImportTarget::LastName,
        "name" | "full name" | "fullname" | "contact name" => ImportTarget::FullName,
        "primary email" | "email" | "e mail" | "email address" | "e mail address" | "mail"
        | "e mail 1 value" | "email 1 value" => ImportTarget::PrimaryEmail,
        "mobile phone" | "mobile" | "cell" | "cell phone" | "mobile number" => {
            return Some((ImportTarget::PrimaryPhone, 0));
        }
        "primary phone" | "phone" | "telephone" | "phone number" | "phone 1 value" => {
            return Some((ImportTarget::PrimaryPhone, 1));
        }
        "business phone" => return Some((ImportTarget::PrimaryPhone, 2)),
        "home phone" => return Some((ImportTarget::PrimaryPhone, 3)),
        "company"
        | "company name"
        | "organization"
        | "organisation"
        | "organization name"
        | "organisation name"
        | "organization 1 name" => ImportTarget::Company,
        "primary list" | "stage" | "status" => ImportTarget::PrimaryList,
        // Google's older export calls its labels "Group Membership".
        "tags" | "tag" | "labels" | "groups" | "group membership" | "categories" => {
            ImportTarget::Tags
        }
        _ => return None,
    };
    Some((target, 0))
}

/// The custom field a header names: the same name in any case, else the same after
/// normalising, so a `closing_date` field matches a "Closing date" column.
fn custom_match(header: &str, custom_field_names: &[String]) -> Option<ImportTarget> {
    let trimmed = header.trim_start_matches('\u{feff}').trim();
    let exact = custom_field_names
        .iter()
        .find(|name| name.trim().to_lowercase() == trimmed.to_lowercase());
    let normalised = normalise_header(header);
    exact
        .or_else(|| {
            custom_field_names
                .iter()
                .find(|name| normalise_header(name) == normalised)
        })
        .map(|name| ImportTarget::Custom(name.trim().to_owned()))
}

/// A first guess at each column's target, one per header in the same order, for the exports
/// of pi-crm, Google Contacts and Outlook and for plain headers like `email`. A custom field
/// named like the header wins over the built-in meaning: the user created it on purpose.
/// Each target is given to one column at most; the others are skipped.
pub fn auto_map(headers: &[String], custom_field_names: &[String]) -> Vec<ImportTarget> {
    let mut candidates: Vec<Option<(ImportTarget, u8)>> = headers
        .iter()
        .map(|header| {
            custom_match(header, custom_field_names)
                .map(|target| (target, 0))
                .or_else(|| known_header(&normalise_header(header)))
        })
        .collect();

    // Separate name columns are better than splitting one, and both would fight over the
    // same fields.
    let has_split_name = candidates
        .iter()
        .flatten()
        .any(|(target, _)| matches!(target, ImportTarget::FirstName | ImportTarget::LastName));
    if has_split_name {
        for candidate in &mut candidates {
            if matches!(candidate, Some((ImportTarget::FullName, _))) {
                *candidate = None;
            }
        }
    }

    let mut winners: HashMap<&ImportTarget, (u8, usize)> = HashMap::new();
    for (column, (target, rank)) in candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
    {
        let entry = winners.entry(target).or_insert((*rank, column));
        if *rank < entry.0 {
            *entry = (*rank, column);
        }
    }

    candidates
        .iter()
        .enumerate()
        .map(|(column, candidate)| match candidate {
            Some((target, _)) if winners.get(target).is_some_and(|w| w.1 == column) => {
                target.clone()
            }
            _ => ImportTarget::Skip,
        })
        .collect()
}

/// Suffixes that follow a comma without making the name "Last, First": `Jane Doe, Jr.`.
const NAME_SUFFIXES: &[&str] = &[
    "jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "dds", "cpa",
];

/// A whole name as (first, last). `Doe, Jane` is last name first; otherwise the last word is
/// the last name and the rest the first name; a single word is a first name.
pub fn split_full_name(raw: &str) -> (String, String) {
    let value = raw.trim();
    if let Some((before, after)) = value.split_once(',')
        && !after.contains(',')
    {
        let (before, after) = (collapse_spaces(before), collapse_spaces(after));
        let suffix = after.trim_end_matches('.').to_lowercase();
        if NAME_SUFFIXES.contains(&suffix.as_str()) {
            let (first, last) = split_at_last_word(&before);
            let last = if last.is_empty() {
                after
            } else {
                format!("{last} {after}")
            };
            return (first, last);
        }
        return (after, before);
    }
    split_at_last_word(&collapse_spaces(value))
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// (everything before the last word, the last word); a single word is all first name.
fn split_at_last_word(s: &str) -> (String, String) {
    match s.rsplit_once(' ') {
        Some((first, last)) => (first.to_owned(), last.to_owned()),
        None => (s.to_owned(), String::new()),
    }
}

/// Google Contacts separates labels with this, and commas may appear inside a label.
const GOOGLE_LABEL_SEPARATOR: &str = " ::: ";

/// The tags in one cell: Google's ` ::: `-separated labels without its system labels
/// (`* myContacts`, `* starred`), or else a list separated by commas or semicolons. Trimmed,
/// without empties, and without repeats in another case (the first spelling stays).
pub fn split_tags(cell: &str) -> Vec<String> {
    let parts: Vec<&str> = if cell.contains(GOOGLE_LABEL_SEPARATOR) {
        cell.split(GOOGLE_LABEL_SEPARATOR)
            .map(str::trim)
            .filter(|label| !label.starts_with("* "))
            .collect()
    } else {
        cell.split([',', ';']).map(str::trim).collect()
    };
    let mut tags: Vec<String> = Vec::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        let lower = part.to_lowercase();
        if !tags.iter().any(|t| t.to_lowercase() == lower) {
            tags.push(part.to_owned());
        }
    }
    tags
}

/// Fewer digits than any full phone number, with or without an area code.
const MIN_PHONE_DIGITS: usize = 7;

/// The custom field type a column's values suggest, for a new field created from an unmapped
/// column: the narrowest type every non-empty value parses as, else text. Dates go first, as
/// no date parses as a number; numbers before phones, so amounts and counts stay numbers. JSON
/// is never guessed: a person means it on purpose.
pub fn guess_type(values: &[&str]) -> FieldType {
    let values: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return FieldType::Text;
    }
    let all = |accepts: &dyn Fn(&str) -> bool| values.iter().all(|v| accepts(v));
    if all(&|v| parse_date(v).is_ok()) {
        FieldType::Date
    } else if all(&|v| parse_decimal(v).is_ok() && !has_leading_zero(v)) {
        FieldType::Number
    } else if all(&|v| EmailAddress::parse(v).is_ok()) {
        FieldType::Email
    } else if all(&|v| looks_like_link(v) && parse_url(v).is_ok()) {
        FieldType::Url
    } else if all(&|v| {
        v.chars().filter(char::is_ascii_digit).count() >= MIN_PHONE_DIGITS
            && PhoneNumber::parse(v, Region::Us).is_ok()
    }) {
        FieldType::Phone
    } else {
        FieldType::Text
    }
}

/// `02134` is a code (a ZIP code, an account number), not an amount: as a number it would
/// lose its zero.
fn has_leading_zero(value: &str) -> bool {
    let digits = value
        .trim_start_matches(['-', '+', '$', '\u{2212}'])
        .trim_start();
    let mut bytes = digits.bytes();
    bytes.next() == Some(b'0') && bytes.next().is_some_and(|b| b.is_ascii_digit())
}

/// Only values written as links: `parse_url` also accepts a bare `example.com`, and would
/// take any dotted word for a site.
fn looks_like_link(value: &str) -> bool {
    value.contains("://") || value.to_ascii_lowercase().starts_with("www.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ImportTarget as T;

    fn headers(row: &str) -> Vec<String> {
        row.split(',').map(str::to_owned).collect()
    }

    /// The columns `auto_map` does not skip, as (header, target), so a test also checks that
    /// every other column is skipped.
    fn mapped(row: &str, custom: &[&str]) -> Vec<(String, ImportTarget)> {
        let headers = headers(row);
        let custom: Vec<String> = custom.iter().map(|s| (*s).to_owned()).collect();
        let targets = auto_map(&headers, &custom);
        assert_eq!(targets.len(), headers.len());
        headers
            .into_iter()
            .zip(targets)
            .filter(|(_, t)| *t != ImportTarget::Skip)
            .collect()
    }

    fn pairs(expected: &[(&str, ImportTarget)]) -> Vec<(String, ImportTarget)> {
        expected
            .iter()
            .map(|(h, t)| ((*h).to_owned(), t.clone()))
            .collect()
    }

    #[test]
    fn encoding_names_round_trip() {
        for &e in Encoding::ALL {
            assert_eq!(Encoding::parse(e.as_str()), Some(e));
            assert_eq!(
                serde_json::to_string(&e).unwrap(),
                format!("\"{}\"", e.as_str())
            );
            assert_eq!(
                serde_json::from_str::<Encoding>(&format!("\"{}\"", e.as_str())).unwrap(),
                e
            );
        }
        assert_eq!(Encoding::parse(" UTF8 "), Some(Encoding::Utf8));
        assert_eq!(Encoding::parse("CP1252"), Some(Encoding::Windows1252));
        assert_eq!(Encoding::parse("Latin1"), Some(Encoding::Windows1252));
        assert_eq!(Encoding::parse("utf-16"), None);
    }

    #[test]
    fn detects_utf8_and_strips_bom() {
        assert_eq!(
            detect_encoding(b"name,email\nJane,j@x.com\n"),
            Encoding::Utf8
        );
        assert_eq!(detect_encoding("José,Zoë\n".as_bytes()), Encoding::Utf8);
        let with_bom = b"\xEF\xBB\xBFname,email\n";
        assert_eq!(strip_bom(with_bom), b"name,email\n");
        assert_eq!(strip_bom(b"name"), b"name");
        assert_eq!(detect_encoding(with_bom), Encoding::Utf8);
        assert_eq!(detect_encoding(b""), Encoding::Utf8);
    }

    #[test]
    fn sample_cut_mid_character_is_still_utf8() {
        let text = "name\nJosé".as_bytes();
        // Drop the last byte of the two-byte é.
        let cut = &text[..text.len() - 1];
        assert!(std::str::from_utf8(cut).is_err());
        assert_eq!(detect_encoding(cut), Encoding::Utf8);
        // A bad byte before the end is not a cut character.
        assert_eq!(detect_encoding(b"Jos\xe9 Doe"), Encoding::Windows1252);
        // At the very end the same byte may be a cut character, so it is given the benefit of
        // the doubt; the wizard shows a preview in which a wrong guess is plain to see.
        assert_eq!(detect_encoding(b"Jos\xe9"), Encoding::Utf8);
    }

    #[test]
    fn decodes_fields() {
        assert_eq!(
            decode_field(b"Jos\xe9", Encoding::Windows1252).unwrap(),
            "José"
        );
        // 0x80 is the euro sign in Windows-1252, unlike Latin-1.
        assert_eq!(
            decode_field(b"\x80 5", Encoding::Windows1252).unwrap(),
            "€ 5"
        );
        assert_eq!(
            decode_field("José".as_bytes(), Encoding::Utf8).unwrap(),
            "José"
        );
        let err = decode_field(b"Jos\xe9", Encoding::Utf8).unwrap_err();
        assert!(err.starts_with("is not valid UTF-8"), "{err}");
        assert!(err.contains("Windows-1252"), "{err}");
    }

    #[test]
    fn detects_comma() {
        assert_eq!(
            detect_delimiter(b"name,email,phone\nJane,j@x.com,555\n"),
            b','
        );
        // Nothing to split: comma by default.
        assert_eq!(detect_delimiter(b"name\nJane\n"), b',');
        assert_eq!(detect_delimiter(b""), b',');
    }

    #[test]
    fn detects_semicolon_with_commas_in_quoted_cells() {
        let sample =
            b"Name;Company;Amount\n\"Doe, Jane\";\"Acme, Inc.\";1,5\n\"Roe, Rick\";Beta;2,25\n";
        assert_eq!(detect_delimiter(sample), b';');
        let with_bom = b"\xEF\xBB\xBFa;b\nc;d\n";
        assert_eq!(detect_delimiter(with_bom), b';');
    }

    #[test]
    fn detects_tab() {
        let sample = b"name\temail\tnote\nJane\tj@x.com\tcalls, emails; texts\nRick\tr@x.com\t\n";
        assert_eq!(detect_delimiter(sample), b'\t');
    }

    #[test]
    fn delimiter_ignores_newlines_and_escaped_quotes_in_quotes_and_a_cut_last_line() {
        let sample =
            b"a;b;c\n\"line one\nline, two, three\";x;y\n\"say \"\"hi, there\"\"\";x;y\n1,2,3,4,5,6";
        assert_eq!(delimiter_counts(sample, b';'), vec![2, 2, 2]);
        assert_eq!(detect_delimiter(sample), b';');
        // A quote inside an unquoted field is an inch mark, not quoting.
        assert_eq!(delimiter_counts(b"6\" shelf,2\nbox,3\n", b','), vec![1, 1]);
    }

    #[test]
    fn delimiter_names() {
        for d in DELIMITERS {
            assert_eq!(parse_delimiter(delimiter_name(d)), Some(d));
        }
        assert_eq!(parse_delimiter(","), Some(b','));
        assert_eq!(parse_delimiter(";"), Some(b';'));
        assert_eq!(parse_delimiter("\t"), Some(b'\t'));
        assert_eq!(parse_delimiter("Semicolon"), Some(b';'));
        assert_eq!(parse_delimiter("pipe"), None);
    }

    #[test]
    fn targets_round_trip() {
        for t in ImportTarget::BUILT_IN {
            assert_eq!(ImportTarget::parse(t.as_str()), *t);
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<ImportTarget>(&json).unwrap(), *t);
        }
        assert_eq!(ImportTarget::parse(" First_Name "), T::FirstName);
        assert_eq!(ImportTarget::parse("NAME"), T::FullName);
        assert_eq!(ImportTarget::parse(""), T::Skip);
        assert_eq!(
            ImportTarget::parse(" closing_date "),
            T::Custom("closing_date".into())
        );
        assert_eq!(ImportTarget::parse("Custom:skip"), T::Custom("skip".into()));
        assert_eq!(ImportTarget::parse("custom: "), T::Skip);
        // A custom field named like a fixed target keeps its meaning through JSON.
        let odd = T::Custom("skip".into());
        let json = serde_json::to_string(&odd).unwrap();
        assert_eq!(json, "\"custom:skip\"");
        assert_eq!(serde_json::from_str::<ImportTarget>(&json).unwrap(), odd);
        assert_eq!(
            serde_json::to_string(&T::Custom("closing_date".into())).unwrap(),
            "\"closing_date\""
        );
        assert_eq!(
            T::Custom("Closing date".into()).label(),
            "Custom field: Closing date"
        );
        assert_eq!(T::Skip.label(), "Skip this column");
    }

    #[test]
    fn maps_old_google_export() {
        let row = "Name,Given Name,Additional Name,Family Name,Yomi Name,Given Name Yomi,Additional Name Yomi,Family Name Yomi,Name Prefix,Name Suffix,Initials,Nickname,Short Name,Maiden Name,Birthday,Gender,Location,Billing Information,Directory Server,Mileage,Occupation,Hobby,Sensitivity,Priority,Subject,Notes,Language,Photo,Group Membership,E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,Organization 1 - Type,Organization 1 - Name";
        assert_eq!(
            mapped(row, &[]),
            pairs(&[
                ("Given Name", T::FirstName),
                ("Family Name", T::LastName),
                ("Group Membership", T::Tags),
                ("E-mail 1 - Value", T::PrimaryEmail),
                ("Phone 1 - Value", T::PrimaryPhone),
                ("Organization 1 - Name", T::Company),
            ])
        );
    }

    #[test]
    fn maps_new_google_export() {
        let row = "First Name,Middle Name,Last Name,Phonetic First Name,Phonetic Middle Name,Phonetic Last Name,Name Prefix,Name Suffix,Nickname,File As,Organization Name,Organization Title,Organization Department,Birthday,Notes,Photo,Labels,E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value";
        assert_eq!(
            mapped(row, &[]),
            pairs(&[
                ("First Name", T::FirstName),
                ("Last Name", T::LastName),
                ("Organization Name", T::Company),
                ("Labels", T::Tags),
                ("E-mail 1 - Value", T::PrimaryEmail),
                ("Phone 1 - Value", T::PrimaryPhone),
            ])
        );
    }

    #[test]
    fn maps_outlook_export() {
        let row = "First Name,Middle Name,Last Name,Title,Suffix,Initials,Web Page,Gender,Birthday,Anniversary,Location,Language,Internet Free Busy,Notes,E-mail Address,E-mail 2 Address,E-mail 3 Address,Primary Phone,Home Phone,Home Phone 2,Mobile Phone,Pager,Home Fax,Home Address,Home Street,Home City,Home State,Home Postal Code,Home Country,Spouse,Children,Manager's Name,Assistant's Name,Referred By,Company Main Phone,Company,Business Phone,Business Phone 2,Business Fax,Assistant's Phone,Job Title,Department,Office Location,Business Address,Business City,Business State,Business Postal Code,Other Phone,Car Phone,Keywords,Private,Categories";
        assert_eq!(
            mapped(row, &[]),
            pairs(&[
                ("First Name", T::FirstName),
                ("Last Name", T::LastName),
                ("E-mail Address", T::PrimaryEmail),
                ("Mobile Phone", T::PrimaryPhone),
                ("Company", T::Company),
                ("Categories", T::Tags),
            ])
        );
    }

    #[test]
    fn phone_priority() {
        let first_phone = |row: &str| {
            mapped(row, &[])
                .into_iter()
                .find(|(_, t)| *t == T::PrimaryPhone)
                .map(|(h, _)| h)
        };
        assert_eq!(
            first_phone("Business Phone,Mobile Phone").as_deref(),
            Some("Mobile Phone")
        );
        assert_eq!(
            first_phone("Mobile Phone,Business Phone").as_deref(),
            Some("Mobile Phone")
        );
        assert_eq!(
            first_phone("Home Phone,Business Phone").as_deref(),
            Some("Business Phone")
        );
        assert_eq!(first_phone("phone,telephone").as_deref(), Some("phone"));
    }

    #[test]
    fn maps_pi_crm_export_with_custom_field() {
        let row = "id,first_name,last_name,primary_email,primary_phone,company,Closing date,primary_list,tags";
        assert_eq!(
            mapped(row, &["Closing date"]),
            pairs(&[
                ("first_name", T::FirstName),
                ("last_name", T::LastName),
                ("primary_email", T::PrimaryEmail),
                ("primary_phone", T::PrimaryPhone),
                ("company", T::Company),
                ("Closing date", T::Custom("Closing date".into())),
                ("primary_list", T::PrimaryList),
                ("tags", T::Tags),
            ])
        );
        // Matched by key too, keeping the field's own spelling.
        assert_eq!(
            mapped(" CLOSING DATE ", &["closing_date"]),
            pairs(&[(" CLOSING DATE ", T::Custom("closing_date".into()))])
        );
        // Without the field the column is skipped, not invented.
        assert_eq!(mapped("Closing date", &[]), pairs(&[]));
    }

    #[test]
    fn maps_plain_headers() {
        assert_eq!(
            mapped("name,email,phone", &[]),
            pairs(&[
                ("name", T::FullName),
                ("email", T::PrimaryEmail),
                ("phone", T::PrimaryPhone),
            ])
        );
        assert_eq!(
            mapped(
                "\u{feff}Full  Name,E.Mail,Cell,Organisation,Stage,Groups,Surname",
                &[]
            ),
            pairs(&[
                ("E.Mail", T::PrimaryEmail),
                ("Cell", T::PrimaryPhone),
                ("Organisation", T::Company),
                ("Stage", T::PrimaryList),
                ("Groups", T::Tags),
                ("Surname", T::LastName),
            ])
        );
    }

    #[test]
    fn duplicate_headers_map_once() {
        let row = "Email,email,Mail,Tags,Labels,Deal size,deal size";
        assert_eq!(
            auto_map(&headers(row), &["Deal size".to_owned()]),
            vec![
                T::PrimaryEmail,
                T::Skip,
                T::Skip,
                T::Tags,
                T::Skip,
                T::Custom("Deal size".into()),
                T::Skip,
            ]
        );
    }

    #[test]
    fn splits_full_names() {
        let split = split_full_name;
        let owned = |f: &str, l: &str| (f.to_owned(), l.to_owned());
        assert_eq!(split(" Jane  Doe "), owned("Jane", "Doe"));
        assert_eq!(split("Mary Ann van Dyke"), owned("Mary Ann van", "Dyke"));
        assert_eq!(split("Doe, Jane"), owned("Jane", "Doe"));
        assert_eq!(split("van Dyke,  Mary Ann"), owned("Mary Ann", "van Dyke"));
        assert_eq!(split("Jane Doe, Jr."), owned("Jane", "Doe Jr."));
        assert_eq!(split("Cher"), owned("Cher", ""));
        assert_eq!(split("   "), owned("", ""));
        // Two commas are not "Last, First": the last word is the last name.
        assert_eq!(split("Doe, Jane, Acme"), owned("Doe, Jane,", "Acme"));
    }

    #[test]
    fn splits_tags() {
        assert_eq!(
            split_tags("Clients ::: * myContacts ::: VIP ::: * starred"),
            vec!["Clients", "VIP"]
        );
        assert_eq!(
            split_tags("Friends, Family & Co ::: x"),
            vec!["Friends, Family & Co", "x"]
        );
        assert_eq!(
            split_tags(" vip; Lead ,VIP,, lead ;new"),
            vec!["vip", "Lead", "new"]
        );
        assert!(split_tags("  ").is_empty());
    }

    #[test]
    fn guesses_types() {
        assert_eq!(guess_type(&[]), FieldType::Text);
        assert_eq!(guess_type(&["", "  "]), FieldType::Text);
        assert_eq!(
            guess_type(&["2024-05-01", "", "3/15/2026", "March 15, 2026"]),
            FieldType::Date
        );
        assert_eq!(
            guess_type(&["12.5", "-3", "$1,200", "7"]),
            FieldType::Number
        );
        assert_eq!(
            guess_type(&["jane@example.com", " rick@x.org "]),
            FieldType::Email
        );
        assert_eq!(
            guess_type(&["https://example.com/a", "www.acme.com"]),
            FieldType::Url
        );
        assert_eq!(
            guess_type(&["+1 415 555 0123", "(415) 555-0124", "415.555.0125"]),
            FieldType::Phone
        );
        // Dotted words are not links, short digit runs not phones, codes not amounts.
        assert_eq!(guess_type(&["acme.com", "beta.io"]), FieldType::Text);
        assert_eq!(guess_type(&["555-01"]), FieldType::Text);
        assert_eq!(guess_type(&["02134", "10001"]), FieldType::Text);
        assert_eq!(guess_type(&["12", "2024-05-01"]), FieldType::Text);
        assert_eq!(guess_type(&["{\"a\": 1}"]), FieldType::Text);
        assert_eq!(guess_type(&["hot", "cold"]), FieldType::Text);
    }
}
