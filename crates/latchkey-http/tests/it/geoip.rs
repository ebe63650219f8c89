//! Session locations from a GeoIP file (`GEOIP_DATABASE`): at login, when a refresh comes from another
//! address, in the history and the admin views; reserved and unknown addresses, no file, a replaced file
//! and a broken one. The tests build their own small `.mmdb`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use latchkey_service::geoip::Reload;
use latchkey_testkit::app::{CHROME_MAC, Client};
use latchkey_testkit::geoip::GeoFile;
use latchkey_testkit::{PASSWORD, TestApp, TestDb};
use serde_json::{Value as Json, json};

/// The app whose `GEOIP_DATABASE` is `file`, or none.
async fn geo_app(db: TestDb, file: Option<&Path>) -> TestApp {
    let file = file.map(Path::to_path_buf);
    TestApp::with(db, move |c| c.geoip_database = file).await
}

/// The test City file for `city`, written to `dir`.
fn written(dir: &Path, city: &str) -> PathBuf {
    GeoFile::city(city).write(dir, "geo.mmdb")
}

fn from(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40_000)
}

/// Logs in from `ip`; returns (access, refresh).
async fn login_from(app: &Client, email: &str, ip: &str) -> (String, String) {
    let req = app
        .post("/api/v1/auth/login")
        .json(json!({"email": email, "password": PASSWORD}))
        .header(("user-agent", CHROME_MAC))
        .peer(from(ip));
    let res = req.await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    (res.body["access_token"].as_str().unwrap().to_owned(), res.body["refresh_token"].as_str().unwrap().to_owned())
}

/// (ip_address, location_city, location_country) of a JSON session or event.
fn place_of(v: &Json) -> (Json, Json, Json) {
    (v["ip_address"].clone(), v["location_city"].clone(), v["location_country"].clone())
}

fn at(ip: &str, city: Option<&str>, country: Option<&str>) -> (Json, Json, Json) {
    (json!(ip), json!(city), json!(country))
}

/// The caller's current session in `GET /sessions/me`.
async fn my_session(app: &Client, access: &str) -> Json {
    let res = app.get("/api/v1/sessions/me").bearer(access).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    res.body["sessions"].as_array().unwrap().iter().find(|s| s["is_current"] == json!(true)).unwrap().clone()
}

#[actix_web::test]
async fn a_login_is_located_in_the_session_the_history_and_the_admin_view() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().unwrap();
        let app = geo_app(db, Some(&written(dir.path(), "London"))).await;
        let label = &app.db.label;
        let id = app.register("ada@example.com").await.body["id"].as_str().unwrap().to_owned();

        let (access, _) = login_from(&app, "ada@example.com", "81.2.69.142").await;
        let london = at("81.2.69.142", Some("London"), Some("United Kingdom"));
        assert_eq!(place_of(&my_session(&app, &access).await), london, "{label}");
        let history = app.get("/api/v1/sessions/me/history").bearer(&access).await;
        let login = &history.body["data"][0];
        assert_eq!(login["event_type"], "login_succeeded", "{label}");
        assert_eq!(place_of(login), london, "{label}: the history item");

        // A country-only network: the city stays null. An IPv4-mapped peer is the IPv4 address.
        let (sweden, _) = login_from(&app, "ada@example.com", "::ffff:89.160.20.7").await;
        assert_eq!(place_of(&my_session(&app, &sweden).await), at("::ffff:89.160.20.7", None, Some("Sweden")));

        // The admin views carry the session's place.
        assert!(
            latchkey_service::registration::create_superuser(&app.state.services, "root@example.com", PASSWORD)
                .unwrap()
        );
        let (admin, _) = login_from(&app, "root@example.com", "10.0.0.1").await;
        let res = app.get(&format!("/api/v1/admin/users/{id}/sessions")).bearer(&admin).await;
        let mut places: Vec<_> = res.body["data"].as_array().unwrap().iter().map(place_of).collect();
        places.sort_by_key(|p| p.0.to_string());
        assert_eq!(
            places,
            [at("81.2.69.142", Some("London"), Some("United Kingdom")), at("::ffff:89.160.20.7", None, Some("Sweden"))],
            "{label}: {:?}",
            res.body
        );
        let res = app.get("/api/v1/admin/sessions").bearer(&admin).await;
        let all: Vec<_> = res.body["data"].as_array().unwrap().iter().map(place_of).collect();
        assert!(all.contains(&london), "{label}: {:?}", res.body);
        // A private address is nowhere, although the file names a place for it.
        assert!(all.contains(&at("10.0.0.1", None, None)), "{label}: {:?}", res.body);
    }
}

