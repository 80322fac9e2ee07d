//! The database handle: one SQLite file, a pool of connections set up alike, and migrations.
//!
//! Durability: `synchronous=FULL` in WAL mode. Every commit waits until the write-ahead log is
//! on disk, so a transaction that was acknowledged survives a crash of the process or a power
//! cut (as far as the SD card or disk honours fsync). `NORMAL` would save an fsync per commit
//! at the cost of losing the last commits on power loss; the owners' writes are few and
//! precious, so we pay the fsync. See docs/decisions/0003-sqlite-durability.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::bulk::Bulk;
use crate::error::StorageError;

pub type Conn = SqliteConnection;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// How long a connection waits for another writer before giving up with "busy".
pub const BUSY_TIMEOUT_MS: u32 = 5_000;

/// The file name of the database inside the data directory.
pub const DATABASE_FILE: &str = "pi-crm.sqlite3";

/// Each pooled connection's page cache. Small: the server keeps up to six connections, a
/// Raspberry Pi has little memory, and the OS caches the file anyway; bulk work asks for more
/// for its duration (`Db::write_bulk`).
const POOLED_CACHE_KIB: u32 = 1024;

#[derive(Debug)]
struct ConnectionSetup;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // busy_timeout first, so the WAL switch below waits instead of failing.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};\
             PRAGMA journal_mode = WAL;\
             PRAGMA synchronous = FULL;\
             PRAGMA foreign_keys = ON;\
             PRAGMA temp_store = MEMORY;\
             PRAGMA cache_size = -{POOLED_CACHE_KIB};"
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens a connection to the file at `path`, outside any pool; also answers its URL.
fn establish(path: &Path) -> Result<(&str, SqliteConnection), StorageError> {
    let url = path
        .to_str()
        .ok_or_else(|| StorageError::Open("the path is not valid UTF-8".into()))?;
    let conn = SqliteConnection::establish(url)
        .map_err(|e| StorageError::Open(format!("{}: {e}", path.display())))?;
    Ok((url, conn))
}

/// A cheap-to-clone handle on the database.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

#[derive(diesel::QueryableByName)]
struct PragmaText {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

impl Db {
    /// Opens (creating if needed) the database file in `data_dir`. Does not migrate.
    pub fn open_in(data_dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StorageError::Open(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        Self::open(&data_dir.join(DATABASE_FILE))
    }

    pub fn open(path: &Path) -> Result<Self, StorageError> {
        // Probe once outside the pool so an unopenable file gives a clear error, not a timeout.
        let (url, _) = establish(path)?;
        let manager = ConnectionManager::<SqliteConnection>::new(url);
        let pool = Pool::builder()
            .max_size(6)
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(ConnectionSetup))
            .build(manager)?;
        Ok(Self {
            pool,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, StorageError> {
        let mut conn = self.pool.get()?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| StorageError::Migration(e.to_string()))?;
        Ok(applied.len())
    }

    /// Whether the database holds any table of ours (an empty file does not need a backup).
    pub fn has_tables(&self) -> Result<bool, StorageError> {
        let mut conn = self.pool.get()?;
        let rows: Vec<PragmaText> = diesel::sql_query(
            "SELECT name AS value FROM sqlite_schema WHERE type = 'table' AND name = 'users'",
        )
        .load(&mut *conn)?;
        Ok(!rows.is_empty())
    }

    /// How many embedded migrations have not been applied yet.
    pub fn pending_migrations(&self) -> Result<usize, StorageError> {
        let mut conn = self.pool.get()?;
        conn.pending_migrations(MIGRATIONS)
            .map(|m| m.len())
            .map_err(|e| StorageError::Migration(e.to_string()))
    }

    /// Runs `f` on a pooled connection without a transaction (reads).
    pub fn read<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.pool.get().map_err(StorageError::from)?;
        f(&mut conn)
    }

    /// Runs `f` inside an IMMEDIATE transaction: it commits when `f` returns `Ok` and rolls back
    /// otherwise. Taking the write lock up front avoids SQLite's deadlock on lock upgrade.
    pub fn write<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.pool.get().map_err(StorageError::from)?;
        Self::write_on(&mut conn, f)
    }

