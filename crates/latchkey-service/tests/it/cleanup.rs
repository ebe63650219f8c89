//! The cleanup job: it deletes exactly what ended before retention, in batches, and goes on past a failing table.

use chrono::Duration;
use latchkey_db::models::{EventRow, NewSession};
use latchkey_db::repo::{events, sessions};
use latchkey_db::{AnyConnection, Id, Ts};
use latchkey_service::cleanup::{self, CleanupPolicy, TableCounts};
use latchkey_testkit::{TestDb, rows, t0};

struct Seeded {
    kept_sessions: Vec<Id>,
    kept_events: Vec<Id>,
}

fn session(conn: &mut AnyConnection, user: Id, created: chrono::DateTime<chrono::Utc>, life: Duration) -> Id {
    // No device, and a year of absolute lifetime: only `life` decides when the session ends.
    let s = NewSession {
        device_name: None,
        ip_address: None,
        user_agent: None,
        absolute_expires_at: Ts(created + Duration::days(365)),
        ..rows::session(user, created, life)
    };
    sessions::create(conn, &s).unwrap().id
}

fn event(conn: &mut AnyConnection, user: Option<Id>, at: chrono::DateTime<chrono::Utc>) -> Id {
    let e = EventRow {
        id: Id(uuid::Uuid::new_v4()),
        user_id: user,
        session_id: None,
        kind: "login_failed".into(),
        ip_address: None,
        user_agent: None,
        device_name: None,
        detail: None,
        occurred_at: Ts(at),
        actor_id: None,
        organization_id: None,
        device_id: None,
        location_city: None,
        location_country: None,
    };
    events::insert(conn, &e).unwrap();
    e.id
}

/// Two ended-long-ago sessions, three to keep; two old events, two to keep.
fn seed(conn: &mut AnyConnection) -> Seeded {
    let now = t0();
    let user = rows::create_user(conn, "cleanup@example.com", now).id;
    // Ended long ago: expired 33 days ago (still is_active), and revoked 31 days ago.
    session(conn, user, now - Duration::days(40), Duration::days(7));
    let revoked = session(conn, user, now - Duration::days(32), Duration::days(300));
    sessions::revoke(conn, revoked.0, "logout", Ts(now - Duration::days(31))).unwrap();
    // Kept: live, expired 29 days ago, revoked yesterday.
    let live = session(conn, user, now - Duration::days(1), Duration::days(7));
    let recently_expired = session(conn, user, now - Duration::days(36), Duration::days(7));
    let recently_revoked = session(conn, user, now - Duration::days(2), Duration::days(7));
    sessions::revoke(conn, recently_revoked.0, "logout", Ts(now - Duration::days(1))).unwrap();

    event(conn, Some(user), now - Duration::days(91));
    event(conn, None, now - Duration::days(200));
    let e1 = event(conn, Some(user), now - Duration::days(89));
    let e2 = event(conn, None, now);
    Seeded { kept_sessions: vec![live, recently_expired, recently_revoked], kept_events: vec![e1, e2] }
}

fn policy(dry_run: bool) -> CleanupPolicy {
    CleanupPolicy {
        session_retention: Duration::days(30),
        event_retention: Duration::days(90),
        batch_size: 1,
        batch_time_target: std::time::Duration::from_millis(CleanupPolicy::DEFAULT_BATCH_TARGET_MS),
        dry_run,
    }
}

#[test]
fn cleanup_deletes_exactly_what_ended_before_retention() {
    use diesel::prelude::*;
    use latchkey_db::schema::{security_events, user_sessions};

    for t in TestDb::all() {
        let seeded = seed(&mut t.db.conn().unwrap());

        let dry = cleanup::run(&t.db, t0(), &policy(true));
        assert!(dry.dry_run);
        assert_eq!((dry.deleted.user_sessions, dry.deleted.security_events), (2, 2), "{}", t.label);
        let mut conn = t.db.conn().unwrap();
        let count_sessions = |c: &mut AnyConnection| user_sessions::table.count().get_result::<i64>(c).unwrap();
        assert_eq!(count_sessions(&mut conn), 5, "a dry run deletes nothing");

        // batch_size 1 forces several batches.
        let report = cleanup::run(&t.db, t0(), &policy(false));
        assert_eq!((report.deleted.user_sessions, report.deleted.security_events), (2, 2), "{}", t.label);
        assert!(report.ok, "{report:?}");
        assert!(report.tables.values().all(|o| o == "ok"), "{report:?}");
        assert_eq!(report.session_cutoff, t0() - Duration::days(30));

        let mut left: Vec<Id> = user_sessions::table.select(user_sessions::id).load(&mut *conn).unwrap();
        let mut want = seeded.kept_sessions.clone();
        left.sort_by_key(|i| i.0);
        want.sort_by_key(|i| i.0);
        assert_eq!(left, want, "{}", t.label);
        let mut left: Vec<Id> = security_events::table.select(security_events::id).load(&mut *conn).unwrap();
        let mut want = seeded.kept_events.clone();
        left.sort_by_key(|i| i.0);
        want.sort_by_key(|i| i.0);
        assert_eq!(left, want, "{}", t.label);

        let again = cleanup::run(&t.db, t0(), &policy(false));
        assert_eq!((again.deleted.user_sessions, again.deleted.security_events), (0, 0), "idempotent");
    }
}

