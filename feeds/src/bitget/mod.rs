//! Bitget v2: spot `books1` and `ticker` quotes, `trade`, control classification and
//! subscribe requests.
//!
//! Wire notes (`feeds/PROTOCOLS.md` §7): plain JSON text routed by
//! `arg.instType` and `arg.channel`; every push has a `data` array; timestamps are ms, as
//! strings inside `data`; the client heartbeat is the bare text `ping` every 30 s, answered
//! by the bare text `pong` (not JSON). Only `instType` `SPOT` is consumed.

mod msg;
mod parse;
mod subscribe;

pub use msg::{
    BOOK_CHANNEL, INST_TYPE, MAX_ARGS_PER_REQUEST, MAX_CHANNELS_PER_CONN, MAX_MESSAGES_PER_SEC,
    MAX_SUBSCRIBE_REQUESTS_PER_HOUR, PING_INTERVAL_MS, TICKER_CHANNEL, TRADE_CHANNEL, WS_URL,
};
pub use subscribe::{PING_REQUEST, subscribe_requests};

use crate::decode::{Decoded, FrameDecoder, FrameKind, ws_control};
use crate::error::ParseError;
use crate::json::JsonScratch;

/// Frame decoder for one Bitget connection.
#[derive(Debug, Default)]
pub struct BitgetDecoder {
    json: JsonScratch,
}

impl BitgetDecoder {
    /// Creates a decoder with its own scratch buffers.
    pub fn new() -> Self {
        Self::default()
    }
}

impl FrameDecoder for BitgetDecoder {
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
