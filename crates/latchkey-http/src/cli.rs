//! The `latchkey` binary's commands: `serve` (default), `migrate`, `create-superuser`.

use std::sync::Arc;

use actix_web::HttpServer;
use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use latchkey_db::{Db, PoolOptions};
use latchkey_domain::clock::SystemClock;
use latchkey_service::Config;
use latchkey_service::config::SecretSource;

use crate::app::build_app;
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
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
}

/// Opens the pool the configuration names.
pub fn open_db(config: &Config) -> anyhow::Result<Db> {
    Ok(Db::new(&config.database(), PoolOptions { max_size: config.db_pool_size, ..PoolOptions::default() })?)
}

/// `latchkey migrate`.
pub fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = open_db(config)?;
    let applied = db.migrate().context("applying migrations")?;
    if applied.is_empty() {
        tracing::info!("database is up to date");
    } else {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    Ok(())
}

/// Brings the schema up to date, or refuses to start on pending migrations.
fn prepare_schema(config: &Config, db: &Db) -> anyhow::Result<()> {
    if config.migrates_on_start() {
        let applied = db.migrate().context("applying migrations at start-up")?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied migrations");
        }
        return Ok(());
    }
    let pending = db.pending_migrations().context("checking for pending migrations")?;
    if !pending.is_empty() {
        bail!(
            "the database has {} pending migration(s) ({}); run `latchkey migrate` (or `cargo xtask migrate`), \
             or set AUTO_MIGRATE=true",
            pending.len(),
            pending.join(", ")
        );
    }
    Ok(())
}

/// `latchkey serve`: runs until SIGINT or SIGTERM, then finishes in-flight requests (up to 10 s).
pub async fn serve(config: Config) -> anyhow::Result<()> {
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
    let db = open_db(&config)?;
    let db_for_setup = db.clone();
    let config = Arc::new(config);
    let setup_config = Arc::clone(&config);
    actix_web::web::block(move || prepare_schema(&setup_config, &db_for_setup)).await??;

    let state = AppState { config: Arc::clone(&config), db, clock: Arc::new(SystemClock) };
    let server = HttpServer::new(move || build_app(state.clone()))
        .shutdown_timeout(10)
        .bind((config.host.as_str(), config.port))
        .with_context(|| format!("binding {}:{}", config.host, config.port))?;
    tracing::info!(
        address = %format!("http://{}:{}", config.host, config.port),
        environment = %config.environment,
        "latchkey listening"
    );
    server.run().await.context("running the HTTP server")
}
