//! The synthetic capture generator behind `arb gen`: a deterministic market of many symbols
//! on the chosen venues, written as the exact frames each venue's WebSocket would deliver
//! (JSON text, MEXC protobuf, BingX gzip, Binance pings) into the capture format.
//!
//! Guarantees a caller relies on:
//! - **deterministic**: the same [`GenConfig`] gives a byte-identical capture, on any machine
//!   and with any dependency versions (in-house PRNG, gzip and protobuf writers; prices use
//!   only IEEE-exact float operations and are printed from integer ticks);
//! - **exact counts**: `rate_per_s × duration_s` messages (quotes, trades, heartbeats) at
//!   evenly spaced receive times from `start_ns`, after a one-second pre-roll in which every
//!   connection connects and receives its subscribe acks;
//! - **realistic content**: every symbol on every venue with the venue's native spelling;
//!   one random-walk mid per symbol, a wandering per-venue basis, bid/ask a few ticks apart,
//!   and dislocations in which one venue trades 0.1–1 % away from the others for 1–15 s, so
//!   cross-venue spreads and opportunities open and close; trades at the touch; exchange
//!   timestamps 1–30 ms before receipt with jitter and a per-venue clock offset (so some
//!   exchange→receive latencies are negative, as on real venues);
//! - **fast**: no allocation per message; well over 10 million messages a minute on one core.
//!
//! # Examples
//!
//! ```
//! use arb_feeds::capture::CaptureReader;
//! use arb_feeds::r#gen::{GenConfig, generate_to_vec};
//!
//! let cfg = GenConfig { symbols: 5, rate_per_s: 1_000, duration_s: 2.0, ..GenConfig::default() };
//! let (bytes, summary) = generate_to_vec(&cfg).unwrap();
//! assert_eq!(summary.messages, 2_000);
//! let reader = CaptureReader::new(&bytes).unwrap();
//! assert_eq!(reader.symbols().unwrap().len(), 5);
//! assert_eq!(reader.records().count() as u64, summary.records);
//! ```

mod fmt;
mod gzip;
mod market;
mod proto;
mod rng;
mod universe;
mod wire;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

use arb_engine::{Exchange, SymbolError, SymbolId, SymbolRegistry};

use crate::capture::{CaptureBuf, CaptureError, CaptureWriter, Record, RecordKind};
use market::{Market, Touch};
use rng::Rng;
use universe::SymbolSpec;
use wire::{ConnIds, TradeItem, Wire};

/// Nanoseconds in a second.
const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Time before `start_ns` in which connections connect and receive their acks.
pub const PREROLL_NS: i64 = NANOS_PER_SEC;
/// Largest symbol count: MEXC then needs 6 667 connections, within the `u16` connection id.
pub const MAX_SYMBOLS: usize = 100_000;
/// Largest message count of one run.
pub const MAX_MESSAGES: u64 = 10_000_000_000;
/// The default start: 2026-01-01T00:00:00Z.
pub const DEFAULT_START_NS: i64 = 1_767_225_600 * NANOS_PER_SEC;
/// Progress is reported every this many messages.
const PROGRESS_EVERY: u64 = 1 << 16;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenConfig {
    /// Number of symbols: real assets first (BTC, ETH, SOL, …), then synthetic `AAA1`, `AAB1`, ….
    pub symbols: usize,
    /// Venues, each listing every symbol; frames are spread evenly over them.
    pub venues: Vec<Exchange>,
    /// Messages per second of receive time (all venues together).
    pub rate_per_s: u64,
    /// Seconds of receive time.
    pub duration_s: f64,
    /// Fraction of data messages that are trades rather than book tickers.
    pub trade_fraction: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Receive time of the first message, ns since the epoch.
    pub start_ns: i64,
}

