-- Messages people sent to us (text replies now, email replies later): logged on the contact
-- they came from, and listed as needing attention until someone reads them. A text from a
-- number that matches no contact waits here with no contact.
CREATE TABLE inbound_messages (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id INTEGER REFERENCES workspaces(id) ON DELETE CASCADE,
    contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    provider_message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP,
    UNIQUE (channel, provider_message_id)
);
CREATE INDEX inbound_unread ON inbound_messages(user_id, read_at);
CREATE INDEX inbound_by_contact ON inbound_messages(contact_id);
-- A reply names the message it answers by its Message-ID.
CREATE INDEX message_contents_by_rfc_id ON message_contents(rfc_message_id) WHERE rfc_message_id IS NOT NULL;
