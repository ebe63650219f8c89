//! `cargo xtask bench`: measures the release `latchkey` binary the way a client meets it, over HTTP on
//! loopback, on SQLite and (when reachable) PostgreSQL:
//!
//! - **login**: sequential `POST /auth/login` calls; latency is dominated by one argon2id verification;
//! - **auth check**: `GET /users/me` from many keep-alive connections (token decode + one user/session query);
//! - **refresh**: `POST /auth/refresh`, each connection following its own rotation chain (one write
//!   transaction per call);
//! - **health**: `GET /health` (one trivial query), the floor of the stack;
//! - the server's resident memory (VmRSS now, VmHWM peak) after the runs.
//!
//! With `--flood` it measures instead what a login flood does to everyone else: `GET /users/me` from a few
//! clients, undisturbed and then while hundreds of other connections send logins as fast as the server
//! answers (rate limits off, as behind a NAT or under a distributed attack), with the server's peak memory
//! and thread count. Every flood login is for an unknown email with a wrong password, so each one the
//! server admits costs a full argon2id verification; it answers 401, or 503 when the hashing queue sheds it.
//! Anything else, from either side, fails the run.
//!
//! The load generator is built in (nothing to install): keep-alive HTTP/1.1 connections driven by one
//! event-loop thread, like wrk's, so it takes as little CPU from the server as it can. Figures are printed, never
//! asserted: speed is measured here, not in tests.

use std::cell::Cell;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::{Backend, cargo, run_checked, workspace_root};

/// What to run and for how long.
#[derive(Debug, Clone)]
pub struct Options {
    pub backend: Backend,
    pub duration: Duration,
    pub connections: usize,
    pub logins: usize,
    pub postgres_url: Option<String>,
    pub json: bool,
    /// `--flood`: the number of flooding connections.
    pub flood: Option<usize>,
}

const PASSWORD: &str = "Bench-Password-9!";
const USER_AGENT: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(options.connections > 0, "--connections must be at least 1");
    ensure!(options.logins > 0, "--logins must be at least 1");
    let postgres = crate::test::postgres_url(
        options.backend,
        options.postgres_url.clone(),
        "--postgres-url or LATCHKEY_TEST_POSTGRES_URL",
    )?;
    if options.backend == Backend::All && postgres.is_none() {
        eprintln!("xtask: no PostgreSQL reachable; benchmarking SQLite only");
    }
    run_checked(cargo().args(["build", "--release", "-p", "latchkey-http", "--bin", "latchkey"]))?;
    let binary = workspace_root().join("target/release/latchkey");

    let dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    if let Some(flooders) = options.flood {
        let mut reports = vec![flood_backend(&binary, "sqlite", &sqlite_url, options, flooders)?];
        if let Some(admin_url) = postgres {
            let database = ScratchDatabase::create(&admin_url)?;
            reports.push(flood_backend(&binary, "postgres", &database.url, options, flooders)?);
        }
        for report in &reports {
            report.print(options);
        }
        return Ok(());
    }
    let mut reports = Vec::new();
    reports.push(bench_backend(&binary, "sqlite", &sqlite_url, options)?);
    if let Some(admin_url) = postgres {
        let database = ScratchDatabase::create(&admin_url)?;
        reports.push(bench_backend(&binary, "postgres", &database.url, options)?);
    }

    for report in &reports {
        report.print(options);
    }
    Ok(())
}

