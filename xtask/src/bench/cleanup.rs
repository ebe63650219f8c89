//! `cargo xtask bench --cleanup`: the cleanup job at scale, on SQLite and (when reachable) PostgreSQL.
//!
//! For each backend it creates the schema with the release server (`AUTO_MIGRATE=true`), seeds it with
//! set-based SQL (PostgreSQL `generate_series` through `psql`, SQLite a recursive CTE in one transaction
//! through `sqlite3`): `--sessions` sessions over one user per ten sessions — 45 % live, 5 % ended within
//! the retention (kept), 50 % ended long enough ago to be deleted (expired but still marked active, revoked,
//! or inactive without `revoked_at` as rows from the reference are) — and 1.5 security events per session,
//! half older than the event retention. Then it starts the server again, logs in `--connections` users of
//! its own and has each read `GET /users/me` and `GET /sessions/me` in turn over a keep-alive connection:
//! first undisturbed, then while the release `latchkey-cleanup` runs. It prints the seeding time, the job's
//! wall time and report (rows, batches and longest batch per table), and the read load's throughput, p50,
//! p99 and errors in both phases.
//!
//! It fails when a read answered anything but 200, when the job failed, or when the rows left differ from
//! what the seed says must survive: the live sessions (and every session still within its retention) and
//! the recent events are counted before and after, and the ended sessions and old events must all be gone.
//!
//! `XTASK_CLEANUP_BINARY=path` runs that `latchkey-cleanup` instead of the fresh build, to compare two
//! versions of the job under the same seed and load.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::Value;

use super::{log_in, percentile_ms, register, start_server};
use crate::client::Client;
use crate::postgres::ScratchDatabase;
use crate::server::Profile;
use crate::{Backend, cargo, run_checked, workspace_root};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub backend: Backend,
    /// Sessions to seed (one user per ten, 1.5 events per session).
    pub sessions: u64,
    /// Keep-alive connections of the read load, one user each.
    pub connections: usize,
    /// Passed to `latchkey-cleanup --batch-size` when given.
    pub batch_size: Option<u64>,
    pub postgres_url: Option<String>,
    pub json: bool,
}

/// How long the read load runs undisturbed before the job starts (after a one-second warm-up).
const QUIET: Duration = Duration::from_secs(5);

pub fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(options.sessions >= 20, "--sessions must be at least 20");
    ensure!(options.connections > 0, "--connections must be at least 1");
    let postgres = super::postgres_server(options.backend, options.postgres_url.clone(), "the cleanup")?;
    // The same command as the other benchmarks for the server, so an up-to-date build is not redone.
    let server = crate::server::binary(Profile::Release, false)?;
    run_checked(cargo().args(["build", "--release", "-p", "latchkey-cleanup", "--bin", "latchkey-cleanup"]))?;
    let binaries = Binaries {
        server,
        cleanup: std::env::var_os("XTASK_CLEANUP_BINARY")
            .map_or_else(|| workspace_root().join("target/release/latchkey-cleanup"), Into::into),
    };

    let mut reports = Vec::new();
    let dir = tempfile::tempdir()?;
    // Unlike the other runs, SQLite is skipped when only PostgreSQL is asked for: a million rows take
    // minutes to seed and clean.
    if options.backend != Backend::Postgres {
        let sqlite = Database::Sqlite { path: dir.path().join("cleanup.db") };
        reports.push(bench_backend(&binaries, &sqlite, options)?);
    }
    if let Some(admin_url) = postgres {
        let scratch = ScratchDatabase::create(&admin_url)?;
        let pg = Database::Postgres { url: scratch.url.clone() };
        reports.push(bench_backend(&binaries, &pg, options)?);
    }
    for report in &reports {
        report.print(options);
    }
    let failed: Vec<String> =
        reports.iter().flat_map(|r| r.failures.iter().map(|f| format!("{}: {f}", r.backend))).collect();
    if !failed.is_empty() {
        bail!("the cleanup benchmark failed:\n  {}", failed.join("\n  "));
    }
    Ok(())
}

struct Binaries {
    server: std::path::PathBuf,
    cleanup: std::path::PathBuf,
}

/// The database under test, reached with its command-line client.
enum Database {
    Sqlite { path: std::path::PathBuf },
    Postgres { url: String },
}

