//! Settings > Custom fields: define the details kept on contacts, relabel and reorder them
//! without losing values, and delete them (after a confirmation; audited).

use actix_web::{HttpResponse, web};
use app::AppError;
use app::custom_fields::{FieldInput, FieldUpdate};
use domain::custom_field::FieldType;
use domain::field_definition::CustomFieldDef;
use domain::ids::{CustomFieldId, WorkspaceId};
use domain::workspace::Workspace;
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::account::{Tab, tabs};
use crate::pages::{flash, html, html_unprocessable, see_other};
use crate::state::blocking;
use crate::views::components::{Field, csrf_field, form_error};
use crate::views::layout::{FlashKind, Section};

#[derive(Deserialize, Default, Clone)]
pub struct CreateForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    field_type: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    default_value: String,
    required: Option<String>,
    transaction_related: Option<String>,
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    default_value: String,
    required: Option<String>,
    transaction_related: Option<String>,
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    direction: String,
}

fn scope_label(def: &CustomFieldDef, workspaces: &[Workspace]) -> String {
    match def.workspace_id {
        None => "All workspaces".to_owned(),
        Some(id) => workspaces
            .iter()
            .find(|w| w.id == id)
            .map(|w| w.name.as_str().to_owned())
            .unwrap_or_else(|| "Archived workspace".to_owned()),
    }
}

fn field_row(csrf: &str, def: &CustomFieldDef, workspaces: &[Workspace]) -> Markup {
    let base = format!("/settings/fields/{}", def.id);
    html! {
        li ."py-4" id=(format!("field-{}", def.name.as_str())) {
            div ."flex flex-wrap items-center gap-2" {
                p ."font-medium" { (def.label) }
                code ."rounded bg-slate-100 px-1 text-xs" { (def.name.as_str()) }
                span ."rounded bg-blue-50 px-2 py-0.5 text-xs text-blue-800" { (def.field_type.label()) }
                span ."text-xs text-slate-600" { (scope_label(def, workspaces)) }
                @if def.required { span ."text-xs text-slate-700" { "required" } }
                @if def.transaction_related { span ."text-xs text-amber-800" { "changes logged" } }
                div ."ml-auto flex gap-1" {
                    form method="post" action=(format!("{base}/move")) {
                        (csrf_field(csrf)) input type="hidden" name="direction" value="up";
                        button ."btn px-2" type="submit" aria-label=(format!("Move {} up", def.label)) { "↑" }
                    }
                    form method="post" action=(format!("{base}/move")) {
                        (csrf_field(csrf)) input type="hidden" name="direction" value="down";
                        button ."btn px-2" type="submit" aria-label=(format!("Move {} down", def.label)) { "↓" }
                    }
                }
            }
            details ."mt-2" {
                summary ."cursor-pointer text-sm text-blue-700" { "Edit" }
                form ."mt-2 grid gap-3 sm:grid-cols-2" method="post" action=(base) {
                    (csrf_field(csrf))
                    (Field::new("label", "Label").id(&format!("field-{}-label", def.id)).value(&def.label).required().render())
                    (Field::new("default_value", "Default value").id(&format!("field-{}-default", def.id))
                        .value(def.default_value.as_deref().unwrap_or("")).render())
                    label ."flex min-h-11 items-center gap-2" {
                        input ."h-5 w-5" type="checkbox" name="required" checked[def.required];
                        "Required"
                    }
                    label ."flex min-h-11 items-center gap-2" {
                        input ."h-5 w-5" type="checkbox" name="transaction_related" checked[def.transaction_related];
                        "Log changes on the contact"
                    }
                    div ."flex gap-2" { button ."btn btn-primary" type="submit" { "Save" } }
                }
                form ."mt-3" method="post" action=(format!("{base}/delete"))
                    data-confirm=(format!("Delete the field '{}' and every value stored in it? This cannot be undone.", def.label)) {
                    (csrf_field(csrf))
                    button ."btn btn-danger" type="submit" { "Delete field" }
                }
            }
        }
    }
}

fn create_form(
    csrf: &str,
    input: &CreateForm,
    workspaces: &[Workspace],
    error: Option<(&str, &str)>,
) -> Markup {
    let err = |f: &str| error.filter(|(n, _)| *n == f).map(|(_, m)| m);
    let general = error
        .filter(|(n, _)| !["label", "name", "field_type", "default_value"].contains(n))
        .map(|(_, m)| m);
    html! {
        form ."card space-y-4" method="post" action="/settings/fields" #new-field {
            h2 ."text-lg font-semibold" { "New field" }
            (csrf_field(csrf))
            (form_error(general))
            div ."grid gap-4 sm:grid-cols-2" {
                (Field::new("label", "Label").value(&input.label).required().help("What people see, e.g. “Loan file link”.").error(err("label")).render())
                div ."space-y-1" {
                    label ."label" for="field-field_type" { "Type" }
                    select ."input" #field-field_type name="field_type" {
                        @for t in FieldType::ALL {
                            option value=(t.as_str()) selected[input.field_type == t.as_str()] { (t.label()) }
                        }
                    }
                    @if let Some(e) = err("field_type") { p ."text-sm text-red-700" { (e) } }
                }
                div ."space-y-1" {
                    label ."label" for="field-scope" { "Applies in" }
                    select ."input" #field-scope name="scope" {
                        option value="" { "All my workspaces" }
                        @for ws in workspaces {
                            option value=(ws.id) selected[input.scope == ws.id.to_string()] { (ws.name.as_str()) }
                        }
                    }
                }
                (Field::new("default_value", "Default value").value(&input.default_value).error(err("default_value")).render())
                (Field::new("name", "Key (optional)").value(&input.name)
                    .help("Used by imports and the API; made from the label if left empty.").error(err("name")).render())
            }
            div ."flex flex-wrap gap-4" {
                label ."flex min-h-11 items-center gap-2" { input ."h-5 w-5" type="checkbox" name="required" checked[input.required.is_some()]; "Required" }
                label ."flex min-h-11 items-center gap-2" {
                    input ."h-5 w-5" type="checkbox" name="transaction_related" checked[input.transaction_related.is_some()];
                    "Log changes on the contact (transaction notes, loan file links)"
                }
            }
            button ."btn btn-primary" type="submit" { "Add field" }
        }
    }
}

