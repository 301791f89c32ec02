//! Bybit message parsing: the fast path for one-level `orderbook.1` frames and one-trade
//! `publicTrade` frames, the validating tape path, and the per-symbol L1 book both merge
//! into.

use arb_engine::Side;
use rustc_hash::FxHashMap;
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::decode::{Control, ControlKind, Decoded, RawQuote, RawTrade, RawTradeId};
use crate::error::ParseError;
use crate::json::{FieldExt, u64_value};
use crate::num;
use crate::scan::{Batch, Cursor};

use super::msg::{BOOK_TOPIC_PREFIX, TRADE_TOPIC_PREFIX};

/// One price level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Level {
    px: f64,
    qty: f64,
}

/// What one side of an `orderbook.1` message does to the level held for that side.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SideUpdate {
    /// `[]`: no change (a delta keeps the previous level; a snapshot clears it).
    Keep,
    /// Only zero-quantity levels: the side is gone.
    Delete,
    /// The new best level.
    Set(Level),
}

impl SideUpdate {
    /// The update for a side that lists exactly one level.
    #[inline]
    fn one(px: f64, qty: f64) -> SideUpdate {
        if qty == 0.0 {
            SideUpdate::Delete
        } else {
            SideUpdate::Set(Level { px, qty })
        }
    }

    #[inline]
    fn apply(self, held: &mut Option<Level>) {
        match self {
            SideUpdate::Keep => {}
            SideUpdate::Delete => *held = None,
            SideUpdate::Set(l) => *held = Some(l),
        }
    }
}

/// Best bid and ask held for one symbol; `None` until a level arrives or after a delete.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct L1 {
    bid: Option<Level>,
    ask: Option<Level>,
}

/// Per-connection L1 books by native symbol. A symbol's key is allocated the first time
/// it is seen only.
pub(super) type Books = FxHashMap<Box<str>, L1>;

/// One decoded `orderbook.1` message, before merging.
#[derive(Debug, Clone, Copy)]
struct BookMsg<'a> {
    native: &'a str,
    snapshot: bool,
    /// `u == 1`: the venue restarted its book service; drop what is held first.
    restart: bool,
    bid: SideUpdate,
    ask: SideUpdate,
    exch_ts_ns: i64,
}

/// Merges `m` into the symbol's held L1 and returns the resulting quote.
///
/// A snapshot (or a restart) clears both sides before applying, so an empty side in a
/// snapshot empties it; in a delta an empty side keeps the held level.
///
/// # Errors
/// [`ParseError::EmptySide`] when a side is empty after merging (the state is still
/// updated).
fn merge<'a>(books: &mut Books, m: &BookMsg<'a>) -> Result<RawQuote<'a>, ParseError> {
    let l1 = match books.get_mut(m.native) {
        Some(l1) => l1,
        None => books.entry(Box::from(m.native)).or_default(),
    };
    if m.snapshot || m.restart {
        *l1 = L1::default();
    }
    m.bid.apply(&mut l1.bid);
    m.ask.apply(&mut l1.ask);
    let (Some(bid), Some(ask)) = (l1.bid, l1.ask) else {
        return Err(ParseError::EmptySide);
    };
    Ok(RawQuote {
        native: m.native,
        bid_px: bid.px,
        bid_qty: bid.qty,
        ask_px: ask.px,
        ask_qty: ask.qty,
        exch_ts_ns: m.exch_ts_ns,
    })
}

/// Fast path for the hot messages in Bybit spot's field order: `orderbook.1` with at most
/// one level per side, and `publicTrade` with up to [`FAST_BATCH`](crate::scan::FAST_BATCH) trades. `None` means
/// "not this layout": nothing was emitted, use the validating path. Book state is only
/// touched once the whole frame matched.
#[inline]
pub(super) fn fast<'a, F: FnMut(Decoded<'a>)>(
    frame: &'a [u8],
    books: &mut Books,
    out: &mut F,
) -> Option<Result<(), ParseError>> {
    let mut c = Cursor::new(frame);
    if c.peek_lit(br#"{"topic":"orderbook.1."#) {
        let m = fast_book(&mut c)?;
        c.end()?;
        Some(merge(books, &m).map(|q| out(Decoded::Quote(q))))
    } else {
        fast_trades_head(&mut c)?;
        let first = fast_trade(&mut c)?;
        if c.peek_lit(br#",{"i":""#) {
            return fast_more_trades(&mut c, first, out).map(Ok);
        }
        c.lit(b"]}")?;
        c.end()?;
        out(Decoded::Trade(first));
        Some(Ok(()))
    }
}

