//! The `latchkey` binary's commands: `serve` (default), `migrate`, `create-superuser`, `openapi`.
//!
//! Every command but `openapi` reads the whole configuration ([`Settings`]: the server's settings and the
//! service's), from the environment, `.env` or the command's flags; `--help` lists each setting with its
//! variable, default and range.

use std::sync::Arc;

use actix_web::dev::Server;
use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use latchkey_domain::DeviceParser;
use latchkey_domain::clock::SystemClock;
use latchkey_service::config::{SecretSource, env};
use latchkey_service::{Config, ServiceError, Services, database};

use crate::settings::{ServerSettings, Settings};
use crate::state::AppState;

/// Latchkey: authentication and multi-device sessions.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; `serve` when none is given.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(Settings),
    /// Apply pending database migrations and exit.
    Migrate(Settings),
    /// Create a superuser (the password comes from standard input with --password-stdin, else from
    /// LATCHKEY_SUPERUSER_PASSWORD).
    CreateSuperuser {
        /// The superuser's email.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Print the OpenAPI document (JSON) and exit; needs no configuration or database.
    Openapi,
}

impl Command {
    /// The command from the command line and the environment (read `.env` first); none is `serve`.
    pub fn from_process() -> Result<Command, clap::Error> {
        if let Some(command) = env::parse_process::<Cli>()?.command {
            return Ok(command);
        }
        let program = std::env::args_os().next().unwrap_or_else(|| "latchkey".into());
        let serve = env::parse_process_from::<Cli>([program, "serve".into()])?;
        serve.command.ok_or_else(|| clap::Error::raw(clap::error::ErrorKind::MissingSubcommand, "no command\n"))
    }

    /// The settings the command reads; `openapi` reads none.
    pub fn settings(&self) -> Option<&Settings> {
        match self {
            Command::Serve(settings) | Command::Migrate(settings) | Command::CreateSuperuser { settings, .. } => {
                Some(settings)
            }
            Command::Openapi => None,
        }
    }
}

/// `latchkey create-superuser`.
pub fn create_superuser(config: Config, email: &str, password_stdin: bool) -> anyhow::Result<()> {
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        std::env::var("LATCHKEY_SUPERUSER_PASSWORD")
            .context("give the password with --password-stdin or LATCHKEY_SUPERUSER_PASSWORD")?
    };
    let db = database::open(&config).map_err(fail)?;
    report_applied(database::prepare_schema(&config, &db).map_err(fail)?);
    let services = Services::new(&config, db, Arc::new(SystemClock)).map_err(fail)?;
    if latchkey_service::registration::create_superuser(&services, email, &password).map_err(fail)? {
        tracing::info!(email, "superuser created");
        Ok(())
    } else {
        bail!("a user with email {email} already exists")
    }
}

/// A service error as the command's failure: an internal error's cause is the message.
fn fail(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Internal(cause) => anyhow::anyhow!(cause),
        other => anyhow::anyhow!("{other}"),
    }
}

fn report_applied(applied: Vec<String>) {
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
}

/// `latchkey migrate`.
pub fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = database::open(config).map_err(fail)?;
    let applied = database::migrate(&db).map_err(fail)?;
    if applied.is_empty() {
        tracing::info!("database is up to date");
    } else {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    Ok(())
}

/// Creates `FIRST_SUPERUSER_EMAIL` when it is set and no such user exists.
fn ensure_first_superuser(state: &AppState) -> anyhow::Result<()> {
    let Some(first) = &state.config.first_superuser else { return Ok(()) };
    let created =
        latchkey_service::registration::create_superuser(&state.services, &first.email, first.password.expose())
            .map_err(|e| anyhow::anyhow!("FIRST_SUPERUSER_EMAIL/FIRST_SUPERUSER_PASSWORD: {e}"))?;
    if created {
        tracing::info!(email = %first.email, "created the first superuser");
    }
    Ok(())
}

