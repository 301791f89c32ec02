//! Pair history from the store: the as-of join of two venues' bids into the deviation
//! series, the chart object (deviation with the live 97 % / 3 % bands) that `arb query`
//! prints and the HTTP history endpoint serves, and the time arguments both accept.
//!
//! # The join
//! Pair `(1, 2)` with venue 1 the alphabetically first written name. The two venues' quotes
//! are merged by `Timestamp`; on equal timestamps venue 2's tick comes first (the live
//! core's order, `arb_engine::pairs::merge_raw`). At every tick of either venue, the other
//! venue's latest tick counts if it is at most [`ASOF_TOLERANCE_NS`] older (exactly 2 s
//! joins, 2 s + 1 ns does not); the point is stamped with the tick's time and its deviation
//! is `(bid_1 / bid_2 - 1) * 100`. Points whose deviation is not finite (a zero bid) are
//! left out.
//!
//! # The chart object
//! One JSON object per line, the legacy chart shape:
//! `{"symbol":"BTC_USDT","exchange1":"Binance","exchange2":"OKX","timestamps":[…],
//! "spreads":[…],"upperBand":[…],"lowerBand":[…]}` with timestamps in epoch seconds with a
//! millisecond fraction and bands from [`arb_engine::pairs::percentile_bands`] over the
//! trailing [`BAND_TRAILING`] points (`null` where a band is undefined).

use std::io::{self, Write};

use arb_engine::Exchange;
use arb_engine::pairs::{BAND_LOWER_Q, BAND_TRAILING, BAND_UPPER_Q, percentile_bands};

use crate::names::exchange_name;
use crate::store::read::{Filter, ReadError, ReadStats, Store, Symbols, TimeRange, read_quotes};
use crate::store::schema::{Kind, civil_from_days, days_from_civil};

/// How much older the other venue's latest tick may be and still join: 2 s.
pub const ASOF_TOLERANCE_NS: i64 = 2_000_000_000;

/// A deviation series: `(bid_1 / bid_2 - 1) * 100` at each joined tick.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deviation {
    /// Tick times, ns since the epoch, non-decreasing.
    pub ts_ns: Vec<i64>,
    /// Deviation in percent at each tick.
    pub dev_pct: Vec<f64>,
}

impl Deviation {
    /// Points in the series.
    pub fn len(&self) -> usize {
        self.ts_ns.len()
    }

    /// Whether the series has no point.
    pub fn is_empty(&self) -> bool {
        self.ts_ns.is_empty()
    }
}

/// As-of joins venue 1's ticks (`ts1`, `bid1`) with venue 2's (`ts2`, `bid2`), both sorted
/// by time, into `out` (cleared first), by the rules in the [module docs](self).
pub fn asof_deviation(
    (ts1, bid1): (&[i64], &[f64]),
    (ts2, bid2): (&[i64], &[f64]),
    tolerance_ns: i64,
    out: &mut Deviation,
) {
    out.ts_ns.clear();
    out.dev_pct.clear();
    let (n1, n2) = (ts1.len().min(bid1.len()), ts2.len().min(bid2.len()));
    let (mut i, mut j) = (0, 0);
    let mut last1: Option<(i64, f64)> = None;
    let mut last2: Option<(i64, f64)> = None;
    while i < n1 || j < n2 {
        // Venue 1 first only when strictly earlier: venue 2 wins ties.
        let take1 = j >= n2 || (i < n1 && ts1[i] < ts2[j]);
        let (t, b1, b2) = if take1 {
            let p = (ts1[i], bid1[i]);
            i += 1;
            last1 = Some(p);
            match last2 {
                Some((t2, b2)) if p.0.saturating_sub(t2) <= tolerance_ns => (p.0, p.1, b2),
                _ => continue,
            }
        } else {
            let p = (ts2[j], bid2[j]);
            j += 1;
            last2 = Some(p);
            match last1 {
                Some((t1, b1)) if p.0.saturating_sub(t1) <= tolerance_ns => (p.0, b1, p.1),
                _ => continue,
            }
        };
        let dev = (b1 / b2 - 1.0) * 100.0;
        if dev.is_finite() {
            out.ts_ns.push(t);
            out.dev_pct.push(dev);
        }
    }
}

