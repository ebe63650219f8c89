//! The configuration tests run with, read through `Config::from_lookup` and `ServerSettings::from_lookup`
//! like the environment's: a fixed key, `ENVIRONMENT=test`, no rate limits.

use std::ops::{Deref, DerefMut};

use latchkey_http::settings::ServerSettings;
use latchkey_service::Config;

/// The test configuration over `database_url`.
pub fn config(database_url: &str) -> Config {
    config_with(database_url, &[])
}

/// The test configuration with more variables, named as in the environment; they win over the kit's.
pub fn config_with(database_url: &str, vars: &[(&str, &str)]) -> Config {
    let base = [
        ("DATABASE_URL", database_url),
        ("SECRET_KEY", "test-secret-key-with-enough-characters-0123456789"),
        ("ENVIRONMENT", "test"),
    ];
    let lookup = |name: &str| vars.iter().chain(&base).find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
    Config::from_lookup(lookup).expect("the test configuration is valid")
}

/// The HTTP server's settings for tests: the defaults, without rate limits.
pub fn server() -> ServerSettings {
    ServerSettings::from_lookup(|name| (name == "RATE_LIMIT_SCALE").then(|| "0".to_owned()))
        .expect("the test server settings are valid")
}

/// What a test app is built from: the server's settings and the service's configuration, which a tweak
/// reaches directly (`c.sessions…`; the server's as `c.server…`).
#[derive(Debug)]
pub struct Setup {
    pub server: ServerSettings,
    pub config: Config,
}

impl Deref for Setup {
    type Target = Config;

    fn deref(&self) -> &Config {
        &self.config
    }
}

impl DerefMut for Setup {
    fn deref_mut(&mut self) -> &mut Config {
        &mut self.config
    }
}
