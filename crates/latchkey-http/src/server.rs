//! The HTTP server: actix's HTTP/1 service over TCP, with one connection-level addition.
//!
//! actix-http's HTTP/1 dispatcher answers some requests itself, before any application code runs and with
//! no hook to change the answer: a head it cannot parse (a malformed `Content-Length`, a bad header
//! byte, a second `Host`, …) gets a bare `400` with an empty body, a head larger than its fixed 128 KiB
//! buffer (or with more than 96 headers) a bare `431`, a client too slow to send its head a bare `408`.
//! Those answers would be the only ones outside the error envelope and without the security headers.
//!
//! [`EnvelopeIo`] wraps each TCP connection and rewrites exactly those answers on their way out. It can
//! recognise them safely because of two facts that hold for this service:
//! - the dispatcher writes them as a status line immediately followed by `content-length: 0`, and the
//!   application never answers 400, 408 or 431 without a body (every error of ours is an envelope);
//! - response bodies never contain a raw CR LF followed by such a status line (the API's bodies are
//!   JSON, which escapes control characters, and the docs assets do not contain one).
//!
//! After such an answer the dispatcher closes the connection, so nothing follows the rewritten response.

use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_http::HttpService;
use actix_server::Server;
use actix_service::{ServiceFactoryExt as _, fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;
use memchr::memmem;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::app::build_app;
use crate::body::CloseConnection;
use crate::error::codes;
use crate::middleware::request_id::RequestId;
use crate::middleware::security_headers;
use crate::state::{AppState, Draining};

/// How long in-flight requests may run on after SIGTERM/SIGINT.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// Where the server listens.
#[derive(Debug)]
pub enum Listen {
    /// Bind this host and port (with `SO_REUSEADDR` and actix-server's backlog).
    Addr(String, u16),
    /// Use a listener bound already (tests bind port 0 and read the port back).
    Listener(TcpListener),
}

/// Builds the server for `state` (not yet running: await it, or spawn it).
pub fn serve(state: AppState, listen: Listen) -> io::Result<Server> {
    let hsts = state.config.is_production();
    let workers = state.server.workers;
    let draining = state.draining.clone();
    let factory = move || {
        let app = build_app(state.clone());
        fn_service(move |io: TcpStream| {
            let peer = io.peer_addr().ok();
            // Small JSON answers should leave at once, not wait for Nagle's algorithm.
            let _ = io.set_nodelay(true);
            std::future::ready(Ok((EnvelopeIo::new(io, hsts), peer)))
        })
        .and_then(
            // The app reads no host, scheme or local address from its `AppConfig` (client addresses come
            // from the peer and trusted proxies' headers), so the default one serves.
            HttpService::build()
                // The app's way to close the connection after its answer (a body past its deadline).
                .on_connect_ext(|io: &EnvelopeIo<TcpStream>, data| {
                    data.insert(io.close.clone());
                })
                .h1(map_config(app, |()| AppConfig::default())),
        )
    };
    // Our own stop signal instead of actix-server's: it treats SIGINT as a forced stop (requests in flight
    // cut off), and it cannot tell the app to close keep-alive connections (see `Draining`).
    let mut builder = Server::build().shutdown_timeout(SHUTDOWN_TIMEOUT_SECS).shutdown_signal(stop_signal(draining));
    // `WORKERS`; actix-server's default is one per CPU.
    if let Some(n) = workers {
        builder = builder.workers(n);
    }
    let builder = match listen {
        Listen::Addr(host, port) => builder.bind("latchkey", (host.as_str(), port), factory)?,
        Listen::Listener(listener) => builder.listen("latchkey", listener, factory)?,
    };
    Ok(builder.run())
}

/// Resolves when SIGTERM or SIGINT arrives, after marking the server as draining; actix-server then stops
/// accepting connections and waits (up to [`SHUTDOWN_TIMEOUT_SECS`]) for the open ones to finish.
async fn stop_signal(draining: Draining) {
    #[cfg(unix)]
    let name = {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM/SIGINT: stop the server with SIGKILL");
                return std::future::pending().await;
            }
        }
    };
    #[cfg(not(unix))]
    let name = {
        if tokio::signal::ctrl_c().await.is_err() {
            return std::future::pending().await;
        }
        "Ctrl-C"
    };
    tracing::info!(
        signal = name,
        timeout_secs = SHUTDOWN_TIMEOUT_SECS,
        "shutting down: no new connections; requests in flight finish, each connection closes after its answer"
    );
    draining.start();
}

