//! Authorization holds when the action runs, not only when its request arrived (the second security review,
//! items 1, 3, 4 and 6). A request is admitted at the door when its headers arrive; the change it asks for
//! may run minutes later (a body held back, a slow hash). Here the door's `Authenticated` is taken first,
//! the caller then loses the right, and the use case runs with the old admission — exactly what a held
//! body does — and the races run with real connections at a barrier, in repeated rounds, on SQLite and
//! PostgreSQL.

use std::sync::Arc;

use latchkey_auth::password_fingerprint;
use latchkey_db::Ts;
use latchkey_db::repo::{sessions, users};
use latchkey_domain::Role;
use latchkey_service::accounts::{self, NewAccount, UpdateRule};
use latchkey_service::my_account::{self, UserUpdate};
use latchkey_service::organizations::admin::{self as org_admin, NewOrganization};
use latchkey_service::organizations::{OrganizationUpdate, members as org_members};
use latchkey_service::tokens::IssuedTokens;
use latchkey_service::{ServiceError, Services, authz, door, logout, password_reset, refresh};
use latchkey_testkit::geoip::GeoFile;
use latchkey_testkit::services::{block_on, device, door, login, register, services, superuser, together};
use latchkey_testkit::{PASSWORD, TestDb, t0};

fn user_row(svc: &Services, id: uuid::Uuid) -> latchkey_db::models::UserRow {
    users::find_by_id(&mut svc.db.conn().unwrap(), id).unwrap().unwrap()
}

/// A refusal of the caller: their session ended (401), or they may no longer act (403).
fn refused<T: std::fmt::Debug>(r: &Result<T, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::Unauthenticated(_) | ServiceError::Forbidden(_)))
}

fn org(slug: &str) -> NewOrganization {
    NewOrganization { name: slug.into(), slug: slug.into(), description: None, is_active: true, settings: None }
}

