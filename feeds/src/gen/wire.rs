//! The eight venues' wire formats: book tickers, trades, subscribe acks and heartbeats,
//! byte for byte in the layouts of the real frames (key order as recorded; fixtures in
//! `feeds/tests/data/<venue>/`, notes in `feeds/PROTOCOLS.md`).
//!
//! Every function appends one frame's payload to `out` and returns its record kind: text
//! JSON, MEXC protobuf binary, BingX gzip binary, or a Binance WebSocket ping.

use arb_engine::Exchange;

use super::fmt::{
    DecStyle, push_bingx_time, push_decimal, push_hex, push_i64, push_u64, push_uuid,
};
use super::gzip::GzipEncoder;
use super::market::{Book, Touch};
use super::proto::{push_bytes_field, push_int_field};
use super::rng::{Rng, mix64};
use super::universe::SymbolSpec;
use crate::capture::RecordKind;

const NANOS_PER_MILLI: i64 = 1_000_000;

/// One trade of a trade frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TradeItem {
    pub(crate) px_ticks: u64,
    pub(crate) qty_lots: u64,
    /// Taker side is buy.
    pub(crate) buy: bool,
    /// Venue trade id (a counter; each venue prints it its own way).
    pub(crate) id: u64,
    /// Trade time at the matching engine, ns.
    pub(crate) ts_ns: i64,
}

/// Per-connection constants derived from the seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnIds {
    pub(crate) a: u64,
    pub(crate) b: u64,
}

impl ConnIds {
    pub(crate) fn new(seed: u64, ex: Exchange, conn: u16) -> Self {
        let k = seed ^ ((ex as u64) << 40) ^ (u64::from(conn) << 20);
        ConnIds {
            a: mix64(k ^ 0xC0),
            b: mix64(k ^ 0xC1),
        }
    }
}

/// Reusable buffers of the frame writers.
#[derive(Debug)]
pub(crate) struct Wire {
    /// Plain JSON before gzip (BingX).
    plain: Vec<u8>,
    /// Protobuf nested-message scratch (MEXC), two levels.
    scratch1: Vec<u8>,
    scratch2: Vec<u8>,
    /// Channel-name scratch (MEXC).
    channel: Vec<u8>,
    gzip: GzipEncoder,
}

/// Returns the endpoint URL of `ex` (the payload of its `Connected` records).
pub(crate) fn endpoint(ex: Exchange) -> &'static [u8] {
    match ex {
        Exchange::Binance => b"wss://stream.binance.com:9443/stream",
        Exchange::Bybit => b"wss://stream.bybit.com/v5/public/spot",
        Exchange::Mexc => b"wss://wbs-api.mexc.com/ws",
        Exchange::Gateio => b"wss://api.gateio.ws/ws/v4/",
        Exchange::Kucoin => b"wss://ws-api-spot.kucoin.com/",
        Exchange::Okx => b"wss://ws.okx.com:8443/ws/v5/public",
        Exchange::Bitget => b"wss://ws.bitget.com/v2/ws/public",
        Exchange::Bingx => b"wss://open-api-ws.bingx.com/market",
    }
}

#[inline]
fn ms(ns: i64) -> i64 {
    ns.div_euclid(NANOS_PER_MILLI)
}

#[inline]
fn lit(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s);
}

#[inline]
fn text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

#[inline]
fn px(out: &mut Vec<u8>, spec: &SymbolSpec, ticks: u64, style: DecStyle) {
    push_decimal(out, ticks, spec.px_scale, style);
}

#[inline]
fn qty(out: &mut Vec<u8>, spec: &SymbolSpec, lots: u64, style: DecStyle) {
    push_decimal(out, lots, spec.qty_scale, style);
}

/// Decimal style per venue.
const fn style(ex: Exchange) -> DecStyle {
    match ex {
        Exchange::Binance => DecStyle::Pad(8),
        Exchange::Okx | Exchange::Kucoin => DecStyle::Trim,
        _ => DecStyle::Exact,
    }
}

/// The MEXC channel prefixes.
const MEXC_BOOK: &[u8] = b"spot@public.aggre.bookTicker.v3.api.pb@100ms@";
const MEXC_DEALS: &[u8] = b"spot@public.aggre.deals.v3.api.pb@100ms";

impl Wire {
    pub(crate) fn new() -> Self {
        Wire {
            plain: Vec::with_capacity(1024),
            scratch1: Vec::with_capacity(512),
            scratch2: Vec::with_capacity(128),
            channel: Vec::with_capacity(128),
            gzip: GzipEncoder::new(),
        }
    }