#[inline]
fn fast_book<'a>(c: &mut Cursor<'a>) -> Option<BookMsg<'a>> {
    c.lit(br#"{"topic":"orderbook.1."#)?;
    c.str_bytes()?;
    c.lit(br#","ts":"#)?;
    let ts = c.ms_uint()?;
    c.lit(br#","type":""#)?;
    let snapshot = if c.lit(br#"snapshot""#).is_some() {
        true
    } else {
        c.lit(br#"delta""#)?;
        false
    };
    c.lit(br#","data":{"s":""#)?;
    let native = c.str_body()?;
    c.lit(br#","b":"#)?;
    let bid = fast_side(c)?;
    c.lit(br#","a":"#)?;
    let ask = fast_side(c)?;
    c.lit(br#","u":"#)?;
    // Only `u == 1` matters (a restart): the token `1` and the comma that ends it.
    let restart = c.peek_lit(b"1,");
    c.skip_uint_then(br#","seq":"#)?;
    c.skip_uint()?;
    c.lit(b"}")?;
    let exch_ts_ns = if c.lit(br#","cts":"#).is_some() {
        c.ms_uint()?
    } else {
        ts
    };
    c.lit(b"}")?;
    Some(BookMsg {
        native,
        snapshot,
        restart,
        bid,
        ask,
        exch_ts_ns,
    })
}

/// `[]` or `[["px","qty"]]`; deeper lists go to the validating path.
#[inline]
fn fast_side(c: &mut Cursor<'_>) -> Option<SideUpdate> {
    if c.lit(b"[]").is_some() {
        return Some(SideUpdate::Keep);
    }
    c.lit(br#"[[""#)?;
    let px = c.decimal_str_inline()?;
    c.lit(br#",""#)?;
    let qty = c.decimal_str_inline()?;
    c.lit(b"]]")?;
    Some(SideUpdate::one(px, qty))
}

/// A `publicTrade` push up to its first trade's `i` value.
#[inline]
fn fast_trades_head(c: &mut Cursor<'_>) -> Option<()> {
    c.lit(br#"{"topic":"publicTrade."#)?;
    c.str_bytes()?;
    c.lit(br#","ts":"#)?;
    c.skip_uint()?;
    c.lit(br#","type":"snapshot","data":[{"i":""#)
}

/// The rest of a `publicTrade` push of several trades, the first scanned: emits them all
/// once the whole frame has matched.
///
/// NB: out of line, and the batch only built here: buffering every push cost one-trade
/// pushes ~45 instructions (`benches/decode_instructions.sh bybit`).
#[inline(never)]
fn fast_more_trades<'a, F: FnMut(Decoded<'a>)>(
    c: &mut Cursor<'a>,
    first: RawTrade<'a>,
    out: &mut F,
) -> Option<()> {
    let mut batch = Batch::new();
    batch.push(first)?;
    while c.lit(br#",{"i":""#).is_some() {
        batch.push(fast_trade(c)?)?;
    }
    c.lit(b"]}")?;
    c.end()?;
    batch.items().for_each(|t| out(Decoded::Trade(t)));
    Some(())
}

/// One trade item, from its `i` value to its closing brace.
#[inline]
fn fast_trade<'a>(c: &mut Cursor<'a>) -> Option<RawTrade<'a>> {
    let id = c.str_body()?;
    c.lit(br#","T":"#)?;
    let exch_ts_ns = c.ms_uint()?;
    c.lit(br#","p":""#)?;
    let px = c.decimal_str_inline()?;
    c.lit(br#","v":""#)?;
    let qty = c.decimal_str_inline()?;
    c.lit(br#","S":""#)?;
    let side = taker_side(c.str_body()?)?;
    c.lit(br#","s":""#)?;
    let native = c.str_body()?;
    c.lit(br#","BT":"#)?;
    c.boolean()?;
    // Newer spot trades append `RPI` and `seq`.
    if c.lit(br#","RPI":"#).is_some() {
        c.boolean()?;
    }
    if c.lit(br#","seq":"#).is_some() {
        c.skip_uint()?;
    }
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

/// `S`: the taker side, `"Buy"` or `"Sell"`.
#[inline]
fn taker_side(s: &str) -> Option<Side> {
    match s {
        "Buy" => Some(Side::Buy),
        "Sell" => Some(Side::Sell),
        _ => None,
    }
}

/// The validating path: any Bybit v5 public message, any key order.
pub(super) fn validating<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    books: &mut Books,
    out: &mut F,
) -> Result<(), ParseError> {
    if !root.is_object() {
        return Err(ParseError::UnknownMessage);
    }
    let Some(topic) = root.get("topic") else {
        return control(root, out);
    };
    let topic = topic.into_string().ok_or(ParseError::WrongType("topic"))?;
    if topic.starts_with(BOOK_TOPIC_PREFIX) {
        let m = book_msg(root)?;
        out(Decoded::Quote(merge(books, &m)?));
        Ok(())
    } else if topic.starts_with("orderbook.") {
        Err(ParseError::Unsupported("order book deeper than L1"))
    } else if topic.starts_with(TRADE_TOPIC_PREFIX) {
        trades(root, out)
    } else {
        Err(ParseError::Unsupported("channel"))
    }
}

fn book_msg<'i>(root: Value<'_, 'i>) -> Result<BookMsg<'i>, ParseError> {
    let snapshot = match root.str_field("type")? {
        "snapshot" => true,
        "delta" => false,
        _ => return Err(ParseError::UnknownMessage),
    };
    let ts = root.ms_field("ts")?;
    let exch_ts_ns = match root.get("cts") {
        Some(v) => num::ms_to_ns(u64_value(v, "cts")?, "cts")?,
        None => ts,
    };
    let data = root.req("data")?;
    if !data.is_object() {
        return Err(ParseError::WrongType("data"));
    }
    let native = data.str_field("s")?;
    let bid = side_update(data.req("b")?, "b", Side::Buy)?;
    let ask = side_update(data.req("a")?, "a", Side::Sell)?;
    let u = data.u64_field("u")?;
    Ok(BookMsg {
        native,
        snapshot,
        restart: u == 1,
        bid,
        ask,
        exch_ts_ns,
    })
}

/// Reads one side's level list. With several levels the best non-zero one wins (highest
/// bid, lowest ask); a list of zero-quantity levels only deletes the side. For a single
/// level this is exactly [`SideUpdate::one`], as on the fast path.
fn side_update(
    levels: Value<'_, '_>,
    key: &'static str,
    side: Side,
) -> Result<SideUpdate, ParseError> {
    let levels = levels.as_array().ok_or(ParseError::WrongType(key))?;
    let mut any = false;
    let mut best: Option<Level> = None;
    for level in levels.iter() {
        let (px, qty) = level_px_qty(level, key)?;
        any = true;
        if qty == 0.0 {
            continue;
        }
        let better = match (best, side) {
            (None, _) => true,
            (Some(b), Side::Buy) => px > b.px,
            (Some(b), Side::Sell) => px < b.px,
        };
        if better {
            best = Some(Level { px, qty });
        }
    }
    Ok(match (best, any) {
        (Some(l), _) => SideUpdate::Set(l),
        (None, true) => SideUpdate::Delete,
        (None, false) => SideUpdate::Keep,
    })
}

/// A `[px, qty]` level.
fn level_px_qty(level: Value<'_, '_>, key: &'static str) -> Result<(f64, f64), ParseError> {
    let level = level.as_array().ok_or(ParseError::WrongType(key))?;
    let (Some(px), Some(qty)) = (level.get(0), level.get(1)) else {
        return Err(ParseError::WrongType(key));
    };
    Ok((
        crate::json::decimal_value(px, key)?,
        crate::json::decimal_value(qty, key)?,
    ))
}

/// `publicTrade`: every item of `data`, in order; stops at the first bad one.
fn trades<F: FnMut(Decoded<'_>)>(root: Value<'_, '_>, out: &mut F) -> Result<(), ParseError> {
    let data = root.req("data")?;
    let items = data.as_array().ok_or(ParseError::WrongType("data"))?;
    for item in items.iter() {
        let trade = RawTrade {
            native: item.str_field("s")?,
            px: item.decimal_field("p")?,
            qty: item.decimal_field("v")?,
            side: taker_side(item.str_field("S")?).ok_or(ParseError::BadValue("S"))?,
            trade_id: trade_id(item.req("i")?, "i")?,
            exch_ts_ns: item.ms_field("T")?,
        };
        out(Decoded::Trade(trade));
    }
    Ok(())
}

/// A trade id: text as sent (spot ids are numeric-looking text, linear ids UUIDs), or a
/// JSON integer.
fn trade_id<'i>(v: Value<'_, 'i>, key: &'static str) -> Result<RawTradeId<'i>, ParseError> {
    if let Some(s) = v.into_string() {
        return Ok(RawTradeId::Text(s));
    }
    u64_value(v, key).map(RawTradeId::Num)
}

/// Replies to our requests (`success` present) and our own requests as recorded.
fn control<F: FnMut(Decoded<'_>)>(root: Value<'_, '_>, out: &mut F) -> Result<(), ParseError> {
    let op = match root.get("op") {
        Some(v) => Some(v.into_string().ok_or(ParseError::WrongType("op"))?),
        None => None,
    };
    let req_id = root.get("req_id").and_then(|v| v.into_string());
    let Some(success) = root.get("success") else {
        let c = match op {
            // Linear/inverse answer pings with `"op":"pong"` and no `success`.
            Some("pong") => Control::new(ControlKind::Pong, "pong"),
            Some(op) => Control::new(ControlKind::Info, "client_request").with_text(Some(op)),
            None => return Err(ParseError::UnknownMessage),
        };
        out(Decoded::Control(c.with_id(req_id)));
        return Ok(());
    };
    let success = success.as_bool().ok_or(ParseError::WrongType("success"))?;
    let ret_msg = root.get("ret_msg").and_then(|v| v.into_string());
    let c = if !success {
        Control::new(ControlKind::Error, "error").with_text(ret_msg)
    } else {
        match op {
            // Spot pongs carry `"op":"ping"` and `"ret_msg":"pong"`.
            Some("ping" | "pong") => Control::new(ControlKind::Pong, "pong"),
            Some("subscribe") => Control::new(ControlKind::Ack, "subscribe"),
            Some("unsubscribe") => Control::new(ControlKind::Ack, "unsubscribe"),
            _ => return Err(ParseError::UnknownMessage),
        }
    };
    out(Decoded::Control(c.with_id(req_id)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast_lines(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.trim().is_empty()).collect()
    }

    #[test]
    fn fast_path_takes_the_recorded_layouts() {
        let mut books = Books::default();
        for file in [
            include_str!("../../tests/data/bybit/book_ticker.jsonl"),
            include_str!("../../tests/data/bybit/book_ticker.constructed.jsonl"),
        ] {
            for line in fast_lines(file) {
                assert!(
                    fast(line.as_bytes(), &mut books, &mut |_| {}).is_some(),
                    "{line}"
                );
            }
        }
        // Batches of up to `FAST_BATCH` trades too; the older linear layout takes the tape
        // path.
        let trades = fast_lines(include_str!("../../tests/data/bybit/trades.jsonl"));
        let constructed = fast_lines(include_str!(
            "../../tests/data/bybit/trades.constructed.jsonl"
        ));
        for (line, fast_items) in [
            (trades[0], Some(4)),
            (trades[1], Some(1)),
            (trades[2], None),
            (constructed[0], Some(1)),
            (constructed[1], Some(2)),
        ] {
            let mut n = 0;
            let took = fast(line.as_bytes(), &mut books, &mut |_| n += 1).is_some();
            assert_eq!(took.then_some(n), fast_items, "{line}");
        }
    }

    #[test]
    fn fast_path_leaves_state_alone_on_a_partial_match() {
        let mut books = Books::default();
        let cut = br#"{"topic":"orderbook.1.X","ts":1,"type":"snapshot","data":{"s":"X","b":[["1","1"]],"a":[["2","1"]],"u":2,"seq":1}"#;
        assert!(fast(cut, &mut books, &mut |_| {}).is_none());
        assert!(books.is_empty());
    }
}
