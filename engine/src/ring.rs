//! Bounded SPSC rings between threads, with an explicit full-ring policy and a doorbell
//! that wakes a sleeping consumer.
//!
//! Every queue in arb is an `rtrb` ring sized at start-up. A full ring never grows. What
//! happens instead is the producer's [`FullPolicy`], counted either way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::sync::Thread;
use std::time::Duration;

pub use rtrb::{Consumer, Producer, RingBuffer};

/// An item with the monotonic time it entered the ring (for stage latency).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Envelope<T> {
    /// The item.
    pub item: T,
    /// `clock::mono_ns()` when the producer finished with it.
    pub stamp_ns: i64,
}

/// What a producer does when its ring is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullPolicy {
    /// Drop the new item and count it. Live feeds always use this: a socket thread must
    /// never stall behind the core.
    DropNewest,
    /// Wait (spin, then sleep briefly) until there is space. Only for sources that lose
    /// nothing by waiting: replaying a file.
    WaitForSpace,
}

/// Wakes a consumer that went to sleep on an empty ring.
///
/// Built on the thread parker's token (`std::thread::park` / `Thread::unpark`): a
/// producer's [`Doorbell::ring`] after a push always unparks the consumer; an unpark that
/// lands before the consumer parks leaves a token that makes the park return at once. So
/// whatever the interleaving of "consumer checks its rings and finds nothing" with "producer
/// pushes and rings", the consumer cannot sleep through a push: no flag, no fence pairing
/// to get right (issue 6: the earlier flag-and-fence version lacked the consumer's fence).
/// The park timeout only bounds the cost of a consumer that was never bound.
///
/// Model-checked under loom (`tests/loom.rs`, `doorbell_never_sleeps_through_a_push`): a
/// lost wake-up there is a deadlock, which loom reports.
#[derive(Debug, Default)]
pub struct Doorbell {
    thread: OnceLock<Thread>,
}

impl Doorbell {
    /// Creates a doorbell; the consumer thread registers itself with [`Doorbell::bind`].
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Registers the calling thread as the one to wake.
    pub fn bind(&self) {
        let _ = self.thread.set(crate::sync::current_thread());
    }

    /// Wakes the consumer, or makes its next sleep return at once.
    ///
    /// # Hot path
    /// Allocates never; one atomic swap on the consumer's parker when it is awake; one
    /// futex wake syscall when it sleeps; may block no.
    #[inline]
    pub fn ring(&self) {
        // The loom mutant build (ci/loom.sh) rings no bell, so the doorbell model must
        // deadlock there: proof that it catches a lost wake-up.
        if cfg!(arb_loom_mutant) {
            return;
        }
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    /// Sleeps up to `timeout` unless `has_work` is true. Call only from the bound thread.
    ///
    /// May return early (a token left by an earlier ring): callers re-check their rings.
    pub fn sleep(&self, timeout: Duration, has_work: impl Fn() -> bool) {
        if !has_work() {
            crate::sync::park_timeout(timeout);
        }
    }
}

/// How an idle thread waits for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitMode {
    /// Spin with `spin_loop` hints: lowest latency, one core per hot thread. For tuned hosts
    /// with isolated cores.
    BusyPoll,
    /// Spin briefly, then yield, then park on the doorbell: correct on a machine with fewer
    /// cores than hot threads (the 2-vCPU development VMs).
    Wait,
}

/// Idle strategy state of one consumer.
#[derive(Debug)]
pub struct Idle {
    mode: WaitMode,
    rounds: u32,
}

impl Idle {
    /// Spins before yielding in `Wait` mode.
    const SPINS: u32 = 64;
    /// Yields before parking in `Wait` mode.
    const YIELDS: u32 = 16;
    /// Longest park; bounds the cost of a missed wake-up.
    pub const PARK: Duration = Duration::from_micros(500);

    /// Creates an idle strategy.
    pub fn new(mode: WaitMode) -> Self {
        Idle { mode, rounds: 0 }
    }

    /// Call when a poll found work.
    #[inline]
    pub fn reset(&mut self) {
        self.rounds = 0;
    }

    /// Call when a poll found nothing.
    #[inline]
    pub fn idle(&mut self, bell: &Doorbell, has_work: impl Fn() -> bool) {
        self.rounds = self.rounds.saturating_add(1);
        match self.mode {
            WaitMode::BusyPoll => std::hint::spin_loop(),
            WaitMode::Wait if self.rounds <= Self::SPINS => std::hint::spin_loop(),
            WaitMode::Wait if self.rounds <= Self::SPINS + Self::YIELDS => std::thread::yield_now(),
            WaitMode::Wait => bell.sleep(Self::PARK, has_work),
        }
    }
}

