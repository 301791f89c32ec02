//! The server's side of the engine's output: drains its tap ring from the core (dropping,
//! never waiting), keeps the latest value per (channel, key), and once per publish tick
//! serialises each changed key that someone subscribes to, once, for every subscriber.
//!
//! Conflation starts here: a quote that is replaced before the tick is never serialised.
//! Each client then conflates again in its own queue ([`super::ws`]) when it falls behind.

use arb_engine::event::{Quote, Side, SymbolId};
use arb_engine::live_pairs::LivePairs;
use arb_engine::pair::PAIRS;
use arb_engine::ring::{Consumer, Envelope};
use arb_engine::spread::{CoreOut, Signal, SignalKind, SpreadUpdate};
use arb_engine::{Exchange, SymbolRegistry, Trade};
use serde_json::json;
use tungstenite::Utf8Bytes;

use super::api::finite;
use crate::names;

/// What a client can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Best bid/ask per (symbol, venue).
    Quotes = 0,
    /// Deviation and executable spreads per (symbol, pair).
    Spreads = 1,
    /// Latest trade per (symbol, venue).
    Trades = 2,
    /// Entry / exit signals per (symbol, pair).
    Signals = 3,
    /// The live ranking (no symbol).
    Opportunities = 4,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 5] = [
        Channel::Quotes,
        Channel::Spreads,
        Channel::Trades,
        Channel::Signals,
        Channel::Opportunities,
    ];

    /// Name in the protocol.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Quotes => "quotes",
            Channel::Spreads => "spreads",
            Channel::Trades => "trades",
            Channel::Signals => "signals",
            Channel::Opportunities => "opportunities",
        }
    }

    /// Parses a protocol name.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// `true` for channels keyed by symbol.
    pub const fn per_symbol(self) -> bool {
        !matches!(self, Channel::Opportunities)
    }

    /// Keys per symbol (venues or pairs).
    const fn fan(self) -> usize {
        match self {
            Channel::Quotes | Channel::Trades => Exchange::COUNT,
            Channel::Spreads | Channel::Signals => PAIRS,
            Channel::Opportunities => 1,
        }
    }
}

/// A conflation key: channel, symbol, venue or pair.
pub type Key = u64;

/// Packs a key.
pub const fn key(channel: Channel, symbol: u32, sub: usize) -> Key {
    (channel as u64) << 56 | (symbol as u64) << 8 | sub as u64
}

/// The channel of a key.
pub fn key_channel(k: Key) -> Channel {
    Channel::ALL[((k >> 56) as usize).min(4)]
}

/// The symbol of a key.
pub const fn key_symbol(k: Key) -> u32 {
    (k >> 8) as u32
}

#[derive(Debug, Clone, Copy)]
enum Latest {
    Empty,
    Quote(Quote),
    Spread(SpreadUpdate),
    Trade(Trade),
    Signal(Signal),
}

/// Latest values, dirty keys, subscriber counts.
#[derive(Debug)]
pub struct Publisher {
    input: Option<Consumer<Envelope<CoreOut>>>,
    pairs: LivePairs,
    symbols: usize,
    names: Vec<String>,
    /// `[channel][symbol * fan + sub]`.
    latest: [Vec<Latest>; 4],
    dirty_flag: [Vec<bool>; 4],
    dirty: Vec<Key>,
    /// Subscribers per (channel, symbol); a key is tracked only when someone listens.
    subscribers: [Vec<u32>; 4],
    /// Clients of the legacy bus (every symbol's quotes, trades and signals).
    legacy: u32,
    /// Outputs taken from the tap ring.
    pub taken: u64,
}