/// One backend's figures.
struct Report {
    backend: &'static str,
    login: Latencies,
    runs: Vec<(&'static str, LoadResult)>,
    rss_kib: u64,
    peak_rss_kib: u64,
}

impl Report {
    #[expect(clippy::print_stdout, reason = "the report is the command's output")]
    fn print(&self, options: &Options) {
        if options.json {
            let runs: serde_json::Map<String, Value> = self
                .runs
                .iter()
                .map(|(name, r)| {
                    let v = serde_json::json!({
                        "requests": r.requests,
                        "requests_per_second": r.per_second().round(),
                        "p50_ms": r.latencies.percentile_ms(50.0),
                        "p99_ms": r.latencies.percentile_ms(99.0),
                    });
                    ((*name).to_owned(), v)
                })
                .collect();
            let line = serde_json::json!({
                "backend": self.backend,
                "connections": options.connections,
                "duration_seconds": options.duration.as_secs_f64(),
                "login": {
                    "count": self.login.0.len(),
                    "p50_ms": self.login.percentile_ms(50.0),
                    "p95_ms": self.login.percentile_ms(95.0),
                },
                "load": runs,
                "rss_kib": self.rss_kib,
                "peak_rss_kib": self.peak_rss_kib,
            });
            println!("{line}");
            return;
        }
        println!();
        println!(
            "{} — {} connections × {:.0} s per run",
            self.backend,
            options.connections,
            options.duration.as_secs_f64()
        );
        println!(
            "  {:<18} {:>5} sequential      p50 {:>7.2} ms   p95 {:>7.2} ms",
            "POST /auth/login",
            self.login.0.len(),
            self.login.percentile_ms(50.0),
            self.login.percentile_ms(95.0)
        );
        for (name, r) in &self.runs {
            println!(
                "  {:<18} {:>9.0} req/s  p50 {:>7.2} ms   p99 {:>7.2} ms   ({} requests)",
                name,
                r.per_second(),
                r.latencies.percentile_ms(50.0),
                r.latencies.percentile_ms(99.0),
                r.requests
            );
        }
        println!("  server memory      {} MiB resident, {} MiB peak", self.rss_kib / 1024, self.peak_rss_kib / 1024);
    }
}

#[expect(clippy::print_stderr, reason = "progress goes to stderr")]
fn bench_backend(
    binary: &Path,
    backend: &'static str,
    database_url: &str,
    options: &Options,
) -> anyhow::Result<Report> {
    eprintln!("xtask: benchmarking on {backend}");
    let server = Server::start(binary, database_url)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (login, runs) = runtime.block_on(tokio::task::LocalSet::new().run_until(measure(server.addr, options)))?;
    let (rss_kib, peak_rss_kib) = server.memory()?;
    Ok(Report { backend, login: Latencies::new(login), runs, rss_kib, peak_rss_kib })
}

/// Registers a user, times the logins, then runs the load runs.
async fn measure(
    addr: SocketAddr,
    options: &Options,
) -> anyhow::Result<(Vec<Duration>, Vec<(&'static str, LoadResult)>)> {
    // One account for everything; sessions are unlimited by default.
    let email = format!("bench-{}@example.com", std::process::id());
    let body = serde_json::json!({"email": email, "password": PASSWORD, "first_name": "Bench"}).to_string();
    let (status, _) = Conn::open(addr).await?.send("POST", "/api/v1/auth/register", None, Some(&body)).await?;
    ensure!(status == 201, "registering the bench user answered {status}");
    let credentials = serde_json::json!({"email": email, "password": PASSWORD}).to_string();

    let mut conn = Conn::open(addr).await?;
    let mut login = Vec::with_capacity(options.logins);
    let mut tokens = Vec::with_capacity(options.logins.max(options.connections));
    for _ in 0..options.logins.max(options.connections) {
        let started = Instant::now();
        let (status, body) = conn.send("POST", "/api/v1/auth/login", None, Some(&credentials)).await?;
        if login.len() < options.logins {
            login.push(started.elapsed());
        }
        ensure!(status == 200, "login answered {status}: {body}");
        let json: Value = serde_json::from_str(&body).context("login answered something other than JSON")?;
        let field = |name: &str| json[name].as_str().map(str::to_owned).context("login answered no tokens");
        tokens.push((field("access_token")?, field("refresh_token")?));
    }

    let bearer = format!("Bearer {}", tokens[0].0);
    let me = load(addr, options, |_| Step::Me { authorization: bearer.clone() }).await?;
    // Each connection rotates its own session's refresh token, as one device would.
    let refresh = load(addr, options, |i| Step::Refresh { token: tokens[i].1.clone() }).await?;
    let health = load(addr, options, |_| Step::Health).await?;
    Ok((login, vec![("GET /users/me", me), ("POST /auth/refresh", refresh), ("GET /health", health)]))
}

/// One backend's figures under a login flood.
struct FloodReport {
    backend: &'static str,
    flooders: usize,
    quiet: LoadResult,
    during: LoadResult,
    flood: FloodCounts,
    rss_kib: u64,
    peak_rss_kib: u64,
    threads: u64,
}

/// How the flood's logins were answered.
#[derive(Debug, Default, Clone, Copy)]
struct FloodCounts {
    /// 401: admitted and verified (a wrong password).
    rejected: u64,
    /// 503 with `Retry-After`: shed.
    shed: u64,
    /// Anything else: a failure.
    other: u64,
    elapsed: Duration,
}

impl FloodReport {
    #[expect(clippy::print_stdout, reason = "the report is the command's output")]
    fn print(&self, options: &Options) {
        let ratio = self.during.per_second() / self.quiet.per_second().max(1e-9);
        let flood_rate = |n: u64| n as f64 / self.flood.elapsed.as_secs_f64().max(1e-9);
        if options.json {
            let run = |r: &LoadResult| {
                serde_json::json!({
                    "requests": r.requests,
                    "requests_per_second": r.per_second().round(),
                    "p50_ms": r.latencies.percentile_ms(50.0),
                    "p99_ms": r.latencies.percentile_ms(99.0),
                })
            };
            let line = serde_json::json!({
                "backend": self.backend,
                "mode": "flood",
                "me_connections": options.connections,
                "flood_connections": self.flooders,
                "duration_seconds": options.duration.as_secs_f64(),
                "me_quiet": run(&self.quiet),
                "me_during_flood": run(&self.during),
                "throughput_ratio": ratio,
                "flood": {
                    "rejected_401": self.flood.rejected,
                    "shed_503": self.flood.shed,
                    "other": self.flood.other,
                    "verified_per_second": flood_rate(self.flood.rejected).round(),
                    "shed_per_second": flood_rate(self.flood.shed).round(),
                },
                "rss_kib": self.rss_kib,
                "peak_rss_kib": self.peak_rss_kib,
                "threads": self.threads,
            });
            println!("{line}");
            return;
        }
        println!();
        println!(
            "{} — GET /users/me from {} connections, then during a login flood from {} connections, {:.0} s each",
            self.backend,
            options.connections,
            self.flooders,
            options.duration.as_secs_f64()
        );
        for (name, r) in [("undisturbed", &self.quiet), ("during the flood", &self.during)] {
            println!(
                "  {:<18} {:>9.0} req/s  p50 {:>7.2} ms   p99 {:>7.2} ms   ({} requests)",
                name,
                r.per_second(),
                r.latencies.percentile_ms(50.0),
                r.latencies.percentile_ms(99.0),
                r.requests
            );
        }
        println!("  throughput kept    {:.0} %", ratio * 100.0);
        println!(
            "  flood logins       {:.0}/s verified (401), {:.0}/s shed (503), {} other answers",
            flood_rate(self.flood.rejected),
            flood_rate(self.flood.shed),
            self.flood.other
        );
        println!(
            "  server memory      {} MiB resident, {} MiB peak; {} threads",
            self.rss_kib / 1024,
            self.peak_rss_kib / 1024,
            self.threads
        );
    }
}

#[expect(clippy::print_stderr, reason = "progress goes to stderr")]
fn flood_backend(
    binary: &Path,
    backend: &'static str,
    database_url: &str,
    options: &Options,
    flooders: usize,
) -> anyhow::Result<FloodReport> {
    eprintln!("xtask: login flood on {backend}");
    let server = Server::start(binary, database_url)?;
    let addr = server.addr;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (quiet, during, flood) = runtime.block_on(tokio::task::LocalSet::new().run_until(async {
        let email = format!("bench-{}@example.com", std::process::id());
        let body = serde_json::json!({"email": email, "password": PASSWORD, "first_name": "Bench"}).to_string();
        let (status, _) = Conn::open(addr).await?.send("POST", "/api/v1/auth/register", None, Some(&body)).await?;
        ensure!(status == 201, "registering the bench user answered {status}");
        let credentials = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
        let (status, body) =
            Conn::open(addr).await?.send("POST", "/api/v1/auth/login", None, Some(&credentials)).await?;
        ensure!(status == 200, "login answered {status}: {body}");
        let json: Value = serde_json::from_str(&body)?;
        let bearer = format!("Bearer {}", json["access_token"].as_str().context("login answered no token")?);

        let quiet = load(addr, options, |_| Step::Me { authorization: bearer.clone() }).await?;
        // The flood runs on a thread of its own, so its client work never delays the measured clients.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flood = std::thread::spawn({
            let stop = std::sync::Arc::clone(&stop);
            move || flood_logins(addr, flooders, &stop)
        });
        // Let the flood fill the server's queues before measuring.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let during = load(addr, options, |_| Step::Me { authorization: bearer.clone() }).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let flood = flood.join().map_err(|_| anyhow::anyhow!("the flood thread panicked"))??;
        anyhow::Ok((quiet, during?, flood))
    }))?;
    let (rss_kib, peak_rss_kib) = server.memory()?;
    let threads = server.threads()?;
    Ok(FloodReport { backend, flooders, quiet, during, flood, rss_kib, peak_rss_kib, threads })
}

