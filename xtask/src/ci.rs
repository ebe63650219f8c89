//! `cargo xtask ci`: what CI checks, in order, stopping at the first failure.

use anyhow::{Context as _, ensure};

use crate::{Backend, cargo, run_checked};

#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
fn section(name: &str) {
    eprintln!("\n== {name} ==");
}

/// The crate arrows of `docs/architecture.md` (also tests in latchkey-http): `cargo tree` of a crate must not list
/// the banned crates.
fn check_arrows() -> anyhow::Result<()> {
    for (package, banned) in
        [("latchkey-domain", &["diesel", "actix-web", "tokio"][..]), ("latchkey-cleanup", &["actix-web"][..])]
    {
        let out = cargo()
            .args(["tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}"])
            .output()
            .context("running cargo tree")?;
        ensure!(out.status.success(), "cargo tree -p {package} failed");
        let tree = String::from_utf8_lossy(&out.stdout);
        for crate_name in banned {
            let found = tree.lines().any(|l| l.split_whitespace().next() == Some(crate_name));
            ensure!(!found, "{package} must not depend on {crate_name}");
        }
    }
    Ok(())
}

/// Runs every check; PostgreSQL is required.
pub fn run() -> anyhow::Result<()> {
    section("cargo fmt --check");
    run_checked(cargo().args(["fmt", "--all", "--", "--check"]))?;
    section("cargo clippy -D warnings");
    run_checked(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    section("tests on SQLite and PostgreSQL (cargo test --workspace)");
    crate::test::run(Backend::Postgres)?;
    section("crate arrows");
    check_arrows()?;
    Ok(())
}
