//! Duplicates: the list of contacts that share an email or phone, and the merge page that shows
//! two side by side, lets a person pick each conflicting value, and merges.

use actix_web::{HttpResponse, web};
use app::AppError;
use app::contacts::{Side, conflicts};
use domain::contact::Contact;
use domain::ids::ContactId;
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::workspaces::load;
use crate::pages::{flash, html, see_other};
use crate::state::blocking;
use crate::views::components::{csrf_field, form_error};
use crate::views::layout::{FlashKind, Section};

pub async fn duplicates(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let (caller, id) = (who.caller.clone(), ws.id);
    let groups = blocking(&who.state.app, move |app| {
        app::contacts::duplicate_groups(app, &caller, id)
    })
    .await?;
    let markup = who
        .render("Duplicates", Some(ws), Section::Contacts, |_| html! {
            h1 ."mb-2 text-2xl font-semibold" { "Possible duplicates" }
            p ."mb-4 text-sm text-slate-600" { "Contacts in this workspace with the same email address or phone number." }
            @if groups.is_empty() {
                p ."card text-slate-700" { "No duplicates found." }
            } @else {
                ul ."space-y-3" #duplicate-groups {
                    @for (reason, contacts) in &groups {
                        li ."card" {
                            p ."mb-2 text-sm text-slate-600" { "Same " (if *reason == "primary_email" { "email" } else { "phone" }) }
                            ul ."space-y-1" {
                                @for c in contacts {
                                    li ."flex flex-wrap items-center gap-2" {
                                        a ."font-medium text-blue-700 hover:underline" href=(format!("/contacts/{}", c.id)) { (c.display_name()) }
                                        span ."text-sm text-slate-600" { (c.primary_list.name) }
                                    }
                                }
                            }
                            @if let [first, second, ..] = contacts.as_slice() {
                                a ."btn mt-3" href=(format!("/contacts/{}/merge?source={}", first.id, second.id)) { "Compare and merge" }
                            }
                        }
                    }
                }
            }
        })
        .await?;
    Ok(html(markup))
}

#[derive(Deserialize)]
pub struct MergeQuery {
    source: Option<i64>,
}

fn field_value(c: &Contact, field: &str) -> String {
    match field {
        "first_name" => c.first_name.clone(),
        "last_name" => c.last_name.clone(),
        "primary_email" => c
            .primary_email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        "primary_phone" => c
            .primary_phone
            .as_ref()
            .map(|p| p.display())
            .unwrap_or_default(),
        "company" => c.company.clone(),
        "primary_list" => c.primary_list.name.clone(),
        custom => c
            .custom_value(custom)
            .map(|v| v.display())
            .unwrap_or_default(),
    }
}

fn label_of(c: &Contact, other: &Contact, field: &str) -> String {
    match field {
        "first_name" => "First name".into(),
        "last_name" => "Last name".into(),
        "primary_email" => "Email".into(),
        "primary_phone" => "Phone".into(),
        "company" => "Company".into(),
        "primary_list" => "Stage".into(),
        custom => c
            .custom
            .iter()
            .chain(other.custom.iter())
            .find(|v| v.name.as_str() == custom)
            .map(|v| v.label.clone())
            .unwrap_or_else(|| custom.to_owned()),
    }
}

fn compare(csrf: &str, target: &Contact, source: &Contact, error: Option<&str>) -> Markup {
    let conflicting = conflicts(target, source);
    html! {
        h1 ."mb-2 text-2xl font-semibold" { "Merge contacts" }
        p ."mb-4 text-sm text-slate-600" {
            (source.display_name()) " will be merged into " (target.display_name())
            ": details only one of them has are kept, tags are combined, the whole log moves over, and "
            (source.display_name()) " goes to the trash."
        }
        (form_error(error))
        form ."card space-y-4" method="post" action=(format!("/contacts/{}/merge", target.id)) #merge-form {
            (csrf_field(csrf))
            input type="hidden" name="source_id" value=(source.id);
            @if conflicting.is_empty() {
                p { "They do not disagree on anything: nothing to choose." }
            } @else {
                p ."font-medium" { "Where they differ, choose what to keep:" }
                table ."w-full text-left text-sm" {
                    thead { tr { th ."p-2" { "Field" } th ."p-2" { "Keep " (target.display_name()) "'s" } th ."p-2" { "Take " (source.display_name()) "'s" } } }
                    tbody ."divide-y divide-slate-200" {
                        @for field in &conflicting {
                            tr {
                                td ."p-2 font-medium" { (label_of(target, source, field)) }
                                td ."p-2" { label ."flex items-center gap-2" {
                                    input ."h-5 w-5" type="radio" name=(format!("keep.{field}")) value="target" checked;
                                    (field_value(target, field))
                                } }
                                td ."p-2" { label ."flex items-center gap-2" {
                                    input ."h-5 w-5" type="radio" name=(format!("keep.{field}")) value="source";
                                    (field_value(source, field))
                                } }
                            }
                        }
                    }
                }
            }
            div ."flex gap-2" {
                button ."btn btn-primary" type="submit" { "Merge" }
                a ."btn" href=(format!("/contacts/{}", target.id)) { "Cancel" }
            }
        }
    }
}

async fn pair(
    who: &SignedIn,
    target: ContactId,
    source: ContactId,
) -> Result<(Contact, Contact), PageError> {
    let caller = who.caller.clone();
    Ok(blocking(&who.state.app, move |app| {
        let t = app::contacts::get(app, &caller, target)?;
        let s = app::contacts::get(app, &caller, source)?;
        if t.workspace_id != s.workspace_id {
            return Err(AppError::NotFound);
        }
        Ok((t, s))
    })
    .await?)
}

pub async fn show(
    who: SignedIn,
    path: web::Path<i64>,
    query: web::Query<MergeQuery>,
) -> Result<HttpResponse, PageError> {
    let target = ContactId(path.into_inner());
    let caller = who.caller.clone();
    // The target first: another user's id is 404 whatever the query says.
    let t = blocking(&who.state.app, move |app| {
        app::contacts::get(app, &caller, target)
    })
    .await?;
    let Some(source) = query.source.map(ContactId) else {
        return Ok(see_other(&format!("/w/{}/duplicates", t.workspace_id)));
    };
    let (t, s) = pair(&who, target, source).await?;
    let (uid, ws_id) = (who.user.id, t.workspace_id);
    let ws = blocking(&who.state.app, move |app| {
        app::workspaces::get(app, uid, ws_id)
    })
    .await?;
    let markup = who
        .render("Merge contacts", Some(ws), Section::Contacts, |chrome| {
            compare(&chrome.csrf, &t, &s, None)
        })
        .await?;
    Ok(html(markup))
}

pub async fn merge(
    who: SignedIn,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let target = ContactId(path.into_inner());
    let caller = who.caller.clone();
    blocking(&who.state.app, move |app| {
        app::contacts::get(app, &caller, target)
    })
    .await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let source = pairs
        .iter()
        .find(|(k, _)| k == "source_id")
        .and_then(|(_, v)| v.parse().ok())
        .map(ContactId)
        .ok_or_else(|| PageError::BadRequest("Choose the contact to merge.".into()))?;
    let resolutions: Vec<(String, Side)> = pairs
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("keep.")?.to_owned(), Side::parse(v)?)))
        .collect();
    let caller = who.caller.clone();
    let merged = blocking(&who.state.app, move |app| {
        app::contacts::merge(app, &caller, target, source, &resolutions)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        format!("Merged into {}.", merged.display_name()),
    );
    Ok(see_other(&format!("/contacts/{}", merged.id)))
}