impl Publisher {
    /// A publisher for `registry`'s symbols, reading `input` (the server's tap ring).
    pub fn new(
        registry: &SymbolRegistry,
        stale_after_ns: i64,
        input: Option<Consumer<Envelope<CoreOut>>>,
    ) -> Self {
        let symbols = registry.len();
        let per = |c: Channel| symbols * c.fan();
        Publisher {
            input,
            pairs: LivePairs::new(symbols, stale_after_ns),
            symbols,
            names: (0..symbols as u32)
                .map(|i| names::symbol_name(registry.name(SymbolId(i))))
                .collect(),
            latest: [
                vec![Latest::Empty; per(Channel::Quotes)],
                vec![Latest::Empty; per(Channel::Spreads)],
                vec![Latest::Empty; per(Channel::Trades)],
                vec![Latest::Empty; per(Channel::Signals)],
            ],
            dirty_flag: [
                vec![false; per(Channel::Quotes)],
                vec![false; per(Channel::Spreads)],
                vec![false; per(Channel::Trades)],
                vec![false; per(Channel::Signals)],
            ],
            dirty: Vec::new(),
            subscribers: std::array::from_fn(|_| vec![0; symbols]),
            legacy: 0,
            taken: 0,
        }
    }

    /// Symbols known.
    pub fn symbols(&self) -> usize {
        self.symbols
    }

    /// A client subscribed (`+1`) or left (`-1`) `channel` for `symbol`.
    pub fn count(&mut self, channel: Channel, symbol: u32, delta: i32) {
        if let Some(c) = self.subscribers.get_mut(channel as usize)
            && let Some(n) = c.get_mut(symbol as usize)
        {
            *n = n.saturating_add_signed(delta);
        }
    }

    /// A legacy-bus client joined (`+1`) or left (`-1`).
    pub fn count_legacy(&mut self, delta: i32) {
        self.legacy = self.legacy.saturating_add_signed(delta);
    }

    fn wanted(&self, channel: Channel, symbol: u32) -> bool {
        (self.legacy > 0 && channel != Channel::Spreads)
            || self.subscribers[channel as usize]
                .get(symbol as usize)
                .copied()
                .unwrap_or(0)
                > 0
    }

    fn mark(&mut self, channel: Channel, symbol: u32, sub: usize, v: Latest) {
        let ch = channel as usize;
        if !self.wanted(channel, symbol) {
            return;
        }
        let i = symbol as usize * channel.fan() + sub;
        self.latest[ch][i] = v;
        if !self.dirty_flag[ch][i] {
            self.dirty_flag[ch][i] = true;
            self.dirty.push(key(channel, symbol, sub));
        }
    }

    /// Drains the tap ring (at most `max` outputs), handing every signal to
    /// `on_signal` as well (the charts mark them); returns how many outputs it took.
    pub fn drain(&mut self, max: usize, mut on_signal: impl FnMut(&Signal)) -> usize {
        let Some(mut input) = self.input.take() else {
            return 0;
        };
        let mut n = 0;
        while n < max {
            let Ok(env) = input.pop() else { break };
            n += 1;
            let o = env.item;
            match &o {
                CoreOut::Quote(u) => {
                    let q = u.quote;
                    self.mark(
                        Channel::Quotes,
                        q.symbol.0,
                        q.exchange.index(),
                        Latest::Quote(q),
                    );
                    let mut spreads = [None; Exchange::COUNT];
                    let mut k = 0;
                    self.pairs.apply(&o, |p| {
                        spreads[k] = Some(*p);
                        k += 1;
                    });
                    for p in spreads.into_iter().flatten() {
                        self.mark(
                            Channel::Spreads,
                            p.symbol.0,
                            p.pair.index(),
                            Latest::Spread(p),
                        );
                    }
                }
                CoreOut::Trade(t) => {
                    self.mark(
                        Channel::Trades,
                        t.symbol.0,
                        t.exchange.index(),
                        Latest::Trade(*t),
                    );
                }
                CoreOut::Signal(s) => {
                    on_signal(s);
                    self.mark(
                        Channel::Signals,
                        s.symbol.0,
                        s.pair.index(),
                        Latest::Signal(*s),
                    );
                }
                CoreOut::Venue(_) => self.pairs.apply(&o, |_| {}),
                CoreOut::Gap(_) => {}
            }
        }
        self.taken += n as u64;
        self.input = Some(input);
        n
    }