impl Database {
    fn name(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "sqlite",
            Database::Postgres { .. } => "postgres",
        }
    }

    fn url(&self) -> String {
        match self {
            Database::Sqlite { path } => format!("sqlite://{}", path.display()),
            Database::Postgres { url } => url.clone(),
        }
    }

    /// Runs a script; returns its output (unaligned, tuples only on PostgreSQL).
    fn sql(&self, script: &str) -> anyhow::Result<String> {
        let output = match self {
            Database::Sqlite { path } => {
                use std::io::Write as _;
                let mut child = Command::new("sqlite3")
                    .args(["-batch", "-bail"])
                    .arg(path)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .context("could not run sqlite3 (the SQLite cleanup benchmark seeds and counts with it)")?;
                child.stdin.take().context("sqlite3's stdin")?.write_all(script.as_bytes())?;
                child.wait_with_output()?
            }
            Database::Postgres { url } => Command::new("psql")
                .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", script])
                .output()
                .context("could not run psql")?,
        };
        ensure!(output.status.success(), "{} failed: {}", self.name(), String::from_utf8_lossy(&output.stderr).trim());
        Ok(String::from_utf8(output.stdout)?)
    }

    /// The seeding script for `sessions` sessions.
    fn seed_script(&self, sessions: u64) -> String {
        let script = match self {
            Database::Sqlite { .. } => SEED_SQLITE,
            Database::Postgres { .. } => SEED_POSTGRES,
        };
        script.replace("{n}", &sessions.to_string())
    }

    /// What must survive and what must go, counted with the job's rules at the default retentions.
    fn counts(&self) -> anyhow::Result<Counts> {
        let script = match self {
            Database::Sqlite { .. } => COUNT_SQLITE,
            Database::Postgres { .. } => COUNT_POSTGRES,
        };
        let out = self.sql(script)?;
        let numbers: Vec<u64> = out
            .trim()
            .split('|')
            .map(|n| n.trim().parse().with_context(|| format!("not a count: {out:?}")))
            .collect::<anyhow::Result<_>>()?;
        let [sessions, live, kept, ended, events, recent_events, old_events] = numbers[..] else {
            bail!("expected seven counts, got {out:?}");
        };
        Ok(Counts { sessions, live, kept, ended, events, recent_events, old_events })
    }
}

/// Row counts around the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    sessions: u64,
    /// Active and unexpired.
    live: u64,
    /// Not ended before the session cutoff (live ones included): must all survive.
    kept: u64,
    /// Ended before the session cutoff: must all go.
    ended: u64,
    events: u64,
    recent_events: u64,
    old_events: u64,
}

/// One backend's figures.
struct Report {
    backend: &'static str,
    before: Counts,
    after: Counts,
    seed: Duration,
    /// PostgreSQL's VACUUM ANALYZE after the seed (what autovacuum would do next), zero on SQLite.
    analyze: Duration,
    cleanup: Duration,
    /// The job's JSON report.
    job: Value,
    quiet: Phase,
    during: Phase,
    failures: Vec<String>,
}

