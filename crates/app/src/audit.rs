//! Reading the audit log: per workspace, or everything of the account.

use domain::audit::{AuditEntry, AuditFilter};
use domain::ids::WorkspaceId;
use domain::pagination::{Page, PageRequest};
use storage::audit::AuditScope;

use crate::{App, AppError, Caller};

/// A workspace's entries; another user's workspace is "not found".
pub fn for_workspace(
    app: &App,
    caller: &Caller,
    workspace: WorkspaceId,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEntry>, AppError> {
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, workspace)?;
        Ok(storage::audit::list(
            conn,
            AuditScope::Workspace(caller.user_id, workspace),
            filter,
            page,
        )?)
    })
}

/// All entries about the caller's own data, and installation-wide ones (housekeeping).
pub fn for_account(
    app: &App,
    caller: &Caller,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEntry>, AppError> {
    Ok(app.db().read(|conn| {
        storage::audit::list(conn, AuditScope::Account(caller.user_id), filter, page)
    })?)
}
