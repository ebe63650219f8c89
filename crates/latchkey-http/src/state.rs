//! The one piece of shared state every handler sees.

use std::sync::Arc;

use latchkey_db::Db;
use latchkey_domain::DeviceParser;
use latchkey_domain::clock::Clock;
use latchkey_service::{Config, ServiceError, Services};

use crate::middleware::rate_limit::RateLimits;

/// Configuration, the use cases' context, the User-Agent parser and the rate limiters; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub services: Arc<Services>,
    pub devices: Arc<DeviceParser>,
    pub limits: RateLimits,
}

impl AppState {
    /// Builds the state; the limiters are created here, once, and shared by every worker.
    pub fn new(
        config: Config,
        db: Db,
        clock: Arc<dyn Clock>,
        devices: Arc<DeviceParser>,
    ) -> Result<AppState, ServiceError> {
        let services = Services::new(&config, db, clock)?;
        Ok(AppState::with_services(config, services, devices))
    }

    /// Builds the state around ready-made services (tests pass a capturing mailer).
    pub fn with_services(config: Config, services: Services, devices: Arc<DeviceParser>) -> AppState {
        let limits = RateLimits::new(config.rate_limit_scale, &config.trusted_proxies);
        AppState { config: Arc::new(config), services: Arc::new(services), devices, limits }
    }
}
