//! User lists (filters, search, sort, pages), bulk updates, row locks and the statistics queries.

use chrono::Duration;
use latchkey_db::models::UserChanges;
use latchkey_db::repo::users::{UserFilter, UserSort, UserSortColumn};
use latchkey_db::repo::{Window, sessions, stats, users};
use latchkey_db::{AnyConnection, Ts, write_transaction};
use latchkey_testkit::TestDb;

use latchkey_testkit::rows::{create_session, create_user};
use latchkey_testkit::t0;

fn named(conn: &mut AnyConnection, email: &str, first: &str, last: Option<&str>, minutes: i64) -> uuid::Uuid {
    let u = create_user(conn, email, t0() + Duration::minutes(minutes));
    let changes = UserChanges {
        first_name: Some(first.into()),
        last_name: Some(last.map(str::to_owned)),
        ..UserChanges::default()
    };
    users::update(conn, u.id.0, &changes).unwrap().id.0
}

fn emails(page: &latchkey_db::repo::Page<latchkey_db::models::UserRow>) -> Vec<&str> {
    page.items.iter().map(|u| u.email.as_str()).collect()
}

#[test]
fn search_is_case_insensitive_literal_and_skips_deleted_users() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        named(&mut conn, "ada@example.com", "Ada", Some("Lovelace"), 0);
        named(&mut conn, "grace@navy.mil", "Grace", Some("HOPPER"), 1);
        named(&mut conn, "percent@example.com", "100%", None, 2);
        named(&mut conn, "elodie@example.fr", "ÉLODIE", Some("Müller"), 4);
        let gone = named(&mut conn, "gone@example.com", "Adalbert", None, 3);
        users::soft_delete(&mut conn, gone, Ts(t0())).unwrap();
        let search = |conn: &mut AnyConnection, term: &str| {
            let filter = UserFilter { search: Some(term.into()), ..UserFilter::default() };
            users::list_live(conn, &filter, UserSort::default(), Window::page(1, 20)).unwrap()
        };
        assert_eq!(emails(&search(&mut conn, "ADA")), vec!["ada@example.com"], "{}", t.label);
        assert_eq!(emails(&search(&mut conn, "hopper")), vec!["grace@navy.mil"], "{}", t.label);
        assert_eq!(emails(&search(&mut conn, "LOVE")), vec!["ada@example.com"], "{}", t.label);
        assert_eq!(emails(&search(&mut conn, "NAVY.MIL")), vec!["grace@navy.mil"], "{}", t.label);
        // `%` and `_` are literal characters, not wildcards.
        assert_eq!(emails(&search(&mut conn, "0%")), vec!["percent@example.com"], "{}", t.label);
        assert_eq!(search(&mut conn, "_").total, 0, "{}", t.label);
        assert_eq!(search(&mut conn, "example").total, 3, "{}: the deleted user is hidden", t.label);
        // Beyond ASCII too (SQLite's own lower() would not fold these).
        assert_eq!(emails(&search(&mut conn, "élodie")), vec!["elodie@example.fr"], "{}", t.label);
        assert_eq!(emails(&search(&mut conn, "MÜLL")), vec!["elodie@example.fr"], "{}", t.label);
    }
}

#[test]
fn filters_sort_and_pages() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let a = named(&mut conn, "a@example.com", "Zed", Some("Young"), 0);
        let b = named(&mut conn, "b@example.com", "Yan", None, 1);
        let c = named(&mut conn, "c@example.com", "Xi", Some("Adams"), 2);
        users::set_active(&mut conn, b, false, Ts(t0())).unwrap();
        let all = UserFilter::default();
        let sort = |column, descending| UserSort { column, descending };

        let page = users::list_live(&mut conn, &all, UserSort::default(), Window::page(1, 2)).unwrap();
        assert_eq!((emails(&page), page.total), (vec!["a@example.com", "b@example.com"], 3), "{}", t.label);
        let last = users::list_live(&mut conn, &all, UserSort::default(), Window::page(2, 2)).unwrap();
        assert_eq!(emails(&last), vec!["c@example.com"]);
        let past = users::list_live(&mut conn, &all, UserSort::default(), Window::page(9, 2)).unwrap();
        assert_eq!((past.items.len(), past.total), (0, 3));

        let by_first = users::list_live(&mut conn, &all, sort(UserSortColumn::FirstName, false), Window::page(1, 9));
        assert_eq!(emails(&by_first.unwrap()), vec!["c@example.com", "b@example.com", "a@example.com"]);
        // NULLs last in both directions, on both backends.
        for descending in [false, true] {
            let page =
                users::list_live(&mut conn, &all, sort(UserSortColumn::LastName, descending), Window::page(1, 9))
                    .unwrap();
            let expected =
                if descending { ["a@example.com", "c@example.com"] } else { ["c@example.com", "a@example.com"] };
            assert_eq!(emails(&page), [&expected[..], &["b@example.com"]].concat(), "{} desc={descending}", t.label);
        }
        let inactive = UserFilter { is_active: Some(false), ..UserFilter::default() };
        let page = users::list_live(&mut conn, &inactive, UserSort::default(), Window::page(1, 9)).unwrap();
        assert_eq!(emails(&page), vec!["b@example.com"]);
        let supers = UserFilter { is_superuser: Some(true), ..UserFilter::default() };
        assert_eq!(users::list_live(&mut conn, &supers, UserSort::default(), Window::page(1, 9)).unwrap().total, 0);

        // Bulk updates touch live users only, skip `except`, and say which rows they changed.
        users::soft_delete(&mut conn, c, Ts(t0())).unwrap();
        let missing = uuid::Uuid::new_v4();
        let mut changed = users::set_active_many(&mut conn, &[a, b, c, missing], false, Some(a), Ts(t0())).unwrap();
        changed.sort();
        assert_eq!(changed, vec![b], "{}", t.label);
        let deleted = users::soft_delete_many(&mut conn, &[a, b, c], Some(b), Ts(t0())).unwrap();
        assert_eq!(deleted, vec![a], "{}", t.label);
        let a_row = users::find_by_id(&mut conn, a).unwrap().unwrap();
        assert!(a_row.deleted_at.is_some() && !a_row.is_active);

        // Locks return the existing rows in id order.
        let locked = write_transaction(&mut conn, |c2| users::lock(c2, &[c, a, missing, a])).unwrap();
        let mut expected = vec![a, c];
        expected.sort();
        assert_eq!(locked.iter().map(|u| u.id.0).collect::<Vec<_>>(), expected);
    }
}

