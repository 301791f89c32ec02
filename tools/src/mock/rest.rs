//! The mock exchange's REST side: the listed symbols (the generator's universe plus a few
//! non-trading and non-USDT listings for filters to drop) and each venue's symbol, ticker
//! and KuCoin token answers in the venue's real JSON shape and envelope (field names and
//! types as in `feeds/tests/data/<venue>/rest_*.json`).

use arb_engine::{Exchange, SymbolId, SymbolRegistry};
use arb_feeds::r#gen::{FrameInfo, GenConfig, GenError, Generator};
use serde_json::{Value, json};

use super::Shared;

/// One listing as REST shows it.
#[derive(Debug, Clone)]
struct Listing {
    /// Native symbol per venue (by [`Exchange::index`]); `None` where not listed.
    natives: [Option<String>; Exchange::COUNT],
    base: String,
    quote: String,
    /// Open for trading.
    trading: bool,
    bid: f64,
    ask: f64,
    /// Decimals of the price tick.
    px_scale: usize,
    /// Decimals of the quantity step.
    qty_scale: usize,
    /// 24 h volume in the quote asset.
    quote_volume: f64,
}

/// The listed symbols and where the generator's ones live.
#[derive(Debug)]
pub(crate) struct Universe {
    registry: SymbolRegistry,
    listings: Vec<Listing>,
}

/// Listings beyond the generator's: (base, quote, trading, price).
const EXTRAS: &[(&str, &str, bool, f64)] = &[
    ("HALTED1", "USDT", false, 1.25),
    ("PREOPEN1", "USDT", false, 0.042),
    ("ETH", "BTC", true, 0.0347),
    ("BTC", "USDC", true, 95_010.0),
];

/// Returns `floor(log10(p))` for `p > 0`.
fn decade(p: f64) -> i32 {
    if p > 0.0 && p.is_finite() {
        p.log10().floor() as i32
    } else {
        0
    }
}

/// Returns the native spelling of base/quote on `ex` (`feeds/PROTOCOLS.md` §9).
fn native(ex: Exchange, base: &str, quote: &str) -> String {
    match ex {
        Exchange::Binance | Exchange::Bybit | Exchange::Mexc | Exchange::Bitget => {
            format!("{base}{quote}")
        }
        Exchange::Gateio => format!("{base}_{quote}"),
        Exchange::Kucoin | Exchange::Okx | Exchange::Bingx => format!("{base}-{quote}"),
    }
}

/// `10^-scale` as decimal text.
fn step(scale: usize) -> String {
    if scale == 0 {
        "1".to_owned()
    } else {
        format!("0.{}1", "0".repeat(scale - 1))
    }
}

/// A number with `scale` decimals.
fn dec(v: f64, scale: usize) -> String {
    format!("{v:.scale$}")
}

impl Universe {
    /// Lists the symbols of `cfg`'s market, priced from its first quotes.
    ///
    /// # Errors
    /// The generator rejects the config.
    pub(crate) fn build(cfg: &GenConfig) -> Result<Universe, GenError> {
        let mut g = Generator::new(cfg)?;
        let registry = g.symbols().clone();
        let n = registry.len();
        let mut px: Vec<Option<(f64, f64)>> = vec![None; n];
        let mut seen = 0;
        let mut budget = 2_000_000u64;
        while seen < n && budget > 0 {
            let Some(f) = g.next_frame() else { break };
            budget -= 1;
            if let FrameInfo::Quote {
                symbol,
                bid_px,
                ask_px,
                ..
            } = f.info
                && let Some(slot @ None) = px.get_mut(symbol.index())
            {
                *slot = Some((bid_px, ask_px));
                seen += 1;
            }
        }
        Ok(Universe::new(registry, &px))
    }

    /// Lists `registry`'s symbols (a capture's) with the prices in `px` (by id; `None`
    /// when no quote was seen), plus the extra listings.
    pub(crate) fn new(registry: SymbolRegistry, px: &[Option<(f64, f64)>]) -> Universe {
        let n = registry.len();
        let mut listings = Vec::with_capacity(n + EXTRAS.len());
        for i in 0..n {
            let id = SymbolId(i as u32);
            let (bid, ask) = px.get(i).copied().flatten().unwrap_or((1.0, 1.0001));
            let mut l = Listing::new(
                registry.base(id),
                registry.quote(id),
                true,
                bid,
                ask,
                // Zipf-like: the busiest a few billion, the tail well under a million.
                2.0e9 / ((i + 1) as f64).powf(1.5),
            );
            l.natives = Exchange::ALL.map(|ex| registry.native(id, ex).map(str::to_owned));
            listings.push(l);
        }
        for (k, &(base, quote, trading, p)) in EXTRAS.iter().enumerate() {
            listings.push(Listing::new(
                base,
                quote,
                trading,
                p,
                p * 1.0002,
                3.0e7 / (k + 1) as f64,
            ));
        }
        Universe { registry, listings }
    }

