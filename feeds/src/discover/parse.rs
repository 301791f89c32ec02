//! Pure parsers of the venues' REST answers: symbol lists into [`Listing`]s, 24 h tickers
//! into quote volumes, KuCoin's `bullet-public` into a [`Bullet`] (`feeds/PROTOCOLS.md` §1–§9).
//!
//! Tolerant by design: unknown fields are ignored, `null` and `""` mean "not given", numbers
//! may be JSON numbers or decimal text. A row that cannot be used (no symbol, no assets, a
//! status of the wrong type, a number that does not parse) is skipped and counted, never
//! fatal; only an answer whose envelope is wrong (not JSON, a venue error code, no list)
//! is an error.

use arb_engine::Exchange;
use serde_json::Value;

use super::{Bullet, Listing};

/// Why a whole REST answer could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is not JSON.
    #[error("body is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The venue answered with an error code instead of data.
    #[error("venue error code {code}: {msg}")]
    Api {
        /// The venue's code (as text).
        code: String,
        /// The venue's message.
        msg: String,
    },
    /// The JSON does not have the documented shape.
    #[error("unexpected answer shape: {0}")]
    Shape(&'static str),
}

/// The usable rows of one REST answer, with counts of what was there and what was skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    /// Usable rows, in answer order.
    pub items: Vec<T>,
    /// Rows in the answer.
    pub rows: usize,
    /// Rows skipped as malformed or duplicated.
    pub skipped: usize,
    /// Why the first skipped row was skipped (for the warning a caller logs).
    pub first_skip: Option<String>,
    /// The answer says more pages follow (Bybit's `nextPageCursor`) and only this page was
    /// read. Bybit documents spot lists as unpaged; this makes a change visible.
    pub more_pages: bool,
}

impl<T> Parsed<T> {
    fn new(rows: usize) -> Self {
        Self {
            items: Vec::with_capacity(rows),
            rows,
            skipped: 0,
            first_skip: None,
            more_pages: false,
        }
    }

    fn push(&mut self, row: Result<T, String>) {
        match row {
            Ok(item) => self.items.push(item),
            Err(why) => {
                self.skipped += 1;
                if self.first_skip.is_none() {
                    self.first_skip = Some(why);
                }
            }
        }
    }
}

/// One row of a 24 h ticker answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticker {
    /// The venue's own symbol.
    pub native: String,
    /// 24 h volume in the quote asset; `None` when the venue sent `null` or `""`.
    pub quote_volume_24h: Option<f64>,
}

type Row<T> = Result<T, String>;

/// Turns one symbol-list row of a venue into a listing.
type SymbolRow = fn(Exchange, &Value) -> Row<Listing>;

/// Parses a venue's symbol-list answer into listings, one per usable row, with
/// `quote_volume_24h` left `None` (tickers fill it, see [`super::merge`]).
///
/// Status rules (`feeds/PROTOCOLS.md`): Binance `status == "TRADING"`, Bybit `Trading`,
/// MEXC `"1"` or `"ENABLED"`, Gate `trade_status == "tradable"`, KuCoin `enableTrading`,
/// OKX `state == "live"`, Bitget `online`, BingX `status == 1`. Assets come from the
/// venue's asset fields; BingX has none and its `BASE-QUOTE` symbol is split on the dash.
/// A symbol that repeats an earlier one is skipped.
///
/// # Errors
/// [`BodyError`] when the answer as a whole is unusable.
pub fn parse_symbols(ex: Exchange, body: &[u8]) -> Result<Parsed<Listing>, BodyError> {
    let root: Value = serde_json::from_slice(body)?;
    let (rows, row_fn): (&[Value], SymbolRow) = match ex {
        Exchange::Binance | Exchange::Mexc => {
            binance_error(&root)?;
            (
                array(root.get("symbols"), "no symbols array")?,
                binance_mexc_symbol,
            )
        }
        Exchange::Bybit => (bybit_list(&root)?, bybit_symbol),
        Exchange::Gateio => {
            gate_error(&root)?;
            (array(Some(&root), "not an array")?, gate_symbol)
        }
        Exchange::Kucoin => {
            check_code(&root, "code", "200000", "msg")?;
            (array(root.get("data"), "no data array")?, kucoin_symbol)
        }
        Exchange::Okx => {
            check_code(&root, "code", "0", "msg")?;
            (array(root.get("data"), "no data array")?, okx_symbol)
        }
        Exchange::Bitget => {
            check_code(&root, "code", "00000", "msg")?;
            (array(root.get("data"), "no data array")?, bitget_symbol)
        }
        Exchange::Bingx => {
            check_code(&root, "code", "0", "msg")?;
            let symbols = root.get("data").and_then(|d| d.get("symbols"));
            (array(symbols, "no data.symbols array")?, bingx_symbol)
        }
    };
    let mut out = Parsed::new(rows.len());
    out.more_pages = more_pages(ex, &root);
    let mut seen = rustc_hash::FxHashSet::default();
    for row in rows {
        let listing = row_fn(ex, row).and_then(|l| {
            if seen.insert(l.native.clone()) {
                Ok(l)
            } else {
                Err(format!("duplicate symbol {:?}", l.native))
            }
        });
        out.push(listing);
    }
    Ok(out)
}

