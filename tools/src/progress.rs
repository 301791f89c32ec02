//! Progress lines on stderr for long store reads (`arb query`, `arb analyze`): a thread
//! that prints the read counters once a second while the work runs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arb_engine::clock::Stopwatch;
use arb_io::store::read::{ReadCounts, ReadStats};

/// What a progress line counts against.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    /// Files to scan (0: unknown).
    pub(crate) files: AtomicU64,
    /// Row groups to decode (0: unknown).
    pub(crate) row_groups: AtomicU64,
    /// Work units done / total (e.g. analyzer chunks).
    pub(crate) units_done: AtomicU64,
    /// Work units in all (0: none).
    pub(crate) units: AtomicU64,
}

/// Runs `work` while a thread prints `label: …` progress every second on stderr (unless
/// `quiet`), then returns what `work` returned and the elapsed seconds.
pub(crate) fn with_progress<T>(
    label: &str,
    quiet: bool,
    stats: &ReadStats,
    totals: &Totals,
    work: impl FnOnce() -> T,
) -> (T, f64) {
    let watch = Stopwatch::start();
    let done = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        let printer = (!quiet).then(|| {
            s.spawn(|| {
                let mut last_rows = 0u64;
                let mut last_t = 0.0;
                loop {
                    std::thread::park_timeout(Duration::from_secs(1));
                    if done.load(Ordering::Acquire) {
                        break;
                    }
                    let t = watch.elapsed_s();
                    if t - last_t < 0.95 {
                        continue;
                    }
                    let c = stats.snapshot();
                    let rate = (c.rows_read - last_rows) as f64 / (t - last_t);
                    (last_rows, last_t) = (c.rows_read, t);
                    eprintln!("{label}: {} [{t:.0} s]", line(&c, totals, rate));
                }
            })
        });
        let out = work();
        done.store(true, Ordering::Release);
        if let Some(p) = printer {
            p.thread().unpark();
            // A panic in the printer only loses progress lines.
            let _ = p.join();
        }
        out
    });
    (out, watch.elapsed_s())
}

fn line(c: &ReadCounts, totals: &Totals, rows_per_s: f64) -> String {
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let mut s = String::new();
    if g(&totals.units) > 0 {
        s += &format!("chunk {}/{}, ", g(&totals.units_done), g(&totals.units));
    }
    if g(&totals.files) > 0 {
        s += &format!("files {}/{}, ", c.files_done, g(&totals.files));
    }
    if g(&totals.row_groups) > 0 {
        s += &format!(
            "row groups {}/{}, ",
            c.row_groups_read,
            g(&totals.row_groups)
        );
    }
    s += &format!(
        "{:.1} M rows, {:.2} M rows/s, {:.1} MiB read",
        c.rows_read as f64 / 1e6,
        rows_per_s / 1e6,
        c.bytes_read as f64 / (1024.0 * 1024.0)
    );
    s
}
