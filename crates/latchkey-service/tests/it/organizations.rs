//! Organizations under concurrency: a slug race has one winner and the losers get clean conflicts.

use std::sync::{Arc, Barrier};

use latchkey_service::ServiceError;
use latchkey_service::error::ConflictKind;
use latchkey_service::organizations::OrganizationUpdate;
use latchkey_service::organizations::admin::{self as orgs, NewOrganization};
use latchkey_testkit::TestDb;
use latchkey_testkit::services::{services, superuser};

fn org(name: &str, slug: &str) -> NewOrganization {
    NewOrganization { name: name.into(), slug: slug.into(), description: None, is_active: true, settings: None }
}

/// Concurrent creates and renames to one slug: exactly one writer gets it, every other one a 409
/// `SYS_005` (never a 500), on PostgreSQL's READ COMMITTED as on SQLite.
#[test]
fn a_slug_race_has_one_winner_and_clean_conflicts() {
    for t in TestDb::all() {
        let svc = services(&t, |_| {});
        let admin = Arc::new(superuser(&svc, "root@example.com"));
        let ids: Vec<uuid::Uuid> = (0..3)
            .map(|i| orgs::admin_create(&svc, &admin, org(&format!("Org {i}"), &format!("org-{i}"))).unwrap().id)
            .collect();
        let barrier = Arc::new(Barrier::new(6));
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (svc, admin, barrier, ids) = (svc.clone(), admin.clone(), barrier.clone(), ids.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    if i < 3 {
                        orgs::admin_create(&svc, &admin, org(&format!("New {i}"), "wanted")).map(|_| ())
                    } else {
                        let update =
                            OrganizationUpdate { slug: Some("wanted".into()), ..OrganizationUpdate::default() };
                        orgs::admin_update(&svc, &admin, ids[i - 3], update).map(|_| ())
                    }
                })
            })
            .collect();
        let results: Vec<Result<(), ServiceError>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{}: {results:?}", t.label);
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(r, ServiceError::Conflict { kind: ConflictKind::Other, message, field: None }
                    if message == "Organization with slug 'wanted' already exists"),
                "{}: {r:?}",
                t.label
            );
        }
    }
}
