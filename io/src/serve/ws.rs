//! WebSocket clients of the server: the upgrade handshake, the subscribe protocol, and
//! each client's bounded outbound queue that conflates to the latest message per key when
//! the client falls behind, written in batches.
//!
//! Protocol on `/ws` (text frames, JSON):
//! - `{"op":"subscribe","channels":["quotes","spreads","trades","signals","opportunities"],
//!   "symbols":["BTC_USDT"]}` → `{"type":"subscribed","channels":[..],"symbols":[..]}`
//! - `{"op":"unsubscribe", ...}` (same fields) → `{"type":"unsubscribed", ...}`
//! - `{"op":"ping"}` → `{"type":"pong"}`
//! - anything else → `{"type":"error","error":"..."}`; the connection stays open.
//!
//! Updates are typed (`"type": "quote" | "spread" | "trade" | "signal" |
//! "opportunities"`) and carry `pub_ts`, when the server serialised them (epoch s), so
//! clients can measure delivery latency.
//!
//! Memory per client is bounded: the queue holds at most one message per key it
//! subscribes to, and at most `max_queue_bytes` in all; a client over that, or behind for
//! longer than `max_behind_ms`, is closed with code 1008 and the reason.
//!
//! "Behind" is measured on both sides of the socket. The server's own queue is one side.
//! The other is what the kernels hold: a slow reader's receive buffer can hide seconds of
//! frames that left the server's queue long ago. Pings measure that side: a ping goes out
//! every `ping_interval_ms` behind the frames already written and carries its send time, and
//! the client's pong can only come after it has read everything before the ping. The pong's
//! round trip is the client's read lag (`lag_ms`); a pong slower than `max_behind_ms`
//! closes the client as too slow, and no pong within `pong_timeout_ms` closes it as gone
//! (or too far behind to tell). A client closed for being behind gets the close frame and
//! then a TCP reset, not a FIN that would wait behind its backlog (see
//! `WsClient::close_behind`).
//!
//! The same holds when the server itself goes away. Every client socket is set to reset
//! when it is closed without a goodbye (`SO_LINGER` 0 from the start), so a server killed
//! with `kill -9` or crashing resets its clients at once, and they reconnect to the next
//! one instead of reading the dead one's backlog for minutes. The goodbyes clear it: a
//! client that closed is answered with a FIN, and a server that stops sends each client
//! that reads along a close frame (1001, going away) and a FIN, and resets one with a
//! backlog (`WsClient::close_for_shutdown`).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::time::Duration;

use mio::net::TcpStream;
use serde_json::{Value, json};
use tungstenite::protocol::{
    CloseFrame, Role, WebSocket, WebSocketConfig, frame::coding::CloseCode,
};
use tungstenite::{Message, Utf8Bytes};

use super::publish::{Channel, Key};

/// Per-client limits.
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    /// Largest message a client may send, bytes.
    pub max_message_bytes: usize,
    /// Symbols a client may subscribe to.
    pub max_symbols: usize,
    /// Queued bytes before the client counts as too slow.
    pub max_queue_bytes: usize,
    /// How long a client may stay behind (queue never empty), ms.
    pub max_behind_ms: u64,
    /// Ping interval, ms: a keep-alive and the probe of the client's read lag (one ping
    /// outstanding at a time).
    pub ping_interval_ms: u64,
    /// A client whose ping stays unanswered this long is closed, ms.
    pub pong_timeout_ms: u64,
    /// Bytes handed to the socket per write (several frames per write).
    pub batch_bytes: usize,
    /// Kernel send buffer per client, bytes: small, so that a slow client's backlog
    /// stays in the conflating queue (where newer values replace older ones) instead of
    /// piling up stale frames in the kernel.
    pub socket_send_buffer: usize,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits {
            max_message_bytes: 16 * 1024,
            max_symbols: 200,
            max_queue_bytes: 1 << 20,
            max_behind_ms: 10_000,
            ping_interval_ms: 2_000,
            pong_timeout_ms: 10_000,
            batch_bytes: 64 * 1024,
            socket_send_buffer: 64 * 1024,
        }
    }
}

