//! `cargo xtask openapi`: writes `docs/openapi.json` from the binary (`latchkey openapi`), so the copy in
//! the repository is the document the server serves. A test fails when the copy is out of date.

use anyhow::{Context as _, ensure};

use crate::cargo;

/// Regenerates `docs/openapi.json`.
#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn run() -> anyhow::Result<()> {
    eprintln!("$ cargo run -q -p latchkey-http --bin latchkey -- openapi > docs/openapi.json");
    let output = cargo()
        .args(["run", "-q", "-p", "latchkey-http", "--bin", "latchkey", "--", "openapi"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("could not run cargo")?;
    ensure!(output.status.success(), "`latchkey openapi` failed ({})", output.status);
    let path = crate::workspace_root().join("docs/openapi.json");
    std::fs::write(&path, &output.stdout).with_context(|| format!("could not write {}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}
