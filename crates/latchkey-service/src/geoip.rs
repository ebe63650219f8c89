//! Where an IP address is: the English city and country names from an offline MaxMind DB file
//! (`GEOIP_DATABASE`: GeoLite2/GeoIP2 City or Country, DB-IP Lite, or any `.mmdb` whose records carry
//! `country.names.en` and optionally `city.names.en`).
//!
//! Nothing here touches the network, and a lookup never touches the disk: the file is read into memory once
//! per version of it, and the readers share that copy. A new version (the weekly download) is picked up
//! without a restart: [`Locator::reload`] re-reads the file when its size, modification time or inode
//! changed, checks the new copy (metadata, a full [`maxminddb::Reader::verify`], records that name a
//! country) and only then swaps it in whole; a file that fails any check is refused with an error log and
//! the copy in use stays. Lookups hold a lock only to clone an `Arc`, so they never wait for a reload,
//! which reads, parses and checks the new file before taking the lock for the swap. [`watch`] runs the
//! checks on a thread of their own, once a minute and at once when asked (SIGHUP).
//!
//! Private, loopback, link-local, unique-local, shared, documentation, benchmarking, multicast, reserved
//! and unspecified addresses are never looked up: they are nowhere in particular (a file might still
//! name a place for them). IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are looked up as IPv4.

use std::fmt;
use std::fs::File;
use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use latchkey_domain::device::Location;
use maxminddb::{MaxMindDbError, Reader, WithinOptions, path};

/// How often [`watch`] looks at the file's size and modification time.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// How many records with data a new file's check reads: at least one must name a country.
const SAMPLE_RECORDS: usize = 64;

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    /// A file replaced by a rename (the safe way to install a download) has a new inode even when its
    /// size and modification time happen to match the old one's.
    inode: u64,
}

impl FileStamp {
    fn of(meta: &std::fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        FileStamp { len: meta.len(), modified: meta.modified().ok(), inode }
    }
}

/// One loaded version of the file.
struct Loaded {
    reader: Reader<Vec<u8>>,
    stamp: FileStamp,
    info: DatabaseInfo,
}

/// What a loaded file says about itself (for the logs and the reload's answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseInfo {
    /// The metadata's `database_type`, e.g. `GeoLite2-City` or `DBIP-City-Lite`.
    pub database_type: String,
    /// When the file was built, in seconds since the Unix epoch (its `build_epoch`).
    pub build_epoch: u64,
    /// The file's size in bytes (the memory its copy takes).
    pub bytes: u64,
}

/// The outcome of a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// No `GEOIP_DATABASE`: nothing to load.
    Disabled,
    /// The file has not changed since it was loaded.
    Unchanged,
    /// A new version was checked and is now in use.
    Loaded(DatabaseInfo),
    /// The file could not be read or failed a check: the version in use (if any) stays. The cause.
    Refused(String),
}

/// Why a file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GEOIP_DATABASE {path}: {cause}")]
pub struct GeoIpError {
    pub path: String,
    pub cause: String,
}

/// The GeoIP file in use, if any, and where it comes from; shared by all requests.
pub struct Locator {
    /// `None`: no `GEOIP_DATABASE`, every location is empty.
    path: Option<PathBuf>,
    /// Swapped whole by a reload; lookups clone the `Arc` and read without the lock.
    current: RwLock<Option<Arc<Loaded>>>,
    /// One reload at a time (the watcher's and a test's, say), so two never read the file together.
    reloading: Mutex<()>,
}

impl fmt::Debug for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locator").field("path", &self.path).field("database", &self.info()).finish()
    }
}

impl Locator {
    /// No GeoIP file: every location is empty.
    pub fn disabled() -> Locator {
        Locator { path: None, current: RwLock::new(None), reloading: Mutex::new(()) }
    }

