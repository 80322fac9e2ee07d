//! What can go wrong in storage, in terms the layer above can act on.

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A UNIQUE constraint said no; the string names the constraint's columns.
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("the disk is full")]
    DiskFull,
    #[error("the database is busy")]
    Busy,
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(diesel::result::Error),
    /// A bulk insert that ignores conflicting rows did not insert all of them.
    #[error("{0}")]
    Refused(String),
    #[error("could not get a database connection: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("could not open the database: {0}")]
    Open(String),
    #[error("migrations failed: {0}")]
    Migration(String),
}

impl From<diesel::result::Error> for StorageError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => StorageError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StorageError::Conflict(info.message().to_owned())
            }
            Error::DatabaseError(_, ref info) if is_disk_full(info.message()) => {
                StorageError::DiskFull
            }
            Error::DatabaseError(_, ref info) if info.message().contains("database is locked") => {
                StorageError::Busy
            }
            other => StorageError::Database(other),
        }
    }
}

fn is_disk_full(message: &str) -> bool {
    message.contains("database or disk is full") || message.contains("disk I/O error")
}
