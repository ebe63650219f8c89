//! `cargo xtask bench-geoip`: what a GeoIP lookup costs. Builds a synthetic City-like `.mmdb` of
//! `--networks` public networks (city and country names in English; one in eight country-only), then
//! measures, on one thread, what `latchkey_service::geoip::Locator::locate` does per address: the tree
//! lookup and the decoding of `city.names.en` and `country.names.en` (found addresses, and addresses
//! the file does not know), plus loading and checking the file (`Reader::from_source` + `verify`).
//! `--write PATH` keeps the file, for `cargo xtask bench --server-env GEOIP_DATABASE=PATH`.
//!
//! Figures are printed, never asserted.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use maxminddb::{Reader, path};
use mmdb_writer::{Value, Writer};

/// What to build and measure.
#[derive(Debug, Clone)]
pub struct Options {
    pub networks: u32,
    pub lookups: u32,
    pub write: Option<PathBuf>,
}

/// A deterministic pseudo-random sequence (splitmix64), so runs build the same file.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `i`-th network: a public /24 in 1.0.0.0–99.255.255.0 (clear of every reserved range).
fn network(i: u32) -> Ipv4Addr {
    let n = u32::try_from(mix(u64::from(i)) % (99 * 65_536)).expect("fits") + 65_536;
    Ipv4Addr::from(n << 8)
}

fn names(name: &str) -> Value {
    Value::map([("names", Value::map([("en", Value::from(name)), ("de", Value::from(name))]))])
}

#[expect(clippy::print_stdout, reason = "a command-line tool reports on stdout")]
pub fn run(options: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut writer = Writer::builder("Bench-City").description(&[("en", "Latchkey synthetic bench file")]).build();
    for i in 0..options.networks {
        let country = format!("Country {}", i % 250);
        let mut record = vec![("country", names(&country)), ("continent", names("Europe"))];
        if i % 8 != 0 {
            record.push(("city", names(&format!("City {i}"))));
        }
        writer.insert_value(ipnet::Ipv4Net::new(network(i), 24)?, Value::map(record))?;
    }
    let bytes = writer.to_bytes()?;
    println!("built {} networks: {} bytes in {:.1} s", options.networks, bytes.len(), started.elapsed().as_secs_f64());
    if let Some(path) = &options.write {
        std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }

    let t = Instant::now();
    let reader = Reader::from_source(bytes)?;
    let parse = t.elapsed();
    let t = Instant::now();
    reader.verify()?;
    let verify = t.elapsed();
    println!("load: from_source {:.1} ms, verify {:.1} ms", ms(parse), ms(verify));

    let locate = |ip: IpAddr| -> anyhow::Result<(Option<String>, Option<String>)> {
        let record = reader.lookup(ip)?;
        if !record.has_data() {
            return Ok((None, None));
        }
        let city: Option<&str> = record.decode_path(&path!["city", "names", "en"])?;
        let country: Option<&str> = record.decode_path(&path!["country", "names", "en"])?;
        Ok((city.map(str::to_owned), country.map(str::to_owned)))
    };
    let found: Vec<IpAddr> = (0..options.lookups)
        .map(|i| {
            let net = network(u32::try_from(mix(u64::from(i) + 7) % u64::from(options.networks)).expect("fits"));
            IpAddr::V4(Ipv4Addr::from(u32::from(net) | (i & 0xff)))
        })
        .collect();
    // 100.0.0.0/8 minus the shared space: public, and never in the file.
    let unknown: Vec<IpAddr> =
        (0..options.lookups).map(|i| IpAddr::V4(Ipv4Addr::from((100 << 24) | (i & 0x3f_ffff)))).collect();
    for (what, addresses) in [("found", &found), ("unknown", &unknown)] {
        for ip in addresses.iter().take(10_000) {
            black_box(locate(*ip)?);
        }
        let t = Instant::now();
        let mut hits = 0u32;
        for ip in addresses {
            hits += u32::from(black_box(locate(*ip)?).1.is_some());
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / f64::from(options.lookups);
        println!("lookup ({what}): {per:.2} µs per address over {} addresses ({hits} located)", options.lookups);
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
