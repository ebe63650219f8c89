//! The session cache. Every change that can refuse or alter a cached answer is forgotten by
//! the node that made it before it answers (on both databases), and, on PostgreSQL, heard by every other
//! node through the triggers' notifications — also when the change is an operator's hand-written `UPDATE`.
//! A node whose listener loses its connection answers from the database until it listens again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_auth::password_fingerprint;
use latchkey_db::repo::{sessions, users};
use latchkey_service::accounts::{self, UpdateRule};
use latchkey_service::bulk::{self, BulkAction};
use latchkey_service::my_account::{self, UserUpdate};
use latchkey_service::tokens::IssuedTokens;
use latchkey_service::{
    Authenticated, Config, ServiceError, Services, admin_sessions, authz, door, logout, password_reset, refresh,
    registration,
};

use latchkey_testkit::clock::clock;
use latchkey_testkit::config::config;
use latchkey_testkit::db::postgres_url;
use latchkey_testkit::services::{block_on, device, register, services};
use latchkey_testkit::{PASSWORD, TestDb, t0};

/// How long another node may take to hear of a change before a test fails (the goal is p99 under 50 ms).
const HEAR_WITHIN: Duration = Duration::from_secs(3);

/// Waits until the node's cache serves (on PostgreSQL its listener must connect first).
fn wait_serving(svc: &Services) {
    let until = Instant::now() + Duration::from_secs(10);
    while !svc.cache.serving() {
        assert!(Instant::now() < until, "the session cache never started serving");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The node's check of `token`, and whether the cache answered it.
fn check(svc: &Services, token: &IssuedTokens) -> (Result<Authenticated, ServiceError>, bool) {
    let hits = svc.cache.report().hits;
    let r = door::authenticate(svc, &token.access_token);
    (r, svc.cache.report().hits > hits)
}

/// Admits `token` from the database, then from the cache. (Other tests' changes on the shared PostgreSQL
/// database are heard too: one that lands in the same stripe while the answer is read keeps it out of the
/// cache, so this tries a few times.)
fn warm(svc: &Services, token: &IssuedTokens, label: &str) {
    wait_serving(svc);
    for _ in 0..20 {
        door::authenticate(svc, &token.access_token).unwrap_or_else(|e| panic!("{label}: {e:?}"));
        let (r, hit) = check(svc, token);
        assert!(r.is_ok(), "{label}: {r:?}");
        if hit {
            return;
        }
    }
    panic!("{label}: the check is never answered from the cache");
}

fn refused<T: std::fmt::Debug>(r: &Result<T, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::Unauthenticated(_) | ServiceError::Forbidden(_)))
}

fn login_on(svc: &Arc<Services>, email: &str, name: &str) -> IssuedTokens {
    let device = device(name, Some("203.0.113.9"));
    block_on(latchkey_service::login::login(svc, email, PASSWORD.to_owned(), move || device)).unwrap()
}

/// A second node on the same database: its own pool, cache and listener.
fn other_node(t: &TestDb, config: &Config) -> Arc<Services> {
    Arc::new(Services::new(config, t.pool(4), Arc::new(clock())).unwrap())
}

/// Ada with a phone and a laptop, an administrator, and (on PostgreSQL) a second node; both of Ada's
/// sessions are cached on every node.
struct Scene {
    label: &'static str,
    svc: Arc<Services>,
    other: Option<Arc<Services>>,
    root: Authenticated,
    ada: uuid::Uuid,
    email: String,
    phone: IssuedTokens,
    laptop: IssuedTokens,
}

