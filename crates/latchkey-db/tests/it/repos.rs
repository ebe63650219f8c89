//! The user, session and event repositories: round trips, unique emails, rotation and revocation, eviction, and what cleanup deletes.

use chrono::Duration;
use latchkey_db::models::SessionRow;
use latchkey_db::repo::{Window, events, sessions, users};
use latchkey_db::{DbError, Id, Json, Ts, models::EventRow, models::UserChanges, write_transaction};
use latchkey_testkit::TestDb;

use latchkey_testkit::rows::{self, create_session, create_user};
use latchkey_testkit::t0;

#[test]
fn users_round_trip_and_email_is_unique() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let u = create_user(&mut conn, "ada@example.com", t0());
        assert_eq!(u.created_at, Ts(t0()), "{}", t.label);
        assert_eq!(u.preferences, Some(Json(serde_json::json!({"theme": "dark"}))));
        assert_eq!(users::find_by_id(&mut conn, u.id.0).unwrap().as_ref(), Some(&u));
        assert_eq!(users::find_by_email(&mut conn, "ada@example.com").unwrap().as_ref(), Some(&u));
        assert_eq!(users::find_by_email(&mut conn, "nobody@example.com").unwrap(), None);

        let dup = users::create(&mut conn, &rows::user("ada@example.com", t0())).unwrap_err();
        assert!(dup.is_conflict_on("email"), "{}: {dup:?}", t.label);

        // Upper case never reaches the table: the CHECK refuses it.
        let upper = users::create(&mut conn, &rows::user("Ada@Example.com", t0()));
        assert!(upper.is_err(), "{}", t.label);

        let later = t0() + Duration::minutes(1);
        let changes = UserChanges {
            first_name: Some("Grace".into()),
            last_name: Some(Some("Hopper".into())),
            updated_at: Some(Ts(later)),
            ..UserChanges::default()
        };
        let updated = users::update(&mut conn, u.id.0, &changes).unwrap();
        assert_eq!((updated.first_name.as_str(), updated.last_name.as_deref()), ("Grace", Some("Hopper")));
        assert_eq!(updated.updated_at, Ts(later));
        assert!(matches!(users::update(&mut conn, uuid::Uuid::new_v4(), &changes), Err(DbError::NotFound)));

        users::set_password_hash(&mut conn, u.id.0, "new-hash", Ts(later)).unwrap();
        let inactive = users::set_active(&mut conn, u.id.0, false, Ts(later)).unwrap();
        assert!(!inactive.is_active);
        users::soft_delete(&mut conn, u.id.0, Ts(later)).unwrap();
        users::soft_delete(&mut conn, u.id.0, Ts(later + Duration::hours(1))).unwrap();
        let deleted = users::find_by_id(&mut conn, u.id.0).unwrap().unwrap();
        assert_eq!(deleted.deleted_at, Some(Ts(later)), "the first deletion time is kept");
        assert_eq!(deleted.password_hash.as_deref(), Some("new-hash"));
        assert!(!users::any_superuser(&mut conn).unwrap());
    }
}

