//! The flood fault: for a window of time one venue's data frames are each sent `factor`
//! times, so that venue streams at `factor` × its share of `--rate` (to overload the feed
//! thread it lands on). Set from the command line (`--flood-venue`, `--flood-factor`,
//! `--flood-after`, `--flood-secs`) or at run time by `POST /mock/flood?venue=V&factor=F&secs=S`
//! (`factor=1` ends it).

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use arb_engine::Exchange;

/// No venue flooded.
const NONE: u8 = u8::MAX;

/// The flood window, shared by the feed thread (reads) and the control endpoint (writes).
#[derive(Debug)]
pub(crate) struct Flood {
    venue: AtomicU8,
    factor: AtomicU32,
    /// Window, ms since the server started: [from, until).
    from_ms: AtomicU64,
    until_ms: AtomicU64,
}

impl Flood {
    /// A flood of `venue` at `factor` from `after` for `secs` (none when `venue` is `None`).
    pub(crate) fn new(
        venue: Option<Exchange>,
        factor: u32,
        after: Duration,
        secs: Duration,
    ) -> Flood {
        let f = Flood {
            venue: AtomicU8::new(NONE),
            factor: AtomicU32::new(1),
            from_ms: AtomicU64::new(0),
            until_ms: AtomicU64::new(0),
        };
        if let Some(ex) = venue {
            f.set(ex, factor, after, after + secs);
        }
        f
    }

    /// Floods `ex` at `factor` over [from, until) (times since the server started).
    pub(crate) fn set(&self, ex: Exchange, factor: u32, from: Duration, until: Duration) {
        let r = Ordering::Relaxed;
        // Close the window first so the feed never sees a new venue with an old window.
        self.until_ms.store(0, r);
        self.venue.store(ex.index() as u8, r);
        self.factor.store(factor.max(1), r);
        self.from_ms.store(from.as_millis() as u64, r);
        self.until_ms.store(until.as_millis() as u64, r);
    }

    /// How many copies of each data frame of `ex` to send at `now`: `factor` inside the
    /// window, else 1.
    pub(crate) fn copies(&self, ex: Exchange, now: Duration) -> u32 {
        let r = Ordering::Relaxed;
        if self.venue.load(r) != ex.index() as u8 {
            return 1;
        }
        let ms = now.as_millis() as u64;
        if ms >= self.from_ms.load(r) && ms < self.until_ms.load(r) {
            self.factor.load(r)
        } else {
            1
        }
    }

    /// The settings as JSON (for the control endpoint's answer).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let r = Ordering::Relaxed;
        let v = self.venue.load(r);
        serde_json::json!({
            "venue": Exchange::ALL.iter().find(|e| e.index() as u8 == v).map(|e| e.as_str()),
            "factor": self.factor.load(r),
            "from_s": self.from_ms.load(r) as f64 / 1e3,
            "until_s": self.until_ms.load(r) as f64 / 1e3,
        })
    }
}

/// Parses the control endpoint's query `venue=V&factor=F&secs=S` (factor default 10, secs
/// default 30) into (venue, factor, duration).
pub(crate) fn parse_query(q: &str) -> Result<(Exchange, u32, Duration), String> {
    let (mut venue, mut factor, mut secs) = (None, 10u32, 30.0f64);
    for kv in q.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "venue" => {
                venue = Some(
                    v.parse::<Exchange>()
                        .map_err(|_| format!("unknown venue {v:?}"))?,
                )
            }
            "factor" => factor = v.parse().map_err(|_| format!("bad factor {v:?}"))?,
            "secs" => {
                secs = v.parse().map_err(|_| format!("bad secs {v:?}"))?;
                if !(secs.is_finite() && secs >= 0.0) {
                    return Err(format!("bad secs {v:?}"));
                }
            }
            _ => return Err(format!("unknown parameter {k:?}")),
        }
    }
    let venue = venue.ok_or("venue= is required")?;
    Ok((venue, factor.clamp(1, 1000), Duration::from_secs_f64(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floods_only_its_venue_inside_its_window() {
        let f = Flood::new(
            Some(Exchange::Okx),
            10,
            Duration::from_secs(5),
            Duration::from_secs(30),
        );
        let s = Duration::from_secs;
        assert_eq!(f.copies(Exchange::Okx, s(4)), 1);
        assert_eq!(f.copies(Exchange::Okx, s(5)), 10);
        assert_eq!(f.copies(Exchange::Okx, s(34)), 10);
        assert_eq!(f.copies(Exchange::Okx, s(35)), 1);
        assert_eq!(f.copies(Exchange::Bybit, s(10)), 1);
        // Rate over the window: 10x the venue's frames, the others unchanged.
        let frames: u32 = (0..1000)
            .map(|i| f.copies(Exchange::Okx, s(5) + Duration::from_millis(i)))
            .sum();
        assert_eq!(frames, 10_000);
        let none = Flood::new(None, 10, s(0), s(100));
        assert_eq!(none.copies(Exchange::Okx, s(1)), 1);
    }

    #[test]
    fn control_query_parses() {
        let (ex, k, d) = parse_query("venue=okx&factor=20&secs=1.5").expect("valid");
        assert_eq!((ex, k, d), (Exchange::Okx, 20, Duration::from_millis(1500)));
        assert_eq!(parse_query("venue=okx").expect("defaults").1, 10);
        assert!(parse_query("factor=3").is_err());
        assert!(parse_query("venue=nope").is_err());
    }
}