/// Parses a venue's all-symbols 24 h ticker answer into quote volumes per native symbol:
/// Binance and MEXC `quoteVolume` (text or `null`), Bybit `turnover24h`, Gate
/// `quote_volume`, KuCoin `volValue`, OKX `volCcy24h`, Bitget `quoteVolume`, BingX
/// `quoteVolume` (a JSON number).
///
/// # Errors
/// [`BodyError`] when the answer as a whole is unusable.
pub fn parse_tickers(ex: Exchange, body: &[u8]) -> Result<Parsed<Ticker>, BodyError> {
    let root: Value = serde_json::from_slice(body)?;
    let (rows, symbol_key, volume_key): (&[Value], &str, &str) = match ex {
        Exchange::Binance | Exchange::Mexc => {
            binance_error(&root)?;
            (array(Some(&root), "not an array")?, "symbol", "quoteVolume")
        }
        Exchange::Bybit => (bybit_list(&root)?, "symbol", "turnover24h"),
        Exchange::Gateio => {
            gate_error(&root)?;
            (
                array(Some(&root), "not an array")?,
                "currency_pair",
                "quote_volume",
            )
        }
        Exchange::Kucoin => {
            check_code(&root, "code", "200000", "msg")?;
            let list = root.get("data").and_then(|d| d.get("ticker"));
            (array(list, "no data.ticker array")?, "symbol", "volValue")
        }
        Exchange::Okx => {
            check_code(&root, "code", "0", "msg")?;
            (
                array(root.get("data"), "no data array")?,
                "instId",
                "volCcy24h",
            )
        }
        Exchange::Bitget => {
            check_code(&root, "code", "00000", "msg")?;
            (
                array(root.get("data"), "no data array")?,
                "symbol",
                "quoteVolume",
            )
        }
        Exchange::Bingx => {
            check_code(&root, "code", "0", "msg")?;
            (
                array(root.get("data"), "no data array")?,
                "symbol",
                "quoteVolume",
            )
        }
    };
    let mut out = Parsed::new(rows.len());
    out.more_pages = more_pages(ex, &root);
    for row in rows {
        out.push((|| {
            let native = required_text(row, symbol_key)?;
            let quote_volume_24h = number(row, volume_key)?;
            Ok(Ticker {
                native: native.to_owned(),
                quote_volume_24h,
            })
        })());
    }
    Ok(out)
}

