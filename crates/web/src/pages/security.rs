//! Sign-in security: the optional TOTP second step, and the list of signed-in sessions with a
//! way to end any of them.

use actix_web::{HttpResponse, web};
use app::AppError;
use domain::ids::SessionId;
use domain::session::SessionInfo;
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::account::{Tab, tabs};
use crate::pages::{flash, html, html_unprocessable, see_other};
use crate::security::rate_limit;
use crate::state::blocking;
use crate::views::components::{Field, csrf_field, form_error, when};
use crate::views::layout::{FlashKind, Section};

/// The secret being set up, kept server-side in the session until confirmed.
const KEY_TOTP_SETUP: &str = "totp_setup";

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
}

fn totp_section(who: &SignedIn, setup: Option<(String, String)>, error: Option<&str>) -> Markup {
    html! {
        section ."card space-y-3" #two-step {
            h2 ."text-lg font-semibold" { "Two-step sign-in" }
            @if who.user.totp_enabled {
                p ."text-emerald-800" { "On. Signing in asks for a code from your authenticator app." }
                form ."space-y-3" method="post" action="/settings/totp/disable" data-confirm="Turn off two-step sign-in?" {
                    (csrf_field(&who.csrf))
                    (Field::new("current_password", "Current password (to turn it off)").kind("password").required()
                        .autocomplete("current-password").error(error).render())
                    button ."btn btn-danger" type="submit" { "Turn off" }
                }
            } @else if let Some((secret, uri)) = setup {
                p { "Add pi-crm to your authenticator app (Google Authenticator, 1Password, Authy, ...):" }
                ol ."list-decimal space-y-2 pl-5 text-sm" {
                    li { "Choose “enter a setup key” and type this key: " code #totp-secret ."break-all rounded bg-slate-100 px-1 font-mono" { (secret) } }
                    li { "Or, on this phone, open " a ."text-blue-700 underline" href=(uri) { "the setup link" } "." }
                    li { "Type the 6-digit code the app shows." }
                }
                (form_error(error))
                form ."space-y-3" method="post" action="/settings/totp/enable" {
                    (csrf_field(&who.csrf))
                    (Field::new("code", "Code").required().autocomplete("one-time-code").render())
                    button ."btn btn-primary" type="submit" { "Turn on" }
                }
            } @else {
                p ."text-slate-700" { "Off. Turn it on so a stolen password is not enough to sign in." }
                (form_error(error))
                form ."space-y-3" method="post" action="/settings/totp/start" {
                    (csrf_field(&who.csrf))
                    (Field::new("current_password", "Current password").kind("password").required()
                        .autocomplete("current-password").render())
                    button ."btn btn-primary" type="submit" { "Set up two-step sign-in" }
                }
            }
        }
    }
}

fn sessions_section(who: &SignedIn, sessions: &[SessionInfo]) -> Markup {
    html! {
        section ."card space-y-3" #sessions {
            h2 ."text-lg font-semibold" { "Where you're signed in" }
            ul ."divide-y divide-slate-200" {
                @for s in sessions {
                    li ."flex flex-wrap items-center gap-3 py-3" {
                        div ."min-w-0 flex-1" {
                            p ."truncate text-sm font-medium" { @if s.user_agent.is_empty() { "Unknown browser" } @else { (s.user_agent) } }
                            p ."text-xs text-slate-600" {
                                (s.ip) " · signed in " (when(s.created_at)) " · last active " (when(s.last_seen_at))
                            }
                        }
                        @if Some(s.id) == who.session_id {
                            span ."rounded bg-emerald-100 px-2 py-1 text-xs text-emerald-900" { "This device" }
                        } @else {
                            form method="post" action=(format!("/settings/sessions/{}/end", s.id)) {
                                (csrf_field(&who.csrf))
                                button ."btn" type="submit" { "Sign out" }
                            }
                        }
                    }
                }
            }
            @if sessions.len() > 1 {
                form method="post" action="/settings/sessions/end-others" data-confirm="Sign out of every other device?" {
                    (csrf_field(&who.csrf))
                    button ."btn btn-danger" type="submit" { "Sign out everywhere else" }
                }
            }
        }
    }
}

