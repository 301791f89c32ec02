//! `arb analyze`: the offline pair analyzer over the Parquet store. For every symbol quoted
//! on at least two venues and every venue pair (alphabetical), it joins the two venues'
//! bids as `arb query` does (as of, backward, 2 s) and summarises the deviation: points,
//! duration, max / min / mean, zero crossings and opportunity cycles per threshold, into
//! `summary_stats_<YYYYMMDD_HHMMSS>.csv`.
//!
//! # Definitions (`dev` in percent, `T` a threshold, `N` the neutral zone, 0.05)
//! - **Opportunity cycle**: opens at the first point with `|dev| > T` (either side; a
//!   series that starts above opens at its first point) and completes at the next point
//!   with `|dev| <= N`. Dipping between `N` and `T` does not end it; swinging from one side
//!   to the other without a point inside the neutral zone does not either. A cycle still
//!   open at the end is not counted. Duration: close time - open time.
//! - **Zero crossings**: sign changes between consecutive non-zero points; points exactly
//!   `0` are skipped (`+, 0, -` is one crossing, `+, 0, +` none).
//! - `pct_time_above_*`: percent of points (rows, not time) with `|dev| > T`.
//! - `last_above_*`: whether the last point has `|dev| > T`.
//! - Rates (`*_per_hour`, `*_per_minute`) divide by `duration_hours` (first to last
//!   point); empty when the duration is 0. `avg_cycle_duration_s_*` is empty without a
//!   complete cycle.
//!
//! # Columns
//! `symbol, exchange1, exchange2, data_points, duration_hours, max_deviation,
//! min_deviation, mean_deviation, zero_crossings, zero_crossings_per_hour,
//! zero_crossings_per_minute`, then per threshold `T` (label `round(T * 100)` basis points,
//! three digits: 0.4 % → `040bp`): `opportunity_cycles_040bp, cycles_per_hour_040bp,
//! pct_time_above_040bp, avg_cycle_duration_s_040bp, last_above_040bp`. Rows sorted by
//! `zero_crossings_per_minute`, highest first. Pairs without a joined point are left out.
//!
//! # Memory
//! The symbol space is cut into spans holding about `--chunk-rows` quote rows each (from
//! the row groups' `Symbol` statistics); worker threads take spans one at a time, read
//! only the row groups that can hold them and drop them when done, so memory stays
//! `threads × chunk-rows × 16 bytes`-ish whatever the date range.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use anyhow::Context as _;
use arb_engine::clock;
use arb_io::history::{ASOF_TOLERANCE_NS, Deviation, asof_deviation, format_time_ns};
use arb_io::names::{exchange_name, parse_symbol};
use arb_io::store::read::{
    Filter, ReadError, ReadStats, Store, StoreFile, Symbols, TimeRange, read_quotes,
};
use arb_io::store::schema::{HOUR_NS, Kind, civil_from_days};

use crate::progress::{Totals, with_progress};
use crate::query::parse_exchanges;

/// Arguments of `arb analyze`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  arb analyze --store /data/arb                                # the whole store
  arb analyze --store /data/arb --from 2026-12-01 --to 2026-12-02 --out-dir reports/
  arb analyze --store /data/arb --exchanges binance,okx,gateio --thresholds 0.25,0.4,1

Writes summary_stats_<YYYYMMDD_HHMMSS>.csv (UTC run time) into --out-dir and prints the top \
pairs by zero crossings per minute and by 0.4 % opportunity cycles (the middle threshold \
when 0.4 is not among --thresholds).

Deviation: (bid_1 / bid_2 - 1) * 100 at every quote of either venue against the other \
venue's latest quote at most 2 s older (as arb query). An opportunity cycle opens when \
|dev| rises above a threshold (either side) and completes when |dev| comes back to \
<= --neutral; dipping between the two does not end it, and a cycle still open at the end \
is not counted. Zero crossings are sign changes between consecutive non-zero points.

