//! BingX message parsing (on inflated text): the layout-specific fast path and the
//! validating tape path.

use arb_engine::Side;
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::decode::{Control, ControlKind, Decoded, RawQuote, RawTrade, RawTradeId};
use crate::error::ParseError;
use crate::json::{FieldExt, decimal_value};
use crate::scan::Cursor;

/// Classifies the bare-text heartbeats `Ping` / `Pong` (swap-style), which are not JSON.
#[inline]
pub(super) fn bare_text(text: &[u8]) -> Option<Decoded<'static>> {
    match text {
        b"Ping" => Some(Decoded::Control(Control::new(
            ControlKind::Ping,
            "text_ping",
        ))),
        b"Pong" => Some(Decoded::Control(Control::new(
            ControlKind::Pong,
            "text_pong",
        ))),
        _ => None,
    }
}

/// Fast path for the hot pushes: `bookTicker` and `trade` with BingX's sorted data keys,
/// with or without the newer `code` / `success` / `timestamp` envelope fields. `None`
/// means "not this layout": use the validating path.
#[inline]
pub(super) fn fast(text: &[u8]) -> Option<Decoded<'_>> {
    let mut c = Cursor::new(text);
    c.lit(b"{")?;
    let _ = c.lit(br#""code":0,"#);
    c.lit(br#""data":"#)?;
    let item = if c.peek_lit(br#"{"A":"#) {
        fast_book_ticker(&mut c)?
    } else {
        fast_trade(&mut c)?
    };
    c.lit(br#","dataType":""#)?;
    c.str_bytes()?;
    let _ = c.lit(br#","success":true"#);
    if c.lit(br#","timestamp":"#).is_some() {
        c.skip_uint()?;
    }
    c.lit(b"}")?;
    c.end()?;
    Some(item)
}

#[inline]
fn fast_book_ticker<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    c.lit(br#"{"A":""#)?;
    let ask_qty = c.decimal_str_inline()?;
    c.lit(br#","B":""#)?;
    let bid_qty = c.decimal_str_inline()?;
    c.lit(br#","E":"#)?;
    let exch_ts_ns = c.ms_uint()?;
    c.lit(br#","a":""#)?;
    let ask_px = c.decimal_str_inline()?;
    c.lit(br#","b":""#)?;
    let bid_px = c.decimal_str_inline()?;
    c.lit(br#","e":"bookTicker","s":""#)?;
    let native = c.str_body()?;
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
fn fast_trade<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    c.lit(br#"{"E":"#)?;
    c.skip_uint()?;
    c.lit(br#","T":"#)?;
    let exch_ts_ns = c.ms_uint()?;
    c.lit(br#","e":"trade","m":"#)?;
    let maker = c.boolean()?;
    c.lit(br#","p":""#)?;
    let px = c.decimal_str_inline()?;
    c.lit(br#","q":""#)?;
    let qty = c.decimal_str_inline()?;
    c.lit(br#","s":""#)?;
    let native = c.str_body()?;
    c.lit(br#","t":""#)?;
    let id = c.str_body()?;
    c.lit(b"}")?;
    Some(Decoded::Trade(RawTrade {
        native,
        px,
        qty,
        side: Side::taker_from_buyer_is_maker(maker),
        trade_id: RawTradeId::Text(id),
        exch_ts_ns,
    }))
}

/// The validating path: any BingX spot message, any key order.
pub(super) fn validating<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    out: &mut F,
) -> Result<(), ParseError> {
    if !root.is_object() {
        return Err(ParseError::UnknownMessage);
    }
    if let Some(ping) = root.get("ping") {
        let id = ping.into_string().ok_or(ParseError::WrongType("ping"))?;
        let time = root.get("time").and_then(|t| t.into_string());
        out(Decoded::Control(
            Control::new(ControlKind::Ping, "ping")
                .with_id(Some(id))
                .with_text(time),
        ));
        return Ok(());
    }
    if let Some(data) = root.get("data").filter(|d| !d.is_null()) {
        return push(root, data, out);
    }
    let id = root.get("id").and_then(|v| v.into_string());
    let control = if let Some(pong) = root.get("pong") {
        // Our own heartbeat reply, echoed in a capture.
        Control::new(ControlKind::Info, "client_request").with_id(pong.into_string())
    } else if let Some(req) = root.get("reqType") {
        Control::new(ControlKind::Info, "client_request")
            .with_id(id)
            .with_text(req.into_string())
    } else if let Some(code) = root.get("code") {
        let code = code.as_i64().ok_or(ParseError::WrongType("code"))?;
        let msg = root
            .get("msg")
            .and_then(|m| m.into_string())
            .filter(|m| !m.is_empty());
        if code == 0 {
            Control::new(ControlKind::Ack, "subscribe")
                .with_id(id)
                .with_text(msg)
        } else {
            Control::new(ControlKind::Error, "error")
                .with_id(id)
                .with_code(Some(code))
                .with_text(msg)
        }
    } else {
        return Err(ParseError::UnknownMessage);
    };
    out(Decoded::Control(control));
    Ok(())
}

fn push<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    data: Value<'_, '_>,
    out: &mut F,
) -> Result<(), ParseError> {
    if !data.is_object() {
        return Err(ParseError::WrongType("data"));
    }
    let Some(event) = data.get("e") else {
        let data_type = root.get("dataType").and_then(|d| d.into_string());
        return match data_type {
            Some(d) if d.contains("@depth") => Err(ParseError::Unsupported("depth")),
            _ => Err(ParseError::UnknownMessage),
        };
    };
    let item = match event.into_string().ok_or(ParseError::WrongType("e"))? {
        "bookTicker" => Decoded::Quote(RawQuote {
            native: data.str_field("s")?,
            bid_px: book_px(data.req("b")?, "b")?,
            bid_qty: data.decimal_field("B")?,
            ask_px: book_px(data.req("a")?, "a")?,
            ask_qty: data.decimal_field("A")?,
            exch_ts_ns: optional_ms(data, "E")?,
        }),
        "trade" => Decoded::Trade(RawTrade {
            native: data.str_field("s")?,
            px: data.decimal_field("p")?,
            qty: data.decimal_field("q")?,
            side: Side::taker_from_buyer_is_maker(data.bool_field("m")?),
            trade_id: trade_id(data.req("t")?)?,
            exch_ts_ns: optional_ms(data, "T")?,
        }),
        "kline" => return Err(ParseError::Unsupported("kline")),
        "24hTicker" => return Err(ParseError::Unsupported("24h ticker")),
        _ => return Err(ParseError::UnknownMessage),
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

/// Epoch ms under `key`, as ns; `0` when absent.
fn optional_ms(data: Value<'_, '_>, key: &'static str) -> Result<i64, ParseError> {
    if data.get(key).is_some() {
        data.ms_field(key)
    } else {
        Ok(0)
    }
}

/// Trade ids are strings on spot; accept a JSON integer too.
fn trade_id<'i>(v: Value<'_, 'i>) -> Result<RawTradeId<'i>, ParseError> {
    if let Some(s) = v.into_string() {
        return Ok(RawTradeId::Text(s));
    }
    v.as_u64()
        .map(RawTradeId::Num)
        .ok_or(ParseError::WrongType("t"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = include_str!("../../tests/data/bingx/book_ticker.jsonl");
    const TRADES: &str = include_str!("../../tests/data/bingx/trades.jsonl");

    #[test]
    fn fast_path_takes_the_pushes() {
        for line in BOOK.lines().chain(TRADES.lines()) {
            assert!(fast(line.as_bytes()).is_some(), "{line}");
        }
        // Older pushes without code/success/timestamp.
        let old = br#"{"data":{"E":1,"T":2,"e":"trade","m":false,"p":"1","q":"2","s":"X-Y","t":"9"},"dataType":"X-Y@trade"}"#;
        assert!(fast(old).is_some());
    }
}
