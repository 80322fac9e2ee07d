-- Messaging: how each workspace sends email and each user sends texts, the durable send queue
-- (one row per message and recipient), what providers told us about each message, webhook
-- deliveries already applied, and who must not be written to.

CREATE TABLE workspace_email_providers (
    workspace_id INTEGER PRIMARY KEY NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('outbox', 'mailgun', 'google', 'microsoft', 'smtp')),
    -- Settings that are not secret, as JSON (domain, region, from, base_url, ...).
    config TEXT NOT NULL DEFAULT '{}',
    -- Secret settings as JSON sealed with the installation key, never stored in the clear.
    secrets_enc TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE user_sms_providers (
    user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('twilio')),
    config TEXT NOT NULL DEFAULT '{}',
    secrets_enc TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY NOT NULL,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    -- What this message is (a compose form's token, an API request, a campaign step): the same
    -- key can never be queued twice for the same contact and channel.
    dedupe_key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    marketing BOOLEAN NOT NULL DEFAULT 0,
    -- queued -> sending -> sent | failed | unknown; then delivered | bounced from provider
    -- events; skipped (suppressed at send time) and dropped (a person gave up on it).
    status TEXT NOT NULL CHECK (status IN
        ('queued', 'sending', 'sent', 'failed', 'unknown', 'delivered', 'bounced', 'skipped', 'dropped')),
    -- The provider that took (or is taking) the message: outbox, mailgun, twilio, ...
    provider TEXT,
    provider_message_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (contact_id, channel, dedupe_key)
);

-- What a message says, apart from the queue's bookkeeping.
CREATE TABLE message_contents (
    message_id INTEGER PRIMARY KEY NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    created_by_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    subject TEXT NOT NULL DEFAULT '',
    body_text TEXT NOT NULL,
    body_html TEXT,
    -- The Message-ID header pi-crm generated, without angle brackets.
    rfc_message_id TEXT,
    -- The headers as sent, JSON [[name, value], ...], for the Outbox and for support.
    headers TEXT NOT NULL DEFAULT '[]'
);

CREATE INDEX messages_due ON messages(status, next_attempt_at);
CREATE INDEX messages_by_provider_id ON messages(provider_message_id);
CREATE INDEX messages_by_workspace ON messages(workspace_id, created_at);

CREATE TABLE message_events (
    id INTEGER PRIMARY KEY NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    -- queued, sent, retry, failed, unknown, delivered, opened, clicked, bounced, complained,
    -- unsubscribed, skipped, dropped, resent.
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX message_events_by_message ON message_events(message_id, id);

-- Webhook deliveries applied, so a repeated delivery changes nothing. Written in the same
-- transaction as the delivery's effect.
CREATE TABLE webhook_receipts (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (provider, event_id)
) WITHOUT ROWID;
CREATE INDEX webhook_receipts_by_time ON webhook_receipts(received_at);

-- Addresses a workspace must not write to: checked at send time.
CREATE TABLE suppressions (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    -- A lower-cased email address or an E.164 phone number.
    address TEXT NOT NULL,
    -- unsubscribed, bounced, complained, opted_out
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (workspace_id, channel, address)
) WITHOUT ROWID;

-- Sending paused by a person, per workspace: the queue keeps its messages until resumed.
CREATE TABLE send_pauses (
    workspace_id INTEGER PRIMARY KEY NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    paused_at TIMESTAMP NOT NULL
);

ALTER TABLE contacts ADD COLUMN do_not_contact BOOLEAN NOT NULL DEFAULT 0;
