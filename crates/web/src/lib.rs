//! The web layer: the actix-web server, its pages (maud + htmx), the JSON API under `/api/v1`,
//! and the HTTP-level protections (sessions, CSRF, security headers, rate limits, body limits).
//!
//! Owns everything about HTTP, HTML and JSON and nothing else: each handler parses the request,
//! calls a use case in `app` on a blocking thread, and renders the result. Every route is
//! declared once in `routes::all()`, which both serves it and lets the isolation test walk it.
//!
//! Must not depend on: diesel or `storage` (data comes through `app`), `integrations`, `ai`.

pub mod routes;

mod api;
mod assets;
mod auth;
mod config;
mod download;
mod errors;
mod pages;
mod security;
mod server;
mod session_store;
mod state;
mod upload;
mod views;
mod webhooks;

pub use config::WebConfig;
pub use server::{Maintenance, WebServer, bind, server};
