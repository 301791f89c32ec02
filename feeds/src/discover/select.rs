//! Universe selection: from every venue's listings to the symbols arb watches, the
//! registry that names them, and a report of what each filter stage kept.
//!
//! Deterministic: the same listings give the same selection, registry ids included,
//! whatever the order of the venues in the input.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use arb_engine::{Exchange, SymbolRegistry};

use super::{Listing, VenueListings};

/// What [`select`] keeps. Stages apply in field order; a venue's bounds apply to its own
/// 24 h quote volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Quote assets to keep (upper case; compared case-insensitively). Empty keeps all.
    pub quote_assets: Vec<String>,
    /// Keep a pair only when at least this many venues list it (after the other stages).
    pub min_venues: usize,
    /// Per venue (by [`Exchange::index`]): drop listings with less 24 h quote volume.
    /// A listing without a known volume fails any bound that is set.
    pub min_quote_volume: [Option<f64>; Exchange::COUNT],
    /// Per venue: drop listings with more 24 h quote volume.
    pub max_quote_volume: [Option<f64>; Exchange::COUNT],
    /// Keep at most this many pairs: those with the largest 24 h quote volume summed over
    /// the venues that kept them (ties by name).
    pub max_symbols: Option<usize>,
}

impl Default for Filter {
    /// USDT and USDC quotes, at least 2 venues, no volume bounds, no cap.
    fn default() -> Self {
        Self {
            quote_assets: vec!["USDT".to_owned(), "USDC".to_owned()],
            min_venues: 2,
            min_quote_volume: [None; Exchange::COUNT],
            max_quote_volume: [None; Exchange::COUNT],
            max_symbols: None,
        }
    }
}

impl Filter {
    /// Sets the same minimum 24 h quote volume on every venue.
    pub fn with_min_quote_volume(mut self, min: f64) -> Self {
        self.min_quote_volume = [Some(min); Exchange::COUNT];
        self
    }

    /// Sets the same maximum 24 h quote volume on every venue.
    pub fn with_max_quote_volume(mut self, max: f64) -> Self {
        self.max_quote_volume = [Some(max); Exchange::COUNT];
        self
    }

    fn volume_ok(&self, ex: Exchange, volume: Option<f64>) -> bool {
        let (min, max) = (
            self.min_quote_volume[ex.index()],
            self.max_quote_volume[ex.index()],
        );
        match volume {
            Some(v) => min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m),
            None => min.is_none() && max.is_none(),
        }
    }
}

/// How many listings of one venue survived each stage of [`select`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VenueReport {
    /// The venue was in the input (its discovery succeeded).
    pub discovered: bool,
    /// Rows skipped while parsing the symbol list and tickers.
    pub skipped_rows: usize,
    /// Distinct symbols listed.
    pub listed: usize,
    /// … of which trade.
    pub trading: usize,
    /// … of which have a wanted quote asset.
    pub quote_ok: usize,
    /// … of which sit in the venue's volume range.
    pub volume_ok: usize,
    /// … of which are listed on at least `min_venues` venues.
    pub multi_venue_ok: usize,
    /// … of which made the `max_symbols` cut: the venue's symbols in the selection.
    pub kept: usize,
}

/// Per-venue stage counts of one [`select`] run; `Display` prints one line per venue for
/// the start-up log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectionReport {
    /// Indexed by [`Exchange::index`].
    pub venues: [VenueReport; Exchange::COUNT],
    /// Pairs selected (registry size).
    pub symbols: usize,
}

impl fmt::Display for SelectionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let venues = self.venues.iter().filter(|v| v.discovered).count();
        write!(
            f,
            "symbol discovery: {} pairs kept from {venues} of {} venues",
            self.symbols,
            Exchange::COUNT
        )?;
        for ex in Exchange::ALL {
            let v = &self.venues[ex.index()];
            if v.discovered {
                write!(
                    f,
                    "\n  {:<8} listed {:>5}  trading {:>5}  quote {:>5}  volume {:>5}  multi-venue {:>5}  kept {:>5}",
                    ex.as_str(),
                    v.listed,
                    v.trading,
                    v.quote_ok,
                    v.volume_ok,
                    v.multi_venue_ok,
                    v.kept
                )?;
                if v.skipped_rows > 0 {
                    write!(f, "  ({} malformed rows skipped)", v.skipped_rows)?;
                }
            } else {
                write!(f, "\n  {:<8} not discovered", ex.as_str())?;
            }
        }
        Ok(())
    }
}

