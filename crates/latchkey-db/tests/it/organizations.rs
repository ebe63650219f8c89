//! The organization repository: round trips, unique slugs, lists (filter, search, sort, page), memberships, and concurrent writers that must not share a slug or a membership.

use std::sync::{Arc, Barrier};

use chrono::{DateTime, Duration, Utc};
use latchkey_db::models::{NewOrg, OrgChanges, OrgRow};
use latchkey_db::repo::organizations::{self as orgs, AddOutcome, OrgFilter, OrgSortColumn, RemoveOutcome};
use latchkey_db::repo::{Window, users};
use latchkey_db::{DbError, Json, Ts};
use latchkey_domain::Role;
use latchkey_testkit::TestDb;

use latchkey_testkit::rows::{self, create_organization, create_user};
use latchkey_testkit::t0;

fn new_org(name: &str, slug: &str, description: Option<&str>, at: DateTime<Utc>) -> NewOrg {
    NewOrg { description: description.map(str::to_owned), ..rows::organization(name, slug, at) }
}

fn no_changes(at: DateTime<Utc>) -> OrgChanges {
    OrgChanges { name: None, slug: None, description: None, is_active: None, settings: None, updated_at: Ts(at) }
}

#[test]
fn organizations_round_trip_and_slugs_are_unique() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let acme = orgs::create(&mut conn, &new_org("Acme", "acme", Some("Rockets"), t0())).unwrap();
        assert_eq!(orgs::find_by_id(&mut conn, acme.id.0).unwrap().as_ref(), Some(&acme), "{}", t.label);
        assert_eq!(acme.settings, Some(Json(serde_json::json!({}))));

        let dup = orgs::create(&mut conn, &new_org("Other", "acme", None, t0())).unwrap_err();
        assert!(orgs::is_slug_conflict(&dup), "{}: {dup:?}", t.label);

        let globex = create_organization(&mut conn, "Globex", "globex", t0());
        let later = t0() + Duration::minutes(1);
        let taken = OrgChanges { slug: Some("acme".into()), ..no_changes(later) };
        let err = orgs::update(&mut conn, globex.id.0, &taken).unwrap_err();
        assert!(orgs::is_slug_conflict(&err), "{}: {err:?}", t.label);

        let changes = OrgChanges {
            name: Some("Globex Corp".into()),
            description: Some(Some("Evil".into())),
            is_active: Some(false),
            settings: Some(None),
            ..no_changes(later)
        };
        let updated = orgs::update(&mut conn, globex.id.0, &changes).unwrap();
        assert_eq!(
            (updated.name.as_str(), updated.slug.as_str(), updated.description.as_deref(), updated.is_active),
            ("Globex Corp", "globex", Some("Evil"), false)
        );
        assert_eq!((updated.settings, updated.updated_at, updated.created_at), (None, Ts(later), Ts(t0())));
        assert!(matches!(orgs::update(&mut conn, uuid::Uuid::new_v4(), &changes), Err(DbError::NotFound)));

        // Deleting an organization takes its memberships with it.
        let u = create_user(&mut conn, "m@example.com", t0());
        orgs::add_member(&mut conn, acme.id.0, u.id.0, Role::Member, Ts(t0())).unwrap();
        assert!(orgs::delete(&mut conn, acme.id.0).unwrap());
        assert!(!orgs::delete(&mut conn, acme.id.0).unwrap());
        assert!(orgs::membership(&mut conn, acme.id.0, u.id.0).unwrap().is_none(), "{}", t.label);
        assert!(orgs::find_by_id(&mut conn, acme.id.0).unwrap().is_none());
    }
}

