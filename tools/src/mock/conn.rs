//! One client connection of the mock exchange, on its own thread with blocking sockets:
//! TLS when configured, the HTTP request head, then either a REST answer (one request per
//! connection, `Connection: close`) or the WebSocket upgrade and the session loop that
//! alternates reading the client (short read timeout) with draining the connection's
//! bounded outbound queue.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use arb_engine::Exchange;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Bytes, Message, Utf8Bytes, WebSocket};

use super::faults::{self, Mutation};
use super::feed::{ConnSlot, Frame};
use super::venue::{Close, Reply, Session};
use super::{Shared, VenueStats, rest};

/// How long a blocking read waits before the loop drains the outbound queue.
const POLL: Duration = Duration::from_millis(5);
/// Read and write timeout of the HTTP phase, and write timeout of WebSocket writes.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head.
const MAX_HEAD: usize = 64 * 1024;
/// Outbound frames written per loop turn before the client is read again.
const BATCH: usize = 512;

/// A plain or TLS server socket.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A parsed request head.
struct Head {
    method: String,
    path: String,
    query: String,
    upgrade: bool,
    ws_key: Option<String>,
    content_length: usize,
}

/// Serves one accepted connection until it ends.
pub(crate) fn serve(shared: &Arc<Shared>, tcp: TcpStream) {
    if let Err(e) = serve_inner(shared, tcp) {
        tracing::debug!("mock-exchange: connection ended: {e}");
    }
}

fn serve_inner(shared: &Arc<Shared>, tcp: TcpStream) -> io::Result<()> {
    tcp.set_nonblocking(false)?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(IO_TIMEOUT))?;
    tcp.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut stream = match &shared.tls {
        Some(cfg) => {
            let conn = rustls::ServerConnection::new(Arc::clone(cfg)).map_err(io::Error::other)?;
            Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)))
        }
        None => Stream::Plain(tcp),
    };
    let (head, rest) = read_head(&mut stream)?;
    if head.path == "/mock/stats" {
        let body = shared.stats_json().to_string();
        return respond(&mut stream, 200, "application/json", &body);
    }
    if head.path == "/mock/flood" {
        if head.method == "POST" {
            match super::flood::parse_query(&head.query) {
                Ok((ex, factor, secs)) => {
                    let now = shared.now();
                    shared.flood.set(ex, factor, now, now + secs);
                }
                Err(e) => {
                    let body = serde_json::json!({ "error": e }).to_string();
                    return respond(&mut stream, 400, "application/json", &body);
                }
            }
        }
        let body = shared.flood.to_json().to_string();
        return respond(&mut stream, 200, "application/json", &body);
    }
    let mut parts = head.path.splitn(3, '/').skip(1);
    let venue = parts.next().unwrap_or("");
    let sub = format!("/{}", parts.next().unwrap_or(""));
    let Some(ex) = Exchange::ALL.into_iter().find(|e| e.as_str() == venue) else {
        return not_found(&mut stream, &head.path);
    };
    if sub == "/ws" {
        if !head.upgrade {
            return respond(
                &mut stream,
                400,
                "application/json",
                r#"{"error":"WebSocket upgrade expected"}"#,
            );
        }
        return websocket(shared, stream, ex, &head, rest);
    }
    // Drain a request body so closing does not reset the connection under the answer.
    let mut left = head.content_length.saturating_sub(rest.len());
    let mut sink = [0u8; 4096];
    while left > 0 {
        let n = stream.read(&mut sink[..left.min(4096)])?;
        if n == 0 {
            break;
        }
        left -= n;
    }
    VenueStats::bump(&shared.stats(ex).rest_requests);
    if !shared.rest_delay.is_zero() {
        std::thread::sleep(shared.rest_delay);
    }
    match rest::answer(shared, ex, &head.method, &sub) {
        Some(v) => respond(&mut stream, 200, "application/json", &v.to_string()),
        None => not_found(&mut stream, &head.path),
    }
}

fn not_found(stream: &mut Stream, path: &str) -> io::Result<()> {
    let body = serde_json::json!({"error": "not found", "path": path}).to_string();
    respond(stream, 404, "application/json", &body)
}

/// Reads up to the end of the request head; returns it and any bytes read past it.
fn read_head(stream: &mut Stream) -> io::Result<(Head, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before a request",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let target = req.path.unwrap_or("/");
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let header = |name: &str| {
                    req.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .and_then(|h| std::str::from_utf8(h.value).ok())
                };
                let head = Head {
                    method: req.method.unwrap_or("GET").to_owned(),
                    path: path.to_owned(),
                    query: query.to_owned(),
                    upgrade: header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket")),
                    ws_key: header("sec-websocket-key").map(str::to_owned),
                    content_length: header("content-length")
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0),
                };
                return Ok((head, buf[len..].to_vec()));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) | Err(_) => {
                let _ = respond(
                    stream,
                    400,
                    "application/json",
                    r#"{"error":"bad request"}"#,
                );
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bad request head",
                ));
            }
        }
    }
}

