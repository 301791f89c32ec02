//! The HTTP server (and, later, the WebSocket fan-out): one `mio` event loop on its own
//! I/O thread, a fixed table of connections, limits with clear errors, and the API
//! routes of [`api`].
//!
//! Limits, each answered with a status and a JSON reason before the connection closes:
//! connections (`503`), request head size (`431`), request bodies (`413`: the API takes
//! none), a request not complete within the request timeout (`408`), a token or origin
//! the configuration does not allow (`401` / `403`). Idle keep-alive connections close
//! after the idle timeout. Memory per connection is bounded by the request limit plus the
//! largest response.

pub mod api;
pub mod http;

use std::io::{self, Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arb_engine::clock;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use self::http::{ParseOutcome, Response};

const LISTENER: Token = Token(usize::MAX);

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:8181`).
    pub listen: SocketAddr,
    /// Connections open at once; one more gets `503`.
    pub max_connections: usize,
    /// Largest request head, bytes.
    pub max_request_bytes: usize,
    /// A request must be complete this long after its first byte, ms.
    pub request_timeout_ms: u64,
    /// An idle keep-alive connection closes after this long, ms.
    pub idle_timeout_ms: u64,
    /// Needed to listen on anything but loopback.
    pub allow_remote: bool,
    /// When set, every request must carry it (`Authorization: Bearer T` or `?token=T`).
    pub token: Option<String>,
    /// When non-empty, a request with an `Origin` header must name one of these.
    pub allowed_origins: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8181)),
            max_connections: 4096,
            max_request_bytes: 16 * 1024,
            request_timeout_ms: 10_000,
            idle_timeout_ms: 120_000,
            allow_remote: false,
            token: None,
            allowed_origins: Vec::new(),
        }
    }
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A non-loopback address without the opt-in and a token.
    #[error(
        "listening on {0} exposes arb beyond this host: set allow_remote (--allow-remote) and an access token (--token), and list the dashboard's origins (--allowed-origin)"
    )]
    Remote(SocketAddr),
    /// The socket cannot be bound.
    #[error("cannot listen on {addr}: {source} (is another arb or server using the port?)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: io::Error,
    },
    /// The poller failed.
    #[error("event loop: {0}")]
    Poll(#[from] io::Error),
}

impl ServerConfig {
    /// Checks the remote-access rules.
    ///
    /// # Errors
    /// [`ServerError::Remote`] for a non-loopback address without `allow_remote` and a
    /// token.
    pub fn validate(&self) -> Result<(), ServerError> {
        if !self.listen.ip().is_loopback() && (!self.allow_remote || self.token.is_none()) {
            return Err(ServerError::Remote(self.listen));
        }
        Ok(())
    }
}

/// Counters of the server, readable from any thread.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections refused at the limit.
    pub refused: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
    /// Requests answered.
    pub requests: AtomicU64,
    /// Requests answered with a 4xx / 5xx.
    pub errors: AtomicU64,
    /// Connections closed by a timeout.
    pub timeouts: AtomicU64,
}

#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    /// Close once `output` is written.
    close_after: bool,
    /// Mono time the pending request must be complete by, or the idle deadline.
    deadline_ns: i64,
    /// `true` while part of a request has arrived.
    in_request: bool,
    writable_registered: bool,
}

/// The server: listener, connections, routes.
#[derive(Debug)]
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    local: SocketAddr,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    config: ServerConfig,
    api: api::Api,
    stats: Arc<ServerStats>,
    read_buf: Box<[u8]>,
}

impl Server {
    /// Binds the listener (after [`ServerConfig::validate`]).
    ///
    /// # Errors
    /// [`ServerError`]: remote rules, the port in use, the poller.
    pub fn bind(config: ServerConfig, api: api::Api) -> Result<Self, ServerError> {
        config.validate()?;
        let poll = Poll::new()?;
        let mut listener =
            TcpListener::bind(config.listen).map_err(|source| ServerError::Bind {
                addr: config.listen,
                source,
            })?;
        let local = listener.local_addr()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Server {
            poll,
            listener,
            local,
            conns: (0..config.max_connections).map(|_| None).collect(),
            free: (0..config.max_connections).rev().collect(),
            config,
            api,
            stats: Arc::default(),
            read_buf: vec![0; 16 * 1024].into_boxed_slice(),
        })
    }

    /// The address actually bound (port 0 picks one).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The counters.
    pub fn stats(&self) -> Arc<ServerStats> {
        Arc::clone(&self.stats)
    }

    /// Serves until `stop` is set (checked every 50 ms).
    ///
    /// # Errors
    /// The poller failed.
    pub fn run(&mut self, stop: &AtomicBool) -> Result<(), ServerError> {
        let mut events = Events::with_capacity(1024);
        while !stop.load(Ordering::Relaxed) {
            self.poll_once(&mut events, Duration::from_millis(50))?;
        }
        Ok(())
    }

    /// One round of the event loop: waits up to `timeout` for readiness, serves what is
    /// ready, expires what timed out.
    ///
    /// # Errors
    /// The poller failed.
    pub fn poll_once(&mut self, events: &mut Events, timeout: Duration) -> Result<(), ServerError> {
        match self.poll.poll(events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        for ev in events.iter() {
            match ev.token() {
                LISTENER => self.accept(),
                Token(i) => {
                    if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                        self.on_readable(i);
                    }
                    if ev.is_writable() {
                        self.flush(i);
                    }
                }
            }
        }
        self.expire();
        Ok(())
    }

    fn accept(&mut self) {
        loop {
            let (mut stream, _peer) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // Out of file descriptors and the like: log, try again next round.
                    tracing::warn!("server: accept: {e}");
                    return;
                }
            };
            let Some(slot) = self.free.pop() else {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                let mut out = Vec::new();
                Response::error(
                    503,
                    format!(
                        "too many connections (limit {})",
                        self.config.max_connections
                    ),
                )
                .write_to(&mut out, true, false);
                // Best effort on a fresh socket (its buffer takes a small response).
                let _ = stream.write(&out);
                continue;
            };
            if let Err(e) =
                self.poll
                    .registry()
                    .register(&mut stream, Token(slot), Interest::READABLE)
            {
                tracing::warn!("server: register: {e}");
                self.free.push(slot);
                continue;
            }
            let _ = stream.set_nodelay(true);
            self.stats.accepted.fetch_add(1, Ordering::Relaxed);
            self.stats.open.fetch_add(1, Ordering::Relaxed);
            self.conns[slot] = Some(Conn {
                stream,
                input: Vec::new(),
                output: Vec::new(),
                written: 0,
                close_after: false,
                deadline_ns: clock::mono_ns() + ms_ns(self.config.idle_timeout_ms),
                in_request: false,
                writable_registered: false,
            });
        }
    }

    fn on_readable(&mut self, slot: usize) {
        let limit = self.config.max_request_bytes;
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let mut eof = false;
        loop {
            match conn.stream.read(&mut self.read_buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    if !conn.in_request {
                        conn.in_request = true;
                        conn.deadline_ns = clock::mono_ns() + ms_ns(self.config.request_timeout_ms);
                    }
                    // Keep at most one byte past the limit: enough to tell it was exceeded.
                    let room = (limit + 1).saturating_sub(conn.input.len());
                    conn.input.extend_from_slice(&self.read_buf[..n.min(room)]);
                    if conn.input.len() > limit {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        self.serve_input(slot);
        if eof {
            // The peer finished sending: answer what is queued, then close.
            match self.conns[slot].as_mut() {
                Some(c) if c.output.len() > c.written => c.close_after = true,
                Some(_) => self.close(slot),
                None => {}
            }
        }
    }

    /// Answers every complete request in the connection's input.
    fn serve_input(&mut self, slot: usize) {
        loop {
            let Some(conn) = self.conns[slot].as_mut() else {
                return;
            };
            if conn.close_after || conn.input.is_empty() {
                break;
            }
            // Taken out while the request borrows it, so the handlers can borrow `self`.
            let input = std::mem::take(&mut conn.input);
            let (response, close, head_only, used) = match http::parse(&input) {
                Ok(req) => {
                    let body_len: usize = req
                        .header("content-length")
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    let chunked = req
                        .header("transfer-encoding")
                        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
                    let response = if body_len > 0 || chunked {
                        Some(Response::error(413, "request bodies are not accepted"))
                    } else {
                        self.admit(&req)
                    };
                    let head_only = req.method == "HEAD";
                    match response {
                        Some(r) => (r, true, head_only, req.len),
                        None => (self.api.handle(&req), req.close, head_only, req.len),
                    }
                }
                Err(ParseOutcome::Partial) if input.len() > self.config.max_request_bytes => (
                    Response::error(
                        431,
                        format!(
                            "request head larger than {} bytes",
                            self.config.max_request_bytes
                        ),
                    ),
                    true,
                    false,
                    input.len(),
                ),
                Err(ParseOutcome::Partial) => {
                    if let Some(c) = self.conns[slot].as_mut() {
                        c.input = input;
                    }
                    break;
                }
                Err(ParseOutcome::TooManyHeaders) => (
                    Response::error(431, "too many headers"),
                    true,
                    false,
                    input.len(),
                ),
                Err(ParseOutcome::Bad(why)) => {
                    (Response::error(400, why), true, false, input.len())
                }
            };
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            if response.status >= 400 {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
            }
            let Some(conn) = self.conns[slot].as_mut() else {
                return;
            };
            response.write_to(&mut conn.output, close, head_only);
            let mut input = input;
            input.drain(..used.min(input.len()));
            conn.input = input;
            conn.in_request = !conn.input.is_empty();
            conn.deadline_ns = clock::mono_ns()
                + ms_ns(if conn.in_request {
                    self.config.request_timeout_ms
                } else {
                    self.config.idle_timeout_ms
                });
            if close {
                conn.close_after = true;
                conn.input.clear();
            }
        }
        self.flush(slot);
    }

    /// The access rules: `None` admits, `Some` is the refusal.
    fn admit(&self, req: &http::Request<'_>) -> Option<Response> {
        if let Some(token) = &self.config.token {
            let bearer = req
                .header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            let ok = bearer == Some(token.as_str()) || req.param("token").as_deref() == Some(token);
            if !ok {
                return Some(Response::error(
                    401,
                    "access token required (Authorization: Bearer <token> or ?token=)",
                ));
            }
        }
        if !self.config.allowed_origins.is_empty()
            && let Some(origin) = req.header("origin")
            && !self.config.allowed_origins.iter().any(|o| o == origin)
        {
            return Some(Response::error(
                403,
                format!("origin {origin} is not allowed"),
            ));
        }
        None
    }

    /// Writes what the socket takes; registers for writability while some remains.
    fn flush(&mut self, slot: usize) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        while conn.written < conn.output.len() {
            match conn.stream.write(&conn.output[conn.written..]) {
                Ok(0) => break,
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.close(slot);
                    return;
                }
            }
        }
        if conn.written == conn.output.len() {
            conn.output.clear();
            conn.written = 0;
            if conn.close_after {
                self.close(slot);
                return;
            }
            if conn.writable_registered {
                conn.writable_registered = false;
                let _ = self.poll.registry().reregister(
                    &mut conn.stream,
                    Token(slot),
                    Interest::READABLE,
                );
            }
        } else if !conn.writable_registered {
            conn.writable_registered = true;
            let _ = self.poll.registry().reregister(
                &mut conn.stream,
                Token(slot),
                Interest::READABLE | Interest::WRITABLE,
            );
        }
    }

    fn expire(&mut self) {
        let now = clock::mono_ns();
        for slot in 0..self.conns.len() {
            let Some(conn) = self.conns[slot].as_mut() else {
                continue;
            };
            if now < conn.deadline_ns {
                continue;
            }
            self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
            if conn.in_request && !conn.close_after {
                let mut out = Vec::new();
                Response::error(
                    408,
                    format!(
                        "request not complete within {} ms",
                        self.config.request_timeout_ms
                    ),
                )
                .write_to(&mut out, true, false);
                let _ = conn.stream.write(&out);
            }
            self.close(slot);
        }
    }

    fn close(&mut self, slot: usize) {
        if let Some(mut conn) = self.conns[slot].take() {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.free.push(slot);
            self.stats.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

fn ms_ns(ms: u64) -> i64 {
    i64::try_from(ms)
        .unwrap_or(i64::MAX / 1_000_000)
        .saturating_mul(1_000_000)
}
