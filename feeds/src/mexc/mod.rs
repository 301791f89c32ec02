//! MEXC spot v3: protobuf push decoding (aggregated book ticker, book ticker batch,
//! aggregated deals), JSON control classification, subscribe requests, and the protobuf
//! writer used to build synthetic pushes.
//!
//! Wire notes (`feeds/PROTOCOLS.md` §3): market data arrives as binary
//! `PushDataV3ApiWrapper` protobuf frames; acks, `PONG` and errors as JSON text frames; the
//! client sends `{"method":"PING"}`. The retired JSON market-data endpoint is not decoded.
//!
//! [`FrameDecoder::decode`] tries two layout fast paths first: the usual single
//! book-ticker push in MEXC's field order (one-byte lengths, held to the generic protobuf
//! reader by a property test in `parse.rs`), and the JSON subscribe acks and `PONG`
//! replies (held to the JSON path by the same tests). [`FrameDecoder::decode_validating`]
//! is the generic reader, which reads any field order and skips unknown fields. The
//! differential check for MEXC is also protobuf against JSON: text frames accept the docs'
//! JSON renderings of decoded pushes, and a push decodes to the same items in both
//! encodings.

mod msg;
mod parse;
mod proto;
mod subscribe;

pub use msg::{
    CHANNEL_BOOK_TICKER, CHANNEL_BOOK_TICKER_BATCH, CHANNEL_DEALS, MAX_CONN_LIFETIME_MS,
    MAX_SUBSCRIPTIONS_PER_CONN, NO_DATA_CLOSE_MS, NO_SUBSCRIPTION_CLOSE_MS, PING_INTERVAL_MS,
    WS_URL,
};
pub use proto::{
    BookTickerBody, Deal, PushHeader, encode_book_ticker_batch_push, encode_book_ticker_push,
    encode_deals_push,
};
pub use subscribe::{Interval, PING_REQUEST, subscribe_requests};

use crate::decode::{Decoded, FrameDecoder, FrameKind, ws_control};
use crate::error::ParseError;
use crate::json::{DEFAULT_MAX_FRAME_BYTES, JsonScratch};

/// Frame decoder for one MEXC connection.
///
/// Control classes it emits: `Pong` `"pong"`, `Ack` `"subscribe"` (text = the echoed
/// channels), `Error` `"subscribe"` (a `Not Subscribed successfully` reply, whatever its
/// code), `Error` `"error"` (non-zero code), `Info` `"client_request"` (our own requests).
#[derive(Debug, Default)]
pub struct MexcDecoder {
    json: JsonScratch,
}

impl MexcDecoder {
    /// Creates a decoder with its own scratch buffers.
    pub fn new() -> Self {
        Self::default()
    }
}

impl FrameDecoder for MexcDecoder {
    /// Decodes one frame: binary frames as protobuf (or as JSON when they start with `{`,
    /// which no valid wrapper does), text frames as JSON; the usual book-ticker push, acks
    /// and `PONG` first by their layout.
    #[inline]
    fn decode<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError> {
        if kind == FrameKind::Binary {
            if let Some(q) = parse::fast_book_ticker(frame) {
                out(Decoded::Quote(q));
                return Ok(());
            }
            if parse::fast_deals(frame, out).is_some() {
                return Ok(());
            }
        }
        if kind == FrameKind::Text
            && let Some(c) = parse::fast_json(frame)
        {
            out(Decoded::Control(c));
            return Ok(());
        }
        self.decode_validating(kind, frame, out)
    }

    /// As [`FrameDecoder::decode`], text frames through the validating JSON path only.
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
        if kind == FrameKind::Binary && frame.first() != Some(&b'{') {
            if frame.len() > DEFAULT_MAX_FRAME_BYTES {
                return Err(ParseError::Oversize);
            }
            return parse::protobuf(frame, out);
        }
        self.json.parse(frame, |root| parse::json(root, out))
    }
}
