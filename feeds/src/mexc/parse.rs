//! MEXC message parsing: protobuf pushes, and JSON text (control replies, plus the docs'
//! JSON renderings of decoded pushes), both reduced to the same header and body values so
//! the two encodings of one push decode identically.

use arb_engine::Side;
use simd_json::prelude::*;
use simd_json::tape::Value;

use super::proto::{Field, Reader, book_ticker, deals, wrapper};
use crate::decode::{Control, ControlKind, Decoded, RawQuote, RawTrade, RawTradeId};
use crate::error::ParseError;
use crate::num;
use crate::scan::{Batch, Cursor};

/// Wrapper header values; `""` / 0 when absent, as proto3 leaves defaults out.
#[derive(Debug, Default, Clone, Copy)]
struct Header<'a> {
    channel: &'a str,
    symbol: &'a str,
    create_ms: i64,
    send_ms: i64,
}

impl<'a> Header<'a> {
    /// The native symbol: `symbol`, else the channel text after its last `@`.
    fn native(&self) -> Result<&'a str, ParseError> {
        if !self.symbol.is_empty() {
            return Ok(self.symbol);
        }
        match self.channel.rsplit_once('@') {
            Some((_, s)) if !s.is_empty() => Ok(s),
            _ => Err(ParseError::MissingField("symbol")),
        }
    }

    /// Quote timestamp: `sendTime`, else `createTime`, else 0.
    fn quote_ts_ns(&self) -> Result<i64, ParseError> {
        if self.send_ms != 0 {
            ms_to_ns(self.send_ms, "sendTime")
        } else {
            ms_to_ns(self.create_ms, "createTime")
        }
    }
}

/// The body a push carries, as protobuf bytes (`B = &[u8]`) or a JSON value.
#[derive(Debug, Clone, Copy)]
enum Body<B> {
    BookTicker(B),
    BookTickerBatch(B),
    Deals(B),
    Unsupported(&'static str),
}

/// Decimal text, with the message it sits in so that the word parser may read on past its
/// end (`""` when absent).
#[derive(Debug, Default, Clone, Copy)]
struct Dec<'a> {
    /// The message holding the text.
    buf: &'a [u8],
    /// Where the text starts in `buf`.
    at: usize,
    text: &'a str,
}

impl<'a> Dec<'a> {
    /// Text that is its own buffer (JSON values).
    fn of(text: &'a str) -> Self {
        Dec {
            buf: text.as_bytes(),
            at: 0,
            text,
        }
    }

    /// The string field `r` has just read from `buf`.
    #[inline]
    fn read(buf: &'a [u8], r: &Reader<'a>, f: Field<'a>) -> Result<Self, ParseError> {
        let text = f.string()?;
        Ok(Dec {
            buf,
            at: r.pos() - text.len(),
            text,
        })
    }

    /// The value, as [`num::parse_decimal`] gives it.
    #[inline]
    fn parse(&self, key: &'static str) -> Result<f64, ParseError> {
        match num::decimal_words_until(self.buf, self.at, self.at + self.text.len()) {
            Some(v) => Ok(v),
            None => num::parse_decimal(self.text.as_bytes(), key),
        }
    }
}

/// Book ticker text fields (`""` when absent).
#[derive(Debug, Default, Clone, Copy)]
struct TickerFields<'a> {
    bid_price: Dec<'a>,
    bid_quantity: Dec<'a>,
    ask_price: Dec<'a>,
    ask_quantity: Dec<'a>,
}

/// Deal item fields (`""` / 0 when absent).
#[derive(Debug, Default, Clone, Copy)]
struct DealFields<'a> {
    price: Dec<'a>,
    quantity: Dec<'a>,
    trade_type: i64,
    time_ms: i64,
    trade_id: &'a str,
}

fn ms_to_ns(ms: i64, key: &'static str) -> Result<i64, ParseError> {
    let ms = u64::try_from(ms).map_err(|_| ParseError::BadValue(key))?;
    num::ms_to_ns(ms, key)
}

/// A best price: empty text means the side is empty.
fn book_px(text: Dec<'_>, key: &'static str) -> Result<f64, ParseError> {
    if text.text.is_empty() {
        return Err(ParseError::EmptySide);
    }
    text.parse(key)
}

fn quote<'a>(h: &Header<'a>, t: TickerFields<'_>) -> Result<RawQuote<'a>, ParseError> {
    Ok(RawQuote {
        native: h.native()?,
        bid_px: book_px(t.bid_price, "bidPrice")?,
        bid_qty: t.bid_quantity.parse("bidQuantity")?,
        ask_px: book_px(t.ask_price, "askPrice")?,
        ask_qty: t.ask_quantity.parse("askQuantity")?,
        exch_ts_ns: h.quote_ts_ns()?,
    })
}

