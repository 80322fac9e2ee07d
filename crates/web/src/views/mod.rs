//! Shared look: the page layout with the top bar, and small widgets used across pages.

pub mod components;
pub mod layout;
