//! The generator's pseudo-random numbers: SplitMix64 for seeding, xoshiro256** for streams.
//!
//! In-house so that a capture generated from a seed never changes with a dependency version.
//! Everything derived from it uses only `+ - * /`, `sqrt` and `floor`, which IEEE 754 rounds
//! the same way on every platform, so the output is identical across machines too.

/// SplitMix64: one 64-bit state, used to expand seeds (Steele, Lea, Flood 2014).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) const fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Returns a well-mixed hash of `x` (one SplitMix64 step), for values that must not depend on
/// the order of other draws.
#[inline]
pub(crate) fn mix64(x: u64) -> u64 {
    SplitMix64::new(x).next_u64()
}

/// xoshiro256** (Blackman, Vigna 2018): fast, 256-bit state, passes BigCrush.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// Seeds a stream from `seed` and a stream number, so that independent parts of the
    /// generator draw from independent streams.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut sm = SplitMix64::new(seed ^ mix64(stream.wrapping_add(0x5EED)));
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        // The all-zero state is the one fixed point; SplitMix64 never yields four zeros in a
        // row, but stay safe.
        let s = if s == [0; 4] { [1, 2, 3, 4] } else { s };
        Rng { s }
    }

    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Returns a number in `0 .. n` (`n > 0`), by multiply-high (bias below 2^-64 · n).
    #[inline]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Returns a number in `lo ..= hi`.
    #[inline]
    pub(crate) fn range_u64(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        lo + self.below(hi - lo + 1)
    }

    /// Returns a uniform `f64` in `[0, 1)` with 53 random bits.
    #[inline]
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Returns a uniform `f64` in `[lo, hi)`.
    #[inline]
    pub(crate) fn range_f64(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Returns `true` with probability `p`.
    #[inline]
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Returns an approximately standard normal number: the Irwin–Hall sum of four uniforms,
    /// rescaled to unit variance (bounded to ±3.46, no transcendental functions).
    #[inline]
    pub(crate) fn normalish(&mut self) -> f64 {
        // NB: four 16-bit uniforms from one draw; the sum has variance 4/12.
        let r = self.next_u64();
        let u = |k: u32| ((r >> (16 * k)) & 0xFFFF) as f64 * (1.0 / 65536.0);
        let sum = u(0) + u(1) + u(2) + u(3);
        (sum - 2.0) * 1.732_050_807_568_877_2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // Reference values for seed 1234567 (Vigna's splitmix64.c).
        let mut sm = SplitMix64::new(1_234_567);
        assert_eq!(sm.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(sm.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(sm.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(1, 0);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(1, 0);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(1, 1);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn helpers_stay_in_range() {
        let mut r = Rng::new(7, 7);
        let mut sum = 0.0;
        let mut sq = 0.0;
        let n = 100_000;
        for _ in 0..n {
            assert!(r.below(10) < 10);
            let v = r.range_u64(5, 7);
            assert!((5..=7).contains(&v));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let z = r.normalish();
            assert!(z.abs() < 3.5);
            sum += z;
            sq += z * z;
        }
        let mean = sum / n as f64;
        let var = sq / n as f64 - mean * mean;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "var {var}");
    }
}
