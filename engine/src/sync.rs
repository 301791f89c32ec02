//! The atomics, fences and spin hint the lock-free code (windows, ranking board) uses,
//! swapped for loom's under `--cfg arb_loom` so the model checks in `tests/loom.rs` run the
//! real code (crossbeam's `crossbeam_loom` pattern).

#[cfg(not(arb_loom))]
pub use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering, fence};

#[cfg(arb_loom)]
pub use loom::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering, fence};

/// Hint inside a retry loop; under loom it yields so the model can schedule the writer.
#[inline]
pub fn spin_loop() {
    #[cfg(not(arb_loom))]
    std::hint::spin_loop();
    #[cfg(arb_loom)]
    loom::thread::yield_now();
}

/// Attempts a seqlock reader makes before reporting the writer busy: generous on real
/// threads, tiny under loom so the model stays small.
pub const READ_RETRIES: usize = if cfg!(arb_loom) { 2 } else { 1000 };
