//! The security rules that must hold under concurrency: many threads, released
//! together by a barrier, each with its own runtime, over a pool with enough real connections for all of
//! them, on SQLite and PostgreSQL (READ COMMITTED).

use std::sync::Arc;

use latchkey_auth::password_fingerprint;
use latchkey_db::Ts;
use latchkey_db::repo::{sessions, users};
use latchkey_service::tokens::IssuedTokens;
use latchkey_service::{ServiceError, Services, password_reset, refresh};
use latchkey_testkit::clock::clock;
use latchkey_testkit::config::config;
use latchkey_testkit::services::{NoMail, block_on, device, login, register, services, together};
use latchkey_testkit::{PASSWORD, TestDb, t0};

#[test]
fn concurrent_wrong_logins_never_verify_more_than_the_limit_known_or_unknown_email() {
    for t in TestDb::all() {
        // 8 hashing threads: 16 logins reserve their attempt at the same moment.
        let svc = services(&t, |c| {
            c.sessions.login_max_failures = 20;
            c.hashing.workers = 8;
        });
        register(&svc, "victim@example.com");
        let mut answers = Vec::new();
        for email in ["victim@example.com", "nobody@example.com"] {
            let results = together(60, |_| login(&svc, email, "Wrong-Password-1!"));
            let verified = results.iter().filter(|r| matches!(r, Err(ServiceError::InvalidCredentials))).count();
            let throttled = results.iter().filter(|r| matches!(r, Err(ServiceError::LoginThrottled { .. }))).count();
            assert_eq!((verified, throttled), (20, 40), "{} {email}: {results:?}", t.label);
            // The right password is refused as well while the account is throttled.
            let next = login(&svc, email, PASSWORD);
            let Err(ServiceError::LoginThrottled { retry_after_secs }) = next else {
                panic!("{} {email}: {next:?}", t.label)
            };
            answers.push(retry_after_secs);
        }
        // A registered and an unknown email are throttled alike: same answer, same wait.
        assert_eq!(answers[0], answers[1], "{}", t.label);
    }
}

/// While the account is throttled, a known device's own budget holds under 60 concurrent wrong logins as
/// the account's does: exactly `DEVICE_MAX_FAILURES` passwords verified, the rest refused before any.
#[test]
fn a_known_devices_budget_holds_under_concurrent_wrong_logins() {
    for t in TestDb::all() {
        let svc = services(&t, |c| {
            c.sessions.login_max_failures = 3;
            c.hashing.workers = 8;
        });
        register(&svc, "owner@example.com");
        let token = login(&svc, "owner@example.com", PASSWORD).unwrap().device_token.unwrap();
        for _ in 0..4 {
            let _ = login(&svc, "owner@example.com", "Wrong-Password-1!");
        }
        assert!(matches!(login(&svc, "owner@example.com", PASSWORD), Err(ServiceError::LoginThrottled { .. })));
        let with_token = |password: &str| {
            let credentials = latchkey_service::login::Credentials {
                email: "owner@example.com",
                password: password.to_owned(),
                device_token: Some(token.clone()),
            };
            block_on(latchkey_service::login::login_from(&svc, credentials, || device("Test device", None)))
        };
        let results = together(60, |_| with_token("Wrong-Password-1!"));
        let verified = results.iter().filter(|r| matches!(r, Err(ServiceError::InvalidCredentials))).count();
        let throttled = results.iter().filter(|r| matches!(r, Err(ServiceError::LoginThrottled { .. }))).count();
        assert_eq!((verified, throttled), (5, 55), "{}", t.label);
        assert!(matches!(with_token(PASSWORD), Err(ServiceError::LoginThrottled { .. })), "{}", t.label);
    }
}

#[test]
fn the_window_passes_and_a_success_resets_the_count() {
    for t in TestDb::all() {
        let clock = clock();
        let mut config = config(&t.url);
        config.sessions.login_max_failures = 2;
        let svc =
            Arc::new(Services::with_mailer(&config, t.db.clone(), Arc::new(clock.clone()), Arc::new(NoMail)).unwrap());
        register(&svc, "ada@example.com");
        for _ in 0..2 {
            assert!(matches!(
                login(&svc, "ada@example.com", "Wrong-Password-1!"),
                Err(ServiceError::InvalidCredentials)
            ));
        }
        let throttled = login(&svc, "ada@example.com", PASSWORD);
        assert!(matches!(throttled, Err(ServiceError::LoginThrottled { retry_after_secs: 900 })), "{throttled:?}");
        clock.advance(chrono::Duration::minutes(15));
        login(&svc, "ada@example.com", PASSWORD).unwrap();
        // The success cleared the counter: two more failures are allowed before the next 429.
        for _ in 0..2 {
            assert!(matches!(
                login(&svc, "ada@example.com", "Wrong-Password-1!"),
                Err(ServiceError::InvalidCredentials)
            ));
        }
        assert!(matches!(login(&svc, "ada@example.com", PASSWORD), Err(ServiceError::LoginThrottled { .. })));
    }
}

