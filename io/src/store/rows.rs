//! Row buffers of the store thread: one columnar buffer per (kind, hour), reused between
//! files, with the sort that lays a file out by symbol and venue and the conversion of a
//! sorted run into Arrow record batches.
//!
//! Rows are kept as plain columns (ids, not strings) while they wait; names are looked up
//! only when a file is written. A buffer never shrinks: after the first full file, pushing
//! a row allocates nothing.

use std::sync::Arc;

use arb_engine::event::{Side, SymbolId};
use arb_engine::pair::{PAIRS, VenuePair};
use arb_engine::spread::{GapRecord, Signal, SignalKind, SpreadUpdate};
use arb_engine::{Exchange, Quote, SymbolRegistry, Trade, TradeId};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt16Array, UInt32Array, UInt64Array,
};

use super::schema::Kind;
use crate::names;

/// Venue and symbol names, and the sort rank of each, fixed at start-up.
#[derive(Debug)]
pub struct Names {
    /// `BASE_QUOTE` per symbol id.
    symbols: Vec<Arc<str>>,
    /// Alphabetical rank of each symbol id's written name.
    symbol_rank: Vec<u32>,
    /// Alphabetical rank of each venue's written name (the pair order).
    venue_rank: [u8; Exchange::COUNT],
    /// Rank of each pair index in (Exchange1, Exchange2) written-name order.
    pair_rank: [u8; PAIRS],
}

impl Names {
    /// Names and ranks of every symbol of `registry`.
    pub fn new(registry: &SymbolRegistry) -> Self {
        let symbols: Vec<Arc<str>> = (0..registry.len() as u32)
            .map(|id| Arc::from(names::symbol_name(registry.name(SymbolId(id)))))
            .collect();
        let mut order: Vec<u32> = (0..symbols.len() as u32).collect();
        order.sort_by(|&a, &b| symbols[a as usize].cmp(&symbols[b as usize]));
        let mut symbol_rank = vec![0; symbols.len()];
        for (rank, &id) in order.iter().enumerate() {
            symbol_rank[id as usize] = rank as u32;
        }
        let mut venues = Exchange::ALL;
        venues.sort_by_key(|e| names::exchange_name(*e));
        let mut venue_rank = [0; Exchange::COUNT];
        for (rank, e) in venues.iter().enumerate() {
            venue_rank[e.index()] = rank as u8;
        }
        let mut pairs: Vec<VenuePair> = (0..PAIRS).filter_map(VenuePair::from_index).collect();
        pairs.sort_by_key(|p| {
            (
                names::exchange_name(p.first),
                names::exchange_name(p.second),
            )
        });
        let mut pair_rank = [0; PAIRS];
        for (rank, p) in pairs.iter().enumerate() {
            pair_rank[p.index()] = rank as u8;
        }
        Names {
            symbols,
            symbol_rank,
            venue_rank,
            pair_rank,
        }
    }

    /// Symbols known.
    pub fn symbols(&self) -> usize {
        self.symbols.len()
    }

    fn symbol(&self, id: u32) -> &str {
        self.symbols.get(id as usize).map_or("?", |s| s)
    }

    fn symbol_rank(&self, id: u32) -> u32 {
        self.symbol_rank
            .get(id as usize)
            .copied()
            .unwrap_or(u32::MAX >> 8)
    }
}

/// Reusable sort scratch: a stable counting sort by key, then by timestamp inside a key.
#[derive(Debug, Default)]
pub struct Sorter {
    counts: Vec<u32>,
    keys: Vec<u32>,
    pub(crate) perm: Vec<u32>,
}