/// Answers SIGHUP: the session cache forgets everything (after a hand edit of a SQLite database, say), and
/// the GeoIP watcher is asked to re-read `GEOIP_DATABASE` at once (its thread does the work, off the event
/// loop; requests go on with the file in use meanwhile). A SIGHUP never stops the server.
pub async fn reload_on_sighup(
    cache: std::sync::Arc<latchkey_service::session_cache::SessionCache>,
    geoip: Option<latchkey_service::geoip::ReloadTrigger>,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP: a new GeoIP file is picked up within a minute");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            cache.forget_all();
            match &geoip {
                Some(trigger) => {
                    tracing::info!("SIGHUP: session cache emptied; reloading the GeoIP file");
                    trigger.reload_now();
                }
                None => tracing::info!("SIGHUP: session cache emptied (no GeoIP file to reload)"),
            }
        }
    }
    #[cfg(not(unix))]
    drop((cache, geoip));
}

/// One of the dispatcher's own bare answers: how it starts, and the envelope that replaces it.
struct BareAnswer {
    /// The status line and the header that follows it, as actix-http's encoder writes them (the version
    /// is matched separately: `HTTP/1.1 ` or `HTTP/1.0 `).
    after_version: &'static [u8],
    status_line: &'static str,
    code: &'static str,
    message: &'static str,
}

static BARE_ANSWERS: [BareAnswer; 3] = [
    BareAnswer {
        after_version: b"400 Bad Request\r\ncontent-length: 0\r\n",
        status_line: "400 Bad Request",
        code: codes::INVALID_INPUT,
        message: "Malformed HTTP request (for example an invalid Content-Length or header)",
    },
    BareAnswer {
        after_version: b"431 Request Header Fields Too Large\r\ncontent-length: 0\r\n",
        status_line: "431 Request Header Fields Too Large",
        code: codes::REQUEST_TOO_LARGE,
        message: "Request headers too large",
    },
    BareAnswer {
        after_version: b"408 Request Timeout\r\ncontent-length: 0\r\n",
        status_line: "408 Request Timeout",
        code: codes::INVALID_INPUT,
        message: "The request was not received in time",
    },
];

/// Where the first bare answer in `buf` starts, and which one it is.
fn find_bare_answer(buf: &[u8]) -> Option<(usize, &'static BareAnswer)> {
    let mut from = 0;
    while let Some(i) = memmem::find(&buf[from..], b"HTTP/1.").map(|i| from + i) {
        let rest = &buf[i + b"HTTP/1.".len()..];
        if let Some((&(b'0' | b'1'), after)) = rest.split_first()
            && let Some(after) = after.strip_prefix(b" ")
            && let Some(answer) = BARE_ANSWERS.iter().find(|a| after.starts_with(a.after_version))
        {
            return Some((i, answer));
        }
        from = i + 1;
    }
    None
}

