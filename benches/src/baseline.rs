//! The serde_json baseline decoders: what most Rust exchange libraries do with a frame.
//!
//! Each venue's hot messages are `serde_json::from_slice` into typed
//! `#[derive(Deserialize)]` structs that borrow `&str` from the frame (vectors where the
//! venue sends arrays), and the decimal strings are then parsed with `str::parse::<f64>()`
//! into a finished [`RawQuote`] / [`RawTrade`], the same values arb's decoders emit. This is
//! the reference the decode bench compares arb's fast and simd-json paths against.
//!
//! Deliberately ordinary: no layout tricks, no reused parser state, unknown fields skipped
//! by serde, one `Vec` per array field. Like arb's decoders, these stop at the native
//! symbol; interning it is the feed layer's job in both cases. MEXC has no baseline: its
//! market data is protobuf, not JSON.

use std::io::Read as _;
use std::num::{ParseFloatError, ParseIntError};

use arb_engine::{Exchange, Side};
use arb_feeds::{Decoded, RawQuote, RawTrade, RawTradeId};
use serde::Deserialize;

use crate::fixtures::{BenchFrame, Encoding, Message};

/// Why a baseline decoder rejected a frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BaselineError {
    /// serde_json rejected the frame.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A decimal string did not parse.
    #[error("number: {0}")]
    Float(#[from] ParseFloatError),
    /// An integer string did not parse.
    #[error("integer: {0}")]
    Int(#[from] ParseIntError),
    /// A gzip frame did not inflate.
    #[error("gzip: {0}")]
    Gzip(#[from] std::io::Error),
    /// A field held an unexpected value.
    #[error("bad field {0}")]
    Field(&'static str),
    /// A book side or data array was empty.
    #[error("empty {0}")]
    Empty(&'static str),
}

/// Which baseline function reads a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    BinanceBookTicker,
    BinanceTrade,
    BybitBookTicker,
    BybitTrade,
    GateioBookTicker,
    GateioTrade,
    KucoinBookTicker,
    KucoinTrade,
    OkxBookTicker,
    OkxTrade,
    BitgetBookTicker,
    BitgetTrade,
    BingxBookTicker,
    BingxTrade,
}

/// A baseline decoder for one frame layout, with the reused gunzip output buffer of the
/// gzip (BingX) frames.
#[derive(Debug)]
pub struct Baseline {
    layout: Layout,
    gzip: bool,
    /// Inflated text of the last gzip frame. Reused: a typical library allocates a fresh
    /// `String` per frame, so this slightly favours the baseline.
    inflated: Vec<u8>,
}

impl Baseline {
    /// Returns the baseline decoder for `frame`, or `None` for protobuf (MEXC) frames.
    pub fn for_frame(frame: &BenchFrame) -> Option<Baseline> {
        use Exchange as X;
        use Message::{BookTicker as B, Trade as T};
        let layout = match (frame.venue, frame.message) {
            (X::Mexc, _) => return None,
            (X::Binance, B) => Layout::BinanceBookTicker,
            (X::Binance, T) => Layout::BinanceTrade,
            (X::Bybit, B) => Layout::BybitBookTicker,
            (X::Bybit, T) => Layout::BybitTrade,
            (X::Gateio, B) => Layout::GateioBookTicker,
            (X::Gateio, T) => Layout::GateioTrade,
            (X::Kucoin, B) => Layout::KucoinBookTicker,
            (X::Kucoin, T) => Layout::KucoinTrade,
            (X::Okx, B) => Layout::OkxBookTicker,
            (X::Okx, T) => Layout::OkxTrade,
            (X::Bitget, B) => Layout::BitgetBookTicker,
            (X::Bitget, T) => Layout::BitgetTrade,
            (X::Bingx, B) => Layout::BingxBookTicker,
            (X::Bingx, T) => Layout::BingxTrade,
        };
        let gzip = match frame.encoding {
            Encoding::Json => false,
            Encoding::GzipJson => true,
            Encoding::Protobuf => return None,
        };
        Some(Baseline {
            layout,
            gzip,
            inflated: Vec::new(),
        })
    }

    /// Decodes one frame of this layout into a finished quote or trade.
    ///
    /// Gzip frames are inflated with `flate2::read::GzDecoder` first, a new decoder per
    /// frame as exchange libraries do.
    ///
    /// # Errors
    /// [`BaselineError`] for anything serde_json, `parse::<f64>()` or gunzip rejects.
    pub fn decode<'a>(&'a mut self, frame: &'a [u8]) -> Result<Decoded<'a>, BaselineError> {
        let text = if self.gzip {
            self.inflated.clear();
            flate2::read::GzDecoder::new(frame).read_to_end(&mut self.inflated)?;
            &self.inflated[..]
        } else {
            frame
        };
        match self.layout {
            Layout::BinanceBookTicker => binance_book_ticker(text).map(Decoded::Quote),
            Layout::BinanceTrade => binance_trade(text).map(Decoded::Trade),
            Layout::BybitBookTicker => bybit_book_ticker(text).map(Decoded::Quote),
            Layout::BybitTrade => bybit_trade(text).map(Decoded::Trade),
            Layout::GateioBookTicker => gateio_book_ticker(text).map(Decoded::Quote),
            Layout::GateioTrade => gateio_trade(text).map(Decoded::Trade),
            Layout::KucoinBookTicker => kucoin_book_ticker(text).map(Decoded::Quote),
            Layout::KucoinTrade => kucoin_trade(text).map(Decoded::Trade),
            Layout::OkxBookTicker => okx_book_ticker(text).map(Decoded::Quote),
            Layout::OkxTrade => okx_trade(text).map(Decoded::Trade),
            Layout::BitgetBookTicker => bitget_book_ticker(text).map(Decoded::Quote),
            Layout::BitgetTrade => bitget_trade(text).map(Decoded::Trade),
            Layout::BingxBookTicker => bingx_book_ticker(text).map(Decoded::Quote),
            Layout::BingxTrade => bingx_trade(text).map(Decoded::Trade),
        }
    }
}

/// Exchange milliseconds to nanoseconds.
fn ms(v: u64) -> Result<i64, BaselineError> {
    i64::try_from(v)
        .ok()
        .and_then(|v| v.checked_mul(1_000_000))
        .ok_or(BaselineError::Field("timestamp"))
}

/// Exchange milliseconds as text to nanoseconds.
fn ms_text(v: &str) -> Result<i64, BaselineError> {
    ms(v.parse()?)
}

/// One `[price, size, ..]` level of a book side.
fn level(side: &[&str], what: &'static str) -> Result<(f64, f64), BaselineError> {
    match side {
        [px, qty, ..] => Ok((px.parse()?, qty.parse()?)),
        _ => Err(BaselineError::Empty(what)),
    }
}

fn first<T>(v: Vec<T>, what: &'static str) -> Result<T, BaselineError> {
    v.into_iter().next().ok_or(BaselineError::Empty(what))
}

/// Binance: combined-stream envelope `{"stream": .., "data": ..}`.
#[derive(Deserialize)]
struct BinanceCombined<'a, T> {
    #[serde(rename = "stream")]
    _stream: &'a str,
    data: T,
}

/// Binance `bookTicker`.
#[derive(Deserialize)]
struct BinanceBookTicker<'a> {
    #[serde(rename = "u")]
    _update_id: u64,
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "b")]
    bid_px: &'a str,
    #[serde(rename = "B")]
    bid_qty: &'a str,
    #[serde(rename = "a")]
    ask_px: &'a str,
    #[serde(rename = "A")]
    ask_qty: &'a str,
}

