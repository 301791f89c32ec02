//! The market-event model: venues, interned symbols, quotes, trades and venue-state changes.
//!
//! Every type here is `Copy`, carries no heap data and fits in one or two cache lines
//! (see the layout tests). Prices and sizes are `f64`: spot prices span 1e-9 to 1e5,
//! which no single fixed-point scale holds with full precision, and spread maths is relative.
//! Timestamps are nanoseconds since the Unix epoch; `0` means "the venue did not stamp it".

use std::fmt;
use std::str::FromStr;

/// One of the eight spot venues arb watches.
///
/// The discriminant is stable (it is written to capture files) and dense, so it can index
/// per-venue arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Exchange {
    /// Binance spot.
    Binance = 0,
    /// Bybit v5 spot.
    Bybit = 1,
    /// MEXC spot v3 (protobuf market data).
    Mexc = 2,
    /// Gate.io API v4 spot.
    Gateio = 3,
    /// KuCoin spot.
    Kucoin = 4,
    /// OKX v5.
    Okx = 5,
    /// Bitget v2 spot.
    Bitget = 6,
    /// BingX spot (gzip frames).
    Bingx = 7,
}

impl Exchange {
    /// Number of venues; the length of per-venue arrays.
    pub const COUNT: usize = 8;

    /// All venues in discriminant order.
    pub const ALL: [Exchange; Self::COUNT] = [
        Exchange::Binance,
        Exchange::Bybit,
        Exchange::Mexc,
        Exchange::Gateio,
        Exchange::Kucoin,
        Exchange::Okx,
        Exchange::Bitget,
        Exchange::Bingx,
    ];

    /// Returns the venue's lower-case id, as used in config files, CLI flags and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Exchange::Binance => "binance",
            Exchange::Bybit => "bybit",
            Exchange::Mexc => "mexc",
            Exchange::Gateio => "gateio",
            Exchange::Kucoin => "kucoin",
            Exchange::Okx => "okx",
            Exchange::Bitget => "bitget",
            Exchange::Bingx => "bingx",
        }
    }

    /// Returns the venue's display name, as the legacy system spelled it ("Binance", "Gate").
    pub const fn display_name(self) -> &'static str {
        match self {
            Exchange::Binance => "Binance",
            Exchange::Bybit => "Bybit",
            Exchange::Mexc => "MEXC",
            Exchange::Gateio => "Gate",
            Exchange::Kucoin => "KuCoin",
            Exchange::Okx => "OKX",
            Exchange::Bitget => "Bitget",
            Exchange::Bingx => "BingX",
        }
    }

    /// Returns the venue for a discriminant, or `None` if out of range.
    pub const fn from_u8(v: u8) -> Option<Exchange> {
        if (v as usize) < Self::COUNT {
            Some(Self::ALL[v as usize])
        } else {
            None
        }
    }

    /// Returns the dense index of the venue (`0 .. COUNT`).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when a venue name is not one of the eight.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown exchange {0:?} (expected one of binance, bybit, mexc, gateio, kucoin, okx, bitget, bingx)"
)]
pub struct UnknownExchange(pub String);

impl FromStr for Exchange {
    type Err = UnknownExchange;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let ex = match lower.as_str() {
            "binance" => Exchange::Binance,
            "bybit" => Exchange::Bybit,
            "mexc" => Exchange::Mexc,
            "gate" | "gateio" | "gate.io" => Exchange::Gateio,
            "kucoin" => Exchange::Kucoin,
            "okx" => Exchange::Okx,
            "bitget" => Exchange::Bitget,
            "bingx" => Exchange::Bingx,
            _ => return Err(UnknownExchange(s.to_owned())),
        };
        Ok(ex)
    }
}

/// An interned `BASE/QUOTE` symbol, shared by all venues that list it.
///
/// Ids are dense (`0 .. registry.len()`), so they index preallocated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymbolId(pub u32);

impl SymbolId {
    /// Returns the dense index of the symbol.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// The taker side of a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Side {
    /// The taker bought (lifted the ask).
    Buy = 0,
    /// The taker sold (hit the bid).
    Sell = 1,
}

