//! The protobuf wire format of MEXC pushes: a zero-allocation reader and the writer that
//! builds `PushDataV3ApiWrapper` frames for tests, the mock exchange and synthetic captures.
//!
//! Hand-written rather than `prost`-generated: prost decodes into owned `String`s (one
//! allocation per field, several per push), while this reader hands out slices of the frame.
//! Only the messages arb reads are described here (field numbers from
//! `github.com/mexcdevelop/websocket-proto`); every other field is skipped by wire type.

use crate::error::ParseError;

/// `PushDataV3ApiWrapper` field numbers.
pub(super) mod wrapper {
    /// Full channel name including the symbol (string).
    pub(crate) const CHANNEL: u32 = 1;
    /// Symbol (string).
    pub(crate) const SYMBOL: u32 = 3;
    /// Creation time, epoch ms (int64).
    pub(crate) const CREATE_TIME: u32 = 5;
    /// Send time, epoch ms (int64).
    pub(crate) const SEND_TIME: u32 = 6;
    /// `PublicDealsV3Api` (retired non-aggregated deals; same layout as 314 minus `tradeId`).
    pub(crate) const PUBLIC_DEALS: u32 = 301;
    /// `PublicBookTickerV3Api` (retired; same layout as 315's first four fields).
    pub(crate) const PUBLIC_BOOK_TICKER: u32 = 305;
    /// `PublicBookTickerBatchV3Api`.
    pub(crate) const PUBLIC_BOOK_TICKER_BATCH: u32 = 311;
    /// `PublicAggreDepthsV3Api`.
    pub(crate) const PUBLIC_AGGRE_DEPTHS: u32 = 313;
    /// `PublicAggreDealsV3Api`.
    pub(crate) const PUBLIC_AGGRE_DEALS: u32 = 314;
    /// `PublicAggreBookTickerV3Api`.
    pub(crate) const PUBLIC_AGGRE_BOOK_TICKER: u32 = 315;
}

/// Book ticker field numbers (`PublicAggreBookTickerV3Api`, `PublicBookTickerV3Api`).
pub(super) mod book_ticker {
    /// Best bid price (string).
    pub(crate) const BID_PRICE: u32 = 1;
    /// Best bid quantity (string).
    pub(crate) const BID_QUANTITY: u32 = 2;
    /// Best ask price (string).
    pub(crate) const ASK_PRICE: u32 = 3;
    /// Best ask quantity (string).
    pub(crate) const ASK_QUANTITY: u32 = 4;
    /// `PublicBookTickerBatchV3Api.items` (repeated book tickers).
    pub(crate) const BATCH_ITEMS: u32 = 1;
}

/// Deals field numbers (`PublicAggreDealsV3Api` and its items).
pub(super) mod deals {
    /// Repeated deal items.
    pub(crate) const DEALS: u32 = 1;
    /// Event type (string).
    pub(crate) const EVENT_TYPE: u32 = 2;
    /// Item price (string).
    pub(crate) const PRICE: u32 = 1;
    /// Item quantity (string).
    pub(crate) const QUANTITY: u32 = 2;
    /// Item taker side, 1 buy / 2 sell (int32).
    pub(crate) const TRADE_TYPE: u32 = 3;
    /// Item trade time, epoch ms (int64).
    pub(crate) const TIME: u32 = 4;
    /// Item trade id (string).
    pub(crate) const TRADE_ID: u32 = 5;
}

const WT_VARINT: u8 = 0;
const WT_FIXED64: u8 = 1;
const WT_LEN: u8 = 2;
const WT_FIXED32: u8 = 5;
/// Largest valid field number (2^29 - 1).
const MAX_FIELD: u64 = (1 << 29) - 1;

/// One field value, already read or skipped past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 (value not needed by arb, only skipped).
    Fixed64,
    /// Wire type 2: strings, bytes, nested messages, packed repeats.
    Len(&'a [u8]),
    /// Wire type 5 (value not needed by arb, only skipped).
    Fixed32,
}