impl Sorter {
    /// Orders `0..keys.len()` by `keys` (stable), then by `ts` within equal keys; leaves
    /// the order in `self.perm`.
    fn sort(&mut self, key_space: usize, ts: &[i64]) {
        let n = self.keys.len();
        self.counts.clear();
        self.counts.resize(key_space + 1, 0);
        for &k in &self.keys {
            self.counts[k as usize + 1] += 1;
        }
        for i in 1..self.counts.len() {
            self.counts[i] += self.counts[i - 1];
        }
        self.perm.clear();
        self.perm.resize(n, 0);
        for (i, &k) in self.keys.iter().enumerate() {
            let slot = &mut self.counts[k as usize];
            self.perm[*slot as usize] = i as u32;
            *slot += 1;
        }
        // Runs of one key arrive nearly in time order; sort only the runs that are not.
        let mut start = 0;
        while start < n {
            let key = self.keys[self.perm[start] as usize];
            let mut end = start + 1;
            while end < n && self.keys[self.perm[end] as usize] == key {
                end += 1;
            }
            let run = &mut self.perm[start..end];
            if run
                .windows(2)
                .any(|w| ts[w[0] as usize] > ts[w[1] as usize])
            {
                run.sort_by_key(|&i| ts[i as usize]);
            }
            start = end;
        }
    }
}

/// One kind's buffered rows.
pub trait Rows: Default + std::fmt::Debug {
    /// The dataset.
    const KIND: Kind;
    /// Rows held.
    fn len(&self) -> usize;
    /// `true` when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Forgets the rows, keeping the memory.
    fn clear(&mut self);
    /// Each row's timestamp.
    fn ts(&self) -> &[i64];
    /// Fills `keys` with each row's sort key; returns the key space.
    fn keys(&self, names: &Names, keys: &mut Vec<u32>) -> usize;
    /// Builds the columns of rows `perm` (already sorted), in schema order.
    fn batch(&self, names: &Names, perm: &[u32]) -> Vec<ArrayRef>;

    /// Sorts the buffer's rows into `sorter.perm`.
    fn sort(&self, names: &Names, sorter: &mut Sorter) {
        let mut keys = std::mem::take(&mut sorter.keys);
        keys.clear();
        let space = self.keys(names, &mut keys);
        sorter.keys = keys;
        sorter.sort(space, self.ts());
    }
}

fn pick<T: Copy>(v: &[T], perm: &[u32]) -> impl Iterator<Item = T> {
    perm.iter().map(move |&i| v[i as usize])
}

fn ts_col(v: &[i64], perm: &[u32]) -> ArrayRef {
    Arc::new(TimestampNanosecondArray::from_iter_values(pick(v, perm)).with_timezone("UTC"))
}

/// Exchange timestamps: `0` (venue does not stamp) is null.
fn opt_ts_col(v: &[i64], perm: &[u32]) -> ArrayRef {
    Arc::new(
        TimestampNanosecondArray::from_iter(pick(v, perm).map(|t| (t != 0).then_some(t)))
            .with_timezone("UTC"),
    )
}

fn f64_col(v: &[f64], perm: &[u32]) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(pick(v, perm)))
}

fn venue_col(v: &[u8], perm: &[u32]) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(
        pick(v, perm).map(|e| Exchange::from_u8(e).map_or("?", names::exchange_name)),
    ))
}

/// Symbols repeat in long runs (rows are sorted by symbol): look each name up once per run.
fn symbol_col(names: &Names, v: &[u32], perm: &[u32]) -> ArrayRef {
    let mut values = arrow_array::builder::StringBuilder::with_capacity(perm.len(), perm.len() * 8);
    let mut last = u32::MAX;
    let mut last_name = "";
    for id in pick(v, perm) {
        if id != last {
            last = id;
            last_name = names.symbol(id);
        }
        values.append_value(last_name);
    }
    Arc::new(values.finish())
}

/// Buffered quotes (columns; names resolved at write time).
#[derive(Debug, Default)]
pub struct QuoteRows {
    ts: Vec<i64>,
    symbol: Vec<u32>,
    venue: Vec<u8>,
    bid: Vec<f64>,
    ask: Vec<f64>,
    bid_qty: Vec<f64>,
    ask_qty: Vec<f64>,
    exch_ts: Vec<i64>,
    conn: Vec<u16>,
}