    /// Returns the generator's id of `native` on `ex`, if it is one of its symbols.
    pub(crate) fn lookup(&self, ex: Exchange, native: &str) -> Option<SymbolId> {
        self.registry.lookup(ex, native)
    }

    /// Returns the symbol table of the market.
    pub(crate) fn registry(&self) -> &SymbolRegistry {
        &self.registry
    }

    /// Returns the number of generator symbols (ids `0..len`).
    pub(crate) fn symbols(&self) -> usize {
        self.registry.len()
    }
}

impl Listing {
    fn new(base: &str, quote: &str, trading: bool, bid: f64, ask: f64, vol: f64) -> Listing {
        let d = decade(bid);
        Listing {
            natives: Exchange::ALL.map(|ex| Some(native(ex, base, quote))),
            base: base.to_owned(),
            quote: quote.to_owned(),
            trading,
            bid,
            ask,
            px_scale: (4 - d).clamp(2, 10) as usize,
            qty_scale: (d + 1).clamp(0, 6) as usize,
            quote_volume: vol,
        }
    }

    fn px(&self, v: f64) -> String {
        dec(v, self.px_scale)
    }

    fn qty(&self, v: f64) -> String {
        dec(v, self.qty_scale)
    }

    fn last(&self) -> f64 {
        self.bid
    }

    fn base_volume(&self) -> f64 {
        self.quote_volume / self.last().max(1e-12)
    }
}

