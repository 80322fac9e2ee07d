//! The workspace list (with the create form) and a workspace's home page.

use actix_web::{HttpResponse, web};
use app::AppError;
use app::workspaces::CreateWorkspace;
use domain::ids::WorkspaceId;
use domain::pagination::PageRequest;
use domain::workspace::{PALETTE, Workspace};
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::{flash, html, html_unprocessable, see_other};
use crate::state::blocking;
use crate::views::components::{Field, csrf_field, dot, form_error, when};
use crate::views::layout::{FlashKind, Section};

/// Common IANA zones offered as suggestions; any valid zone is accepted.
pub const COMMON_TIME_ZONES: &[&str] = &[
    "America/Los_Angeles",
    "America/Denver",
    "America/Phoenix",
    "America/Chicago",
    "America/New_York",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Europe/London",
    "UTC",
];

#[derive(Deserialize, Default, Clone)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    color: String,
    #[serde(default)]
    time_zone: String,
}

pub fn time_zone_list() -> Markup {
    html! {
        datalist #time-zones {
            @for tz in COMMON_TIME_ZONES { option value=(tz) {} }
        }
    }
}

fn create_form(csrf: &str, input: &CreateForm, error: Option<(&str, &str)>, first: bool) -> Markup {
    let err = |field: &str| error.filter(|(f, _)| *f == field).map(|(_, m)| m);
    let general = error
        .filter(|(f, _)| !["name", "color", "time_zone"].contains(f))
        .map(|(_, m)| m);
    let default_color = if input.color.is_empty() {
        PALETTE[0]
    } else {
        input.color.as_str()
    };
    html! {
        section #new ."card" aria-labelledby="new-heading" {
            h2 #new-heading ."mb-1 text-lg font-semibold" {
                @if first { "Create your first workspace" } @else { "New workspace" }
            }
            p ."mb-4 text-sm text-slate-600" {
                "One workspace per business line (for example your mortgage business, your brokerage, family and friends). "
                "Contacts and campaigns in one never show in another."
            }
            (form_error(general))
            form ."grid gap-4 sm:grid-cols-[2fr_1fr_2fr_auto] sm:items-end" method="post" action="/workspaces" {
                (csrf_field(csrf))
                (Field::new("name", "Name").value(&input.name).required().error(err("name")).render())
                div ."space-y-1" {
                    label ."label" for="field-color" { "Colour" }
                    input ."input h-11 p-1" #field-color type="color" name="color" value=(default_color);
                    @if let Some(e) = err("color") { p ."text-sm text-red-700" { (e) } }
                }
                div ."space-y-1" {
                    label ."label" for="field-time_zone" { "Time zone" }
                    input ."input" #field-time_zone name="time_zone" list="time-zones"
                        value=(if input.time_zone.is_empty() { domain::workspace::DEFAULT_TIME_ZONE } else { &input.time_zone });
                    @if let Some(e) = err("time_zone") { p ."text-sm text-red-700" { (e) } }
                }
                button ."btn btn-primary h-11" type="submit" { "Create workspace" }
            }
            (time_zone_list())
        }
    }
}

