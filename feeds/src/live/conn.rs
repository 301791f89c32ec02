//! One live connection's lifecycle: waiting out its backoff, preparing (URL, DNS), TCP
//! connect, TLS and WebSocket handshake, subscribing its shard, heartbeats, reading frames
//! into the feed worker, and failing back to waiting with the reason counted.
//!
//! A `Conn` is a slot: it lives for the whole run and every reconnect reuses it, its
//! outgoing queue and its decoder (reset in place by the feed worker on disconnect).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use arb_engine::event::ConnState;
use arb_engine::{Exchange, clock};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use super::pace::{Backoff, TokenBucket};
use super::rules::{Heartbeat, VenueRules};
use super::stats::{LinkStats, VenueLinkStats};
use super::transport::Transport;
use crate::capture::{CaptureWriter, Record, RecordKind};
use crate::decode::{ControlKind, FrameKind};
use crate::error::ParseError;
use crate::feed::FeedWorker;

const MS: i64 = 1_000_000;
/// Largest WebSocket message tungstenite assembles; frames past the venue's
/// `max_frame_bytes` but under this are read whole, counted as oversize and skipped, so
/// one bad frame does not cost the connection.
const WS_MAX_MESSAGE: usize = 16 << 20;
/// Outgoing messages queued per connection (subscribes of a full shard plus heartbeats);
/// past it the oldest heartbeat reply would be dropped, which the venue's own timeout
/// then turns into a reconnect: the queue never grows.
const OUT_QUEUE: usize = 1024;
/// A dropping connection logs at most once per this interval.
const LOG_EVERY_NS: i64 = 10_000 * MS;

/// What a connection is doing.
enum Phase {
    /// Not wanted (a standby slot with no replacement going on).
    Off,
    /// Waiting until `until` (monotonic ns) before preparing again.
    Waiting { until: i64 },
    /// The prep thread is fetching the URL (KuCoin token) and resolving the host.
    Preparing,
    /// TCP connect in flight.
    Connecting {
        sock: Transport,
        url: String,
        since: i64,
    },
    /// TLS / WebSocket handshake in flight.
    Handshake {
        mid: Box<MidHandshake<ClientHandshake<Transport>>>,
        since: i64,
    },
    /// Open WebSocket.
    Open { ws: Box<WebSocket<Transport>> },
}

impl std::fmt::Debug for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Off => "Off",
            Phase::Waiting { .. } => "Waiting",
            Phase::Preparing => "Preparing",
            Phase::Connecting { .. } => "Connecting",
            Phase::Handshake { .. } => "Handshake",
            Phase::Open { .. } => "Open",
        })
    }
}

/// What the prep thread found for a connection.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) url: String,
    pub(crate) host: String,
    pub(crate) tls: bool,
    pub(crate) addr: SocketAddr,
    /// The venue's ping interval and timeout when the endpoint call says (KuCoin).
    pub(crate) ping: Option<(u64, u64)>,
}

/// Control traffic of one frame, gathered by the decoder callback.
#[derive(Debug, Default)]
struct Controls {
    acks: u32,
    errors: u32,
    welcome: bool,
    shutdown: bool,
    replies: Vec<String>,
    error_text: Option<String>,
    /// Ids of refused requests (when the venue's error names one).
    failed_ids: Vec<u64>,
}

/// Why a connection ended.
#[derive(Debug)]
pub(crate) enum Why {
    Io(String),
    Closed(String),
    Silent(i64),
    Timeout,
    Replaced,
    Shutdown,
    Prep(String),
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Io(e) => write!(f, "{e}"),
            Why::Closed(r) => write!(f, "closed by the venue ({r})"),
            Why::Silent(ms) => write!(f, "nothing received for {ms} ms (heartbeat timeout)"),
            Why::Timeout => f.write_str("connect / handshake timed out"),
            Why::Replaced => f.write_str("replaced by a fresh connection"),
            Why::Shutdown => f.write_str("shutting down"),
            Why::Prep(e) => write!(f, "{e}"),
        }
    }
}

