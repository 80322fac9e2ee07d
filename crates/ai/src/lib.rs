//! The AI assistant (`AiService` over async-openai): drafting templates, images, insights, and
//! a short list of tools that run as the user, inside that user's data.
//!
//! Empty in the foundation release; it arrives with the AI issue. The assistant never sends or
//! deletes anything by itself: it drafts, and a person approves.
//!
//! Must not depend on: `storage`, `app`, `web`, diesel or actix. Depends only on `domain`.
