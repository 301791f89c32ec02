//! Binance message parsing: the layout-specific fast path and the validating tape path.

use arb_engine::Side;
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::decode::{Control, ControlKind, Decoded, RawQuote, RawTrade, RawTradeId};
use crate::error::ParseError;
use crate::json::FieldExt;
use crate::scan::Cursor;

/// Fast path for the hot messages: combined or raw `bookTicker`, and combined or raw
/// `trade` in Binance's exact field order. `None` means "not this layout": use the
/// validating path.
///
/// NB: with its decimals, strings and update id inlined it makes no call, so inlining it
/// into the decoder costs no reloads of the decoder's arguments (as a separate function
/// it took ~95 instructions more, `benches/decode_instructions.sh binance`).
#[inline]
pub(super) fn fast(frame: &[u8]) -> Option<Decoded<'_>> {
    let mut c = Cursor::new(frame);
    let combined = if c.lit(br#"{"stream":""#).is_some() {
        c.str_bytes()?;
        c.lit(br#","data":"#)?;
        true
    } else {
        false
    };
    let item = if c.peek_lit(br#"{"u":"#) {
        fast_book_ticker(&mut c)?
    } else {
        fast_trade(&mut c)?
    };
    if combined {
        c.lit(b"}")?;
    }
    c.end()?;
    Some(item)
}

#[inline]
fn fast_book_ticker<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    c.lit(br#"{"u":"#)?;
    c.skip_uint_then(br#","s":""#)?;
    let native = c.str_body()?;
    c.lit(br#","b":""#)?;
    let bid_px = c.decimal_str_inline()?;
    c.lit(br#","B":""#)?;
    let bid_qty = c.decimal_str_inline()?;
    c.lit(br#","a":""#)?;
    let ask_px = c.decimal_str_inline()?;
    c.lit(br#","A":""#)?;
    let ask_qty = c.decimal_str_inline()?;
    c.lit(b"}")?;
    Some(Decoded::Quote(RawQuote {
        native,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns: 0,
    }))
}

#[inline]
fn fast_trade<'a>(c: &mut Cursor<'a>) -> Option<Decoded<'a>> {
    c.lit(br#"{"e":"trade","E":"#)?;
    c.skip_uint_then(br#","s":""#)?;
    let native = c.str_body()?;
    c.lit(br#","t":"#)?;
    let id = c.uint()?;
    c.lit(br#","p":""#)?;
    let px = c.decimal_str_inline()?;
    c.lit(br#","q":""#)?;
    let qty = c.decimal_str_inline()?;
    c.lit(br#","T":"#)?;
    let exch_ts_ns = c.ms_uint()?;
    c.lit(br#","m":"#)?;
    let maker = c.boolean()?;
    c.lit(br#","M":"#)?;
    c.boolean()?;
    c.lit(b"}")?;
    Some(Decoded::Trade(RawTrade {
        native,
        px,
        qty,
        side: Side::taker_from_buyer_is_maker(maker),
        trade_id: RawTradeId::Num(id),
        exch_ts_ns,
    }))
}

/// The validating path: any Binance spot message, any key order.
pub(super) fn validating<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    out: &mut F,
) -> Result<(), ParseError> {
    if !root.is_object() {
        return Err(ParseError::UnknownMessage);
    }
    // Combined-stream envelope.
    let payload = match root.get("stream") {
        Some(stream) => {
            stream
                .into_string()
                .ok_or(ParseError::WrongType("stream"))?;
            root.req("data")?
        }
        None => root,
    };
    if let Some(e) = payload.get("e") {
        let event = e.into_string().ok_or(ParseError::WrongType("e"))?;
        return match event {
            "trade" => trade(payload, "t", out),
            "aggTrade" => trade(payload, "a", out),
            "serverShutdown" => {
                out(Decoded::Control(Control::new(
                    ControlKind::Info,
                    "server_shutdown",
                )));
                Ok(())
            }
            "depthUpdate" => Err(ParseError::Unsupported("depth stream")),
            "24hrTicker" | "24hrMiniTicker" => Err(ParseError::Unsupported("24h ticker stream")),
            "kline" => Err(ParseError::Unsupported("kline stream")),
            _ => Err(ParseError::UnknownMessage),
        };
    }
    if payload.contains_key("u") && payload.contains_key("b") && payload.contains_key("a") {
        payload.u64_field("u")?;
        let quote = RawQuote {
            native: payload.str_field("s")?,
            bid_px: payload.decimal_field("b")?,
            bid_qty: payload.decimal_field("B")?,
            ask_px: payload.decimal_field("a")?,
            ask_qty: payload.decimal_field("A")?,
            exch_ts_ns: 0,
        };
        out(Decoded::Quote(quote));
        return Ok(());
    }
    if payload.contains_key("lastUpdateId") {
        return Err(ParseError::Unsupported("partial depth snapshot"));
    }
    control(root, out)
}

fn trade<F: FnMut(Decoded<'_>)>(
    p: Value<'_, '_>,
    id_key: &'static str,
    out: &mut F,
) -> Result<(), ParseError> {
    let trade = RawTrade {
        native: p.str_field("s")?,
        px: p.decimal_field("p")?,
        qty: p.decimal_field("q")?,
        side: Side::taker_from_buyer_is_maker(p.bool_field("m")?),
        trade_id: RawTradeId::Num(p.u64_field(id_key)?),
        exch_ts_ns: p.ms_field("T")?,
    };
    out(Decoded::Trade(trade));
    Ok(())
}

fn control<F: FnMut(Decoded<'_>)>(root: Value<'_, '_>, out: &mut F) -> Result<(), ParseError> {
    let id = root.get("id");
    let id_text = id.and_then(|v| v.into_string());
    if root.contains_key("result") && id.is_some() {
        out(Decoded::Control(
            Control::new(ControlKind::Ack, "subscribe").with_id(id_text),
        ));
        return Ok(());
    }
    if let (Some(code), Some(msg)) = (root.get("code"), root.get("msg")) {
        let c = Control::new(ControlKind::Error, "error")
            .with_id(id_text)
            .with_id_num(id.and_then(|v| v.as_u64()))
            .with_code(code.as_i64())
            .with_text(msg.into_string());
        out(Decoded::Control(c));
        return Ok(());
    }
    if root.contains_key("method") {
        let c = Control::new(ControlKind::Info, "client_request")
            .with_id(id_text)
            .with_text(root.get("method").and_then(|m| m.into_string()));
        out(Decoded::Control(c));
        return Ok(());
    }
    Err(ParseError::UnknownMessage)
}