    /// Loads `path` and checks it; a file that cannot be read or fails a check is an error (at start-up
    /// there is no previous version to keep).
    pub fn open(path: impl Into<PathBuf>) -> Result<Locator, GeoIpError> {
        let path = path.into();
        let started = Instant::now();
        let loaded = load(&path).map_err(|cause| GeoIpError { path: path.display().to_string(), cause })?;
        log_loaded(&path, &loaded.info, started);
        Ok(Locator { path: Some(path), current: RwLock::new(Some(Arc::new(loaded))), reloading: Mutex::new(()) })
    }

    /// The locator `GEOIP_DATABASE` asks for: [`Locator::open`] when it is set, else [`Locator::disabled`].
    pub fn from_setting(path: Option<&Path>) -> Result<Locator, GeoIpError> {
        path.map_or_else(|| Ok(Locator::disabled()), Locator::open)
    }

    /// Whether a GeoIP file is configured.
    pub fn is_enabled(&self) -> bool {
        self.path.is_some()
    }

    /// What the file in use says about itself; `None` without one.
    pub fn info(&self) -> Option<DatabaseInfo> {
        self.loaded().map(|l| l.info.clone())
    }

    fn loaded(&self) -> Option<Arc<Loaded>> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Where `ip` is: empty without a file, for a private or reserved address, and for an address the file
    /// does not know. Costs a few microseconds; never touches the disk.
    pub fn locate(&self, ip: IpAddr) -> Location {
        let Some(ip) = public(ip) else { return Location::default() };
        let Some(loaded) = self.loaded() else { return Location::default() };
        if ip.is_ipv6() && loaded.reader.metadata().ip_version == 4 {
            return Location::default();
        }
        match names(&loaded.reader, ip) {
            Ok(location) => location,
            Err(e) => {
                // The file passed `verify` when it was loaded, so this should not happen; a place is
                // never worth failing a login for.
                tracing::warn!(%ip, error = %e, "GeoIP lookup failed");
                Location::default()
            }
        }
    }

    /// [`Locator::locate`] for an address as sessions store it (text); empty for `None` or non-addresses.
    pub fn locate_text(&self, ip: Option<&str>) -> Location {
        match ip.and_then(|ip| ip.parse::<IpAddr>().ok()) {
            Some(ip) => self.locate(ip),
            None => Location::default(),
        }
    }

    /// Re-reads the file if it changed since it was loaded (size, modification time or inode), checks it
    /// and swaps it in; a file that cannot be read or fails a check is refused with an error log, and the
    /// version in use stays. Blocks on file I/O: call it off the event loop.
    pub fn reload(&self) -> Reload {
        self.reload_with(false)
    }

    /// [`Locator::reload`], reading the file even if it looks unchanged (SIGHUP).
    pub fn reload_now(&self) -> Reload {
        self.reload_with(true)
    }

    fn reload_with(&self, force: bool) -> Reload {
        let Some(path) = &self.path else { return Reload::Disabled };
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.loaded();
        if !force {
            match std::fs::metadata(path) {
                Ok(meta) if current.as_ref().is_some_and(|c| c.stamp == FileStamp::of(&meta)) => {
                    return Reload::Unchanged;
                }
                Ok(_) => {}
                Err(e) => return refuse(path, format!("cannot read its metadata: {e}")),
            }
        }
        let started = Instant::now();
        match load(path) {
            Ok(loaded) => {
                let info = loaded.info.clone();
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(loaded));
                log_loaded(path, &info, started);
                Reload::Loaded(info)
            }
            Err(cause) => refuse(path, cause),
        }
    }
}

fn refuse(path: &Path, cause: String) -> Reload {
    tracing::error!(
        path = %path.display(),
        error = %cause,
        "GEOIP_DATABASE refused: the GeoIP file in use (if any) stays until a good one replaces it"
    );
    Reload::Refused(cause)
}

fn log_loaded(path: &Path, info: &DatabaseInfo, started: Instant) {
    tracing::info!(
        path = %path.display(),
        database_type = %info.database_type,
        build_epoch = info.build_epoch,
        bytes = info.bytes,
        took_ms = started.elapsed().as_millis() as u64,
        "GeoIP database loaded"
    );
}