/// Parses KuCoin's `POST /api/v1/bullet-public` answer: the token and the first
/// `websocket` instance server (`feeds/PROTOCOLS.md` §5). Missing ping figures fall back to
/// [`crate::kucoin::DEFAULT_PING_INTERVAL_MS`] and [`crate::kucoin::DEFAULT_PING_TIMEOUT_MS`].
///
/// # Errors
/// [`BodyError`] when the code is not `200000` or the token or endpoint is missing.
pub fn parse_bullet(body: &[u8]) -> Result<Bullet, BodyError> {
    let root: Value = serde_json::from_slice(body)?;
    check_code(&root, "code", "200000", "msg")?;
    let data = root.get("data").ok_or(BodyError::Shape("no data object"))?;
    let token = data
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or(BodyError::Shape("no data.token"))?;
    let servers = array(data.get("instanceServers"), "no data.instanceServers array")?;
    let server = servers
        .iter()
        .find(|s| s.get("protocol").and_then(Value::as_str) == Some("websocket"))
        .or_else(|| servers.first())
        .ok_or(BodyError::Shape("empty data.instanceServers"))?;
    let endpoint = server
        .get("endpoint")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
        .ok_or(BodyError::Shape("instance server without endpoint"))?;
    let ms = |key: &str, default: u64| match server.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().ok_or(BodyError::Shape(
            "ping figure is not a non-negative integer",
        )),
    };
    Ok(Bullet {
        endpoint: endpoint.to_owned(),
        token: token.to_owned(),
        ping_interval_ms: ms("pingInterval", crate::kucoin::DEFAULT_PING_INTERVAL_MS)?,
        ping_timeout_ms: ms("pingTimeout", crate::kucoin::DEFAULT_PING_TIMEOUT_MS)?,
    })
}

// ---- envelopes ----

fn array<'a>(v: Option<&'a Value>, what: &'static str) -> Result<&'a [Value], BodyError> {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or(BodyError::Shape(what))
}

fn code_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn msg_text(root: &Value, key: &str) -> String {
    root.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `{"code": <ok>, …}`, the code as text or number; a missing code is a shape error.
fn check_code(root: &Value, code_key: &str, ok: &str, msg_key: &str) -> Result<(), BodyError> {
    let code = root
        .get(code_key)
        .and_then(code_text)
        .ok_or(BodyError::Shape("no code field"))?;
    if code == ok {
        Ok(())
    } else {
        Err(BodyError::Api {
            code,
            msg: msg_text(root, msg_key),
        })
    }
}

/// Binance and MEXC answer errors as `{"code": <n>, "msg": "…"}`.
fn binance_error(root: &Value) -> Result<(), BodyError> {
    match (root.get("code").and_then(code_text), root.get("msg")) {
        (Some(code), Some(_)) if root.get("symbols").is_none() => Err(BodyError::Api {
            code,
            msg: msg_text(root, "msg"),
        }),
        _ => Ok(()),
    }
}

/// Gate answers errors as `{"label": "…", "message": "…"}`.
fn gate_error(root: &Value) -> Result<(), BodyError> {
    match root.get("label").and_then(Value::as_str) {
        Some(label) => Err(BodyError::Api {
            code: label.to_owned(),
            msg: msg_text(root, "message"),
        }),
        None => Ok(()),
    }
}

/// Bybit: `{"retCode":0,"retMsg":"OK","result":{"list":[…]}}`.
fn bybit_list(root: &Value) -> Result<&[Value], BodyError> {
    check_code(root, "retCode", "0", "retMsg")?;
    array(
        root.get("result").and_then(|r| r.get("list")),
        "no result.list array",
    )
}

/// Bybit pages with `result.nextPageCursor` (non-empty when more follow).
fn more_pages(ex: Exchange, root: &Value) -> bool {
    ex == Exchange::Bybit
        && root
            .get("result")
            .and_then(|r| text(r, "nextPageCursor"))
            .is_some()
}

// ---- fields ----

/// A non-empty string field.
fn text<'a>(row: &'a Value, key: &str) -> Option<&'a str> {
    row.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn required_text<'a>(row: &'a Value, key: &str) -> Row<&'a str> {
    text(row, key).ok_or_else(|| format!("missing or empty {key}"))
}

/// A non-negative finite number given as a JSON number or decimal text; `null`, `""` and
/// a missing key are `None`.
fn number(row: &Value, key: &str) -> Row<Option<f64>> {
    let v = match row.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(Value::Number(n)) => n.as_f64(),
        Some(_) => None,
    };
    match v {
        Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
        _ => Err(format!("bad number in {key}: {}", row[key])),
    }
}

/// A step (tick or lot size): like [`number`], but zero means "not given".
fn step(row: &Value, key: &str) -> Row<Option<f64>> {
    Ok(number(row, key)?.filter(|&x| x > 0.0))
}

