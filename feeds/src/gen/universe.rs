//! The generator's symbol universe: real base assets first, then synthetic names, all
//! quoted in USDT, with a start price, tick and lot size per symbol and each venue's
//! native spelling (`feeds/PROTOCOLS.md` §9).

use arb_engine::{Exchange, SymbolError, SymbolRegistry};

use super::fmt::POW10;
use super::rng::mix64;

/// The quote asset of every generated symbol.
pub(crate) const QUOTE: &str = "USDT";

/// Real base assets with a plausible price, most traded first.
const REAL: &[(&str, f64)] = &[
    ("BTC", 95_000.0),
    ("ETH", 3_300.0),
    ("SOL", 185.0),
    ("XRP", 2.2),
    ("DOGE", 0.32),
    ("BNB", 690.0),
    ("ADA", 0.95),
    ("TRX", 0.25),
    ("AVAX", 36.0),
    ("LINK", 22.0),
    ("TON", 5.4),
    ("SHIB", 0.000_022),
    ("DOT", 7.1),
    ("LTC", 105.0),
    ("BCH", 440.0),
    ("NEAR", 5.1),
    ("UNI", 13.5),
    ("PEPE", 0.000_018),
    ("APT", 9.2),
    ("SUI", 4.1),
    ("ICP", 10.2),
    ("ETC", 27.0),
    ("XLM", 0.42),
    ("ATOM", 6.6),
    ("FIL", 5.0),
    ("ARB", 0.76),
    ("OP", 1.9),
    ("INJ", 22.0),
    ("HBAR", 0.28),
    ("AAVE", 310.0),
    ("WIF", 2.1),
    ("FLOKI", 0.000_15),
    ("BONK", 0.000_029),
    ("RENDER", 7.2),
    ("TIA", 5.3),
    ("SEI", 0.45),
    ("JUP", 0.85),
    ("ALGO", 0.38),
    ("VET", 0.045),
    ("MKR", 1_550.0),
];

/// Number of real base assets before synthetic names start.
#[cfg(test)]
pub(crate) const REAL_COUNT: usize = REAL.len();

/// One generated symbol.
#[derive(Debug, Clone)]
pub(crate) struct SymbolSpec {
    /// Base asset (`BTC`, `AAB1`).
    pub(crate) base: Box<str>,
    /// Start price in USDT.
    pub(crate) price0: f64,
    /// Decimals of the price (tick = `10^-px_scale`).
    pub(crate) px_scale: u32,
    /// Decimals of quantities (lot = `10^-qty_scale`).
    pub(crate) qty_scale: u32,
    /// `10^px_scale` as `f64`.
    pub(crate) ticks_per_unit: f64,
    /// Lots worth about 2000 USDT at the start price: the typical quote size.
    pub(crate) typ_lots: u64,
    /// Native symbols per venue (by [`Exchange::index`]).
    pub(crate) native: [Box<str>; Exchange::COUNT],
    /// Binance stream prefix, lower case (`btcusdt`).
    pub(crate) lower: Box<str>,
}

/// Returns `floor(log10(p))` for `p > 0`, by repeated scaling (exact and portable).
fn decade(mut p: f64) -> i32 {
    let mut e = 0;
    while p >= 10.0 {
        p /= 10.0;
        e += 1;
    }
    while p < 1.0 {
        p *= 10.0;
        e -= 1;
    }
    e
}

/// Returns the synthetic base name of index `k`: three letters then `1`, `AAA1`, `AAB1`, …
/// (more letters past 17 576 names).
fn synthetic_name(k: usize) -> String {
    let mut letters = Vec::new();
    let mut v = k;
    for _ in 0..3 {
        letters.push(b'A' + (v % 26) as u8);
        v /= 26;
    }
    while v > 0 {
        letters.push(b'A' + (v % 26) as u8);
        v /= 26;
    }
    letters.reverse();
    let mut s = String::from_utf8(letters).expect("Invariant: ASCII letters");
    s.push('1');
    s
}

/// Returns the start price of synthetic symbol `k`: a decade in `1e-5 .. 1e5` and a mantissa,
/// from a hash of `k` alone, so symbol names and scales do not depend on the seed.
fn synthetic_price(k: usize) -> f64 {
    let h = mix64(0xA5B1_0000 ^ k as u64);
    let exp = (h % 10) as i32 - 5; // -5 ..= 4
    let mantissa = 1.0 + 9.0 * ((h >> 11) as f64 * (1.0 / (1u64 << 53) as f64));
    let mut p = mantissa;
    for _ in 0..exp.abs() {
        if exp > 0 {
            p *= 10.0;
        } else {
            p /= 10.0;
        }
    }
    p
}