impl Side {
    /// Returns `"buy"` or `"sell"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// Parses the lower-case text most venues send, the inverse of [`Side::as_str`].
    #[inline]
    pub fn from_text(text: &str) -> Option<Side> {
        match text {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            _ => None,
        }
    }

    /// Returns the taker side from a "buyer is maker" flag (Binance and BingX `m`): when
    /// the buyer made the market, the taker sold.
    #[inline]
    pub const fn taker_from_buyer_is_maker(buyer_is_maker: bool) -> Side {
        if buyer_is_maker {
            Side::Sell
        } else {
            Side::Buy
        }
    }
}

/// Best bid and ask of one symbol on one venue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quote {
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Venue.
    pub exchange: Exchange,
    /// Connection the quote arrived on (per venue); lets the core retire quotes of a
    /// dropped connection.
    pub conn_id: u16,
    /// Best bid price.
    pub bid_px: f64,
    /// Quantity at the best bid.
    pub bid_qty: f64,
    /// Best ask price.
    pub ask_px: f64,
    /// Quantity at the best ask.
    pub ask_qty: f64,
    /// Exchange timestamp in ns since the epoch; `0` when the venue does not stamp it.
    pub exch_ts_ns: i64,
    /// Local receive timestamp in ns since the epoch.
    pub recv_ts_ns: i64,
}

impl Quote {
    /// Returns the venue's own bid/ask spread in percent, `(ask - bid) / ask * 100`.
    #[inline]
    pub fn own_spread_pct(&self) -> f64 {
        (self.ask_px - self.bid_px) / self.ask_px * 100.0
    }

    /// Returns `true` when both sides are present, positive and not crossed.
    #[inline]
    pub fn is_tradable(&self) -> bool {
        self.bid_px > 0.0 && self.ask_px > 0.0 && self.bid_px <= self.ask_px
    }
}

/// A trade identifier without heap data.
///
/// Numeric ids (most venues) are kept exactly; textual ids (KuCoin hex ids, MEXC
/// aggregated ids, UUIDs) are kept as a 64-bit FNV-1a hash of their text, flagged as such,
/// which is enough to deduplicate and to join against the raw capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeId {
    /// The venue's id, which was an unsigned integer.
    Numeric(u64),
    /// FNV-1a hash of a non-numeric id.
    Hashed(u64),
}

impl TradeId {
    /// Interns a venue's trade id text.
    #[inline]
    pub fn from_text(text: &str) -> TradeId {
        let b = text.as_bytes();
        if !b.is_empty()
            && b.len() <= 19
            && b.iter().all(u8::is_ascii_digit)
            && (b[0] != b'0' || b.len() == 1)
        {
            let mut v: u64 = 0;
            for &c in b {
                v = v * 10 + u64::from(c - b'0');
            }
            return TradeId::Numeric(v);
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &c in b {
            h ^= u64::from(c);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        TradeId::Hashed(h)
    }
}

/// One public trade.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trade {
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Venue.
    pub exchange: Exchange,
    /// Taker side.
    pub side: Side,
    /// Connection the trade arrived on.
    pub conn_id: u16,
    /// Trade price.
    pub px: f64,
    /// Trade quantity (base asset).
    pub qty: f64,
    /// Venue trade id.
    pub trade_id: TradeId,
    /// Exchange timestamp in ns since the epoch; `0` when absent.
    pub exch_ts_ns: i64,
    /// Local receive timestamp in ns since the epoch.
    pub recv_ts_ns: i64,
}

/// Connections per venue that the feeds and the core track (decoder slots, gap records).
/// The one limit for both: a connection id at or past it is refused with a
/// [`ConnLimitError`], never folded into another connection's slot. 256 covers the
/// largest sharding the venues' limits need for a full spot universe (KuCoin: 100 topics
/// per connection, BingX and MEXC: a few dozen) with room for replacements opened before
/// a forced disconnect.
pub const MAX_CONNS_PER_VENUE: usize = 256;

/// A connection id past [`MAX_CONNS_PER_VENUE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "connection id {conn_id} of {exchange} is past the limit of {MAX_CONNS_PER_VENUE} connections per venue (ids 0..={max})",
    max = MAX_CONNS_PER_VENUE - 1
)]
pub struct ConnLimitError {
    /// Venue.
    pub exchange: Exchange,
    /// The refused id.
    pub conn_id: u16,
}