fn trade<'a>(h: &Header<'a>, d: DealFields<'a>) -> Result<RawTrade<'a>, ParseError> {
    Ok(RawTrade {
        native: h.native()?,
        px: d.price.parse("price")?,
        qty: d.quantity.parse("quantity")?,
        side: match d.trade_type {
            1 => Side::Buy,
            2 => Side::Sell,
            _ => return Err(ParseError::BadValue("tradeType")),
        },
        trade_id: RawTradeId::Text(d.trade_id),
        exch_ts_ns: ms_to_ns(d.time_ms, "time")?,
    })
}

/// Decodes a `PushDataV3ApiWrapper` frame.
///
/// # Hot path
/// Allocates never; the items borrow `frame`.
pub(super) fn protobuf<F: FnMut(Decoded<'_>)>(frame: &[u8], out: &mut F) -> Result<(), ParseError> {
    let mut h = Header::default();
    let mut body = None;
    let mut r = Reader::new(frame);
    while let Some((number, f)) = r.next_field()? {
        match number {
            wrapper::CHANNEL => h.channel = f.string()?,
            wrapper::SYMBOL => h.symbol = f.string()?,
            wrapper::CREATE_TIME => h.create_ms = f.int64()?,
            wrapper::SEND_TIME => h.send_ms = f.int64()?,
            wrapper::PUBLIC_AGGRE_BOOK_TICKER | wrapper::PUBLIC_BOOK_TICKER => {
                body = Some(Body::BookTicker(f.message()?));
            }
            wrapper::PUBLIC_BOOK_TICKER_BATCH => body = Some(Body::BookTickerBatch(f.message()?)),
            wrapper::PUBLIC_AGGRE_DEALS | wrapper::PUBLIC_DEALS => {
                body = Some(Body::Deals(f.message()?));
            }
            other => {
                if let Some(what) = unsupported_body(other) {
                    f.message()?;
                    body = Some(Body::Unsupported(what));
                }
            }
        }
    }
    match body.ok_or(ParseError::UnknownMessage)? {
        Body::BookTicker(b) => out(Decoded::Quote(quote(&h, pb_ticker(b)?)?)),
        Body::BookTickerBatch(b) => {
            let mut r = Reader::new(b);
            while let Some((number, f)) = r.next_field()? {
                if number == book_ticker::BATCH_ITEMS {
                    out(Decoded::Quote(quote(&h, pb_ticker(f.message()?)?)?));
                }
            }
        }
        Body::Deals(b) => {
            let mut r = Reader::new(b);
            while let Some((number, f)) = r.next_field()? {
                match number {
                    deals::DEALS => out(Decoded::Trade(trade(&h, pb_deal(f.message()?)?)?)),
                    deals::EVENT_TYPE => {
                        f.string()?;
                    }
                    _ => {}
                }
            }
        }
        Body::Unsupported(what) => return Err(ParseError::Unsupported(what)),
    }
    Ok(())
}

/// A length-delimited field with a one-byte key and length at `*p`.
#[inline(always)]
fn short_len<'a>(buf: &'a [u8], p: &mut usize, key: u8) -> Option<&'a [u8]> {
    let (k, len) = (*buf.get(*p)?, *buf.get(*p + 1)?);
    if k != key || len >= 0x80 {
        return None;
    }
    let start = *p + 2;
    let bytes = buf.get(start..start + usize::from(len))?;
    *p = start + usize::from(len);
    Some(bytes)
}

/// The wrapper fields of the usual push up to its body, in field-number order as MEXC's
/// encoder writes them: channel (whose bytes 18..22 must be `kind`, `book` or `deal` of
/// `spot@public.aggre.…`), a non-empty symbol, optional `symbolId`, optional `createTime`,
/// optional `sendTime`, every length one byte. Returns the channel, the symbol, the header
/// timestamps and the position of the body's key; the texts are not checked yet.
#[inline(always)]
fn fast_head<'a>(
    frame: &'a [u8],
    kind: &[u8; 4],
) -> Option<(&'a [u8], &'a [u8], Header<'a>, usize)> {
    let mut p = 0;
    let channel = short_len(frame, &mut p, 0x0a)?;
    // Other pushes leave here, for ~20 instructions rather than the ~130 of reading on to
    // their body's key. The channel only picks the path; the body's key decides.
    if channel.get(18..22) != Some(kind) {
        return None;
    }
    let symbol = short_len(frame, &mut p, 0x1a)?;
    if symbol.is_empty() {
        return None;
    }
    if frame.get(p) == Some(&0x22) {
        short_len(frame, &mut p, 0x22)?;
    }
    let mut h = Header::default();
    if frame.get(p) == Some(&0x28) {
        let (v, next) = Reader::varint_at(frame, p + 1)?;
        (h.create_ms, p) = (v as i64, next);
    }
    if frame.get(p) == Some(&0x30) {
        let (v, next) = Reader::varint_at(frame, p + 1)?;
        (h.send_ms, p) = (v as i64, next);
    }
    Some((channel, symbol, h, p))
}

