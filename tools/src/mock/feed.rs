//! The mock exchange's market data: the synthetic generator (or a capture) paced against
//! the wall clock, and the hub that routes each quote or trade frame to the connections of its venue that
//! subscribed to that symbol's channel, through bounded per-connection queues (a full
//! queue drops the frame and counts it).

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arb_engine::clock::{self, Stopwatch};
use arb_engine::{Exchange, SymbolId, SymbolRegistry};
use arb_feeds::capture::{CaptureReader, Record, RecordKind};
use arb_feeds::r#gen::{FrameInfo, GenConfig, Generator};
use arb_feeds::{AnyDecoder, Decoded, FrameDecoder, FrameKind};
use rustc_hash::FxHashMap;
use tungstenite::Bytes;

use super::rest::Universe;
use super::{Shared, VenueStats};

/// Subscription bit: the venue's book-ticker channel (KuCoin: `/market/ticker`).
pub(crate) const BOOK: u8 = 1;
/// Subscription bit: the venue's trade channel.
pub(crate) const TRADE: u8 = 2;
/// Subscription bit: KuCoin's `/spotMarket/level1` book channel.
pub(crate) const LEVEL1: u8 = 4;

/// Seconds of market generated before the generator is rebuilt from now (prices then
/// restart from a fresh walk, so keep the seams rare; the generator is pull-based, so a
/// long run costs no memory).
pub(crate) const LOOP_SECS: f64 = 3600.0;

/// One market-data frame on its way to a connection.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Binary (MEXC protobuf, BingX gzip) rather than text.
    pub(crate) binary: bool,
    /// The payload, shared by every receiving connection.
    pub(crate) bytes: Bytes,
    /// The symbol it is about.
    pub(crate) symbol: SymbolId,
}

/// One open WebSocket connection as the router sees it.
#[derive(Debug)]
pub(crate) struct ConnSlot {
    id: u64,
    ex: Exchange,
    /// Subscription bits per symbol id.
    subs: Vec<AtomicU8>,
    tx: SyncSender<Frame>,
}

impl ConnSlot {
    /// Sets or clears `bits` for `sym`.
    pub(crate) fn set(&self, sym: SymbolId, bits: u8, on: bool) {
        if let Some(s) = self.subs.get(sym.index()) {
            if on {
                s.fetch_or(bits, Ordering::Relaxed);
            } else {
                s.fetch_and(!bits, Ordering::Relaxed);
            }
        }
    }

    fn wants(&self, sym: SymbolId) -> u8 {
        self.subs
            .get(sym.index())
            .map_or(0, |s| s.load(Ordering::Relaxed))
    }
}

/// The open connections of every venue.
#[derive(Debug)]
pub(crate) struct Hub {
    venues: [Mutex<Vec<Arc<ConnSlot>>>; Exchange::COUNT],
    next_id: AtomicU64,
}

impl Hub {
    /// An empty hub.
    pub(crate) fn new() -> Hub {
        Hub {
            venues: Default::default(),
            next_id: AtomicU64::new(1),
        }
    }

    /// Registers a connection of `ex` with room for `symbols` ids and a queue of `cap`.
    pub(crate) fn join(
        &self,
        ex: Exchange,
        symbols: usize,
        cap: usize,
    ) -> (Arc<ConnSlot>, Receiver<Frame>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(cap);
        let slot = Arc::new(ConnSlot {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            ex,
            subs: (0..symbols).map(|_| AtomicU8::new(0)).collect(),
            tx,
        });
        self.list(ex).push(Arc::clone(&slot));
        (slot, rx)
    }

    /// Removes a connection.
    pub(crate) fn leave(&self, slot: &ConnSlot) {
        self.list(slot.ex).retain(|s| s.id != slot.id);
    }

    /// Open connections over all venues.
    pub(crate) fn open(&self) -> usize {
        Exchange::ALL.iter().map(|&ex| self.list(ex).len()).sum()
    }