/// The envelope response replacing a bare answer whose head is `head`: same version, status and `date`.
fn envelope_response(head: &[u8], answer: &BareAnswer, hsts: bool) -> Vec<u8> {
    let body = serde_json::json!({
        "success": false,
        "errors": [{"code": answer.code, "message": answer.message, "field": null}],
    })
    .to_string();
    let version = &head[..b"HTTP/1.x".len()];
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(version);
    out.extend_from_slice(format!(" {}\r\n", answer.status_line).as_bytes());
    out.extend_from_slice(b"content-type: application/json\r\n");
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(b"connection: close\r\n");
    // No request exists for these answers (nor a log line), but every response carries an id.
    out.extend_from_slice(format!("x-request-id: {}\r\n", RequestId::generate()).as_bytes());
    for (name, value) in security_headers::api_headers(hsts) {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if let Some(date) = head.split(|&b| b == b'\n').find(|line| line.starts_with(b"date: ")) {
        out.extend_from_slice(date);
        out.push(b'\n');
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
    out
}

/// A connection whose outgoing bare dispatcher answers are replaced by envelopes (see the module docs).
/// Reads pass straight through, until the app asks for the connection to be closed ([`CloseConnection`]):
/// from then on it reads as closed, so actix ends the connection once the answer is out.
#[derive(Debug)]
pub struct EnvelopeIo<T> {
    io: T,
    hsts: bool,
    close: CloseConnection,
    /// Replacement bytes accepted from the writer but not yet written to `io`.
    pending: Vec<u8>,
    written: usize,
}

impl<T> EnvelopeIo<T> {
    /// Wraps a connection; `hsts` adds `Strict-Transport-Security` as the middleware does.
    pub fn new(io: T, hsts: bool) -> EnvelopeIo<T> {
        EnvelopeIo { io, hsts, close: CloseConnection::default(), pending: Vec::new(), written: 0 }
    }
}

impl<T: AsyncWrite + Unpin> EnvelopeIo<T> {
    /// Writes out what is pending; ready when nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for EnvelopeIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.close.is_requested() {
            // What the client has sent already is read and dropped first (up to a bound): closing a socket
            // with unread bytes resets the connection, and a reset can destroy the answer in flight.
            let mut scratch = [0u8; 8192];
            for _ in 0..8 {
                let mut discard = ReadBuf::new(&mut scratch);
                match Pin::new(&mut self.io).poll_read(cx, &mut discard) {
                    Poll::Ready(Ok(())) if !discard.filled().is_empty() => {}
                    _ => break,
                }
            }
            // Then the end of the stream, whatever the client sends next.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for EnvelopeIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        match find_bare_answer(buf) {
            None => Pin::new(&mut this.io).poll_write(cx, buf),
            // What comes before the bare answer goes out unchanged first.
            Some((start, _)) if start > 0 => Pin::new(&mut this.io).poll_write(cx, &buf[..start]),
            Some((_, answer)) => match memmem::find(buf, b"\r\n\r\n") {
                Some(end) => {
                    let head_len = end + 4;
                    this.pending = envelope_response(&buf[..head_len], answer, this.hsts);
                    this.written = 0;
                    // The bare head counts as written; its replacement is flushed before anything else.
                    if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                        return Poll::Ready(Err(e));
                    }
                    Poll::Ready(Ok(head_len))
                }
                // Not a complete head after all: nothing to rewrite.
                None => Pin::new(&mut this.io).poll_write(cx, buf),
            },
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Mon, 30 Nov 2026 03:00:00 GMT\r\n";

    fn bare(status: &str) -> Vec<u8> {
        format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n{DATE}\r\n").into_bytes()
    }

    #[test]
    fn finds_only_the_dispatchers_bare_answers() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_vec();
        assert!(find_bare_answer(&ok).is_none());
        // Our own 400s always carry a body.
        assert!(find_bare_answer(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 80\r\n\r\n").is_none());
        // An empty 200 (a CORS preflight) is not rewritten.
        assert!(find_bare_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        let mut both = ok.clone();
        both.extend_from_slice(&bare("400 Bad Request"));
        let (at, answer) = find_bare_answer(&both).unwrap();
        assert_eq!((at, answer.code), (ok.len(), codes::INVALID_INPUT));
        assert_eq!(find_bare_answer(&bare("431 Request Header Fields Too Large")).unwrap().1.code, "REQUEST_TOO_LARGE");
    }

    #[test]
    fn the_replacement_is_an_envelope_with_the_security_headers() {
        let head = bare("431 Request Header Fields Too Large");
        let out = envelope_response(&head, &BARE_ANSWERS[1], false);
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{head}");
        assert!(head.contains("content-type: application/json\r\n"));
        assert!(head.contains(&format!("content-length: {}\r\n", body.len())));
        assert!(head.contains("x-frame-options: DENY") && head.contains("content-security-policy: "));
        assert!(head.contains(DATE.trim_end()));
        assert!(head.contains("\r\nx-request-id: "), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["success"], false);
        assert_eq!(json["errors"][0]["code"], "REQUEST_TOO_LARGE");
    }
}