/// A decimal string field of the fast paths at `*p` of `buf`: one-byte key and length, not
/// empty, in [`num::decimal_words_until`]'s shape (ASCII by that shape).
#[inline(always)]
fn short_decimal(buf: &[u8], p: &mut usize, key: u8) -> Option<f64> {
    let text = short_len(buf, p, key)?;
    if text.is_empty() {
        return None;
    }
    num::decimal_words_until(buf, *p - text.len(), *p)
}

/// Fast path for the usual push: one aggregated book ticker (315) after [`fast_head`]'s
/// wrapper fields, the body's four decimals in order, every length one byte, every text
/// ASCII, every decimal in [`num::decimal_words_until`]'s shape. `None` means "not this
/// layout": use [`protobuf`], which gives the same quote for every frame this accepts
/// (tested below).
///
/// NB: the generic reader spends ~560 of MEXC's ~2 000 instructions per frame in
/// `Reader::next_field`, matching each key and wire type
/// (`benches/decode_instructions.sh mexc`).
#[inline]
pub(super) fn fast_book_ticker(frame: &[u8]) -> Option<RawQuote<'_>> {
    let (channel, symbol, h, mut p) = fast_head(frame, b"book")?;
    if frame.get(p..p + 2)? != [0xda, 0x13] {
        return None;
    }
    p += 1;
    let body = short_len(frame, &mut p, 0x13)?;
    if p != frame.len() {
        return None;
    }
    // Text checks only once the layout is known (trades and batches leave above, cheaply).
    crate::scan::ascii_str(channel)?;
    let native = crate::scan::ascii_str(symbol)?;
    // Keys and one-byte lengths are ASCII, so the texts are too.
    crate::scan::ascii_str(body)?;
    let mut q = 0;
    let bid_px = short_decimal(body, &mut q, 0x0a)?;
    let bid_qty = short_decimal(body, &mut q, 0x12)?;
    let ask_px = short_decimal(body, &mut q, 0x1a)?;
    let ask_qty = short_decimal(body, &mut q, 0x22)?;
    if q != body.len() {
        return None;
    }
    Some(RawQuote {
        native,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns: h.quote_ts_ns().ok()?,
    })
}

/// Fast path for the usual deals push: aggregated deals (314) after [`fast_head`]'s
/// wrapper fields, the body's length a varint, up to
/// [`FAST_BATCH`](crate::scan::FAST_BATCH) items, then at most one
/// `eventType`. Each item is price, quantity, a one-byte `tradeType` of 1 or 2, `time` and
/// an optional `tradeId`, in that order, every text length one byte and every text ASCII.
/// Emits the trades only once the whole frame matched; `None` means "not this layout"
/// (nothing was emitted): use [`protobuf`], which gives the same trades for every frame
/// this accepts (tested below).
///
/// NB: deals took the generic reader at ~2 000 instructions a frame, ~90 a frame over a
/// fresh capture's mix (`benches/instructions.sh`).
#[inline(never)]
pub(super) fn fast_deals<'a, F: FnMut(Decoded<'a>)>(frame: &'a [u8], out: &mut F) -> Option<()> {
    let (channel, symbol, _, p) = fast_head(frame, b"deal")?;
    if frame.get(p..p + 2)? != [0xd2, 0x13] {
        return None;
    }
    let (len, start) = Reader::varint_at(frame, p + 2)?;
    let body = frame.get(start..)?;
    if body.len() as u64 != len {
        return None;
    }
    crate::scan::ascii_str(channel)?;
    let native = crate::scan::ascii_str(symbol)?;
    let mut trades = Batch::new();
    let mut q = 0;
    while body.get(q) == Some(&0x0a) {
        let (n, item_at) = Reader::varint_at(body, q + 1)?;
        q = item_at.checked_add(usize::try_from(n).ok()?)?;
        trades.push(fast_deal(body, item_at, q, native)?)?;
    }
    if body.get(q) == Some(&0x12) {
        crate::scan::ascii_str(short_len(body, &mut q, 0x12)?)?;
    }
    if q != body.len() {
        return None;
    }
    for t in trades.items() {
        out(Decoded::Trade(t));
    }
    Some(())
}

