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

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

use crate::{cargo, run_checked, workspace_root};

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
    ensure_chromium()?;
    let python = ensure_venv(&root.join("target/e2e/venv"), &root.join("xtask/e2e/requirements.txt"))?;
    if !options.prebuilt {
        run_checked(cargo().args(["build", "--release", "-p", "latchkey-http", "--bin", "latchkey"]))?;
    }
    let binary = root.join("target/release/latchkey");
    ensure!(binary.exists(), "{} is missing: build it (cargo build --release -p latchkey-http)", binary.display());

    let out = match &options.out {
        Some(dir) => dir.clone(),
        None => root.join(format!("target/e2e/run-{}", std::process::id())),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let out = out.canonicalize()?;
    eprintln!("xtask: screenshots and the server log go to {}", out.display());

    let scratch = tempfile::tempdir()?;
    let database_url = format!("sqlite://{}", scratch.path().join("e2e.db").display());
    let server = Server::start(&binary, &database_url, &out.join("server.log"), &[])?;
    let profile = scratch.path().join("chromium-profile");
    std::fs::create_dir(&profile)?;

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

/// Installs Debian's `chromium` when it is missing.
#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
fn ensure_chromium() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    eprintln!("xtask: {CHROMIUM} is missing: installing Debian's chromium package");
    run_checked(Command::new("apt-get").args(["update", "-qq"]).env("DEBIAN_FRONTEND", "noninteractive"))
        .context("apt-get update (installing chromium needs root)")?;
    run_checked(
        Command::new("apt-get").args(["install", "-y", "-qq", "chromium"]).env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    ensure!(Path::new(CHROMIUM).exists(), "the chromium package did not install {CHROMIUM}");
    Ok(())
}

/// A virtualenv with the pinned packages of `requirements` (e.g. Playwright from
/// `xtask/e2e/requirements.txt`); returns its python.
#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub(crate) fn ensure_venv(venv: &Path, requirements: &Path) -> anyhow::Result<PathBuf> {
    let python = venv.join("bin/python");
    // The installed requirements are remembered next to the venv; a changed pin reinstalls.
    let stamp = venv.join("requirements.installed");
    let wanted =
        std::fs::read_to_string(requirements).with_context(|| format!("reading {}", requirements.display()))?;
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    eprintln!("xtask: setting up {} with {}", venv.display(), wanted.trim());
    if !python.exists() {
        run_checked(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    }
    run_checked(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(requirements),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

/// The server on a free loopback port, its stderr in a file, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// Starts `binary serve` on `database_url`; `env` adds to (or overrides) the variables set here.
    pub(crate) fn start(binary: &Path, database_url: &str, log: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(binary)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("SECRET_KEY", "e2e-only-secret-key-0123456789abcdefghijklmnop")
            .env("AUTO_MIGRATE", "true")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .current_dir(std::env::temp_dir()) // away from any developer `.env`
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let mut server = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait()? {
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                bail!("the server exited during start-up ({status}):\n{tail}");
            }
            if answers_healthy(addr) {
                return Ok(server);
            }
            ensure!(Instant::now() < deadline, "the server did not become healthy within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `GET /health` answers 200.
fn answers_healthy(addr: SocketAddr) -> bool {
    use std::io::{Read as _, Write as _};
    let probe = || -> std::io::Result<bool> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")?;
        let mut head = [0; 12];
        stream.read_exact(&mut head)?;
        Ok(head.ends_with(b" 200"))
    };
    probe().unwrap_or(false)
}