#[test]
fn a_change_is_refused_when_its_caller_lost_the_right_after_admission() {
    for t in TestDb::all() {
        let svc = services(&t, |_| {});
        let root = superuser(&svc, "root@example.com");
        let ada_id = register(&svc, "ada@example.com");

        // `PATCH /users/me {"is_active": true}` admitted, then an administrator deactivates the account.
        let ada = door(&svc, "ada@example.com", PASSWORD);
        accounts::set_active(&svc, &root, ada_id, false).unwrap();
        let r =
            block_on(my_account::update_me(&svc, &ada, UserUpdate { is_active: Some(true), ..UserUpdate::default() }));
        assert!(refused(&r), "{}: {r:?}", t.label);
        assert!(!user_row(&svc, ada_id).is_active, "{}: the account stays deactivated", t.label);
        accounts::set_active(&svc, &root, ada_id, true).unwrap();

        // A superuser's `POST /admin/users {"is_superuser": true}` admitted, then that superuser logs out
        // everywhere.
        let held = door(&svc, "root@example.com", PASSWORD);
        logout::logout_many(&svc, &held, false).unwrap();
        let account = NewAccount {
            email: "mallory@example.com".into(),
            password: PASSWORD.into(),
            first_name: "Mallory".into(),
            last_name: None,
            phone_number: None,
            is_superuser: true,
        };
        let r = block_on(accounts::create_user(&svc, &held, account.clone()));
        assert!(refused(&r), "{}: {r:?}", t.label);
        let created = users::find_by_email(&mut svc.db.conn().unwrap(), "mallory@example.com").unwrap();
        assert!(created.is_none(), "{}: no superuser was created", t.label);
        let root = door(&svc, "root@example.com", PASSWORD);

        // A superuser deactivated after admission creates no organization and adds no owner.
        let eve = {
            let eve = NewAccount { email: "eve@example.com".into(), ..account.clone() };
            block_on(accounts::create_user(&svc, &root, eve)).unwrap();
            door(&svc, "eve@example.com", PASSWORD)
        };
        let acme = org_admin::admin_create(&svc, &root, org("acme")).unwrap();
        accounts::set_active(&svc, &root, eve.user_id(), false).unwrap();
        let r = org_admin::admin_create(&svc, &eve, org("evil"));
        assert!(refused(&r), "{}: {r:?}", t.label);
        let r = org_admin::admin_add_member(&svc, &eve, acme.id, eve.user_id(), Role::Owner);
        assert!(refused(&r), "{}: {r:?}", t.label);
        let r = org_admin::admin_update(
            &svc,
            &eve,
            acme.id,
            OrganizationUpdate { is_active: Some(false), ..Default::default() },
        );
        assert!(refused(&r), "{}: {r:?}", t.label);

        // An owner removed from the organization (their sessions untouched) after admission: no update.
        let ada = door(&svc, "ada@example.com", PASSWORD);
        org_admin::admin_add_member(&svc, &root, acme.id, ada_id, Role::Owner).unwrap();
        let rename = OrganizationUpdate { name: Some("Taken over".into()), ..OrganizationUpdate::default() };
        assert!(org_members::update(&svc, &ada, acme.id, rename.clone()).is_ok(), "{}: an owner may rename", t.label);
        org_admin::admin_remove_member(&svc, &root, acme.id, ada_id).unwrap();
        let r = org_members::update(&svc, &ada, acme.id, rename.clone());
        assert!(matches!(&r, Err(ServiceError::Forbidden(_))), "{}: {r:?}", t.label);
        // A deleted owner neither.
        org_admin::admin_add_member(&svc, &root, acme.id, ada_id, Role::Owner).unwrap();
        let ada = door(&svc, "ada@example.com", PASSWORD);
        accounts::delete_user(&svc, &root, ada_id, authz::SUPERUSER_REQUIRED).unwrap();
        let r = org_members::update(&svc, &ada, acme.id, rename);
        assert!(refused(&r), "{}: {r:?}", t.label);

        // A thief's `PATCH /users/me` and `PATCH /users/me/password`, admitted before the owner ended every
        // session.
        let bob_id = register(&svc, "bob@example.com");
        let thief = door(&svc, "bob@example.com", PASSWORD);
        let owner = door(&svc, "bob@example.com", PASSWORD);
        logout::logout_many(&svc, &owner, false).unwrap();
        let r = block_on(my_account::update_me(
            &svc,
            &thief,
            UserUpdate { first_name: Some("Pwned".into()), ..UserUpdate::default() },
        ));
        assert!(refused(&r), "{}: {r:?}", t.label);
        let r = block_on(my_account::change_password(&svc, &thief, PASSWORD.into(), "Thief-Password-9!".into()));
        assert!(refused(&r), "{}: {r:?}", t.label);
        assert_eq!(user_row(&svc, bob_id).first_name, "Ada", "{}", t.label);
        assert!(login(&svc, "bob@example.com", PASSWORD).is_ok(), "{}: the owner's password stands", t.label);
    }
}

/// Without a held body it is a plain race: an administrator deactivates the account while its owner's
/// `PATCH /users/me {"is_active": true}` runs. Whatever the order, the account ends up deactivated.
#[test]
fn a_self_reactivation_racing_a_deactivation_never_wins() {
    for t in TestDb::all() {
        let svc = services(&t, |_| {});
        let root = superuser(&svc, "root@example.com");
        let ada_id = register(&svc, "ada@example.com");
        for round in 0..6 {
            let ada = door(&svc, "ada@example.com", PASSWORD);
            let results = together(2, |i| {
                if i == 0 {
                    accounts::set_active(&svc, &root, ada_id, false).map(|_| ())
                } else {
                    let update = UserUpdate { is_active: Some(true), ..UserUpdate::default() };
                    block_on(my_account::update_me(&svc, &ada, update)).map(|_| ())
                }
            });
            assert!(results[0].is_ok(), "{} round {round}: {results:?}", t.label);
            assert!(!user_row(&svc, ada_id).is_active, "{} round {round}: {results:?}", t.label);
            accounts::set_active(&svc, &root, ada_id, true).unwrap();
        }
    }
}

