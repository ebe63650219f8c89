//! What a session shows about its device: a readable name from the User-Agent (uaparser with uap-core's
//! vendored `regexes.yaml`), the client's `X-Device-Id`, IP address and (truncated) User-Agent.

use std::fmt;

use uaparser::{Parser as _, UserAgentParser};

use crate::error::DomainError;

/// uap-core's rules (Apache-2.0, Copyright 2009 Google Inc.; see assets/uap-core/LICENSE).
static REGEXES: &[u8] = include_bytes!("../assets/uap-core/regexes.yaml");

/// Longest stored User-Agent, in characters.
pub const USER_AGENT_MAX: usize = 500;
/// Longest accepted `X-Device-Id`, in characters.
pub const DEVICE_ID_MAX: usize = 255;
/// The name when nothing is known.
pub const UNKNOWN_DEVICE: &str = "Unknown device";

/// What the request tells about the device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceInfo {
    pub device_name: String,
    pub device_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// Where `ip_address` is, in English names, when a GeoIP database knows it.
    pub location: Location,
}

/// A place an IP address resolved to: English names, each `None` when unknown (no GeoIP database, a
/// private or reserved address, an address the database does not know).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub city: Option<String>,
    pub country: Option<String>,
}

impl Location {
    /// The place as a person reads it: "City, Country", or whichever of the two is known; `None` when
    /// neither is.
    pub fn place(&self) -> Option<String> {
        match (&self.city, &self.country) {
            (Some(city), Some(country)) => Some(format!("{city}, {country}")),
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (None, None) => None,
        }
    }
}

/// The User-Agent parser, built once at start-up (about 0.1 s) and shared.
pub struct DeviceParser(UserAgentParser);

impl fmt::Debug for DeviceParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceParser")
    }
}

impl Default for DeviceParser {
    fn default() -> Self {
        DeviceParser::new()
    }
}

/// uap-core's placeholders ("Other", "Generic", "Generic_Android", "Generic Smartphone", ...) say nothing.
fn known(s: &str) -> bool {
    !s.is_empty() && s != "Other" && !s.starts_with("Generic")
}

impl DeviceParser {
    /// Builds the parser from the vendored rules.
    pub fn new() -> DeviceParser {
        let parser = UserAgentParser::builder()
            .with_unicode_support(false)
            .build_from_bytes(REGEXES)
            .expect("the vendored uap-core regexes.yaml is valid");
        DeviceParser(parser)
    }

    /// A readable name: "Samsung SM-G991B" for a phone whose maker and model are known,
    /// "Chrome on Mac OS X" or "Mobile Safari on iOS" otherwise, then the browser or the OS alone,
    /// and "Unknown device" when nothing is recognised.
    pub fn device_name(&self, user_agent: Option<&str>) -> String {
        let Some(ua) = user_agent.map(str::trim).filter(|s| !s.is_empty()) else {
            return UNKNOWN_DEVICE.to_owned();
        };
        let client = self.0.parse(ua);
        let device = &client.device;
        if let (Some(brand), Some(model)) = (device.brand.as_deref(), device.model.as_deref()) {
            // Apple's models are just "iPhone"/"Mac": the browser and OS say more.
            if known(brand) && known(model) && brand != "Apple" && !model.eq_ignore_ascii_case("desktop") {
                return if model.starts_with(brand) { model.to_owned() } else { format!("{brand} {model}") };
            }
        }
        let browser = client.user_agent.family.as_ref();
        let os = client.os.family.as_ref();
        match (known(browser), known(os)) {
            (true, true) => format!("{browser} on {os}"),
            (true, false) => browser.to_owned(),
            (false, true) => os.to_owned(),
            (false, false) => UNKNOWN_DEVICE.to_owned(),
        }
    }
}

/// The User-Agent as stored: at most 500 characters, `None` when empty.
pub fn truncate_user_agent(ua: &str) -> Option<String> {
    let ua = ua.trim();
    if ua.is_empty() { None } else { Some(ua.chars().take(USER_AGENT_MAX).collect()) }
}

/// Checks an `X-Device-Id` header value (at most 255 characters).
pub fn validate_device_id(raw: &str) -> Result<String, DomainError> {
    if raw.chars().count() > DEVICE_ID_MAX {
        return Err(DomainError::constraint("X-Device-Id", "String should have at most 255 characters"));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    fn parser() -> &'static DeviceParser {
        static P: OnceLock<DeviceParser> = OnceLock::new();
        P.get_or_init(DeviceParser::new)
    }

    #[test]
    fn names_common_devices() {
        let cases = [
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                "Chrome on Mac OS X",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                "Mobile Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
                "Samsung SM-G991B",
            ),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox on Windows"),
            ("curl/8.4.0", "curl"),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
                "Safari on Mac OS X",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
                "Google Pixel 8",
            ),
            // Chrome's reduced User-Agent hides the model ("K"): uap-core's brand is then "Generic_Android".
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
                "Chrome Mobile on Android",
            ),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox on Linux"),
            ("python-requests/2.31.0", "Python Requests"),
            // Clients uap-core does not know.
            ("python-httpx/0.27.0", UNKNOWN_DEVICE),
            ("testclient", UNKNOWN_DEVICE),
            ("Mozilla/5.0", UNKNOWN_DEVICE),
        ];
        for (ua, want) in cases {
            assert_eq!(parser().device_name(Some(ua)), want, "{ua}");
        }
        assert_eq!(parser().device_name(None), UNKNOWN_DEVICE);
        assert_eq!(parser().device_name(Some("   ")), UNKNOWN_DEVICE);
        assert_eq!(parser().device_name(Some("zzz-nothing-known")), UNKNOWN_DEVICE);
    }

    #[test]
    fn parser_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<DeviceParser>();
        assert_eq!(format!("{:?}", parser()), "DeviceParser");
    }

    #[test]
    fn truncates_and_limits() {
        assert_eq!(truncate_user_agent(&"x".repeat(600)).unwrap().len(), 500);
        // Characters, not bytes: a multi-byte character is never cut in half.
        assert_eq!(truncate_user_agent(&"é".repeat(600)).unwrap().chars().count(), 500);
        assert_eq!(truncate_user_agent("curl/8.4.0").as_deref(), Some("curl/8.4.0"));
        assert_eq!(truncate_user_agent(""), None);
        assert_eq!(truncate_user_agent("  "), None);
        assert!(validate_device_id(&"d".repeat(255)).is_ok());
        assert_eq!(validate_device_id("phone-1").unwrap(), "phone-1");
        let e = validate_device_id(&"d".repeat(256)).unwrap_err();
        assert_eq!(e.message(), "String should have at most 255 characters");
        assert_eq!(e.field(), "X-Device-Id");
        assert!(!e.is_custom());
    }

    #[test]
    fn a_place_reads_city_then_country() {
        let at = |city: Option<&str>, country: Option<&str>| {
            Location { city: city.map(str::to_owned), country: country.map(str::to_owned) }.place()
        };
        assert_eq!(at(Some("London"), Some("United Kingdom")).as_deref(), Some("London, United Kingdom"));
        assert_eq!(at(None, Some("Sweden")).as_deref(), Some("Sweden"));
        assert_eq!(at(Some("Atlantis"), None).as_deref(), Some("Atlantis"));
        assert_eq!(at(None, None), None);
    }
}
