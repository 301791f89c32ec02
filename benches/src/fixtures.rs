//! The frames the decode benches measure: one representative book-ticker frame and one
//! single-trade frame per venue, picked from the feed fixtures in `feeds/tests/data/`.
//!
//! Frames are compiled in with `include_str!` and picked by a distinctive substring rather
//! than a line number, so adding fixture lines does not silently change what is measured.
//! Where a venue's wire format is not the fixture text, the wire bytes are rebuilt here:
//! BingX frames are gzipped (as the server sends them) in addition to the plain text, and
//! MEXC frames are the protobuf bytes stored base64 in `*.constructed.jsonl`.

use std::io::Write as _;

use arb_engine::Exchange;
use arb_feeds::{Decoded, FrameKind};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Which hot message a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// Best bid/ask (book ticker, L1 book, bbo).
    BookTicker,
    /// One public trade.
    Trade,
}

impl Message {
    /// Returns the label used in bench names: `book_ticker` or `trade`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Message::BookTicker => "book_ticker",
            Message::Trade => "trade",
        }
    }
}

/// How the frame is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// A JSON text frame.
    Json,
    /// JSON inside a gzip binary frame (BingX).
    GzipJson,
    /// A protobuf binary frame (MEXC).
    Protobuf,
}

/// One frame to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchFrame {
    /// The venue whose decoder reads it.
    pub venue: Exchange,
    /// What it carries.
    pub message: Message,
    /// How it is encoded.
    pub encoding: Encoding,
    /// The exact bytes handed to the decoder.
    pub bytes: Vec<u8>,
}

impl BenchFrame {
    /// Returns the WebSocket frame type the bytes arrive as.
    pub fn kind(&self) -> FrameKind {
        match self.encoding {
            Encoding::Json => FrameKind::Text,
            Encoding::GzipJson | Encoding::Protobuf => FrameKind::Binary,
        }
    }

    /// Returns the bench group name, e.g. `binance/book_ticker`, `bingx/trade_gzip`,
    /// `mexc/book_ticker_protobuf`.
    pub fn name(&self) -> String {
        let suffix = match self.encoding {
            Encoding::Json => "",
            Encoding::GzipJson => "_gzip",
            Encoding::Protobuf => "_protobuf",
        };
        format!("{}/{}{suffix}", self.venue, self.message.as_str())
    }
}

/// Why the frames could not be built; a fixture file changed under the bench.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// No line of the fixture file contains the substring that picks the frame.
    #[error("no line of {file} contains {needle:?}")]
    MissingLine {
        /// Fixture file, relative to `feeds/tests/data/`.
        file: &'static str,
        /// The substring.
        needle: &'static str,
    },
    /// A MEXC line has no readable `wire_b64` field.
    #[error("bad wire_b64 line in {0}: {1}")]
    Wire(&'static str, String),
    /// Gzipping a BingX frame failed.
    #[error("gzip: {0}")]
    Gzip(#[from] std::io::Error),
}

macro_rules! fixture {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!("../../feeds/tests/data/", $path)),
        )
    };
}

/// Returns the first line of `file` that contains `needle`.
fn pick(
    (file, text): (&'static str, &'static str),
    needle: &'static str,
) -> Result<&'static str, FixtureError> {
    text.lines()
        .find(|l| l.contains(needle))
        .ok_or(FixtureError::MissingLine { file, needle })
}

/// Returns the protobuf bytes of the first `{"wire_b64": ..}` line of `file` containing
/// `needle`.
fn pick_wire(
    fixture: (&'static str, &'static str),
    needle: &'static str,
) -> Result<Vec<u8>, FixtureError> {
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        wire_b64: &'a str,
    }
    let file = fixture.0;
    let line = pick(fixture, needle)?;
    let parsed: Line<'_> =
        serde_json::from_str(line).map_err(|e| FixtureError::Wire(file, e.to_string()))?;
    BASE64
        .decode(parsed.wire_b64)
        .map_err(|e| FixtureError::Wire(file, e.to_string()))
}

/// Compresses `text` the way a gzip server frame is built.
fn gzip(text: &[u8]) -> Result<Vec<u8>, FixtureError> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(text)?;
    Ok(z.finish()?)
}

fn json(venue: Exchange, message: Message, line: &str) -> BenchFrame {
    BenchFrame {
        venue,
        message,
        encoding: Encoding::Json,
        bytes: line.as_bytes().to_vec(),
    }
}