async fn render(
    who: &SignedIn,
    input: &CreateForm,
    error: Option<(&str, &str)>,
) -> Result<Markup, PageError> {
    let caller = who.caller.clone();
    let uid = who.user.id;
    let (defs, workspaces) = blocking(&who.state.app, move |app| {
        Ok((
            app::custom_fields::all(app, &caller)?,
            app::workspaces::all_active(app, uid)?,
        ))
    })
    .await?;
    let csrf = who.csrf.clone();
    who.render("Custom fields", None, Section::Account, |_| html! {
        (tabs(Tab::Fields))
        div ."grid max-w-3xl gap-6" {
            section ."card" {
                h2 ."mb-1 text-lg font-semibold" { "Your fields" }
                p ."text-sm text-slate-600" { "The details you keep on contacts, beyond name, email, phone and company. Relabelling or reordering keeps every value." }
                @if defs.is_empty() {
                    p ."mt-3 text-slate-600" { "No fields yet. Add one below, for example a closing date, a loan amount or a referral source." }
                } @else {
                    ul ."divide-y divide-slate-200" #field-list { @for def in &defs { (field_row(&csrf, def, &workspaces)) } }
                }
            }
            (create_form(&csrf, input, &workspaces, error))
        }
    })
    .await
}

pub async fn show(who: SignedIn) -> Result<HttpResponse, PageError> {
    Ok(html(
        render(
            &who,
            &CreateForm {
                field_type: "text".into(),
                ..Default::default()
            },
            None,
        )
        .await?,
    ))
}

pub async fn create(
    who: SignedIn,
    input: web::Form<CreateForm>,
) -> Result<HttpResponse, PageError> {
    let input = input.into_inner();
    let workspace = match input.scope.trim() {
        "" => None,
        id => Some(WorkspaceId(id.parse().map_err(|_| PageError::NotFound)?)),
    };
    let request = FieldInput {
        name: Some(input.name.clone()),
        label: input.label.clone(),
        field_type: input.field_type.clone(),
        required: input.required.is_some(),
        default_value: Some(input.default_value.clone()),
        transaction_related: input.transaction_related.is_some(),
        workspace,
    };
    let caller = who.caller.clone();
    match blocking(&who.state.app, move |app| {
        app::custom_fields::create(app, &caller, request)
    })
    .await
    {
        Ok(def) => {
            flash(
                &who.session,
                FlashKind::Success,
                format!("Field '{}' added.", def.label),
            );
            Ok(see_other("/settings/fields"))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            render(&who, &input, Some((&v.field, &v.message))).await?,
        )),
        Err(AppError::Conflict { field, message }) => Ok(html_unprocessable(
            render(&who, &input, Some((field, &message))).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

pub async fn update(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<UpdateForm>,
) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), CustomFieldId(path.into_inner()));
    let update = FieldUpdate {
        label: Some(input.label.clone()),
        required: Some(input.required.is_some()),
        default_value: Some(input.default_value.clone()),
        transaction_related: Some(input.transaction_related.is_some()),
        position: None,
    };
    match blocking(&who.state.app, move |app| {
        app::custom_fields::update(app, &caller, id, update)
    })
    .await
    {
        Ok(def) => {
            flash(
                &who.session,
                FlashKind::Success,
                format!("Field '{}' saved.", def.label),
            );
            Ok(see_other("/settings/fields"))
        }
        Err(AppError::Validation(v)) => {
            flash(&who.session, FlashKind::Error, v.message);
            Ok(see_other("/settings/fields"))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn move_field(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<MoveForm>,
) -> Result<HttpResponse, PageError> {
    let (caller, id, up) = (
        who.caller.clone(),
        CustomFieldId(path.into_inner()),
        input.direction == "up",
    );
    blocking(&who.state.app, move |app| {
        app::custom_fields::reorder(app, &caller, id, up)
    })
    .await?;
    Ok(see_other("/settings/fields"))
}

pub async fn delete(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), CustomFieldId(path.into_inner()));
    let c = caller.clone();
    let def = blocking(&who.state.app, move |app| {
        app::custom_fields::get(app, &c, id)
    })
    .await?;
    blocking(&who.state.app, move |app| {
        app::custom_fields::delete(app, &caller, id)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        format!("Field '{}' deleted.", def.label),
    );
    Ok(see_other("/settings/fields"))
}
