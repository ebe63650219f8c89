//! The service configuration built from variable maps: defaults, ranges, secrets, cross-checks.

use std::collections::HashMap;

use super::*;

fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Config::from_lookup(|k| vars.get(k).cloned())
}

const KEY: &str = "0123456789abcdef0123456789abcdef-strong";

#[test]
fn defaults_apply() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/x.db", dir.path().display());
    let c = config(&[("DATABASE_URL", &url)]).unwrap();
    assert_eq!(c.sessions.access_token_expire_minutes, 15);
    assert_eq!(c.sessions.refresh_token_expire_days, 7);
    assert_eq!(c.sessions.session_max_lifetime_days, 30);
    assert_eq!(c.database.pool_size, 10);
    assert_eq!(c.session_cache.max_bytes, 256 * 1024 * 1024);
    assert_eq!(c.mail.reset_password_path, "/reset-password");
    assert_eq!(c.public_url, defaults::PUBLIC_URL);
    assert_eq!(c.environment, "development");
    assert_eq!(c.version, env!("CARGO_PKG_VERSION"));
    assert!(c.migrates_on_start());
    assert!(c.mail.new_device_alerts && c.session_cache.enabled);
}

#[test]
fn values_are_trimmed_and_blank_ones_are_unset() {
    let c = config(&[
        ("SECRET_KEY", KEY),
        ("DATABASE_URL", " postgres://h/db "),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", " 20 "),
        ("GEOIP_DATABASE", "  "),
        ("NEW_DEVICE_ALERTS", "OFF"),
        ("FRONTEND_URL", "https://app.example/"),
        ("ENVIRONMENT", "Staging"),
        ("FIRST_SUPERUSER_EMAIL", "root@example.com"),
        ("FIRST_SUPERUSER_PASSWORD", " spaces kept "),
    ])
    .unwrap();
    assert_eq!(c.sessions.access_token_expire_minutes, 20);
    assert_eq!(c.geoip_database, None);
    assert!(!c.mail.new_device_alerts);
    assert_eq!(c.mail.frontend_url, "https://app.example");
    assert_eq!(c.environment, "staging");
    assert_eq!(c.first_superuser.as_ref().unwrap().password.expose(), " spaces kept ");
    assert!(!c.migrates_on_start());
}

#[test]
fn generated_key_is_persisted_privately_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/x.db", dir.path().display());
    let first = config(&[("DATABASE_URL", &url)]).unwrap();
    assert!(matches!(first.secret_source, SecretSource::Generated(_)));
    let path = dir.path().join("x.db.secret_key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let second = config(&[("DATABASE_URL", &url)]).unwrap();
    assert_eq!(second.secret_source, SecretSource::File(path));
    assert_eq!(first.secret_key, second.secret_key);
}

#[test]
fn production_needs_a_strong_explicit_key() {
    let err = config(&[("ENVIRONMENT", "production"), ("DATABASE_URL", "postgres://x/y")]).unwrap_err();
    assert!(err.to_string().contains("SECRET_KEY must be set"));
    let err = config(&[
        ("ENVIRONMENT", "production"),
        ("SECRET_KEY", "dev_only_insecure_key_change_in_production_32chars_min"),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("placeholder"));
    let err = config(&[("ENVIRONMENT", "production"), ("SECRET_KEY", &"a".repeat(40))]).unwrap_err();
    assert!(err.to_string().contains("repetitive"));
    assert!(config(&[("ENVIRONMENT", "production"), ("SECRET_KEY", KEY)]).is_ok());
    let err = config(&[("SECRET_KEY", "short")]).unwrap_err();
    assert!(err.to_string().contains("at least 32"));
}

#[test]
fn bad_values_are_named() {
    for (name, value, needle) in [
        (
            "ACCESS_TOKEN_EXPIRE_MINUTES",
            "0",
            "ACCESS_TOKEN_EXPIRE_MINUTES must be a whole number from 1 to 1440, got '0'",
        ),
        ("DB_POOL_SIZE", "many", "DB_POOL_SIZE must be a whole number from 1 to 1000"),
        ("AUTO_MIGRATE", "maybe", "AUTO_MIGRATE must be true or false, got 'maybe'"),
        ("DATABASE_URL", "mysql://h/db", "DATABASE_URL"),
        ("SESSION_CACHE_LISTEN_URL", "sqlite://x.db", "SESSION_CACHE_LISTEN_URL must be a postgres:// URL"),
        ("SESSION_CACHE_MB", "0", "SESSION_CACHE_MB"),
        ("PUBLIC_URL", "auth.example.com", "PUBLIC_URL must be an http or https URL"),
        ("RESET_PASSWORD_PATH", "reset", "RESET_PASSWORD_PATH must be a path"),
        (
            "SESSION_MAX_LIFETIME_DAYS",
            "3",
            "SESSION_MAX_LIFETIME_DAYS (3) must be at least REFRESH_TOKEN_EXPIRE_DAYS (7)",
        ),
        ("FIRST_SUPERUSER_EMAIL", "root@example.com", "FIRST_SUPERUSER_PASSWORD is not"),
        ("HASH_NICE", "20", "HASH_NICE must be a whole number from 0 to 19, got '20'"),
    ] {
        let err = config(&[("SECRET_KEY", KEY), (name, value)]).unwrap_err().to_string();
        assert!(err.contains(needle), "{name}={value}: {err}");
    }
}

#[test]
fn secrets_stay_out_of_debug() {
    let c = config(&[
        ("SECRET_KEY", KEY),
        ("DATABASE_URL", "postgres://u:hunter2@h/db"),
        ("SMTP_URL", "smtp://u:pw2@h"),
        ("SESSION_CACHE_LISTEN_URL", "postgres://u:pw3@primary/db"),
        ("FIRST_SUPERUSER_EMAIL", "root@example.com"),
        ("FIRST_SUPERUSER_PASSWORD", "pw4-long-enough"),
        ("PUBLIC_URL", "https://auth.example.com/"),
    ])
    .unwrap();
    let debug = format!("{c:?}");
    for secret in [KEY, "hunter2", "pw2", "pw3", "pw4"] {
        assert!(!debug.contains(secret), "{secret}: {debug}");
    }
    // Everything else shows, including what the hand-written `Debug` used to leave out.
    for shown in
        ["retention", "project_name", "version", "public_url: \"https://auth.example.com\"", "root@example.com"]
    {
        assert!(debug.contains(shown), "{shown}: {debug}");
    }
    assert_eq!(c.mail.smtp_url.unwrap().expose(), "smtp://u:pw2@h");
}
