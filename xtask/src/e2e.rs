//! `cargo xtask e2e`: the docs pages proven in a real browser.
//!
//! Starts the release `latchkey` on a free loopback port with a fresh SQLite database and runs
//! `xtask/e2e/docs_pages.py`: Python Playwright driving Debian's headless Chromium through Swagger UI
//! (operation list, "Authorize" through the OAuth2 password form, "Try it out" on `GET /users/me`) and
//! ReDoc, and a new-device alert's "not me" page and button (the alert email captured from the server's
//! log), with every request that does not go to the server aborted. Screenshots and the server's log go
//! to a folder the command prints.
//!
//! What it needs, it installs when missing: the `chromium` package (apt-get, as root) and a virtualenv
//! with the pinned `playwright` from PyPI (in `target/e2e/venv`; Playwright never downloads a browser
//! here, it is pointed at `/usr/bin/chromium`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::server::{Profile, Server};
use crate::{install, run_checked, run_folder, workspace_root};

/// Debian's Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Use `target/release/latchkey` as it is (CI builds it once, before).
    pub prebuilt: bool,
    /// Where screenshots and the server log go; default `target/e2e/run-<process id>`.
    pub out: Option<PathBuf>,
}

#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn run(options: &Options) -> anyhow::Result<()> {
    let root = workspace_root();
    install::debian_package("chromium", CHROMIUM, || Path::new(CHROMIUM).exists())?;
    let python = install::venv(&root.join("target/e2e/venv"), &root.join("xtask/e2e/requirements.txt"))?;
    let binary = crate::server::binary(Profile::Release, options.prebuilt)?;
    let out = run_folder(options.out.as_deref(), "e2e")?;
    eprintln!("xtask: screenshots and the server log go to {}", out.display());

    let scratch = tempfile::tempdir()?;
    let database_url = format!("sqlite://{}", scratch.path().join("e2e.db").display());
    let env = [("SECRET_KEY", "e2e-only-secret-key-0123456789abcdefghijklmnop"), ("RUST_LOG", "info")];
    let server = Server::start("e2e", &binary, &database_url, &env, Some(&out.join("server.log")))?;
    let profile = scratch.path().join("chromium-profile");
    std::fs::create_dir(&profile).context("creating the browser profile")?;

    let result = run_checked(
        Command::new(&python)
            .arg(root.join("xtask/e2e/docs_pages.py"))
            .env("LATCHKEY_E2E_BASE_URL", format!("http://{}", server.addr))
            .env("LATCHKEY_E2E_SCREENSHOTS", &out)
            .env("LATCHKEY_E2E_CHROMIUM", CHROMIUM)
            .env("LATCHKEY_E2E_PROFILE", &profile)
            .env("LATCHKEY_E2E_SERVER_LOG", out.join("server.log"))
            // Playwright must use the browser it is given, never fetch one.
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
    );
    drop(server);
    eprintln!("xtask: screenshots: {}", out.display());
    eprintln!("xtask: server log:  {}", out.join("server.log").display());
    result
}