/// One deal item of [`fast_deals`], `body[at..end]`.
#[inline(always)]
fn fast_deal<'a>(body: &'a [u8], at: usize, end: usize, native: &'a str) -> Option<RawTrade<'a>> {
    let mut p = at;
    let px = short_decimal(body, &mut p, 0x0a)?;
    let qty = short_decimal(body, &mut p, 0x12)?;
    let side = match body.get(p..p + 2)? {
        [0x18, 1] => Side::Buy,
        [0x18, 2] => Side::Sell,
        _ => return None,
    };
    if body.get(p + 2) != Some(&0x20) {
        return None;
    }
    let (ms, next) = Reader::varint_at(body, p + 3)?;
    p = next;
    let mut trade_id = "";
    if p < end && body.get(p) == Some(&0x2a) {
        trade_id = crate::scan::ascii_str(short_len(body, &mut p, 0x2a)?)?;
    }
    // Every read above is checked against `end` here: none may run into the next item.
    if p != end {
        return None;
    }
    Some(RawTrade {
        native,
        px,
        qty,
        side,
        trade_id: RawTradeId::Text(trade_id),
        exch_ts_ns: ms_to_ns(ms as i64, "time").ok()?,
    })
}

/// Wrapper bodies (301–313) arb knows but does not consume.
fn unsupported_body(number: u32) -> Option<&'static str> {
    match number {
        302 | 303 | 312 | wrapper::PUBLIC_AGGRE_DEPTHS => Some("depth"),
        304 | 306 | 307 => Some("private"),
        308 => Some("kline"),
        309 | 310 => Some("mini ticker"),
        _ => None,
    }
}

fn pb_ticker(buf: &[u8]) -> Result<TickerFields<'_>, ParseError> {
    let mut t = TickerFields::default();
    let mut r = Reader::new(buf);
    while let Some((number, f)) = r.next_field()? {
        match number {
            book_ticker::BID_PRICE => t.bid_price = Dec::read(buf, &r, f)?,
            book_ticker::BID_QUANTITY => t.bid_quantity = Dec::read(buf, &r, f)?,
            book_ticker::ASK_PRICE => t.ask_price = Dec::read(buf, &r, f)?,
            book_ticker::ASK_QUANTITY => t.ask_quantity = Dec::read(buf, &r, f)?,
            _ => {}
        }
    }
    Ok(t)
}

fn pb_deal(buf: &[u8]) -> Result<DealFields<'_>, ParseError> {
    let mut d = DealFields::default();
    let mut r = Reader::new(buf);
    while let Some((number, f)) = r.next_field()? {
        match number {
            deals::PRICE => d.price = Dec::read(buf, &r, f)?,
            deals::QUANTITY => d.quantity = Dec::read(buf, &r, f)?,
            deals::TRADE_TYPE => d.trade_type = f.int64()?,
            deals::TIME => d.time_ms = f.int64()?,
            deals::TRADE_ID => d.trade_id = f.string()?,
            _ => {}
        }
    }
    Ok(d)
}

