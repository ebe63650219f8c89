//! `cargo xtask faults`: the release `latchkey` under the faults production meets, on PostgreSQL.
//!
//! - **outage**: the database goes away under load and comes back. Requests must get 503 `SYS_001` in
//!   the error envelope, with the security headers and `Retry-After`, within the pool timeout; `/health`
//!   must say 503; each failure is logged once at ERROR; when the database is back, the same process
//!   must recover without a restart, and nothing written before the outage may be lost.
//! - **sigterm**: SIGTERM under load (logins, which take tens of milliseconds, always in flight): every
//!   request in flight finishes, nothing gets a 5xx, and the process exits 0.
//! - **two nodes**: two processes on one database. A session revoked through one is refused by the other
//!   on the next request, and a refresh token rotated on one is reuse on the other.
//!
//! The outage is simulated without touching the machine's PostgreSQL (tests and other work share it): the
//! server under test reaches PostgreSQL through a TCP proxy inside this command. "Stopping" the database
//! closes the proxy's listening socket (new connections are refused, as by a stopped server) and resets
//! every open connection; "starting" it listens on the same port again. What the server sees is what it
//! sees when PostgreSQL stops or its host goes away, except that a real PostgreSQL shut down cleanly sends
//! a FATAL message before closing (harsher here, not gentler).
//!
//! Every response is checked (status, headers, body); anything unexpected fails the command with what was
//! expected and what came. A scratch database is made next to `LATCHKEY_TEST_POSTGRES_URL` with `psql`
//! and dropped afterwards; the servers' logs go to a folder the command prints.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

use crate::bench::ScratchDatabase;
use crate::{cargo, run_checked, workspace_root};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Use `target/release/latchkey` as built (CI builds it once for everything that needs it).
    pub prebuilt: bool,
    /// The PostgreSQL server to make the scratch database on (and to proxy to).
    pub postgres_url: Option<String>,
    /// Where the servers' logs go (default `target/faults/run-<process id>`).
    pub out: Option<PathBuf>,
}

/// The server's pool timeout (`PoolOptions::default().connection_timeout`): how long a request waits for
/// a database connection before it gets 503.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);
/// What a 503 may take beyond the pool timeout (scheduling on a busy 2-core machine).
const LATENCY_SLACK: Duration = Duration::from_millis(1500);
/// The server's graceful-shutdown limit (`SHUTDOWN_TIMEOUT_SECS` in `latchkey-http/src/server.rs`).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// A request unanswered this long fails the command.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the proxy may take to act on "stop" (a request started within this of the stop may still
/// succeed).
const PROXY_REACTION: Duration = Duration::from_millis(100);

const PASSWORD: &str = "Faults-Password-9!";
const USER_AGENT: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
/// What every API response carries (names lower-case; `None`: any value).
const SECURITY_HEADERS: [(&str, Option<&str>); 6] = [
    ("x-frame-options", Some("DENY")),
    ("x-content-type-options", Some("nosniff")),
    ("x-xss-protection", Some("1; mode=block")),
    ("referrer-policy", Some("strict-origin-when-cross-origin")),
    ("permissions-policy", None),
    ("content-security-policy", None),
];

#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn run(options: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let admin_url = options
        .postgres_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .context("cargo xtask faults needs PostgreSQL: set LATCHKEY_TEST_POSTGRES_URL or pass --postgres-url")?;
    let root = workspace_root();
    if !options.prebuilt {
        run_checked(cargo().args(["build", "--release", "-p", "latchkey-http", "--bin", "latchkey"]))?;
    }
    let binary = root.join("target/release/latchkey");
    ensure!(binary.exists(), "{} is missing: build it (cargo build --release -p latchkey-http)", binary.display());
    let out = match &options.out {
        Some(dir) => dir.clone(),
        None => root.join(format!("target/faults/run-{}", std::process::id())),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let out = out.canonicalize()?;
    eprintln!("xtask: the servers' logs go to {}", out.display());

    let database = ScratchDatabase::create(&admin_url)?;
    let upstream = upstream_addr(&admin_url)?;
    let ctx = Ctx { binary, out: out.clone(), database_url: database.url.clone(), upstream };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, async {
        let mut report = String::new();
        report.push_str(&outage(&ctx).await.context("scenario (a), database outage")?);
        report.push_str(&sigterm(&ctx).await.context("scenario (b), SIGTERM under load")?);
        report.push_str(&two_nodes(&ctx).await.context("scenario (c), two nodes on one database")?);
        anyhow::Ok(report)
    });
    drop(database);
    match result {
        Ok(report) => {
            eprintln!("{report}");
            eprintln!("xtask: faults passed in {:.1} s (logs: {})", started.elapsed().as_secs_f64(), out.display());
            Ok(())
        }
        Err(e) => {
            eprintln!("xtask: the servers' logs are in {}", out.display());
            Err(e)
        }
    }
}

/// What every scenario needs.
struct Ctx {
    binary: PathBuf,
    out: PathBuf,
    /// The scratch database, directly.
    database_url: String,
    /// PostgreSQL's address, for the proxy.
    upstream: String,
}