fn respond(stream: &mut Stream, status: u16, ctype: &str, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Error",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()?;
    if let Stream::Tls(s) = stream {
        s.conn.send_close_notify();
        let _ = s.flush();
    }
    linger(stream.tcp());
    Ok(())
}

/// Half-closes after an answer and reads off whatever the client still sends (an unread
/// body, a chunked terminator) for a moment, so closing does not reset the connection
/// before the client has read the answer.
fn linger(tcp: &TcpStream) {
    let _ = tcp.shutdown(std::net::Shutdown::Write);
    let _ = tcp.set_read_timeout(Some(Duration::from_millis(100)));
    let mut sink = [0u8; 4096];
    let mut reader = tcp;
    for _ in 0..64 {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// The value of `key` in a query string.
fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Completes the upgrade and runs the session.
fn websocket(
    shared: &Arc<Shared>,
    mut stream: Stream,
    ex: Exchange,
    head: &Head,
    rest: Vec<u8>,
) -> io::Result<()> {
    let Some(key) = head.ws_key.as_deref() else {
        return respond(
            &mut stream,
            400,
            "application/json",
            r#"{"error":"no Sec-WebSocket-Key"}"#,
        );
    };
    let connect_id = query_param(&head.query, "connectId").map(str::to_owned);
    if ex == Exchange::Kucoin {
        let token = query_param(&head.query, "token").unwrap_or("");
        let known = shared
            .tokens
            .lock()
            .is_ok_and(|t| t.iter().any(|k| k == token));
        if !known || connect_id.is_none() {
            return respond(
                &mut stream,
                401,
                "application/json",
                r#"{"code":"401","msg":"token is invalid or connectId is missing"}"#,
            );
        }
    }
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    write!(
        stream,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )?;
    stream.flush()?;
    stream.tcp().set_read_timeout(Some(POLL))?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20));
    let ws = WebSocket::from_partially_read(stream, rest, Role::Server, Some(config));
    let stats = shared.stats(ex);
    VenueStats::bump(&stats.connections_accepted);
    stats.connections_open.fetch_add(1, Ordering::Relaxed);
    let (slot, rx) = shared.hub.join(ex, shared.universe.symbols(), shared.queue);
    let mut c = Conn {
        shared,
        ex,
        ws,
        slot: &slot,
        rx,
        data_frames: 0,
        trade_snapshots: Vec::new(),
    };
    let streams = query_param(&head.query, "streams").filter(|_| ex == Exchange::Binance);
    let result = c.run(connect_id.as_deref(), streams);
    shared.hub.leave(&slot);
    stats.connections_open.fetch_sub(1, Ordering::Relaxed);
    result
}

/// The session loop's state.
struct Conn<'a> {
    shared: &'a Shared,
    ex: Exchange,
    ws: WebSocket<Stream>,
    slot: &'a ConnSlot,
    rx: Receiver<Frame>,
    /// Data frames taken from the queue so far (the Nth-frame faults count these).
    data_frames: u64,
    /// Bitget: symbols whose first trade push (a snapshot) went out.
    trade_snapshots: Vec<bool>,
}

/// The head of a Bitget trade push as the generator writes it.
const BITGET_TRADE_UPDATE: &[u8] =
    br#"{"action":"update","arg":{"instType":"SPOT","channel":"trade""#;