#[test]
fn sessions_list_rotate_revoke() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let u = create_user(&mut conn, "s@example.com", t0());
        let other = create_user(&mut conn, "other@example.com", t0());
        let a = create_session(&mut conn, &u, t0(), Duration::days(7));
        let b = create_session(&mut conn, &u, t0() + Duration::seconds(5), Duration::days(7));
        let expired = create_session(&mut conn, &u, t0() - Duration::days(8), Duration::days(7));
        create_session(&mut conn, &other, t0(), Duration::days(7));

        let now = Ts(t0() + Duration::minutes(1));
        let list = sessions::list_active(&mut conn, u.id.0, now).unwrap();
        assert_eq!(list.iter().map(|s| s.id).collect::<Vec<_>>(), vec![b.id, a.id], "{}", t.label);
        assert_eq!(sessions::count_active(&mut conn, u.id.0, now).unwrap(), 2);
        assert!(list.iter().all(|s| s.id != expired.id));

        let (s, user) = sessions::find_with_user(&mut conn, a.id.0).unwrap().unwrap();
        assert_eq!((s.id, user.id), (a.id, u.id));
        assert!(sessions::find_with_user(&mut conn, uuid::Uuid::new_v4()).unwrap().is_none());
        assert_eq!(sessions::find_by_jti(&mut conn, &a.refresh_token_jti).unwrap().unwrap().id, a.id);

        // Rotation is a compare-and-swap on the jti, for the session's own user while that user may act.
        let new_jti = uuid::Uuid::new_v4().to_string();
        let rotation = rotation_of(&a, &new_jti, now);
        let not_the_owner = sessions::Rotation { user_id: other.id.0, ..rotation.clone() };
        assert!(sessions::rotate(&mut conn, &not_the_owner).unwrap().is_none(), "{}", t.label);
        users::set_active(&mut conn, u.id.0, false, now).unwrap();
        assert!(sessions::rotate(&mut conn, &rotation).unwrap().is_none(), "{}: inactive user", t.label);
        users::set_active(&mut conn, u.id.0, true, now).unwrap();
        let rotated = write_transaction(&mut conn, |c| sessions::rotate(c, &rotation)).unwrap().unwrap();
        assert_eq!(rotated.refresh_token_jti, new_jti);
        assert_eq!(rotated.previous_refresh_jti.as_deref(), Some(a.refresh_token_jti.as_str()));
        assert_eq!(rotated.rotated_at, Some(now));
        assert_eq!(rotated.expires_at, Ts(t0() + Duration::days(8)), "{}", t.label);
        assert!(sessions::rotate(&mut conn, &rotation).unwrap().is_none(), "the old jti cannot rotate twice");
        // The new expiry never passes the absolute one (login + 30 days here).
        let newer_jti = uuid::Uuid::new_v4().to_string();
        let late = sessions::Rotation {
            presented_jti: &new_jti,
            new_jti: &newer_jti,
            refresh_until: Ts(t0() + Duration::days(40)),
            ..rotation.clone()
        };
        let capped = sessions::rotate(&mut conn, &late).unwrap().unwrap();
        assert_eq!(capped.expires_at, a.absolute_expires_at, "{}", t.label);

        // last_used_at is throttled.
        assert!(!sessions::touch(&mut conn, a.id.0, Ts(now.0 + Duration::seconds(30)), Duration::minutes(1)).unwrap());
        assert!(sessions::touch(&mut conn, a.id.0, Ts(now.0 + Duration::seconds(61)), Duration::minutes(1)).unwrap());

        let renamed = sessions::rename(&mut conn, b.id.0, "Work laptop", now).unwrap().unwrap();
        assert_eq!(renamed.device_name.as_deref(), Some("Work laptop"));
        assert!(sessions::rename(&mut conn, expired.id.0, "Old", now).unwrap().is_none(), "expired: not renamed");

        assert!(sessions::revoke(&mut conn, b.id.0, "logout", now).unwrap());
        assert!(sessions::rename(&mut conn, b.id.0, "Gone", now).unwrap().is_none(), "revoked: not renamed");
        assert!(!sessions::revoke(&mut conn, b.id.0, "logout", now).unwrap(), "already revoked");
        let revoked = sessions::find_by_id(&mut conn, b.id.0).unwrap().unwrap();
        assert_eq!(
            (revoked.is_active, revoked.revoked_reason.as_deref(), revoked.revoked_at),
            (false, Some("logout"), Some(now))
        );

        let c = create_session(&mut conn, &u, t0(), Duration::days(7));
        assert_eq!(
            sessions::revoke_all(&mut conn, u.id.0, Some(c.id.0), "logout_others", now).unwrap(),
            2,
            "a and expired"
        );
        assert_eq!(sessions::revoke_all(&mut conn, u.id.0, None, "logout_all", now).unwrap(), 1);
        assert_eq!(sessions::count_active(&mut conn, other.id.0, now).unwrap(), 1, "other users untouched");
    }
}

