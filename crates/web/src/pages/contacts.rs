//! The contacts table (search, filters, sort, pages; the URL holds the view, so it can be
//! bookmarked) and the new-contact form.

use actix_web::{HttpRequest, HttpResponse, web};
use app::AppError;
use app::contacts::{ContactInput, RawValue};
use domain::contact::{Contact, ContactSort};
use domain::custom_field::FieldType;
use domain::field_definition::CustomFieldDef;
use domain::ids::{ContactId, ListId, WorkspaceId};
use domain::list::{List, ListKind, ListSpec};
use domain::pagination::{Page, PageRequest};
use domain::workspace::Workspace;
use maud::{Markup, html};

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::workspaces::load;
use crate::pages::{flash, html, html_unprocessable, see_other};
use crate::state::blocking;
use crate::views::components::{csrf_field, form_error, when};
use crate::views::layout::{FlashKind, Section};

fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn with_page(pairs: &[(String, String)], page: u32) -> String {
    let mut kept: Vec<(String, String)> =
        pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
    kept.push(("page".into(), page.to_string()));
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

fn filters(
    ws: &Workspace,
    pairs: &[(String, String)],
    stages: &[List],
    tags: &[List],
    defs: &[CustomFieldDef],
) -> Markup {
    let base = format!("/w/{}/contacts", ws.id);
    let trash = param(pairs, "trash") == "1";
    html! {
        form ."mb-4 grid gap-3 sm:grid-cols-[2fr_1fr_1fr_1fr]" method="get" action=(base) role="search"
            hx-get=(base) hx-target="#contact-results" hx-select="#contact-results" hx-swap="outerHTML" hx-push-url="true"
            hx-trigger="input changed delay:300ms from:#contact-search, change, submit" {
            @if trash { input type="hidden" name="trash" value="1"; }
            div ."space-y-1" {
                label ."label" for="contact-search" { "Search" }
                input ."input" #contact-search type="search" name="q" value=(param(pairs, "q"))
                    placeholder="Name, email, phone, company, notes…" autocomplete="off";
            }
            div ."space-y-1" {
                label ."label" for="filter-stage" { "Stage" }
                select ."input" #filter-stage name="list" {
                    option value="" { "All stages" }
                    @for s in stages { option value=(s.id) selected[param(pairs, "list") == s.id.to_string()] { (s.name) " (" (s.contacts) ")" } }
                }
            }
            div ."space-y-1" {
                label ."label" for="filter-tag" { "Tag" }
                select ."input" #filter-tag name="tag" {
                    option value="" { "Any tag" }
                    @for t in tags { option value=(t.id) selected[param(pairs, "tag") == t.id.to_string()] { (t.name) " (" (t.contacts) ")" } }
                }
            }
            div ."space-y-1" {
                label ."label" for="filter-sort" { "Sort" }
                select ."input" #filter-sort name="sort" {
                    @for s in ContactSort::ALL { option value=(s.as_str()) selected[param(pairs, "sort") == s.as_str()] { (s.label()) } }
                }
            }
            details ."sm:col-span-4" open[!param(pairs, "cf_field").is_empty() || !param(pairs, "not_contacted_days").is_empty()] {
                summary ."cursor-pointer text-sm font-medium text-blue-700" { "More filters" }
                div ."mt-2 grid gap-3 sm:grid-cols-[1fr_1fr_1fr_1fr]" {
                    div ."space-y-1" {
                        label ."label" for="filter-cf-field" { "Field" }
                        select ."input" #filter-cf-field name="cf_field" {
                            option value="" { "Any field" }
                            @for d in defs { option value=(d.name.as_str()) selected[param(pairs, "cf_field") == d.name.as_str()] { (d.label) } }
                        }
                    }
                    div ."space-y-1" {
                        label ."label" for="filter-cf-op" { "Condition" }
                        select ."input" #filter-cf-op name="cf_op" {
                            @for op in domain::contact::FilterOp::ALL {
                                option value=(op.as_str()) selected[param(pairs, "cf_op") == op.as_str()] { (op.label()) }
                            }
                        }
                    }
                    div ."space-y-1" {
                        label ."label" for="filter-cf-value" { "Value" }
                        input ."input" #filter-cf-value name="cf_value" value=(param(pairs, "cf_value")) placeholder="e.g. 2026-06-01 or 250000";
                    }
                    div ."space-y-1" {
                        label ."label" for="filter-not-contacted" { "Not contacted for (days)" }
                        input ."input" #filter-not-contacted name="not_contacted_days" type="number" min="0" inputmode="numeric"
                            value=(param(pairs, "not_contacted_days"));
                    }
                }
            }
            noscript { button ."btn" type="submit" { "Apply" } }
        }
    }
}

