//! `arb query`: a symbol's pair history (deviation and bands, as NDJSON chart objects) or
//! its raw quotes / trades (CSV or JSON lines) over a time range, from the Parquet store.
//! The reading and joining is `arb_io::history` / `arb_io::store`; this is the command line.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use arb_engine::Exchange;
use arb_io::history::{format_time_ns, pair_charts, parse_time_ns};
use arb_io::names::{exchange_name, parse_exchange, parse_symbol};
use arb_io::store::export::{ExportFormat, export_rows};
use arb_io::store::read::{Filter, ReadStats, Store, Symbols, TimeRange};
use arb_io::store::schema::{HOUR_NS, Kind};

use crate::progress::{Totals, with_progress};

/// Arguments of `arb query`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  arb query --store /data/arb --symbol BTC_USDT --exchanges binance,okx
  arb query --store /data/arb --symbol btc/usdt --exchanges binance,okx,gateio \\
            --from 2026-12-02T03:00 --to 2026-12-02T05:00 > charts.ndjson
  arb query --store /data/arb --symbol BTC_USDT --raw quotes --exchanges okx \\
            --from 1796180400 --to 1796184000 --format csv --output btc.csv
  arb query --store /data/arb --symbol ETH_USDT --raw trades --format jsonl

Chart mode (default) prints one JSON object per symbol and venue pair (every pair of the \
--exchanges, alphabetical): {\"symbol\",\"exchange1\",\"exchange2\",\"timestamps\" (epoch \
seconds, ms fraction),\"spreads\",\"upperBand\",\"lowerBand\"}. The deviation \
(bid_1 / bid_2 - 1) * 100 is computed at every quote of either venue against the other \
venue's latest quote at most 2 s older; bands are the live 97 % / 3 % nearest-rank bands \
over the trailing 200 points (null where undefined).

Raw mode (--raw quotes|trades) writes every column of the kept rows; timestamps as RFC 3339 \
UTC with nanoseconds. Rows come file by file, inside a file by symbol, venue and time.

Times: RFC 3339, YYYY-MM-DD[THH:MM[:SS]] (UTC) or epoch seconds; --to is exclusive. Without \
--from/--to: the last hour present in the store. With only one of them: one hour from / to it.

Only the hour partitions in the range and the row groups whose statistics can hold the \
symbol and venues are read, and only the columns needed; what was read (partitions, files, \
row groups read / skipped, bytes) is printed on stderr.")]
pub(crate) struct QueryArgs {
    /// Store root (the directory holding quotes/, trades/, …).
    #[arg(long, env = "ARB_STORE")]
    store: PathBuf,
    /// Symbol(s), comma-separated, in any spelling (BTC_USDT, BTC/USDT, btc-usdt).
    #[arg(long, value_delimiter = ',', required = true)]
    symbol: Vec<String>,
    /// Venues, comma-separated, any spelling (binance, GateIo, Gate.io). Chart mode needs
    /// at least two; raw mode defaults to every venue.
    #[arg(long, value_delimiter = ',')]
    exchanges: Vec<String>,
    /// Start of the range (included).
    #[arg(long, value_parser = parse_time_arg)]
    from: Option<i64>,
    /// End of the range (excluded).
    #[arg(long, value_parser = parse_time_arg)]
    to: Option<i64>,
    /// Export raw rows of this dataset instead of charts.
    #[arg(long, value_parser = ["quotes", "trades"])]
    raw: Option<String>,
    /// Raw output format.
    #[arg(long, default_value = "csv", value_parser = ["csv", "jsonl", "json"])]
    format: String,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// No progress or read summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_time_arg(s: &str) -> Result<i64, String> {
    parse_time_ns(s).ok_or_else(|| {
        format!("expected RFC 3339, YYYY-MM-DD[THH:MM[:SS]] (UTC) or epoch seconds, got {s:?}")
    })
}

/// Parses the venue list, naming any venue it does not know.
pub(crate) fn parse_exchanges(list: &[String]) -> anyhow::Result<Vec<Exchange>> {
    let mut out = Vec::new();
    for s in list {
        let e = parse_exchange(s).with_context(|| {
            let known: Vec<&str> = Exchange::ALL.iter().map(|e| e.as_str()).collect();
            format!("unknown venue {s:?} (known: {})", known.join(", "))
        })?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// The time range from `--from` / `--to`, defaulting to the last hour of `kind` in the
/// store.
pub(crate) fn resolve_range(
    store: &Store,
    kind: Kind,
    from: Option<i64>,
    to: Option<i64>,
) -> anyhow::Result<TimeRange> {
    let range = match (from, to) {
        (Some(f), Some(t)) => TimeRange::new(f, t),
        (Some(f), None) => TimeRange::new(f, f.saturating_add(HOUR_NS)),
        (None, Some(t)) => TimeRange::new(t.saturating_sub(HOUR_NS), t),
        (None, None) => {
            let hour = store.last_hour(kind)?.with_context(|| {
                format!(
                    "no {kind} files under {} (expected {kind}/date=YYYY-MM-DD/hour=HH/*.parquet)",
                    store.root().display()
                )
            })?;
            TimeRange::hour(hour)
        }
    };
    anyhow::ensure!(
        !range.is_empty(),
        "empty time range: --to must be after --from"
    );
    Ok(range)
}

pub(crate) fn run(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.store.is_dir(),
        "store {} is not a directory",
        args.store.display()
    );
    let store = Store::new(&args.store);
    let mut symbols = Vec::new();
    for s in &args.symbol {
        symbols.push(parse_symbol(s).with_context(|| {
            format!("bad symbol {s:?}: expected BASE_QUOTE, BASE/QUOTE or base-quote")
        })?);
    }
    let exchanges = parse_exchanges(&args.exchanges)?;
    let kind = match args.raw.as_deref() {
        Some("trades") => Kind::Trades,
        _ => Kind::Quotes,
    };
    if args.raw.is_none() {
        anyhow::ensure!(
            exchanges.len() >= 2,
            "chart mode needs at least two venues: --exchanges binance,okx"
        );
    }
    let range = resolve_range(&store, kind, args.from, args.to)?;

    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let stats = ReadStats::default();
    let totals = Totals::default();
    if !args.quiet {
        eprintln!(
            "query: {kind} of {} from {} to {}",
            symbols.join(","),
            format_time_ns(range.start_ns),
            format_time_ns(range.end_ns)
        );
    }
    let (result, secs) = with_progress("query", args.quiet, &stats, &totals, || {
        if args.raw.is_some() {
            let files = store.open_files(kind, range, &stats)?;
            totals.files.store(files.len() as u64, Ordering::Relaxed);
            let mut filter = Filter::new(range).with_symbols(Symbols::Only(symbols.clone()));
            if !exchanges.is_empty() {
                filter = filter.with_exchanges(
                    exchanges
                        .iter()
                        .map(|e| exchange_name(*e).to_owned())
                        .collect(),
                );
            }
            let format = if args.format == "csv" {
                ExportFormat::Csv
            } else {
                ExportFormat::JsonLines
            };
            let rows = export_rows(&files, &filter, format, &mut out, &stats)?;
            Ok::<_, anyhow::Error>(format!("{rows} rows"))
        } else {
            let charts = pair_charts(&store, &symbols, &exchanges, range, &stats)?;
            let mut points = 0;
            for c in &charts {
                c.write_json(&mut out).context("writing the output")?;
                points += c.series.len();
                if c.series.is_empty() && !args.quiet {
                    eprintln!(
                        "query: no joined point for {} {}/{} in the range",
                        c.symbol, c.exchange1, c.exchange2
                    );
                }
            }
            Ok(format!("{} charts, {points} points", charts.len()))
        }
    });
    // `arb query … | head`: the reader went away; that is not an error.
    let broken_pipe = |e: &anyhow::Error| {
        e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        })
    };
    let what = match result.and_then(|w| {
        out.flush().context("writing the output")?;
        Ok(w)
    }) {
        Ok(w) => w,
        Err(e) if broken_pipe(&e) => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e),
    };
    if !args.quiet {
        eprintln!("query: {what} in {secs:.3} s; {}", stats.snapshot());
    }
    Ok(ExitCode::SUCCESS)
}
