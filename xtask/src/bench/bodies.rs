//! `cargo xtask bench --bodies`: what large anonymous request bodies cost the release server, and what
//! they do to everyone else. For each kind of body, on a fresh server (SQLite; bodies never reach the
//! database): `--body-count` connections (default 16) each send one `POST /api/v1/auth/login` of
//! `--body-mib` MiB (default 8) at once, while another client, on its own thread and connection, sends
//! `GET /users/me` one after another. Reported: the answers to the bodies, the server's peak memory
//! increase (VmHWM after the wave minus VmRSS before it, from `/proc`), and the other client's latency
//! undisturbed and during the wave.
//!
//! Each login is for a new unknown email with a wrong password: it costs a full argon2id verification,
//! as an attacker's would. The kinds: an unknown field holding one long string; an unknown field holding an array of tiny values
//! (`[0,0,…]`, the shape that costs most when parsed into a tree); a password as long as the body.
//! Figures are printed, never asserted.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};

use super::{PASSWORD, log_in, percentile_ms, register, start_server};
use crate::client::Client;
use crate::server::Profile;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub count: usize,
    pub mib: usize,
    pub server_env: Vec<(String, String)>,
    pub prebuilt: bool,
    pub json: bool,
}

const WAVES: usize = 3;

/// The kinds of body sent, by name.
const KINDS: [&str; 3] = ["unknown field, one string", "unknown field, tiny values", "password"];