/// One connection slot.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) ex: Exchange,
    pub(crate) conn_id: u16,
    pub(crate) token: Token,
    phase: Phase,
    backoff: Backoff,
    out: VecDeque<String>,
    bucket: TokenBucket,
    last_rx: i64,
    opened_at: i64,
    next_ping: i64,
    ping_seq: u64,
    ping_interval_ms: u64,
    silence_ms: u64,
    /// The core has been told this connection is up (and not yet that it dropped).
    announced: bool,
    /// It has been up before (the next announcement is `Resubscribed`).
    ever_up: bool,
    /// Data arrived since it opened.
    pub(crate) streaming: bool,
    subscribed: bool,
    /// KuCoin's welcome arrived on this connection.
    welcomed: bool,
    /// Subscribe requests the venue refused, by id, for the loop to retry symbol by
    /// symbol (it holds the shard's symbols).
    pub(crate) failed_ids: Vec<u64>,
    /// Next id of a one-symbol retry on this connection.
    pub(crate) next_retry_id: u64,
    /// The venue asked us to move (shutdown notice) or the lifetime ran out.
    pub(crate) wants_replacement: bool,
    drops_since_log: u64,
    last_log: i64,
}

/// What a connection works with: the feed worker it decodes into, the counters, and the
/// raw-frame capture when one is being written.
pub(crate) struct Cx<'a> {
    pub(crate) worker: &'a mut FeedWorker,
    pub(crate) stats: &'a LinkStats,
    pub(crate) capture: Option<&'a mut CaptureWriter>,
}

impl Cx<'_> {
    /// Appends a record to the capture, if any; a write error stops capturing (the run
    /// goes on, the error is logged once).
    fn record(&mut self, ex: Exchange, conn_id: u16, kind: RecordKind, payload: &[u8]) {
        let Some(w) = self.capture.as_deref_mut() else {
            return;
        };
        let rec = Record {
            recv_ts_ns: clock::wall_ns(),
            exchange: ex,
            kind,
            conn_id,
            payload,
        };
        if let Err(e) = w.append(rec) {
            tracing::error!("capture {}: {e}; capturing stops", w.path().display());
            self.capture = None;
        }
    }
}

/// What a connection reports back to the loop after handling an event or a timer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    /// It started (or stopped) streaming.
    pub(crate) streaming_changed: bool,
    /// It needs the prep thread.
    pub(crate) needs_prep: bool,
}

impl Conn {
    pub(crate) fn new(ex: Exchange, conn_id: u16, token: Token, rules: &VenueRules) -> Self {
        let now = clock::mono_ns();
        let ping_interval_ms = match rules.heartbeat {
            Heartbeat::ClientPings { interval_ms } => interval_ms,
            Heartbeat::ServerPings => 0,
        };
        Conn {
            ex,
            conn_id,
            token,
            phase: Phase::Off,
            backoff: Backoff::new(
                rules.backoff_base_ms,
                rules.backoff_cap_ms,
                (u64::from(conn_id) << 8) ^ ex as u64,
            ),
            out: VecDeque::with_capacity(64),
            bucket: TokenBucket::new(rules.out_msgs_per_s, now),
            last_rx: now,
            opened_at: now,
            next_ping: i64::MAX,
            ping_seq: 0,
            ping_interval_ms,
            silence_ms: rules.silence_timeout_ms,
            announced: false,
            ever_up: false,
            streaming: false,
            subscribed: false,
            welcomed: false,
            failed_ids: Vec::new(),
            next_retry_id: super::rules::RETRY_ID_BASE,
            wants_replacement: false,
            drops_since_log: 0,
            last_log: i64::MIN / 2,
        }
    }

    pub(crate) fn is_off(&self) -> bool {
        matches!(self.phase, Phase::Off)
    }

