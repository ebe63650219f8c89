//! `cargo xtask migrate [--database-url URL]`: applies pending migrations by running the real binary,
//! `latchkey migrate`, so there is exactly one migration code path.

use crate::process;

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database to migrate (postgres://…, sqlite://path or a file path). Without it the binary reads
    /// DATABASE_URL from the environment or `.env`, and falls back to sqlite://latchkey.db.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

/// Runs `cargo run -p latchkey-http --bin latchkey -- migrate`, with `DATABASE_URL` set when given.
///
/// The child keeps the caller's working folder, so a relative SQLite path means the same file it would
/// mean to `latchkey` started from there; `--manifest-path` finds the workspace from anywhere.
pub fn run(args: &Args) -> anyhow::Result<()> {
    process::section("latchkey migrate");
    let mut cmd = process::cargo();
    cmd.args(["run", "--manifest-path"])
        .arg(process::workspace_root().join("Cargo.toml"))
        .args(["-p", "latchkey-http", "--bin", "latchkey", "--", "migrate"]);
    if let Some(url) = &args.database_url {
        // Not echoed: a PostgreSQL URL may carry a password.
        println!("DATABASE_URL set from --database-url");
        cmd.env("DATABASE_URL", url);
    }
    process::run(&mut cmd)
}