#[test]
fn eviction_keeps_the_most_recently_used() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let u = create_user(&mut conn, "e@example.com", t0());
        let ids: Vec<Id> =
            (0..4).map(|i| create_session(&mut conn, &u, t0() + Duration::seconds(i), Duration::days(7)).id).collect();
        let now = Ts(t0() + Duration::minutes(1));
        let evicted = sessions::evict_least_recently_used(&mut conn, u.id.0, 2, "evicted", now).unwrap();
        assert_eq!(evicted, vec![ids[1].0, ids[0].0], "{}", t.label);
        let left: Vec<Id> = sessions::list_active(&mut conn, u.id.0, now).unwrap().iter().map(|s| s.id).collect();
        assert_eq!(left, vec![ids[3], ids[2]]);
    }
}

#[test]
fn cleanup_deletes_exactly_the_ended_sessions() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let u = create_user(&mut conn, "c@example.com", t0());
        let now = t0();
        let cutoff = Ts(now - Duration::days(30));
        // Expired 40 days ago, still marked active (the reference never deletes these).
        let old_expired = create_session(&mut conn, &u, now - Duration::days(47), Duration::days(7));
        // Revoked 40 days ago, not yet expired.
        let old_revoked = create_session(&mut conn, &u, now - Duration::days(41), Duration::days(365));
        sessions::revoke(&mut conn, old_revoked.id.0, "logout", Ts(now - Duration::days(40))).unwrap();
        // Revoked 5 days ago: kept.
        let recent_revoked = create_session(&mut conn, &u, now - Duration::days(6), Duration::days(7));
        sessions::revoke(&mut conn, recent_revoked.id.0, "logout", Ts(now - Duration::days(5))).unwrap();
        // Expired 10 days ago: kept. Live: kept.
        let recent_expired = create_session(&mut conn, &u, now - Duration::days(17), Duration::days(7));
        let live = create_session(&mut conn, &u, now, Duration::days(7));

        assert_eq!(sessions::count_ended_before(&mut conn, cutoff).unwrap(), 2, "{}", t.label);
        assert_eq!(sessions::delete_ended_before(&mut conn, cutoff, 1).unwrap(), 1);
        assert_eq!(sessions::delete_ended_before(&mut conn, cutoff, 10).unwrap(), 1);
        assert_eq!(sessions::delete_ended_before(&mut conn, cutoff, 10).unwrap(), 0);
        for gone in [old_expired.id, old_revoked.id] {
            assert!(sessions::find_by_id(&mut conn, gone.0).unwrap().is_none());
        }
        for kept in [recent_revoked.id, recent_expired.id, live.id] {
            assert!(sessions::find_by_id(&mut conn, kept.0).unwrap().is_some());
        }
        // Per-user cleanup with no retention removes the recently ended ones too.
        assert_eq!(sessions::delete_ended_for_user(&mut conn, u.id.0, Ts(now)).unwrap(), 2);
        assert!(sessions::find_by_id(&mut conn, live.id.0).unwrap().is_some());
    }
}

