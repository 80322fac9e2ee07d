//! Signing in and out: password, then (if turned on) a TOTP code. Throttled per address and
//! per account; every failure gets the same message.

use actix_session::{Session, SessionExt};
use actix_web::{HttpRequest, HttpResponse, web};
use app::AppError;
use app::accounts::PasswordCheck;
use chrono::Utc;
use domain::ids::UserId;
use domain::user::User;
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::{SignedIn, csrf_token};
use crate::errors::PageError;
use crate::pages::{html, html_unprocessable, safe_next, see_other};
use crate::security::{device, peer_ip, rate_limit};
use crate::session_store::{KEY_IP, KEY_PENDING_USER, KEY_USER, KEY_USER_AGENT};
use crate::state::{AppState, blocking};
use crate::views::components::{Field, csrf_field, form_error};
use crate::views::layout;

const KEY_PENDING_AT: &str = "pending_at";
/// How long the code step may take after the password step.
const PENDING_SECONDS: i64 = 300;

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

fn login_form(
    csrf: &str,
    username: &str,
    next: &str,
    message: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    layout::bare(
        "Sign in",
        html! {
            h1 ."mb-6 text-2xl font-semibold" { "Sign in" }
            @if let Some(n) = notice {
                p ."mb-4 rounded-md bg-emerald-50 p-3 text-sm text-emerald-900" role="status" { (n) }
            }
            (form_error(message))
            form ."mt-4 space-y-4" method="post" action="/login" {
                (csrf_field(csrf))
                input type="hidden" name="next" value=(next);
                (Field::new("username", "Username").value(username).required().autocomplete("username").render())
                (Field::new("password", "Password").kind("password").required().autocomplete("current-password").render())
                button ."btn btn-primary w-full" type="submit" { "Sign in" }
            }
        },
    )
}

fn code_form(csrf: &str, next: &str, message: Option<&str>) -> Markup {
    layout::bare(
        "Sign-in code",
        html! {
            h1 ."mb-2 text-2xl font-semibold" { "Enter your code" }
            p ."mb-4 text-slate-700" { "Open your authenticator app and type the 6-digit code for pi-crm." }
            (form_error(message))
            form ."mt-4 space-y-4" method="post" action="/login/code" {
                (csrf_field(csrf))
                input type="hidden" name="next" value=(next);
                (Field::new("code", "Code").kind("text").required().autocomplete("one-time-code").render())
                button ."btn btn-primary w-full" type="submit" { "Continue" }
            }
            p ."mt-4 text-sm" { a ."text-blue-700 underline" href="/login" { "Start again" } }
        },
    )
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    if blocking(&state.app, app::accounts::needs_setup).await? {
        return Ok(see_other("/setup"));
    }
    let session = req.get_session();
    if session.get::<i64>(KEY_USER).ok().flatten().is_some() {
        return Ok(see_other(&safe_next(query.next.as_deref())));
    }
    let notice = query.signed_out.as_ref().map(|_| "You have signed out.");
    Ok(html(login_form(
        &csrf_token(&req),
        "",
        &safe_next(query.next.as_deref()),
        None,
        notice,
    )))
}

