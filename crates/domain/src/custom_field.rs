//! Custom fields: the types a user can give the extra details they keep on contacts, the
//! stable key of each field, and the values themselves, parsed, stored and shown.
//!
//! A value has three faces: what a person types (parsed by `FieldValue::parse`), what the
//! database keeps (`StoredValue`: canonical text plus a number or date column for filters),
//! and what the API sends (`to_json`). Each converts back to the value without loss.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};

use crate::values::{
    EmailAddress, MAX_JSON_BYTES, PhoneNumber, Region, display_date, parse_date, parse_decimal,
    parse_json, parse_url,
};

/// What kind of value a custom field holds. The lower-case string is the contract, in the
/// database and in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Date,
    Number,
    Url,
    Phone,
    Email,
    Json,
}

impl FieldType {
    pub const ALL: &'static [FieldType] = &[
        FieldType::Text,
        FieldType::Date,
        FieldType::Number,
        FieldType::Url,
        FieldType::Phone,
        FieldType::Email,
        FieldType::Json,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Date => "date",
            FieldType::Number => "number",
            FieldType::Url => "url",
            FieldType::Phone => "phone",
            FieldType::Email => "email",
            FieldType::Json => "json",
        }
    }

    /// The name shown in the UI.
    pub fn label(self) -> &'static str {
        match self {
            FieldType::Text => "Text",
            FieldType::Date => "Date",
            FieldType::Number => "Number",
            FieldType::Url => "Link",
            FieldType::Phone => "Phone",
            FieldType::Email => "Email",
            FieldType::Json => "JSON",
        }
    }

    /// The string form in any case, or the label (`Link`), since people read the labels.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        FieldType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str().eq_ignore_ascii_case(raw) || t.label().eq_ignore_ascii_case(raw))
            .ok_or_else(|| {
                format!(
                    "This is not a field type: choose one of {}.",
                    FieldType::ALL
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// What the API expects for this type when given the wrong kind of JSON value.
    fn expected_json(self) -> &'static str {
        match self {
            FieldType::Text => "Expected text in quotes, like \"Call after 5pm\".",
            FieldType::Date => "Expected a date as text, like \"2026-03-15\".",
            FieldType::Number => "Expected a number, like 1200.50 or \"1,200.50\".",
            FieldType::Url => "Expected a link as text, like \"https://example.com\".",
            FieldType::Phone => "Expected a phone number as text, like \"+14155550123\".",
            FieldType::Email => "Expected an email address as text, like \"jane@example.com\".",
            FieldType::Json => "Expected any JSON value.",
        }
    }
}

pub const MAX_FIELD_NAME_CHARS: usize = 40;

/// Keys of the contact's own fields. A custom field may not take one, so the API and imports
/// can name either kind of field without ambiguity.
pub const RESERVED_FIELD_NAMES: &[&str] = &[
    "id",
    "workspace_id",
    "created_on",
    "first_name",
    "last_name",
    "primary_email",
    "primary_phone",
    "company",
    "primary_list",
    "tags",
    "custom",
    "name",
    "email",
    "phone",
];

/// A custom field's stable key (`loan_file_link`): what the API, imports and filters use, so
/// the label can change freely.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FieldName(String);

impl FieldName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("Enter a field name, like loan_file_link.".to_owned());
        }
        if value.chars().count() > MAX_FIELD_NAME_CHARS {
            return Err(format!(
                "This field name is too long: use at most {MAX_FIELD_NAME_CHARS} characters."
            ));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err("A field name can use only lower-case letters a to z, digits and underscores, like loan_file_link.".to_owned());
        }
        if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err("A field name must start with a letter, like loan_file_link.".to_owned());
        }
        if RESERVED_FIELD_NAMES.contains(&value) {
            return Err(format!(
                "'{value}' is the name of a built-in contact field: choose another, like {value}_field."
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// A key suggested from a label: `Loan file link` gives `loan_file_link`, `E-mail (work)`
    /// gives `e_mail_work`. `None` when the label has nothing usable (no Latin letters or
    /// digits).
    pub fn from_label(label: &str) -> Option<FieldName> {
        let mut key = String::new();
        for c in label.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                key.push(c);
            } else if let Some(plain) = unaccented(c) {
                key.push_str(plain);
            } else if is_dropped(c) {
                continue;
            } else if !key.ends_with('_') {
                key.push('_');
            }
        }
        let mut key = key.trim_matches('_').to_owned();
        if key.starts_with(|c: char| c.is_ascii_digit()) {
            key.insert_str(0, "f_");
        }
        // All ASCII by now, so truncating by bytes is truncating by characters.
        key.truncate(MAX_FIELD_NAME_CHARS);
        let mut key = key.trim_end_matches('_').to_owned();
        if RESERVED_FIELD_NAMES.contains(&key.as_str()) {
            key.push_str("_field");
        }
        FieldName::parse(&key).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Letters of the Latin alphabets of Europe, lower case, without their accents.
const UNACCENTED: &[(&str, &str)] = &[
    ("àáâãäåāăą", "a"),
    ("çćĉċč", "c"),
    ("ďđð", "d"),
    ("èéêëēĕėęě", "e"),
    ("ĝğġģ", "g"),
    ("ĥħ", "h"),
    ("ìíîïĩīĭįı", "i"),
    ("ĵ", "j"),
    ("ķ", "k"),
    ("ĺļľŀł", "l"),
    ("ñńņňŉ", "n"),
    ("òóôõöøōŏő", "o"),
    ("ŕŗř", "r"),
    ("śŝşšș", "s"),
    ("ţťŧț", "t"),
    ("ùúûüũūŭůűų", "u"),
    ("ŵ", "w"),
    ("ýÿŷ", "y"),
    ("źżž", "z"),
    ("æ", "ae"),
    ("œ", "oe"),
    ("ß", "ss"),
    ("þ", "th"),
];

fn unaccented(c: char) -> Option<&'static str> {
    UNACCENTED
        .iter()
        .find(|(accented, _)| accented.contains(c))
        .map(|(_, plain)| *plain)
}

/// Characters left out of a key rather than read as a word break: apostrophes (`Owner's`
/// gives `owners`), combining accents, and letters of other scripts, which have no ASCII form.
fn is_dropped(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{0300}'..='\u{036f}')
        || (!c.is_ascii() && c.is_alphanumeric())
}

pub const MAX_TEXT_CHARS: usize = 10_000;

/// A custom field's value, of the field's type and in canonical form.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Text(String),
    Date(NaiveDate),
    /// Canonical decimal text (`1200.50`), exactly as typed apart from formatting, so no cent
    /// is lost to floating point.
    Number(String),
    Url(String),
    Phone(PhoneNumber),
    Email(EmailAddress),
    Json(serde_json::Value),
}

