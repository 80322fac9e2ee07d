//! The device cookie (OWASP's "device cookies" against account lockout): after a successful
//! sign-in the browser gets a signed cookie naming the user. A sign-in that presents it is not
//! counted against the per-account limit, so an attacker guessing passwords from elsewhere
//! cannot lock the owner out; the per-address limit still applies to everyone.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time::Duration};
use domain::ids::UserId;

use crate::state::AppState;

const BASE_NAME: &str = "pi-crm-device";

fn payload(user: UserId) -> String {
    format!("device:{}", user.0)
}

pub fn cookie(state: &AppState, user: UserId) -> Cookie<'static> {
    let sig = state.app.secrets().sign("device", payload(user).as_bytes());
    Cookie::build(state.cookie_name(BASE_NAME), format!("{}.{sig}", user.0))
        .path("/")
        .http_only(true)
        .secure(state.config.tls)
        .same_site(SameSite::Strict)
        .max_age(Duration::days(365))
        .finish()
}

/// The user this browser has signed in as before, if its device cookie is genuine.
pub fn known_user(state: &AppState, req: &HttpRequest) -> Option<UserId> {
    let cookie = req.cookie(&state.cookie_name(BASE_NAME))?;
    let (id, sig) = cookie.value().split_once('.')?;
    let user = UserId(id.parse().ok()?);
    state
        .app
        .secrets()
        .verify("device", payload(user).as_bytes(), sig)
        .then_some(user)
}