#[test]
fn sessions_across_users_and_revoking_many() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let u = create_user(&mut conn, "u@example.com", t0());
        let v = create_user(&mut conn, "v@example.com", t0());
        create_session(&mut conn, &u, t0(), Duration::days(7));
        create_session(&mut conn, &u, t0() + Duration::seconds(1), Duration::days(7));
        create_session(&mut conn, &v, t0() + Duration::seconds(2), Duration::days(7));
        create_session(&mut conn, &v, t0() - Duration::days(9), Duration::days(7));
        let now = Ts(t0() + Duration::minutes(1));
        let active = sessions::list_all(&mut conn, true, now, Window::page(1, 2)).unwrap();
        assert_eq!(active.total, 3, "{}", t.label);
        assert_eq!(active.items[0].1.email, "v@example.com", "most recently used first");
        assert_eq!(sessions::list_all(&mut conn, false, now, Window::page(1, 9)).unwrap().total, 4);
        assert_eq!(sessions::page_active(&mut conn, u.id.0, now, Window::page(2, 1)).unwrap().items.len(), 1);

        let mut ended = sessions::revoke_all_of(&mut conn, &[u.id.0, v.id.0], "admin_revoked", now).unwrap();
        ended.sort();
        let mut expected = vec![(u.id.0, 2), (v.id.0, 2)];
        expected.sort();
        assert_eq!(ended, expected, "{}: expired-but-active sessions end too", t.label);
        assert_eq!(sessions::list_all(&mut conn, true, now, Window::page(1, 9)).unwrap().total, 0);
        assert!(sessions::revoke_all_of(&mut conn, &[u.id.0], "admin_revoked", now).unwrap().is_empty());
    }
}

#[test]
fn growth_and_organization_distribution() {
    use diesel::prelude::*;
    use latchkey_db::schema::{organizations as o, user_organizations as m};
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let old = create_user(&mut conn, "old@example.com", t0() - Duration::days(60));
        let old_gone = create_user(&mut conn, "oldgone@example.com", t0() - Duration::days(60));
        users::soft_delete(&mut conn, old_gone.id.0, Ts(t0() - Duration::days(2))).unwrap();
        let long_gone = create_user(&mut conn, "longgone@example.com", t0() - Duration::days(60));
        users::soft_delete(&mut conn, long_gone.id.0, Ts(t0() - Duration::days(40))).unwrap();
        let new = create_user(&mut conn, "new@example.com", t0() - Duration::days(1));
        users::set_active(&mut conn, new.id.0, false, Ts(t0())).unwrap();
        let g = users::growth_since(&mut conn, Ts(t0() - Duration::days(30))).unwrap();
        // Soft-deleted accounts count, as in the reference's dashboard: every row is a registration.
        assert_eq!((g.total_before, g.active_before), (3, 3), "{}", t.label);
        assert_eq!(g.created, vec![(new.created_at, false)], "{}", t.label);

        let org = |conn: &mut AnyConnection, name: &str| {
            let id = latchkey_db::Id(uuid::Uuid::new_v4());
            diesel::insert_into(o::table)
                .values((
                    o::id.eq(id),
                    o::name.eq(name),
                    o::slug.eq(name.to_lowercase()),
                    o::is_active.eq(true),
                    o::created_at.eq(Ts(t0())),
                    o::updated_at.eq(Ts(t0())),
                ))
                .execute(conn)
                .unwrap();
            id
        };
        let join = |conn: &mut AnyConnection, org: latchkey_db::Id, user: latchkey_db::Id, active: bool| {
            diesel::insert_into(m::table)
                .values((
                    m::user_id.eq(user),
                    m::organization_id.eq(org),
                    m::role.eq("member"),
                    m::is_active.eq(active),
                    m::created_at.eq(Ts(t0())),
                    m::updated_at.eq(Ts(t0())),
                ))
                .execute(conn)
                .unwrap();
        };
        let acme = org(&mut conn, "Acme");
        let beta = org(&mut conn, "Beta");
        org(&mut conn, "Empty");
        join(&mut conn, acme, old.id, true);
        join(&mut conn, acme, new.id, true);
        join(&mut conn, beta, old.id, true);
        join(&mut conn, beta, new.id, false);
        let dist = stats::organization_distribution(&mut conn, 6).unwrap();
        assert_eq!(dist, vec![("Acme".to_owned(), 2), ("Beta".to_owned(), 1)], "{}", t.label);
    }
}
