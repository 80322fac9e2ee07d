//! The Gmail API for a connected Google Workspace mailbox (PROVIDERS.md 3.2 and 3.4): send a
//! whole MIME message (`messages/send` with base64url `raw`), read the profile, follow the
//! mailbox's history for new mail, and fetch a message. The base URL comes from configuration.

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde::Deserialize;

use crate::mime::InboundEmail;
use crate::outbound::{SendError, excerpt, http_client, retry_after, unreachable};

pub const DEFAULT_API_BASE: &str = "https://gmail.googleapis.com";
pub const DEFAULT_AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Send, and read (for replies).
pub const SCOPES: &str =
    "https://www.googleapis.com/auth/gmail.send https://www.googleapis.com/auth/gmail.readonly";

#[derive(Clone)]
pub struct Gmail {
    api_base: String,
    http: reqwest::blocking::Client,
}

impl std::fmt::Debug for Gmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gmail")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// New mail since a history id, or the history id is too old to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum History {
    Added {
        message_ids: Vec<String>,
        history_id: String,
    },
    /// Gmail no longer has that history (404): start again from the profile's history id.
    Stale,
}

impl Gmail {
    pub fn new(api_base: &str) -> Self {
        Self {
            api_base: api_base.trim_end_matches('/').to_owned(),
            http: http_client(),
        }
    }

    fn error(&self, status: u16, body: &str, wait: Option<std::time::Duration>) -> SendError {
        let said = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error")?.get("message")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| excerpt(body, 200));
        let rate_limited =
            body.contains("rateLimitExceeded") || body.contains("RESOURCE_EXHAUSTED");
        match status {
            401 => SendError::Unauthorized {
                message: format!("Google refused the access token: {said}"),
            },
            429 => SendError::retry("Gmail asked pi-crm to slow down; it will try again.", wait),
            403 if rate_limited => SendError::retry(
                "Gmail's sending limit was reached; pi-crm will try again later.",
                wait,
            ),
            403 => SendError::Settings {
                message: format!(
                    "Google refused: {said}. Reconnect the account and allow sending and reading mail."
                ),
            },
            500..=599 => SendError::retry(
                format!("Gmail had a server error ({status}); pi-crm will try again."),
                wait,
            ),
            _ => SendError::Rejected {
                message: format!("Gmail refused the email: {said}"),
            },
        }
    }

    fn get(
        &self,
        token: &str,
        path: &str,
    ) -> Result<(u16, String, Option<std::time::Duration>), SendError> {
        let url = format!("{}{path}", self.api_base);
        let response = self
            .http
            .get(&url)
            .bearer_auth(token)
            .send()
            .map_err(|e| unreachable("Gmail", &self.api_base, &e))?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        Ok((status, response.text().unwrap_or_default(), wait))
    }

