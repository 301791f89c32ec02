//! Pacing of a live connection: reconnect backoff with jitter, the venue's
//! connection-attempt budget, and the outgoing-message token bucket.
//!
//! All three are plain values with preallocated state, driven by monotonic nanoseconds the
//! caller passes in, so a reconnect storm costs no allocation and the tests need no clock.

use std::collections::VecDeque;

/// Capped exponential backoff with jitter: attempt `n` waits a uniformly random time in
/// `[d/2, d]` where `d = min(cap, base · 2ⁿ)`. Jitter keeps many connections dropped at the
/// same instant from knocking again at the same instant.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ns: i64,
    cap_ns: i64,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// A backoff starting at `base_ms`, never above `cap_ms`, seeded with `seed` (any
    /// value; connections use their id so they spread out).
    pub fn new(base_ms: u64, cap_ms: u64, seed: u64) -> Self {
        let ms = |v: u64| i64::try_from(v.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        Backoff {
            base_ns: ms(base_ms.max(1)),
            cap_ns: ms(cap_ms.max(base_ms.max(1))),
            attempt: 0,
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// Returns the delay before the next attempt, ns, and counts the attempt.
    pub fn next_delay_ns(&mut self) -> i64 {
        let d = self
            .base_ns
            .saturating_mul(1_i64 << self.attempt.min(30))
            .min(self.cap_ns);
        self.attempt = self.attempt.saturating_add(1);
        let half = d / 2;
        // splitmix64: a few instructions, good enough to spread connections apart.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let span = u64::try_from(d - half).unwrap_or(0) + 1;
        half + i64::try_from(z % span).unwrap_or(0)
    }

    /// The connection proved healthy (it delivered data): start again from the base.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The largest delay this backoff can give, ns.
    pub fn cap_ns(&self) -> i64 {
        self.cap_ns
    }
}

/// A venue's connection-attempt budget: at most `max` attempts in any window of
/// `window_ns` (Binance: 300 per 5 minutes per IP). Shared by every connection of the venue
/// on one feed thread; a venue lives on one feed thread, so this is the process's budget.
#[derive(Debug, Clone)]
pub struct AttemptBudget {
    max: usize,
    window_ns: i64,
    /// Times of the attempts inside the window, oldest first; never longer than `max`.
    recent: VecDeque<i64>,
}

impl AttemptBudget {
    /// A budget of `max` attempts per `window_ms`.
    pub fn new(max: u32, window_ms: u64) -> Self {
        let max = usize::try_from(max.max(1)).unwrap_or(usize::MAX);
        AttemptBudget {
            max,
            window_ns: i64::try_from(window_ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX),
            recent: VecDeque::with_capacity(max),
        }
    }

    /// Takes one attempt at `now_ns`, or returns the earliest time one is available.
    ///
    /// # Errors
    /// The time (monotonic ns) at which the oldest attempt leaves the window.
    pub fn try_take(&mut self, now_ns: i64) -> Result<(), i64> {
        while let Some(&t) = self.recent.front() {
            if now_ns.saturating_sub(t) >= self.window_ns {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= self.max {
            let oldest = self.recent.front().copied().unwrap_or(now_ns);
            return Err(oldest.saturating_add(self.window_ns));
        }
        self.recent.push_back(now_ns);
        Ok(())
    }

    /// Attempts inside the window as of the last [`AttemptBudget::try_take`].
    pub fn used(&self) -> usize {
        self.recent.len()
    }
}

/// Outgoing messages per second on one connection (subscribes, pings, pong replies):
/// a token bucket of `rate` tokens per second, `rate` deep.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: u32,
    tokens_milli: i64,
    last_ns: i64,
}

impl TokenBucket {
    /// A full bucket of `rate` messages per second.
    pub fn new(rate: u32, now_ns: i64) -> Self {
        let rate = rate.max(1);
        TokenBucket {
            rate,
            tokens_milli: i64::from(rate) * 1000,
            last_ns: now_ns,
        }
    }

    fn refill(&mut self, now_ns: i64) {
        let dt = now_ns.saturating_sub(self.last_ns).max(0);
        // rate tokens per 1e9 ns, in thousandths of a token.
        let add = dt.saturating_mul(i64::from(self.rate)) / 1_000_000;
        if add > 0 {
            self.tokens_milli = (self.tokens_milli + add).min(i64::from(self.rate) * 1000);
            self.last_ns = now_ns;
        }
    }

    /// Takes a token if one is there.
    pub fn try_take(&mut self, now_ns: i64) -> bool {
        self.refill(now_ns);
        if self.tokens_milli >= 1000 {
            self.tokens_milli -= 1000;
            true
        } else {
            false
        }
    }

    /// Nanoseconds until the next token, 0 when one is there.
    pub fn wait_ns(&mut self, now_ns: i64) -> i64 {
        self.refill(now_ns);
        if self.tokens_milli >= 1000 {
            0
        } else {
            (1000 - self.tokens_milli) * 1_000_000 / i64::from(self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    #[test]
    fn backoff_doubles_within_jitter_and_caps() {
        let mut b = Backoff::new(100, 1_000, 7);
        let d: Vec<i64> = (0..8).map(|_| b.next_delay_ns()).collect();
        for (n, &v) in d.iter().enumerate() {
            let full = ((100 * MS) << n.min(30)).min(1_000 * MS);
            assert!(
                v >= full / 2 && v <= full,
                "attempt {n}: {v} not in [{}, {full}]",
                full / 2
            );
        }
        b.reset();
        assert!(b.next_delay_ns() <= 100 * MS);
    }

    #[test]
    fn backoffs_with_different_seeds_spread_out() {
        let a: Vec<i64> = (0..4)
            .map(|s| Backoff::new(1000, 1000, s).next_delay_ns())
            .collect();
        assert!(a.windows(2).any(|w| w[0] != w[1]), "{a:?}");
    }

    #[test]
    fn budget_refuses_past_max_and_frees_with_the_window() {
        let mut b = AttemptBudget::new(3, 1_000);
        assert!(b.try_take(0).is_ok());
        assert!(b.try_take(10 * MS).is_ok());
        assert!(b.try_take(20 * MS).is_ok());
        assert_eq!(b.try_take(30 * MS), Err(1_000 * MS));
        assert!(b.try_take(1_000 * MS).is_ok());
        assert_eq!(b.try_take(1_001 * MS), Err(1_010 * MS));
        // A storm of tries never grows the state past max.
        for t in 0..10_000 {
            let _ = b.try_take(1_002 * MS + t);
        }
        assert!(b.used() <= 3);
    }

    #[test]
    fn bucket_paces_to_the_rate() {
        let mut tb = TokenBucket::new(5, 0);
        let burst = (0..10).filter(|_| tb.try_take(0)).count();
        assert_eq!(burst, 5);
        assert_eq!(tb.wait_ns(0), 200 * MS);
        assert!(!tb.try_take(100 * MS));
        assert!(tb.try_take(200 * MS));
        // Over 10 s at most 5 per second plus the initial burst.
        let mut sent = 0;
        let mut t = 200 * MS;
        while t < 10_200 * MS {
            if tb.try_take(t) {
                sent += 1;
            }
            t += MS;
        }
        assert!(sent <= 50, "{sent}");
        assert!(sent >= 49, "{sent}");
    }
}
