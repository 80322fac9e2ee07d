DROP TABLE contact_shares;
