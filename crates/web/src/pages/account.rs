//! Account settings: the name shown for you, and your password.

use actix_web::{HttpResponse, web};
use app::AppError;
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::{flash, html, html_unprocessable, see_other};
use crate::state::blocking;
use crate::views::components::{Field, csrf_field};
use crate::views::layout::{FlashKind, Section};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Account,
    Security,
    Fields,
    ApiKeys,
    Activity,
    /// Pages reached from the tabs that are not settings themselves.
    Elsewhere,
}

/// The tabs across the top of every account settings page.
pub fn tabs(active: Tab) -> Markup {
    let tab = |href: &str, label: &str, this: Tab| {
        let on = this == active;
        html! {
            a ."whitespace-nowrap rounded-md px-3 py-2 text-sm font-medium"
                .(if on { "bg-blue-600 text-white" } else { "text-slate-700 hover:bg-slate-200" })
                href=(href) aria-current=[on.then_some("page")] { (label) }
        }
    };
    html! {
        h1 ."mb-4 text-2xl font-semibold" { "Your settings" }
        nav ."mb-6 flex gap-1 overflow-x-auto" aria-label="Settings" {
            (tab("/settings/account", "Account", Tab::Account))
            (tab("/settings/security", "Sign-in & security", Tab::Security))
            (tab("/settings/fields", "Custom fields", Tab::Fields))
            (tab("/settings/api-keys", "API keys", Tab::ApiKeys))
            (tab("/settings/audit", "Activity", Tab::Activity))
            (tab("/shared", "Shared with me", Tab::Elsewhere))
            (tab("/backups", "Backups", Tab::Elsewhere))
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
}

#[derive(Deserialize, Default)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

struct Errors<'a> {
    profile: Option<&'a str>,
    password: Option<(&'a str, &'a str)>,
}

fn body(who: &SignedIn, display_name: &str, errors: Errors<'_>) -> Markup {
    let perr = |field: &str| errors.password.filter(|(f, _)| *f == field).map(|(_, m)| m);
    html! {
        (tabs(Tab::Account))
        div ."grid max-w-3xl gap-6" {
            form ."card space-y-4" method="post" action="/settings/account" {
                h2 ."text-lg font-semibold" { "Profile" }
                (csrf_field(&who.csrf))
                p ."text-sm text-slate-600" { "Username: " strong { (who.user.username.as_str()) } }
                (Field::new("display_name", "Your name").value(display_name).required().error(errors.profile).render())
                button ."btn btn-primary" type="submit" { "Save" }
            }
            form ."card space-y-4" method="post" action="/settings/password" {
                h2 ."text-lg font-semibold" { "Change password" }
                (csrf_field(&who.csrf))
                (Field::new("current_password", "Current password").kind("password").required()
                    .autocomplete("current-password").error(perr("current_password")).render())
                (Field::new("new_password", "New password").kind("password").required()
                    .autocomplete("new-password").help("At least 8 characters.").error(perr("password")).render())
                (Field::new("new_password_confirm", "New password again").kind("password").required()
                    .autocomplete("new-password").error(perr("new_password_confirm")).render())
                p ."text-sm text-slate-600" { "Changing your password signs you out everywhere else." }
                button ."btn btn-primary" type="submit" { "Change password" }
            }
        }
    }
}

async fn render(
    who: &SignedIn,
    display_name: &str,
    errors: Errors<'_>,
) -> Result<Markup, PageError> {
    who.render("Account", None, Section::Account, |_| {
        body(who, display_name, errors)
    })
    .await
}

pub async fn show(who: SignedIn) -> Result<HttpResponse, PageError> {
    let name = who.user.display_name.as_str().to_owned();
    Ok(html(
        render(
            &who,
            &name,
            Errors {
                profile: None,
                password: None,
            },
        )
        .await?,
    ))
}

pub async fn save_profile(
    who: SignedIn,
    input: web::Form<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let caller = who.caller.clone();
    let name = input.display_name.clone();
    match blocking(&who.state.app, move |app| {
        app::accounts::update_display_name(app, &caller, &name)
    })
    .await
    {
        Ok(_) => {
            flash(&who.session, FlashKind::Success, "Your name was saved.");
            Ok(see_other("/settings/account"))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            render(
                &who,
                &input.display_name,
                Errors {
                    profile: Some(&v.message),
                    password: None,
                },
            )
            .await?,
        )),
        Err(other) => Err(other.into()),
    }
}

pub async fn change_password(
    who: SignedIn,
    input: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let name = who.user.display_name.as_str().to_owned();
    if input.new_password != input.new_password_confirm {
        return Ok(html_unprocessable(
            render(
                &who,
                &name,
                Errors {
                    profile: None,
                    password: Some((
                        "new_password_confirm",
                        "The two new passwords are not the same.",
                    )),
                },
            )
            .await?,
        ));
    }
    crate::pages::security::throttle_password_check(&who)?;
    let caller = who.caller.clone();
    let keep = who.session_id;
    let (current, new) = (input.current_password.clone(), input.new_password.clone());
    match blocking(&who.state.app, move |app| {
        app::accounts::change_password(app, &caller, &current, &new, keep)
    })
    .await
    {
        Ok(ended) => {
            let note = if ended > 0 {
                format!(" {ended} other session(s) were signed out.")
            } else {
                String::new()
            };
            flash(
                &who.session,
                FlashKind::Success,
                format!("Password changed.{note}"),
            );
            Ok(see_other("/settings/account"))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            render(
                &who,
                &name,
                Errors {
                    profile: None,
                    password: Some((&v.field, &v.message)),
                },
            )
            .await?,
        )),
        Err(other) => Err(other.into()),
    }
}
