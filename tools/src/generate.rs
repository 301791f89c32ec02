//! `arb gen`: writes a deterministic synthetic capture in the eight venues' real wire
//! formats, for replays, benchmarks and tests that need no network.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use arb_engine::Exchange;
use arb_engine::clock::Stopwatch;
use arb_feeds::r#gen::{DEFAULT_START_NS, GenConfig, GenProgress, generate};

macro_rules! examples {
    () => {
        "\
Examples:
  arb gen --out /tmp/m.arbcap                      # 1 M messages, 100 symbols, 8 venues
  arb gen --out /tmp/big.arbcap --symbols 1000 --rate 200000 --duration 50
  arb gen --out /tmp/two.arbcap --venues binance,okx --seed 7 --trade-fraction 0.5
  arb replay /tmp/m.arbcap"
    };
}

const EXAMPLES: &str = examples!();

const LONG_HELP: &str = concat!(
    "\
The capture holds book tickers, trades, subscribe acks and heartbeats of every chosen venue,
byte for byte in the venue's real wire format (JSON text, MEXC protobuf, BingX gzip), at
evenly spaced receive times. Prices follow one random walk per symbol with a per-venue basis
and occasional dislocations (one venue 0.1-1 % away for 1-15 s), so cross-exchange spreads
and opportunities open and close. The same arguments always give the same bytes.

",
    examples!()
);

/// Arguments of `arb gen`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES, after_long_help = LONG_HELP)]
pub(crate) struct GenArgs {
    /// Capture file to write; written as FILE.partial and renamed when complete.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Number of symbols, all quoted in USDT: real assets first (BTC, ETH, SOL, XRP, ...),
    /// then synthetic names (AAA1, AAB1, ...). Every symbol is listed on every venue.
    #[arg(long, value_name = "N", default_value_t = 100)]
    symbols: usize,
    /// Venues, comma-separated (binance, bybit, mexc, gateio, kucoin, okx, bitget, bingx).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "binance,bybit,mexc,gateio,kucoin,okx,bitget,bingx"
    )]
    venues: Vec<Exchange>,
    /// Messages per second of receive time, all venues together.
    #[arg(long, value_name = "EVENTS_PER_S", default_value_t = 100_000)]
    rate: u64,
    /// Seconds of receive time; the capture holds rate × duration messages after a
    /// one-second pre-roll of connects and subscribe acks.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    duration: f64,
    /// Fraction of data messages that are trades rather than book tickers.
    #[arg(long, value_name = "F", default_value_t = 0.2)]
    trade_fraction: f64,
    /// Seed of every random choice.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Receive time of the first message, ns since the Unix epoch
    /// [default: 1767225600000000000, 2026-01-01T00:00:00Z].
    #[arg(long, value_name = "NS")]
    start_ns: Option<i64>,
}

/// Runs `arb gen`: progress on stderr about once a second, a summary on stdout.
pub(crate) fn run(args: GenArgs) -> anyhow::Result<ExitCode> {
    let cfg = GenConfig {
        symbols: args.symbols,
        venues: args.venues,
        rate_per_s: args.rate,
        duration_s: args.duration,
        trade_fraction: args.trade_fraction,
        seed: args.seed,
        start_ns: args.start_ns.unwrap_or(DEFAULT_START_NS),
    };
    let clock = Stopwatch::start();
    let mut last_report_s = 0.0;
    let summary = generate(&cfg, &args.out, |p: &GenProgress| {
        let now = clock.elapsed_s();
        if now - last_report_s >= 1.0 && p.messages_done < p.messages_total {
            last_report_s = now;
            eprintln!(
                "arb gen: {} / {} messages ({:.0} %), {:.0} MB, {:.1} s",
                p.messages_done,
                p.messages_total,
                100.0 * p.messages_done as f64 / p.messages_total.max(1) as f64,
                p.bytes as f64 / 1e6,
                now,
            );
        }
    })
    .with_context(|| format!("cannot generate {}", args.out.display()))?;
    let secs = clock.elapsed_s();
    println!(
        "wrote {}: {} messages ({} quotes, {} trade frames with {} trades, {} heartbeats) \
         + {} pre-roll records on {} connections, {:.1} MB",
        args.out.display(),
        summary.messages,
        summary.quotes,
        summary.trade_frames,
        summary.trades,
        summary.heartbeats,
        summary.startup_records,
        summary.connections,
        summary.bytes as f64 / 1e6,
    );
    println!(
        "{} symbols × {} venues, {} dislocations; {:.2} s, {:.0} messages/s, {:.0} MB/s",
        cfg.symbols,
        cfg.venues.len(),
        summary.dislocations,
        secs,
        summary.messages as f64 / secs.max(1e-9),
        summary.bytes as f64 / 1e6 / secs.max(1e-9),
    );
    Ok(ExitCode::SUCCESS)
}