/// Whether a read or write error just means "nothing yet".
fn would_block(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(io) if matches!(io.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
}

impl Conn<'_> {
    fn run(&mut self, connect_id: Option<&str>, url_streams: Option<&str>) -> io::Result<()> {
        let shared = self.shared;
        let stats = shared.stats(self.ex);
        let opened = shared.now();
        let mut session = Session::new(self.ex, shared, opened);
        let faulty = shared.faults.hits(self.ex);
        let silent_at = shared
            .faults
            .silent_after
            .filter(|_| faulty)
            .map(|d| opened + d);
        let next_drop = shared.faults.next_drop(self.ex, opened);
        for r in session.on_open(connect_id) {
            self.send(r)?;
        }
        if let Some(streams) = url_streams {
            // Binance's `/stream?streams=a/b`: subscribed on connect, no reply.
            let params: Vec<&str> = streams.split('/').filter(|s| !s.is_empty()).collect();
            let req = serde_json::json!({"method": "SUBSCRIBE", "params": params, "id": null});
            let _ = session.on_text(&req.to_string(), shared, self.slot);
        }
        self.flush()?;
        loop {
            let now = shared.now();
            if shared.stop.load(Ordering::Relaxed) {
                return self.close(1001, "server shutting down");
            }
            if next_drop.is_some_and(|t| now >= t) {
                VenueStats::bump(&stats.closes_by_fault);
                return self.close(1001, "fault injection: --drop-every");
            }
            if silent_at.is_some_and(|t| now >= t) {
                return self.stay_silent();
            }
            match session.tick(now, stats) {
                Ok(replies) => {
                    for r in replies {
                        self.send(r)?;
                    }
                }
                Err(Close { code, reason }) => return self.close(code, &reason),
            }
            match self.ws.read() {
                Ok(msg) => {
                    if let Err(Close { code, reason }) = session.heard(shared.now(), stats) {
                        return self.close(code, &reason);
                    }
                    let replies = match msg {
                        Message::Text(t) => session.on_text(t.as_str(), shared, self.slot),
                        Message::Binary(b) => match std::str::from_utf8(&b) {
                            Ok(t) => session.on_text(t, shared, self.slot),
                            Err(_) => Vec::new(),
                        },
                        Message::Pong(_) => {
                            session.on_pong(stats);
                            Vec::new()
                        }
                        Message::Ping(_) | Message::Close(_) | Message::Frame(_) => Vec::new(),
                    };
                    for r in replies {
                        self.send(r)?;
                    }
                }
                Err(e) if would_block(&e) => {}
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Ok(());
                }
                Err(e) => return Err(io::Error::other(e)),
            }
            for _ in 0..BATCH {
                match self.rx.try_recv() {
                    Ok(f) => self.send_data(&f)?,
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            self.flush()?;
        }
    }

    /// `--silent-after`: sends nothing more (no data, replies, pings or pongs — the client's
    /// bytes are read raw, bypassing the WebSocket layer's automatic pongs) and keeps the
    /// socket open until the client or the server ends it.
    fn stay_silent(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            if self.shared.stop.load(Ordering::Relaxed) {
                let _ = self.ws.get_ref().tcp().shutdown(std::net::Shutdown::Both);
                return Ok(());
            }
            // Data still drains off the queue, so the router does not count drops.
            while self.rx.try_recv().is_ok() {}
            match self.ws.get_mut().read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes a data frame, applying the Nth-frame faults.
    fn send_data(&mut self, f: &Frame) -> io::Result<()> {
        self.data_frames += 1;
        let faults = &self.shared.faults;
        let bytes = match faults.mutation(self.ex, self.data_frames) {
            Mutation::None if self.ex == Exchange::Bitget => self.bitget_snapshot(f),
            Mutation::None => f.bytes.clone(),
            Mutation::Malformed => Bytes::from(faults::malformed(self.ex, &f.bytes)),
            Mutation::Oversize => {
                let plain = (self.ex == Exchange::Bingx).then(|| inflate(&f.bytes));
                Bytes::from(faults::oversize(
                    self.ex,
                    &f.bytes,
                    plain.as_deref(),
                    faults.oversize_bytes,
                ))
            }
        };
        let msg = if f.binary {
            Message::Binary(bytes)
        } else {
            match Utf8Bytes::try_from(bytes) {
                Ok(t) => Message::Text(t),
                Err(_) => return Ok(()),
            }
        };
        self.write(msg)?;
        VenueStats::bump(&self.shared.stats(self.ex).frames_sent);
        Ok(())
    }

    /// Bitget's first trade push per symbol after subscribing is a snapshot (§7): the
    /// first trade frame of each symbol on this connection goes out as `"action":"snapshot"`.
    fn bitget_snapshot(&mut self, f: &Frame) -> Bytes {
        if !f.bytes.starts_with(BITGET_TRADE_UPDATE) {
            return f.bytes.clone();
        }
        let i = f.symbol.index();
        if self.trade_snapshots.len() <= i {
            self.trade_snapshots.resize(i + 1, false);
        }
        if std::mem::replace(&mut self.trade_snapshots[i], true) {
            return f.bytes.clone();
        }
        let rest = &f.bytes[br#"{"action":"update""#.len()..];
        let mut v = Vec::with_capacity(f.bytes.len() + 2);
        v.extend_from_slice(br#"{"action":"snapshot""#);
        v.extend_from_slice(rest);
        Bytes::from(v)
    }

    fn send(&mut self, r: Reply) -> io::Result<()> {
        let msg = match r {
            Reply::Text(t) => Message::text(t),
            Reply::Binary(b) => Message::binary(b),
            Reply::Ping(p) => Message::Ping(Bytes::from(p)),
        };
        self.write(msg)
    }

    fn write(&mut self, msg: Message) -> io::Result<()> {
        match self.ws.write(msg) {
            Ok(()) => Ok(()),
            Err(e) if would_block(&e) => Ok(()),
            Err(e) => Err(io::Error::other(e)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.ws.flush() {
            Ok(()) => Ok(()),
            Err(e) if would_block(&e) => Ok(()),
            Err(e) => Err(io::Error::other(e)),
        }
    }

    /// Sends a close frame, waits briefly for the client's, and ends the session.
    fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from(reason),
        };
        let _ = self.ws.close(Some(frame));
        let _ = self.ws.flush();
        let until = self.shared.now() + Duration::from_millis(500);
        while self.shared.now() < until {
            match self.ws.read() {
                Ok(_) => {}
                Err(e) if would_block(&e) => {}
                Err(_) => break,
            }
        }
        let _ = self.ws.get_ref().tcp().shutdown(std::net::Shutdown::Both);
        Ok(())
    }
}

/// Inflates a BingX gzip frame (for the oversize fault); empty on failure.
fn inflate(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = flate2::read::GzDecoder::new(gz).read_to_end(&mut out);
    out
}