/// A pair's deviation with its bands, as the charts draw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chart {
    /// `BTC_USDT`.
    pub symbol: String,
    /// The alphabetically first venue, written form.
    pub exchange1: String,
    /// The other venue.
    pub exchange2: String,
    /// The deviation series.
    pub series: Deviation,
    /// The 97 % band at each point (`NaN` where undefined).
    pub upper_band: Vec<f64>,
    /// The 3 % band at each point.
    pub lower_band: Vec<f64>,
}

impl Chart {
    /// The chart of `series` with the live bands (97 % / 3 % nearest rank over the
    /// trailing 200 points).
    pub fn new(symbol: &str, exchange1: &str, exchange2: &str, series: Deviation) -> Self {
        let (mut scratch, mut upper_band, mut lower_band) = (Vec::new(), Vec::new(), Vec::new());
        percentile_bands(
            &series.dev_pct,
            BAND_TRAILING,
            BAND_UPPER_Q,
            BAND_LOWER_Q,
            &mut scratch,
            &mut upper_band,
            &mut lower_band,
        );
        Self {
            symbol: symbol.to_owned(),
            exchange1: exchange1.to_owned(),
            exchange2: exchange2.to_owned(),
            series,
            upper_band,
            lower_band,
        }
    }

    /// Writes the chart object as one JSON line (newline included).
    pub fn write_json(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(b"{\"symbol\":")?;
        write_json_str(w, &self.symbol)?;
        w.write_all(b",\"exchange1\":")?;
        write_json_str(w, &self.exchange1)?;
        w.write_all(b",\"exchange2\":")?;
        write_json_str(w, &self.exchange2)?;
        w.write_all(b",\"timestamps\":[")?;
        for (k, &t) in self.series.ts_ns.iter().enumerate() {
            if k > 0 {
                w.write_all(b",")?;
            }
            let ms = t.div_euclid(1_000_000);
            write!(w, "{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))?;
        }
        for (key, values) in [
            ("spreads", &self.series.dev_pct),
            ("upperBand", &self.upper_band),
            ("lowerBand", &self.lower_band),
        ] {
            write!(w, "],\"{key}\":[")?;
            for (k, v) in values.iter().enumerate() {
                if k > 0 {
                    w.write_all(b",")?;
                }
                write_json_f64(w, *v)?;
            }
        }
        w.write_all(b"]}\n")
    }
}

/// Writes `v` as a JSON number, `null` if not finite.
pub fn write_json_f64(w: &mut impl Write, v: f64) -> io::Result<()> {
    if v.is_finite() {
        write!(w, "{v}")
    } else {
        w.write_all(b"null")
    }
}

/// Writes `s` as a JSON string.
pub fn write_json_str(w: &mut impl Write, s: &str) -> io::Result<()> {
    w.write_all(b"\"")?;
    for c in s.chars() {
        match c {
            '"' => w.write_all(b"\\\"")?,
            '\\' => w.write_all(b"\\\\")?,
            c if (c as u32) < 0x20 => write!(w, "\\u{:04x}", c as u32)?,
            c => write!(w, "{c}")?,
        }
    }
    w.write_all(b"\"")
}

/// Orders two venues as the pair does: the alphabetically first written name first.
pub fn pair_order(a: Exchange, b: Exchange) -> (Exchange, Exchange) {
    if exchange_name(a) <= exchange_name(b) {
        (a, b)
    } else {
        (b, a)
    }
}

/// Reads the quotes of `symbol` (written form) on venues `a` and `b` in `time` from the
/// store (only the partitions and row groups that can hold them; `Timestamp`, `Symbol`,
/// `Exchange` and `BestBid` only) and returns their chart, counting the read into `stats`.
pub fn pair_chart(
    store: &Store,
    symbol: &str,
    a: Exchange,
    b: Exchange,
    time: TimeRange,
    stats: &ReadStats,
) -> Result<Chart, ReadError> {
    let mut charts = pair_charts(store, &[symbol.to_owned()], &[a, b], time, stats)?;
    Ok(charts.pop().unwrap_or_else(|| {
        let (e1, e2) = pair_order(a, b);
        Chart::new(
            symbol,
            exchange_name(e1),
            exchange_name(e2),
            Deviation::default(),
        )
    }))
}

/// The charts of every symbol in `symbols` (written form) and every pair of distinct
/// venues in `exchanges` (alphabetical pairs), by symbol then pair, from one read of the
/// store. Pairs without a joined point still get an (empty) chart.
pub fn pair_charts(
    store: &Store,
    symbols: &[String],
    exchanges: &[Exchange],
    time: TimeRange,
    stats: &ReadStats,
) -> Result<Vec<Chart>, ReadError> {
    let mut names: Vec<&'static str> = exchanges.iter().map(|e| exchange_name(*e)).collect();
    names.sort_unstable();
    names.dedup();
    let mut syms = symbols.to_vec();
    syms.sort_unstable();
    syms.dedup();
    let files = store.open_files(Kind::Quotes, time, stats)?;
    let filter = Filter::new(time)
        .with_symbols(Symbols::Only(syms.clone()))
        .with_exchanges(names.iter().map(|n| (*n).to_owned()).collect());
    let series = read_quotes(&files, &filter, false, stats)?;
    let empty = (&[][..], &[][..]);
    let mut out = Vec::new();
    for sym in &syms {
        let leg = |name: &str| {
            series
                .iter()
                .find(|s| s.symbol == *sym && s.exchange == name)
                .map_or(empty, |s| (&s.ts_ns[..], &s.bid[..]))
        };
        for (i, n1) in names.iter().enumerate() {
            for n2 in &names[i + 1..] {
                let mut dev = Deviation::default();
                asof_deviation(leg(n1), leg(n2), ASOF_TOLERANCE_NS, &mut dev);
                out.push(Chart::new(sym, n1, n2, dev));
            }
        }
    }
    Ok(out)
}

/// Parses a time argument into ns since the epoch (UTC): RFC 3339 (`2026-12-02T03:00:00Z`,
/// `…+02:00`, fractional seconds), `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.f]]` (UTC; a space
/// also separates date and time), or epoch seconds (`1796180400`, `1796180400.5`).
pub fn parse_time_ns(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let secs: i64 = int.parse().ok()?;
        return secs.checked_mul(1_000_000_000)?.checked_add(frac_ns(frac)?);
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    if civil_from_days(days) != (y, mo as u32, d as u32) {
        return None;
    }
    let mut ns = days.checked_mul(86_400_000_000_000)?;
    let mut rest = &s[10..];
    if rest.is_empty() {
        return Some(ns);
    }
    if !(rest.starts_with('T') || rest.starts_with('t') || rest.starts_with(' ')) {
        return None;
    }
    rest = &rest[1..];
    let rb = rest.as_bytes();
    if rb.len() < 5 || rb[2] != b':' {
        return None;
    }
    let two = |t: &str| -> Option<i64> {
        (t.len() == 2 && t.bytes().all(|c| c.is_ascii_digit())).then(|| t.parse().ok())?
    };
    let (h, mi) = (two(&rest[0..2])?, two(&rest[3..5])?);
    rest = &rest[5..];
    let mut sec = 0;
    let mut frac = 0;
    if let Some(r) = rest.strip_prefix(':') {
        sec = two(r.get(0..2)?)?;
        rest = &r[2..];
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            frac = frac_ns(&r[..end])?;
            rest = &r[end..];
        }
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    ns += (h * 3600 + mi * 60 + sec) * 1_000_000_000 + frac;
    match rest {
        "" | "Z" | "z" => Some(ns),
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let off = &rest[1..];
            let (oh, om) = match off.len() {
                5 if off.as_bytes()[2] == b':' => (two(&off[0..2])?, two(&off[3..5])?),
                4 => (two(&off[0..2])?, two(&off[2..4])?),
                2 => (two(off)?, 0),
                _ => return None,
            };
            Some(ns - sign * (oh * 3600 + om * 60) * 1_000_000_000)
        }
    }
}