fn body(kind: usize, bytes: usize) -> String {
    let fill = |overhead: usize| bytes.saturating_sub(overhead);
    match kind {
        0 => {
            format!(r#"{{"email":"nobody@example.com","password":"{PASSWORD}","padding":"{}"}}"#, "x".repeat(fill(80)))
        }
        1 => {
            format!(
                r#"{{"email":"nobody@example.com","password":"{PASSWORD}","padding":[{}0]}}"#,
                "0,".repeat(fill(80) / 2)
            )
        }
        _ => format!(r#"{{"email":"nobody@example.com","password":"{}"}}"#, "x".repeat(fill(50))),
    }
}

#[expect(clippy::print_stderr, reason = "progress goes to stderr")]
pub fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(options.count > 0 && options.mib > 0, "--body-count and --body-mib must be at least 1");
    let binary = crate::server::binary(Profile::Release, options.prebuilt)?;
    let dir = tempfile::tempdir()?;
    let mut reports = Vec::new();
    for (kind, name) in KINDS.iter().enumerate() {
        eprintln!("xtask: {} bodies of {} MiB, {name}", options.count, options.mib);
        let url = format!("sqlite://{}", dir.path().join(format!("bodies-{kind}.db")).display());
        reports.push(measure(&binary, &url, options, kind)?);
    }
    for report in &reports {
        report.print(options);
    }
    Ok(())
}

struct Report {
    kind: &'static str,
    /// (status, count) of the bodies' answers, over all waves.
    answers: Vec<(u16, usize)>,
    /// The slowest wave, from the first byte sent to the last answer.
    wave_seconds: f64,
    rss_before_kib: u64,
    peak_kib: u64,
    quiet: Latency,
    during: Latency,
}

struct Latency {
    n: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Latency {
    fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort_unstable();
        Latency {
            n: samples.len(),
            p50_ms: percentile_ms(&samples, 50.0),
            p99_ms: percentile_ms(&samples, 99.0),
            max_ms: samples.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({"requests": self.n, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "max_ms": self.max_ms})
    }
}

impl Report {
    #[expect(clippy::print_stdout, reason = "the report is the command's output")]
    fn print(&self, options: &Options) {
        let increase_mib = (self.peak_kib.saturating_sub(self.rss_before_kib)) as f64 / 1024.0;
        if options.json {
            let line = serde_json::json!({
                "mode": "bodies",
                "kind": self.kind,
                "bodies": options.count,
                "body_mib": options.mib,
                "waves": WAVES,
                "answers": self.answers.iter().map(|(s, n)| serde_json::json!({"status": s, "count": n})).collect::<Vec<_>>(),
                "slowest_wave_seconds": self.wave_seconds,
                "rss_before_kib": self.rss_before_kib,
                "peak_rss_kib": self.peak_kib,
                "peak_increase_mib": increase_mib,
                "me_quiet": self.quiet.json(),
                "me_during": self.during.json(),
            });
            println!("{line}");
            return;
        }
        println!();
        println!(
            "{} concurrent anonymous POST /auth/login of {} MiB ({}), {WAVES} waves",
            options.count, options.mib, self.kind
        );
        let answers: Vec<String> = self.answers.iter().map(|(s, n)| format!("{n}× {s}")).collect();
        println!("  answers            {}; slowest wave {:.2} s", answers.join(", "), self.wave_seconds);
        println!(
            "  server memory      {:.0} MiB before, {:.0} MiB peak: +{increase_mib:.0} MiB",
            self.rss_before_kib as f64 / 1024.0,
            self.peak_kib as f64 / 1024.0
        );
        for (name, l) in [("undisturbed", &self.quiet), ("during the bodies", &self.during)] {
            println!(
                "  GET /users/me {name:<18} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} requests)",
                l.p50_ms, l.p99_ms, l.max_ms, l.n
            );
        }
    }
}

fn measure(binary: &Path, database_url: &str, options: &Options, kind: usize) -> anyhow::Result<Report> {
    let server = start_server(binary, database_url, &options.server_env)?;
    let addr = server.addr;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let bearer = runtime.block_on(bearer(addr))?;
    let body: Arc<str> = body(kind, options.mib * 1024 * 1024).into();

    let quiet = Latency::of(me_for(addr, &bearer, Duration::from_secs(3))?);
    let (rss_before_kib, _) = server.memory()?;

    let stop = Arc::new(AtomicBool::new(false));
    let me = {
        let (stop, bearer) = (stop.clone(), bearer.clone());
        std::thread::spawn(move || me_until(addr, &bearer, &stop))
    };
    // Let the other client settle on its connection before the bodies arrive.
    std::thread::sleep(Duration::from_millis(200));
    let mut answers: Vec<(u16, usize)> = Vec::new();
    let mut wave_seconds: f64 = 0.0;
    for wave in 0..WAVES {
        let started = Instant::now();
        let statuses = runtime.block_on(async {
            let sends: Vec<_> = (0..options.count)
                .map(|i| {
                    // A new email each, so that the per-account login throttle (429) does not answer
                    // them before the password check.
                    let body = body.replacen("nobody@", &format!("nobody-{wave}-{i}@"), 1);
                    tokio::spawn(async move {
                        let mut client = Client::new(addr);
                        client.send("POST", "/api/v1/auth/login", None, Some(&body)).await.map(|answer| answer.status)
                    })
                })
                .collect();
            let mut statuses = Vec::new();
            for send in sends {
                statuses.push(send.await.context("a sender panicked")??);
            }
            anyhow::Ok(statuses)
        })?;
        wave_seconds = wave_seconds.max(started.elapsed().as_secs_f64());
        for status in statuses {
            match answers.iter_mut().find(|(s, _)| *s == status) {
                Some((_, n)) => *n += 1,
                None => answers.push((status, 1)),
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let during = Latency::of(me.join().map_err(|_| anyhow::anyhow!("the GET /users/me client panicked"))??);
    let (_, peak_kib) = server.memory()?;
    answers.sort_unstable();
    Ok(Report { kind: KINDS[kind], answers, wave_seconds, rss_before_kib, peak_kib, quiet, during })
}

/// Registers a user and logs in: its access token.
async fn bearer(addr: SocketAddr) -> anyhow::Result<String> {
    let mut client = Client::new(addr);
    let credentials = register(&mut client, "bodies").await?;
    Ok(log_in(&mut client, &credentials).await?.0)
}

fn me_for(addr: SocketAddr, bearer: &str, how_long: Duration) -> anyhow::Result<Vec<Duration>> {
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(how_long);
            stop.store(true, Ordering::Relaxed);
        })
    };
    let samples = me_until(addr, bearer, &stop);
    let _ = timer.join();
    samples
}

/// `GET /users/me` one after another on one keep-alive connection until `stop`: each one's latency.
fn me_until(addr: SocketAddr, bearer: &str, stop: &AtomicBool) -> anyhow::Result<Vec<Duration>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut client = Client::new(addr);
        let mut samples = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let answer = tokio::time::timeout(
                Duration::from_secs(60),
                client.send("GET", "/api/v1/users/me", Some(bearer), None),
            )
            .await
            .context("GET /users/me went unanswered for 60 s")??;
            ensure!(answer.status == 200, "GET /users/me answered {}: {}", answer.status, answer.body);
            samples.push(started.elapsed());
        }
        Ok(samples)
    })
}
