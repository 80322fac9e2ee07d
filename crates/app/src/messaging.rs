//! Messaging: email and text providers per workspace and user, writing to contacts with
//! placeholders, the durable send queue and its worker, and the provider events and
//! unsubscribes that come back.

pub mod compose;
pub mod connect;
pub mod events;
pub mod providers;
pub mod queue;
pub mod replies;
pub mod texts;

pub use compose::Draft;
pub use queue::QueueSignal;