Times: RFC 3339, YYYY-MM-DD[THH:MM[:SS]] (UTC) or epoch seconds; --to is exclusive. \
Default: everything in the store. Progress (chunks, row groups, rows/s) goes to stderr \
every second.")]
pub(crate) struct AnalyzeArgs {
    /// Store root (the directory holding quotes/).
    #[arg(long, env = "ARB_STORE")]
    store: PathBuf,
    /// Start of the range (included).
    #[arg(long, value_parser = parse_time_arg)]
    from: Option<i64>,
    /// End of the range (excluded).
    #[arg(long, value_parser = parse_time_arg)]
    to: Option<i64>,
    /// Only these venues (comma-separated, any spelling); default all.
    #[arg(long, value_delimiter = ',')]
    exchanges: Vec<String>,
    /// Only these symbols (comma-separated, any spelling); default all.
    #[arg(long, value_delimiter = ',')]
    symbols: Vec<String>,
    /// Opportunity thresholds, |deviation| in percent.
    #[arg(long, value_delimiter = ',', default_values_t = [0.3, 0.4, 0.5])]
    thresholds: Vec<f64>,
    /// Neutral zone: a cycle completes when |deviation| <= this (percent).
    #[arg(long, default_value_t = 0.05)]
    neutral: f64,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Directory for `summary_stats_<stamp>.csv`.
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// Quote rows per symbol span a worker holds at once (memory bound).
    #[arg(long, default_value_t = 4_000_000)]
    chunk_rows: u64,
    /// Pairs printed per top list.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// No progress or summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_time_arg(s: &str) -> Result<i64, String> {
    arb_io::history::parse_time_ns(s).ok_or_else(|| {
        format!("expected RFC 3339, YYYY-MM-DD[THH:MM[:SS]] (UTC) or epoch seconds, got {s:?}")
    })
}

/// One threshold's cycle statistics of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Cycles {
    /// Complete cycles.
    complete: u64,
    /// Points with `|dev| > T`.
    rows_above: u64,
    /// Sum of complete cycles' durations, ns.
    duration_ns: i64,
    /// Whether the last point has `|dev| > T`.
    last_above: bool,
}

/// Counts opportunity cycles of `dev` (times `ts_ns`) for `threshold` and `neutral`, by the
/// rules in the [module docs](self).
fn count_cycles(ts_ns: &[i64], dev: &[f64], threshold: f64, neutral: f64) -> Cycles {
    let mut c = Cycles::default();
    let mut open: Option<i64> = None;
    for (&t, &d) in ts_ns.iter().zip(dev) {
        let a = d.abs();
        if a > threshold {
            c.rows_above += 1;
        }
        match open {
            None if a > threshold => open = Some(t),
            Some(start) if a <= neutral => {
                c.complete += 1;
                c.duration_ns += t - start;
                open = None;
            }
            _ => {}
        }
    }
    c.last_above = dev.last().is_some_and(|d| d.abs() > threshold);
    c
}

/// Sign changes between consecutive non-zero values (exact zeros skipped).
fn zero_crossings(dev: &[f64]) -> u64 {
    let mut last = 0i8;
    let mut n = 0;
    for &d in dev {
        let s = if d > 0.0 {
            1
        } else if d < 0.0 {
            -1
        } else {
            continue;
        };
        if last != 0 && s != last {
            n += 1;
        }
        last = s;
    }
    n
}

/// The summary of one symbol and venue pair.
#[derive(Debug, Clone, PartialEq)]
struct PairStats {
    symbol: String,
    exchange1: String,
    exchange2: String,
    data_points: u64,
    duration_hours: f64,
    max: f64,
    min: f64,
    mean: f64,
    zero_crossings: u64,
    cycles: Vec<Cycles>,
}

impl PairStats {
    /// The summary of `dev`; `None` without a point.
    fn compute(
        (symbol, exchange1, exchange2): (&str, &str, &str),
        dev: &Deviation,
        thresholds: &[f64],
        neutral: f64,
    ) -> Option<Self> {
        let (first, last) = (*dev.ts_ns.first()?, *dev.ts_ns.last()?);
        let v = &dev.dev_pct;
        Some(Self {
            symbol: symbol.to_owned(),
            exchange1: exchange1.to_owned(),
            exchange2: exchange2.to_owned(),
            data_points: v.len() as u64,
            duration_hours: (last - first) as f64 / HOUR_NS as f64,
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            zero_crossings: zero_crossings(v),
            cycles: thresholds
                .iter()
                .map(|&t| count_cycles(&dev.ts_ns, v, t, neutral))
                .collect(),
        })
    }