/// Binance `trade`.
#[derive(Deserialize)]
struct BinanceTrade<'a> {
    #[serde(rename = "e")]
    _event: &'a str,
    #[serde(rename = "E")]
    _event_time: u64,
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "t")]
    trade_id: u64,
    #[serde(rename = "p")]
    price: &'a str,
    #[serde(rename = "q")]
    qty: &'a str,
    #[serde(rename = "T")]
    trade_time: u64,
    #[serde(rename = "m")]
    buyer_is_maker: bool,
    #[serde(rename = "M")]
    _ignore: bool,
}

fn binance_book_ticker(frame: &[u8]) -> Result<RawQuote<'_>, BaselineError> {
    let m: BinanceCombined<'_, BinanceBookTicker<'_>> = serde_json::from_slice(frame)?;
    let d = m.data;
    Ok(RawQuote {
        native: d.symbol,
        bid_px: d.bid_px.parse()?,
        bid_qty: d.bid_qty.parse()?,
        ask_px: d.ask_px.parse()?,
        ask_qty: d.ask_qty.parse()?,
        exch_ts_ns: 0,
    })
}

fn binance_trade(frame: &[u8]) -> Result<RawTrade<'_>, BaselineError> {
    let m: BinanceCombined<'_, BinanceTrade<'_>> = serde_json::from_slice(frame)?;
    let d = m.data;
    Ok(RawTrade {
        native: d.symbol,
        px: d.price.parse()?,
        qty: d.qty.parse()?,
        side: if d.buyer_is_maker {
            Side::Sell
        } else {
            Side::Buy
        },
        trade_id: RawTradeId::Num(d.trade_id),
        exch_ts_ns: ms(d.trade_time)?,
    })
}

