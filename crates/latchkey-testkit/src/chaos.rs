//! The chaos proxy: a TCP proxy between code under test and a server (PostgreSQL, in the outage tests)
//! that can "stop" and "start" the server without touching it. Stopping closes the proxy's listening
//! socket (new connections are refused, as by a stopped server) and resets every open connection;
//! starting listens on the same port again. What the code under test sees is what it sees when the
//! server's host goes away: harsher than a clean PostgreSQL shutdown, which sends a FATAL message before
//! closing.
//!
//! The proxy runs on a thread of its own (its own event loop), so a test's event loop cannot delay it.
//! [`upstream_addr`] and [`via_proxy`] turn a PostgreSQL URL into the proxy's upstream and the URL that
//! goes through it.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::watch;

/// A running proxy; stopped (every connection closed) on drop.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    up: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `upstream` (`host:port`).
    pub fn start(upstream: String) -> std::io::Result<Proxy> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let (up, watching) = watch::channel(true);
        let thread = std::thread::Builder::new().name("chaos-proxy".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(proxy_loop(listener, port, upstream, watching));
        })?;
        Ok(Proxy { port, up, thread: Some(thread) })
    }

    /// The loopback port the proxy listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Down: the port refuses connections and every open one is reset. Up: listening again.
    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Closing the channel ends the loop and every connection.
        let (dead, _) = watch::channel(false);
        drop(std::mem::replace(&mut self.up, dead));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[expect(clippy::print_stderr, reason = "a test helper that cannot listen says so where the test runs")]
async fn proxy_loop(first: std::net::TcpListener, port: u16, upstream: String, mut up: watch::Receiver<bool>) {
    let mut listener = match tokio::net::TcpListener::from_std(first) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("chaos proxy: could not listen: {e}");
            return;
        }
    };
    loop {
        match listener.take() {
            Some(l) => {
                tokio::select! {
                    accepted = l.accept() => {
                        if let Ok((client, _)) = accepted {
                            tokio::spawn(pipe(client, upstream.clone(), up.clone()));
                        }
                        listener = Some(l);
                    }
                    changed = up.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        // Down: the listener is dropped here, so connections are refused.
                        if *up.borrow_and_update() {
                            listener = Some(l);
                        }
                    }
                }
            }
            None => {
                if up.changed().await.is_err() {
                    return;
                }
                if *up.borrow_and_update() {
                    listener = listen_again(port).await;
                    if listener.is_none() {
                        eprintln!("chaos proxy: could not listen on port {port} again");
                        return;
                    }
                }
            }
        }
    }
}

/// The same port again (SO_REUSEADDR is set by tokio on Unix); retried briefly in case the old socket
/// lingers.
async fn listen_again(port: u16) -> Option<tokio::net::TcpListener> {
    for _ in 0..50 {
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => return Some(l),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    None
}

/// Copies both ways until either side closes or the proxy goes down; then resets the client's side.
async fn pipe(mut client: TcpStream, upstream: String, mut up: watch::Receiver<bool>) {
    let reset = |s: &TcpStream| {
        let _ = s.set_zero_linger();
    };
    if !*up.borrow_and_update() {
        reset(&client);
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream.as_str()).await else {
        reset(&client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let went_down = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
        _ = async {
            loop {
                if up.changed().await.is_err() || !*up.borrow_and_update() {
                    break;
                }
            }
        } => true,
    };
    if went_down {
        // The code under test sees a reset, as when the server's host goes away; the server's side is
        // simply closed (a PostgreSQL backend ends, rolling back whatever was open).
        reset(&client);
    }
}

/// `host:port` of a PostgreSQL URL (TCP only: the proxy cannot stand in for a Unix socket).
pub fn upstream_addr(url: &str) -> Result<String, String> {
    let rest = url.split_once("://").map(|(_, r)| r).ok_or("not a postgres:// URL")?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() || url.contains("host=/") {
        return Err("the PostgreSQL URL must name a TCP host (e.g. postgres://postgres@127.0.0.1:5432/test)".into());
    }
    Ok(if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") })
}

/// `url` with its host and port replaced by the proxy's.
pub fn via_proxy(url: &str, port: u16) -> Result<String, String> {
    let (scheme, rest) = url.split_once("://").ok_or("not a postgres:// URL")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    Ok(format!("{scheme}://{user}127.0.0.1:{port}{tail}"))
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    #[test]
    fn urls_for_the_proxy() {
        assert_eq!(upstream_addr("postgres://postgres@127.0.0.1:5432/test").unwrap(), "127.0.0.1:5432");
        assert_eq!(upstream_addr("postgresql://u:p@db.example.com/x?sslmode=disable").unwrap(), "db.example.com:5432");
        assert!(upstream_addr("postgres:///db?host=/var/run/postgresql").is_err());
        assert_eq!(
            via_proxy("postgres://postgres@127.0.0.1:5432/latchkey_faults_1", 40000).unwrap(),
            "postgres://postgres@127.0.0.1:40000/latchkey_faults_1"
        );
        assert_eq!(
            via_proxy("postgres://u:p@h/db?sslmode=disable", 1).unwrap(),
            "postgres://u:p@127.0.0.1:1/db?sslmode=disable"
        );
    }

    /// An echo server behind the proxy: bytes pass while it is up; stopped, the open connection is reset
    /// and new ones are refused; started again, it forwards again on the same port.
    #[test]
    fn stops_and_starts_the_upstream() {
        let echo = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = echo.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in echo.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let mut buf = [0; 64];
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 || stream.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = Proxy::start(upstream).unwrap();
        let addr = ("127.0.0.1", proxy.port());
        let round_trip = |stream: &mut std::net::TcpStream| -> std::io::Result<[u8; 4]> {
            stream.write_all(b"ping")?;
            let mut got = [0; 4];
            stream.read_exact(&mut got)?;
            Ok(got)
        };
        let mut open = std::net::TcpStream::connect(addr).unwrap();
        open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(&round_trip(&mut open).unwrap(), b"ping");

        proxy.set_up(false);
        std::thread::sleep(Duration::from_millis(100));
        assert!(round_trip(&mut open).is_err(), "an open connection must be reset");
        assert!(std::net::TcpStream::connect(addr).is_err(), "new connections must be refused");

        proxy.set_up(true);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut again = loop {
            match std::net::TcpStream::connect(addr) {
                Ok(s) => break s,
                Err(e) => assert!(std::time::Instant::now() < deadline, "not listening again: {e}"),
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        again.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(&round_trip(&mut again).unwrap(), b"ping");
    }
}
