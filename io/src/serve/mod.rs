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
pub mod publish;
pub mod ws;

use std::io::{self, Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arb_engine::clock;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use arb_engine::SymbolId;
use serde_json::json;

use self::http::{ParseOutcome, Response};
use self::publish::{Channel, Publisher};
use self::ws::{CloseReason, Request as WsRequest, WsClient, WsLimits};

const LISTENER: Token = Token(usize::MAX);
/// Charts of the legacy chart stream, refreshed round robin.
const CHARTS: usize = 20;
/// Charts refreshed per tick.
const CHARTS_PER_TICK: usize = 5;
/// Chart stream tick: with 5 of 20 per tick each chart goes out about once a second (the
/// legacy limit is at most every 250 ms per chart).
const CHART_TICK_NS: i64 = 250_000_000;

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
    /// WebSocket limits per client.
    pub ws: WsLimits,
    /// Publish tick of the WebSocket streams, ms (at most one message per key per tick).
    pub publish_interval_ms: u64,
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
            ws: WsLimits::default(),
            publish_interval_ms: 25,
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
    /// WebSocket clients open now.
    pub ws_clients: AtomicU64,
    /// WebSocket messages written.
    pub ws_sent: AtomicU64,
    /// WebSocket messages replaced by a newer one before a slow client took them.
    pub ws_conflated: AtomicU64,
    /// WebSocket clients closed for falling behind.
    pub ws_slow_closed: AtomicU64,
    /// WebSocket clients closed for not answering pings.
    pub ws_ping_closed: AtomicU64,
    /// The furthest any WebSocket client reads behind the stream (its ping round trip),
    /// ms, as of the last housekeeping pass (every 100 ms).
    pub ws_lag_max_ms: AtomicU64,
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
    /// Unique per connection, so a job's answer never reaches a later connection that
    /// reused the slot.
    id: u64,
    /// A job is computing this connection's response.
    waiting: bool,
}

/// A finished job's response for a connection.
struct JobDone {
    slot: usize,
    id: u64,
    response: Response,
    close: bool,
    head_only: bool,
}

/// Jobs (store reads) running at once; more get 503.
const MAX_JOBS: usize = 2;
/// A connection waiting for a job longer than this is closed.
const JOB_TIMEOUT_NS: i64 = 60_000_000_000;

