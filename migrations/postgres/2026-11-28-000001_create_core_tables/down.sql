DROP TABLE security_events;
DROP TABLE user_organizations;
DROP TABLE organizations;
DROP TABLE user_sessions;
DROP TABLE users;