    /// Gzips `self.plain` into `out` (BingX frames).
    fn gzip_plain(&mut self, out: &mut Vec<u8>) -> RecordKind {
        self.gzip.compress(&self.plain, out);
        RecordKind::Binary
    }

    /// Appends a book-ticker frame. Advances the book's update counters.
    #[expect(
        clippy::too_many_arguments,
        reason = "hot-path frame writer: a context struct would only rename the arguments"
    )]
    pub(crate) fn quote(
        &mut self,
        ex: Exchange,
        spec: &SymbolSpec,
        book: &mut Book,
        t: &Touch,
        exch_ns: i64,
        rng: &mut Rng,
        out: &mut Vec<u8>,
    ) -> RecordKind {
        let st = style(ex);
        let n = spec.native(ex);
        book.update_id += 1 + (rng.next_u64() & 3);
        book.seq += 1 + (rng.next_u64() & 0xFF);
        let e_ms = ms(exch_ns);
        match ex {
            Exchange::Binance => {
                lit(out, b"{\"stream\":\"");
                text(out, &spec.lower);
                lit(out, b"@bookTicker\",\"data\":{\"u\":");
                push_u64(out, book.update_id);
                lit(out, b",\"s\":\"");
                text(out, n);
                lit(out, b"\",\"b\":\"");
                px(out, spec, t.bid_ticks, st);
                lit(out, b"\",\"B\":\"");
                qty(out, spec, t.bid_lots, st);
                lit(out, b"\",\"a\":\"");
                px(out, spec, t.ask_ticks, st);
                lit(out, b"\",\"A\":\"");
                qty(out, spec, t.ask_lots, st);
                lit(out, b"\"}}");
                RecordKind::Text
            }
            Exchange::Bybit => {
                lit(out, b"{\"topic\":\"orderbook.1.");
                text(out, n);
                lit(out, b"\",\"ts\":");
                push_i64(out, e_ms);
                lit(out, b",\"type\":\"snapshot\",\"data\":{\"s\":\"");
                text(out, n);
                lit(out, b"\",\"b\":[[\"");
                px(out, spec, t.bid_ticks, st);
                lit(out, b"\",\"");
                qty(out, spec, t.bid_lots, st);
                lit(out, b"\"]],\"a\":[[\"");
                px(out, spec, t.ask_ticks, st);
                lit(out, b"\",\"");
                qty(out, spec, t.ask_lots, st);
                lit(out, b"\"]],\"u\":");
                push_u64(out, book.update_id);
                lit(out, b",\"seq\":");
                push_u64(out, book.seq);
                lit(out, b"},\"cts\":");
                push_i64(out, e_ms - (rng.next_u64() % 6) as i64);
                lit(out, b"}");
                RecordKind::Text
            }
            Exchange::Mexc => {
                self.channel.clear();
                lit(&mut self.channel, MEXC_BOOK);
                text(&mut self.channel, n);
                push_bytes_field(out, 1, &self.channel);
                push_bytes_field(out, 3, n.as_bytes());
                push_int_field(out, 6, e_ms);
                let (body, num) = (&mut self.scratch1, &mut self.scratch2);
                body.clear();
                for (field, value, scale) in [
                    (1, t.bid_ticks, spec.px_scale),
                    (2, t.bid_lots, spec.qty_scale),
                    (3, t.ask_ticks, spec.px_scale),
                    (4, t.ask_lots, spec.qty_scale),
                ] {
                    num.clear();
                    push_decimal(num, value, scale, st);
                    push_bytes_field(body, field, num);
                }
                push_bytes_field(out, 315, body);
                RecordKind::Binary
            }
            Exchange::Gateio => {
                lit(out, b"{\"time\":");
                push_i64(out, e_ms.div_euclid(1000));
                lit(out, b",\"time_ms\":");
                push_i64(out, e_ms);
                lit(
                    out,
                    b",\"channel\":\"spot.book_ticker\",\"event\":\"update\",\"result\":{\"t\":",
                );
                push_i64(out, e_ms - (rng.next_u64() % 11) as i64);
                lit(out, b",\"u\":");
                push_u64(out, book.update_id);
                lit(out, b",\"s\":\"");
                text(out, n);
                lit(out, b"\",\"b\":\"");
                px(out, spec, t.bid_ticks, st);
                lit(out, b"\",\"B\":\"");
                qty(out, spec, t.bid_lots, st);
                lit(out, b"\",\"a\":\"");
                px(out, spec, t.ask_ticks, st);
                lit(out, b"\",\"A\":\"");
                qty(out, spec, t.ask_lots, st);
                lit(out, b"\"}}");
                RecordKind::Text
            }
            Exchange::Kucoin => {
                lit(out, b"{\"type\":\"message\",\"topic\":\"/market/ticker:");
                text(out, n);
                lit(
                    out,
                    b"\",\"subject\":\"trade.ticker\",\"data\":{\"bestAsk\":\"",
                );
                px(out, spec, t.ask_ticks, st);
                lit(out, b"\",\"bestAskSize\":\"");
                qty(out, spec, t.ask_lots, st);
                lit(out, b"\",\"bestBid\":\"");
                px(out, spec, t.bid_ticks, st);
                lit(out, b"\",\"bestBidSize\":\"");
                qty(out, spec, t.bid_lots, st);
                lit(out, b"\",\"price\":\"");
                px(out, spec, book.last_px_ticks, st);
                lit(out, b"\",\"sequence\":\"");
                push_u64(out, book.seq);
                lit(out, b"\",\"size\":\"");
                qty(out, spec, book.last_qty_lots, st);
                lit(out, b"\",\"time\":");
                push_i64(out, e_ms);
                lit(out, b"}}");
                RecordKind::Text
            }
            Exchange::Okx => {
                lit(out, b"{\"arg\":{\"channel\":\"bbo-tbt\",\"instId\":\"");
                text(out, n);
                lit(out, b"\"},\"data\":[{\"asks\":[[\"");
                px(out, spec, t.ask_ticks, st);
                lit(out, b"\",\"");
                qty(out, spec, t.ask_lots, st);
                lit(out, b"\",\"0\",\"");
                push_u64(out, 1 + rng.below(24));
                lit(out, b"\"]],\"bids\":[[\"");
                px(out, spec, t.bid_ticks, st);
                lit(out, b"\",\"");
                qty(out, spec, t.bid_lots, st);
                lit(out, b"\",\"0\",\"");
                push_u64(out, 1 + rng.below(24));
                lit(out, b"\"]],\"ts\":\"");
                push_i64(out, e_ms);
                lit(out, b"\",\"seqId\":");
                push_u64(out, book.seq);
                lit(out, b"}]}");
                RecordKind::Text
            }
            Exchange::Bitget => {
                lit(out, b"{\"action\":\"snapshot\",\"arg\":{\"instType\":\"SPOT\",\"channel\":\"books1\",\"instId\":\"");
                text(out, n);
                lit(out, b"\"},\"data\":[{\"asks\":[[\"");
                px(out, spec, t.ask_ticks, st);
                lit(out, b"\",\"");
                qty(out, spec, t.ask_lots, st);
                lit(out, b"\"]],\"bids\":[[\"");
                px(out, spec, t.bid_ticks, st);
                lit(out, b"\",\"");
                qty(out, spec, t.bid_lots, st);
                lit(out, b"\"]],\"checksum\":0,\"seq\":");
                push_u64(out, book.seq);
                lit(out, b",\"ts\":\"");
                push_i64(out, e_ms - (rng.next_u64() % 4) as i64);
                lit(out, b"\"}],\"ts\":");
                push_i64(out, e_ms);
                lit(out, b"}");
                RecordKind::Text
            }
            Exchange::Bingx => {
                let p = &mut self.plain;
                p.clear();
                lit(p, b"{\"code\":0,\"data\":{\"A\":\"");
                qty(p, spec, t.ask_lots, st);
                lit(p, b"\",\"B\":\"");
                qty(p, spec, t.bid_lots, st);
                lit(p, b"\",\"E\":");
                push_i64(p, e_ms);
                lit(p, b",\"a\":\"");
                px(p, spec, t.ask_ticks, st);
                lit(p, b"\",\"b\":\"");
                px(p, spec, t.bid_ticks, st);
                lit(p, b"\",\"e\":\"bookTicker\",\"s\":\"");
                text(p, n);
                lit(p, b"\"},\"dataType\":\"");
                text(p, n);
                lit(p, b"@bookTicker\",\"success\":true}");
                self.gzip_plain(out)
            }
        }
    }

    /// Appends a trade frame with `items` (one for venues that send one trade per frame).
    #[expect(
        clippy::too_many_arguments,
        reason = "hot-path frame writer: a context struct would only rename the arguments"
    )]
    pub(crate) fn trades(
        &mut self,
        ex: Exchange,
        spec: &SymbolSpec,
        book: &Book,
        items: &[TradeItem],
        exch_ns: i64,
        rng: &mut Rng,
        out: &mut Vec<u8>,
    ) -> RecordKind {
        debug_assert!(!items.is_empty());
        let st = style(ex);
        let n = spec.native(ex);
        let e_ms = ms(exch_ns);
        let side = |buy: bool| if buy { &b"buy"[..] } else { &b"sell"[..] };
        match ex {
            Exchange::Binance => {
                let t = &items[0];
                lit(out, b"{\"stream\":\"");
                text(out, &spec.lower);
                lit(out, b"@trade\",\"data\":{\"e\":\"trade\",\"E\":");
                push_i64(out, e_ms);
                lit(out, b",\"s\":\"");
                text(out, n);
                lit(out, b"\",\"t\":");
                push_u64(out, t.id);
                lit(out, b",\"p\":\"");
                px(out, spec, t.px_ticks, st);
                lit(out, b"\",\"q\":\"");
                qty(out, spec, t.qty_lots, st);
                lit(out, b"\",\"T\":");
                push_i64(out, ms(t.ts_ns));
                lit(
                    out,
                    if t.buy {
                        b",\"m\":false"
                    } else {
                        b",\"m\":true"
                    },
                );
                lit(out, b",\"M\":true}}");
                RecordKind::Text
            }
            Exchange::Bybit => {
                lit(out, b"{\"topic\":\"publicTrade.");
                text(out, n);
                lit(out, b"\",\"ts\":");
                push_i64(out, e_ms);
                lit(out, b",\"type\":\"snapshot\",\"data\":[");
                for (k, t) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    lit(out, b"{\"i\":\"");
                    push_u64(out, 2_290_000_000_000_000_000 + t.id);
                    lit(out, b"\",\"T\":");
                    push_i64(out, ms(t.ts_ns));
                    lit(out, b",\"p\":\"");
                    px(out, spec, t.px_ticks, st);
                    lit(out, b"\",\"v\":\"");
                    qty(out, spec, t.qty_lots, st);
                    lit(
                        out,
                        if t.buy {
                            b"\",\"S\":\"Buy"
                        } else {
                            b"\",\"S\":\"Sell"
                        },
                    );
                    lit(out, b"\",\"s\":\"");
                    text(out, n);
                    lit(out, b"\",\"BT\":false,\"RPI\":false,\"seq\":");
                    push_u64(out, book.seq);
                    lit(out, b"}");
                }
                lit(out, b"]}");
                RecordKind::Text
            }
            Exchange::Mexc => {
                self.channel.clear();
                lit(&mut self.channel, MEXC_DEALS);
                self.channel.push(b'@');
                text(&mut self.channel, n);
                push_bytes_field(out, 1, &self.channel);
                push_bytes_field(out, 3, n.as_bytes());
                push_int_field(out, 6, e_ms);
                let (body, deal, num) = (&mut self.scratch1, &mut self.scratch2, &mut self.channel);
                body.clear();
                for t in items {
                    deal.clear();
                    num.clear();
                    px(num, spec, t.px_ticks, st);
                    push_bytes_field(deal, 1, num);
                    num.clear();
                    qty(num, spec, t.qty_lots, st);
                    push_bytes_field(deal, 2, num);
                    push_int_field(deal, 3, if t.buy { 1 } else { 2 });
                    push_int_field(deal, 4, ms(t.ts_ns));
                    push_bytes_field(body, 1, deal);
                }
                push_bytes_field(body, 2, MEXC_DEALS);
                push_bytes_field(out, 314, body);
                RecordKind::Binary
            }
            Exchange::Gateio => {
                let t = &items[0];
                let t_us = t.ts_ns.div_euclid(1000);
                lit(out, b"{\"time\":");
                push_i64(out, e_ms.div_euclid(1000));
                lit(out, b",\"time_ms\":");
                push_i64(out, e_ms);
                lit(
                    out,
                    b",\"channel\":\"spot.trades\",\"event\":\"update\",\"result\":{\"id\":",
                );
                push_u64(out, t.id);
                lit(out, b",\"create_time\":");
                push_i64(out, t_us.div_euclid(1_000_000));
                lit(out, b",\"create_time_ms\":\"");
                // Milliseconds with the microseconds as a fraction, at least one digit:
                // "1682689046123.0", "1631824310261.896".
                if t_us.rem_euclid(1000) == 0 {
                    push_i64(out, t_us.div_euclid(1000));
                    lit(out, b".0");
                } else {
                    push_decimal(out, t_us.max(0) as u64, 3, DecStyle::Trim);
                }
                lit(out, b"\",\"side\":\"");
                lit(out, side(t.buy));
                lit(out, b"\",\"currency_pair\":\"");
                text(out, n);
                lit(out, b"\",\"amount\":\"");
                qty(out, spec, t.qty_lots, st);
                lit(out, b"\",\"price\":\"");
                px(out, spec, t.px_ticks, st);
                lit(out, b"\"}}");
                RecordKind::Text
            }
            Exchange::Kucoin => {
                let t = &items[0];
                lit(out, b"{\"type\":\"message\",\"topic\":\"/market/match:");
                text(out, n);
                lit(
                    out,
                    b"\",\"subject\":\"trade.l3match\",\"data\":{\"symbol\":\"",
                );
                text(out, n);
                lit(out, b"\",\"side\":\"");
                lit(out, side(t.buy));
                lit(out, b"\",\"type\":\"match\",\"makerOrderId\":\"");
                let secs = t.ts_ns.div_euclid(1_000_000_000) as u64;
                push_hex(out, secs, 8);
                push_hex(out, rng.next_u64(), 16);
                lit(out, b"\",\"sequence\":\"");
                push_u64(out, book.seq);
                lit(out, b"\",\"size\":\"");
                qty(out, spec, t.qty_lots, st);
                lit(out, b"\",\"price\":\"");
                px(out, spec, t.px_ticks, st);
                lit(out, b"\",\"takerOrderId\":\"");
                push_hex(out, secs, 8);
                push_hex(out, rng.next_u64(), 16);
                lit(out, b"\",\"time\":\"");
                push_i64(out, t.ts_ns);
                lit(out, b"\",\"tradeId\":\"");
                push_u64(out, t.id);
                lit(out, b"\"}}");
                RecordKind::Text
            }
            Exchange::Okx => {
                lit(out, b"{\"arg\":{\"channel\":\"trades\",\"instId\":\"");
                text(out, n);
                lit(out, b"\"},\"data\":[");
                for (k, t) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    lit(out, b"{\"instId\":\"");
                    text(out, n);
                    lit(out, b"\",\"tradeId\":\"");
                    push_u64(out, t.id);
                    lit(out, b"\",\"px\":\"");
                    px(out, spec, t.px_ticks, st);
                    lit(out, b"\",\"sz\":\"");
                    qty(out, spec, t.qty_lots, st);
                    lit(out, b"\",\"side\":\"");
                    lit(out, side(t.buy));
                    lit(out, b"\",\"ts\":\"");
                    push_i64(out, ms(t.ts_ns));
                    lit(out, b"\"}");
                }
                lit(out, b"]}");
                RecordKind::Text
            }
            Exchange::Bitget => {
                lit(out, b"{\"action\":\"update\",\"arg\":{\"instType\":\"SPOT\",\"channel\":\"trade\",\"instId\":\"");
                text(out, n);
                lit(out, b"\"},\"data\":[");
                for (k, t) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    lit(out, b"{\"ts\":\"");
                    push_i64(out, ms(t.ts_ns));
                    lit(out, b"\",\"price\":\"");
                    px(out, spec, t.px_ticks, st);
                    lit(out, b"\",\"size\":\"");
                    qty(out, spec, t.qty_lots, st);
                    lit(out, b"\",\"side\":\"");
                    lit(out, side(t.buy));
                    lit(out, b"\",\"tradeId\":\"");
                    push_u64(out, 1_200_000_000_000_000_000 + t.id);
                    lit(out, b"\"}");
                }
                lit(out, b"],\"ts\":");
                push_i64(out, e_ms);
                lit(out, b"}");
                RecordKind::Text
            }
            Exchange::Bingx => {
                let t = &items[0];
                let p = &mut self.plain;
                p.clear();
                lit(p, b"{\"code\":0,\"data\":{\"E\":");
                push_i64(p, e_ms);
                lit(p, b",\"T\":");
                push_i64(p, ms(t.ts_ns));
                lit(
                    p,
                    if t.buy {
                        b",\"e\":\"trade\",\"m\":false"
                    } else {
                        b",\"e\":\"trade\",\"m\":true"
                    },
                );
                lit(p, b",\"p\":\"");
                px(p, spec, t.px_ticks, st);
                lit(p, b"\",\"q\":\"");
                qty(p, spec, t.qty_lots, st);
                lit(p, b"\",\"s\":\"");
                text(p, n);
                lit(p, b"\",\"t\":\"");
                push_u64(p, t.id);
                lit(p, b"\"},\"dataType\":\"");
                text(p, n);
                lit(p, b"@trade\",\"success\":true,\"timestamp\":");
                push_i64(p, e_ms);
                lit(p, b"}");
                self.gzip_plain(out)
            }
        }
    }

    /// Appends the `k`-th frame a fresh connection receives after connecting (welcome,
    /// subscribe acks), for the `n` symbols `first .. first + n` of `universe`.
    #[expect(
        clippy::too_many_arguments,
        reason = "frame writer: a context struct would only rename the arguments"
    )]
    pub(crate) fn startup(
        &mut self,
        ex: Exchange,
        ids: ConnIds,
        universe: &[SymbolSpec],
        first: usize,
        k: u64,
        ts_ns: i64,
        out: &mut Vec<u8>,
    ) -> RecordKind {
        let t_ms = ms(ts_ns);
        // Per-argument acks: two channels per symbol, book ticker first.
        let sym = &universe[first + (k / 2) as usize];
        let book_channel = k.is_multiple_of(2);
        match ex {
            Exchange::Binance => {
                lit(out, b"{\"result\":null,\"id\":1}");
                RecordKind::Text
            }
            Exchange::Bybit => {
                lit(
                    out,
                    b"{\"success\":true,\"ret_msg\":\"subscribe\",\"conn_id\":\"",
                );
                push_uuid(out, ids.a, ids.b);
                lit(out, b"\",\"req_id\":\"");
                push_u64(out, k + 1);
                lit(out, b"\",\"op\":\"subscribe\"}");
                RecordKind::Text
            }
            Exchange::Mexc => {
                lit(out, b"{\"id\":0,\"code\":0,\"msg\":\"");
                if book_channel {
                    lit(out, MEXC_BOOK);
                } else {
                    lit(out, MEXC_DEALS);
                    out.push(b'@');
                }
                text(out, sym.native(ex));
                lit(out, b"\"}");
                RecordKind::Text
            }
            Exchange::Gateio => {
                lit(out, b"{\"time\":");
                push_i64(out, t_ms.div_euclid(1000));
                lit(out, b",\"time_ms\":");
                push_i64(out, t_ms);
                lit(
                    out,
                    if k == 0 {
                        b",\"channel\":\"spot.book_ticker\""
                    } else {
                        b",\"channel\":\"spot.trades\""
                    },
                );
                lit(
                    out,
                    b",\"event\":\"subscribe\",\"result\":{\"status\":\"success\"}}",
                );
                RecordKind::Text
            }
            Exchange::Kucoin => {
                lit(out, b"{\"id\":\"");
                if k == 0 {
                    push_hex(out, ids.a, 12);
                    lit(out, b"\",\"type\":\"welcome\"}");
                } else {
                    push_u64(out, k);
                    lit(out, b"\",\"type\":\"ack\"}");
                }
                RecordKind::Text
            }
            Exchange::Okx => {
                lit(
                    out,
                    if book_channel {
                        b"{\"event\":\"subscribe\",\"arg\":{\"channel\":\"bbo-tbt\",\"instId\":\""
                    } else {
                        b"{\"event\":\"subscribe\",\"arg\":{\"channel\":\"trades\",\"instId\":\""
                    },
                );
                text(out, sym.native(ex));
                lit(out, b"\"},\"connId\":\"");
                push_hex(out, ids.a, 8);
                lit(out, b"\"}");
                RecordKind::Text
            }
            Exchange::Bitget => {
                lit(
                    out,
                    b"{\"event\":\"subscribe\",\"arg\":{\"instType\":\"SPOT\",\"channel\":\"",
                );
                lit(out, if book_channel { b"books1" } else { b"trade" });
                lit(out, b"\",\"instId\":\"");
                text(out, sym.native(ex));
                lit(out, b"\"}}");
                RecordKind::Text
            }
            Exchange::Bingx => {
                let p = &mut self.plain;
                p.clear();
                lit(p, b"{\"code\":0,\"id\":\"");
                push_uuid(p, mix64(ids.a ^ k), mix64(ids.b ^ k));
                lit(p, b"\",\"msg\":\"SUCCESS\",\"timestamp\":");
                push_i64(p, t_ms);
                lit(p, b"}");
                self.gzip_plain(out)
            }
        }
    }

    /// Appends a heartbeat frame as the venue's server sends it: Binance's WebSocket ping,
    /// BingX's gzipped ping, or the others' answers to our pings.
    pub(crate) fn heartbeat(
        &mut self,
        ex: Exchange,
        ids: ConnIds,
        ts_ns: i64,
        rng: &mut Rng,
        out: &mut Vec<u8>,
    ) -> RecordKind {
        let t_ms = ms(ts_ns);
        match ex {
            Exchange::Binance => RecordKind::Ping,
            Exchange::Bybit => {
                lit(
                    out,
                    b"{\"success\":true,\"ret_msg\":\"pong\",\"conn_id\":\"",
                );
                push_uuid(out, ids.a, ids.b);
                lit(out, b"\",\"op\":\"ping\"}");
                RecordKind::Text
            }
            Exchange::Mexc => {
                lit(out, b"{\"id\":0,\"code\":0,\"msg\":\"PONG\"}");
                RecordKind::Text
            }
            Exchange::Gateio => {
                lit(out, b"{\"time\":");
                push_i64(out, t_ms.div_euclid(1000));
                lit(out, b",\"time_ms\":");
                push_i64(out, t_ms);
                lit(out, b",\"conn_id\":\"");
                push_hex(out, ids.a, 16);
                lit(
                    out,
                    b"\",\"channel\":\"spot.pong\",\"event\":\"\",\"result\":null}",
                );
                RecordKind::Text
            }
            Exchange::Kucoin => {
                // The id echoes our ping's, which is the time we sent it.
                lit(out, b"{\"id\":\"");
                push_i64(out, t_ms - 3 - (rng.next_u64() % 20) as i64);
                lit(out, b"\",\"type\":\"pong\"}");
                RecordKind::Text
            }
            Exchange::Okx | Exchange::Bitget => {
                lit(out, b"pong");
                RecordKind::Text
            }
            Exchange::Bingx => {
                let p = &mut self.plain;
                p.clear();
                lit(p, b"{\"ping\":\"");
                push_hex(p, rng.next_u64(), 16);
                push_hex(p, rng.next_u64(), 16);
                lit(p, b"\",\"time\":\"");
                push_bingx_time(p, t_ms);
                lit(p, b"\"}");
                self.gzip_plain(out)
            }
        }
    }
}

