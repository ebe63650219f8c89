//! The HTTP server's own settings (address, workers, rate limits, proxies, CORS, logging, metrics, request
//! bodies), declared and parsed here with the typed helper of `latchkey_service::config::env`, beside the
//! service's settings: [`Settings`] is everything `latchkey serve` reads, and what `--help` lists.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use latchkey_service::Config;
use latchkey_service::config::{self, ConfigError, env};

/// How long a request body may take to arrive, counted from the request's arrival, by default.
pub const BODY_READ_TIMEOUT_SECONDS: u64 = 15;

/// A list read from one value. (A `Vec` field would make clap take repeated values instead.)
pub type List<T> = Vec<T>;

/// Everything `serve` (and `migrate`, `create-superuser`) reads: the server's settings and the service's.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Settings {
    #[command(flatten)]
    pub server: ServerSettings,
    #[command(flatten)]
    pub service: config::Settings,
}

impl Settings {
    /// Checks what no single value can say; the service's configuration gets the server's address as
    /// `PUBLIC_URL`'s default.
    pub fn resolve(self) -> Result<(ServerSettings, Config), ConfigError> {
        self.server.check()?;
        let address = format!("http://{}:{}", self.server.host, self.server.port);
        let config = self.service.into_config(|| address)?;
        Ok((self.server, config))
    }
}

/// The server's settings.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "HTTP server")]
pub struct ServerSettings {
    /// Address to listen on (0.0.0.0 for all interfaces).
    #[arg(long, env = "HOST", default_value = "127.0.0.1", value_parser = env::text())]
    pub host: String,
    /// Port to listen on (0–65535; 0: any free port).
    #[arg(long, env = "PORT", default_value = "8000", value_parser = env::int::<u16>(0..=65535))]
    pub port: u16,
    /// HTTP worker threads (1–1024; default: one per CPU).
    #[arg(long, env = "WORKERS", value_parser = env::int::<usize>(1..=1024))]
    pub workers: Option<usize>,
    /// Multiplies every per-IP route limit (a number >= 0; 0 turns them off).
    #[arg(long, env = "RATE_LIMIT_SCALE", default_value = "1", value_parser = env::rule(rate_limit_scale))]
    pub rate_limit_scale: f64,
    /// Comma-separated IPs/CIDRs whose X-Forwarded-For and X-Real-IP are believed.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", hide_default_value = true,
          value_parser = env::rule(trusted_proxies))]
    pub trusted_proxies: List<IpNet>,
    /// The origins that may call the API from a browser, with credentials: a JSON list or comma-separated
    /// (each http(s)://host[:port]; no wildcard).
    #[arg(long = "backend-cors-origins", env = "BACKEND_CORS_ORIGINS", default_value = "http://localhost:3000",
          value_parser = env::rule(origins))]
    pub cors_origins: List<String>,
    /// text or json (one JSON object per line).
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_parser = env::rule(log_format))]
    pub log_format: LogFormat,
    /// on: a line per request; off: none; a fraction such as 0.01: that share, plus every 5xx.
    #[arg(long, env = "ACCESS_LOG", default_value = "on", value_parser = env::rule(AccessLog::parse))]
    pub access_log: AccessLog,
    /// false turns the metrics off: no /metrics, nothing recorded per request.
    #[arg(long = "metrics", env = "METRICS", default_value = "true", action = clap::ArgAction::Set,
          value_parser = env::boolean())]
    pub metrics_enabled: bool,
    /// Serve /metrics on a listener of its own at this address (e.g. 127.0.0.1:9100); unset: on the main
    /// port.
    #[arg(long, env = "METRICS_ADDR", value_parser = env::rule(metrics_addr))]
    pub metrics_addr: Option<SocketAddr>,
    /// A request body must be complete this many seconds after its request arrived, else 408 (1–300).
    #[arg(long, env = "BODY_READ_TIMEOUT_SECONDS", default_value_t = BODY_READ_TIMEOUT_SECONDS,
          value_parser = env::int::<u64>(1..=300))]
    pub body_read_timeout_seconds: u64,
    /// What request bodies being read and parsed may hold together, in MiB (16–65536; at least 16: the
    /// largest body, 10 MiB, must fit in the part for large bodies); kept in bytes.
    #[arg(long = "body-memory-budget-mb", env = "BODY_MEMORY_BUDGET_MB", default_value = "32",
          value_parser = env::mib(16..=65_536))]
    pub body_memory_budget_bytes: usize,
}

