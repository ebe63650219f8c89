//! The one piece of shared state every handler sees.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use latchkey_domain::DeviceParser;
use latchkey_service::{Config, Services};

use crate::body::BodyBudget;
use crate::rate_limit::RateLimits;
use crate::settings::ServerSettings;

/// The server's settings, the service's configuration, the use cases' context, the User-Agent parser, the
/// rate limiters and the body budget; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub server: Arc<ServerSettings>,
    pub config: Arc<Config>,
    pub services: Arc<Services>,
    pub devices: Arc<DeviceParser>,
    pub limits: RateLimits,
    /// The request bodies' read deadline and memory budget.
    pub bodies: BodyBudget,
    /// Set when the server is told to stop (see [`Draining`]).
    pub draining: Draining,
}

/// Whether the server is shutting down. From the moment SIGTERM or SIGINT arrives, every answer closes
/// its connection (`Connection: close`): keep-alive clients (a load balancer, say) take their next request
/// elsewhere instead of sending it on a connection that the graceful shutdown would cut when its time is
/// up, and the shutdown ends as soon as the requests in flight have been answered.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    /// From now on, answers close their connections.
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`start`](Draining::start) was called.
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl AppState {
    /// Builds the state around the use cases' context and the rate limiters (built once, before the
    /// workers start, and shared by all of them: see `app::state`).
    pub fn new(
        server: ServerSettings,
        config: Config,
        services: Services,
        devices: Arc<DeviceParser>,
        limits: RateLimits,
    ) -> AppState {
        let bodies = BodyBudget::new(
            server.body_memory_budget_bytes,
            std::time::Duration::from_secs(server.body_read_timeout_seconds),
        );
        AppState {
            server: Arc::new(server),
            config: Arc::new(config),
            services: Arc::new(services),
            devices,
            limits,
            bodies,
            draining: Draining::default(),
        }
    }
}
