//! Bitget message parsing: the layout-specific fast path for one-item `books1`, `ticker`
//! and `trade` pushes, the validating tape path, and the text heartbeat.

use arb_engine::Side;
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::decode::{Control, ControlKind, Decoded, RawQuote, RawTrade, RawTradeId};
use crate::error::ParseError;
use crate::json::{FieldExt, flat_quote, top_of_book, u64_value};
use crate::scan::{Batch, Cursor};

/// The text heartbeat frames: the server's `pong`, and our own `ping` as recorded.
#[inline]
pub(super) fn text_heartbeat(frame: &[u8]) -> Option<Control<'static>> {
    match frame {
        b"pong" => Some(Control::new(ControlKind::Pong, "pong")),
        b"ping" => Some(Control::new(ControlKind::Info, "client_request").with_text(Some("ping"))),
        _ => None,
    }
}

/// Fast path for the hot messages in Bitget v2's field order: one-item spot `books1` and
/// `ticker` pushes, and `trade` pushes of up to [`FAST_BATCH`](crate::scan::FAST_BATCH) trades. `None` means "not
/// this layout": nothing was emitted, use the validating path.
#[inline]
pub(super) fn fast<'a, F: FnMut(Decoded<'a>)>(frame: &'a [u8], out: &mut F) -> Option<()> {
    let mut c = Cursor::new(frame);
    if c.peek_lit(br#"{"event":"subscribe","arg":{"instType":"SPOT","channel":""#) {
        out(Decoded::Control(fast_subscribe_ack(&mut c)?));
        return Some(());
    }
    c.lit(br#"{"action":""#)?;
    if c.lit(br#"snapshot""#).is_none() {
        c.lit(br#"update""#)?;
    }
    c.lit(br#","arg":{"instType":"SPOT","channel":""#)?;
    if c.lit(br#"trade","instId":""#).is_some() {
        let native = c.str_body()?;
        c.lit(br#"},"data":[{"ts":""#)?;
        let first = fast_trade(&mut c, native)?;
        if c.peek_lit(br#",{"ts":""#) {
            return fast_more_trades(&mut c, native, first, out);
        }
        fast_tail(&mut c)?;
        out(Decoded::Trade(first));
        return Some(());
    }
    let item = if c.lit(br#"books1","instId":""#).is_some() {
        fast_books1(&mut c)?
    } else {
        c.lit(br#"ticker","instId":""#)?;
        fast_ticker(&mut c)?
    };
    fast_tail(&mut c)?;
    out(item);
    Some(())
}

/// A subscribe ack as Bitget sends one per channel and instrument.
///
/// NB: one ack per symbol and channel, ~2 000 instructions each on the tape path: about
/// a tenth of the frames of a fresh capture (`benches/instructions.sh`).
#[cold]
#[inline(never)]
fn fast_subscribe_ack(c: &mut Cursor<'_>) -> Option<Control<'static>> {
    c.lit(br#"{"event":"subscribe","arg":{"instType":"SPOT","channel":""#)?;
    c.skip_str()?;
    c.lit(br#","instId":""#)?;
    c.skip_str()?;
    c.lit(b"}}")?;
    c.end()?;
    Some(Control::new(ControlKind::Ack, "subscribe"))
}

#[inline]
fn fast_books1<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    let native = c.str_body()?;
    c.lit(br#"},"data":[{"asks":[[""#)?;
    let ask_px = c.decimal_str_inline()?;
    c.lit(br#",""#)?;
    let ask_qty = c.decimal_str_inline()?;
    c.lit(br#"]],"bids":[[""#)?;
    let bid_px = c.decimal_str_inline()?;
    c.lit(br#",""#)?;
    let bid_qty = c.decimal_str_inline()?;
    c.lit(br#"]],"checksum":"#)?;
    c.skip_uint()?;
    if c.lit(br#","seq":"#).is_some() {
        c.skip_uint()?;
    }
    c.lit(br#","ts":""#)?;
    let exch_ts_ns = c.ms_str()?;
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

/// Consumes `key` (a `,"name":"` literal) and a string value it does not need.
#[inline]
fn skip_str(c: &mut Cursor<'_>, key: &[u8]) -> Option<()> {
    c.lit(key)?;
    c.str_body().map(|_| ())
}

#[inline]
fn fast_ticker<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    c.str_bytes()?;
    c.lit(br#"},"data":[{"instId":""#)?;
    let native = c.str_body()?;
    for key in [
        &br#","lastPr":""#[..],
        br#","open24h":""#,
        br#","high24h":""#,
        br#","low24h":""#,
        br#","change24h":""#,
    ] {
        skip_str(c, key)?;
    }
    c.lit(br#","bidPr":""#)?;
    let bid_px = c.decimal_str_inline()?;
    c.lit(br#","askPr":""#)?;
    let ask_px = c.decimal_str_inline()?;
    c.lit(br#","bidSz":""#)?;
    let bid_qty = c.decimal_str_inline()?;
    c.lit(br#","askSz":""#)?;
    let ask_qty = c.decimal_str_inline()?;
    for key in [
        &br#","baseVolume":""#[..],
        br#","quoteVolume":""#,
        br#","openUtc":""#,
        br#","changeUtc24h":""#,
    ] {
        skip_str(c, key)?;
    }
    c.lit(br#","ts":""#)?;
    let exch_ts_ns = c.ms_str()?;
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

/// The end of a push after its `data` items.
#[inline]
fn fast_tail(c: &mut Cursor<'_>) -> Option<()> {
    c.lit(br#"],"ts":"#)?;
    c.skip_uint()?;
    c.lit(b"}")?;
    c.end()
}

/// The rest of a `trade` push of several trades, the first scanned: emits them all once
/// the whole frame has matched.
///
/// NB: out of line, and the batch only built here: buffering every push cost one-trade
/// pushes ~140 instructions (`benches/decode_instructions.sh bitget`).
#[inline(never)]
fn fast_more_trades<'a, F: FnMut(Decoded<'a>)>(
    c: &mut Cursor<'a>,
    native: &'a str,
    first: RawTrade<'a>,
    out: &mut F,
) -> Option<()> {
    let mut batch = Batch::new();
    batch.push(first)?;
    while c.lit(br#",{"ts":""#).is_some() {
        batch.push(fast_trade(c, native)?)?;
    }
    fast_tail(c)?;
    batch.items().for_each(|t| out(Decoded::Trade(t)));
    Some(())
}

/// One trade item, from its `ts` value to its closing brace.
#[inline]
fn fast_trade<'a>(c: &mut Cursor<'a>, native: &'a str) -> Option<RawTrade<'a>> {
    let exch_ts_ns = c.ms_str()?;
    c.lit(br#","price":""#)?;
    let px = c.decimal_str_inline()?;
    c.lit(br#","size":""#)?;
    let qty = c.decimal_str_inline()?;
    c.lit(br#","side":""#)?;
    let side = c.side_lower()?;
    c.lit(br#","tradeId":""#)?;
    let id = c.str_body()?;
    c.lit(b"}")?;
    Some(RawTrade {
        native,
        px,
        qty,
        side,
        trade_id: RawTradeId::Text(id),
        exch_ts_ns,
    })
}

/// Market-data channels this decoder turns into items.
#[derive(Debug, Clone, Copy)]
enum Channel {
    Books1,
    Ticker,
    Trade,
}

/// The validating path: any Bitget v2 public message, any key order.
pub(super) fn validating<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    out: &mut F,
) -> Result<(), ParseError> {
    if !root.is_object() {
        return Err(ParseError::UnknownMessage);
    }
    // Errors echo `op`, so `event` decides first.
    if let Some(event) = root.get("event") {
        return event_message(root, event, out);
    }
    if let Some(op) = root.get("op") {
        let op = op.into_string().ok_or(ParseError::WrongType("op"))?;
        let c = Control::new(ControlKind::Info, "client_request").with_text(Some(op));
        out(Decoded::Control(c));
        return Ok(());
    }
    let Some(arg) = root.get("arg") else {
        return Err(ParseError::UnknownMessage);
    };
    if !arg.is_object() {
        return Err(ParseError::WrongType("arg"));
    }
    if arg.str_field("instType")? != "SPOT" {
        return Err(ParseError::Unsupported("instrument type"));
    }
    let channel = match arg.str_field("channel")? {
        "books1" => Channel::Books1,
        "ticker" => Channel::Ticker,
        "trade" => Channel::Trade,
        c if c.starts_with("books") => {
            return Err(ParseError::Unsupported("order book deeper than L1"));
        }
        _ => return Err(ParseError::Unsupported("channel")),
    };
    let inst = arg.str_field("instId")?;
    let data = root.req("data")?;
    let items = data.as_array().ok_or(ParseError::WrongType("data"))?;
    for item in items.iter() {
        let d = match channel {
            Channel::Books1 => Decoded::Quote(top_of_book(item, inst)?),
            Channel::Ticker => Decoded::Quote(ticker(item)?),
            Channel::Trade => Decoded::Trade(trade(item, inst)?),
        };
        out(d);
    }
    Ok(())
}

/// One `ticker` item.
fn ticker<'i>(item: Value<'_, 'i>) -> Result<RawQuote<'i>, ParseError> {
    flat_quote(
        item,
        item.str_field("instId")?,
        ("bidPr", "bidSz"),
        ("askPr", "askSz"),
    )
}

/// One `trade` item; the symbol is only named in `arg`. Both the first `snapshot` push
/// (recent trades) and `update` pushes are emitted.
fn trade<'i>(item: Value<'_, 'i>, native: &'i str) -> Result<RawTrade<'i>, ParseError> {
    Ok(RawTrade {
        native,
        px: item.decimal_field("price")?,
        qty: item.decimal_field("size")?,
        side: Side::from_text(item.str_field("side")?).ok_or(ParseError::BadValue("side"))?,
        trade_id: trade_id(item.req("tradeId")?, "tradeId")?,
        exch_ts_ns: item.ms_field("ts")?,
    })
}

/// A trade id: text as sent, or a JSON integer.
fn trade_id<'i>(v: Value<'_, 'i>, key: &'static str) -> Result<RawTradeId<'i>, ParseError> {
    if let Some(s) = v.into_string() {
        return Ok(RawTradeId::Text(s));
    }
    u64_value(v, key).map(RawTradeId::Num)
}

/// A venue error code sent as a number or as digit text.
fn error_code(v: Option<Value<'_, '_>>) -> Option<i64> {
    let v = v?;
    v.as_i64().or_else(|| v.into_string()?.parse().ok())
}

/// `{"event":..}` replies: acks and errors.
fn event_message<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    event: Value<'_, '_>,
    out: &mut F,
) -> Result<(), ParseError> {
    let c = match event.into_string().ok_or(ParseError::WrongType("event"))? {
        "subscribe" => Control::new(ControlKind::Ack, "subscribe"),
        "unsubscribe" => Control::new(ControlKind::Ack, "unsubscribe"),
        "error" => Control::new(ControlKind::Error, "error")
            .with_code(error_code(root.get("code")))
            .with_text(root.get("msg").and_then(|v| v.into_string())),
        _ => return Err(ParseError::UnknownMessage),
    };
    out(Decoded::Control(c));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_takes_the_recorded_layouts() {
        for file in [
            include_str!("../../tests/data/bitget/book_ticker.jsonl"),
            include_str!("../../tests/data/bitget/book_ticker.constructed.jsonl"),
            include_str!("../../tests/data/bitget/trades.jsonl"),
        ] {
            for line in file.lines() {
                assert!(fast(line.as_bytes(), &mut |_| {}).is_some(), "{line}");
            }
        }
        // Batches too: the second constructed line holds two trades.
        for line in include_str!("../../tests/data/bitget/trades.constructed.jsonl").lines() {
            let mut n = 0;
            assert!(fast(line.as_bytes(), &mut |_| n += 1).is_some(), "{line}");
            assert!(n >= 1);
        }
    }
}