/// Returns how many frames (welcome, acks) a connection of `ex` subscribed to `n` symbols
/// receives after connecting.
pub(crate) fn startup_frames(ex: Exchange, n: usize) -> u64 {
    let n = n as u64;
    match ex {
        Exchange::Binance => 1,
        // Requests of at most 10 arguments, two per symbol.
        Exchange::Bybit => (2 * n).div_ceil(10),
        // One request per channel, each for every symbol of the connection.
        Exchange::Gateio => 2,
        // Welcome, then one ack per topic.
        Exchange::Kucoin => 3,
        // One ack per argument.
        Exchange::Mexc | Exchange::Okx | Exchange::Bitget | Exchange::Bingx => 2 * n,
    }
}

/// Returns how many symbols one connection of `ex` carries, from the venue's limits
/// (`feeds/PROTOCOLS.md` §10) with some headroom.
pub(crate) const fn symbols_per_conn(ex: Exchange) -> usize {
    match ex {
        // 1024 streams per connection, two per symbol.
        Exchange::Binance => 500,
        // 21 000 characters of args per connection.
        Exchange::Bybit => 200,
        // 30 subscriptions per connection.
        Exchange::Mexc => 15,
        // 100 symbols per topic.
        Exchange::Kucoin => 100,
        // Libraries chunk at about 100 pairs; BingX allows 200 topics.
        Exchange::Gateio | Exchange::Okx | Exchange::Bitget | Exchange::Bingx => 100,
    }
}

