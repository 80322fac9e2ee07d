//! The `pi-crm` binary's library half: the command line, starting the server with its
//! scheduler, and shutting both down cleanly. Tests start the real server through [`serve`].
//!
//! Owns process concerns only: arguments and environment, logging, signals, the scheduler.
//! Must not hold business rules (they live in `app`) or HTTP handling (it lives in `web`).

pub mod cli;
pub mod scheduler;
pub mod sender;
pub mod serve;
pub mod tls;
