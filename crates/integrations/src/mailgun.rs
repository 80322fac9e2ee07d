//! Mailgun's HTTP sending API (`POST /v3/{domain}/messages`, Basic auth `api:<key>`), with
//! its answers turned into [`SendError`]s a person can act on. PROVIDERS.md section 1.

use crate::outbound::{SendError, excerpt, http_client, retry_after, unreachable};

/// A Mailgun sending account: the base URL comes from the region or from configuration.
#[derive(Clone)]
pub struct Mailgun {
    base_url: String,
    domain: String,
    api_key: String,
    http: reqwest::blocking::Client,
}

impl std::fmt::Debug for Mailgun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailgun")
            .field("base_url", &self.base_url)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// One email as Mailgun takes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MailgunEmail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Extra MIME headers (`h:Name`), e.g. Message-ID and List-Unsubscribe.
    pub headers: Vec<(String, String)>,
    /// Custom variables (`v:name`), which come back in webhooks as `user-variables`.
    pub variables: Vec<(String, String)>,
    pub tags: Vec<String>,
}

impl Mailgun {
    pub fn new(base_url: &str, domain: &str, api_key: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            domain: domain.trim().to_owned(),
            api_key: api_key.to_owned(),
            http: http_client(),
        }
    }

    /// Sends one email; answers Mailgun's message id without its angle brackets, the form
    /// webhooks use.
    pub fn send(&self, email: &MailgunEmail) -> Result<String, SendError> {
        let url = format!("{}/v3/{}/messages", self.base_url, self.domain);
        let mut form: Vec<(String, String)> = vec![
            ("from".into(), email.from.clone()),
            ("to".into(), email.to.clone()),
            ("subject".into(), email.subject.clone()),
            ("text".into(), email.text.clone()),
        ];
        if let Some(html) = &email.html {
            form.push(("html".into(), html.clone()));
        }
        for (name, value) in &email.headers {
            form.push((format!("h:{name}"), value.clone()));
        }
        for (name, value) in &email.variables {
            form.push((format!("v:{name}"), value.clone()));
        }
        for tag in &email.tags {
            form.push(("o:tag".into(), tag.clone()));
        }
        let response = self
            .http
            .post(&url)
            .basic_auth("api", Some(&self.api_key))
            .form(&form)
            .send()
            .map_err(|e| unreachable("Mailgun", &self.base_url, &e))?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = response.text().unwrap_or_default();
        if status == 200 {
            #[derive(serde::Deserialize)]
            struct Accepted {
                id: String,
            }
            let accepted: Accepted = serde_json::from_str(&body).map_err(|_| {
                SendError::retry(
                    format!(
                        "Mailgun answered 200 with an unexpected body: {}",
                        excerpt(&body, 120)
                    ),
                    None,
                )
            })?;
            return Ok(accepted
                .id
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned());
        }
        Err(self.error(status, &body, wait))
    }

    fn error(&self, status: u16, body: &str, wait: Option<std::time::Duration>) -> SendError {
        // Mailgun's errors are `{"message": "..."}`, but a 401 may be a bare `Forbidden`.
        let said = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| excerpt(body, 200));
        match status {
            401 => SendError::Settings {
                message: "Mailgun refused the API key: paste the domain's sending key again in \
                          the workspace's email settings."
                    .into(),
            },
            403 => SendError::Settings {
                message: format!(
                    "Mailgun accepted the key but will not send for {}: check that the domain \
                     is verified and that the key belongs to it (Mailgun said: {said}).",
                    self.domain
                ),
            },
            404 => SendError::Settings {
                message: format!(
                    "Mailgun does not know the domain {} at {}: check the domain's spelling and \
                     its region (a domain in the EU needs the EU region).",
                    self.domain, self.base_url
                ),
            },
            413 => SendError::Rejected {
                message: "The email is larger than Mailgun takes (25 MB): make it smaller.".into(),
            },
            429 => SendError::retry(
                "Mailgun asked pi-crm to slow down; it will try again shortly.",
                wait,
            ),
            500..=599 => SendError::retry(
                format!("Mailgun had a server error ({status}); pi-crm will try again."),
                wait,
            ),
            _ => SendError::Rejected {
                message: format!("Mailgun refused the email: {said}"),
            },
        }
    }
}
