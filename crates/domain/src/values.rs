//! Everyday values as people type them: email addresses, phone numbers, dates, amounts, links
//! and JSON, each parsed into one canonical form.
//!
//! Parsers are forgiving about how a value is written (`(415) 555-0123`, `3/15/26`, `$1,200`)
//! and strict about what it means. Errors are plain sentences that tell a non-technical person
//! what to type instead; the caller adds the field's name. No parser panics, whatever the input.

use chrono::NaiveDate;
use serde::Serialize;

/// An email address: the part before the `@` as typed, the domain lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

/// RFC 5321's limits: a longer address cannot be delivered anyway.
const MAX_EMAIL_CHARS: usize = 254;
const MAX_EMAIL_LOCAL_CHARS: usize = 64;

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("Enter an email address, like jane@example.com.".to_owned());
        }
        if value.chars().count() > MAX_EMAIL_CHARS {
            return Err(format!(
                "This email address is too long: it can have at most {MAX_EMAIL_CHARS} characters."
            ));
        }
        if value.chars().any(is_space_or_hidden) {
            return Err(
                "An email address cannot contain spaces, line breaks or invisible characters."
                    .to_owned(),
            );
        }
        let incomplete = "This email address is not complete: it needs a name, an @ and a domain, like jane@example.com.";
        let Some((local, domain)) = value.split_once('@') else {
            return Err(incomplete.to_owned());
        };
        if domain.contains('@') {
            return Err(
                "An email address has exactly one @, like jane@example.com: enter one address only."
                    .to_owned(),
            );
        }
        if local.is_empty() || domain.is_empty() {
            return Err(incomplete.to_owned());
        }
        check_email_local(local)?;
        check_email_domain(domain)?;
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The whole address lower case, to find the same person typed twice. Mailbox names are
    /// case-sensitive in theory, but no provider people use treats them so.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Refuses the characters that only appear in quoted or bracketed forms (`"a b"@x`,
/// `Jane <jane@x>`), which are pasted by mistake far more often than meant.
fn check_email_local(local: &str) -> Result<(), String> {
    if local.chars().count() > MAX_EMAIL_LOCAL_CHARS {
        return Err(format!(
            "The part before the @ is too long: it can have at most {MAX_EMAIL_LOCAL_CHARS} characters."
        ));
    }
    if local.chars().any(|c| {
        matches!(
            c,
            '<' | '>' | '(' | ')' | '[' | ']' | '\\' | ',' | ';' | ':' | '"'
        )
    }) {
        return Err(
            "The part before the @ cannot contain < > ( ) [ ] \\ , ; : or quotes: enter the address alone, like jane@example.com."
                .to_owned(),
        );
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(
            "The part before the @ cannot start or end with a dot, or have two dots in a row."
                .to_owned(),
        );
    }
    Ok(())
}

fn check_email_domain(domain: &str) -> Result<(), String> {
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    });
    if domain.contains('.') && labels_ok {
        Ok(())
    } else {
        Err("The part after the @ must be a domain, like example.com.".to_owned())
    }
}

/// Spaces, control characters, and the invisible ones (zero-width, text-direction overrides)
/// that make an address look like a different one.
fn is_space_or_hidden(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
        )
}

/// Where a number written without a country code is assumed to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Region {
    /// The North American Numbering Plan: the US, Canada and parts of the Caribbean (+1).
    #[default]
    Us,
}

/// A phone number in E.164 form (`+14155550123`), what SMS and voice providers expect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

/// E.164 allows at most 15 digits; fewer than 8 is no real international number.
const MIN_INTERNATIONAL_DIGITS: usize = 8;
const MAX_INTERNATIONAL_DIGITS: usize = 15;

impl PhoneNumber {
    pub fn parse(raw: &str, default_region: Region) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("Enter a phone number, like (415) 555-0123.".to_owned());
        }
        let (plus, digits) = phone_digits(value)?;
        if plus {
            return international(&digits);
        }
        // 011 is what people in the US dial before a foreign number; 00 almost everywhere else.
        // Neither can begin a domestic US number, whose area code never starts with 0.
        if let Some(rest) = digits.strip_prefix("00") {
            return international(rest);
        }
        if default_region == Region::Us
            && let Some(rest) = digits.strip_prefix("011")
        {
            return international(rest);
        }
        national(&digits, default_region)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `(415) 555-0123` for North American numbers, the E.164 form for the rest of the world.
    pub fn display(&self) -> String {
        match self.0.strip_prefix("+1") {
            Some(n) if n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()) => {
                format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..])
            }
            _ => self.0.clone(),
        }
    }
}