/// Cleanup finds expired sessions through `expiry_day` (the midnight UTC at or before `expires_at`, which
/// the database generates), not through `expires_at`, which rotations move: a session whose sliding expiry
/// lapsed an hour before the cutoff, on the cutoff's own day, goes; one that lapses an hour after it stays,
/// whichever rotation moved them. Rows deactivated without `revoked_at` (imported from the reference) are
/// found through their own index, by `updated_at`.
#[test]
fn cleanup_finds_sessions_whose_sliding_expiry_lapsed_through_the_expiry_day() {
    use diesel::prelude::*;
    use latchkey_db::schema::user_sessions as s;
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let u = create_user(&mut conn, "slide@example.com", t0());
        let cutoff = Ts(t0() - Duration::days(30));
        let created = t0() - Duration::days(40);
        let lapsed = create_session(&mut conn, &u, created, Duration::days(7));
        let lapses_later = create_session(&mut conn, &u, created, Duration::days(7));
        let new_jtis = [uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string()];
        fn rotate_until<'a>(session: &'a SessionRow, until: Ts, new_jti: &'a str, now: Ts) -> sessions::Rotation<'a> {
            sessions::Rotation {
                session_id: session.id.0,
                user_id: session.user_id.0,
                presented_jti: &session.refresh_token_jti,
                new_jti,
                refresh_until: until,
                now,
                client: sessions::Client::default(),
            }
        }
        let rotated_at = Ts(created + Duration::days(3));
        let until = Ts(cutoff.0 - Duration::hours(1));
        assert!(
            sessions::rotate(&mut conn, &rotate_until(&lapsed, until, &new_jtis[0], rotated_at)).unwrap().is_some(),
            "{}",
            t.label
        );
        let until = Ts(cutoff.0 + Duration::hours(1));
        assert!(
            sessions::rotate_for_user(&mut conn, &rotate_until(&lapses_later, until, &new_jtis[1], rotated_at))
                .unwrap()
                .is_some()
        );
        let day = |conn: &mut latchkey_db::AnyConnection, id: Id| -> (Ts, Ts) {
            s::table.find(id).select((s::expiry_day, s::expires_at)).get_result(conn).unwrap()
        };
        let midnight = Ts(cutoff.0.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc());
        for id in [lapsed.id, lapses_later.id] {
            assert_eq!(day(&mut conn, id).0, midnight, "{}: the expiry day follows the rotated expiry", t.label);
        }
        // Deactivated without revoked_at, as imported rows are: the one last updated before the cutoff goes.
        let imported_old = create_session(&mut conn, &u, created, Duration::days(365));
        let imported_recent = create_session(&mut conn, &u, created, Duration::days(365));
        for (id, updated) in [(imported_old.id, cutoff.0 - Duration::days(1)), (imported_recent.id, cutoff.0)] {
            diesel::update(s::table.find(id))
                .set((s::is_active.eq(false), s::updated_at.eq(Ts(updated))))
                .execute(&mut *conn)
                .unwrap();
        }

        assert_eq!(sessions::count_ended_before(&mut conn, cutoff).unwrap(), 2, "{}", t.label);
        assert_eq!(sessions::delete_ended_before(&mut conn, cutoff, 10).unwrap(), 2, "{}", t.label);
        for gone in [lapsed.id, imported_old.id] {
            assert!(sessions::find_by_id(&mut conn, gone.0).unwrap().is_none(), "{}", t.label);
        }
        for kept in [lapses_later.id, imported_recent.id] {
            assert!(sessions::find_by_id(&mut conn, kept.0).unwrap().is_some(), "{}", t.label);
        }
    }
}

fn event(user: Option<Id>, kind: &str, at: chrono::DateTime<chrono::Utc>) -> EventRow {
    EventRow {
        id: Id(uuid::Uuid::new_v4()),
        user_id: user,
        session_id: None,
        kind: kind.to_owned(),
        ip_address: Some("10.0.0.1".into()),
        user_agent: None,
        device_name: None,
        detail: Some(Json(serde_json::json!({"reason": "test"}))),
        occurred_at: Ts(at),
        actor_id: None,
        organization_id: None,
        device_id: None,
        location_city: None,
        location_country: None,
    }
}

const KINDS: &[&str] = &["login_succeeded", "logout", "login_failed"];

#[test]
fn events_list_newest_first_and_expire() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let u = create_user(&mut conn, "ev@example.com", t0());
        for (i, kind) in ["login_succeeded", "logout", "login_failed"].iter().enumerate() {
            events::insert(&mut conn, &event(Some(u.id), kind, t0() - Duration::days(100 - i as i64 * 50))).unwrap();
        }
        events::insert(&mut conn, &event(None, "login_failed", t0())).unwrap();
        let page = events::list_for_user(&mut conn, u.id.0, KINDS, Window::page(1, 2)).unwrap();
        assert_eq!(page.total, 3, "{}", t.label);
        assert_eq!(page.items.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), vec!["login_failed", "logout"]);
        let page2 = events::list_for_user(&mut conn, u.id.0, KINDS, Window::page(2, 2)).unwrap();
        assert_eq!(page2.items.len(), 1);

        let cutoff = Ts(t0() - Duration::days(90));
        assert_eq!(events::count_before(&mut conn, cutoff).unwrap(), 1);
        assert_eq!(events::delete_before(&mut conn, cutoff, 100).unwrap(), 1);
        assert_eq!(events::list_for_user(&mut conn, u.id.0, KINDS, Window::page(1, 10)).unwrap().total, 2);

        // Deleting the user removes their events (ON DELETE CASCADE); anonymous events stay.
        use diesel::prelude::*;
        diesel::delete(latchkey_db::schema::users::table).execute(&mut *conn).unwrap();
        let left: i64 = latchkey_db::schema::security_events::table.count().get_result(&mut *conn).unwrap();
        assert_eq!(left, 1);
    }
}