    /// `true` once the core hung up and the ring is drained (or there is no ring).
    pub fn closed(&self) -> bool {
        self.input
            .as_ref()
            .is_none_or(|i| i.is_abandoned() && i.is_empty())
    }

    /// Serialises every dirty key once per audience and hands it to
    /// `deliver(key, message, legacy)`: the typed message for `/ws` subscribers, the
    /// legacy PascalCase one (`{"MessageType","Payload"}`) when legacy-bus clients exist.
    pub fn flush(&mut self, mut deliver: impl FnMut(Key, &Utf8Bytes, bool)) {
        let dirty = std::mem::take(&mut self.dirty);
        // When the server serialised the update (epoch s): clients measure delivery
        // latency against it (arb loadgen).
        let pub_ts = arb_engine::clock::wall_ns() as f64 / 1e9;
        for &k in &dirty {
            let ch = key_channel(k);
            let sym = key_symbol(k);
            let sub = (k & 0xff) as usize;
            let i = sym as usize * ch.fan() + sub;
            self.dirty_flag[ch as usize][i] = false;
            let latest = self.latest[ch as usize][i];
            if matches!(latest, Latest::Empty) {
                continue;
            }
            let name = self.names.get(sym as usize).map_or("?", String::as_str);
            let modern = self.subscribers[ch as usize]
                .get(sym as usize)
                .copied()
                .unwrap_or(0)
                > 0;
            if modern {
                let mut text = String::with_capacity(192);
                typed_into(&mut text, name, &latest, pub_ts);
                deliver(k, &Utf8Bytes::from(text), false);
            }
            if self.legacy > 0
                && let Some(msg) = legacy(name, &latest)
            {
                deliver(k, &Utf8Bytes::from(msg.to_string()), true);
            }
        }
        self.dirty = dirty;
        self.dirty.clear();
    }
}

/// Writes a JSON number, `null` when not finite (Rust's shortest round-trip form).
fn num(out: &mut String, v: f64) {
    use std::fmt::Write as _;
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str("null");
    }
}