impl<'a> Field<'a> {
    /// A string field: length-delimited UTF-8.
    #[inline]
    pub(super) fn string(self) -> Result<&'a str, ParseError> {
        match self {
            // NB: ASCII checked a word at a time first (`crate::scan::ascii_str`).
            Field::Len(b) => match crate::scan::ascii_str(b) {
                Some(s) => Ok(s),
                None => std::str::from_utf8(b).map_err(|_| ParseError::Protobuf),
            },
            _ => Err(ParseError::Protobuf),
        }
    }

    /// A nested message field: its bytes.
    #[inline]
    pub(super) fn message(self) -> Result<&'a [u8], ParseError> {
        match self {
            Field::Len(b) => Ok(b),
            _ => Err(ParseError::Protobuf),
        }
    }

    /// An `int32`/`int64` field (two's complement varint).
    #[inline]
    pub(super) fn int64(self) -> Result<i64, ParseError> {
        match self {
            // NB: int64 is the varint's bits reinterpreted; int32 is sign-extended to them.
            Field::Varint(v) => Ok(v as i64),
            _ => Err(ParseError::Protobuf),
        }
    }
}

/// Reads the fields of one message, in wire order.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    /// Invariant: `pos <= buf.len()`.
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts at the first field of `buf`.
    #[inline]
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The position after the last field read.
    #[inline]
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, ParseError> {
        // NB: one-byte varints (lengths and keys of fields below 16) without the loop.
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_long()
    }

    #[inline]
    fn varint_long(&mut self) -> Result<u64, ParseError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = *self.buf.get(self.pos).ok_or(ParseError::Protobuf)?;
            self.pos += 1;
            // The tenth byte may only carry the 64th bit.
            if i == 9 && b > 1 {
                return Err(ParseError::Protobuf);
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ParseError::Protobuf)
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self.pos.checked_add(n).ok_or(ParseError::Protobuf)?;
        let bytes = self.buf.get(self.pos..end).ok_or(ParseError::Protobuf)?;
        self.pos = end;
        Ok(bytes)
    }

    /// Reads the varint at `pos` of `buf` as [`Reader::next_field`] reads values: the value
    /// and the position after it, `None` if malformed.
    #[inline]
    pub(super) fn varint_at(buf: &'a [u8], pos: usize) -> Option<(u64, usize)> {
        let mut r = Reader { buf, pos };
        let v = r.varint().ok()?;
        Some((v, r.pos))
    }

    /// Reads the next field: its number and value; `None` at the end of the message.
    ///
    /// # Errors
    /// [`ParseError::Protobuf`] for a truncated or malformed field, field number 0, and the
    /// deprecated group wire types.
    #[inline]
    pub(super) fn next_field(&mut self) -> Result<Option<(u32, Field<'a>)>, ParseError> {
        if self.pos == self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > MAX_FIELD {
            return Err(ParseError::Protobuf);
        }
        let value = match (key & 7) as u8 {
            WT_VARINT => Field::Varint(self.varint()?),
            WT_FIXED64 => {
                self.take(8)?;
                Field::Fixed64
            }
            WT_LEN => {
                let len = usize::try_from(self.varint()?).map_err(|_| ParseError::Protobuf)?;
                Field::Len(self.take(len)?)
            }
            WT_FIXED32 => {
                self.take(4)?;
                Field::Fixed32
            }
            _ => return Err(ParseError::Protobuf),
        };
        // In range by the check above.
        Ok(Some((number as u32, value)))
    }
}

/// The wrapper header of a push: channel, symbol and timestamps (0 / `""` when absent, as
/// proto3 defaults are not sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PushHeader<'a> {
    /// Full channel, e.g. `spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT`.
    pub channel: &'a str,
    /// Symbol, e.g. `BTCUSDT`.
    pub symbol: &'a str,
    /// `createTime`, epoch ms.
    pub create_time_ms: i64,
    /// `sendTime`, epoch ms.
    pub send_time_ms: i64,
}

/// A book ticker body (`PublicAggreBookTickerV3Api`, also a `PublicBookTickerBatchV3Api`
/// item): decimal text as MEXC sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BookTickerBody<'a> {
    /// Best bid price.
    pub bid_price: &'a str,
    /// Best bid quantity.
    pub bid_quantity: &'a str,
    /// Best ask price.
    pub ask_price: &'a str,
    /// Best ask quantity.
    pub ask_quantity: &'a str,
}

/// One `PublicAggreDealsV3ApiItem`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deal<'a> {
    /// Price text.
    pub price: &'a str,
    /// Quantity text.
    pub quantity: &'a str,
    /// Taker side: 1 buy, 2 sell.
    pub trade_type: i32,
    /// Trade time, epoch ms.
    pub time_ms: i64,
    /// Trade id (`""` leaves the field out, as older pushes do).
    pub trade_id: &'a str,
}