impl Scene {
    fn new(t: &TestDb, tweak: impl Fn(&mut Config)) -> Scene {
        let svc = services(t, &tweak);
        // Several scenes may share a database: each has accounts of its own.
        let n = uuid::Uuid::new_v4().simple().to_string();
        let (root, ada) = (format!("root-{n}@example.com"), format!("ada-{n}@example.com"));
        assert!(registration::create_superuser(&svc, &root, PASSWORD).unwrap());
        let root = door::authenticate(&svc, &login_on(&svc, &root, "Desk").access_token).unwrap();
        let ada_id = register(&svc, &ada);
        let phone = login_on(&svc, &ada, "Phone");
        let laptop = login_on(&svc, &ada, "Laptop");
        let other = (t.label == "postgres").then(|| {
            let mut config = config(&t.url);
            tweak(&mut config);
            other_node(t, &config)
        });
        for node in std::iter::once(&svc).chain(other.as_ref()) {
            warm(node, &phone, t.label);
            warm(node, &laptop, t.label);
        }
        Scene { label: t.label, svc, other, root, ada: ada_id, email: ada, phone, laptop }
    }

    fn door(&self, token: &IssuedTokens) -> Authenticated {
        door::authenticate(&self.svc, &token.access_token).unwrap()
    }

    /// `token` is refused by the node that made the change at once, and by the other node within
    /// [`HEAR_WITHIN`].
    fn assert_refused(&self, token: &IssuedTokens, path: &str) {
        let r = door::authenticate(&self.svc, &token.access_token);
        assert!(refused(&r), "{} {path}: the changing node still admits: {r:?}", self.label);
        if let Some(other) = &self.other {
            let heard = until(|| refused(&door::authenticate(other, &token.access_token)));
            assert!(heard.is_some(), "{} {path}: the other node still admits after {HEAR_WITHIN:?}", self.label);
        }
    }

    /// `token` is still admitted, on both nodes.
    fn assert_admitted(&self, token: &IssuedTokens, path: &str) -> Authenticated {
        for node in std::iter::once(&self.svc).chain(self.other.as_ref()) {
            let r = door::authenticate(node, &token.access_token);
            assert!(r.is_ok(), "{} {path}: {r:?}", self.label);
        }
        self.door(token)
    }
}

