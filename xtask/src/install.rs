//! The outside tools some commands drive, installed when missing: a Debian package (`apt-get`, as root:
//! Chromium for `e2e`, wrk for `bench`) and a Python virtualenv with pinned requirements (Playwright for
//! `e2e`, schemathesis for `fuzz-api`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, ensure};

use crate::run_checked;

/// Installs Debian's `package` unless `present` says it is there; `present` must hold afterwards.
#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn debian_package(package: &str, what: &str, present: impl Fn() -> bool) -> anyhow::Result<()> {
    if present() {
        return Ok(());
    }
    eprintln!("xtask: {what} is missing: installing Debian's {package} package");
    run_checked(Command::new("apt-get").args(["update", "-qq"]).env("DEBIAN_FRONTEND", "noninteractive"))
        .with_context(|| format!("apt-get update (installing {package} needs root)"))?;
    run_checked(
        Command::new("apt-get").args(["install", "-y", "-qq", package]).env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    ensure!(present(), "the {package} package did not install {what}");
    Ok(())
}

/// A virtualenv with the pinned packages of `requirements` (e.g. Playwright from
/// `xtask/e2e/requirements.txt`); returns its python.
#[expect(clippy::print_stderr, reason = "a command-line tool reports on stderr")]
pub fn venv(venv: &Path, requirements: &Path) -> anyhow::Result<PathBuf> {
    let python = venv.join("bin/python");
    // The installed requirements are remembered next to the venv; a changed pin reinstalls.
    let stamp = venv.join("requirements.installed");
    let wanted =
        std::fs::read_to_string(requirements).with_context(|| format!("reading {}", requirements.display()))?;
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    eprintln!("xtask: setting up {} with {}", venv.display(), wanted.trim());
    if !python.exists() {
        run_checked(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    }
    run_checked(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(requirements),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}
