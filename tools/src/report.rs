//! Report helpers shared by the subcommands: machine header, memory readings, latency
//! tables and HdrHistogram interval logs.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context as _;
use arb_engine::clock;
use arb_engine::metrics::{Stage, StageHistograms};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use serde_json::{Value, json};

/// Formats bytes as MiB.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Resident set size of this process, from `/proc/self/statm` (0 where unavailable).
pub(crate) fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// The facts a quoted number must carry: cores, CPU, kernel, rustc, profile.
pub(crate) struct MachineHeader {
    cores: usize,
    cpu: String,
    kernel: String,
    rustc: &'static str,
    profile: &'static str,
}

impl MachineHeader {
    pub(crate) fn detect() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into());
        MachineHeader {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            kernel,
            rustc: env!("ARB_RUSTC_VERSION"),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        }
    }

    pub(crate) fn line(&self) -> String {
        format!(
            "machine: {} cores, {}, linux {}, {}, {} build",
            self.cores, self.cpu, self.kernel, self.rustc, self.profile
        )
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({"cores": self.cores, "cpu": self.cpu, "kernel": self.kernel, "rustc": self.rustc, "profile": self.profile})
    }
}

/// p50 / p90 / p99 / p99.9 / max of a histogram, in ns.
pub(crate) fn percentiles_json(h: &Histogram<u64>) -> Value {
    json!({
        "count": h.len(),
        "p50": h.value_at_quantile(0.5),
        "p90": h.value_at_quantile(0.9),
        "p99": h.value_at_quantile(0.99),
        "p999": h.value_at_quantile(0.999),
        "max": h.max(),
    })
}

fn fmt_ns(ns: u64) -> String {
    if ns >= 1_000_000_000 {
        format!("{:.2}s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        format!("{:.2}ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{:.2}us", ns as f64 / 1e3)
    } else {
        format!("{ns}ns")
    }
}

/// A latency table with one row per non-empty histogram.
pub(crate) fn histogram_rows<'a>(
    rows: impl Iterator<Item = (&'a str, &'a Histogram<u64>)>,
) -> String {
    let mut s = format!(
        "{:<20} {:>12} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
        "stage", "count", "p50", "p90", "p99", "p99.9", "max"
    );
    for (name, h) in rows {
        if h.is_empty() {
            continue;
        }
        s.push_str(&format!(
            "{:<20} {:>12} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
            name,
            h.len(),
            fmt_ns(h.value_at_quantile(0.5)),
            fmt_ns(h.value_at_quantile(0.9)),
            fmt_ns(h.value_at_quantile(0.99)),
            fmt_ns(h.value_at_quantile(0.999)),
            fmt_ns(h.max())
        ));
    }
    s
}

/// The latency table of every pipeline stage.
pub(crate) fn latency_table(h: &StageHistograms) -> String {
    histogram_rows(Stage::all().map(|s| (s.name(), h.get(s))))
}

/// An HdrHistogram interval log being written: one tagged histogram per stage per interval.
pub(crate) struct HlogOut {
    out: BufWriter<File>,
    base_ns: i64,
    serializer: V2DeflateSerializer,
    buf: Vec<u8>,
    error: Option<anyhow::Error>,
}

impl HlogOut {
    pub(crate) fn create(path: &Path) -> anyhow::Result<Self> {
        let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(HlogOut {
            out: BufWriter::new(f),
            base_ns: clock::wall_ns(),
            serializer: V2DeflateSerializer::new(),
            buf: Vec::new(),
            error: None,
        })
    }

    /// Appends one interval (every non-empty stage).
    pub(crate) fn write(&mut self, h: &StageHistograms) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_write(h) {
            self.error = Some(e);
        }
    }

    fn try_write(&mut self, h: &StageHistograms) -> anyhow::Result<()> {
        self.buf.clear();
        {
            let base = UNIX_EPOCH + Duration::from_nanos(self.base_ns.max(0) as u64);
            let mut w = IntervalLogWriterBuilder::new()
                .with_base_time(base)
                .begin_log_with(&mut self.buf, &mut self.serializer)
                .context("starting hlog")?;
            let start = Duration::from_nanos((h.start_wall_ns - self.base_ns).max(0) as u64);
            let len = Duration::from_nanos((clock::wall_ns() - h.start_wall_ns).max(0) as u64);
            for stage in Stage::all() {
                let hist = h.get(stage);
                if hist.is_empty() {
                    continue;
                }
                w.write_histogram(hist, start, len, Tag::new(stage.name()))
                    .map_err(|e| anyhow::anyhow!("writing hlog interval: {e:?}"))?;
            }
        }
        // Each call re-emits the header lines; keep them only for the first interval.
        let text = String::from_utf8_lossy(&self.buf);
        let first = self
            .out
            .get_ref()
            .metadata()
            .map(|m| m.len() == 0)
            .unwrap_or(true)
            && self.out.buffer().is_empty();
        for line in text.lines() {
            if !first && line.starts_with('#') {
                continue;
            }
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> anyhow::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(())
    }
}