impl Default for GenConfig {
    /// 100 symbols on all 8 venues, 100 000 messages/s for 10 s, 20 % trades, seed 1, from
    /// 2026-01-01: a million messages, a few seconds to generate, enough for every code path.
    fn default() -> Self {
        GenConfig {
            symbols: 100,
            venues: Exchange::ALL.to_vec(),
            rate_per_s: 100_000,
            duration_s: 10.0,
            trade_fraction: 0.2,
            seed: 1,
            start_ns: DEFAULT_START_NS,
        }
    }
}

impl GenConfig {
    /// Checks every field and reports all problems at once.
    ///
    /// # Errors
    /// [`GenError::Config`] listing each problem.
    pub fn validate(&self) -> Result<(), GenError> {
        let mut problems = Vec::new();
        if self.symbols == 0 || self.symbols > MAX_SYMBOLS {
            problems.push(format!(
                "symbols must be in 1..={MAX_SYMBOLS}, not {}",
                self.symbols
            ));
        }
        if self.venues.is_empty() {
            problems.push("at least one venue is needed".to_owned());
        }
        for (i, ex) in self.venues.iter().enumerate() {
            if self.venues[..i].contains(ex) {
                problems.push(format!("venue {ex} is listed twice"));
            }
        }
        if self.rate_per_s == 0 {
            problems.push("rate_per_s must be at least 1".to_owned());
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0) {
            problems.push(format!(
                "duration_s must be a positive number of seconds, not {}",
                self.duration_s
            ));
        }
        if !(0.0..=1.0).contains(&self.trade_fraction) {
            problems.push(format!(
                "trade_fraction must be in 0..=1, not {}",
                self.trade_fraction
            ));
        }
        let messages = self.rate_per_s as f64 * self.duration_s;
        if self.rate_per_s > 0 && self.duration_s > 0.0 && messages < 0.5 {
            problems.push(format!(
                "rate_per_s × duration_s is {messages}, less than one message"
            ));
        }
        if messages.is_finite() && messages > MAX_MESSAGES as f64 {
            problems.push(format!(
                "rate_per_s × duration_s is {messages:.0} messages, over the limit of {MAX_MESSAGES}"
            ));
        }
        let end = self.start_ns as f64 + self.duration_s * NANOS_PER_SEC as f64;
        let fits = end.is_finite() && end < i64::MAX as f64;
        if self.start_ns < PREROLL_NS || !fits {
            problems.push(format!(
                "start_ns must leave one second before it and fit the run in i64 ns, not {}",
                self.start_ns
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(GenError::Config(problems))
        }
    }

    /// Returns the number of messages: `rate_per_s × duration_s`, rounded.
    pub fn messages(&self) -> u64 {
        (self.rate_per_s as f64 * self.duration_s).round() as u64
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    /// The configuration is invalid; every problem is listed.
    #[error("invalid generator config: {}", .0.join("; "))]
    Config(Vec<String>),
    /// Writing the capture failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The symbol table could not be built.
    #[error("cannot build the symbol table: {0}")]
    Symbol(#[from] SymbolError),
}

/// Progress of a run, handed to the callback of [`generate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenProgress {
    /// Messages generated so far (pre-roll frames not included).
    pub messages_done: u64,
    /// Messages the run will generate.
    pub messages_total: u64,
    /// Records written so far, pre-roll included.
    pub records: u64,
    /// Bytes written so far.
    pub bytes: u64,
}

/// What a run produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenSummary {
    /// Messages: book tickers, trade frames and heartbeats (`rate_per_s × duration_s`).
    pub messages: u64,
    /// Records in the capture: the messages plus the pre-roll (connects, welcomes, acks).
    pub records: u64,
    /// Capture size in bytes (0 from [`Generator::summary`], which writes nothing).
    pub bytes: u64,
    /// Book-ticker frames.
    pub quotes: u64,
    /// Trade frames.
    pub trade_frames: u64,
    /// Trades inside them (Bybit, MEXC, OKX and Bitget batch 1–3 per frame).
    pub trades: u64,
    /// Heartbeat frames (pings, pongs).
    pub heartbeats: u64,
    /// Pre-roll records: connection events, welcomes and subscribe acks.
    pub startup_records: u64,
    /// Connections over all venues.
    pub connections: u64,
    /// Dislocation episodes started.
    pub dislocations: u64,
}

/// What a generated frame carries, for tests that check decoders against the truth.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum FrameInfo {
    /// A `Connected` record.
    Connected,
    /// A welcome or subscribe acknowledgement.
    Subscribed,
    /// A heartbeat (ping or pong).
    Heartbeat,
    /// A book ticker.
    Quote {
        /// Symbol.
        symbol: SymbolId,
        /// Best bid price.
        bid_px: f64,
        /// Best bid quantity.
        bid_qty: f64,
        /// Best ask price.
        ask_px: f64,
        /// Best ask quantity.
        ask_qty: f64,
    },
    /// A trade frame.
    Trades {
        /// Symbol.
        symbol: SymbolId,
        /// Trades in the frame.
        count: usize,
        /// Price of the first trade.
        first_px: f64,
    },
}

/// One generated record and what it carries.
#[derive(Debug, Clone, Copy)]
pub struct GenFrame<'a> {
    /// The capture record (payload borrowed from the generator).
    pub record: Record<'a>,
    /// What the payload says.
    pub info: FrameInfo,
}

