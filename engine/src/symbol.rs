//! The symbol registry: maps each venue's native symbol to one interned `BASE/QUOTE` id.
//!
//! Built once at start-up (from REST discovery, a capture header or the generator) and
//! read-only afterwards. Lookups hash the borrowed native text and never allocate.

use rustc_hash::FxHashMap;

use crate::event::{Exchange, SymbolId};

/// Errors raised while building a registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SymbolError {
    /// A native symbol was registered twice for one venue with different assets.
    #[error("{exchange} symbol {native:?} already maps to {existing}, not {new}")]
    Conflict {
        /// Venue.
        exchange: Exchange,
        /// Native symbol.
        native: String,
        /// Name it already maps to.
        existing: String,
        /// Name that was attempted.
        new: String,
    },
    /// Base or quote asset is empty or contains a character outside `[A-Z0-9]`.
    #[error("invalid asset name in {0:?}")]
    InvalidAsset(String),
    /// More symbols than `u32` ids.
    #[error("too many symbols")]
    Full,
}

#[derive(Debug, Clone)]
struct SymbolInfo {
    name: Box<str>,
    base_len: usize,
    /// Native spelling per venue; `None` where the venue does not list it.
    native: [Option<Box<str>>; Exchange::COUNT],
}

/// Interned symbols and the per-venue native-name index.
#[derive(Debug, Clone, Default)]
pub struct SymbolRegistry {
    /// Indexed by `SymbolId`.
    symbols: Vec<SymbolInfo>,
    by_name: FxHashMap<Box<str>, SymbolId>,
    /// One index per venue, native text → id.
    by_native: [FxHashMap<Box<str>, SymbolId>; Exchange::COUNT],
}

impl SymbolRegistry {
    /// Creates an empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `native` on `exchange` as `base/quote` and returns the interned id,
    /// reusing the id when another venue already listed the same pair.
    ///
    /// # Errors
    /// [`SymbolError::Conflict`] when `native` was already registered for `exchange` as a
    /// different pair; [`SymbolError::InvalidAsset`] for empty or non-alphanumeric assets.
    pub fn insert(
        &mut self,
        exchange: Exchange,
        native: &str,
        base: &str,
        quote: &str,
    ) -> Result<SymbolId, SymbolError> {
        let valid = |a: &str| !a.is_empty() && a.bytes().all(|c| c.is_ascii_alphanumeric());
        if !valid(base) || !valid(quote) {
            return Err(SymbolError::InvalidAsset(format!("{base}/{quote}")));
        }
        let name = format!(
            "{}/{}",
            base.to_ascii_uppercase(),
            quote.to_ascii_uppercase()
        );
        if let Some(&existing) = self.by_native[exchange.index()].get(native) {
            let existing_name = self.name(existing);
            if existing_name == name {
                return Ok(existing);
            }
            return Err(SymbolError::Conflict {
                exchange,
                native: native.to_owned(),
                existing: existing_name.to_owned(),
                new: name,
            });
        }
        let id = match self.by_name.get(name.as_str()) {
            Some(&id) => id,
            None => {
                let id =
                    SymbolId(u32::try_from(self.symbols.len()).map_err(|_| SymbolError::Full)?);
                self.symbols.push(SymbolInfo {
                    name: name.clone().into_boxed_str(),
                    base_len: base.len(),
                    native: Default::default(),
                });
                self.by_name.insert(name.into_boxed_str(), id);
                id
            }
        };
        self.symbols[id.index()].native[exchange.index()] = Some(native.into());
        self.by_native[exchange.index()].insert(native.into(), id);
        Ok(id)
    }

    /// Returns the id of a venue's native symbol.
    ///
    /// # Hot path
    /// Allocates never; syscalls none; may block no.
    #[inline]
    pub fn lookup(&self, exchange: Exchange, native: &str) -> Option<SymbolId> {
        self.by_native[exchange.index()].get(native).copied()
    }

    /// Returns the id of a normalised `BASE/QUOTE` name.
    pub fn lookup_name(&self, name: &str) -> Option<SymbolId> {
        self.by_name.get(name).copied()
    }

    /// Returns the normalised `BASE/QUOTE` name.
    ///
    /// # Panics
    /// If `id` was not issued by this registry.
    pub fn name(&self, id: SymbolId) -> &str {
        &self.symbols[id.index()].name
    }

    /// Returns the base asset.
    pub fn base(&self, id: SymbolId) -> &str {
        let s = &self.symbols[id.index()];
        &s.name[..s.base_len]
    }

    /// Returns the quote asset.
    pub fn quote(&self, id: SymbolId) -> &str {
        let s = &self.symbols[id.index()];
        &s.name[s.base_len + 1..]
    }

