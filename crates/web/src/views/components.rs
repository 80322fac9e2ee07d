//! Small widgets: form fields with their error, colour dots, times.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

/// A coloured dot for a workspace. SVG presentation attributes, not inline style, so the CSP
/// can forbid inline styles.
pub fn dot(color: &str) -> Markup {
    html! {
        svg ."h-3 w-3 shrink-0" viewBox="0 0 12 12" aria-hidden="true" {
            circle cx="6" cy="6" r="6" fill=(color) {}
        }
    }
}

pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(token); }
}

/// One labelled input with its error message beside it.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub value: &'a str,
    pub kind: &'a str,
    pub error: Option<&'a str>,
    pub help: Option<&'a str>,
    pub required: bool,
    pub autocomplete: Option<&'a str>,
    /// The element id; `field-<name>` unless set (set it when a page repeats a form).
    pub id: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str) -> Self {
        Self {
            name,
            label,
            value: "",
            kind: "text",
            error: None,
            help: None,
            required: false,
            autocomplete: None,
            id: None,
        }
    }

    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    pub fn value(mut self, v: &'a str) -> Self {
        self.value = v;
        self
    }
    pub fn kind(mut self, k: &'a str) -> Self {
        self.kind = k;
        self
    }
    pub fn error(mut self, e: Option<&'a str>) -> Self {
        self.error = e;
        self
    }
    pub fn help(mut self, h: &'a str) -> Self {
        self.help = Some(h);
        self
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn autocomplete(mut self, a: &'a str) -> Self {
        self.autocomplete = Some(a);
        self
    }

    pub fn render(&self) -> Markup {
        let id = self
            .id
            .map_or_else(|| format!("field-{}", self.name), str::to_owned);
        let err_id = format!("{id}-error");
        html! {
            div ."space-y-1" {
                label ."label" for=(id) { (self.label) }
                @if self.kind == "textarea" {
                    textarea ."input min-h-24" id=(id) name=(self.name) required[self.required]
                        aria-invalid=[self.error.map(|_| "true")] aria-describedby=[self.error.map(|_| &err_id)] { (self.value) }
                } @else {
                    input ."input" id=(id) name=(self.name) type=(self.kind) value=(self.value)
                        required[self.required] autocomplete=[self.autocomplete]
                        aria-invalid=[self.error.map(|_| "true")] aria-describedby=[self.error.map(|_| &err_id)];
                }
                @if let Some(help) = self.help {
                    p ."text-xs text-slate-600" { (help) }
                }
                @if let Some(err) = self.error {
                    p ."text-sm text-red-700" id=(err_id) { (err) }
                }
            }
        }
    }
}

/// A box at the top of a form listing what to fix.
pub fn form_error(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            div ."rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900" role="alert" { (m) }
        }
    }
}

/// "3 days ago", with the exact UTC time on hover.
pub fn when(t: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(t.to_rfc3339()) title=(t.format("%Y-%m-%d %H:%M UTC").to_string()) { (relative(t, Utc::now())) }
    }
}

pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (n, unit) = match secs.abs() {
        s if s < 60 => return "just now".into(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s if s < 86_400 * 60 => (s / 86_400, "day"),
        _ => {
            return if secs >= 0 {
                t.format("%b %-d, %Y").to_string()
            } else {
                format!("on {}", t.format("%b %-d, %Y"))
            };
        }
    };
    let plural = if n == 1 { "" } else { "s" };
    if secs >= 0 {
        format!("{n} {unit}{plural} ago")
    } else {
        format!("in {n} {unit}{plural}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let check = |secs: i64, expected: &str| {
            assert_eq!(
                relative(now - chrono::Duration::seconds(secs), now),
                expected
            );
        };
        check(5, "just now");
        check(60, "1 minute ago");
        check(7200, "2 hours ago");
        check(86_400 * 3, "3 days ago");
        check(-7200, "in 2 hours");
    }

    #[test]
    fn markup_in_values_is_escaped() {
        let html = Field::new("name", "Name")
            .value("<img src=x onerror=alert(1)>")
            .render()
            .into_string();
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(!html.contains("<img"));
    }
}