    /// Sends a whole message; answers Gmail's message id.
    pub fn send(&self, token: &str, mime: &[u8]) -> Result<String, SendError> {
        let url = format!("{}/gmail/v1/users/me/messages/send", self.api_base);
        let raw = URL_SAFE.encode(mime);
        let response = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(&serde_json::json!({ "raw": raw }))
            .send()
            .map_err(|e| unreachable("Gmail", &self.api_base, &e))?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = response.text().unwrap_or_default();
        if status == 200 {
            return serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("id")?.as_str().map(str::to_owned))
                .ok_or_else(|| SendError::retry("Gmail answered without a message id.", None));
        }
        Err(self.error(status, &body, wait))
    }

    /// The mailbox's address and its current history id.
    pub fn profile(&self, token: &str) -> Result<(String, String), SendError> {
        let (status, body, wait) = self.get(token, "/gmail/v1/users/me/profile")?;
        if status != 200 {
            return Err(self.error(status, &body, wait));
        }
        let v: serde_json::Value = serde_json::from_str(&body)
            .map_err(|_| SendError::retry("Gmail's profile was not readable.", None))?;
        let email = v["emailAddress"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        let history = match &v["historyId"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        Ok((email, history))
    }

    /// Messages added to the inbox since `start`.
    pub fn history(&self, token: &str, start: &str) -> Result<History, SendError> {
        let mut message_ids = Vec::new();
        let mut page_token: Option<String> = None;
        let mut latest = start.to_owned();
        loop {
            let mut query = vec![
                ("startHistoryId", start.to_owned()),
                ("historyTypes", "messageAdded".to_owned()),
                ("labelId", "INBOX".to_owned()),
                ("maxResults", "500".to_owned()),
            ];
            if let Some(t) = &page_token {
                query.push(("pageToken", t.clone()));
            }
            let path = format!(
                "/gmail/v1/users/me/history?{}",
                serde_urlencoded::to_string(&query).unwrap_or_default()
            );
            let (status, body, wait) = self.get(token, &path)?;
            if status == 404 {
                return Ok(History::Stale);
            }
            if status != 200 {
                return Err(self.error(status, &body, wait));
            }
            #[derive(Deserialize)]
            struct Page {
                #[serde(default)]
                history: Vec<Entry>,
                #[serde(rename = "historyId", default)]
                history_id: Option<serde_json::Value>,
                #[serde(rename = "nextPageToken", default)]
                next_page_token: Option<String>,
            }
            #[derive(Deserialize)]
            struct Entry {
                #[serde(rename = "messagesAdded", default)]
                messages_added: Vec<Added>,
            }
            #[derive(Deserialize)]
            struct Added {
                message: Ref,
            }
            #[derive(Deserialize)]
            struct Ref {
                id: String,
            }
            let page: Page = serde_json::from_str(&body)
                .map_err(|_| SendError::retry("Gmail's history was not readable.", None))?;
            for entry in page.history {
                for added in entry.messages_added {
                    if !message_ids.contains(&added.message.id) {
                        message_ids.push(added.message.id);
                    }
                }
            }
            if let Some(id) = page.history_id {
                latest = match id {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
            }
            match page.next_page_token {
                Some(t) => page_token = Some(t),
                None => break,
            }
        }
        Ok(History::Added {
            message_ids,
            history_id: latest,
        })
    }

    /// One message, with its text and HTML parts decoded.
    pub fn message(&self, token: &str, id: &str) -> Result<InboundEmail, SendError> {
        let (status, body, wait) = self.get(
            token,
            &format!("/gmail/v1/users/me/messages/{id}?format=full"),
        )?;
        if status != 200 {
            return Err(self.error(status, &body, wait));
        }
        let v: serde_json::Value = serde_json::from_str(&body)
            .map_err(|_| SendError::retry("Gmail's message was not readable.", None))?;
        let payload = &v["payload"];
        let header = |name: &str| -> Option<String> {
            payload["headers"].as_array()?.iter().find_map(|h| {
                (h["name"].as_str()?.eq_ignore_ascii_case(name))
                    .then(|| h["value"].as_str().unwrap_or_default().to_owned())
            })
        };
        let (from_name, from) = crate::mime::split_address(&header("From").unwrap_or_default());
        let mut text = None;
        let mut html = None;
        collect_parts(payload, &mut text, &mut html);
        let strip = |s: String| {
            s.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        };
        Ok(InboundEmail {
            id: v["id"].as_str().unwrap_or(id).to_owned(),
            from: from.to_lowercase(),
            from_name,
            subject: header("Subject").unwrap_or_default(),
            text,
            html,
            message_id: header("Message-ID").map(strip),
            in_reply_to: header("In-Reply-To").map(strip),
        })
    }
}

/// The first text/plain and text/html bodies of a (possibly nested) Gmail payload.
fn collect_parts(part: &serde_json::Value, text: &mut Option<String>, html: &mut Option<String>) {
    let mime = part["mimeType"].as_str().unwrap_or_default();
    if let Some(data) = part["body"]["data"].as_str() {
        let cleaned: String = data
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .collect();
        if let Ok(bytes) = URL_SAFE_NO_PAD.decode(cleaned) {
            let decoded = String::from_utf8_lossy(&bytes).into_owned();
            if mime.starts_with("text/plain") && text.is_none() {
                *text = Some(decoded);
            } else if mime.starts_with("text/html") && html.is_none() {
                *html = Some(decoded);
            }
        }
    }
    if let Some(parts) = part["parts"].as_array() {
        for p in parts {
            collect_parts(p, text, html);
        }
    }
}