impl ServerSettings {
    /// Builds the settings from any variable source (name to value) instead of the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ServerSettings, ConfigError> {
        let settings: ServerSettings = env::from_lookup(lookup)?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !self.metrics_enabled && self.metrics_addr.is_some() {
            return Err(ConfigError("METRICS_ADDR is set but METRICS=false turns the metrics off".into()));
        }
        Ok(())
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

fn log_format(_: &str, v: &str) -> Result<LogFormat, ConfigError> {
    match v.to_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(ConfigError(format!("LOG_FORMAT must be 'text' or 'json', got '{other}'"))),
    }
}

/// Which requests get an access-log line (`ACCESS_LOG`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AccessLog {
    /// None (server errors are still logged with their cause where they happen).
    Off,
    /// Every request.
    All,
    /// This fraction of requests (0 < p < 1), chosen at random, plus every 5xx.
    Sample(f64),
}

impl AccessLog {
    fn parse(_: &str, v: &str) -> Result<AccessLog, ConfigError> {
        match v.to_ascii_lowercase().as_str() {
            "on" | "true" | "all" => return Ok(AccessLog::All),
            "off" | "false" | "none" => return Ok(AccessLog::Off),
            _ => {}
        }
        match v.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => Ok(if p == 0.0 {
                AccessLog::Off
            } else if p == 1.0 {
                AccessLog::All
            } else {
                AccessLog::Sample(p)
            }),
            _ => Err(ConfigError(format!(
                "ACCESS_LOG must be 'on', 'off' or a sampling fraction from 0 to 1 (e.g. 0.01), got '{v}'"
            ))),
        }
    }
}

fn rate_limit_scale(_: &str, v: &str) -> Result<f64, ConfigError> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(ConfigError(format!("RATE_LIMIT_SCALE must be a number >= 0 (0 disables rate limits), got '{v}'"))),
    }
}

fn metrics_addr(_: &str, v: &str) -> Result<SocketAddr, ConfigError> {
    v.parse::<SocketAddr>().map_err(|_| {
        ConfigError(format!("METRICS_ADDR must be an address and port such as 127.0.0.1:9100 or [::1]:9100, got '{v}'"))
    })
}

fn trusted_proxies(_: &str, list: &str) -> Result<List<IpNet>, ConfigError> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(parse_net).collect()
}

fn parse_net(s: &str) -> Result<IpNet, ConfigError> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| ConfigError(format!("TRUSTED_PROXIES: '{s}' is not an IP address or CIDR range")))
}

/// Accepts the reference's JSON list (`["http://a","http://b"]`) or a comma-separated list.
fn origins(_: &str, v: &str) -> Result<List<String>, ConfigError> {
    let origins: Vec<String> = if v.starts_with('[') {
        serde_json::from_str(v)
            .map_err(|e| ConfigError(format!("BACKEND_CORS_ORIGINS is not a JSON list of strings: {e}")))?
    } else {
        v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
    };
    origins.into_iter().map(|o| check_origin(o.trim_end_matches('/'))).collect()
}

