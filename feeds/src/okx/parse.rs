//! OKX message parsing: the layout-specific fast path for one-item `bbo-tbt`, `tickers` and
//! `trades` pushes, the validating tape path, and the text heartbeat.

use arb_engine::Side;
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::decode::{Control, ControlKind, Decoded, RawQuote, RawTrade, RawTradeId};
use crate::error::ParseError;
use crate::json::{FieldExt, flat_quote, top_of_book, u64_value};
use crate::scan::{Batch, Cursor};

/// Returns `true` for a spot instrument id, `BASE-QUOTE`. Swaps (`BTC-USD-SWAP`),
/// futures (`BTC-USD-220527`) and options have more dash-separated parts.
#[inline]
fn is_spot_id(inst: &str) -> bool {
    match inst.split_once('-') {
        Some((base, quote)) => !base.is_empty() && !quote.is_empty() && !quote.contains('-'),
        None => false,
    }
}

/// The text heartbeat frames: the server's `pong`, and our own `ping` as recorded.
#[inline]
pub(super) fn text_heartbeat(frame: &[u8]) -> Option<Control<'static>> {
    match frame {
        b"pong" => Some(Control::new(ControlKind::Pong, "pong")),
        b"ping" => Some(Control::new(ControlKind::Info, "client_request").with_text(Some("ping"))),
        _ => None,
    }
}

