//! The names arb writes for venues and symbols in files and on the API: the legacy
//! collector's spelling (`Binance`, `GateIo`, `Kucoin`, `BTC_USDT`), so the old notebooks
//! and chart clients keep working, and the parsers that accept every spelling a user types.
//!
//! | venue id (CLI, config) | written as |
//! |---|---|
//! | `binance` | `Binance` |
//! | `bybit` | `Bybit` |
//! | `mexc` | `MEXC` |
//! | `gateio` | `GateIo` |
//! | `kucoin` | `Kucoin` |
//! | `okx` | `OKX` |
//! | `bitget` | `Bitget` |
//! | `bingx` | `BingX` |
//!
//! Symbols are written `BASE_QUOTE` (`BTC_USDT`); the engine's own `BASE/QUOTE` and the
//! written form both parse.

use arb_engine::Exchange;

/// Returns the venue as the store and the API write it (the legacy files' spelling).
pub const fn exchange_name(e: Exchange) -> &'static str {
    match e {
        Exchange::Binance => "Binance",
        Exchange::Bybit => "Bybit",
        Exchange::Mexc => "MEXC",
        Exchange::Gateio => "GateIo",
        Exchange::Kucoin => "Kucoin",
        Exchange::Okx => "OKX",
        Exchange::Bitget => "Bitget",
        Exchange::Bingx => "BingX",
    }
}

/// Parses a venue in any spelling arb writes or accepts: the id (`gateio`), the written
/// name (`GateIo`) or the display name (`Gate`, `Gate.io`), case-insensitively.
pub fn parse_exchange(s: &str) -> Option<Exchange> {
    let s = s.trim();
    Exchange::ALL.into_iter().find(|e| {
        s.eq_ignore_ascii_case(e.as_str())
            || s.eq_ignore_ascii_case(exchange_name(*e))
            || s.eq_ignore_ascii_case(e.display_name())
            || (*e == Exchange::Gateio && s.eq_ignore_ascii_case("gate.io"))
    })
}

/// Writes the engine's `BASE/QUOTE` name as `BASE_QUOTE` into `out` (cleared first).
pub fn symbol_name_into(engine_name: &str, out: &mut String) {
    out.clear();
    out.extend(engine_name.chars().map(|c| if c == '/' { '_' } else { c }));
}

/// Returns the written form `BASE_QUOTE` of the engine's `BASE/QUOTE` name.
pub fn symbol_name(engine_name: &str) -> String {
    let mut s = String::with_capacity(engine_name.len());
    symbol_name_into(engine_name, &mut s);
    s
}

/// Parses a symbol typed as `BTC_USDT`, `BTC/USDT` or `btc-usdt` into the written form
/// `BTC_USDT`; `None` without exactly one separator or with an empty side.
pub fn parse_symbol(s: &str) -> Option<String> {
    let s = s.trim();
    let mut parts = s.split(['_', '/', '-']);
    let (base, quote) = (parts.next()?, parts.next()?);
    if parts.next().is_some() || base.is_empty() || quote.is_empty() {
        return None;
    }
    Some(format!(
        "{}_{}",
        base.to_ascii_uppercase(),
        quote.to_ascii_uppercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_back_to_its_venue() {
        for e in Exchange::ALL {
            for s in [e.as_str(), exchange_name(e), e.display_name()] {
                assert_eq!(parse_exchange(s), Some(e), "{s}");
                assert_eq!(parse_exchange(&s.to_uppercase()), Some(e), "{s}");
            }
        }
        assert_eq!(parse_exchange("Gate.io"), Some(Exchange::Gateio));
        assert_eq!(parse_exchange("kraken"), None);
    }

    #[test]
    fn written_venue_names_sort_like_the_pair_order() {
        // Pairs put the alphabetically first venue id first; the written names must sort
        // the same way so files and charts agree on each pair's sign.
        let mut by_id = Exchange::ALL;
        by_id.sort_by_key(|e| e.as_str());
        let mut by_name = Exchange::ALL;
        by_name.sort_by_key(|e| exchange_name(*e));
        assert_eq!(by_id, by_name);
    }

    #[test]
    fn symbols_round_trip() {
        assert_eq!(symbol_name("BTC/USDT"), "BTC_USDT");
        assert_eq!(parse_symbol("btc-usdt").as_deref(), Some("BTC_USDT"));
        assert_eq!(parse_symbol("BTC/USDT").as_deref(), Some("BTC_USDT"));
        assert_eq!(parse_symbol("BTC_USDT").as_deref(), Some("BTC_USDT"));
        assert_eq!(parse_symbol("BTCUSDT"), None);
        assert_eq!(parse_symbol("A_B_C"), None);
        assert_eq!(parse_symbol("_USDT"), None);
    }
}
