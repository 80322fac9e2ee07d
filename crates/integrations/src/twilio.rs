//! Twilio's Messaging REST API (`POST /2010-04-01/Accounts/{sid}/Messages.json`, Basic auth
//! `sid:token`), through this small client rather than `twilio-async`, which cannot be pointed
//! at another host (decision 0017). PROVIDERS.md section 2.

use crate::outbound::{SendError, excerpt, http_client, retry_after, unreachable};

#[derive(Clone)]
pub struct Twilio {
    base_url: String,
    account_sid: String,
    auth_token: String,
    http: reqwest::blocking::Client,
}

impl std::fmt::Debug for Twilio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twilio")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// Twilio's code for a recipient who replied STOP: not sent, not charged.
pub const OPTED_OUT: i64 = 21610;

#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub from: String,
    pub to: String,
    pub body: String,
    pub status_callback: Option<String>,
}

impl Twilio {
    pub fn new(base_url: &str, account_sid: &str, auth_token: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            account_sid: account_sid.trim().to_owned(),
            auth_token: auth_token.to_owned(),
            http: http_client(),
        }
    }

    /// Sends one text; answers the message SID.
    pub fn send(&self, text: &Text) -> Result<String, SendError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, self.account_sid
        );
        let mut form = vec![
            ("To", text.to.clone()),
            ("From", text.from.clone()),
            ("Body", text.body.clone()),
        ];
        if let Some(callback) = &text.status_callback {
            form.push(("StatusCallback", callback.clone()));
        }
        let response = self
            .http
            .post(&url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&form)
            .send()
            .map_err(|e| unreachable("Twilio", &self.base_url, &e))?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = response.text().unwrap_or_default();
        let json = serde_json::from_str::<serde_json::Value>(&body).ok();
        if status == 200 || status == 201 {
            return json
                .as_ref()
                .and_then(|v| v.get("sid")?.as_str().map(str::to_owned))
                .ok_or_else(|| {
                    SendError::retry(
                        format!(
                            "Twilio answered {status} without a message SID: {}",
                            excerpt(&body, 120)
                        ),
                        None,
                    )
                });
        }
        let code = json.as_ref().and_then(|v| v.get("code")?.as_i64());
        let said = json
            .as_ref()
            .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| excerpt(&body, 200));
        Err(match (status, code) {
            (_, Some(OPTED_OUT)) => SendError::OptedOut {
                message: "The recipient replied STOP to this number: texts to them are blocked \
                          until they reply START."
                    .into(),
            },
            (401, _) => SendError::Settings {
                message: "Twilio refused the account SID or auth token: enter them again in \
                          your text settings."
                    .into(),
            },
            (404, _) => SendError::Settings {
                message: format!(
                    "Twilio does not know the account {}: check the account SID.",
                    self.account_sid
                ),
            },
            (429, _) => SendError::retry(
                "Twilio asked pi-crm to slow down; it will try again shortly.",
                wait,
            ),
            (500..=599, _) => SendError::retry(
                format!("Twilio had a server error ({status}); pi-crm will try again."),
                wait,
            ),
            (_, Some(21211)) => SendError::Rejected {
                message: format!("Twilio says the number is not valid: {said}"),
            },
            (_, Some(21212 | 21603 | 21606)) => SendError::Settings {
                message: format!(
                    "Twilio refused the From number: check it in your text settings ({said})."
                ),
            },
            _ => SendError::Rejected {
                message: format!("Twilio refused the text: {said}"),
            },
        })
    }
}