/// The `Sec-WebSocket-Accept` value for a request's key.
pub fn accept_key(key: &str) -> String {
    tungstenite::handshake::derive_accept_key(key.trim().as_bytes())
}

/// What the client asked for.
#[derive(Debug, Default)]
pub struct Subscriptions {
    /// Channels, bit per [`Channel`].
    pub channels: u8,
    /// Symbol ids.
    pub symbols: Vec<u32>,
}

impl Subscriptions {
    /// `true` if `channel` is on.
    pub fn has(&self, channel: Channel) -> bool {
        self.channels & (1 << channel as u8) != 0
    }
}

/// A parsed client request.
#[derive(Debug)]
pub enum Request {
    /// Add channels / symbols.
    Subscribe(Vec<Channel>, Vec<String>),
    /// Remove channels / symbols.
    Unsubscribe(Vec<Channel>, Vec<String>),
    /// Application-level ping.
    Ping,
}

/// Parses one client message.
///
/// # Errors
/// A message for the client, when the request is malformed.
pub fn parse_request(text: &str) -> Result<Request, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let op = v
        .get("op")
        .and_then(Value::as_str)
        .ok_or("missing \"op\" (subscribe, unsubscribe or ping)")?;
    let list = |k: &str| -> Result<Vec<String>, String> {
        match v.get(k) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("\"{k}\" must be a list of strings"))
                })
                .collect(),
            Some(_) => Err(format!("\"{k}\" must be a list of strings")),
        }
    };
    match op {
        "ping" => Ok(Request::Ping),
        "subscribe" | "unsubscribe" => {
            let channels = list("channels")?
                .iter()
                .map(|c| {
                    Channel::parse(c).ok_or_else(|| {
                        format!(
                            "unknown channel {c:?} (quotes, spreads, trades, signals, opportunities)"
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if channels.is_empty() {
                return Err("\"channels\" is empty".into());
            }
            let symbols = list("symbols")?;
            Ok(if op == "subscribe" {
                Request::Subscribe(channels, symbols)
            } else {
                Request::Unsubscribe(channels, symbols)
            })
        }
        other => Err(format!("unknown op {other:?}")),
    }
}

/// Why a client was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Queue over its byte limit or behind for too long.
    TooSlow,
    /// No answer to a ping.
    PingTimeout,
    /// The peer closed or the socket failed.
    Gone,
}

/// One WebSocket client.
#[derive(Debug)]
pub struct WsClient {
    ws: WebSocket<TcpStream>,
    /// What it listens to.
    pub subs: Subscriptions,
    pending: HashMap<Key, Utf8Bytes>,
    order: VecDeque<Key>,
    pending_bytes: usize,
    /// Replies (subscribed, errors, pong) go ahead of data, never conflated.
    replies: VecDeque<Utf8Bytes>,
    /// Mono ns of the last frame from the client.
    pub last_heard_ns: i64,
    /// Mono ns the next ping is due.
    pub next_ping_ns: i64,
    /// Mono ns a ping went out unanswered, if any (also its payload).
    pub ping_sent_ns: Option<i64>,
    /// Round trip of the last answered ping, ns: how far behind the client reads.
    pub lag_ns: i64,
    /// Mono ns since the queue has not been empty.
    pub behind_since_ns: Option<i64>,
    /// Messages replaced in the queue by a newer one for the same key.
    pub conflated: u64,
    /// Messages written.
    pub sent: u64,
    /// `true` while the socket's buffer is full (wait for writability).
    pub blocked: bool,
    limits: WsLimits,
}

impl WsClient {
    /// Wraps a stream whose upgrade was answered.
    pub fn new(stream: TcpStream, limits: WsLimits, now_ns: i64) -> Self {
        let sock = socket2::SockRef::from(&stream);
        let _ = sock.set_send_buffer_size(limits.socket_send_buffer);
        // Reset, not FIN, if the process dies with the client attached (module docs).
        let _ = sock.set_linger(Some(Duration::ZERO));
        let config = WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(limits.batch_bytes)
            .max_write_buffer_size(limits.batch_bytes * 4 + limits.max_message_bytes)
            .max_message_size(Some(limits.max_message_bytes))
            .max_frame_size(Some(limits.max_message_bytes));
        WsClient {
            ws: WebSocket::from_raw_socket(stream, Role::Server, Some(config)),
            subs: Subscriptions::default(),
            pending: HashMap::new(),
            order: VecDeque::new(),
            pending_bytes: 0,
            replies: VecDeque::new(),
            last_heard_ns: now_ns,
            next_ping_ns: now_ns + ms(limits.ping_interval_ms),
            ping_sent_ns: None,
            lag_ns: 0,
            behind_since_ns: None,
            conflated: 0,
            sent: 0,
            blocked: false,
            limits,
        }
    }

    /// The socket (for (re)registration).
    pub fn stream_mut(&mut self) -> &mut TcpStream {
        self.ws.get_mut()
    }

    /// Queues a data message under `key`, replacing a queued one for the same key.
    /// Returns `false` when the client is over its byte limit.
    pub fn enqueue(&mut self, key: Key, msg: &Utf8Bytes, now_ns: i64) -> bool {
        let len = msg.len();
        match self.pending.insert(key, msg.clone()) {
            Some(old) => {
                self.conflated += 1;
                self.pending_bytes = self.pending_bytes + len - old.len();
            }
            None => {
                self.order.push_back(key);
                self.pending_bytes += len;
            }
        }
        if self.behind_since_ns.is_none() {
            self.behind_since_ns = Some(now_ns);
        }
        self.pending_bytes <= self.limits.max_queue_bytes
    }

    /// Queues a reply (never conflated).
    pub fn reply(&mut self, v: &Value) {
        self.replies.push_back(Utf8Bytes::from(v.to_string()));
    }

    /// `true` if something waits to be written.
    pub fn has_output(&self) -> bool {
        !self.order.is_empty() || !self.replies.is_empty()
    }

    /// Writes queued messages in batches until the socket would block; returns the
    /// messages written.
    ///
    /// # Errors
    /// The connection failed.
    pub fn write(&mut self, now_ns: i64) -> Result<usize, CloseReason> {
        let mut n = 0;
        self.blocked = false;
        // What tungstenite still holds from the last call goes out first, and nothing is
        // added behind it until it has: a client whose window opens a little at a time
        // would otherwise take a batch per writable event into that buffer, which is
        // neither conflated nor bounded by the queue's limits, until it overflowed
        // (`WriteBufferFull`) and the client was dropped as if gone.
        loop {
            match self.ws.flush() {
                Ok(()) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.blocked = true;
                    break;
                }
                Err(_) => {
                    self.abort();
                    return Err(CloseReason::Gone);
                }
            }
            let mut batch = 0;
            let mut full = false;
            while batch < self.limits.batch_bytes && !full {
                let msg = if let Some(r) = self.replies.pop_front() {
                    r
                } else if let Some(k) = self.order.pop_front() {
                    match self.pending.remove(&k) {
                        Some(m) => {
                            self.pending_bytes -= m.len();
                            m
                        }
                        None => continue,
                    }
                } else {
                    break;
                };
                batch += msg.len();
                match self.ws.write(Message::Text(msg)) {
                    Ok(()) => {}
                    Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                        // tungstenite kept the frame in its buffer; the socket is full, so
                        // the rest of the queue waits (and conflates) in ours.
                        full = true;
                    }
                    Err(_) => {
                        self.abort();
                        return Err(CloseReason::Gone);
                    }
                }
                n += 1;
            }
            if batch == 0 {
                break;
            }
        }
        self.sent += n as u64;
        if !self.has_output() {
            self.behind_since_ns = None;
        } else if self.behind_since_ns.is_none() {
            self.behind_since_ns = Some(now_ns);
        }
        Ok(n)
    }

    /// Reads what the client sent; calls `on_text` per text message.
    ///
    /// # Errors
    /// The client closed or broke the protocol (including over-long messages).
    pub fn read(
        &mut self,
        now_ns: i64,
        mut on_text: impl FnMut(&mut Self, &str),
    ) -> Result<(), CloseReason> {
        loop {
            match self.ws.read() {
                Ok(msg) => {
                    self.last_heard_ns = now_ns;
                    match msg {
                        Message::Text(t) => on_text(self, t.as_str()),
                        // Only the answer to the outstanding ping counts: other traffic
                        // from the client says nothing about how far behind it reads.
                        Message::Pong(p) => {
                            if let Some(sent) = self.ping_sent_ns
                                && p.as_ref() == sent.to_le_bytes()
                            {
                                self.ping_sent_ns = None;
                                self.lag_ns = now_ns - sent;
                            }
                        }
                        Message::Close(_) => return Err(CloseReason::Gone),
                        Message::Binary(_) => self.reply(&json!({"type": "error", "error": "binary frames are not supported; send JSON text"})),
                        _ => {}
                    }
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(());
                }
                Err(tungstenite::Error::Capacity(_)) => {
                    self.close_with(CloseCode::Size, "message too large");
                    return Err(CloseReason::Gone);
                }
                Err(_) => return Err(CloseReason::Gone),
            }
        }
    }

    /// Sends a ping when due; reports a client that did not answer the last one.
    ///
    /// # Errors
    /// [`CloseReason::PingTimeout`], [`CloseReason::TooSlow`].
    pub fn housekeeping(&mut self, now_ns: i64) -> Result<(), CloseReason> {
        if let Some(sent) = self.ping_sent_ns
            && now_ns - sent > ms(self.limits.pong_timeout_ms)
        {
            self.close_behind("no answer to ping: gone, or reading too far behind the stream");
            return Err(CloseReason::PingTimeout);
        }
        if self.pending_bytes > self.limits.max_queue_bytes
            || self
                .behind_since_ns
                .is_some_and(|t| now_ns - t > ms(self.limits.max_behind_ms))
        {
            self.close_behind("too slow: fell behind the stream");
            return Err(CloseReason::TooSlow);
        }
        if self.lag_ns > ms(self.limits.max_behind_ms) {
            self.close_behind("too slow: reads further behind the stream than allowed");
            return Err(CloseReason::TooSlow);
        }
        if now_ns >= self.next_ping_ns && self.ping_sent_ns.is_none() {
            self.next_ping_ns = now_ns + ms(self.limits.ping_interval_ms);
            self.ping_sent_ns = Some(now_ns);
            let payload = now_ns.to_le_bytes();
            let _ = self.ws.write(Message::Ping(payload.to_vec().into()));
            let _ = self.ws.flush();
        }
        Ok(())
    }

    /// How far behind the client reads, ns: the last ping's round trip, or the age of the
    /// one still unanswered if that is longer.
    pub fn lag_ns(&self, now_ns: i64) -> i64 {
        self.ping_sent_ns
            .map_or(self.lag_ns, |sent| self.lag_ns.max(now_ns - sent))
    }

    /// Sends a close frame with a reason (best effort).
    pub fn close_with(&mut self, code: CloseCode, reason: &str) {
        let _ = self.ws.close(Some(CloseFrame {
            code,
            reason: reason.to_string().into(),
        }));
        let _ = self.ws.flush();
    }

    /// Closes a client that is behind: the close frame with the reason, then a reset when
    /// the socket is dropped rather than a FIN. The frame and a FIN would queue behind the
    /// backlog that put the client behind (seconds of frames in the kernels' buffers, past
    /// a zero window), so the client would go on reading stale data for as long before it
    /// noticed, and the kernel would hold the orphaned socket's buffers meanwhile. A reset
    /// is seen at once; the reason is counted on the server (`/api/health`, `/metrics`).
    fn close_behind(&mut self, reason: &str) {
        self.close_with(CloseCode::Policy, reason);
        self.abort();
    }

    /// Ends the connection as the server stops. A client that reads along gets a close
    /// frame (1001, going away) and a FIN behind it; one with a backlog (frames in its
    /// queue, a full socket, bytes the kernel has not sent for want of the client's window,
    /// or a read lag over a second) gets the close frame and a reset, as a client closed
    /// for being behind, so that it does not go on reading a stopped server's stale frames.
    ///
    /// The kernel's unsent bytes matter on their own: a client that fell behind since its
    /// last ping (or connected after it) may have filled its receive window while the
    /// server's socket still takes writes. A FIN queued behind those bytes reaches the
    /// client only as fast as it reads, and the orphaned socket outlives the server.
    pub fn close_for_shutdown(&mut self, now_ns: i64) {
        if self.blocked
            || self.has_output()
            || self.kernel_unsent_bytes() > 0
            || self.lag_ns(now_ns) > 1_000_000_000
        {
            self.close_behind("server shutting down");
        } else {
            self.close_with(CloseCode::Away, "server shutting down");
            self.release();
        }
    }

    /// Makes dropping the socket close the connection with a FIN after what is queued
    /// (the default), undoing the reset set at creation: for a client that said goodbye.
    pub fn release(&mut self) {
        let _ = socket2::SockRef::from(self.ws.get_ref()).set_linger(None);
    }

    /// Makes dropping the socket reset the connection (SO_LINGER 0) instead of queueing a
    /// FIN behind unsent data.
    fn abort(&mut self) {
        let _ = socket2::SockRef::from(self.ws.get_ref()).set_linger(Some(Duration::ZERO));
    }

    /// Bytes in the socket's send buffer that the kernel has not sent yet (`SIOCOUTQNSD`):
    /// more than nothing means the client's receive window is full. 0 where unknown.
    pub fn kernel_unsent_bytes(&self) -> usize {
        kernel_unsent_bytes(self.ws.get_ref())
    }

    /// Bytes queued.
    pub fn queued_bytes(&self) -> usize {
        self.pending_bytes
    }
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // one ioctl that no safe crate wraps; it writes one int.
fn kernel_unsent_bytes(stream: &TcpStream) -> usize {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQNSD writes one int through the pointer, which is valid for it.
    let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::SIOCOUTQNSD, &raw mut n) };
    if rc == 0 {
        usize::try_from(n).unwrap_or(0)
    } else {
        0
    }
}

