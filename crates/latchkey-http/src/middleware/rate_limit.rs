//! Per-route, per-client-IP rate limits (actix-governor), as the reference enforces them, scaled by
//! `RATE_LIMIT_SCALE` (0 turns them off). The limiters are built once, before the workers start, and
//! shared by all of them. The key is the client IP as `extract::client_ip` resolves it (trusted-proxy
//! aware); a 429 answers in the envelope with `Retry-After`.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use actix_governor::{GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError};
use actix_web::dev::ServiceRequest;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError as _};
use governor::NotUntil;
use governor::clock::{Clock as _, DefaultClock, QuantaInstant};
use governor::middleware::NoOpMiddleware;
use ipnet::IpNet;

use crate::error::ApiError;
use crate::extract::client_ip;

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

/// Every limited route's limiter, `None` when limits are off.
#[derive(Debug, Clone)]
pub struct RateLimits {
    pub register: Option<Limit>,
    pub login: Option<Limit>,
    pub login_oauth: Option<Limit>,
    pub refresh: Option<Limit>,
    pub reset_request: Option<Limit>,
    pub reset_confirm: Option<Limit>,
    pub logout: Option<Limit>,
    pub logout_all: Option<Limit>,
    pub logout_others: Option<Limit>,
    pub sessions_list: Option<Limit>,
    pub session_revoke: Option<Limit>,
    pub sessions_cleanup: Option<Limit>,
    pub password_change: Option<Limit>,
}

impl RateLimits {
    /// Builds the limiters: the reference's per-minute limits times `scale`.
    pub fn new(scale: f64, trusted: &[IpNet]) -> RateLimits {
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
        RateLimits {
            register: make(5),
            login: make(10),
            login_oauth: make(10),
            refresh: make(30),
            reset_request: make(3),
            reset_confirm: make(5),
            logout: make(10),
            logout_all: make(5),
            logout_others: make(5),
            sessions_list: make(30),
            session_revoke: make(10),
            sessions_cleanup: make(5),
            password_change: make(5),
        }
    }

    /// Forgets clients idle long enough to have a full quota again; keeps memory bounded.
    pub fn retain_recent(&self) {
        for limit in [
            &self.register,
            &self.login,
            &self.login_oauth,
            &self.refresh,
            &self.reset_request,
            &self.reset_confirm,
            &self.logout,
            &self.logout_all,
            &self.logout_others,
            &self.sessions_list,
            &self.session_revoke,
            &self.sessions_cleanup,
            &self.password_change,
        ]
        .into_iter()
        .flatten()
        {
            let limiter = limit.limiter();
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}