impl Report {
    #[expect(clippy::print_stdout, reason = "the report is the command's output")]
    fn print(&self, options: &Options) {
        let phase = |p: &Phase| {
            serde_json::json!({
                "requests": p.latencies.len(),
                "requests_per_second": p.per_second().round(),
                "p50_ms": p.percentile_ms(50.0),
                "p99_ms": p.percentile_ms(99.0),
                "max_ms": p.percentile_ms(100.0),
                "errors": p.errors,
            })
        };
        if options.json {
            let line = serde_json::json!({
                "backend": self.backend,
                "mode": "cleanup",
                "sessions": self.before.sessions,
                "ended_sessions": self.before.ended,
                "events": self.before.events,
                "old_events": self.before.old_events,
                "seed_seconds": self.seed.as_secs_f64(),
                "analyze_seconds": self.analyze.as_secs_f64(),
                "cleanup_seconds": self.cleanup.as_secs_f64(),
                "job": self.job,
                "read_connections": options.connections,
                "reads_quiet": phase(&self.quiet),
                "reads_during_cleanup": phase(&self.during),
                "live_sessions_before": self.before.live,
                "live_sessions_after": self.after.live,
                "ok": self.failures.is_empty(),
                "failures": self.failures,
            });
            println!("{line}");
            return;
        }
        let job = |field: &str, table: &str| self.job[field][table].as_u64().map_or("-".to_owned(), |n| n.to_string());
        println!();
        println!(
            "{} — {} sessions ({} ended long ago), {} events ({} old)",
            self.backend, self.before.sessions, self.before.ended, self.before.events, self.before.old_events
        );
        println!(
            "  seeding            {:.1} s{}",
            self.seed.as_secs_f64(),
            if self.analyze.is_zero() {
                String::new()
            } else {
                format!(" (+ VACUUM ANALYZE {:.1} s)", self.analyze.as_secs_f64())
            }
        );
        println!(
            "  latchkey-cleanup   {:.1} s wall, report duration_ms {}",
            self.cleanup.as_secs_f64(),
            self.job["duration_ms"].as_u64().map_or("-".to_owned(), |n| n.to_string())
        );
        for table in ["user_sessions", "security_events", "login_throttle", "not_me_answers"] {
            println!(
                "    {:<16} {:>8} deleted in {:>5} batches, longest batch {:>5} ms, longest checkpoint {:>5} ms",
                table,
                job("deleted", table),
                job("batches", table),
                job("max_batch_ms", table),
                job("max_checkpoint_ms", table)
            );
        }
        for (name, p) in [("reads undisturbed", &self.quiet), ("reads during job", &self.during)] {
            println!(
                "  {:<18} {:>7.0} req/s  p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms   {} errors ({} requests)",
                name,
                p.per_second(),
                p.percentile_ms(50.0),
                p.percentile_ms(99.0),
                p.percentile_ms(100.0),
                p.errors,
                p.latencies.len()
            );
        }
        println!(
            "  live sessions      {} before, {} after; kept {} → {}; ended {} → {}; recent events {} → {}; old events {} → {}",
            self.before.live,
            self.after.live,
            self.before.kept,
            self.after.kept,
            self.before.ended,
            self.after.ended,
            self.before.recent_events,
            self.after.recent_events,
            self.before.old_events,
            self.after.old_events
        );
        for failure in &self.failures {
            println!("  FAILED: {failure}");
        }
    }
}

#[expect(clippy::print_stderr, reason = "progress goes to stderr")]
fn bench_backend(binaries: &Binaries, db: &Database, options: &Options) -> anyhow::Result<Report> {
    let backend = db.name();
    eprintln!("xtask: cleanup benchmark on {backend}: creating the schema");
    // The server migrates; it is stopped while seeding (SQLite's seed changes the journal mode, which needs
    // the database to itself).
    drop(start_server(&binaries.server, &db.url(), &[])?);

    eprintln!("xtask: seeding {} sessions on {backend}", options.sessions);
    let started = Instant::now();
    db.sql(&db.seed_script(options.sessions))?;
    let seed = started.elapsed();
    let analyze = match db {
        Database::Postgres { .. } => {
            let started = Instant::now();
            db.sql("VACUUM ANALYZE")?;
            started.elapsed()
        }
        Database::Sqlite { .. } => Duration::ZERO,
    };
    eprintln!("xtask: seeded in {:.1} s", seed.as_secs_f64());

    let server = start_server(&binaries.server, &db.url(), &[])?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let tokens = runtime.block_on(login_readers(server.addr, options.connections))?;
    let before = db.counts()?;

    // The read load runs on a thread of its own while this one runs the job.
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let reads = std::thread::spawn({
        let (phase, addr) = (Arc::clone(&phase), server.addr);
        move || read_load(addr, tokens, &phase)
    });
    std::thread::sleep(Duration::from_secs(1));
    phase.store(QUIET_PHASE, Ordering::SeqCst);
    std::thread::sleep(QUIET);
    phase.store(DURING, Ordering::SeqCst);
    eprintln!("xtask: running latchkey-cleanup on {backend} under the read load");
    let started = Instant::now();
    let job = run_cleanup(&binaries.cleanup, db, options);
    let cleanup = started.elapsed();
    phase.store(STOP, Ordering::SeqCst);
    let (quiet, during) = reads.join().map_err(|_| anyhow::anyhow!("the read load panicked"))??;
    let after = db.counts()?;
    drop(server);

    let mut failures = Vec::new();
    let job = match job {
        Ok(job) => job,
        Err(e) => {
            failures.push(format!("latchkey-cleanup: {e:#}"));
            Value::Null
        }
    };
    if job["ok"] != Value::Bool(true) && !job.is_null() {
        failures.push(format!("the job reported a failure: {job}"));
    }
    if after.live != before.live || after.kept != before.kept {
        failures.push(format!(
            "sessions that had to survive were deleted: live {} → {}, kept {} → {}",
            before.live, after.live, before.kept, after.kept
        ));
    }
    if after.recent_events != before.recent_events {
        failures.push(format!("recent events were deleted: {} → {}", before.recent_events, after.recent_events));
    }
    if after.ended != 0 || after.old_events != 0 {
        failures.push(format!("rows left behind: {} ended sessions, {} old events", after.ended, after.old_events));
    }
    if job["deleted"]["user_sessions"].as_u64().is_some_and(|n| n != before.ended) {
        failures
            .push(format!("the job deleted {} sessions, {} had ended", job["deleted"]["user_sessions"], before.ended));
    }
    for (name, p) in [("undisturbed", &quiet), ("during the job", &during)] {
        if p.errors > 0 {
            failures.push(format!(
                "{} reads {name} failed, the first: {}",
                p.errors,
                p.first_error.as_deref().unwrap_or("?")
            ));
        }
    }
    Ok(Report { backend, before, after, seed, analyze, cleanup, job, quiet, during, failures })
}