    pub(crate) fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }

    /// Asks for a connection now (start of run, or a replacement).
    pub(crate) fn start(&mut self, now: i64) {
        if matches!(self.phase, Phase::Off | Phase::Waiting { .. }) {
            self.phase = Phase::Waiting { until: now };
        }
    }

    /// The loop's timer pass: due reconnects, handshake timeouts, silence, pings,
    /// lifetime, paced sends.
    pub(crate) fn on_timer(&mut self, now: i64, rules: &VenueRules, cx: &mut Cx<'_>) -> Change {
        let mut change = Change::default();
        match &mut self.phase {
            Phase::Off | Phase::Preparing => {}
            Phase::Waiting { until } => {
                if now >= *until {
                    self.phase = Phase::Preparing;
                    change.needs_prep = true;
                }
            }
            Phase::Connecting { since, .. } | Phase::Handshake { since, .. } => {
                if now.saturating_sub(*since) > ms_i64(rules.connect_timeout_ms) {
                    change = self.fail(Why::Timeout, now, cx);
                } else if matches!(self.phase, Phase::Connecting { .. }) {
                    // A refused connect shows up as an error event, but poll here too.
                    change = self.advance_connect(now, cx);
                }
            }
            Phase::Open { .. } => {
                let quiet = now.saturating_sub(self.last_rx);
                if quiet > ms_i64(self.silence_ms) {
                    cx.stats.venue(self.ex).heartbeat_timeouts_inc();
                    return self.fail(Why::Silent(quiet / MS), now, cx);
                }
                if self.ping_interval_ms > 0 && now >= self.next_ping {
                    self.ping_seq += 1;
                    let now_s = u64::try_from(clock::wall_ns() / 1_000_000_000).unwrap_or(0);
                    if let Some(p) = rules.ping_text(self.ping_seq, now_s) {
                        self.queue(p);
                    }
                    self.next_ping = now + ms_i64(self.ping_interval_ms);
                }
                if !self.wants_replacement
                    && now.saturating_sub(self.opened_at) > ms_i64(rules.max_lifetime_ms)
                {
                    self.wants_replacement = true;
                }
                if let Err(e) = self.send_queued(now) {
                    return self.fail(e, now, cx);
                }
            }
        }
        change
    }

    /// The prep thread's answer: connect, or wait and try again.
    pub(crate) fn on_prepared(
        &mut self,
        prepared: Result<Prepared, String>,
        now: i64,
        registry: &Registry,
        tls: &Arc<rustls::ClientConfig>,
        cx: &mut Cx<'_>,
    ) -> Change {
        if !matches!(self.phase, Phase::Preparing) {
            return Change::default();
        }
        let p = match prepared {
            Ok(p) => p,
            Err(e) => return self.fail(Why::Prep(e), now, cx),
        };
        if let Some((interval, timeout)) = p.ping {
            self.ping_interval_ms = interval;
            self.silence_ms = interval + timeout;
        }
        let v = cx.stats.venue(self.ex);
        VenueLinkStats::add(&v.connect_attempts, 1);
        let sock = match TcpStream::connect(p.addr) {
            Ok(s) => s,
            Err(e) => {
                return self.fail(Why::Io(format!("connect {}: {e}", p.addr)), now, cx);
            }
        };
        let mut sock = if p.tls {
            match Transport::tls(sock, Arc::clone(tls), &p.host) {
                Ok(t) => t,
                Err(e) => return self.fail(Why::Io(format!("TLS setup: {e}")), now, cx),
            }
        } else {
            Transport::Plain(sock)
        };
        if let Err(e) = registry.register(
            sock.socket_mut(),
            self.token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            return self.fail(Why::Io(format!("register: {e}")), now, cx);
        }
        let _ = sock.socket().set_nodelay(true);
        self.phase = Phase::Connecting {
            sock,
            url: p.url,
            since: now,
        };
        Change::default()
    }

    /// A readiness event for this connection's socket.
    pub(crate) fn on_event(&mut self, now: i64, rules: &VenueRules, cx: &mut Cx<'_>) -> Change {
        match self.phase {
            Phase::Connecting { .. } => self.advance_connect(now, cx),
            Phase::Handshake { .. } => self.advance_handshake(now, rules, cx),
            Phase::Open { .. } => self.read_frames(now, rules, cx),
            _ => Change::default(),
        }
    }

    fn advance_connect(&mut self, now: i64, cx: &mut Cx<'_>) -> Change {
        let Phase::Connecting { sock, .. } = &self.phase else {
            return Change::default();
        };
        if let Ok(Some(e)) | Err(e) = sock.socket().take_error() {
            return self.fail(Why::Io(format!("connect: {e}")), now, cx);
        }
        match sock.socket().peer_addr() {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Change::default(),
            Err(e) => return self.fail(Why::Io(format!("connect: {e}")), now, cx),
        }
        let Phase::Connecting { sock, url, since } = std::mem::replace(&mut self.phase, Phase::Off)
        else {
            return Change::default();
        };
        let config = WebSocketConfig::default()
            .max_message_size(Some(WS_MAX_MESSAGE))
            .max_frame_size(Some(WS_MAX_MESSAGE));
        let result = tungstenite::client::client_with_config(url.as_str(), sock, Some(config));
        self.handshake_step(result, since, now, None, cx)
    }

    /// One step of the WebSocket handshake: open, still in flight, or failed. `rules` is
    /// given when the socket may already hold frames behind the handshake response.
    fn handshake_step(
        &mut self,
        result: Result<
            (
                WebSocket<Transport>,
                tungstenite::handshake::client::Response,
            ),
            HandshakeError<ClientHandshake<Transport>>,
        >,
        since: i64,
        now: i64,
        rules: Option<&VenueRules>,
        cx: &mut Cx<'_>,
    ) -> Change {
        match result {
            Ok((ws, _)) => {
                let c = self.opened(Box::new(ws), now, cx);
                let Some(rules) = rules else {
                    return c;
                };
                // Data may already be buffered behind the handshake response.
                let r = self.read_frames(now, rules, cx);
                Change {
                    streaming_changed: c.streaming_changed || r.streaming_changed,
                    needs_prep: r.needs_prep,
                }
            }
            Err(HandshakeError::Interrupted(mid)) => {
                self.phase = Phase::Handshake {
                    mid: Box::new(mid),
                    since,
                };
                Change::default()
            }
            Err(HandshakeError::Failure(e)) => {
                self.fail(Why::Io(format!("handshake: {e}")), now, cx)
            }
        }
    }

    fn advance_handshake(&mut self, now: i64, rules: &VenueRules, cx: &mut Cx<'_>) -> Change {
        let Phase::Handshake { mid, since } = std::mem::replace(&mut self.phase, Phase::Off) else {
            return Change::default();
        };
        let result = mid.handshake();
        self.handshake_step(result, since, now, Some(rules), cx)
    }

    fn opened(&mut self, ws: Box<WebSocket<Transport>>, now: i64, cx: &mut Cx<'_>) -> Change {
        self.phase = Phase::Open { ws };
        self.opened_at = now;
        self.last_rx = now;
        self.next_ping = if self.ping_interval_ms > 0 {
            now + ms_i64(self.ping_interval_ms)
        } else {
            i64::MAX
        };
        self.streaming = false;
        self.subscribed = false;
        self.welcomed = false;
        self.failed_ids.clear();
        self.next_retry_id = super::rules::RETRY_ID_BASE;
        self.wants_replacement = false;
        self.out.clear();
        let state = if self.ever_up {
            ConnState::Resubscribed
        } else {
            ConnState::Connected
        };
        cx.record(self.ex, self.conn_id, RecordKind::Connected, b"");
        // The core learns of the connection before its first quote.
        if cx
            .worker
            .on_connection(self.ex, self.conn_id, state, clock::wall_ns())
            .is_ok()
        {
            self.announced = true;
            self.ever_up = true;
        }
        Change::default()
    }

    /// Queues one-symbol retries of a refused batch.
    pub(crate) fn retry(&mut self, requests: Vec<String>, cx: &mut Cx<'_>) {
        VenueLinkStats::add(
            &cx.stats.venue(self.ex).subscribe_requests,
            requests.len() as u64,
        );
        self.next_retry_id += 2 * requests.len() as u64;
        for r in requests {
            self.queue(r);
        }
    }

    /// Queues the shard's subscribe requests (after KuCoin's welcome).
    pub(crate) fn subscribe(&mut self, requests: Vec<String>, cx: &mut Cx<'_>) {
        if self.subscribed {
            return;
        }
        self.subscribed = true;
        VenueLinkStats::add(
            &cx.stats.venue(self.ex).subscribe_requests,
            requests.len() as u64,
        );
        for r in requests {
            self.queue(r);
        }
    }

    pub(crate) fn needs_subscribe(&self, rules: &VenueRules) -> bool {
        self.is_open() && !self.subscribed && (self.welcomed || !rules.waits_for_welcome())
    }

    fn queue(&mut self, msg: String) {
        if self.out.len() >= OUT_QUEUE {
            self.out.pop_front();
        }
        self.out.push_back(msg);
    }

    /// Sends queued messages as the venue's rate allows.
    fn send_queued(&mut self, now: i64) -> Result<(), Why> {
        let Phase::Open { ws } = &mut self.phase else {
            return Ok(());
        };
        while !self.out.is_empty() && self.bucket.try_take(now) {
            let Some(msg) = self.out.pop_front() else {
                break;
            };
            match ws.write(Message::text(msg)) {
                Ok(()) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(Why::Io(format!("send: {e}"))),
            }
        }
        match ws.flush() {
            Ok(()) => Ok(()),
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(Why::Io(format!("send: {e}"))),
        }
    }

    /// Reads every frame available and hands it to the feed cx.worker.
    fn read_frames(&mut self, now: i64, rules: &VenueRules, cx: &mut Cx<'_>) -> Change {
        let mut change = Change::default();
        let v = cx.stats.venue(self.ex);
        let mut ctl = Controls::default();
        let mut frames = 0u64;
        let mut fail = None;
        let was_streaming = self.streaming;
        {
            let Phase::Open { ws } = &mut self.phase else {
                return change;
            };
            loop {
                let msg = match ws.read() {
                    Ok(m) => m,
                    Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                        break;
                    }
                    Err(tungstenite::Error::Utf8(_)) => {
                        // A text frame that is not UTF-8: count it, keep the connection.
                        cx.worker.on_refused_frame(self.ex, ParseError::Json);
                        continue;
                    }
                    Err(
                        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                    ) => {
                        fail = Some(Why::Closed("connection closed".into()));
                        break;
                    }
                    Err(e) => {
                        fail = Some(Why::Io(format!("read: {e}")));
                        break;
                    }
                };
                self.last_rx = now;
                let (kind, payload): (FrameKind, &[u8]) = match &msg {
                    Message::Text(t) => (FrameKind::Text, t.as_bytes()),
                    Message::Binary(b) => (FrameKind::Binary, b),
                    // tungstenite queues the pong; it goes out with the next flush.
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                    Message::Close(c) => {
                        let why = c
                            .as_ref()
                            .map(|f| format!("code {} {}", u16::from(f.code), f.reason))
                            .unwrap_or_else(|| "no close frame".into());
                        fail = Some(Why::Closed(why));
                        break;
                    }
                };
                frames += 1;
                if payload.len() > rules.max_frame_bytes {
                    VenueLinkStats::add(&v.oversize_frames, 1);
                    cx.worker.on_refused_frame(self.ex, ParseError::Oversize);
                    continue;
                }
                cx.record(
                    self.ex,
                    self.conn_id,
                    if kind == FrameKind::Text {
                        RecordKind::Text
                    } else {
                        RecordKind::Binary
                    },
                    payload,
                );
                let wall = clock::wall_ns();
                let pushed = cx.worker.on_frame_with(
                    self.ex,
                    self.conn_id,
                    kind,
                    wall,
                    payload,
                    |c| match c.kind {
                        ControlKind::Ack => ctl.acks += 1,
                        ControlKind::Error => {
                            ctl.errors += 1;
                            if let Some(id) = c
                                .id_num
                                .or_else(|| c.id.and_then(|i| i.parse::<u64>().ok()))
                            {
                                ctl.failed_ids.push(id);
                            }
                            if ctl.error_text.is_none() {
                                ctl.error_text = Some(format!(
                                    "{}{}",
                                    c.code.map(|c| format!("code {c}: ")).unwrap_or_default(),
                                    c.text.unwrap_or("(no text)")
                                ));
                            }
                        }
                        ControlKind::Ping => {
                            if self.ex == Exchange::Bingx {
                                ctl.replies.push(crate::bingx::pong_reply(
                                    c.id.unwrap_or(""),
                                    c.text.unwrap_or(""),
                                ));
                            }
                        }
                        ControlKind::Info => match c.what {
                            "welcome" => ctl.welcome = true,
                            "server_shutdown" | "notice" => ctl.shutdown = true,
                            _ => {}
                        },
                        ControlKind::Pong => {}
                    },
                );
                if pushed > 0 && !self.streaming {
                    self.streaming = true;
                    self.backoff.reset();
                }
            }
        }
        if frames > 0 {
            VenueLinkStats::add(&v.frames, frames);
            v.last_frame_wall_ns
                .store(clock::wall_ns(), std::sync::atomic::Ordering::Relaxed);
        }
        if ctl.errors > 0 {
            VenueLinkStats::add(&v.venue_errors, u64::from(ctl.errors));
            if let Some(t) = &ctl.error_text {
                cx.stats.set_last_error(self.ex, t);
                tracing::warn!(
                    venue = self.ex.as_str(),
                    conn = self.conn_id,
                    "venue error: {t}"
                );
            }
        }
        if ctl.shutdown && !self.wants_replacement {
            tracing::info!(
                venue = self.ex.as_str(),
                conn = self.conn_id,
                "server shutdown notice: opening a replacement connection"
            );
            self.wants_replacement = true;
        }
        if ctl.welcome {
            self.welcomed = true;
        }
        self.failed_ids.extend(ctl.failed_ids);
        for r in ctl.replies {
            self.queue(r);
        }
        if let Some(why) = fail {
            return self.fail(why, now, cx);
        }
        if let Err(why) = self.send_queued(now) {
            return self.fail(why, now, cx);
        }
        change.streaming_changed = was_streaming != self.streaming;
        change
    }

    /// Ends the connection (if any) and schedules the next attempt.
    #[allow(clippy::needless_pass_by_value)] // callers build the reason just for this call
    pub(crate) fn fail(&mut self, why: Why, now: i64, cx: &mut Cx<'_>) -> Change {
        let v = cx.stats.venue(self.ex);
        let was_open = self.is_open();
        let was_streaming = self.streaming;
        if let Phase::Open { ws } = &mut self.phase {
            let _ = ws.close(None);
            let _ = ws.flush();
        }
        let ours = matches!(why, Why::Shutdown | Why::Replaced);
        if was_open && !ours {
            VenueLinkStats::add(&v.reconnects, 1);
        } else if !was_open && !ours {
            VenueLinkStats::add(&v.connect_failures, 1);
        }
        if was_open {
            let reason = why.to_string();
            cx.record(
                self.ex,
                self.conn_id,
                RecordKind::Disconnected,
                reason.as_bytes(),
            );
        }
        if self.announced {
            // Never refused: the id was checked when the slot was made.
            let _ = cx.worker.on_connection(
                self.ex,
                self.conn_id,
                ConnState::Disconnected,
                clock::wall_ns(),
            );
            self.announced = false;
        }
        self.streaming = false;
        self.subscribed = false;
        self.welcomed = false;
        self.out.clear();
        self.phase = if ours {
            Phase::Off
        } else {
            Phase::Waiting {
                until: now + self.backoff.next_delay_ns(),
            }
        };
        if !ours {
            self.drops_since_log += 1;
            if now.saturating_sub(self.last_log) >= LOG_EVERY_NS {
                let wait_ms = match self.phase {
                    Phase::Waiting { until } => (until - now) / MS,
                    _ => 0,
                };
                tracing::warn!(
                    venue = self.ex.as_str(),
                    conn = self.conn_id,
                    drops = self.drops_since_log,
                    "connection lost: {why}; retrying in {wait_ms} ms"
                );
                self.drops_since_log = 0;
                self.last_log = now;
            }
        }
        Change {
            streaming_changed: was_streaming,
            needs_prep: false,
        }
    }

    /// Delays the next attempt until `until` (the venue's budget is spent).
    pub(crate) fn defer(&mut self, until: i64) {
        self.phase = Phase::Waiting { until };
    }
}

fn ms_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX / 2).saturating_mul(MS)
}

impl VenueLinkStats {
    fn heartbeat_timeouts_inc(&self) {
        Self::add(&self.heartbeat_timeouts, 1);
    }
}
