//! `cargo xtask test`: `cargo test --workspace` (the README's test command), on SQLite always and on
//! PostgreSQL as asked. Each PostgreSQL test database appends a line to a marker file
//! (`LATCHKEY_TEST_POSTGRES_MARKER`), so a run that asked for PostgreSQL fails if none was created.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::{Backend, cargo, run_checked};

const URL_VAR: &str = "LATCHKEY_TEST_POSTGRES_URL";
const MARKER_VAR: &str = "LATCHKEY_TEST_POSTGRES_MARKER";
/// The local server this project's machines run.
const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn local_postgres_listens() -> bool {
    let addr: SocketAddr = "127.0.0.1:5432".parse().expect("a valid address");
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// The PostgreSQL server `backend` asks for: none for SQLite; `configured` (required) for postgres; for
/// all, `configured` or else the local server when it listens. `how` tells the user how to name one.
pub fn postgres_url(backend: Backend, configured: Option<String>, how: &str) -> anyhow::Result<Option<String>> {
    Ok(match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            Some(configured.with_context(|| format!("--backend postgres needs {how} (e.g. {LOCAL_URL})"))?)
        }
        Backend::All => configured.or_else(|| local_postgres_listens().then(|| LOCAL_URL.to_owned())),
    })
}

/// Runs the suite; when PostgreSQL was asked for, fails unless its tests ran.
#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn run(backend: Backend) -> anyhow::Result<()> {
    let configured = std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty());
    let url = postgres_url(backend, configured, URL_VAR)?;
    if backend == Backend::All && url.is_none() {
        eprintln!("xtask: no PostgreSQL reachable; running the tests on SQLite only");
    }

    let marker = std::env::temp_dir().join(format!("latchkey-pg-marker-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"]);
    match &url {
        Some(url) => cmd.env(URL_VAR, url).env(MARKER_VAR, &marker),
        None => cmd.env_remove(URL_VAR).env_remove(MARKER_VAR),
    };
    let tests = run_checked(&mut cmd);

    // Count (and remove) the marker even when a test failed, so the output says how far PostgreSQL got.
    if url.is_some() {
        let created = std::fs::read_to_string(&marker).map(|s| s.lines().filter(|l| !l.trim().is_empty()).count());
        let _ = std::fs::remove_file(&marker);
        let created = created.unwrap_or(0);
        eprintln!("xtask: {created} PostgreSQL test databases were created");
        tests?;
        if created == 0 {
            bail!(
                "PostgreSQL was requested but no test created a PostgreSQL database \
                 ({MARKER_VAR} stayed empty): the PostgreSQL tests did not run"
            );
        }
        eprintln!("xtask: the tests ran on SQLite and on PostgreSQL");
    } else {
        tests?;
        eprintln!("xtask: the tests ran on SQLite only");
    }
    Ok(())
}