impl QuoteRows {
    /// Adds one quote.
    pub fn push(&mut self, q: &Quote) {
        self.ts.push(q.recv_ts_ns);
        self.symbol.push(q.symbol.0);
        self.venue.push(q.exchange as u8);
        self.bid.push(q.bid_px);
        self.ask.push(q.ask_px);
        self.bid_qty.push(q.bid_qty);
        self.ask_qty.push(q.ask_qty);
        self.exch_ts.push(q.exch_ts_ns);
        self.conn.push(q.conn_id);
    }
}

impl Rows for QuoteRows {
    const KIND: Kind = Kind::Quotes;
    fn len(&self) -> usize {
        self.ts.len()
    }
    fn clear(&mut self) {
        self.ts.clear();
        self.symbol.clear();
        self.venue.clear();
        self.bid.clear();
        self.ask.clear();
        self.bid_qty.clear();
        self.ask_qty.clear();
        self.exch_ts.clear();
        self.conn.clear();
    }
    fn ts(&self) -> &[i64] {
        &self.ts
    }
    fn keys(&self, names: &Names, keys: &mut Vec<u32>) -> usize {
        keys.extend(self.symbol.iter().zip(&self.venue).map(|(&s, &v)| {
            names.symbol_rank(s) * Exchange::COUNT as u32 + u32::from(names.venue_rank[v as usize])
        }));
        (names.symbols() + 1) * Exchange::COUNT
    }
    fn batch(&self, names: &Names, perm: &[u32]) -> Vec<ArrayRef> {
        let spread = perm.iter().map(|&i| {
            let (b, a) = (self.bid[i as usize], self.ask[i as usize]);
            (a - b) / a * 100.0
        });
        vec![
            ts_col(&self.ts, perm),
            venue_col(&self.venue, perm),
            symbol_col(names, &self.symbol, perm),
            f64_col(&self.bid, perm),
            f64_col(&self.ask, perm),
            Arc::new(Float64Array::from_iter_values(spread)),
            f64_col(&self.bid_qty, perm),
            f64_col(&self.ask_qty, perm),
            opt_ts_col(&self.exch_ts, perm),
            Arc::new(UInt16Array::from_iter_values(pick(&self.conn, perm))),
        ]
    }
}

/// Buffered trades.
#[derive(Debug, Default)]
pub struct TradeRows {
    ts: Vec<i64>,
    symbol: Vec<u32>,
    venue: Vec<u8>,
    px: Vec<f64>,
    qty: Vec<f64>,
    buy: Vec<bool>,
    id: Vec<u64>,
    hashed: Vec<bool>,
    exch_ts: Vec<i64>,
    conn: Vec<u16>,
}

impl TradeRows {
    /// Adds one trade.
    pub fn push(&mut self, t: &Trade) {
        self.ts.push(t.recv_ts_ns);
        self.symbol.push(t.symbol.0);
        self.venue.push(t.exchange as u8);
        self.px.push(t.px);
        self.qty.push(t.qty);
        self.buy.push(t.side == Side::Buy);
        let (id, hashed) = match t.trade_id {
            TradeId::Numeric(n) => (n, false),
            TradeId::Hashed(n) => (n, true),
        };
        self.id.push(id);
        self.hashed.push(hashed);
        self.exch_ts.push(t.exch_ts_ns);
        self.conn.push(t.conn_id);
    }
}

