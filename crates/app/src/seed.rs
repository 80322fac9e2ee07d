//! Synthetic data for trying pi-crm at the size real users reach, and for the benchmarks:
//! realistic contacts, each with custom values, tags and log entries, written in large
//! transactions so 100,000 contacts take seconds, not hours. Deterministic for a given seed.

use chrono::{Duration, NaiveDate, Utc};
use domain::contact::BaseFields;
use domain::contact_log::{LogKind, NewLogEntry};
use domain::custom_field::{FieldName, FieldType, FieldValue};
use domain::field_definition::CustomFieldDef;
use domain::ids::{ContactId, ListId, WorkspaceId};
use domain::list::ListKind;
use domain::values::{EmailAddress, PhoneNumber, Region};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use storage::{contact_log, contacts, custom_fields, lists};

use crate::{App, AppError, Caller};

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Minh",
    "Ashley",
    "Steven",
    "Kimberly",
    "Andrew",
    "Emily",
    "Paul",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "Priya",
    "Deborah",
    "Wei",
    "Monalisa",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Nguyen",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "Patel",
];
const COMPANIES: &[&str] = &[
    "",
    "",
    "Coldwell Banker",
    "Keller Williams",
    "RE/MAX",
    "Compass",
    "Redfin",
    "Acme Dental",
    "Bayview Bakery",
    "Summit Roofing",
    "Northside Auto",
    "Pacific Tech",
    "Golden Gate Law",
    "Sunrise Cafe",
];
const TAGS: &[&str] = &[
    "Hot Leads",
    "Referred by John",
    "Q3 Campaign",
    "First-time buyer",
    "Refinance",
    "Past client",
    "VIP",
    "Investor",
];
const SOURCES: &[&str] = &[
    "Website",
    "Zillow",
    "Referral",
    "Open house",
    "Facebook",
    "Past client",
    "Walk-in",
];
const FIELDS: &[(&str, FieldType)] = &[
    ("Closing date", FieldType::Date),
    ("Loan amount", FieldType::Number),
    ("Referral source", FieldType::Text),
    ("Loan file link", FieldType::Url),
    ("Business phone", FieldType::Phone),
    ("Alternate email", FieldType::Email),
    ("Birthday", FieldType::Date),
    ("Credit score", FieldType::Number),
    ("Property address", FieldType::Text),
    ("Preferences", FieldType::Json),
];

/// How many contacts were written, and the contact with the long log (for benchmarks).
#[derive(Debug, Clone)]
pub struct SeedReport {
    pub workspace: WorkspaceId,
    pub contacts: usize,
    pub long_log_contact: Option<ContactId>,
}

fn ensure_fields(
    conn: &mut storage::Conn,
    caller: &Caller,
    ws: WorkspaceId,
) -> Result<Vec<CustomFieldDef>, AppError> {
    let mut defs = custom_fields::for_workspace(conn, caller.user_id, ws)?;
    for (label, kind) in FIELDS {
        let Some(name) = FieldName::from_label(label) else {
            continue;
        };
        if defs.iter().any(|d| d.name == name) {
            continue;
        }
        let def = custom_fields::insert(
            conn,
            custom_fields::NewField {
                owner: caller.user_id,
                workspace: Some(ws),
                name: &name,
                label,
                field_type: *kind,
                required: false,
                default_value: None,
                transaction_related: *kind == FieldType::Url,
            },
            Utc::now(),
        )?;
        defs.push(def);
    }
    Ok(defs)
}

/// A valid, distinct North American number in `area` for the i-th contact (exchanges may
/// not start with 0 or 1).
fn phone(area: &str, i: usize) -> String {
    format!("+1{area}{}{:04}", 200 + (i / 10_000) % 800, i % 10_000)
}

fn value_for(def: &CustomFieldDef, rng: &mut StdRng, i: usize) -> Option<FieldValue> {
    let day = |rng: &mut StdRng, from: i32, span: i64| {
        NaiveDate::from_ymd_opt(from, 1, 1).map(|d| d + Duration::days(rng.gen_range(0..span)))
    };
    Some(match def.field_type {
        FieldType::Date if def.name.as_str() == "birthday" => {
            FieldValue::Date(day(rng, 1950, 365 * 50)?)
        }
        FieldType::Date => FieldValue::Date(day(rng, 2024, 365 * 4)?),
        FieldType::Number if def.name.as_str() == "credit_score" => {
            FieldValue::Number(rng.gen_range(540..850).to_string())
        }
        FieldType::Number => FieldValue::Number((rng.gen_range(80..2_000) * 1_000).to_string()),
        FieldType::Text if def.name.as_str() == "referral_source" => {
            FieldValue::Text(SOURCES[rng.gen_range(0..SOURCES.len())].to_owned())
        }
        FieldType::Text => FieldValue::Text(format!(
            "{} {} St, San Jose, CA",
            rng.gen_range(1..9_999),
            LAST[rng.gen_range(0..LAST.len())]
        )),
        FieldType::Url => FieldValue::Url(format!("https://drive.example.com/loans/{i}")),
        FieldType::Phone => {
            FieldValue::Phone(PhoneNumber::parse(&phone("408", i), Region::Us).ok()?)
        }
        FieldType::Email => {
            FieldValue::Email(EmailAddress::parse(&format!("alt{i}@example.net")).ok()?)
        }
        FieldType::Json => FieldValue::Json(
            serde_json::json!({"beds": rng.gen_range(1..6), "pets": rng.gen_bool(0.3)}),
        ),
    })
}