#[actix_web::test]
async fn private_and_unknown_addresses_and_no_file_give_null() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().unwrap();
        let app = geo_app(db, Some(&written(dir.path(), "London"))).await;
        app.register("ada@example.com").await;
        for ip in ["10.1.2.3", "127.0.0.1", "1.1.1.1", "2001:db8::1"] {
            let (access, _) = login_from(&app, "ada@example.com", ip).await;
            assert_eq!(place_of(&my_session(&app, &access).await), at(ip, None, None), "{}: {ip}", app.db.label);
        }
    }
    // No GEOIP_DATABASE: the same address as above is nowhere.
    for db in TestDb::all() {
        let app = geo_app(db, None).await;
        app.register("ada@example.com").await;
        let (access, _) = login_from(&app, "ada@example.com", "81.2.69.142").await;
        assert_eq!(place_of(&my_session(&app, &access).await), at("81.2.69.142", None, None), "{}", app.db.label);
        let history = app.get("/api/v1/sessions/me/history").bearer(&access).await;
        assert_eq!(place_of(&history.body["data"][0]), at("81.2.69.142", None, None));
        assert_eq!(app.state.services.geoip.reload(), Reload::Disabled);
    }
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_located() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path(), "London");
        let app = TestApp::with(db, move |c| {
            c.geoip_database = Some(path);
            c.server.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
        })
        .await;
        app.register("ada@example.com").await;
        let req = app
            .post("/api/v1/auth/login")
            .json(json!({"email": "ada@example.com", "password": PASSWORD}))
            .header(("x-forwarded-for", "6.6.6.6, 81.2.69.142"))
            .peer(from("10.0.0.2"));
        let res = req.await;
        let access = res.body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            place_of(&my_session(&app, &access).await),
            at("81.2.69.142", Some("London"), Some("United Kingdom")),
            "{}",
            app.db.label
        );
    }
}

#[actix_web::test]
async fn a_refresh_from_another_address_moves_the_session_there() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().unwrap();
        let app = geo_app(db, Some(&written(dir.path(), "London"))).await;
        let label = &app.db.label;
        app.register("ada@example.com").await;
        let (_, refresh) = login_from(&app, "ada@example.com", "81.2.69.142").await;

        let refresh_from = |token: &str, ip: Option<&str>| {
            let req = app.post("/api/v1/auth/refresh").json(json!({"refresh_token": token}));
            match ip {
                Some(ip) => req.peer(from(ip)),
                None => req,
            }
        };
        let res = refresh_from(&refresh, Some("89.160.20.9")).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body);
        let (access, refresh) =
            (res.body["access_token"].as_str().unwrap(), res.body["refresh_token"].as_str().unwrap());
        assert_eq!(place_of(&my_session(&app, access).await), at("89.160.20.9", None, Some("Sweden")), "{label}");

        // From no known address (no peer): nothing moves.
        let res = refresh_from(refresh, None).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body);
        let (access, refresh) =
            (res.body["access_token"].as_str().unwrap(), res.body["refresh_token"].as_str().unwrap());
        assert_eq!(place_of(&my_session(&app, access).await), at("89.160.20.9", None, Some("Sweden")), "{label}");

        // Back to London.
        let res = refresh_from(refresh, Some("81.2.69.200")).await;
        let access = res.body["access_token"].as_str().unwrap();
        assert_eq!(
            place_of(&my_session(&app, access).await),
            at("81.2.69.200", Some("London"), Some("United Kingdom")),
            "{label}"
        );
    }
}

#[actix_web::test]
async fn a_replaced_file_is_used_after_a_reload_and_a_broken_one_is_refused() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path(), "London");
        let app = geo_app(db, Some(&path)).await;
        let label = &app.db.label;
        app.register("ada@example.com").await;
        let geoip = &app.state.services.geoip;
        assert_eq!(geoip.reload(), Reload::Unchanged);

        // The weekly download, renamed into place.
        let next = dir.path().join("geo.mmdb.new");
        std::fs::write(&next, GeoFile::city("Manchester").bytes()).unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert!(matches!(geoip.reload(), Reload::Loaded(_)), "{label}");
        let (access, _) = login_from(&app, "ada@example.com", "81.2.69.142").await;
        assert_eq!(my_session(&app, &access).await["location_city"], "Manchester", "{label}");

        // A broken file (a download cut short): refused, and the file in use stays.
        let good = GeoFile::city("Leeds").bytes();
        std::fs::write(&path, &good[..good.len() / 3]).unwrap();
        assert!(matches!(geoip.reload(), Reload::Refused(_)), "{label}");
        let (access, _) = login_from(&app, "ada@example.com", "81.2.69.142").await;
        assert_eq!(my_session(&app, &access).await["location_city"], "Manchester", "{label}");
    }
}

/// Without a peer address the request has no client IP: logins work, nowhere.
#[actix_web::test]
async fn a_login_without_an_address_is_nowhere() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().unwrap();
        let app = geo_app(db, Some(&written(dir.path(), "London"))).await;
        app.register("ada@example.com").await;
        let req = TestRequest::post()
            .uri("/api/v1/auth/login")
            .set_json(json!({"email": "ada@example.com", "password": PASSWORD}));
        let res = app.call(req).await;
        let access = res.body["access_token"].as_str().unwrap().to_owned();
        let me = my_session(&app, &access).await;
        assert_eq!((me["location_city"].clone(), me["location_country"].clone()), (Json::Null, Json::Null));
    }
}
