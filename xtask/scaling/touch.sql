-- "Last used" (sessions::touch_many): each node writes the sessions its cache admitted, at most once a
-- minute each, every second in statements of up to 500 ids. Batch b holds sessions b+1, b+1+batches, …
-- (scattered over the table, as random v4 ids are); client c writes batches c, c+clients, … in turn. The
-- real threshold is now() - 1 minute; here it is now(), so a batch written again within the minute (a run
-- passes over the table more than once) still writes its rows.
\set i :i + 1
\set batches (:users * :per_user) / 500
\set b :client_id + :clients * ((:i - 1) % greatest(:batches / :clients, 1))
UPDATE "user_sessions" SET "last_used_at" = now() WHERE (("user_sessions"."id" = ANY(ARRAY(SELECT ('11111111-0000-4000-8000-' || lpad(to_hex(:b::bigint + 1 + k * :batches::bigint), 12, '0'))::uuid FROM generate_series(0, 499) AS k))) AND ("user_sessions"."last_used_at" < now()));
