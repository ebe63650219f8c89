//! The one server supervisor of the xtask commands: builds (unless `--prebuilt`) and finds the `latchkey`
//! binary, starts `latchkey serve` on a free loopback port with a clean environment plus the settings a
//! command gives, waits until `GET /health` answers 200, sends its log to a file, stops it with SIGTERM
//! when asked, and kills it when dropped while it still runs. It also reads the process's memory and
//! thread count from `/proc` for the benchmarks.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

use crate::{cargo, run_checked, workspace_root};

/// How long a server may take to answer `GET /health` after it started.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Which build of `latchkey` to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Release,
    Debug,
}

/// The `latchkey` binary of `profile`: built first unless `prebuilt` (CI builds the release binary once,
/// for every command that needs it).
pub fn binary(profile: Profile, prebuilt: bool) -> anyhow::Result<PathBuf> {
    let (folder, flag) = match profile {
        Profile::Release => ("release", Some("--release")),
        Profile::Debug => ("debug", None),
    };
    if !prebuilt {
        let mut build = cargo();
        build.args(["build"]).args(flag).args(["-p", "latchkey-http", "--bin", "latchkey"]);
        run_checked(&mut build)?;
    }
    let binary = workspace_root().join("target").join(folder).join("latchkey");
    ensure!(
        binary.exists(),
        "{} is missing: build it (cargo build{} -p latchkey-http --bin latchkey)",
        binary.display(),
        flag.map(|f| format!(" {f}")).unwrap_or_default()
    );
    Ok(binary)
}

/// A running `latchkey serve`; killed on drop if it still runs.
#[derive(Debug)]
pub struct Server {
    /// Named in messages (several servers may run at once).
    pub name: String,
    child: Child,
    pub addr: SocketAddr,
    /// Where its stderr (the log) goes; `None`: inherited.
    pub log: Option<PathBuf>,
}

impl Server {
    /// Starts `binary serve` on `database_url` with `AUTO_MIGRATE=true` and nothing else from this
    /// process's environment but `PATH`; `env` adds the rest (later pairs win). Waits until it is healthy.
    pub fn start(
        name: &str,
        binary: &Path,
        database_url: &str,
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> anyhow::Result<Server> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("AUTO_MIGRATE", "true")
            .envs(env.iter().copied())
            .current_dir(std::env::temp_dir()) // away from any developer `.env`
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Some(log) = log {
            cmd.stderr(File::create(log).with_context(|| format!("creating {}", log.display()))?);
        }
        let child = cmd.spawn().with_context(|| format!("could not start {}", binary.display()))?;
        let mut server = Server { name: name.to_owned(), child, addr, log: log.map(Path::to_path_buf) };
        server.wait_healthy()?;
        Ok(server)
    }

    fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                let tail = self.log.as_ref().and_then(|l| std::fs::read_to_string(l).ok()).unwrap_or_default();
                bail!("{}: the server exited during start-up ({status}):\n{tail}", self.name);
            }
            if crate::client::healthy(self.addr) {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "{}: the server did not become healthy within {} s",
                self.name,
                START_LIMIT.as_secs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&mut self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("could not run kill")?;
        ensure!(status.success(), "kill -TERM {} failed ({status})", self.child.id());
        Ok(())
    }

    /// The exit status, once the process has ended.
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// The log written so far (empty when it is not kept in a file).
    pub fn log_text(&self) -> anyhow::Result<String> {
        match &self.log {
            Some(log) => std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display())),
            None => Ok(String::new()),
        }
    }

    /// The thread count, from `/proc`.
    pub fn threads(&self) -> anyhow::Result<u64> {
        let status = self.proc_status()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|v| v.trim().parse().ok())
            .context("no Threads in /proc status")
    }

    /// (VmRSS, VmHWM) in KiB, from `/proc`.
    pub fn memory(&self) -> anyhow::Result<(u64, u64)> {
        let status = self.proc_status()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .with_context(|| format!("no {name} in /proc status"))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    fn proc_status(&self) -> anyhow::Result<String> {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("could not read the server's /proc status (Linux only)")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
