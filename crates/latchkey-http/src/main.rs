//! The `latchkey` binary: parses the command, reads the configuration, and runs it.

use std::process::ExitCode;

use clap::Parser as _;
use latchkey_http::cli::{self, Cli, Command};
use latchkey_http::telemetry;
use latchkey_service::Config;

#[expect(clippy::print_stderr, reason = "configuration errors are reported before logging exists")]
#[expect(clippy::print_stdout, reason = "`openapi` prints the document")]
fn main() -> ExitCode {
    let cli = Cli::parse();
    // The document needs no configuration and no database.
    if matches!(cli.command, Some(Command::Openapi)) {
        println!("{}", latchkey_http::routes::docs::json());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("latchkey: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(cli::serve(config)),
        Command::Migrate => cli::migrate(&config),
        Command::CreateSuperuser { email, password_stdin } => cli::create_superuser(config, &email, password_stdin),
        Command::Openapi => unreachable!("handled before the configuration is read"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "latchkey failed");
            eprintln!("latchkey: {e:#}");
            ExitCode::from(1)
        }
    }
}
