//! Sharing one contact with another user: a read-only view for them until revoked, and "Save
//! As" to make an independent copy in one of their own workspaces.

use chrono::Utc;
use domain::contact::{BaseFields, Contact, Share};
use domain::contact_log::{LogEntry, LogKind, NewLogEntry};
use domain::ids::{ContactId, ShareId, WorkspaceId};
use domain::list::ListKind;
use domain::validation::ValidationError;
use storage::{contacts, shares};

use crate::{App, AppError, Caller};

fn recipient(conn: &mut storage::Conn, username: &str) -> Result<domain::user::User, AppError> {
    storage::users::find_by_username(conn, username)?
        .map(|(user, _)| user)
        .ok_or_else(|| {
            ValidationError::new(
                "username",
                format!("There is no user named '{}'.", username.trim()),
            )
            .into()
        })
}

pub fn share(
    app: &App,
    caller: &Caller,
    id: ContactId,
    username: &str,
    include_log: bool,
) -> Result<Share, AppError> {
    app.db().write(|conn| {
        let contact = contacts::get(conn, caller.user_id, id)?;
        let to = recipient(conn, username)?;
        if to.id == caller.user_id {
            return Err(
                ValidationError::new("username", "That is you: share with another user.").into(),
            );
        }
        let now = Utc::now();
        let share_id = shares::insert(conn, id, caller.user_id, to.id, include_log, now).map_err(
            |e| match e {
                storage::StorageError::Conflict(_) => AppError::Conflict {
                    field: "username",
                    message: format!(
                        "{} is already shared with {}.",
                        contact.display_name(),
                        to.username
                    ),
                },
                other => other.into(),
            },
        )?;
        storage::contact_log::insert(
            conn,
            id,
            &NewLogEntry::new(LogKind::System, format!("Shared with {}", to.username), now),
            Some(caller.user_id),
            now,
        )?;
        let share = shares::of_contact(conn, id)?
            .into_iter()
            .find(|s| s.id == share_id)
            .ok_or(AppError::NotFound)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("contact.share", "contact")
                .workspace(contact.workspace_id)
                .entity(id)
                .after(&share),
            now,
        )?;
        Ok(share)
    })
}

/// Ends a share at once: the recipient's view disappears; copies they saved stay theirs.
pub fn revoke(app: &App, caller: &Caller, id: ContactId, username: &str) -> Result<(), AppError> {
    app.db().write(|conn| {
        let contact = contacts::get(conn, caller.user_id, id)?;
        let to = recipient(conn, username).map_err(|_| AppError::NotFound)?;
        let now = Utc::now();
        if !shares::revoke(conn, id, to.id, now)? {
            return Err(AppError::NotFound);
        }
        storage::contact_log::insert(
            conn,
            id,
            &NewLogEntry::new(
                LogKind::System,
                format!("Stopped sharing with {}", to.username),
                now,
            ),
            Some(caller.user_id),
            now,
        )?;
        storage::audit::insert(
            conn,
            &caller
                .audit("contact.unshare", "contact")
                .workspace(contact.workspace_id)
                .entity(id)
                .after(&serde_json::json!({"recipient": to.username})),
            now,
        )?;
        Ok(())
    })
}

/// The live shares of one of the caller's contacts.
pub fn of_contact(app: &App, caller: &Caller, id: ContactId) -> Result<Vec<Share>, AppError> {
    app.db().read(|conn| {
        contacts::owner_workspace(conn, caller.user_id, id)?;
        Ok(shares::of_contact(conn, id)?)
    })
}

/// What a recipient sees of a shared contact.
#[derive(Debug, Clone)]
pub struct SharedContact {
    pub share: Share,
    pub contact: Contact,
    /// Empty unless the owner shared the log.
    pub log: Vec<LogEntry>,
}

