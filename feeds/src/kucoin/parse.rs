//! KuCoin message parsing: the layout-specific fast path and the validating tape path.

use arb_engine::Side;
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::decode::{Control, ControlKind, Decoded, RawQuote, RawTrade, RawTradeId};
use crate::error::ParseError;
use crate::json::{FieldExt, decimal_value, u64_value};
use crate::num;
use crate::scan::Cursor;

/// The data channel a `type:"message"` push belongs to, from its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// `/market/ticker:<SYM>` or `/market/ticker:all`.
    Ticker,
    /// `/spotMarket/level1:<SYM>`.
    Level1,
    /// `/market/match:<SYM>`.
    Match,
}

/// Splits a push topic into its channel and the text after the `:` (the symbol).
fn channel(topic: &str) -> Result<(Channel, &str), ParseError> {
    let (prefix, symbols) = topic.split_once(':').ok_or(ParseError::BadValue("topic"))?;
    let ch = match prefix {
        "/market/ticker" => Channel::Ticker,
        "/spotMarket/level1" => Channel::Level1,
        "/market/match" => Channel::Match,
        "/market/level2" | "/spotMarket/level2Depth5" | "/spotMarket/level2Depth50" => {
            return Err(ParseError::Unsupported("depth topic"));
        }
        "/market/snapshot" => return Err(ParseError::Unsupported("snapshot topic")),
        "/market/candles" => return Err(ParseError::Unsupported("candles topic")),
        _ => return Err(ParseError::UnknownMessage),
    };
    if symbols.is_empty() {
        return Err(ParseError::BadValue("topic"));
    }
    Ok((ch, symbols))
}