/// Writers of one pool never fail on each other, even with SQLite's busy handler switched off: they take
/// turns at the pool's writer gate instead of polling the lock.
#[test]
fn concurrent_write_transactions_take_turns() {
    use latchkey_db::{Db, PoolOptions};
    for t in TestDb::all() {
        let options = PoolOptions { max_size: 6, busy_timeout: std::time::Duration::ZERO, ..PoolOptions::default() };
        let db = Db::from_url(&t.url, options).unwrap();
        let threads: Vec<_> = (0..6)
            .map(|n| {
                let db = db.clone();
                std::thread::spawn(move || {
                    for i in 0..15 {
                        let mut conn = db.conn().unwrap();
                        write_transaction(&mut conn, |c| -> Result<(), DbError> {
                            create_user(c, &format!("w{n}-{i}@example.com"), t0());
                            // Hold the lock a moment, as a refresh's read-check-write does.
                            std::thread::sleep(std::time::Duration::from_millis(1));
                            Ok(())
                        })
                        .unwrap_or_else(|e| panic!("writer {n}, round {i}: {e}"));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap_or_else(|_| panic!("{}: a writer failed", t.label));
        }
        let mut conn = t.db.conn().unwrap();
        let count: i64 = {
            use diesel::prelude::*;
            latchkey_db::schema::users::table.count().get_result(&mut *conn).unwrap()
        };
        assert_eq!(count, 6 * 15, "{}", t.label);
    }
}

/// A refresh of `session` by its own user at `now`, presenting its current jti, extending it to login + 8 days.
fn rotation_of<'a>(session: &'a SessionRow, new_jti: &'a str, now: Ts) -> sessions::Rotation<'a> {
    sessions::Rotation {
        session_id: session.id.0,
        user_id: session.user_id.0,
        presented_jti: &session.refresh_token_jti,
        new_jti,
        refresh_until: Ts(t0() + Duration::days(8)),
        now,
        client: sessions::Client::default(),
    }
}

/// A refresh from another address moves the session's address and place with the rotation; one from the
/// same address, or from an unknown one, leaves them — on both rotations (SQLite's `rotate`, PostgreSQL's
/// one statement).
#[test]
fn a_rotation_from_another_address_moves_the_session_there() {
    type Rotate = fn(&mut latchkey_db::AnyConnection, &sessions::Rotation<'_>) -> bool;
    let rotations: [(&str, Rotate); 2] = [
        ("rotate", |c, r| sessions::rotate(c, r).unwrap().is_some()),
        ("rotate_for_user", |c, r| sessions::rotate_for_user(c, r).unwrap().is_some()),
    ];
    for t in TestDb::all() {
        for (name, rotate) in rotations {
            let mut conn = t.db.conn().unwrap();
            let u = create_user(&mut conn, &format!("{name}@example.com"), t0());
            let a = create_session(&mut conn, &u, t0(), Duration::days(7));
            let place = |s: &SessionRow| (s.ip_address.clone(), s.location_city.clone(), s.location_country.clone());
            let some = |s: &str| Some(s.to_owned());
            let mut jti = a.refresh_token_jti.clone();
            let mut step = |client: sessions::Client<'_>| {
                let new_jti = uuid::Uuid::new_v4().to_string();
                let r = sessions::Rotation { client, ..rotation_of(&a, &new_jti, Ts(t0() + Duration::minutes(1))) };
                let r = sessions::Rotation { presented_jti: &jti, ..r };
                assert!(rotate(&mut conn, &r), "{}: {name}", t.label);
                jti = new_jti;
                place(&sessions::find_by_id(&mut conn, a.id.0).unwrap().unwrap())
            };
            let london = sessions::Client {
                ip_address: Some("81.2.69.142"),
                location_city: Some("London"),
                location_country: Some("United Kingdom"),
            };
            assert_eq!(
                step(london),
                (some("81.2.69.142"), some("London"), some("United Kingdom")),
                "{}: {name}",
                t.label
            );
            // The same address: the place stays what it was (even if the lookup now says otherwise).
            let same = sessions::Client { location_city: None, location_country: Some("Elsewhere"), ..london };
            assert_eq!(
                step(same),
                (some("81.2.69.142"), some("London"), some("United Kingdom")),
                "{}: {name}",
                t.label
            );
            // No address known: nothing moves.
            assert_eq!(
                step(sessions::Client::default()),
                (some("81.2.69.142"), some("London"), some("United Kingdom")),
                "{}: {name}",
                t.label
            );
            // Another address the file does not know: the address moves and the place is cleared.
            let unknown = sessions::Client { ip_address: Some("2a02:c7f::1"), ..sessions::Client::default() };
            assert_eq!(step(unknown), (some("2a02:c7f::1"), None, None), "{}: {name}", t.label);
        }
    }
}

#[test]
fn a_rotation_for_the_user_keeps_every_condition_and_returns_the_user() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let u = create_user(&mut conn, "r@example.com", t0());
        let other = create_user(&mut conn, "r2@example.com", t0());
        let a = create_session(&mut conn, &u, t0(), Duration::days(7));
        let now = Ts(t0() + Duration::minutes(1));
        let new_jti = uuid::Uuid::new_v4().to_string();
        let rotation = rotation_of(&a, &new_jti, now);
        let not_the_owner = sessions::Rotation { user_id: other.id.0, ..rotation.clone() };
        assert_eq!(sessions::rotate_for_user(&mut conn, &not_the_owner).unwrap(), None, "{}", t.label);
        users::set_active(&mut conn, u.id.0, false, now).unwrap();
        assert_eq!(sessions::rotate_for_user(&mut conn, &rotation).unwrap(), None, "{}: inactive user", t.label);
        users::set_active(&mut conn, u.id.0, true, now).unwrap();
        let wrong_jti = sessions::Rotation { presented_jti: "not-the-jti", ..rotation.clone() };
        assert_eq!(sessions::rotate_for_user(&mut conn, &wrong_jti).unwrap(), None, "{}", t.label);

        let won = sessions::rotate_for_user(&mut conn, &rotation).unwrap().unwrap();
        assert_eq!(won.expires_at, Ts(t0() + Duration::days(8)), "{}", t.label);
        assert_eq!(won.user, users::find_by_id(&mut conn, u.id.0).unwrap().unwrap(), "{}", t.label);
        let stored = sessions::find_by_id(&mut conn, a.id.0).unwrap().unwrap();
        assert_eq!(stored.refresh_token_jti, new_jti);
        assert_eq!(stored.previous_refresh_jti.as_deref(), Some(a.refresh_token_jti.as_str()));
        assert_eq!((stored.rotated_at, stored.last_used_at, stored.updated_at), (Some(now), now, now));
        assert_eq!(sessions::rotate_for_user(&mut conn, &rotation).unwrap(), None, "the old jti cannot rotate twice");

        // Capped by the absolute expiry (login + 30 days here); an ended session never rotates.
        let newer_jti = uuid::Uuid::new_v4().to_string();
        let late = sessions::Rotation {
            presented_jti: &new_jti,
            new_jti: &newer_jti,
            refresh_until: Ts(t0() + Duration::days(40)),
            ..rotation.clone()
        };
        sessions::revoke(&mut conn, a.id.0, "logout", now).unwrap();
        assert_eq!(sessions::rotate_for_user(&mut conn, &late).unwrap(), None, "{}: revoked", t.label);
        let b = create_session(&mut conn, &u, t0(), Duration::days(7));
        let late_b = sessions::Rotation { session_id: b.id.0, presented_jti: &b.refresh_token_jti, ..late.clone() };
        let capped = sessions::rotate_for_user(&mut conn, &late_b).unwrap().unwrap();
        assert_eq!(capped.expires_at, b.absolute_expires_at, "{}", t.label);
        users::soft_delete(&mut conn, u.id.0, now).unwrap();
        let after_delete = sessions::Rotation { presented_jti: &newer_jti, new_jti: "another", ..late_b.clone() };
        assert_eq!(sessions::rotate_for_user(&mut conn, &after_delete).unwrap(), None, "{}: deleted user", t.label);
    }
}
