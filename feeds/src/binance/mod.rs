//! Binance spot: combined-stream `bookTicker` and `trade`/`aggTrade` decoding, control
//! classification and subscribe requests.
//!
//! Wire notes (`feeds/PROTOCOLS.md` §1): plain JSON text; combined frames wrap
//! the payload as `{"stream":..,"data":{..}}`; spot `bookTicker` has no timestamp; the
//! server pings with WebSocket ping frames every 20 s.

mod msg;
mod parse;
mod subscribe;

pub use msg::{MAX_REQUESTS_PER_SEC, MAX_STREAMS_PER_CONN, WS_URL};
pub use subscribe::subscribe_request;

use crate::decode::{Decoded, FrameDecoder, FrameKind, ws_control};
use crate::error::ParseError;
use crate::json::JsonScratch;

/// Frame decoder for one Binance connection.
#[derive(Debug, Default)]
pub struct BinanceDecoder {
    json: JsonScratch,
}

impl BinanceDecoder {
    /// Creates a decoder with its own scratch buffers.
    pub fn new() -> Self {
        Self::default()
    }
}

impl FrameDecoder for BinanceDecoder {
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