/// An origin as a browser sends it: `http` or `https`, a host, an optional port, nothing else. A wildcard
/// is refused by name: the CORS middleware allows credentials, a credentialed CORS answer can never be
/// `*`, and the middleware would otherwise refuse to start with an obscure message.
fn check_origin(origin: &str) -> Result<String, ConfigError> {
    if origin.contains('*') {
        return Err(ConfigError(format!(
            "BACKEND_CORS_ORIGINS: '{origin}' is a wildcard; list each allowed origin (e.g. \
             [\"https://app.example.com\"]): credentialed CORS cannot allow any origin"
        )));
    }
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with(':')
            && r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    });
    if !host_ok {
        return Err(ConfigError(format!(
            "BACKEND_CORS_ORIGINS: '{origin}' is not an origin (scheme http or https, a host and an optional \
             port, no path)"
        )));
    }
    Ok(origin.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn server(pairs: &[(&str, &str)]) -> Result<ServerSettings, ConfigError> {
        let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        ServerSettings::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn defaults_apply() {
        let s = server(&[]).unwrap();
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 8000));
        assert_eq!(s.rate_limit_scale, 1.0);
        assert_eq!(s.cors_origins, vec!["http://localhost:3000"]);
        assert!(s.trusted_proxies.is_empty());
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.body_read_timeout_seconds, BODY_READ_TIMEOUT_SECONDS);
        assert_eq!(s.body_memory_budget_bytes, 32 * 1024 * 1024);
    }

    #[test]
    fn access_log_and_metrics_address() {
        let s = server(&[]).unwrap();
        assert_eq!(s.access_log, AccessLog::All);
        assert_eq!(s.metrics_addr, None);
        assert_eq!(s.workers, None);
        assert_eq!(server(&[("WORKERS", "3")]).unwrap().workers, Some(3));
        assert!(server(&[("WORKERS", "0")]).unwrap_err().to_string().contains("WORKERS"));
        assert_eq!(server(&[("ACCESS_LOG", "off")]).unwrap().access_log, AccessLog::Off);
        assert_eq!(server(&[("ACCESS_LOG", "0")]).unwrap().access_log, AccessLog::Off);
        assert_eq!(server(&[("ACCESS_LOG", "ON")]).unwrap().access_log, AccessLog::All);
        assert_eq!(server(&[("ACCESS_LOG", "0.05")]).unwrap().access_log, AccessLog::Sample(0.05));
        for bad in ["2", "-0.1", "sometimes", "NaN"] {
            let err = server(&[("ACCESS_LOG", bad)]).unwrap_err().to_string();
            assert!(err.contains("ACCESS_LOG"), "{bad}: {err}");
        }
        let s = server(&[("METRICS_ADDR", "127.0.0.1:9100")]).unwrap();
        assert_eq!(s.metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
        let err = server(&[("METRICS_ADDR", "localhost")]).unwrap_err().to_string();
        assert!(err.contains("METRICS_ADDR"), "{err}");
        assert!(s.metrics_enabled);
        assert!(!server(&[("METRICS", "false")]).unwrap().metrics_enabled);
        let err = server(&[("METRICS", "false"), ("METRICS_ADDR", "127.0.0.1:9100")]).unwrap_err().to_string();
        assert!(err.contains("METRICS=false"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        for (name, value, needle) in [
            ("PORT", "http", "PORT must be a whole number from 0 to 65535, got 'http'"),
            ("RATE_LIMIT_SCALE", "-1", "RATE_LIMIT_SCALE"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, nope", "'nope'"),
            ("LOG_FORMAT", "xml", "LOG_FORMAT"),
            ("BACKEND_CORS_ORIGINS", "[1,2]", "BACKEND_CORS_ORIGINS"),
            ("BACKEND_CORS_ORIGINS", "*", "wildcard"),
            ("BACKEND_CORS_ORIGINS", r#"["*"]"#, "wildcard"),
            ("BACKEND_CORS_ORIGINS", "https://*.example.com", "wildcard"),
            ("BACKEND_CORS_ORIGINS", "example.com", "is not an origin"),
            ("BACKEND_CORS_ORIGINS", "https://a.example/app", "is not an origin"),
            ("BODY_MEMORY_BUDGET_MB", "8", "BODY_MEMORY_BUDGET_MB must be a whole number from 16 to 65536"),
        ] {
            let err = server(&[(name, value)]).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}={value}: {err}");
        }
    }

    #[test]
    fn lists_parse() {
        let s = server(&[
            ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1"),
            ("BACKEND_CORS_ORIGINS", r#"["http://a.example", "https://b.example/"]"#),
        ])
        .unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
        assert_eq!(s.cors_origins, vec!["http://a.example", "https://b.example"]);
        let s = server(&[("BACKEND_CORS_ORIGINS", "http://a.example, https://b.example")]).unwrap();
        assert_eq!(s.cors_origins, vec!["http://a.example", "https://b.example"]);
    }

    #[test]
    fn the_commands_are_well_formed() {
        use clap::CommandFactory as _;
        crate::cli::Cli::command().debug_assert();
    }

    #[test]
    fn every_range_a_setting_checks_is_the_one_its_help_states() {
        use clap::{Args as _, Command};
        let command = Settings::augment_args(Command::new("latchkey"));
        let mut checked = 0;
        for arg in command.get_arguments() {
            let Some(name) = arg.get_env().map(|e| e.to_string_lossy().into_owned()) else { continue };
            let Err(err) = env::from_lookup::<Settings>(|k| (k == name).then(|| "-99999999999".to_owned())) else {
                continue;
            };
            let Some((_, range)) = err.0.split_once(" must be a whole number from ") else { continue };
            let (low, high) = range.split_once(", got").unwrap().0.split_once(" to ").unwrap();
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(help.contains(&format!("{low}–{high}")), "{name}: checks {low} to {high}; help: {help}");
            checked += 1;
        }
        assert!(checked >= 20, "{checked}");
    }

    #[test]
    fn the_public_url_defaults_to_the_server_address() {
        let vars = |k: &str| match k {
            "HOST" => Some("0.0.0.0".to_owned()),
            "PORT" => Some("9000".to_owned()),
            "SECRET_KEY" => Some("0123456789abcdef0123456789abcdef-strong".to_owned()),
            "DATABASE_URL" => Some("postgres://h/db".to_owned()),
            _ => None,
        };
        let settings =
            Settings { server: env::from_lookup(vars).unwrap(), service: config::Settings::from_lookup(vars).unwrap() };
        let (server, config) = settings.resolve().unwrap();
        assert_eq!(server.port, 9000);
        assert_eq!(config.public_url, "http://0.0.0.0:9000");
    }
}