    /// `n` per hour of the pair's duration; `NaN` when the duration is 0.
    fn per_hour(&self, n: u64) -> f64 {
        if self.duration_hours > 0.0 {
            n as f64 / self.duration_hours
        } else {
            f64::NAN
        }
    }

    fn zero_crossings_per_minute(&self) -> f64 {
        self.per_hour(self.zero_crossings) / 60.0
    }

    fn csv_row(&self) -> String {
        let mut s = format!(
            "{},{},{},{},{},{},{},{},{},{},{}",
            self.symbol,
            self.exchange1,
            self.exchange2,
            self.data_points,
            num(self.duration_hours),
            num(self.max),
            num(self.min),
            num(self.mean),
            self.zero_crossings,
            num(self.per_hour(self.zero_crossings)),
            num(self.zero_crossings_per_minute()),
        );
        for c in &self.cycles {
            let avg = if c.complete > 0 {
                c.duration_ns as f64 / c.complete as f64 / 1e9
            } else {
                f64::NAN
            };
            let pct = 100.0 * c.rows_above as f64 / self.data_points as f64;
            let _ = write!(
                s,
                ",{},{},{},{},{}",
                c.complete,
                num(self.per_hour(c.complete)),
                num(pct),
                num(avg),
                c.last_above
            );
        }
        s
    }
}

/// A CSV number: 6 decimals, trailing zeros trimmed; empty when not finite.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The column label of a threshold: basis points, three digits (`0.4` → `040bp`).
fn threshold_label(t: f64) -> String {
    format!("{:03}bp", (t * 100.0).round() as i64)
}

fn csv_header(thresholds: &[f64]) -> String {
    let mut s = String::from(
        "symbol,exchange1,exchange2,data_points,duration_hours,max_deviation,min_deviation,\
         mean_deviation,zero_crossings,zero_crossings_per_hour,zero_crossings_per_minute",
    );
    for &t in thresholds {
        let l = threshold_label(t);
        let _ = write!(
            s,
            ",opportunity_cycles_{l},cycles_per_hour_{l},pct_time_above_{l},\
             avg_cycle_duration_s_{l},last_above_{l}"
        );
    }
    s
}

/// A span of the symbol space a worker analyzes at once.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chunk {
    symbols: Symbols,
}

/// Cuts the symbol space into spans of about `target_rows` rows, from the row groups'
/// `Symbol` minimums: a cut goes at a row group's minimum once the rows before it reach
/// the target. The spans partition the space whatever the cuts, so every symbol is
/// analyzed exactly once; a row group straddling a cut is read by both spans.
fn plan_chunks(files: &[StoreFile], filter: &Filter, target_rows: u64) -> Vec<Chunk> {
    let mut mins: Vec<(String, u64)> = Vec::new();
    for f in files {
        for rg in f.row_groups_matching(filter) {
            let rows = f.metadata().row_group(rg).num_rows().max(0) as u64;
            let min = f
                .symbol_bounds(rg)
                .map(|(min, _)| String::from_utf8_lossy(min).into_owned())
                .unwrap_or_default();
            mins.push((min, rows));
        }
    }
    mins.sort();
    let mut cuts: Vec<String> = Vec::new();
    let mut acc = 0u64;
    for (min, rows) in mins {
        if acc >= target_rows.max(1) && !min.is_empty() && cuts.last() != Some(&min) {
            cuts.push(min);
            acc = 0;
        }
        acc += rows;
    }
    let mut bounds: Vec<Option<String>> = vec![None];
    bounds.extend(cuts.into_iter().map(Some));
    bounds.push(None);
    bounds
        .windows(2)
        .map(|w| Chunk {
            symbols: Symbols::Span {
                from: w[0].clone(),
                until: w[1].clone(),
            },
        })
        .collect()
}

