use std::sync::{Arc, Barrier};

use chrono::Duration;
use latchkey_db::models::{NewSession, NewUser};
use latchkey_db::repo::{sessions, users};
use latchkey_db::testing::TestDb;
use latchkey_db::{Id, Ts};
use latchkey_domain::ManualClock;
use latchkey_service::organizations::{self as orgs, NewOrganization, OrganizationUpdate};
use latchkey_service::{Authenticated, Config, ServiceError, Services};

use crate::t0;

fn services(t: &TestDb) -> Arc<Services> {
    let config = Config::for_tests(&t.url);
    Arc::new(Services::new(&config, t.db.clone(), Arc::new(ManualClock::new(t0()))).unwrap())
}

/// A superuser with a live session, as the authentication check would hand it over.
fn admin(t: &TestDb) -> Authenticated {
    let mut conn = t.db.conn().unwrap();
    let now = Ts(t0());
    let user = users::create(
        &mut conn,
        &NewUser {
            id: Id(uuid::Uuid::new_v4()),
            email: "root@example.com".into(),
            password_hash: None,
            first_name: "Root".into(),
            last_name: None,
            phone_number: None,
            is_active: true,
            is_superuser: true,
            preferences: None,
            locale: None,
            created_at: now,
            updated_at: now,
        },
    )
    .unwrap();
    let session = sessions::create(
        &mut conn,
        &NewSession {
            id: Id(uuid::Uuid::new_v4()),
            user_id: user.id,
            refresh_token_jti: uuid::Uuid::new_v4().to_string(),
            device_name: None,
            device_id: None,
            ip_address: None,
            user_agent: None,
            last_used_at: now,
            expires_at: Ts(t0() + Duration::days(7)),
            absolute_expires_at: Ts(t0() + Duration::days(30)),
            is_active: true,
            created_at: now,
            updated_at: now,
        },
    )
    .unwrap();
    Authenticated::from_rows(user, session)
}

fn org(name: &str, slug: &str) -> NewOrganization {
    NewOrganization { name: name.into(), slug: slug.into(), description: None, is_active: true, settings: None }
}

/// Concurrent creates and renames to one slug: exactly one writer gets it, every other one a 409
/// `SYS_005` (never a 500), on PostgreSQL's READ COMMITTED as on SQLite.
#[test]
fn a_slug_race_has_one_winner_and_clean_conflicts() {
    for t in TestDb::all() {
        let svc = services(&t);
        let admin = Arc::new(admin(&t));
        let ids: Vec<uuid::Uuid> = (0..3)
            .map(|i| orgs::admin_create(&svc, &admin, org(&format!("Org {i}"), &format!("org-{i}"))).unwrap().org.id.0)
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
                matches!(r, ServiceError::Conflict { code: "SYS_005", message, field: None }
                    if message == "Organization with slug 'wanted' already exists"),
                "{}: {r:?}",
                t.label
            );
        }
    }
}