    /// Returns the venue's native spelling, if the venue lists the symbol.
    pub fn native(&self, id: SymbolId, exchange: Exchange) -> Option<&str> {
        self.symbols[id.index()].native[exchange.index()].as_deref()
    }

    /// Returns the venues listing the symbol.
    pub fn venues(&self, id: SymbolId) -> impl Iterator<Item = Exchange> + '_ {
        Exchange::ALL
            .into_iter()
            .filter(move |ex| self.symbols[id.index()].native[ex.index()].is_some())
    }

    /// Returns the number of interned symbols; ids are `0 .. len()`.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    /// Returns `true` when no symbol is registered.
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// Returns every `(exchange, native, base, quote)` listing, in id then venue order.
    pub fn listings(&self) -> impl Iterator<Item = (Exchange, &str, &str, &str)> + '_ {
        (0..self.symbols.len()).flat_map(move |i| {
            let id = SymbolId(i as u32);
            Exchange::ALL.into_iter().filter_map(move |ex| {
                self.native(id, ex)
                    .map(|n| (ex, n, self.base(id), self.quote(id)))
            })
        })
    }
}

/// Quote assets recognised when a native symbol has no separator, longest first so that
/// `USDC` wins over `USD` and `FDUSD` over `USD`.
pub const KNOWN_QUOTES: &[&str] = &[
    "FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USDE", "USD1", "EURI", "USD", "EUR", "TRY", "BRL",
    "BTC", "ETH", "BNB", "DAI", "SOL", "TRX", "XRP", "DOGE", "JPY", "GBP", "AUD", "MX",
];

/// Splits a native symbol into `(base, quote)` without a registry: on `-`, `_` or `/`
/// when present, otherwise by the longest known quote-asset suffix ([`KNOWN_QUOTES`]).
///
/// This is a best effort for tools (`arb decode`); the live path uses the registry built
/// from each venue's REST symbol list, which never guesses.
pub fn split_native(native: &str) -> Option<(&str, &str)> {
    if let Some(pos) = native.find(['-', '_', '/']) {
        let (b, q) = (&native[..pos], &native[pos + 1..]);
        return (!b.is_empty() && !q.is_empty()).then_some((b, q));
    }
    KNOWN_QUOTES
        .iter()
        .filter(|q| native.len() > q.len() && native.ends_with(*q))
        .max_by_key(|q| q.len())
        .map(|q| native.split_at(native.len() - q.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_pair_on_two_venues_shares_an_id() {
        let mut r = SymbolRegistry::new();
        let a = r
            .insert(Exchange::Binance, "BTCUSDT", "BTC", "USDT")
            .unwrap();
        let b = r
            .insert(Exchange::Gateio, "BTC_USDT", "BTC", "USDT")
            .unwrap();
        let c = r.insert(Exchange::Binance, "ETHBTC", "ETH", "BTC").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(r.len(), 2);
        assert_eq!(r.base(c), "ETH");
        assert_eq!(r.quote(c), "BTC");
        assert_eq!(r.native(a, Exchange::Gateio), Some("BTC_USDT"));
        assert_eq!(
            r.venues(a).collect::<Vec<_>>(),
            vec![Exchange::Binance, Exchange::Gateio]
        );
        assert_eq!(r.lookup(Exchange::Okx, "BTC-USDT"), None);
        assert_eq!(r.listings().count(), 3);
    }

    #[test]
    fn conflicting_native_is_an_error() {
        let mut r = SymbolRegistry::new();
        r.insert(Exchange::Bybit, "ABCUSDT", "ABC", "USDT").unwrap();
        assert_eq!(
            r.insert(Exchange::Bybit, "ABCUSDT", "ABC", "USDT"),
            Ok(SymbolId(0))
        );
        assert!(matches!(
            r.insert(Exchange::Bybit, "ABCUSDT", "AB", "CUSDT"),
            Err(SymbolError::Conflict { .. })
        ));
        assert!(matches!(
            r.insert(Exchange::Bybit, "X", "", "USDT"),
            Err(SymbolError::InvalidAsset(_))
        ));
    }

    #[test]
    fn split_native_handles_separators_and_suffixes() {
        assert_eq!(split_native("BTC-USDT"), Some(("BTC", "USDT")));
        assert_eq!(split_native("QTUM3S_USDT"), Some(("QTUM3S", "USDT")));
        assert_eq!(split_native("BTCUSDC"), Some(("BTC", "USDC")));
        assert_eq!(split_native("BTCFDUSD"), Some(("BTC", "FDUSD")));
        assert_eq!(split_native("LRCBTC"), Some(("LRC", "BTC")));
        assert_eq!(split_native("1000SATSUSDT"), Some(("1000SATS", "USDT")));
        assert_eq!(split_native("USDT"), None);
        assert_eq!(split_native("-USDT"), None);
    }
}
