//! The one piece of shared state every handler sees.

use std::sync::Arc;

use latchkey_domain::DeviceParser;
use latchkey_service::{Config, Services};

use crate::middleware::rate_limit::RateLimits;
use crate::routes;

/// Configuration, the use cases' context, the User-Agent parser and the rate limiters; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub services: Arc<Services>,
    pub devices: Arc<DeviceParser>,
    pub limits: RateLimits,
}

impl AppState {
    /// Builds the state around the use cases' context; the limiters of every router's limited
    /// operations are created here, once, and shared by every worker.
    pub fn with_services(config: Config, services: Services, devices: Arc<DeviceParser>) -> AppState {
        let limits = RateLimits::new(config.rate_limit_scale, &config.trusted_proxies, &routes::all());
        AppState { config: Arc::new(config), services: Arc::new(services), devices, limits }
    }
}
