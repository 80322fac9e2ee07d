//! Messages: the channels, the states of a message in the send queue, the email providers a
//! workspace can use, suppression reasons, and the quiet hours for texts.

use chrono::{DateTime, Duration, NaiveTime, TimeZone as _, Utc};
use serde::Serialize;

use crate::ids::{ContactId, MessageId, WorkspaceId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "text",
        }
    }
}

/// queued -> sending -> sent | failed | unknown; then delivered | bounced from the provider's
/// events. `skipped`: suppressed at send time; `dropped`: a person gave up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Queued,
    Sending,
    Sent,
    Failed,
    Unknown,
    Delivered,
    Bounced,
    Skipped,
    Dropped,
}

impl MessageStatus {
    pub const ALL: &'static [MessageStatus] = &[
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Failed,
        MessageStatus::Unknown,
        MessageStatus::Delivered,
        MessageStatus::Bounced,
        MessageStatus::Skipped,
        MessageStatus::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
            MessageStatus::Unknown => "unknown",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Bounced => "bounced",
            MessageStatus::Skipped => "skipped",
            MessageStatus::Dropped => "dropped",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.as_str() == raw)
    }

    /// Words for a person.
    pub fn label(self) -> &'static str {
        match self {
            MessageStatus::Queued => "Waiting to send",
            MessageStatus::Sending => "Sending",
            MessageStatus::Sent => "Sent",
            MessageStatus::Failed => "Failed",
            MessageStatus::Unknown => "Unknown: check and resend or drop",
            MessageStatus::Delivered => "Delivered",
            MessageStatus::Bounced => "Bounced",
            MessageStatus::Skipped => "Not sent",
            MessageStatus::Dropped => "Dropped",
        }
    }
}

/// A message in the queue, as the pages and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub marketing: bool,
    pub status: MessageStatus,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub rfc_message_id: Option<String>,
    pub headers: Vec<(String, String)>,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageEvent {
    pub kind: String,
    pub detail: String,
    pub occurred_at: DateTime<Utc>,
}

/// A text or email someone sent us: from the contact it came from when one matched, unread
/// until someone opens it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboundMessage {
    pub id: i64,
    pub workspace_id: Option<WorkspaceId>,
    pub contact_id: Option<ContactId>,
    pub channel: String,
    pub sender: String,
    pub recipient: String,
    pub body: String,
    pub received_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A message to put in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub contact_id: ContactId,
    pub channel: Channel,
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub marketing: bool,
    pub headers: Vec<(String, String)>,
    pub rfc_message_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailProviderKind {
    Outbox,
    Mailgun,
    Google,
    Microsoft,
    Smtp,
}

impl EmailProviderKind {
    pub const ALL: &'static [EmailProviderKind] = &[
        EmailProviderKind::Outbox,
        EmailProviderKind::Mailgun,
        EmailProviderKind::Google,
        EmailProviderKind::Microsoft,
        EmailProviderKind::Smtp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailProviderKind::Outbox => "outbox",
            EmailProviderKind::Mailgun => "mailgun",
            EmailProviderKind::Google => "google",
            EmailProviderKind::Microsoft => "microsoft",
            EmailProviderKind::Smtp => "smtp",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            EmailProviderKind::Outbox => "Outbox (nothing leaves this machine)",
            EmailProviderKind::Mailgun => "Mailgun",
            EmailProviderKind::Google => "Google Workspace",
            EmailProviderKind::Microsoft => "Microsoft 365",
            EmailProviderKind::Smtp => "SMTP",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailgunRegion {
    Us,
    Eu,
}

impl MailgunRegion {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "us" | "" => Some(MailgunRegion::Us),
            "eu" => Some(MailgunRegion::Eu),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MailgunRegion::Us => "us",
            MailgunRegion::Eu => "eu",
        }
    }

    /// A domain lives in one region; calls for an EU domain must go to the EU host.
    pub fn base_url(self) -> &'static str {
        match self {
            MailgunRegion::Us => "https://api.mailgun.net",
            MailgunRegion::Eu => "https://api.eu.mailgun.net",
        }
    }
}

/// Why an address is on a workspace's suppression list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    Unsubscribed,
    Bounced,
    Complained,
    OptedOut,
}

impl SuppressionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::Unsubscribed => "unsubscribed",
            SuppressionReason::Bounced => "bounced",
            SuppressionReason::Complained => "complained",
            SuppressionReason::OptedOut => "opted_out",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "unsubscribed" => Some(SuppressionReason::Unsubscribed),
            "bounced" => Some(SuppressionReason::Bounced),
            "complained" => Some(SuppressionReason::Complained),
            "opted_out" => Some(SuppressionReason::OptedOut),
            _ => None,
        }
    }

    /// Why a message was not sent, for a person.
    pub fn why_not_sent(self) -> &'static str {
        match self {
            SuppressionReason::Unsubscribed => "unsubscribed from this workspace's email",
            SuppressionReason::Bounced => "an earlier email to this address bounced",
            SuppressionReason::Complained => "marked an earlier email as spam",
            SuppressionReason::OptedOut => "replied STOP to texts",
        }
    }
}

