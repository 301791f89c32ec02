//! What a venue decoder produces: borrowed quotes, trades and control messages, and the
//! [`FrameDecoder`] contract every venue implements.
//!
//! Decoded values borrow the frame (or the decoder's scratch buffer) and live only for the
//! duration of the sink callback; the feed layer turns them into `Copy` engine events by
//! interning the native symbol.

use arb_engine::Side;
use arb_engine::event::TradeId;

use crate::error::ParseError;

/// The WebSocket frame type a payload arrived as (also the capture record kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameKind {
    /// UTF-8 text frame.
    Text = 0,
    /// Binary frame (MEXC protobuf, BingX gzip).
    Binary = 1,
    /// WebSocket ping control frame.
    Ping = 2,
    /// WebSocket pong control frame.
    Pong = 3,
    /// WebSocket close frame.
    Close = 4,
}

impl FrameKind {
    /// Returns the kind for a stored discriminant.
    pub const fn from_u8(v: u8) -> Option<FrameKind> {
        match v {
            0 => Some(FrameKind::Text),
            1 => Some(FrameKind::Binary),
            2 => Some(FrameKind::Ping),
            3 => Some(FrameKind::Pong),
            4 => Some(FrameKind::Close),
            _ => None,
        }
    }
}

/// A best bid/ask as sent by the venue, with the native symbol still as text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawQuote<'a> {
    /// Native symbol (`BTCUSDT`, `BTC-USDT`, `BTC_USDT`).
    pub native: &'a str,
    /// Best bid price.
    pub bid_px: f64,
    /// Best bid quantity.
    pub bid_qty: f64,
    /// Best ask price.
    pub ask_px: f64,
    /// Best ask quantity.
    pub ask_qty: f64,
    /// Exchange timestamp, ns since the epoch; `0` when the venue does not stamp it.
    pub exch_ts_ns: i64,
}

/// A trade id as the venue wrote it: a JSON integer, or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawTradeId<'a> {
    /// A JSON integer id (Binance, Gate).
    Num(u64),
    /// A text id (most venues; numeric-looking or not).
    Text(&'a str),
}

impl RawTradeId<'_> {
    /// Interns the id into the engine's heap-free [`TradeId`].
    #[inline]
    pub fn to_trade_id(self) -> TradeId {
        match self {
            RawTradeId::Num(n) => TradeId::Numeric(n),
            RawTradeId::Text(t) => TradeId::from_text(t),
        }
    }
}

impl std::fmt::Display for RawTradeId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawTradeId::Num(n) => write!(f, "{n}"),
            RawTradeId::Text(t) => f.write_str(t),
        }
    }
}

/// A public trade as sent by the venue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawTrade<'a> {
    /// Native symbol.
    pub native: &'a str,
    /// Trade price.
    pub px: f64,
    /// Trade quantity.
    pub qty: f64,
    /// Taker side.
    pub side: Side,
    /// Venue trade id.
    pub trade_id: RawTradeId<'a>,
    /// Exchange (trade) timestamp, ns since the epoch; `0` when absent.
    pub exch_ts_ns: i64,
}

/// Broad class of a control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlKind {
    /// Subscribe / unsubscribe acknowledgement.
    Ack,
    /// Answer to our heartbeat.
    Pong,
    /// Heartbeat from the server that needs an answer.
    Ping,
    /// Error reported by the venue.
    Error,
    /// Anything else worth knowing: welcome, server shutdown notice, echoed requests.
    Info,
}

impl ControlKind {
    /// Returns the lower-case label used in JSON output.
    pub const fn as_str(self) -> &'static str {
        match self {
            ControlKind::Ack => "ack",
            ControlKind::Pong => "pong",
            ControlKind::Ping => "ping",
            ControlKind::Error => "error",
            ControlKind::Info => "info",
        }
    }
}

/// A control message: acks, heartbeats, errors, notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control<'a> {
    /// Broad class.
    pub kind: ControlKind,
    /// What exactly it is, e.g. `"subscribe"`, `"welcome"`, `"server_shutdown"`,
    /// `"client_request"`, `"ws_ping"`.
    pub what: &'static str,
    /// Request or heartbeat id the venue echoed, when any (needed to answer BingX pings).
    pub id: Option<&'a str>,
    /// The echoed id when the venue sent it as a JSON integer (Binance).
    pub id_num: Option<u64>,
    /// Venue error code, when any.
    pub code: Option<i64>,
    /// Venue message text, when any.
    pub text: Option<&'a str>,
}

impl<'a> Control<'a> {
    /// A control message with only a kind and a label.
    pub const fn new(kind: ControlKind, what: &'static str) -> Self {
        Control {
            kind,
            what,
            id: None,
            id_num: None,
            code: None,
            text: None,
        }
    }

    /// Sets the echoed id.
    pub const fn with_id(mut self, id: Option<&'a str>) -> Self {
        self.id = id;
        self
    }

    /// Sets the integer id.
    pub const fn with_id_num(mut self, id: Option<u64>) -> Self {
        self.id_num = id;
        self
    }

    /// Sets the error code.
    pub const fn with_code(mut self, code: Option<i64>) -> Self {
        self.code = code;
        self
    }

    /// Sets the text.
    pub const fn with_text(mut self, text: Option<&'a str>) -> Self {
        self.text = text;
        self
    }
}

/// One decoded item of a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decoded<'a> {
    /// Best bid/ask.
    Quote(RawQuote<'a>),
    /// Public trade.
    Trade(RawTrade<'a>),
    /// Control traffic.
    Control(Control<'a>),
}

/// A venue's frame decoder. One instance per connection; it owns its scratch buffers, so
/// after warm-up decoding allocates nothing.
///
/// `decode` tries the venue's layout-specific fast path first and falls back to the
/// validating simd-json path on anything unexpected; `decode_validating` runs the
/// validating path only. Both must emit identical items for every input: the venue tests
/// (`feeds/tests/<venue>.rs`) run every WebSocket fixture line, and its truncations and byte
/// mutations, through both paths (`decode_both`, `check_mutations` in `feeds/tests/util/mod.rs`),
/// and the `fuzz/` targets check the same property on arbitrary bytes.
///
/// A frame may hold several items (batched trades): each valid item is emitted, in order,
/// before an error for a later bad item is returned; the caller counts the error and keeps
/// the items.
pub trait FrameDecoder {
    /// Decodes one frame into `out`, fast path first.
    ///
    /// # Errors
    /// A [`ParseError`] for malformed or unexpected input; never panics.
    ///
    /// # Hot path
    /// Allocates never after warm-up; syscalls none; may block no.
    fn decode<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError>;

    /// Decodes one frame with the general, validating path only.
    ///
    /// # Errors
    /// As [`FrameDecoder::decode`].
    fn decode_validating<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError>;
}

/// Classifies WebSocket control frames (ping, pong, close), common to all venues.
///
/// Returns `None` for text and binary frames.
#[inline]
pub fn ws_control(kind: FrameKind, payload: &[u8]) -> Option<Control<'_>> {
    let (class, what) = match kind {
        FrameKind::Ping => (ControlKind::Ping, "ws_ping"),
        FrameKind::Pong => (ControlKind::Pong, "ws_pong"),
        FrameKind::Close => (ControlKind::Info, "ws_close"),
        // NB: no UTF-8 pass over data frames: it cost ~150 instructions per BingX frame,
        // which asks before decoding (`benches/decode_instructions.sh bingx`).
        FrameKind::Text | FrameKind::Binary => return None,
    };
    let text = std::str::from_utf8(payload).ok().filter(|t| !t.is_empty());
    Some(Control::new(class, what).with_text(text))
}
