//! Small GeoIP files (the `.mmdb` format `GEOIP_DATABASE` names), written by the tests themselves.

use std::path::{Path, PathBuf};

use mmdb_writer::{Value, Writer};

/// A City-like record: the country and, when given, the city, with English names.
fn place(city: Option<&str>, country: &str) -> Value {
    let names = |name: &str| Value::map([("names", Value::map([("en", Value::from(name))]))]);
    let mut entries = vec![("country", names(country))];
    if let Some(city) = city {
        entries.push(("city", names(city)));
    }
    Value::map(entries)
}

/// A GeoIP file being written: networks and where they are.
#[derive(Debug)]
pub struct GeoFile {
    places: Vec<(&'static str, Option<String>, String)>,
}

impl GeoFile {
    /// A file with no network.
    pub fn new() -> GeoFile {
        GeoFile { places: Vec::new() }
    }

    /// The test City file: `81.2.69.0/24` and `2a02:c7f::/32` are `city` in the United Kingdom,
    /// `89.160.20.0/24` is Sweden with no city, and private space (`10.0.0.0/8`, `127.0.0.0/8`) has data
    /// too, so that a `null` there shows the address was not looked up.
    pub fn city(city: &str) -> GeoFile {
        GeoFile::new()
            .with_city("81.2.69.0/24", city, "United Kingdom")
            .with_city("2a02:c7f::/32", city, "United Kingdom")
            .with_country("89.160.20.0/24", "Sweden")
            .with_city("10.0.0.0/8", "Nowhere", "Private")
            .with_city("127.0.0.0/8", "Nowhere", "Private")
    }

    /// `network` is `city` in `country`.
    pub fn with_city(mut self, network: &'static str, city: &str, country: &str) -> GeoFile {
        self.places.push((network, Some(city.to_owned()), country.to_owned()));
        self
    }

    /// `network` is in `country`, city unknown.
    pub fn with_country(mut self, network: &'static str, country: &str) -> GeoFile {
        self.places.push((network, None, country.to_owned()));
        self
    }

    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut w = Writer::builder("Test-City").description(&[("en", "Latchkey test file")]).build();
        for (network, city, country) in &self.places {
            w.insert_value(network.parse::<ipnet::IpNet>().unwrap(), place(city.as_deref(), country)).unwrap();
        }
        w.to_bytes().unwrap()
    }

    /// Writes the file to `dir/name`; returns its path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.bytes()).unwrap();
        path
    }
}

impl Default for GeoFile {
    fn default() -> Self {
        GeoFile::new()
    }
}