/// Polls `f` until it holds, for at most [`HEAR_WITHIN`]; how long it took.
fn until(f: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < HEAR_WITHIN {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

#[test]
fn a_second_check_is_a_cache_hit_and_a_refusal_is_never_cached() {
    for t in TestDb::all() {
        let s = Scene::new(&t, |_| {});
        // A token the cache does not know (another secret's) goes nowhere near it.
        let (r, hit) = check(&s.svc, &IssuedTokens { access_token: "not-a-token".into(), ..s.phone.clone() });
        assert!(refused(&r) && !hit, "{}", s.label);
        // A refusal is the database's answer every time.
        admin_sessions::revoke_session(&s.svc, &s.root, s.phone.session_id).unwrap();
        for _ in 0..2 {
            let (r, hit) = check(&s.svc, &s.phone);
            assert!(refused(&r) && !hit, "{}: {r:?}", s.label);
        }
    }
}

#[test]
fn logouts_are_heard() {
    for t in TestDb::all() {
        let s = Scene::new(&t, |_| {});
        logout::logout(&s.svc, &s.door(&s.phone), &s.phone.refresh_token).unwrap();
        s.assert_refused(&s.phone, "logout");
        s.assert_admitted(&s.laptop, "logout");

        let s = Scene::new(&t, |_| {});
        logout::logout_many(&s.svc, &s.door(&s.laptop), true).unwrap();
        s.assert_refused(&s.phone, "logout-others");
        s.assert_admitted(&s.laptop, "logout-others");

        let s = Scene::new(&t, |_| {});
        logout::logout_many(&s.svc, &s.door(&s.laptop), false).unwrap();
        s.assert_refused(&s.phone, "logout-all");
        s.assert_refused(&s.laptop, "logout-all");
    }
}

#[test]
fn ending_a_session_is_heard() {
    for t in TestDb::all() {
        let s = Scene::new(&t, |_| {});
        latchkey_service::sessions::revoke_mine(&s.svc, &s.door(&s.laptop), s.phone.session_id).unwrap();
        s.assert_refused(&s.phone, "DELETE /sessions/{id}");
        s.assert_admitted(&s.laptop, "DELETE /sessions/{id}");

        let s = Scene::new(&t, |_| {});
        admin_sessions::revoke_session(&s.svc, &s.root, s.phone.session_id).unwrap();
        s.assert_refused(&s.phone, "admin: revoke a session");

        let s = Scene::new(&t, |_| {});
        admin_sessions::revoke_user_sessions(&s.svc, &s.root, s.ada).unwrap();
        s.assert_refused(&s.phone, "admin: revoke a user's sessions");
        s.assert_refused(&s.laptop, "admin: revoke a user's sessions");
    }
}

#[test]
fn refresh_token_reuse_is_heard() {
    for t in TestDb::all() {
        let s = Scene::new(&t, |c| c.sessions.refresh_reuse_grace_seconds = 0);
        // Two rotations on, the first token is neither the current nor the previous one: reuse.
        let first = refresh::refresh(&s.svc, &s.phone.refresh_token, None).unwrap();
        refresh::refresh(&s.svc, &first.refresh_token, None).unwrap();
        let reuse = refresh::refresh(&s.svc, &s.phone.refresh_token, None);
        assert!(refused(&reuse), "{}: {reuse:?}", s.label);
        s.assert_refused(&s.phone, "refresh-token reuse");
        s.assert_admitted(&s.laptop, "refresh-token reuse");
    }
}

#[test]
fn password_changes_and_resets_are_heard() {
    for t in TestDb::all() {
        let s = Scene::new(&t, |_| {});
        let laptop = s.door(&s.laptop);
        block_on(my_account::change_password(&s.svc, &laptop, PASSWORD.into(), "Another-Pass-99!".into())).unwrap();
        s.assert_refused(&s.phone, "password change");
        s.assert_admitted(&s.laptop, "password change");

        let s = Scene::new(&t, |_| {});
        let update = UserUpdate {
            password: Some("Another-Pass-99!".into()),
            current_password: Some(PASSWORD.into()),
            ..UserUpdate::default()
        };
        block_on(my_account::update_me(&s.svc, &s.door(&s.laptop), update)).unwrap();
        s.assert_refused(&s.phone, "PATCH /users/me with a password");

        let s = Scene::new(&t, |_| {});
        let hash = users::find_by_id(&mut s.svc.db.conn().unwrap(), s.ada).unwrap().unwrap().password_hash;
        let token = s.svc.reset_tokens.issue(s.ada, &password_fingerprint(hash.as_deref()), t0());
        block_on(password_reset::confirm_reset(&s.svc, token, "Reset-Password-1!".into())).unwrap();
        s.assert_refused(&s.phone, "password reset");
        s.assert_refused(&s.laptop, "password reset");

        let s = Scene::new(&t, |_| {});
        let update = UserUpdate { password: Some("Admin-Chosen-1!".into()), ..UserUpdate::default() };
        block_on(accounts::update_user(&s.svc, &s.root, s.ada, update, UpdateRule::SUPERUSERS)).unwrap();
        s.assert_refused(&s.phone, "admin: set a password");
    }
}

#[test]
fn deactivation_and_deletion_are_heard() {
    for t in TestDb::all() {
        let s = Scene::new(&t, |_| {});
        let update = UserUpdate { is_active: Some(false), ..UserUpdate::default() };
        block_on(my_account::update_me(&s.svc, &s.door(&s.phone), update)).unwrap();
        s.assert_refused(&s.phone, "PATCH /users/me is_active=false");
        s.assert_refused(&s.laptop, "PATCH /users/me is_active=false");

        let s = Scene::new(&t, |_| {});
        accounts::set_active(&s.svc, &s.root, s.ada, false).unwrap();
        s.assert_refused(&s.phone, "admin: deactivate");

        let s = Scene::new(&t, |_| {});
        let update = UserUpdate { is_active: Some(false), ..UserUpdate::default() };
        block_on(accounts::update_user(&s.svc, &s.root, s.ada, update, UpdateRule::SUPERUSERS)).unwrap();
        s.assert_refused(&s.laptop, "admin: PUT is_active=false");

        let s = Scene::new(&t, |_| {});
        accounts::delete_user(&s.svc, &s.root, s.ada, authz::SUPERUSER_REQUIRED).unwrap();
        s.assert_refused(&s.phone, "admin: delete");

        for action in [BulkAction::Deactivate, BulkAction::Delete] {
            let s = Scene::new(&t, |_| {});
            bulk::bulk_action(&s.svc, &s.root, action, &[s.ada]).unwrap();
            s.assert_refused(&s.laptop, action.as_str());
        }
    }
}

#[test]
fn what_users_me_shows_is_never_stale() {
    for t in TestDb::all() {
        let s = Scene::new(&t, |_| {});
        let update = UserUpdate { first_name: Some("Augusta".into()), ..UserUpdate::default() };
        block_on(my_account::update_me(&s.svc, &s.door(&s.phone), update)).unwrap();
        assert_eq!(s.door(&s.laptop).user.first_name, "Augusta", "{}", s.label);
        if let Some(other) = &s.other {
            let heard =
                until(|| door::authenticate(other, &s.laptop.access_token).unwrap().user.first_name == "Augusta");
            assert!(heard.is_some(), "{}: the other node shows the old name", s.label);
        }

        let update = UserUpdate { last_name: Some(Some("King".into())), ..UserUpdate::default() };
        block_on(accounts::update_user(&s.svc, &s.root, s.ada, update, UpdateRule::SUPERUSERS)).unwrap();
        assert_eq!(s.door(&s.phone).user.last_name.as_deref(), Some("King"), "{}", s.label);
        if let Some(other) = &s.other {
            let heard = until(|| {
                door::authenticate(other, &s.phone.access_token).unwrap().user.last_name.as_deref() == Some("King")
            });
            assert!(heard.is_some(), "{}: the other node shows the old last name", s.label);
        }
        let _ = s.assert_admitted(&s.phone, "profile updates");
    }
}

#[test]
fn the_session_cap_and_not_me_are_heard() {
    for t in TestDb::all() {
        // A third login with a cap of two ends the least recently used session.
        let s = Scene::new(&t, |c| c.sessions.max_sessions_per_user = 2);
        let tablet = login_on(&s.svc, &s.email, "Tablet");
        let live = |token: &IssuedTokens| {
            sessions::find_by_id(&mut s.svc.db.conn().unwrap(), token.session_id).unwrap().unwrap().is_active
        };
        let ended: Vec<&IssuedTokens> = [&s.phone, &s.laptop].into_iter().filter(|t| !live(t)).collect();
        assert_eq!(ended.len(), 1, "{}", s.label);
        s.assert_refused(ended[0], "the session cap");
        s.assert_admitted(&tablet, "the session cap");

        // The laptop's login was alerted (a new device); its owner answers "not me".
        let s = Scene::new(&t, |_| {});
        let kinds = ["new_device_login"];
        let page = latchkey_db::repo::events::list_for_user(
            &mut s.svc.db.conn().unwrap(),
            s.ada,
            &kinds,
            latchkey_db::repo::Window::page(1, 1),
        )
        .unwrap();
        let alert = &page.items[0];
        assert_eq!(alert.session_id.map(|i| i.0), Some(s.laptop.session_id), "{}", s.label);
        let alert_id = alert.detail.as_ref().unwrap().0["alert_id"].as_str().unwrap().parse().unwrap();
        let token = s.svc.alert_tokens.issue(alert_id, s.ada, s.laptop.session_id, t0());
        latchkey_service::not_me::disown(&s.svc, &token).unwrap();
        s.assert_refused(&s.laptop, "not me");
        s.assert_admitted(&s.phone, "not me");
    }
}

/// `GET /sessions/me` from the cache: which sessions are live is never stale — a session opened, renamed
/// or ended on one node shows on every node's list.
#[test]
fn the_session_list_follows_every_change() {
    for t in TestDb::all() {
        let s = Scene::new(&t, |_| {});
        let names = |node: &Services| -> Vec<String> {
            let (_, list) = latchkey_service::sessions::authenticate_and_list(node, &s.phone.access_token).unwrap();
            let mut names: Vec<String> = list.into_iter().filter_map(|x| x.device_name).collect();
            names.sort();
            names
        };
        let nodes: Vec<&Arc<Services>> = std::iter::once(&s.svc).chain(s.other.as_ref()).collect();
        let shows = |want: &[&str], what: &str| {
            for node in &nodes {
                // Read twice: the second answer comes from the cache.
                let _ = names(node);
                let heard = until(|| names(node) == want);
                assert!(heard.is_some(), "{} {what}: {:?}, not {want:?}", s.label, names(node));
            }
            // The changing node at once.
            assert_eq!(names(&s.svc), want, "{} {what}", s.label);
        };
        shows(&["Laptop", "Phone"], "two sessions");
        let hits = s.svc.cache.report().hits;
        let _ = names(&s.svc);
        assert!(s.svc.cache.report().hits > hits, "{}: a list read twice is served from the cache", s.label);
        let tablet = login_on(&s.svc, &s.email, "Tablet");
        shows(&["Laptop", "Phone", "Tablet"], "a login");
        latchkey_service::sessions::rename_mine(&s.svc, &s.door(&s.laptop), s.laptop.session_id, "Work laptop")
            .unwrap();
        shows(&["Phone", "Tablet", "Work laptop"], "a rename");
        latchkey_service::sessions::revoke_mine(&s.svc, &s.door(&s.phone), tablet.session_id).unwrap();
        shows(&["Phone", "Work laptop"], "a revocation");
    }
}

/// Runs `sql` on a connection of the test's own, as an operator's `psql` would.
fn by_hand(t: &TestDb, sql: &str) {
    diesel::sql_query(sql).execute(&mut *t.db.conn().unwrap()).unwrap();
}

/// An operator's `UPDATE` by hand, on another connection, is heard like any change (PostgreSQL; a SQLite
/// database is edited by hand with the server stopped, or followed by a SIGHUP).
#[test]
fn a_hand_written_update_is_heard() {
    let Some(url) = postgres_url() else { return };
    let t = TestDb::postgres(&url);
    let s = Scene::new(&t, |_| {});
    by_hand(&t, &format!("UPDATE user_sessions SET is_active = false WHERE id = '{}'", s.phone.session_id));
    let node_a = until(|| refused(&door::authenticate(&s.svc, &s.phone.access_token)));
    assert!(node_a.is_some(), "a session ended by hand is still admitted");
    s.assert_refused(&s.phone, "UPDATE user_sessions by hand");
    by_hand(&t, &format!("UPDATE users SET is_superuser = true WHERE id = '{}'", s.ada));
    let promoted = until(|| door::authenticate(&s.svc, &s.laptop.access_token).unwrap().user.is_superuser);
    assert!(promoted.is_some(), "a user changed by hand is still served as before");
}

/// A node whose listener loses its connection stops answering from its cache at once: a change it cannot
/// hear (made by hand meanwhile) is refused throughout; once it listens again it serves from its (emptied)
/// cache again.
#[test]
fn a_deaf_node_answers_from_the_database() {
    let Some(url) = postgres_url() else { return };
    let t = TestDb::postgres(&url);
    let s = Scene::new(&t, |_| {});
    let pid = s.svc.cache.listener_pid().expect("the listener's backend");
    by_hand(&t, &format!("SELECT pg_terminate_backend({pid})"));
    assert!(until(|| !s.svc.cache.serving()).is_some(), "the lost connection was not noticed");
    // The changing node's own in-process forgetting is bypassed: the session ends by hand.
    by_hand(&t, &format!("UPDATE user_sessions SET is_active = false WHERE id = '{}'", s.phone.session_id));
    let r = door::authenticate(&s.svc, &s.phone.access_token);
    assert!(refused(&r), "{r:?}");
    // It listens again (a new backend), empty, and serves again.
    let back = until(|| s.svc.cache.serving() && s.svc.cache.listener_pid().is_some_and(|p| p != pid));
    assert!(back.is_some(), "the listener never came back");
    assert!(s.svc.cache.report().connects >= 2);
    assert!(refused(&door::authenticate(&s.svc, &s.phone.access_token)));
    warm(&s.svc, &s.laptop, "after reconnecting");
}

use diesel::RunQueryDsl as _;
