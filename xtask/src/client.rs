//! The one HTTP client of the xtask commands: HTTP/1.1 over a keep-alive TCP connection to the server
//! under test, `Content-Length` bodies, every header kept. [`Client::send`] is the lean path for load
//! (no timer of its own: it would cost the client CPU the server should have); [`Client::exchange`]
//! times a request and bounds it, for the fault scenarios that judge each answer by when it was asked.
//! [`healthy`] is the blocking probe the server supervisor uses while a server starts.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// The browser the clients say they are (sessions record a device).
pub const USER_AGENT: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

/// An answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

#[derive(Debug)]
pub enum ClientError {
    /// No connection could be opened: nothing was sent.
    Connect(std::io::Error),
    /// Sent, but the answer did not come (whole); `answered`: some of it had arrived.
    Lost { answered: bool, detail: String },
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Connect(e) => write!(f, "could not connect: {e}"),
            ClientError::Lost { answered: false, detail } => write!(f, "no answer: {detail}"),
            ClientError::Lost { answered: true, detail } => write!(f, "incomplete answer: {detail}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// One request's round trip, timed.
#[derive(Debug)]
pub struct Exchange {
    pub started: Instant,
    pub finished: Instant,
    /// Sent on a connection opened for it.
    pub fresh: bool,
    pub result: Result<Response, ClientError>,
}

/// A keep-alive connection, opened when needed and dropped when the server says `Connection: close` or
/// the exchange failed.
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    conn: Option<(BufReader<OwnedReadHalf>, OwnedWriteHalf)>,
    request: String,
    /// How long [`Client::exchange`] waits for an answer.
    limit: Duration,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client { addr, conn: None, request: String::new(), limit: Duration::from_secs(60) }
    }

    /// [`Client::exchange`] gives up after `limit`.
    pub fn with_limit(self, limit: Duration) -> Client {
        Client { limit, ..self }
    }

    /// Sends one request: `bearer` is the access token, `body` JSON text.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> Result<Response, ClientError> {
        let result = self.round_trip(method, path, bearer, body).await;
        match &result {
            Ok(r) if !r.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) => {}
            _ => self.conn = None,
        }
        result
    }

    /// [`Client::send`] with a JSON value, timed, and given up after the client's limit.
    pub async fn exchange(&mut self, method: &str, path: &str, bearer: Option<&str>, body: Option<&Value>) -> Exchange {
        let timeout = self.limit;
        let started = Instant::now();
        let fresh = self.conn.is_none();
        let body = body.map(Value::to_string);
        let result = match tokio::time::timeout(timeout, self.send(method, path, bearer, body.as_deref())).await {
            Ok(result) => result,
            Err(_) => {
                self.conn = None;
                Err(ClientError::Lost { answered: false, detail: format!("nothing within {} s", timeout.as_secs()) })
            }
        };
        Exchange { started, finished: Instant::now(), fresh, result }
    }

    async fn round_trip(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> Result<Response, ClientError> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr).await.map_err(ClientError::Connect)?;
            let _ = stream.set_nodelay(true);
            let (read, write) = stream.into_split();
            self.conn = Some((BufReader::new(read), write));
        }
        let (reader, writer) = self.conn.as_mut().expect("connected above");
        let request = &mut self.request;
        request.clear();
        let _ = write!(request, "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nuser-agent: {USER_AGENT}\r\n");
        if let Some(token) = bearer {
            let _ = write!(request, "authorization: Bearer {token}\r\n");
        }
        match body {
            Some(text) => {
                let _ =
                    write!(request, "content-type: application/json\r\ncontent-length: {}\r\n\r\n{text}", text.len());
            }
            None => request.push_str("\r\n"),
        }
        read_response(reader, writer, request.as_bytes()).await
    }
}

async fn read_response(
    reader: &mut BufReader<OwnedReadHalf>,
    writer: &mut OwnedWriteHalf,
    request: &[u8],
) -> Result<Response, ClientError> {
    let lost = |answered: bool| move |e: std::io::Error| ClientError::Lost { answered, detail: e.to_string() };
    writer.write_all(request).await.map_err(lost(false))?;
    let mut line = String::new();
    if reader.read_line(&mut line).await.map_err(lost(false))? == 0 {
        return Err(ClientError::Lost { answered: false, detail: "the connection closed".into() });
    }
    let status = line
        .split_ascii_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::Lost { answered: true, detail: format!("not a status line: {line:?}") })?;
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).await.map_err(lost(true))? == 0 {
            return Err(ClientError::Lost { answered: true, detail: "the connection closed in the head".into() });
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
            if name == "content-length" {
                length = value
                    .parse()
                    .map_err(|_| ClientError::Lost { answered: true, detail: "bad Content-Length".into() })?;
            } else if name == "transfer-encoding" {
                return Err(ClientError::Lost {
                    answered: true,
                    detail: "a chunked answer (not expected here)".into(),
                });
            }
            headers.push((name, value));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.map_err(lost(true))?;
    let body = String::from_utf8(body)
        .map_err(|_| ClientError::Lost { answered: true, detail: "a body that is not UTF-8".into() })?;
    Ok(Response { status, headers, body })
}

/// Whether `GET /health` answers 200: a blocking probe, one connection per call.
pub fn healthy(addr: SocketAddr) -> bool {
    use std::io::{Read as _, Write as _};
    let probe = || -> std::io::Result<bool> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")?;
        let mut head = [0; 12];
        stream.read_exact(&mut head)?;
        Ok(head.ends_with(b" 200"))
    };
    probe().unwrap_or(false)
}