/// Reads one version of the file and checks it: the stamp comes from the open file, so a replacement
/// arriving meanwhile is seen as a change by the next check.
fn load(path: &Path) -> Result<Loaded, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read its metadata: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(|e| format!("cannot read it: {e}"))?;
    let reader = Reader::from_source(bytes).map_err(|e| format!("not a MaxMind DB file: {e}"))?;
    reader.verify().map_err(|e| format!("the file is damaged: {e}"))?;
    check_records(&reader)?;
    let metadata = reader.metadata();
    let info = DatabaseInfo {
        database_type: metadata.database_type.clone(),
        build_epoch: metadata.build_epoch,
        bytes: meta.len(),
    };
    Ok(Loaded { reader, stamp: FileStamp::of(&meta), info })
}

/// The file must hold records, and the first ones must include one naming a country in English: an ASN or
/// anonymous-IP database is a valid `.mmdb` that would silently locate nothing.
fn check_records(reader: &Reader<Vec<u8>>) -> Result<(), String> {
    let records = reader
        .networks(WithinOptions::default().skip_empty_values())
        .map_err(|e| format!("cannot list its networks: {e}"))?;
    let mut seen = 0;
    for record in records.take(SAMPLE_RECORDS) {
        let record = record.map_err(|e| format!("cannot read its records: {e}"))?;
        seen += 1;
        let country: Option<&str> =
            record.decode_path(&path!["country", "names", "en"]).map_err(|e| format!("cannot read a record: {e}"))?;
        if country.is_some() {
            return Ok(());
        }
    }
    Err(if seen == 0 {
        "it holds no networks".into()
    } else {
        format!(
            "none of its first {seen} records has country.names.en (database type {:?}): use a City or Country database",
            reader.metadata().database_type
        )
    })
}

fn names(reader: &Reader<Vec<u8>>, ip: IpAddr) -> Result<Location, MaxMindDbError> {
    let record = reader.lookup(ip)?;
    if !record.has_data() {
        return Ok(Location::default());
    }
    let city: Option<&str> = record.decode_path(&path!["city", "names", "en"])?;
    let country: Option<&str> = record.decode_path(&path!["country", "names", "en"])?;
    let name = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(Location { city: name(city), country: name(country) })
}

/// The address to look up: `None` for an address that is nowhere in particular (private, loopback,
/// link-local, unique-local, shared, documentation, benchmarking, multicast, reserved, unspecified);
/// an IPv4-mapped IPv6 address as its IPv4 address.
pub fn public(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) => public_v4(v4).map(IpAddr::V4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4).map(IpAddr::V4),
            None => public_v6(v6).map(IpAddr::V6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> Option<Ipv4Addr> {
    let [a, b, c, _] = ip.octets();
    let reserved = a == 0 // "this network" (0.0.0.0/8), the unspecified address included
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_loopback() // 127/8
        || ip.is_link_local() // 169.254/16
        || (a == 100 && (b & 0xc0) == 64) // shared address space (carrier-grade NAT), 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, 192.0.0/24
        || ip.is_documentation() // 192.0.2/24, 198.51.100/24, 203.0.113/24
        || (a == 198 && (b & 0xfe) == 18) // benchmarking, 198.18/15
        || ip.is_multicast() // 224/4
        || a >= 240; // reserved (240/4) and broadcast
    (!reserved).then_some(ip)
}

fn public_v6(ip: Ipv6Addr) -> Option<Ipv6Addr> {
    let s = ip.segments();
    let reserved = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast() // ff00::/8
        || ip.is_unique_local() // fc00::/7
        || ip.is_unicast_link_local() // fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // deprecated site-local, fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation, 2001:db8::/32
        || (s[0] & 0xfff0) == 0x3ff0 // documentation, 3fff::/20
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard-only, 100::/64
        || (s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0) // benchmarking, 2001:2::/48
        || (s[0] == 0x2001 && (s[1] & 0xfff0) == 0x0010) // ORCHID, 2001:10::/28
        || (s[0] == 0x2001 && (s[1] & 0xfff0) == 0x0020) // ORCHIDv2, 2001:20::/28
        || s[..6] == [0; 6]; // IPv4-compatible (deprecated), ::/96
    (!reserved).then_some(ip)
}

/// Asks the watcher thread for a reload now (SIGHUP); cheap and non-blocking.
#[derive(Debug, Clone)]
pub struct ReloadTrigger(SyncSender<()>);

impl ReloadTrigger {
    /// Asks for a reload that reads the file even if it looks unchanged. Returns at once; if one is
    /// already asked for and not begun, this one joins it.
    pub fn reload_now(&self) {
        match self.0.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => tracing::warn!("the GeoIP watcher has stopped"),
        }
    }
}

