//! Contacts: the small fixed base (names, primary email and phone, company), their stage and
//! tags, and the custom values the user chose to keep.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::custom_field::{FieldName, FieldValue};
use crate::ids::{ContactId, CustomFieldId, WorkspaceId};
use crate::list::ListRef;
use crate::validation::ValidationError;
use crate::values::{EmailAddress, PhoneNumber, Region};

/// How long a contact stays in the trash before it may be purged.
pub const TRASH_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomValue {
    pub field_id: CustomFieldId,
    pub name: FieldName,
    pub label: String,
    pub value: FieldValue,
}

/// A contact as the text an export writes: base fields, stage and tag names, and the stored
/// text of the custom values asked for (empty where it has none), nothing parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactText {
    pub id: ContactId,
    pub first_name: String,
    pub last_name: String,
    pub primary_email: String,
    pub primary_phone: String,
    pub company: String,
    pub stage: String,
    pub tags: Vec<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    pub created_on: DateTime<Utc>,
    pub first_name: String,
    pub last_name: String,
    pub primary_email: Option<EmailAddress>,
    pub primary_phone: Option<PhoneNumber>,
    pub company: String,
    pub primary_list: ListRef,
    pub tags: Vec<ListRef>,
    pub custom: Vec<CustomValue>,
    pub last_contacted_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    /// What to call the contact on screen: the name, else the email, phone or company.
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned();
        if !name.is_empty() {
            return name;
        }
        if let Some(email) = &self.primary_email {
            return email.as_str().to_owned();
        }
        if let Some(phone) = &self.primary_phone {
            return phone.display();
        }
        if !self.company.is_empty() {
            return self.company.clone();
        }
        format!("Contact #{}", self.id)
    }

    pub fn custom_value(&self, name: &str) -> Option<&FieldValue> {
        self.custom
            .iter()
            .find(|c| c.name.as_str() == name)
            .map(|c| &c.value)
    }
}

/// The base fields as a person typed them, parsed. Custom values are checked against their
/// definitions separately.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BaseFields {
    pub first_name: String,
    pub last_name: String,
    pub primary_email: Option<EmailAddress>,
    pub primary_phone: Option<PhoneNumber>,
    pub company: String,
}

/// The raw text of the base fields, as typed in a form or sent to the API.
#[derive(Debug, Clone, Default)]
pub struct RawBaseFields<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub primary_email: &'a str,
    pub primary_phone: &'a str,
    pub company: &'a str,
}

fn short_text(
    field: &'static str,
    what: &str,
    raw: &str,
    max: usize,
) -> Result<String, ValidationError> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("The {what} is too long: use at most {max} characters."),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            format!("The {what} cannot contain line breaks or control characters."),
        ));
    }
    Ok(value.to_owned())
}

