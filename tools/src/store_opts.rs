//! The store's command-line options (shared by `arb replay`, and later `arb run` and
//! `arb demo`), the start-up line, and the store's part of a run's report.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use arb_io::store::{FileConfig, Kind, Recovery, StoreConfig};
use serde_json::{Value, json};

use crate::pipeline::StoreOutcome;
use crate::report;

/// Parquet store options.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StoreOpts {
    /// Keep every quote, trade, signal, gap and sampled pair spread as Parquet under DIR
    /// (`<kind>/date=YYYY-MM-DD/hour=HH/*.parquet`; created if missing).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Spreads dataset: keep the last value per pair per this many ms (0: every update).
    #[arg(long, value_name = "MS", default_value_t = 1000, requires = "store")]
    spread_sample_ms: u64,
    /// Close a file at this many rows.
    #[arg(
        long,
        value_name = "ROWS",
        default_value_t = 1_000_000,
        requires = "store"
    )]
    store_file_rows: usize,
    /// Close a file when its first row is this many seconds old: the most data a crash
    /// (kill -9, power loss) can lose.
    #[arg(long, value_name = "SECS", default_value_t = 60.0, requires = "store")]
    store_file_secs: f64,
    /// Rows per Parquet row group (the unit a reader skips by statistics).
    #[arg(long, value_name = "ROWS", default_value_t = 64 * 1024, requires = "store")]
    store_row_group_rows: usize,
    /// zstd level of the store's files (1 fastest .. 22 smallest).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "store")]
    store_zstd_level: i32,
    /// Do not fsync files before publishing them (faster; a power loss may then leave an
    /// empty or partial file under a visible name).
    #[arg(long, requires = "store")]
    store_no_fsync: bool,
}

impl StoreOpts {
    /// The store's configuration, if `--store` was given.
    ///
    /// # Errors
    /// An option out of range.
    pub(crate) fn config(&self) -> anyhow::Result<Option<StoreConfig>> {
        let Some(root) = &self.store else {
            return Ok(None);
        };
        anyhow::ensure!(
            self.store_file_secs > 0.0 && self.store_file_secs.is_finite(),
            "--store-file-secs must be positive"
        );
        anyhow::ensure!(
            self.store_file_rows > 0 && self.store_row_group_rows > 0,
            "--store-file-rows and --store-row-group-rows must be positive"
        );
        anyhow::ensure!(
            (1..=22).contains(&self.store_zstd_level),
            "--store-zstd-level must be 1..=22"
        );
        Ok(Some(StoreConfig {
            spread_sample_ms: self.spread_sample_ms,
            max_file_rows: self.store_file_rows,
            max_file_age_ns: (self.store_file_secs * 1e9) as i64,
            file: FileConfig {
                row_group_rows: self.store_row_group_rows,
                zstd_level: self.store_zstd_level,
                sync: !self.store_no_fsync,
            },
            ..StoreConfig::new(root.clone())
        }))
    }

    /// Bytes the store's row buffers can reach (quotes, trades and spreads each up to a
    /// full file), for the start-up reservation line.
    pub(crate) fn buffer_bytes(&self) -> usize {
        if self.store.is_none() {
            return 0;
        }
        // Bytes per buffered row: quotes 63, trades 62, spreads 46, plus the sort's 8.
        self.store_file_rows * (63 + 62 + 46 + 3 * 8)
    }
}

/// The start-up line about what the store found.
pub(crate) fn startup_line(cmd: &str, config: &StoreConfig, recovery: &Recovery) -> String {
    format!("arb {cmd}: store {}: {recovery}", config.root.display())
}

/// `rows_written` and `store_drops` per kind, files and bytes: top-level keys of
/// `--report-json`.
pub(crate) fn report_json(s: &StoreOutcome) -> Value {
    let r = Ordering::Relaxed;
    let mut written = serde_json::Map::new();
    let mut dropped = serde_json::Map::new();
    let ring = &s.ring_drops;
    for k in Kind::ALL {
        written.insert(k.as_str().into(), json!(s.stats.rows_written.get(k)));
        // A quote dropped on the store's ring also loses the spreads it would have
        // produced; those are not counted (they were never derived).
        let ring_drops = match k {
            Kind::Quotes => ring.quotes.load(r),
            Kind::Trades => ring.trades.load(r),
            Kind::Spreads => 0,
            Kind::Signals => ring.signals.load(r),
            Kind::Gaps => ring.gaps.load(r),
        };
        dropped.insert(
            k.as_str().into(),
            json!({"ring_full": ring_drops, "write_failed": s.stats.rows_dropped_write.get(k)}),
        );
    }
    let quotes = s.stats.rows_written.get(Kind::Quotes);
    let bytes = s.stats.bytes.load(r);
    json!({
        "rows_written": written,
        "store_drops": dropped,
        "store_files": s.stats.files.load(r),
        "store_bytes": bytes,
        "store_write_errors": s.stats.write_errors.load(r),
        "store_bytes_per_row": if quotes > 0 {
            Value::from(bytes as f64 / s.stats.rows_written.0.iter().map(|a| a.load(r)).sum::<u64>().max(1) as f64)
        } else {
            Value::Null
        },
    })
}

/// One line for the text summary.
pub(crate) fn report_line(s: &StoreOutcome) -> String {
    let j = report_json(s);
    let w = |k: Kind| j["rows_written"][k.as_str()].as_u64().unwrap_or(0);
    let dropped: u64 = Kind::ALL
        .iter()
        .map(|k| {
            j["store_drops"][k.as_str()]["ring_full"]
                .as_u64()
                .unwrap_or(0)
                + j["store_drops"][k.as_str()]["write_failed"]
                    .as_u64()
                    .unwrap_or(0)
        })
        .sum();
    format!(
        "store: wrote {} quotes, {} trades, {} spreads, {} signals, {} gaps in {} files ({}); dropped {dropped}; write errors {}\n",
        w(Kind::Quotes),
        w(Kind::Trades),
        w(Kind::Spreads),
        w(Kind::Signals),
        w(Kind::Gaps),
        j["store_files"],
        report::mib(j["store_bytes"].as_u64().unwrap_or(0)),
        j["store_write_errors"],
    )
}