/// A step given as a count of decimals (`4` → 0.0001), as an integer or integer text.
fn decimals_step(row: &Value, key: &str) -> Row<Option<f64>> {
    let n = match row.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) => s.parse::<u32>().ok(),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(_) => None,
    };
    match n {
        Some(n) if n <= 30 => Ok(format!("1e-{n}").parse::<f64>().ok()),
        _ => Err(format!("bad decimal count in {key}: {}", row[key])),
    }
}

fn valid_asset(a: &str) -> bool {
    !a.is_empty() && a.bytes().all(|c| c.is_ascii_alphanumeric())
}

fn listing(
    ex: Exchange,
    native: &str,
    base: &str,
    quote: &str,
    trading: bool,
    price_step: Option<f64>,
    qty_step: Option<f64>,
) -> Row<Listing> {
    if !valid_asset(base) || !valid_asset(quote) {
        return Err(format!(
            "{native:?}: asset names {base:?}/{quote:?} are not ASCII alphanumeric"
        ));
    }
    Ok(Listing {
        exchange: ex,
        native: native.to_owned(),
        base: base.to_ascii_uppercase(),
        quote: quote.to_ascii_uppercase(),
        trading,
        quote_volume_24h: None,
        price_step,
        qty_step,
    })
}

// ---- symbol rows per venue ----

/// Binance and MEXC `exchangeInfo` rows.
fn binance_mexc_symbol(ex: Exchange, row: &Value) -> Row<Listing> {
    let native = required_text(row, "symbol")?;
    let base = required_text(row, "baseAsset")?;
    let quote = required_text(row, "quoteAsset")?;
    let trading = match (ex, row.get("status")) {
        (Exchange::Mexc, Some(Value::String(s))) => s == "1" || s == "ENABLED",
        (Exchange::Mexc, Some(Value::Number(n))) => n.as_u64() == Some(1),
        (_, Some(Value::String(s))) => s == "TRADING",
        _ => return Err(format!("{native:?}: missing or non-text status")),
    };
    let (price_step, qty_step) = if ex == Exchange::Binance {
        let filter = |kind: &str| {
            row.get("filters").and_then(Value::as_array).and_then(|fs| {
                fs.iter()
                    .find(|f| f.get("filterType").and_then(Value::as_str) == Some(kind))
            })
        };
        let price = match filter("PRICE_FILTER") {
            Some(f) => step(f, "tickSize")?,
            None => None,
        };
        let qty = match filter("LOT_SIZE") {
            Some(f) => step(f, "stepSize")?,
            None => None,
        };
        (price, qty)
    } else {
        // MEXC lists decimal counts (integers or integer text), not steps:
        // `quotePrecision` for prices, `baseAssetPrecision` for quantities, as client
        // libraries read them (`baseSizePrecision` is a minimum size, often "0"). The docs
        // do not define them precisely: UNCONFIRMED.
        (
            decimals_step(row, "quotePrecision")?,
            decimals_step(row, "baseAssetPrecision")?,
        )
    };
    listing(ex, native, base, quote, trading, price_step, qty_step)
}

fn bybit_symbol(ex: Exchange, row: &Value) -> Row<Listing> {
    let native = required_text(row, "symbol")?;
    let base = required_text(row, "baseCoin")?;
    let quote = required_text(row, "quoteCoin")?;
    let trading = required_text(row, "status")? == "Trading";
    let price_step = match row.get("priceFilter") {
        Some(f) => step(f, "tickSize")?,
        None => None,
    };
    let qty_step = match row.get("lotSizeFilter") {
        Some(f) => step(f, "basePrecision")?,
        None => None,
    };
    listing(ex, native, base, quote, trading, price_step, qty_step)
}

fn gate_symbol(ex: Exchange, row: &Value) -> Row<Listing> {
    let native = required_text(row, "id")?;
    let base = required_text(row, "base")?;
    let quote = required_text(row, "quote")?;
    let trading = required_text(row, "trade_status")? == "tradable";
    let price_step = decimals_step(row, "precision")?;
    let qty_step = decimals_step(row, "amount_precision")?;
    listing(ex, native, base, quote, trading, price_step, qty_step)
}