/// Adds `n` synthetic contacts to the caller's workspace, in transactions of `batch`.
pub fn contacts(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    n: usize,
    seed: u64,
) -> Result<SeedReport, AppError> {
    const BATCH: usize = 2_000;
    let mut rng = StdRng::seed_from_u64(seed);
    let (defs, stages, tags) = app.db().write(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        let defs = ensure_fields(conn, caller, ws)?;
        let now = Utc::now();
        let mut tags: Vec<ListId> = Vec::new();
        for name in TAGS {
            let id = match lists::find(conn, ws, ListKind::Secondary, name)? {
                Some(id) => id,
                None => lists::insert(conn, ws, ListKind::Secondary, name, now)?,
            };
            tags.push(id);
        }
        let stages: Vec<ListId> = lists::for_workspace(conn, ws, Some(ListKind::Primary))?
            .into_iter()
            .map(|l| l.id)
            .collect();
        Ok::<_, AppError>((defs, stages, tags))
    })?;
    if stages.is_empty() {
        return Err(AppError::Internal("workspace has no stage".into()));
    }
    let start: usize = rng.gen_range(0..1_000_000);
    let mut long_log = None;
    let mut written = 0;
    while written < n {
        let count = BATCH.min(n - written);
        let first_id = app.db().write(|conn| {
            let now = Utc::now();
            let mut first = None;
            for k in 0..count {
                let i = start + written + k;
                let base = BaseFields {
                    first_name: FIRST[rng.gen_range(0..FIRST.len())].to_owned(),
                    last_name: LAST[rng.gen_range(0..LAST.len())].to_owned(),
                    primary_email: EmailAddress::parse(&format!("contact{i}@example.com")).ok(),
                    primary_phone: PhoneNumber::parse(&phone("415", i), Region::Us).ok(),
                    company: COMPANIES[rng.gen_range(0..COMPANIES.len())].to_owned(),
                };
                let stage = stages[rng.gen_range(0..stages.len())];
                let id = contacts::insert(conn, ws, &base, stage, now)?;
                first.get_or_insert(id);
                for def in &defs {
                    if let Some(v) = value_for(def, &mut rng, i) {
                        contacts::set_value(conn, id, def.id, &v.to_stored())?;
                    }
                }
                for _ in 0..rng.gen_range(0..3) {
                    contacts::add_tag(conn, ws, id, tags[rng.gen_range(0..tags.len())])?;
                }
                let entries = if written + k == 0 { 200 } else { 3 };
                for e in 0..entries {
                    let at = now - Duration::hours(rng.gen_range(1..24 * 700) + e as i64);
                    let entry = if e % 3 == 0 {
                        NewLogEntry::new(LogKind::Note, "Called about rates", at)
                            .body("Wants to refinance when rates drop below 6%.")
                    } else if e % 3 == 1 {
                        NewLogEntry::new(LogKind::Call, "Call: talked for 5 min", at)
                    } else {
                        NewLogEntry::new(LogKind::Email, "Sent the monthly market update", at)
                    };
                    contact_log::insert(conn, id, &entry, Some(caller.user_id), now)?;
                }
                if rng.gen_bool(0.7) {
                    contacts::touch_contacted(
                        conn,
                        id,
                        now - Duration::days(rng.gen_range(0..400)),
                    )?;
                }
                contacts::reindex(conn, id)?;
            }
            storage::audit::insert(
                conn,
                &caller
                    .audit("contact.seed", "workspace")
                    .workspace(ws)
                    .entity(ws)
                    .after(&serde_json::json!({"contacts": count})),
                now,
            )?;
            Ok::<_, AppError>(first)
        })?;
        if written == 0 {
            long_log = first_id;
        }
        written += count;
    }
    app.db().optimize()?;
    Ok(SeedReport {
        workspace: ws,
        contacts: written,
        long_log_contact: long_log,
    })
}
