//! Administrative use cases where concurrency matters: the checks hold until the change commits.

use std::sync::{Arc, Barrier};

use latchkey_service::bulk::{self, BulkAction};
use latchkey_service::{Authenticated, ServiceError, accounts};
use latchkey_testkit::services::{door, services, superuser};
use latchkey_testkit::{PASSWORD, TestDb};

/// Two administrators deactivate each other at the same moment: one wins, the other is refused because
/// by the time its change would commit it is no longer an active superuser (its session ended with the
/// deactivation: 401, or 403 where it still sees itself deactivated). At least one stays active.
#[test]
fn two_admins_cannot_deactivate_each_other() {
    for t in TestDb::all() {
        let svc = services(&t, |_| {});
        superuser(&svc, "a@example.com");
        superuser(&svc, "b@example.com");
        for _round in 0..5 {
            let (a, b) = (door(&svc, "a@example.com", PASSWORD), door(&svc, "b@example.com", PASSWORD));
            let barrier = Arc::new(Barrier::new(2));
            let run = |me: Authenticated, other: uuid::Uuid| {
                let (svc, barrier) = (svc.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    accounts::set_active(&svc, &me, other, false)
                })
            };
            let ta = run(a.clone(), b.user_id());
            let tb = run(b.clone(), a.user_id());
            let results = [ta.join().unwrap(), tb.join().unwrap()];
            let wins = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(wins, 1, "{}: {results:?}", t.label);
            let refused =
                |r: &Result<_, _>| matches!(r, Err(ServiceError::Forbidden(_) | ServiceError::Unauthenticated(_)));
            assert!(results.iter().any(refused), "{}: {results:?}", t.label);
            // Reset for the next round: whoever is still active reactivates the other.
            let (winner, loser) = if results[0].is_ok() { (&a, &b) } else { (&b, &a) };
            accounts::set_active(&svc, winner, loser.user_id(), true).unwrap();
        }
    }
}

/// A bulk delete that includes the caller never deletes the caller.
#[test]
fn bulk_delete_skips_the_caller() {
    for t in TestDb::all() {
        let svc = services(&t, |_| {});
        let a = superuser(&svc, "a@example.com");
        let b = superuser(&svc, "b@example.com");
        let out =
            bulk::bulk_action(&svc, &a, BulkAction::Delete, &[a.user_id(), b.user_id(), uuid::Uuid::new_v4()]).unwrap();
        assert_eq!((out.affected, out.skipped), (1, 2), "{}", t.label);
        assert!(accounts::get_user(&svc, &a, a.user_id()).unwrap().deleted_at.is_none());
        assert!(accounts::get_user(&svc, &a, b.user_id()).unwrap().deleted_at.is_some());
    }
}