fn varint_len(v: u64) -> usize {
    // 1 byte per started 7 bits; 0 still takes a byte.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(field: u32, wire_type: u8) -> u64 {
    (u64::from(field) << 3) | u64::from(wire_type)
}

fn len_field_len(field: u32, len: usize) -> usize {
    varint_len(key(field, WT_LEN)) + varint_len(len as u64) + len
}

fn put_len_header(out: &mut Vec<u8>, field: u32, len: usize) {
    put_varint(out, key(field, WT_LEN));
    put_varint(out, len as u64);
}

fn str_len(field: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        len_field_len(field, s.len())
    }
}

fn put_str(out: &mut Vec<u8>, field: u32, s: &str) {
    if !s.is_empty() {
        put_len_header(out, field, s.len());
        out.extend_from_slice(s.as_bytes());
    }
}

fn int_len(field: u32, v: i64) -> usize {
    if v == 0 {
        0
    } else {
        varint_len(key(field, WT_VARINT)) + varint_len(v as u64)
    }
}

fn put_int(out: &mut Vec<u8>, field: u32, v: i64) {
    if v != 0 {
        put_varint(out, key(field, WT_VARINT));
        // NB: int32 and int64 both encode negatives as 10-byte two's complement.
        put_varint(out, v as u64);
    }
}

fn header_len(h: &PushHeader<'_>) -> usize {
    str_len(wrapper::CHANNEL, h.channel)
        + str_len(wrapper::SYMBOL, h.symbol)
        + int_len(wrapper::CREATE_TIME, h.create_time_ms)
        + int_len(wrapper::SEND_TIME, h.send_time_ms)
}

/// Writes the header fields in field-number order, as MEXC's Java encoder does.
fn put_header(out: &mut Vec<u8>, h: &PushHeader<'_>) {
    put_str(out, wrapper::CHANNEL, h.channel);
    put_str(out, wrapper::SYMBOL, h.symbol);
    put_int(out, wrapper::CREATE_TIME, h.create_time_ms);
    put_int(out, wrapper::SEND_TIME, h.send_time_ms);
}

fn book_ticker_len(b: &BookTickerBody<'_>) -> usize {
    str_len(book_ticker::BID_PRICE, b.bid_price)
        + str_len(book_ticker::BID_QUANTITY, b.bid_quantity)
        + str_len(book_ticker::ASK_PRICE, b.ask_price)
        + str_len(book_ticker::ASK_QUANTITY, b.ask_quantity)
}

fn put_book_ticker(out: &mut Vec<u8>, b: &BookTickerBody<'_>) {
    put_str(out, book_ticker::BID_PRICE, b.bid_price);
    put_str(out, book_ticker::BID_QUANTITY, b.bid_quantity);
    put_str(out, book_ticker::ASK_PRICE, b.ask_price);
    put_str(out, book_ticker::ASK_QUANTITY, b.ask_quantity);
}

fn deal_len(d: &Deal<'_>) -> usize {
    str_len(deals::PRICE, d.price)
        + str_len(deals::QUANTITY, d.quantity)
        + int_len(deals::TRADE_TYPE, i64::from(d.trade_type))
        + int_len(deals::TIME, d.time_ms)
        + str_len(deals::TRADE_ID, d.trade_id)
}

/// Appends a `PushDataV3ApiWrapper` with a `publicAggreBookTicker` (315) body to `out`.
///
/// Fields equal to their proto3 default (`""`, 0) are left out, as protobuf encoders do.
pub fn encode_book_ticker_push(
    out: &mut Vec<u8>,
    header: &PushHeader<'_>,
    body: &BookTickerBody<'_>,
) {
    let body_len = book_ticker_len(body);
    out.reserve(header_len(header) + len_field_len(wrapper::PUBLIC_AGGRE_BOOK_TICKER, body_len));
    put_header(out, header);
    put_len_header(out, wrapper::PUBLIC_AGGRE_BOOK_TICKER, body_len);
    put_book_ticker(out, body);
}