/// Digits after a decimal point as nanoseconds (at most 9 digits).
fn frac_ns(frac: &str) -> Option<i64> {
    if frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut ns = 0i64;
    for k in 0..9 {
        let d = frac.as_bytes().get(k).map_or(0, |c| i64::from(c - b'0'));
        ns = ns * 10 + d;
    }
    Some(ns)
}

/// Formats ns since the epoch as RFC 3339 UTC with nanoseconds:
/// `2026-12-02T03:00:00.123456789Z`.
pub fn format_time_ns(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let sub = ns.rem_euclid(1_000_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{sub:09}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// The join by its definition, O(n²): for each tick, scan every tick of the other venue
    /// and keep the latest one that is not after it in merge order.
    fn brute(t1: &[i64], b1: &[f64], t2: &[i64], b2: &[f64], tol: i64) -> Deviation {
        // Merge order key: (time, venue 2 before venue 1, position).
        let mut ticks: Vec<(i64, u8, usize)> = Vec::new();
        ticks.extend((0..t1.len()).map(|i| (t1[i], 1, i)));
        ticks.extend((0..t2.len()).map(|i| (t2[i], 0, i)));
        ticks.sort();
        let mut out = Deviation::default();
        for &(t, v, i) in &ticks {
            let other = ticks
                .iter()
                .filter(|o| o.1 != v && **o < (t, v, i))
                .max()
                .filter(|o| t - o.0 <= tol);
            if let Some(&(_, _, k)) = other {
                let (x1, x2) = if v == 1 {
                    (b1[i], b2[k])
                } else {
                    (b1[k], b2[i])
                };
                out.ts_ns.push(t);
                out.dev_pct.push((x1 / x2 - 1.0) * 100.0);
            }
        }
        out
    }

    fn leg() -> impl Strategy<Value = (Vec<i64>, Vec<f64>)> {
        prop::collection::vec((0i64..8_000_000_000, 90.0f64..110.0), 0..60).prop_map(|mut v| {
            v.sort_by_key(|p| p.0);
            v.into_iter().unzip()
        })
    }

    proptest! {
        #[test]
        fn asof_join_matches_the_brute_force_reference((t1, b1) in leg(), (t2, b2) in leg(),
                                                       tol in prop::sample::select(vec![0i64, 1, 500_000_000, ASOF_TOLERANCE_NS])) {
            let mut got = Deviation::default();
            asof_deviation((&t1, &b1), (&t2, &b2), tol, &mut got);
            prop_assert_eq!(got, brute(&t1, &b1, &t2, &b2, tol));
        }
    }

    #[test]
    fn exactly_two_seconds_joins_and_one_nanosecond_more_does_not() {
        let s = 1_000_000_000;
        let mut d = Deviation::default();
        asof_deviation(
            (&[0], &[101.0]),
            (&[2 * s], &[100.0]),
            ASOF_TOLERANCE_NS,
            &mut d,
        );
        assert_eq!(d.ts_ns, [2 * s]);
        assert!((d.dev_pct[0] - 1.0).abs() < 1e-12);
        asof_deviation(
            (&[0], &[101.0]),
            (&[2 * s + 1], &[100.0]),
            ASOF_TOLERANCE_NS,
            &mut d,
        );
        assert!(d.is_empty());
        // Equal times: venue 2's tick first, so both ticks produce a point.
        asof_deviation((&[5], &[101.0]), (&[5], &[100.0]), 0, &mut d);
        assert_eq!(d.ts_ns, [5]);
        asof_deviation((&[4, 5], &[99.0, 101.0]), (&[5], &[100.0]), 1, &mut d);
        assert_eq!(d.ts_ns, [5, 5]);
        assert_eq!(d.dev_pct[0], (99.0 / 100.0 - 1.0) * 100.0);
        assert_eq!(d.dev_pct[1], (101.0 / 100.0 - 1.0) * 100.0);
    }

    #[test]
    fn chart_bands_are_the_live_bands_and_the_json_has_the_legacy_shape() {
        let n = 450;
        let series = Deviation {
            ts_ns: (0..n)
                .map(|i| 1_796_180_400_000_000_000 + i * 1_234_567)
                .collect(),
            dev_pct: (0..n)
                .map(|i| ((i * 37) % 101) as f64 / 100.0 - 0.5)
                .collect(),
        };
        let chart = Chart::new("BTC_USDT", "Binance", "OKX", series.clone());
        let (mut s, mut up, mut lo) = (Vec::new(), Vec::new(), Vec::new());
        percentile_bands(&series.dev_pct, 200, 0.97, 0.03, &mut s, &mut up, &mut lo);
        assert_eq!(chart.upper_band, up);
        assert_eq!(chart.lower_band, lo);
        let mut out = Vec::new();
        chart.write_json(&mut out).unwrap();
        assert_eq!(out.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["symbol"], "BTC_USDT");
        assert_eq!(v["exchange1"], "Binance");
        assert_eq!(v["exchange2"], "OKX");
        let ts = v["timestamps"].as_array().unwrap();
        assert_eq!(ts.len(), n as usize);
        assert_eq!(ts[1].as_f64().unwrap(), 1_796_180_400.001);
        for (k, key) in ["spreads", "upperBand", "lowerBand"].iter().enumerate() {
            let got: Vec<f64> = v[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            // serde_json's default parser is not correctly rounded: compare to 1e-12.
            let want = [&series.dev_pct, &up, &lo][k];
            assert_eq!(got.len(), want.len(), "{key}");
            for (g, w) in got.iter().zip(want.iter()) {
                assert!((g - w).abs() < 1e-12, "{key}: {g} vs {w}");
            }
        }
        let mut out = Vec::new();
        Chart::new("A_B", "Bybit", "MEXC", Deviation::default())
            .write_json(&mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"symbol\":\"A_B\",\"exchange1\":\"Bybit\",\"exchange2\":\"MEXC\",\
             \"timestamps\":[],\"spreads\":[],\"upperBand\":[],\"lowerBand\":[]}\n"
        );
    }

    #[test]
    fn time_arguments_parse() {
        let t = 1_796_180_400 * 1_000_000_000; // 2026-12-02T03:00:00Z
        assert_eq!(parse_time_ns("2026-12-02T03:00:00Z"), Some(t));
        assert_eq!(parse_time_ns("2026-12-02T03:00"), Some(t));
        assert_eq!(parse_time_ns("2026-12-02 03:00:00"), Some(t));
        assert_eq!(parse_time_ns("2026-12-02T05:00:00+02:00"), Some(t));
        assert_eq!(
            parse_time_ns("2026-12-02T03:00:00.5Z"),
            Some(t + 500_000_000)
        );
        assert_eq!(
            parse_time_ns("2026-12-02"),
            Some(t - 3 * 3600 * 1_000_000_000)
        );
        assert_eq!(parse_time_ns("1796180400"), Some(t));
        assert_eq!(parse_time_ns("1796180400.25"), Some(t + 250_000_000));
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "2026-12-02T3:00",
            "yesterday",
            "1.2.3",
        ] {
            assert_eq!(parse_time_ns(bad), None, "{bad}");
        }
        assert_eq!(format_time_ns(t + 5), "2026-12-02T03:00:00.000000005Z");
        assert_eq!(parse_time_ns(&format_time_ns(t + 5)), Some(t + 5));
    }
}