/// Runs the job as cron would and returns its JSON report.
fn run_cleanup(binary: &Path, db: &Database, options: &Options) -> anyhow::Result<Value> {
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir());
    if let Some(n) = options.batch_size {
        cmd.args(["--batch-size", &n.to_string()]);
    }
    let output = cmd.output().with_context(|| format!("could not start {}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let report: Value = serde_json::from_str(line)
        .with_context(|| format!("no JSON report ({}): {}", output.status, String::from_utf8_lossy(&output.stderr)))?;
    ensure!(output.status.success(), "exited with {}: {report}", output.status);
    Ok(report)
}

/// Registers the readers and logs each in three times (so `GET /sessions/me` lists three sessions); returns
/// each reader's last access token.
async fn login_readers(addr: SocketAddr, readers: usize) -> anyhow::Result<Vec<String>> {
    let mut client = Client::new(addr);
    let mut tokens = Vec::with_capacity(readers);
    for i in 0..readers {
        let credentials = register(&mut client, &format!("reader-{i}")).await?;
        let mut token = String::new();
        for _ in 0..3 {
            token = log_in(&mut client, &credentials).await?.0;
        }
        tokens.push(token);
    }
    Ok(tokens)
}

const WARMUP: u8 = 0;
const QUIET_PHASE: u8 = 1;
const DURING: u8 = 2;
const STOP: u8 = 3;

/// One phase of the read load.
#[derive(Default)]
struct Phase {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        percentile_ms(&sorted, p)
    }

    fn absorb(&mut self, other: Phase) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Each reader alternates `GET /users/me` and `GET /sessions/me` on its own keep-alive connection until
/// told to stop; requests are counted in the phase they started in. A failed request is counted, not
/// fatal, and a broken connection is opened again.
fn read_load(addr: SocketAddr, tokens: Vec<String>, phase: &Arc<AtomicU8>) -> anyhow::Result<(Phase, Phase)> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(tokio::task::LocalSet::new().run_until(async {
        let mut readers = Vec::with_capacity(tokens.len());
        for token in tokens {
            let phase = Arc::clone(phase);
            let mut client = Client::new(addr);
            readers.push(tokio::task::spawn_local(async move {
                let (mut quiet, mut during) = (Phase::default(), Phase::default());
                let mut n = 0u64;
                loop {
                    let now = phase.load(Ordering::SeqCst);
                    if now == STOP {
                        break;
                    }
                    let path = if n.is_multiple_of(2) { "/api/v1/users/me" } else { "/api/v1/sessions/me" };
                    n += 1;
                    let started = Instant::now();
                    let answer = client.send("GET", path, Some(&token), None).await;
                    let took = started.elapsed();
                    let target = match now {
                        QUIET_PHASE => Some(&mut quiet),
                        DURING => Some(&mut during),
                        _ => None,
                    };
                    let error = match &answer {
                        Ok(r) if r.status == 200 => None,
                        Ok(r) => Some(format!("{path} answered {}: {}", r.status, r.body)),
                        Err(e) => Some(format!("{path}: {e}")),
                    };
                    if let Some(phase) = target {
                        phase.latencies.push(took);
                        if let Some(error) = &error {
                            phase.errors += 1;
                            phase.first_error.get_or_insert_with(|| error.clone());
                        }
                    }
                }
                anyhow::Ok((quiet, during))
            }));
        }
        // The phases' wall times, as the main thread switches them.
        let mut marks = [None::<Instant>; 4];
        let mut last = WARMUP;
        marks[0] = Some(Instant::now());
        while last != STOP {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let now = phase.load(Ordering::SeqCst);
            if now != last {
                marks[usize::from(now)] = Some(Instant::now());
                last = now;
            }
        }
        let (mut quiet, mut during) = (Phase::default(), Phase::default());
        for reader in readers {
            let (q, d) = tokio::time::timeout(Duration::from_secs(30), reader)
                .await
                .context("a read went unanswered for 30 s")?
                .context("a reader panicked")??;
            quiet.absorb(q);
            during.absorb(d);
        }
        let span = |from: usize, to: usize| match (marks[from], marks[to]) {
            (Some(a), Some(b)) => b.duration_since(a),
            _ => Duration::ZERO,
        };
        quiet.elapsed = span(1, 2);
        during.elapsed = span(2, 3);
        Ok((quiet, during))
    }))
}

