//! The configuration tests run with, read through `Config::from_lookup` like the environment's: a fixed
//! key, `ENVIRONMENT=test`, no rate limits.

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
        ("RATE_LIMIT_SCALE", "0"),
    ];
    let lookup = |name: &str| vars.iter().chain(&base).find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
    Config::from_lookup(lookup).expect("the test configuration is valid")
}
