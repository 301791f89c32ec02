//! Venue pairs: the 28 unordered pairs of the 8 venues, in alphabetical order of venue id.
//!
//! The chart metric users know is computed for the unordered pair `(A, B)` with `A` before
//! `B` alphabetically (`binance` < `bingx` < `bitget` < `bybit` < `gateio` < `kucoin` <
//! `mexc` < `okx`), so the sign of a deviation never depends on which venue ticked.

use crate::event::Exchange;

/// Number of unordered venue pairs, `8 * 7 / 2`.
pub const PAIRS: usize = Exchange::COUNT * (Exchange::COUNT - 1) / 2;

/// An unordered venue pair, `first` alphabetically before `second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VenuePair {
    /// Alphabetically first venue (`A` in `(bid_A / bid_B - 1) * 100`).
    pub first: Exchange,
    /// Alphabetically second venue.
    pub second: Exchange,
}

/// Venue ids sorted alphabetically.
const ALPHA: [Exchange; Exchange::COUNT] = {
    let mut v = Exchange::ALL;
    // Insertion sort in const context.
    let mut i = 1;
    while i < v.len() {
        let mut j = i;
        while j > 0 && str_lt(v[j].as_str(), v[j - 1].as_str()) {
            let t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
            j -= 1;
        }
        i += 1;
    }
    v
};

const fn str_lt(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// Alphabetical rank of each venue, indexed by `Exchange::index()`.
const RANK: [u8; Exchange::COUNT] = {
    let mut r = [0u8; Exchange::COUNT];
    let mut i = 0;
    while i < ALPHA.len() {
        r[ALPHA[i] as usize] = i as u8;
        i += 1;
    }
    r
};

/// Pair index for `[rank_a][rank_b]`, `u8::MAX` on the diagonal.
const INDEX: [[u8; Exchange::COUNT]; Exchange::COUNT] = {
    let mut t = [[u8::MAX; Exchange::COUNT]; Exchange::COUNT];
    let mut k = 0u8;
    let mut a = 0;
    while a < Exchange::COUNT {
        let mut b = a + 1;
        while b < Exchange::COUNT {
            t[a][b] = k;
            t[b][a] = k;
            k += 1;
            b += 1;
        }
        a += 1;
    }
    t
};

impl VenuePair {
    /// Orders two distinct venues alphabetically; `None` if they are the same venue.
    #[inline]
    pub const fn new(x: Exchange, y: Exchange) -> Option<VenuePair> {
        let (rx, ry) = (RANK[x as usize], RANK[y as usize]);
        if rx < ry {
            Some(VenuePair {
                first: x,
                second: y,
            })
        } else if ry < rx {
            Some(VenuePair {
                first: y,
                second: x,
            })
        } else {
            None
        }
    }

    /// Returns the dense pair index, `0 .. PAIRS`.
    #[inline]
    pub const fn index(self) -> usize {
        INDEX[RANK[self.first as usize] as usize][RANK[self.second as usize] as usize] as usize
    }

    /// Returns the pair of two distinct venues with its dense index, from one table read;
    /// `None` if they are the same venue. Equal to `new(x, y)` and `index()`.
    ///
    /// NB: the spread core looks a pair up for every other venue of every quote; one
    /// precomputed entry instead of two rank lookups, a compare and a 2-D index
    /// (benches/instructions.sh, engine commit "engine: cheaper clock reads and pair lookups").
    #[inline]
    pub fn lookup(x: Exchange, y: Exchange) -> Option<(VenuePair, usize)> {
        match ORDERED[x as usize][y as usize] {
            u8::MAX => None,
            i => Some((BY_INDEX[i as usize], i as usize)),
        }
    }

    /// Returns the pair for a dense index.
    pub fn from_index(i: usize) -> Option<VenuePair> {
        Self::from_index_fast(i)
    }
}

/// Dense pair index of `[x][y]` (by `Exchange` discriminant), `u8::MAX` on the diagonal.
const ORDERED: [[u8; Exchange::COUNT]; Exchange::COUNT] = {
    let mut t = [[u8::MAX; Exchange::COUNT]; Exchange::COUNT];
    let mut x = 0;
    while x < Exchange::COUNT {
        let mut y = 0;
        while y < Exchange::COUNT {
            if x != y {
                t[x][y] = INDEX[RANK[x] as usize][RANK[y] as usize];
            }
            y += 1;
        }
        x += 1;
    }
    t
};

/// Pair for each dense index, precomputed.
const BY_INDEX: [VenuePair; PAIRS] = {
    let mut t = [VenuePair {
        first: Exchange::Binance,
        second: Exchange::Binance,
    }; PAIRS];
    let mut k = 0;
    let mut a = 0;
    while a < Exchange::COUNT {
        let mut b = a + 1;
        while b < Exchange::COUNT {
            t[k] = VenuePair {
                first: ALPHA[a],
                second: ALPHA[b],
            };
            k += 1;
            b += 1;
        }
        a += 1;
    }
    t
};

impl VenuePair {
    /// Returns the pair for a dense index by table lookup.
    #[inline]
    pub const fn from_index_fast(i: usize) -> Option<VenuePair> {
        if i < PAIRS { Some(BY_INDEX[i]) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_equals_new_and_index() {
        for x in Exchange::ALL {
            for y in Exchange::ALL {
                assert_eq!(
                    VenuePair::lookup(x, y),
                    VenuePair::new(x, y).map(|p| (p, p.index()))
                );
            }
        }
    }

    #[test]
    fn pairs_are_alphabetical_and_dense() {
        let p = VenuePair::new(Exchange::Okx, Exchange::Binance).unwrap();
        assert_eq!((p.first, p.second), (Exchange::Binance, Exchange::Okx));
        assert!(VenuePair::new(Exchange::Okx, Exchange::Okx).is_none());
        let mut seen = [false; PAIRS];
        for a in Exchange::ALL {
            for b in Exchange::ALL {
                if let Some(p) = VenuePair::new(a, b) {
                    assert!(p.first.as_str() < p.second.as_str());
                    seen[p.index()] = true;
                    assert_eq!(VenuePair::from_index(p.index()), Some(p));
                }
            }
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(VenuePair::from_index(PAIRS), None);
        assert_eq!(VenuePair::from_index(0).unwrap().first, Exchange::Binance);
        assert_eq!(VenuePair::from_index(0).unwrap().second, Exchange::Bingx);
    }
}
