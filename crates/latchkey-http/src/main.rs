//! The `latchkey` binary: parses the command and the configuration, and runs it.

use std::process::ExitCode;

use latchkey_http::cli::{self, Command};
use latchkey_http::telemetry;
use latchkey_service::config::{ConfigError, env};

#[expect(clippy::print_stderr, reason = "configuration errors are reported before logging exists")]
#[expect(clippy::print_stdout, reason = "`openapi` prints the document")]
fn main() -> ExitCode {
    // Read before the arguments are parsed (the settings' variables may come from it); an error in it
    // matters to every command but `openapi`.
    let dotenv = env::load_dotenv();
    let command = match Command::from_process() {
        Ok(command) => command,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => match dotenv.err().or_else(|| env::config_error(&e)) {
            Some(problem) => return bad_configuration(&problem),
            None => e.exit(),
        },
    };
    // The document needs no configuration and no database.
    let Some(settings) = command.settings() else {
        println!("{}", latchkey_http::routes::docs::json());
        return ExitCode::SUCCESS;
    };
    let (server, config) = match dotenv.and_then(|()| settings.clone().resolve()) {
        Ok(resolved) => resolved,
        Err(e) => return bad_configuration(&e),
    };
    telemetry::init(server.log_format);
    let result = match command {
        Command::Serve(_) => actix_web::rt::System::new().block_on(cli::serve(server, config)),
        Command::Migrate(_) => cli::migrate(&config),
        Command::CreateSuperuser { email, password_stdin, .. } => cli::create_superuser(config, &email, password_stdin),
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

/// Exit code 2: a configuration error, which restarting will not fix.
#[expect(clippy::print_stderr, reason = "configuration errors are reported before logging exists")]
fn bad_configuration(problem: &ConfigError) -> ExitCode {
    eprintln!("latchkey: {problem}");
    ExitCode::from(2)
}
