//! The load of `cargo xtask faults`: connections each repeating one operation for a user of their own,
//! every answer recorded with when it was asked ([`Sample`]), counted per phase, and judged by what the
//! operation promises; and the users the scenarios register and log in.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use serde_json::json;

use super::REQUEST_TIMEOUT;
use super::checks::{excerpt, expect_ok, expect_security_headers};
use crate::client::{Client, ClientError, Response};

/// The password of every user the scenarios register.
pub(super) const PASSWORD: &str = "Faults-Password-9!";

/// What a load connection repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// `GET /api/v1/users/me`.
    Me,
    /// `POST /api/v1/auth/refresh`, following the rotation.
    Refresh,
    /// `POST /api/v1/auth/login`: slow (argon2id), so one is nearly always in flight.
    Login,
    /// `GET /health`, every 200 ms.
    Health,
}

impl Op {
    pub(super) fn name(self) -> &'static str {
        match self {
            Op::Me => "GET /users/me",
            Op::Refresh => "POST /auth/refresh",
            Op::Login => "POST /auth/login",
            Op::Health => "GET /health",
        }
    }
}

/// A registered user with one session's tokens.
#[derive(Debug, Clone)]
pub(super) struct User {
    pub(super) email: String,
    pub(super) access: String,
    pub(super) refresh: String,
}

/// One request and what came back.
#[derive(Debug)]
pub(super) struct Sample {
    pub(super) op: Op,
    /// The user the request was for (what `GET /users/me` must answer).
    pub(super) email: String,
    pub(super) started: Instant,
    pub(super) finished: Instant,
    /// Sent on a connection opened for it.
    pub(super) fresh: bool,
    pub(super) outcome: Result<Response, ClientError>,
    /// A refresh answered 401 right after the same token got 503: that 503 lost the answer of a rotation
    /// that had committed (the connection to the database broke after the commit). Not a failure; the
    /// chain logs in again.
    pub(super) rotation_lost: bool,
}

impl Sample {
    pub(super) fn status(&self) -> Option<u16> {
        self.outcome.as_ref().ok().map(|r| r.status)
    }

    pub(super) fn request_id(&self) -> Option<&str> {
        self.outcome.as_ref().ok().and_then(|r| r.header("x-request-id"))
    }
}

/// Every sample of a run, shared by its load tasks (all on one thread).
#[derive(Debug, Clone, Default)]
pub(super) struct Samples(Rc<RefCell<Vec<Sample>>>);

impl Samples {
    pub(super) fn push(&self, s: Sample) {
        self.0.borrow_mut().push(s);
    }

    pub(super) fn take(&self) -> Vec<Sample> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    /// When the first request started after `t` that satisfies `pred` finished.
    pub(super) fn first_after(&self, t: Instant, pred: impl Fn(&Sample) -> bool) -> Option<Instant> {
        self.0.borrow().iter().filter(|s| s.started >= t && pred(s)).map(|s| s.finished).min()
    }

    pub(super) fn describe_after(&self, t: Instant) -> String {
        let samples = self.0.borrow();
        let mut counts = Counts::default();
        for s in samples.iter().filter(|s| s.started >= t) {
            counts.add("after the restart", s);
        }
        counts.render()
    }
}

/// Answers per phase, operation and status.
#[derive(Debug, Default)]
pub(super) struct Counts(Vec<((&'static str, &'static str, String), usize)>);

impl Counts {
    pub(super) fn add(&mut self, phase: &'static str, s: &Sample) {
        let status = match &s.outcome {
            Ok(r) => r.status.to_string(),
            Err(ClientError::Connect(_)) => "refused".to_owned(),
            Err(ClientError::Lost { .. }) => "no answer".to_owned(),
        };
        let key = (phase, s.op.name(), status);
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => self.0.push((key, 1)),
        }
    }

    pub(super) fn render(&self) -> String {
        let mut phases: Vec<&str> = Vec::new();
        for ((phase, _, _), _) in &self.0 {
            if !phases.contains(phase) {
                phases.push(phase);
            }
        }
        let mut out = String::new();
        for phase in phases {
            let mut parts: Vec<String> = self
                .0
                .iter()
                .filter(|((p, _, _), _)| *p == phase)
                .map(|((_, op, status), n)| format!("{op} {status}×{n}"))
                .collect();
            parts.sort();
            let _ = writeln!(out, "    {phase}: {}", parts.join(", "));
        }
        out
    }
}