/// The bar of bulk actions: on the ticked rows, or on every contact the filters match (the
/// filters travel along as `f.` fields).
fn bulk_bar(
    ws: &Workspace,
    csrf: &str,
    pairs: &[(String, String)],
    total: i64,
    stages: &[List],
) -> Markup {
    html! {
        form #bulk ."mb-3 flex flex-wrap items-end gap-2 rounded-lg border border-slate-200 bg-white p-3" method="post"
            action=(format!("/w/{}/contacts/bulk", ws.id)) {
            (csrf_field(csrf))
            @for (k, v) in pairs.iter().filter(|(k, _)| k != "page") {
                input type="hidden" name=(format!("f.{k}")) value=(v);
            }
            div ."space-y-1" {
                label ."label" for="bulk-scope" { "Apply to" }
                select ."input" #bulk-scope name="scope" {
                    option value="selected" { "Ticked rows" }
                    option value="all" { "All " (total) " matching" }
                }
            }
            div ."space-y-1" {
                label ."label" for="bulk-action" { "Action" }
                select ."input" #bulk-action name="action" {
                    option value="add_tag" { "Add tag" }
                    option value="remove_tag" { "Remove tag" }
                    option value="set_stage" { "Move to stage" }
                    option value="email" { "Write an email" }
                    option value="text" { "Write a text" }
                    option value="export" { "Export as CSV" }
                    option value="trash" { "Move to trash" }
                }
            }
            div ."space-y-1" {
                label ."label" for="bulk-tag" { "Tag" }
                input ."input" #bulk-tag name="tag" placeholder="for tag actions";
            }
            div ."space-y-1" {
                label ."label" for="bulk-stage" { "Stage" }
                select ."input" #bulk-stage name="stage" { @for st in stages { option value=(st.id) { (st.name) } } }
            }
            button ."btn" type="submit" { "Apply" }
        }
    }
}

fn results(
    ws: &Workspace,
    pairs: &[(String, String)],
    page: &Page<Contact>,
    error: Option<&str>,
    bulk: Markup,
) -> Markup {
    let base = format!("/w/{}/contacts", ws.id);
    html! {
        div #contact-results {
            (form_error(error))
            p ."mb-2 text-sm text-slate-600" #contact-count { (page.total) " contacts" }
            @if !page.items.is_empty() { (bulk) }
            @if page.items.is_empty() {
                div ."card text-slate-700" {
                    @if pairs.iter().any(|(k, v)| k != "sort" && k != "page" && !v.is_empty()) {
                        p { "No contact matches. Try fewer words or clear a filter." }
                    } @else {
                        p ."mb-3" { "No contacts here yet." }
                        a ."btn btn-primary" href=(format!("{base}/new")) { "Add your first contact" }
                    }
                }
            } @else {
                // Cards on a phone, a table from the small breakpoint up.
                ul ."space-y-2 sm:hidden" {
                    @for c in &page.items {
                        li { a ."card block" href=(format!("/contacts/{}", c.id)) {
                            p ."font-medium" { (c.display_name()) }
                            p ."text-sm text-slate-600" { (c.primary_list.name) @if !c.company.is_empty() { " · " (c.company) } }
                        } }
                    }
                }
                div ."hidden overflow-hidden rounded-lg border border-slate-200 bg-white sm:block" {
                    table ."w-full text-left text-sm" {
                        thead ."bg-slate-50 text-slate-600" {
                            tr { th ."p-3" { span ."sr-only" { "Select" } } th ."p-3" { "Name" } th ."p-3" { "Stage" } th ."p-3" { "Email" } th ."p-3" { "Phone" } th ."p-3" { "Company" } th ."p-3" { "Tags" } }
                        }
                        tbody ."divide-y divide-slate-200" {
                            @for c in &page.items {
                                tr ."hover:bg-slate-50" {
                                    td ."p-3" {
                                        input ."h-5 w-5" type="checkbox" name="ids" value=(c.id) form="bulk"
                                            aria-label=(format!("Select {}", c.display_name()));
                                    }
                                    td ."p-3" { a ."font-medium text-blue-700 hover:underline" href=(format!("/contacts/{}", c.id)) { (c.display_name()) } }
                                    td ."p-3" { (c.primary_list.name) }
                                    td ."p-3" { @if let Some(e) = &c.primary_email { (e.as_str()) } }
                                    td ."p-3 whitespace-nowrap" { @if let Some(p) = &c.primary_phone { (p.display()) } }
                                    td ."p-3" { (c.company) }
                                    td ."p-3" { @for t in &c.tags { span ."mr-1 rounded bg-slate-100 px-2 py-0.5 text-xs" { (t.name) } } }
                                }
                            }
                        }
                    }
                }
                nav ."mt-3 flex items-center gap-2" aria-label="Pages" {
                    @if page.page > 1 { a ."btn" href=(format!("{base}?{}", with_page(pairs, page.page - 1))) { "Previous" } }
                    span ."text-sm text-slate-600" { "Page " (page.page) }
                    @if page.has_next() { a ."btn" href=(format!("{base}?{}", with_page(pairs, page.page + 1))) { "Next" } }
                }
            }
        }
    }
}