#[test]
fn cleanup_reports_its_batches_and_stops_at_a_short_one() {
    for t in TestDb::all() {
        let _ = seed(&mut t.db.conn().unwrap());

        let dry = cleanup::run(&t.db, t0(), &policy(true));
        assert_eq!((dry.batches.user_sessions, dry.max_batch_ms.user_sessions), (0, 0), "a dry run deletes nothing");

        // Two sessions and two events to delete, one row per batch: a batch for each, then one that finds
        // nothing. The throttle table is empty: one batch that finds nothing.
        let one = cleanup::run(&t.db, t0(), &policy(false));
        assert_eq!((one.deleted.user_sessions, one.deleted.security_events), (2, 2), "{}", t.label);
        assert_eq!(
            one.batches,
            TableCounts { user_sessions: 3, security_events: 3, login_throttle: 1, not_me_answers: 1 },
            "{}",
            t.label
        );
        assert!(one.max_batch_ms.user_sessions <= one.duration_ms, "{one:?}");
    }
    for t in TestDb::all() {
        let _ = seed(&mut t.db.conn().unwrap());
        // Batches of ten: the first comes back short (two rows), so it is the last.
        let report = cleanup::run(&t.db, t0(), &CleanupPolicy { batch_size: 10, ..policy(false) });
        assert_eq!((report.deleted.user_sessions, report.deleted.security_events), (2, 2), "{}", t.label);
        assert_eq!(
            report.batches,
            TableCounts { user_sessions: 1, security_events: 1, login_throttle: 1, not_me_answers: 1 },
            "{}",
            t.label
        );
        let again = cleanup::run(&t.db, t0(), &policy(false));
        assert_eq!((again.deleted.user_sessions, again.deleted.security_events), (0, 0), "nothing was left behind");
    }
}

#[test]
fn cleanup_goes_on_past_a_failing_table_and_reports_each_outcome() {
    use diesel::connection::SimpleConnection as _;

    for t in TestDb::all() {
        let seeded = seed(&mut t.db.conn().unwrap());
        // An old throttle counter, and one whose window is still open.
        latchkey_db::repo::throttle::reserve(
            &mut t.db.conn().unwrap(),
            "old-key",
            Ts(t0() - Duration::hours(1)),
            Ts(t0() - Duration::hours(2)),
        )
        .unwrap();
        latchkey_db::repo::throttle::reserve(
            &mut t.db.conn().unwrap(),
            "new-key",
            Ts(t0()),
            Ts(t0() - Duration::minutes(15)),
        )
        .unwrap();
        // A "not me" answer whose link has expired (8 days old), and a recent one, which still guards its link.
        let answer = |id: uuid::Uuid, days: i64| {
            let at = Ts(t0() - Duration::days(days));
            let ids = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
            assert!(latchkey_db::repo::alerts::answer(&mut t.db.conn().unwrap(), id, ids.0, ids.1, at).unwrap());
        };
        let (old_answer, recent_answer) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        answer(old_answer, 8);
        answer(recent_answer, 6);
        // Sessions can no longer be cleaned: the table is gone.
        t.db.conn().unwrap().batch_execute("DROP TABLE user_sessions").unwrap();

        let report = cleanup::run(&t.db, t0(), &policy(false));
        assert!(!report.ok, "{}: {report:?}", t.label);
        assert!(report.tables["user_sessions"].starts_with("failed: "), "{report:?}");
        assert_eq!(report.tables["security_events"], "ok");
        assert_eq!(report.tables["login_throttle"], "ok");
        assert_eq!((report.deleted.security_events, report.deleted.login_throttle), (2, 1), "{}", t.label);
        assert_eq!((report.tables["not_me_answers"].as_str(), report.deleted.not_me_answers), ("ok", 1), "{}", t.label);
        let mut conn = t.db.conn().unwrap();
        assert!(!latchkey_db::repo::alerts::is_answered(&mut conn, old_answer).unwrap(), "{}", t.label);
        assert!(latchkey_db::repo::alerts::is_answered(&mut conn, recent_answer).unwrap(), "{}", t.label);
        assert_eq!(report.failures().map(|(table, _)| table).collect::<Vec<_>>(), ["user_sessions"]);
        let _ = seeded;
    }
}