/// Writes the `/ws` message of a latest value. Formatted directly rather than through a
/// `serde_json::Value` (a map per message): at a thousand subscribers the server
/// serialises up to a million messages a second. Names need no escaping: symbols are
/// registry-validated alphanumerics with `_`, venues are constants.
fn typed_into(out: &mut String, name: &str, latest: &Latest, pub_ts: f64) {
    use std::fmt::Write as _;
    match *latest {
        Latest::Quote(q) => {
            let _ = write!(
                out,
                r#"{{"type":"quote","symbol":"{name}","exchange":"{}","bid":"#,
                names::exchange_name(q.exchange)
            );
            num(out, q.bid_px);
            out.push_str(r#","ask":"#);
            num(out, q.ask_px);
            out.push_str(r#","bid_size":"#);
            num(out, q.bid_qty);
            out.push_str(r#","ask_size":"#);
            num(out, q.ask_qty);
            out.push_str(r#","ts":"#);
            num(out, ts_s(q.recv_ts_ns));
        }
        Latest::Spread(p) => {
            let _ = write!(
                out,
                r#"{{"type":"spread","symbol":"{name}","exchange1":"{}","exchange2":"{}","deviation":"#,
                names::exchange_name(p.pair.first),
                names::exchange_name(p.pair.second)
            );
            num(out, p.dev_pct);
            out.push_str(r#","exec12":"#);
            num(out, p.exec_ab_pct);
            out.push_str(r#","exec21":"#);
            num(out, p.exec_ba_pct);
            out.push_str(r#","ts":"#);
            num(out, ts_s(p.ts_ns));
        }
        Latest::Trade(t) => {
            let _ = write!(
                out,
                r#"{{"type":"trade","symbol":"{name}","exchange":"{}","side":"{}","price":"#,
                names::exchange_name(t.exchange),
                if t.side == Side::Buy { "Buy" } else { "Sell" }
            );
            num(out, t.px);
            out.push_str(r#","quantity":"#);
            num(out, t.qty);
            out.push_str(r#","ts":"#);
            num(out, ts_s(t.recv_ts_ns));
        }
        Latest::Signal(s) => {
            let _ = write!(
                out,
                r#"{{"type":"signal","symbol":"{name}","exchange1":"{}","exchange2":"{}","kind":"{}","deviation":"#,
                names::exchange_name(s.pair.first),
                names::exchange_name(s.pair.second),
                if s.kind == SignalKind::Entry {
                    "Entry"
                } else {
                    "Exit"
                }
            );
            num(out, s.dev_pct);
            out.push_str(r#","ts":"#);
            num(out, ts_s(s.ts_ns));
        }
        Latest::Empty => {
            out.push_str("null");
            return;
        }
    }
    out.push_str(r#","pub_ts":"#);
    num(out, pub_ts);
    out.push('}');
}

/// The legacy raw bus's message of a latest value (PascalCase, ISO-8601 UTC times), as
/// the trading bot that consumed the old server reads it. Pair spreads were not on it.
fn legacy(name: &str, latest: &Latest) -> Option<serde_json::Value> {
    Some(match *latest {
        Latest::Quote(q) => json!({"MessageType": "Spread", "Payload": {
            "Exchange": names::exchange_name(q.exchange), "Symbol": name,
            "BestBid": q.bid_px, "BestAsk": q.ask_px,
            "SpreadPercentage": finite(q.own_spread_pct()),
            "BidSize": q.bid_qty, "AskSize": q.ask_qty,
            "Timestamp": iso8601(q.recv_ts_ns),
        }}),
        Latest::Trade(t) => json!({"MessageType": "Trade", "Payload": {
            "Exchange": names::exchange_name(t.exchange), "Symbol": name,
            "Price": t.px, "Quantity": t.qty,
            "Side": if t.side == Side::Buy { "Buy" } else { "Sell" },
            "Timestamp": iso8601(t.recv_ts_ns),
        }}),
        Latest::Signal(s) => json!({"MessageType": "Signal", "Payload": {
            "Symbol": name,
            "Exchange1": names::exchange_name(s.pair.first),
            "Exchange2": names::exchange_name(s.pair.second),
            "Kind": if s.kind == SignalKind::Entry { "Entry" } else { "Exit" },
            "Deviation": finite(s.dev_pct),
            "Timestamp": iso8601(s.ts_ns),
        }}),
        Latest::Spread(_) | Latest::Empty => return None,
    })
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso8601(ns: i64) -> String {
    let ms = ns.div_euclid(1_000_000);
    let s = ms.div_euclid(1000);
    let (y, m, d) = crate::store::schema::civil_from_days(s.div_euclid(86_400));
    let t = s.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        t / 3600,
        t / 60 % 60,
        t % 60,
        ms.rem_euclid(1000)
    )
}

fn ts_s(ns: i64) -> f64 {
    (ns / 1_000_000) as f64 / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;
    use arb_engine::{Exchange, Quote, SymbolId};

    #[test]
    fn typed_messages_are_valid_json_with_nulls_for_non_finite() {
        let q = Quote {
            symbol: SymbolId(0),
            exchange: Exchange::Gateio,
            conn_id: 0,
            bid_px: 0.000_000_1,
            bid_qty: 1e21,
            ask_px: f64::NAN,
            ask_qty: 2.5,
            exch_ts_ns: 0,
            recv_ts_ns: 1_796_180_400_123_000_000,
        };
        let mut s = String::new();
        typed_into(&mut s, "BTC_USDT", &Latest::Quote(q), 1_796_180_400.5);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}: {s}"));
        assert_eq!(v["type"], "quote");
        assert_eq!(v["exchange"], "GateIo");
        assert_eq!(v["bid"], 1e-7);
        assert_eq!(v["bid_size"], 1e21);
        assert!(v["ask"].is_null());
        assert_eq!(v["ts"], 1_796_180_400.123);
        assert_eq!(v["pub_ts"], 1_796_180_400.5);
    }
}
