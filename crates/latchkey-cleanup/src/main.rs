//! latchkey-cleanup: the job cron runs. It parses arguments, calls `latchkey_service::cleanup::run` once,
//! and prints one JSON report line with each table's outcome. Exit codes: 0 done, 1 the cleanup of at
//! least one table failed (the others were still cleaned; each failure also on stderr), 2 bad arguments or
//! configuration.
//!
//! `DATABASE_URL` and the retention settings are the server's own declarations
//! (`latchkey_service::config`), read the same way (flag, environment, `.env`, default).
//!
//! It must never depend on actix: the logic lives in latchkey-service.

use std::process::ExitCode;

use clap::Parser;
use latchkey_db::{Db, PoolOptions};
use latchkey_domain::clock::{Clock, SystemClock};
use latchkey_service::cleanup::{self, CleanupPolicy};
use latchkey_service::config::{DatabaseLocation, RetentionSettings, env};

/// Deletes sessions that ended long ago and old security events.
#[derive(Debug, Parser)]
#[command(name = "latchkey-cleanup", version, about)]
struct Args {
    #[command(flatten)]
    database: DatabaseLocation,
    #[command(flatten)]
    retention: RetentionSettings,
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
    if let Err(e) = env::load_dotenv() {
        eprintln!("latchkey-cleanup: {}", e.0);
        return ExitCode::from(2);
    }
    let args: Args = match env::parse_process() {
        Ok(args) => args,
        Err(e) => match env::config_error(&e) {
            Some(problem) => {
                eprintln!("latchkey-cleanup: {}", problem.0);
                return ExitCode::from(2);
            }
            None => e.exit(),
        },
    };
    let db = match Db::new(&args.database.url, PoolOptions { max_size: 1, ..PoolOptions::default() }) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("latchkey-cleanup: DATABASE_URL: {e}");
            return ExitCode::from(2);
        }
    };
    let policy = CleanupPolicy {
        session_retention: chrono::Duration::days(args.retention.session_retention_days),
        event_retention: chrono::Duration::days(args.retention.event_retention_days),
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
