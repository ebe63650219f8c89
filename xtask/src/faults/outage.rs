//! Scenario (a) of `cargo xtask faults`: the database goes away under load and comes back.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::json;

use super::checks::{expect_ok, report_failures, secs};
use super::load::PASSWORD;
use super::load::{Counts, Op, Sample, Samples, expect_ok_for, expect_unavailable_for, register_users, worker};
use super::{Ctx, REQUEST_TIMEOUT, SHUTDOWN_TIMEOUT, wait_exit};
use crate::client::Client;

/// The server's pool timeout (`PoolOptions::default().connection_timeout`): how long a request waits for
/// a database connection before it gets 503.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);
/// What a 503 may take beyond the pool timeout (scheduling on a busy 2-core machine).
const LATENCY_SLACK: Duration = Duration::from_millis(1500);
/// How long the server may take to feel the database's stop after the switch returned (a request started
/// within this of it may still succeed).
const SWITCH_REACTION: Duration = Duration::from_millis(100);

/// Load before the outage.
const WARMUP: Duration = Duration::from_secs(3);
/// How long the database stays away: longer than the pool timeout, so requests wait it out and fail.
const OUTAGE: Duration = Duration::from_secs(8);
/// The longest recovery accepted after the database is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(20);
/// Load after recovery, all of which must succeed.
const SETTLE: Duration = Duration::from_secs(3);
/// Connections asking `GET /users/me` and following refresh chains.
const ME_WORKERS: usize = 4;
const REFRESH_WORKERS: usize = 2;