/// Per chosen venue: connection layout and clock behaviour.
#[derive(Debug, Clone)]
struct VenuePlan {
    ex: Exchange,
    symbols_per_conn: usize,
    conns: usize,
    /// Mean exchange→receive latency, ns.
    latency_ns: i64,
    /// Venue clock minus ours, ns.
    clock_offset_ns: i64,
    conn_ids: Vec<ConnIds>,
}

/// Where the generator is.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Pre-roll: venue `v`, connection `conn`, step `step` (0 = connected, then acks).
    Startup {
        v: usize,
        conn: usize,
        step: u64,
    },
    /// Message `slot` of `messages_total`.
    Stream {
        slot: u64,
    },
    Done,
}

/// A pull-based generator: [`Generator::next_frame`] returns records one by one, in file
/// order, borrowing an internal buffer. [`generate`] writes them to a capture file.
#[derive(Debug)]
pub struct Generator {
    cfg: GenConfig,
    universe: Vec<SymbolSpec>,
    registry: SymbolRegistry,
    plans: Vec<VenuePlan>,
    market: Market,
    wire: Wire,
    /// Cumulative popularity of symbols, for weighted picks.
    popularity: Vec<f64>,
    heartbeats: BinaryHeap<Reverse<(i64, u8, u16)>>,
    phase: Phase,
    messages_total: u64,
    startup_total: u64,
    startup_done: u64,
    payload: Vec<u8>,
    trades: Vec<TradeItem>,
    summary: GenSummary,
}

