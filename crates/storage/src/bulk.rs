//! A connection of its own for bulk work (an import; see `Db::bulk`), and a thread beside it
//! that checkpoints the WAL.
//!
//! Every batch of an import commits thousands of pages to the WAL, and copying them into the
//! database file (the checkpoint) took about a twelfth of the import when the committing
//! connection did it itself after each commit. The second thread does it on the other core
//! while the next batch is read and written. When the WAL has grown past a limit all the same,
//! the writer waits for one full checkpoint before its next transaction, so the WAL starts over
//! from its beginning and stays bounded.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use diesel::RunQueryDsl;
use diesel::sqlite::SqliteConnection;

use crate::db::{Conn, Db};
use crate::error::StorageError;

/// WAL frames (pages) past which the writer checkpoints before its next transaction: 64 MiB
/// of 4 KiB pages, four or five batches of an import.
const WAL_LIMIT_FRAMES: i64 = 16_384;

/// A connection of its own for bulk work; see [`Db::bulk`].
pub struct Bulk {
    conn: SqliteConnection,
    checkpoints: Checkpoints,
}

impl Bulk {
    pub(crate) fn new(conn: SqliteConnection, checkpoint_conn: impl CheckpointConn) -> Self {
        Self {
            conn,
            checkpoints: Checkpoints::start(checkpoint_conn),
        }
    }

    /// One IMMEDIATE transaction on the bulk connection, as [`Db::write`], but **without
    /// foreign key checks**: the caller makes sure, inside the transaction, that the rows
    /// its rows refer to exist.
    pub fn write<T, E: From<StorageError>>(
        &mut self,
        f: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.checkpoints.wal_frames.load(Ordering::Relaxed) > WAL_LIMIT_FRAMES {
            let _turn = self.checkpoints.turn.lock();
            // FULL waits for readers; the next transaction then starts the WAL over. A failure
            // only leaves the WAL longer.
            if let Ok(frames) = checkpoint(&mut self.conn, "FULL") {
                self.checkpoints.wal_frames.store(frames, Ordering::Relaxed);
            }
        }
        let result = Db::write_on(&mut self.conn, f);
        if result.is_ok() {
            self.checkpoints.nudge();
        }
        result
    }
}

/// A connection the checkpoint thread can own.
pub(crate) trait CheckpointConn:
    std::ops::DerefMut<Target = SqliteConnection> + Send + 'static
{
}
impl<T: std::ops::DerefMut<Target = SqliteConnection> + Send + 'static> CheckpointConn for T {}

/// The checkpoint thread: woken after each commit, it runs one PASSIVE checkpoint (which
/// never blocks the writer) unless one is still running.
struct Checkpoints {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Held by whoever checkpoints: SQLite lets only one connection do it at a time.
    turn: Arc<Mutex<()>>,
    /// Frames in the WAL after the last checkpoint.
    wal_frames: Arc<AtomicI64>,
}

impl Checkpoints {
    fn start(mut conn: impl CheckpointConn) -> Self {
        let (nudge, nudged) = sync_channel::<()>(1);
        let turn = Arc::new(Mutex::new(()));
        let wal_frames = Arc::new(AtomicI64::new(0));
        let thread = {
            let (turn, wal_frames) = (turn.clone(), wal_frames.clone());
            std::thread::spawn(move || {
                while nudged.recv().is_ok() {
                    let _turn = turn.lock();
                    if let Ok(frames) = checkpoint(&mut conn, "PASSIVE") {
                        wal_frames.store(frames, Ordering::Relaxed);
                    }
                }
            })
        };
        Self {
            nudge: Some(nudge),
            thread: Some(thread),
            turn,
            wal_frames,
        }
    }

    fn nudge(&self) {
        if let Some(nudge) = &self.nudge {
            // Full: a checkpoint is already due, and it will take this commit's pages too.
            let _ = nudge.try_send(());
        }
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.nudge.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(diesel::QueryableByName)]
struct CheckpointResult {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    log: i64,
}

/// Runs a checkpoint in `mode`; answers how many frames the WAL holds.
fn checkpoint(conn: &mut SqliteConnection, mode: &str) -> Result<i64, StorageError> {
    let rows: Vec<CheckpointResult> =
        diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).load(conn)?;
    Ok(rows.first().map_or(0, |r| r.log))
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;

    use crate::{Db, StorageError};

    /// Without the checkpoints the WAL would hold everything written (100 MiB here); with
    /// them it stays near the limit.
    #[test]
    fn the_wal_stays_bounded_during_bulk_work() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_in(dir.path()).unwrap();
        db.migrate().unwrap();
        let wal = db.path().with_extension("sqlite3-wal");
        let page = "x".repeat(4000);
        let mut largest = 0;
        db.bulk(8, |bulk| {
            for _ in 0..25 {
                bulk.write(|conn| {
                    for _ in 0..1000 {
                        diesel::sql_query(
                            "INSERT INTO audit_log (at, actor_kind, action, entity_type, \
                             after_json) VALUES ('2026-01-01 00:00:00', 'cli', 'x', 'y', ?)",
                        )
                        .bind::<diesel::sql_types::Text, _>(&page)
                        .execute(conn)?;
                    }
                    Ok::<_, StorageError>(())
                })?;
                largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
            }
            Ok::<_, StorageError>(())
        })
        .unwrap();
        let mib = largest / (1024 * 1024);
        assert!(mib <= 80, "the WAL grew to {mib} MiB");
    }
}
