//! Request bodies: the read deadline (408 in the envelope, connection closed), through the real server;
//! bidirectional controls refused in names, device names and `X-Device-Id`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use actix_web::http::StatusCode;
use latchkey_testkit::app::{CHROME_MAC, Res};
use latchkey_testkit::{PASSWORD, TestApp, TestDb};
use serde_json::json;

/// A real server for `state`, on a free loopback port.
fn start(state: latchkey_http::AppState) -> (SocketAddr, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = latchkey_http::server::serve(state, latchkey_http::server::Listen::Listener(listener)).unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (addr, handle)
}

/// Reads one response (head and `Content-Length` body), then checks that the server closes the
/// connection: (lower-cased head, body, whether it closed within 5 s).
fn response_then_close(stream: &mut TcpStream) -> (String, serde_json::Value, bool) {
    let mut buf = Vec::new();
    let mut byte = [0; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the connection closed in the head: {buf:?}");
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap().to_ascii_lowercase();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length: ")).map(|v| v.trim().parse().unwrap()).unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = Vec::new();
    // A reset closes it too (the client below goes on sending after the server closed).
    let closed = match stream.read_to_end(&mut rest) {
        Ok(n) => n == 0,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    (head, body, closed)
}

fn assert_body_timeout(head: &str, body: &serde_json::Value, closed: bool, what: &str) {
    assert!(head.starts_with("http/1.1 408 request timeout\r\n"), "{what}: {head}");
    assert!(head.contains("connection: close\r\n"), "{what}: {head}");
    assert!(head.contains("x-content-type-options: nosniff") && head.contains("x-request-id: "), "{what}: {head}");
    assert_eq!(
        body,
        &json!({"success": false, "errors": [{
            "code": "VAL_006", "message": "Request body not received in time", "field": null
        }]}),
        "{what}"
    );
    assert!(closed, "{what}: the server left the connection open");
}

/// A client that holds back the last byte of its body (declared or chunked) gets 408 once the deadline
/// has passed, and the server closes the connection even while the client goes on sending.
#[actix_web::test]
async fn a_body_not_complete_by_the_deadline_is_408_and_the_connection_closes() {
    let app = TestApp::with(TestDb::sqlite(), |c| c.server.body_read_timeout_seconds = 1).await;
    let (addr, handle) = start(app.state.clone());
    actix_web::rt::task::spawn_blocking(move || {
        let body = json!({"email": "slow@example.com", "password": PASSWORD}).to_string();
        let (all_but_last, _) = body.split_at(body.len() - 1);

        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(all_but_last.as_bytes()).unwrap();
        let (head, json, closed) = response_then_close(&mut stream);
        assert_body_timeout(&head, &json, closed, "Content-Length");

        // Chunked: after an answer to a body it has not read to the end, actix would otherwise go on
        // reading (and dropping) that body for as long as the client sends it.
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream
            .write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        let trickle = stream.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let mut trickle = trickle;
            for _ in 0..40 {
                if trickle.write_all(b"1\r\n \r\n").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let (head, json, closed) = response_then_close(&mut stream);
        assert_body_timeout(&head, &json, closed, "chunked");
        sender.join().unwrap();
    })
    .await
    .unwrap();
    handle.stop(false).await;
}

/// The deadline bounds the body, not its pace: a body that trickles in but is complete in time is read
/// and answered, and the connection stays open for the next request.
#[actix_web::test]
async fn a_slow_body_complete_in_time_is_answered() {
    let app = TestApp::with(TestDb::sqlite(), |c| c.server.body_read_timeout_seconds = 5).await;
    let (addr, handle) = start(app.state.clone());
    actix_web::rt::task::spawn_blocking(move || {
        let body = json!({"email": "trickle@example.com", "password": PASSWORD, "first_name": "Ada"}).to_string();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        for part in body.as_bytes().chunks(body.len().div_ceil(4)) {
            std::thread::sleep(Duration::from_millis(300));
            stream.write_all(part).unwrap();
        }
        let mut buf = vec![0; 4096];
        let n = stream.read(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
        assert!(text.starts_with("http/1.1 201 created\r\n"), "{text}");
        assert!(!text.contains("connection: close"), "{text}");
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let n = stream.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200 OK\r\n"));
    })
    .await
    .unwrap();
    handle.stop(false).await;
}

fn fields(res: &Res) -> Vec<String> {
    res.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect()
}

const BIDI: &str = "String should not contain bidirectional control characters";

/// Display spoofing: `"\u{202E}nimda"` shows as "admin". Refused in every single-line string; the
/// free text of `preferences` keeps them (right-to-left notes need them).
#[actix_web::test]
async fn bidirectional_controls_are_422_in_names_device_names_and_the_device_id() {
    for app in TestApp::all().await {
        let label = app.db.label;
        for c in ['\u{202E}', '\u{2066}', '\u{200F}'] {
            let body = json!({"email": "bidi@example.com", "password": PASSWORD, "first_name": format!("{c}nimda")});
            let res = app.post("/api/v1/auth/register").json(body).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{label}: {c:?}: {:?}", res.body);
            assert_eq!((fields(&res), res.error()), (vec!["first_name".to_owned()], ("VAL_001".into(), BIDI.into())));
        }
        app.register("bidi@example.com").await;
        let (token, _) = app.login("bidi@example.com", CHROME_MAC).await;
        let patch = |path: &str, body: serde_json::Value| app.patch(path).json(body).bearer(&token);
        let res = patch("/api/v1/users/me", json!({"last_name": "Love\u{202D}lace"})).await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["last_name".to_owned()]));
        assert_eq!(res.error().1, BIDI, "{label}");
        let res = patch("/api/v1/users/me", json!({"preferences": {"note": "\u{2067}שלום\u{2069} ok"}})).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: free text keeps them: {:?}", res.body);

        let sessions = app.get("/api/v1/sessions/me").bearer(&token).await.body;
        let id = sessions["sessions"][0]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/sessions/{id}");
        let res = patch(&path, json!({"device_name": "Work laptop\u{202E}"})).await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["device_name".to_owned()]));
        assert_eq!(res.error().1, BIDI, "{label}");
        let res = patch(&path, json!({"device_name": "Work laptop"})).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {:?}", res.body);

        // The device id header: only visible ASCII is an identifier there, so any bidi control is out.
        let req =
            app.post("/api/v1/auth/login").json(json!({"email": "bidi@example.com", "password": PASSWORD})).header((
                "x-device-id",
                actix_web::http::header::HeaderValue::from_bytes("phone\u{202E}1".as_bytes()).unwrap(),
            ));
        let res = req.await;
        assert_eq!((res.status, fields(&res)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["X-Device-Id".to_owned()]));
    }
}
