//! Just enough RFC 5322 and MIME for the mail fakes (Gmail, Graph's MIME form, SMTP): header
//! parsing with unfolding and RFC 2047 decoding, address lists, multipart splitting, transfer
//! decoding (base64, quoted-printable), and building the inbound messages the fakes deliver.
//!
//! It is deliberately small and lenient: the fakes parse what a client sent to record it, and
//! never reject a message for a MIME detail a real provider would accept.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use chrono::{DateTime, Utc};

/// Standard base64 that accepts input with or without `=` padding.
pub(crate) const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// base64url (RFC 4648 §5) that accepts input with or without `=` padding.
pub(crate) const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Splits a message into its header block and its body at the first empty line (CRLF or LF).
pub(crate) fn split(raw: &str) -> (&str, &str) {
    let mut pos = 0;
    for line in raw.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']).is_empty() {
            return (&raw[..pos], &raw[pos + line.len()..]);
        }
        pos += line.len();
    }
    (raw, "")
}

/// The headers of a header block as `(name, value)` in order, folded lines joined, values
/// trimmed and not decoded.
pub(crate) fn parse_headers(block: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    out
}

/// The headers of a whole message, values decoded (RFC 2047).
pub(crate) fn message_headers(raw: &str) -> Vec<(String, String)> {
    parse_headers(split(raw).0)
        .into_iter()
        .map(|(name, value)| (name, decode_words(&value)))
        .collect()
}

/// The first value of header `name`, compared without regard to case.
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Every value of header `name`.
pub(crate) fn header_all<'a>(headers: &'a [(String, String)], name: &'a str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
        .collect()
}

/// A `Content-Type` (or `Content-Disposition`) value: the lowercase type and its parameters.
struct Typed {
    value: String,
    params: Vec<(String, String)>,
}

impl Typed {
    fn parse(value: &str) -> Typed {
        let mut pieces = Vec::new();
        let (mut current, mut quoted) = (String::new(), false);
        for c in value.chars() {
            match c {
                '"' => {
                    quoted = !quoted;
                    current.push(c);
                }
                ';' if !quoted => pieces.push(std::mem::take(&mut current)),
                _ => current.push(c),
            }
        }
        pieces.push(current);
        let mut pieces = pieces.into_iter();
        let value = pieces
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let params = pieces
            .filter_map(|piece| {
                let (name, value) = piece.split_once('=')?;
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                Some((name.trim().to_ascii_lowercase(), value.to_owned()))
            })
            .collect();
        Typed { value, params }
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// One MIME entity: a leaf with a decoded body, or a multipart with children.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    pub headers: Vec<(String, String)>,
    /// Lowercase, without parameters: `text/plain`, `multipart/alternative`.
    pub mime_type: String,
    pub charset: Option<String>,
    pub filename: Option<String>,
    /// Transfer-decoded bytes (leaves only).
    pub body: Vec<u8>,
    pub parts: Vec<Part>,
}

impl Part {
    /// The body as text, decoded from its charset (UTF-8 and Latin-1 are known; anything
    /// else is read as UTF-8).
    pub fn text(&self) -> String {
        decode_charset(self.charset.as_deref().unwrap_or("utf-8"), &self.body)
    }

    /// The first leaf of type `mime_type` that is not an attachment, depth first.
    pub fn find(&self, mime_type: &str) -> Option<&Part> {
        if self.parts.is_empty() {
            let attachment = self.filename.is_some()
                || header(&self.headers, "Content-Disposition")
                    .is_some_and(|value| Typed::parse(value).value == "attachment");
            return (self.mime_type == mime_type && !attachment).then_some(self);
        }
        self.parts.iter().find_map(|part| part.find(mime_type))
    }
}

/// Parses a whole message into its MIME tree.
pub(crate) fn parse(raw: &str) -> Part {
    parse_part(raw, "text/plain")
}

fn parse_part(raw: &str, default_type: &str) -> Part {
    let (block, body) = split(raw);
    let headers = parse_headers(block);
    let content_type = Typed::parse(header(&headers, "Content-Type").unwrap_or(default_type));
    let mime_type = if content_type.value.contains('/') {
        content_type.value.clone()
    } else {
        default_type.to_owned()
    };
    let filename = header(&headers, "Content-Disposition")
        .and_then(|value| Typed::parse(value).param("filename").map(str::to_owned))
        .or_else(|| content_type.param("name").map(str::to_owned))
        .map(|name| decode_words(&name));
    let charset = content_type.param("charset").map(str::to_owned);
    let mut part = Part {
        headers,
        mime_type,
        charset,
        filename,
        body: Vec::new(),
        parts: Vec::new(),
    };
    match content_type.param("boundary") {
        Some(boundary) if part.mime_type.starts_with("multipart/") => {
            let child = if part.mime_type == "multipart/digest" {
                "message/rfc822"
            } else {
                "text/plain"
            };
            part.parts = split_multipart(body, boundary)
                .into_iter()
                .map(|raw| parse_part(raw, child))
                .collect();
        }
        _ => {
            let encoding = header(&part.headers, "Content-Transfer-Encoding")
                .unwrap_or("7bit")
                .trim()
                .to_ascii_lowercase();
            part.body = match encoding.as_str() {
                "base64" => {
                    let cleaned: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                    LENIENT
                        .decode(cleaned)
                        .unwrap_or_else(|_| body.as_bytes().to_vec())
                }
                "quoted-printable" => qp_decode(body),
                _ => body.as_bytes().to_vec(),
            };
        }
    }
    part
}

/// The parts between `--boundary` lines; the line break before each delimiter belongs to it.
fn split_multipart<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let closing = format!("{delimiter}--");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    for line in body.split_inclusive('\n') {
        let content = line.trim_end_matches(['\r', '\n']).trim_end();
        let is_closing = content == closing;
        if is_closing || content == delimiter {
            if let Some(begin) = start {
                let part = &body[begin..pos];
                let part = part
                    .strip_suffix('\n')
                    .map(|p| p.strip_suffix('\r').unwrap_or(p))
                    .unwrap_or(part);
                parts.push(part);
            }
            if is_closing {
                return parts;
            }
            start = Some(pos + line.len());
        }
        pos += line.len();
    }
    if let Some(begin) = start {
        parts.push(&body[begin..]);
    }
    parts
}

