//! Per-route, per-client-IP rate limits (actix-governor), as the reference enforces them, scaled by
//! `RATE_LIMIT_SCALE` (0 turns them off). The limiters are built once, before the workers start, and
//! shared by all of them. The key is the client IP as `proxies::client_ip` resolves it (trusted-proxy
//! aware); a 429 answers in the envelope with `Retry-After`. The app wraps each limited route in its
//! limiter (`app.rs`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use actix_governor::{GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError};
use actix_web::dev::ServiceRequest;
use actix_web::http::Method;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError as _};
use governor::NotUntil;
use governor::clock::{Clock as _, DefaultClock, QuantaInstant};
use governor::middleware::NoOpMiddleware;
use ipnet::IpNet;

use crate::endpoints::Endpoints;
use crate::error::ApiError;
use crate::proxies::client_ip;

/// Keys requests by client IP and renders the 429.
#[derive(Debug, Clone)]
pub struct ClientIpKey {
    trusted: Arc<Vec<IpNet>>,
    per_minute: u32,
}

impl KeyExtractor for ClientIpKey {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<IpAddr, Self::KeyExtractionError> {
        // A request with no peer address (only possible in tests) shares one bucket.
        Ok(client_ip(req.peer_addr().map(|a| a.ip()), req.headers(), &self.trusted)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }

    fn exceed_rate_limit_response(&self, negative: &NotUntil<QuantaInstant>, _: HttpResponseBuilder) -> HttpResponse {
        let wait = negative.wait_time_from(DefaultClock::default().now()).as_secs_f64().ceil() as u64;
        ApiError::rate_limited(format!("Rate limit exceeded: {} per 1 minute", self.per_minute), wait).error_response()
    }
}

/// One route's limiter.
pub type Limit = GovernorConfig<ClientIpKey, NoOpMiddleware<QuantaInstant>>;

/// The limiter of every rate-limited operation, keyed by method and path ("POST /api/v1/auth/login").
/// Built once, from the routers' declared limits, before the workers start; every worker's routes wrap
/// the same limiters (a `Limit` clone shares its state), so a client's quota is per process, not per worker.
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    by_route: Arc<HashMap<String, Limit>>,
}

impl RateLimits {
    /// Builds a limiter for every endpoint that declares a limit: its per-minute quota times `scale`
    /// (none when that rounds to zero, e.g. with `RATE_LIMIT_SCALE=0`).
    pub fn new(scale: f64, trusted: &[IpNet], endpoints: &Endpoints) -> RateLimits {
        let trusted = Arc::new(trusted.to_vec());
        let make = |per_minute: u32| -> Option<Limit> {
            let scaled = (f64::from(per_minute) * scale).ceil();
            if scaled < 1.0 {
                return None;
            }
            let n = scaled.min(f64::from(u32::MAX)) as u32;
            GovernorConfigBuilder::default()
                .period(Duration::from_secs_f64(60.0 / f64::from(n)))
                .burst_size(n)
                .key_extractor(ClientIpKey { trusted: trusted.clone(), per_minute: n })
                .finish()
        };
        let by_route = endpoints.iter().filter_map(|e| Some((key(&e.method, &e.path), make(e.per_minute?)?))).collect();
        RateLimits { by_route: Arc::new(by_route) }
    }

    /// The limiter of `method path`, if it has one.
    pub fn get(&self, method: &Method, path: &str) -> Option<&Limit> {
        self.by_route.get(&key(method, path))
    }

    /// How many operations are limited.
    pub fn len(&self) -> usize {
        self.by_route.len()
    }

    /// True when no operation is limited.
    pub fn is_empty(&self) -> bool {
        self.by_route.is_empty()
    }

    /// Forgets clients idle long enough to have a full quota again; keeps memory bounded.
    pub fn retain_recent(&self) {
        for limit in self.by_route.values() {
            let limiter = limit.limiter();
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

fn key(method: &Method, path: &str) -> String {
    format!("{method} {path}")
}