impl Generator {
    /// Validates `cfg` and prepares the market, symbol table and connection plan.
    ///
    /// # Errors
    /// [`GenError::Config`] for an invalid config.
    pub fn new(cfg: &GenConfig) -> Result<Self, GenError> {
        cfg.validate()?;
        let universe = universe::build(cfg.symbols);
        let registry = universe::registry(&universe, &cfg.venues)?;
        let mut rng = Rng::new(cfg.seed, 2);
        let plans: Vec<VenuePlan> = cfg
            .venues
            .iter()
            .map(|&ex| {
                let spc = wire::symbols_per_conn(ex);
                let conns = cfg.symbols.div_ceil(spc);
                VenuePlan {
                    ex,
                    symbols_per_conn: spc,
                    conns,
                    latency_ns: rng.range_u64(1_000_000, 30_000_000) as i64,
                    clock_offset_ns: rng.range_u64(0, 10_000_000) as i64 - 5_000_000,
                    conn_ids: (0..conns)
                        .map(|c| ConnIds::new(cfg.seed, ex, c as u16))
                        .collect(),
                }
            })
            .collect();
        let mut startup_total = 0;
        let mut heartbeats = BinaryHeap::new();
        for (v, p) in plans.iter().enumerate() {
            for c in 0..p.conns {
                let n = p.symbols_per_conn.min(cfg.symbols - c * p.symbols_per_conn);
                startup_total += 1 + wire::startup_frames(p.ex, n);
                let every = wire::heartbeat_interval_ns(p.ex);
                let first = cfg.start_ns + rng.below(every as u64) as i64;
                heartbeats.push(Reverse((first, v as u8, c as u16)));
            }
        }
        let mut acc = 0.0;
        let popularity = (0..cfg.symbols)
            .map(|i| {
                // Zipf-like: weight 1/sqrt(rank), so BTC is busiest and the tail still trades.
                acc += 1.0 / ((i + 1) as f64).sqrt();
                acc
            })
            .collect();
        let market = Market::new(cfg.seed, &universe, plans.len(), cfg.start_ns);
        let summary = GenSummary {
            connections: plans.iter().map(|p| p.conns as u64).sum(),
            ..GenSummary::default()
        };
        Ok(Generator {
            cfg: cfg.clone(),
            universe,
            registry,
            plans,
            market,
            wire: Wire::new(),
            popularity,
            heartbeats,
            phase: Phase::Startup {
                v: 0,
                conn: 0,
                step: 0,
            },
            messages_total: cfg.messages(),
            startup_total,
            startup_done: 0,
            payload: Vec::with_capacity(4096),
            trades: Vec::with_capacity(4),
            summary,
        })
    }

    /// Returns the symbol table: every symbol on every chosen venue; symbol `i` is
    /// `SymbolId(i)`.
    pub fn symbols(&self) -> &SymbolRegistry {
        &self.registry
    }

    /// Returns the config.
    pub fn config(&self) -> &GenConfig {
        &self.cfg
    }

    /// Returns the number of messages the run generates.
    pub fn messages_total(&self) -> u64 {
        self.messages_total
    }

    /// Returns the number of pre-roll records (connects, welcomes, acks).
    pub fn startup_records(&self) -> u64 {
        self.startup_total
    }

    /// Returns the counts so far.
    pub fn summary(&self) -> GenSummary {
        GenSummary {
            dislocations: self.market.stats.dislocations,
            ..self.summary
        }
    }

