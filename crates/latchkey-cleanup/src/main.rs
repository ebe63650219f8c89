//! latchkey-cleanup: the job cron runs. It parses arguments, calls `latchkey_service::cleanup::run` once,
//! and prints one JSON report line with each table's outcome. Exit codes: 0 done, 1 the cleanup of at
//! least one table failed (the others were still cleaned; each failure also on stderr), 2 bad arguments or
//! configuration.
//!
//! It must never depend on actix: the logic lives in latchkey-service.

use std::process::ExitCode;

use clap::Parser;
use latchkey_db::{Db, PoolOptions};
use latchkey_domain::clock::{Clock, SystemClock};
use latchkey_service::cleanup::{self, CleanupPolicy};
use latchkey_service::config::defaults;

/// Deletes sessions that ended long ago and old security events.
#[derive(Debug, Parser)]
#[command(name = "latchkey-cleanup", version, about)]
struct Args {
    /// Database URL: postgres://…, sqlite://path or a file path.
    #[arg(long, env = "DATABASE_URL", default_value = defaults::DATABASE_URL, hide_env_values = true)]
    database_url: String,
    /// Delete sessions that ended (expired or revoked) more than this many days ago.
    #[arg(long, env = "SESSION_RETENTION_DAYS", default_value_t = defaults::SESSION_RETENTION_DAYS,
          value_parser = clap::value_parser!(i64).range(0..=3650))]
    retention_days: i64,
    /// Delete security events older than this many days.
    #[arg(long, env = "EVENT_RETENTION_DAYS", default_value_t = defaults::EVENT_RETENTION_DAYS,
          value_parser = clap::value_parser!(i64).range(0..=3650))]
    event_retention_days: i64,
    /// Rows per DELETE; each batch is its own short transaction.
    #[arg(long, default_value_t = CleanupPolicy::DEFAULT_BATCH_SIZE,
          value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    batch_size: i64,
    /// How long one batch should take at most, in milliseconds: a slower batch halves the next one, a quick
    /// one doubles it again (up to --batch-size). Bounds how long each statement holds its locks.
    #[arg(long, default_value_t = CleanupPolicy::DEFAULT_BATCH_TARGET_MS, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    batch_target_ms: u64,
    /// Count what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
}

#[expect(clippy::print_stdout, clippy::print_stderr, reason = "a cron job reports on stdout and stderr")]
fn main() -> ExitCode {
    if let Err(e) = dotenvy_load() {
        eprintln!("latchkey-cleanup: {e}");
        return ExitCode::from(2);
    }
    let args = Args::parse();
    let db = match Db::from_url(&args.database_url, PoolOptions { max_size: 1, ..PoolOptions::default() }) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("latchkey-cleanup: DATABASE_URL: {e}");
            return ExitCode::from(2);
        }
    };
    let policy = CleanupPolicy {
        session_retention: chrono::Duration::days(args.retention_days),
        event_retention: chrono::Duration::days(args.event_retention_days),
        batch_size: args.batch_size,
        batch_time_target: std::time::Duration::from_millis(args.batch_target_ms),
        dry_run: args.dry_run,
    };
    let report = cleanup::run(&db, SystemClock.now(), &policy);
    println!("{}", serde_json::to_string(&report).expect("the report serialises"));
    for (table, error) in report.failures() {
        eprintln!("latchkey-cleanup: {table}: {error}");
    }
    if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// Reads `.env` when present, like the server does.
fn dotenvy_load() -> Result<(), String> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(e) => Err(format!(".env could not be read: {e}")),
    }
}