/// Restricts `base` (time, venues, maybe symbols) to the chunk's span.
fn chunk_filter(base: &Filter, symbol_list: Option<&[String]>, chunk: &Chunk) -> Filter {
    let symbols = match (symbol_list, &chunk.symbols) {
        (Some(list), span) => Symbols::Only(
            list.iter()
                .filter(|s| span.keeps(s))
                .cloned()
                .collect::<Vec<_>>(),
        ),
        (None, span) => span.clone(),
    };
    base.clone().with_symbols(symbols)
}

/// Analyzes one chunk: reads its quotes and summarises every pair of every symbol on at
/// least two venues.
fn analyze_chunk(
    files: &[StoreFile],
    filter: &Filter,
    thresholds: &[f64],
    neutral: f64,
    stats: &ReadStats,
) -> Result<Vec<PairStats>, ReadError> {
    if matches!(&filter.symbols, Symbols::Only(l) if l.is_empty()) {
        return Ok(Vec::new());
    }
    let series = read_quotes(files, filter, false, stats)?;
    let mut out = Vec::new();
    let mut dev = Deviation::default();
    // Series come sorted by (symbol, venue): venues of a symbol are adjacent and
    // alphabetical, so (i, j > i) is the pair order.
    for group in series.chunk_by(|a, b| a.symbol == b.symbol) {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                asof_deviation(
                    (&a.ts_ns, &a.bid),
                    (&b.ts_ns, &b.bid),
                    ASOF_TOLERANCE_NS,
                    &mut dev,
                );
                let names = (a.symbol.as_str(), a.exchange.as_str(), b.exchange.as_str());
                out.extend(PairStats::compute(names, &dev, thresholds, neutral));
            }
        }
    }
    Ok(out)
}

