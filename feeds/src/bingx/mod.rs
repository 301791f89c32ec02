//! BingX spot: gunzip of binary frames, `@bookTicker` and `@trade` decoding, heartbeat and
//! control classification, subscribe requests and ping replies.
//!
//! Wire notes (`feeds/PROTOCOLS.md` §8): every server frame is a GZIP-compressed
//! binary frame holding JSON; client frames are plain JSON text. The server pings with
//! `{"ping":"<id>","time":"<text>"}` about every 5 s and the client must echo both values
//! under `pong` ([`pong_reply`]). Older pushes lack the `code`/`success`/`timestamp`
//! envelope fields. Text frames are decoded as the inflated JSON they would hold, which is
//! what captures of decompressed traffic and the fixtures contain.

mod gzip;
mod inflate;
mod msg;
mod parse;
mod subscribe;

pub use gzip::gzip_compress;
pub use msg::{
    CHANNEL_BOOK_TICKER, CHANNEL_TRADE, MAX_CONNS_PER_IP, MAX_INFLATED_FRAME_BYTES,
    MAX_TOPICS_PER_CONN, MAX_TOPICS_PER_REQUEST, SERVER_PING_INTERVAL_MS, SILENCE_TIMEOUT_MS,
    WS_URL,
};
pub use subscribe::{TEXT_PONG, pong_reply, subscribe_requests};

use crate::decode::{Decoded, FrameDecoder, FrameKind, ws_control};
use crate::error::ParseError;
use crate::json::JsonScratch;

/// Frame decoder for one BingX connection.
///
/// Control classes it emits besides acks and errors: `Ping` `"ping"` (JSON heartbeat; `id`
/// is the ping id and `text` the time string, both to be echoed), `Ping` `"text_ping"` /
/// `Pong` `"text_pong"` (bare-text heartbeats), `Info` `"client_request"` (our own
/// requests and pongs, as seen in captures).
#[derive(Debug)]
pub struct BingxDecoder {
    json: JsonScratch,
    gzip: gzip::Inflater,
}

impl Default for BingxDecoder {
    fn default() -> Self {
        BingxDecoder {
            json: JsonScratch::default(),
            gzip: gzip::Inflater::new(MAX_INFLATED_FRAME_BYTES),
        }
    }
}

impl BingxDecoder {
    /// Creates a decoder with its own scratch and inflate buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inflates a binary frame (text frames pass through), then decodes the JSON, trying
    /// the fast path first when `fast` is set.
    #[inline]
    fn decode_with<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
        fast: bool,
    ) -> Result<(), ParseError> {
        if let Some(c) = ws_control(kind, frame) {
            out(Decoded::Control(c));
            return Ok(());
        }
        let text = if kind == FrameKind::Binary {
            self.gzip.inflate(frame)?
        } else {
            frame
        };
        if fast && let Some(item) = parse::fast(text) {
            out(item);
            return Ok(());
        }
        if let Some(item) = parse::bare_text(text) {
            out(item);
            return Ok(());
        }
        self.json.parse(text, |root| parse::validating(root, out))
    }
}

impl FrameDecoder for BingxDecoder {
    #[inline]
    fn decode<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError> {
        self.decode_with(kind, frame, out, true)
    }

    fn decode_validating<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError> {
        self.decode_with(kind, frame, out, false)
    }
}