/// Bybit v5 public envelope.
#[derive(Deserialize)]
struct BybitMsg<'a, T> {
    #[serde(rename = "topic")]
    _topic: &'a str,
    ts: u64,
    #[serde(rename = "type")]
    _kind: &'a str,
    data: T,
    cts: Option<u64>,
}

/// Bybit `orderbook.1` data.
#[derive(Deserialize)]
struct BybitBook<'a> {
    s: &'a str,
    #[serde(borrow)]
    b: Vec<[&'a str; 2]>,
    #[serde(borrow)]
    a: Vec<[&'a str; 2]>,
    #[serde(rename = "u")]
    _u: u64,
    #[serde(rename = "seq")]
    _seq: u64,
}

/// Bybit `publicTrade` item.
#[derive(Deserialize)]
struct BybitTrade<'a> {
    i: &'a str,
    #[serde(rename = "T")]
    time: u64,
    p: &'a str,
    v: &'a str,
    #[serde(rename = "S")]
    side: &'a str,
    s: &'a str,
}

fn bybit_book_ticker(frame: &[u8]) -> Result<RawQuote<'_>, BaselineError> {
    let m: BybitMsg<'_, BybitBook<'_>> = serde_json::from_slice(frame)?;
    let bid = m.data.b.first().ok_or(BaselineError::Empty("bids"))?;
    let ask = m.data.a.first().ok_or(BaselineError::Empty("asks"))?;
    let (bid_px, bid_qty) = level(bid, "bids")?;
    let (ask_px, ask_qty) = level(ask, "asks")?;
    Ok(RawQuote {
        native: m.data.s,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns: ms(m.cts.unwrap_or(m.ts))?,
    })
}

fn bybit_trade(frame: &[u8]) -> Result<RawTrade<'_>, BaselineError> {
    let m: BybitMsg<'_, Vec<BybitTrade<'_>>> = serde_json::from_slice(frame)?;
    let t = first(m.data, "trades")?;
    Ok(RawTrade {
        native: t.s,
        px: t.p.parse()?,
        qty: t.v.parse()?,
        side: match t.side {
            "Buy" => Side::Buy,
            "Sell" => Side::Sell,
            _ => return Err(BaselineError::Field("S")),
        },
        trade_id: RawTradeId::Text(t.i),
        exch_ts_ns: ms(t.time)?,
    })
}

/// Gate v4 push envelope.
#[derive(Deserialize)]
struct GateMsg<'a, T> {
    #[serde(rename = "time")]
    _time: u64,
    #[serde(rename = "time_ms")]
    _time_ms: Option<u64>,
    #[serde(rename = "channel")]
    _channel: &'a str,
    #[serde(rename = "event")]
    _event: &'a str,
    result: T,
}

/// Gate `spot.book_ticker` result.
#[derive(Deserialize)]
struct GateBookTicker<'a> {
    t: u64,
    #[serde(rename = "u")]
    _u: u64,
    s: &'a str,
    #[serde(rename = "b")]
    bid_px: &'a str,
    #[serde(rename = "B")]
    bid_qty: &'a str,
    #[serde(rename = "a")]
    ask_px: &'a str,
    #[serde(rename = "A")]
    ask_qty: &'a str,
}

/// Gate `spot.trades` result.
#[derive(Deserialize)]
struct GateTrade<'a> {
    id: u64,
    #[serde(rename = "create_time")]
    _create_time: u64,
    create_time_ms: &'a str,
    side: &'a str,
    currency_pair: &'a str,
    amount: &'a str,
    price: &'a str,
}

fn gateio_book_ticker(frame: &[u8]) -> Result<RawQuote<'_>, BaselineError> {
    let m: GateMsg<'_, GateBookTicker<'_>> = serde_json::from_slice(frame)?;
    let r = m.result;
    Ok(RawQuote {
        native: r.s,
        bid_px: r.bid_px.parse()?,
        bid_qty: r.bid_qty.parse()?,
        ask_px: r.ask_px.parse()?,
        ask_qty: r.ask_qty.parse()?,
        exch_ts_ns: ms(r.t)?,
    })
}