/// `connections` keep-alive connections sending logins back to back (an unknown email each time, a
/// wrong password) until `stop`; counts the answers.
fn flood_logins(
    addr: SocketAddr,
    connections: usize,
    stop_requested: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<FloodCounts> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(tokio::task::LocalSet::new().run_until(async {
        let started = Instant::now();
        let stop = Rc::new(Cell::new(false));
        let mut tasks = Vec::with_capacity(connections);
        for c in 0..connections {
            let mut conn = Conn::open(addr).await?;
            let stop = Rc::clone(&stop);
            tasks.push(tokio::task::spawn_local(async move {
                let mut counts = FloodCounts::default();
                let mut n = 0u64;
                while !stop.get() {
                    n += 1;
                    let body = format!(r#"{{"email":"flood-{c}-{n}@example.com","password":"Wrong-Password-1!"}}"#);
                    let (status, _) = conn.send("POST", "/api/v1/auth/login", None, Some(&body)).await?;
                    match status {
                        401 => counts.rejected += 1,
                        503 => counts.shed += 1,
                        _ => counts.other += 1,
                    }
                }
                anyhow::Ok(counts)
            }));
        }
        while !stop_requested.load(std::sync::atomic::Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.set(true);
        let elapsed = started.elapsed();
        let collect = async {
            let mut total = FloodCounts { elapsed, ..FloodCounts::default() };
            for task in tasks {
                let counts = task.await.context("a flood task panicked")??;
                total.rejected += counts.rejected;
                total.shed += counts.shed;
                total.other += counts.other;
            }
            anyhow::Ok(total)
        };
        let total = tokio::time::timeout(Duration::from_secs(60), collect)
            .await
            .context("a flood login went unanswered for 60 s")??;
        ensure!(total.other == 0, "{} flood logins got an answer other than 401 or 503", total.other);
        Ok(total)
    }))
}

/// What one connection of a load run repeats.
enum Step {
    /// `GET /users/me` with this `Authorization` value.
    Me { authorization: String },
    /// `POST /auth/refresh`, following the rotation: each answer's token is the next request's.
    Refresh { token: String },
    /// `GET /health`.
    Health,
}

impl Step {
    async fn run(&mut self, conn: &mut Conn) -> anyhow::Result<()> {
        match self {
            Step::Me { authorization } => {
                let (status, body) = conn.send("GET", "/api/v1/users/me", Some(authorization), None).await?;
                ensure!(status == 200, "GET /users/me answered {status}: {body}");
            }
            Step::Refresh { token } => {
                let body = serde_json::json!({ "refresh_token": token }).to_string();
                let (status, body) = conn.send("POST", "/api/v1/auth/refresh", None, Some(&body)).await?;
                ensure!(status == 200, "refresh answered {status}: {body}");
                let json: Value = serde_json::from_str(&body).context("refresh answered something other than JSON")?;
                json["refresh_token"].as_str().context("refresh answered no token")?.clone_into(token);
            }
            Step::Health => {
                let (status, body) = conn.send("GET", "/health", None, None).await?;
                ensure!(status == 200, "GET /health answered {status}: {body}");
            }
        }
        Ok(())
    }
}

/// The outcome of one load run.
struct LoadResult {
    requests: usize,
    elapsed: Duration,
    latencies: Latencies,
}

impl LoadResult {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `options.connections` keep-alive connections, all on this one thread (as wrk's event loop does,
/// so the client takes as little CPU from the server as it can), for `options.duration` after a short
/// warm-up. Any failed request fails the run: a benchmark of errors is no benchmark.
async fn load(addr: SocketAddr, options: &Options, make: impl Fn(usize) -> Step) -> anyhow::Result<LoadResult> {
    let warmup = Duration::from_millis(500).min(options.duration / 4);
    let stop = Rc::new(Cell::new(false));
    let measuring = Rc::new(Cell::new(false));
    let mut workers = Vec::with_capacity(options.connections);
    for i in 0..options.connections {
        let mut step = make(i);
        let mut conn = Conn::open(addr).await?;
        let (stop, measuring) = (Rc::clone(&stop), Rc::clone(&measuring));
        workers.push(tokio::task::spawn_local(async move {
            let mut samples = Vec::with_capacity(1 << 14);
            while !stop.get() {
                let started = Instant::now();
                step.run(&mut conn).await?;
                if measuring.get() {
                    samples.push(started.elapsed());
                }
            }
            anyhow::Ok(samples)
        }));
    }
    tokio::time::sleep(warmup).await;
    measuring.set(true);
    let started = Instant::now();
    tokio::time::sleep(options.duration).await;
    stop.set(true);
    let elapsed = started.elapsed();

    // A request the server never answers must not hang the benchmark.
    let collect = async {
        let mut all = Vec::new();
        for worker in workers {
            all.extend(worker.await.context("a load task panicked")??);
        }
        anyhow::Ok(all)
    };
    let all = tokio::time::timeout(Duration::from_secs(30), collect)
        .await
        .context("a request went unanswered for 30 s")??;
    Ok(LoadResult { requests: all.len(), elapsed, latencies: Latencies::new(all) })
}

/// Sorted request latencies.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self(samples)
    }

    /// The nearest-rank percentile in milliseconds (0 when there are no samples).
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1].as_secs_f64() * 1000.0
    }
}

