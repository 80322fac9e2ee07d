-- Every backup taken, with what it holds, how long it took and how it ended.
CREATE TABLE backups (
    id INTEGER PRIMARY KEY NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    -- 'cli', 'manual' (Backup Now) or 'scheduled'.
    trigger TEXT NOT NULL,
    -- 'ok' or 'failed'.
    outcome TEXT NOT NULL,
    file_name TEXT,
    size_bytes BIGINT,
    duration_ms BIGINT NOT NULL,
    -- JSON object: table name -> row count in the snapshot.
    row_counts TEXT,
    -- What went wrong, in words a person can act on.
    error TEXT,
    -- JSON list of the places the archive was copied to (a USB drive, a NAS mount).
    copies TEXT
);
CREATE INDEX backups_by_time ON backups(started_at);