/// Warns about what a configuration that starts may still get wrong: a generated key, no mail transport.
fn warn_about(config: &Config) {
    match &config.secret_source {
        SecretSource::Generated(path) => tracing::warn!(
            path = %path.display(),
            "SECRET_KEY is not set: generated a random key and saved it (mode 0600); set SECRET_KEY in production"
        ),
        SecretSource::File(path) => {
            tracing::warn!(path = %path.display(), "SECRET_KEY is not set: using the key generated earlier")
        }
        SecretSource::Environment => {}
    }
    if config.is_production() && config.mail.smtp_url.is_none() {
        tracing::warn!(
            "no mail transport is configured (SMTP_URL is not set): password-reset emails cannot be sent, \
             and in production their links are never written to the log either; set SMTP_URL"
        );
    }
}

/// `latchkey serve`: runs until SIGINT or SIGTERM, then finishes in-flight requests (up to 10 s).
pub async fn serve(server: ServerSettings, config: Config) -> anyhow::Result<()> {
    warn_about(&config);
    let db = database::open(&config).map_err(fail)?;
    // Start-up work that blocks (migrations, hashing, building the User-Agent parser) runs off the runtime.
    let state = actix_web::web::block(move || -> anyhow::Result<AppState> {
        report_applied(database::prepare_schema(&config, &db).map_err(fail)?);
        let services = Services::new(&config, db, Arc::new(SystemClock)).map_err(fail)?;
        let state = crate::app::state(server, config, services, Arc::new(DeviceParser::new()));
        ensure_first_superuser(&state)?;
        // The dummy hash (what an unknown email is verified against) is computed on first use; do it
        // now so the first failed login costs the same as every other.
        state.services.hasher.verify_dummy("warm-up");
        Ok(state)
    })
    .await??;
    spawn_upkeep(&state)?;
    let metrics_server = metrics_listener(&state)?;
    let (server, config) = (Arc::clone(&state.server), Arc::clone(&state.config));
    let listen = crate::server::Listen::Addr(server.host.clone(), server.port);
    let running =
        crate::server::serve(state, listen).with_context(|| format!("binding {}:{}", server.host, server.port))?;
    tracing::info!(
        address = %format!("http://{}:{}", server.host, server.port),
        environment = %config.environment,
        "latchkey listening"
    );
    match metrics_server {
        // Both stop on SIGINT/SIGTERM; if either fails, the process ends.
        Some(metrics) => {
            futures_util::future::try_join(running, metrics).await.context("running the HTTP servers")?;
            Ok(())
        }
        None => running.await.context("running the HTTP server"),
    }
}

/// The server's background work: the GeoIP watcher and SIGHUP, forgetting idle clients' rate-limit state,
/// folding in the metrics' histogram samples.
fn spawn_upkeep(state: &AppState) -> anyhow::Result<()> {
    // A new GeoIP file is picked up within a minute, or at once on SIGHUP (which also empties the session
    // cache).
    let geoip =
        latchkey_service::geoip::watch(Arc::clone(&state.services.geoip), latchkey_service::geoip::CHECK_INTERVAL)
            .context("starting the GeoIP watcher thread")?;
    actix_web::rt::spawn(crate::server::reload_on_sighup(Arc::clone(&state.services.cache), geoip));

    // Rate-limit state grows with distinct clients; forget the idle ones every minute.
    let limits = state.limits.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            limits.retain_recent();
        }
    });
    // The metrics recorder keeps histogram samples until they are folded in; do it between scrapes too.
    if state.server.metrics_enabled {
        crate::metrics::handle();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(5));
            loop {
                tick.tick().await;
                crate::metrics::upkeep();
            }
        });
    }
    Ok(())
}

/// `/metrics` on a listener of its own (one worker is plenty), so that it need not be public.
fn metrics_listener(state: &AppState) -> anyhow::Result<Option<Server>> {
    let Some(addr) = state.server.metrics_addr else { return Ok(None) };
    let state = state.clone();
    let server = actix_web::HttpServer::new(move || crate::metrics::metrics_app(state.clone()))
        .workers(1)
        .shutdown_timeout(1)
        .bind(addr)
        .with_context(|| format!("binding METRICS_ADDR {addr}"))?;
    tracing::info!(address = %format!("http://{addr}/metrics"), "metrics listening");
    Ok(Some(server.run()))
}