/// Producer half of a ring with its full policy and drop counter.
#[derive(Debug)]
pub struct RingTx<T> {
    tx: Producer<T>,
    policy: FullPolicy,
    bell: Arc<Doorbell>,
    /// Items dropped because the ring was full (`DropNewest`).
    drops: Arc<AtomicU64>,
    /// Times the producer found the ring full (either policy).
    full_events: Arc<AtomicU64>,
}

impl<T> RingTx<T> {
    /// Wraps a producer.
    pub fn new(tx: Producer<T>, policy: FullPolicy, bell: Arc<Doorbell>) -> Self {
        RingTx {
            tx,
            policy,
            bell,
            drops: Arc::default(),
            full_events: Arc::default(),
        }
    }

    /// Returns the shared drop counter.
    pub fn drops(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.drops)
    }

    /// Returns the shared ring-full counter.
    pub fn full_events(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.full_events)
    }

    /// Pushes `item` under the ring's policy; returns `false` if it was dropped. Does not
    /// ring the doorbell: call [`RingTx::notify`] once per batch.
    ///
    /// # Hot path
    /// Allocates never; syscalls none (`WaitForSpace` may sleep); `DropNewest` blocks never.
    #[inline]
    pub fn push(&mut self, item: T) -> bool {
        match self.tx.push(item) {
            Ok(()) => true,
            Err(rtrb::PushError::Full(mut item)) => {
                // Relaxed: a statistic, read by the collector.
                self.full_events.fetch_add(1, Ordering::Relaxed);
                match self.policy {
                    FullPolicy::DropNewest => {
                        self.drops.fetch_add(1, Ordering::Relaxed);
                        false
                    }
                    FullPolicy::WaitForSpace => {
                        let mut spins = 0u32;
                        loop {
                            self.bell.ring();
                            match self.tx.push(item) {
                                Ok(()) => return true,
                                Err(rtrb::PushError::Full(back)) => item = back,
                            }
                            if self.tx.is_abandoned() {
                                return false;
                            }
                            spins += 1;
                            if spins < 64 {
                                std::hint::spin_loop();
                            } else {
                                std::thread::sleep(Duration::from_micros(20));
                            }
                        }
                    }
                }
            }
        }
    }

    /// Wakes the consumer if it sleeps.
    #[inline]
    pub fn notify(&self) {
        self.bell.ring();
    }

    /// Returns the free slots.
    pub fn free_slots(&self) -> usize {
        self.tx.slots()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_newest_counts_and_never_grows() {
        let (tx, mut rx) = RingBuffer::new(2);
        let mut tx = RingTx::new(tx, FullPolicy::DropNewest, Doorbell::new());
        assert!(tx.push(1));
        assert!(tx.push(2));
        assert!(!tx.push(3));
        assert_eq!(tx.drops().load(Ordering::Relaxed), 1);
        assert_eq!(rx.pop(), Ok(1));
        assert_eq!(rx.pop(), Ok(2));
        assert!(rx.pop().is_err());
    }

    #[test]
    fn wait_for_space_loses_nothing_across_threads() {
        const N: u64 = if cfg!(miri) { 1_000 } else { 200_000 };
        let bell = Doorbell::new();
        let (tx, mut rx) = RingBuffer::new(64);
        let mut tx = RingTx::new(tx, FullPolicy::WaitForSpace, Arc::clone(&bell));
        let consumer = std::thread::spawn(move || {
            bell.bind();
            let mut idle = Idle::new(WaitMode::Wait);
            let (mut next, mut sum) = (0u64, 0u64);
            while next < N {
                match rx.pop() {
                    Ok(v) => {
                        assert_eq!(v, next);
                        next += 1;
                        sum += v;
                        idle.reset();
                    }
                    Err(_) => idle.idle(&bell, || !rx.is_empty()),
                }
            }
            sum
        });
        for i in 0..N {
            assert!(tx.push(i));
            tx.notify();
        }
        assert_eq!(consumer.join().unwrap(), N * (N - 1) / 2);
        assert_eq!(tx.drops().load(Ordering::Relaxed), 0);
    }
}
