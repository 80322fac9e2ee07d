//! Building the email itself: a MIME message (plain text and HTML alternatives, the
//! Message-ID pi-crm chose, extra headers such as List-Unsubscribe) with `mail-builder`, for
//! the providers that take a whole message: SMTP, the Gmail API and Microsoft Graph.

use mail_send::mail_builder::MessageBuilder;
use mail_send::mail_builder::headers::address::Address;
use mail_send::mail_builder::headers::raw::Raw;

/// One email, as pi-crm wrote it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutgoingEmail {
    /// `Name <address>` or a bare address.
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// Further headers (List-Unsubscribe, ...); From, To, Subject and Message-ID are ignored
    /// here, they come from the fields above.
    pub headers: Vec<(String, String)>,
}

/// `Name <address>` split in two; a bare address has no name.
pub fn split_address(raw: &str) -> (Option<String>, String) {
    let raw = raw.trim();
    match (raw.rfind('<'), raw.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = raw[..open].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.to_owned()),
                raw[open + 1..close].trim().to_owned(),
            )
        }
        _ => (None, raw.to_owned()),
    }
}

/// The whole message, ready for SMTP `DATA` or a provider's raw upload.
pub fn build(email: &OutgoingEmail) -> Vec<u8> {
    let (from_name, from_address) = split_address(&email.from);
    let (to_name, to_address) = split_address(&email.to);
    let address = |name: Option<String>, addr: String| -> Address<'static> {
        match name {
            Some(name) => (name, addr).into(),
            None => addr.into(),
        }
    };
    let mut builder = MessageBuilder::new()
        .from(address(from_name, from_address))
        .to(address(to_name, to_address))
        .subject(email.subject.clone())
        .text_body(email.text.clone());
    if let Some(html) = &email.html {
        builder = builder.html_body(html.clone());
    }
    if let Some(id) = &email.message_id {
        builder = builder.message_id(id.clone());
    }
    for (name, value) in &email.headers {
        if ["from", "to", "subject", "message-id"].contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        builder = builder.header(name.clone(), Raw::new(value.clone()));
    }
    builder.write_to_vec().unwrap_or_default()
}

/// An email someone sent us, as a mailbox API gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundEmail {
    /// The provider's id of the message.
    pub id: String,
    /// The sender's address, lower-cased.
    pub from: String,
    pub from_name: Option<String>,
    pub subject: String,
    pub text: Option<String>,
    /// As sent: untrusted, to be cleaned before it is shown.
    pub html: Option<String>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_message_with_our_headers() {
        let raw = build(&OutgoingEmail {
            from: "Ana Lopez <ana@example.com>".into(),
            to: "ada@example.org".into(),
            subject: "Rates for Ada".into(),
            text: "Hello Ada".into(),
            html: Some("<p>Hello Ada</p>".into()),
            message_id: Some("pi-crm.abc@example.com".into()),
            headers: vec![
                (
                    "List-Unsubscribe".into(),
                    "<https://crm.example/u/1/2/sig>".into(),
                ),
                (
                    "List-Unsubscribe-Post".into(),
                    "List-Unsubscribe=One-Click".into(),
                ),
                ("Message-ID".into(), "<ignored@example.com>".into()),
            ],
        });
        let text = String::from_utf8(raw).unwrap();
        assert!(
            text.contains("Message-ID: <pi-crm.abc@example.com>"),
            "{text}"
        );
        assert!(!text.contains("ignored@example.com"));
        assert!(
            text.contains("List-Unsubscribe: <https://crm.example/u/1/2/sig>"),
            "{text}"
        );
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(
            text.contains("\"Ana Lopez\" <ana@example.com>")
                || text.contains("Ana Lopez <ana@example.com>"),
            "{text}"
        );
        assert!(text.contains("Subject: Rates for Ada"));
    }

    #[test]
    fn splits_addresses() {
        assert_eq!(split_address("a@b.c"), (None, "a@b.c".into()));
        assert_eq!(
            split_address(" \"Ana L\" <a@b.c> "),
            (Some("Ana L".into()), "a@b.c".into())
        );
    }
}