/// Item 3: `PATCH /users/me {"password", "current_password"}` writes only over the hash it verified. A reset
/// that committed first makes it fail instead of overwriting the newer password; raced, exactly one wins
/// and the password is the winner's.
#[test]
fn a_password_update_never_overwrites_a_newer_password() {
    for t in TestDb::all() {
        let svc = services(&t, |c| c.hashing.workers = 4);
        let id = register(&svc, "ada@example.com");
        let reset_token = |svc: &Services| {
            let hash = user_row(svc, id).password_hash;
            svc.reset_tokens.issue(id, &password_fingerprint(hash.as_deref()), t0())
        };
        let change = |n: usize| UserUpdate {
            password: Some(format!("Self-Chosen-{n}!")),
            current_password: Some(PASSWORD.into()),
            ..UserUpdate::default()
        };

        // Admitted (and its current password verified against the old hash), then a reset lands.
        let held = door(&svc, "ada@example.com", PASSWORD);
        block_on(password_reset::confirm_reset(&svc, reset_token(&svc), "Reset-Password-1!".into())).unwrap();
        // The reset ended the session (401); were it still live, the hash it verified is outdated (403).
        let r = block_on(my_account::update_me(&svc, &held, change(0)));
        assert!(
            matches!(r, Err(ServiceError::Unauthenticated(_) | ServiceError::WrongCurrentPassword)),
            "{}: {r:?}",
            t.label
        );
        assert!(login(&svc, "ada@example.com", "Reset-Password-1!").is_ok(), "{}", t.label);

        for round in 1..=4 {
            let password = format!("Round-Start-{round}!");
            let token = {
                let root_hash = svc.hasher.hash(&password).unwrap();
                users::set_password_hash(&mut svc.db.conn().unwrap(), id, &root_hash, Ts(t0())).unwrap();
                reset_token(&svc)
            };
            let held = door(&svc, "ada@example.com", &password);
            let update = UserUpdate { current_password: Some(password.clone()), ..change(round) };
            let results = together(2, |i| {
                if i == 0 {
                    block_on(my_account::update_me(&svc, &held, update.clone()))
                        .map(|_| format!("Self-Chosen-{round}!"))
                } else {
                    let reset = format!("Reset-Password-{round}!");
                    block_on(password_reset::confirm_reset(&svc, token.clone(), reset.clone())).map(|()| reset)
                }
            });
            let winners: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(winners.len(), 1, "{} round {round}: {results:?}", t.label);
            assert!(login(&svc, "ada@example.com", winners[0]).is_ok(), "{} round {round}", t.label);
        }
    }
}

/// Item 4: a login that verified the old password must not open its session after a change that ended every
/// session (an admin-set password, a deactivation). Raced in rounds: whatever the order, once both are done
/// no session of the account is live — a login that committed first was ended by the change, one that
/// came second was refused.
#[test]
fn a_login_verified_before_a_password_set_or_deactivation_opens_no_session_after_it() {
    for t in TestDb::all() {
        let svc = services(&t, |c| c.hashing.workers = 4);
        let root = superuser(&svc, "root@example.com");
        let id = register(&svc, "ada@example.com");
        let live = |svc: &Services| sessions::count_active(&mut svc.db.conn().unwrap(), id, Ts(t0())).unwrap();
        for round in 0..8 {
            let password = format!("Round-Password-{round}!");
            let hash = svc.hasher.hash(&password).unwrap();
            users::set_password_hash(&mut svc.db.conn().unwrap(), id, &hash, Ts(t0())).unwrap();
            let deactivate = round % 2 == 1;
            let results = together(4, |i| match i {
                0 if deactivate => accounts::set_active(&svc, &root, id, false).map(|_| ()),
                0 => {
                    let update = UserUpdate { password: Some(format!("Admin-Set-{round}!")), ..UserUpdate::default() };
                    block_on(accounts::update_user(&svc, &root, id, update, UpdateRule::SUPERUSERS)).map(|_| ())
                }
                _ => login(&svc, "ada@example.com", &password).map(|_| ()),
            });
            assert!(results[0].is_ok(), "{} round {round}: {results:?}", t.label);
            assert_eq!(live(&svc), 0, "{} round {round} (deactivate: {deactivate}): {results:?}", t.label);
            if deactivate {
                accounts::set_active(&svc, &root, id, true).unwrap();
                assert_eq!(live(&svc), 0, "{} round {round}: reactivation brings no session back", t.label);
            }
        }
    }
}