    /// Returns the next record, or `None` when the run is complete.
    ///
    /// # Hot path
    /// Allocates never after warm-up; syscalls none; may block no.
    pub fn next_frame(&mut self) -> Option<GenFrame<'_>> {
        self.payload.clear();
        let (ts, ex, conn, kind, info) = match self.phase {
            Phase::Done => return None,
            Phase::Startup { v, conn, step } => self.startup_frame(v, conn, step),
            Phase::Stream { slot } => {
                if slot >= self.messages_total {
                    self.phase = Phase::Done;
                    return None;
                }
                self.phase = Phase::Stream { slot: slot + 1 };
                self.summary.messages += 1;
                self.stream_frame(slot)
            }
        };
        self.summary.records += 1;
        Some(GenFrame {
            record: Record {
                recv_ts_ns: ts,
                exchange: ex,
                kind,
                conn_id: conn,
                payload: &self.payload,
            },
            info,
        })
    }

    fn startup_frame(
        &mut self,
        v: usize,
        conn: usize,
        step: u64,
    ) -> (i64, Exchange, u16, RecordKind, FrameInfo) {
        let plan = &self.plans[v];
        let first = conn * plan.symbols_per_conn;
        let n = plan.symbols_per_conn.min(self.cfg.symbols - first);
        let frames = 1 + wire::startup_frames(plan.ex, n);
        // Spread the pre-roll evenly over the second before the start.
        let ts = self.cfg.start_ns - PREROLL_NS
            + ((i128::from(self.startup_done) * i128::from(PREROLL_NS))
                / i128::from(self.startup_total)) as i64;
        let ex = plan.ex;
        let ids = plan.conn_ids[conn];
        let (kind, info) = if step == 0 {
            self.payload.extend_from_slice(wire::endpoint(ex));
            (RecordKind::Connected, FrameInfo::Connected)
        } else {
            let kind = self.wire.startup(
                ex,
                ids,
                &self.universe,
                first,
                step - 1,
                ts,
                &mut self.payload,
            );
            (kind, FrameInfo::Subscribed)
        };
        self.startup_done += 1;
        self.summary.startup_records += 1;
        self.phase = if step + 1 < frames {
            Phase::Startup {
                v,
                conn,
                step: step + 1,
            }
        } else if conn + 1 < plan.conns {
            Phase::Startup {
                v,
                conn: conn + 1,
                step: 0,
            }
        } else if v + 1 < self.plans.len() {
            Phase::Startup {
                v: v + 1,
                conn: 0,
                step: 0,
            }
        } else {
            Phase::Stream { slot: 0 }
        };
        (ts, ex, conn as u16, kind, info)
    }

    fn stream_frame(&mut self, slot: u64) -> (i64, Exchange, u16, RecordKind, FrameInfo) {
        let ts = self.cfg.start_ns
            + ((u128::from(slot) * NANOS_PER_SEC as u128) / u128::from(self.cfg.rate_per_s)) as i64;
        if let Some(&Reverse((due, v, conn))) = self.heartbeats.peek()
            && due <= ts
        {
            self.heartbeats.pop();
            let plan = &self.plans[v as usize];
            let ex = plan.ex;
            let next = due + wire::heartbeat_interval_ns(ex);
            self.heartbeats.push(Reverse((next, v, conn)));
            let ids = plan.conn_ids[conn as usize];
            let kind = self
                .wire
                .heartbeat(ex, ids, ts, self.market.rng(), &mut self.payload);
            self.summary.heartbeats += 1;
            return (ts, ex, conn, kind, FrameInfo::Heartbeat);
        }

        let rng = self.market.rng();
        let v = rng.below(self.plans.len() as u64) as usize;
        let pick = rng.unit() * self.popularity[self.popularity.len() - 1];
        let is_trade = rng.chance(self.cfg.trade_fraction);
        let s = self
            .popularity
            .partition_point(|&c| c <= pick)
            .min(self.universe.len() - 1);
        let plan = &self.plans[v];
        let ex = plan.ex;
        let conn = (s / plan.symbols_per_conn) as u16;
        // Exchange time: latency with jitter (and a rare spike) before receipt, seen through
        // the venue's clock offset.
        let rng = self.market.rng();
        let mut delay = plan.latency_ns / 2 + rng.below(plan.latency_ns as u64) as i64;
        if rng.chance(0.002) {
            delay += rng.below(80_000_000) as i64;
        }
        let exch_ns = ts - delay + plan.clock_offset_ns;
        let spec = &self.universe[s];
        let touch = self.market.touch(spec, s, v, ts);
        let symbol = SymbolId(s as u32);
        let to_px = |ticks: u64| ticks as f64 / spec.ticks_per_unit;
        let to_qty = |lots: u64| lots as f64 / fmt::POW10[spec.qty_scale as usize] as f64;
        if is_trade {
            self.fill_trades(s, v, ex, &touch, exch_ns);
            let spec = &self.universe[s];
            let (rng, book) = self.market.rng_and_book(s, v);
            let kind = self.wire.trades(
                ex,
                spec,
                book,
                &self.trades,
                exch_ns,
                rng,
                &mut self.payload,
            );
            self.summary.trade_frames += 1;
            self.summary.trades += self.trades.len() as u64;
            let info = FrameInfo::Trades {
                symbol,
                count: self.trades.len(),
                first_px: self.trades[0].px_ticks as f64 / spec.ticks_per_unit,
            };
            (ts, ex, conn, kind, info)
        } else {
            let info = FrameInfo::Quote {
                symbol,
                bid_px: to_px(touch.bid_ticks),
                bid_qty: to_qty(touch.bid_lots),
                ask_px: to_px(touch.ask_ticks),
                ask_qty: to_qty(touch.ask_lots),
            };
            let (rng, book) = self.market.rng_and_book(s, v);
            let kind = self
                .wire
                .quote(ex, spec, book, &touch, exch_ns, rng, &mut self.payload);
            self.summary.quotes += 1;
            (ts, ex, conn, kind, info)
        }
    }

    /// Fills `self.trades` for a trade frame on symbol `s`, venue `v`: 1–3 trades at the
    /// touch (walking a tick now and then) for batching venues, one for the others.
    fn fill_trades(&mut self, s: usize, v: usize, ex: Exchange, touch: &Touch, exch_ns: i64) {
        let typ = self.universe[s].typ_lots;
        let (rng, book) = self.market.rng_and_book(s, v);
        let count = if wire::batches_trades(ex) {
            match rng.below(10) {
                0..=6 => 1,
                7..=8 => 2,
                _ => 3,
            }
        } else {
            1
        };
        let buy = rng.chance(0.5);
        let mut px = if buy {
            touch.ask_ticks
        } else {
            touch.bid_ticks
        };
        // The matching engine stamps the trade a little before the push.
        let trade_ns = exch_ns - rng.below(3_000_000) as i64;
        self.trades.clear();
        for k in 0..count {
            if k > 0 && rng.chance(0.4) {
                px = if buy { px + 1 } else { (px - 1).max(1) };
            }
            let u = rng.unit();
            let lots = ((typ as f64) * (0.005 + 0.6 * u * u * u)).max(1.0) as u64;
            book.trade_id += 1;
            self.trades.push(TradeItem {
                px_ticks: px,
                qty_lots: lots,
                buy,
                id: book.trade_id,
                ts_ns: trade_ns,
            });
            book.last_px_ticks = px;
            book.last_qty_lots = lots;
        }
    }
}