pub async fn list(
    who: SignedIn,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let pairs = query_pairs(&req);
    let page_no: Option<u32> = param(&pairs, "page").parse().ok();
    let (caller, id, p) = (who.caller.clone(), ws.id, pairs.clone());
    let trash = param(&pairs, "trash") == "1";
    let (lists, defs, found) = blocking(&who.state.app, move |app| {
        let lists = app::lists::for_workspace(app, &caller, id, None)?;
        let defs = app::custom_fields::for_workspace(app, &caller, id)?;
        let found = match app::contacts::query_from_params(app, &caller, id, &p) {
            Ok(mut query) => {
                query.trash = trash;
                Ok(app::contacts::search(
                    app,
                    &caller,
                    id,
                    &query,
                    PageRequest::new(page_no, Some(50)),
                )?)
            }
            Err(AppError::Validation(v)) => Err(v.message),
            Err(other) => return Err(other),
        };
        Ok((lists, defs, found))
    })
    .await?;
    let (stages, tags): (Vec<List>, Vec<List>) =
        lists.into_iter().partition(|l| l.kind == ListKind::Primary);
    let (page, error) = match found {
        Ok(page) => (page, None),
        Err(message) => (
            Page::new(Vec::new(), 0, PageRequest::default()),
            Some(message),
        ),
    };
    let shown = ws.clone();
    let markup = who
        .render("Contacts", Some(ws), Section::Contacts, |chrome| html! {
            div ."mb-4 flex flex-wrap items-center gap-3" {
                h1 ."text-2xl font-semibold" { @if trash { "Trash" } @else { "Contacts" } }
                div ."ml-auto flex flex-wrap justify-end gap-2" {
                    @if trash {
                        a ."btn" href=(format!("/w/{}/contacts", shown.id)) { "Back to contacts" }
                        @if page.total > 0 {
                            form method="post" action=(format!("/w/{}/trash/empty", shown.id)) data-confirm="Delete everything in the trash for good?" {
                                (csrf_field(&chrome.csrf))
                                button ."btn btn-danger" type="submit" { "Empty trash" }
                            }
                        }
                    } @else {
                        a ."btn" href=(format!("/w/{}/imports", shown.id)) { "Import" }
                        a ."btn" href=(format!("/w/{}/contacts.csv?{}", shown.id, serde_urlencoded::to_string(&pairs).unwrap_or_default())) download { "Export CSV" }
                        a ."btn" href=(format!("/w/{}/duplicates", shown.id)) { "Duplicates" }
                        a ."btn" href=(format!("/w/{}/contacts?trash=1", shown.id)) { "Trash" }
                        a ."btn btn-primary" href=(format!("/w/{}/contacts/new", shown.id)) { "New contact" }
                    }
                }
            }
            @if trash { p ."mb-4 text-sm text-slate-600" { "Contacts stay here for 30 days and can be restored from their page." } }
            (filters(&shown, &pairs, &stages, &tags, &defs))
            (results(&shown, &pairs, &page, error.as_deref(), bulk_bar(&shown, &chrome.csrf, &pairs, page.total, &stages)))
        })
        .await?;
    Ok(html(markup))
}

