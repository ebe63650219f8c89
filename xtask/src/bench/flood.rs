//! `cargo xtask bench --flood`: what a login flood does to everyone else. `GET /users/me` from a few
//! connections, undisturbed and then while hundreds of other connections send logins (wrk with
//! `xtask/bench/flood.lua`), with the server's memory and thread count.

use std::path::Path;
use std::time::Duration;

use super::wrk::{self, Flood, Outcome};
use super::{Options, accounts, measure, outcome_json, start_server};
use crate::client::USER_AGENT;

/// One backend's figures under a login flood.
pub(super) struct Report {
    backend: &'static str,
    flooders: usize,
    quiet: Outcome,
    during: Outcome,
    flood: wrk::FloodCounts,
    rss_kib: u64,
    peak_rss_kib: u64,
    threads: u64,
    flood_command: String,
    me_command: String,
}

impl Report {
    #[expect(clippy::print_stdout, reason = "the report is the command's output")]
    pub(super) fn print(&self, options: &Options) {
        let ratio = self.during.per_second() / self.quiet.per_second().max(1e-9);
        let flood_rate = |n: u64| n as f64 / self.flood.seconds.max(1e-9);
        if options.json {
            let line = serde_json::json!({
                "backend": self.backend,
                "mode": "flood",
                "me_connections": options.connections,
                "flood_connections": self.flooders,
                "duration_seconds": options.duration.as_secs_f64(),
                "me_quiet": outcome_json(&self.quiet),
                "me_during_flood": outcome_json(&self.during),
                "throughput_ratio": ratio,
                "flood": {
                    "rejected_401": self.flood.rejected,
                    "shed_503": self.flood.shed,
                    "verified_per_second": flood_rate(self.flood.rejected).round(),
                    "shed_per_second": flood_rate(self.flood.shed).round(),
                    "p50_ms": self.flood.p50_ms,
                    "p99_ms": self.flood.p99_ms,
                },
                "rss_kib": self.rss_kib,
                "peak_rss_kib": self.peak_rss_kib,
                "threads": self.threads,
                "commands": [self.me_command, self.flood_command],
            });
            println!("{line}");
            return;
        }
        println!();
        println!(
            "{} — GET /users/me from {} connection(s), then during a login flood from {} connections, {:.0} s each",
            self.backend,
            options.connections,
            self.flooders,
            options.duration.as_secs_f64()
        );
        for (name, o) in [("undisturbed", &self.quiet), ("during the flood", &self.during)] {
            println!(
                "  {:<18} {:>9.0} req/s  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
                name,
                o.per_second(),
                o.p50_ms,
                o.p90_ms,
                o.p99_ms,
                o.max_ms
            );
        }
        println!("  throughput kept    {:.0} %", ratio * 100.0);
        println!(
            "  flood logins       {:.0}/s verified (401), {:.0}/s shed (503); their p50 {:.0} ms, p99 {:.0} ms",
            flood_rate(self.flood.rejected),
            flood_rate(self.flood.shed),
            self.flood.p50_ms,
            self.flood.p99_ms
        );
        println!(
            "  server memory      {} MiB resident, {} MiB peak; {} threads",
            self.rss_kib / 1024,
            self.peak_rss_kib / 1024,
            self.threads
        );
        println!("  commands           {}  |  {}", self.me_command, self.flood_command);
    }
}

#[expect(clippy::print_stderr, reason = "progress goes to stderr")]
pub(super) fn measure_flood(
    binary: &Path,
    backend: &'static str,
    database_url: &str,
    options: &Options,
    flooders: usize,
    dir: &Path,
) -> anyhow::Result<Report> {
    eprintln!("xtask: login flood on {backend}");
    let server = start_server(binary, database_url, &options.server_env)?;
    let addr = server.addr;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let accounts = runtime.block_on(accounts(addr, 1))?;
    let me = wrk::Run {
        addr,
        method: "GET",
        path: "/api/v1/users/me",
        threads: options.threads.min(options.connections),
        connections: options.connections,
        duration: options.duration,
        authorization: Some(&accounts.me),
        user_agent: USER_AGENT,
        refresh_tokens: &[],
        body: None,
    };
    let quiet = measure(&me, options.warmup, dir)?;
    // The flood fills the server's queues for a while before and after the measured run.
    let settle = Duration::from_secs(2);
    let flood = Flood::start(addr, flooders, settle + options.duration + settle, dir)?;
    let flood_command = flood.command_line.clone();
    std::thread::sleep(settle);
    let during = me.run(dir);
    let threads = server.threads()?;
    let flood_counts = flood.finish();
    let (during, flood_counts) = (during?, flood_counts?);
    let (rss_kib, peak_rss_kib) = server.memory()?;
    Ok(Report {
        backend,
        flooders,
        quiet,
        during,
        flood: flood_counts,
        rss_kib,
        peak_rss_kib,
        threads,
        me_command: me.command_line(),
        flood_command,
    })
}
