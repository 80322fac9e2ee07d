//! API keys: create one with chosen scopes (shown once), see each key's last use, revoke.

use actix_web::{HttpResponse, web};
use app::AppError;
use domain::api_key::{ApiKey, Scope, Scopes};
use domain::ids::ApiKeyId;
use maud::{Markup, html};

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::account::{Tab, tabs};
use crate::pages::{flash, html, html_unprocessable, see_other};
use crate::state::blocking;
use crate::views::components::{Field, csrf_field, form_error, when};
use crate::views::layout::{FlashKind, Section};

fn key_list(who: &SignedIn, keys: &[ApiKey]) -> Markup {
    html! {
        @if keys.is_empty() {
            p ."text-slate-600" { "No keys yet. A key lets a script or another tool use pi-crm's API as you." }
        } @else {
            ul ."divide-y divide-slate-200" #api-key-list {
                @for key in keys {
                    li ."flex flex-wrap items-center gap-3 py-3" {
                        div ."min-w-0 flex-1" {
                            p ."font-medium" { (key.label) }
                            p ."text-xs text-slate-600" {
                                code ."font-mono" { (key.prefix) "…" } " · "
                                (key.scopes.iter().map(Scope::as_str).collect::<Vec<_>>().join(", "))
                            }
                            p ."text-xs text-slate-600" {
                                "Created " (when(key.created_at)) " · "
                                @match key.last_used_at { Some(t) => { "last used " (when(t)) }, None => "never used" }
                            }
                        }
                        @if let Some(t) = key.revoked_at {
                            span ."rounded bg-slate-200 px-2 py-1 text-xs" { "Revoked " (when(t)) }
                        } @else {
                            form method="post" action=(format!("/settings/api-keys/{}/revoke", key.id))
                                data-confirm="Revoke this key? Anything using it stops working at once." {
                                (csrf_field(&who.csrf))
                                button ."btn btn-danger" type="submit" { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn create_form(who: &SignedIn, label: &str, chosen: &[Scope], error: Option<&str>) -> Markup {
    html! {
        form ."card space-y-4" method="post" action="/settings/api-keys" #new-key {
            h2 ."text-lg font-semibold" { "Create a key" }
            (csrf_field(&who.csrf))
            (form_error(error))
            (Field::new("label", "Label").value(label).required().help("What will use it, e.g. “Zapier” or “backup script”.").render())
            fieldset ."space-y-1" {
                legend ."label mb-1" { "What it may do" }
                @for scope in Scope::ALL {
                    label ."flex min-h-11 items-center gap-3" {
                        input ."h-5 w-5" type="checkbox" name="scopes" value=(scope.as_str()) checked[chosen.contains(scope)];
                        span { (scope.describe()) " " code ."text-xs text-slate-500" { (scope.as_str()) } }
                    }
                }
            }
            button ."btn btn-primary" type="submit" { "Create key" }
        }
    }
}

async fn render(
    who: &SignedIn,
    extra: Markup,
    label: &str,
    chosen: &[Scope],
    error: Option<&str>,
) -> Result<Markup, PageError> {
    let caller = who.caller.clone();
    let keys = blocking(&who.state.app, move |app| app::api_keys::list(app, &caller)).await?;
    who.render("API keys", None, Section::Account, |_| html! {
        (tabs(Tab::ApiKeys))
        div ."grid max-w-3xl gap-6" {
            (extra)
            section ."card" { h2 ."mb-2 text-lg font-semibold" { "Your keys" } (key_list(who, &keys)) }
            (create_form(who, label, chosen, error))
        }
    })
    .await
}

pub async fn show(who: SignedIn) -> Result<HttpResponse, PageError> {
    Ok(html(
        render(&who, html! {}, "", &[Scope::WorkspacesRead], None).await?,
    ))
}

/// Creates a key and shows it, once, on the page that answers the form (never stored in clear,
/// never put in the session).
pub async fn create(who: SignedIn, body: web::Bytes) -> Result<HttpResponse, PageError> {
    // Checkboxes repeat the `scopes` field, which serde's struct forms cannot collect.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|_| {
        PageError::BadRequest("The form could not be read. Reload the page and try again.".into())
    })?;
    let label = pairs
        .iter()
        .find(|(k, _)| k == "label")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let scopes: Result<Vec<Scope>, _> = pairs
        .iter()
        .filter(|(k, _)| k == "scopes")
        .map(|(_, v)| Scope::parse(v))
        .collect();
    let chosen = scopes.clone().unwrap_or_default();
    let scopes = match scopes.and_then(Scopes::new) {
        Ok(s) => s,
        Err(v) => {
            return Ok(html_unprocessable(
                render(&who, html! {}, &label, &chosen, Some(&v.message)).await?,
            ));
        }
    };
    let caller = who.caller.clone();
    let l = label.clone();
    match blocking(&who.state.app, move |app| {
        app::api_keys::create(app, &caller, &l, scopes)
    })
    .await
    {
        Ok(created) => {
            let shown = html! {
                section ."card border-emerald-300 bg-emerald-50" role="status" #created-key {
                    h2 ."mb-2 text-lg font-semibold" { "Key created: copy it now" }
                    p ."mb-2 text-sm" { "This is the only time the key is shown. Store it somewhere safe; if you lose it, revoke it and create another." }
                    code #new-key-secret ."block break-all rounded bg-white p-3 font-mono text-sm" { (created.secret) }
                    button ."btn mt-2" type="button" data-copy-target="#new-key-secret" { "Copy" }
                }
            };
            Ok(html(
                render(&who, shown, "", &[Scope::WorkspacesRead], None).await?,
            ))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            render(&who, html! {}, &label, &chosen, Some(&v.message)).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

pub async fn revoke(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let caller = who.caller.clone();
    let id = ApiKeyId(path.into_inner());
    let key = blocking(&who.state.app, move |app| {
        app::api_keys::revoke(app, &caller, id)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        format!("Key '{}' revoked.", key.label),
    );
    Ok(see_other("/settings/api-keys"))
}