impl SymbolSpec {
    fn new(base: &str, price0: f64) -> SymbolSpec {
        let d = decade(price0);
        // About 4-5 significant digits in a price, as venues tick: BTC 0.01, XRP 0.0001.
        let px_scale = (4 - d).clamp(2, 10) as u32;
        // Lots worth 1e-5 .. 1e-4 of the price: BTC 0.00001, ETH 0.0001, DOGE 1.
        let qty_scale = (d + 1).clamp(0, 6) as u32;
        let typ_lots = ((2000.0 / price0) * POW10[qty_scale as usize] as f64).max(1.0) as u64;
        let native = Exchange::ALL.map(|ex| native_name(ex, base).into_boxed_str());
        SymbolSpec {
            base: base.into(),
            price0,
            px_scale,
            qty_scale,
            ticks_per_unit: POW10[px_scale as usize] as f64,
            typ_lots,
            lower: native[Exchange::Binance.index()]
                .to_ascii_lowercase()
                .into(),
            native,
        }
    }

    /// Returns the venue's native symbol.
    #[inline]
    pub(crate) fn native(&self, ex: Exchange) -> &str {
        &self.native[ex.index()]
    }
}

/// Returns the native spelling of `base`/USDT on `ex`.
pub(crate) fn native_name(ex: Exchange, base: &str) -> String {
    match ex {
        Exchange::Binance | Exchange::Bybit | Exchange::Mexc | Exchange::Bitget => {
            format!("{base}{QUOTE}")
        }
        Exchange::Gateio => format!("{base}_{QUOTE}"),
        Exchange::Kucoin | Exchange::Okx | Exchange::Bingx => format!("{base}-{QUOTE}"),
    }
}

/// Builds the first `n` symbols.
pub(crate) fn build(n: usize) -> Vec<SymbolSpec> {
    (0..n)
        .map(|i| match REAL.get(i) {
            Some(&(base, price)) => SymbolSpec::new(base, price),
            None => {
                let k = i - REAL.len();
                SymbolSpec::new(&synthetic_name(k), synthetic_price(k))
            }
        })
        .collect()
}

/// Registers every symbol on every venue in `venues`; symbol `i` gets `SymbolId(i)`.
pub(crate) fn registry(
    symbols: &[SymbolSpec],
    venues: &[Exchange],
) -> Result<SymbolRegistry, SymbolError> {
    let mut reg = SymbolRegistry::new();
    for s in symbols {
        for &ex in venues {
            reg.insert(ex, s.native(ex), &s.base, QUOTE)?;
        }
    }
    Ok(reg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_follow_the_price() {
        let u = build(REAL_COUNT + 2000);
        let btc = &u[0];
        assert_eq!((&*btc.base, btc.px_scale, btc.qty_scale), ("BTC", 2, 5));
        let xrp = &u[3];
        assert_eq!((xrp.px_scale, xrp.qty_scale), (4, 1));
        let shib = &u[11];
        assert_eq!((&*shib.base, shib.px_scale, shib.qty_scale), ("SHIB", 9, 0));
        assert_eq!(&*u[REAL_COUNT].base, "AAA1");
        assert_eq!(&*u[REAL_COUNT + 1].base, "AAB1");
        assert_eq!(&*u[REAL_COUNT + 26].base, "ABA1");
        let (mut lo, mut hi) = (f64::MAX, 0.0f64);
        for s in &u {
            assert!(s.base.bytes().all(|c| c.is_ascii_alphanumeric()));
            assert!(s.price0 > 0.0 && s.price0.is_finite());
            // Every price has at least ~1000 ticks.
            assert!(
                s.price0 * s.ticks_per_unit >= 1000.0,
                "{} {}",
                s.base,
                s.price0
            );
            assert!(s.typ_lots >= 1);
            lo = lo.min(s.price0);
            hi = hi.max(s.price0);
        }
        assert!(lo < 1e-4 && hi > 1e4, "{lo} {hi}");
    }

    #[test]
    fn synthetic_names_stay_unique() {
        let mut names: Vec<String> = (0..30_000).map(synthetic_name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 30_000);
        assert_eq!(synthetic_name(17_576), "BAAA1");
    }

    #[test]
    fn natives_per_venue() {
        let u = build(1);
        let s = &u[0];
        assert_eq!(s.native(Exchange::Binance), "BTCUSDT");
        assert_eq!(s.native(Exchange::Gateio), "BTC_USDT");
        assert_eq!(s.native(Exchange::Okx), "BTC-USDT");
        assert_eq!(&*s.lower, "btcusdt");
        let reg = registry(&u, &Exchange::ALL).unwrap();
        assert_eq!(reg.len(), 1);
        assert_eq!(reg.listings().count(), 8);
    }
}