/// Returns every frame the decode bench measures, in venue order, book ticker before trade;
/// the first is Binance's combined-stream `btcusdt@bookTicker`, the headline frame.
///
/// # Errors
/// [`FixtureError`] when a fixture file no longer holds a picked line.
pub fn frames() -> Result<Vec<BenchFrame>, FixtureError> {
    use Exchange as X;
    use Message::{BookTicker, Trade};

    let mut out = Vec::new();

    // Binance: combined streams (`/stream`), as arb subscribes. The trade fixture is a raw
    // `@trade` push; arb receives it wrapped in the combined-stream envelope.
    out.push(json(
        X::Binance,
        BookTicker,
        pick(
            fixture!("binance/book_ticker.jsonl"),
            "\"btcusdt@bookTicker\"",
        )?,
    ));
    let raw_trade = pick(fixture!("binance/trades.jsonl"), r#""e":"trade""#)?;
    let combined = format!(r#"{{"stream":"bnbbtc@trade","data":{raw_trade}}}"#);
    out.push(json(X::Binance, Trade, &combined));

    // Bybit: `orderbook.1` snapshot (with `cts`), single-trade `publicTrade`.
    out.push(json(
        X::Bybit,
        BookTicker,
        pick(
            fixture!("bybit/book_ticker.constructed.jsonl"),
            "orderbook.1.ETHUSDT",
        )?,
    ));
    out.push(json(
        X::Bybit,
        Trade,
        pick(fixture!("bybit/trades.jsonl"), "publicTrade.BTCUSDC")?,
    ));

    // MEXC: protobuf pushes, the only market-data format it serves.
    for (message, fixture, needle) in [
        (
            BookTicker,
            fixture!("mexc/book_ticker.constructed.jsonl"),
            "bookTicker.v3.api.pb@100ms@BTCUSDT",
        ),
        (
            Trade,
            fixture!("mexc/trades.constructed.jsonl"),
            "deals.v3.api.pb@100ms@BTCUSDT",
        ),
    ] {
        out.push(BenchFrame {
            venue: X::Mexc,
            message,
            encoding: Encoding::Protobuf,
            bytes: pick_wire(fixture, needle)?,
        });
    }

    // Gate: current layout with `time_ms`.
    out.push(json(
        X::Gateio,
        BookTicker,
        pick(fixture!("gateio/book_ticker.jsonl"), "\"ETC_ETH\"")?,
    ));
    out.push(json(
        X::Gateio,
        Trade,
        pick(fixture!("gateio/trades.jsonl"), "\"TLOS_BTC\"")?,
    ));

    // KuCoin: `/market/ticker` and a `/market/match` in the venue's alphabetical key order.
    out.push(json(
        X::Kucoin,
        BookTicker,
        pick(
            fixture!("kucoin/book_ticker.jsonl"),
            "/market/ticker:BTC-USDT",
        )?,
    ));
    out.push(json(
        X::Kucoin,
        Trade,
        pick(fixture!("kucoin/trades.jsonl"), "/market/match:LMR-BTC")?,
    ));

    // OKX: `bbo-tbt` and `trades`.
    out.push(json(
        X::Okx,
        BookTicker,
        pick(
            fixture!("okx/book_ticker.constructed.jsonl"),
            r#""bbo-tbt","instId":"ETH-USDT""#,
        )?,
    ));
    out.push(json(
        X::Okx,
        Trade,
        pick(fixture!("okx/trades.jsonl"), r#""tradeId":"338476307""#)?,
    ));

    // Bitget: `books1` and `trade`.
    out.push(json(
        X::Bitget,
        BookTicker,
        pick(fixture!("bitget/book_ticker.jsonl"), r#""books1""#)?,
    ));
    out.push(json(
        X::Bitget,
        Trade,
        pick(fixture!("bitget/trades.jsonl"), r#""instId":"BTCUSDT""#)?,
    ));

    // BingX: the fixture text and the gzip binary frame the server actually sends.
    for (message, fixture, needle) in [
        (
            BookTicker,
            fixture!("bingx/book_ticker.jsonl"),
            "BTC-USDT@bookTicker",
        ),
        (Trade, fixture!("bingx/trades.jsonl"), "BTC-USDT@trade"),
    ] {
        let text = pick(fixture, needle)?;
        out.push(json(X::Bingx, message, text));
        out.push(BenchFrame {
            venue: X::Bingx,
            message,
            encoding: Encoding::GzipJson,
            bytes: gzip(text.as_bytes())?,
        });
    }
    Ok(out)
}

/// Returns what a bench sink accumulates for one decoded item: the bid price of a quote,
/// the price of a trade, `0` for control messages.
#[inline]
pub fn sink_value(item: &Decoded<'_>) -> f64 {
    match item {
        Decoded::Quote(q) => q.bid_px,
        Decoded::Trade(t) => t.px,
        Decoded::Control(_) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_venue_has_a_book_ticker_and_a_trade_frame() {
        let frames = frames().unwrap();
        for venue in Exchange::ALL {
            for message in [Message::BookTicker, Message::Trade] {
                assert!(
                    frames
                        .iter()
                        .any(|f| f.venue == venue && f.message == message),
                    "{venue} {message:?}"
                );
            }
        }
        assert_eq!(frames[0].name(), "binance/book_ticker");
        assert!(
            frames[0]
                .bytes
                .starts_with(br#"{"stream":"btcusdt@bookTicker""#)
        );
    }

    #[test]
    fn bingx_gzip_frames_inflate_to_the_text_frames() {
        use std::io::Read as _;
        let frames = frames().unwrap();
        let gz: Vec<_> = frames
            .iter()
            .filter(|f| f.encoding == Encoding::GzipJson)
            .collect();
        assert_eq!(gz.len(), 2);
        for f in gz {
            let mut text = Vec::new();
            flate2::read::GzDecoder::new(&f.bytes[..])
                .read_to_end(&mut text)
                .unwrap();
            assert!(frames.iter().any(|t| t.venue == Exchange::Bingx
                && t.message == f.message
                && t.encoding == Encoding::Json
                && t.bytes == text));
        }
    }
}
