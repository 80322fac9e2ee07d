//! Placeholders in messages: `{{first_name}}`, `{{company}}`, any custom field by name, with
//! an optional fallback for when the contact has no value: `{{first_name|there}}`.

/// One `{{...}}` found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'a> {
    pub name: &'a str,
    pub fallback: Option<&'a str>,
}

/// Splits a text into literal parts and placeholders, in order. A `{{` without a closing `}}`
/// is literal text.
fn pieces(text: &str) -> Vec<Result<&str, Placeholder<'_>>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        if start > 0 {
            out.push(Ok(&rest[..start]));
        }
        let inner = &rest[start + 2..start + 2 + len];
        let (name, fallback) = match inner.split_once('|') {
            Some((name, fallback)) => (name.trim(), Some(fallback.trim())),
            None => (inner.trim(), None),
        };
        out.push(Err(Placeholder { name, fallback }));
        rest = &rest[start + 2 + len + 2..];
    }
    if !rest.is_empty() {
        out.push(Ok(rest));
    }
    out
}

/// The placeholders of a text, in order of appearance.
pub fn placeholders(text: &str) -> Vec<Placeholder<'_>> {
    pieces(text).into_iter().filter_map(Result::err).collect()
}

/// Fills every placeholder with `value(name)`, or its fallback when the contact has no value
/// (an empty value counts as none), or nothing when there is no fallback either.
pub fn render(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text) {
        match piece {
            Ok(literal) => out.push_str(literal),
            Err(p) => match value(p.name).filter(|v| !v.trim().is_empty()) {
                Some(v) => out.push_str(&v),
                None => out.push_str(p.fallback.unwrap_or("")),
            },
        }
    }
    out
}

/// Names used in `text` that `known` does not accept, for a message that says which.
pub fn unknown_names(text: &str, known: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in placeholders(text) {
        if !known(p.name) && !out.iter().any(|n| n == p.name) {
            out.push(p.name.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "first_name" => Some("Ada".into()),
            "company" => Some(String::new()),
            "Loan amount" => Some("350000".into()),
            _ => None,
        }
    }

    #[test]
    fn fills_values_and_fallbacks() {
        assert_eq!(render("Hi {{first_name}}!", lookup), "Hi Ada!");
        assert_eq!(render("Hi {{ first_name | there }}", lookup), "Hi Ada");
        assert_eq!(
            render("At {{company|your company}}", lookup),
            "At your company"
        );
        assert_eq!(render("At {{company}}.", lookup), "At .");
        assert_eq!(render("{{Loan amount}} USD", lookup), "350000 USD");
        assert_eq!(render("Hi {{last_name|friend}}", lookup), "Hi friend");
    }

    #[test]
    fn leaves_unclosed_braces_and_plain_text_alone() {
        assert_eq!(render("no placeholders", lookup), "no placeholders");
        assert_eq!(render("{{first_name", lookup), "{{first_name");
        assert_eq!(render("a }} b {{first_name}}", lookup), "a }} b Ada");
        assert_eq!(render("", lookup), "");
        assert_eq!(render("{{first_name}}{{first_name}}", lookup), "AdaAda");
    }

    #[test]
    fn names_unknown_placeholders_once() {
        let known = |n: &str| lookup(n).is_some();
        assert_eq!(
            unknown_names("{{frist_name}} {{first_name}} {{frist_name|x}}", known),
            vec!["frist_name".to_owned()]
        );
    }
}
