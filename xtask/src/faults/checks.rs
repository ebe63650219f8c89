//! The checks `cargo xtask faults` makes of an answer: the security headers every API response carries,
//! a 200, an error in the envelope; and how failures and times are reported.

use std::time::Instant;

use anyhow::{Context as _, bail, ensure};

use crate::client::Response;

/// What every API response carries (names lower-case; `None`: any value).
pub(super) const SECURITY_HEADERS: [(&str, Option<&str>); 6] = [
    ("x-frame-options", Some("DENY")),
    ("x-content-type-options", Some("nosniff")),
    ("x-xss-protection", Some("1; mode=block")),
    ("referrer-policy", Some("strict-origin-when-cross-origin")),
    ("permissions-policy", None),
    ("content-security-policy", None),
];

pub(super) fn expect_security_headers(r: &Response) -> Result<(), String> {
    for (name, want) in SECURITY_HEADERS {
        match (r.header(name), want) {
            (None, _) => return Err(format!("{} without the {name} header", r.status)),
            (Some(got), Some(want)) if got != want => return Err(format!("{name}: {got}, expected {want}")),
            _ => {}
        }
    }
    if r.header("x-request-id").is_none() {
        return Err(format!("{} without X-Request-Id", r.status));
    }
    Ok(())
}

pub(super) fn expect_ok(r: &Response, what: &str) -> anyhow::Result<()> {
    ensure!(r.status == 200, "{what} answered {} (expected 200): {}", r.status, excerpt(&r.body));
    expect_security_headers(r).map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

pub(super) fn expect_error(
    r: &Response,
    status: u16,
    code: &str,
    message: Option<&str>,
    what: &str,
) -> anyhow::Result<()> {
    ensure!(r.status == status, "{what} answered {} (expected {status}): {}", r.status, excerpt(&r.body));
    expect_security_headers(r).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    let json = r.json().with_context(|| format!("{what}: not JSON: {}", r.body))?;
    let first = &json["errors"][0];
    ensure!(json["success"] == false && first["code"] == code, "{what}: expected {code}, got {}", r.body);
    if let Some(message) = message {
        ensure!(first["message"] == message, "{what}: expected \"{message}\", got {}", r.body);
    }
    Ok(())
}

pub(super) fn report_failures(scenario: &str, failures: &[String]) -> anyhow::Result<()> {
    if failures.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = failures.iter().take(12).map(String::as_str).collect();
    bail!("{scenario}: {} unexpected answers (first {}):\n  {}", failures.len(), shown.len(), shown.join("\n  "))
}

pub(super) fn excerpt(body: &str) -> String {
    let cut: String = body.chars().take(300).collect();
    if cut.len() < body.len() { format!("{cut}…") } else { cut }
}

/// Seconds from `from` to `t` (negative when `t` is earlier).
pub(super) fn secs(t: Instant, from: Instant) -> f64 {
    if t >= from { (t - from).as_secs_f64() } else { -(from - t).as_secs_f64() }
}
