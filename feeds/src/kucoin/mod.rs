//! KuCoin spot: `/market/ticker`, `/spotMarket/level1` and `/market/match` decoding, control
//! classification, subscribe requests and the client heartbeat.
//!
//! Wire notes (`feeds/PROTOCOLS.md` §5): plain JSON text; pushes are
//! `{"type":"message","topic":..,"subject":..,"data":{..}}` with the keys in varying order
//! across server generations; the native symbol is the topic text after `:` (the `subject`
//! for `/market/ticker:all`); trade `time` is nanoseconds as text; the client pings with
//! `{"type":"ping"}` every `pingInterval` ms and the server answers `pong`.

mod msg;
mod parse;
mod subscribe;

pub use msg::{
    BULLET_PUBLIC_URL, DEFAULT_PING_INTERVAL_MS, DEFAULT_PING_TIMEOUT_MS, DEFAULT_WS_ENDPOINT,
    MAX_SYMBOLS_PER_TOPIC, MAX_TOPICS_PER_CONN, MAX_UPLINK_MSGS_PER_10S, TOPIC_LEVEL1, TOPIC_MATCH,
    TOPIC_TICKER,
};
pub use subscribe::{BookTopic, ping_request, subscribe_requests};

use crate::decode::{Decoded, FrameDecoder, FrameKind, ws_control};
use crate::error::ParseError;
use crate::json::JsonScratch;

/// Frame decoder for one KuCoin connection.
#[derive(Debug, Default)]
pub struct KucoinDecoder {
    json: JsonScratch,
}

impl KucoinDecoder {
    /// Creates a decoder with its own scratch buffers.
    pub fn new() -> Self {
        Self::default()
    }
}

impl FrameDecoder for KucoinDecoder {
    #[inline]
    fn decode<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError> {
        if kind == FrameKind::Text
            && let Some(item) = parse::fast(frame)
        {
            out(item);
            return Ok(());
        }
        self.decode_validating(kind, frame, out)
    }

    fn decode_validating<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError> {
        if let Some(c) = ws_control(kind, frame) {
            out(Decoded::Control(c));
            return Ok(());
        }
        if kind == FrameKind::Binary {
            return Err(ParseError::Unsupported("binary frame"));
        }
        self.json.parse(frame, |root| parse::validating(root, out))
    }
}