/// Per-venue volume factor, so venues rank symbols a little differently.
fn venue_factor(ex: Exchange, i: usize) -> f64 {
    let h = (ex.index() as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (i as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    0.5 + (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Answers a REST request for venue `ex` at `path` (query stripped); `None` for an
/// unknown route.
pub(crate) fn answer(shared: &Shared, ex: Exchange, method: &str, path: &str) -> Option<Value> {
    let u = &shared.universe;
    let now = arb_engine::clock::wall_ns() / 1_000_000;
    let rows = u.listings.iter().enumerate().filter_map(|(i, l)| {
        let mut l = l.clone();
        l.quote_volume *= venue_factor(ex, i);
        Some((l.natives[ex.index()].clone()?, l))
    });
    let get = method == "GET";
    let v = match (ex, path) {
        (Exchange::Binance, "/api/v3/exchangeInfo") if get => json!({
            "timezone": "UTC", "serverTime": now, "rateLimits": [], "exchangeFilters": [],
            "symbols": rows.map(|(n, l)| json!({
                "symbol": n, "status": if l.trading { "TRADING" } else { "BREAK" },
                "baseAsset": l.base, "baseAssetPrecision": 8, "quoteAsset": l.quote,
                "quotePrecision": 8, "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                "icebergAllowed": true, "ocoAllowed": true,
                "isSpotTradingAllowed": l.trading, "isMarginTradingAllowed": false,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": step(l.px_scale), "maxPrice": "1000000.00000000", "tickSize": step(l.px_scale)},
                    {"filterType": "LOT_SIZE", "minQty": step(l.qty_scale), "maxQty": "9000000.00000000", "stepSize": step(l.qty_scale)},
                    {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true, "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5}
                ],
                "permissions": ["SPOT"]
            })).collect::<Vec<_>>()
        }),
        (Exchange::Binance, "/api/v3/ticker/24hr") | (Exchange::Mexc, "/api/v3/ticker/24hr") if get => {
            Value::Array(rows.map(|(n, l)| {
                let mut t = json!({
                    "symbol": n, "priceChange": l.px(l.last() * 0.01), "priceChangePercent": "1.000",
                    "prevClosePrice": l.px(l.last() * 0.99), "lastPrice": l.px(l.last()),
                    "bidPrice": l.px(l.bid), "bidQty": l.qty(1000.0 / l.bid.max(1e-12)),
                    "askPrice": l.px(l.ask), "askQty": l.qty(1000.0 / l.ask.max(1e-12)),
                    "openPrice": l.px(l.last() * 0.99), "highPrice": l.px(l.last() * 1.02),
                    "lowPrice": l.px(l.last() * 0.97), "volume": l.qty(l.base_volume()),
                    "quoteVolume": dec(l.quote_volume, 2), "openTime": now - 86_400_000, "closeTime": now,
                });
                if ex == Exchange::Binance {
                    t["weightedAvgPrice"] = json!(l.px(l.last()));
                    t["lastQty"] = json!(l.qty(10.0 / l.last().max(1e-12)));
                    t["firstId"] = json!(1);
                    t["lastId"] = json!(1000);
                    t["count"] = json!(1000);
                } else if !l.trading {
                    // MEXC's documented nulls and empty strings.
                    t["quoteVolume"] = Value::Null;
                    t["bidQty"] = json!("");
                    t["askQty"] = json!("");
                } else {
                    t["count"] = Value::Null;
                }
                t
            }).collect())
        }
        (Exchange::Bybit, "/v5/market/instruments-info") if get => bybit(now, &json!({
            "category": "spot",
            "list": rows.map(|(n, l)| json!({
                "symbol": n, "baseCoin": l.base, "quoteCoin": l.quote, "innovation": "0",
                "status": if l.trading { "Trading" } else { "PreLaunch" },
                "marginTrading": "none", "stTag": "0",
                "lotSizeFilter": {"basePrecision": step(l.qty_scale), "quotePrecision": step(l.px_scale),
                    "minOrderQty": step(l.qty_scale), "maxOrderQty": "9000000", "minOrderAmt": "5", "maxOrderAmt": "8000000"},
                "priceFilter": {"tickSize": step(l.px_scale)}
            })).collect::<Vec<_>>()
        })),
        (Exchange::Bybit, "/v5/market/tickers") if get => bybit(now, &json!({
            "category": "spot",
            "list": rows.map(|(n, l)| json!({
                "symbol": n, "bid1Price": l.px(l.bid), "bid1Size": l.qty(1000.0 / l.bid.max(1e-12)),
                "ask1Price": l.px(l.ask), "ask1Size": l.qty(1000.0 / l.ask.max(1e-12)),
                "lastPrice": l.px(l.last()), "prevPrice24h": l.px(l.last() * 0.99), "price24hPcnt": "0.0101",
                "highPrice24h": l.px(l.last() * 1.02), "lowPrice24h": l.px(l.last() * 0.97),
                "turnover24h": dec(l.quote_volume, 4), "volume24h": l.qty(l.base_volume())
            })).collect::<Vec<_>>()
        })),
        (Exchange::Mexc, "/api/v3/exchangeInfo") if get => json!({
            "timezone": "CST", "serverTime": now, "rateLimits": [], "exchangeFilters": [],
            "symbols": rows.map(|(n, l)| json!({
                "symbol": n, "status": if l.trading { "1" } else { "2" },
                "baseAsset": l.base, "baseAssetPrecision": l.qty_scale, "quoteAsset": l.quote,
                "quotePrecision": l.px_scale, "quoteAssetPrecision": l.px_scale,
                "baseCommissionPrecision": l.qty_scale, "quoteCommissionPrecision": l.px_scale,
                "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
                "isSpotTradingAllowed": l.trading, "isMarginTradingAllowed": false,
                "quoteAmountPrecision": "1", "baseSizePrecision": step(l.qty_scale),
                "permissions": ["SPOT"], "filters": [], "maxQuoteAmount": "2000000",
                "makerCommission": "0", "takerCommission": "0.0005", "tradeSideType": "1"
            })).collect::<Vec<_>>()
        }),
        (Exchange::Gateio, "/api/v4/spot/currency_pairs") if get => Value::Array(rows.map(|(n, l)| json!({
            "id": n, "base": l.base, "quote": l.quote, "fee": "0.2",
            "min_base_amount": step(l.qty_scale), "min_quote_amount": "3",
            "amount_precision": l.qty_scale, "precision": l.px_scale,
            "trade_status": if l.trading { "tradable" } else { "untradable" },
            "sell_start": 0, "buy_start": 0
        })).collect()),
        (Exchange::Gateio, "/api/v4/spot/tickers") if get => Value::Array(rows.map(|(n, l)| json!({
            "currency_pair": n, "last": l.px(l.last()), "lowest_ask": l.px(l.ask),
            "lowest_size": l.qty(1000.0 / l.ask.max(1e-12)), "highest_bid": l.px(l.bid),
            "highest_size": l.qty(1000.0 / l.bid.max(1e-12)), "change_percentage": "1.01",
            "base_volume": l.qty(l.base_volume()), "quote_volume": dec(l.quote_volume, 4),
            "high_24h": l.px(l.last() * 1.02), "low_24h": l.px(l.last() * 0.97)
        })).collect()),
        (Exchange::Kucoin, "/api/v2/symbols" | "/api/v1/symbols") if get => json!({
            "code": "200000",
            "data": rows.map(|(n, l)| json!({
                "symbol": n, "name": n, "baseCurrency": l.base, "quoteCurrency": l.quote,
                "feeCurrency": l.quote, "market": if l.quote == "USDT" { "USDS" } else { "ALTS" },
                "baseMinSize": step(l.qty_scale), "quoteMinSize": "0.1", "baseMaxSize": "10000000000",
                "quoteMaxSize": "99999999", "baseIncrement": step(l.qty_scale),
                "quoteIncrement": step(l.px_scale), "priceIncrement": step(l.px_scale),
                "priceLimitRate": "0.1", "minFunds": "0.1", "isMarginEnabled": false,
                "enableTrading": l.trading
            })).collect::<Vec<_>>()
        }),
        (Exchange::Kucoin, "/api/v1/market/allTickers") if get => json!({
            "code": "200000",
            "data": {"time": now, "ticker": rows.map(|(n, l)| json!({
                "symbol": n, "symbolName": n, "buy": l.px(l.bid), "bestBidSize": l.qty(1000.0 / l.bid.max(1e-12)),
                "sell": l.px(l.ask), "bestAskSize": l.qty(1000.0 / l.ask.max(1e-12)),
                "changeRate": "0.0101", "changePrice": l.px(l.last() * 0.01),
                "high": l.px(l.last() * 1.02), "low": l.px(l.last() * 0.97),
                "vol": l.qty(l.base_volume()), "volValue": dec(l.quote_volume, 8),
                "last": l.px(l.last()), "averagePrice": l.px(l.last()),
                "takerFeeRate": "0.001", "makerFeeRate": "0.001",
                "takerCoefficient": "1", "makerCoefficient": "1"
            })).collect::<Vec<_>>()}
        }),
        (Exchange::Kucoin, "/api/v1/bullet-public") if method == "POST" => {
            let token = format!(
                "{:016x}{:016x}{:016x}",
                shared.random(),
                shared.random(),
                shared.random()
            );
            if let Ok(mut t) = shared.tokens.lock() {
                if t.len() >= 10_000 {
                    t.remove(0);
                }
                t.push(token.clone());
            }
            json!({"code": "200000", "data": {"token": token, "instanceServers": [{
                "endpoint": format!("{}/kucoin/ws", shared.ws_base),
                "encrypt": shared.tls.is_some(), "protocol": "websocket",
                "pingInterval": (18_000.0 * shared.hb_scale).round().max(1.0) as u64,
                "pingTimeout": (10_000.0 * shared.hb_scale).round().max(1.0) as u64
            }]}})
        }
        (Exchange::Okx, "/api/v5/public/instruments") if get => json!({
            "code": "0", "msg": "",
            "data": rows.map(|(n, l)| json!({
                "alias": "", "baseCcy": l.base, "category": "1", "ctMult": "", "ctType": "",
                "ctVal": "", "ctValCcy": "", "expTime": "", "instId": n, "instType": "SPOT",
                "lever": "", "listTime": "1548133413000", "lotSz": step(l.qty_scale),
                "maxLmtSz": "9999999999", "maxMktSz": "1000000", "minSz": step(l.qty_scale),
                "optType": "", "quoteCcy": l.quote, "settleCcy": "",
                "state": if l.trading { "live" } else { "suspend" },
                "stk": "", "tickSz": step(l.px_scale), "uly": ""
            })).collect::<Vec<_>>()
        }),
        (Exchange::Okx, "/api/v5/market/tickers") if get => json!({
            "code": "0", "msg": "",
            "data": rows.map(|(n, l)| json!({
                "instType": "SPOT", "instId": n, "last": l.px(l.last()),
                "lastSz": l.qty(10.0 / l.last().max(1e-12)), "askPx": l.px(l.ask),
                "askSz": l.qty(1000.0 / l.ask.max(1e-12)), "bidPx": l.px(l.bid),
                "bidSz": l.qty(1000.0 / l.bid.max(1e-12)), "open24h": l.px(l.last() * 0.99),
                "high24h": l.px(l.last() * 1.02), "low24h": l.px(l.last() * 0.97),
                "volCcy24h": dec(l.quote_volume, 4), "vol24h": l.qty(l.base_volume()),
                "ts": now.to_string(), "sodUtc0": l.px(l.last()), "sodUtc8": l.px(l.last())
            })).collect::<Vec<_>>()
        }),
        (Exchange::Bitget, "/api/v2/spot/public/symbols") if get => bitget(now, &rows.map(|(n, l)| json!({
            "symbol": n, "baseCoin": l.base, "quoteCoin": l.quote, "minTradeAmount": "0",
            "maxTradeAmount": "10000000000", "takerFeeRate": "0.001", "makerFeeRate": "0.001",
            "pricePrecision": l.px_scale.to_string(), "quantityPrecision": l.qty_scale.to_string(),
            "quotePrecision": l.px_scale.to_string(), "minTradeUSDT": "5",
            "status": if l.trading { "online" } else { "offline" },
            "buyLimitPriceRatio": "0.05", "sellLimitPriceRatio": "0.05",
            "orderQuantity": "200", "areaSymbol": "no"
        })).collect::<Vec<_>>()),
        (Exchange::Bitget, "/api/v2/spot/market/tickers") if get => bitget(now, &rows.map(|(n, l)| json!({
            "symbol": n, "high24h": l.px(l.last() * 1.02), "open": l.px(l.last() * 0.99),
            "low24h": l.px(l.last() * 0.97), "lastPr": l.px(l.last()),
            "quoteVolume": dec(l.quote_volume, 4), "baseVolume": l.qty(l.base_volume()),
            "usdtVolume": dec(l.quote_volume, 4), "bidPr": l.px(l.bid), "askPr": l.px(l.ask),
            "bidSz": l.qty(1000.0 / l.bid.max(1e-12)), "askSz": l.qty(1000.0 / l.ask.max(1e-12)),
            "openUtc": l.px(l.last() * 0.99), "ts": now.to_string(),
            "changeUtc24h": "0.0101", "change24h": "0.0101"
        })).collect::<Vec<_>>()),
        (Exchange::Bingx, "/openApi/spot/v1/common/symbols") if get => json!({
            "code": 0, "msg": "", "debugMsg": "",
            "data": {"symbols": rows.map(|(n, l)| json!({
                "symbol": n, "minQty": num(&step(l.qty_scale)), "maxQty": 9_000_000.0,
                "minNotional": 5, "maxNotional": 500_000, "status": i32::from(l.trading),
                "tickSize": num(&step(l.px_scale)), "stepSize": num(&step(l.qty_scale)),
                "apiStateSell": l.trading, "apiStateBuy": l.trading, "timeOnline": 1_700_000_000_000i64
            })).collect::<Vec<_>>()}
        }),
        (Exchange::Bingx, "/openApi/spot/v1/ticker/24hr") if get => json!({
            "code": 0, "timestamp": now,
            "data": rows.map(|(n, l)| json!({
                "symbol": n, "openPrice": num(&l.px(l.last() * 0.99)), "highPrice": num(&l.px(l.last() * 1.02)),
                "lowPrice": num(&l.px(l.last() * 0.97)), "lastPrice": num(&l.px(l.last())),
                "priceChange": num(&l.px(l.last() * 0.01)), "priceChangePercent": "1.01%",
                "volume": num(&l.qty(l.base_volume())), "quoteVolume": num(&dec(l.quote_volume, 2)),
                "openTime": now - 86_400_000, "closeTime": now,
                "askPrice": num(&l.px(l.ask)), "askQty": num(&l.qty(1000.0 / l.ask.max(1e-12))),
                "bidPrice": num(&l.px(l.bid)), "bidQty": num(&l.qty(1000.0 / l.bid.max(1e-12)))
            })).collect::<Vec<_>>()
        }),
        _ => return None,
    };
    Some(v)
}

/// Bybit's envelope.
fn bybit(now: i64, result: &Value) -> Value {
    json!({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now})
}

/// Bitget's envelope.
fn bitget(now: i64, data: &[Value]) -> Value {
    json!({"code": "00000", "msg": "success", "requestTime": now, "data": data})
}

/// Decimal text as a JSON number (BingX REST).
fn num(text: &str) -> Value {
    text.parse::<f64>().map_or(Value::Null, |f| json!(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_natives() {
        assert_eq!(step(0), "1");
        assert_eq!(step(3), "0.001");
        assert_eq!(native(Exchange::Gateio, "ETH", "BTC"), "ETH_BTC");
        assert_eq!(native(Exchange::Okx, "BTC", "USDC"), "BTC-USDC");
    }

    #[test]
    fn universe_prices_every_symbol() {
        let cfg = GenConfig {
            symbols: 20,
            ..GenConfig::default()
        };
        let u = Universe::build(&cfg).expect("builds");
        assert_eq!(u.symbols(), 20);
        assert_eq!(u.listings.len(), 20 + EXTRAS.len());
        assert!(u.listings[0].bid > 10_000.0, "BTC first");
        assert_eq!(u.lookup(Exchange::Okx, "BTC-USDT"), Some(SymbolId(0)));
    }
}
