//! The page frame: head with the embedded CSS and scripts, the top bar with the workspace
//! switcher (the current workspace is visible on every page), navigation, and the toast area.

use domain::user::User;
use domain::workspace::Workspace;
use maud::{DOCTYPE, Markup, html};
use serde::{Deserialize, Serialize};

use crate::assets;
use crate::views::components::dot;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlashKind {
    Success,
    Error,
    Info,
}

/// A message shown once, as a toast, on the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

/// What the frame around a signed-in page shows.
pub struct Chrome {
    pub user: User,
    pub workspaces: Vec<Workspace>,
    pub current: Option<Workspace>,
    pub csrf: String,
    pub flashes: Vec<Flash>,
    /// A problem with backups, shown on every page until it is fixed.
    pub backup_warning: Option<String>,
}

/// Which part of the navigation is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    WorkspaceHome,
    Contacts,
    Board,
    Messages,
    WorkspaceSettings,
    WorkspaceAudit,
    Workspaces,
    Account,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="same-origin";
            // htmx must not inject inline styles or evaluate code: the CSP forbids both.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0}"#;
            title { (title) " · pi-crm" }
            // An inline icon, so browsers do not ask for a /favicon.ico that does not exist.
            link rel="icon" href=r#"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='7' fill='%232563eb'/%3E%3Ctext x='16' y='23' font-size='20' text-anchor='middle' fill='white' font-family='sans-serif'%3E%CF%80%3C/text%3E%3C/svg%3E"#;
            link rel="stylesheet" href=(assets::url("app.css"));
            script src=(assets::url("htmx.min.js")) defer {}
            script src=(assets::url("app.js")) defer {}
        }
    }
}

/// A page without the signed-in frame: setup, sign-in, errors.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body ."min-h-screen bg-slate-50 text-slate-900" {
                main #main ."mx-auto max-w-md px-4 py-10" {
                    p ."mb-6 text-lg font-bold tracking-tight" { a href="/" { "pi-crm" } }
                    div ."card" { (body) }
                }
            }
        }
    }
}

/// A page for a signed-in person.
pub fn page(chrome: &Chrome, title: &str, section: Section, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body ."min-h-screen bg-slate-50 text-slate-900"
                hx-headers=(format!(r#"{{"X-CSRF-Token":"{}"}}"#, chrome.csrf)) {
                a ."sr-only focus:not-sr-only focus:absolute focus:p-2 focus:bg-white" href="#main" { "Skip to content" }
                (top_bar(chrome))
                @if let Some(warning) = &chrome.backup_warning {
                    div ."border-b border-amber-300 bg-amber-50" role="status" #backup-warning {
                        p ."mx-auto max-w-6xl px-4 py-2 text-sm text-amber-900" {
                            (warning) " " a ."font-medium underline" href="/backups" { "Open backups" }
                        }
                    }
                }
                @if let Some(ws) = &chrome.current {
                    (workspace_nav(ws, section))
                }
                main #main ."mx-auto max-w-6xl px-4 py-6" {
                    (body)
                }
                (toasts(&chrome.flashes))
            }
        }
    }
}

fn top_bar(chrome: &Chrome) -> Markup {
    html! {
        header ."border-b border-slate-200 bg-white" {
            div ."mx-auto flex max-w-6xl flex-wrap items-center gap-3 px-4 py-2" {
                a ."text-lg font-bold tracking-tight" href="/" { "pi-crm" }
                (switcher(chrome))
                @if let Some(ws) = &chrome.current {
                    // Press / or Ctrl-K anywhere to jump here (app.js).
                    form ."order-last w-full sm:order-none sm:w-auto sm:flex-1 sm:max-w-sm" method="get"
                        action=(format!("/w/{}/contacts", ws.id)) role="search" {
                        label ."sr-only" for="global-search" { "Search contacts in " (ws.name.as_str()) }
                        input ."input" #global-search type="search" name="q" placeholder="Search contacts (press /)" autocomplete="off";
                    }
                }
                div ."ml-auto flex items-center gap-2" {
                    // On a phone these two live on the settings tabs, to keep the bar on one line.
                    a ."hidden whitespace-nowrap rounded-md px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 sm:inline-block" href="/shared" { "Shared with me" }
                    a ."hidden rounded-md px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 sm:inline-block" href="/backups" { "Backups" }
                    a ."max-w-40 truncate whitespace-nowrap rounded-md px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100" href="/settings/account"
                        title="Your account settings" {
                        (chrome.user.display_name.as_str())
                    }
                    form method="post" action="/logout" {
                        input type="hidden" name="csrf_token" value=(chrome.csrf);
                        button ."btn whitespace-nowrap" type="submit" { "Sign out" }
                    }
                }
            }
        }
    }
}

