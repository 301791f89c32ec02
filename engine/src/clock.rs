//! The one time seam: every wall-clock and monotonic read in arb goes through here.
//!
//! `clippy.toml` bans `SystemTime::now` and `Instant::now` elsewhere, so replays and
//! tests can reason about where time enters the system.
#![expect(
    clippy::disallowed_methods,
    reason = "this module is the only place allowed to read the clocks"
)]

use std::time::Instant;
#[cfg(not(unix))]
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds in one millisecond.
pub const NANOS_PER_MILLI: i64 = 1_000_000;
/// Nanoseconds in one microsecond.
pub const NANOS_PER_MICRO: i64 = 1_000;

/// Returns the wall-clock time as nanoseconds since the Unix epoch.
///
/// Used for receive timestamps, which are compared with exchange timestamps.
///
/// # Hot path
/// Allocates never; one `clock_gettime(CLOCK_REALTIME)` (vDSO, no syscall); may block no.
#[inline]
pub fn wall_ns() -> i64 {
    #[cfg(unix)]
    return crate::sys::clock_ns(libc::CLOCK_REALTIME);
    #[cfg(not(unix))]
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

#[cfg(not(unix))]
fn anchor() -> &'static Instant {
    static ANCHOR: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    ANCHOR.get_or_init(Instant::now)
}

/// Returns monotonic nanoseconds (since boot on Linux; only differences mean anything).
///
/// Used for stage latencies between threads: never goes backwards, unaffected by NTP steps.
///
/// # Hot path
/// Allocates never; one `clock_gettime(CLOCK_MONOTONIC)` (vDSO); may block no.
#[inline]
pub fn mono_ns() -> i64 {
    #[cfg(unix)]
    return crate::sys::clock_ns(libc::CLOCK_MONOTONIC);
    #[cfg(not(unix))]
    {
        let d = Instant::now().duration_since(*anchor());
        i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
    }
}

/// A monotonic stopwatch for cold-path durations (progress reports, elapsed time).
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts a stopwatch now.
    pub fn start() -> Self {
        Self(Instant::now())
    }

    /// Returns the seconds elapsed since [`Stopwatch::start`].
    pub fn elapsed_s(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }

    /// Returns the elapsed time since [`Stopwatch::start`].
    pub fn elapsed(&self) -> std::time::Duration {
        self.0.elapsed()
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`): the one calendar routine of the workspace (file partitions, names,
/// ISO-8601 stamps, the generator's venue timestamps).
pub const fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
pub const fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_never_goes_backwards() {
        let mut last = mono_ns();
        for _ in 0..10_000 {
            let now = mono_ns();
            assert!(now >= last);
            last = now;
        }
    }

    #[test]
    fn wall_is_after_2020() {
        assert!(wall_ns() > 1_577_836_800 * NANOS_PER_SEC);
    }
}
