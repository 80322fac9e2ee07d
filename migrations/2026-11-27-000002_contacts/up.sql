-- Contacts: a small fixed base, typed custom fields kept as EAV, lists (pipeline stages and
-- tags), and each contact's communication log, with full-text search over all of it.

CREATE TABLE custom_fields (
    id INTEGER PRIMARY KEY NOT NULL,
    owner_user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- NULL: the field applies in all of the owner's workspaces.
    workspace_id INTEGER REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT NOT NULL CHECK (field_type IN ('text', 'date', 'number', 'url', 'phone', 'email', 'json')),
    required BOOLEAN NOT NULL DEFAULT 0,
    default_value TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    -- Changes to its value are written to the contact's log (transaction notes, loan file link).
    transaction_related BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX custom_fields_name ON custom_fields(owner_user_id, COALESCE(workspace_id, 0), name);

CREATE TABLE lists (
    id INTEGER PRIMARY KEY NOT NULL,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    -- 'primary': a pipeline stage (every contact is in exactly one); 'secondary': a tag.
    kind TEXT NOT NULL CHECK (kind IN ('primary', 'secondary')),
    name TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX lists_name ON lists(workspace_id, kind, name COLLATE NOCASE);
-- Target of the composite foreign keys below, which tie a membership to a list of the right
-- kind in the same workspace.
CREATE UNIQUE INDEX lists_identity ON lists(id, workspace_id, kind);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY NOT NULL,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_on TIMESTAMP NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    primary_email TEXT,
    -- Lower-cased email, to find duplicates.
    email_key TEXT,
    -- E.164.
    primary_phone TEXT,
    company TEXT NOT NULL DEFAULT '',
    -- Exactly one primary list, enforced here: NOT NULL, and the foreign key admits only a
    -- primary list of the same workspace.
    primary_list_id INTEGER NOT NULL,
    primary_list_kind TEXT NOT NULL DEFAULT 'primary' CHECK (primary_list_kind = 'primary'),
    last_contacted_at TIMESTAMP,
    -- Moved to the trash; restorable for 30 days.
    deleted_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    FOREIGN KEY (primary_list_id, workspace_id, primary_list_kind)
        REFERENCES lists(id, workspace_id, kind) ON DELETE RESTRICT
);
CREATE UNIQUE INDEX contacts_identity ON contacts(id, workspace_id);
-- The table's default order, so the first page is read straight off the index.
CREATE INDEX contacts_by_name ON contacts(workspace_id, deleted_at, last_name COLLATE NOCASE, first_name COLLATE NOCASE, id);
CREATE INDEX contacts_by_created ON contacts(workspace_id, deleted_at, created_on);
CREATE INDEX contacts_by_email ON contacts(workspace_id, email_key) WHERE email_key IS NOT NULL;
CREATE INDEX contacts_by_phone ON contacts(workspace_id, primary_phone) WHERE primary_phone IS NOT NULL;
CREATE INDEX contacts_by_list ON contacts(primary_list_id, deleted_at);
-- One stage's contacts in the table's order (the board, the stage filter).
CREATE INDEX contacts_by_stage_name ON contacts(workspace_id, deleted_at, primary_list_id, last_name COLLATE NOCASE, first_name COLLATE NOCASE, id);

CREATE TABLE contact_tags (
    contact_id INTEGER NOT NULL,
    list_id INTEGER NOT NULL,
    workspace_id INTEGER NOT NULL,
    list_kind TEXT NOT NULL DEFAULT 'secondary' CHECK (list_kind = 'secondary'),
    PRIMARY KEY (contact_id, list_id),
    FOREIGN KEY (contact_id, workspace_id) REFERENCES contacts(id, workspace_id) ON DELETE CASCADE,
    FOREIGN KEY (list_id, workspace_id, list_kind) REFERENCES lists(id, workspace_id, kind) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX contact_tags_by_list ON contact_tags(list_id, contact_id);

CREATE TABLE contact_values (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    field_id INTEGER NOT NULL REFERENCES custom_fields(id) ON DELETE CASCADE,
    -- Canonical text (dates YYYY-MM-DD, phones E.164, numbers without separators).
    value_text TEXT NOT NULL,
    -- Set for numbers and dates, so range filters use an index.
    value_number REAL,
    value_date TEXT,
    PRIMARY KEY (contact_id, field_id)
) WITHOUT ROWID;
CREATE INDEX contact_values_text ON contact_values(field_id, value_text);
CREATE INDEX contact_values_number ON contact_values(field_id, value_number) WHERE value_number IS NOT NULL;
CREATE INDEX contact_values_date ON contact_values(field_id, value_date) WHERE value_date IS NOT NULL;

CREATE TABLE contact_log (
    id INTEGER PRIMARY KEY NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'text', 'call', 'ai', 'stage', 'note', 'system')),
    summary TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    meta_json TEXT,
    occurred_at TIMESTAMP NOT NULL,
    actor_user_id INTEGER,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX contact_log_by_contact ON contact_log(contact_id, occurred_at, id);
CREATE INDEX contact_log_by_kind ON contact_log(contact_id, kind, occurred_at, id);

-- One document per contact (names, email, phone, company, custom values, notes), keyed by the
-- contact id. Contentless: the text lives in the tables above; app code rewrites a contact's
-- document in the transaction that changes it.
CREATE VIRTUAL TABLE contacts_fts USING fts5(
    doc,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4'
);

-- Workspaces made before this migration get the default pipeline stages.
INSERT INTO lists (workspace_id, kind, name, position, created_at)
SELECT w.id, 'primary', s.name, s.position, CURRENT_TIMESTAMP
FROM workspaces w
CROSS JOIN (
    SELECT 'Leads' AS name, 0 AS position UNION ALL
    SELECT 'Prospects', 1 UNION ALL
    SELECT 'Applications', 2 UNION ALL
    SELECT 'Closed', 3 UNION ALL
    SELECT 'Lost', 4
) s;
