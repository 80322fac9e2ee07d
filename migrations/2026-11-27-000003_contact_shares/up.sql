-- One contact shared by its owner with another user: a read-only view until revoked.
CREATE TABLE contact_shares (
    id INTEGER PRIMARY KEY NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    owner_user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    recipient_user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- Whether the recipient also sees the communication log (base and custom fields always).
    include_log BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
-- At most one live share of a contact with a given user.
CREATE UNIQUE INDEX contact_shares_live ON contact_shares(contact_id, recipient_user_id) WHERE revoked_at IS NULL;
CREATE INDEX contact_shares_recipient ON contact_shares(recipient_user_id, revoked_at);
