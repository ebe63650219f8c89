//! `cargo xtask bench`: measures the release `latchkey` binary the way a client meets it, over HTTP on
//! loopback, on SQLite and (when reachable) PostgreSQL. The load runs are wrk's (`wrk -t2 -c32`, Debian's
//! package, installed when missing; see `wrk.rs`), so the figures are wrk's own:
//!
//! - **login**: sequential `POST /auth/login` calls; latency is dominated by one argon2id verification;
//! - **health**: `GET /health` (one trivial query), the floor of the stack;
//! - **auth check**: `GET /users/me` (token decode + one session+user query);
//! - **sessions**: `GET /sessions/me` for a user with 5 sessions;
//! - **refresh**: `POST /auth/refresh`, each connection following its own rotation chain (one write
//!   transaction per call);
//! - **logins**: `POST /auth/login` with one account's right password from `--login-connections` (8)
//!   connections: the password-hashing pool's throughput;
//! - the server's resident memory after each run and its peak (VmHWM).
//!
//! Each run gets a warm-up first; `--rounds N` repeats the runs interleaved and reports each one's median
//! round (by throughput).
//!
//! With `--flood` it measures instead what a login flood does to everyone else: `GET /users/me` from a few
//! connections, undisturbed and then while hundreds of other connections send logins as fast as the server
//! answers (rate limits off, as behind a NAT or under a distributed attack), with the server's peak memory
//! and thread count. Every flood login is for an unknown email with a wrong password, so each one the
//! server admits costs a full argon2id verification; it answers 401, or 503 with `Retry-After` when the
//! hashing queue sheds it. Anything else, from either side, fails the run.
//!
//! Figures are printed, never asserted: speed is measured here, not in tests.

pub mod bodies;
pub mod cleanup;
mod flood;
mod wrk;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use serde_json::Value;

use self::wrk::Outcome;
use crate::client::{Client, USER_AGENT};
use crate::postgres::ScratchDatabase;
use crate::server::{Profile, Server};
use crate::{Backend, workspace_root};

/// What to run and for how long.
#[derive(Debug, Clone)]
pub struct Options {
    pub backend: Backend,
    pub duration: Duration,
    pub warmup: Duration,
    pub rounds: usize,
    pub connections: usize,
    pub threads: usize,
    pub logins: usize,
    /// Connections of the concurrent login run.
    pub login_connections: usize,
    pub postgres_url: Option<String>,
    pub json: bool,
    /// `--flood`: the number of flooding connections.
    pub flood: Option<usize>,
    /// `--server-env KEY=VALUE`: settings for the measured server (e.g. `HASH_NICE=0`, `METRICS=false`).
    pub server_env: Vec<(String, String)>,
    /// `--prebuilt`: measure target/release/latchkey as built, without building it first.
    pub prebuilt: bool,
    /// `--only`: the load runs to make (every one when empty).
    pub only: Vec<RunKind>,
}

/// The load runs, in the order they are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunKind {
    /// `GET /health`
    Health,
    /// `GET /users/me`
    Me,
    /// `GET /sessions/me`
    Sessions,
    /// `POST /auth/refresh`
    Refresh,
    /// `POST /auth/login`, concurrent
    Logins,
}

const PASSWORD: &str = "Bench-Password-9!";
/// How many sessions the `GET /sessions/me` user has.
const LISTED_SESSIONS: usize = 5;

/// The PostgreSQL server a benchmark of `what` runs against (`--postgres-url`, else the test URL, else a
/// local one if it listens); with `--backend all` and none reachable, SQLite only, said once.
#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
fn postgres_server(backend: Backend, configured: Option<String>, what: &str) -> anyhow::Result<Option<String>> {
    let postgres = crate::postgres::server_url(backend, configured, "--postgres-url or LATCHKEY_TEST_POSTGRES_URL")?;
    if backend == Backend::All && postgres.is_none() {
        eprintln!("xtask: no PostgreSQL reachable; benchmarking {what} on SQLite only");
    }
    Ok(postgres)
}

