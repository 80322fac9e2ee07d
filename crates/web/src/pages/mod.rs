//! Browser pages and their htmx fragments, one module per feature, page and fragments side by
//! side. Handlers parse the request, call `app` on a blocking thread, and render with maud.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod backups;
pub mod board;
pub mod contact;
pub mod contacts;
pub mod fields;
pub mod health;
pub mod home;
pub mod imports;
pub mod lists;
pub mod login;
pub mod merge;
pub mod messages;
pub mod security;
pub mod setup;
pub mod shared;
pub mod workspace_settings;
pub mod workspaces;

use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::header;
use domain::workspace::Workspace;
use maud::Markup;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::state::blocking;
use crate::views::layout::{self, Chrome, Flash, FlashKind, Section};

/// Session key of the workspace the person last opened.
pub const KEY_CURRENT_WORKSPACE: &str = "ws";
const KEY_FLASH: &str = "flash";

pub fn html(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// The same page again with what went wrong; 422 so tools can tell it was refused.
pub fn html_unprocessable(markup: Markup) -> HttpResponse {
    HttpResponse::UnprocessableEntity()
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// Redirect after a successful form post (303, so the browser follows with GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

pub fn flash(session: &Session, kind: FlashKind, text: impl Into<String>) {
    let mut list: Vec<Flash> = session.get(KEY_FLASH).ok().flatten().unwrap_or_default();
    list.push(Flash {
        kind,
        text: text.into(),
    });
    // A failed insert only loses a toast; the action itself already succeeded.
    let _ = session.insert(KEY_FLASH, list);
}

fn take_flashes(session: &Session) -> Vec<Flash> {
    // Only touch the session when there is something to take: any change means a write.
    if !session.contains_key(KEY_FLASH) {
        return Vec::new();
    }
    session
        .remove_as::<Vec<Flash>>(KEY_FLASH)
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// Only same-site paths are followed after sign-in, never another host. Browsers drop tabs and
/// line breaks and read a backslash as a slash, so a path holding any of them is refused.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c.is_control() || c == '\\' || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

impl SignedIn {
    /// Builds the frame: the workspace list for the switcher, the current workspace, toasts.
    pub async fn chrome(&self, current: Option<Workspace>) -> Result<Chrome, PageError> {
        let uid = self.user.id;
        let (workspaces, health) = blocking(&self.state.app, move |app| {
            Ok((
                app::workspaces::all_active(app, uid)?,
                app::backup::health(app)?,
            ))
        })
        .await?;
        let backup_warning = match health {
            app::backup::Health::Fine => None,
            app::backup::Health::NeverBackedUp => Some("No backup has been taken yet.".to_owned()),
            app::backup::Health::Stale { hours } => {
                Some(format!("The last good backup is {hours} hours old."))
            }
            app::backup::Health::LastFailed { .. } => Some("The last backup failed.".to_owned()),
        };
        let current = match current {
            Some(ws) => {
                let remembered = self
                    .session
                    .get::<i64>(KEY_CURRENT_WORKSPACE)
                    .ok()
                    .flatten();
                if remembered != Some(ws.id.0) {
                    let _ = self.session.insert(KEY_CURRENT_WORKSPACE, ws.id.0);
                }
                Some(ws)
            }
            None => {
                let remembered = self
                    .session
                    .get::<i64>(KEY_CURRENT_WORKSPACE)
                    .ok()
                    .flatten();
                workspaces
                    .iter()
                    .find(|w| Some(w.id.0) == remembered)
                    .cloned()
            }
        };
        Ok(Chrome {
            user: self.user.clone(),
            workspaces,
            current,
            csrf: self.csrf.clone(),
            flashes: take_flashes(&self.session),
            backup_warning,
        })
    }

    pub async fn render(
        &self,
        title: &str,
        current: Option<Workspace>,
        section: Section,
        body: impl FnOnce(&Chrome) -> Markup,
    ) -> Result<Markup, PageError> {
        let chrome = self.chrome(current).await?;
        let content = body(&chrome);
        Ok(layout::page(&chrome, title, section, content))
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_goes_to_our_own_paths() {
        let check = |next: &str, expected: &str| {
            assert_eq!(safe_next(Some(next)), expected, "{next:?}");
        };
        check("/w/3/settings?tab=1", "/w/3/settings?tab=1");
        check("//evil.example", "/");
        check("/\t/evil.example", "/");
        check("/\\evil.example", "/");
        check("/\nLocation: x", "/");
        check("https://evil.example", "/");
        check("", "/");
        assert_eq!(safe_next(None), "/");
    }
}