/// Fast path for the hot pushes: ticker, level1 and match in the envelope orders KuCoin
/// sends today (`type, topic, subject, data` or `topic, type, subject, data`) with the data
/// keys in alphabetical order. `None` means "not this layout": use the validating path.
#[inline]
pub(super) fn fast(frame: &[u8]) -> Option<Decoded<'_>> {
    let mut c = Cursor::new(frame);
    let type_first = c.lit(br#"{"type":"message","topic":""#).is_some();
    if !type_first {
        c.lit(br#"{"topic":""#)?;
    }
    // NB: the channel prefix as literals rather than `channel()`'s `split_once` and string
    // compares (~130 instructions, `benches/decode_instructions.sh kucoin`); the same
    // topics pass: one of the three prefixes, then a non-empty rest.
    let ch = if c.lit(b"/market/ticker:").is_some() {
        Channel::Ticker
    } else if c.lit(b"/market/match:").is_some() {
        Channel::Match
    } else {
        c.lit(b"/spotMarket/level1:")?;
        Channel::Level1
    };
    let symbols = c.str_body()?;
    if symbols.is_empty() {
        return None;
    }
    if type_first {
        c.lit(br#","subject":""#)?;
    } else {
        c.lit(br#","type":"message","subject":""#)?;
    }
    let subject = c.str_body()?;
    c.lit(br#","data":"#)?;
    let item = match ch {
        Channel::Ticker => {
            let native = if symbols == "all" { subject } else { symbols };
            fast_ticker(&mut c, native)?
        }
        Channel::Level1 => fast_level1(&mut c, symbols)?,
        Channel::Match => fast_match(&mut c)?,
    };
    c.lit(b"}")?;
    c.end()?;
    Some(item)
}

#[inline]
fn fast_ticker<'a>(c: &mut Cursor<'a>, native: &'a str) -> Option<Decoded<'a>> {
    c.lit(br#"{"bestAsk":""#)?;
    let ask_px = c.decimal_str_inline()?;
    c.lit(br#","bestAskSize":""#)?;
    let ask_qty = c.decimal_str_inline()?;
    c.lit(br#","bestBid":""#)?;
    let bid_px = c.decimal_str_inline()?;
    c.lit(br#","bestBidSize":""#)?;
    let bid_qty = c.decimal_str_inline()?;
    c.lit(br#","price":""#)?;
    c.str_bytes()?;
    c.lit(br#","sequence":""#)?;
    c.str_bytes()?;
    c.lit(br#","size":""#)?;
    c.str_bytes()?;
    c.lit(br#","time":"#)?;
    let exch_ts_ns = c.ms_uint()?;
    c.lit(b"}")?;
    Some(Decoded::Quote(RawQuote {
        native,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns,
    }))
}

#[inline]
fn fast_level1<'a>(c: &mut Cursor<'a>, native: &'a str) -> Option<Decoded<'a>> {
    c.lit(br#"{"asks":[""#)?;
    let ask_px = c.decimal_str_inline()?;
    c.lit(br#",""#)?;
    let ask_qty = c.decimal_str_inline()?;
    c.lit(br#"],"bids":[""#)?;
    let bid_px = c.decimal_str_inline()?;
    c.lit(br#",""#)?;
    let bid_qty = c.decimal_str_inline()?;
    c.lit(br#"],"timestamp":"#)?;
    let exch_ts_ns = c.ms_uint()?;
    c.lit(b"}")?;
    Some(Decoded::Quote(RawQuote {
        native,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns,
    }))
}

#[inline]
fn fast_match<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    if c.peek_lit(br#"{"symbol":""#) {
        return fast_match_symbol_first(c);
    }
    c.lit(br#"{"makerOrderId":""#)?;
    c.str_bytes()?;
    c.lit(br#","price":""#)?;
    let px = c.decimal_str_inline()?;
    c.lit(br#","sequence":""#)?;
    c.str_bytes()?;
    c.lit(br#","side":""#)?;
    let side = c.side_lower()?;
    c.lit(br#","size":""#)?;
    let qty = c.decimal_str_inline()?;
    c.lit(br#","symbol":""#)?;
    let native = c.str_body()?;
    c.lit(br#","takerOrderId":""#)?;
    c.str_bytes()?;
    c.lit(br#","time":""#)?;
    let exch_ts_ns = c.ns_str()?;
    c.lit(br#","tradeId":""#)?;
    let id = c.str_body()?;
    c.lit(br#","type":"match"}"#)?;
    Some(Decoded::Trade(RawTrade {
        native,
        px,
        qty,
        side,
        trade_id: RawTradeId::Text(id),
        exch_ts_ns,
    }))
}

/// `/market/match` data in the order KuCoin's docs and older captures show (symbol, side,
/// type first; the first line of `tests/data/kucoin/trades.jsonl`), which the generator
/// writes too.
///
/// NB: every such frame fell back to the validating path (~5 200 instructions against
/// ~1 700): a fifth of the KuCoin frames of `benches/instructions.sh`.
#[inline]
fn fast_match_symbol_first<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    c.lit(br#"{"symbol":""#)?;
    let native = c.str_body()?;
    c.lit(br#","side":""#)?;
    let side = c.side_lower()?;
    c.lit(br#","type":"match","makerOrderId":""#)?;
    c.skip_str()?;
    c.lit(br#","sequence":""#)?;
    c.skip_str()?;
    c.lit(br#","size":""#)?;
    let qty = c.decimal_str_inline()?;
    c.lit(br#","price":""#)?;
    let px = c.decimal_str_inline()?;
    c.lit(br#","takerOrderId":""#)?;
    c.skip_str()?;
    c.lit(br#","time":""#)?;
    let exch_ts_ns = c.ns_str()?;
    c.lit(br#","tradeId":""#)?;
    let id = c.str_body()?;
    c.lit(b"}")?;
    Some(Decoded::Trade(RawTrade {
        native,
        px,
        qty,
        side,
        trade_id: RawTradeId::Text(id),
        exch_ts_ns,
    }))
}

/// Taker side as KuCoin spells it.
#[inline]
fn side(text: &str) -> Result<Side, ParseError> {
    Side::from_text(text).ok_or(ParseError::BadValue("side"))
}

/// The validating path: any KuCoin spot message, any key order.
pub(super) fn validating<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    out: &mut F,
) -> Result<(), ParseError> {
    if !root.is_object() {
        return Err(ParseError::UnknownMessage);
    }
    let id = root.get("id").and_then(|v| v.into_string());
    let control = match root.str_field("type")? {
        "message" => return message(root, out),
        "welcome" => Control::new(ControlKind::Info, "welcome").with_id(id),
        "pong" => Control::new(ControlKind::Pong, "pong").with_id(id),
        "ack" => Control::new(ControlKind::Ack, "subscribe").with_id(id),
        "error" => Control::new(ControlKind::Error, "error")
            .with_id(id)
            .with_code(root.get("code").and_then(code_value))
            .with_text(root.get("data").and_then(|v| v.into_string())),
        "subscribe" | "unsubscribe" | "ping" => Control::new(ControlKind::Info, "client_request")
            .with_id(id)
            .with_text(root.get("topic").and_then(|v| v.into_string())),
        _ => return Err(ParseError::UnknownMessage),
    };
    out(Decoded::Control(control));
    Ok(())
}

/// An error code sent as a JSON integer or as digit text.
fn code_value(v: Value<'_, '_>) -> Option<i64> {
    match v.into_string() {
        Some(s) => s.parse().ok(),
        None => v.as_i64(),
    }
}

fn message<F: FnMut(Decoded<'_>)>(root: Value<'_, '_>, out: &mut F) -> Result<(), ParseError> {
    let (ch, symbols) = channel(root.str_field("topic")?)?;
    let data = root.req("data")?;
    if !data.is_object() {
        return Err(ParseError::WrongType("data"));
    }
    let item = match ch {
        Channel::Ticker => {
            let native = if symbols == "all" {
                root.str_field("subject")?
            } else {
                symbols
            };
            Decoded::Quote(RawQuote {
                native,
                bid_px: book_px(data.req("bestBid")?, "bestBid")?,
                bid_qty: data.decimal_field("bestBidSize")?,
                ask_px: book_px(data.req("bestAsk")?, "bestAsk")?,
                ask_qty: data.decimal_field("bestAskSize")?,
                exch_ts_ns: optional_ms(data, "time", "Time")?,
            })
        }
        Channel::Level1 => {
            let (bid_px, bid_qty) = level(data, "bids")?;
            let (ask_px, ask_qty) = level(data, "asks")?;
            Decoded::Quote(RawQuote {
                native: symbols,
                bid_px,
                bid_qty,
                ask_px,
                ask_qty,
                exch_ts_ns: optional_ms(data, "timestamp", "timestamp")?,
            })
        }
        Channel::Match => Decoded::Trade(RawTrade {
            native: data.str_field("symbol")?,
            px: data.decimal_field("price")?,
            qty: data.decimal_field("size")?,
            side: side(data.str_field("side")?)?,
            trade_id: RawTradeId::Text(data.str_field("tradeId")?),
            exch_ts_ns: match data.get("time") {
                Some(t) => ns_value(t, "time")?,
                None => 0,
            },
        }),
    };
    out(item);
    Ok(())
}

/// A best price: an empty string or `null` means the side is empty.
fn book_px(v: Value<'_, '_>, key: &'static str) -> Result<f64, ParseError> {
    if v.is_null() || v.into_string() == Some("") {
        return Err(ParseError::EmptySide);
    }
    decimal_value(v, key)
}

/// A flat `[price, size]` level of `/spotMarket/level1`.
fn level(data: Value<'_, '_>, key: &'static str) -> Result<(f64, f64), ParseError> {
    let arr = data
        .req(key)?
        .into_array()
        .ok_or(ParseError::WrongType(key))?;
    let px = arr.get(0).ok_or(ParseError::EmptySide)?;
    let qty = arr.get(1).ok_or(ParseError::MissingField(key))?;
    Ok((book_px(px, key)?, decimal_value(qty, key)?))
}

/// Epoch ms under `key` (or its alternative spelling `alt`), as ns; `0` when absent.
fn optional_ms(
    data: Value<'_, '_>,
    key: &'static str,
    alt: &'static str,
) -> Result<i64, ParseError> {
    if data.get(key).is_some() {
        data.ms_field(key)
    } else if data.get(alt).is_some() {
        data.ms_field(alt)
    } else {
        Ok(0)
    }
}

/// Epoch nanoseconds sent as digit text (KuCoin's usual form) or as a JSON integer.
fn ns_value(v: Value<'_, '_>, key: &'static str) -> Result<i64, ParseError> {
    if let Some(s) = v.into_string() {
        return num::parse_ns_text(s.as_bytes(), key);
    }
    i64::try_from(u64_value(v, key)?).map_err(|_| ParseError::BadValue(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = include_str!("../../tests/data/kucoin/book_ticker.jsonl");
    const TRADES: &str = include_str!("../../tests/data/kucoin/trades.jsonl");

    #[test]
    fn fast_path_takes_the_current_layouts() {
        let book: Vec<&str> = BOOK.lines().collect();
        let trades: Vec<&str> = TRADES.lines().collect();
        // Today's layouts: alphabetical data keys, either envelope order; and the
        // symbol-first match data of the docs (and of `arb gen`).
        for line in [book[0], book[10], trades[0], trades[1], trades[6]] {
            assert!(fast(line.as_bytes()).is_some(), "{line}");
        }
        // 2021 layouts (data first, unsorted keys) go to the validating path.
        for line in [book[1], trades[3]] {
            assert!(fast(line.as_bytes()).is_none(), "{line}");
        }
    }
}