/// Item 6: a correct login and a password change of the same account take the user row and the throttle
/// row in one order, so PostgreSQL never answers one of them with a deadlock (a 500).
#[test]
fn logins_and_password_changes_of_one_account_never_deadlock() {
    for t in TestDb::all() {
        let svc = services(&t, |c| {
            c.hashing.workers = 8;
            c.sessions.login_max_failures = 1000;
        });
        register(&svc, "ada@example.com");
        let mut password = PASSWORD.to_owned();
        for round in 0..40 {
            let caller = door(&svc, "ada@example.com", &password);
            let next = format!("Changed-Password-{round}!");
            let results = together(8, |i| {
                if i == 0 {
                    block_on(my_account::change_password(&svc, &caller, password.clone(), next.clone())).map(|_| ())
                } else {
                    login(&svc, "ada@example.com", &password).map(|_| ())
                }
            });
            first_won_and_nothing_failed(&results, t.label, round);
            password = next;
        }
    }
}

fn alerts_of(svc: &Services, user: uuid::Uuid) -> usize {
    let kinds = ["new_device_login"];
    latchkey_db::repo::events::list_for_user(
        &mut svc.db.conn().unwrap(),
        user,
        &kinds,
        latchkey_db::repo::Window::page(1, 100),
    )
    .unwrap()
    .total as usize
}

fn login_as(svc: &Arc<Services>, name: &str, ip: &str) -> Result<IssuedTokens, ServiceError> {
    let device = device(name, Some(ip));
    block_on(latchkey_service::login::login(svc, "ada@example.com", PASSWORD.to_owned(), move || device))
}

/// A GeoIP file where `81.2.69.0/24` is in France and `89.160.20.0/24` in Germany.
fn two_countries() -> std::path::PathBuf {
    let file = GeoFile::new().with_country("81.2.69.0/24", "France").with_country("89.160.20.0/24", "Germany");
    file.write(&std::env::temp_dir(), &format!("latchkey-countries-{}.mmdb", uuid::Uuid::new_v4()))
}

/// Many concurrent logins of one new device send one alert: the decision runs under the user's row lock,
/// each login seeing the ones before it.
#[test]
fn concurrent_logins_of_one_new_device_send_one_alert() {
    for t in TestDb::all() {
        let svc = services(&t, |c| c.hashing.workers = 8);
        let id = register(&svc, "ada@example.com");
        login_as(&svc, "Laptop", "203.0.113.7").unwrap();
        assert_eq!(alerts_of(&svc, id), 0, "{}: the first login is not alerted", t.label);
        for round in 0..3 {
            let device = format!("Phone {round}");
            let results = together(16, |_| login_as(&svc, &device, "203.0.113.7").map(|_| ()));
            assert!(results.iter().all(Result::is_ok), "{}: {results:?}", t.label);
            assert_eq!(alerts_of(&svc, id), round + 1, "{} round {round}", t.label);
        }
    }
}

