//! The OAuth 2.0 authorization-code flow with refresh tokens, as Google and Microsoft run it
//! (PROVIDERS.md 3.1 and 4.1): the consent URL, the code exchange and the refresh, form posts
//! to a token URL taken from configuration. Small enough that a library would add more than
//! it saves (decision 0017).

use serde::Deserialize;

use crate::outbound::{SendError, excerpt, http_client, unreachable};

#[derive(Clone)]
pub struct OAuthClient {
    provider: &'static str,
    authorize_url: String,
    token_url: String,
    client_id: String,
    client_secret: String,
    http: reqwest::blocking::Client,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("provider", &self.provider)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What a token endpoint gives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: i64,
    /// Given on the code exchange (with offline access); Microsoft also rotates it on refresh.
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl OAuthClient {
    /// `provider` names the service in messages ("Google", "Microsoft").
    pub fn new(
        provider: &'static str,
        authorize_url: &str,
        token_url: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        Self {
            provider,
            authorize_url: authorize_url.to_owned(),
            token_url: token_url.to_owned(),
            client_id: client_id.trim().to_owned(),
            client_secret: client_secret.to_owned(),
            http: http_client(),
        }
    }

    /// The consent page to send the person to.
    pub fn authorize_url(
        &self,
        redirect_uri: &str,
        scopes: &str,
        state: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let mut params = vec![
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", scopes),
            ("state", state),
        ];
        params.extend_from_slice(extra);
        let query = serde_urlencoded::to_string(&params).unwrap_or_default();
        format!("{}?{query}", self.authorize_url)
    }

    /// Trades the code from the redirect for tokens.
    pub fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        scopes: Option<&str>,
    ) -> Result<Tokens, SendError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
        ];
        if let Some(scopes) = scopes {
            form.push(("scope", scopes));
        }
        self.token(&form)
    }

    /// A fresh access token from the refresh token.
    pub fn refresh(&self, refresh_token: &str, scopes: Option<&str>) -> Result<Tokens, SendError> {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
        ];
        if let Some(scopes) = scopes {
            form.push(("scope", scopes));
        }
        self.token(&form)
    }

    fn token(&self, form: &[(&str, &str)]) -> Result<Tokens, SendError> {
        let response = self
            .http
            .post(&self.token_url)
            .form(form)
            .send()
            .map_err(|e| unreachable(self.provider, &self.token_url, &e))?;
        let status = response.status().as_u16();
        let body = response.text().unwrap_or_default();
        if status == 200 {
            return serde_json::from_str(&body).map_err(|_| {
                SendError::retry(
                    format!(
                        "{} answered the token request with an unexpected body: {}",
                        self.provider,
                        excerpt(&body, 120)
                    ),
                    None,
                )
            });
        }
        let error: Option<TokenError> = serde_json::from_str(&body).ok();
        let code = error.as_ref().map(|e| e.error.as_str()).unwrap_or("");
        let said = error
            .as_ref()
            .and_then(|e| e.error_description.clone())
            .map(|d| d.lines().next().unwrap_or_default().to_owned())
            .unwrap_or_else(|| excerpt(&body, 160));
        Err(match (status, code) {
            (_, "invalid_grant") => SendError::Settings {
                message: format!(
                    "The {} connection has expired or was revoked: reconnect the account in the \
                     workspace's email settings ({said}).",
                    self.provider
                ),
            },
            (_, "invalid_client" | "unauthorized_client") | (401, _) => SendError::Settings {
                message: format!(
                    "{} refused the client ID or secret: enter them again in the workspace's \
                     email settings.",
                    self.provider
                ),
            },
            (429 | 500..=599, _) => SendError::retry(
                format!(
                    "{} could not give a token just now ({status}); pi-crm will try again.",
                    self.provider
                ),
                None,
            ),
            _ => SendError::Settings {
                message: format!("{} refused the token request: {said}", self.provider),
            },
        })
    }
}