/// Gate's `"1682689046123.0"`: milliseconds with a fraction, to nanoseconds without
/// going through `f64` (which would round at this magnitude).
fn ms_fraction(text: &str) -> Result<i64, BaselineError> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut ns = ms_text(int)?;
    let digits = frac.get(..frac.len().min(6)).unwrap_or("");
    if !digits.is_empty() {
        let scale = 10_i64.pow(6 - digits.len() as u32);
        ns += digits.parse::<i64>()? * scale;
    }
    Ok(ns)
}

fn gateio_trade(frame: &[u8]) -> Result<RawTrade<'_>, BaselineError> {
    let m: GateMsg<'_, GateTrade<'_>> = serde_json::from_slice(frame)?;
    let r = m.result;
    Ok(RawTrade {
        native: r.currency_pair,
        px: r.price.parse()?,
        qty: r.amount.parse()?,
        side: match r.side {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return Err(BaselineError::Field("side")),
        },
        trade_id: RawTradeId::Num(r.id),
        exch_ts_ns: ms_fraction(r.create_time_ms)?,
    })
}

/// KuCoin push envelope.
#[derive(Deserialize)]
struct KucoinMsg<'a, T> {
    #[serde(rename = "type")]
    _kind: &'a str,
    topic: &'a str,
    #[serde(rename = "subject")]
    _subject: &'a str,
    data: T,
}

/// KuCoin `/market/ticker` data.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KucoinTicker<'a> {
    best_bid: &'a str,
    best_bid_size: &'a str,
    best_ask: &'a str,
    best_ask_size: &'a str,
    time: u64,
}

/// KuCoin `/market/match` data.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KucoinMatch<'a> {
    symbol: &'a str,
    side: &'a str,
    price: &'a str,
    size: &'a str,
    /// Nanoseconds, as text.
    time: &'a str,
    trade_id: &'a str,
}

fn kucoin_book_ticker(frame: &[u8]) -> Result<RawQuote<'_>, BaselineError> {
    let m: KucoinMsg<'_, KucoinTicker<'_>> = serde_json::from_slice(frame)?;
    let (_, native) = m
        .topic
        .split_once(':')
        .ok_or(BaselineError::Field("topic"))?;
    let d = m.data;
    Ok(RawQuote {
        native,
        bid_px: d.best_bid.parse()?,
        bid_qty: d.best_bid_size.parse()?,
        ask_px: d.best_ask.parse()?,
        ask_qty: d.best_ask_size.parse()?,
        exch_ts_ns: ms(d.time)?,
    })
}

fn kucoin_trade(frame: &[u8]) -> Result<RawTrade<'_>, BaselineError> {
    let m: KucoinMsg<'_, KucoinMatch<'_>> = serde_json::from_slice(frame)?;
    let d = m.data;
    Ok(RawTrade {
        native: d.symbol,
        px: d.price.parse()?,
        qty: d.size.parse()?,
        side: match d.side {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return Err(BaselineError::Field("side")),
        },
        trade_id: RawTradeId::Text(d.trade_id),
        exch_ts_ns: d.time.parse()?,
    })
}

/// OKX v5 push envelope.
#[derive(Deserialize)]
struct OkxMsg<'a, T> {
    #[serde(borrow)]
    arg: OkxArg<'a>,
    data: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OkxArg<'a> {
    #[serde(rename = "channel")]
    _channel: &'a str,
    inst_id: &'a str,
}

/// OKX `bbo-tbt` item: levels are `[px, size, "0", orders]`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OkxBbo<'a> {
    #[serde(borrow)]
    asks: Vec<[&'a str; 4]>,
    #[serde(borrow)]
    bids: Vec<[&'a str; 4]>,
    ts: &'a str,
    #[serde(rename = "seqId")]
    _seq_id: Option<u64>,
}

/// OKX `trades` item.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OkxTrade<'a> {
    inst_id: &'a str,
    trade_id: &'a str,
    px: &'a str,
    sz: &'a str,
    side: &'a str,
    ts: &'a str,
}

fn okx_book_ticker(frame: &[u8]) -> Result<RawQuote<'_>, BaselineError> {
    let m: OkxMsg<'_, OkxBbo<'_>> = serde_json::from_slice(frame)?;
    let d = first(m.data, "data")?;
    let (bid_px, bid_qty) = level(d.bids.first().ok_or(BaselineError::Empty("bids"))?, "bids")?;
    let (ask_px, ask_qty) = level(d.asks.first().ok_or(BaselineError::Empty("asks"))?, "asks")?;
    Ok(RawQuote {
        native: m.arg.inst_id,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns: ms_text(d.ts)?,
    })
}