/// Fast path for MEXC's usual JSON replies: a subscribe ack echoing the channel, and
/// `PONG`, in MEXC's key order with a numeric `id` and code 0. `None` means "not this
/// layout": use [`json`].
///
/// NB: one ack per subscribed channel, ~2 000 instructions each on the tape path: about a
/// tenth of the frames of a fresh capture (`benches/instructions.sh`). Not inlined: the
/// decoder then tests only the frame kind before a protobuf frame; inlined, its length
/// check was folded into that test (~6 instructions more per protobuf frame,
/// `benches/decode_instructions.sh mexc`).
#[inline(never)]
pub(super) fn fast_json(frame: &[u8]) -> Option<Control<'_>> {
    let mut c = Cursor::new(frame);
    c.lit(br#"{"id":"#)?;
    c.skip_uint()?;
    c.lit(br#","code":0,"msg":""#)?;
    let msg = c.str_body()?;
    c.lit(b"}")?;
    c.end()?;
    // As `json` classifies a code-0 reply without an id string.
    if msg == "PONG" {
        return Some(Control::new(ControlKind::Pong, "pong"));
    }
    if msg.is_empty() || msg.starts_with("Not Subscribed successfully") {
        return None;
    }
    Some(Control::new(ControlKind::Ack, "subscribe").with_text(Some(msg)))
}

/// Decodes a JSON text frame: control replies, our own requests, and JSON renderings of
/// pushes (any key case: `sendtime`/`sendTime`, `publicbookticker`, `dealsList` ...).
pub(super) fn json<F: FnMut(Decoded<'_>)>(
    root: Value<'_, '_>,
    out: &mut F,
) -> Result<(), ParseError> {
    if !root.is_object() {
        return Err(ParseError::UnknownMessage);
    }
    if let Some(method) = root.get("method") {
        out(Decoded::Control(
            Control::new(ControlKind::Info, "client_request").with_text(method.into_string()),
        ));
        return Ok(());
    }
    let (code, msg) = (root.get("code"), root.get("msg"));
    if code.is_none() && msg.is_none() {
        return json_push(root, out);
    }
    let code = match code {
        Some(c) => c.as_i64().ok_or(ParseError::WrongType("code"))?,
        None => 0,
    };
    let msg = match msg {
        Some(m) => Some(m.into_string().ok_or(ParseError::WrongType("msg"))?),
        None => None,
    };
    let id = root.get("id").and_then(|v| v.into_string());
    let control = if msg.is_some_and(|m| m.starts_with("Not Subscribed successfully")) {
        Control::new(ControlKind::Error, "subscribe")
            .with_code(Some(code))
            .with_text(msg)
    } else if code != 0 {
        Control::new(ControlKind::Error, "error")
            .with_code(Some(code))
            .with_text(msg)
    } else if msg == Some("PONG") {
        Control::new(ControlKind::Pong, "pong")
    } else {
        Control::new(ControlKind::Ack, "subscribe").with_text(msg.filter(|m| !m.is_empty()))
    };
    out(Decoded::Control(control.with_id(id)));
    Ok(())
}

/// Keys of a pushed wrapper rendered as JSON, matched without regard to case.
#[derive(Debug, Clone, Copy)]
enum WrapperKey {
    Channel,
    Symbol,
    CreateTime,
    SendTime,
    Body(Body<()>),
}

const WRAPPER_KEYS: &[(&str, WrapperKey)] = &[
    ("channel", WrapperKey::Channel),
    ("symbol", WrapperKey::Symbol),
    ("createTime", WrapperKey::CreateTime),
    ("sendTime", WrapperKey::SendTime),
    (
        "publicAggreBookTicker",
        WrapperKey::Body(Body::BookTicker(())),
    ),
    ("publicBookTicker", WrapperKey::Body(Body::BookTicker(()))),
    (
        "publicBookTickerBatch",
        WrapperKey::Body(Body::BookTickerBatch(())),
    ),
    ("publicAggreDeals", WrapperKey::Body(Body::Deals(()))),
    ("publicDeals", WrapperKey::Body(Body::Deals(()))),
    (
        "publicAggreDepths",
        WrapperKey::Body(Body::Unsupported("depth")),
    ),
    (
        "publicIncreaseDepths",
        WrapperKey::Body(Body::Unsupported("depth")),
    ),
    (
        "publicLimitDepths",
        WrapperKey::Body(Body::Unsupported("depth")),
    ),
    (
        "publicIncreaseDepthsBatch",
        WrapperKey::Body(Body::Unsupported("depth")),
    ),
    (
        "privateOrders",
        WrapperKey::Body(Body::Unsupported("private")),
    ),
    (
        "privateDeals",
        WrapperKey::Body(Body::Unsupported("private")),
    ),
    (
        "privateAccount",
        WrapperKey::Body(Body::Unsupported("private")),
    ),
    (
        "publicSpotKline",
        WrapperKey::Body(Body::Unsupported("kline")),
    ),
    (
        "publicMiniTicker",
        WrapperKey::Body(Body::Unsupported("mini ticker")),
    ),
    (
        "publicMiniTickers",
        WrapperKey::Body(Body::Unsupported("mini ticker")),
    ),
];

/// Looks `key` up in `table` ignoring ASCII case.
fn lookup<T: Copy>(key: &str, table: &[(&str, T)]) -> Option<T> {
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
        .map(|&(_, v)| v)
}

fn json_push<F: FnMut(Decoded<'_>)>(root: Value<'_, '_>, out: &mut F) -> Result<(), ParseError> {
    let obj = root.as_object().ok_or(ParseError::UnknownMessage)?;
    let mut h = Header::default();
    let mut body = None;
    for (key, v) in obj.iter() {
        match lookup(key, WRAPPER_KEYS) {
            Some(WrapperKey::Channel) => h.channel = json_str(v, "channel")?,
            Some(WrapperKey::Symbol) => h.symbol = json_str(v, "symbol")?,
            Some(WrapperKey::CreateTime) => h.create_ms = json_int(v, "createTime")?,
            Some(WrapperKey::SendTime) => h.send_ms = json_int(v, "sendTime")?,
            Some(WrapperKey::Body(b)) => {
                body = Some(match b {
                    Body::BookTicker(()) => Body::BookTicker(v),
                    Body::BookTickerBatch(()) => Body::BookTickerBatch(v),
                    Body::Deals(()) => Body::Deals(v),
                    Body::Unsupported(what) => Body::Unsupported(what),
                });
            }
            None => {}
        }
    }
    match body.ok_or(ParseError::UnknownMessage)? {
        Body::BookTicker(v) => out(Decoded::Quote(quote(&h, json_ticker(v)?)?)),
        Body::BookTickerBatch(v) => {
            for item in json_list(v, &["items", "itemsList"], "items")? {
                out(Decoded::Quote(quote(&h, json_ticker(item)?)?));
            }
        }
        Body::Deals(v) => {
            for item in json_list(v, &["deals", "dealsList"], "deals")? {
                out(Decoded::Trade(trade(&h, json_deal(item)?)?));
            }
        }
        Body::Unsupported(what) => return Err(ParseError::Unsupported(what)),
    }
    Ok(())
}

/// The repeated field of a body (first of `names` present, any case); empty when absent,
/// as proto3 renderings leave empty lists out.
fn json_list<'t, 'i>(
    body: Value<'t, 'i>,
    names: &[&str],
    key: &'static str,
) -> Result<impl Iterator<Item = Value<'t, 'i>>, ParseError> {
    let obj = body.as_object().ok_or(ParseError::WrongType(key))?;
    let list = obj
        .iter()
        .find(|(k, _)| names.iter().any(|n| n.eq_ignore_ascii_case(k)))
        .map(|(_, v)| v);
    let arr = match list {
        Some(v) => Some(v.into_array().ok_or(ParseError::WrongType(key))?),
        None => None,
    };
    Ok(arr.into_iter().flat_map(|a| a.iter()))
}

fn json_ticker<'i>(v: Value<'_, 'i>) -> Result<TickerFields<'i>, ParseError> {
    let obj = v.as_object().ok_or(ParseError::WrongType("bookTicker"))?;
    let mut t = TickerFields::default();
    for (key, v) in obj.iter() {
        match lookup(
            key,
            &[
                ("bidPrice", 0),
                ("bidQuantity", 1),
                ("askPrice", 2),
                ("askQuantity", 3),
            ],
        ) {
            Some(0) => t.bid_price = Dec::of(json_str(v, "bidPrice")?),
            Some(1) => t.bid_quantity = Dec::of(json_str(v, "bidQuantity")?),
            Some(2) => t.ask_price = Dec::of(json_str(v, "askPrice")?),
            Some(3) => t.ask_quantity = Dec::of(json_str(v, "askQuantity")?),
            _ => {}
        }
    }
    Ok(t)
}

fn json_deal<'i>(v: Value<'_, 'i>) -> Result<DealFields<'i>, ParseError> {
    let obj = v.as_object().ok_or(ParseError::WrongType("deals"))?;
    let mut d = DealFields::default();
    for (key, v) in obj.iter() {
        match lookup(
            key,
            &[
                ("price", 0),
                ("quantity", 1),
                ("tradeType", 2),
                ("time", 3),
                ("tradeId", 4),
            ],
        ) {
            Some(0) => d.price = Dec::of(json_str(v, "price")?),
            Some(1) => d.quantity = Dec::of(json_str(v, "quantity")?),
            Some(2) => d.trade_type = json_int(v, "tradeType")?,
            Some(3) => d.time_ms = json_int(v, "time")?,
            Some(4) => d.trade_id = json_str(v, "tradeId")?,
            _ => {}
        }
    }
    Ok(d)
}

fn json_str<'i>(v: Value<'_, 'i>, key: &'static str) -> Result<&'i str, ParseError> {
    v.into_string().ok_or(ParseError::WrongType(key))
}