fn list_body(
    csrf: &str,
    active: &[Workspace],
    archived: &[Workspace],
    input: &CreateForm,
    error: Option<(&str, &str)>,
) -> Markup {
    html! {
        h1 ."mb-6 text-2xl font-semibold" { "Workspaces" }
        @if active.is_empty() && archived.is_empty() {
            (create_form(csrf, input, error, true))
        } @else {
            ul ."mb-8 grid gap-3 sm:grid-cols-2 lg:grid-cols-3" #workspace-list {
                @for ws in active {
                    li {
                        a ."card flex items-center gap-3 hover:border-blue-400" href=(format!("/w/{}", ws.id)) {
                            (dot(ws.color.as_str()))
                            span ."font-medium" { (ws.name.as_str()) }
                            span ."ml-auto text-xs text-slate-500" { (ws.time_zone.as_str()) }
                        }
                    }
                }
            }
            (create_form(csrf, input, error, false))
            @if !archived.is_empty() {
                section ."mt-8" {
                    h2 ."mb-3 text-lg font-semibold" { "Archived" }
                    ul ."divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white" {
                        @for ws in archived {
                            li ."flex flex-wrap items-center gap-3 p-3" {
                                (dot(ws.color.as_str()))
                                span { (ws.name.as_str()) }
                                @if let Some(at) = ws.archived_at { span ."text-sm text-slate-500" { "archived " (when(at)) } }
                                form ."ml-auto" method="post" action=(format!("/w/{}/unarchive", ws.id)) {
                                    (csrf_field(csrf))
                                    button ."btn" type="submit" { "Restore" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn render_list(
    who: &SignedIn,
    input: &CreateForm,
    error: Option<(&str, &str)>,
) -> Result<Markup, PageError> {
    let uid = who.user.id;
    let all = blocking(&who.state.app, move |app| {
        app::workspaces::list(
            app,
            uid,
            true,
            PageRequest::new(Some(1), Some(domain::pagination::MAX_PER_PAGE)),
        )
    })
    .await?;
    let (archived, active): (Vec<_>, Vec<_>) =
        all.items.into_iter().partition(Workspace::is_archived);
    let csrf = who.csrf.clone();
    who.render("Workspaces", None, Section::Workspaces, |_| {
        list_body(&csrf, &active, &archived, input, error)
    })
    .await
}

pub async fn list(who: SignedIn) -> Result<HttpResponse, PageError> {
    Ok(html(render_list(&who, &CreateForm::default(), None).await?))
}

pub async fn create(
    who: SignedIn,
    input: web::Form<CreateForm>,
) -> Result<HttpResponse, PageError> {
    let input = input.into_inner();
    let caller = who.caller.clone();
    let request = CreateWorkspace {
        name: input.name.clone(),
        color: Some(input.color.clone()),
        time_zone: Some(input.time_zone.clone()),
        ..CreateWorkspace::default()
    };
    match blocking(&who.state.app, move |app| {
        app::workspaces::create(app, &caller, request)
    })
    .await
    {
        Ok(ws) => {
            flash(
                &who.session,
                FlashKind::Success,
                format!("Workspace '{}' created.", ws.name.as_str()),
            );
            Ok(see_other(&format!("/w/{}", ws.id)))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            render_list(&who, &input, Some((&v.field, &v.message))).await?,
        )),
        Err(AppError::Conflict { field, message }) => Ok(html_unprocessable(
            render_list(&who, &input, Some((field, &message))).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

/// Loads one of the caller's workspaces; another user's id is a 404.
pub async fn load(who: &SignedIn, id: i64) -> Result<Workspace, PageError> {
    let uid = who.user.id;
    Ok(blocking(&who.state.app, move |app| {
        app::workspaces::get(app, uid, WorkspaceId(id))
    })
    .await?)
}

pub async fn show(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let (body_ws, title) = (ws.clone(), ws.name.as_str().to_owned());
    let page = who
        .render(&title, Some(ws), Section::WorkspaceHome, move |_| {
            workspace_home(&body_ws)
        })
        .await?;
    Ok(html(page))
}

fn workspace_home(ws: &Workspace) -> Markup {
    let settings = format!("/w/{}/settings", ws.id);
    html! {
        div ."mb-6 flex flex-wrap items-center gap-3" {
            (dot(ws.color.as_str()))
            h1 ."text-2xl font-semibold" { (ws.name.as_str()) }
            @if ws.is_archived() { span ."rounded bg-slate-200 px-2 py-1 text-xs" { "Archived" } }
        }
        div ."grid gap-4 md:grid-cols-2" {
            section ."card" {
                h2 ."mb-3 text-lg font-semibold" { "Get this workspace ready" }
                ol ."space-y-3" {
                    (step(!ws.postal_address.is_empty(), "Add your postal address",
                        "Marketing emails must carry it; pi-crm adds it to their footer.", &settings, "Add address"))
                    (step(ws.time_zone.as_str() != domain::workspace::DEFAULT_TIME_ZONE || !ws.postal_address.is_empty(),
                        "Check the time zone", "Texts are only sent during the day in this zone.", &settings, "Set time zone"))
                    (step(ws.requires_approval, "Decide on approvals",
                        "Turn on approval if campaigns here must be reviewed before they go out.", &settings, "Approval settings"))
                    (step(false, "Connect other tools", "Create an API key for scripts and integrations.", "/settings/api-keys", "API keys"))
                }
            }
            section ."card" {
                h2 ."mb-3 text-lg font-semibold" { "Settings" }
                dl ."grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm" {
                    dt ."text-slate-600" { "Time zone" } dd { (ws.time_zone.as_str()) }
                    dt ."text-slate-600" { "Postal address" }
                    dd ."whitespace-pre-line" { @if ws.postal_address.is_empty() { span ."text-slate-500" { "Not set" } } @else { (ws.postal_address) } }
                    dt ."text-slate-600" { "Campaign approval" }
                    dd { @if ws.requires_approval { "Required" } @else { "Not required" } }
                    dt ."text-slate-600" { "Created" } dd { (when(ws.created_at)) }
                }
                p ."mt-4 flex gap-2" {
                    a ."btn" href=(settings) { "Edit settings" }
                    a ."btn" href=(format!("/w/{}/audit", ws.id)) { "Audit log" }
                }
            }
        }
    }
}

fn step(done: bool, title: &str, text: &str, href: &str, action: &str) -> Markup {
    html! {
        li ."flex items-start gap-3" {
            span ."mt-0.5 inline-flex h-6 w-6 shrink-0 items-center justify-center rounded-full text-xs font-bold"
                .(if done { "bg-emerald-100 text-emerald-800" } else { "bg-slate-200 text-slate-700" })
                aria-label=(if done { "done" } else { "to do" }) { @if done { "✓" } @else { "•" } }
            div ."flex-1" {
                p ."font-medium" { (title) }
                p ."text-sm text-slate-600" { (text) }
            }
            a ."btn shrink-0" href=(href) { (action) }
        }
    }
}