fn okx_trade(frame: &[u8]) -> Result<RawTrade<'_>, BaselineError> {
    let m: OkxMsg<'_, OkxTrade<'_>> = serde_json::from_slice(frame)?;
    let t = first(m.data, "data")?;
    Ok(RawTrade {
        native: t.inst_id,
        px: t.px.parse()?,
        qty: t.sz.parse()?,
        side: match t.side {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return Err(BaselineError::Field("side")),
        },
        trade_id: RawTradeId::Text(t.trade_id),
        exch_ts_ns: ms_text(t.ts)?,
    })
}

/// Bitget v2 push envelope.
#[derive(Deserialize)]
struct BitgetMsg<'a, T> {
    #[serde(rename = "action")]
    _action: &'a str,
    #[serde(borrow)]
    arg: BitgetArg<'a>,
    data: Vec<T>,
    #[serde(rename = "ts")]
    _ts: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BitgetArg<'a> {
    #[serde(rename = "instType")]
    _inst_type: &'a str,
    #[serde(rename = "channel")]
    _channel: &'a str,
    inst_id: &'a str,
}

/// Bitget `books1` item.
#[derive(Deserialize)]
struct BitgetBook<'a> {
    #[serde(borrow)]
    asks: Vec<[&'a str; 2]>,
    #[serde(borrow)]
    bids: Vec<[&'a str; 2]>,
    #[serde(rename = "checksum")]
    _checksum: i64,
    ts: &'a str,
}

/// Bitget `trade` item.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BitgetTrade<'a> {
    ts: &'a str,
    price: &'a str,
    size: &'a str,
    side: &'a str,
    trade_id: &'a str,
}

fn bitget_book_ticker(frame: &[u8]) -> Result<RawQuote<'_>, BaselineError> {
    let m: BitgetMsg<'_, BitgetBook<'_>> = serde_json::from_slice(frame)?;
    let d = first(m.data, "data")?;
    let (bid_px, bid_qty) = level(d.bids.first().ok_or(BaselineError::Empty("bids"))?, "bids")?;
    let (ask_px, ask_qty) = level(d.asks.first().ok_or(BaselineError::Empty("asks"))?, "asks")?;
    Ok(RawQuote {
        native: m.arg.inst_id,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns: ms_text(d.ts)?,
    })
}

fn bitget_trade(frame: &[u8]) -> Result<RawTrade<'_>, BaselineError> {
    let m: BitgetMsg<'_, BitgetTrade<'_>> = serde_json::from_slice(frame)?;
    let t = first(m.data, "data")?;
    Ok(RawTrade {
        native: m.arg.inst_id,
        px: t.price.parse()?,
        qty: t.size.parse()?,
        side: match t.side {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return Err(BaselineError::Field("side")),
        },
        trade_id: RawTradeId::Text(t.trade_id),
        exch_ts_ns: ms_text(t.ts)?,
    })
}

/// BingX push envelope.
#[derive(Deserialize)]
struct BingxMsg<'a, T> {
    #[serde(rename = "code")]
    _code: Option<i64>,
    data: T,
    #[serde(rename = "dataType")]
    _data_type: &'a str,
}

/// BingX `@bookTicker` data.
#[derive(Deserialize)]
struct BingxBookTicker<'a> {
    #[serde(rename = "A")]
    ask_qty: &'a str,
    #[serde(rename = "B")]
    bid_qty: &'a str,
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(rename = "a")]
    ask_px: &'a str,
    #[serde(rename = "b")]
    bid_px: &'a str,
    #[serde(rename = "s")]
    symbol: &'a str,
}

/// BingX `@trade` data.
#[derive(Deserialize)]
struct BingxTrade<'a> {
    #[serde(rename = "T")]
    trade_time: u64,
    #[serde(rename = "m")]
    buyer_is_maker: bool,
    #[serde(rename = "p")]
    price: &'a str,
    #[serde(rename = "q")]
    qty: &'a str,
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "t")]
    trade_id: &'a str,
}

fn bingx_book_ticker(frame: &[u8]) -> Result<RawQuote<'_>, BaselineError> {
    let m: BingxMsg<'_, BingxBookTicker<'_>> = serde_json::from_slice(frame)?;
    let d = m.data;
    Ok(RawQuote {
        native: d.symbol,
        bid_px: d.bid_px.parse()?,
        bid_qty: d.bid_qty.parse()?,
        ask_px: d.ask_px.parse()?,
        ask_qty: d.ask_qty.parse()?,
        exch_ts_ns: ms(d.event_time)?,
    })
}