/// Decodes quoted-printable (soft line breaks and `=XX`), leaving malformed escapes as is.
pub(crate) fn qp_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let rest = &bytes[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let Some(byte) = rest
            .get(..2)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

fn decode_charset(charset: &str, bytes: &[u8]) -> String {
    let charset = charset.split('*').next().unwrap_or_default();
    match charset.to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin1" | "iso8859-1" | "windows-1252" | "cp1252" => {
            bytes.iter().map(|&b| char::from(b)).collect()
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?B?...?=`, `=?UTF-8?Q?...?=`); whitespace between
/// two encoded words is dropped, as the RFC says.
pub(crate) fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        match encoded_word(candidate) {
            Some((decoded, used)) => {
                if !(after_word && before.chars().all(char::is_whitespace)) {
                    out.push_str(before);
                }
                out.push_str(&decoded);
                rest = &candidate[used..];
                after_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &candidate[2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One encoded word at the start of `s`: its text and how many bytes it used.
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.get(2..)?;
    let (charset, rest) = inner.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    if charset.is_empty() || text.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => LENIENT.decode(text).ok()?,
        "Q" | "q" => qp_decode(&text.replace('_', " ")),
        _ => return None,
    };
    let used = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((decode_charset(charset, &bytes), used))
}

/// `=?UTF-8?B?...?=` for non-ASCII text, the text itself otherwise.
pub(crate) fn encode_word(text: &str) -> String {
    if text.is_ascii() {
        text.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(text))
    }
}

/// Splits `a@x.test, "Doe, Jane" <j@x.test>` at commas outside quotes and angle brackets.
pub(crate) fn split_addresses(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut current, mut quoted, mut angled) = (String::new(), false, false);
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angled = true,
            '>' if !quoted => angled = false,
            ',' if !quoted && !angled => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter()
        .map(|address| address.trim().to_owned())
        .filter(|address| !address.is_empty())
        .collect()
}

/// `a@x.test` out of `Name <a@x.test>`; the trimmed input when there are no angle brackets.
pub(crate) fn bare_address(address: &str) -> &str {
    match (address.rfind('<'), address.rfind('>')) {
        (Some(start), Some(end)) if start < end => address[start + 1..end].trim(),
        _ => address.trim(),
    }
}

/// `Jane Doe` out of `"Jane Doe" <j@x.test>`, if there is a name.
pub(crate) fn display_name(address: &str) -> Option<String> {
    let start = address.rfind('<')?;
    let name = address[..start].trim().trim_matches('"').trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Whether `address` looks like `local@domain` (no spaces or brackets).
pub(crate) fn valid_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !address
                    .chars()
                    .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        }
        None => false,
    }
}

/// A Message-ID without its angle brackets and surrounding space, for comparisons.
pub(crate) fn bare_id(id: &str) -> &str {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
}

/// `<id>` whether or not `id` already has its brackets.
pub(crate) fn bracketed(id: &str) -> String {
    format!("<{}>", bare_id(id))
}

/// A subject without `Re:`/`Fwd:` prefixes, lowercased, for thread matching.
pub(crate) fn base_subject(subject: &str) -> String {
    let mut subject = subject.trim();
    loop {
        let lower = subject.to_ascii_lowercase();
        let cut = ["re:", "fwd:", "fw:", "aw:", "sv:"]
            .iter()
            .find(|prefix| lower.starts_with(*prefix))
            .map(|prefix| prefix.len());
        match cut {
            Some(len) => subject = subject[len..].trim_start(),
            None => return subject.to_lowercase(),
        }
    }
}

/// A message a provider fake delivers to its mailbox, as someone's mail client would send it.
pub(crate) struct Inbound<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
    /// With or without angle brackets.
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub date: DateTime<Utc>,
}

/// The RFC 5322 text of `inbound`: `multipart/alternative` when it has HTML, `text/plain`
/// otherwise; non-ASCII bodies are base64, non-ASCII subjects and names RFC 2047.
pub(crate) fn build(inbound: &Inbound<'_>) -> String {
    let mut out = String::new();
    let mut line = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    };
    line("MIME-Version", "1.0");
    line("Date", &inbound.date.to_rfc2822());
    line("Message-ID", &bracketed(inbound.message_id));
    if let Some(parent) = inbound.in_reply_to {
        line("In-Reply-To", &bracketed(parent));
        line("References", &bracketed(parent));
    }
    line("Subject", &encode_word(inbound.subject));
    line("From", &encode_address(inbound.from));
    line("To", &encode_address(inbound.to));
    match inbound.html {
        Some(html) => {
            let boundary = format!("000000000000{:012x}", rand::random::<u64>() >> 16);
            line(
                "Content-Type",
                &format!("multipart/alternative; boundary=\"{boundary}\""),
            );
            out.push_str("\r\n");
            for (mime, body) in [("text/plain", inbound.text), ("text/html", html)] {
                out.push_str(&format!("--{boundary}\r\n"));
                out.push_str(&leaf(mime, body));
            }
            out.push_str(&format!("--{boundary}--\r\n"));
        }
        None => out.push_str(&leaf("text/plain", inbound.text)),
    }
    out
}

/// The headers, blank line and body of one text part.
fn leaf(mime: &str, body: &str) -> String {
    let mut out = format!("Content-Type: {mime}; charset=\"UTF-8\"\r\n");
    let plain = body.is_ascii() && body.lines().all(|line| line.len() <= 998);
    if plain {
        let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
        out.push_str("Content-Transfer-Encoding: 7bit\r\n\r\n");
        out.push_str(&body);
    } else {
        out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        let encoded = STANDARD.encode(body);
        for chunk in encoded.as_bytes().chunks(76) {
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            out.push_str("\r\n");
        }
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out
}

/// `Name <a@x.test>` with the name RFC 2047-encoded when it is not ASCII.
fn encode_address(address: &str) -> String {
    match display_name(address) {
        Some(name) if !name.is_ascii() => {
            format!("{} <{}>", encode_word(&name), bare_address(address))
        }
        _ => address.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_unfold_and_decode() {
        let raw = "Subject: =?UTF-8?B?SGVsbG8g?=\r\n =?UTF-8?Q?w=C3=B6rld?=\r\nTo: a@x.test,\r\n\tb@x.test\r\n\r\nbody\r\n";
        let headers = message_headers(raw);
        assert_eq!(header(&headers, "subject"), Some("Hello wörld"));
        assert_eq!(header(&headers, "TO"), Some("a@x.test, b@x.test"));
        assert_eq!(split(raw).1, "body\r\n");
        assert_eq!(decode_words("plain =?x"), "plain =?x");
    }

    #[test]
    fn multipart_with_encodings() {
        let raw = "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\npreamble\r\n--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9 soft=\r\nbreak\r\n--inner\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+SGk8L3A+\r\n--inner--\r\n--outer\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n%PDF\r\n--outer--\r\n";
        let root = parse(raw);
        assert_eq!(root.mime_type, "multipart/mixed");
        assert_eq!(root.parts.len(), 2);
        assert_eq!(root.parts[0].parts.len(), 2);
        assert_eq!(root.find("text/plain").unwrap().text(), "Café softbreak");
        assert_eq!(root.find("text/html").unwrap().text(), "<p>Hi</p>");
        assert_eq!(root.parts[1].filename.as_deref(), Some("a.pdf"));
        assert!(root.find("application/pdf").is_none());
    }

    #[test]
    fn built_messages_parse_back() {
        let raw = build(&Inbound {
            from: "Zoë <zoe@example.com>",
            to: "owner@loanfactory.test",
            subject: "Re: Prêt",
            text: "Oui, merci\nZoë",
            html: Some("<p>Oui</p>"),
            message_id: "abc@example.com",
            in_reply_to: Some("<sent@loanfactory.test>"),
            date: Utc::now(),
        });
        let headers = message_headers(&raw);
        assert_eq!(header(&headers, "Subject"), Some("Re: Prêt"));
        assert_eq!(header(&headers, "From"), Some("Zoë <zoe@example.com>"));
        assert_eq!(header(&headers, "Message-ID"), Some("<abc@example.com>"));
        assert_eq!(
            header(&headers, "In-Reply-To"),
            Some("<sent@loanfactory.test>")
        );
        let root = parse(&raw);
        assert_eq!(root.find("text/plain").unwrap().text(), "Oui, merci\nZoë");
        assert_eq!(root.find("text/html").unwrap().text(), "<p>Oui</p>");
        assert_eq!(base_subject("RE: Fwd: Prêt"), "prêt");
        assert_eq!(
            split_addresses(r#""Doe, Jane" <j@x.test>, b@y.test"#),
            vec![r#""Doe, Jane" <j@x.test>"#, "b@y.test"]
        );
        assert_eq!(
            display_name(r#""Doe, Jane" <j@x.test>"#).as_deref(),
            Some("Doe, Jane")
        );
    }
}
