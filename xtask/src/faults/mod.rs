//! `cargo xtask faults`: the release `latchkey` under the faults production meets, on PostgreSQL, under
//! load. One module per scenario, run in this order:
//!
//! - **outage** (`outage.rs`): the database goes away under load and comes back. Requests must get 503
//!   `SYS_001` in the error envelope, with the security headers and `Retry-After`, within the pool
//!   timeout; `/health` must say 503; each failure is logged once at ERROR; when the database is back,
//!   the same process must recover without a restart, and nothing written before the outage may be lost.
//! - **sigterm** (`sigterm.rs`): SIGTERM under load (logins, which take tens of milliseconds, always in
//!   flight): every request in flight finishes, nothing gets a 5xx, and the process exits 0.
//! - **two nodes** (`nodes.rs`): two processes on one database. A session revoked through one is refused by
//!   the other on the next request, a refresh token rotated on one is reuse on the other, how late node 2
//!   hears of node 1's changes, and node 2 with its listener cut.
//!
//! The faults are thrown with PostgreSQL's own switches on the run's scratch database, touching nothing
//! else on the shared server (tests and other work use it): "stopping" the database forbids new
//! connections to it (`ALLOW_CONNECTIONS false`) and ends every open one (`pg_terminate_backend`),
//! "starting" it allows them again; node 2 listens for the session cache's changes as a role of the run's
//! own, whose connections are ended and logins refused to cut it. PostgreSQL says FATAL on each connection
//! it ends, as when it shuts down cleanly; the harsher faults (connections refused and reset at the TCP
//! level, as when the database's host goes away) are ordinary tests over the test kit's chaos proxy
//! (`latchkey_testkit::chaos`, used in `crates/latchkey-http/tests/it/outage.rs`). Switching needs a role
//! that may alter the database and create roles (CI connects as `postgres`).
//!
//! Every response is checked (status, headers, body); anything unexpected fails the command with what was
//! expected and what came. A scratch database is made next to `LATCHKEY_TEST_POSTGRES_URL` with `psql`
//! and dropped afterwards; the servers' logs go to a folder the command prints.

mod checks;
mod load;
mod nodes;
mod outage;
mod sigterm;

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::postgres::ScratchDatabase;
use crate::run_folder;
use crate::server::{Profile, Server};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Use `target/release/latchkey` as built (CI builds it once for everything that needs it).
    pub prebuilt: bool,
    /// The PostgreSQL server to make the scratch database on.
    pub postgres_url: Option<String>,
    /// Where the servers' logs go (default `target/faults/run-<process id>`).
    pub out: Option<PathBuf>,
}

/// The server's graceful-shutdown limit (`SHUTDOWN_TIMEOUT_SECS` in `latchkey-http/src/server.rs`).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// A request unanswered this long fails the command.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Every node of a run signs with the same key (as several nodes behind a load balancer must).
const SECRET_KEY: &str = "faults-only-secret-key-0123456789abcdefghijklmnop";

#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn run(options: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let admin_url = options
        .postgres_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .context("cargo xtask faults needs PostgreSQL: set LATCHKEY_TEST_POSTGRES_URL or pass --postgres-url")?;
    let binary = crate::server::binary(Profile::Release, options.prebuilt)?;
    let out = run_folder(options.out.as_deref(), "faults")?;
    eprintln!("xtask: the servers' logs go to {}", out.display());

    let database = ScratchDatabase::create(&admin_url)?;
    let ctx = Ctx { binary, out: out.clone(), database };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, async {
        let mut report = String::new();
        report.push_str(&outage::run(&ctx).await.context("scenario (a), database outage")?);
        report.push_str(&sigterm::run(&ctx).await.context("scenario (b), SIGTERM under load")?);
        report.push_str(&nodes::run(&ctx).await.context("scenario (c), two nodes on one database")?);
        anyhow::Ok(report)
    });
    drop(ctx);
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
    /// The scratch database (and its switch).
    database: ScratchDatabase,
}

impl Ctx {
    /// A release `latchkey serve` on `database_url`, its log (JSON lines) in the run folder as
    /// `<name>.log`; `env` adds to the settings every server here gets.
    fn server(&self, name: &str, database_url: &str, env: &[(&str, &str)]) -> anyhow::Result<Server> {
        let mut all = vec![
            ("SECRET_KEY", SECRET_KEY),
            ("RATE_LIMIT_SCALE", "0"),
            ("LOG_FORMAT", "json"),
            // INFO keeps the request span (its id) on ERROR lines; the access lines are not needed.
            ("RUST_LOG", "info"),
            ("ACCESS_LOG", "off"),
        ];
        all.extend_from_slice(env);
        let log = self.out.join(format!("{name}.log"));
        Server::start(name, &self.binary, database_url, &all, Some(Path::new(&log)))
    }
}

/// Waits, without blocking the load on this thread, for `server` to end; its status and how long that
/// took.
async fn wait_exit(server: &mut Server, within: Duration) -> anyhow::Result<(ExitStatus, Duration)> {
    let started = Instant::now();
    loop {
        if let Some(status) = server.exited()? {
            return Ok((status, started.elapsed()));
        }
        if started.elapsed() > within {
            bail!("{}: still running {} s after SIGTERM", server.name, within.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