/// Writes the capture for `cfg` to `path` (through `<path>.partial`, renamed when complete),
/// calling `progress` every 65 536 messages and once at the end.
///
/// # Errors
/// [`GenError::Config`] for an invalid config; [`GenError::Capture`] when writing fails (the
/// `.partial` file is left behind).
pub fn generate(
    cfg: &GenConfig,
    path: impl AsRef<Path>,
    mut progress: impl FnMut(&GenProgress),
) -> Result<GenSummary, GenError> {
    let mut generator = Generator::new(cfg)?;
    let mut w = CaptureWriter::create_at(path, generator.symbols(), cfg.start_ns)?;
    let total = generator.messages_total();
    let mut next_report = PROGRESS_EVERY;
    while let Some(frame) = generator.next_frame() {
        w.append(frame.record)?;
        let done = generator.summary.messages;
        if done >= next_report {
            next_report += PROGRESS_EVERY;
            progress(&GenProgress {
                messages_done: done,
                messages_total: total,
                records: w.records(),
                bytes: w.bytes(),
            });
        }
    }
    let written = w.finish()?;
    progress(&GenProgress {
        messages_done: total,
        messages_total: total,
        records: written.records,
        bytes: written.bytes,
    });
    Ok(GenSummary {
        bytes: written.bytes,
        ..generator.summary()
    })
}

/// Generates the capture for `cfg` in memory: the same bytes [`generate`] writes.
///
/// # Errors
/// [`GenError::Config`] for an invalid config.
pub fn generate_to_vec(cfg: &GenConfig) -> Result<(Vec<u8>, GenSummary), GenError> {
    let mut generator = Generator::new(cfg)?;
    let mut buf = CaptureBuf::new(generator.symbols(), cfg.start_ns)?;
    while let Some(frame) = generator.next_frame() {
        buf.append(frame.record)?;
    }
    let bytes = buf.into_bytes();
    let summary = GenSummary {
        bytes: bytes.len() as u64,
        ..generator.summary()
    };
    Ok((bytes, summary))
}