/// PostgreSQL seed: users, sessions and events from `generate_series`, ids from md5 (random-looking, as
/// v4 UUIDs are). Foreign-key triggers are off for the session (the references are valid by
/// construction), as a bulk load would do.
const SEED_POSTGRES: &str = r#"
SET session_replication_role = replica;
INSERT INTO users (id, email, password_hash, first_name, last_name, is_active, is_superuser, created_at, updated_at)
SELECT md5('u' || u)::uuid, 'seed-' || u || '@example.com',
       '$argon2id$v=19$m=19456,t=2,p=1$c2VlZHNlZWRzZWVk$' || md5('p' || u), 'Seed', 'User ' || u, true, false,
       now() - interval '400 days', now() - interval '400 days'
FROM generate_series(0::bigint, {n} / 10 - 1) AS u;

INSERT INTO user_sessions (id, user_id, refresh_token_jti, device_name, device_id, ip_address, user_agent,
    last_used_at, expires_at, absolute_expires_at, is_active, revoked_at, revoked_reason,
    location_city, location_country, created_at, updated_at)
SELECT md5('s' || i)::uuid, md5('u' || (i % ({n} / 10)))::uuid, md5('j' || i), 'Chrome on macOS', md5('d' || i),
       '10.' || (i % 250) || '.' || (i / 250 % 250) || '.' || (i % 199),
       'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
       t.used, t.expires, t.created + interval '30 days', t.active, t.revoked,
       CASE WHEN t.revoked IS NOT NULL THEN 'logout' END, 'Berlin', 'Germany', t.created, t.used
FROM generate_series(0::bigint, {n} - 1) AS i
CROSS JOIN LATERAL (SELECT i % 20 AS kind,
    now() - ((i * 7919) % 370 + 31) * interval '1 day' - (i * 104729 % 86400) * interval '1 second' AS ended,
    now() - ((i * 7919) % 28 + 1) * interval '1 day' - (i * 104729 % 86400) * interval '1 second' AS recent) AS k
