DROP INDEX message_contents_by_rfc_id;
DROP TABLE inbound_messages;