    /// A connection of its own for bulk work (an import), closed when `f` returns. Its page
    /// cache is `cache_mib`: a batch touches index pages all over a large file, and with the
    /// small pooled cache each row would re-read dozens of them. Its transactions do not check
    /// foreign keys: for an import's million rows the checks and the statement journal they
    /// need cost about a tenth of the time, and the caller checks the few rows all of them refer to
    /// (the workspace, its lists, the custom fields) once per transaction instead. A
    /// connection of its own, so neither setting can leak into the pool. Another thread
    /// checkpoints the WAL meanwhile (see `bulk`).
    pub fn bulk<T, E: From<StorageError>>(
        &self,
        cache_mib: u32,
        f: impl FnOnce(&mut Bulk) -> Result<T, E>,
    ) -> Result<T, E> {
        // `synchronous = NORMAL` for the batches: their commits skip the fsync, which the next
        // FULL commit on any connection (the import's own "done", at the latest) covers, as
        // the WAL is written in order. A power cut may lose the last batches, never half of
        // one, and the import is then undone at the next start anyway.
        let conn = self.dedicated(&format!(
            "PRAGMA synchronous = NORMAL;\
             PRAGMA foreign_keys = OFF;\
             PRAGMA cache_size = -{};\
             PRAGMA wal_autocheckpoint = 0;",
            cache_mib * 1024
        ))?;
        let checkpoint_conn = self.pool.get().map_err(StorageError::from)?;
        f(&mut Bulk::new(conn, checkpoint_conn))
    }

    /// Reads on a connection of its own with a page cache of `cache_mib`, closed when `f`
    /// returns: an export looks up every contact, its values and tags in the table's order,
    /// which is no order at all on disk, and with the small pooled cache nearly every lookup
    /// read its page from the file again (a third of an export of 100,000 contacts).
    pub fn read_large<T, E: From<StorageError>>(
        &self,
        cache_mib: u32,
        f: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.dedicated(&format!(
            "PRAGMA query_only = ON; PRAGMA cache_size = -{};",
            cache_mib * 1024
        ))?;
        f(&mut conn)
    }

    /// A new connection outside the pool, set up as pooled ones are and then by `pragmas`.
    fn dedicated(&self, pragmas: &str) -> Result<SqliteConnection, StorageError> {
        let (_, mut conn) = establish(&self.path)?;
        ConnectionSetup
            .on_acquire(&mut conn)
            .map_err(|e| StorageError::Open(e.to_string()))?;
        conn.batch_execute(pragmas)?;
        Ok(conn)
    }

    pub(crate) fn write_on<T, E: From<StorageError>>(
        conn: &mut Conn,
        f: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        // SQLite rolls some failures back by itself (a full disk, for one); diesel's own
        // ROLLBACK then fails with "no transaction is active". Keep the first error, which is
        // the one that says what happened.
        let mut failure: Option<E> = None;
        let result = conn.immediate_transaction::<T, TxError, _>(|c| {
            f(c).map_err(|e| {
                failure = Some(e);
                TxError::Failed
            })
        });
        match (result, failure) {
            (Ok(value), _) => Ok(value),
            (Err(_), Some(first)) => Err(first),
            (Err(TxError::Db(d)), None) => Err(E::from(StorageError::from(d))),
            (Err(TxError::Failed), None) => {
                Err(E::from(StorageError::Open("transaction failed".into())))
            }
        }
    }

    /// `PRAGMA optimize`: lets SQLite refresh the statistics its query planner uses.
    pub fn optimize(&self) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        // A sampled analysis (SQLite's advice for optimize): seconds saved on a large file,
        // and the planner needs the shape of the data, not exact counts.
        conn.batch_execute("PRAGMA analysis_limit = 1000; PRAGMA optimize;")?;
        Ok(())
    }