/// The server: listener, connections, routes.
#[derive(Debug)]
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    local: SocketAddr,
    conns: Vec<Option<Conn>>,
    /// WebSocket clients, by the same slot numbers as `conns` (a slot is one or the other).
    ws: Vec<Option<Box<WsClient>>>,
    /// `[channel][symbol]` → slots subscribed; opportunities in `opp_subs`.
    subs_index: Vec<Vec<Vec<u32>>>,
    opp_subs: Vec<u32>,
    /// Clients of the legacy `/ws/realtime_charts` (every chart of the top 20).
    chart_subs: Vec<u32>,
    /// Clients of the legacy raw bus (WebSocket on `/`: every quote, trade, signal).
    legacy_subs: Vec<u32>,
    /// Next chart of the top list to refresh (round robin, a few per tick).
    chart_cursor: usize,
    next_charts_ns: i64,
    publisher: Publisher,
    next_publish_ns: i64,
    next_opps_ns: i64,
    next_housekeeping_ns: i64,
    to_write: Vec<u32>,
    jobs_tx: std::sync::mpsc::Sender<JobDone>,
    jobs_rx: std::sync::mpsc::Receiver<JobDone>,
    jobs_running: usize,
    next_conn_id: u64,
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
    /// Binds the listener without a stream from the core (HTTP only; WebSocket clients
    /// get no data).
    ///
    /// # Errors
    /// As [`Server::bind_with_feed`].
    pub fn bind(config: ServerConfig, api: api::Api) -> Result<Self, ServerError> {
        let publisher = Publisher::new(&api.state().registry, api.state().stale_after_ns, None);
        Self::bind_with_feed(config, api, publisher)
    }

    /// Binds the listener; `publisher` reads the server's tap ring from the core for the
    /// WebSocket streams.
    ///
    /// # Errors
    /// [`ServerError`]: remote rules, the port in use, the poller.
    pub fn bind_with_feed(
        config: ServerConfig,
        api: api::Api,
        publisher: Publisher,
    ) -> Result<Self, ServerError> {
        config.validate()?;
        let poll = Poll::new()?;
        let mut listener =
            TcpListener::bind(config.listen).map_err(|source| ServerError::Bind {
                addr: config.listen,
                source,
            })?;
        let local = listener.local_addr()?;
        let (jobs_tx, jobs_rx) = std::sync::mpsc::channel();
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Server {
            poll,
            listener,
            local,
            conns: (0..config.max_connections).map(|_| None).collect(),
            ws: (0..config.max_connections).map(|_| None).collect(),
            subs_index: (0..4)
                .map(|_| vec![Vec::new(); publisher.symbols()])
                .collect(),
            opp_subs: Vec::new(),
            chart_subs: Vec::new(),
            legacy_subs: Vec::new(),
            chart_cursor: 0,
            next_charts_ns: 0,
            publisher,
            next_publish_ns: 0,
            next_opps_ns: 0,
            next_housekeeping_ns: 0,
            to_write: Vec::new(),
            jobs_tx,
            jobs_rx,
            jobs_running: 0,
            next_conn_id: 0,
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
            self.poll_once(
                &mut events,
                Duration::from_millis(self.config.publish_interval_ms.clamp(1, 50)),
            )?;
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
                Token(i) if self.ws.get(i).is_some_and(Option::is_some) => {
                    if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                        self.ws_readable(i);
                    }
                    if ev.is_writable() {
                        self.ws_write(i, true);
                    }
                }
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
        self.publish();
        self.finish_jobs();
        let now = clock::mono_ns();
        if now >= self.next_housekeeping_ns {
            self.next_housekeeping_ns = now + 100_000_000;
            self.expire();
            self.ws_housekeeping(now);
        }
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
                id: self.next_conn_id,
                waiting: false,
            });
            self.next_conn_id += 1;
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
            if conn.close_after || conn.input.is_empty() || conn.waiting {
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
                        None if req.path == "/ws"
                            || req.path == "/ws/realtime_charts"
                            || (req.path == "/" && req.header("upgrade").is_some()) =>
                        {
                            match ws_upgrade(&req) {
                                Ok(accept) => {
                                    let kind = match req.path {
                                        "/ws/realtime_charts" => WsKind::Charts,
                                        "/" => WsKind::LegacyBus,
                                        _ => WsKind::Streams,
                                    };
                                    self.upgrade(slot, &accept, kind);
                                    return;
                                }
                                Err(r) => (r, true, head_only, req.len),
                            }
                        }
                        None => match self.api.answer(&req) {
                            api::Answer::Now(r) => (r, req.close, head_only, req.len),
                            api::Answer::Later(job) => {
                                let (close, used) = (req.close, req.len);
                                drop(req);
                                self.start_job(slot, job, close, head_only, input, used);
                                return;
                            }
                        },
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

impl Server {
    /// Runs `job` on a short-lived thread (at most [`MAX_JOBS`] at once); the connection
    /// waits for its answer, keeping the input after the request.
    fn start_job(
        &mut self,
        slot: usize,
        job: api::JobBox,
        close: bool,
        head_only: bool,
        mut input: Vec<u8>,
        used: usize,
    ) {
        input.drain(..used.min(input.len()));
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        conn.input = input;
        if self.jobs_running >= MAX_JOBS {
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            Response::error(
                503,
                "the store is busy with other history requests; retry shortly",
            )
            .write_to(&mut conn.output, close, head_only);
            conn.close_after |= close;
            self.flush(slot);
            return;
        }
        conn.waiting = true;
        conn.in_request = false;
        conn.deadline_ns = clock::mono_ns() + JOB_TIMEOUT_NS;
        let (id, tx) = (conn.id, self.jobs_tx.clone());
        self.jobs_running += 1;
        let spawned = std::thread::Builder::new()
            .name("http-job".into())
            .spawn(move || {
                let response = (job.0)();
                let _ = tx.send(JobDone {
                    slot,
                    id,
                    response,
                    close,
                    head_only,
                });
            });
        if spawned.is_err() {
            self.jobs_running -= 1;
            if let Some(conn) = self.conns[slot].as_mut() {
                conn.waiting = false;
                Response::error(503, "cannot start a worker thread").write_to(
                    &mut conn.output,
                    true,
                    head_only,
                );
                conn.close_after = true;
            }
            self.flush(slot);
        }
    }

    /// Sends the responses of finished jobs to connections still waiting for them.
    fn finish_jobs(&mut self) {
        while let Ok(done) = self.jobs_rx.try_recv() {
            self.jobs_running = self.jobs_running.saturating_sub(1);
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            if done.response.status >= 400 {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
            }
            let Some(conn) = self.conns[done.slot].as_mut() else {
                continue;
            };
            if conn.id != done.id || !conn.waiting {
                continue;
            }
            conn.waiting = false;
            done.response
                .write_to(&mut conn.output, done.close, done.head_only);
            conn.close_after |= done.close;
            conn.deadline_ns = clock::mono_ns() + ms_ns(self.config.idle_timeout_ms);
            // Pipelined requests behind it, then the write.
            self.serve_input(done.slot);
        }
    }
}

/// What a WebSocket connection receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WsKind {
    /// `/ws`: typed updates on request.
    Streams,
    /// `/ws/realtime_charts`: the legacy chart objects of the top pairs.
    Charts,
    /// `/`: the legacy raw bus.
    LegacyBus,
}