/// One load connection: repeats `op` for `user` until `stop`, recording every answer. Returns early when
/// the server no longer accepts connections (after SIGTERM).
pub(super) async fn worker(
    addr: SocketAddr,
    op: Op,
    mut user: User,
    samples: Samples,
    stop: Rc<Cell<bool>>,
) -> anyhow::Result<()> {
    let mut client = Client::new(addr).with_limit(REQUEST_TIMEOUT);
    // A refresh that got 503 may still have committed (the answer lost with the connection); the same
    // token presented again then gets 401. Such a chain logs in again.
    let mut unsure = false;
    let mut must_login = false;
    while !stop.get() {
        let op = if must_login { Op::Login } else { op };
        let (method, path, bearer, body) = match op {
            Op::Me => ("GET", "/api/v1/users/me", Some(user.access.as_str()), None),
            Op::Refresh => ("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": user.refresh}))),
            Op::Login => ("POST", "/api/v1/auth/login", None, Some(json!({"email": user.email, "password": PASSWORD}))),
            Op::Health => ("GET", "/health", None, None),
        };
        let exchange = client.exchange(method, path, bearer, body.as_ref()).await;
        let refused = matches!(exchange.result, Err(ClientError::Connect(_)))
            || matches!(exchange.result, Err(ClientError::Lost { answered: false, .. }) if exchange.fresh);
        let mut sample = Sample {
            op,
            email: user.email.clone(),
            started: exchange.started,
            finished: exchange.finished,
            fresh: exchange.fresh,
            outcome: exchange.result,
            rotation_lost: false,
        };
        match (&sample.outcome, op) {
            (Ok(r), Op::Refresh | Op::Login) if r.status == 200 => {
                if let Some(token) = r.json().and_then(|j| j["refresh_token"].as_str().map(str::to_owned)) {
                    user.refresh = token;
                }
                unsure = false;
                must_login = false;
            }
            (Ok(r), Op::Refresh) if r.status == 503 => unsure = true,
            (Ok(r), Op::Refresh) if r.status == 401 && unsure => {
                sample.rotation_lost = true;
                must_login = true;
            }
            _ => {}
        }
        samples.push(sample);
        if refused {
            return Ok(());
        }
        if op == Op::Health {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// Registers `n` users and logs each in once (rate limits are off on the servers here).
pub(super) async fn register_users(addr: SocketAddr, prefix: &str, n: usize) -> anyhow::Result<Vec<User>> {
    let mut client = Client::new(addr).with_limit(REQUEST_TIMEOUT);
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        let email = format!("{prefix}-{i}-{}@example.com", std::process::id());
        let body = json!({"email": email, "password": PASSWORD, "first_name": format!("User {i}")});
        let res = client.exchange("POST", "/api/v1/auth/register", None, Some(&body)).await.result?;
        ensure!(res.status == 201, "register answered {}: {}", res.status, res.body);
        users.push(login(&mut client, &email).await?);
    }
    Ok(users)
}

pub(super) async fn login(client: &mut Client, email: &str) -> anyhow::Result<User> {
    login_with(client, email, PASSWORD).await
}

/// The id of the session `access` belongs to.
pub(super) async fn current_session(client: &mut Client, access: &str) -> anyhow::Result<String> {
    let res = client.exchange("GET", "/api/v1/sessions/me", Some(access), None).await.result?;
    expect_ok(&res, "GET /sessions/me")?;
    let json = res.json().context("no JSON")?;
    json["sessions"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["is_current"] == true))
        .and_then(|s| s["id"].as_str())
        .map(str::to_owned)
        .with_context(|| format!("no current session in {}", res.body))
}

