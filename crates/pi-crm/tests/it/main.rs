//! Black-box tests of pi-crm: the real server on a real port, against a real SQLite file,
//! driven over HTTP like a browser or an API client would. One test binary for the crate.

mod api;
mod auth;
mod backups;
mod cli;
mod contacts;
mod csrf;
mod harness;
mod imports;
mod isolation;
mod jobs;
mod messaging;
mod offsite;
mod shell;