/// A known device from a country the account has not used within the window is alerted too; an unknown
/// country (a reserved address, no GeoIP data) never is.
#[test]
fn a_known_device_from_a_new_country_is_alerted() {
    let file = two_countries();
    for t in TestDb::all() {
        let svc = services(&t, |c| c.geoip_database = Some(file.clone()));
        let id = register(&svc, "ada@example.com");
        login_as(&svc, "Laptop", "81.2.69.1").unwrap();
        login_as(&svc, "Laptop", "81.2.69.2").unwrap();
        login_as(&svc, "Laptop", "203.0.113.7").unwrap();
        assert_eq!(alerts_of(&svc, id), 0, "{}", t.label);
        login_as(&svc, "Laptop", "89.160.20.1").unwrap();
        assert_eq!(alerts_of(&svc, id), 1, "{}", t.label);
        login_as(&svc, "Laptop", "89.160.20.2").unwrap();
        assert_eq!(alerts_of(&svc, id), 1, "{}: Germany is known now", t.label);
    }
    std::fs::remove_file(file).unwrap();
}

/// A change that re-admits its caller share-locks the caller's session and may then end it (logout-all
/// ends the caller's own session too), while refreshes of that very session wait on its row: the lock is
/// upgraded by its holder, never a deadlock (a 500). Raced at a barrier, in rounds, on both databases.
#[test]
fn a_logout_all_racing_refreshes_of_its_own_session_never_deadlocks() {
    for t in TestDb::all() {
        let svc = services(&t, |c| c.hashing.workers = 4);
        register(&svc, "ada@example.com");
        for round in 0..10 {
            let tokens = login(&svc, "ada@example.com", PASSWORD).unwrap();
            let caller = door::authenticate(&svc, &tokens.access_token).unwrap();
            let results = together(6, |i| {
                if i == 0 {
                    logout::logout_many(&svc, &caller, false).map(|_| ())
                } else {
                    refresh::refresh(&svc, &tokens.refresh_token, None).map(|_| ())
                }
            });
            first_won_and_nothing_failed(&results, t.label, round);
            // Whatever the order, the session ended: a token rotated before the logout died with it.
            let live = sessions::count_active(&mut svc.db.conn().unwrap(), caller.user_id(), Ts(t0())).unwrap();
            assert_eq!(live, 0, "{} round {round}: {results:?}", t.label);
        }
    }
}

/// A "not me" link works once, even when its answers overlap: the answer is an insert on the alert's id,
/// and of concurrent ones exactly one goes on to end the session.
#[test]
fn concurrent_not_me_answers_end_the_session_once() {
    for t in TestDb::all() {
        let svc = services(&t, |_| {});
        let id = register(&svc, "ada@example.com");
        login_as(&svc, "Laptop", "203.0.113.7").unwrap();
        let phone = login_as(&svc, "Phone", "203.0.113.7").unwrap();
        let kinds = ["new_device_login"];
        let page = latchkey_db::repo::events::list_for_user(
            &mut svc.db.conn().unwrap(),
            id,
            &kinds,
            latchkey_db::repo::Window::page(1, 1),
        )
        .unwrap();
        let alert_id: uuid::Uuid =
            page.items[0].detail.as_ref().unwrap().0["alert_id"].as_str().unwrap().parse().unwrap();
        let token = svc.alert_tokens.issue(alert_id, id, phone.session_id, t0());
        let results = together(8, |_| latchkey_service::not_me::disown(&svc, &token).map(|_| ()));
        let done = results.iter().filter(|r| r.is_ok()).count();
        let refused = results.iter().filter(|r| matches!(r, Err(ServiceError::BadRequest(_)))).count();
        assert_eq!((done, refused), (1, 7), "{}: {results:?}", t.label);
        let phone_session = sessions::find_by_id(&mut svc.db.conn().unwrap(), phone.session_id).unwrap().unwrap();
        assert_eq!(phone_session.revoked_reason.as_deref(), Some("disowned"), "{}", t.label);
    }
}

/// A race's outcomes: no server error (a deadlock or a lost connection shows as one), and the first thread
/// (the change) succeeded.
fn first_won_and_nothing_failed(results: &[Result<(), ServiceError>], label: &str, round: usize) {
    for r in results {
        assert!(
            !matches!(r, Err(ServiceError::Internal(_) | ServiceError::Unavailable(_))),
            "{label} round {round}: {results:?}"
        );
    }
    assert!(results[0].is_ok(), "{label} round {round}: {results:?}");
}