fn throttled(retry_after: u64) -> PageError {
    PageError::TooMany {
        retry_after,
        message: format!("Too many sign-in attempts. Wait {retry_after} seconds, then try again."),
    }
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    input: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let input = input.into_inner();
    let ip = peer_ip(&req);
    let next = safe_next(input.next.as_deref());
    rate_limit::check(&state.limiters.login_ip, ip.as_deref().unwrap_or("unknown"))
        .map_err(throttled)?;
    let account_key = input.username.trim().to_lowercase();
    let known = device::known_user(&state, &req);
    let check_account =
        || rate_limit::check(&state.limiters.login_account, &account_key).map_err(throttled);

    let (username, password, ip2) = (input.username.clone(), input.password.clone(), ip.clone());
    let outcome = blocking(&state.app, move |app| {
        app::accounts::check_password(app, &username, &password, ip2)
    })
    .await;
    // A browser that has signed in as this user before is not held back by the per-account
    // limit; everyone else is, whether the password was right or not, so the limit gives
    // nothing away.
    let user_of = |o: &Result<PasswordCheck, AppError>| match o {
        Ok(PasswordCheck::Done(u) | PasswordCheck::NeedsCode(u)) => Some(u.id),
        _ => None,
    };
    if known.is_none() || known != user_of(&outcome) {
        check_account()?;
    }
    let session = req.get_session();
    match outcome {
        Ok(PasswordCheck::Done(user)) => {
            let mut res = see_other(&next);
            start_session(&req, &state, &session, &user, &mut res).await?;
            Ok(res)
        }
        Ok(PasswordCheck::NeedsCode(user)) => {
            session.renew();
            session
                .insert(KEY_PENDING_USER, user.id.0)
                .and_then(|_| session.insert(KEY_PENDING_AT, Utc::now().timestamp()))
                .map_err(|_| PageError::Internal)?;
            Ok(see_other(&format!(
                "/login/code?next={}",
                crate::errors::urlencode(&next)
            )))
        }
        Err(AppError::Unauthorized(message)) => Ok(html_unprocessable(login_form(
            &csrf_token(&req),
            &input.username,
            &next,
            Some(&message),
            None,
        ))),
        Err(other) => Err(other.into()),
    }
}

fn pending_user(session: &Session) -> Option<UserId> {
    let uid = session.get::<i64>(KEY_PENDING_USER).ok().flatten()?;
    let at = session.get::<i64>(KEY_PENDING_AT).ok().flatten()?;
    (Utc::now().timestamp() - at <= PENDING_SECONDS).then_some(UserId(uid))
}

pub async fn show_code(req: HttpRequest, query: web::Query<NextQuery>) -> HttpResponse {
    let session = req.get_session();
    if pending_user(&session).is_none() {
        return see_other("/login");
    }
    html(code_form(
        &csrf_token(&req),
        &safe_next(query.next.as_deref()),
        None,
    ))
}

pub async fn submit_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    input: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let session = req.get_session();
    let Some(user_id) = pending_user(&session) else {
        return Ok(see_other("/login"));
    };
    let ip = peer_ip(&req);
    rate_limit::check(&state.limiters.login_ip, ip.as_deref().unwrap_or("unknown"))
        .map_err(throttled)?;
    rate_limit::check(
        &state.limiters.login_account,
        &format!("code:{}", user_id.0),
    )
    .map_err(throttled)?;
    rate_limit::check(&state.limiters.code_hourly, &user_id.0.to_string()).map_err(throttled)?;
    let next = safe_next(input.next.as_deref());
    let code = input.code.clone();
    match blocking(&state.app, move |app| {
        app::accounts::check_code(app, user_id, &code, ip)
    })
    .await
    {
        Ok(user) => {
            let mut res = see_other(&next);
            start_session(&req, &state, &session, &user, &mut res).await?;
            Ok(res)
        }
        Err(AppError::Unauthorized(message)) => Ok(html_unprocessable(code_form(
            &csrf_token(&req),
            &next,
            Some(&message),
        ))),
        Err(other) => Err(other.into()),
    }
}

/// Signs `user` in: a new session id (never the one from before sign-in), who and where, an
/// audit entry, and the device cookie.
pub async fn start_session(
    req: &HttpRequest,
    state: &AppState,
    session: &Session,
    user: &User,
    res: &mut HttpResponse,
) -> Result<(), PageError> {
    session.renew();
    session.clear();
    let agent = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let ip = peer_ip(req);
    session
        .insert(KEY_USER, user.id.0)
        .and_then(|_| session.insert(KEY_USER_AGENT, agent))
        .and_then(|_| session.insert(KEY_IP, ip.clone().unwrap_or_default()))
        .map_err(|_| PageError::Internal)?;
    let u = user.clone();
    blocking(&state.app, move |app| {
        app::accounts::record_login(app, &u, ip)
    })
    .await?;
    res.add_cookie(&device::cookie(state, user.id))
        .map_err(|_| PageError::Internal)?;
    Ok(())
}

pub async fn logout(who: SignedIn) -> Result<HttpResponse, PageError> {
    let caller = who.caller.clone();
    blocking(&who.state.app, move |app| {
        app::accounts::record_logout(app, &caller)
    })
    .await?;
    who.session.purge();
    Ok(see_other("/login?signed_out=1"))
}