/// Texts wait outside 8 am to 9 pm in the recipient's time zone. Returns when a text due
/// `now` may leave: `now` itself inside the window, else the next 8 am.
pub fn text_window_opens(now: DateTime<Utc>, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&tz);
    let time = local.time();
    let opens = NaiveTime::from_hms_opt(8, 0, 0).expect("valid time");
    let closes = NaiveTime::from_hms_opt(21, 0, 0).expect("valid time");
    if time >= opens && time < closes {
        return now;
    }
    let day = if time >= closes {
        local.date_naive() + Duration::days(1)
    } else {
        local.date_naive()
    };
    // A daylight-saving gap at 8 am does not happen in practice; fall back to an hour later.
    tz.from_local_datetime(&day.and_time(opens))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| now + Duration::hours(1))
}

/// What a text someone sent us asks for, when it is one of the carrier keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKeyword {
    /// No more texts (STOP and its family, or a plain request to stop).
    OptOut,
    /// Texts again (START, UNSTOP, YES).
    OptIn,
    /// HELP or INFO: answer with the workspace's help text.
    Help,
}

/// Twilio's opt-out keywords (PROVIDERS.md 2.5), plus "OPT OUT", which the FCC counts.
const OPT_OUT: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "OPT OUT",
];
const OPT_IN: &[&str] = &["START", "UNSTOP", "YES"];
const HELP: &[&str] = &["HELP", "INFO"];
/// Plain-language requests to stop (the FCC asks that clear ones count as revocation).
const STOP_PHRASES: &[&str] = &[
    "STOP TEXTING",
    "STOP MESSAGING",
    "STOP SENDING",
    "DON'T TEXT",
    "DONT TEXT",
    "DO NOT TEXT",
    "NO MORE TEXTS",
    "UNSUBSCRIBE ME",
    "REMOVE ME",
    "TAKE ME OFF",
];

/// Classifies a text: a keyword must be the whole message (case and punctuation aside), as
/// carriers require; a clear plain-language request to stop counts too.
pub fn text_keyword(body: &str) -> Option<TextKeyword> {
    let normalized: String = body
        .trim()
        .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
        .replace('\u{2019}', "'");
    if OPT_OUT.contains(&normalized.as_str()) {
        return Some(TextKeyword::OptOut);
    }
    if OPT_IN.contains(&normalized.as_str()) {
        return Some(TextKeyword::OptIn);
    }
    if HELP.contains(&normalized.as_str()) {
        return Some(TextKeyword::Help);
    }
    if normalized.len() <= 80 && STOP_PHRASES.iter().any(|p| normalized.contains(p)) {
        return Some(TextKeyword::OptOut);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn texts_leave_between_eight_and_nine_local() {
        let la = chrono_tz::America::Los_Angeles;
        // 10:00 in Los Angeles (UTC-8 in November): inside the window.
        let morning = at("2026-11-27T18:00:00Z");
        assert_eq!(text_window_opens(morning, la), morning);
        // 21:30 local: waits for 08:00 the next day.
        assert_eq!(
            text_window_opens(at("2026-11-28T05:30:00Z"), la),
            at("2026-11-28T16:00:00Z")
        );
        // 06:59 local: waits for 08:00 the same day.
        assert_eq!(
            text_window_opens(at("2026-11-27T14:59:00Z"), la),
            at("2026-11-27T16:00:00Z")
        );
        // 21:00 sharp is already quiet.
        assert_eq!(
            text_window_opens(at("2026-11-28T05:00:00Z"), la),
            at("2026-11-28T16:00:00Z")
        );
    }

    #[test]
    fn keywords_are_whole_messages_and_plain_requests_to_stop_count() {
        for stop in [
            "STOP",
            "stop",
            " Stop. ",
            "STOPALL",
            "unsubscribe",
            "Cancel",
            "end",
            "quit",
            "revoke",
            "optout",
            "opt out",
        ] {
            assert_eq!(text_keyword(stop), Some(TextKeyword::OptOut), "{stop}");
        }
        for start in ["START", "unstop", "Yes"] {
            assert_eq!(text_keyword(start), Some(TextKeyword::OptIn), "{start}");
        }
        assert_eq!(text_keyword("help"), Some(TextKeyword::Help));
        assert_eq!(text_keyword("Info?"), Some(TextKeyword::Help));
        assert_eq!(
            text_keyword("Please stop texting me"),
            Some(TextKeyword::OptOut)
        );
        assert_eq!(
            text_keyword("Don\u{2019}t text me again"),
            Some(TextKeyword::OptOut)
        );
        assert_eq!(text_keyword("Can we stop by the house at 5?"), None);
        assert_eq!(text_keyword("Yes, Tuesday works"), None);
        assert_eq!(text_keyword(""), None);
    }

    #[test]
    fn statuses_and_kinds_round_trip() {
        for s in MessageStatus::ALL {
            assert_eq!(MessageStatus::parse(s.as_str()), Some(*s));
        }
        for k in EmailProviderKind::ALL {
            assert_eq!(EmailProviderKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(MailgunRegion::parse("EU"), Some(MailgunRegion::Eu));
        assert_eq!(MailgunRegion::parse("asia"), None);
    }
}
