//! The use cases' context over a test database, and the steps service tests repeat: register, log in, a
//! superuser admitted at the door; threads released together at a barrier.

use std::future::Future;
use std::sync::{Arc, Barrier};

use latchkey_domain::DeviceInfo;
use latchkey_service::mail::{Email, EmailSender};
use latchkey_service::registration::{self, Registration};
use latchkey_service::tokens::IssuedTokens;
use latchkey_service::{Authenticated, Config, ServiceError, Services, door};

use crate::PASSWORD;
use crate::clock::clock;
use crate::config::config;
use crate::db::TestDb;

/// Sends nothing.
#[derive(Debug)]
pub struct NoMail;

impl EmailSender for NoMail {
    fn send(&self, _: &Email) -> Result<(), String> {
        Ok(())
    }
}

/// Services over the test database at [`t0`](crate::t0), with a pool of 32 connections, so every thread
/// of a race gets its own, and a hashing queue that never sheds (tests count verifications, not shed
/// requests); `tweak` changes the configuration first.
pub fn services(t: &TestDb, tweak: impl FnOnce(&mut Config)) -> Arc<Services> {
    let mut config = config(&t.url);
    config.hashing.queue_limit = 10_000;
    config.hashing.max_wait_ms = 60_000;
    tweak(&mut config);
    Arc::new(Services::with_mailer(&config, t.pool(32), Arc::new(clock()), Arc::new(NoMail)).unwrap())
}

/// Runs `f` to completion on a runtime of its own (one per call, so threads each have theirs).
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Runs `f` on `n` threads at once: each waits at a barrier until all are ready.
pub fn together<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, f) = (&barrier, &f);
                s.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A device named `name`, at `ip` when given, with no User-Agent and no location.
pub fn device(name: &str, ip: Option<&str>) -> DeviceInfo {
    DeviceInfo {
        device_name: name.to_owned(),
        device_id: None,
        ip_address: ip.map(str::to_owned),
        user_agent: None,
        location: Default::default(),
    }
}

/// Registers Ada at `email` with [`PASSWORD`]; returns the new user's id.
pub fn register(svc: &Arc<Services>, email: &str) -> uuid::Uuid {
    let r = Registration {
        email: email.into(),
        password: PASSWORD.into(),
        first_name: "Ada".into(),
        last_name: None,
        phone_number: None,
    };
    block_on(registration::register(svc, r)).unwrap().id
}

/// Logs `email` in from a test device.
pub fn login(svc: &Arc<Services>, email: &str, password: &str) -> Result<IssuedTokens, ServiceError> {
    block_on(latchkey_service::login::login(svc, email, password.to_owned(), || device("Test device", None)))
}

/// The door's admission of a fresh login.
pub fn door(svc: &Arc<Services>, email: &str, password: &str) -> Authenticated {
    let tokens = login(svc, email, password).unwrap();
    door::authenticate(svc, &tokens.access_token).unwrap()
}

/// A new superuser at `email` (with [`PASSWORD`]), logged in and admitted.
pub fn superuser(svc: &Arc<Services>, email: &str) -> Authenticated {
    assert!(registration::create_superuser(svc, email, PASSWORD).unwrap());
    door(svc, email, PASSWORD)
}
