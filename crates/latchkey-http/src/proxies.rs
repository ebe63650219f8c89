//! Which IP a request comes from. `X-Forwarded-For` and `X-Real-IP` count only when the socket peer is a
//! trusted proxy (`TRUSTED_PROXIES`), and `X-Forwarded-For` is read right to left, skipping trusted hops
//! and stopping at the first untrusted or unparsable one: its left end is whatever the client wrote.
//! The client extractors, the access log and the rate limiters all key on this one answer.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The client's IP: the peer, or — behind trusted proxies — the address the outermost trusted hop saw.
///
/// `X-Forwarded-For` is walked right to left from the (trusted) peer: each entry is what the hop to its
/// right saw. A trusted entry lets the walk go on; the first untrusted entry is the client. The first
/// unparsable entry ends the walk too, at the last trusted hop: whatever lies left of it was written by
/// someone we do not trust, so junk cannot be used to push a forged address into view. When
/// `X-Forwarded-For` is present (even empty or unparsable), `X-Real-IP` is never consulted; it counts
/// only from a trusted peer that sends no `X-Forwarded-For`.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if trusted.is_empty() || !is_trusted(&peer) {
        return Some(peer);
    }
    let mut lines = headers.get_all("x-forwarded-for").peekable();
    if lines.peek().is_none() {
        return headers.get("x-real-ip").and_then(|v| v.to_str().ok()).and_then(parse_hop).or(Some(peer));
    }
    // Several header lines form one list, in order; a line that is not even text is one unparsable hop.
    let hops: Vec<Option<&str>> = lines
        .flat_map(|v| -> Vec<Option<&str>> { v.to_str().map_or(vec![None], |v| v.split(',').map(Some).collect()) })
        .collect();
    let mut last_trusted = peer;
    for hop in hops.iter().rev() {
        match hop.and_then(parse_hop) {
            Some(ip) if is_trusted(&ip) => last_trusted = ip,
            Some(ip) => return Some(ip),
            None => return Some(last_trusted),
        }
    }
    // Every hop was a trusted proxy: the left-most one is as far as anyone trustworthy can see.
    Some(last_trusted)
}

/// One forwarded address: an IP, or an IP with a port (`1.2.3.4:5678`, `[2001:db8::1]:443`), as some
/// proxies write them.
fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>().ok().or_else(|| s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
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

    #[test]
    fn junk_in_the_chain_cannot_bring_a_forged_address_into_view() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer = Some(ip("10.0.0.1"));
        // The review's attack: forged, junk, real. The real client is right of the junk.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, junk, 1.2.3.4")]);
        assert_eq!(client_ip(peer, &h, &proxies), Some(ip("1.2.3.4")));
        // Junk right after a trusted hop: the walk ends at that hop, never at the forged entry.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, junk, 10.0.0.9")]);
        assert_eq!(client_ip(peer, &h, &proxies), Some(ip("10.0.0.9")));
        let h = headers(&[("x-forwarded-for", "6.6.6.6, ")]);
        assert_eq!(client_ip(peer, &h, &proxies), Some(ip("10.0.0.1")));
        // Only trusted hops: the left-most of them.
        let h = headers(&[("x-forwarded-for", "10.0.0.3, 10.0.0.2")]);
        assert_eq!(client_ip(peer, &h, &proxies), Some(ip("10.0.0.3")));
        // Several header lines are one list, in order.
        let h = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "1.2.3.4, 10.0.0.2")]);
        assert_eq!(client_ip(peer, &h, &proxies), Some(ip("1.2.3.4")));
        // Ports, as some proxies write them.
        let h = headers(&[("x-forwarded-for", "[2001:db8::7]:443, 1.2.3.4:5678")]);
        assert_eq!(client_ip(peer, &h, &proxies), Some(ip("1.2.3.4")));
    }

    #[test]
    fn x_real_ip_is_ignored_whenever_x_forwarded_for_is_present() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer = Some(ip("10.0.0.1"));
        for xff in ["not-an-ip", "", "1.2.3.4"] {
            let mut h = HeaderMap::new();
            h.append(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_str(xff).unwrap());
            h.append(HeaderName::from_static("x-real-ip"), HeaderValue::from_static("6.6.6.6"));
            assert_ne!(client_ip(peer, &h, &proxies), Some(ip("6.6.6.6")), "{xff:?}");
        }
        // A header value that is not text counts as an unparsable hop.
        let mut h = HeaderMap::new();
        h.append(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_bytes(b"\xff\xfe").unwrap());
        h.append(HeaderName::from_static("x-real-ip"), HeaderValue::from_static("6.6.6.6"));
        assert_eq!(client_ip(peer, &h, &proxies), Some(ip("10.0.0.1")));
    }
}