/// A value as the database keeps it: canonical text always, plus a typed column for the
/// types that filters compare by order (numbers and dates).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredValue {
    pub text: String,
    pub number: Option<f64>,
    /// `YYYY-MM-DD`, which sorts as the dates do.
    pub date: Option<String>,
}

impl FieldValue {
    /// A value as typed in a form or a CSV. Blank input is no value, not an error: whether
    /// the field is required is the caller's rule.
    pub fn parse(
        field_type: FieldType,
        raw: &str,
        region: Region,
    ) -> Result<Option<FieldValue>, String> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        let value = match field_type {
            FieldType::Text => FieldValue::Text(parse_text(raw)?),
            FieldType::Date => FieldValue::Date(parse_date(raw)?),
            FieldType::Number => FieldValue::Number(parse_decimal(raw)?),
            FieldType::Url => FieldValue::Url(parse_url(raw)?),
            FieldType::Phone => FieldValue::Phone(PhoneNumber::parse(raw, region)?),
            FieldType::Email => FieldValue::Email(EmailAddress::parse(raw)?),
            // JSON's own "nothing" means no value, as `null` does in the API.
            FieldType::Json => match parse_json(raw)? {
                serde_json::Value::Null => return Ok(None),
                json => FieldValue::Json(json),
            },
        };
        Ok(Some(value))
    }

    /// A value as sent to the API. `null` is no value; strings are read as if typed; numbers
    /// are also taken as JSON numbers, and a JSON field takes any JSON.
    pub fn parse_json_value(
        field_type: FieldType,
        value: &serde_json::Value,
        region: Region,
    ) -> Result<Option<FieldValue>, String> {
        use serde_json::Value;
        match (field_type, value) {
            (_, Value::Null) => Ok(None),
            (FieldType::Json, json) => {
                if json.to_string().len() > MAX_JSON_BYTES {
                    return Err("This JSON is too large: keep it under 64 KB.".to_owned());
                }
                Ok(Some(FieldValue::Json(json.clone())))
            }
            (FieldType::Number, Value::Number(n)) => {
                parse_decimal(&json_number_text(n)).map(|n| Some(FieldValue::Number(n)))
            }
            (_, Value::String(s)) => FieldValue::parse(field_type, s, region),
            _ => Err(field_type.expected_json().to_owned()),
        }
    }

    pub fn field_type(&self) -> FieldType {
        match self {
            FieldValue::Text(_) => FieldType::Text,
            FieldValue::Date(_) => FieldType::Date,
            FieldValue::Number(_) => FieldType::Number,
            FieldValue::Url(_) => FieldType::Url,
            FieldValue::Phone(_) => FieldType::Phone,
            FieldValue::Email(_) => FieldType::Email,
            FieldValue::Json(_) => FieldType::Json,
        }
    }

    pub fn to_stored(&self) -> StoredValue {
        let text = self.canonical_text();
        StoredValue {
            number: match self {
                FieldValue::Number(n) => n.parse::<f64>().ok().filter(|f| f.is_finite()),
                _ => None,
            },
            date: match self {
                FieldValue::Date(_) => Some(text.clone()),
                _ => None,
            },
            text,
        }
    }

    /// The value back from `StoredValue::text`. The text is checked again, so a row written by
    /// anything other than `to_stored` cannot smuggle in a value the parsers would refuse.
    pub fn from_stored(field_type: FieldType, text: &str) -> Result<FieldValue, String> {
        Ok(match field_type {
            // Stored text was trimmed and checked on the way in; keep it byte for byte.
            FieldType::Text => FieldValue::Text(text.to_owned()),
            FieldType::Date => FieldValue::Date(parse_date(text)?),
            FieldType::Number => FieldValue::Number(parse_decimal(text)?),
            FieldType::Url => FieldValue::Url(parse_url(text)?),
            FieldType::Phone => FieldValue::Phone(PhoneNumber::parse(text, Region::default())?),
            FieldType::Email => FieldValue::Email(EmailAddress::parse(text)?),
            // Not `parse_json`: compact re-serialization may exceed the typed size limit
            // (`1E5` is stored as `100000.0`), and a saved value must always load.
            FieldType::Json => FieldValue::Json(serde_json::from_str(text).map_err(|e| {
                format!(
                    "This saved JSON could not be read (line {}, column {}).",
                    e.line(),
                    e.column()
                )
            })?),
        })
    }

    /// The value as shown on a page.
    pub fn display(&self) -> String {
        match self {
            FieldValue::Date(d) => display_date(*d),
            FieldValue::Phone(p) => p.display(),
            FieldValue::Json(v) => {
                serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
            }
            _ => self.canonical_text(),
        }
    }

    /// The value for the API: numbers as JSON numbers when that loses nothing, dates as
    /// `YYYY-MM-DD`, JSON as itself, everything else as a string.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            FieldValue::Number(n) => number_to_json(n),
            FieldValue::Json(v) => v.clone(),
            _ => serde_json::Value::String(self.canonical_text()),
        }
    }

    fn canonical_text(&self) -> String {
        match self {
            FieldValue::Text(s) | FieldValue::Number(s) | FieldValue::Url(s) => s.clone(),
            FieldValue::Date(d) => d.format("%Y-%m-%d").to_string(),
            FieldValue::Phone(p) => p.as_str().to_owned(),
            FieldValue::Email(e) => e.as_str().to_owned(),
            FieldValue::Json(v) => v.to_string(),
        }
    }
}

