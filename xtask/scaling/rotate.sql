-- A refresh on PostgreSQL: one statement (sessions::rotate_for_user), the compare-and-swap of the jti
-- with the user read in the same UPDATE, no BEGIN/COMMIT. Each client rotates its own share of the
-- sessions in turn (client c: sessions c+1, c+1+clients, …), so every rotation presents the session's
-- current jti and wins, as a client's refresh does: generation g of session s has the jti
-- 00000000-0000-4000-<g, 4 digits>-<s, 12 digits> (seed.sql made generation 0). The client's address is
-- the session's own (no move); now() stands for the bound clock.
\set i :i + 1
\set share (:users * :per_user) / :clients
\set g (:i - 1) / :share
\set s :client_id + 1 + :clients * ((:i - 1) % :share)
\set su (:s - 1) / :per_user + 1
\set g1 :g + 1
UPDATE user_sessions AS s SET refresh_token_jti = '00000000-0000-4000-' || lpad(:g1::text, 4, '0') || '-' || lpad(:s::text, 12, '0'), previous_refresh_jti = '00000000-0000-4000-' || lpad(:g::text, 4, '0') || '-' || lpad(:s::text, 12, '0'), rotated_at = now(), expires_at = LEAST(s.absolute_expires_at, now() + interval '7 days'), last_used_at = now(), updated_at = now(),
  ip_address = CASE WHEN ('198.51.100.' || (:s::int % 250)) IS NOT NULL AND s.ip_address IS DISTINCT FROM ('198.51.100.' || (:s::int % 250)) THEN ('198.51.100.' || (:s::int % 250)) ELSE s.ip_address END,
  location_city = CASE WHEN ('198.51.100.' || (:s::int % 250)) IS NOT NULL AND s.ip_address IS DISTINCT FROM ('198.51.100.' || (:s::int % 250)) THEN NULL ELSE s.location_city END,
  location_country = CASE WHEN ('198.51.100.' || (:s::int % 250)) IS NOT NULL AND s.ip_address IS DISTINCT FROM ('198.51.100.' || (:s::int % 250)) THEN NULL ELSE s.location_country END
FROM users AS u
WHERE s.id = ('11111111-0000-4000-8000-' || lpad(to_hex(:s::bigint), 12, '0'))::uuid AND s.user_id = ('00000000-0000-4000-8000-' || lpad(to_hex(:su::bigint), 12, '0'))::uuid
  AND s.refresh_token_jti = '00000000-0000-4000-' || lpad(:g::text, 4, '0') || '-' || lpad(:s::text, 12, '0') AND s.is_active AND s.expires_at > now()
  AND u.id = s.user_id AND u.is_active AND u.deleted_at IS NULL
RETURNING u.*, s.expires_at AS session_expires_at;
