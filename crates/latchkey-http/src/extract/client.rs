//! The client's address (as `crate::proxies` resolves it behind trusted proxies), User-Agent and device
//! id.

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header::USER_AGENT;
use actix_web::{FromRequest, HttpRequest};
use latchkey_domain::DeviceInfo;
use latchkey_domain::device::Location;
use latchkey_domain::device::{DeviceParser, truncate_user_agent, validate_device_id};

use crate::error::{ApiError, ErrorItem};
use crate::input_rules::{CONTROL_IN_TEXT, has_control};
use crate::proxies::client_ip;
use crate::state::AppState;

/// What the request says about the client, before the (costlier) User-Agent parse.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub device_id: Option<String>,
}

impl ClientInfo {
    /// The device description a session stores; parses the User-Agent (about 0.1 ms: call it off the
    /// event loop).
    pub fn device(&self, parser: &DeviceParser) -> DeviceInfo {
        DeviceInfo {
            device_name: parser.device_name(self.user_agent.as_deref()),
            device_id: self.device_id.clone(),
            ip_address: self.ip.map(|ip| ip.to_string()),
            user_agent: self.user_agent.clone(),
            location: Location::default(),
        }
    }
}

impl FromRequest for ClientInfo {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(extract(req))
    }
}

/// The request's client IP (see [`client_ip`]), without the rest of [`ClientInfo`]: for a route that needs
/// only the address and must not refuse a request over a malformed `X-Device-Id` (refresh).
pub fn request_ip(req: &HttpRequest) -> Option<IpAddr> {
    let trusted = req.app_data::<actix_web::web::Data<AppState>>().map(|s| s.server.trusted_proxies.as_slice());
    client_ip(req.peer_addr().map(|a| a.ip()), req.headers(), trusted.unwrap_or(&[]))
}

fn extract(req: &HttpRequest) -> Result<ClientInfo, ApiError> {
    let ip = request_ip(req);
    let user_agent = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()).and_then(truncate_user_agent);
    let device_id = match req.headers().get("x-device-id") {
        None => None,
        Some(v) => {
            let raw = v.to_str().map_err(|_| {
                ApiError::validation(vec![ErrorItem::validation(
                    Some("X-Device-Id".into()),
                    "Header value must be visible ASCII",
                )])
            })?;
            // Header values may carry a tab, which has no place in an identifier (see `input_rules`).
            if has_control(raw.trim(), false) {
                return Err(ApiError::validation(vec![ErrorItem::validation(
                    Some("X-Device-Id".into()),
                    CONTROL_IN_TEXT,
                )]));
            }
            let id = validate_device_id(raw.trim()).map_err(|e| {
                ApiError::validation(vec![ErrorItem { field: Some("X-Device-Id".into()), ..ErrorItem::domain(&e) }])
            })?;
            (!id.is_empty()).then_some(id)
        }
    };
    Ok(ClientInfo { ip, user_agent, device_id })
}