/// Serialized as the API shows it, so records holding values serialize the same way.
impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Free text: trimmed, line endings made `\n`, line breaks and tabs allowed and no other
/// control characters (they come from pasting out of other programs and break exports).
fn parse_text(raw: &str) -> Result<String, String> {
    let value = raw.replace("\r\n", "\n").replace('\r', "\n");
    let value = value.trim();
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err("This text is too long: use at most 10,000 characters.".to_owned());
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("This text contains invisible control characters, often left by copying from another program: type it again or paste it as plain text.".to_owned());
    }
    Ok(value.to_owned())
}

/// A JSON number as decimal text. Rust prints floats without exponents (`1e-7` as
/// `0.0000001`), which is what `parse_decimal` reads.
fn json_number_text(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        n.as_f64().map(|f| f.to_string()).unwrap_or_default()
    }
}

/// Decimals of up to 15 significant digits survive a trip through f64 unchanged; longer ones
/// go out as strings, so an API client never receives a rounded amount.
const F64_EXACT_DIGITS: usize = 15;

fn number_to_json(text: &str) -> serde_json::Value {
    if !text.contains('.')
        && let Ok(i) = text.parse::<i64>()
    {
        return i.into();
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    if significant <= F64_EXACT_DIGITS
        && let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
    {
        return serde_json::Value::Number(n);
    }
    serde_json::Value::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::values::tests::{assert_readable, pseudo_random_inputs};

    const US: Region = Region::Us;

    fn parse(field_type: FieldType, raw: &str) -> Result<Option<FieldValue>, String> {
        FieldValue::parse(field_type, raw, US)
    }

    #[test]
    fn field_types_round_trip() {
        for t in FieldType::ALL {
            assert_eq!(FieldType::parse(t.as_str()).unwrap(), *t);
            assert_eq!(FieldType::parse(t.label()).unwrap(), *t);
            let json = serde_json::to_value(t).unwrap();
            assert_eq!(json, json!(t.as_str()));
            assert_eq!(serde_json::from_value::<FieldType>(json).unwrap(), *t);
        }
    }

    #[test]
    fn field_type_names() {
        let check = |raw: &str, expected: Option<FieldType>| {
            let parsed = FieldType::parse(raw);
            if let Err(e) = &parsed {
                assert_readable(e, raw);
                assert!(
                    e.contains("text, date, number, url, phone, email, json"),
                    "{e}"
                );
            }
            assert_eq!(parsed.ok(), expected, "{raw:?}");
        };
        check("text", Some(FieldType::Text));
        check(" Date ", Some(FieldType::Date));
        check("NUMBER", Some(FieldType::Number));
        check("link", Some(FieldType::Url));
        check("url", Some(FieldType::Url));
        check("JSON", Some(FieldType::Json));
        check("", None);
        check("string", None);
        check("text2", None);
        assert!(serde_json::from_value::<FieldType>(json!("Text")).is_err());
    }

    #[test]
    fn field_names() {
        let check = |raw: &str, expected: Option<&str>| {
            let parsed = FieldName::parse(raw);
            if let Err(e) = &parsed {
                assert_readable(e, raw);
            }
            assert_eq!(
                parsed.as_ref().ok().map(FieldName::as_str),
                expected,
                "{raw:?}"
            );
        };
        check("loan_file_link", Some("loan_file_link"));
        check(" budget ", Some("budget"));
        check("a", Some("a"));
        check("x2", Some("x2"));
        check("closing_date_2026", Some("closing_date_2026"));
        check("a_", Some("a_"));
        check(&"a".repeat(40), Some(&"a".repeat(40)));
        check(&"a".repeat(41), None);
        check("", None);
        check("Loan", None);
        check("loan file", None);
        check("loan-file", None);
        check("2nd_phone", None);
        check("_private", None);
        check("café", None);
        check("a\u{0}", None);
        check("email_work", Some("email_work"));
        check("names", Some("names"));
        for reserved in RESERVED_FIELD_NAMES {
            check(reserved, None);
        }
    }

    #[test]
    fn field_name_messages() {
        let check = |raw: &str, fragment: &str| {
            let message = FieldName::parse(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?}: {message}");
        };
        check("email", "built-in contact field");
        check("email", "email_field");
        check("Loan", "lower-case letters");
        check("9lives", "start with a letter");
        check("", "Enter a field name");
    }

    #[test]
    fn field_names_from_labels() {
        let check = |label: &str, expected: Option<&str>| {
            let suggested = FieldName::from_label(label);
            assert_eq!(
                suggested.as_ref().map(FieldName::as_str),
                expected,
                "{label:?}"
            );
        };
        check("Loan file link", Some("loan_file_link"));
        check("E-mail (work)", Some("e_mail_work"));
        check("  Budget  ", Some("budget"));
        check("Budget ($)", Some("budget"));
        check("Owner's name", Some("owners_name"));
        check("Owner’s name", Some("owners_name"));
        check("Café ouvert", Some("cafe_ouvert"));
        check("Cafe\u{301} au lait", Some("cafe_au_lait"));
        check("Größe", Some("grosse"));
        check("Łódź office", Some("lodz_office"));
        check("Ærø", Some("aero"));
        check("2nd phone", Some("f_2nd_phone"));
        check("2026", Some("f_2026"));
        check("Kunde Имя", Some("kunde"));
        check("Имя", None);
        check("客户", None);
        check("🙂", None);
        check("", None);
        check("---", None);
        check("Email", Some("email_field"));
        check("Phone", Some("phone_field"));
        check("First name", Some("first_name_field"));
        check("a__b", Some("a_b"));
        check("a\tb\nc", Some("a_b_c"));
        check(
            &"word ".repeat(20),
            Some("word_word_word_word_word_word_word_word"),
        );
        check(&format!("{} tail", "x".repeat(39)), Some(&"x".repeat(39)));
        check(&"9".repeat(100), Some(&format!("f_{}", "9".repeat(38))));
    }

    #[test]
    fn every_suggestion_is_a_valid_name() {
        for label in pseudo_random_inputs(2_000) {
            if let Some(name) = FieldName::from_label(&label) {
                assert_eq!(
                    FieldName::parse(name.as_str()).as_ref(),
                    Ok(&name),
                    "{label:?}"
                );
            }
        }
    }

    #[test]
    fn blank_input_is_no_value() {
        for t in FieldType::ALL {
            for raw in ["", " ", "\n\t ", "\u{a0}"] {
                assert_eq!(parse(*t, raw), Ok(None), "{t:?} {raw:?}");
            }
            assert_eq!(
                FieldValue::parse_json_value(*t, &serde_json::Value::Null, US),
                Ok(None)
            );
        }
    }

    /// Parses `raw` as `field_type` and checks the stored text, or that it is refused.
    fn check(field_type: FieldType, raw: &str, expected: Option<&str>) {
        let parsed = parse(field_type, raw);
        if let Err(e) = &parsed {
            assert_readable(e, raw);
        }
        let stored = parsed.ok().flatten().map(|v| v.to_stored().text);
        assert_eq!(stored.as_deref(), expected, "{field_type:?} {raw:?}");
    }

    #[test]
    fn text_values() {
        let check = |raw: &str, expected: Option<&str>| check(FieldType::Text, raw, expected);
        check("Call after 5pm", Some("Call after 5pm"));
        check("  padded  ", Some("padded"));
        check("line one\r\nline two", Some("line one\nline two"));
        check("old mac\rline", Some("old mac\nline"));
        check("a\tb", Some("a\tb"));
        check(
            "<script>alert(1)</script>",
            Some("<script>alert(1)</script>"),
        );
        check("emoji 🙂 and ü", Some("emoji 🙂 and ü"));
        check("bell\u{7}", None);
        check("nul\u{0}", None);
        check("esc\u{1b}[31m", None);
        check(&"x".repeat(10_000), Some(&"x".repeat(10_000)));
        check(&"é".repeat(10_000), Some(&"é".repeat(10_000)));
        check(&"x".repeat(10_001), None);
        check(
            &format!("  {}  ", "x".repeat(10_000)),
            Some(&"x".repeat(10_000)),
        );
    }

    #[test]
    fn typed_values() {
        use FieldType::*;
        check(Date, "3/15/26", Some("2026-03-15"));
        check(Date, "March 15, 2026", Some("2026-03-15"));
        check(Date, "2/30/2026", None);
        check(Number, "$1,200.50", Some("1200.50"));
        check(Number, "-0", Some("0"));
        check(Number, "1e5", None);
        check(Url, "www.example.com/x", Some("https://www.example.com/x"));
        check(Url, "javascript:alert(1)", None);
        check(Phone, "(415) 555-0123", Some("+14155550123"));
        check(Phone, "555-0123", None);
        check(Email, "Jane@Example.COM", Some("Jane@example.com"));
        check(Email, "jane", None);
        check(Json, "{ \"a\" : [1, 2] }", Some("{\"a\":[1,2]}"));
        check(Json, "\"text\"", Some("\"text\""));
        check(Json, "{a: 1}", None);
        assert_eq!(parse(Json, "null"), Ok(None));
    }

    #[test]
    fn stored_columns_for_filters() {
        let stored = |t: FieldType, raw: &str| parse(t, raw).unwrap().unwrap().to_stored();
        let check = |s: StoredValue, number: Option<f64>, date: Option<&str>| {
            assert_eq!((s.number, s.date.as_deref()), (number, date), "{}", s.text);
        };
        check(stored(FieldType::Number, "1,200.50"), Some(1200.5), None);
        check(stored(FieldType::Number, "-0.25"), Some(-0.25), None);
        check(stored(FieldType::Number, &"9".repeat(30)), Some(1e30), None);
        check(
            stored(FieldType::Date, "3/5/2026"),
            None,
            Some("2026-03-05"),
        );
        check(stored(FieldType::Text, "42"), None, None);
        check(stored(FieldType::Json, "42"), None, None);
        check(stored(FieldType::Phone, "4155550123"), None, None);
    }

    /// One good value per type, in the forms people type.
    const SAMPLES: &[(FieldType, &str)] = &[
        (FieldType::Text, "Call after 5pm"),
        (FieldType::Text, "two\nlines\twith tab"),
        (FieldType::Text, "ünïcödé 🙂"),
        (FieldType::Date, "2026-03-15"),
        (FieldType::Date, "Feb 29, 2024"),
        (FieldType::Date, "1/1/1800"),
        (FieldType::Number, "1,234,567.89"),
        (FieldType::Number, "-$0.50"),
        (FieldType::Number, "1200.50"),
        (FieldType::Number, "0"),
        (FieldType::Number, "123456789012345678901234567890"),
        (FieldType::Number, "0.000000001"),
        (FieldType::Url, "HTTP://Example.com:8080/A?b=1#c"),
        (FieldType::Url, "localhost/x"),
        (FieldType::Phone, "+1 (415) 555-0123"),
        (FieldType::Phone, "0044 20 7946 0958"),
        (FieldType::Email, "Jane.Doe+crm@Example.COM"),
        (
            FieldType::Json,
            "{\"a\": [1, 2.5, \"x\", null, true], \"b\": {}}",
        ),
        (FieldType::Json, "[]"),
        (FieldType::Json, "1E5"),
        (FieldType::Json, "\"a \\\"quoted\\\" \\u00e9\""),
    ];

    #[test]
    fn values_round_trip_through_storage() {
        for (t, raw) in SAMPLES {
            let value = parse(*t, raw).unwrap().unwrap();
            assert_eq!(value.field_type(), *t);
            let stored = value.to_stored();
            assert_eq!(
                FieldValue::from_stored(*t, &stored.text),
                Ok(value.clone()),
                "{raw:?}"
            );
            // Canonical text is itself valid input that means the same value.
            assert_eq!(parse(*t, &stored.text), Ok(Some(value)), "{raw:?}");
        }
    }

    #[test]
    fn what_is_shown_can_be_typed_back() {
        for (t, raw) in SAMPLES {
            let value = parse(*t, raw).unwrap().unwrap();
            assert_eq!(parse(*t, &value.display()), Ok(Some(value)), "{raw:?}");
        }
    }

    #[test]
    fn values_round_trip_through_the_api() {
        for (t, raw) in SAMPLES {
            let value = parse(*t, raw).unwrap().unwrap();
            let back = FieldValue::parse_json_value(*t, &value.to_json(), US)
                .unwrap()
                .unwrap();
            if *t == FieldType::Number {
                // 1200.50 goes out as the JSON number 1200.5: the same amount.
                assert_eq!(back.to_stored().number, value.to_stored().number, "{raw:?}");
            } else {
                assert_eq!(back, value, "{raw:?}");
            }
        }
    }

    #[test]
    fn display() {
        let check = |t: FieldType, raw: &str, expected: &str| {
            assert_eq!(
                parse(t, raw).unwrap().unwrap().display(),
                expected,
                "{raw:?}"
            );
        };
        check(FieldType::Date, "2026-03-15", "Mar 15, 2026");
        check(FieldType::Date, "12/1/2026", "Dec 1, 2026");
        check(FieldType::Phone, "415.555.0123", "(415) 555-0123");
        check(FieldType::Phone, "+44 20 7946 0958", "+442079460958");
        check(FieldType::Json, "{\"a\":1}", "{\n  \"a\": 1\n}");
        check(FieldType::Number, "$1,200.50", "1200.50");
        check(FieldType::Url, "example.com", "https://example.com");
        check(FieldType::Email, "Jane@EXAMPLE.com", "Jane@example.com");
        check(FieldType::Text, " hi ", "hi");
    }

    #[test]
    fn json_for_the_api() {
        let check = |t: FieldType, raw: &str, expected: serde_json::Value| {
            let value = parse(t, raw).unwrap().unwrap();
            assert_eq!(value.to_json(), expected, "{raw:?}");
            assert_eq!(serde_json::to_value(&value).unwrap(), expected, "{raw:?}");
        };
        check(FieldType::Number, "1,200", json!(1200));
        check(FieldType::Number, "-7", json!(-7));
        check(FieldType::Number, "1200.50", json!(1200.5));
        check(FieldType::Number, "0.1", json!(0.1));
        check(
            FieldType::Number,
            "9223372036854775807",
            json!(9_223_372_036_854_775_807_i64),
        );
        check(
            FieldType::Number,
            "123456789012345.5",
            json!("123456789012345.5"),
        );
        check(
            FieldType::Number,
            "12345678901234.5",
            json!(12_345_678_901_234.5),
        );
        check(FieldType::Number, "1000000000000000000000", json!(1e21));
        check(FieldType::Number, &"9".repeat(30), json!("9".repeat(30)));
        check(FieldType::Date, "3/15/2026", json!("2026-03-15"));
        check(FieldType::Phone, "(415) 555-0123", json!("+14155550123"));
        check(FieldType::Json, "{\"a\": [1]}", json!({"a": [1]}));
        check(FieldType::Text, "hi", json!("hi"));
        check(FieldType::Url, "example.com", json!("https://example.com"));
        check(FieldType::Email, "a@B.co", json!("a@b.co"));
    }

    #[test]
    fn values_from_the_api() {
        let check = |t: FieldType, value: serde_json::Value, expected: Option<&str>| {
            let parsed = FieldValue::parse_json_value(t, &value, US);
            if let Err(e) = &parsed {
                assert_readable(e, &value.to_string());
            }
            let stored = parsed.ok().flatten().map(|v| v.to_stored().text);
            assert_eq!(stored.as_deref(), expected, "{t:?} {value}");
        };
        use FieldType::*;
        check(Number, json!(1200), Some("1200"));
        check(Number, json!(-3), Some("-3"));
        check(
            Number,
            json!(18_446_744_073_709_551_615_u64),
            Some("18446744073709551615"),
        );
        check(Number, json!(1200.5), Some("1200.5"));
        check(Number, json!(0.0000001), Some("0.0000001"));
        check(Number, json!(1e300), None);
        check(Number, json!("$1,200.50"), Some("1200.50"));
        check(Number, json!(""), None);
        check(Number, json!(true), None);
        check(Number, json!([1]), None);
        check(Date, json!("2026-03-15"), Some("2026-03-15"));
        check(Date, json!(20260315), None);
        check(Date, json!({"y": 2026}), None);
        check(Text, json!("hello"), Some("hello"));
        check(Text, json!(5), None);
        check(Text, json!(false), None);
        check(Phone, json!("+14155550123"), Some("+14155550123"));
        check(Phone, json!(4155550123_u64), None);
        check(Email, json!("jane@example.com"), Some("jane@example.com"));
        check(Email, json!(["jane@example.com"]), None);
        check(
            Url,
            json!("https://example.com"),
            Some("https://example.com"),
        );
        check(Url, json!({"href": "https://example.com"}), None);
        check(Json, json!({"a": 1}), Some("{\"a\":1}"));
        check(Json, json!([1, "two"]), Some("[1,\"two\"]"));
        check(Json, json!("a string"), Some("\"a string\""));
        check(Json, json!(3.5), Some("3.5"));
        check(Json, json!("x".repeat(MAX_JSON_BYTES)), None);
    }

    #[test]
    fn wrong_json_types_say_what_is_expected() {
        let check = |t: FieldType, value: serde_json::Value, fragment: &str| {
            let message = FieldValue::parse_json_value(t, &value, US).unwrap_err();
            assert!(message.contains(fragment), "{t:?} {value}: {message}");
        };
        check(
            FieldType::Date,
            json!(5),
            "Expected a date as text, like \"2026-03-15\"",
        );
        check(FieldType::Number, json!("1e5"), "could not be read");
        check(FieldType::Number, json!(false), "Expected a number");
        check(FieldType::Text, json!({}), "Expected text");
        check(
            FieldType::Phone,
            json!(4155550123_u64),
            "phone number as text",
        );
        check(FieldType::Email, json!(1), "email address as text");
        check(FieldType::Url, json!(1), "link as text");
    }

    #[test]
    fn corrupt_stored_values_are_errors() {
        let check = |t: FieldType, text: &str| {
            let message = FieldValue::from_stored(t, text).unwrap_err();
            assert_readable(&message, text);
        };
        check(FieldType::Date, "2026-02-30");
        check(FieldType::Date, "");
        check(FieldType::Number, "12abc");
        check(FieldType::Url, "javascript:alert(1)");
        check(FieldType::Phone, "+1");
        check(FieldType::Email, "nobody");
        check(FieldType::Json, "{");
        check(FieldType::Json, "");
        assert_eq!(
            FieldValue::from_stored(FieldType::Text, ""),
            Ok(FieldValue::Text(String::new()))
        );
    }

    #[test]
    fn no_input_panics() {
        let mut inputs = pseudo_random_inputs(2_000);
        inputs.push("a".repeat(1 << 20));
        inputs.push("\u{0}".repeat(1_000));
        for input in &inputs {
            for t in FieldType::ALL {
                for result in [
                    parse(*t, input).map(|_| ()),
                    FieldValue::from_stored(*t, input).map(|_| ()),
                    FieldValue::parse_json_value(*t, &json!(input), US).map(|_| ()),
                ] {
                    if let Err(message) = result {
                        assert_readable(&message, input);
                    }
                }
                if let Ok(Some(value)) = parse(*t, input) {
                    let stored = value.to_stored();
                    assert_eq!(
                        FieldValue::from_stored(*t, &stored.text),
                        Ok(value),
                        "{input:?}"
                    );
                }
            }
            let _ = FieldName::parse(input);
            let _ = FieldName::from_label(input);
            let _ = FieldType::parse(input);
        }
    }
}