/// A keep-alive HTTP/1.1 connection that sends one request at a time and reads `Content-Length` bodies.
struct Conn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    request: Vec<u8>,
    line: String,
}

impl Conn {
    async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("could not connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (read, writer) = stream.into_split();
        Ok(Self { reader: BufReader::new(read), writer, request: Vec::new(), line: String::new() })
    }

    /// Sends one request and returns the status and the body. (No per-request timer: it would cost the
    /// client CPU the server should have; `load` bounds a run as a whole.)
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        json: Option<&str>,
    ) -> anyhow::Result<(u16, String)> {
        self.request.clear();
        write!(self.request, "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nuser-agent: {USER_AGENT}\r\n")?;
        if let Some(value) = authorization {
            write!(self.request, "authorization: {value}\r\n")?;
        }
        match json {
            Some(body) => {
                write!(self.request, "content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())?
            }
            None => self.request.extend_from_slice(b"\r\n"),
        }
        self.writer.write_all(&self.request).await?;

        self.line.clear();
        self.reader.read_line(&mut self.line).await?;
        let status = self
            .line
            .split_ascii_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP status line: {:?}", self.line))?;
        let mut length = 0;
        loop {
            self.line.clear();
            ensure!(self.reader.read_line(&mut self.line).await? > 0, "the server closed the connection");
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().context("a bad Content-Length")?;
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked responses are not expected from {path}");
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await?;
        Ok((status, String::from_utf8(body).context("a body that is not UTF-8")?))
    }
}

/// The release server on a free loopback port, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(binary: &Path, database_url: &str) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let secret: String = (0..4).map(|i| format!("{:016x}", random_u64(i))).collect();
        let child = Command::new(binary)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("SECRET_KEY", secret)
            .env("AUTO_MIGRATE", "true")
            .env("RATE_LIMIT_SCALE", "0")
            .env("RUST_LOG", "warn")
            .current_dir(std::env::temp_dir()) // away from any developer `.env`
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let mut server = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("the server exited during start-up ({status})");
            }
            if answers_healthy(addr) {
                return Ok(server);
            }
            ensure!(Instant::now() < deadline, "the server did not become healthy within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's thread count, from `/proc`.
    fn threads(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("could not read the server's /proc status (Linux only)")?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|v| v.trim().parse().ok())
            .context("no Threads in /proc status")
    }

    /// (VmRSS, VmHWM) in KiB, from `/proc`.
    fn memory(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("could not read the server's /proc status (Linux only)")?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .with_context(|| format!("no {name} in /proc status"))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }
}