/// `(price_step, qty_step)` of a listing, each `None` when the venue does not give it.
pub type Steps = (Option<f64>, Option<f64>);

/// The universe arb watches.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Every kept listing, `BASE/QUOTE` ids issued by summed volume (largest first, ties
    /// by name), venues in [`Exchange::ALL`] order.
    pub registry: SymbolRegistry,
    /// Per venue (by [`Exchange::index`]): kept native symbols, largest 24 h quote volume
    /// first (unknown volumes last, ties by native).
    pub natives: [Vec<String>; Exchange::COUNT],
    /// Per venue: `(price_step, qty_step)` of each kept native symbol.
    pub steps: [BTreeMap<String, Steps>; Exchange::COUNT],
    /// Stage counts.
    pub report: SelectionReport,
}

impl Selection {
    /// Returns `(price_step, qty_step)` of a kept symbol.
    pub fn steps_of(&self, ex: Exchange, native: &str) -> Option<Steps> {
        self.steps[ex.index()].get(native).copied()
    }
}

/// Added and removed native symbols of one venue between two selections (sorted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VenueDiff {
    /// In the new selection only.
    pub added: Vec<String>,
    /// In the old selection only.
    pub removed: Vec<String>,
}

impl VenueDiff {
    /// Returns `true` when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Compares two selections venue by venue, for a periodic refresh: which natives to
/// subscribe to and which to drop.
pub fn diff(old: &Selection, new: &Selection) -> [VenueDiff; Exchange::COUNT] {
    std::array::from_fn(|i| {
        let o: BTreeSet<&str> = old.natives[i].iter().map(String::as_str).collect();
        let n: BTreeSet<&str> = new.natives[i].iter().map(String::as_str).collect();
        VenueDiff {
            added: n.difference(&o).map(|s| (*s).to_owned()).collect(),
            removed: o.difference(&n).map(|s| (*s).to_owned()).collect(),
        }
    })
}

/// Descending by volume, unknown last; `total_cmp` keeps it a total order.
fn by_volume_desc(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn valid_asset(a: &str) -> bool {
    !a.is_empty() && a.bytes().all(|c| c.is_ascii_alphanumeric())
}

/// Selects the universe from the venues that were discovered (a venue absent from
/// `venues` simply contributes nothing; if a venue appears twice, its first entry counts).
///
/// Stages, per listing: trading → quote asset in [`Filter::quote_assets`] (and asset names
/// usable by the registry) → 24 h quote volume within the venue's bounds → the pair
/// (`BASE/QUOTE`) passes on at least [`Filter::min_venues`] venues → the pair is among the
/// [`Filter::max_symbols`] largest by summed volume. Where one venue lists the same pair
/// under two natives, the one with more volume (then the smaller native) stands for it.
pub fn select(venues: &[VenueListings], filter: &Filter) -> Selection {
    let mut report = SelectionReport::default();
    let quotes: BTreeSet<String> = filter
        .quote_assets
        .iter()
        .map(|q| q.to_ascii_uppercase())
        .collect();

    // Per venue, the first entry; per venue and native, the first listing.
    let mut per_venue: [Option<BTreeMap<&str, &Listing>>; Exchange::COUNT] = Default::default();
    for v in venues {
        let slot = &mut per_venue[v.exchange.index()];
        if slot.is_some() {
            continue;
        }
        let mut by_native = BTreeMap::new();
        for l in &v.listings {
            by_native.entry(l.native.as_str()).or_insert(l);
        }
        let r = &mut report.venues[v.exchange.index()];
        r.discovered = true;
        r.skipped_rows = v.symbol_skipped + v.ticker_skipped;
        *slot = Some(by_native);
    }

    // Stages 1–3 per venue; then one listing per (venue, pair).
    // pair name → per venue the standing listing.
    let mut pairs: BTreeMap<String, [Option<&Listing>; Exchange::COUNT]> = BTreeMap::new();
    for ex in Exchange::ALL {
        let Some(by_native) = &per_venue[ex.index()] else {
            continue;
        };
        let r = &mut report.venues[ex.index()];
        r.listed = by_native.len();
        for l in by_native.values() {
            if !l.trading {
                continue;
            }
            r.trading += 1;
            let base = l.base.to_ascii_uppercase();
            let quote = l.quote.to_ascii_uppercase();
            if !valid_asset(&base)
                || !valid_asset(&quote)
                || !(quotes.is_empty() || quotes.contains(&quote))
            {
                continue;
            }
            r.quote_ok += 1;
            if !filter.volume_ok(ex, l.quote_volume_24h) {
                continue;
            }
            r.volume_ok += 1;
            let slot = &mut pairs
                .entry(format!("{base}/{quote}"))
                .or_insert([None; Exchange::COUNT])[ex.index()];
            match slot {
                Some(held)
                    if by_volume_desc(held.quote_volume_24h, l.quote_volume_24h)
                        .then_with(|| held.native.cmp(&l.native))
                        .is_le() => {}
                _ => *slot = Some(l),
            }
        }
    }

    // Stage 4: enough venues. Stage 5: the largest pairs by summed volume.
    let mut ranked: Vec<(&String, f64, &[Option<&Listing>; Exchange::COUNT])> = pairs
        .iter()
        .filter(|(_, on)| on.iter().flatten().count() >= filter.min_venues)
        .map(|(name, on)| {
            let sum = on.iter().flatten().filter_map(|l| l.quote_volume_24h).sum();
            (name, sum, on)
        })
        .collect();
    for (_, _, on) in &ranked {
        for l in on.iter().flatten() {
            report.venues[l.exchange.index()].multi_venue_ok += 1;
        }
    }
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    if let Some(max) = filter.max_symbols {
        ranked.truncate(max);
    }

    let mut sel = Selection::default();
    let mut kept: [Vec<&Listing>; Exchange::COUNT] = Default::default();
    for (_, _, on) in &ranked {
        for l in on.iter().flatten() {
            if let Err(e) = sel
                .registry
                .insert(l.exchange, &l.native, &l.base, &l.quote)
            {
                // Unreachable with validated assets and one native per venue and pair.
                tracing::warn!(venue = l.exchange.as_str(), native = l.native, error = %e, "symbol not registered");
                continue;
            }
            kept[l.exchange.index()].push(l);
        }
    }
    for ex in Exchange::ALL {
        let list = &mut kept[ex.index()];
        list.sort_by(|a, b| {
            by_volume_desc(a.quote_volume_24h, b.quote_volume_24h)
                .then_with(|| a.native.cmp(&b.native))
        });
        report.venues[ex.index()].kept = list.len();
        sel.natives[ex.index()] = list.iter().map(|l| l.native.clone()).collect();
        sel.steps[ex.index()] = list
            .iter()
            .map(|l| (l.native.clone(), (l.price_step, l.qty_step)))
            .collect();
    }
    report.symbols = sel.registry.len();
    sel.report = report;
    sel
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(ex: Exchange, native: &str, base: &str, quote: &str, vol: Option<f64>) -> Listing {
        Listing {
            exchange: ex,
            native: native.to_owned(),
            base: base.to_owned(),
            quote: quote.to_owned(),
            trading: true,
            quote_volume_24h: vol,
            price_step: Some(0.01),
            qty_step: Some(0.001),
        }
    }

    fn venue(ex: Exchange, listings: Vec<Listing>) -> VenueListings {
        VenueListings {
            exchange: ex,
            listings,
            symbol_rows: 0,
            symbol_skipped: 0,
            ticker_rows: 0,
            ticker_skipped: 0,
        }
    }

    /// Binance, OKX and Gate with overlapping pairs.
    fn universe() -> Vec<VenueListings> {
        use Exchange::*;
        let mut halted = l(Binance, "XRPUSDT", "XRP", "USDT", Some(9e9));
        halted.trading = false;
        vec![
            venue(
                Binance,
                vec![
                    l(Binance, "BTCUSDT", "BTC", "USDT", Some(1000.0)),
                    l(Binance, "ETHUSDT", "ETH", "USDT", Some(500.0)),
                    l(Binance, "ETHBTC", "ETH", "BTC", Some(50.0)),
                    l(Binance, "SOLUSDC", "SOL", "USDC", Some(20.0)),
                    l(Binance, "ONLYUSDT", "ONLY", "USDT", Some(1e6)),
                    halted,
                ],
            ),
            venue(
                Okx,
                vec![
                    l(Okx, "BTC-USDT", "BTC", "USDT", Some(800.0)),
                    l(Okx, "ETH-USDT", "ETH", "USDT", Some(100.0)),
                    l(Okx, "ETH-BTC", "ETH", "BTC", Some(40.0)),
                    l(Okx, "SOL-USDC", "SOL", "USDC", None),
                    l(Okx, "XRP-USDT", "XRP", "USDT", Some(1.0)),
                ],
            ),
            venue(
                Gateio,
                vec![
                    l(Gateio, "BTC_USDT", "BTC", "USDT", Some(300.0)),
                    l(Gateio, "SOL_USDC", "SOL", "USDC", Some(10.0)),
                    l(Gateio, "XRP_USDT", "XRP", "USDT", Some(2.0)),
                ],
            ),
        ]
    }

    fn names(sel: &Selection) -> Vec<String> {
        (0..sel.registry.len())
            .map(|i| {
                let id = arb_engine::SymbolId(i as u32);
                sel.registry.name(id).to_owned()
            })
            .collect()
    }

    #[test]
    fn default_filter_keeps_usd_stable_pairs_on_two_venues() {
        let sel = select(&universe(), &Filter::default());
        // BTC 2100, ETH 600, SOL 30, XRP 3 (halted on Binance: only OKX and Gate).
        assert_eq!(
            names(&sel),
            ["BTC/USDT", "ETH/USDT", "SOL/USDC", "XRP/USDT"]
        );
        assert_eq!(
            sel.natives[Exchange::Binance.index()],
            ["BTCUSDT", "ETHUSDT", "SOLUSDC"]
        );
        assert_eq!(
            sel.natives[Exchange::Okx.index()],
            ["BTC-USDT", "ETH-USDT", "XRP-USDT", "SOL-USDC"],
            "unknown volume last"
        );
        let b = sel.report.venues[Exchange::Binance.index()];
        assert_eq!(
            (
                b.discovered,
                b.listed,
                b.trading,
                b.quote_ok,
                b.volume_ok,
                b.multi_venue_ok,
                b.kept
            ),
            (true, 6, 5, 4, 4, 3, 3)
        );
        assert!(!sel.report.venues[Exchange::Mexc.index()].discovered);
        assert_eq!(sel.report.symbols, 4);
        assert_eq!(
            sel.steps_of(Exchange::Gateio, "BTC_USDT"),
            Some((Some(0.01), Some(0.001)))
        );
        assert_eq!(sel.steps_of(Exchange::Binance, "ONLYUSDT"), None);
        let btc = sel.registry.lookup(Exchange::Okx, "BTC-USDT").unwrap();
        assert_eq!(sel.registry.native(btc, Exchange::Gateio), Some("BTC_USDT"));
    }

    #[test]
    fn min_venues_and_quote_assets() {
        let f = Filter {
            min_venues: 3,
            ..Filter::default()
        };
        assert_eq!(names(&select(&universe(), &f)), ["BTC/USDT", "SOL/USDC"]);
        let f = Filter {
            min_venues: 1,
            quote_assets: vec!["btc".to_owned()],
            ..Filter::default()
        };
        let sel = select(&universe(), &f);
        assert_eq!(names(&sel), ["ETH/BTC"]);
        assert_eq!(sel.natives[Exchange::Okx.index()], ["ETH-BTC"]);
        let f = Filter {
            min_venues: 1,
            quote_assets: Vec::new(),
            ..Filter::default()
        };
        assert_eq!(
            select(&universe(), &f).report.symbols,
            6,
            "empty keeps all quotes"
        );
    }

    #[test]
    fn volume_range_per_venue() {
        // At least 15 everywhere: SOL fails on OKX (unknown) and Gate (10); XRP everywhere.
        let sel = select(&universe(), &Filter::default().with_min_quote_volume(15.0));
        assert_eq!(names(&sel), ["BTC/USDT", "ETH/USDT"]);
        let okx = sel.report.venues[Exchange::Okx.index()];
        assert_eq!((okx.quote_ok, okx.volume_ok, okx.kept), (4, 2, 2));
        // At most 900 on Binance only: Binance BTC (1000) drops, BTC stays on OKX and Gate.
        let mut f = Filter::default();
        f.max_quote_volume[Exchange::Binance.index()] = Some(900.0);
        let sel = select(&universe(), &f);
        assert_eq!(
            sel.natives[Exchange::Binance.index()],
            ["ETHUSDT", "SOLUSDC"]
        );
        assert!(sel.registry.lookup(Exchange::Okx, "BTC-USDT").is_some());
        // An upper bound also drops unknown volumes.
        let sel = select(&universe(), &Filter::default().with_max_quote_volume(1e12));
        assert!(sel.registry.lookup(Exchange::Okx, "SOL-USDC").is_none());
    }

    #[test]
    fn max_symbols_keeps_largest_summed_volume() {
        let f = Filter {
            max_symbols: Some(2),
            ..Filter::default()
        };
        let sel = select(&universe(), &f);
        assert_eq!(names(&sel), ["BTC/USDT", "ETH/USDT"]);
        let g = sel.report.venues[Exchange::Gateio.index()];
        assert_eq!((g.multi_venue_ok, g.kept), (3, 1));
        assert_eq!(
            select(
                &universe(),
                &Filter {
                    max_symbols: Some(0),
                    ..Filter::default()
                }
            )
            .report
            .symbols,
            0
        );
    }

    #[test]
    fn deterministic_whatever_the_input_order() {
        let a = select(&universe(), &Filter::default());
        let mut shuffled = universe();
        shuffled.reverse();
        for v in &mut shuffled {
            v.listings.reverse();
        }
        let b = select(&shuffled, &Filter::default());
        assert_eq!(names(&a), names(&b));
        assert_eq!(a.natives, b.natives);
        assert_eq!(a.steps, b.steps);
        assert_eq!(a.report, b.report);
        assert_eq!(
            a.registry.listings().collect::<Vec<_>>(),
            b.registry.listings().collect::<Vec<_>>()
        );
        assert!(diff(&a, &b).iter().all(VenueDiff::is_empty));
    }

    #[test]
    fn duplicates_and_bad_assets() {
        use Exchange::*;
        let venues = vec![
            venue(
                Binance,
                vec![
                    l(Binance, "BTCUSDT", "BTC", "USDT", Some(1.0)),
                    l(Binance, "BTCUSDT", "BTC", "USDT", Some(99.0)),
                    // Same pair under a second native: the larger volume stands for it.
                    l(Binance, "BTCUSDT2", "btc", "usdt", Some(5.0)),
                    l(Binance, "W$USDT", "W$", "USDT", Some(5.0)),
                ],
            ),
            venue(
                Binance,
                vec![l(Binance, "ETHUSDT", "ETH", "USDT", Some(1.0))],
            ),
            venue(Bybit, vec![l(Bybit, "BTCUSDT", "BTC", "USDT", Some(1.0))]),
        ];
        let sel = select(&venues, &Filter::default());
        assert_eq!(names(&sel), ["BTC/USDT"]);
        assert_eq!(sel.natives[Binance.index()], ["BTCUSDT2"]);
        let b = sel.report.venues[Binance.index()];
        assert_eq!(
            (
                b.listed,
                b.trading,
                b.quote_ok,
                b.volume_ok,
                b.multi_venue_ok
            ),
            (3, 3, 2, 2, 1)
        );
    }

    #[test]
    fn no_venues_no_symbols() {
        let sel = select(&[], &Filter::default());
        assert!(sel.registry.is_empty());
        assert!(sel.report.venues.iter().all(|v| !v.discovered));
        let text = sel.report.to_string();
        assert!(text.contains("0 pairs kept from 0 of 8 venues"), "{text}");
    }

    #[test]
    fn diff_lists_added_and_removed() {
        let old = select(&universe(), &Filter::default());
        let new = select(
            &universe(),
            &Filter {
                min_venues: 3,
                ..Filter::default()
            },
        );
        let d = diff(&old, &new);
        assert_eq!(d[Exchange::Okx.index()].removed, ["ETH-USDT", "XRP-USDT"]);
        assert!(d[Exchange::Okx.index()].added.is_empty());
        let back = diff(&new, &old);
        assert_eq!(back[Exchange::Okx.index()].added, ["ETH-USDT", "XRP-USDT"]);
        assert!(back[Exchange::Mexc.index()].is_empty());
    }

    #[test]
    fn report_prints_one_line_per_venue() {
        let sel = select(&universe(), &Filter::default());
        let text = sel.report.to_string();
        assert!(
            text.starts_with("symbol discovery: 4 pairs kept from 3 of 8 venues"),
            "{text}"
        );
        assert!(
            text.contains("binance  listed     6  trading     5  quote     4  volume     4  multi-venue     3  kept     3"),
            "{text}"
        );
        assert!(text.contains("mexc     not discovered"), "{text}");
        assert_eq!(text.lines().count(), 9);
    }
}
