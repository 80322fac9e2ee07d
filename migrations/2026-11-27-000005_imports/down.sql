DROP TABLE import_failures;
DROP TABLE import_changes;
DROP TABLE imports;