CROSS JOIN LATERAL (SELECT
    -- kind 0-8 live; 9 ended within the retention (kept); 10-14 expired long ago, still marked active;
    -- 15-18 revoked long ago; 19 inactive long ago without revoked_at (rows from the reference).
    CASE WHEN k.kind <= 8 THEN k.recent WHEN k.kind = 9 THEN k.recent - interval '7 days'
         ELSE k.ended - interval '7 days' END AS created,
    CASE WHEN k.kind <= 8 THEN now() - (i % 600) * interval '1 minute' WHEN k.kind = 9 THEN k.recent
         ELSE k.ended END AS used,
    CASE WHEN k.kind <= 8 THEN now() + interval '7 days' - (i % 600) * interval '1 minute'
         WHEN k.kind = 9 THEN k.recent WHEN k.kind BETWEEN 15 AND 18 THEN k.ended + (i % 8) * interval '1 day'
         ELSE k.ended END AS expires,
    k.kind <= 14 AS active,
    CASE WHEN k.kind BETWEEN 15 AND 18 THEN k.ended END AS revoked) AS t;

INSERT INTO security_events (id, user_id, session_id, kind, ip_address, user_agent, device_name, detail, occurred_at)
SELECT md5('e' || j)::uuid, md5('u' || (j % {n} % ({n} / 10)))::uuid, md5('s' || (j % {n}))::uuid,
       (ARRAY['login_succeeded', 'logout', 'login_failed', 'session_revoked'])[j % 4 + 1], '10.0.0.' || (j % 250),
       'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
       'Chrome on macOS', '{"reason": "seed"}'::jsonb,
       CASE WHEN j % 2 = 0 THEN now() - ((j * 7919) % 600 + 91) * interval '1 day'
            ELSE now() - ((j * 7919) % 89) * interval '1 day' END - (j * 104729 % 86400) * interval '1 second'
FROM generate_series(0::bigint, {n} * 3 / 2 - 1) AS j;
"#;

/// SQLite seed: the same rows from recursive CTEs in one transaction, timestamps in Latchkey's text form.
/// The journal is off while seeding (a bulk load into a scratch database) and WAL again afterwards, as the
/// server leaves it.
const SEED_SQLITE: &str = r#"
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -1048576;
BEGIN;
WITH RECURSIVE seq(u) AS (SELECT 0 UNION ALL SELECT u + 1 FROM seq WHERE u < {n} / 10 - 1)
INSERT INTO users (id, email, password_hash, first_name, last_name, is_active, is_superuser, created_at, updated_at)
SELECT printf('%08x-0000-4000-8000-%012x', (u * 2654435761) % 4294967296, u), 'seed-' || u || '@example.com',
       '$argon2id$v=19$m=19456,t=2,p=1$c2VlZHNlZWRzZWVk$' || lower(hex(randomblob(16))), 'Seed', 'User ' || u, 1, 0,
       strftime('%Y-%m-%d %H:%M:%S.000000+00:00', 'now', '-400 days'),
       strftime('%Y-%m-%d %H:%M:%S.000000+00:00', 'now', '-400 days')
FROM seq;
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < {n} - 1),
k AS (SELECT i, i % 20 AS kind, julianday('now') AS now,
             julianday('now') - ((i * 7919) % 370 + 31) - (i * 104729 % 86400) / 86400.0 AS ended,
             julianday('now') - ((i * 7919) % 28 + 1) - (i * 104729 % 86400) / 86400.0 AS recent FROM seq),
t AS (SELECT i,
        CASE WHEN kind <= 8 THEN recent WHEN kind = 9 THEN recent - 7 ELSE ended - 7 END AS created,
        CASE WHEN kind <= 8 THEN now - (i % 600) / 1440.0 WHEN kind = 9 THEN recent ELSE ended END AS used,
        CASE WHEN kind <= 8 THEN now + 7 - (i % 600) / 1440.0 WHEN kind = 9 THEN recent
             WHEN kind BETWEEN 15 AND 18 THEN ended + (i % 8) ELSE ended END AS expires,
        kind <= 14 AS active,
        CASE WHEN kind BETWEEN 15 AND 18 THEN ended END AS revoked
      FROM k)
INSERT INTO user_sessions (id, user_id, refresh_token_jti, device_name, device_id, ip_address, user_agent,
    last_used_at, expires_at, absolute_expires_at, is_active, revoked_at, revoked_reason,
    location_city, location_country, created_at, updated_at)