/// One input for a custom field, by type.
pub fn custom_input(def: &CustomFieldDef, value: &str) -> Markup {
    let id = format!("cf-{}", def.name.as_str());
    let name = format!("cf.{}", def.name.as_str());
    let kind = match def.field_type {
        FieldType::Date => "date",
        FieldType::Url => "url",
        FieldType::Phone => "tel",
        FieldType::Email => "email",
        _ => "text",
    };
    html! {
        div ."space-y-1" {
            label ."label" for=(id) { (def.label) @if def.required { " *" } }
            @if def.field_type == FieldType::Json {
                textarea ."input min-h-24 font-mono text-sm" id=(id) name=(name) { (value) }
            } @else {
                input ."input" id=(id) name=(name) type=(kind) value=(value)
                    inputmode=[(def.field_type == FieldType::Number).then_some("decimal")];
            }
        }
    }
}

/// The form pairs of a contact form, split into base fields and custom values.
pub struct ContactForm {
    pub pairs: Vec<(String, String)>,
}

impl ContactForm {
    pub fn parse(body: &[u8]) -> Result<Self, PageError> {
        serde_urlencoded::from_bytes(body)
            .map(|pairs| Self { pairs })
            .map_err(|_| {
                PageError::BadRequest(
                    "The form could not be read. Reload the page and try again.".into(),
                )
            })
    }

    pub fn get(&self, key: &str) -> String {
        param(&self.pairs, key).to_owned()
    }

    pub fn custom(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("cf.")
                    .map(|name| (name.to_owned(), v.clone()))
            })
            .collect()
    }

    /// Tags typed as names separated by commas (names cannot hold commas).
    pub fn tags(&self) -> Vec<ListSpec> {
        self.get("tags")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| ListSpec::Name(t.to_owned()))
            .collect()
    }
}

struct FormState<'a> {
    form: &'a ContactForm,
    error: Option<(String, String)>,
    duplicate: Option<(ContactId, String)>,
}

fn new_form(
    ws: &Workspace,
    csrf: &str,
    stages: &[List],
    defs: &[CustomFieldDef],
    state: &FormState<'_>,
) -> Markup {
    let err = |f: &str| {
        state
            .error
            .as_ref()
            .filter(|(n, _)| n == f)
            .map(|(_, m)| m.as_str())
    };
    let known = [
        "first_name",
        "last_name",
        "primary_email",
        "primary_phone",
        "company",
    ];
    let general = state
        .error
        .as_ref()
        .filter(|(n, _)| !known.contains(&n.as_str()))
        .map(|(_, m)| m.as_str());
    let value = |k: &str| state.form.get(k);
    let text = |name: &str, label: &str, kind: &str, auto: &str| {
        let v = value(name);
        html! {
            div ."space-y-1" {
                label ."label" for=(format!("field-{name}")) { (label) }
                input ."input" id=(format!("field-{name}")) name=(name) type=(kind) value=(v) autocomplete=(auto);
                @if let Some(e) = err(name) { p ."text-sm text-red-700" { (e) } }
            }
        }
    };
    html! {
        h1 ."mb-4 text-2xl font-semibold" { "New contact" }
        form ."card max-w-3xl space-y-5" method="post" action=(format!("/w/{}/contacts", ws.id)) {
            (csrf_field(csrf))
            (form_error(general))
            @if let Some((id, message)) = &state.duplicate {
                div ."rounded-md border border-amber-300 bg-amber-50 p-3 text-sm" role="alert" #duplicate-warning {
                    p { (message) }
                    p ."mt-2 flex flex-wrap gap-3" {
                        a ."font-medium text-blue-700 underline" href=(format!("/contacts/{id}")) { "Open the existing contact" }
                        label ."flex items-center gap-2" { input ."h-5 w-5" type="checkbox" name="allow_duplicate" value="1"; "Save anyway" }
                    }
                }
            }
            div ."grid gap-4 sm:grid-cols-2" {
                (text("first_name", "First name", "text", "off"))
                (text("last_name", "Last name", "text", "off"))
                (text("primary_email", "Email", "email", "off"))
                (text("primary_phone", "Phone", "tel", "off"))
                (text("company", "Company", "text", "off"))
                div ."space-y-1" {
                    label ."label" for="field-stage" { "Stage" }
                    select ."input" #field-stage name="stage" {
                        @for s in stages { option value=(s.id) selected[value("stage") == s.id.to_string()] { (s.name) } }
                    }
                }
                div ."space-y-1 sm:col-span-2" {
                    label ."label" for="field-tags" { "Tags" }
                    input ."input" #field-tags name="tags" value=(value("tags")) placeholder="Hot Leads, Referred by John";
                    p ."text-xs text-slate-600" { "Separate tags with commas; new ones are created." }
                }
                @for def in defs {
                    div {
                        (custom_input(def, &value(&format!("cf.{}", def.name.as_str()))))
                        @if let Some(e) = err(def.name.as_str()) { p ."text-sm text-red-700" { (e) } }
                    }
                }
            }
            div ."flex gap-2" {
                button ."btn btn-primary" type="submit" { "Save contact" }
                a ."btn" href=(format!("/w/{}/contacts", ws.id)) { "Cancel" }
            }
        }
    }
}