/// Returns the interval at which a connection of `ex` receives a heartbeat frame, ns.
pub(crate) const fn heartbeat_interval_ns(ex: Exchange) -> i64 {
    const S: i64 = 1_000_000_000;
    match ex {
        Exchange::Binance => 20 * S,
        Exchange::Bybit | Exchange::Mexc => 20 * S,
        Exchange::Gateio => 15 * S,
        Exchange::Kucoin => 18 * S,
        Exchange::Okx => 25 * S,
        Exchange::Bitget => 30 * S,
        Exchange::Bingx => 5 * S,
    }
}

/// Returns whether `ex` batches several trades into one frame.
pub(crate) const fn batches_trades(ex: Exchange) -> bool {
    matches!(
        ex,
        Exchange::Bybit | Exchange::Mexc | Exchange::Okx | Exchange::Bitget
    )
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::r#gen::market::Market;
    use crate::r#gen::universe;

    fn fixture_wire(file: &str, line: usize) -> Vec<u8> {
        let path = format!("{}/tests/data/mexc/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(text.lines().nth(line - 1).unwrap()).unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(v["wire_b64"].as_str().unwrap())
            .unwrap()
    }

    /// Walks a protobuf message: `(field, wire type, varint value or bytes)` per field.
    fn fields(mut b: &[u8]) -> Vec<(u64, u64, u64, Vec<u8>)> {
        fn varint(b: &mut &[u8]) -> u64 {
            let mut v = 0;
            let mut shift = 0;
            loop {
                let byte = b[0];
                *b = &b[1..];
                v |= u64::from(byte & 0x7F) << shift;
                if byte < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }
        let mut out = Vec::new();
        while !b.is_empty() {
            let tag = varint(&mut b);
            let (field, wt) = (tag >> 3, tag & 7);
            if wt == 0 {
                out.push((field, wt, varint(&mut b), Vec::new()));
            } else {
                let len = varint(&mut b) as usize;
                out.push((field, wt, 0, b[..len].to_vec()));
                b = &b[len..];
            }
        }
        out
    }

    fn btc(px_scale: u32, qty_scale: u32) -> SymbolSpec {
        let mut s = universe::build(1).remove(0);
        s.px_scale = px_scale;
        s.qty_scale = qty_scale;
        s.ticks_per_unit = crate::r#gen::fmt::POW10[px_scale as usize] as f64;
        s
    }

    #[test]
    fn mexc_deals_frame_matches_the_fixture_bytes() {
        // trades.constructed.jsonl line 1: BTCUSDT 100ms, one sell of 0.04438243 at 93220.00.
        let spec = btc(2, 8);
        let u = universe::build(1);
        let mut m = Market::new(1, &u, 1, 0);
        let (rng, book) = m.rng_and_book(0, 0);
        let item = TradeItem {
            px_ticks: 9_322_000,
            qty_lots: 4_438_243,
            buy: false,
            id: 1,
            ts_ns: 1_736_409_765_051 * NANOS_PER_MILLI,
        };
        let mut out = Vec::new();
        let kind = Wire::new().trades(
            Exchange::Mexc,
            &spec,
            book,
            &[item],
            1_736_409_765_052 * NANOS_PER_MILLI + 123,
            rng,
            &mut out,
        );
        assert_eq!(kind, RecordKind::Binary);
        assert_eq!(out, fixture_wire("trades.constructed.jsonl", 1));
    }

    #[test]
    fn mexc_book_ticker_frame_has_the_fixture_layout() {
        // book_ticker.constructed.jsonl line 1: BTCUSDT 93387.28 / 3.73485 - 93387.29 / 7.669875.
        let spec = btc(2, 6);
        let u = universe::build(1);
        let mut m = Market::new(1, &u, 1, 0);
        let (rng, book) = m.rng_and_book(0, 0);
        let touch = Touch {
            bid_ticks: 9_338_728,
            ask_ticks: 9_338_729,
            bid_lots: 3_734_850,
            ask_lots: 7_669_875,
        };
        let mut out = Vec::new();
        Wire::new().quote(
            Exchange::Mexc,
            &spec,
            book,
            &touch,
            1_736_412_092_433 * NANOS_PER_MILLI,
            rng,
            &mut out,
        );
        let ours = fields(&out);
        let theirs = fields(&fixture_wire("book_ticker.constructed.jsonl", 1));
        let shape =
            |f: &[(u64, u64, u64, Vec<u8>)]| f.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>();
        assert_eq!(shape(&ours), shape(&theirs));
        assert_eq!(ours[..3], theirs[..3]); // channel, symbol, sendTime
        let body = |f: &[(u64, u64, u64, Vec<u8>)]| {
            fields(&f[3].3)
                .into_iter()
                .map(|x| String::from_utf8(x.3).unwrap().parse::<f64>().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(body(&ours), body(&theirs));
        assert_eq!(shape(&fields(&ours[3].3)), shape(&fields(&theirs[3].3)));
    }
}