/// An integer rendered as a JSON number or as digit text (64-bit values become strings in
/// protobuf's JSON mapping).
fn json_int(v: Value<'_, '_>, key: &'static str) -> Result<i64, ParseError> {
    if let Some(s) = v.into_string() {
        let n = num::parse_u64(s.as_bytes(), key)?;
        return i64::try_from(n).map_err(|_| ParseError::BadValue(key));
    }
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    if v.as_u64().is_some() || v.as_f64().is_some() {
        return Err(ParseError::BadValue(key));
    }
    Err(ParseError::WrongType(key))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::mexc::{
        BookTickerBody, Deal, PushHeader, encode_book_ticker_push, encode_deals_push,
    };

    /// The generic reader's items for `frame`, or its error.
    fn generic(frame: &[u8]) -> Result<Vec<String>, ParseError> {
        let mut items = Vec::new();
        protobuf(frame, &mut |d| items.push(format!("{d:?}")))?;
        Ok(items)
    }

    /// Asserts the fast path gives what the generic reader gives, when it gives anything;
    /// returns whether it did.
    fn agree(frame: &[u8]) -> bool {
        let Some(q) = fast_book_ticker(frame) else {
            return false;
        };
        assert_eq!(
            generic(frame),
            Ok(vec![format!("{:?}", Decoded::Quote(q))]),
            "{frame:02x?}"
        );
        true
    }

    /// As [`agree`], for [`fast_deals`]: also that it emitted nothing when it gave up.
    fn agree_deals(frame: &[u8]) -> bool {
        let mut fast = Vec::new();
        if fast_deals(frame, &mut |d| fast.push(format!("{d:?}"))).is_none() {
            assert!(fast.is_empty(), "emitted before giving up: {frame:02x?}");
            return false;
        }
        assert_eq!(generic(frame), Ok(fast), "{frame:02x?}");
        true
    }

    const DEALS_CHANNEL: &str = "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT";
    const DEALS_EVENT: &str = "spot@public.aggre.deals.v3.api.pb@100ms";

    fn deals_frame(h: &PushHeader<'_>, deals: &[Deal<'_>], event: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_deals_push(&mut out, h, deals, event);
        out
    }

    #[test]
    fn the_usual_deals_push_takes_the_fast_path() {
        let h = PushHeader {
            channel: DEALS_CHANNEL,
            symbol: "BTCUSDT",
            create_time_ms: 0,
            send_time_ms: 1_736_412_092_433,
        };
        let d = Deal {
            price: "93387.28",
            quantity: "0.000512",
            trade_type: 2,
            time_ms: 1_736_412_092_430,
            trade_id: "",
        };
        let with_id = Deal {
            trade_type: 1,
            trade_id: "5813427711",
            ..d
        };
        assert!(agree_deals(&deals_frame(&h, &[d], DEALS_EVENT)));
        assert!(agree_deals(&deals_frame(&h, &[d, with_id, d], DEALS_EVENT)));
        assert!(agree_deals(&deals_frame(&h, &[with_id], "")));
        // A body over 127 bytes: its length takes two bytes.
        let many = [d; FAST_ITEMS];
        let f = deals_frame(&h, &many, DEALS_EVENT);
        assert!(f.len() > 200 && agree_deals(&f));
        // Not this layout: the generic reader decides.
        assert!(!agree_deals(&deals_frame(
            &h,
            &[d; FAST_ITEMS + 1],
            DEALS_EVENT
        )));
        let side = Deal { trade_type: 3, ..d };
        assert!(!agree_deals(&deals_frame(&h, &[d, side], DEALS_EVENT)));
        let no_symbol = PushHeader { symbol: "", ..h };
        assert!(!agree_deals(&deals_frame(&no_symbol, &[d], DEALS_EVENT)));
        let exp = Deal {
            price: "9.3e4",
            ..d
        };
        assert!(!agree_deals(&deals_frame(&h, &[exp], DEALS_EVENT)));
        // A book ticker is not a deals push, nor the reverse.
        let book = PushHeader {
            channel: "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT",
            ..h
        };
        assert!(!agree_deals(&deals_frame(&book, &[d], DEALS_EVENT)));
        assert!(fast_book_ticker(&deals_frame(&h, &[d], DEALS_EVENT)).is_none());
    }

    const FAST_ITEMS: usize = crate::scan::FAST_BATCH;

    /// A frame as MEXC sends it, optionally with a `symbolId` (field 4) after the symbol.
    fn frame(h: &PushHeader<'_>, b: &BookTickerBody<'_>, symbol_id: Option<&str>) -> Vec<u8> {
        let mut out = Vec::new();
        encode_book_ticker_push(&mut out, h, b);
        if let Some(id) = symbol_id {
            let at = out
                .windows(2)
                .position(|w| w == [0x1a, h.symbol.len() as u8])
                .map_or(0, |i| i + 2 + h.symbol.len());
            let mut field = vec![0x22, id.len() as u8];
            field.extend_from_slice(id.as_bytes());
            out.splice(at..at, field);
        }
        out
    }

    #[test]
    fn the_usual_push_takes_the_fast_path() {
        let h = PushHeader {
            channel: "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT",
            symbol: "BTCUSDT",
            create_time_ms: 0,
            send_time_ms: 1_736_412_092_433,
        };
        let b = BookTickerBody {
            bid_price: "93387.28",
            bid_quantity: "3.73485",
            ask_price: "93387.29",
            ask_quantity: "7.669875",
        };
        assert!(agree(&frame(&h, &b, None)));
        assert!(agree(&frame(
            &h,
            &b,
            Some("2fb942154ef44a4ab2ef98c8afb6a4a7")
        )));
        let created = PushHeader {
            create_time_ms: 1_736_412_092_400,
            ..h
        };
        assert!(agree(&frame(&created, &b, None)));
        // Not this layout: the generic reader decides.
        let no_symbol = PushHeader { symbol: "", ..h };
        assert!(!agree(&frame(&no_symbol, &b, None)));
        let empty_side = BookTickerBody { bid_price: "", ..b };
        assert!(!agree(&frame(&h, &empty_side, None)));
    }

    /// A byte flipped, the frame cut, a byte appended: each optional.
    #[derive(Debug, Clone)]
    struct Damage {
        flip: Option<(prop::sample::Index, u8)>,
        cut: Option<prop::sample::Index>,
        extra: Option<u8>,
    }

    impl Damage {
        fn apply(&self, f: &mut Vec<u8>) {
            if let Some((i, x)) = &self.flip {
                let i = i.index(f.len());
                f[i] ^= x;
            }
            if let Some(i) = &self.cut {
                f.truncate(i.index(f.len() + 1));
            }
            if let Some(x) = self.extra {
                f.push(x);
            }
        }
    }

    fn damage() -> impl Strategy<Value = Damage> {
        (
            proptest::option::of((any::<prop::sample::Index>(), 1u8..=255)),
            proptest::option::of(any::<prop::sample::Index>()),
            proptest::option::of(any::<u8>()),
        )
            .prop_map(|(flip, cut, extra)| Damage { flip, cut, extra })
    }

    fn decimal() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => "[0-9]{1,9}(\\.[0-9]{1,9})?",
            1 => "[0-9.eE+-]{0,12}",
            1 => ".{0,6}",
        ]
    }

    fn millis() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(0i64),
            1_600_000_000_000i64..1_900_000_000_000,
            any::<i64>()
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn the_fast_path_agrees_with_the_reader(
            channel in prop_oneof![
                Just("spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT".to_string()),
                ".{0,20}",
            ],
            symbol in prop_oneof![8 => "[A-Z]{1,12}", 1 => ".{0,5}"],
            symbol_id in proptest::option::of("[0-9a-f]{0,32}"),
            create in millis(),
            send in millis(),
            texts in [decimal(), decimal(), decimal(), decimal()],
            damaged in damage(),
        ) {
            let h = PushHeader {
                channel: &channel,
                symbol: &symbol,
                create_time_ms: create,
                send_time_ms: send,
            };
            let b = BookTickerBody {
                bid_price: &texts[0],
                bid_quantity: &texts[1],
                ask_price: &texts[2],
                ask_quantity: &texts[3],
            };
            let mut f = frame(&h, &b, symbol_id.as_deref().filter(|_| symbol.len() < 128));
            agree(&f);
            damaged.apply(&mut f);
            agree(&f);
        }

        #[test]
        fn the_deals_fast_path_agrees_with_the_reader(
            channel in prop_oneof![
                8 => Just(DEALS_CHANNEL.to_string()),
                1 => ".{0,24}",
            ],
            symbol in prop_oneof![8 => "[A-Z]{1,12}", 1 => ".{0,5}"],
            create in millis(),
            send in millis(),
            items in proptest::collection::vec(
                (
                    decimal(),
                    decimal(),
                    prop_oneof![8 => 1i32..=2, 1 => any::<i32>()],
                    millis(),
                    prop_oneof![Just(String::new()), "[0-9]{1,20}", ".{0,4}"],
                ),
                0..=10,
            ),
            event in prop_oneof![8 => Just(DEALS_EVENT.to_string()), 1 => ".{0,6}"],
            damaged in damage(),
        ) {
            let h = PushHeader {
                channel: &channel,
                symbol: &symbol,
                create_time_ms: create,
                send_time_ms: send,
            };
            let deals: Vec<Deal<'_>> = items
                .iter()
                .map(|(px, qty, side, ms, id)| Deal {
                    price: px,
                    quantity: qty,
                    trade_type: *side,
                    time_ms: *ms,
                    trade_id: id,
                })
                .collect();
            let mut f = deals_frame(&h, &deals, &event);
            agree_deals(&f);
            damaged.apply(&mut f);
            agree_deals(&f);
        }
    }
}