fn kucoin_symbol(ex: Exchange, row: &Value) -> Row<Listing> {
    let native = required_text(row, "symbol")?;
    let base = required_text(row, "baseCurrency")?;
    let quote = required_text(row, "quoteCurrency")?;
    let trading = row
        .get("enableTrading")
        .and_then(Value::as_bool)
        .ok_or_else(|| format!("{native:?}: missing or non-boolean enableTrading"))?;
    let price_step = step(row, "priceIncrement")?;
    let qty_step = step(row, "baseIncrement")?;
    listing(ex, native, base, quote, trading, price_step, qty_step)
}

fn okx_symbol(ex: Exchange, row: &Value) -> Row<Listing> {
    let native = required_text(row, "instId")?;
    if let Some(kind) = text(row, "instType")
        && kind != "SPOT"
    {
        return Err(format!("{native:?}: instType {kind}, not SPOT"));
    }
    let base = required_text(row, "baseCcy")?;
    let quote = required_text(row, "quoteCcy")?;
    let trading = required_text(row, "state")? == "live";
    let price_step = step(row, "tickSz")?;
    let qty_step = step(row, "lotSz")?;
    listing(ex, native, base, quote, trading, price_step, qty_step)
}

fn bitget_symbol(ex: Exchange, row: &Value) -> Row<Listing> {
    let native = required_text(row, "symbol")?;
    let base = required_text(row, "baseCoin")?;
    let quote = required_text(row, "quoteCoin")?;
    let trading = required_text(row, "status")? == "online";
    let price_step = decimals_step(row, "pricePrecision")?;
    let qty_step = decimals_step(row, "quantityPrecision")?;
    listing(ex, native, base, quote, trading, price_step, qty_step)
}

