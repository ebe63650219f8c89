-- PostgreSQL only (triggers that NOTIFY the nodes' session caches). A SQLite database has one server
-- process, which forgets cached sessions itself at every change; this migration keeps the two trees'
-- names identical.
SELECT 1;