/// Whether `GET /health` answers 200 (a blocking probe used while the server starts).
fn answers_healthy(addr: SocketAddr) -> bool {
    use std::io::Read as _;
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh PostgreSQL database made with `psql` next to the given one, dropped on drop.
struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("latchkey_bench_{}", std::process::id());
        psql(admin_url, &format!("DROP DATABASE IF EXISTS {name}"))?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        let url = with_database(admin_url, &name)?;
        Ok(Self { admin_url: admin_url.to_owned(), name, url })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .context("could not run psql (the PostgreSQL benchmark makes its scratch database with it)")?;
    ensure!(output.status.success(), "psql failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    Ok(())
}

/// `url` with its database name replaced, keeping any query string.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map(|i| i + 3).context("not a postgres:// URL")?;
    let host_part = &base[authority_end..];
    let root = match host_part.find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    Ok(match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    })
}

/// Entropy for the throwaway secret key, from std's randomly seeded hasher (no extra dependency).
fn random_u64(i: u64) -> u64 {
    use std::hash::{BuildHasher as _, RandomState};
    RandomState::new().hash_one(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "b").unwrap(),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "b").unwrap(),
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://h:5432", "b").unwrap(), "postgresql://h:5432/b");
        assert!(with_database("no-scheme", "b").is_err());
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let l = Latencies::new((1..=100).rev().map(Duration::from_millis).collect());
        assert!((l.percentile_ms(50.0) - 50.0).abs() < 1e-9);
        assert!((l.percentile_ms(99.0) - 99.0).abs() < 1e-9);
        assert!((l.percentile_ms(100.0) - 100.0).abs() < 1e-9);
        assert!((Latencies::new(Vec::new()).percentile_ms(50.0)).abs() < 1e-9);
    }
}