/// Pulls the digits out of what was typed, and whether it started with `+`; refuses letters
/// and extensions rather than silently dropping them.
fn phone_digits(value: &str) -> Result<(bool, String), String> {
    let mut plus = false;
    let mut digits = String::new();
    for c in value.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c == '+' && !plus && digits.is_empty() {
            plus = true;
        } else if is_phone_separator(c) {
            continue;
        } else if is_extension_marker(value) {
            return Err("Extensions cannot be saved with a phone number: enter the main number only, like (415) 555-0123.".to_owned());
        } else if c.is_alphabetic() {
            return Err("A phone number can only contain digits: write any letters as their digits on the keypad.".to_owned());
        } else {
            return Err("A phone number can only contain digits, spaces, dashes, dots, parentheses and a leading +.".to_owned());
        }
    }
    if digits.len() > 2 * MAX_INTERNATIONAL_DIGITS {
        return Err("This phone number has too many digits: enter one number only.".to_owned());
    }
    Ok((plus, digits))
}

/// Spaces and dashes as pasted from documents come in several Unicode forms.
fn is_phone_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' | '\u{2010}'..='\u{2015}' | '\u{2212}'
    )
}

/// `ext. 12`, `x12`, `#12`, and the dialer pauses `,` and `;`.
fn is_extension_marker(value: &str) -> bool {
    let lower = value.to_lowercase();
    let letters: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    lower.contains("ext")
        || letters == "x"
        || letters == "extension"
        || lower.contains(['#', ',', ';'])
}

fn international(digits: &str) -> Result<PhoneNumber, String> {
    if digits.starts_with('0') {
        return Err(
            "A country code never starts with 0: check the digits after the + or 00.".to_owned(),
        );
    }
    // Country code 1 is the North American plan, so its numbers follow the same rules as
    // numbers typed without a country code.
    if digits.starts_with('1') {
        return north_american(digits).ok_or_else(|| {
            "A +1 number needs 10 digits after the 1, with an area code and exchange that do not start with 0 or 1, like +1 415 555 0123.".to_owned()
        });
    }
    if (MIN_INTERNATIONAL_DIGITS..=MAX_INTERNATIONAL_DIGITS).contains(&digits.len()) {
        Ok(PhoneNumber(format!("+{digits}")))
    } else {
        Err(format!(
            "An international number has {MIN_INTERNATIONAL_DIGITS} to {MAX_INTERNATIONAL_DIGITS} digits after the +, like +44 20 7946 0958."
        ))
    }
}

fn national(digits: &str, region: Region) -> Result<PhoneNumber, String> {
    match region {
        Region::Us => {
            let with_country = if digits.len() == 10 {
                format!("1{digits}")
            } else {
                digits.to_owned()
            };
            north_american(&with_country).ok_or_else(|| {
                "Enter a 10-digit US number like (415) 555-0123, or an international number starting with +.".to_owned()
            })
        }
    }
}

/// `1` then a 10-digit NANP number whose area code and exchange start with 2 to 9.
fn north_american(digits: &str) -> Option<PhoneNumber> {
    let n = digits.strip_prefix('1')?;
    let b = n.as_bytes();
    let valid = b.len() == 10
        && b.iter().all(u8::is_ascii_digit)
        && !matches!(b[0], b'0' | b'1')
        && !matches!(b[3], b'0' | b'1');
    valid.then(|| PhoneNumber(format!("+1{n}")))
}

const DATE_HINT: &str = "This date could not be read: try 2026-03-15 or 3/15/2026.";
pub const MIN_YEAR: i32 = 1800;
pub const MAX_YEAR: i32 = 2200;

/// A calendar date in the forms people in the US write: ISO (`2026-03-15`), month first with
/// slashes or dashes (`3/15/2026`, `3/15/26`), or with the month's name (`March 15, 2026`,
/// `15 Mar 2026`).
pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("Enter a date, like 2026-03-15 or 3/15/2026.".to_owned());
    }
    // No form we read is longer than "September 30th, 2026"; this also bounds the work.
    if value.chars().count() > 40 {
        return Err(DATE_HINT.to_owned());
    }
    if value.chars().any(char::is_alphabetic) {
        named_date(value)
    } else {
        numeric_date(value)
    }
}

/// `2026-03-15`, `2026/3/15`, `3/15/2026`, `3-15-26`.
fn numeric_date(value: &str) -> Result<NaiveDate, String> {
    let separator = if value.contains('/') { '/' } else { '-' };
    let parts: Vec<&str> = value.split(separator).map(str::trim).collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(DATE_HINT.to_owned());
    };
    if !parts.iter().all(|p| is_digits(p, 1, 4)) {
        return Err(DATE_HINT.to_owned());
    }
    if a.len() == 4 && b.len() <= 2 && c.len() <= 2 {
        let year = year(a).ok_or_else(|| DATE_HINT.to_owned())?;
        return build_date(year, number(b), number(c));
    }
    if a.len() <= 2 && b.len() <= 2 {
        let year = year(c).ok_or_else(|| DATE_HINT.to_owned())?;
        if number(a) > 12 {
            return Err(format!(
                "There is no month {a}: dates with slashes are read month first, like 3/15/2026 for March 15."
            ));
        }
        return build_date(year, number(a), number(b));
    }
    Err(DATE_HINT.to_owned())
}