/// Appends a `PushDataV3ApiWrapper` with a `publicBookTickerBatch` (311) body holding
/// `items` to `out`.
pub fn encode_book_ticker_batch_push(
    out: &mut Vec<u8>,
    header: &PushHeader<'_>,
    items: &[BookTickerBody<'_>],
) {
    let body_len: usize = items
        .iter()
        .map(|b| len_field_len(book_ticker::BATCH_ITEMS, book_ticker_len(b)))
        .sum();
    out.reserve(header_len(header) + len_field_len(wrapper::PUBLIC_BOOK_TICKER_BATCH, body_len));
    put_header(out, header);
    put_len_header(out, wrapper::PUBLIC_BOOK_TICKER_BATCH, body_len);
    for b in items {
        put_len_header(out, book_ticker::BATCH_ITEMS, book_ticker_len(b));
        put_book_ticker(out, b);
    }
}

/// Appends a `PushDataV3ApiWrapper` with a `publicAggreDeals` (314) body holding `deals`
/// (may be empty) and `event_type` (e.g. `spot@public.aggre.deals.v3.api.pb@100ms`) to `out`.
pub fn encode_deals_push(
    out: &mut Vec<u8>,
    header: &PushHeader<'_>,
    deals: &[Deal<'_>],
    event_type: &str,
) {
    let body_len: usize = deals
        .iter()
        .map(|d| len_field_len(deals::DEALS, deal_len(d)))
        .sum::<usize>()
        + str_len(deals::EVENT_TYPE, event_type);
    out.reserve(header_len(header) + len_field_len(wrapper::PUBLIC_AGGRE_DEALS, body_len));
    put_header(out, header);
    put_len_header(out, wrapper::PUBLIC_AGGRE_DEALS, body_len);
    for d in deals {
        put_len_header(out, deals::DEALS, deal_len(d));
        put_str(out, deals::PRICE, d.price);
        put_str(out, deals::QUANTITY, d.quantity);
        put_int(out, deals::TRADE_TYPE, i64::from(d.trade_type));
        put_int(out, deals::TIME, d.time_ms);
        put_str(out, deals::TRADE_ID, d.trade_id);
    }
    put_str(out, deals::EVENT_TYPE, event_type);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(buf: &[u8]) -> Result<Vec<(u32, Field<'_>)>, ParseError> {
        let mut r = Reader::new(buf);
        let mut v = Vec::new();
        while let Some(f) = r.next_field()? {
            v.push(f);
        }
        Ok(v)
    }

    #[test]
    fn varints_round_trip_at_every_width() {
        for v in [0, 1, 127, 128, 300, 1 << 35, u64::MAX >> 1, u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, key(1, WT_VARINT));
            put_varint(&mut buf, v);
            assert_eq!(buf.len(), 1 + varint_len(v), "{v}");
            assert_eq!(fields(&buf).unwrap(), [(1, Field::Varint(v))]);
        }
        let mut buf = Vec::new();
        put_int(&mut buf, 3, -1);
        assert_eq!(buf.len(), 11);
        assert_eq!(fields(&buf).unwrap()[0].1.int64(), Ok(-1));
    }

    #[test]
    fn skips_fixed_and_unknown_fields() {
        let mut buf = vec![0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4];
        put_str(&mut buf, 4000, "x");
        let f = fields(&buf).unwrap();
        assert_eq!(
            f,
            [
                (1, Field::Fixed64),
                (2, Field::Fixed32),
                (4000, Field::Len(b"x"))
            ]
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [
            &b"\x08"[..],                                        // varint value missing
            b"\x08\x80",                                         // unterminated varint
            b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",     // 65-bit varint
            b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x01", // 11-byte varint
            b"\x0a\x05abc",                                      // length past the end
            b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\x7f",         // huge length
            b"\x09\x01\x02",                                     // short fixed64
            b"\x0d\x01",                                         // short fixed32
            b"\x0b",                                             // start group
            b"\x0c",                                             // end group
            b"\x0e",                                             // wire type 6
            b"\x00\x01",                                         // field 0
            b"\x80\x80\x80\x80\x10\x00",                         // field 2^29
        ] {
            assert_eq!(fields(bad), Err(ParseError::Protobuf), "{bad:02x?}");
        }
        assert_eq!(Field::Len(b"\xff").string(), Err(ParseError::Protobuf));
        assert_eq!(Field::Varint(1).string(), Err(ParseError::Protobuf));
        assert_eq!(Field::Len(b"").int64(), Err(ParseError::Protobuf));
        assert_eq!(Field::Fixed32.message(), Err(ParseError::Protobuf));
    }
}
