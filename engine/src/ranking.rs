//! The published opportunity ranking: the core writes the current top N symbols by best
//! executable spread a few times a second; any thread reads a consistent copy without
//! blocking it (seqlock over atomics, like the history).

use crate::sync::{AtomicU32, AtomicU64, Ordering, fence, spin_loop};

use crate::event::SymbolId;

/// A fixed-capacity board of `(symbol, best executable spread %)`, best first.
#[derive(Debug)]
pub struct RankingBoard {
    /// Even when stable, odd while the core writes.
    seq: AtomicU64,
    len: AtomicU32,
    /// Publication time (ns since the epoch, receive-time domain of the core).
    ts_ns: AtomicU64,
    /// `[symbol id, f64 bits]` per entry.
    entries: Box<[[AtomicU64; 2]]>,
}

impl RankingBoard {
    /// Creates a board of `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        RankingBoard {
            seq: AtomicU64::new(0),
            len: AtomicU32::new(0),
            ts_ns: AtomicU64::new(0),
            entries: (0..capacity)
                .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
                .collect(),
        }
    }

    /// Returns the capacity.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Replaces the board (single writer: the core thread).
    pub fn publish(&self, ts_ns: i64, top: &[(SymbolId, f64)]) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // Orders the odd sequence before the data stores (seqlock writer side).
        fence(Ordering::Release);
        let n = top.len().min(self.entries.len());
        for (slot, (sym, v)) in self.entries.iter().zip(&top[..n]) {
            slot[0].store(u64::from(sym.0), Ordering::Relaxed);
            slot[1].store(v.to_bits(), Ordering::Relaxed);
        }
        self.len.store(n as u32, Ordering::Relaxed);
        self.ts_ns.store(ts_ns as u64, Ordering::Relaxed);
        // Publishes the data with the even sequence (seqlock writer side).
        self.seq.store(seq.wrapping_add(2), crate::sync::PUBLISH);
    }

    /// Copies the board into `out`; returns its publication time, or `None` if the writer
    /// kept it busy for every retry.
    pub fn read(&self, out: &mut Vec<(SymbolId, f64)>) -> Option<i64> {
        for _ in 0..crate::sync::READ_RETRIES {
            // Acquire pairs with the writer's final Release store.
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                spin_loop();
                continue;
            }
            out.clear();
            let n = (self.len.load(Ordering::Relaxed) as usize).min(self.entries.len());
            for slot in &self.entries[..n] {
                out.push((
                    SymbolId(slot[0].load(Ordering::Relaxed) as u32),
                    f64::from_bits(slot[1].load(Ordering::Relaxed)),
                ));
            }
            let ts = self.ts_ns.load(Ordering::Relaxed) as i64;
            // Orders the data loads before the re-check (seqlock reader side).
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == s1 {
                return Some(ts);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_and_reads_back_capped() {
        let b = RankingBoard::new(2);
        let mut out = Vec::new();
        assert_eq!(b.read(&mut out), Some(0));
        assert!(out.is_empty());
        b.publish(
            5,
            &[(SymbolId(3), 0.5), (SymbolId(1), 0.25), (SymbolId(9), 0.1)],
        );
        assert_eq!(b.read(&mut out), Some(5));
        assert_eq!(out, [(SymbolId(3), 0.5), (SymbolId(1), 0.25)]);
    }
}
