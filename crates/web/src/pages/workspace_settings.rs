//! A workspace's settings: name, colour, time zone, postal address, help text, and whether
//! campaigns need approval (and by whom). Archive and restore.

use actix_web::{HttpResponse, web};
use app::AppError;
use domain::ids::WorkspaceId;
use domain::validation::ValidationError;
use domain::workspace::{
    Color, TimeZone, Workspace, WorkspaceChanges, WorkspaceName, parse_approvers, parse_help_text,
    parse_postal_address,
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::workspaces::{load, time_zone_list};
use crate::pages::{flash, html, html_unprocessable, see_other};
use crate::state::blocking;
use crate::views::components::{Field, csrf_field, form_error};
use crate::views::layout::{FlashKind, Section};

#[derive(Deserialize, Default, Clone)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    color: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    postal_address: String,
    #[serde(default)]
    help_text: String,
    requires_approval: Option<String>,
    #[serde(default)]
    approvers: String,
}

impl SettingsForm {
    fn from_workspace(ws: &Workspace) -> Self {
        Self {
            name: ws.name.as_str().to_owned(),
            color: ws.color.as_str().to_owned(),
            time_zone: ws.time_zone.as_str().to_owned(),
            postal_address: ws.postal_address.clone(),
            help_text: ws.help_text.clone(),
            requires_approval: ws.requires_approval.then(|| "on".to_owned()),
            approvers: ws
                .approvers
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn to_changes(&self) -> Result<WorkspaceChanges, ValidationError> {
        let approvers = parse_approvers([self.approvers.as_str()])?;
        Ok(WorkspaceChanges {
            name: Some(WorkspaceName::parse(&self.name)?),
            color: Some(Color::parse(&self.color)?),
            time_zone: Some(TimeZone::parse(&self.time_zone)?),
            postal_address: Some(parse_postal_address(&self.postal_address)?),
            requires_approval: Some(self.requires_approval.is_some()),
            approvers: Some(approvers),
            help_text: Some(parse_help_text(&self.help_text)?),
            archived: None,
        })
    }
}

fn body(csrf: &str, ws: &Workspace, input: &SettingsForm, error: Option<(&str, &str)>) -> Markup {
    let err = |field: &str| error.filter(|(f, _)| *f == field).map(|(_, m)| m);
    let known = [
        "name",
        "color",
        "time_zone",
        "postal_address",
        "help_text",
        "approvers",
    ];
    let general = error.filter(|(f, _)| !known.contains(f)).map(|(_, m)| m);
    let action = format!("/w/{}/settings", ws.id);
    html! {
        div ."mb-6 flex flex-wrap items-center gap-3" {
            h1 ."text-2xl font-semibold" { "Workspace settings" }
            a ."btn ml-auto" href=(format!("/w/{}/lists", ws.id)) { "Stages and tags" }
            a ."btn" href="/settings/fields" { "Custom fields" }
        }
        (form_error(general))
        form ."card max-w-2xl space-y-5" method="post" action=(action) {
            (csrf_field(csrf))
            (Field::new("name", "Name").value(&input.name).required().error(err("name")).render())
            div ."space-y-1" {
                label ."label" for="field-color" { "Colour" }
                input ."input h-11 w-24 p-1" #field-color type="color" name="color" value=(input.color);
                @if let Some(e) = err("color") { p ."text-sm text-red-700" { (e) } }
            }
            div ."space-y-1" {
                label ."label" for="field-time_zone" { "Time zone" }
                input ."input" #field-time_zone name="time_zone" list="time-zones" value=(input.time_zone) required;
                p ."text-xs text-slate-600" { "An IANA name such as America/Los_Angeles. Texts wait for daytime in this zone." }
                @if let Some(e) = err("time_zone") { p ."text-sm text-red-700" { (e) } }
                (time_zone_list())
            }
            (Field::new("postal_address", "Postal address").kind("textarea").value(&input.postal_address)
                .help("Printed in the footer of marketing emails, as the law asks.").error(err("postal_address")).render())
            (Field::new("help_text", "Reply to HELP texts").kind("textarea").value(&input.help_text)
                .help("Sent when a contact texts HELP. Up to 320 characters.").error(err("help_text")).render())
            fieldset ."space-y-2 rounded-md border border-slate-200 p-4" {
                legend ."px-1 text-sm font-semibold" { "Approval" }
                label ."flex min-h-11 items-center gap-3" {
                    input ."h-5 w-5" type="checkbox" name="requires_approval" checked[input.requires_approval.is_some()];
                    span { "Campaigns in this workspace need approval before they are sent" }
                }
                (Field::new("approvers", "Approvers").value(&input.approvers)
                    .help("Usernames of the people who approve, separated by commas.").error(err("approvers")).render())
            }
            div ."flex flex-wrap gap-2" {
                button ."btn btn-primary" type="submit" { "Save settings" }
                a ."btn" href=(format!("/w/{}", ws.id)) { "Cancel" }
            }
        }
        section ."card mt-8 max-w-2xl" {
            h2 ."mb-2 text-lg font-semibold" { @if ws.is_archived() { "Restore workspace" } @else { "Archive workspace" } }
            @if ws.is_archived() {
                p ."mb-3 text-sm text-slate-600" { "This workspace is archived. Restore it to use it again." }
                form method="post" action=(format!("/w/{}/unarchive", ws.id)) {
                    (csrf_field(csrf))
                    button ."btn" type="submit" { "Restore workspace" }
                }
            } @else {
                p ."mb-3 text-sm text-slate-600" { "Archiving hides the workspace from the switcher. Nothing is deleted, and you can restore it from the Workspaces page." }
                form method="post" action=(format!("/w/{}/archive", ws.id)) data-confirm="Archive this workspace? You can restore it later." {
                    (csrf_field(csrf))
                    button ."btn btn-danger" type="submit" { "Archive workspace" }
                }
            }
        }
    }
}

async fn render(
    who: &SignedIn,
    ws: Workspace,
    input: &SettingsForm,
    error: Option<(&str, &str)>,
) -> Result<Markup, PageError> {
    let csrf = who.csrf.clone();
    let shown = ws.clone();
    who.render(
        "Workspace settings",
        Some(ws),
        Section::WorkspaceSettings,
        |_| body(&csrf, &shown, input, error),
    )
    .await
}

pub async fn show(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let input = SettingsForm::from_workspace(&ws);
    Ok(html(render(&who, ws, &input, None).await?))
}

pub async fn save(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<SettingsForm>,
) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let input = input.into_inner();
    let changes = match input.to_changes() {
        Ok(c) => c,
        Err(v) => {
            return Ok(html_unprocessable(
                render(&who, ws, &input, Some((&v.field, &v.message))).await?,
            ));
        }
    };
    let (caller, id) = (who.caller.clone(), ws.id);
    match blocking(&who.state.app, move |app| {
        app::workspaces::update(app, &caller, id, changes)
    })
    .await
    {
        Ok(_) => {
            flash(&who.session, FlashKind::Success, "Settings saved.");
            Ok(see_other(&format!("/w/{}/settings", id)))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            render(&who, ws, &input, Some((&v.field, &v.message))).await?,
        )),
        Err(AppError::Conflict { field, message }) => Ok(html_unprocessable(
            render(&who, ws, &input, Some((field, &message))).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

async fn set_archived(who: SignedIn, id: i64, archived: bool) -> Result<HttpResponse, PageError> {
    let caller = who.caller.clone();
    let changes = WorkspaceChanges {
        archived: Some(archived),
        ..WorkspaceChanges::default()
    };
    let ws = blocking(&who.state.app, move |app| {
        app::workspaces::update(app, &caller, WorkspaceId(id), changes)
    })
    .await?;
    if archived {
        flash(
            &who.session,
            FlashKind::Success,
            format!(
                "'{}' archived. Restore it from the Workspaces page.",
                ws.name.as_str()
            ),
        );
        let _ = who.session.remove(crate::pages::KEY_CURRENT_WORKSPACE);
        Ok(see_other("/workspaces"))
    } else {
        flash(
            &who.session,
            FlashKind::Success,
            format!("'{}' restored.", ws.name.as_str()),
        );
        Ok(see_other(&format!("/w/{}", ws.id)))
    }
}

pub async fn archive(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    set_archived(who, path.into_inner(), true).await
}

pub async fn unarchive(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    set_archived(who, path.into_inner(), false).await
}