/// Logs in with `password`.
pub(super) async fn login_with(client: &mut Client, email: &str, password: &str) -> anyhow::Result<User> {
    let res = client
        .exchange("POST", "/api/v1/auth/login", None, Some(&json!({"email": email, "password": password})))
        .await
        .result?;
    expect_ok(&res, "POST /auth/login")?;
    let json = res.json().context("login answered no JSON")?;
    Ok(User {
        email: email.to_owned(),
        access: json["access_token"].as_str().context("login answered no access token")?.to_owned(),
        refresh: json["refresh_token"].as_str().context("login answered no refresh token")?.to_owned(),
    })
}

/// A 200 with the headers and, for the operations the load runs, the body they promise.
pub(super) fn expect_ok_for(r: &Response, s: &Sample) -> Result<(), String> {
    if r.status != 200 {
        return Err(format!("{} (expected 200): {}", r.status, excerpt(&r.body)));
    }
    expect_security_headers(r)?;
    let json = r.json().ok_or_else(|| format!("200 with a body that is not JSON: {}", excerpt(&r.body)))?;
    let good = match s.op {
        Op::Me => json["email"] == s.email.as_str(),
        Op::Refresh | Op::Login => json["access_token"].is_string() && json["refresh_token"].is_string(),
        Op::Health => json["status"] == "healthy",
    };
    if good { Ok(()) } else { Err(format!("200 with an unexpected body: {}", excerpt(&r.body))) }
}

/// 503 `SYS_001` in the envelope with the security headers and `Retry-After` (or, for `/health`, the
/// health report saying the database is unhealthy).
pub(super) fn expect_unavailable_for(r: &Response, s: &Sample) -> Result<(), String> {
    if r.status != 503 {
        return Err(format!("{} (expected 503): {}", r.status, excerpt(&r.body)));
    }
    expect_security_headers(r)?;
    let json = r.json().ok_or_else(|| format!("503 with a body that is not JSON: {}", excerpt(&r.body)))?;
    if s.op == Op::Health {
        return if json["status"] == "unhealthy" && json["checks"]["database"]["status"] == "unhealthy" {
            Ok(())
        } else {
            Err(format!("/health 503 with an unexpected body: {}", excerpt(&r.body)))
        };
    }
    let want = json!({"success": false, "errors": [{"code": "SYS_001", "message": "Service temporarily unavailable", "field": null}]});
    if json != want {
        return Err(format!("503 with an unexpected body: {}", excerpt(&r.body)));
    }
    match r.header("retry-after").map(str::parse::<u64>) {
        Some(Ok(secs)) if secs >= 1 => Ok(()),
        Some(_) => Err(format!("503 with a bad Retry-After: {:?}", r.header("retry-after"))),
        None => Err("503 without Retry-After".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::checks::SECURITY_HEADERS;

    #[test]
    fn a_503_must_carry_the_envelope_headers_and_retry_after() {
        let sample = |op| Sample {
            op,
            email: "a@example.com".into(),
            started: Instant::now(),
            finished: Instant::now(),
            fresh: false,
            outcome: Err(ClientError::Lost { answered: false, detail: String::new() }),
            rotation_lost: false,
        };
        let mut headers: Vec<(String, String)> =
            SECURITY_HEADERS.iter().map(|(n, v)| ((*n).to_owned(), v.unwrap_or("x").to_owned())).collect();
        headers.push(("x-request-id".into(), "r".into()));
        let body = r#"{"success":false,"errors":[{"code":"SYS_001","message":"Service temporarily unavailable","field":null}]}"#;
        let mut r = Response { status: 503, headers: headers.clone(), body: body.into() };
        assert_eq!(expect_unavailable_for(&r, &sample(Op::Me)), Err("503 without Retry-After".into()));
        r.headers.push(("retry-after".into(), "5".into()));
        assert_eq!(expect_unavailable_for(&r, &sample(Op::Me)), Ok(()));
        r.headers.retain(|(n, _)| n != "x-frame-options");
        assert!(expect_unavailable_for(&r, &sample(Op::Me)).is_err());
        let r = Response { status: 500, headers, body: body.into() };
        assert!(expect_unavailable_for(&r, &sample(Op::Refresh)).is_err());
    }
}
