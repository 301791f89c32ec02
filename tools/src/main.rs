//! The `arb` command: parses the command line and hands off to one module per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use arb_tools::config;

mod analyze;
mod collector;
mod decode;
mod demo;
mod doctor;
mod engine_role;
mod generate;
mod latency;
mod loadgen;
mod mock;
mod pins;
mod pipeline;
mod progress;
mod query;
mod replay;
mod report;
mod run;
mod serving;
mod shutdown;
mod store_opts;

/// arb: a low-latency, bounded-memory cross-exchange spread monitor for crypto spot markets.
#[derive(Debug, Parser)]
#[command(name = "arb", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Log filter for diagnostics on stderr (e.g. "info", "arb=debug"); also read from RUST_LOG.
    #[arg(long, global = true, default_value = "warn", env = "RUST_LOG")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Live mode: discover symbols, connect to the venues, compute spreads, store them
    /// and serve the dashboard (settings in arb.toml).
    Run(Box<run::RunArgs>),
    /// Decode raw exchange messages (one per line on stdin, or a capture file) into
    /// normalised events, one JSON object per line.
    Decode(decode::DecodeArgs),
    /// Write a deterministic synthetic capture in the eight venues' real wire formats.
    Gen(generate::GenArgs),
    /// Drive a capture through the whole pipeline and report throughput, latency
    /// percentiles per stage, drops, errors and memory.
    Replay(Box<replay::ReplayArgs>),
    /// The whole pipeline on a built-in synthetic market with the store and the
    /// dashboard: no network needed.
    Demo(demo::DemoArgs),
    /// N WebSocket clients (some slow) against a running server: delivery latency,
    /// messages, disconnects, server RSS.
    Loadgen(loadgen::LoadgenArgs),
    /// Print p50 / p90 / p99 / p99.9 / max per stage from an HdrHistogram interval log.
    Latency(latency::LatencyArgs),
    /// A symbol's pair history from the Parquet store: deviation and bands as NDJSON chart
    /// objects, or raw quotes / trades as CSV or JSON lines.
    Query(query::QueryArgs),
    /// Summarise every symbol's venue pairs over the Parquet store (zero crossings,
    /// opportunity cycles) into `summary_stats_<stamp>.csv`.
    Analyze(analyze::AnalyzeArgs),
    /// A local server that plays all 8 venues (REST discovery, WebSocket subscribe /
    /// heartbeat rules, synthetic market data, fault injection) for tests and demos.
    MockExchange(Box<mock::MockArgs>),
    /// Check the host's tuning and the config's pinning and memory budget: per item what
    /// is set, what is recommended and why; exits 1 on a configuration that cannot work.
    Doctor(doctor::DoctorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Decode(args) => decode::run(&args),
        Command::Gen(args) => generate::run(args),
        Command::Replay(args) => replay::run(&args),
        Command::Latency(args) => latency::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Loadgen(args) => loadgen::run(&args),
        Command::Query(args) => query::run(&args),
        Command::Analyze(args) => analyze::run(&args),
        Command::MockExchange(args) => mock::run(&args),
        Command::Doctor(args) => doctor::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("arb: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