/// `March 15, 2026`, `Mar 15 2026`, `15 March 2026`, `Mar. 15th, 2026`.
fn named_date(value: &str) -> Result<NaiveDate, String> {
    let tokens: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == ',' || c == '.')
        .filter(|t| !t.is_empty())
        .collect();
    let [first, second, third] = tokens.as_slice() else {
        return Err(DATE_HINT.to_owned());
    };
    let (month, day) = match (month_number(first), month_number(second)) {
        (Some(m), None) => (m, day_number(second)),
        (None, Some(m)) => (m, day_number(first)),
        _ => {
            return Err(
                "This date could not be read: write the month as a name like March or Mar, as in March 15, 2026."
                    .to_owned(),
            );
        }
    };
    let day = day.ok_or_else(|| DATE_HINT.to_owned())?;
    let year = year(third).ok_or_else(|| DATE_HINT.to_owned())?;
    build_date(year, month, day)
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A month by its full name or first three letters (and `Sept`), in any case.
fn month_number(token: &str) -> Option<u32> {
    let lower = token.to_lowercase();
    if lower == "sept" {
        return Some(9);
    }
    let index = MONTHS
        .iter()
        .position(|m| *m == lower || (lower.len() == 3 && m.starts_with(lower.as_str())))?;
    u32::try_from(index + 1).ok()
}

/// `15`, or `15th` (the suffix is not checked against the number).
fn day_number(token: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| {
            token
                .to_ascii_lowercase()
                .strip_suffix(s)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| token.to_owned());
    is_digits(&digits, 1, 2).then(|| number(&digits))
}

/// Four digits as written; two digits in a 100-year window: 00-69 are 2000s, 70-99 the 1900s.
fn year(token: &str) -> Option<i32> {
    match token.len() {
        4 if is_digits(token, 4, 4) => i32::try_from(number(token)).ok(),
        2 if is_digits(token, 2, 2) => {
            let y = i32::try_from(number(token)).ok()?;
            Some(if y < 70 { 2000 + y } else { 1900 + y })
        }
        _ => None,
    }
}

fn build_date(year: i32, month: u32, day: u32) -> Result<NaiveDate, String> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(format!(
            "Use a year between {MIN_YEAR} and {MAX_YEAR}, like 2026-03-15."
        ));
    }
    if !(1..=12).contains(&month) {
        return Err(format!(
            "There is no month {month}: use 1 to 12, like 2026-03-15."
        ));
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
        let name = NaiveDate::from_ymd_opt(year, month, 1)
            .map(|d| d.format("%B %Y").to_string())
            .unwrap_or_default();
        format!("{name} has no day {day}: check the day and the month.")
    })
}

/// Whether `s` is `min..=max` ASCII digits.
fn is_digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// The value of at most 9 ASCII digits (callers check with `is_digits`).
fn number(s: &str) -> u32 {
    s.parse().unwrap_or(0)
}

/// More digits than a person means to type; also keeps f64 conversion meaningful.
const MAX_DECIMAL_DIGITS: usize = 30;

/// A decimal number as typed (`-1,234.50`, `$1,200`, `.5`), in canonical text: no commas, no
/// `$`, no `+`, no leading zeros, the decimals exactly as typed, so `1200.50` keeps its cents.
pub fn parse_decimal(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("Enter a number, like 1200 or 1,200.50.".to_owned());
    }
    if value.chars().filter(char::is_ascii_digit).count() > MAX_DECIMAL_DIGITS {
        return Err(format!(
            "This number has too many digits: use at most {MAX_DECIMAL_DIGITS}."
        ));
    }
    let (negative, unsigned) = strip_sign_and_currency(value);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (unsigned, ""),
    };
    let not_a_number = "This number could not be read: use digits and an optional decimal point, like 1200.50 or $1,200.";
    let fraction_ok = fraction.bytes().all(|b| b.is_ascii_digit());
    if !fraction_ok || (whole.is_empty() && fraction.is_empty()) {
        return Err(not_a_number.to_owned());
    }
    let whole = ungroup(whole).ok_or_else(|| {
        if whole.contains(',') && whole.bytes().all(|b| b.is_ascii_digit() || b == b',') {
            "Commas in a number must separate groups of three digits, like 1,234,567; use a dot for decimals, like 1.5.".to_owned()
        } else {
            not_a_number.to_owned()
        }
    })?;
    Ok(canonical_decimal(negative, &whole, fraction))
}

/// Splits off a leading sign and `$` in either order (`-$5`, `$-5`).
fn strip_sign_and_currency(value: &str) -> (bool, &str) {
    fn sign(s: &str) -> (bool, &str) {
        match s.strip_prefix(['-', '\u{2212}']) {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        }
    }
    let (negative, rest) = sign(value);
    match rest.strip_prefix('$') {
        Some(after) if negative => (true, after.trim_start()),
        Some(after) => sign(after.trim_start()),
        None => (negative, rest),
    }
}

/// The digits of the part before the point, with thousands commas removed if they are in the
/// right places; `None` if anything else is there.
fn ungroup(whole: &str) -> Option<String> {
    if !whole.contains(',') {
        return whole
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| whole.to_owned());
    }
    let mut groups = whole.split(',');
    let first = groups.next()?;
    let first_ok = is_digits(first, 1, 3);
    let rest: Vec<&str> = groups.collect();
    (first_ok && rest.iter().all(|g| is_digits(g, 3, 3))).then(|| whole.replace(',', ""))
}

