DROP TABLE contacts_fts;
DROP TABLE contact_log;
DROP TABLE contact_values;
DROP TABLE contact_tags;
DROP TABLE contacts;
DROP TABLE lists;
DROP TABLE custom_fields;