async fn render_new(
    who: &SignedIn,
    ws: Workspace,
    state: FormState<'_>,
) -> Result<Markup, PageError> {
    let (caller, id) = (who.caller.clone(), ws.id);
    let (stages, defs) = blocking(&who.state.app, move |app| {
        Ok((
            app::lists::for_workspace(app, &caller, id, Some(ListKind::Primary))?,
            app::custom_fields::for_workspace(app, &caller, id)?,
        ))
    })
    .await?;
    let shown = ws.clone();
    who.render("New contact", Some(ws), Section::Contacts, |chrome| {
        new_form(&shown, &chrome.csrf, &stages, &defs, &state)
    })
    .await
}

pub async fn new(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let form = ContactForm { pairs: Vec::new() };
    Ok(html(
        render_new(
            &who,
            ws,
            FormState {
                form: &form,
                error: None,
                duplicate: None,
            },
        )
        .await?,
    ))
}

pub async fn create(
    who: SignedIn,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let form = ContactForm::parse(&body)?;
    let input = ContactInput {
        first_name: form.get("first_name"),
        last_name: form.get("last_name"),
        primary_email: form.get("primary_email"),
        primary_phone: form.get("primary_phone"),
        company: form.get("company"),
        stage: form
            .get("stage")
            .trim()
            .parse()
            .ok()
            .map(|id| ListSpec::Id(ListId(id))),
        tags: form.tags(),
        custom: form
            .custom()
            .into_iter()
            .map(|(k, v)| (k, RawValue::Text(v)))
            .collect(),
        allow_duplicate: !form.get("allow_duplicate").is_empty(),
    };
    let (caller, id) = (who.caller.clone(), ws.id);
    match blocking(&who.state.app, move |app| {
        app::contacts::create(app, &caller, id, input)
    })
    .await
    {
        Ok(contact) => {
            flash(
                &who.session,
                FlashKind::Success,
                format!("{} added.", contact.display_name()),
            );
            Ok(see_other(&format!("/contacts/{}", contact.id)))
        }
        Err(AppError::Validation(v)) => {
            let state = FormState {
                form: &form,
                error: Some((v.field.into_owned(), v.message)),
                duplicate: None,
            };
            Ok(html_unprocessable(render_new(&who, ws, state).await?))
        }
        Err(AppError::Duplicate {
            existing, message, ..
        }) => {
            let state = FormState {
                form: &form,
                error: None,
                duplicate: Some((existing, message)),
            };
            Ok(html_unprocessable(render_new(&who, ws, state).await?))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn empty_trash(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (caller, ws) = (who.caller.clone(), WorkspaceId(path.into_inner()));
    let n = blocking(&who.state.app, move |app| {
        app::contacts::empty_trash(app, &caller, ws, false)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        format!("{n} contact(s) deleted for good."),
    );
    Ok(see_other(&format!("/w/{ws}/contacts?trash=1")))
}

/// Relative time for templates that show when a contact was last reached.
pub fn last_contacted(c: &Contact) -> Markup {
    match c.last_contacted_at {
        Some(t) => html! { "last contacted " (when(t)) },
        None => html! { "never contacted" },
    }
}

/// Bulk actions that lead somewhere else than back to the table.
enum Outgoing {
    Export(app::export::ExportPlan),
    Write(
        Vec<ContactId>,
        domain::messaging::Channel,
        Vec<(String, String)>,
    ),
}

/// The table's filters that travel with a bulk form as `f.` fields.
fn bulk_filters(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("f.")?.to_owned(), v.clone())))
        .collect()
}

/// What a bulk form applies to, as the fields that say it: `scope=all` with the `f.`
/// filters, or the ticked `ids`. Carried on by forms that act later (writing to many), so
/// "all matching" is worked out again when it is sent rather than listed id by id.
pub(crate) fn bulk_scope(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(k, v)| k.starts_with("f.") || k == "ids" || (k == "scope" && v == "all"))
        .cloned()
        .collect()
}

