//! A CSV import as the app runs it: its status, its settings (resolved mapping, duplicate
//! policy) and its counts. The reading and mapping rules themselves are in `csv_import`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::csv_import::{Encoding, ImportTarget};
use crate::custom_field::FieldType;
use crate::ids::{ImportId, UserId, WorkspaceId};

/// Where an import stands. The lower-case string is the API's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    /// Uploaded in the wizard, waiting for its mapping.
    Uploaded,
    Running,
    Done,
    Failed,
    Cancelled,
    Reverted,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Uploaded => "uploaded",
            ImportStatus::Running => "running",
            ImportStatus::Done => "done",
            ImportStatus::Failed => "failed",
            ImportStatus::Cancelled => "cancelled",
            ImportStatus::Reverted => "reverted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            ImportStatus::Uploaded,
            ImportStatus::Running,
            ImportStatus::Done,
            ImportStatus::Failed,
            ImportStatus::Cancelled,
            ImportStatus::Reverted,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// Finished one way or another: nothing more will change unless it is reverted.
    pub fn is_final(self) -> bool {
        !matches!(self, ImportStatus::Uploaded | ImportStatus::Running)
    }
}

/// What to do with a row whose email or phone matches a contact already there (or an earlier
/// row of the same file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DuplicatePolicy {
    #[default]
    Skip,
    Update,
    Create,
}

impl DuplicatePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DuplicatePolicy::Skip => "skip",
            DuplicatePolicy::Update => "update",
            DuplicatePolicy::Create => "create",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "skip" | "" => Ok(DuplicatePolicy::Skip),
            "update" => Ok(DuplicatePolicy::Update),
            "create" => Ok(DuplicatePolicy::Create),
            other => Err(format!(
                "'{other}' is not a duplicate policy: use skip, update or create."
            )),
        }
    }
}

/// A custom field the import creates before it starts, for a column no field matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewField {
    pub column: usize,
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
}

/// How the file is read and mapped: everything needed to run the import again the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSettings {
    pub encoding: Encoding,
    /// The delimiter byte: `,`, `;` or a tab.
    pub delimiter: u8,
    /// The file's header row.
    pub headers: Vec<String>,
    /// One target per column.
    pub mapping: Vec<ImportTarget>,
    pub policy: DuplicatePolicy,
    /// With the update policy: replace values already there (true) or only fill empty ones.
    pub overwrite: bool,
    pub new_fields: Vec<NewField>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ImportCounts {
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
}

impl ImportCounts {
    pub fn total(&self) -> i64 {
        self.created + self.updated + self.skipped + self.failed
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportRecord {
    pub id: ImportId,
    pub owner_user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub file_name: String,
    pub status: ImportStatus,
    pub dry_run: bool,
    pub settings: Option<ImportSettings>,
    /// Data rows in the file (the header not counted).
    pub total_rows: i64,
    pub processed_rows: i64,
    pub counts: ImportCounts,
    pub cancel_requested: bool,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A row the import could not take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedRow {
    /// The record's number in the file, the header being 1.
    pub row_number: i64,
    pub reason: String,
    pub cells: Vec<String>,
}