    fn list(&self, ex: Exchange) -> std::sync::MutexGuard<'_, Vec<Arc<ConnSlot>>> {
        self.venues[ex.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a data frame for every connection of `ex` subscribed to `sym` with `bit`;
    /// KuCoin level-1 subscribers get `level1()` instead of the ticker frame.
    fn route(
        &self,
        ex: Exchange,
        sym: SymbolId,
        bit: u8,
        frame: &Frame,
        mut level1: impl FnMut() -> Option<Frame>,
        stats: &VenueStats,
    ) {
        let list = self.list(ex);
        let mut l1: Option<Option<Frame>> = None;
        for slot in list.iter() {
            let wants = slot.wants(sym);
            let f = if wants & bit != 0 {
                frame.clone()
            } else if bit == BOOK && wants & LEVEL1 != 0 {
                match l1.get_or_insert_with(&mut level1) {
                    Some(f) => f.clone(),
                    None => continue,
                }
            } else {
                continue;
            };
            match slot.tx.try_send(f) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                Err(TrySendError::Full(_)) => VenueStats::bump(&stats.frames_dropped),
            }
        }
    }
}

/// Rewrites a KuCoin `/market/ticker` push into the `/spotMarket/level1` layout.
fn kucoin_level1(ticker: &[u8], symbol: SymbolId) -> Option<Frame> {
    let v: serde_json::Value = serde_json::from_slice(ticker).ok()?;
    let topic = v.get("topic")?.as_str()?;
    let sym = topic.rsplit(':').next()?;
    let d = v.get("data")?;
    let s = |k: &str| d.get(k).and_then(serde_json::Value::as_str);
    let out = format!(
        r#"{{"topic":"/spotMarket/level1:{sym}","type":"message","subject":"level1","data":{{"asks":["{}","{}"],"bids":["{}","{}"],"timestamp":{}}}}}"#,
        s("bestAsk")?,
        s("bestAskSize")?,
        s("bestBid")?,
        s("bestBidSize")?,
        d.get("time")?.as_i64()?
    );
    Some(Frame {
        binary: false,
        bytes: Bytes::from(out.into_bytes()),
        symbol,
    })
}

/// Runs the generator at its configured rate until the server stops, rebuilding it from
/// the current time every [`LOOP_SECS`].
pub(crate) fn run(shared: &Shared, mut generator: Generator, mut cfg: GenConfig) {
    let mut round = 0u64;
    loop {
        let t0 = Stopwatch::start();
        let start_ns = cfg.start_ns;
        let mut checked = 0u32;
        while let Some(f) = generator.next_frame() {
            let (sym, bit) = match f.info {
                FrameInfo::Quote { symbol, .. } => (symbol, BOOK),
                FrameInfo::Trades { symbol, .. } => (symbol, TRADE),
                _ => continue,
            };
            // Pace: frames carry evenly spaced receive times from `start_ns`.
            let due = Duration::from_nanos((f.record.recv_ts_ns - start_ns).max(0) as u64);
            checked = checked.wrapping_add(1);
            if checked.is_multiple_of(1024) && shared.stop.load(Ordering::Relaxed) {
                return;
            }
            while t0.elapsed() + Duration::from_micros(500) < due {
                std::thread::sleep(Duration::from_millis(1));
                if shared.stop.load(Ordering::Relaxed) {
                    return;
                }
            }
            let ex = f.record.exchange;
            let frame = Frame {
                binary: matches!(f.record.kind, RecordKind::Binary),
                bytes: Bytes::copy_from_slice(f.record.payload),
                symbol: sym,
            };
            let payload = f.record.payload;
            let copies = shared.flood.copies(ex, shared.now());
            for _ in 0..copies {
                shared.hub.route(
                    ex,
                    sym,
                    bit,
                    &frame,
                    || kucoin_level1(payload, sym),
                    shared.stats(ex),
                );
            }
            if copies > 1 {
                shared
                    .stats(ex)
                    .frames_flooded
                    .fetch_add(u64::from(copies - 1), Ordering::Relaxed);
            }
        }
        round += 1;
        cfg.start_ns = clock::wall_ns();
        cfg.seed = cfg.seed.wrapping_add(round);
        generator = match Generator::new(&cfg) {
            Ok(g) => g,
            Err(e) => {
                tracing::error!("mock-exchange: cannot rebuild the generator: {e}");
                return;
            }
        };
    }
}

/// Decoders per (venue, connection) of a capture, to find each record's symbol.
#[derive(Debug, Default)]
struct Classifier {
    decoders: FxHashMap<(usize, u16), AnyDecoder>,
}

/// What a capture record is to the router.
#[derive(Debug, Clone, Copy)]
struct Class {
    symbol: SymbolId,
    bit: u8,
    /// Bid and ask of a quote.
    touch: Option<(f64, f64)>,
}