fn bingx_trade(frame: &[u8]) -> Result<RawTrade<'_>, BaselineError> {
    let m: BingxMsg<'_, BingxTrade<'_>> = serde_json::from_slice(frame)?;
    let d = m.data;
    Ok(RawTrade {
        native: d.symbol,
        px: d.price.parse()?,
        qty: d.qty.parse()?,
        side: if d.buyer_is_maker {
            Side::Sell
        } else {
            Side::Buy
        },
        trade_id: RawTradeId::Text(d.trade_id),
        exch_ts_ns: ms(d.trade_time)?,
    })
}

#[cfg(test)]
mod tests {
    use arb_feeds::{AnyDecoder, FrameDecoder, ParseError};

    use super::*;
    use crate::fixtures::frames;

    /// An owned copy of a decoded quote or trade, for comparing decoders.
    #[derive(Debug, Clone, PartialEq)]
    enum Owned {
        Quote(String, [f64; 4], i64),
        Trade(String, f64, f64, Side, String, i64),
        Control,
    }

    fn owned(d: &Decoded<'_>) -> Owned {
        match d {
            Decoded::Quote(q) => Owned::Quote(
                q.native.to_owned(),
                [q.bid_px, q.bid_qty, q.ask_px, q.ask_qty],
                q.exch_ts_ns,
            ),
            Decoded::Trade(t) => Owned::Trade(
                t.native.to_owned(),
                t.px,
                t.qty,
                t.side,
                t.trade_id.to_string(),
                t.exch_ts_ns,
            ),
            Decoded::Control(_) => Owned::Control,
        }
    }

    fn arb(frame: &BenchFrame, validating: bool) -> Result<Vec<Owned>, ParseError> {
        let mut dec = AnyDecoder::new(frame.venue);
        let mut items = Vec::new();
        let mut sink = |d: Decoded<'_>| items.push(owned(&d));
        if validating {
            dec.decode_validating(frame.kind(), &frame.bytes, &mut sink)?;
        } else {
            dec.decode(frame.kind(), &frame.bytes, &mut sink)?;
        }
        Ok(items)
    }

    #[test]
    fn baseline_matches_arb_decoders_on_bench_frames() {
        let mut checked = 0;
        for frame in frames().unwrap() {
            let name = frame.name();
            let fast = arb(&frame, false).unwrap_or_else(|e| panic!("{name}: fast: {e}"));
            let validating =
                arb(&frame, true).unwrap_or_else(|e| panic!("{name}: validating: {e}"));
            assert_eq!(fast.len(), 1, "{name}: {fast:?}");
            assert_eq!(fast, validating, "{name}");
            match (&fast[0], frame.message) {
                (Owned::Quote(..), Message::BookTicker) | (Owned::Trade(..), Message::Trade) => {}
                (item, message) => panic!("{name}: {message:?} frame decoded to {item:?}"),
            }
            let Some(mut base) = Baseline::for_frame(&frame) else {
                assert_eq!(frame.venue, Exchange::Mexc, "{name} has no baseline");
                continue;
            };
            let item = base
                .decode(&frame.bytes)
                .unwrap_or_else(|e| panic!("{name}: baseline: {e}"));
            assert_eq!(owned(&item), fast[0], "{name}");
            checked += 1;
        }
        // 7 JSON venues x 2 messages, plus BingX's two gzip frames.
        assert_eq!(checked, 16);
    }

    #[test]
    fn gate_fractional_milliseconds_keep_every_digit() {
        assert_eq!(
            ms_fraction("1631824310261.896").unwrap(),
            1_631_824_310_261_896_000
        );
        assert_eq!(
            ms_fraction("1619093543708.2642").unwrap(),
            1_619_093_543_708_264_200
        );
        assert_eq!(
            ms_fraction("1682689046123.0").unwrap(),
            1_682_689_046_123_000_000
        );
        assert_eq!(ms_fraction("5").unwrap(), 5_000_000);
    }

    #[test]
    fn baseline_rejects_what_it_cannot_read() {
        let frame = frames().unwrap().remove(0);
        let mut base = Baseline::for_frame(&frame).unwrap();
        assert!(base.decode(b"{}").is_err());
        assert!(
            base.decode(
                br#"{"stream":"x","data":{"u":1,"s":"X","b":"x","B":"1","a":"1","A":"1"}}"#
            )
            .is_err()
        );
    }
}
