-- Seeds a database that `latchkey migrate` made: :users users (default 50000), each with :per_user live
-- sessions (default 4) and one login_succeeded event per session (its history, which the login's
-- new-device judgement reads: the device 'Firefox on Linux', no device id, is known). Ids are made from numbers, so the pgbench scripts can name rows:
--   user i       00000000-0000-4000-8000-<i, 12 hex digits>      email u<i>@example.com
--   session s    11111111-0000-4000-8000-<s, 12 hex digits>      user (s - 1) / per_user + 1
--   its jti      00000000-0000-4000-0000-<s, 12 digits>          (generation 0: see rotate.sql)
-- Foreign-key triggers are off for the load; VACUUM ANALYZE afterwards (autovacuum is off on the
-- measured server). Run: psql -v users=50000 -v per_user=4 -f seed.sql <url>
\if :{?users} \else \set users 50000 \endif
\if :{?per_user} \else \set per_user 4 \endif
SET session_replication_role = replica;
BEGIN;
CREATE OR REPLACE FUNCTION lk_id(prefix text, n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
  $$ SELECT (prefix || '-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$;
INSERT INTO users (id, email, password_hash, first_name, last_name, is_active, is_superuser, locale,
                   created_at, updated_at)
SELECT lk_id('00000000', i), 'u' || i || '@example.com',
       '$argon2id$v=19$m=19456,t=2,p=1$c2NhbGluZ3NjYWxpbmc$6Vv0u8dWmYbQqE1t9m2Jq0cQXk7m7yq3rVb9bJ4mHkA',
       'User', 'Number ' || i, true, false, 'en', now() - interval '200 days', now() - interval '200 days'
FROM generate_series(1, :users) AS i;
INSERT INTO account_logins (user_id, first_login_at)
SELECT lk_id('00000000', i), now() - interval '200 days' FROM generate_series(1, :users) AS i;
INSERT INTO user_sessions (id, user_id, refresh_token_jti, device_name, device_id, ip_address, user_agent,
                           last_used_at, expires_at, absolute_expires_at, is_active, location_city,
                           location_country, created_at, updated_at)
SELECT lk_id('11111111', s), lk_id('00000000', (s - 1) / :per_user + 1),
       '00000000-0000-4000-0000-' || lpad(s::text, 12, '0'),
       'Firefox on Linux', NULL, '198.51.100.' || (s % 250), 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
       now() - interval '1 hour', now() + interval '7 days', now() + interval '30 days', true, 'Berlin',
       'Germany', now() - interval '1 day', now() - interval '1 hour'
FROM generate_series(1, :users * :per_user) AS s;
INSERT INTO security_events (id, user_id, session_id, kind, ip_address, user_agent, device_name, device_id,
                             location_city, location_country, occurred_at)
SELECT gen_random_uuid(), lk_id('00000000', (s - 1) / :per_user + 1), lk_id('11111111', s), 'login_succeeded',
       '198.51.100.' || (s % 250), 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
       'Firefox on Linux', NULL, 'Berlin', 'Germany', now() - interval '1 day'
FROM generate_series(1, :users * :per_user) AS s;
COMMIT;
RESET session_replication_role;
VACUUM ANALYZE;
