//! `cargo xtask test`: `cargo test --workspace` (the README's test command), on SQLite always and on
//! PostgreSQL as asked. Each PostgreSQL test database appends a line to a marker file
//! (`LATCHKEY_TEST_POSTGRES_MARKER`), so a run that asked for PostgreSQL fails if none was created.

use anyhow::bail;

use crate::{Backend, cargo, run_checked};

const URL_VAR: &str = "LATCHKEY_TEST_POSTGRES_URL";
const MARKER_VAR: &str = "LATCHKEY_TEST_POSTGRES_MARKER";

/// Runs the suite; when PostgreSQL was asked for, fails unless its tests ran.
#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn run(backend: Backend) -> anyhow::Result<()> {
    let configured = std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty());
    let url = crate::postgres::server_url(backend, configured, URL_VAR)?;
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