impl BaseFields {
    pub fn parse(raw: &RawBaseFields<'_>, region: Region) -> Result<Self, ValidationError> {
        let fields = Self {
            first_name: short_text("first_name", "first name", raw.first_name, 100)?,
            last_name: short_text("last_name", "last name", raw.last_name, 100)?,
            primary_email: match raw.primary_email.trim() {
                "" => None,
                email => Some(
                    EmailAddress::parse(email)
                        .map_err(|m| ValidationError::new("primary_email", m))?,
                ),
            },
            primary_phone: match raw.primary_phone.trim() {
                "" => None,
                phone => Some(
                    PhoneNumber::parse(phone, region)
                        .map_err(|m| ValidationError::new("primary_phone", m))?,
                ),
            },
            company: short_text("company", "company", raw.company, 200)?,
        };
        if fields.first_name.is_empty()
            && fields.last_name.is_empty()
            && fields.primary_email.is_none()
            && fields.primary_phone.is_none()
            && fields.company.is_empty()
        {
            return Err(ValidationError::new(
                "first_name",
                "Give the contact a name, an email, a phone number or a company.",
            ));
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(first: &'a str, email: &'a str, phone: &'a str) -> RawBaseFields<'a> {
        RawBaseFields {
            first_name: first,
            primary_email: email,
            primary_phone: phone,
            ..Default::default()
        }
    }

    #[test]
    fn base_fields() {
        let ok = BaseFields::parse(
            &raw(" Mona ", "Mona@Example.COM", "(415) 555-0123"),
            Region::Us,
        )
        .unwrap();
        assert_eq!(ok.first_name, "Mona");
        assert_eq!(ok.primary_phone.unwrap().as_str(), "+14155550123");
        let err = BaseFields::parse(&raw("", "", ""), Region::Us).unwrap_err();
        assert!(err.message.contains("name"));
        assert_eq!(
            BaseFields::parse(&raw("", "not-an-email", ""), Region::Us)
                .unwrap_err()
                .field,
            "primary_email"
        );
        assert_eq!(
            BaseFields::parse(&raw("", "", "12"), Region::Us)
                .unwrap_err()
                .field,
            "primary_phone"
        );
        assert_eq!(
            BaseFields::parse(&raw("a\nb", "", ""), Region::Us)
                .unwrap_err()
                .field,
            "first_name"
        );
        assert!(
            BaseFields::parse(&raw("", "", "415 555 0123"), Region::Us).is_ok(),
            "a phone alone is enough"
        );
    }
}

/// How a custom field is compared in a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Equals,
    Contains,
    Before,
    After,
    IsEmpty,
    GreaterThan,
    LessThan,
}

impl FilterOp {
    pub const ALL: &'static [FilterOp] = &[
        FilterOp::Equals,
        FilterOp::Contains,
        FilterOp::Before,
        FilterOp::After,
        FilterOp::IsEmpty,
        FilterOp::GreaterThan,
        FilterOp::LessThan,
    ];

    /// The suffix used in query strings: `cf.<name>` is equality, `cf.<name>.<op>` the others.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterOp::Equals => "eq",
            FilterOp::Contains => "contains",
            FilterOp::Before => "before",
            FilterOp::After => "after",
            FilterOp::IsEmpty => "empty",
            FilterOp::GreaterThan => "gt",
            FilterOp::LessThan => "lt",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FilterOp::Equals => "is",
            FilterOp::Contains => "contains",
            FilterOp::Before => "is before",
            FilterOp::After => "is after",
            FilterOp::IsEmpty => "is empty",
            FilterOp::GreaterThan => "is more than",
            FilterOp::LessThan => "is less than",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        FilterOp::ALL.iter().copied().find(|op| op.as_str() == raw)
    }
}

/// One condition on a custom field. `value` is the canonical text for the field's type (a
/// date as YYYY-MM-DD, a number without separators); `None` only for `IsEmpty`.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFilter {
    pub field_id: CustomFieldId,
    pub op: FilterOp,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContactSort {
    #[default]
    Name,
    Newest,
    Oldest,
    LastContacted,
    Updated,
}

impl ContactSort {
    pub const ALL: &'static [ContactSort] = &[
        ContactSort::Name,
        ContactSort::Newest,
        ContactSort::Oldest,
        ContactSort::LastContacted,
        ContactSort::Updated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactSort::Name => "name",
            ContactSort::Newest => "newest",
            ContactSort::Oldest => "oldest",
            ContactSort::LastContacted => "last_contacted",
            ContactSort::Updated => "updated",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ContactSort::Name => "Name",
            ContactSort::Newest => "Newest first",
            ContactSort::Oldest => "Oldest first",
            ContactSort::LastContacted => "Longest without contact",
            ContactSort::Updated => "Recently changed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        ContactSort::ALL.iter().copied().find(|s| s.as_str() == raw)
    }
}

/// What the contacts table asks for.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    /// Full-text search; every word must match the start of a word in the contact.
    pub text: Option<String>,
    pub stage: Option<crate::ids::ListId>,
    pub tag: Option<crate::ids::ListId>,
    pub custom: Vec<CustomFilter>,
    /// Contacts not contacted since this moment (or never).
    pub not_contacted_since: Option<DateTime<Utc>>,
    pub sort: ContactSort,
    /// The trash instead of the live contacts.
    pub trash: bool,
}

/// A contact shared by its owner with another user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub id: crate::ids::ShareId,
    pub contact_id: ContactId,
    pub owner_user_id: crate::ids::UserId,
    pub owner_name: String,
    pub recipient_user_id: crate::ids::UserId,
    pub recipient_username: String,
    pub include_log: bool,
    pub created_at: DateTime<Utc>,
}