/// Returns the index of `(exchange, conn_id)` in a table of
/// `Exchange::COUNT * MAX_CONNS_PER_VENUE` per-connection slots.
///
/// # Errors
/// [`ConnLimitError`] when `conn_id >= MAX_CONNS_PER_VENUE`.
#[inline]
pub fn conn_slot(exchange: Exchange, conn_id: u16) -> Result<usize, ConnLimitError> {
    let c = usize::from(conn_id);
    if c < MAX_CONNS_PER_VENUE {
        Ok(exchange.index() * MAX_CONNS_PER_VENUE + c)
    } else {
        Err(ConnLimitError { exchange, conn_id })
    }
}

/// State of one venue connection, as reported by a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ConnState {
    /// The connection is up and its subscriptions are active.
    Connected = 0,
    /// The connection dropped: every quote it delivered stops counting at once.
    Disconnected = 1,
    /// The connection re-subscribed after a reconnect; quotes count again as they arrive.
    Resubscribed = 2,
}

/// A venue-connection state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueState {
    /// Venue.
    pub exchange: Exchange,
    /// Connection id (per venue).
    pub conn_id: u16,
    /// New state.
    pub state: ConnState,
    /// When the change was observed, ns since the epoch.
    pub ts_ns: i64,
}

/// What a feed thread hands to the spread core.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// A best bid/ask update.
    Quote(Quote),
    /// A public trade.
    Trade(Trade),
    /// A connection state change.
    Venue(VenueState),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_small() {
        assert!(size_of::<Quote>() <= 64, "{}", size_of::<Quote>());
        assert!(size_of::<Trade>() <= 64, "{}", size_of::<Trade>());
        assert!(size_of::<Event>() <= 72, "{}", size_of::<Event>());
        assert_eq!(size_of::<Exchange>(), 1);
        assert_eq!(size_of::<Option<Exchange>>(), 1);
    }

    #[test]
    fn exchange_round_trips_through_text_and_u8() {
        for ex in Exchange::ALL {
            assert_eq!(ex.as_str().parse::<Exchange>().unwrap(), ex);
            assert_eq!(Exchange::from_u8(ex as u8), Some(ex));
        }
        assert_eq!(Exchange::from_u8(8), None);
        assert!("kraken".parse::<Exchange>().is_err());
        assert_eq!("Gate.io".parse::<Exchange>().unwrap(), Exchange::Gateio);
    }

    #[test]
    fn trade_id_keeps_numbers_and_hashes_text() {
        assert_eq!(TradeId::from_text("12345"), TradeId::Numeric(12345));
        assert_eq!(
            TradeId::from_text("2290000000050703789"),
            TradeId::Numeric(2_290_000_000_050_703_789)
        );
        assert!(matches!(
            TradeId::from_text("62fade002e113d292303a18b"),
            TradeId::Hashed(_)
        ));
        assert!(matches!(
            TradeId::from_text("99999999999999999999"),
            TradeId::Hashed(_)
        ));
        assert!(matches!(TradeId::from_text("007"), TradeId::Hashed(_)));
        assert_ne!(TradeId::from_text("a"), TradeId::from_text("b"));
    }

    #[test]
    fn own_spread_matches_legacy_formula() {
        let q = Quote {
            symbol: SymbolId(0),
            exchange: Exchange::Binance,
            conn_id: 0,
            bid_px: 99.0,
            bid_qty: 1.0,
            ask_px: 100.0,
            ask_qty: 1.0,
            exch_ts_ns: 0,
            recv_ts_ns: 0,
        };
        assert!((q.own_spread_pct() - 1.0).abs() < 1e-12);
        assert!(q.is_tradable());
    }
}