#[test]
fn lists_filter_search_sort_and_page() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let a = orgs::create(&mut conn, &new_org("Ärzte Ohne Grenzen", "aerzte", None, t0())).unwrap();
        let b = orgs::create(&mut conn, &new_org("Beta", "beta", Some("100% SQL_ish"), t0() + Duration::seconds(1)))
            .unwrap();
        let c = orgs::create(&mut conn, &new_org("Gamma", "gamma-zeta", None, t0() + Duration::seconds(2))).unwrap();
        orgs::update(&mut conn, c.id.0, &OrgChanges { is_active: Some(false), ..no_changes(t0()) }).unwrap();
        let ids = |page: &latchkey_db::repo::Page<OrgRow>| page.items.iter().map(|o| o.id).collect::<Vec<_>>();

        let all = orgs::list(&mut conn, &OrgFilter::default(), Window::page(1, 20)).unwrap();
        assert_eq!((ids(&all), all.total), (vec![c.id, b.id, a.id], 3), "{}: newest first", t.label);

        let second = orgs::list(&mut conn, &OrgFilter::default(), Window::page(2, 2)).unwrap();
        assert_eq!((ids(&second), second.total), (vec![a.id], 3));
        let past = orgs::list(&mut conn, &OrgFilter::default(), Window::page(5, 2)).unwrap();
        assert_eq!((ids(&past), past.total), (vec![], 3));

        let active = OrgFilter { is_active: Some(true), ..OrgFilter::default() };
        assert_eq!(ids(&orgs::list(&mut conn, &active, Window::page(1, 20)).unwrap()), vec![b.id, a.id]);

        for (term, expected) in [
            ("ärzte", vec![a.id]),
            ("ÄRZTE", vec![a.id]),
            ("BETA", vec![b.id]),
            ("zeta", vec![c.id]),
            ("sql_", vec![b.id]),
            ("100%", vec![b.id]),
            ("%", vec![b.id]),
            ("_", vec![b.id]),
            ("a", vec![c.id, b.id, a.id]),
            ("nothing", vec![]),
        ] {
            let f = OrgFilter { search: Some(term), ..OrgFilter::default() };
            let page = orgs::list(&mut conn, &f, Window::page(1, 20)).unwrap();
            assert_eq!((ids(&page), page.total), (expected.clone(), expected.len() as i64), "{}: {term}", t.label);
        }

        let by_name = OrgFilter { sort: OrgSortColumn::Name, descending: false, ..OrgFilter::default() };
        let names: Vec<String> =
            orgs::list(&mut conn, &by_name, Window::page(1, 20)).unwrap().items.into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["Beta", "Gamma", "Ärzte Ohne Grenzen"], "{}", t.label);
        let by_slug = OrgFilter { sort: OrgSortColumn::Slug, descending: true, ..OrgFilter::default() };
        assert_eq!(ids(&orgs::list(&mut conn, &by_slug, Window::page(1, 20)).unwrap()), vec![c.id, b.id, a.id]);
    }
}