/// `YYYYMMDD_HHMMSS` of ns since the epoch (UTC).
fn file_stamp(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}_{:02}{:02}{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

fn write_csv(path: &Path, thresholds: &[f64], rows: &[PairStats]) -> anyhow::Result<()> {
    let tmp = path.with_extension("csv.tmp");
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    writeln!(w, "{}", csv_header(thresholds))?;
    for r in rows {
        writeln!(w, "{}", r.csv_row())?;
    }
    w.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

fn print_top(title: &str, rows: &[&PairStats], key: usize, label: &str) {
    println!("{title}");
    println!(
        "  {:<16} {:<8} {:<8} {:>10} {:>10} {:>9} {:>9}",
        "symbol",
        "ex1",
        "ex2",
        "zc/min",
        format!("cyc{label}"),
        "points",
        "max|dev|"
    );
    for r in rows {
        println!(
            "  {:<16} {:<8} {:<8} {:>10.3} {:>10} {:>9} {:>9.3}",
            r.symbol,
            r.exchange1,
            r.exchange2,
            r.zero_crossings_per_minute(),
            r.cycles.get(key).map_or(0, |c| c.complete),
            r.data_points,
            r.max.abs().max(r.min.abs()),
        );
    }
}

pub(crate) fn run(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.store.is_dir(),
        "store {} is not a directory",
        args.store.display()
    );
    anyhow::ensure!(
        args.neutral.is_finite() && args.neutral >= 0.0,
        "--neutral must be a non-negative number"
    );
    anyhow::ensure!(!args.thresholds.is_empty(), "--thresholds needs a value");
    for &t in &args.thresholds {
        anyhow::ensure!(
            t.is_finite() && t > args.neutral,
            "threshold {t} must be above the neutral zone {}",
            args.neutral
        );
    }
    let mut labels: Vec<String> = args
        .thresholds
        .iter()
        .map(|&t| threshold_label(t))
        .collect();
    labels.sort();
    labels.dedup();
    anyhow::ensure!(
        labels.len() == args.thresholds.len(),
        "two thresholds round to the same basis points"
    );
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let store = Store::new(&args.store);
    let range = match (args.from, args.to) {
        (Some(f), Some(t)) => TimeRange::new(f, t),
        (from, to) => {
            let (first, last) = store.hour_span(Kind::Quotes)?.with_context(|| {
                format!(
                    "no quotes files under {} (expected quotes/date=YYYY-MM-DD/hour=HH/*.parquet)",
                    args.store.display()
                )
            })?;
            TimeRange::new(
                from.unwrap_or(first * HOUR_NS),
                to.unwrap_or((last + 1) * HOUR_NS),
            )
        }
    };
    anyhow::ensure!(
        !range.is_empty(),
        "empty time range: --to must be after --from"
    );
    let mut filter = Filter::new(range);
    let exchanges = parse_exchanges(&args.exchanges)?;
    if !exchanges.is_empty() {
        anyhow::ensure!(
            exchanges.len() >= 2,
            "--exchanges needs at least two venues"
        );
        filter = filter.with_exchanges(
            exchanges
                .iter()
                .map(|e| exchange_name(*e).to_owned())
                .collect(),
        );
    }
    let mut symbol_list = Vec::new();
    for s in &args.symbols {
        symbol_list.push(parse_symbol(s).with_context(|| format!("bad symbol {s:?}"))?);
    }
    let symbol_list = (!symbol_list.is_empty()).then_some(symbol_list);
    if let Some(list) = &symbol_list {
        filter = filter.with_symbols(Symbols::Only(list.clone()));
    }
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;

    let stats = ReadStats::default();
    let totals = Totals::default();
    let stamp = file_stamp(clock::wall_ns());
    if !args.quiet {
        eprintln!(
            "analyze: quotes from {} to {}, {threads} threads",
            format_time_ns(range.start_ns),
            format_time_ns(range.end_ns)
        );
    }
    let (result, secs) = with_progress("analyze", args.quiet, &stats, &totals, || {
        let files = store.open_files(Kind::Quotes, range, &stats)?;
        let planned_rows: u64 = files
            .iter()
            .flat_map(|f| {
                f.row_groups_matching(&filter)
                    .into_iter()
                    .map(|rg| f.metadata().row_group(rg).num_rows().max(0) as u64)
            })
            .sum();
        let target = args
            .chunk_rows
            .min(planned_rows.div_ceil(threads as u64 * 4))
            .max(1);
        let chunks = plan_chunks(&files, &filter, target);
        let filters: Vec<Filter> = chunks
            .iter()
            .map(|c| chunk_filter(&filter, symbol_list.as_deref(), c))
            .collect();
        let planned_groups: usize = filters
            .iter()
            .map(|cf| {
                files
                    .iter()
                    .map(|f| f.row_groups_matching(cf).len())
                    .sum::<usize>()
            })
            .sum();
        totals.units.store(filters.len() as u64, Ordering::Relaxed);
        totals
            .row_groups
            .store(planned_groups as u64, Ordering::Relaxed);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let results: Mutex<Vec<PairStats>> = Mutex::new(Vec::new());
        let error: Mutex<Option<ReadError>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..threads.min(filters.len()) {
                s.spawn(|| {
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(cf) = filters.get(i) else { break };
                        match analyze_chunk(&files, cf, &args.thresholds, args.neutral, &stats) {
                            Ok(v) => results
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .extend(v),
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                *error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                            }
                        }
                        totals.units_done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        if let Some(e) = error.into_inner().unwrap_or_else(PoisonError::into_inner) {
            return Err(e);
        }
        Ok(results.into_inner().unwrap_or_else(PoisonError::into_inner))
    });
    let mut rows = result?;
    rows.sort_by(|a, b| {
        let (x, y) = (a.zero_crossings_per_minute(), b.zero_crossings_per_minute());
        // Highest first; undefined rates last; then by name for a stable file.
        let x = if x.is_nan() { f64::NEG_INFINITY } else { x };
        let y = if y.is_nan() { f64::NEG_INFINITY } else { y };
        y.total_cmp(&x).then_with(|| {
            (&a.symbol, &a.exchange1, &a.exchange2).cmp(&(&b.symbol, &b.exchange1, &b.exchange2))
        })
    });
    let path = args.out_dir.join(format!("summary_stats_{stamp}.csv"));
    write_csv(&path, &args.thresholds, &rows)?;

    let key = args
        .thresholds
        .iter()
        .position(|&t| threshold_label(t) == "040bp")
        .unwrap_or(args.thresholds.len() / 2);
    let label = threshold_label(args.thresholds[key]);
    let top: Vec<&PairStats> = rows.iter().take(args.top).collect();
    print_top(
        &format!("Top {} by zero crossings per minute:", top.len()),
        &top,
        key,
        &label,
    );
    let mut by_cycles: Vec<&PairStats> = rows.iter().collect();
    by_cycles.sort_by(|a, b| {
        let c = |p: &PairStats| p.cycles.get(key).map_or(0, |c| c.complete);
        c(b).cmp(&c(a))
    });
    by_cycles.truncate(args.top);
    print_top(
        &format!("Top {} by opportunity_cycles_{label}:", by_cycles.len()),
        &by_cycles,
        key,
        &label,
    );
    if !args.quiet {
        let c = stats.snapshot();
        let symbols = {
            let mut s: Vec<&str> = rows.iter().map(|r| r.symbol.as_str()).collect();
            s.sort_unstable();
            s.dedup();
            s.len()
        };
        eprintln!(
            "analyze: {} pairs of {symbols} symbols in {secs:.2} s ({} symbol spans), \
             {:.2} M rows/s; {c}",
            rows.len(),
            totals.units.load(Ordering::Relaxed),
            c.rows_read as f64 / secs.max(1e-9) / 1e6,
        );
        eprintln!("analyze: wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn secs(n: usize) -> Vec<i64> {
        (0..n as i64).map(|i| i * S).collect()
    }

    #[test]
    fn a_cycle_ends_only_in_the_neutral_zone_and_an_open_one_is_not_counted() {
        // t:    0    1    2    3    4     5    6     7
        let dev = [0.0, 0.5, 0.3, 0.1, 0.04, 0.2, 0.45, 0.6];
        let ts = secs(dev.len());
        // 0.4: opens at t1 (0.5); 0.3 and 0.1 are between threshold and neutral and do not
        // end it; 0.04 at t4 does (3 s). Opens again at t6 and never returns: not counted.
        let c = count_cycles(&ts, &dev, 0.4, 0.05);
        assert_eq!(
            c,
            Cycles {
                complete: 1,
                rows_above: 3,
                duration_ns: 3 * S,
                last_above: true
            }
        );
        // 0.3: 0.3 itself is not above; same cycles.
        let c = count_cycles(&ts, &dev, 0.3, 0.05);
        assert_eq!((c.complete, c.rows_above, c.duration_ns), (1, 3, 3 * S));
        // 0.5: 0.5 is not above; only 0.6 at the end, never closed.
        let c = count_cycles(&ts, &dev, 0.5, 0.05);
        assert_eq!((c.complete, c.rows_above, c.last_above), (0, 1, true));
    }

    #[test]
    fn the_negative_side_counts_and_switching_sides_does_not_end_a_cycle() {
        // t:     0     1      2     3     4    5    6
        let dev = [-0.1, -0.41, -0.2, 0.03, -0.5, 0.5, 0.0];
        let ts = secs(dev.len());
        // Opens at t1 (-0.41), closes at t3 (0.03): 2 s. Opens at t4 (-0.5); +0.5 at t5 is
        // the same cycle; closes at t6 (0.0): 2 s.
        let c = count_cycles(&ts, &dev, 0.4, 0.05);
        assert_eq!(
            c,
            Cycles {
                complete: 2,
                rows_above: 3,
                duration_ns: 4 * S,
                last_above: false
            }
        );
    }

    #[test]
    fn the_threshold_is_strict_and_the_neutral_zone_is_closed() {
        let ts = secs(3);
        assert_eq!(count_cycles(&ts, &[0.4, 0.0, 0.4], 0.4, 0.05).complete, 0);
        assert_eq!(count_cycles(&ts, &[0.5, 0.05, 0.0], 0.4, 0.05).complete, 1);
        assert_eq!(
            count_cycles(&ts, &[0.5, 0.0500001, 0.3], 0.4, 0.05).complete,
            0
        );
        // A series that starts above opens at its first point.
        let c = count_cycles(&ts, &[-0.7, -0.2, 0.01], 0.4, 0.05);
        assert_eq!((c.complete, c.duration_ns), (1, 2 * S));
        assert_eq!(count_cycles(&[], &[], 0.4, 0.05), Cycles::default());
    }

    #[test]
    fn zero_crossings_skip_exact_zeros() {
        // Signs without zeros: -, -, -, +, -, + → three changes.
        assert_eq!(
            zero_crossings(&[-0.1, -0.41, -0.2, 0.03, -0.5, 0.5, 0.0]),
            3
        );
        // +, (0), -, (0, 0), -, +, (0), + → two.
        assert_eq!(
            zero_crossings(&[0.1, 0.0, -0.1, 0.0, 0.0, -0.2, 0.3, 0.0, 0.3]),
            2
        );
        assert_eq!(zero_crossings(&[0.1, 0.0, 0.1]), 0);
        assert_eq!(zero_crossings(&[0.0, 0.0]), 0);
        assert_eq!(zero_crossings(&[]), 0);
        assert_eq!(zero_crossings(&[1e-12, -1e-12]), 1);
    }

    #[test]
    fn pair_stats_and_the_csv_row_follow_the_hand_count() {
        let dev = Deviation {
            ts_ns: secs(8),
            dev_pct: vec![0.0, 0.5, 0.3, 0.1, 0.04, 0.2, 0.45, -0.6],
        };
        let p = PairStats::compute(("BTC_USDT", "Binance", "OKX"), &dev, &[0.3, 0.4, 0.5], 0.05)
            .unwrap();
        assert_eq!(p.data_points, 8);
        assert_eq!(p.zero_crossings, 1);
        assert_eq!(p.max, 0.5);
        assert_eq!(p.min, -0.6);
        // 7 s: 1 crossing = 60/7 per minute.
        assert!((p.zero_crossings_per_minute() - 60.0 / 7.0).abs() < 1e-9);
        let row = p.csv_row();
        let cells: Vec<&str> = row.split(',').collect();
        let header = csv_header(&[0.3, 0.4, 0.5]);
        let names: Vec<&str> = header.split(',').collect();
        assert_eq!(cells.len(), names.len());
        let cell = |n: &str| cells[names.iter().position(|h| *h == n).unwrap()];
        assert_eq!(cell("symbol"), "BTC_USDT");
        assert_eq!(cell("exchange2"), "OKX");
        assert_eq!(cell("duration_hours"), "0.001944");
        assert_eq!(cell("opportunity_cycles_030bp"), "1");
        assert_eq!(cell("opportunity_cycles_040bp"), "1");
        assert_eq!(cell("opportunity_cycles_050bp"), "0");
        assert_eq!(cell("avg_cycle_duration_s_040bp"), "3");
        assert_eq!(cell("avg_cycle_duration_s_050bp"), "");
        assert_eq!(cell("pct_time_above_040bp"), "37.5");
        assert_eq!(cell("cycles_per_hour_040bp"), "514.285714");
        assert_eq!(cell("last_above_050bp"), "true");
        assert_eq!(cell("zero_crossings_per_hour"), "514.285714");
        assert!(PairStats::compute(("X", "A", "B"), &Deviation::default(), &[0.4], 0.05).is_none());
    }

    #[test]
    fn labels_and_stamps() {
        assert_eq!(threshold_label(0.3), "030bp");
        assert_eq!(threshold_label(0.4), "040bp");
        assert_eq!(threshold_label(1.25), "125bp");
        assert_eq!(file_stamp(1_796_180_400 * S + 61 * S), "20261202_030101");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(f64::NAN), "");
        assert_eq!(num(2.5), "2.5");
    }
}
