ALTER TABLE contacts DROP COLUMN do_not_contact;
DROP TABLE send_pauses;
DROP TABLE suppressions;
DROP TABLE webhook_receipts;
DROP TABLE message_events;
DROP TABLE message_contents;
DROP TABLE messages;
DROP TABLE user_sms_providers;
DROP TABLE workspace_email_providers;