impl Rows for TradeRows {
    const KIND: Kind = Kind::Trades;
    fn len(&self) -> usize {
        self.ts.len()
    }
    fn clear(&mut self) {
        self.ts.clear();
        self.symbol.clear();
        self.venue.clear();
        self.px.clear();
        self.qty.clear();
        self.buy.clear();
        self.id.clear();
        self.hashed.clear();
        self.exch_ts.clear();
        self.conn.clear();
    }
    fn ts(&self) -> &[i64] {
        &self.ts
    }
    fn keys(&self, names: &Names, keys: &mut Vec<u32>) -> usize {
        keys.extend(self.symbol.iter().zip(&self.venue).map(|(&s, &v)| {
            names.symbol_rank(s) * Exchange::COUNT as u32 + u32::from(names.venue_rank[v as usize])
        }));
        (names.symbols() + 1) * Exchange::COUNT
    }
    fn batch(&self, names: &Names, perm: &[u32]) -> Vec<ArrayRef> {
        vec![
            ts_col(&self.ts, perm),
            venue_col(&self.venue, perm),
            symbol_col(names, &self.symbol, perm),
            f64_col(&self.px, perm),
            f64_col(&self.qty, perm),
            Arc::new(StringArray::from_iter_values(
                pick(&self.buy, perm).map(|b| if b { "Buy" } else { "Sell" }),
            )),
            Arc::new(UInt64Array::from_iter_values(pick(&self.id, perm))),
            Arc::new(BooleanArray::from_iter(pick(&self.hashed, perm).map(Some))),
            opt_ts_col(&self.exch_ts, perm),
            Arc::new(UInt16Array::from_iter_values(pick(&self.conn, perm))),
        ]
    }
}

/// Buffered (sampled) pair spreads.
#[derive(Debug, Default)]
pub struct SpreadRows {
    ts: Vec<i64>,
    symbol: Vec<u32>,
    pair: Vec<u8>,
    dev: Vec<f64>,
    exec_ab: Vec<f64>,
    exec_ba: Vec<f64>,
    trigger: Vec<u8>,
    other_age: Vec<i64>,
}

impl SpreadRows {
    /// Adds one pair spread.
    pub fn push(&mut self, p: &SpreadUpdate) {
        self.ts.push(p.ts_ns);
        self.symbol.push(p.symbol.0);
        self.pair.push(p.pair.index() as u8);
        self.dev.push(p.dev_pct);
        self.exec_ab.push(p.exec_ab_pct);
        self.exec_ba.push(p.exec_ba_pct);
        self.trigger.push(p.trigger as u8);
        self.other_age.push(p.other_age_ns);
    }
}

fn pair_cols(pair: &[u8], perm: &[u32]) -> [ArrayRef; 2] {
    let side = |second: bool| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(pick(pair, perm).map(|p| {
            VenuePair::from_index(p as usize).map_or("?", |p| {
                names::exchange_name(if second { p.second } else { p.first })
            })
        })))
    };
    [side(false), side(true)]
}

impl Rows for SpreadRows {
    const KIND: Kind = Kind::Spreads;
    fn len(&self) -> usize {
        self.ts.len()
    }
    fn clear(&mut self) {
        self.ts.clear();
        self.symbol.clear();
        self.pair.clear();
        self.dev.clear();
        self.exec_ab.clear();
        self.exec_ba.clear();
        self.trigger.clear();
        self.other_age.clear();
    }
    fn ts(&self) -> &[i64] {
        &self.ts
    }
    fn keys(&self, names: &Names, keys: &mut Vec<u32>) -> usize {
        keys.extend(self.symbol.iter().zip(&self.pair).map(|(&s, &p)| {
            names.symbol_rank(s) * PAIRS as u32 + u32::from(names.pair_rank[p as usize])
        }));
        (names.symbols() + 1) * PAIRS
    }
    fn batch(&self, names: &Names, perm: &[u32]) -> Vec<ArrayRef> {
        let [e1, e2] = pair_cols(&self.pair, perm);
        vec![
            ts_col(&self.ts, perm),
            symbol_col(names, &self.symbol, perm),
            e1,
            e2,
            f64_col(&self.dev, perm),
            f64_col(&self.exec_ab, perm),
            f64_col(&self.exec_ba, perm),
            venue_col(&self.trigger, perm),
            Arc::new(Int64Array::from_iter_values(pick(&self.other_age, perm))),
        ]
    }
}

