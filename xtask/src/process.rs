//! Running child programs: where they run, how they are shown, and how their failures read.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// The workspace root (the folder above `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives one folder below the workspace root").to_owned()
}

/// A `cargo` command. `cargo run` sets `CARGO` to the cargo that started us; using it keeps the toolchain
/// that `rust-toolchain.toml` picked.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// A `cargo` command that runs in the workspace root.
pub fn cargo_in_root() -> Command {
    let mut cmd = cargo();
    cmd.current_dir(workspace_root());
    cmd
}

/// Prints a section header.
pub fn section(title: &str) {
    println!("\n==> {title}");
}

/// The command as a person would type it (the program's file name, then the arguments).
pub fn describe(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .map_or_else(|| cmd.get_program().to_string_lossy(), |name| name.to_string_lossy())
        .into_owned();
    std::iter::once(program)
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` with inherited stdio and fails unless it exits successfully.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = describe(cmd);
    println!("$ {shown}");
    let status = cmd.status().with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd`, captures its standard output, and fails unless it exits successfully (its standard error is
/// passed through).
pub fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let shown = describe(cmd);
    println!("$ {shown}");
    let out = cmd.stderr(std::process::Stdio::inherit()).output().with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed ({})", out.status);
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{shown}` printed something that is not UTF-8"))
}