SELECT printf('%08x-%04x-4000-9000-%012x', (i * 2654435761) % 4294967296, i % 65536, i),
       printf('%08x-0000-4000-8000-%012x', ((i % ({n} / 10)) * 2654435761) % 4294967296, i % ({n} / 10)),
       lower(hex(randomblob(16))), 'Chrome on macOS', lower(hex(randomblob(16))),
       '10.' || (i % 250) || '.' || (i / 250 % 250) || '.' || (i % 199),
       'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
       strftime('%Y-%m-%d %H:%M:%S.000000+00:00', used), strftime('%Y-%m-%d %H:%M:%S.000000+00:00', expires),
       strftime('%Y-%m-%d %H:%M:%S.000000+00:00', created + 30), active,
       strftime('%Y-%m-%d %H:%M:%S.000000+00:00', revoked), CASE WHEN revoked IS NOT NULL THEN 'logout' END,
       'Berlin', 'Germany', strftime('%Y-%m-%d %H:%M:%S.000000+00:00', created),
       strftime('%Y-%m-%d %H:%M:%S.000000+00:00', used)
FROM t;
WITH RECURSIVE seq(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM seq WHERE j < {n} * 3 / 2 - 1)
INSERT INTO security_events (id, user_id, session_id, kind, ip_address, user_agent, device_name, detail, occurred_at)
SELECT printf('%08x-%04x-4000-a000-%012x', (j * 2654435761) % 4294967296, j % 65536, j),
       printf('%08x-0000-4000-8000-%012x', (((j % {n}) % ({n} / 10)) * 2654435761) % 4294967296, (j % {n}) % ({n} / 10)),
       printf('%08x-%04x-4000-9000-%012x', ((j % {n}) * 2654435761) % 4294967296, (j % {n}) % 65536, j % {n}),
       CASE j % 4 WHEN 0 THEN 'login_succeeded' WHEN 1 THEN 'logout' WHEN 2 THEN 'login_failed' ELSE 'session_revoked' END,
       '10.0.0.' || (j % 250),
       'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
       'Chrome on macOS', '{"reason": "seed"}',
       strftime('%Y-%m-%d %H:%M:%S.000000+00:00', julianday('now')
           - (CASE WHEN j % 2 = 0 THEN (j * 7919) % 600 + 91 ELSE (j * 7919) % 89 END) - (j * 104729 % 86400) / 86400.0)
FROM seq;
COMMIT;
PRAGMA journal_mode = WAL;
"#;

/// Sessions, live, kept (not ended before the 30-day cutoff), ended, events, recent and old (90 days).
const COUNT_POSTGRES: &str = "SELECT count(*), count(*) FILTER (WHERE is_active AND expires_at > now()), \
     count(*) FILTER (WHERE NOT (expires_at < now() - interval '30 days' \
         OR coalesce(revoked_at < now() - interval '30 days', false) \
         OR (NOT is_active AND revoked_at IS NULL AND updated_at < now() - interval '30 days'))), \
     count(*) FILTER (WHERE expires_at < now() - interval '30 days' OR revoked_at < now() - interval '30 days' \
         OR (NOT is_active AND revoked_at IS NULL AND updated_at < now() - interval '30 days')), \
     (SELECT count(*) FROM security_events), \
     (SELECT count(*) FROM security_events WHERE occurred_at >= now() - interval '90 days'), \
     (SELECT count(*) FROM security_events WHERE occurred_at < now() - interval '90 days') \
     FROM user_sessions";

const COUNT_SQLITE: &str = "
SELECT count(*),
       count(*) FILTER (WHERE is_active AND expires_at > strftime('%Y-%m-%d %H:%M:%f', 'now')),
       count(*) FILTER (WHERE NOT (expires_at < c.s OR coalesce(revoked_at < c.s, 0)
           OR (NOT is_active AND revoked_at IS NULL AND updated_at < c.s))),
       count(*) FILTER (WHERE expires_at < c.s OR revoked_at < c.s
           OR (NOT is_active AND revoked_at IS NULL AND updated_at < c.s)),
       (SELECT count(*) FROM security_events),
       (SELECT count(*) FROM security_events WHERE occurred_at >= c.e),
       (SELECT count(*) FROM security_events WHERE occurred_at < c.e)
FROM user_sessions, (SELECT strftime('%Y-%m-%d %H:%M:%S', 'now', '-30 days') AS s,
                            strftime('%Y-%m-%d %H:%M:%S', 'now', '-90 days') AS e) AS c;
";
