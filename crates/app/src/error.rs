//! The errors a use case can end with. Each says what the person can do about it; `web` maps
//! them to a status and a page or JSON envelope.

use domain::validation::ValidationError;
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A value was rejected; the message says how to fix it.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// It does not exist, or it belongs to someone else (the two are never told apart).
    #[error("not found")]
    NotFound,
    /// It would clash with something that exists (a taken username, a duplicate name).
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// A contact with the same email or phone already exists in the workspace.
    #[error("{message}")]
    Duplicate {
        existing: domain::ids::ContactId,
        field: &'static str,
        message: String,
    },
    /// Sign-in failed; the message never says which part was wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    #[error(
        "The disk is full, so nothing was saved. Free some space on the Raspberry Pi's disk and try again."
    )]
    DiskFull,
    #[error("The database is busy. Try again in a moment.")]
    Busy,
    /// Anything else: logged with its cause, shown to the person as an opaque error.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StorageError> for AppError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => AppError::NotFound,
            // The constraint text is SQLite's, not for people; use cases map the conflicts they
            // expect to a message naming the field.
            StorageError::Conflict(_) => AppError::Conflict {
                field: "",
                message: "This already exists.".into(),
            },
            StorageError::DiskFull => AppError::DiskFull,
            StorageError::Busy => AppError::Busy,
            other => AppError::Internal(other.to_string()),
        }
    }
}
