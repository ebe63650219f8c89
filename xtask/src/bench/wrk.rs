//! Runs wrk (Debian's package, installed when missing) for `cargo xtask bench`, so the bench's throughput
//! figures are wrk's own: the load runs are a plain `wrk -t2 -c32 -d…` with a Lua script that only adds
//! what a command line cannot (each connection following its own refresh-token chain) and reports one JSON
//! line. The scripts are in `xtask/bench/`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use serde_json::Value;

const REPORT_LUA: &str = include_str!("../../bench/report.lua");
const FLOOD_LUA: &str = include_str!("../../bench/flood.lua");

/// Makes sure `wrk` is on the PATH, installing Debian's package (as root) when it is not.
pub fn ensure_installed() -> anyhow::Result<()> {
    crate::install::debian_package("wrk", "wrk", || {
        Command::new("wrk").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
    })
}

/// One wrk load run.
pub struct Run<'a> {
    pub addr: SocketAddr,
    pub method: &'static str,
    pub path: &'static str,
    pub threads: usize,
    pub connections: usize,
    pub duration: Duration,
    /// `Authorization` header value.
    pub authorization: Option<&'a str>,
    pub user_agent: &'a str,
    /// Refresh tokens, [`Run::tokens_needed`] of them: the run posts `{"refresh_token": …}` and follows
    /// each chain.
    pub refresh_tokens: &'a [String],
    /// A JSON body every request sends (e.g. a login's credentials).
    pub body: Option<&'a str>,
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub requests: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
}

impl Run<'_> {
    /// How many refresh tokens a refresh run takes: one per connection, and one more per thread, because
    /// wrk asks each thread's `request()` for one request before its connections start (found by
    /// watching the first request on the wire carry no token).
    pub fn tokens_needed(&self) -> usize {
        self.connections + self.threads
    }

    /// The command line a person would type to repeat this run (without the script's extras).
    pub fn command_line(&self) -> String {
        format!(
            "wrk -t{} -c{} -d{}s --latency{} http://{}{}",
            self.threads,
            self.connections,
            self.duration.as_secs(),
            if self.authorization.is_some() { " -H 'Authorization: Bearer …'" } else { "" },
            self.addr,
            self.path
        )
    }

    fn script(&self) -> anyhow::Result<String> {
        let mut s = String::new();
        writeln!(s, "wrk.method = {}", lua_string(self.method))?;
        writeln!(s, "wrk.headers[\"User-Agent\"] = {}", lua_string(self.user_agent))?;
        if let Some(value) = self.authorization {
            writeln!(s, "wrk.headers[\"Authorization\"] = {}", lua_string(value))?;
        }
        if let Some(body) = self.body {
            writeln!(s, "wrk.headers[\"Content-Type\"] = \"application/json\"")?;
            writeln!(s, "wrk.body = {}", lua_string(body))?;
        }
        if !self.refresh_tokens.is_empty() {
            ensure!(
                self.refresh_tokens.len() == self.tokens_needed() && self.connections.is_multiple_of(self.threads),
                "a refresh run needs tokens_needed() tokens and connections divisible by threads"
            );
            writeln!(s, "wrk.headers[\"Content-Type\"] = \"application/json\"")?;
            writeln!(s, "wrk_threads = {}", self.threads)?;
            s.push_str("tokens = {");
            for token in self.refresh_tokens {
                write!(s, "{},", lua_string(token))?;
            }
            s.push_str("}\n");
        }
        s.push_str(REPORT_LUA);
        Ok(s)
    }

    /// Runs wrk to the end; any answer other than 200 or any socket error fails the run.
    pub fn run(&self, dir: &Path) -> anyhow::Result<Outcome> {
        let script = dir.join(format!("run-{}.lua", self.path.replace('/', "_")));
        std::fs::write(&script, self.script()?)?;
        let output = self
            .command(&script)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("could not run `{}`", self.command_line()))?;
        ensure!(
            output.status.success(),
            "`{}` failed: {}",
            self.command_line(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let line =
            last_json_line(&output.stdout).with_context(|| format!("`{}` printed no report", self.command_line()))?;
        let count = |name: &str| line[name].as_u64().unwrap_or(0);
        let (non_2xx, unexpected, socket) = (count("non_2xx"), count("unexpected"), count("socket_errors"));
        if non_2xx + unexpected + socket > 0 {
            bail!(
                "{} {}: {non_2xx} non-2xx answers, {unexpected} answers other than the expected, {socket} socket \
                 errors (first: {})",
                self.method,
                self.path,
                line["sample"].as_str().unwrap_or("")
            );
        }
        Ok(Outcome {
            requests: count("requests"),
            seconds: count("duration_us") as f64 / 1e6,
            p50_ms: count("p50_us") as f64 / 1e3,
            p90_ms: count("p90_us") as f64 / 1e3,
            p99_ms: count("p99_us") as f64 / 1e3,
            max_ms: count("max_us") as f64 / 1e3,
        })
    }

    fn command(&self, script: &Path) -> Command {
        let mut cmd = Command::new("wrk");
        cmd.arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", self.duration.as_secs().max(1)))
            .args(["--timeout", "10s", "-s"])
            .arg(script)
            .arg(format!("http://{}{}", self.addr, self.path));
        cmd
    }
}

