//! The store's datasets: one Arrow schema per kind, column names and types, the sort order
//! of rows inside a file, and the partition path. Readers (`arb query`, `arb analyze`, the
//! HTTP history endpoint, DuckDB, pyarrow) depend on nothing else.
//!
//! Every timestamp is `timestamp[ns, tz=UTC]`; venues and symbols are written as
//! [`crate::names`] spells them (`GateIo`, `BTC_USDT`). Inside a file, rows are sorted by
//! the kind's [`Kind::sort_columns`] and split into row groups whose statistics (and the
//! page index) let a reader that filters one symbol skip the rest of the file.

use std::fmt;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The five datasets under the store root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Every accepted best bid/offer.
    Quotes,
    /// Every trade.
    Trades,
    /// Pair deviation and executable spreads, sampled per pair (`spread_sample_ms`).
    Spreads,
    /// Entry / exit signals.
    Signals,
    /// Periods a connection was down.
    Gaps,
}

impl Kind {
    /// All kinds, in report order.
    pub const ALL: [Kind; 5] = [
        Kind::Quotes,
        Kind::Trades,
        Kind::Spreads,
        Kind::Signals,
        Kind::Gaps,
    ];

    /// The dataset's directory name and report key.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Quotes => "quotes",
            Kind::Trades => "trades",
            Kind::Spreads => "spreads",
            Kind::Signals => "signals",
            Kind::Gaps => "gaps",
        }
    }

    /// Dense index (`0 .. 5`).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Parses a dataset name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Columns rows are sorted by inside a file (then by arrival order).
    pub const fn sort_columns(self) -> &'static [&'static str] {
        match self {
            Kind::Quotes | Kind::Trades => &[col::SYMBOL, col::EXCHANGE, col::TIMESTAMP],
            Kind::Spreads | Kind::Signals => {
                &[col::SYMBOL, col::EXCHANGE1, col::EXCHANGE2, col::TIMESTAMP]
            }
            Kind::Gaps => &[col::EXCHANGE, col::TIMESTAMP],
        }
    }

    /// The Arrow schema of the dataset.
    pub fn schema(self) -> SchemaRef {
        let f = |name: &str, t: DataType, nullable: bool| Field::new(name, t, nullable);
        let fields = match self {
            Kind::Quotes => vec![
                f(col::TIMESTAMP, ts(), false),
                f(col::EXCHANGE, DataType::Utf8, false),
                f(col::SYMBOL, DataType::Utf8, false),
                f(col::BEST_BID, DataType::Float64, false),
                f(col::BEST_ASK, DataType::Float64, false),
                f(col::SPREAD_PERCENTAGE, DataType::Float64, false),
                f(col::BID_SIZE, DataType::Float64, false),
                f(col::ASK_SIZE, DataType::Float64, false),
                f(col::EXCHANGE_TIMESTAMP, ts(), true),
                f(col::CONNECTION_ID, DataType::UInt16, false),
            ],
            Kind::Trades => vec![
                f(col::TIMESTAMP, ts(), false),
                f(col::EXCHANGE, DataType::Utf8, false),
                f(col::SYMBOL, DataType::Utf8, false),
                f(col::PRICE, DataType::Float64, false),
                f(col::QUANTITY, DataType::Float64, false),
                f(col::SIDE, DataType::Utf8, false),
                f(col::TRADE_ID, DataType::UInt64, false),
                f(col::TRADE_ID_HASHED, DataType::Boolean, false),
                f(col::EXCHANGE_TIMESTAMP, ts(), true),
                f(col::CONNECTION_ID, DataType::UInt16, false),
            ],
            Kind::Spreads => vec![
                f(col::TIMESTAMP, ts(), false),
                f(col::SYMBOL, DataType::Utf8, false),
                f(col::EXCHANGE1, DataType::Utf8, false),
                f(col::EXCHANGE2, DataType::Utf8, false),
                f(col::DEVIATION, DataType::Float64, false),
                f(col::EXEC_1_TO_2, DataType::Float64, false),
                f(col::EXEC_2_TO_1, DataType::Float64, false),
                f(col::TRIGGER, DataType::Utf8, false),
                f(col::OTHER_LEG_AGE_NS, DataType::Int64, false),
            ],
            Kind::Signals => vec![
                f(col::TIMESTAMP, ts(), false),
                f(col::SYMBOL, DataType::Utf8, false),
                f(col::EXCHANGE1, DataType::Utf8, false),
                f(col::EXCHANGE2, DataType::Utf8, false),
                f(col::KIND, DataType::Utf8, false),
                f(col::DEVIATION, DataType::Float64, false),
            ],
            Kind::Gaps => vec![
                f(col::TIMESTAMP, ts(), false),
                f(col::END_TIMESTAMP, ts(), false),
                f(col::EXCHANGE, DataType::Utf8, false),
                f(col::CONNECTION_ID, DataType::UInt16, false),
                f(col::SYMBOLS_AFFECTED, DataType::UInt32, false),
            ],
        };
        Arc::new(Schema::new(fields))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `timestamp[ns, tz=UTC]`.
pub fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// Column names. The legacy files' names where the column existed there (`Timestamp`,
/// `Exchange`, `Symbol`, `BestBid`, `BestAsk`, `SpreadPercentage`, `Price`, `Quantity`,
/// `Side`); the same style for the rest.
pub mod col {
    /// Local receive time (the engine's clock: staleness, charts and joins use it).
    /// For gaps: when the connection dropped.
    pub const TIMESTAMP: &str = "Timestamp";
    /// Venue, as [`crate::names::exchange_name`] writes it.
    pub const EXCHANGE: &str = "Exchange";
    /// `BASE_QUOTE`.
    pub const SYMBOL: &str = "Symbol";
    /// Best bid price.
    pub const BEST_BID: &str = "BestBid";
    /// Best ask price.
    pub const BEST_ASK: &str = "BestAsk";
    /// The venue's own spread, `(ask - bid) / ask * 100`.
    pub const SPREAD_PERCENTAGE: &str = "SpreadPercentage";
    /// Quantity at the best bid.
    pub const BID_SIZE: &str = "BidSize";
    /// Quantity at the best ask.
    pub const ASK_SIZE: &str = "AskSize";
    /// The venue's own timestamp; null when the venue does not send one.
    pub const EXCHANGE_TIMESTAMP: &str = "ExchangeTimestamp";
    /// The connection (per venue) the row arrived on.
    pub const CONNECTION_ID: &str = "ConnectionId";
    /// Trade price.
    pub const PRICE: &str = "Price";
    /// Trade quantity (base asset).
    pub const QUANTITY: &str = "Quantity";
    /// Taker side: `Buy` or `Sell`.
    pub const SIDE: &str = "Side";
    /// The venue's trade id; a text id is stored as its 64-bit hash.
    pub const TRADE_ID: &str = "TradeId";
    /// `true` when [`TRADE_ID`] is the hash of a text id.
    pub const TRADE_ID_HASHED: &str = "TradeIdHashed";
    /// Pair's first venue (alphabetical; `A` in the deviation).
    pub const EXCHANGE1: &str = "Exchange1";
    /// Pair's second venue.
    pub const EXCHANGE2: &str = "Exchange2";
    /// `(bid_1 / bid_2 - 1) * 100`.
    pub const DEVIATION: &str = "Deviation";
    /// Buy on venue 1, sell on venue 2: `(bid_2 - ask_1) / ask_1 * 100`.
    pub const EXEC_1_TO_2: &str = "Exec1To2";
    /// Buy on venue 2, sell on venue 1: `(bid_1 - ask_2) / ask_2 * 100`.
    pub const EXEC_2_TO_1: &str = "Exec2To1";
    /// The venue whose quote produced the row.
    pub const TRIGGER: &str = "Trigger";
    /// Age of the other leg when the row was produced, ns.
    pub const OTHER_LEG_AGE_NS: &str = "OtherLegAgeNs";
    /// Signal edge: `Entry` or `Exit`.
    pub const KIND: &str = "Kind";
    /// When the connection came back (gaps).
    pub const END_TIMESTAMP: &str = "EndTimestamp";
    /// Symbols whose quote the drop retired (gaps).
    pub const SYMBOLS_AFFECTED: &str = "SymbolsAffected";
}

/// Nanoseconds per hour.
pub const HOUR_NS: i64 = 3_600_000_000_000;

/// The partition (`date=YYYY-MM-DD/hour=HH`) of a row stamped `ts_ns` (UTC), as an hour
/// number since the epoch.
pub const fn hour_of(ts_ns: i64) -> i64 {
    ts_ns.div_euclid(HOUR_NS)
}

/// The partition directory of an hour number, relative to the dataset:
/// `date=YYYY-MM-DD/hour=HH`.
pub fn partition_dir(hour: i64) -> String {
    let days = hour.div_euclid(24);
    let (y, m, d) = civil_from_days(days);
    format!("date={y:04}-{m:02}-{d:02}/hour={:02}", hour.rem_euclid(24))
}

/// Parses `date=YYYY-MM-DD` and `hour=HH` directory names back into an hour number.
pub fn parse_partition(date_dir: &str, hour_dir: &str) -> Option<i64> {
    let date = date_dir.strip_prefix("date=")?;
    let hour: i64 = hour_dir.strip_prefix("hour=")?.parse().ok()?;
    if !(0..24).contains(&hour) {
        return None;
    }
    let mut it = date.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 24 + hour)
}

pub use arb_engine::clock::{civil_from_days, days_from_civil};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_round_trip_and_match_the_calendar() {
        // 2026-12-02T03:00:00Z = 1_796_180_400 s.
        let h = hour_of(1_796_180_400 * 1_000_000_000 + 59 * 60 * 1_000_000_000);
        assert_eq!(partition_dir(h), "date=2026-12-02/hour=03");
        assert_eq!(parse_partition("date=2026-12-02", "hour=03"), Some(h));
        assert_eq!(partition_dir(0), "date=1970-01-01/hour=00");
        assert_eq!(partition_dir(-1), "date=1969-12-31/hour=23");
        // Leap day.
        let leap = days_from_civil(2028, 2, 29);
        assert_eq!(civil_from_days(leap), (2028, 2, 29));
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(parse_partition("date=2026-13-01", "hour=00"), None);
        assert_eq!(parse_partition("date=2026-12-01", "hour=24"), None);
    }

    #[test]
    fn every_sort_column_is_in_the_schema() {
        for k in Kind::ALL {
            let s = k.schema();
            for c in k.sort_columns() {
                assert!(s.field_with_name(c).is_ok(), "{k}: {c}");
            }
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
    }
}