impl Classifier {
    /// Decodes `rec` and returns its first quote's or trade's symbol and channel; `None` for
    /// control traffic, connection events and symbols the registry does not know.
    fn classify(&mut self, reg: &SymbolRegistry, rec: &Record<'_>) -> Option<Class> {
        let ex = rec.exchange;
        let dec = self
            .decoders
            .entry((ex.index(), rec.conn_id))
            .or_insert_with(|| AnyDecoder::new(ex));
        let kind = match rec.kind {
            RecordKind::Text => FrameKind::Text,
            RecordKind::Binary => FrameKind::Binary,
            RecordKind::Connected | RecordKind::Disconnected => {
                dec.reset_session();
                return None;
            }
            _ => return None,
        };
        let mut class = None;
        let _ = dec.decode(kind, rec.payload, &mut |d| {
            if class.is_some() {
                return;
            }
            class = match d {
                Decoded::Quote(q) => reg.lookup(ex, q.native).map(|symbol| Class {
                    symbol,
                    bit: BOOK,
                    touch: Some((q.bid_px, q.ask_px)),
                }),
                Decoded::Trade(t) => reg.lookup(ex, t.native).map(|symbol| Class {
                    symbol,
                    bit: TRADE,
                    touch: None,
                }),
                Decoded::Control(_) => None,
            };
        });
        class
    }
}

/// Lists a capture's symbols, priced from its first quotes.
///
/// # Errors
/// The capture's header or symbol table is invalid.
pub(crate) fn capture_universe(bytes: &[u8]) -> anyhow::Result<Universe> {
    let reader = CaptureReader::new(bytes)?;
    let reg = reader.symbols()?;
    let mut px = vec![None; reg.len()];
    let mut cls = Classifier::default();
    for rec in reader.records().take(2_000_000) {
        if let Some(Class {
            symbol,
            touch: Some(t),
            ..
        }) = cls.classify(&reg, &rec)
            && let Some(slot @ None) = px.get_mut(symbol.index())
        {
            *slot = Some(t);
        }
    }
    Ok(Universe::new(reg, &px))
}

/// Plays a capture at its recorded pace, looping, routing each data record by the symbol
/// and channel its decoded content names (KuCoin book frames go to both book topics as
/// recorded, without conversion).
pub(crate) fn run_capture(shared: &Shared, bytes: &[u8]) {
    let reader = match CaptureReader::new(bytes) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("mock-exchange: capture unreadable: {e}");
            return;
        }
    };
    let reg = shared.universe.registry();
    loop {
        let t0 = Stopwatch::start();
        let mut first_ts = None;
        let mut cls = Classifier::default();
        let mut routed = 0u64;
        for rec in reader.records() {
            if routed.is_multiple_of(1024) && shared.stop.load(Ordering::Relaxed) {
                return;
            }
            let Some(c) = cls.classify(reg, &rec) else {
                continue;
            };
            routed += 1;
            let base = *first_ts.get_or_insert(rec.recv_ts_ns);
            let due = Duration::from_nanos((rec.recv_ts_ns - base).max(0) as u64);
            while t0.elapsed() + Duration::from_micros(500) < due {
                std::thread::sleep(Duration::from_millis(1));
                if shared.stop.load(Ordering::Relaxed) {
                    return;
                }
            }
            let frame = Frame {
                binary: matches!(rec.kind, RecordKind::Binary),
                bytes: Bytes::copy_from_slice(rec.payload),
                symbol: c.symbol,
            };
            let ex = rec.exchange;
            shared.hub.route(
                ex,
                c.symbol,
                c.bit,
                &frame,
                || Some(frame.clone()),
                shared.stats(ex),
            );
        }
        if routed == 0 {
            tracing::error!("mock-exchange: the capture has no quote or trade of a listed symbol");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kucoin_ticker_becomes_level1() {
        let t = br#"{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{"bestAsk":"2","bestAskSize":"3","bestBid":"1","bestBidSize":"4","price":"1","sequence":"5","size":"1","time":1700000000000}}"#;
        let f = kucoin_level1(t, SymbolId(0)).expect("converted");
        let mut d = arb_feeds::AnyDecoder::new(Exchange::Kucoin);
        let mut quotes = 0;
        arb_feeds::FrameDecoder::decode(&mut d, arb_feeds::FrameKind::Text, &f.bytes, &mut |x| {
            if let arb_feeds::Decoded::Quote(q) = x {
                assert_eq!((q.native, q.bid_px, q.ask_qty), ("BTC-USDT", 1.0, 3.0));
                quotes += 1;
            }
        })
        .expect("decodes");
        assert_eq!(quotes, 1);
    }
}
