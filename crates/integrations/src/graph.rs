//! Microsoft Graph for a connected Microsoft 365 mailbox (PROVIDERS.md 4.2 to 4.4): send a
//! whole MIME message through `sendMail` (the MIME form keeps our Message-ID and
//! List-Unsubscribe, which the JSON form cannot carry), read the account, and follow the
//! inbox's delta for new mail. The base URLs come from configuration.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::mime::InboundEmail;
use crate::outbound::{SendError, excerpt, http_client, retry_after, unreachable};

pub const DEFAULT_API_BASE: &str = "https://graph.microsoft.com";
pub const DEFAULT_LOGIN_BASE: &str = "https://login.microsoftonline.com";
/// Send, read (for replies), and a refresh token.
pub const SCOPES: &str = "offline_access https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read";

#[derive(Clone)]
pub struct Graph {
    api_base: String,
    http: reqwest::blocking::Client,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// One page of the inbox's delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    Page {
        messages: Vec<InboundEmail>,
        /// Follow this for the next page of the same round...
        next_link: Option<String>,
        /// ...or keep this for the next round.
        delta_link: Option<String>,
    },
    /// The delta token expired (410): start again.
    Stale,
}

impl Graph {
    pub fn new(api_base: &str) -> Self {
        Self {
            api_base: api_base.trim_end_matches('/').to_owned(),
            http: http_client(),
        }
    }

    fn error(&self, status: u16, body: &str, wait: Option<std::time::Duration>) -> SendError {
        let code = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                let e = v.get("error")?;
                Some((
                    e.get("code")?.as_str()?.to_owned(),
                    e.get("message")
                        .and_then(|m| m.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                ))
            });
        let said = code
            .as_ref()
            .map(|(c, m)| format!("{c}: {m}"))
            .unwrap_or_else(|| excerpt(body, 200));
        match status {
            401 => SendError::Unauthorized {
                message: format!("Microsoft refused the access token ({said})"),
            },
            429 => SendError::retry(
                "Microsoft 365 asked pi-crm to slow down; it will try again.",
                wait,
            ),
            403 => SendError::Settings {
                message: format!(
                    "Microsoft 365 refused: {said}. Reconnect the account and allow sending and reading mail."
                ),
            },
            500..=599 => SendError::retry(
                format!("Microsoft 365 had a server error ({status}); pi-crm will try again."),
                wait,
            ),
            _ => SendError::Rejected {
                message: format!("Microsoft 365 refused the email: {said}"),
            },
        }
    }

    /// Sends a whole message; Graph answers 202 with no id (pi-crm's own Message-ID is the
    /// reference).
    pub fn send(&self, token: &str, mime: &[u8]) -> Result<(), SendError> {
        let url = format!("{}/v1.0/me/sendMail", self.api_base);
        let response = self
            .http
            .post(&url)
            .bearer_auth(token)
            .header("Content-Type", "text/plain")
            .body(STANDARD.encode(mime))
            .send()
            .map_err(|e| unreachable("Microsoft 365", &self.api_base, &e))?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = response.text().unwrap_or_default();
        if status == 202 || status == 200 {
            return Ok(());
        }
        Err(self.error(status, &body, wait))
    }

    /// The signed-in account's address.
    pub fn me(&self, token: &str) -> Result<String, SendError> {
        let url = format!("{}/v1.0/me", self.api_base);
        let response = self
            .http
            .get(&url)
            .bearer_auth(token)
            .send()
            .map_err(|e| unreachable("Microsoft 365", &self.api_base, &e))?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = response.text().unwrap_or_default();
        if status != 200 {
            return Err(self.error(status, &body, wait));
        }
        let v: serde_json::Value = serde_json::from_str(&body)
            .map_err(|_| SendError::retry("Microsoft's account answer was not readable.", None))?;
        Ok(v["mail"]
            .as_str()
            .or_else(|| v["userPrincipalName"].as_str())
            .unwrap_or_default()
            .to_lowercase())
    }

    /// One page of the inbox's delta: from `link` (a next or delta link kept from before), or
    /// from the start.
    pub fn delta(&self, token: &str, link: Option<&str>) -> Result<Delta, SendError> {
        let url = match link {
            Some(l) => l.to_owned(),
            None => format!(
                "{}/v1.0/me/mailFolders/inbox/messages/delta?$select=id,subject,from,body,internetMessageId,internetMessageHeaders,receivedDateTime",
                self.api_base
            ),
        };
        let response = self
            .http
            .get(&url)
            .bearer_auth(token)
            .header("Prefer", "odata.maxpagesize=50")
            .send()
            .map_err(|e| unreachable("Microsoft 365", &self.api_base, &e))?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = response.text().unwrap_or_default();
        if status == 410 {
            return Ok(Delta::Stale);
        }
        if status != 200 {
            return Err(self.error(status, &body, wait));
        }
        let v: serde_json::Value = serde_json::from_str(&body)
            .map_err(|_| SendError::retry("Microsoft's delta was not readable.", None))?;
        let messages = v["value"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|m| m.get("@removed").is_none())
                    .map(|m| {
                        let content_type = m["body"]["contentType"].as_str().unwrap_or("text");
                        let content = m["body"]["content"].as_str().map(str::to_owned);
                        let html = content_type.eq_ignore_ascii_case("html");
                        InboundEmail {
                            id: m["id"].as_str().unwrap_or_default().to_owned(),
                            from: m["from"]["emailAddress"]["address"]
                                .as_str()
                                .unwrap_or_default()
                                .to_lowercase(),
                            from_name: m["from"]["emailAddress"]["name"]
                                .as_str()
                                .map(str::to_owned),
                            subject: m["subject"].as_str().unwrap_or_default().to_owned(),
                            text: if html { None } else { content.clone() },
                            html: if html { content } else { None },
                            message_id: m["internetMessageId"].as_str().map(|s| {
                                s.trim()
                                    .trim_start_matches('<')
                                    .trim_end_matches('>')
                                    .to_owned()
                            }),
                            in_reply_to: m["internetMessageHeaders"].as_array().and_then(
                                |headers| {
                                    headers.iter().find_map(|h| {
                                        h["name"]
                                            .as_str()?
                                            .eq_ignore_ascii_case("In-Reply-To")
                                            .then(|| {
                                                h["value"]
                                                    .as_str()
                                                    .unwrap_or_default()
                                                    .trim()
                                                    .trim_start_matches('<')
                                                    .trim_end_matches('>')
                                                    .to_owned()
                                            })
                                    })
                                },
                            ),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Delta::Page {
            messages,
            next_link: v["@odata.nextLink"].as_str().map(str::to_owned),
            delta_link: v["@odata.deltaLink"].as_str().map(str::to_owned),
        })
    }
}
