//! Gate message parsing: the layout-specific fast path for `spot.book_ticker` and
//! `spot.trades` updates, and the validating tape path for everything.

use arb_engine::Side;
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::decode::{Control, ControlKind, Decoded, RawQuote, RawTrade, RawTradeId};
use crate::error::ParseError;
use crate::json::{FieldExt, decimal_value, u64_value};
use crate::num;
use crate::scan::Cursor;

/// Nanoseconds per second, for Gate's second-resolution `time`/`create_time`.
const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Fast path for the hot messages in Gate's field order: `spot.book_ticker` and
/// `spot.trades` updates, with or without the envelope's `time_ms`. `None` means "not this
/// layout": use the validating path.
#[inline]
pub(super) fn fast(frame: &[u8]) -> Option<Decoded<'_>> {
    let mut c = Cursor::new(frame);
    c.lit(br#"{"time":"#)?;
    c.skip_uint()?;
    if c.lit(br#","time_ms":"#).is_some() {
        c.skip_uint()?;
    }
    c.lit(br#","channel":"spot."#)?;
    let item = if c
        .lit(br#"book_ticker","event":"update","result":{"t":"#)
        .is_some()
    {
        fast_book_ticker(&mut c)?
    } else {
        c.lit(br#"trades","event":"update","result":{"id":"#)?;
        fast_trade(&mut c)?
    };
    c.lit(b"}}")?;
    c.end()?;
    Some(item)
}

#[inline]
fn fast_book_ticker<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    let exch_ts_ns = c.ms_uint()?;
    c.lit(br#","u":"#)?;
    c.skip_uint()?;
    c.lit(br#","s":""#)?;
    let native = c.str_body()?;
    c.lit(br#","b":""#)?;
    let bid_px = c.decimal_str()?;
    c.lit(br#","B":""#)?;
    let bid_qty = c.decimal_str()?;
    c.lit(br#","a":""#)?;
    let ask_px = c.decimal_str()?;
    c.lit(br#","A":""#)?;
    let ask_qty = c.decimal_str()?;
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
    let id = c.uint()?;
    c.lit(br#","create_time":"#)?;
    c.skip_uint()?;
    c.lit(br#","create_time_ms":""#)?;
    let exch_ts_ns = num::parse_ms_fraction_text(c.str_bytes()?, "").ok()?;
    c.lit(br#","side":""#)?;
    let side = c.side_lower()?;
    c.lit(br#","currency_pair":""#)?;
    let native = c.str_body()?;
    c.lit(br#","amount":""#)?;
    let qty = c.decimal_str_inline()?;
    c.lit(br#","price":""#)?;
    let px = c.decimal_str_inline()?;
    Some(Decoded::Trade(RawTrade {
        native,
        px,
        qty,
        side,
        trade_id: RawTradeId::Num(id),
        exch_ts_ns,
    }))
}

/// The validating path: any Gate v4 spot message, any key order.
pub(super) fn validating<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    out: &mut F,
) -> Result<(), ParseError> {
    if !root.is_object() {
        return Err(ParseError::UnknownMessage);
    }
    let channel = root.str_field("channel")?;
    let id = root.get("id").and_then(|v| v.into_string());
    if let Some(error) = present(root.get("error")) {
        let c = Control::new(ControlKind::Error, "error")
            .with_id(id)
            .with_id_num(root.get("id").and_then(|v| v.as_u64()))
            .with_code(error_code(error.get("code")))
            .with_text(error.get("message").and_then(|v| v.into_string()));
        out(Decoded::Control(c));
        return Ok(());
    }
    let result = present(root.get("result"));
    match channel {
        "spot.pong" => {
            out(Decoded::Control(
                Control::new(ControlKind::Pong, "pong").with_id(id),
            ));
            return Ok(());
        }
        // Our own heartbeat as recorded; the server never sends one.
        "spot.ping" if result.is_none() => {
            out(Decoded::Control(client_request(id, channel)));
            return Ok(());
        }
        _ => {}
    }
    let event = match root.get("event") {
        Some(v) => v.into_string().ok_or(ParseError::WrongType("event"))?,
        None => return Err(ParseError::UnknownMessage),
    };
    match event {
        "subscribe" | "unsubscribe" => {
            let what = if event == "subscribe" {
                "subscribe"
            } else {
                "unsubscribe"
            };
            let c = match result {
                Some(result) => {
                    let status = result.str_field("status")?;
                    if status == "success" {
                        Control::new(ControlKind::Ack, what).with_id(id)
                    } else {
                        Control::new(ControlKind::Error, "error")
                            .with_id(id)
                            .with_text(Some(status))
                    }
                }
                // Our own request as recorded: it has a `payload` and no verdict.
                None if root.contains_key("payload") => client_request(id, event),
                None => return Err(ParseError::UnknownMessage),
            };
            out(Decoded::Control(c));
            Ok(())
        }
        "update" | "all" => update(root, channel, out),
        _ => Err(ParseError::UnknownMessage),
    }
}

/// The value unless it is absent or JSON `null` (Gate sends `"error":null`, `"result":null`).
fn present<'t, 'i>(v: Option<Value<'t, 'i>>) -> Option<Value<'t, 'i>> {
    v.filter(|v| v.as_null().is_none())
}

fn client_request<'a>(id: Option<&'a str>, text: &'a str) -> Control<'a> {
    Control::new(ControlKind::Info, "client_request")
        .with_id(id)
        .with_text(Some(text))
}

/// A venue error code sent as a number or as digit text.
fn error_code(v: Option<Value<'_, '_>>) -> Option<i64> {
    let v = v?;
    v.as_i64().or_else(|| v.into_string()?.parse().ok())
}

/// Market-data pushes, routed by channel.
fn update<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    channel: &str,
    out: &mut F,
) -> Result<(), ParseError> {
    #[derive(Clone, Copy)]
    enum Channel {
        BookTicker,
        Trades,
        Tickers,
    }
    let ch = match channel {
        "spot.book_ticker" => Channel::BookTicker,
        "spot.trades" => Channel::Trades,
        "spot.tickers" => Channel::Tickers,
        "spot.order_book_update" | "spot.obu" | "spot.order_book" => {
            return Err(ParseError::Unsupported("order book deeper than L1"));
        }
        _ => return Err(ParseError::Unsupported("channel")),
    };
    let result = root.req("result")?;
    if !result.is_object() {
        return Err(ParseError::WrongType("result"));
    }
    let d = match ch {
        Channel::BookTicker => Decoded::Quote(book_ticker(result)?),
        Channel::Trades => Decoded::Trade(trade(result)?),
        Channel::Tickers => Decoded::Quote(tickers(root, result)?),
    };
    out(d);
    Ok(())
}

fn book_ticker<'i>(r: Value<'_, 'i>) -> Result<RawQuote<'i>, ParseError> {
    let native = r.str_field("s")?;
    let bid_px = price(r, "b")?;
    let ask_px = price(r, "a")?;
    let exch_ts_ns = r.ms_field("t")?;
    let (Some(bid_px), Some(ask_px)) = (bid_px, ask_px) else {
        return Err(ParseError::EmptySide);
    };
    Ok(RawQuote {
        native,
        bid_px,
        bid_qty: r.decimal_field("B")?,
        ask_px,
        ask_qty: r.decimal_field("A")?,
        exch_ts_ns,
    })
}

/// A price field; an empty price (`""`, nothing on that side of an illiquid pair) is `None`.
fn price(r: Value<'_, '_>, key: &'static str) -> Result<Option<f64>, ParseError> {
    let v = r.req(key)?;
    if v.into_string() == Some("") {
        return Ok(None);
    }
    decimal_value(v, key).map(Some)
}

fn trade<'i>(r: Value<'_, 'i>) -> Result<RawTrade<'i>, ParseError> {
    let id = r.req("id")?;
    let trade_id = match id.into_string() {
        Some(s) => RawTradeId::Text(s),
        None => RawTradeId::Num(u64_value(id, "id")?),
    };
    Ok(RawTrade {
        native: r.str_field("currency_pair")?,
        px: r.decimal_field("price")?,
        qty: r.decimal_field("amount")?,
        side: Side::from_text(r.str_field("side")?).ok_or(ParseError::BadValue("side"))?,
        trade_id,
        exch_ts_ns: trade_time(r)?,
    })
}

/// `create_time_ms` (ms with a fraction, as text) to the ns, else `create_time` (s).
fn trade_time(r: Value<'_, '_>) -> Result<i64, ParseError> {
    const KEY: &str = "create_time_ms";
    match r.get(KEY) {
        Some(v) => match v.into_string() {
            Some(s) => num::parse_ms_fraction_text(s.as_bytes(), KEY),
            None => num::ms_to_ns(u64_value(v, KEY)?, KEY),
        },
        None => secs_to_ns(r.u64_field("create_time")?, "create_time"),
    }
}

fn secs_to_ns(s: u64, key: &'static str) -> Result<i64, ParseError> {
    i64::try_from(s)
        .ok()
        .and_then(|s| s.checked_mul(NANOS_PER_SEC))
        .ok_or(ParseError::BadValue(key))
}

/// A `spot.tickers` push as a quote: best prices only.
///
/// The channel carries no sizes at the best prices, so `bid_qty` and `ask_qty` are `0.0`
/// ("size unknown"), not a real empty level. The result has no time of its own, so the
/// exchange time is the envelope's push time (`time_ms`, else `time` in seconds).
fn tickers<'i>(root: Value<'_, 'i>, r: Value<'_, 'i>) -> Result<RawQuote<'i>, ParseError> {
    let native = r.str_field("currency_pair")?;
    let bid_px = price(r, "highest_bid")?;
    let ask_px = price(r, "lowest_ask")?;
    let exch_ts_ns = match root.get("time_ms") {
        Some(v) => num::ms_to_ns(u64_value(v, "time_ms")?, "time_ms")?,
        None => secs_to_ns(root.u64_field("time")?, "time")?,
    };
    let (Some(bid_px), Some(ask_px)) = (bid_px, ask_px) else {
        return Err(ParseError::EmptySide);
    };
    Ok(RawQuote {
        native,
        bid_px,
        bid_qty: 0.0,
        ask_px,
        ask_qty: 0.0,
        exch_ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_takes_the_recorded_layouts() {
        for file in [
            include_str!("../../tests/data/gateio/book_ticker.jsonl"),
            include_str!("../../tests/data/gateio/book_ticker.constructed.jsonl"),
            include_str!("../../tests/data/gateio/trades.jsonl"),
        ] {
            for line in file.lines() {
                assert!(fast(line.as_bytes()).is_some(), "{line}");
            }
        }
    }
}
