-- The search index without its prefix indexes ('2 3 4'): they made every word cost four index
-- entries, a third of an import's time, while a prefix query over 100,000 contacts takes a few
-- milliseconds from the main index alone (docs/benchmarks.md). The documents are written again
-- by the application at its next start (`storage::contacts::rebuild_search_if_empty`).
DROP TABLE contacts_fts;
CREATE VIRTUAL TABLE contacts_fts USING fts5(
    doc,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