#[cfg(not(target_os = "linux"))]
fn kernel_unsent_bytes(_: &TcpStream) -> usize {
    0
}

fn ms(v: u64) -> i64 {
    i64::try_from(v)
        .unwrap_or(i64::MAX / 1_000_000)
        .saturating_mul(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A server-side client over loopback whose peer has a 4 KiB receive buffer.
    fn pair(limits: WsLimits) -> (WsClient, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        peer.set_recv_buffer_size(4096).unwrap();
        peer.connect(&listener.local_addr().unwrap().into())
            .unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let client = WsClient::new(TcpStream::from_std(server), limits, 0);
        (client, peer.into())
    }

    #[test]
    fn a_peer_draining_a_little_at_a_time_never_overflows_the_write_buffer() {
        // Each round: 200 fresh messages queued, one `write` (a writable event), then the
        // peer reads 1 KiB. Were a batch added behind what the socket had not taken, the
        // frame buffer would grow by most of a batch per round and overflow within a few.
        let limits = WsLimits {
            batch_bytes: 4096,
            socket_send_buffer: 4096,
            max_queue_bytes: usize::MAX,
            ..WsLimits::default()
        };
        let (mut c, mut peer) = pair(limits);
        peer.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let msg = Utf8Bytes::from("x".repeat(100));
        let mut buf = [0u8; 1024];
        for round in 0..200u64 {
            for k in 0..200 {
                c.enqueue(k, &msg, 0);
            }
            c.write(0)
                .unwrap_or_else(|r| panic!("round {round}: closed as {r:?}"));
            let _ = peer.read(&mut buf);
        }
        assert!(
            c.blocked,
            "the peer never fell behind: the test proves nothing"
        );
        assert!(c.conflated > 0);
        // The queue holds one message per key, the rest was conflated.
        assert!(c.queued_bytes() <= 200 * 100);
    }

    #[test]
    fn a_client_socket_resets_unless_it_says_goodbye() {
        let (mut c, _peer) = pair(WsLimits::default());
        let linger = |c: &WsClient| socket2::SockRef::from(c.ws.get_ref()).linger().unwrap();
        assert_eq!(linger(&c), Some(Duration::ZERO));
        c.release();
        assert_eq!(linger(&c), None);
    }
}