fn bingx_symbol(ex: Exchange, row: &Value) -> Row<Listing> {
    let native = required_text(row, "symbol")?;
    let (base, quote) = native
        .split_once('-')
        .filter(|(b, q)| !b.is_empty() && !q.is_empty() && !q.contains('-'))
        .ok_or_else(|| format!("{native:?} is not BASE-QUOTE"))?;
    let trading = match row.get("status") {
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        // Not documented, but cheap to accept.
        Some(Value::String(s)) => s == "1",
        _ => return Err(format!("{native:?}: missing or non-numeric status")),
    };
    let price_step = step(row, "tickSize")?;
    let qty_step = step(row, "stepSize")?;
    listing(ex, native, base, quote, trading, price_step, qty_step)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(venue: &str, file: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/{venue}/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn symbols(ex: Exchange) -> Parsed<Listing> {
        parse_symbols(ex, &fixture(ex.as_str(), "rest_symbols.json")).unwrap()
    }

    fn tickers(ex: Exchange) -> Parsed<Ticker> {
        let file = if ex == Exchange::Gateio {
            "rest_tickers.constructed.json"
        } else {
            "rest_tickers.json"
        };
        parse_tickers(ex, &fixture(ex.as_str(), file)).unwrap()
    }

    fn find<'a>(p: &'a Parsed<Listing>, native: &str) -> &'a Listing {
        p.items
            .iter()
            .find(|l| l.native == native)
            .unwrap_or_else(|| panic!("{native} not listed"))
    }

    fn trading(p: &Parsed<Listing>) -> usize {
        p.items.iter().filter(|l| l.trading).count()
    }

    fn volume(p: &Parsed<Ticker>, native: &str) -> Option<f64> {
        p.items
            .iter()
            .find(|t| t.native == native)
            .unwrap_or_else(|| panic!("{native} has no ticker"))
            .quote_volume_24h
    }

    fn assert_listing(l: &Listing, base: &str, quote: &str, price: f64, qty: f64) {
        assert_eq!((l.base.as_str(), l.quote.as_str()), (base, quote), "{l:?}");
        assert_eq!(l.price_step, Some(price), "{l:?}");
        assert_eq!(l.qty_step, Some(qty), "{l:?}");
        assert_eq!(l.quote_volume_24h, None);
    }

    #[test]
    fn binance_symbols_keep_break_rows_as_not_trading() {
        let p = symbols(Exchange::Binance);
        assert_eq!((p.rows, p.skipped, p.items.len()), (4, 0, 4));
        assert_eq!(trading(&p), 3);
        assert!(!find(&p, "BCCBTC").trading, "BREAK is not trading");
        let btc = find(&p, "BTCUSDT");
        assert!(btc.trading);
        assert_eq!(btc.exchange, Exchange::Binance);
        assert_listing(btc, "BTC", "USDT", 0.01, 0.00001);
        assert_listing(find(&p, "ETHBTC"), "ETH", "BTC", 0.000001, 0.0001);
    }

    #[test]
    fn binance_tickers_give_quote_volume() {
        let p = tickers(Exchange::Binance);
        assert_eq!((p.rows, p.skipped), (1, 0));
        assert_eq!(volume(&p, "BTCUSDT"), Some(3_289_695_271.677_177));
    }

    #[test]
    fn bybit_next_page_cursor_is_flagged() {
        let body = br#"{"retCode":0,"retMsg":"OK","result":{"list":[],"nextPageCursor":"abc"}}"#;
        assert!(parse_symbols(Exchange::Bybit, body).unwrap().more_pages);
        let body = br#"{"retCode":0,"retMsg":"OK","result":{"list":[],"nextPageCursor":""}}"#;
        assert!(!parse_symbols(Exchange::Bybit, body).unwrap().more_pages);
    }

    #[test]
    fn bybit_symbols_and_tickers() {
        let p = symbols(Exchange::Bybit);
        assert!(!p.more_pages);
        assert_eq!((p.rows, p.skipped, trading(&p)), (1, 0, 1));
        assert_listing(find(&p, "BTCUSDT"), "BTC", "USDT", 0.1, 0.000001);
        let t = tickers(Exchange::Bybit);
        assert_eq!(volume(&t, "BTCUSDT"), Some(243765620.65899866));
    }

    #[test]
    fn mexc_symbols_accept_enabled_and_tickers_accept_null() {
        let p = symbols(Exchange::Mexc);
        assert_eq!((p.rows, p.skipped, trading(&p)), (1, 0, 1));
        // Quotes of three and five letters and a leveraged token: assets come from the list.
        assert_listing(find(&p, "TOMO3LUSDT"), "TOMO3L", "USDT", 0.001, 0.01);
        let t = tickers(Exchange::Mexc);
        assert_eq!((t.rows, t.skipped), (2, 0));
        assert_eq!(volume(&t, "BTCUSDT"), None, "quoteVolume null");
        assert_eq!(volume(&t, "ETHUSDT"), None);
    }

    #[test]
    fn mexc_status_encodings() {
        let body = br#"{"symbols":[
            {"symbol":"AUSDT","status":"1","baseAsset":"A","quoteAsset":"USDT"},
            {"symbol":"BUSDT","status":"2","baseAsset":"B","quoteAsset":"USDT"},
            {"symbol":"CUSDT","status":"3","baseAsset":"C","quoteAsset":"USDT"},
            {"symbol":"DUSDT","status":"ENABLED","baseAsset":"D","quoteAsset":"USDT"},
            {"symbol":"EUSDT","status":1,"baseAsset":"E","quoteAsset":"USDT"},
            {"symbol":"FUSDT","baseAsset":"F","quoteAsset":"USDT"}]}"#;
        let p = parse_symbols(Exchange::Mexc, body).unwrap();
        let on: Vec<_> = p
            .items
            .iter()
            .filter(|l| l.trading)
            .map(|l| l.native.as_str())
            .collect();
        assert_eq!(on, ["AUSDT", "DUSDT", "EUSDT"]);
        assert_eq!((p.rows, p.skipped), (6, 1), "no status is malformed");
    }

    #[test]
    fn gate_symbols_filter_untradable_and_tickers() {
        let p = symbols(Exchange::Gateio);
        assert_eq!((p.rows, p.skipped, trading(&p)), (4, 0, 3));
        assert!(!find(&p, "SAL_USDT").trading);
        assert_listing(find(&p, "BTC_USDT"), "BTC", "USDT", 0.01, 0.0001);
        let t = tickers(Exchange::Gateio);
        assert_eq!((t.rows, t.skipped), (2, 0));
        assert_eq!(volume(&t, "BTC_USDT"), Some(302994120.8512));
        assert_eq!(volume(&t, "ETH_BTC"), Some(21.63990591));
    }

    #[test]
    fn kucoin_symbols_filter_disabled_and_tickers() {
        let p = symbols(Exchange::Kucoin);
        assert_eq!(p.skipped, 0);
        assert_eq!(trading(&p), p.rows - 1);
        assert!(!find(&p, "ZEL-BTC").trading);
        assert_listing(find(&p, "BTC-USDT"), "BTC", "USDT", 0.1, 0.00000001);
        let t = tickers(Exchange::Kucoin);
        assert_eq!(volume(&t, "BTC-USDT"), Some(124068431.06726933));
    }

    #[test]
    fn okx_symbols_and_tickers() {
        let p = symbols(Exchange::Okx);
        assert_eq!((p.rows, p.skipped, trading(&p)), (3, 0, 3));
        assert_listing(find(&p, "ETH-USDT"), "ETH", "USDT", 0.01, 0.000001);
        let t = tickers(Exchange::Okx);
        assert_eq!(volume(&t, "STETH-USD"), Some(9.99924975));
    }

    #[test]
    fn bitget_symbols_and_tickers() {
        let p = symbols(Exchange::Bitget);
        assert_eq!((p.rows, p.skipped, trading(&p)), (1, 0, 1));
        assert_listing(find(&p, "BTCUSDT"), "BTC", "USDT", 0.0001, 0.00000001);
        let t = tickers(Exchange::Bitget);
        assert_eq!(volume(&t, "BTCUSDT"), Some(0.0));
    }

    #[test]
    fn bingx_symbols_split_on_dash_and_tickers_are_numbers() {
        let p = symbols(Exchange::Bingx);
        assert_eq!((p.rows, p.skipped, trading(&p)), (1, 0, 1));
        assert_listing(find(&p, "BTC-USDT"), "BTC", "USDT", 0.01, 0.00001);
        let t = tickers(Exchange::Bingx);
        assert_eq!(volume(&t, "BTC-USDT"), Some(214948771.34));
    }

    #[test]
    fn bingx_status_and_malformed_symbols() {
        let body = br#"{"code":0,"data":{"symbols":[
            {"symbol":"A-USDT","status":1},{"symbol":"B-USDT","status":0},
            {"symbol":"C-USDT","status":5},{"symbol":"D-USDT","status":25},
            {"symbol":"EUSDT","status":1},{"symbol":"F-G-USDT","status":1},
            {"symbol":"-USDT","status":1},{"status":1}]}}"#;
        let p = parse_symbols(Exchange::Bingx, body).unwrap();
        assert_eq!((p.rows, p.skipped), (8, 4));
        assert_eq!(trading(&p), 1);
        assert!(find(&p, "A-USDT").trading);
        assert!(p.first_skip.unwrap().contains("EUSDT"));
    }

    #[test]
    fn no_separator_venue_never_guesses_assets() {
        let body = br#"{"symbols":[{"symbol":"BTCUSDT","status":"TRADING"}]}"#;
        let p = parse_symbols(Exchange::Binance, body).unwrap();
        assert_eq!((p.rows, p.skipped), (1, 1));
        assert!(p.items.is_empty());
    }

    #[test]
    fn malformed_rows_are_skipped_and_counted() {
        let body = br#"{"code":"0","data":[
            {"instId":"BTC-USDT","baseCcy":"BTC","quoteCcy":"USDT","state":"live","tickSz":"0.1","lotSz":""},
            {"instId":"BAD-USDT","baseCcy":"BAD","quoteCcy":"USDT","state":"live","tickSz":"abc"},
            {"instId":"NOSTATE-USDT","baseCcy":"NOSTATE","quoteCcy":"USDT"},
            {"instId":"W$-USDT","baseCcy":"W$","quoteCcy":"USDT","state":"live"},
            {"instId":"BTC-USD-SWAP","instType":"SWAP","baseCcy":"BTC","quoteCcy":"USD","state":"live"},
            {"instId":"BTC-USDT","baseCcy":"BTC","quoteCcy":"USDT","state":"live"},
            "not an object",
            {"instId":"ETH-USDT","baseCcy":"eth","quoteCcy":"usdt","state":"suspend","extra":{"x":[1]}}]}"#;
        let p = parse_symbols(Exchange::Okx, body).unwrap();
        assert_eq!((p.rows, p.skipped), (8, 6));
        let btc = find(&p, "BTC-USDT");
        assert_eq!((btc.price_step, btc.qty_step), (Some(0.1), None));
        let eth = find(&p, "ETH-USDT");
        assert_eq!(
            (eth.base.as_str(), eth.quote.as_str(), eth.trading),
            ("ETH", "USDT", false)
        );

        let body = br#"[{"symbol":"A","quoteVolume":"12.5"},{"symbol":"B","quoteVolume":""},
            {"symbol":"C","quoteVolume":"-1"},{"symbol":"D","quoteVolume":"NaN"},
            {"quoteVolume":"1"},{"symbol":"E"},{"symbol":"F","quoteVolume":3}]"#;
        let t = parse_tickers(Exchange::Binance, body).unwrap();
        assert_eq!((t.rows, t.skipped), (7, 3));
        assert_eq!(volume(&t, "A"), Some(12.5));
        assert_eq!(volume(&t, "B"), None);
        assert_eq!(volume(&t, "E"), None);
        assert_eq!(volume(&t, "F"), Some(3.0));
    }

    #[test]
    fn error_envelopes_are_errors() {
        let cases: [(Exchange, &[u8]); 8] = [
            (Exchange::Binance, br#"{"code":-1003,"msg":"Too many requests"}"#),
            (Exchange::Bybit, br#"{"retCode":10006,"retMsg":"Too many visits!","result":{}}"#),
            (Exchange::Mexc, br#"{"code":700003,"msg":"Timestamp for this request is outside of the recvWindow."}"#),
            (Exchange::Gateio, br#"{"label":"INVALID_PARAM_VALUE","message":"bad"}"#),
            (Exchange::Kucoin, br#"{"code":"429000","msg":"Too Many Requests"}"#),
            (Exchange::Okx, br#"{"code":"50011","msg":"Rate limit reached","data":[]}"#),
            (Exchange::Bitget, br#"{"code":"429","msg":"Too Many Requests","data":null}"#),
            (Exchange::Bingx, br#"{"code":100410,"msg":"rate limited"}"#),
        ];
        for (ex, body) in cases {
            for parse in [
                |ex, b| parse_symbols(ex, b).map(|_| ()),
                |ex, b| parse_tickers(ex, b).map(|_| ()),
            ] {
                let err = parse(ex, body).unwrap_err();
                assert!(matches!(err, BodyError::Api { .. }), "{ex}: {err}");
            }
        }
        assert!(matches!(
            parse_symbols(Exchange::Binance, b"<html>").unwrap_err(),
            BodyError::Json(_)
        ));
        assert!(matches!(
            parse_tickers(Exchange::Okx, br#"{"code":"0","data":{}}"#).unwrap_err(),
            BodyError::Shape(_)
        ));
    }

    #[test]
    fn bullet_public_fixture() {
        let b = parse_bullet(&fixture("kucoin", "rest_bullet_public.json")).unwrap();
        assert_eq!(b.endpoint, "wss://ws-api-spot.kucoin.com/");
        assert!(b.token.starts_with("2neAiuYvAU61ZDXANAGAsiL4"));
        assert_eq!((b.ping_interval_ms, b.ping_timeout_ms), (18_000, 10_000));
        let b = parse_bullet(
            br#"{"code":"200000","data":{"token":"t","instanceServers":[{"endpoint":"wss://x/"}]}}"#,
        )
        .unwrap();
        assert_eq!(b.ping_interval_ms, crate::kucoin::DEFAULT_PING_INTERVAL_MS);
        assert!(
            parse_bullet(br#"{"code":"200000","data":{"token":"t","instanceServers":[]}}"#)
                .is_err()
        );
        assert!(parse_bullet(br#"{"code":"400100","msg":"x"}"#).is_err());
    }
}
