//! Newtype ids, so a workspace id can never be passed where a user id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A person who signs in.
    UserId
);
id_type!(
    /// A business line; the isolation boundary for everything a user keeps.
    WorkspaceId
);
id_type!(
    /// An API key (the row, not the secret).
    ApiKeyId
);
id_type!(
    /// A server-side session (the row, not the cookie token).
    SessionId
);
id_type!(
    /// One entry of the audit log.
    AuditId
);
id_type!(
    /// A person the user keeps in touch with.
    ContactId
);
id_type!(
    /// A list: a pipeline stage (primary) or a tag (secondary).
    ListId
);
id_type!(
    /// A custom field definition.
    CustomFieldId
);
id_type!(
    /// One entry of a contact's communication log.
    LogEntryId
);
id_type!(
    /// A contact shared with another user.
    ShareId
);
id_type!(
    /// A CSV import: its settings, progress and what it changed.
    ImportId
);
id_type!(
    /// One message to one recipient in the send queue.
    MessageId
);
