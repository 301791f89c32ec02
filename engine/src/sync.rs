//! The atomics, fences, spin hint and thread parker the lock-free code (history, ranking
//! board, ring doorbell) uses, swapped for loom's under `--cfg arb_loom` so the model checks
//! in `tests/loom.rs` run the real code (crossbeam's `crossbeam_loom` pattern).

#[cfg(not(arb_loom))]
pub use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering, fence};

#[cfg(arb_loom)]
pub use loom::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering, fence};

/// The ordering of a seqlock writer's final, publishing store (history, ranking board):
/// `Release`, pairing with the reader's `Acquire` load of the sequence. `ci/loom.sh` also
/// builds the models with `--cfg arb_loom_mutant`, which weakens it to `Relaxed`, and
/// requires them to fail: proof that the models can catch a missing barrier.
pub const PUBLISH: Ordering = if cfg!(arb_loom_mutant) {
    Ordering::Relaxed
} else {
    Ordering::Release
};

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

#[cfg(not(arb_loom))]
pub use std::thread::Thread;

#[cfg(arb_loom)]
pub use loom::thread::Thread;

/// Returns a handle to the calling thread (for unparking it).
#[inline]
pub fn current_thread() -> Thread {
    #[cfg(not(arb_loom))]
    return std::thread::current();
    #[cfg(arb_loom)]
    return loom::thread::current();
}

/// Parks the calling thread until unparked or `timeout` passes. Loom has no timed park:
/// under loom it parks until unparked, so a lost wake-up shows as a deadlock.
#[inline]
pub fn park_timeout(timeout: std::time::Duration) {
    #[cfg(not(arb_loom))]
    std::thread::park_timeout(timeout);
    #[cfg(arb_loom)]
    {
        let _ = timeout;
        loom::thread::park();
    }
}
