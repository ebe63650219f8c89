//! Secrets: the redacting [`Secret`] every password, key and URL that may hold a password is kept in, and
//! the signing key (`SECRET_KEY`): its checks, and the key generated once for development.

use std::fmt;
use std::path::{Path, PathBuf};

use latchkey_db::DatabaseUrl;

use super::ConfigError;

/// Keys shorter than this are refused.
const MIN_SECRET_KEY_LEN: usize = 32;

/// Secret keys that are public knowledge: the reference's shipped default and template placeholders.
const KNOWN_PLACEHOLDER_KEYS: &[&str] = &[
    "dev_only_insecure_key_change_in_production_32chars_min",
    "your_secret_key_here",
    "changeme",
    "change_me",
    "change-me",
    "secret",
    "insecure",
];

/// A value that must never be printed: `Debug` and `Display` show `***`; [`Secret::expose`] gives it to
/// what needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The signing secret (`SECRET_KEY`, checked, or generated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKey(Secret);

impl SecretKey {
    /// Wraps a key as given (`Config` checks the configured one).
    pub fn new(key: impl Into<String>) -> SecretKey {
        SecretKey(Secret::new(key))
    }

    /// The key's bytes, for building signing keys.
    pub fn expose(&self) -> &[u8] {
        self.0.expose().as_bytes()
    }
}

/// Where the secret key came from, so start-up can warn about a generated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `SECRET_KEY` was set.
    Environment,
    /// Generated earlier and read back from this file.
    File(PathBuf),
    /// Generated now and saved to this file.
    Generated(PathBuf),
}

/// The signing key: `SECRET_KEY` when set (checked, strictly in production); else, outside production, the
/// key generated once and kept in a 0600 file next to the SQLite database.
pub(super) fn signing_key(
    given: Option<&Secret>,
    production: bool,
    database: &DatabaseUrl,
) -> Result<(SecretKey, SecretSource), ConfigError> {
    match given {
        Some(key) => {
            check_secret_key(key.expose(), production)?;
            Ok((SecretKey(key.clone()), SecretSource::Environment))
        }
        None if production => Err(ConfigError(
            "SECRET_KEY must be set to a strong random value (at least 32 characters) when \
             ENVIRONMENT=production; generate one with `openssl rand -hex 32`"
                .into(),
        )),
        None => load_or_generate_secret(&secret_file_for(database)),
    }
}

fn check_secret_key(key: &str, production: bool) -> Result<(), ConfigError> {
    if key.chars().count() < MIN_SECRET_KEY_LEN {
        return Err(ConfigError(format!("SECRET_KEY must be at least {MIN_SECRET_KEY_LEN} characters long")));
    }
    let lower = key.to_lowercase();
    let placeholder = KNOWN_PLACEHOLDER_KEYS.iter().any(|p| lower.starts_with(p));
    let distinct = {
        let mut chars: Vec<char> = key.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        chars.len()
    };
    if production && (placeholder || distinct < 10) {
        return Err(ConfigError(
            "SECRET_KEY is a known placeholder or too repetitive; set a strong random value in production \
             (e.g. `openssl rand -hex 32`)"
                .into(),
        ));
    }
    Ok(())
}

/// The file that keeps a generated development key: next to the SQLite database, or in the working
/// folder for PostgreSQL.
fn secret_file_for(url: &DatabaseUrl) -> PathBuf {
    match url {
        DatabaseUrl::Sqlite(path) if path != ":memory:" => PathBuf::from(format!("{path}.secret_key")),
        _ => PathBuf::from("latchkey.secret_key"),
    }
}

fn load_or_generate_secret(path: &Path) -> Result<(SecretKey, SecretSource), ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(existing) => {
            let key = existing.trim().to_owned();
            check_secret_key(&key, false)
                .map_err(|e| ConfigError(format!("{} holds a bad key: {e}", path.display())))?;
            return Ok((SecretKey::new(key), SecretSource::File(path.to_owned())));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ConfigError(format!("cannot read {}: {e}", path.display()))),
    }
    let key = random_hex(32);
    write_private(path, &key)
        .map_err(|e| ConfigError(format!("cannot save a generated SECRET_KEY to {}: {e}", path.display())))?;
    Ok((SecretKey::new(key), SecretSource::Generated(path.to_owned())))
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{contents}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "Secret(***) ***");
        assert!(!format!("{:?}", SecretKey::new("hunter2")).contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2");
    }
}
