//! xtask: the project's developer commands, run as `cargo xtask <command>` (the alias lives in
//! `.cargo/config.toml`). One module per command:
//!
//! - `migrate [--database-url URL]`: apply pending migrations with the `latchkey` binary;
//! - `test [--backend sqlite|postgres|all]`: `cargo test --workspace`, proving the PostgreSQL half ran;
//! - `ci`: format check, clippy, the tests on both backends, and the crate-arrow checks;
//! - `bench`: the release server measured over HTTP with wrk (login, health, auth check, sessions list,
//!   refresh, memory; with `--flood`, the auth check during a login flood; with `--cleanup`, the cleanup
//!   job on a million sessions under a read load; with `--bodies`, large anonymous bodies' memory and
//!   their effect on the auth check);
//! - `bench-geoip [--networks N] [--write PATH]`: the cost of one GeoIP lookup, on a synthetic file;
//! - `openapi`: regenerate `docs/openapi.json`;
//! - `e2e [--prebuilt] [--out DIR]`: the docs pages driven in headless Chromium against the release server;
//! - `faults [--prebuilt]`: the release server through a database outage, SIGTERM under load, and two
//!   nodes on one PostgreSQL.
//! - `fuzz-api [--prebuilt] [--debug] [--max-time S]`: schemathesis against the served OpenAPI document.
//!
//! The commands share one server supervisor (`server.rs`: build, start with an environment, wait for
//! health, log to a file, SIGTERM), one HTTP client (`client.rs`), PostgreSQL through `psql`
//! (`postgres.rs`: which server, scratch databases, the faults' switches) and the installers of outside
//! tools (`install.rs`); no command imports another, except `ci`, which runs `test`.
//!
//! It only drives `cargo`; it never depends on the latchkey crates, so it builds in seconds and keeps
//! working when they do not compile.

mod bench;
mod bench_geoip;
mod ci;
mod client;
mod e2e;
mod faults;
mod fuzz_api;
mod install;
mod migrate;
mod openapi;
mod postgres;
mod server;
mod test;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};

