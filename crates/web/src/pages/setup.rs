//! First-run setup: with no user in the database, the browser is offered this page to create
//! the first account, and only then.

use actix_session::SessionExt;
use actix_web::{HttpRequest, HttpResponse, web};
use app::AppError;
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::csrf_token;
use crate::errors::PageError;
use crate::pages::login::start_session;
use crate::pages::{html, html_unprocessable, see_other};
use crate::security::peer_ip;
use crate::state::{AppState, blocking};
use crate::views::components::{Field, csrf_field, form_error};
use crate::views::layout;

#[derive(Deserialize, Default)]
pub struct SetupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn needs_setup(state: &AppState) -> Result<bool, PageError> {
    Ok(blocking(&state.app, app::accounts::needs_setup).await?)
}

fn form(csrf: &str, input: &SetupForm, error: Option<(&str, &str)>) -> Markup {
    let err = |field: &str| error.filter(|(f, _)| *f == field).map(|(_, m)| m);
    let general = error
        .filter(|(f, _)| !["username", "display_name", "password", "password_confirm"].contains(f));
    layout::bare(
        "Welcome",
        html! {
            h1 ."mb-2 text-2xl font-semibold" { "Welcome to pi-crm" }
            p ."mb-6 text-slate-700" { "Create the first account. You can add more people later with " code { "pi-crm user add" } "." }
            (form_error(general.map(|(_, m)| m)))
            form ."space-y-4" method="post" action="/setup" {
                (csrf_field(csrf))
                (Field::new("username", "Username").value(&input.username).required()
                    .autocomplete("username").help("3 to 32 letters, digits, dots, dashes or underscores.")
                    .error(err("username")).render())
                (Field::new("display_name", "Your name").value(&input.display_name)
                    .autocomplete("name").help("Shown in the top bar and the audit log.")
                    .error(err("display_name")).render())
                (Field::new("password", "Password").kind("password").required()
                    .autocomplete("new-password").help("At least 8 characters. A short sentence is easy to remember and hard to guess.")
                    .error(err("password")).render())
                (Field::new("password_confirm", "Password again").kind("password").required()
                    .autocomplete("new-password").error(err("password_confirm")).render())
                button ."btn btn-primary w-full" type="submit" { "Create account" }
            }
        },
    )
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    if !needs_setup(&state).await? {
        return Ok(see_other("/login"));
    }
    Ok(html(form(&csrf_token(&req), &SetupForm::default(), None)))
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    input: web::Form<SetupForm>,
) -> Result<HttpResponse, PageError> {
    let input = input.into_inner();
    let csrf = csrf_token(&req);
    if input.password != input.password_confirm {
        return Ok(html_unprocessable(form(
            &csrf,
            &input,
            Some((
                "password_confirm",
                "The two passwords are not the same. Type them again.",
            )),
        )));
    }
    let ip = peer_ip(&req);
    let (username, display_name, password) = (
        input.username.clone(),
        input.display_name.clone(),
        input.password.clone(),
    );
    let result = blocking(&state.app, move |app| {
        app::accounts::create_first_user(
            app,
            app::accounts::NewUser {
                username: &username,
                display_name: Some(&display_name),
                password: &password,
            },
            ip,
        )
    })
    .await;
    match result {
        Ok(user) => {
            let session = req.get_session();
            let mut res = see_other("/workspaces");
            start_session(&req, &state, &session, &user, &mut res).await?;
            Ok(res)
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(form(
            &csrf,
            &input,
            Some((&v.field, &v.message)),
        ))),
        Err(AppError::Conflict { field, message }) => Ok(html_unprocessable(form(
            &csrf,
            &input,
            Some((field, &message)),
        ))),
        Err(AppError::Forbidden(_)) => Ok(see_other("/login")),
        Err(other) => Err(other.into()),
    }
}
