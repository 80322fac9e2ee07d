DROP TABLE audit_log;
DROP TABLE api_keys;
DROP TABLE workspace_approvers;
DROP TABLE workspaces;
DROP TABLE sessions;
DROP TABLE users;
