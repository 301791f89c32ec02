//! OKX v5: spot `bbo-tbt` and `tickers` quotes, `trades`, control classification and
//! subscribe requests.
//!
//! Wire notes (`feeds/PROTOCOLS.md` §6): plain JSON text routed by
//! `arg.channel`; every push has a `data` array; timestamps are ms as strings; the client
//! heartbeat is the bare text `ping`, answered by the bare text `pong` (not JSON). The same
//! channels serve swaps, futures and options: only spot ids (`BASE-QUOTE`) are consumed.

mod msg;
mod parse;
mod subscribe;

pub use msg::{
    BBO_CHANNEL, MAX_REQUEST_BYTES, MAX_SUBSCRIBE_REQUESTS_PER_HOUR, PING_INTERVAL_MS,
    TICKERS_CHANNEL, TRADES_CHANNEL, WS_URL,
};
pub use subscribe::{PING_REQUEST, subscribe_requests};

use crate::decode::{Decoded, FrameDecoder, FrameKind, ws_control};
use crate::error::ParseError;
use crate::json::JsonScratch;

/// Frame decoder for one OKX connection.
#[derive(Debug, Default)]
pub struct OkxDecoder {
    json: JsonScratch,
}

impl OkxDecoder {
    /// Creates a decoder with its own scratch buffers.
    pub fn new() -> Self {
        Self::default()
    }
}

impl FrameDecoder for OkxDecoder {
    #[inline]
    fn decode<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError> {
        if kind == FrameKind::Text && parse::fast(frame, out).is_some() {
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
        if let Some(c) = parse::text_heartbeat(frame) {
            out(Decoded::Control(c));
            return Ok(());
        }
        self.json.parse(frame, |root| parse::validating(root, out))
    }
}
