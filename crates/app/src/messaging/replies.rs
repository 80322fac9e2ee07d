//! Reading replies: a scheduled round over every connected Google Workspace and Microsoft 365
//! mailbox, incrementally (Gmail's history id, Graph's delta link), that logs each new email on
//! the contact it came from ("Email received") and keeps it as unread until opened. The HTML of
//! an email is cleaned with ammonia before it is kept, so nothing in it can run or load.

use chrono::Utc;
use domain::audit::{Actor, NewAuditEntry};
use domain::contact_log::{LogKind, NewLogEntry};
use domain::ids::WorkspaceId;
use domain::messaging::{Channel, EmailProviderKind};
use integrations::gmail::{Gmail, History};
use integrations::graph::{Delta, Graph};
use integrations::mime::InboundEmail;
use integrations::outbound::SendError;

use crate::messaging::providers::{self, OAuthMailbox, access_token, oauth_mailbox};
use crate::{App, AppError};

/// At most this many delta pages in one round (a first sync of a large inbox is skipped over
/// in rounds).
const MAX_PAGES: usize = 100;

/// HTML as it may be shown: no scripts, styles, event handlers, forms or images (which would
/// tell the sender the email was opened); links open safely.
pub fn clean_html(html: &str) -> String {
    ammonia::Builder::default()
        .rm_tags(["img"])
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

/// The text of an HTML email when it has no plain part.
fn html_to_text(html: &str) -> String {
    // Block ends become line breaks before the tags go.
    let mut spaced = html.to_owned();
    for tag in [
        "</p>", "</P>", "</div>", "</DIV>", "<br>", "<BR>", "<br/>", "<br />", "</li>", "</tr>",
        "</h1>", "</h2>", "</h3>",
    ] {
        spaced = spaced.replace(tag, &format!("{tag}\n"));
    }
    let stripped = ammonia::Builder::empty().clean(&spaced).to_string();
    stripped
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One round over every connected mailbox; answers how many new emails were taken in. A
/// mailbox that fails is logged and skipped, so one bad account does not stop the others.
pub fn poll(app: &App) -> Result<usize, AppError> {
    let all = app
        .db()
        .read(|c| storage::providers::all_email(c, &["google", "microsoft"]))?;
    let mut taken = 0;
    for (ws, _) in all {
        match poll_workspace(app, ws) {
            Ok(n) => taken += n,
            Err(e) => tracing::warn!(workspace = ws.0, cause = %e, "could not read replies"),
        }
    }
    Ok(taken)
}

fn failed(e: SendError) -> AppError {
    AppError::Internal(e.to_string())
}

/// Reads one workspace's mailbox since the last round.
pub fn poll_workspace(app: &App, ws: WorkspaceId) -> Result<usize, AppError> {
    let Some((kind, plain, secrets, _)) = providers::stored(app, ws)? else {
        return Ok(0);
    };
    if secrets.refresh_token.is_empty()
        || !matches!(
            kind,
            EmailProviderKind::Google | EmailProviderKind::Microsoft
        )
    {
        return Ok(0);
    }
    let account = plain.account.clone().unwrap_or_default();
    let (mailbox, api) = oauth_mailbox(ws, kind, &plain, &secrets);
    let token = access_token(app, &mailbox, false).map_err(failed)?;
    match kind {
        EmailProviderKind::Google => poll_gmail(
            app,
            &mailbox,
            &Gmail::new(&api),
            &token,
            plain.cursor,
            &account,
        ),
        EmailProviderKind::Microsoft => poll_graph(
            app,
            &mailbox,
            &Graph::new(&api),
            &token,
            plain.cursor,
            &account,
        ),
        _ => Ok(0),
    }
}

fn save_cursor(app: &App, ws: WorkspaceId, cursor: String) -> Result<(), AppError> {
    let Some((kind, mut plain, secrets, _)) = providers::stored(app, ws)? else {
        return Ok(());
    };
    plain.cursor = Some(cursor);
    let now = Utc::now();
    app.db()
        .write(|conn| providers::put(conn, app, ws, kind, &plain, &secrets, now))
}

fn poll_gmail(
    app: &App,
    mailbox: &OAuthMailbox,
    gmail: &Gmail,
    token: &str,
    cursor: Option<String>,
    account: &str,
) -> Result<usize, AppError> {
    let Some(start) = cursor else {
        let (_, history) = gmail.profile(token).map_err(failed)?;
        save_cursor(app, mailbox.ws, history)?;
        return Ok(0);
    };
    match gmail.history(token, &start).map_err(failed)? {
        History::Stale => {
            // Gmail forgot that far back: carry on from now (the gap is logged).
            let (_, history) = gmail.profile(token).map_err(failed)?;
            tracing::warn!(
                workspace = mailbox.ws.0,
                "Gmail history expired; reading replies from now on"
            );
            save_cursor(app, mailbox.ws, history)?;
            Ok(0)
        }
        History::Added {
            message_ids,
            history_id,
        } => {
            let mut taken = 0;
            for id in message_ids {
                let email = gmail.message(token, &id).map_err(failed)?;
                taken += usize::from(take(app, mailbox.ws, "gmail", &email, account)?);
            }
            save_cursor(app, mailbox.ws, history_id)?;
            Ok(taken)
        }
    }
}

fn poll_graph(
    app: &App,
    mailbox: &OAuthMailbox,
    graph: &Graph,
    token: &str,
    cursor: Option<String>,
    account: &str,
) -> Result<usize, AppError> {
    // No delta link yet: the first round walks the inbox as it is, taking nothing in.
    let first_round = cursor.is_none();
    let mut link = cursor;
    let mut taken = 0;
    for _ in 0..MAX_PAGES {
        match graph.delta(token, link.as_deref()).map_err(failed)? {
            Delta::Stale => {
                app.db().write(|conn| {
                    let Some((kind, mut plain, secrets, _)) = providers::stored(app, mailbox.ws)?
                    else {
                        return Ok(());
                    };
                    plain.cursor = None;
                    providers::put(conn, app, mailbox.ws, kind, &plain, &secrets, Utc::now())
                })?;
                return Ok(taken);
            }
            Delta::Page {
                messages,
                next_link,
                delta_link,
            } => {
                if !first_round {
                    for email in &messages {
                        taken += usize::from(take(app, mailbox.ws, "graph", email, account)?);
                    }
                }
                if let Some(done) = delta_link {
                    save_cursor(app, mailbox.ws, done)?;
                    return Ok(taken);
                }
                match next_link {
                    Some(next) => link = Some(next),
                    None => return Ok(taken),
                }
            }
        }
    }
    if let Some(l) = link {
        save_cursor(app, mailbox.ws, l)?;
    }
    Ok(taken)
}

/// Takes one email in, once: logged on every contact of the workspace with the sender's
/// address, and kept as unread. False when it was taken before (or is our own).
fn take(
    app: &App,
    ws: WorkspaceId,
    source: &str,
    email: &InboundEmail,
    account: &str,
) -> Result<bool, AppError> {
    if email.from.is_empty() || email.from.eq_ignore_ascii_case(account) {
        return Ok(false);
    }
    let html = email.html.as_deref().map(clean_html);
    let text = email
        .text
        .clone()
        .filter(|t| !t.trim().is_empty())
        .or_else(|| email.html.as_deref().map(html_to_text))
        .unwrap_or_default();
    let now = Utc::now();
    app.db().write(|conn| {
        if !storage::webhook_receipts::record(conn, source, &format!("{}:{}", ws.0, email.id), now)?
        {
            return Ok(false);
        }
        let owner = storage::workspaces::owner_of(conn, ws)?;
        let contacts = storage::contacts::with_email(conn, ws, &email.from)?;
        let inbound = storage::inbound::insert(
            conn,
            &storage::inbound::NewInbound {
                user: owner,
                workspace: Some(ws),
                contact: contacts.first().copied(),
                channel: Channel::Email,
                provider_message_id: &format!("{source}:{}", email.id),
                sender: &email.from,
                recipient: account,
                body: &text,
            },
            now,
        )?;
        // A reply to one of our messages: noted on that message too.
        if let Some(parent) = email.in_reply_to.as_deref()
            && let Some(message) = storage::messages::find_by_rfc_id(conn, ws, parent)?
        {
            storage::messages::add_event(conn, message, "replied", &email.subject, now)?;
        }
        for contact in &contacts {
            storage::contact_log::insert(
                conn,
                *contact,
                &NewLogEntry::new(
                    LogKind::Email,
                    format!("Email received: {}", email.subject),
                    now,
                )
                .body(text.clone())
                .meta(serde_json::json!({
                    "inbound_id": inbound,
                    "from": email.from,
                    "html": html,
                    "message_id": email.message_id,
                    "in_reply_to": email.in_reply_to,
                })),
                None,
                now,
            )?;
            storage::contacts::reindex(conn, *contact)?;
        }
        storage::audit::insert(
            conn,
            &NewAuditEntry::new(
                Actor::Job {
                    name: "read-replies".into(),
                },
                "email.received",
                "inbound_message",
            )
            .owner(Some(owner))
            .workspace(ws)
            .entity(inbound)
            .after(&serde_json::json!({ "contacts": contacts.len() })),
            now,
        )?;
        Ok::<_, AppError>(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_cleaned_of_everything_that_could_run_or_call_home() {
        let dirty = r#"<p onclick="steal()">Hi <b>there</b><script>alert(1)</script>
            <img src="https://tracker.example/pixel.gif"><a href="javascript:alert(1)">x</a>
            <a href="https://example.com">ok</a><style>p{}</style><iframe src="https://e.x"></iframe></p>"#;
        let clean = clean_html(dirty);
        for bad in [
            "onclick",
            "<script",
            "alert(1)",
            "<img",
            "tracker.example",
            "javascript:",
            "<style",
            "<iframe",
        ] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
        assert!(
            clean.contains("<b>there</b>") && clean.contains(r#"href="https://example.com""#),
            "{clean}"
        );
        assert!(clean.contains("noopener"), "{clean}");
        assert_eq!(
            html_to_text("<p>Hi &amp; bye</p><p>Two<br>lines</p>"),
            "Hi & bye\nTwo\nlines"
        );
    }
}
