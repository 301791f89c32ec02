//! Gate API v4 spot: `spot.book_ticker` and `spot.tickers` quotes, `spot.trades`, control
//! classification and subscribe requests.
//!
//! Wire notes (`feeds/PROTOCOLS.md` §4): plain JSON text; every message has
//! the envelope `{"time":s,"time_ms":ms?,"channel":..,"event":..,"result":..}`; trades
//! come one per push with an integer `id` and `create_time_ms` as ms-with-fraction text;
//! acks and errors share the envelope (`result.status`, `error{code,message}`); the client
//! may ping with `spot.ping` (answered on `spot.pong`) or WebSocket ping frames.

mod msg;
mod parse;
mod subscribe;

pub use msg::{
    BOOK_TICKER_CHANNEL, MAX_PAIRS_PER_REQUEST, PING_CHANNEL, PING_INTERVAL_MS, TICKERS_CHANNEL,
    TRADES_CHANNEL, WS_URL,
};
pub use subscribe::{ping_request, subscribe_requests, subscribe_requests_with_ids};

use crate::decode::{Decoded, FrameDecoder, FrameKind, ws_control};
use crate::error::ParseError;
use crate::json::JsonScratch;

/// Frame decoder for one Gate connection.
#[derive(Debug, Default)]
pub struct GateioDecoder {
    json: JsonScratch,
}

impl GateioDecoder {
    /// Creates a decoder with its own scratch buffers.
    pub fn new() -> Self {
        Self::default()
    }
}

impl FrameDecoder for GateioDecoder {
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