/// Buffered signals.
#[derive(Debug, Default)]
pub struct SignalRows {
    ts: Vec<i64>,
    symbol: Vec<u32>,
    pair: Vec<u8>,
    entry: Vec<bool>,
    dev: Vec<f64>,
}

impl SignalRows {
    /// Adds one signal.
    pub fn push(&mut self, s: &Signal) {
        self.ts.push(s.ts_ns);
        self.symbol.push(s.symbol.0);
        self.pair.push(s.pair.index() as u8);
        self.entry.push(s.kind == SignalKind::Entry);
        self.dev.push(s.dev_pct);
    }
}

impl Rows for SignalRows {
    const KIND: Kind = Kind::Signals;
    fn len(&self) -> usize {
        self.ts.len()
    }
    fn clear(&mut self) {
        self.ts.clear();
        self.symbol.clear();
        self.pair.clear();
        self.entry.clear();
        self.dev.clear();
    }
    fn ts(&self) -> &[i64] {
        &self.ts
    }
    fn keys(&self, names: &Names, keys: &mut Vec<u32>) -> usize {
        keys.extend(self.symbol.iter().zip(&self.pair).map(|(&s, &p)| {
            names.symbol_rank(s) * PAIRS as u32 + u32::from(names.pair_rank[p as usize])
        }));
        (names.symbols() + 1) * PAIRS
    }
    fn batch(&self, names: &Names, perm: &[u32]) -> Vec<ArrayRef> {
        let [e1, e2] = pair_cols(&self.pair, perm);
        vec![
            ts_col(&self.ts, perm),
            symbol_col(names, &self.symbol, perm),
            e1,
            e2,
            Arc::new(StringArray::from_iter_values(
                pick(&self.entry, perm).map(|e| if e { "Entry" } else { "Exit" }),
            )),
            f64_col(&self.dev, perm),
        ]
    }
}

/// Buffered gap records.
#[derive(Debug, Default)]
pub struct GapRows {
    start: Vec<i64>,
    end: Vec<i64>,
    venue: Vec<u8>,
    conn: Vec<u16>,
    symbols: Vec<u32>,
}

impl GapRows {
    /// Adds one gap record.
    pub fn push(&mut self, g: &GapRecord) {
        self.start.push(g.start_ns);
        self.end.push(g.end_ns);
        self.venue.push(g.exchange as u8);
        self.conn.push(g.conn_id);
        self.symbols.push(g.symbols_affected);
    }
}

impl Rows for GapRows {
    const KIND: Kind = Kind::Gaps;
    fn len(&self) -> usize {
        self.start.len()
    }
    fn clear(&mut self) {
        self.start.clear();
        self.end.clear();
        self.venue.clear();
        self.conn.clear();
        self.symbols.clear();
    }
    fn ts(&self) -> &[i64] {
        &self.start
    }
    fn keys(&self, names: &Names, keys: &mut Vec<u32>) -> usize {
        keys.extend(
            self.venue
                .iter()
                .map(|&v| u32::from(names.venue_rank[v as usize])),
        );
        Exchange::COUNT
    }
    fn batch(&self, _names: &Names, perm: &[u32]) -> Vec<ArrayRef> {
        vec![
            ts_col(&self.start, perm),
            ts_col(&self.end, perm),
            venue_col(&self.venue, perm),
            Arc::new(UInt16Array::from_iter_values(pick(&self.conn, perm))),
            Arc::new(UInt32Array::from_iter_values(pick(&self.symbols, perm))),
        ]
    }
}

/// Builds a record batch of `rows`' rows `perm` in `kind`'s schema.
pub(crate) fn record_batch<R: Rows>(
    rows: &R,
    names: &Names,
    perm: &[u32],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    RecordBatch::try_new(R::KIND.schema(), rows.batch(names, perm))
}