#[test]
fn concurrent_logins_never_exceed_max_sessions_per_user() {
    for t in TestDb::all() {
        // Enough hashing threads that the logins reach their transactions together.
        let svc = services(&t, |c| {
            c.sessions.max_sessions_per_user = 3;
            c.hashing.workers = 8;
        });
        let user = register(&svc, "busy@example.com");
        let results = together(20, |_| login(&svc, "busy@example.com", PASSWORD));
        assert!(results.iter().all(Result::is_ok), "{}: {results:?}", t.label);
        let live = sessions::count_active(&mut svc.db.conn().unwrap(), user, Ts(t0())).unwrap();
        assert_eq!(live, 3, "{}", t.label);
    }
}

#[test]
fn a_reset_token_works_exactly_once_under_concurrent_confirms() {
    for t in TestDb::all() {
        let svc = services(&t, |c| c.hashing.workers = 8);
        let user = register(&svc, "reset@example.com");
        let hash = users::find_by_id(&mut svc.db.conn().unwrap(), user).unwrap().unwrap().password_hash;
        let token = svc.reset_tokens.issue(user, &password_fingerprint(hash.as_deref()), t0());
        let results = together(10, |i| {
            block_on(password_reset::confirm_reset(&svc, token.clone(), format!("New-Password-{i}!")))
        });
        let won: Vec<usize> = (0..10).filter(|i| results[*i].is_ok()).collect();
        assert_eq!(won.len(), 1, "{}: {results:?}", t.label);
        assert!(
            results
                .iter()
                .filter(|r| r.is_err())
                .all(|r| matches!(r, Err(ServiceError::BadRequest(password_reset::INVALID_TOKEN)))),
            "{}: {results:?}",
            t.label
        );
        // The winner's password is the one stored.
        login(&svc, "reset@example.com", &format!("New-Password-{}!", won[0])).unwrap();
    }
}

#[test]
fn a_refresh_token_rotates_exactly_once_under_concurrent_refreshes() {
    for t in TestDb::all() {
        let svc = services(&t, |_| {});
        let user = register(&svc, "twice@example.com");
        let issued = login(&svc, "twice@example.com", PASSWORD).unwrap();
        // From another address, so the swap also moves the session's address.
        let moved_to: std::net::IpAddr = "81.2.69.142".parse().unwrap();
        let results = together(16, |_| refresh::refresh(&svc, &issued.refresh_token, Some(moved_to)));
        let winners: Vec<&IssuedTokens> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "{}: {results:?}", t.label);
        assert!(
            results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(ServiceError::Unauthenticated(_)))),
            "{}: {results:?}",
            t.label
        );
        // The losers replayed within the grace window: the session lives on, with the winner's token.
        let session = sessions::find_by_id(&mut svc.db.conn().unwrap(), issued.session_id).unwrap().unwrap();
        assert!(session.is_active, "{}", t.label);
        assert_eq!(session.ip_address.as_deref(), Some("81.2.69.142"), "{}", t.label);
        let next = refresh::refresh(&svc, &winners[0].refresh_token, None).unwrap();
        assert_eq!(next.session_id, issued.session_id);
        assert_eq!(next.user.id, user);
    }
}

#[test]
fn overlapping_health_checks_share_a_query_but_never_an_outcome_older_than_themselves() {
    for t in TestDb::all() {
        let svc =
            Arc::new(Services::with_mailer(&config(&t.url), t.pool(1), Arc::new(clock()), Arc::new(NoMail)).unwrap());
        let timeout = std::time::Duration::from_millis(200);
        let results = together(16, |_| block_on(svc.check_database(timeout)));
        assert!(results.iter().all(Result::is_ok), "{}: {results:?}", t.label);
        // With the only connection taken, a check made now fails: the success above is not reused.
        let held = svc.db.conn().unwrap();
        assert!(matches!(block_on(svc.check_database(timeout)), Err(ServiceError::Unavailable(_))), "{}", t.label);
        drop(held);
        block_on(svc.check_database(timeout)).unwrap();
    }
}
