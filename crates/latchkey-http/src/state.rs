//! The one piece of shared state every handler sees.

use std::sync::Arc;

use latchkey_db::Db;
use latchkey_domain::clock::Clock;
use latchkey_service::Config;

/// Configuration, database and clock, cheap to clone (everything behind `Arc`s).
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
}
