//! The start page: back to the workspace last used, or to the list to create the first one.

use actix_web::HttpResponse;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::{KEY_CURRENT_WORKSPACE, see_other};
use crate::state::blocking;

pub async fn show(who: SignedIn) -> Result<HttpResponse, PageError> {
    let uid = who.user.id;
    let workspaces = blocking(&who.state.app, move |app| {
        app::workspaces::all_active(app, uid)
    })
    .await?;
    let remembered = who.session.get::<i64>(KEY_CURRENT_WORKSPACE).ok().flatten();
    let target = workspaces
        .iter()
        .find(|w| Some(w.id.0) == remembered)
        .or(workspaces.first());
    Ok(match target {
        Some(ws) => see_other(&format!("/w/{}", ws.id)),
        None => see_other("/workspaces"),
    })
}