pub fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(options.connections > 0 && options.threads > 0, "--connections and --threads must be at least 1");
    ensure!(options.connections.is_multiple_of(options.threads), "--connections must be a multiple of --threads");
    ensure!(options.logins > 0 && options.rounds > 0, "--logins and --rounds must be at least 1");
    let postgres = postgres_server(options.backend, options.postgres_url.clone(), "the server")?;
    wrk::ensure_installed()?;
    let binary = crate::server::binary(Profile::Release, options.prebuilt)?;

    let dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let machine = Machine::read();
    if let Some(flooders) = options.flood {
        let mut reports = vec![flood::measure_flood(&binary, "sqlite", &sqlite_url, options, flooders, dir.path())?];
        if let Some(admin_url) = postgres {
            let database = ScratchDatabase::create(&admin_url)?;
            reports.push(flood::measure_flood(&binary, "postgres", &database.url, options, flooders, dir.path())?);
        }
        machine.print(options.json);
        for report in &reports {
            report.print(options);
        }
        return Ok(());
    }
    let mut reports = vec![bench_backend(&binary, "sqlite", &sqlite_url, options, dir.path())?];
    if let Some(admin_url) = postgres {
        let database = ScratchDatabase::create(&admin_url)?;
        reports.push(bench_backend(&binary, "postgres", &database.url, options, dir.path())?);
    }
    machine.print(options.json);
    for report in &reports {
        report.print(options);
    }
    Ok(())
}

/// Where the figures were taken: the commit, the CPU, the core count.
struct Machine {
    commit: String,
    cpu: String,
    cores: usize,
}

impl Machine {
    fn read() -> Machine {
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(workspace_root())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        };
        let mut commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
        if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) {
            commit.push_str(" + uncommitted changes");
        }
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Machine { commit, cpu, cores: std::thread::available_parallelism().map_or(1, usize::from) }
    }

    #[expect(clippy::print_stdout, reason = "the report is the command's output")]
    fn print(&self, json: bool) {
        if json {
            println!("{}", serde_json::json!({"commit": self.commit, "cpu": self.cpu, "cores": self.cores}));
        } else {
            println!(
                "commit {} on {} cores ({}); server, wrk and database share them",
                self.commit, self.cores, self.cpu
            );
        }
    }
}

/// One measured run: its name, the command line that repeats it, and the median round.
struct Measured {
    name: &'static str,
    command_line: String,
    outcome: Outcome,
    /// The server's resident memory right after the run, KiB.
    rss_kib: u64,
}

/// One backend's figures.
struct Report {
    backend: &'static str,
    login: Vec<Duration>,
    runs: Vec<Measured>,
    peak_rss_kib: u64,
}

fn outcome_json(o: &Outcome) -> Value {
    serde_json::json!({
        "requests": o.requests,
        "requests_per_second": o.per_second().round(),
        "p50_ms": o.p50_ms,
        "p90_ms": o.p90_ms,
        "p99_ms": o.p99_ms,
        "max_ms": o.max_ms,
    })
}

impl Report {
    #[expect(clippy::print_stdout, reason = "the report is the command's output")]
    fn print(&self, options: &Options) {
        if options.json {
            let runs: serde_json::Map<String, Value> = self
                .runs
                .iter()
                .map(|m| {
                    let mut v = outcome_json(&m.outcome);
                    v["rss_kib"] = m.rss_kib.into();
                    v["command"] = m.command_line.clone().into();
                    (m.name.to_owned(), v)
                })
                .collect();
            let line = serde_json::json!({
                "backend": self.backend,
                "connections": options.connections,
                "threads": options.threads,
                "duration_seconds": options.duration.as_secs_f64(),
                "rounds": options.rounds,
                "login": {
                    "count": self.login.len(),
                    "p50_ms": percentile_ms(&self.login, 50.0),
                    "p95_ms": percentile_ms(&self.login, 95.0),
                },
                "load": runs,
                "peak_rss_kib": self.peak_rss_kib,
            });
            println!("{line}");
            return;
        }
        println!();
        println!(
            "{} — wrk -t{} -c{}, {:.0} s per run after {:.0} s of warm-up, median of {} round(s)",
            self.backend,
            options.threads,
            options.connections,
            options.duration.as_secs_f64(),
            options.warmup.as_secs_f64(),
            options.rounds
        );
        println!(
            "  {:<20} {:>5} sequential      p50 {:>7.2} ms   p95 {:>7.2} ms",
            "POST /auth/login",
            self.login.len(),
            percentile_ms(&self.login, 50.0),
            percentile_ms(&self.login, 95.0)
        );
        for m in &self.runs {
            let o = &m.outcome;
            println!(
                "  {:<20} {:>9.0} req/s  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  rss {} MiB",
                m.name,
                o.per_second(),
                o.p50_ms,
                o.p90_ms,
                o.p99_ms,
                o.max_ms,
                m.rss_kib / 1024
            );
        }
        println!("  server memory        {} MiB peak (VmHWM)", self.peak_rss_kib / 1024);
        println!("  repeat a run with: {}", self.runs.first().map_or("", |m| m.command_line.as_str()));
    }
}

