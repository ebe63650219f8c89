//! `cargo xtask migrate [--database-url URL]`: applies pending migrations by running the real binary,
//! `latchkey migrate`, so there is one migration code path.

use crate::{cargo, run_checked};

/// Runs `cargo run -p latchkey-http --bin latchkey -- migrate`, with `DATABASE_URL` set when given.
pub fn run(database_url: Option<&str>) -> anyhow::Result<()> {
    let mut cmd = cargo();
    cmd.args(["run", "-p", "latchkey-http", "--bin", "latchkey", "--", "migrate"]);
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    run_checked(&mut cmd)
}
