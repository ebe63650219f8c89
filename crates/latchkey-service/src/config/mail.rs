//! Mail settings: the transport, the password-reset link, the mail queue, and new-device alerts (whose
//! link's base, `PUBLIC_URL`, is checked here too).

use super::env;
use super::{ConfigError, Secret};

/// Emails and the links they carry.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Mail")]
pub struct MailSettings {
    /// e.g. smtps://user:pass@mail.example.com; unset: reset emails are logged in development and not sent
    /// in production.
    #[arg(long, env = "SMTP_URL", hide_env_values = true, value_parser = env::secret())]
    pub smtp_url: Option<Secret>,
    /// Sender of reset emails.
    #[arg(long, env = "SMTP_FROM", default_value = "Latchkey <no-reply@localhost>", value_parser = env::text())]
    pub smtp_from: String,
    /// Base of the password-reset link: {FRONTEND_URL}{RESET_PASSWORD_PATH}?token=…
    #[arg(long, env = "FRONTEND_URL", default_value = "http://localhost:3000",
          value_parser = env::rule(|_, v| Ok(v.trim_end_matches('/').to_owned())))]
    pub frontend_url: String,
    /// The frontend page the reset link opens: one leading '/', no '?', '#' or spaces.
    #[arg(long, env = "RESET_PASSWORD_PATH", default_value = "/reset-password", value_parser = env::rule(reset_password_path))]
    pub reset_password_path: String,
    /// Reset emails waiting for the mail thread; more are dropped and logged (1–100000).
    #[arg(long, env = "RESET_MAIL_QUEUE", default_value = "100", value_parser = env::int::<usize>(1..=100_000))]
    pub reset_mail_queue: usize,
    /// Email the user about a login from a new device or country, with a "not me" link.
    #[arg(long, env = "NEW_DEVICE_ALERTS", default_value = "true", action = clap::ArgAction::Set,
          value_parser = env::boolean())]
    pub new_device_alerts: bool,
}

/// `RESET_PASSWORD_PATH`: a path on the frontend (`/` first; no query, fragment, space or control
/// character, since the token's `?token=` follows it).
fn reset_password_path(_: &str, path: &str) -> Result<String, ConfigError> {
    if !path.starts_with('/')
        || path.starts_with("//")
        || path.contains(['?', '#'])
        || path.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ConfigError(format!(
            "RESET_PASSWORD_PATH must be a path starting with one '/', without '?', '#' or spaces (got '{path}'), \
             e.g. /reset-password or /en/password-reset/confirm"
        )));
    }
    Ok(path.to_owned())
}

/// `PUBLIC_URL`: `http(s)://host[:port][/path]`, kept without a trailing slash (the alert's link appends
/// `/api/v1/...`).
pub(super) fn public_url(_: &str, url: &str) -> Result<String, ConfigError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with(['/', ':']) && !r.contains(['?', '#', ' ']) && !r.chars().any(char::is_control)
    });
    if !ok {
        return Err(ConfigError(format!(
            "PUBLIC_URL must be an http or https URL such as https://auth.example.com, got '{url}'"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_link_path_is_configurable_and_checked() {
        let path = |v: &str| reset_password_path("RESET_PASSWORD_PATH", v.trim());
        assert_eq!(path("/en/password-reset/confirm").unwrap(), "/en/password-reset/confirm");
        for bad in ["reset", "//evil.example/x", "/reset?x=1", "/reset#x", "/re set"] {
            assert!(path(bad).is_err(), "{bad}");
        }
    }
}