#[test]
fn memberships_add_readd_remove_and_count() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        let acme = create_organization(&mut conn, "Acme", "acme", t0());
        let globex = create_organization(&mut conn, "Globex", "globex", t0());
        let empty = create_organization(&mut conn, "Empty", "empty", t0());
        let ada = create_user(&mut conn, "ada@example.com", t0());
        let bob = create_user(&mut conn, "bob@example.com", t0());
        let gone = create_user(&mut conn, "gone@example.com", t0());

        let at = |s: i64| Ts(t0() + Duration::seconds(s));
        assert_eq!(orgs::add_member(&mut conn, acme.id.0, ada.id.0, Role::Owner, at(1)).unwrap(), AddOutcome::Added);
        assert_eq!(orgs::add_member(&mut conn, acme.id.0, bob.id.0, Role::Guest, at(2)).unwrap(), AddOutcome::Added);
        orgs::add_member(&mut conn, acme.id.0, gone.id.0, Role::Member, at(3)).unwrap();
        orgs::add_member(&mut conn, globex.id.0, bob.id.0, Role::Admin, at(4)).unwrap();
        users::soft_delete(&mut conn, gone.id.0, at(5)).unwrap();

        let dup = orgs::add_member(&mut conn, acme.id.0, ada.id.0, Role::Admin, at(6)).unwrap_err();
        assert!(orgs::is_member_conflict(&dup), "{}: {dup:?}", t.label);
        let unknown_user = orgs::add_member(&mut conn, acme.id.0, uuid::Uuid::new_v4(), Role::Admin, at(6));
        assert!(matches!(&unknown_user, Err(e) if !orgs::is_member_conflict(e)), "{}: {unknown_user:?}", t.label);

        assert_eq!(orgs::active_role(&mut conn, acme.id.0, ada.id.0).unwrap(), Some(Role::Owner));
        assert_eq!(orgs::active_role(&mut conn, acme.id.0, bob.id.0).unwrap(), Some(Role::Guest));
        assert_eq!(orgs::active_role(&mut conn, empty.id.0, bob.id.0).unwrap(), None);

        // Counts: active memberships of users that are not deleted, one grouped query.
        let counts = orgs::member_counts(&mut conn, &[acme.id.0, globex.id.0, empty.id.0]).unwrap();
        assert_eq!(
            (counts.get(&acme.id.0), counts.get(&globex.id.0), counts.get(&empty.id.0)),
            (Some(&2), Some(&1), None),
            "{}",
            t.label
        );
        assert!(orgs::member_counts(&mut conn, &[]).unwrap().is_empty());

        let members = orgs::list_members(&mut conn, acme.id.0, Some(true), Window::page(1, 20)).unwrap();
        let emails: Vec<&str> = members.items.iter().map(|m| m.email.as_str()).collect();
        assert_eq!((emails, members.total), (vec!["bob@example.com", "ada@example.com"], 2), "{}", t.label);
        assert_eq!((members.items[1].role.as_str(), members.items[1].joined_at), ("owner", at(1)));

        // Remove, remove again, re-add with a new role: the join date stays.
        assert_eq!(orgs::remove_member(&mut conn, acme.id.0, bob.id.0, at(7)).unwrap(), RemoveOutcome::Removed);
        assert_eq!(orgs::remove_member(&mut conn, acme.id.0, bob.id.0, at(8)).unwrap(), RemoveOutcome::AlreadyRemoved);
        assert_eq!(orgs::remove_member(&mut conn, empty.id.0, bob.id.0, at(8)).unwrap(), RemoveOutcome::NotMember);
        assert_eq!(orgs::active_role(&mut conn, acme.id.0, bob.id.0).unwrap(), None);
        let removed = orgs::list_members(&mut conn, acme.id.0, Some(false), Window::page(1, 20)).unwrap();
        assert_eq!(removed.items.iter().map(|m| m.user_id).collect::<Vec<_>>(), vec![bob.id]);
        assert_eq!(orgs::list_members(&mut conn, acme.id.0, None, Window::page(1, 1)).unwrap().total, 2);

        let mine = orgs::list_for_member(&mut conn, bob.id.0, true).unwrap();
        assert_eq!(mine.iter().map(|o| o.id).collect::<Vec<_>>(), vec![globex.id]);
        let left = orgs::list_for_member(&mut conn, bob.id.0, false).unwrap();
        assert_eq!(left.iter().map(|o| o.id).collect::<Vec<_>>(), vec![acme.id]);

        assert_eq!(
            orgs::add_member(&mut conn, acme.id.0, bob.id.0, Role::Admin, at(9)).unwrap(),
            AddOutcome::Reactivated
        );
        let back = orgs::membership(&mut conn, acme.id.0, bob.id.0).unwrap().unwrap();
        assert_eq!(
            (back.role.as_str(), back.is_active, back.created_at, back.updated_at),
            ("admin", true, at(2), at(9))
        );
    }
}

/// Two writers racing for one slug, or to add one member: exactly one wins, on PostgreSQL's real
/// concurrency too.
#[test]
fn concurrent_writers_cannot_share_a_slug_or_a_membership() {
    for t in TestDb::all() {
        let org = create_organization(&mut t.db.conn().unwrap(), "Acme", "acme", t0());
        let user = create_user(&mut t.db.conn().unwrap(), "race@example.com", t0());
        let barrier = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let db = t.db.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut conn = db.conn().unwrap();
                    barrier.wait();
                    let slug = orgs::create(&mut conn, &new_org(&format!("Racer {i}"), "racer", None, t0()));
                    let member = orgs::add_member(&mut conn, org.id.0, user.id.0, Role::Member, Ts(t0()));
                    (slug.map(|_| ()), member.map(|_| ()))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let slug_wins = results.iter().filter(|(s, _)| s.is_ok()).count();
        let member_wins = results.iter().filter(|(_, m)| m.is_ok()).count();
        assert_eq!((slug_wins, member_wins), (1, 1), "{}: {results:?}", t.label);
        for (s, m) in &results {
            if let Err(e) = s {
                assert!(orgs::is_slug_conflict(e), "{}: {e:?}", t.label);
            }
            if let Err(e) = m {
                assert!(orgs::is_member_conflict(e), "{}: {e:?}", t.label);
            }
        }
    }
}
