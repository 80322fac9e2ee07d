DROP TABLE contacts_fts;
CREATE VIRTUAL TABLE contacts_fts USING fts5(
    doc,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4'
);