fn canonical_decimal(negative: bool, whole: &str, fraction: &str) -> String {
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let is_zero = whole == "0" && fraction.bytes().all(|b| b == b'0');
    let sign = if negative && !is_zero { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

const MAX_URL_CHARS: usize = 2048;

/// A web link: `http` or `https` only, so a saved link can never run script or open a file
/// when clicked. `www.example.com` gets `https://`. The scheme and host are lower-cased; the
/// path is kept as typed.
pub fn parse_url(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("Enter a web address, like https://example.com.".to_owned());
    }
    if value.chars().count() > MAX_URL_CHARS {
        return Err(format!(
            "This link is too long: use at most {MAX_URL_CHARS} characters."
        ));
    }
    if value.chars().any(is_space_or_hidden) {
        return Err(
            "A web address cannot contain spaces, line breaks or invisible characters: if the link has spaces, write each as %20."
                .to_owned(),
        );
    }
    let (scheme, rest) = split_scheme(value)?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let host = url_host(authority)?;
    Ok(format!("{scheme}://{host}{path}"))
}

/// The lower-case scheme and what follows `://`; `https` when none was typed.
fn split_scheme(value: &str) -> Result<(&'static str, &str), String> {
    let lower = value.to_ascii_lowercase();
    // ASCII lower-casing keeps byte offsets, so prefixes found in `lower` cut `value` safely.
    for (scheme, prefix) in [("http", "http://"), ("https", "https://")] {
        if lower.starts_with(prefix) {
            return Ok((scheme, &value[prefix.len()..]));
        }
    }
    match url_scheme(value) {
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
            Err("This link could not be read: write it like https://example.com/page.".to_owned())
        }
        Some(s) => Err(format!(
            "Only web links starting with http:// or https:// can be saved, not {}: links.",
            s.to_ascii_lowercase()
        )),
        None => Ok(("https", value)),
    }
}

/// The scheme of `value` if it has one: `javascript` in `javascript:alert(1)`, but nothing in
/// `example.com:8080/x`, where what follows the colon is a port.
fn url_scheme(value: &str) -> Option<&str> {
    let (candidate, after) = value.split_once(':')?;
    let mut chars = candidate.chars();
    let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let port = after.split(['/', '?', '#']).next().unwrap_or("");
    let is_port = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    (is_scheme && !is_port).then_some(candidate)
}

/// The host and optional port, host lower-cased. A name or password before an `@` is refused:
/// `https://mybank.com@evil.example` is a classic way to disguise where a link goes.
fn url_host(authority: &str) -> Result<String, String> {
    if authority.contains('@') {
        return Err(
            "Links with a name or password before an @ cannot be saved: they are a common way to disguise where a link goes."
                .to_owned(),
        );
    }
    let needs_host = "This link needs a site address, like https://example.com/page.";
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| is_digits(p, 1, 5) && p.parse::<u16>().is_ok_and(|n| n > 0));
    let host = host.to_lowercase();
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    });
    if !port_ok || !labels_ok || !(host.contains('.') || host == "localhost") {
        return Err(needs_host.to_owned());
    }
    Ok(match port {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

/// 64 KiB: plenty for structured notes, small enough to keep rows and pages light.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// Any JSON value; the error says where the text went wrong.
pub fn parse_json(raw: &str) -> Result<serde_json::Value, String> {
    if raw.trim().is_empty() {
        return Err("Enter some JSON, like {\"key\": \"value\"}.".to_owned());
    }
    if raw.len() > MAX_JSON_BYTES {
        return Err("This JSON is too large: keep it under 64 KB.".to_owned());
    }
    serde_json::from_str(raw).map_err(|e| {
        format!(
            "This is not valid JSON (line {}, column {}): {}.",
            e.line(),
            e.column(),
            json_reason(&e)
        )
    })
}

/// serde_json's message without its own position suffix, in plainer words where it helps.
fn json_reason(e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "it ends too early; a closing bracket, brace or quote may be missing".to_owned();
    }
    let text = e.to_string();
    let reason = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(r, _)| r);
    if reason.contains("recursion limit") {
        "it is nested too deeply".to_owned()
    } else {
        reason.to_owned()
    }
}