pub(super) async fn run(ctx: &Ctx) -> anyhow::Result<String> {
    let mut server = ctx.server("outage", &ctx.database.url, &[])?;
    let users = register_users(server.addr, "outage", ME_WORKERS + REFRESH_WORKERS).await?;

    // Written before the outage, read back after it.
    let mut client = Client::new(server.addr).with_limit(REQUEST_TIMEOUT);
    let marker = "Written-Before-Outage";
    let res = client
        .exchange("PATCH", "/api/v1/users/me", Some(&users[0].access), Some(&json!({"first_name": marker})))
        .await
        .result?;
    expect_ok(&res, "PATCH /users/me")?;
    drop(client);

    let samples = Samples::default();
    let stop = Rc::new(Cell::new(false));
    let mut tasks = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let op = if i < ME_WORKERS { Op::Me } else { Op::Refresh };
        tasks.push(tokio::task::spawn_local(worker(server.addr, op, user.clone(), samples.clone(), stop.clone())));
    }
    tasks.push(tokio::task::spawn_local(worker(
        server.addr,
        Op::Health,
        users[0].clone(),
        samples.clone(),
        stop.clone(),
    )));

    tokio::time::sleep(WARMUP).await;
    let stopped_at = Instant::now();
    ctx.database.set_up(false)?;
    let reaction = stopped_at.elapsed() + SWITCH_REACTION;
    tokio::time::sleep(OUTAGE).await;
    let restarted_at = Instant::now();
    ctx.database.set_up(true)?;
    // Recovered: an API request started after the restart answered 200 (and /health did).
    let deadline = restarted_at + RECOVERY_LIMIT;
    let recovered_at = loop {
        let api = samples.first_after(restarted_at, |s| s.op != Op::Health && s.status() == Some(200));
        let health = samples.first_after(restarted_at, |s| s.op == Op::Health && s.status() == Some(200));
        if let (Some(a), Some(h)) = (api, health) {
            break a.max(h);
        }
        if Instant::now() > deadline {
            stop.set(true);
            bail!(
                "not recovered {} s after the database came back: {}",
                RECOVERY_LIMIT.as_secs(),
                samples.describe_after(restarted_at)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(SETTLE).await;
    stop.set(true);
    for task in tasks {
        task.await.context("a load task panicked")??;
    }
    let settled_from = recovered_at + Duration::from_secs(1);

    // Nothing written before the outage is lost: every user still logs in, the marker is there, and the
    // sessions made before it are still listed. (A new connection: the idle one has timed out.)
    let mut client = Client::new(server.addr).with_limit(REQUEST_TIMEOUT);
    for user in &users {
        let res = client
            .exchange("POST", "/api/v1/auth/login", None, Some(&json!({"email": user.email, "password": PASSWORD})))
            .await
            .result?;
        expect_ok(&res, "POST /auth/login after the outage")?;
    }
    let res = client.exchange("GET", "/api/v1/users/me", Some(&users[0].access), None).await.result?;
    expect_ok(&res, "GET /users/me after the outage")?;
    let first_name = res.json().and_then(|j| j["first_name"].as_str().map(str::to_owned));
    ensure!(first_name.as_deref() == Some(marker), "the first name written before the outage was lost: {}", res.body);
    let res = client.exchange("GET", "/api/v1/sessions/me", Some(&users[0].access), None).await.result?;
    expect_ok(&res, "GET /sessions/me after the outage")?;
    let listed = res.json().and_then(|j| j["sessions"].as_array().map(Vec::len)).unwrap_or(0);
    ensure!(
        listed >= 2,
        "user 0 has a session from before the outage and one from after it; /sessions/me lists {listed}"
    );
    drop(client);

    server.terminate()?;
    let (status, _) = wait_exit(&mut server, SHUTDOWN_TIMEOUT + Duration::from_secs(5)).await?;
    ensure!(status.success(), "the server exited with {status} after SIGTERM");

    // Judge every answer by when it was asked.
    let all = samples.take();
    let mut failures = Vec::new();
    let mut counts = Counts::default();
    let mut slowest_503 = Duration::ZERO;
    for s in &all {
        let phase = if s.started < stopped_at {
            if s.finished < stopped_at { "before" } else { "at the stop" }
        } else if s.started < restarted_at {
            if s.finished < restarted_at { "during" } else { "across the restart" }
        } else if s.started < settled_from {
            "recovering"
        } else {
            "after"
        };
        counts.add(phase, s);
        let verdict = match (&s.outcome, phase) {
            (Err(e), _) => Err(format!("no answer: {e}")),
            (Ok(r), _) if s.rotation_lost && r.status == 401 => Ok(()),
            (Ok(r), "before" | "after") => expect_ok_for(r, s),
            (Ok(r), "during") if s.started < stopped_at + reaction && r.status == 200 => expect_ok_for(r, s),
            (Ok(r), "during") => expect_unavailable_for(r, s),
            (Ok(r), _) if r.status == 200 => expect_ok_for(r, s),
            (Ok(r), _) => expect_unavailable_for(r, s),
        };
        if let Err(why) = verdict {
            failures.push(format!("{} {phase} (+{:.2} s): {why}", s.op.name(), secs(s.started, stopped_at)));
        }
        if s.status() == Some(503) {
            slowest_503 = slowest_503.max(s.finished - s.started);
        }
    }
    report_failures("outage", &failures)?;
    ensure!(
        slowest_503 <= POOL_TIMEOUT + LATENCY_SLACK,
        "a 503 took {:.2} s, more than the pool timeout ({} s)",
        slowest_503.as_secs_f64(),
        POOL_TIMEOUT.as_secs()
    );
    for op in [Op::Me, Op::Refresh, Op::Health] {
        ensure!(
            all.iter().any(|s| s.op == op && s.status() == Some(503)),
            "no {} got 503 during the outage: the outage was not felt",
            op.name()
        );
    }
    let first = |pred: &dyn Fn(&Sample) -> bool| {
        all.iter().filter(|s| s.finished >= stopped_at && pred(s)).map(|s| s.finished).min()
    };
    let first_503 = first(&|s| s.op != Op::Health && s.status() == Some(503)).context("no API 503")?;
    let first_health_503 = first(&|s| s.op == Op::Health && s.status() == Some(503)).context("no /health 503")?;

    // Each 5xx is logged once at ERROR, with its request id.
    let log = server.log_text()?;
    let error_lines: Vec<&str> = log.lines().filter(|l| l.contains(r#""level":"ERROR""#)).collect();
    // By request id (the load sends hundreds of thousands of requests: no scan per line or per sample).
    let mut per_request: HashMap<&str, usize> = HashMap::new();
    for line in &error_lines {
        if let Some(id) = logged_request_id(line) {
            *per_request.entry(id).or_default() += 1;
        }
    }
    let mut logged_wrong = Vec::new();
    for s in all.iter().filter(|s| s.status().is_some_and(|c| c >= 500) && s.op != Op::Health) {
        let Some(id) = s.outcome.as_ref().ok().and_then(|r| r.header("x-request-id")) else { continue };
        let n = per_request.get(id).copied().unwrap_or(0);
        if n != 1 {
            logged_wrong.push(format!("request {id} ({}): {n} ERROR lines", s.op.name()));
        }
    }
    let sent: HashSet<&str> = all.iter().filter_map(Sample::request_id).collect();
    let others: Vec<&str> =
        error_lines.iter().filter(|l| !logged_request_id(l).is_some_and(|id| sent.contains(id))).copied().collect();
    ensure!(
        logged_wrong.is_empty() && others.is_empty(),
        "each failure must be logged once at ERROR:\n  {}\n  ERROR lines of no request: {}\n  {}",
        logged_wrong.join("\n  "),
        others.len(),
        others.iter().take(5).copied().collect::<Vec<_>>().join("\n  ")
    );

    let mut out = String::new();
    writeln!(
        out,
        "\n(a) database outage under load ({ME_WORKERS} × GET /users/me, {REFRESH_WORKERS} refresh chains, /health every 200 ms)"
    )?;
    writeln!(
        out,
        "    database stopped after {} s for {} s; first 503 after {:.2} s (/health: {:.2} s), slowest 503 {:.2} s",
        WARMUP.as_secs(),
        OUTAGE.as_secs(),
        secs(first_503, stopped_at),
        secs(first_health_503, stopped_at),
        slowest_503.as_secs_f64()
    )?;
    writeln!(
        out,
        "    recovered {:.2} s after the database came back, same process",
        secs(recovered_at, restarted_at)
    )?;
    out.push_str(&counts.render());
    writeln!(
        out,
        "    {} failures, each logged once at ERROR; every user, the first name and the sessions written before survived; exit {}",
        all.iter().filter(|s| s.status().is_some_and(|c| c >= 500)).count(),
        status.code().map_or("by signal".into(), |c| c.to_string())
    )?;
    Ok(out)
}

/// The request id a JSON log line names (its request span's), if any.
fn logged_request_id(line: &str) -> Option<&str> {
    let key = r#""request_id":""#;
    let rest = &line[line.find(key)? + key.len()..];
    rest.split('"').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_in_log_lines() {
        let line = r#"{"level":"ERROR","span":{"request_id":"72c2-38a9","name":"request"}}"#;
        assert_eq!(logged_request_id(line), Some("72c2-38a9"));
        assert_eq!(logged_request_id(r#"{"level":"ERROR"}"#), None);
    }
}
