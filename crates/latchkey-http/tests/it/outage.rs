//! The database goes away and comes back, in process: the app reaches PostgreSQL through the test kit's
//! chaos proxy (`latchkey_testkit::chaos`), which refuses new connections and resets open ones while
//! "stopped". Requests then get 503 `SYS_001` with `Retry-After` within the pool's timeout, `/health` says
//! 503, and once the database is back the same app recovers with nothing written before lost.
//! PostgreSQL only (skipped without `LATCHKEY_TEST_POSTGRES_URL`). The same outage under load, with the
//! release binary and its log, is `cargo xtask faults`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use latchkey_db::{Db, PoolOptions};
use latchkey_testkit::TestDb;
use latchkey_testkit::app::{CHROME_MAC, Client, Res, state};
use latchkey_testkit::chaos::{Proxy, upstream_addr, via_proxy};
use latchkey_testkit::clock::clock;
use latchkey_testkit::db::postgres_url;
use latchkey_testkit::mail::Outbox;
use serde_json::json;

/// The pool's wait for a connection here (the server's default is 5 s): what a request waits before 503.
const POOL_TIMEOUT: Duration = Duration::from_millis(1000);
/// What a 503 may take beyond the pool timeout (a busy machine).
const SLACK: Duration = Duration::from_millis(1500);
/// How long the app may go on answering from its session cache before it notices the outage, and how long
/// it may take to recover once the database is back.
const NOTICE_LIMIT: Duration = Duration::from_secs(3);
const RECOVERY_LIMIT: Duration = Duration::from_secs(10);

#[actix_web::test]
async fn the_database_goes_away_and_comes_back() {
    let Some(admin_url) = postgres_url() else { return };
    let db = TestDb::postgres(&admin_url);
    let proxy = Proxy::start(upstream_addr(&db.url).unwrap()).unwrap();
    let url = via_proxy(&db.url, proxy.port()).unwrap();
    let pool =
        Db::from_url(&url, PoolOptions { max_size: 4, connection_timeout: POOL_TIMEOUT, ..PoolOptions::default() })
            .unwrap();
    let app = Client::start(state(pool, &url, &clock(), Arc::new(Outbox::default()), |_| {})).await;

    // Written before the outage, read back after it.
    app.register("outage@example.com").await;
    let (access, _) = app.login("outage@example.com", CHROME_MAC).await;
    let marker = "Written-Before-Outage";
    let res = app.patch("/api/v1/users/me").bearer(&access).json(json!({"first_name": marker})).await;
    assert_eq!(res.status, StatusCode::OK);

    proxy.set_up(false);
    // The app may answer from its session cache until its listener notices; then the database is needed.
    let stopped_at = Instant::now();
    let (res, took) = loop {
        let started = Instant::now();
        let res = app.get("/api/v1/users/me").bearer(&access).await;
        if res.status != StatusCode::OK {
            break (res, started.elapsed());
        }
        assert!(stopped_at.elapsed() < NOTICE_LIMIT, "GET /users/me still 200 {NOTICE_LIMIT:?} into the outage");
    };
    assert_unavailable(&res);
    assert!(took <= POOL_TIMEOUT + SLACK, "a 503 took {took:?}, more than the pool timeout {POOL_TIMEOUT:?}");
    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", health.body);
    assert_eq!(health.body["checks"]["database"]["status"], "unhealthy");

    proxy.set_up(true);
    let restarted_at = Instant::now();
    let me = loop {
        let res = app.get("/api/v1/users/me").bearer(&access).await;
        if res.status == StatusCode::OK {
            break res;
        }
        assert_unavailable(&res);
        assert!(
            restarted_at.elapsed() < RECOVERY_LIMIT,
            "not recovered {RECOVERY_LIMIT:?} after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(me.body["first_name"], marker, "the first name written before the outage was lost");
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    let (again, _) = app.login("outage@example.com", CHROME_MAC).await;
    let sessions = app.get("/api/v1/sessions/me").bearer(&again).await;
    assert_eq!(sessions.status, StatusCode::OK);
    let listed = sessions.body["sessions"].as_array().map_or(0, Vec::len);
    assert!(listed >= 2, "a session from before the outage and one from after it; listed {listed}");
}

/// 503 `SYS_001` in the envelope, with the security headers and `Retry-After`.
fn assert_unavailable(res: &Res) {
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", res.body);
    assert_eq!(
        res.body,
        json!({"success": false, "errors": [{"code": "SYS_001", "message": "Service temporarily unavailable", "field": null}]})
    );
    let retry_after = res.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    assert!(retry_after.is_some_and(|s| s >= 1), "503 without a Retry-After of at least 1 s");
    assert_eq!(res.headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(res.headers.get("x-content-type-options").unwrap(), "nosniff");
}