fn view_of(
    conn: &mut storage::Conn,
    share: Share,
    with_log: bool,
) -> Result<SharedContact, AppError> {
    let contact = contacts::load(conn, &[share.contact_id])?
        .pop()
        .ok_or(AppError::NotFound)?;
    // Only the conversation is shared: emails, texts, calls, notes. System entries (shares,
    // merges, trash) and every entry's meta stay the owner's.
    let log = if with_log && share.include_log {
        storage::contact_log::page(conn, share.contact_id, None, None, 200)?
            .into_iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    LogKind::Email | LogKind::Text | LogKind::Call | LogKind::Note
                )
            })
            .map(|e| LogEntry { meta: None, ..e })
            .collect()
    } else {
        Vec::new()
    };
    Ok(SharedContact {
        share,
        contact,
        log,
    })
}

/// Contacts shared with the caller (live shares only; a contact in its owner's trash is not).
pub fn shared_with_me(app: &App, caller: &Caller) -> Result<Vec<SharedContact>, AppError> {
    app.db().read(|conn| {
        let mut out = Vec::new();
        for share in shares::to_recipient(conn, caller.user_id)? {
            let view = view_of(conn, share, false)?;
            if view.contact.deleted_at.is_none() {
                out.push(view);
            }
        }
        Ok(out)
    })
}

/// One contact shared with the caller, by share id; anything else is "not found".
pub fn view(app: &App, caller: &Caller, id: ShareId) -> Result<SharedContact, AppError> {
    app.db().read(|conn| {
        let share = shares::for_recipient(conn, caller.user_id, id)?;
        let view = view_of(conn, share, true)?;
        if view.contact.deleted_at.is_some() {
            return Err(AppError::NotFound);
        }
        Ok(view)
    })
}

/// Copies a shared contact into one of the caller's workspaces: a new, independent contact
/// with its own id and log. Custom values go to fields of the same name and type there; any
/// that have no such field are kept in the first log entry, so nothing is lost.
pub fn save_as(
    app: &App,
    caller: &Caller,
    id: ShareId,
    ws: WorkspaceId,
) -> Result<Contact, AppError> {
    app.db().write(|conn| {
        let share = shares::for_recipient(conn, caller.user_id, id)?;
        let source = contacts::load(conn, &[share.contact_id])?
            .pop()
            .ok_or(AppError::NotFound)?;
        if source.deleted_at.is_some() {
            return Err(AppError::NotFound);
        }
        storage::workspaces::get(conn, caller.user_id, ws).map_err(|e| match e {
            storage::StorageError::NotFound => AppError::from(ValidationError::new(
                "workspace_id",
                "Choose one of your workspaces.",
            )),
            other => other.into(),
        })?;
        let now = Utc::now();
        let base = BaseFields {
            first_name: source.first_name.clone(),
            last_name: source.last_name.clone(),
            primary_email: source.primary_email.clone(),
            primary_phone: source.primary_phone.clone(),
            company: source.company.clone(),
        };
        let stage = storage::lists::for_workspace(conn, ws, Some(ListKind::Primary))?
            .first()
            .map(|l| l.id)
            .ok_or_else(|| AppError::Internal("workspace has no stage".into()))?;
        let new_id = contacts::insert(conn, ws, &base, stage, now)?;
        let defs = storage::custom_fields::for_workspace(conn, caller.user_id, ws)?;
        let mut leftovers = Vec::new();
        for v in &source.custom {
            match defs
                .iter()
                .find(|d| d.name == v.name && d.field_type == v.value.field_type())
            {
                Some(def) => contacts::set_value(conn, new_id, def.id, &v.value.to_stored())?,
                None => leftovers.push(format!("{}: {}", v.label, v.value.display())),
            }
        }
        let mut entry = NewLogEntry::new(
            LogKind::System,
            format!("Saved from a share by {}", share.owner_name),
            now,
        );
        if !leftovers.is_empty() {
            entry = entry.body(format!(
                "Details without a matching field here:\n{}",
                leftovers.join("\n")
            ));
        }
        storage::contact_log::insert(conn, new_id, &entry, Some(caller.user_id), now)?;
        contacts::reindex(conn, new_id)?;
        let copy = contacts::load(conn, &[new_id])?
            .pop()
            .ok_or(AppError::NotFound)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("contact.save_as", "contact")
                .workspace(ws)
                .entity(new_id)
                .after(&serde_json::json!({"share_id": id, "contact": copy})),
            now,
        )?;
        Ok(copy)
    })
}