    /// Moves the write-ahead log into the main file, so the file alone is a complete copy.
    pub fn checkpoint(&self) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }

    /// A connection on its own, outside the pool (for a file that is not the live database,
    /// such as a backup being checked).
    pub fn connect(path: &Path) -> Result<Conn, StorageError> {
        let url = path
            .to_str()
            .ok_or_else(|| StorageError::Open("the path is not valid UTF-8".into()))?;
        let mut conn = SqliteConnection::establish(url)
            .map_err(|e| StorageError::Open(format!("{}: {e}", path.display())))?;
        conn.batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))?;
        Ok(conn)
    }

    /// `PRAGMA integrity_check` on any connection.
    pub fn check_integrity(conn: &mut Conn) -> Result<String, StorageError> {
        let rows: Vec<PragmaText> =
            diesel::sql_query("SELECT integrity_check AS value FROM pragma_integrity_check")
                .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|r| r.value)
            .collect::<Vec<_>>()
            .join("; "))
    }

    /// `PRAGMA integrity_check`; `Ok("ok")` when the file is sound.
    pub fn integrity_check(&self) -> Result<String, StorageError> {
        let mut conn = self.pool.get()?;
        let rows: Vec<PragmaText> =
            diesel::sql_query("SELECT integrity_check AS value FROM pragma_integrity_check")
                .load(&mut *conn)?;
        Ok(rows
            .into_iter()
            .map(|r| r.value)
            .collect::<Vec<_>>()
            .join("; "))
    }

    /// Reads a pragma's current value on a pooled connection (used by tests and /readyz).
    pub fn pragma(&self, name: &str) -> Result<String, StorageError> {
        if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(StorageError::Open(format!("not a pragma name: {name}")));
        }
        // The table-valued form names its column after the pragma, except for busy_timeout.
        let column = if name == "busy_timeout" {
            "timeout"
        } else {
            name
        };
        let mut conn = self.pool.get()?;
        let rows: Vec<PragmaText> = diesel::sql_query(format!(
            "SELECT CAST({column} AS TEXT) AS value FROM pragma_{name}"
        ))
        .load(&mut *conn)?;
        rows.into_iter()
            .next()
            .map(|r| r.value)
            .ok_or(StorageError::NotFound)
    }
}

enum TxError {
    /// The closure failed; its error is kept aside.
    Failed,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::QueryDsl;

    #[test]
    fn every_connection_gets_the_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_in(dir.path()).unwrap();
        assert!(db.migrate().unwrap() >= 1);
        assert_eq!(db.pending_migrations().unwrap(), 0);
        assert_eq!(db.pragma("journal_mode").unwrap(), "wal");
        assert_eq!(db.pragma("foreign_keys").unwrap(), "1");
        // FULL is 2.
        assert_eq!(db.pragma("synchronous").unwrap(), "2");
        assert_eq!(
            db.pragma("busy_timeout").unwrap(),
            BUSY_TIMEOUT_MS.to_string()
        );
        assert_eq!(db.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn a_full_disk_is_a_clear_error_and_leaves_the_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_in(dir.path()).unwrap();
        db.migrate().unwrap();
        let big = "x".repeat(64 * 1024);
        // Pretend the disk is nearly full: the file may grow by only a few pages.
        let result: Result<(), StorageError> = db.write(|conn| {
            conn.batch_execute("PRAGMA max_page_count = 1")?;
            let pages: i64 = diesel::sql_query("SELECT page_count AS value FROM pragma_page_count")
                .load::<PragmaNumber>(conn)?
                .first()
                .map_or(0, |p| p.value);
            conn.batch_execute(&format!("PRAGMA max_page_count = {}", pages + 2))?;
            for _ in 0..10 {
                diesel::sql_query(
                    "INSERT INTO audit_log (at, actor_kind, action, entity_type, after_json) \
                     VALUES ('2026-01-01 00:00:00', 'cli', 'x', 'y', ?)",
                )
                .bind::<diesel::sql_types::Text, _>(&big)
                .execute(conn)?;
            }
            Ok(())
        });
        assert!(matches!(result, Err(StorageError::DiskFull)), "{result:?}");
        assert_eq!(db.integrity_check().unwrap(), "ok");
        let rows: i64 = db
            .read(|conn| {
                crate::schema::audit_log::table
                    .count()
                    .get_result(conn)
                    .map_err(StorageError::from)
            })
            .unwrap();
        assert_eq!(rows, 0, "the transaction was rolled back whole");
    }

    #[derive(diesel::QueryableByName)]
    struct PragmaNumber {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        value: i64,
    }

    #[test]
    fn a_failed_write_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_in(dir.path()).unwrap();
        db.migrate().unwrap();
        let result: Result<(), StorageError> = db.write(|conn| {
            conn.batch_execute(
                "INSERT INTO audit_log (at, actor_kind, action, entity_type) \
                 VALUES ('2026-01-01 00:00:00', 'cli', 'x', 'y')",
            )?;
            Err(StorageError::NotFound)
        });
        assert!(result.is_err());
        let audit_rows: i64 = db
            .read(|conn| {
                crate::schema::audit_log::table
                    .count()
                    .get_result(conn)
                    .map_err(StorageError::from)
            })
            .unwrap();
        assert_eq!(audit_rows, 0);
    }
}