/// Latchkey's developer commands.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Apply pending database migrations (runs `latchkey migrate`).
    Migrate {
        /// The database to migrate (postgres://…, sqlite://path or a path); without it the binary reads
        /// DATABASE_URL from the environment or `.env`.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Run `cargo test --workspace` on SQLite and, as asked, PostgreSQL.
    Test {
        /// sqlite: SQLite only; postgres: also PostgreSQL (LATCHKEY_TEST_POSTGRES_URL required); all: also
        /// PostgreSQL when LATCHKEY_TEST_POSTGRES_URL is set or a server listens on 127.0.0.1:5432.
        #[arg(long, value_enum, default_value_t = Backend::All)]
        backend: Backend,
    },
    /// fmt check, clippy -D warnings, the tests on both backends (PostgreSQL required), the crate arrows.
    Ci,
    /// Regenerate docs/openapi.json from `latchkey openapi`.
    Openapi,
    /// Drive /docs (Authorize, Try it out) and /redoc in headless Chromium against the release server.
    E2e {
        /// Use target/release/latchkey as built (CI builds it once for everything that needs it).
        #[arg(long)]
        prebuilt: bool,
        /// Folder for the screenshots and the server log (default: target/e2e/run-<process id>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// The release server under faults on PostgreSQL: a database outage under load, SIGTERM under load,
    /// two nodes on one database.
    Faults {
        /// Use target/release/latchkey as built (CI builds it once for everything that needs it).
        #[arg(long)]
        prebuilt: bool,
        /// The PostgreSQL server to make a scratch database on (with psql); defaults to
        /// LATCHKEY_TEST_POSTGRES_URL.
        #[arg(long, env = "LATCHKEY_TEST_POSTGRES_URL", value_name = "URL")]
        postgres_url: Option<String>,
        /// Folder for the servers' logs (default: target/faults/run-<process id>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Fuzz every operation with schemathesis (all checks, stateful phase on) against a fresh server.
    FuzzApi {
        /// Use the binary as built (CI builds the release binary once for everything that needs it).
        #[arg(long)]
        prebuilt: bool,
        /// Fuzz target/debug/latchkey instead of target/release/latchkey.
        #[arg(long)]
        debug: bool,
        /// schemathesis' time budget in seconds (every phase, the stateful one included).
        #[arg(long, default_value_t = 210, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(10..=86_400))]
        max_time: u64,
        /// schemathesis' random seed, to replay a run.
        #[arg(long)]
        seed: Option<u64>,
        /// Folder for the report and the server log (default: target/fuzz-api/run-<process id>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Build a synthetic GeoIP file and measure a lookup (tree walk + English city and country names) and
    /// the file's load and check.
    BenchGeoip {
        /// Networks in the file (public /24s).
        #[arg(long, default_value_t = 100_000)]
        networks: u32,
        /// Addresses looked up per measurement.
        #[arg(long, default_value_t = 1_000_000)]
        lookups: u32,
        /// Keep the file here (for `bench --server-env GEOIP_DATABASE=PATH`).
        #[arg(long, value_name = "PATH")]
        write: Option<PathBuf>,
    },
    /// Measure the release server over HTTP: login latency, GET /users/me, refresh and /health throughput,
    /// memory. SQLite always; PostgreSQL as --backend says.
    Bench {
        /// sqlite, postgres (needs a URL), or all (PostgreSQL too when a URL is given or 127.0.0.1:5432 listens).
        #[arg(long, value_enum, default_value_t = Backend::All)]
        backend: Backend,
        /// Seconds each load run measures (after its warm-up).
        #[arg(long, default_value_t = 10, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
        duration: u64,
        /// Seconds of warm-up before each load run (not measured).
        #[arg(long, default_value_t = 3, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(0..=600))]
        warmup: u64,
        /// Rounds of the load runs, interleaved; each run reports its median round.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=99))]
        rounds: u64,
        /// Concurrent keep-alive connections per load run (wrk -c).
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1024))]
        connections: u64,
        /// wrk threads per load run (wrk -t).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
        threads: u64,
        /// Sequential logins timed.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        logins: u64,
        /// Connections of the concurrent login run (the hashing pool's throughput).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
        login_connections: u64,
        /// A PostgreSQL server to make a scratch database on (with psql); defaults to
        /// LATCHKEY_TEST_POSTGRES_URL.
        #[arg(long, env = "LATCHKEY_TEST_POSTGRES_URL", value_name = "URL")]
        postgres_url: Option<String>,
        /// One JSON line per backend instead of the table.
        #[arg(long)]
        json: bool,
        /// Instead of the usual runs: GET /users/me from --connections clients (default 4 here), first
        /// undisturbed, then during a login flood from --flood-connections other connections; peak memory.
        #[arg(long)]
        flood: bool,
        /// An environment variable for the measured server, e.g. HASH_NICE=0 or METRICS=false (repeatable).
        #[arg(long, value_name = "KEY=VALUE", value_parser = parse_env_pair)]
        server_env: Vec<(String, String)>,
        /// Measure target/release/latchkey as it is, without building it first.
        #[arg(long)]
        prebuilt: bool,
        /// Only these load runs (repeatable; all five when not given), e.g. `--only refresh` to measure
        /// rotations alone.
        #[arg(long, value_enum, value_name = "RUN", conflicts_with_all = ["flood", "cleanup", "bodies"])]
        only: Vec<bench::RunKind>,
        /// Connections of the login flood (with --flood).
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=5000))]
        flood_connections: u64,
        /// Instead of the usual runs: seed --sessions sessions (half ended long ago) and events, then time
        /// latchkey-cleanup while --connections readers (default 4 here) read /users/me and /sessions/me.
        #[arg(long, conflicts_with = "flood")]
        cleanup: bool,
        /// Sessions to seed (with --cleanup).
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(20..=100_000_000))]
        sessions: u64,
        /// latchkey-cleanup's --batch-size (with --cleanup; default: the job's own).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        batch_size: Option<u64>,
        /// Instead of the usual runs: --body-count concurrent anonymous logins of --body-mib MiB each (three
        /// kinds of body, a fresh SQLite server each) while another client reads GET /users/me; the server's
        /// peak memory increase and that client's latency.
        #[arg(long, conflicts_with_all = ["flood", "cleanup"])]
        bodies: bool,
        /// Concurrent bodies (with --bodies).
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
        body_count: u64,
        /// Size of each body in MiB (with --bodies; the server refuses more than 10).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=64))]
        body_mib: u64,
    },
}

