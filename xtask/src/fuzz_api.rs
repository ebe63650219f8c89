//! `cargo xtask fuzz-api`: hostile input against the served OpenAPI document.
//!
//! Starts `latchkey` (release by default, `--debug` for the debug build) on a free loopback port with a
//! fresh SQLite database in a temporary folder, rate limits off (`RATE_LIMIT_SCALE=0`) and a superuser
//! made at start-up, then runs schemathesis (pinned in `xtask/fuzz/requirements.txt`, installed from PyPI
//! into `target/fuzz-api/venv`) against `/api/v1/openapi.json`: every operation, every check
//! (`--checks all`: no 5xx, status codes, content types, headers and bodies as documented, valid data
//! accepted, invalid data rejected, 405 with `Allow` for undocumented methods, auth not ignored, …), all
//! four phases (examples, coverage, fuzzing, stateful), for `--max-time` seconds. Fuzzing and the
//! stateful phase keep drawing new cases until the budget is spent, so the budget, not a case count,
//! bounds the run.
//!
//! Authentication, the rules that JSON Schema cannot state (each a named exception with its reason) and
//! the bookkeeping live in the hooks, `xtask/fuzz/latchkey_hooks.py`: a normal user's bearer token for
//! most operations and a superuser's for the administrative ones, each checked and renewed (by logging
//! in again, or with a new account when the old one was deactivated, deleted or had its password
//! changed) whenever an earlier call may have ended it, so operations that end the caller's session do
//! not poison the rest of the run.
//!
//! The report (JUnit XML) and the server's log go to a folder the command prints; any failure fails the
//! command.

use std::path::PathBuf;
use std::process::Command;

use crate::server::{Profile, Server};
use crate::{install, run_checked, run_folder, workspace_root};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Use the binary as built (CI builds the release binary once, before).
    pub prebuilt: bool,
    /// Fuzz `target/debug/latchkey` instead of `target/release/latchkey`.
    pub debug: bool,
    /// The time budget of the schemathesis run, in seconds.
    pub max_time: u64,
    /// schemathesis' random seed, to replay a run; a random one (printed) by default.
    pub seed: Option<u64>,
    /// Where the report and the server log go; default `target/fuzz-api/run-<process id>`.
    pub out: Option<PathBuf>,
}

/// The superuser the server creates at start-up (`FIRST_SUPERUSER_*`); the hooks log in as it.
const ADMIN_EMAIL: &str = "fuzz-admin@example.com";
/// The password of every account the run makes (it meets the password policy).
const PASSWORD: &str = "Fuzz-Password-9!";
/// Only this run's server sees it.
const SECRET_KEY: &str = "fuzz-only-secret-key-0123456789abcdefghijklmnop";

#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn run(options: &Options) -> anyhow::Result<()> {
    let root = workspace_root();
    let python = install::venv(&root.join("target/fuzz-api/venv"), &root.join("xtask/fuzz/requirements.txt"))?;
    let st = python.with_file_name("st");
    let profile = if options.debug { Profile::Debug } else { Profile::Release };
    let binary = crate::server::binary(profile, options.prebuilt)?;
    let out = run_folder(options.out.as_deref(), "fuzz-api")?;
    eprintln!("xtask: the report and the server log go to {}", out.display());

    let scratch = tempfile::tempdir()?;
    let database_url = format!("sqlite://{}", scratch.path().join("fuzz.db").display());
    let env = [
        ("SECRET_KEY", SECRET_KEY),
        ("RATE_LIMIT_SCALE", "0"),
        // The fuzzer sends thousands of wrong current passwords for its own accounts: the per-account
        // throttle would lock them out (it is tested on its own).
        ("LOGIN_MAX_FAILURES", "100000"),
        ("FIRST_SUPERUSER_EMAIL", ADMIN_EMAIL),
        ("FIRST_SUPERUSER_PASSWORD", PASSWORD),
        ("RUST_LOG", "warn"),
    ];
    let server = Server::start("fuzz-api", &binary, &database_url, &env, Some(&out.join("server.log")))?;
    let base_url = format!("http://{}", server.addr);

    let mut st_run = Command::new(&st);
    st_run
        .args(["run", &format!("{base_url}/api/v1/openapi.json")])
        .args(["--checks", "all", "--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-time", &options.max_time.to_string()])
        // One worker: the server gets the other core, and a call that ends the caller's session can
        // never race another call that is using that session's token.
        .args(["--workers", "1", "--request-timeout", "30", "--generation-database", "none"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&out)
        .args(["--no-color", "--output-truncate", "false"]);
    if let Some(seed) = options.seed {
        st_run.args(["--seed", &seed.to_string()]);
    }
    let result = run_checked(
        st_run
            .current_dir(&out)
            .env("SCHEMATHESIS_HOOKS", "latchkey_hooks")
            .env("PYTHONPATH", root.join("xtask/fuzz"))
            .env("LATCHKEY_FUZZ_BASE_URL", &base_url)
            .env("LATCHKEY_FUZZ_BINARY", &binary)
            .env("LATCHKEY_FUZZ_DATABASE_URL", &database_url)
            .env("LATCHKEY_FUZZ_SECRET_KEY", SECRET_KEY)
            .env("LATCHKEY_FUZZ_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("LATCHKEY_FUZZ_PASSWORD", PASSWORD),
    );
    drop(server);
    eprintln!("xtask: the JUnit report and the server log are in {}", out.display());
    result
}