fn switcher(chrome: &Chrome) -> Markup {
    html! {
        details ."relative" #workspace-switcher {
            summary ."flex min-h-11 cursor-pointer list-none items-center gap-2 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium hover:bg-slate-50"
                aria-label="Switch workspace" {
                @if let Some(ws) = &chrome.current {
                    (dot(ws.color.as_str()))
                    span #current-workspace { (ws.name.as_str()) }
                } @else {
                    span #current-workspace ."text-slate-600" { "Choose a workspace" }
                }
                span aria-hidden="true" { "▾" }
            }
            div ."absolute z-30 mt-2 w-72 rounded-lg border border-slate-200 bg-white p-2 shadow-lg" {
                ul ."max-h-80 overflow-y-auto" {
                    @for ws in &chrome.workspaces {
                        li {
                            a ."flex min-h-11 items-center gap-2 rounded-md px-3 py-2 text-sm hover:bg-slate-100"
                                href=(format!("/w/{}", ws.id)) {
                                (dot(ws.color.as_str()))
                                span ."truncate" { (ws.name.as_str()) }
                                @if chrome.current.as_ref().is_some_and(|c| c.id == ws.id) {
                                    span ."ml-auto text-xs text-slate-500" { "current" }
                                }
                            }
                        }
                    }
                }
                div ."mt-2 border-t border-slate-200 pt-2" {
                    a ."block rounded-md px-3 py-2 text-sm hover:bg-slate-100" href="/workspaces" { "All workspaces" }
                    a ."block rounded-md px-3 py-2 text-sm font-medium text-blue-700 hover:bg-slate-100" href="/workspaces#new" { "+ New workspace" }
                }
            }
        }
    }
}

fn workspace_nav(ws: &Workspace, section: Section) -> Markup {
    let link = |href: String, label: &str, this: Section| {
        let active = section == this;
        html! {
            a ."whitespace-nowrap border-b-2 px-3 py-3 text-sm font-medium"
                .(if active { "border-blue-600 text-blue-700" } else { "border-transparent text-slate-600 hover:text-slate-900" })
                href=(href) aria-current=[active.then_some("page")] { (label) }
        }
    };
    html! {
        nav ."border-b border-slate-200 bg-white" aria-label="Workspace" {
            div ."mx-auto flex max-w-6xl gap-1 overflow-x-auto px-4" {
                (link(format!("/w/{}", ws.id), "Home", Section::WorkspaceHome))
                (link(format!("/w/{}/contacts", ws.id), "Contacts", Section::Contacts))
                (link(format!("/w/{}/board", ws.id), "Board", Section::Board))
                (link(format!("/w/{}/messages", ws.id), "Messages", Section::Messages))
                (link(format!("/w/{}/settings", ws.id), "Settings", Section::WorkspaceSettings))
                (link(format!("/w/{}/audit", ws.id), "Audit log", Section::WorkspaceAudit))
            }
        }
    }
}

pub fn toasts(flashes: &[Flash]) -> Markup {
    html! {
        div #toasts ."fixed inset-x-4 bottom-4 z-50 space-y-2 sm:left-auto sm:w-96" aria-live="polite" role="status" {
            @for flash in flashes {
                (toast(flash))
            }
        }
    }
}

pub fn toast(flash: &Flash) -> Markup {
    let tone = match flash.kind {
        FlashKind::Success => "border-emerald-300 bg-emerald-50 text-emerald-900",
        FlashKind::Error => "border-red-300 bg-red-50 text-red-900",
        FlashKind::Info => "border-slate-300 bg-white text-slate-900",
    };
    html! {
        div ."toast flex items-start gap-3 rounded-lg border p-3 shadow" .(tone) {
            p ."flex-1 text-sm" { (flash.text) }
            button type="button" data-dismiss ."text-sm font-semibold" aria-label="Dismiss" { "×" }
        }
    }
}