/// Checks a WebSocket upgrade request; returns the accept key.
fn ws_upgrade(req: &http::Request<'_>) -> Result<String, Response> {
    let upgrade = req
        .header("upgrade")
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return Err(Response::error(
            400,
            "/ws is a WebSocket endpoint: send Upgrade: websocket",
        ));
    }
    if req.header("sec-websocket-version").map(str::trim) != Some("13") {
        let mut r = Response::error(400, "WebSocket version 13 required");
        r.extra.push(("Sec-WebSocket-Version", "13".into()));
        return Err(r);
    }
    let key = req
        .header("sec-websocket-key")
        .ok_or_else(|| Response::error(400, "missing Sec-WebSocket-Key"))?;
    Ok(ws::accept_key(key))
}

/// A stopping server says goodbye to its WebSocket clients (`ws::WsClient::close_for_shutdown`):
/// a close frame, then a FIN for those reading along and a reset for those with a
/// backlog, which would otherwise read the stopped server's stale frames for as long as
/// it takes them to reach the end.
impl Drop for Server {
    fn drop(&mut self) {
        let now = clock::mono_ns();
        for c in self.ws.iter_mut().flatten() {
            c.close_for_shutdown(now);
        }
    }
}

impl Server {
    /// Answers the upgrade and turns the slot's connection into a WebSocket client.
    fn upgrade(&mut self, slot: usize, accept: &str, kind: WsKind) {
        let Some(mut conn) = self.conns[slot].take() else {
            return;
        };
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        // Counted before the answer leaves, so a client that has its 101 is already in
        // the figures (`/api/health`, tests waiting for it to be closed).
        self.stats.ws_clients.fetch_add(1, Ordering::Relaxed);
        // A fresh socket's send buffer takes the small response at once.
        if conn.stream.write_all(head.as_bytes()).is_err() {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.free.push(slot);
            self.stats.open.fetch_sub(1, Ordering::Relaxed);
            self.stats.ws_clients.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let now = clock::mono_ns();
        let mut client = Box::new(WsClient::new(conn.stream, self.config.ws, now));
        let _ =
            self.poll
                .registry()
                .reregister(client.stream_mut(), Token(slot), Interest::READABLE);
        self.ws[slot] = Some(client);
        match kind {
            WsKind::Charts => self.chart_subs.push(slot as u32),
            WsKind::LegacyBus => {
                self.legacy_subs.push(slot as u32);
                self.publisher.count_legacy(1);
                let info = self.api.symbol_info_legacy();
                if let Some(c) = self.ws[slot].as_mut() {
                    c.reply(&info);
                }
                self.ws_write(slot, false);
            }
            WsKind::Streams => {}
        }
    }

    fn ws_readable(&mut self, slot: usize) {
        let now = clock::mono_ns();
        let mut texts: Vec<String> = Vec::new();
        let result = match self.ws[slot].as_mut() {
            Some(c) => c.read(now, |_, t| texts.push(t.to_string())),
            None => return,
        };
        for t in texts {
            self.ws_request(slot, &t);
        }
        match result {
            Ok(()) => self.ws_write(slot, false),
            Err(reason) => self.ws_close(slot, reason),
        }
    }

    fn ws_request(&mut self, slot: usize, text: &str) {
        let reply = match ws::parse_request(text) {
            Err(e) => json!({"type": "error", "error": e}),
            Ok(WsRequest::Ping) => json!({"type": "pong"}),
            Ok(WsRequest::Subscribe(channels, symbols)) => {
                self.ws_subscribe(slot, &channels, &symbols, true)
            }
            Ok(WsRequest::Unsubscribe(channels, symbols)) => {
                self.ws_subscribe(slot, &channels, &symbols, false)
            }
        };
        if let Some(c) = self.ws[slot].as_mut() {
            c.reply(&reply);
        }
    }

    /// Applies a subscribe / unsubscribe; returns the reply.
    fn ws_subscribe(
        &mut self,
        slot: usize,
        channels: &[Channel],
        symbols: &[String],
        on: bool,
    ) -> serde_json::Value {
        let registry = Arc::clone(&self.api.state().registry);
        let mut ids = Vec::new();
        let mut unknown = Vec::new();
        for s in symbols {
            let id = crate::names::parse_symbol(s)
                .and_then(|w| registry.lookup_name(&w.replacen('_', "/", 1)));
            match id {
                Some(id) => ids.push(id.0),
                None => unknown.push(s.clone()),
            }
        }
        let Some(client) = self.ws[slot].as_mut() else {
            return json!({});
        };
        let needs_symbols = channels.iter().any(|c| c.per_symbol());
        if on && needs_symbols && ids.is_empty() {
            return json!({"type": "error", "error": "name at least one known symbol (\"symbols\": [\"BTC_USDT\"])", "unknown": unknown});
        }
        if on {
            let mut all: Vec<u32> = client.subs.symbols.clone();
            for id in &ids {
                if !all.contains(id) {
                    all.push(*id);
                }
            }
            if all.len() > self.config.ws.max_symbols {
                return json!({"type": "error", "error": format!("at most {} symbols per client", self.config.ws.max_symbols)});
            }
        }
        // Remove the client from the index for the affected channels, change its
        // subscriptions, and add it back: keeps the index and the counts exact.
        let before_channels = client.subs.channels;
        let before_symbols = client.subs.symbols.clone();
        let mut channels_bits = before_channels;
        let mut new_symbols = before_symbols.clone();
        for c in channels {
            if on {
                channels_bits |= 1 << *c as u8;
            } else if ids.is_empty() || !c.per_symbol() {
                channels_bits &= !(1 << *c as u8);
            }
        }
        if on {
            for id in &ids {
                if !new_symbols.contains(id) {
                    new_symbols.push(*id);
                }
            }
        } else {
            new_symbols.retain(|s| !ids.contains(s));
            if new_symbols.is_empty() {
                channels_bits &= 1 << Channel::Opportunities as u8;
            }
        }
        self.index_client(slot, before_channels, &before_symbols, false);
        self.index_client(slot, channels_bits, &new_symbols, true);
        let Some(client) = self.ws[slot].as_mut() else {
            return json!({});
        };
        client.subs.channels = channels_bits;
        client.subs.symbols = new_symbols;
        let chans: Vec<&str> = Channel::ALL
            .iter()
            .filter(|c| client.subs.has(**c))
            .map(|c| c.as_str())
            .collect();
        let syms: Vec<String> = client
            .subs
            .symbols
            .iter()
            .map(|&i| crate::names::symbol_name(registry.name(SymbolId(i))))
            .collect();
        json!({
            "type": if on { "subscribed" } else { "unsubscribed" },
            "channels": chans,
            "symbols": syms,
            "unknown": unknown,
        })
    }

    /// Adds (`add`) or removes a client's subscriptions in the fan-out index.
    fn index_client(&mut self, slot: usize, channels: u8, symbols: &[u32], add: bool) {
        for c in Channel::ALL {
            if channels & (1 << c as u8) == 0 {
                continue;
            }
            if !c.per_symbol() {
                if add {
                    self.opp_subs.push(slot as u32);
                } else {
                    self.opp_subs.retain(|&s| s != slot as u32);
                }
                continue;
            }
            for &sym in symbols {
                let Some(list) = self.subs_index[c as usize].get_mut(sym as usize) else {
                    continue;
                };
                if add {
                    list.push(slot as u32);
                    self.publisher.count(c, sym, 1);
                } else if let Some(p) = list.iter().position(|&s| s == slot as u32) {
                    list.swap_remove(p);
                    self.publisher.count(c, sym, -1);
                }
            }
        }
    }

    /// Drains the core's stream and, once per tick, hands each changed key to its
    /// subscribers; then writes to the clients that got something.
    fn publish(&mut self) {
        let api = &mut self.api;
        self.publisher.drain(1 << 16, |s| api.note_signal(s));
        let now = clock::mono_ns();
        if now < self.next_publish_ns {
            return;
        }
        self.next_publish_ns = now + ms_ns(self.config.publish_interval_ms);
        let (ws, index, to_write, legacy) = (
            &mut self.ws,
            &self.subs_index,
            &mut self.to_write,
            &self.legacy_subs,
        );
        self.publisher.flush(|key, msg, is_legacy| {
            let ch = publish::key_channel(key) as usize;
            let sym = publish::key_symbol(key) as usize;
            let list: &[u32] = if is_legacy {
                legacy
            } else {
                match index.get(ch).and_then(|l| l.get(sym)) {
                    Some(l) => l,
                    None => return,
                }
            };
            for &slot in list {
                if let Some(c) = ws[slot as usize].as_mut() {
                    let had = c.has_output();
                    let _ = c.enqueue(key, msg, now);
                    if !had {
                        to_write.push(slot);
                    }
                }
            }
        });
        if now >= self.next_opps_ns && !self.opp_subs.is_empty() {
            self.next_opps_ns = now + 250_000_000;
            let body = self.api.opportunities_json(20);
            let msg = tungstenite::Utf8Bytes::from(body.to_string());
            let key = publish::key(Channel::Opportunities, 0, 0);
            for &slot in &self.opp_subs {
                if let Some(c) = self.ws[slot as usize].as_mut() {
                    let had = c.has_output();
                    let _ = c.enqueue(key, &msg, now);
                    if !had {
                        self.to_write.push(slot);
                    }
                }
            }
        }
        if now >= self.next_charts_ns && !self.chart_subs.is_empty() {
            self.next_charts_ns = now + CHART_TICK_NS;
            self.publish_charts(now);
        }
        let slots = std::mem::take(&mut self.to_write);
        for &slot in &slots {
            self.ws_write(slot as usize, false);
        }
        self.to_write = slots;
        self.to_write.clear();
    }

    /// The legacy chart stream: every tick refreshes the next few charts of the top 20
    /// (round robin), so each chart goes out at most every 250 ms and the series are
    /// computed once for every client.
    fn publish_charts(&mut self, now: i64) {
        let top = self.api.chart_pairs(CHARTS);
        if top.is_empty() {
            return;
        }
        for _ in 0..CHARTS_PER_TICK.min(top.len()) {
            self.chart_cursor = (self.chart_cursor + 1) % top.len();
            let (sym, pair) = top[self.chart_cursor];
            let Some(chart) = self.api.chart_object(sym, pair, api::LIVE_CHART_MINUTES) else {
                continue;
            };
            let msg = tungstenite::Utf8Bytes::from(chart.to_string());
            // One queue entry per chart: a slow client keeps only each chart's newest.
            let key = publish::key(Channel::Opportunities, sym.0, 1 + pair.index());
            for &slot in &self.chart_subs {
                if let Some(c) = self.ws[slot as usize].as_mut() {
                    let had = c.has_output();
                    let _ = c.enqueue(key, &msg, now);
                    if !had {
                        self.to_write.push(slot);
                    }
                }
            }
        }
    }

    /// Writes a client's queue; `writable`: called for the socket's writable event.
    ///
    /// A client whose socket was full (`blocked`) is written only when the socket says it
    /// is writable again: writing it on every tick would move its backlog out of the
    /// conflating queue into the WebSocket's own write buffer, where nothing is replaced,
    /// the queue's limits cannot see it, and the buffer's own limit ends the connection
    /// as an error instead of closing it as too slow.
    fn ws_write(&mut self, slot: usize, writable: bool) {
        let now = clock::mono_ns();
        let Some(c) = self.ws[slot].as_mut() else {
            return;
        };
        if c.blocked && !writable {
            return;
        }
        let was_blocked = c.blocked;
        match c.write(now) {
            Ok(n) => {
                self.stats.ws_sent.fetch_add(n as u64, Ordering::Relaxed);
                if c.blocked != was_blocked {
                    let interest = if c.blocked {
                        Interest::READABLE | Interest::WRITABLE
                    } else {
                        Interest::READABLE
                    };
                    let _ = self
                        .poll
                        .registry()
                        .reregister(c.stream_mut(), Token(slot), interest);
                }
            }
            Err(reason) => self.ws_close(slot, reason),
        }
    }

    fn ws_housekeeping(&mut self, now: i64) {
        let mut lag_max = 0i64;
        for slot in 0..self.ws.len() {
            let Some(c) = self.ws[slot].as_mut() else {
                continue;
            };
            if let Err(reason) = c.housekeeping(now) {
                self.ws_close(slot, reason);
            } else {
                lag_max = lag_max.max(c.lag_ns(now));
            }
        }
        self.stats.ws_lag_max_ms.store(
            u64::try_from(lag_max / 1_000_000).unwrap_or(0),
            Ordering::Relaxed,
        );
    }

    fn ws_close(&mut self, slot: usize, reason: CloseReason) {
        let Some(mut c) = self.ws[slot].take() else {
            return;
        };
        match reason {
            CloseReason::TooSlow => {
                self.stats.ws_slow_closed.fetch_add(1, Ordering::Relaxed);
            }
            CloseReason::PingTimeout => {
                self.stats.ws_ping_closed.fetch_add(1, Ordering::Relaxed);
            }
            // The client closed (or broke the connection): a FIN after any close reply.
            CloseReason::Gone => c.release(),
        }
        self.stats
            .ws_conflated
            .fetch_add(c.conflated, Ordering::Relaxed);
        let (channels, symbols) = (c.subs.channels, std::mem::take(&mut c.subs.symbols));
        self.index_client(slot, channels, &symbols, false);
        self.chart_subs.retain(|&s| s != slot as u32);
        if let Some(p) = self.legacy_subs.iter().position(|&s| s == slot as u32) {
            self.legacy_subs.swap_remove(p);
            self.publisher.count_legacy(-1);
        }
        let _ = self.poll.registry().deregister(c.stream_mut());
        self.free.push(slot);
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
        self.stats.ws_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

fn ms_ns(ms: u64) -> i64 {
    i64::try_from(ms)
        .unwrap_or(i64::MAX / 1_000_000)
        .saturating_mul(1_000_000)
}