// ---------------------------------------------------------------------------------------------------------
// (a) The database goes away under load and comes back.

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

async fn outage(ctx: &Ctx) -> anyhow::Result<String> {
    let proxy = Proxy::start(ctx.upstream.clone())?;
    let proxied_url = via_proxy(&ctx.database_url, proxy.port)?;
    let mut server = Server::start(ctx, "outage", &proxied_url, &[]).await?;
    let users = register_users(server.addr, "outage", ME_WORKERS + REFRESH_WORKERS).await?;

    // Written before the outage, read back after it.
    let mut client = Client::new(server.addr);
    let marker = "Written-Before-Outage";
    let res = client
        .send("PATCH", "/api/v1/users/me", Some(&users[0].access), Some(&json!({"first_name": marker})))
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
    proxy.set_up(false);
    tokio::time::sleep(OUTAGE).await;
    let restarted_at = Instant::now();
    proxy.set_up(true);
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
    let mut client = Client::new(server.addr);
    for user in &users {
        let res = client
            .send("POST", "/api/v1/auth/login", None, Some(&json!({"email": user.email, "password": PASSWORD})))
            .await
            .result?;
        expect_ok(&res, "POST /auth/login after the outage")?;
    }
    let res = client.send("GET", "/api/v1/users/me", Some(&users[0].access), None).await.result?;
    expect_ok(&res, "GET /users/me after the outage")?;
    let first_name = res.json().and_then(|j| j["first_name"].as_str().map(str::to_owned));
    ensure!(first_name.as_deref() == Some(marker), "the first name written before the outage was lost: {}", res.body);
    let res = client.send("GET", "/api/v1/sessions/me", Some(&users[0].access), None).await.result?;
    expect_ok(&res, "GET /sessions/me after the outage")?;
    let listed = res.json().and_then(|j| j["sessions"].as_array().map(Vec::len)).unwrap_or(0);
    ensure!(
        listed >= 2,
        "user 0 has a session from before the outage and one from after it; /sessions/me lists {listed}"
    );
    drop(client);

    server.terminate()?;
    let (status, _) = server.wait_exit(SHUTDOWN_TIMEOUT + Duration::from_secs(5)).await?;
    ensure!(status.success(), "the server exited with {status} after SIGTERM");
    drop(proxy);

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
            (Ok(r), "during") if s.started < stopped_at + PROXY_REACTION && r.status == 200 => expect_ok_for(r, s),
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
    let log = std::fs::read_to_string(&server.log)?;
    let error_lines: Vec<&str> = log.lines().filter(|l| l.contains(r#""level":"ERROR""#)).collect();
    // By request id (the load sends hundreds of thousands of requests: no scan per line or per sample).
    let mut per_request: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
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
    let sent: std::collections::HashSet<&str> = all.iter().filter_map(Sample::request_id).collect();
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

// ---------------------------------------------------------------------------------------------------------
// (b) SIGTERM under load.

/// Load before the signal.
const SIGTERM_WARMUP: Duration = Duration::from_secs(2);

async fn sigterm(ctx: &Ctx) -> anyhow::Result<String> {
    let mut server = Server::start(ctx, "sigterm", &ctx.database_url, &[]).await?;
    let users = register_users(server.addr, "sigterm", 7).await?;
    let ops = [Op::Me, Op::Me, Op::Me, Op::Refresh, Op::Refresh, Op::Login, Op::Login];
    let samples = Samples::default();
    let stop = Rc::new(Cell::new(false));
    let mut tasks = Vec::new();
    for (op, user) in ops.iter().zip(&users) {
        tasks.push(tokio::task::spawn_local(worker(server.addr, *op, user.clone(), samples.clone(), stop.clone())));
    }
    tokio::time::sleep(SIGTERM_WARMUP).await;
    let signalled_at = Instant::now();
    server.terminate()?;
    let (status, took) = server.wait_exit(SHUTDOWN_TIMEOUT + Duration::from_secs(5)).await?;
    stop.set(true);
    for task in tasks {
        task.await.context("a load task panicked")??;
    }

    let all = samples.take();
    let mut failures = Vec::new();
    let mut counts = Counts::default();
    let mut in_flight = 0;
    let mut refused_after = 0;
    for s in &all {
        let before = s.started < signalled_at;
        if before && s.finished >= signalled_at {
            in_flight += 1;
        }
        let phase = if before { "before" } else { "after" };
        let verdict = match &s.outcome {
            Ok(r) => {
                counts.add(phase, s);
                expect_ok_for(r, s)
            }
            // A new connection after the signal may be refused or closed unanswered: the server no longer
            // accepts. A request on a connection it had accepted must be answered.
            Err(ClientError::Connect(_)) if !before => {
                refused_after += 1;
                Ok(())
            }
            Err(ClientError::Lost { answered: false, .. }) if !before && s.fresh => {
                refused_after += 1;
                Ok(())
            }
            Err(e) => Err(format!("no answer: {e}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{} {phase} (+{:.3} s): {why}", s.op.name(), secs(s.started, signalled_at)));
        }
    }
    report_failures("sigterm", &failures)?;
    ensure!(in_flight > 0, "no request was in flight when SIGTERM came: the scenario proved nothing");
    ensure!(status.code() == Some(0), "the server exited with {status} after SIGTERM, not 0");
    let log = std::fs::read_to_string(&server.log)?;
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(r#""level":"ERROR""#)).collect();
    ensure!(errors.is_empty(), "the server logged errors during the shutdown:\n  {}", errors.join("\n  "));

    let mut out = String::new();
    writeln!(out, "\n(b) SIGTERM under load (3 × GET /users/me, 2 refresh chains, 2 × login)")?;
    writeln!(
        out,
        "    {in_flight} requests in flight at the signal, all answered 200; exit code 0 after {:.2} s; \
         {refused_after} new connections refused afterwards",
        took.as_secs_f64()
    )?;
    out.push_str(&counts.render());
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------
// (c) Two nodes on one database.

async fn two_nodes(ctx: &Ctx) -> anyhow::Result<String> {
    // No grace window: an old refresh token presented at once must count as reuse.
    let env = [("REFRESH_REUSE_GRACE_SECONDS", "0")];
    // Node 2 listens for the session cache's change notifications through a proxy that can cut it.
    let listen_proxy = Proxy::start(ctx.upstream.clone())?;
    let listen_url = via_proxy(&ctx.database_url, listen_proxy.port)?;
    let env_two = [env[0], ("SESSION_CACHE_LISTEN_URL", listen_url.as_str())];
    let mut one = Server::start(ctx, "node-1", &ctx.database_url, &env).await?;
    let mut two = Server::start(ctx, "node-2", &ctx.database_url, &env_two).await?;
    let mut c1 = Client::new(one.addr);
    let mut c2 = Client::new(two.addr);
    let user = register_users(one.addr, "nodes", 1).await?.remove(0);

    // Revocation: a phone session revoked through node 1 is refused by node 2 on its next request.
    let phone = login(&mut c1, &user.email).await?;
    let res = c2.send("GET", "/api/v1/users/me", Some(&phone.access), None).await.result?;
    expect_ok(&res, "node 2: GET /users/me with the phone's token")?;
    let phone_session = current_session(&mut c2, &phone.access).await?;
    let x = c1.send("DELETE", &format!("/api/v1/sessions/{phone_session}"), Some(&user.access), None).await;
    expect_ok(x.result.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?, "node 1: DELETE /sessions/{phone}")?;
    // Node 2 answers from its session cache until PostgreSQL's notification arrives (milliseconds).
    first_after(&mut c2, &phone.access, x.finished, |r| r.status == 401).await?;
    let res = c2.send("GET", "/api/v1/users/me", Some(&phone.access), None).await.result?;
    expect_error(&res, 401, "AUTH_006", Some("Session has been revoked"), "node 2: the revoked phone's requests")?;

    // Reuse, both ways: rotated on one node, the old token presented to the other.
    let mut lines = Vec::new();
    for (name, one_rotates) in [("1, replayed on node 2", true), ("2, replayed on node 1", false)] {
        let (rotating, replaying) = if one_rotates { (&mut c1, &mut c2) } else { (&mut c2, &mut c1) };
        let tablet = login(rotating, &user.email).await?;
        let res = rotating
            .send("POST", "/api/v1/auth/refresh", None, Some(&json!({"refresh_token": tablet.refresh})))
            .await
            .result?;
        expect_ok(&res, "refresh")?;
        let rotated = res.json().and_then(|j| j["refresh_token"].as_str().map(str::to_owned)).context("no token")?;
        let res = replaying
            .send("POST", "/api/v1/auth/refresh", None, Some(&json!({"refresh_token": tablet.refresh})))
            .await
            .result?;
        expect_error(
            &res,
            401,
            "AUTH_006",
            Some("Session has been revoked. Please log in again."),
            "the rotated-out token on the other node",
        )?;
        // Reuse revoked the session: the newest token and the access token die too, on both nodes.
        let res = rotating
            .send("POST", "/api/v1/auth/refresh", None, Some(&json!({"refresh_token": rotated})))
            .await
            .result?;
        expect_error(&res, 401, "AUTH_006", None, "the newest refresh token after reuse was detected")?;
        // The node that detected the reuse refuses at once; the other as soon as it hears.
        let res = replaying.send("GET", "/api/v1/users/me", Some(&tablet.access), None).await.result?;
        expect_error(&res, 401, "AUTH_006", None, "the access token of a session revoked for reuse")?;
        first_after(rotating, &tablet.access, Instant::now(), |r| r.status == 401).await?;
        lines.push(format!("rotated on node {name}: reuse detected, session revoked on both"));
    }
    // The user's history, read through either node, records the reuse.
    let res = c2.send("GET", "/api/v1/sessions/me/history", Some(&user.access), None).await.result?;
    expect_ok(&res, "node 2: GET /sessions/me/history")?;
    let reuses = res.body.matches("refresh_token_reuse").count();
    ensure!(reuses >= 2, "the history should show 2 refresh-token reuses, shows {reuses}: {}", res.body);

    let (heard, password) = hearing_delays(&mut c1, &mut c2, &user).await?;
    let deaf = deaf_listener(&listen_proxy, &mut c1, &mut c2, &user, &password).await?;

    drop((c1, c2));
    for server in [&mut one, &mut two] {
        server.terminate()?;
        let (status, _) = server.wait_exit(SHUTDOWN_TIMEOUT + Duration::from_secs(5)).await?;
        ensure!(status.code() == Some(0), "{} exited with {status}", server.name);
    }
    let mut out = String::new();
    writeln!(out, "\n(c) two nodes on one database")?;
    writeln!(
        out,
        "    a session revoked through node 1: 401 AUTH_006 \"Session has been revoked\" on node 2 once it hears"
    )?;
    for line in lines {
        writeln!(out, "    {line}")?;
    }
    out.push_str(&heard);
    out.push_str(&deaf);
    Ok(out)
}

/// The request id a JSON log line names (its request span's), if any.
fn logged_request_id(line: &str) -> Option<&str> {
    let key = r#""request_id":""#;
    let rest = &line[line.find(key)? + key.len()..];
    rest.split('"').next()
}

/// Tries per kind of change in [`hearing_delays`].
const REVOCATIONS: usize = 40;
const PASSWORD_CHANGES: usize = 15;
const PROFILE_CHANGES: usize = 200;
/// Node 2 must hear of a change within this (the goal is a p99 under 50 ms).
const HEAR_LIMIT: Duration = Duration::from_secs(3);

/// How long node 2 goes on answering from its session cache after node 1 answered a change: from node 1's
/// answer to the end of node 2's first answer that shows it, each try with the session cached on node 2
/// first. Kinds: a session revoked (`DELETE /sessions/{id}`), a password changed (the other sessions end),
/// a profile changed (`PATCH /users/me`; node 2 must show the new name).
/// Returns the report and the user's password at the end.
async fn hearing_delays(c1: &mut Client, c2: &mut Client, user: &User) -> anyhow::Result<(String, String)> {
    let mut delays: Vec<(&str, Duration)> = Vec::new();
    let mut password = PASSWORD.to_owned();
    for i in 0..REVOCATIONS + PASSWORD_CHANGES {
        let other = login_with(c1, &user.email, &password).await?;
        warm_on(c2, &other.access).await?;
        let (kind, answered) = if i < REVOCATIONS {
            let session = current_session(c1, &other.access).await?;
            let x = c1.send("DELETE", &format!("/api/v1/sessions/{session}"), Some(&user.access), None).await;
            expect_ok(x.result.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?, "node 1: DELETE /sessions/{id}")?;
            ("session revoked", x.finished)
        } else {
            // The caller's own session stays: the user's token keeps working, `other` ends.
            let next = format!("Faults-Password-{i}!");
            let body = json!({"current_password": password, "new_password": next});
            let x = c1.send("PATCH", "/api/v1/users/me/password", Some(&user.access), Some(&body)).await;
            expect_ok(x.result.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?, "node 1: PATCH /users/me/password")?;
            password = next;
            ("password changed", x.finished)
        };
        delays.push((kind, first_after(c2, &other.access, answered, |r| r.status == 401).await?));
    }
    warm_on(c2, &user.access).await?;
    for i in 0..PROFILE_CHANGES {
        let name = format!("Renamed {i}");
        let x = c1.send("PATCH", "/api/v1/users/me", Some(&user.access), Some(&json!({"first_name": name}))).await;
        expect_ok(x.result.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?, "node 1: PATCH /users/me")?;
        let shows = |r: &Response| r.status == 200 && r.json().is_some_and(|j| j["first_name"] == name.as_str());
        delays.push(("profile changed", first_after(c2, &user.access, x.finished, shows).await?));
    }
    let mut out =
        String::from("    node 2 hears node 1's changes (from node 1's answer to node 2's first answer showing it):\n");
    for kind in ["session revoked", "password changed", "profile changed", "all"] {
        let mut d: Vec<Duration> =
            delays.iter().filter(|(k, _)| kind == "all" || *k == kind).map(|(_, d)| *d).collect();
        d.sort_unstable();
        let at = |q: f64| d[((d.len() as f64 * q).ceil() as usize).clamp(1, d.len()) - 1].as_secs_f64() * 1e3;
        writeln!(
            out,
            "      {kind:<17} n={:<4} p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            d.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        )?;
    }
    Ok((out, password))
}

/// Logs in with `password`.
async fn login_with(client: &mut Client, email: &str, password: &str) -> anyhow::Result<User> {
    let res = client
        .send("POST", "/api/v1/auth/login", None, Some(&json!({"email": email, "password": password})))
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

/// Two admitted `GET /users/me` on the node: the second is answered from its cache when it serves.
async fn warm_on(client: &mut Client, access: &str) -> anyhow::Result<()> {
    for _ in 0..2 {
        let res = client.send("GET", "/api/v1/users/me", Some(access), None).await.result?;
        expect_ok(&res, "GET /users/me")?;
    }
    Ok(())
}

/// Asks `GET /users/me` until an answer satisfies `shows`; the time from `since` to that answer. Any other
/// answer than the old one (200) fails.
async fn first_after(
    client: &mut Client,
    access: &str,
    since: Instant,
    shows: impl Fn(&Response) -> bool,
) -> anyhow::Result<Duration> {
    loop {
        let x = client.send("GET", "/api/v1/users/me", Some(access), None).await;
        let res = x.result?;
        if shows(&res) {
            return Ok(x.finished - since);
        }
        ensure!(res.status == 200, "node 2 answered {} {} while the change was on its way", res.status, res.body);
        ensure!(since.elapsed() < HEAR_LIMIT, "node 2 did not hear of the change within {HEAR_LIMIT:?}");
    }
}

/// The value of an unlabelled metric on a node's `/metrics`.
async fn metric(client: &mut Client, name: &str) -> anyhow::Result<f64> {
    let res = client.send("GET", "/metrics", None, None).await.result?;
    expect_ok(&res, "GET /metrics")?;
    let prefix = format!("{name} ");
    res.body
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).and_then(|v| v.trim().parse().ok()))
        .with_context(|| format!("no {name} in /metrics"))
}

/// Asks a node's `/metrics` until `name` shows `value`; how long that took, at most `within`.
async fn until_metric(client: &mut Client, name: &str, value: f64, within: Duration) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while metric(client, name).await? != value {
        ensure!(start.elapsed() < within, "{name} is not {value} after {within:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(start.elapsed())
}

/// Node 2's listener cut through the proxy: it must stop answering from its cache at once, refuse every
/// revoked session on the next request (answering from the database), and serve from its cache again
/// once it listens again.
async fn deaf_listener(
    proxy: &Proxy,
    c1: &mut Client,
    c2: &mut Client,
    user: &User,
    password: &str,
) -> anyhow::Result<String> {
    const SERVING: &str = "latchkey_session_cache_serving";
    const HITS: &str = "latchkey_session_cache_lookups_total{outcome=\"hit\"}";
    ensure!(metric(c2, SERVING).await? == 1.0, "node 2's cache does not serve before the cut");
    proxy.set_up(false);
    let noticed = until_metric(c2, SERVING, 0.0, Duration::from_secs(3)).await.context("after the cut")?;
    let tries = 10;
    for _ in 0..tries {
        let other = login_with(c1, &user.email, password).await?;
        warm_on(c2, &other.access).await?;
        let session = current_session(c1, &other.access).await?;
        let res = c1.send("DELETE", &format!("/api/v1/sessions/{session}"), Some(&user.access), None).await.result?;
        expect_ok(&res, "node 1: DELETE /sessions/{id}")?;
        let res = c2.send("GET", "/api/v1/users/me", Some(&other.access), None).await.result?;
        expect_error(&res, 401, "AUTH_006", None, "node 2, deaf: the revoked session's next request")?;
    }
    proxy.set_up(true);
    let listening = until_metric(c2, SERVING, 1.0, Duration::from_secs(10)).await.context("after the cut ended")?;
    let hits = metric(c2, HITS).await?;
    warm_on(c2, &user.access).await?;
    ensure!(metric(c2, HITS).await? > hits, "node 2 listens again but answers nothing from its cache");
    Ok(format!(
        "    node 2's listener cut: cache off after {:.1} ms; {tries} sessions revoked meanwhile, each refused by \
         node 2 on its next request; serving from the cache again {:.0} ms after the cut ended\n",
        noticed.as_secs_f64() * 1e3,
        listening.as_secs_f64() * 1e3
    ))
}

// ---------------------------------------------------------------------------------------------------------
// Load.

/// What a load connection repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
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
    fn name(self) -> &'static str {
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
struct User {
    email: String,
    access: String,
    refresh: String,
}

/// One request and what came back.
#[derive(Debug)]
struct Sample {
    op: Op,
    /// The user the request was for (what `GET /users/me` must answer).
    email: String,
    started: Instant,
    finished: Instant,
    /// Sent on a connection opened for it.
    fresh: bool,
    outcome: Result<Response, ClientError>,
    /// A refresh answered 401 right after the same token got 503: that 503 lost the answer of a rotation
    /// that had committed (the connection to the database broke after the commit). Not a failure; the
    /// chain logs in again.
    rotation_lost: bool,
}

impl Sample {
    fn status(&self) -> Option<u16> {
        self.outcome.as_ref().ok().map(|r| r.status)
    }

    fn request_id(&self) -> Option<&str> {
        self.outcome.as_ref().ok().and_then(|r| r.header("x-request-id"))
    }
}

/// Every sample of a run, shared by its load tasks (all on one thread).
#[derive(Debug, Clone, Default)]
struct Samples(Rc<RefCell<Vec<Sample>>>);

impl Samples {
    fn push(&self, s: Sample) {
        self.0.borrow_mut().push(s);
    }

    fn take(&self) -> Vec<Sample> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    /// When the first request started after `t` that satisfies `pred` finished.
    fn first_after(&self, t: Instant, pred: impl Fn(&Sample) -> bool) -> Option<Instant> {
        self.0.borrow().iter().filter(|s| s.started >= t && pred(s)).map(|s| s.finished).min()
    }

    fn describe_after(&self, t: Instant) -> String {
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
struct Counts(Vec<((&'static str, &'static str, String), usize)>);

impl Counts {
    fn add(&mut self, phase: &'static str, s: &Sample) {
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

    fn render(&self) -> String {
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
async fn worker(
    addr: SocketAddr,
    op: Op,
    mut user: User,
    samples: Samples,
    stop: Rc<Cell<bool>>,
) -> anyhow::Result<()> {
    let mut client = Client::new(addr);
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
        let exchange = client.send(method, path, bearer, body.as_ref()).await;
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
async fn register_users(addr: SocketAddr, prefix: &str, n: usize) -> anyhow::Result<Vec<User>> {
    let mut client = Client::new(addr);
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        let email = format!("{prefix}-{i}-{}@example.com", std::process::id());
        let body = json!({"email": email, "password": PASSWORD, "first_name": format!("User {i}")});
        let res = client.send("POST", "/api/v1/auth/register", None, Some(&body)).await.result?;
        ensure!(res.status == 201, "register answered {}: {}", res.status, res.body);
        users.push(login(&mut client, &email).await?);
    }
    Ok(users)
}

async fn login(client: &mut Client, email: &str) -> anyhow::Result<User> {
    login_with(client, email, PASSWORD).await
}

/// The id of the session `access` belongs to.
async fn current_session(client: &mut Client, access: &str) -> anyhow::Result<String> {
    let res = client.send("GET", "/api/v1/sessions/me", Some(access), None).await.result?;
    expect_ok(&res, "GET /sessions/me")?;
    let json = res.json().context("no JSON")?;
    json["sessions"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["is_current"] == true))
        .and_then(|s| s["id"].as_str())
        .map(str::to_owned)
        .with_context(|| format!("no current session in {}", res.body))
}

// ---------------------------------------------------------------------------------------------------------
// Checks.

fn expect_security_headers(r: &Response) -> Result<(), String> {
    for (name, want) in SECURITY_HEADERS {
        match (r.header(name), want) {
            (None, _) => return Err(format!("{} without the {name} header", r.status)),
            (Some(got), Some(want)) if got != want => return Err(format!("{name}: {got}, expected {want}")),
            _ => {}
        }
    }
    if r.header("x-request-id").is_none() {
        return Err(format!("{} without X-Request-Id", r.status));
    }
    Ok(())
}

/// A 200 with the headers and, for the operations the load runs, the body they promise.
fn expect_ok_for(r: &Response, s: &Sample) -> Result<(), String> {
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
fn expect_unavailable_for(r: &Response, s: &Sample) -> Result<(), String> {
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

fn expect_ok(r: &Response, what: &str) -> anyhow::Result<()> {
    ensure!(r.status == 200, "{what} answered {} (expected 200): {}", r.status, excerpt(&r.body));
    expect_security_headers(r).map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

fn expect_error(r: &Response, status: u16, code: &str, message: Option<&str>, what: &str) -> anyhow::Result<()> {
    ensure!(r.status == status, "{what} answered {} (expected {status}): {}", r.status, excerpt(&r.body));
    expect_security_headers(r).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    let json = r.json().with_context(|| format!("{what}: not JSON: {}", r.body))?;
    let first = &json["errors"][0];
    ensure!(json["success"] == false && first["code"] == code, "{what}: expected {code}, got {}", r.body);
    if let Some(message) = message {
        ensure!(first["message"] == message, "{what}: expected \"{message}\", got {}", r.body);
    }
    Ok(())
}

fn report_failures(scenario: &str, failures: &[String]) -> anyhow::Result<()> {
    if failures.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = failures.iter().take(12).map(String::as_str).collect();
    bail!("{scenario}: {} unexpected answers (first {}):\n  {}", failures.len(), shown.len(), shown.join("\n  "))
}

fn excerpt(body: &str) -> String {
    let cut: String = body.chars().take(300).collect();
    if cut.len() < body.len() { format!("{cut}…") } else { cut }
}

/// Seconds from `from` to `t` (negative when `t` is earlier).
fn secs(t: Instant, from: Instant) -> f64 {
    if t >= from { (t - from).as_secs_f64() } else { -(from - t).as_secs_f64() }
}

// ---------------------------------------------------------------------------------------------------------
// A small HTTP/1.1 client: keep-alive, `Content-Length` bodies, every header kept.

#[derive(Debug)]
struct Response {
    status: u16,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

#[derive(Debug)]
enum ClientError {
    /// No connection could be opened: nothing was sent.
    Connect(std::io::Error),
    /// Sent, but the answer did not come (whole); `answered`: some of it had arrived.
    Lost { answered: bool, detail: String },
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Connect(e) => write!(f, "could not connect: {e}"),
            ClientError::Lost { answered: false, detail } => write!(f, "no answer: {detail}"),
            ClientError::Lost { answered: true, detail } => write!(f, "incomplete answer: {detail}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// One request's round trip.
#[derive(Debug)]
struct Exchange {
    started: Instant,
    finished: Instant,
    fresh: bool,
    result: Result<Response, ClientError>,
}

/// A keep-alive connection, opened when needed and dropped when the server says `Connection: close`.
struct Client {
    addr: SocketAddr,
    conn: Option<(BufReader<OwnedReadHalf>, OwnedWriteHalf)>,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        Client { addr, conn: None }
    }

    async fn send(&mut self, method: &str, path: &str, bearer: Option<&str>, body: Option<&Value>) -> Exchange {
        let started = Instant::now();
        let fresh = self.conn.is_none();
        let result = match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(method, path, bearer, body)).await {
            Ok(result) => result,
            Err(_) => {
                self.conn = None;
                Err(ClientError::Lost {
                    answered: false,
                    detail: format!("nothing within {} s", REQUEST_TIMEOUT.as_secs()),
                })
            }
        };
        Exchange { started, finished: Instant::now(), fresh, result }
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Response, ClientError> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr).await.map_err(ClientError::Connect)?;
            let _ = stream.set_nodelay(true);
            let (read, write) = stream.into_split();
            self.conn = Some((BufReader::new(read), write));
        }
        let (reader, writer) = self.conn.as_mut().expect("connected above");
        let mut request = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nuser-agent: {USER_AGENT}\r\n");
        if let Some(token) = bearer {
            let _ = write!(request, "authorization: Bearer {token}\r\n");
        }
        match body {
            Some(json) => {
                let text = json.to_string();
                let _ =
                    write!(request, "content-type: application/json\r\ncontent-length: {}\r\n\r\n{text}", text.len());
            }
            None => request.push_str("\r\n"),
        }
        let result = read_response(reader, writer, request.as_bytes()).await;
        match &result {
            Ok(r) if !r.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) => {}
            _ => self.conn = None,
        }
        result
    }
}

async fn read_response(
    reader: &mut BufReader<OwnedReadHalf>,
    writer: &mut OwnedWriteHalf,
    request: &[u8],
) -> Result<Response, ClientError> {
    let lost = |answered: bool| move |e: std::io::Error| ClientError::Lost { answered, detail: e.to_string() };
    writer.write_all(request).await.map_err(lost(false))?;
    let mut line = String::new();
    if reader.read_line(&mut line).await.map_err(lost(false))? == 0 {
        return Err(ClientError::Lost { answered: false, detail: "the connection closed".into() });
    }
    let status = line
        .split_ascii_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::Lost { answered: true, detail: format!("not a status line: {line:?}") })?;
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).await.map_err(lost(true))? == 0 {
            return Err(ClientError::Lost { answered: true, detail: "the connection closed in the head".into() });
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
            if name == "content-length" {
                length = value
                    .parse()
                    .map_err(|_| ClientError::Lost { answered: true, detail: "bad Content-Length".into() })?;
            } else if name == "transfer-encoding" {
                return Err(ClientError::Lost {
                    answered: true,
                    detail: "a chunked answer (not expected here)".into(),
                });
            }
            headers.push((name, value));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.map_err(lost(true))?;
    let body = String::from_utf8(body)
        .map_err(|_| ClientError::Lost { answered: true, detail: "a body that is not UTF-8".into() })?;
    Ok(Response { status, headers, body })
}

// ---------------------------------------------------------------------------------------------------------
// The server under test.

/// A release `latchkey serve` on a free loopback port, its log (JSON lines) in the run folder; killed on
/// drop if it is still running.
struct Server {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

/// Every node of a run signs with the same key (as several nodes behind a load balancer must).
const SECRET_KEY: &str = "faults-only-secret-key-0123456789abcdefghijklmnop";

impl Server {
    async fn start(ctx: &Ctx, name: &'static str, database_url: &str, env: &[(&str, &str)]) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = ctx.out.join(format!("{name}.log"));
        let log_file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new(&ctx.binary);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("SECRET_KEY", SECRET_KEY)
            .env("AUTO_MIGRATE", "true")
            .env("RATE_LIMIT_SCALE", "0")
            .env("LOG_FORMAT", "json")
            // INFO keeps the request span (its id) on ERROR lines; the access lines are not needed.
            .env("RUST_LOG", "info")
            .env("ACCESS_LOG", "off")
            .current_dir(std::env::temp_dir()) // away from any developer `.env`
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().with_context(|| format!("could not start {}", ctx.binary.display()))?;
        let mut server = Server { name, child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut client = Client::new(addr);
        loop {
            if let Some(status) = server.child.try_wait()? {
                let tail = std::fs::read_to_string(&server.log).unwrap_or_default();
                bail!("{name}: the server exited during start-up ({status}):\n{tail}");
            }
            if let Ok(r) = client.send("GET", "/health", None, None).await.result
                && r.status == 200
            {
                return Ok(server);
            }
            ensure!(Instant::now() < deadline, "{name}: the server did not become healthy within 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGTERM.
    fn terminate(&mut self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("could not run kill")?;
        ensure!(status.success(), "kill -TERM {} failed ({status})", self.child.id());
        Ok(())
    }

    /// Waits for the process to end; its status and how long that took.
    async fn wait_exit(&mut self, within: Duration) -> anyhow::Result<(ExitStatus, Duration)> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok((status, started.elapsed()));
            }
            if started.elapsed() > within {
                bail!("{}: still running {} s after SIGTERM", self.name, within.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The database "switch": a TCP proxy to PostgreSQL that can be stopped and started.

/// Runs on a thread of its own (its own event loop), so that the load's event loop cannot delay it.
struct Proxy {
    port: u16,
    up: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: String) -> anyhow::Result<Proxy> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let (up, watching) = watch::channel(true);
        let thread = std::thread::Builder::new().name("faults-proxy".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(proxy_loop(listener, port, upstream, watching));
        })?;
        Ok(Proxy { port, up, thread: Some(thread) })
    }

    /// Down: the port refuses connections and every open one is reset. Up: listening again.
    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Closing the channel ends the loop and every connection.
        let (dead, _) = watch::channel(false);
        drop(std::mem::replace(&mut self.up, dead));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
async fn proxy_loop(first: std::net::TcpListener, port: u16, upstream: String, mut up: watch::Receiver<bool>) {
    let mut listener = match tokio::net::TcpListener::from_std(first) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("xtask: the proxy could not listen: {e}");
            return;
        }
    };
    loop {
        match listener.take() {
            Some(l) => {
                tokio::select! {
                    accepted = l.accept() => {
                        if let Ok((client, _)) = accepted {
                            tokio::spawn(pipe(client, upstream.clone(), up.clone()));
                        }
                        listener = Some(l);
                    }
                    changed = up.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        // Down: the listener is dropped here, so connections are refused.
                        if *up.borrow_and_update() {
                            listener = Some(l);
                        }
                    }
                }
            }
            None => {
                if up.changed().await.is_err() {
                    return;
                }
                if *up.borrow_and_update() {
                    // The same port again (SO_REUSEADDR is set by tokio on Unix); retried briefly in case the
                    // old socket lingers.
                    for _ in 0..50 {
                        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                            Ok(l) => {
                                listener = Some(l);
                                break;
                            }
                            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                        }
                    }
                    if listener.is_none() {
                        eprintln!("xtask: the proxy could not listen on port {port} again");
                        return;
                    }
                }
            }
        }
    }
}

/// Copies both ways until either side closes or the proxy goes down; then resets the server's side.
async fn pipe(mut client: TcpStream, upstream: String, mut up: watch::Receiver<bool>) {
    let reset = |s: &TcpStream| {
        let _ = s.set_zero_linger();
    };
    if !*up.borrow_and_update() {
        reset(&client);
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream.as_str()).await else {
        reset(&client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let went_down = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
        _ = async {
            loop {
                if up.changed().await.is_err() || !*up.borrow_and_update() {
                    break;
                }
            }
        } => true,
    };
    if went_down {
        // The server under test sees a reset, as when the database's host goes away; PostgreSQL's side is
        // simply closed (its backend ends, rolling back whatever was open).
        reset(&client);
    }
}

/// `host:port` of the PostgreSQL URL (TCP only: the proxy cannot stand in for a Unix socket).
fn upstream_addr(url: &str) -> anyhow::Result<String> {
    let rest = url.split_once("://").map(|(_, r)| r).context("not a postgres:// URL")?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    ensure!(
        !host_port.is_empty() && !url.contains("host=/"),
        "the PostgreSQL URL must name a TCP host (e.g. postgres://postgres@127.0.0.1:5432/test)"
    );
    Ok(if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") })
}

/// `url` with its host and port replaced by the proxy's.
fn via_proxy(url: &str, port: u16) -> anyhow::Result<String> {
    let (scheme, rest) = url.split_once("://").context("not a postgres:// URL")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    Ok(format!("{scheme}://{user}127.0.0.1:{port}{tail}"))
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

    #[test]
    fn urls_for_the_proxy() {
        assert_eq!(upstream_addr("postgres://postgres@127.0.0.1:5432/test").unwrap(), "127.0.0.1:5432");
        assert_eq!(upstream_addr("postgresql://u:p@db.example.com/x?sslmode=disable").unwrap(), "db.example.com:5432");
        assert!(upstream_addr("postgres:///db?host=/var/run/postgresql").is_err());
        assert_eq!(
            via_proxy("postgres://postgres@127.0.0.1:5432/latchkey_faults_1", 40000).unwrap(),
            "postgres://postgres@127.0.0.1:40000/latchkey_faults_1"
        );
        assert_eq!(
            via_proxy("postgres://u:p@h/db?sslmode=disable", 1).unwrap(),
            "postgres://u:p@127.0.0.1:1/db?sslmode=disable"
        );
    }

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