/// The nearest-rank percentile in milliseconds of sorted samples (0 when there are none).
pub(crate) fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// The accounts a backend's runs use.
struct Accounts {
    credentials: String,
    /// Sequential login latencies, sorted.
    login: Vec<Duration>,
    /// A bearer for `GET /users/me`.
    me: String,
    /// A bearer of a user with [`LISTED_SESSIONS`] sessions.
    lister: String,
}

/// Registers the bench users, times the sequential logins, and makes the lister's sessions.
async fn accounts(addr: SocketAddr, logins: usize) -> anyhow::Result<Accounts> {
    let mut client = Client::new(addr);
    let credentials = register(&mut client, "bench").await?;
    let lister_credentials = register(&mut client, "lister").await?;
    let mut login = Vec::with_capacity(logins);
    let mut me = String::new();
    for _ in 0..logins {
        let started = Instant::now();
        let (access, _) = log_in(&mut client, &credentials).await?;
        login.push(started.elapsed());
        me = access;
    }
    login.sort_unstable();
    let mut lister = String::new();
    for _ in 0..LISTED_SESSIONS {
        lister = log_in(&mut client, &lister_credentials).await?.0;
    }
    Ok(Accounts { credentials, login, me: format!("Bearer {me}"), lister: format!("Bearer {lister}") })
}

/// Registers `<name>-<process id>@example.com` with the bench password; returns its login body.
async fn register(client: &mut Client, name: &str) -> anyhow::Result<String> {
    let email = format!("{name}-{}@example.com", std::process::id());
    let body = serde_json::json!({"email": email, "password": PASSWORD, "first_name": "Bench"}).to_string();
    let answer = client.send("POST", "/api/v1/auth/register", None, Some(&body)).await?;
    ensure!(answer.status == 201, "registering {email} answered {}: {}", answer.status, answer.body);
    Ok(serde_json::json!({"email": email, "password": PASSWORD}).to_string())
}

/// One login: (access token, refresh token).
async fn log_in(client: &mut Client, credentials: &str) -> anyhow::Result<(String, String)> {
    let answer = client.send("POST", "/api/v1/auth/login", None, Some(credentials)).await?;
    ensure!(answer.status == 200, "login answered {}: {}", answer.status, answer.body);
    let json: Value = answer.json().context("login answered something other than JSON")?;
    let field = |name: &str| json[name].as_str().map(str::to_owned).context("login answered no tokens");
    Ok((field("access_token")?, field("refresh_token")?))
}

/// `n` fresh refresh tokens of the bench user (one session each).
async fn refresh_tokens(addr: SocketAddr, credentials: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let mut client = Client::new(addr);
    let mut tokens = Vec::with_capacity(n);
    for _ in 0..n {
        tokens.push(log_in(&mut client, credentials).await?.1);
    }
    Ok(tokens)
}

