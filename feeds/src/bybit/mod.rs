//! Bybit v5 spot: `orderbook.1` snapshot/delta merging into a per-symbol L1 book,
//! `publicTrade` decoding, control classification and subscribe requests.
//!
//! Wire notes (`feeds/PROTOCOLS.md` §2): plain JSON text; market data is routed
//! by `topic`; `orderbook.1` comes as snapshots and (in older recordings) as deltas where an
//! empty side (`"a":[]`) keeps the previous level and a zero quantity deletes it, so the
//! decoder keeps the last L1 per symbol; the client sends `{"op":"ping"}` every 20 s.

mod msg;
mod parse;
mod subscribe;

pub use msg::{
    BOOK_TOPIC_PREFIX, MAX_ARGS_CHARS_PER_CONN, MAX_ARGS_PER_REQUEST, PING_INTERVAL_MS,
    TRADE_TOPIC_PREFIX, WS_URL,
};
pub use subscribe::{PING_REQUEST, subscribe_requests};

use crate::decode::{Decoded, FrameDecoder, FrameKind, ws_control};
use crate::error::ParseError;
use crate::json::JsonScratch;

/// Frame decoder for one Bybit connection.
///
/// Holds the last best bid/ask of every symbol seen on the connection, because `orderbook.1`
/// deltas only carry the side that changed. Both decoding paths merge into the same state,
/// so a connection must use one decoder for all its frames, in arrival order.
#[derive(Debug, Default)]
pub struct BybitDecoder {
    json: JsonScratch,
    books: parse::Books,
}

impl BybitDecoder {
    /// Creates a decoder with its own scratch buffers and no book state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties every held book (a new session after a reconnect) without freeing the keys,
    /// so the symbols seen before cost no allocation when they come back.
    pub fn reset_session(&mut self) {
        for l1 in self.books.values_mut() {
            *l1 = parse::L1::default();
        }
    }
}

impl FrameDecoder for BybitDecoder {
    #[inline]
    fn decode<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError> {
        if kind == FrameKind::Text
            && let Some(r) = parse::fast(frame, &mut self.books, out)
        {
            return r;
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
        let BybitDecoder { json, books } = self;
        json.parse(frame, |root| parse::validating(root, books, out))
    }
}
