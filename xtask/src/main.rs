//! xtask: the project's developer commands, run as `cargo xtask <command>` (the alias lives in
//! `.cargo/config.toml`). One module per command:
//!
//! - `migrate [--database-url URL]`: apply pending migrations with the `latchkey` binary;
//! - `test [--backend sqlite|postgres|all]`: `cargo test --workspace`, proving the PostgreSQL half ran;
//! - `ci`: format check, clippy, the tests on both backends, and the crate-arrow checks.
//!
//! It only drives `cargo` and other programs; it must never depend on the latchkey crates themselves, so
//! it builds in seconds and keeps working when they do not compile.

#![expect(clippy::print_stdout, clippy::print_stderr, reason = "a developer tool reports on the terminal")]

mod ci;
mod migrate;
mod process;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Latchkey's developer commands.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about, disable_version_flag = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending database migrations (runs `latchkey migrate`).
    Migrate(migrate::Args),
    /// Run the test suite (`cargo test --workspace`) on SQLite and, when available, PostgreSQL.
    Test(test::Args),
    /// What CI checks: `cargo fmt --check`, clippy with `-D warnings`, the tests on both backends (PostgreSQL
    /// required) and the crate arrows.
    Ci,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Migrate(args) => migrate::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Ci => ci::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