/// The date as people in the US read it: `Mar 15, 2026`.
pub fn display_date(date: NaiveDate) -> String {
    date.format("%b %-d, %Y").to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A message a person can act on: a sentence, with no Rust debug output in it.
    pub(crate) fn assert_readable(message: &str, input: &str) {
        assert!(!message.is_empty(), "empty message for {input:?}");
        assert!(message.ends_with('.'), "{message:?} for {input:?}");
        for debug in [
            "Err(", "Ok(", "Some(", "None", "Error {", "\\\"", "{:?}", "ParseInt",
        ] {
            assert!(!message.contains(debug), "{message:?} for {input:?}");
        }
    }

    #[test]
    fn emails() {
        let check = |raw: &str, expected: Option<&str>| {
            let parsed = EmailAddress::parse(raw);
            if let Err(e) = &parsed {
                assert_readable(e, raw);
            }
            assert_eq!(
                parsed.as_ref().ok().map(EmailAddress::as_str),
                expected,
                "{raw:?}"
            );
        };
        check("jane@example.com", Some("jane@example.com"));
        check("  Jane.Doe@Example.COM ", Some("Jane.Doe@example.com"));
        check(
            "jane+crm@mail.example.co.uk",
            Some("jane+crm@mail.example.co.uk"),
        );
        check("o'brien@example.ie", Some("o'brien@example.ie"));
        check("josé@exämple.com", Some("josé@exämple.com"));
        check("JOSÉ@EXÄMPLE.COM", Some("JOSÉ@exämple.com"));
        check("a@b.co", Some("a@b.co"));
        check("", None);
        check("   ", None);
        check("jane", None);
        check("jane@", None);
        check("@example.com", None);
        check("jane@example", None);
        check("jane@@example.com", None);
        check("jane@a@example.com", None);
        check("jane doe@example.com", None);
        check("jane@exa mple.com", None);
        check("jane@example.com\n", Some("jane@example.com"));
        check("jane\n@example.com", None);
        check("ja\u{0}ne@example.com", None);
        check("jane@exam\u{200b}ple.com", None);
        check("\u{202e}moc.elpmaxe@enaj", None);
        check("jane@example..com", None);
        check("jane@.example.com", None);
        check("jane@example.com.", None);
        check("jane@exa/mple.com", None);
        check(".jane@example.com", None);
        check("ja..ne@example.com", None);
        check("Jane <jane@example.com>", None);
        check("\"jane\"@example.com", None);
        check("jane@example.com, bob@example.com", None);
        check(
            &format!("{}@example.com", "a".repeat(64)),
            Some(&format!("{}@example.com", "a".repeat(64))),
        );
        check(&format!("{}@example.com", "a".repeat(65)), None);
        check(
            &format!("a@{}.com", "b".repeat(248)),
            Some(&format!("a@{}.com", "b".repeat(248))),
        );
        check(&format!("a@{}.com", "b".repeat(249)), None);
    }

    #[test]
    fn email_messages_say_what_is_missing() {
        let check = |raw: &str, fragment: &str| {
            let message = EmailAddress::parse(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?}: {message}");
        };
        check("jane", "not complete");
        check("jane@example", "domain");
        check("", "Enter an email");
        check("a b@c.com", "spaces");
        check("a@b@c.com", "exactly one @");
    }

    #[test]
    fn emails_normalize_for_duplicates() {
        let check = |a: &str, b: &str| {
            let a = EmailAddress::parse(a).unwrap();
            let b = EmailAddress::parse(b).unwrap();
            assert_ne!(a, b);
            assert_eq!(a.normalized(), b.normalized());
        };
        check("Jane@Example.com", "jane@example.com");
        check("JANE@example.com", "jane@EXAMPLE.com");
    }

    #[test]
    fn phone_numbers() {
        let check = |raw: &str, expected: Option<&str>| {
            let parsed = PhoneNumber::parse(raw, Region::Us);
            if let Err(e) = &parsed {
                assert_readable(e, raw);
            }
            assert_eq!(
                parsed.as_ref().ok().map(PhoneNumber::as_str),
                expected,
                "{raw:?}"
            );
        };
        check("(415) 555-0123", Some("+14155550123"));
        check("415-555-0123", Some("+14155550123"));
        check("415.555.0123", Some("+14155550123"));
        check("4155550123", Some("+14155550123"));
        check(" 415 555 0123 ", Some("+14155550123"));
        check("1-415-555-0123", Some("+14155550123"));
        check("1 (415) 555-0123", Some("+14155550123"));
        check("+1 415 555 0123", Some("+14155550123"));
        check("+1 (415) 555-0123", Some("+14155550123"));
        check("001 415 555 0123", Some("+14155550123"));
        check("415\u{a0}555\u{2013}0123", Some("+14155550123"));
        check("+44 20 7946 0958", Some("+442079460958"));
        check("0044 20 7946 0958", Some("+442079460958"));
        check("011 44 20 7946 0958", Some("+442079460958"));
        check("+49 30 12345678", Some("+493012345678"));
        check("+61 2 1234 5678", Some("+61212345678"));
        check("+1234567", None);
        check("+1234567890123456", None);
        check("+44 1234567", Some("+441234567"));
        check("+4412345", None);
        check("+44 123456789012345", None);
        check("+44 1234567890123", Some("+441234567890123"));
        check("+0 123 456 789", None);
        check("+1 415 555 012", None);
        check("+1 015 555 0123", None);
        check("555-0123", None);
        check("415-555-01234", None);
        check("(015) 555-0123", None);
        check("(115) 555-0123", None);
        check("(415) 055-0123", None);
        check("(415) 155-0123", None);
        check("2-415-555-0123", None);
        check("1-015-555-0123", None);
        check("1-800-FLOWERS", None);
        check("415-555-0123 ext. 12", None);
        check("415-555-0123 x12", None);
        check("415-555-0123#12", None);
        check("415-555-0123,,12", None);
        check("415+555-0123", None);
        check("++1 415 555 0123", None);
        check("", None);
        check("   ", None);
        check("+", None);
        check("٤١٥٥٥٥٠١٢٣", None);
        check(&"1".repeat(10_000), None);
    }

    #[test]
    fn phone_messages() {
        let check = |raw: &str, fragment: &str| {
            let message = PhoneNumber::parse(raw, Region::default()).unwrap_err();
            assert!(message.contains(fragment), "{raw:?}: {message}");
        };
        check("555-0123", "10-digit US number");
        check("415-555-0123 ext 5", "Extensions");
        check("415-555-0123 x5", "Extensions");
        check("1-800-FLOWERS", "letters");
        check("+44 123", "8 to 15 digits");
        check("415*555*0123", "digits, spaces");
    }

    #[test]
    fn phone_display() {
        let check = |raw: &str, expected: &str| {
            assert_eq!(
                PhoneNumber::parse(raw, Region::Us).unwrap().display(),
                expected
            );
        };
        check("4155550123", "(415) 555-0123");
        check("+1 212 555 0199", "(212) 555-0199");
        check("+44 20 7946 0958", "+442079460958");
    }

    #[test]
    fn dates() {
        let check = |raw: &str, expected: Option<&str>| {
            let parsed = parse_date(raw);
            if let Err(e) = &parsed {
                assert_readable(e, raw);
            }
            let got = parsed.ok().map(|d| d.format("%Y-%m-%d").to_string());
            assert_eq!(got.as_deref(), expected, "{raw:?}");
        };
        check("2026-03-15", Some("2026-03-15"));
        check("2026/03/15", Some("2026-03-15"));
        check("2026-3-5", Some("2026-03-05"));
        check("3/15/2026", Some("2026-03-15"));
        check("03/15/2026", Some("2026-03-15"));
        check("3-15-2026", Some("2026-03-15"));
        check("3/15/26", Some("2026-03-15"));
        check("3/15/69", Some("2069-03-15"));
        check("3/15/70", Some("1970-03-15"));
        check("1/1/00", Some("2000-01-01"));
        check("12/31/99", Some("1999-12-31"));
        check(" 3 / 15 / 2026 ", Some("2026-03-15"));
        check("March 15, 2026", Some("2026-03-15"));
        check("march 15 2026", Some("2026-03-15"));
        check("MARCH 15, 2026", Some("2026-03-15"));
        check("Mar 15 2026", Some("2026-03-15"));
        check("Mar. 15, 2026", Some("2026-03-15"));
        check("Mar 15th, 2026", Some("2026-03-15"));
        check("15 March 2026", Some("2026-03-15"));
        check("15 Mar 2026", Some("2026-03-15"));
        check("15 mar, 2026", Some("2026-03-15"));
        check("Sept 1, 2026", Some("2026-09-01"));
        check("Sep 1, 2026", Some("2026-09-01"));
        check("1 May 2026", Some("2026-05-01"));
        check("Feb 29, 2024", Some("2024-02-29"));
        check("2/29/2024", Some("2024-02-29"));
        check("1800-01-01", Some("1800-01-01"));
        check("2200-12-31", Some("2200-12-31"));
        check("2/30/2026", None);
        check("2/29/2026", None);
        check("Feb 30, 2026", None);
        check("4/31/2026", None);
        check("13/1/2026", None);
        check("15/3/2026", None);
        check("0/15/2026", None);
        check("3/0/2026", None);
        check("3/32/2026", None);
        check("2026-13-01", None);
        check("2026-00-10", None);
        check("1799-12-31", None);
        check("2201-01-01", None);
        check("9999-01-01", None);
        check("3/15/226", None);
        check("3/15", None);
        check("2026-03", None);
        check("2026-03-15T10:00", None);
        check("2026/03-15", None);
        check("3/15/2026/1", None);
        check("15.03.2026", None);
        check("20260315", None);
        check("Marchy 15, 2026", None);
        check("Ma 15 2026", None);
        check("March 2026", None);
        check("March March 2026", None);
        check("March 15 2026 1", None);
        check("15 2026 March", None);
        check("March 123, 2026", None);
        check("tomorrow", None);
        check("", None);
        check("---", None);
        check("//", None);
        check("٣/١٥/٢٠٢٦", None);
        check(&"3/".repeat(5_000), None);
    }

    #[test]
    fn date_messages() {
        let check = |raw: &str, fragment: &str| {
            let message = parse_date(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?}: {message}");
        };
        check("2/30/2026", "February 2026 has no day 30");
        check("15/3/2026", "month first");
        check("1066-10-14", "between 1800 and 2200");
        check("soon", "try 2026-03-15");
        check("", "Enter a date");
        check("2026-13-01", "no month 13");
    }

    #[test]
    fn decimals() {
        let check = |raw: &str, expected: Option<&str>| {
            let parsed = parse_decimal(raw);
            if let Err(e) = &parsed {
                assert_readable(e, raw);
            }
            assert_eq!(parsed.ok().as_deref(), expected, "{raw:?}");
        };
        check("0", Some("0"));
        check("1200", Some("1200"));
        check("1200.50", Some("1200.50"));
        check("1,234,567.89", Some("1234567.89"));
        check("$1,200", Some("1200"));
        check("$ 1,200", Some("1200"));
        check("-$1,200.5", Some("-1200.5"));
        check("$-1,200.5", Some("-1200.5"));
        check("+42", Some("42"));
        check("\u{2212}42", Some("-42"));
        check("-0", Some("0"));
        check("-0.00", Some("0.00"));
        check("-0.01", Some("-0.01"));
        check("007", Some("7"));
        check("00.5", Some("0.5"));
        check(".5", Some("0.5"));
        check("5.", Some("5"));
        check("0.000", Some("0.000"));
        check(" 12 ", Some("12"));
        check("123,456", Some("123456"));
        check(&"9".repeat(30), Some(&"9".repeat(30)));
        check(
            &format!("0.{}", "1".repeat(29)),
            Some(&format!("0.{}", "1".repeat(29))),
        );
        check(&"9".repeat(31), None);
        check("1e5", None);
        check("1E5", None);
        check("NaN", None);
        check("inf", None);
        check("-inf", None);
        check("1.2.3", None);
        check("", None);
        check("   ", None);
        check(".", None);
        check("-", None);
        check("$", None);
        check("--5", None);
        check("+-5", None);
        check("$$5", None);
        check("5$", None);
        check("1,23", None);
        check("1,2345", None);
        check("1234,567", None);
        check(",123", None);
        check("1,,234", None);
        check("1,234.5,6", None);
        check("1 234", None);
        check("0x10", None);
        check("١٢٣", None);
        check("12abc", None);
        check("5%", None);
    }

    #[test]
    fn decimal_messages() {
        let check = |raw: &str, fragment: &str| {
            let message = parse_decimal(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?}: {message}");
        };
        check("1,5", "groups of three");
        check("1e5", "could not be read");
        check(&"1".repeat(40), "too many digits");
        check("", "Enter a number");
    }

    #[test]
    fn urls() {
        let check = |raw: &str, expected: Option<&str>| {
            let parsed = parse_url(raw);
            if let Err(e) = &parsed {
                assert_readable(e, raw);
            }
            assert_eq!(parsed.ok().as_deref(), expected, "{raw:?}");
        };
        check("https://example.com", Some("https://example.com"));
        check(
            "http://example.com/a?b=1#c",
            Some("http://example.com/a?b=1#c"),
        );
        check("HTTPS://Example.COM/Path", Some("https://example.com/Path"));
        check("Http://example.com", Some("http://example.com"));
        check("www.example.com/x", Some("https://www.example.com/x"));
        check("example.com", Some("https://example.com"));
        check("example.com:8080/x", Some("https://example.com:8080/x"));
        check("http://localhost:3000/", Some("http://localhost:3000/"));
        check("localhost", Some("https://localhost"));
        check(
            "http://192.168.1.10/admin",
            Some("http://192.168.1.10/admin"),
        );
        check(
            "https://drive.google.com/file/d/abc/view?usp=sharing",
            Some("https://drive.google.com/file/d/abc/view?usp=sharing"),
        );
        check("https://bücher.example/ä", Some("https://bücher.example/ä"));
        check(
            "https://example.com/a%20b",
            Some("https://example.com/a%20b"),
        );
        check("  https://example.com  ", Some("https://example.com"));
        check("javascript:alert(1)", None);
        check("JavaScript:alert(1)", None);
        check("data:text/html,<script>alert(1)</script>", None);
        check("ftp://example.com/file", None);
        check("file:///etc/passwd", None);
        check("mailto:jane@example.com", None);
        check("vbscript:msgbox", None);
        check("http:example.com", None);
        check("https:/example.com", None);
        check("https://", None);
        check("https:///path", None);
        check("//example.com", None);
        check("https://example", None);
        check("https://example.com:0", None);
        check("https://example.com:99999", None);
        check("https://example.com:80a", None);
        check("https://user:pw@example.com", None);
        check("https://mybank.com@evil.example", None);
        check("https://exa mple.com", None);
        check("https://example.com/a b", None);
        check("https://example.com/\nx", None);
        check("https://example.com/\u{7}", None);
        check("java\tscript:alert(1)", None);
        check("https://exa\u{200b}mple.com", None);
        check("https://example.com/\u{202e}fdp.exe", None);
        check("https://.example.com", None);
        check("https://example..com", None);
        check("https://exa<mple.com", None);
        check("https://[::1]/", None);
        check("", None);
        check("   ", None);
        check(
            &format!("https://example.com/{}", "a".repeat(2028)),
            Some(&format!("https://example.com/{}", "a".repeat(2028))),
        );
        check(&format!("https://example.com/{}", "a".repeat(2029)), None);
    }

    #[test]
    fn url_messages() {
        let check = |raw: &str, fragment: &str| {
            let message = parse_url(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?}: {message}");
        };
        check("javascript:alert(1)", "not javascript: links");
        check("DATA:text/plain,x", "not data: links");
        check("ftp://example.com", "not ftp: links");
        check("https://a b.com", "spaces");
        check("https://x", "site address");
        check("https://a@b.com", "disguise");
    }

    #[test]
    fn urls_are_canonical() {
        for raw in [
            "HTTP://WWW.Example.com:8080/A?b#c",
            "www.example.com",
            "localhost/x",
        ] {
            let once = parse_url(raw).unwrap();
            assert_eq!(parse_url(&once).unwrap(), once);
        }
    }

    #[test]
    fn json() {
        let check = |raw: &str, expected: Option<serde_json::Value>| {
            let parsed = parse_json(raw);
            if let Err(e) = &parsed {
                assert_readable(e, raw);
            }
            assert_eq!(parsed.ok(), expected, "{raw:?}");
        };
        check("{\"a\": 1}", Some(serde_json::json!({"a": 1})));
        check("[1, 2, 3]", Some(serde_json::json!([1, 2, 3])));
        check("\"text\"", Some(serde_json::json!("text")));
        check("42", Some(serde_json::json!(42)));
        check("null", Some(serde_json::Value::Null));
        check(" true ", Some(serde_json::json!(true)));
        check("{\"a\": 1,}", None);
        check("{a: 1}", None);
        check("{\"a\": 1", None);
        check("[1, 2", None);
        check("'single'", None);
        check("NaN", None);
        check("{} {}", None);
        check("", None);
        check("  ", None);
        check(&"[".repeat(10_000), None);
        check(
            &format!("\"{}\"", "a".repeat(MAX_JSON_BYTES - 2)),
            Some(serde_json::json!("a".repeat(MAX_JSON_BYTES - 2))),
        );
        check(&format!("\"{}\"", "a".repeat(MAX_JSON_BYTES - 1)), None);
    }

    #[test]
    fn json_errors_say_where() {
        let check = |raw: &str, fragment: &str| {
            let message = parse_json(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?}: {message}");
            assert_eq!(message.matches("line").count(), 1, "{message}");
        };
        check("{\n  \"a\": 1,\n  b: 2\n}", "(line 3, column 3)");
        check("{\"a\": ", "ends too early");
        check(&"[".repeat(1_000), "nested too deeply");
        check("[1 2]", "This is not valid JSON (line 1, column 4)");
    }

    #[test]
    fn dates_display_the_us_way() {
        let check = |raw: &str, expected: &str| {
            assert_eq!(display_date(parse_date(raw).unwrap()), expected);
        };
        check("2026-03-15", "Mar 15, 2026");
        check("2026-12-01", "Dec 1, 2026");
        check("1800-01-09", "Jan 9, 1800");
    }

    /// Inputs that have broken parsers elsewhere: nothing may panic, every error is readable.
    #[test]
    fn no_input_panics() {
        let mut inputs: Vec<String> = [
            "",
            " ",
            "\0",
            "\u{feff}",
            "\u{202e}moc.elpmaxe@enaj",
            "🙂",
            "🙂@🙂.🙂",
            "é",
            "İ",
            "\u{301}",
            "@",
            "@@",
            ".",
            "..",
            ":",
            "://",
            "+",
            "00",
            "011",
            "$",
            "-",
            ",",
            "/",
            "//",
            "-/-/-",
            "1/1/1",
            "9/9/9999999999",
            "99999999999999999999/1/1",
            "March",
            "March 99999999999999999999, 2026",
            "Feb 29th, 1900",
            "http://",
            "https://:80",
            "https://a.b:",
            "https://[",
            "a:b:c",
            "{\"",
            "\"\\u",
            "\\",
            "\r\n",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        inputs.push("a".repeat(1 << 20));
        inputs.push("é".repeat(100_000));
        inputs.extend(pseudo_random_inputs(2_000));
        for input in &inputs {
            let results = [
                EmailAddress::parse(input).map(|_| ()),
                PhoneNumber::parse(input, Region::Us).map(|_| ()),
                parse_date(input).map(|_| ()),
                parse_decimal(input).map(|_| ()),
                parse_url(input).map(|_| ()),
                parse_json(input).map(|_| ()),
            ];
            for message in results.iter().filter_map(|r| r.as_ref().err()) {
                assert_readable(message, input);
            }
        }
    }

    /// Short strings from an alphabet of characters the parsers treat specially, from a fixed
    /// seed so a failure can be reproduced.
    pub(crate) fn pseudo_random_inputs(count: usize) -> Vec<String> {
        const ALPHABET: &[char] = &[
            '0', '1', '2', '4', '9', '-', '/', '.', ',', '+', '$', '@', ':', '#', ' ', 'a', 'x',
            'e', 'M', 'h', 't', 'p', 's', 'é', '🙂', '\n', '\u{0}', '(', ')', '[', '"', '{', '}',
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            // xorshift64: enough to spread inputs around, no dependency needed.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % 1_000_003).unwrap_or(0)
        };
        (0..count)
            .map(|_| {
                let len = next() % 24;
                (0..len)
                    .map(|_| ALPHABET[next() % ALPHABET.len()])
                    .collect()
            })
            .collect()
    }
}
