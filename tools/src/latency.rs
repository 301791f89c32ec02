//! `arb latency`: reads an HdrHistogram interval log and prints per-stage percentiles.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

use crate::report;

/// Arguments of `arb latency`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  arb replay cap.arbcap --hlog lat.hlog && arb latency lat.hlog")]
pub(crate) struct LatencyArgs {
    /// Interval log written by `arb replay --hlog` (or any HdrHistogram .hlog with tags).
    file: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &LatencyArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let mut merged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut deserializer = Deserializer::new();
    let mut intervals = 0u64;
    for entry in IntervalLogIterator::new(&bytes) {
        let entry = entry.map_err(|e| {
            anyhow::anyhow!("{}: malformed interval log: {e:?}", args.file.display())
        })?;
        let LogEntry::Interval(ilh) = entry else {
            continue;
        };
        intervals += 1;
        let raw = base64_decode(ilh.encoded_histogram()).context("interval is not valid base64")?;
        let h: Histogram<u64> = deserializer
            .deserialize(&mut raw.as_slice())
            .map_err(|e| anyhow::anyhow!("cannot decode an interval histogram: {e:?}"))?;
        let tag = ilh
            .tag()
            .map_or_else(|| "(untagged)".to_owned(), |t| t.as_str().to_owned());
        match merged.get_mut(&tag) {
            Some(m) => m
                .add(&h)
                .map_err(|e| anyhow::anyhow!("merging {tag}: {e:?}"))?,
            None => {
                merged.insert(tag, h);
            }
        }
    }
    anyhow::ensure!(
        intervals > 0,
        "{}: no interval histograms found",
        args.file.display()
    );
    if args.json {
        let obj: serde_json::Map<String, serde_json::Value> = merged
            .iter()
            .map(|(k, h)| (k.clone(), report::percentiles_json(h)))
            .collect();
        println!("{}", serde_json::to_string_pretty(&obj)?);
    } else {
        println!("{} intervals in {}", intervals, args.file.display());
        print!(
            "{}",
            report::histogram_rows(merged.iter().map(|(k, h)| (k.as_str(), h)))
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn base64_decode(s: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::STANDARD.decode(s.trim())?)
}
