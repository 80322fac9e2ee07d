//! Connecting a Google Workspace or Microsoft 365 mailbox: the consent URL with a signed,
//! short-lived state (no server-side session needed, and a state made for one user is
//! useless to another), then the code exchange that stores the refresh token sealed and
//! reads which mailbox was connected.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use domain::ids::{UserId, WorkspaceId};
use domain::messaging::EmailProviderKind;
use domain::validation::ValidationError;
use integrations::gmail::Gmail;
use integrations::graph::Graph;

use crate::messaging::providers::{self, oauth_mailbox};
use crate::secrets::random_token;
use crate::{App, AppError, Caller};

/// A state is good for this long: enough to sign in and consent.
const STATE_TTL_SECS: i64 = 15 * 60;

/// Where the provider sends the person back.
pub fn redirect_uri(app: &App) -> String {
    let base = app.settings().public_base();
    format!("{}/oauth/callback", base.trim_end_matches('/'))
}

/// The provider's consent page for the workspace's mailbox.
pub fn start(app: &App, caller: &Caller, ws: WorkspaceId) -> Result<String, AppError> {
    app.db()
        .read(|c| storage::workspaces::get(c, caller.user_id, ws))?;
    let Some((kind, plain, secrets, _)) = providers::stored(app, ws)? else {
        return Err(not_oauth());
    };
    let Some(oauth) = providers::oauth_kind(kind, &plain) else {
        return Err(not_oauth());
    };
    let payload = format!(
        "{}.{}.{}.{}",
        ws.0,
        caller.user_id.0,
        Utc::now().timestamp(),
        random_token(9)
    );
    let signature = app.secrets().sign("oauth-state", payload.as_bytes());
    let state = format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), signature);
    let (mailbox, _) = oauth_mailbox(ws, kind, &plain, &secrets);
    let extra: &[(&str, &str)] = if oauth == EmailProviderKind::Google {
        &[("access_type", "offline"), ("prompt", "consent")]
    } else {
        &[("response_mode", "query")]
    };
    Ok(mailbox.oauth.authorize_url(
        &redirect_uri(app),
        providers::oauth_scopes(kind, &plain),
        &state,
        extra,
    ))
}

fn not_oauth() -> AppError {
    ValidationError::new(
        "kind",
        "Save a Google Workspace or Microsoft 365 account (or SMTP signing in with one) with its client ID and secret first.",
    )
    .into()
}

/// Checks a state from the redirect: signed by us, for this user, recent. Answers the
/// workspace it was made for.
fn check_state(app: &App, user: UserId, state: &str) -> Result<WorkspaceId, AppError> {
    let refused = || -> AppError {
        ValidationError::new(
            "state",
            "This sign-in link is not valid any more: start the connection again from the email settings.",
        )
        .into()
    };
    let (encoded, signature) = state.rsplit_once('.').ok_or_else(refused)?;
    let payload = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| refused())?;
    if !app.secrets().verify("oauth-state", &payload, signature) {
        return Err(refused());
    }
    let payload = String::from_utf8(payload).map_err(|_| refused())?;
    let parts: Vec<&str> = payload.split('.').collect();
    let [ws, uid, at, _] = parts.as_slice() else {
        return Err(refused());
    };
    let (ws, uid, at): (i64, i64, i64) = (
        ws.parse().map_err(|_| refused())?,
        uid.parse().map_err(|_| refused())?,
        at.parse().map_err(|_| refused())?,
    );
    if uid != user.0 || (Utc::now().timestamp() - at).abs() > STATE_TTL_SECS {
        return Err(refused());
    }
    Ok(WorkspaceId(ws))
}

/// The redirect came back with a code: trade it for tokens, learn which mailbox it is,
/// and keep the refresh token. Answers the workspace and the mailbox's address.
pub fn finish(
    app: &App,
    caller: &Caller,
    state: &str,
    code: &str,
) -> Result<(WorkspaceId, String), AppError> {
    let ws = check_state(app, caller.user_id, state)?;
    app.db()
        .read(|c| storage::workspaces::get(c, caller.user_id, ws))?;
    let Some((kind, mut plain, mut secrets, _)) = providers::stored(app, ws)? else {
        return Err(not_oauth());
    };
    let (mailbox, api) = oauth_mailbox(ws, kind, &plain, &secrets);
    let failed = |e: integrations::outbound::SendError| -> AppError {
        ValidationError::new("code", format!("The connection did not complete: {e}")).into()
    };
    let oauth = providers::oauth_kind(kind, &plain).ok_or_else(not_oauth)?;
    let scope =
        (oauth == EmailProviderKind::Microsoft).then(|| providers::oauth_scopes(kind, &plain));
    let tokens = mailbox
        .oauth
        .exchange(code, &redirect_uri(app), scope)
        .map_err(failed)?;
    let Some(refresh) = tokens.refresh_token.clone() else {
        return Err(ValidationError::new(
            "code",
            "The provider gave no refresh token, so pi-crm could not keep sending: remove pi-crm's access in the account's security settings and connect again.",
        )
        .into());
    };
    let (account, cursor) = match kind {
        // SMTP signs in as its username; its token is for SMTP only (no mailbox API).
        EmailProviderKind::Smtp => (plain.username.to_lowercase(), None),
        EmailProviderKind::Google => {
            let (email, history) = Gmail::new(&api)
                .profile(&tokens.access_token)
                .map_err(failed)?;
            (email, Some(history))
        }
        _ => (
            Graph::new(&api).me(&tokens.access_token).map_err(failed)?,
            None,
        ),
    };
    let now = Utc::now();
    secrets.refresh_token = refresh;
    secrets.access_token = tokens.access_token;
    secrets.access_expires_at = now.timestamp() + tokens.expires_in.max(60);
    plain.account = Some(account.clone());
    plain.cursor = cursor;
    if plain.from.is_empty() {
        plain.from = account.clone();
    }
    app.db().write(|conn| {
        providers::put(conn, app, ws, kind, &plain, &secrets, now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("email_provider.connect", "workspace")
                .workspace(ws)
                .entity(ws)
                .after(&serde_json::json!({ "kind": kind.as_str(), "account": account })),
            now,
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok((ws, account))
}