/// The contacts a bulk form applies to (see [`bulk_scope`]).
pub(crate) fn bulk_target(
    app: &app::App,
    caller: &app::Caller,
    ws: WorkspaceId,
    pairs: &[(String, String)],
) -> Result<app::bulk::Target, AppError> {
    if pairs.iter().any(|(k, v)| k == "scope" && v == "all") {
        let filters = bulk_filters(pairs);
        let trash = filters.iter().any(|(k, v)| k == "trash" && v == "1");
        let mut query = app::contacts::query_from_params(app, caller, ws, &filters)?;
        query.trash = trash;
        return Ok(app::bulk::Target::Matching(query));
    }
    Ok(app::bulk::Target::Ids(
        pairs
            .iter()
            .filter(|(k, _)| k == "ids")
            .flat_map(|(_, v)| v.split(','))
            .filter_map(|v| v.trim().parse().ok().map(ContactId))
            .collect(),
    ))
}

/// Runs a bulk action from the contacts table and comes back to the same view.
pub async fn bulk(
    who: SignedIn,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    use app::bulk::Action;
    let ws = load(&who, path.into_inner()).await?;
    let form = ContactForm::parse(&body)?;
    let filters = bulk_filters(&form.pairs);
    let back = format!(
        "/w/{}/contacts?{}",
        ws.id,
        serde_urlencoded::to_string(&filters).unwrap_or_default()
    );
    let action = form.get("action");
    let (caller, id) = (who.caller.clone(), ws.id);
    let (tag, stage) = (form.get("tag"), form.get("stage"));
    let scope = bulk_scope(&form.pairs);
    let pairs = form.pairs.clone();
    let outcome = blocking(&who.state.app, move |app| {
        let target = bulk_target(app, &caller, id, &pairs)?;
        if action == "export" {
            return Ok(Err(Outgoing::Export(app::export::plan(
                app, &caller, id, &target,
            )?)));
        }
        if action == "email" || action == "text" {
            let ids = app::bulk::resolve_ids(app, &caller, id, &target)?;
            let channel = if action == "text" {
                domain::messaging::Channel::Sms
            } else {
                domain::messaging::Channel::Email
            };
            return Ok(Err(Outgoing::Write(ids, channel, scope)));
        }
        let action = match action.as_str() {
            "add_tag" => Action::AddTag(tag),
            "remove_tag" => Action::RemoveTag(tag),
            "set_stage" => Action::SetStage(ListId(stage.parse().unwrap_or(-1))),
            "trash" => Action::Trash,
            _ => {
                return Err(domain::validation::ValidationError::new(
                    "action",
                    "Choose an action first.",
                )
                .into());
            }
        };
        app::bulk::apply(app, &caller, id, &target, &action).map(Ok)
    })
    .await;
    match outcome {
        Ok(Ok(changed)) => {
            flash(
                &who.session,
                FlashKind::Success,
                format!("Done: {changed} contact(s) changed."),
            );
            Ok(see_other(&back))
        }
        Ok(Err(Outgoing::Export(plan))) => Ok(crate::download::csv(
            &who.state.app,
            "contacts.csv",
            move |app, out| app::export::write(app, &plan, true, out),
        )),
        Ok(Err(Outgoing::Write(ids, channel, scope))) => {
            crate::pages::messages::bulk_compose(&who, ws, ids, channel, scope).await
        }
        Err(AppError::Validation(v)) => {
            flash(&who.session, FlashKind::Error, v.message);
            Ok(see_other(&back))
        }
        Err(other) => Err(other.into()),
    }
}