async fn render(who: &SignedIn, totp_error: Option<&str>) -> Result<Markup, PageError> {
    let uid = who.user.id;
    let sessions = blocking(&who.state.app, move |app| app::sessions::list(app, uid)).await?;
    let setup = pending_setup(who);
    who.render("Sign-in & security", None, Section::Account, |_| {
        html! {
            (tabs(Tab::Security))
            div ."grid max-w-3xl gap-6" {
                (totp_section(who, setup, totp_error))
                (sessions_section(who, &sessions))
            }
        }
    })
    .await
}

pub async fn show(who: SignedIn) -> Result<HttpResponse, PageError> {
    Ok(html(render(&who, None).await?))
}

/// The setup key being confirmed. Kept in the session sealed with the installation key, so the
/// secret is never in the sessions table in clear.
fn pending_setup(who: &SignedIn) -> Option<(String, String)> {
    let sealed = who.session.get::<String>(KEY_TOTP_SETUP).ok().flatten()?;
    let plain = who.state.app.secrets().decrypt(&sealed).ok()?;
    serde_json::from_slice(&plain).ok()
}

/// Password checks on a signed-in account share the per-account sign-in budget, so a borrowed
/// session cannot be used to guess the password.
pub fn throttle_password_check(who: &SignedIn) -> Result<(), PageError> {
    rate_limit::check(
        &who.state.limiters.login_account,
        &format!("pw:{}", who.user.id.0),
    )
    .map_err(|retry_after| PageError::TooMany {
        retry_after,
        message: format!("Too many password attempts. Wait {retry_after} seconds, then try again."),
    })
}

pub async fn start_totp(
    who: SignedIn,
    input: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    throttle_password_check(&who)?;
    let caller = who.caller.clone();
    let password = input.current_password.clone();
    match blocking(&who.state.app, move |app| {
        app::accounts::begin_totp(app, &caller, &password)
    })
    .await
    {
        Ok(enrollment) => {
            let plain = serde_json::to_vec(&(enrollment.secret_base32, enrollment.otpauth_uri))
                .map_err(|_| PageError::Internal)?;
            let sealed = who.state.app.secrets().encrypt(&plain);
            who.session
                .insert(KEY_TOTP_SETUP, sealed)
                .map_err(|_| PageError::Internal)?;
            Ok(see_other("/settings/security#two-step"))
        }
        Err(AppError::Validation(v)) => {
            Ok(html_unprocessable(render(&who, Some(&v.message)).await?))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn enable_totp(
    who: SignedIn,
    input: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let Some((secret, _)) = pending_setup(&who) else {
        return Ok(see_other("/settings/security"));
    };
    let caller = who.caller.clone();
    let code = input.code.clone();
    match blocking(&who.state.app, move |app| {
        app::accounts::enable_totp(app, &caller, &secret, &code)
    })
    .await
    {
        Ok(()) => {
            let _ = who.session.remove(KEY_TOTP_SETUP);
            flash(&who.session, FlashKind::Success, "Two-step sign-in is on.");
            Ok(see_other("/settings/security"))
        }
        Err(AppError::Validation(v)) => {
            Ok(html_unprocessable(render(&who, Some(&v.message)).await?))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn disable_totp(
    who: SignedIn,
    input: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    throttle_password_check(&who)?;
    let caller = who.caller.clone();
    let password = input.current_password.clone();
    match blocking(&who.state.app, move |app| {
        app::accounts::disable_totp(app, &caller, &password)
    })
    .await
    {
        Ok(()) => {
            flash(&who.session, FlashKind::Info, "Two-step sign-in is off.");
            Ok(see_other("/settings/security"))
        }
        Err(AppError::Validation(v)) => {
            let mut who = who;
            // Re-read so the page shows TOTP as still on.
            let uid = who.user.id;
            who.user =
                blocking(&who.state.app, move |app| app::accounts::get_user(app, uid)).await?;
            Ok(html_unprocessable(render(&who, Some(&v.message)).await?))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn end_session(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let caller = who.caller.clone();
    let id = SessionId(path.into_inner());
    blocking(&who.state.app, move |app| {
        app::sessions::end(app, &caller, id)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        "That device is signed out.",
    );
    Ok(see_other("/settings/security#sessions"))
}

pub async fn end_others(who: SignedIn) -> Result<HttpResponse, PageError> {
    let caller = who.caller.clone();
    let keep = who.session_id;
    let n = blocking(&who.state.app, move |app| {
        app::sessions::end_others(app, &caller, keep)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        format!("Signed out of {n} other session(s)."),
    );
    Ok(see_other("/settings/security#sessions"))
}
