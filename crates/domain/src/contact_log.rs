//! A contact's communication log: everything that happened with a person, in one place.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::{ContactId, LogEntryId, UserId};
use crate::validation::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    Email,
    Text,
    Call,
    Ai,
    Stage,
    Note,
    System,
}

impl LogKind {
    pub const ALL: &'static [LogKind] = &[
        LogKind::Email,
        LogKind::Text,
        LogKind::Call,
        LogKind::Ai,
        LogKind::Stage,
        LogKind::Note,
        LogKind::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Email => "email",
            LogKind::Text => "text",
            LogKind::Call => "call",
            LogKind::Ai => "ai",
            LogKind::Stage => "stage",
            LogKind::Note => "note",
            LogKind::System => "system",
        }
    }

    /// The tab a person sees.
    pub fn tab_label(self) -> &'static str {
        match self {
            LogKind::Email => "Emails",
            LogKind::Text => "Texts",
            LogKind::Call => "Calls",
            LogKind::Ai => "AI",
            LogKind::Stage => "Stage changes",
            LogKind::Note => "Notes",
            LogKind::System => "System",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        LogKind::ALL.iter().copied().find(|k| k.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    pub id: LogEntryId,
    pub contact_id: ContactId,
    pub kind: LogKind,
    pub summary: String,
    pub body: String,
    pub meta: Option<serde_json::Value>,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<UserId>,
}

/// An entry to write, in the same transaction as the change it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLogEntry {
    pub kind: LogKind,
    pub summary: String,
    pub body: String,
    pub meta: Option<serde_json::Value>,
    pub occurred_at: DateTime<Utc>,
}

impl NewLogEntry {
    pub fn new(kind: LogKind, summary: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            kind,
            summary: summary.into(),
            body: String::new(),
            meta: None,
            occurred_at: at,
        }
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    pub fn meta(mut self, meta: serde_json::Value) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// The text of a note someone typed.
pub fn parse_note(raw: &str) -> Result<String, ValidationError> {
    let text = raw.trim().replace("\r\n", "\n");
    if text.is_empty() {
        return Err(ValidationError::new(
            "body",
            "Write something in the note first.",
        ));
    }
    if text.chars().count() > 20_000 {
        return Err(ValidationError::new(
            "body",
            "The note is too long: keep it under 20,000 characters.",
        ));
    }
    Ok(text)
}

/// What happened on a call someone logs by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Connected,
    LeftVoicemail,
    NoAnswer,
    WrongNumber,
}

impl CallOutcome {
    pub const ALL: &'static [CallOutcome] = &[
        CallOutcome::Connected,
        CallOutcome::LeftVoicemail,
        CallOutcome::NoAnswer,
        CallOutcome::WrongNumber,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Connected => "connected",
            CallOutcome::LeftVoicemail => "left_voicemail",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::WrongNumber => "wrong_number",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CallOutcome::Connected => "Talked",
            CallOutcome::LeftVoicemail => "Left a voicemail",
            CallOutcome::NoAnswer => "No answer",
            CallOutcome::WrongNumber => "Wrong number",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        CallOutcome::ALL
            .iter()
            .copied()
            .find(|o| o.as_str() == raw.trim())
            .ok_or_else(|| ValidationError::new("outcome", "Choose how the call went."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in LogKind::ALL {
            assert_eq!(LogKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(LogKind::parse("fax"), None);
    }

    #[test]
    fn notes() {
        assert_eq!(parse_note("  hello\r\nworld ").unwrap(), "hello\nworld");
        assert!(parse_note("   ").is_err());
        assert!(parse_note(&"x".repeat(20_001)).is_err());
    }

    #[test]
    fn call_outcomes() {
        assert_eq!(
            CallOutcome::parse("no_answer").unwrap(),
            CallOutcome::NoAnswer
        );
        assert!(CallOutcome::parse("maybe").is_err());
    }
}