/// `KEY=VALUE` for `--server-env`.
fn parse_env_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got '{s}'")),
    }
}

/// Which databases the tests run on (SQLite always runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
    All,
}

/// The workspace's root folder.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits below the workspace root")
}

/// A `cargo` command run from the workspace root. `cargo run` sets `CARGO` to the cargo that started us.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

/// The folder a command's logs and reports go to: `out` when given, else `target/<command>/run-<process
/// id>`; created, and returned absolute.
pub fn run_folder(out: Option<&Path>, command: &str) -> anyhow::Result<PathBuf> {
    let out = match out {
        Some(dir) => dir.to_path_buf(),
        None => workspace_root().join(format!("target/{command}/run-{}", std::process::id())),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    Ok(out.canonicalize()?)
}

/// Runs `cmd` with inherited output and fails unless it succeeds. The command is echoed first, as a person
/// would type it (program file name, then the arguments).
#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn run_checked(cmd: &mut Command) -> anyhow::Result<()> {
    let program = Path::new(cmd.get_program()).file_name().unwrap_or(cmd.get_program()).to_string_lossy().into_owned();
    let shown = std::iter::once(program)
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("$ {shown}");
    let status = cmd.status().with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Cmd::Migrate { database_url } => migrate::run(database_url.as_deref()),
        Cmd::Test { backend } => test::run(backend),
        Cmd::Ci => ci::run(),
        Cmd::Openapi => openapi::run(),
        Cmd::BenchGeoip { networks, lookups, write } => {
            bench_geoip::run(&bench_geoip::Options { networks, lookups, write })
        }
        Cmd::E2e { prebuilt, out } => e2e::run(&e2e::Options { prebuilt, out }),
        Cmd::Faults { prebuilt, postgres_url, out } => faults::run(&faults::Options { prebuilt, postgres_url, out }),
        Cmd::Bench { backend, postgres_url, json, cleanup: true, sessions, batch_size, connections, .. } => {
            bench::cleanup::run(&bench::cleanup::Options {
                backend,
                sessions,
                connections: if connections == 32 { 4 } else { usize::try_from(connections).unwrap_or(usize::MAX) },
                batch_size,
                postgres_url: postgres_url.filter(|u| !u.trim().is_empty()),
                json,
            })
        }
        Cmd::Bench { bodies: true, body_count, body_mib, server_env, prebuilt, json, .. } => {
            bench::bodies::run(&bench::bodies::Options {
                count: usize::try_from(body_count).unwrap_or(usize::MAX),
                mib: usize::try_from(body_mib).unwrap_or(usize::MAX),
                server_env,
                prebuilt,
                json,
            })
        }
        Cmd::FuzzApi { prebuilt, debug, max_time, seed, out } => {
            fuzz_api::run(&fuzz_api::Options { prebuilt, debug, max_time, seed, out })
        }
        Cmd::Bench {
            backend,
            duration,
            warmup,
            rounds,
            connections,
            threads,
            logins,
            login_connections,
            postgres_url,
            json,
            flood,
            flood_connections,
            server_env,
            prebuilt,
            only,
            ..
        } => {
            let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
            bench::run(&bench::Options {
                backend,
                duration: std::time::Duration::from_secs(duration),
                warmup: std::time::Duration::from_secs(warmup),
                rounds: count(rounds),
                threads: count(threads),
                // The flood's bystanders are a handful of clients unless asked otherwise.
                connections: if flood && connections == 32 {
                    4
                } else {
                    usize::try_from(connections).unwrap_or(usize::MAX)
                },
                flood: flood.then(|| usize::try_from(flood_connections).unwrap_or(usize::MAX)),
                logins: usize::try_from(logins).unwrap_or(usize::MAX),
                login_connections: count(login_connections),
                postgres_url: postgres_url.filter(|u| !u.trim().is_empty()),
                json,
                server_env,
                prebuilt,
                only,
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}