/// A login flood running in the background (`xtask/bench/flood.lua`).
pub struct Flood {
    child: Child,
    pub command_line: String,
}

/// How the flood's logins were answered.
#[derive(Debug, Clone, Copy)]
pub struct FloodCounts {
    /// 401: admitted and verified (a wrong password).
    pub rejected: u64,
    /// 503 with `Retry-After`: shed.
    pub shed: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Flood {
    /// Starts `connections` connections sending logins back to back for `duration`.
    pub fn start(addr: SocketAddr, connections: usize, duration: Duration, dir: &Path) -> anyhow::Result<Flood> {
        let script = dir.join("flood.lua");
        std::fs::write(&script, FLOOD_LUA)?;
        let url = format!("http://{addr}/api/v1/auth/login");
        let child = Command::new("wrk")
            .arg("-t1")
            .arg(format!("-c{connections}"))
            .arg(format!("-d{}s", duration.as_secs().max(1)))
            .args(["--timeout", "10s", "-s"])
            .arg(&script)
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("could not start wrk for the flood")?;
        Ok(Flood { child, command_line: format!("wrk -t1 -c{connections} -s xtask/bench/flood.lua {url}") })
    }

    /// Waits for the flood to end; any answer other than 401 or 503 with `Retry-After`, or a socket error,
    /// fails the run.
    pub fn finish(self) -> anyhow::Result<FloodCounts> {
        let output = self.child.wait_with_output()?;
        ensure!(output.status.success(), "the flood's wrk failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        let line = last_json_line(&output.stdout).context("the flood's wrk printed no report")?;
        let count = |name: &str| line[name].as_u64().unwrap_or(0);
        let (other, socket) = (count("other"), count("socket_errors"));
        if other + socket > 0 {
            bail!(
                "the flood got {other} answers other than 401 or 503 with Retry-After and {socket} socket errors \
                 (first: {})",
                line["sample"].as_str().unwrap_or("")
            );
        }
        Ok(FloodCounts {
            rejected: count("rejected"),
            shed: count("shed"),
            seconds: count("duration_us") as f64 / 1e6,
            p50_ms: count("p50_us") as f64 / 1e3,
            p99_ms: count("p99_us") as f64 / 1e3,
        })
    }
}

fn last_json_line(stdout: &[u8]) -> Option<Value> {
    String::from_utf8_lossy(stdout).lines().rev().find_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
}

/// A Lua string literal (long-bracket free: the values are tokens and header values, quoted and escaped).
fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\{}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lua_strings_are_escaped() {
        assert_eq!(lua_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(lua_string("x\ny"), "\"x\\10y\"");
    }

    #[test]
    fn the_report_is_the_last_json_line() {
        let out = b"Running 1s test\n  2 threads\n{\"requests\":5}\n";
        assert_eq!(last_json_line(out).unwrap()["requests"], 5);
        assert!(last_json_line(b"no json here\n").is_none());
    }
}