#[expect(clippy::print_stderr, reason = "progress goes to stderr")]
fn bench_backend(
    binary: &Path,
    backend: &'static str,
    database_url: &str,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<Report> {
    eprintln!("xtask: benchmarking on {backend}");
    let server = start_server(binary, database_url, &options.server_env)?;
    let addr = server.addr;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let accounts = runtime.block_on(accounts(addr, options.logins))?;

    let names = ["GET /health", "GET /users/me", "GET /sessions/me", "POST /auth/refresh", "POST /auth/login"];
    let mut rounds: Vec<Vec<(Outcome, u64)>> = vec![Vec::new(); names.len()];
    let mut command_lines = vec![String::new(); names.len()];
    let kinds = [RunKind::Health, RunKind::Me, RunKind::Sessions, RunKind::Refresh, RunKind::Logins];
    let wanted = |i: usize| options.only.is_empty() || options.only.contains(&kinds[i]);
    for round in 0..options.rounds {
        for (i, name) in names.iter().enumerate().filter(|(i, _)| wanted(*i)) {
            eprintln!("xtask: {backend}: {name}, round {}", round + 1);
            let base = wrk::Run {
                addr,
                method: "GET",
                path: "/health",
                threads: options.threads,
                connections: options.connections,
                duration: options.duration,
                authorization: None,
                user_agent: USER_AGENT,
                refresh_tokens: &[],
                body: None,
            };
            let outcome = match i {
                0 => measure(&base, options.warmup, dir)?,
                1 => measure(
                    &wrk::Run { path: "/api/v1/users/me", authorization: Some(&accounts.me), ..base },
                    options.warmup,
                    dir,
                )?,
                2 => measure(
                    &wrk::Run { path: "/api/v1/sessions/me", authorization: Some(&accounts.lister), ..base },
                    options.warmup,
                    dir,
                )?,
                4 => measure(
                    // Correct logins of one account from --login-connections connections: the hashing pool's
                    // throughput (each login is one argon2id verification).
                    &wrk::Run {
                        method: "POST",
                        path: "/api/v1/auth/login",
                        connections: options.login_connections,
                        threads: options.threads.min(options.login_connections),
                        body: Some(&accounts.credentials),
                        ..base
                    },
                    options.warmup,
                    dir,
                )?,
                _ => {
                    // Every wrk run starts new chains: the ends of the last run's chains are unknown.
                    let refresh = wrk::Run { method: "POST", path: "/api/v1/auth/refresh", ..base };
                    let needed = refresh.tokens_needed();
                    let warm = runtime.block_on(refresh_tokens(addr, &accounts.credentials, needed))?;
                    wrk::Run { duration: options.warmup, refresh_tokens: &warm, ..refresh }.run(dir)?;
                    let tokens = runtime.block_on(refresh_tokens(addr, &accounts.credentials, needed))?;
                    let run = wrk::Run { refresh_tokens: &tokens, ..refresh };
                    command_lines[i] = run.command_line();
                    run.run(dir)?
                }
            };
            if command_lines[i].is_empty() {
                command_lines[i] = wrk::Run { path: PATHS[i], ..base }.command_line();
            }
            rounds[i].push((outcome, server.memory()?.0));
        }
    }
    let runs = names
        .iter()
        .zip(rounds)
        .zip(command_lines)
        .filter(|((_, results), _)| !results.is_empty())
        .map(|((name, mut results), command_line)| {
            results.sort_by(|a, b| a.0.per_second().total_cmp(&b.0.per_second()));
            let (outcome, rss_kib) = results[results.len() / 2];
            Measured { name, command_line, outcome, rss_kib }
        })
        .collect();
    let (_, peak_rss_kib) = server.memory()?;
    Ok(Report { backend, login: accounts.login, runs, peak_rss_kib })
}

/// The paths of the runs, for their command lines.
const PATHS: [&str; 5] =
    ["/health", "/api/v1/users/me", "/api/v1/sessions/me", "/api/v1/auth/refresh", "/api/v1/auth/login"];

/// A warm-up run (discarded), then the measured one.
fn measure(run: &wrk::Run<'_>, warmup: Duration, dir: &Path) -> anyhow::Result<Outcome> {
    if !warmup.is_zero() {
        wrk::Run { duration: warmup, ..*run }.run(dir)?;
    }
    run.run(dir)
}

/// The release server for a measurement: throwaway secret, rate limits off, warnings only, and the
/// `--server-env` settings last so they win.
fn start_server(binary: &Path, database_url: &str, server_env: &[(String, String)]) -> anyhow::Result<Server> {
    let secret: String = (0..4).map(|i| format!("{:016x}", random_u64(i))).collect();
    let mut env = vec![("SECRET_KEY", secret.as_str()), ("RATE_LIMIT_SCALE", "0"), ("RUST_LOG", "warn")];
    env.extend(server_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Server::start("server", binary, database_url, &env, None)
}

/// Entropy for the throwaway secret key, from std's randomly seeded hasher (no extra dependency).
fn random_u64(i: u64) -> u64 {
    use std::hash::{BuildHasher as _, RandomState};
    RandomState::new().hash_one(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        samples.sort_unstable();
        assert!((percentile_ms(&samples, 50.0) - 50.0).abs() < 1e-9);
        assert!((percentile_ms(&samples, 99.0) - 99.0).abs() < 1e-9);
        assert!((percentile_ms(&samples, 100.0) - 100.0).abs() < 1e-9);
        assert!(percentile_ms(&[], 50.0).abs() < 1e-9);
    }
}
