-- CSV imports: each one, what it did to which contact (so it can be undone), and the rows it
-- could not take (so they can be downloaded, fixed and imported again).
CREATE TABLE imports (
    id INTEGER PRIMARY KEY NOT NULL,
    owner_user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    -- 'uploaded' (waiting for its mapping), 'running', 'done', 'failed', 'cancelled', 'reverted'.
    status TEXT NOT NULL,
    -- Counted only: nothing was written.
    dry_run BOOLEAN NOT NULL DEFAULT 0,
    -- JSON: encoding, delimiter, mapping, policy, overwrite, create_fields.
    settings TEXT NOT NULL DEFAULT '{}',
    total_rows BIGINT NOT NULL DEFAULT 0,
    -- Rows read so far; those not created, updated or failed were skipped.
    processed_rows BIGINT NOT NULL DEFAULT 0,
    created_count BIGINT NOT NULL DEFAULT 0,
    updated_count BIGINT NOT NULL DEFAULT 0,
    failed_count BIGINT NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT 0,
    -- Why the whole import failed, in words a person can act on.
    error TEXT,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX imports_by_workspace ON imports(workspace_id, created_at);
CREATE INDEX imports_by_status ON imports(status);

CREATE TABLE import_changes (
    import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    -- No foreign key: the record must outlive a contact deleted later.
    contact_id INTEGER NOT NULL,
    -- 'created' or 'updated'.
    kind TEXT NOT NULL CHECK (kind IN ('created', 'updated')),
    -- For 'updated': the contact as it was before (base fields, stage, tags, values), as JSON.
    before_json TEXT,
    PRIMARY KEY (import_id, contact_id)
) WITHOUT ROWID;

CREATE TABLE import_failures (
    import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    -- The line's record number in the file, the header being 1.
    row_number BIGINT NOT NULL,
    reason TEXT NOT NULL,
    -- The row's cells as a JSON array of strings.
    cells TEXT NOT NULL,
    PRIMARY KEY (import_id, row_number)
) WITHOUT ROWID;
