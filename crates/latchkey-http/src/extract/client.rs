//! The client's address, User-Agent and device id. `X-Forwarded-For` and `X-Real-IP` count only when the
//! socket peer is a trusted proxy (`TRUSTED_PROXIES`), and `X-Forwarded-For` is read right to left,
//! skipping trusted hops: its left end is whatever the client wrote.

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, USER_AGENT};
use actix_web::{FromRequest, HttpRequest};
use ipnet::IpNet;
use latchkey_domain::DeviceInfo;
use latchkey_domain::device::{DeviceParser, truncate_user_agent, validate_device_id};

use crate::error::ApiError;
use crate::state::AppState;
use crate::validation::domain_error_at;

/// The client's IP: the peer, or — behind trusted proxies — the nearest untrusted forwarded address.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if trusted.is_empty() || !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    if let Some(ip) = forwarded.iter().rev().find(|ip| !is_trusted(ip)) {
        return Some(*ip);
    }
    if let Some(first) = forwarded.first() {
        return Some(*first);
    }
    headers.get("x-real-ip").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok()).or(Some(peer))
}

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

fn extract(req: &HttpRequest) -> Result<ClientInfo, ApiError> {
    let trusted = req.app_data::<actix_web::web::Data<AppState>>().map(|s| s.config.trusted_proxies.as_slice());
    let ip = client_ip(req.peer_addr().map(|a| a.ip()), req.headers(), trusted.unwrap_or(&[]));
    let user_agent = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()).and_then(truncate_user_agent);
    let device_id = match req.headers().get("x-device-id") {
        None => None,
        Some(v) => {
            let raw = v.to_str().map_err(|_| {
                ApiError::validation(vec![crate::error::ErrorItem::validation(
                    Some("X-Device-Id".into()),
                    "Header value must be visible ASCII",
                )])
            })?;
            let id = validate_device_id(raw.trim()).map_err(|e| domain_error_at("X-Device-Id", &e))?;
            (!id.is_empty()).then_some(id)
        }
    };
    Ok(ClientInfo { ip, user_agent, device_id })
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 1.2.3.4, 10.0.0.7")]);
        // An untrusted peer's headers are ignored.
        assert_eq!(client_ip(Some(ip("9.9.9.9")), &h, &proxies), Some(ip("9.9.9.9")));
        // No proxies configured: never trusted.
        assert_eq!(client_ip(Some(ip("10.0.0.1")), &h, &[]), Some(ip("10.0.0.1")));
        // Right to left, skipping trusted hops: the spoofed left-most entry is not used.
        assert_eq!(client_ip(Some(ip("10.0.0.1")), &h, &proxies), Some(ip("1.2.3.4")));
        let real = headers(&[("x-real-ip", "5.5.5.5")]);
        assert_eq!(client_ip(Some(ip("10.0.0.1")), &real, &proxies), Some(ip("5.5.5.5")));
        let junk = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(client_ip(Some(ip("10.0.0.1")), &junk, &proxies), Some(ip("10.0.0.1")));
    }
}