/// Fast path for the hot messages in OKX's field order: one-item `bbo-tbt`, spot
/// `tickers` and `trades` pushes (up to [`FAST_BATCH`](crate::scan::FAST_BATCH) trades) of spot instruments. `None`
/// means "not this layout": nothing was emitted, use the validating path.
#[inline]
pub(super) fn fast<'a, F: FnMut(Decoded<'a>)>(frame: &'a [u8], out: &mut F) -> Option<()> {
    let mut c = Cursor::new(frame);
    if c.peek_lit(br#"{"event":"subscribe","arg":{"channel":""#) {
        out(Decoded::Control(fast_subscribe_ack(&mut c)?));
        return Some(());
    }
    c.lit(br#"{"arg":{"channel":""#)?;
    if c.lit(br#"trades","instId":""#).is_some() {
        fast_arg_inst(&mut c)?;
        let first = fast_trade(&mut c)?;
        if c.peek_lit(b"},{") {
            return fast_more_trades(&mut c, first, out);
        }
        c.lit(b"}]}")?;
        c.end()?;
        out(Decoded::Trade(first));
        return Some(());
    }
    let item = if c.lit(br#"bbo-tbt","instId":""#).is_some() {
        fast_bbo(&mut c)?
    } else {
        c.lit(br#"tickers","instId":""#)?;
        fast_ticker(&mut c)?
    };
    c.end()?;
    out(item);
    Some(())
}

/// A subscribe ack as OKX sends one per channel and instrument, with or without
/// `connId`; no `id` (the validating path would echo it).
///
/// NB: one ack per symbol and channel, ~2 000 instructions each on the tape path: about
/// a tenth of the frames of a fresh capture (`benches/instructions.sh`).
#[cold]
#[inline(never)]
fn fast_subscribe_ack(c: &mut Cursor<'_>) -> Option<Control<'static>> {
    c.lit(br#"{"event":"subscribe","arg":{"channel":""#)?;
    c.skip_str()?;
    c.lit(br#","instId":""#)?;
    c.skip_str()?;
    c.lit(b"}")?;
    if c.lit(br#","connId":""#).is_some() {
        c.skip_str()?;
    }
    c.lit(b"}")?;
    c.end()?;
    Some(Control::new(ControlKind::Ack, "subscribe"))
}

/// The spot instrument id of `arg`, up to the start of the first data item.
#[inline]
fn fast_arg_inst<'a>(c: &mut Cursor<'a>) -> Option<&'a str> {
    let inst = c.str_body()?;
    if !is_spot_id(inst) {
        return None;
    }
    c.lit(br#"},"data":[{"#)?;
    Some(inst)
}

#[inline]
fn fast_bbo<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    let native = fast_arg_inst(c)?;
    c.lit(br#""asks":[[""#)?;
    let (ask_px, ask_qty) = fast_level(c)?;
    c.lit(br#"]],"bids":[[""#)?;
    let (bid_px, bid_qty) = fast_level(c)?;
    c.lit(br#"]],"ts":""#)?;
    let exch_ts_ns = c.ms_str()?;
    if c.lit(br#","seqId":"#).is_some() {
        c.skip_uint()?;
    }
    c.lit(b"}]}")?;
    Some(Decoded::Quote(RawQuote {
        native,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns,
    }))
}

/// The body of a `[px, sz, "0", orders]` level after its opening `["`.
#[inline]
fn fast_level(c: &mut Cursor<'_>) -> Option<(f64, f64)> {
    let px = c.decimal_str_inline()?;
    c.lit(br#",""#)?;
    let qty = c.decimal_str_inline()?;
    c.lit(br#",""#)?;
    c.str_bytes()?;
    c.lit(br#",""#)?;
    c.str_bytes()?;
    Some((px, qty))
}

/// Consumes `key` (a `,"name":"` literal) and a string value it does not need.
#[inline]
fn skip_str(c: &mut Cursor<'_>, key: &[u8]) -> Option<()> {
    c.lit(key)?;
    c.str_body().map(|_| ())
}

#[inline]
fn fast_ticker<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    fast_arg_inst(c)?;
    c.lit(br#""instType":"SPOT","instId":""#)?;
    let native = c.str_body()?;
    skip_str(c, br#","last":""#)?;
    skip_str(c, br#","lastSz":""#)?;
    c.lit(br#","askPx":""#)?;
    let ask_px = c.decimal_str_inline()?;
    c.lit(br#","askSz":""#)?;
    let ask_qty = c.decimal_str_inline()?;
    c.lit(br#","bidPx":""#)?;
    let bid_px = c.decimal_str_inline()?;
    c.lit(br#","bidSz":""#)?;
    let bid_qty = c.decimal_str_inline()?;
    for key in [
        &br#","open24h":""#[..],
        br#","high24h":""#,
        br#","low24h":""#,
        br#","sodUtc0":""#,
        br#","sodUtc8":""#,
        br#","volCcy24h":""#,
        br#","vol24h":""#,
    ] {
        skip_str(c, key)?;
    }
    c.lit(br#","ts":""#)?;
    let exch_ts_ns = c.ms_str()?;
    c.lit(b"}]}")?;
    Some(Decoded::Quote(RawQuote {
        native,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns,
    }))
}

/// The rest of a `trades` push of several trades, the first scanned: emits them all once
/// the whole frame has matched.
///
/// NB: out of line, and the batch only built here: buffering every push cost one-trade
/// pushes ~90 instructions (`benches/decode_instructions.sh okx`).
#[inline(never)]
fn fast_more_trades<'a, F: FnMut(Decoded<'a>)>(
    c: &mut Cursor<'a>,
    first: RawTrade<'a>,
    out: &mut F,
) -> Option<()> {
    let mut batch = Batch::new();
    batch.push(first)?;
    while c.lit(b"},{").is_some() {
        batch.push(fast_trade(c)?)?;
    }
    c.lit(b"}]}")?;
    c.end()?;
    batch.items().for_each(|t| out(Decoded::Trade(t)));
    Some(())
}

/// One trade item, between its braces.
#[inline]
fn fast_trade<'a>(c: &mut Cursor<'a>) -> Option<RawTrade<'a>> {
    c.lit(br#""instId":""#)?;
    let native = c.str_body()?;
    c.lit(br#","tradeId":""#)?;
    let id = c.str_body()?;
    c.lit(br#","px":""#)?;
    let px = c.decimal_str_inline()?;
    c.lit(br#","sz":""#)?;
    let qty = c.decimal_str_inline()?;
    c.lit(br#","side":""#)?;
    let side = c.side_lower()?;
    c.lit(br#","ts":""#)?;
    let exch_ts_ns = c.ms_str()?;
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
    Bbo,
    Tickers,
    Trades,
}

/// The validating path: any OKX v5 public message, any key order.
pub(super) fn validating<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    out: &mut F,
) -> Result<(), ParseError> {
    if !root.is_object() {
        return Err(ParseError::UnknownMessage);
    }
    if let Some(event) = root.get("event") {
        return event_message(root, event, out);
    }
    if let Some(op) = root.get("op") {
        let op = op.into_string().ok_or(ParseError::WrongType("op"))?;
        let c = Control::new(ControlKind::Info, "client_request")
            .with_id(root.get("id").and_then(|v| v.into_string()))
            .with_text(Some(op));
        out(Decoded::Control(c));
        return Ok(());
    }
    let Some(arg) = root.get("arg") else {
        return Err(ParseError::UnknownMessage);
    };
    if !arg.is_object() {
        return Err(ParseError::WrongType("arg"));
    }
    let channel = match arg.str_field("channel")? {
        "bbo-tbt" => Channel::Bbo,
        "tickers" => Channel::Tickers,
        "trades" | "trades-all" => Channel::Trades,
        c if c.starts_with("books") => {
            return Err(ParseError::Unsupported("order book deeper than L1"));
        }
        _ => return Err(ParseError::Unsupported("channel")),
    };
    let inst = arg.str_field("instId")?;
    if !is_spot_id(inst) {
        return Err(ParseError::Unsupported("instrument type"));
    }
    let data = root.req("data")?;
    let items = data.as_array().ok_or(ParseError::WrongType("data"))?;
    for item in items.iter() {
        let d = match channel {
            Channel::Bbo => Decoded::Quote(top_of_book(item, inst)?),
            Channel::Tickers => Decoded::Quote(ticker(item)?),
            Channel::Trades => Decoded::Trade(trade(item)?),
        };
        out(d);
    }
    Ok(())
}

/// One `tickers` item; only spot is consumed.
fn ticker<'i>(item: Value<'_, 'i>) -> Result<RawQuote<'i>, ParseError> {
    if item.str_field("instType")? != "SPOT" {
        return Err(ParseError::Unsupported("instrument type"));
    }
    flat_quote(
        item,
        item.str_field("instId")?,
        ("bidPx", "bidSz"),
        ("askPx", "askSz"),
    )
}

fn trade<'i>(item: Value<'_, 'i>) -> Result<RawTrade<'i>, ParseError> {
    Ok(RawTrade {
        native: item.str_field("instId")?,
        px: item.decimal_field("px")?,
        qty: item.decimal_field("sz")?,
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

/// A venue error code sent as a number or (OKX's habit) as digit text.
fn error_code(v: Option<Value<'_, '_>>) -> Option<i64> {
    let v = v?;
    v.as_i64().or_else(|| v.into_string()?.parse().ok())
}

/// `{"event":..}` replies: acks, errors, notices.
fn event_message<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    event: Value<'_, '_>,
    out: &mut F,
) -> Result<(), ParseError> {
    let event = event.into_string().ok_or(ParseError::WrongType("event"))?;
    let id = root.get("id").and_then(|v| v.into_string());
    let c = match event {
        "subscribe" => Control::new(ControlKind::Ack, "subscribe"),
        "unsubscribe" => Control::new(ControlKind::Ack, "unsubscribe"),
        "error" => Control::new(ControlKind::Error, "error"),
        // E.g. 64008: the connection will soon be closed for a service upgrade.
        "notice" => Control::new(ControlKind::Info, "notice"),
        _ => return Err(ParseError::UnknownMessage),
    };
    let c = match c.kind {
        ControlKind::Error | ControlKind::Info => c
            .with_code(error_code(root.get("code")))
            .with_text(root.get("msg").and_then(|v| v.into_string())),
        _ => c,
    };
    out(Decoded::Control(c.with_id(id)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_ids_have_two_parts() {
        assert!(is_spot_id("BTC-USDT"));
        assert!(is_spot_id("1INCH-USDT"));
        for id in [
            "BTC-USD-SWAP",
            "BTC-USD-220527",
            "BTC-USD-220527-30000-C",
            "BTCUSDT",
            "-USDT",
            "BTC-",
        ] {
            assert!(!is_spot_id(id), "{id}");
        }
    }

    #[test]
    fn fast_path_takes_the_recorded_layouts() {
        let books = include_str!("../../tests/data/okx/book_ticker.jsonl");
        let constructed = include_str!("../../tests/data/okx/book_ticker.constructed.jsonl");
        for line in books.lines().chain(constructed.lines()) {
            assert!(fast(line.as_bytes(), &mut |_| {}).is_some(), "{line}");
        }
        let ack = br#"{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#;
        let mut got = Vec::new();
        assert!(fast(ack, &mut |d| got.push(format!("{d:?}"))).is_some());
        let mut want = Vec::new();
        let mut json = crate::json::JsonScratch::default();
        json.parse(ack, |root| {
            validating(root, &mut |d| want.push(format!("{d:?}")))
        })
        .unwrap();
        assert_eq!(got, want);
        let trades = include_str!("../../tests/data/okx/trades.jsonl");
        for line in trades.lines().filter(|l| l.starts_with(r#"{"arg""#)) {
            assert!(fast(line.as_bytes(), &mut |_| {}).is_some(), "{line}");
        }
    }
}