/// Starts the thread that keeps the locator's file current: every `every` it reloads if the file changed,
/// and at once (unconditionally) when the returned trigger asks. `None` when no file is configured. The
/// thread ends when every trigger is dropped.
pub fn watch(locator: Arc<Locator>, every: Duration) -> std::io::Result<Option<ReloadTrigger>> {
    if !locator.is_enabled() {
        return Ok(None);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new().name("latchkey-geoip".into()).spawn(move || watch_loop(&locator, &rx, every))?;
    Ok(Some(ReloadTrigger(tx)))
}

fn watch_loop(locator: &Locator, asked: &Receiver<()>, every: Duration) {
    loop {
        match asked.recv_timeout(every) {
            Ok(()) => {
                locator.reload_now();
            }
            Err(RecvTimeoutError::Timeout) => {
                locator.reload();
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use latchkey_testkit::geoip::GeoFile;
    use mmdb_writer::{Value, Writer};

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The test kit's City file (see `latchkey_testkit::geoip::GeoFile::city`).
    fn file(city: &str) -> Vec<u8> {
        GeoFile::city(city).bytes()
    }

    fn at(city: Option<&str>, country: Option<&str>) -> Location {
        Location { city: city.map(str::to_owned), country: country.map(str::to_owned) }
    }

    #[test]
    fn reserved_addresses_are_nowhere() {
        for reserved in [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::10.0.0.1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "3fff::1",
            "100::1",
            "2001:2::1",
            "2001:10::1",
            "2001:20::1",
        ] {
            assert_eq!(public(ip(reserved)), None, "{reserved}");
        }
        for open in [
            "1.1.1.1",
            "8.8.8.8",
            "81.2.69.142",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "198.20.0.1",
            "2a02:c7f::1",
        ] {
            assert_eq!(public(ip(open)), Some(ip(open)), "{open}");
        }
        // IPv4-mapped IPv6 is looked up as the IPv4 address it carries.
        assert_eq!(public(ip("::ffff:81.2.69.142")), Some(ip("81.2.69.142")));
    }

    #[test]
    fn locate_reads_english_names_and_skips_reserved_space() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("geo.mmdb");
        std::fs::write(&path, file("London")).unwrap();
        let locator = Locator::open(&path).unwrap();
        assert_eq!(locator.locate(ip("81.2.69.142")), at(Some("London"), Some("United Kingdom")));
        assert_eq!(locator.locate(ip("::ffff:81.2.69.142")), at(Some("London"), Some("United Kingdom")));
        assert_eq!(locator.locate(ip("2a02:c7f:1::1")), at(Some("London"), Some("United Kingdom")));
        assert_eq!(locator.locate(ip("89.160.20.1")), at(None, Some("Sweden")));
        // The file has data for these, but they are private: not looked up.
        assert_eq!(locator.locate(ip("10.1.2.3")), Location::default());
        assert_eq!(locator.locate(ip("127.0.0.1")), Location::default());
        // Unknown to the file.
        assert_eq!(locator.locate(ip("1.1.1.1")), Location::default());
        assert_eq!(locator.locate_text(Some("81.2.69.1")), at(Some("London"), Some("United Kingdom")));
        assert_eq!(locator.locate_text(Some("not an address")), Location::default());
        assert_eq!(locator.locate_text(None), Location::default());
        assert_eq!(locator.info().unwrap().database_type, "Test-City");
        // No file: nothing anywhere.
        assert_eq!(Locator::disabled().locate(ip("81.2.69.142")), Location::default());
        assert_eq!(Locator::disabled().reload(), Reload::Disabled);
    }

    #[test]
    fn a_replaced_file_is_picked_up_and_a_broken_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("geo.mmdb");
        std::fs::write(&path, file("London")).unwrap();
        let locator = Locator::open(&path).unwrap();
        assert_eq!(locator.reload(), Reload::Unchanged);

        // The weekly download: a new file renamed into place.
        let next = dir.path().join("geo.mmdb.new");
        std::fs::write(&next, file("Manchester")).unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert!(matches!(locator.reload(), Reload::Loaded(ref info) if info.database_type == "Test-City"));
        assert_eq!(locator.locate(ip("81.2.69.142")).city.as_deref(), Some("Manchester"));
        assert_eq!(locator.reload(), Reload::Unchanged);

        // Broken files are refused and the one in use stays: truncated, garbage, valid but without
        // countries (an ASN database), empty, missing.
        let good = file("Leeds");
        let mut asn = Writer::builder("Test-ASN").description(&[("en", "Latchkey test file")]).build();
        asn.insert_value(
            "81.2.69.0/24".parse::<ipnet::IpNet>().unwrap(),
            Value::map([("autonomous_system_number", Value::from(64_512_u32))]),
        )
        .unwrap();
        let empty =
            Writer::builder("Test-Empty").description(&[("en", "Latchkey test file")]).build().to_bytes().unwrap();
        for (what, bytes) in [
            ("truncated", good[..good.len() / 2].to_vec()),
            ("garbage", b"not a maxmind db".repeat(100)),
            ("asn", asn.to_bytes().unwrap()),
            ("empty", empty),
        ] {
            std::fs::write(&path, &bytes).unwrap();
            assert!(matches!(locator.reload_now(), Reload::Refused(_)), "{what}");
            assert_eq!(locator.locate(ip("81.2.69.142")).city.as_deref(), Some("Manchester"), "{what}");
        }
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(locator.reload(), Reload::Refused(ref cause) if cause.contains("metadata")));
        assert_eq!(locator.locate(ip("81.2.69.142")).city.as_deref(), Some("Manchester"));

        // A good file again.
        std::fs::write(&path, good).unwrap();
        assert!(matches!(locator.reload(), Reload::Loaded(_)));
        assert_eq!(locator.locate(ip("81.2.69.142")).city.as_deref(), Some("Leeds"));

        // At start-up there is nothing to keep: a broken file is an error that names it.
        std::fs::write(&path, b"junk").unwrap();
        let err = Locator::open(&path).unwrap_err();
        assert!(err.to_string().starts_with("GEOIP_DATABASE "), "{err}");
        assert!(Locator::open(dir.path().join("missing.mmdb")).is_err());
    }

    #[test]
    fn the_watcher_reloads_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("geo.mmdb");
        std::fs::write(&path, file("London")).unwrap();
        let locator = Arc::new(Locator::open(&path).unwrap());
        let trigger = watch(Arc::clone(&locator), Duration::from_secs(3600)).unwrap().unwrap();
        std::fs::write(&path, file("Bristol")).unwrap();
        trigger.reload_now();
        let deadline = Instant::now() + Duration::from_secs(10);
        while locator.locate(ip("81.2.69.142")).city.as_deref() != Some("Bristol") {
            assert!(Instant::now() < deadline, "the watcher did not reload");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(watch(Arc::new(Locator::disabled()), CHECK_INTERVAL).unwrap().is_none());
    }
}
