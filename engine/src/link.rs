//! The feed → core link: a bounded data ring plus a reserved lane for venue-state events,
//! which are never dropped and reach the core in their place in the data stream.
//!
//! Data (quotes, trades) goes through a [`RingTx`] under the feed's [`FullPolicy`]: a live
//! feed drops the newest item when the core falls behind. A lost `Disconnected` would leave
//! a dead connection's quotes live forever, so connection state travels on its own small
//! ring (the lane), stamped with the number of data items pushed before it. The receiving
//! side ([`FeedRx::pop`]) hands a state event to the core exactly when every data item
//! pushed before it has been taken, so the core sees one ordered stream, as if there were
//! one ring that never dropped state.
//!
//! A full lane makes the producer wait (spin, then sleep 20 µs) and counts the wait: state
//! changes come at most a few per reconnect, so a full lane means the core has stalled for
//! many reconnects; waiting then costs nothing a live feed could have used.
//!
//! # Examples
//!
//! ```
//! use arb_engine::event::{ConnState, VenueState};
//! use arb_engine::link;
//! use arb_engine::ring::{Doorbell, Envelope, FullPolicy};
//! use arb_engine::{Event, Exchange};
//!
//! let (mut tx, mut rx) = link::channel(1, 4, FullPolicy::DropNewest, Doorbell::new());
//! let state = |state| VenueState { exchange: Exchange::Okx, conn_id: 0, state, ts_ns: 1 };
//! assert!(tx.push(Envelope { item: Event::Venue(state(ConnState::Connected)), stamp_ns: 0 }));
//! // State events never enter the data ring, so a full or dropping data ring cannot lose them.
//! tx.push_state(state(ConnState::Disconnected), 0);
//! assert!(matches!(rx.pop().map(|e| e.item), Some(Event::Venue(v)) if v.state == ConnState::Connected));
//! assert!(matches!(rx.pop().map(|e| e.item), Some(Event::Venue(v)) if v.state == ConnState::Disconnected));
//! assert!(rx.pop().is_none());
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::event::{Event, VenueState};
use crate::ring::{Consumer, Doorbell, Envelope, FullPolicy, Producer, RingBuffer, RingTx};

/// State events the lane holds by default: a feed thread with 64 connections can report a
/// disconnect and a reconnect of every one of them twice before it has to wait.
pub const DEFAULT_LANE_CAPACITY: usize = 256;

/// A venue-state event on the lane, with its place in the data stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StateEnvelope {
    /// The state change.
    pub state: VenueState,
    /// Data items the producer had pushed (not dropped) before this event.
    pub after_data: u64,
    /// `clock::mono_ns()` when the producer pushed it.
    pub stamp_ns: i64,
}

/// Creates a link: a data ring of `data_capacity` under `policy` and a state lane of
/// `lane_capacity`, both waking the consumer through `bell`.
///
/// # Panics
/// If either capacity is zero (validated configuration never is).
pub fn channel(
    data_capacity: usize,
    lane_capacity: usize,
    policy: FullPolicy,
    bell: Arc<Doorbell>,
) -> (FeedTx, FeedRx) {
    assert!(data_capacity > 0 && lane_capacity > 0, "empty link");
    let (data_tx, data_rx) = RingBuffer::new(data_capacity);
    let (lane_tx, lane_rx) = RingBuffer::new(lane_capacity);
    let tx = FeedTx {
        data: RingTx::new(data_tx, policy, Arc::clone(&bell)),
        lane: lane_tx,
        bell,
        pushed: 0,
        lane_waits: Arc::default(),
    };
    let rx = FeedRx {
        data: data_rx,
        lane: lane_rx,
        popped: 0,
    };
    (tx, rx)
}

/// Returns the bytes one link reserves for its two rings.
pub const fn bytes_for(data_capacity: usize, lane_capacity: usize) -> usize {
    data_capacity * size_of::<Envelope<Event>>() + lane_capacity * size_of::<StateEnvelope>()
}

/// Producer half: the feed thread's end.
#[derive(Debug)]
pub struct FeedTx {
    data: RingTx<Envelope<Event>>,
    lane: Producer<StateEnvelope>,
    bell: Arc<Doorbell>,
    /// Data items pushed (not dropped) so far.
    pushed: u64,
    /// Times `push_state` found the lane full and waited.
    lane_waits: Arc<AtomicU64>,
}

impl FeedTx {
    /// Pushes an event: quotes and trades under the data ring's policy (returns `false`
    /// when dropped), venue-state events on the lane (never dropped).
    ///
    /// # Hot path
    /// Allocates never; syscalls none; blocks never for data under `DropNewest`.
    #[inline]
    pub fn push(&mut self, env: Envelope<Event>) -> bool {
        if let Event::Venue(state) = env.item {
            return self.push_state(state, env.stamp_ns);
        }
        let ok = self.data.push(env);
        self.pushed += u64::from(ok);
        ok
    }

    /// Pushes a venue-state event on the lane; waits while the lane is full. Returns
    /// `false` only if the consumer is gone.
    pub fn push_state(&mut self, state: VenueState, stamp_ns: i64) -> bool {
        let mut item = StateEnvelope {
            state,
            after_data: self.pushed,
            stamp_ns,
        };
        let mut spins = 0u32;
        loop {
            match self.lane.push(item) {
                Ok(()) => break,
                Err(rtrb::PushError::Full(back)) => item = back,
            }
            if spins == 0 {
                // Relaxed: a statistic.
                self.lane_waits.fetch_add(1, Ordering::Relaxed);
            }
            if self.lane.is_abandoned() {
                return false;
            }
            self.bell.ring();
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::sleep(Duration::from_micros(20));
            }
        }
        self.bell.ring();
        true
    }

    /// Wakes the consumer if it sleeps; call once per batch of pushes.
    #[inline]
    pub fn notify(&self) {
        self.bell.ring();
    }

    /// Returns the shared counter of data items dropped on a full ring.
    pub fn drops(&self) -> Arc<AtomicU64> {
        self.data.drops()
    }

    /// Returns the shared counter of pushes that found the data ring full.
    pub fn full_events(&self) -> Arc<AtomicU64> {
        self.data.full_events()
    }

    /// Returns the shared counter of state pushes that waited for lane space.
    pub fn lane_waits(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.lane_waits)
    }

    /// Returns the free slots of the data ring.
    pub fn free_slots(&self) -> usize {
        self.data.free_slots()
    }
}

/// Consumer half: the spread core's end.
#[derive(Debug)]
pub struct FeedRx {
    data: Consumer<Envelope<Event>>,
    lane: Consumer<StateEnvelope>,
    /// Data items taken so far; a state event with `after_data <= popped` is due.
    popped: u64,
}

impl FeedRx {
    /// Takes the next event in the producer's order (state events at their place).
    ///
    /// # Hot path
    /// Allocates never; syscalls none; blocks never.
    #[inline]
    pub fn pop(&mut self) -> Option<Envelope<Event>> {
        if let Ok(s) = self.lane.peek()
            && s.after_data <= self.popped
        {
            let s = *s;
            let _ = self.lane.pop();
            return Some(Envelope {
                item: Event::Venue(s.state),
                stamp_ns: s.stamp_ns,
            });
        }
        // NB: a state event seen on the lane was pushed after its `after_data` data items,
        // and the lane's Acquire pop makes those items visible here.
        let env = self.data.pop().ok()?;
        self.popped += 1;
        Some(env)
    }

    /// Returns `true` if neither ring holds anything.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.lane.is_empty()
    }

    /// Returns `true` once the producer hung up.
    pub fn is_abandoned(&self) -> bool {
        self.data.is_abandoned()
    }

    /// Returns the items waiting in both rings.
    pub fn slots(&self) -> usize {
        self.data.slots() + self.lane.slots()
    }
}

#[cfg(test)]
mod layout_tests {
    #[test]
    fn a_lane_slot_is_half_a_cache_line() {
        assert_eq!(size_of::<super::StateEnvelope>(), 32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ConnState, Exchange, Quote, SymbolId};

    fn quote(n: u64) -> Envelope<Event> {
        Envelope {
            item: Event::Quote(Quote {
                symbol: SymbolId(0),
                exchange: Exchange::Bybit,
                conn_id: 3,
                bid_px: 1.0,
                bid_qty: 1.0,
                ask_px: 2.0,
                ask_qty: 1.0,
                exch_ts_ns: 0,
                recv_ts_ns: n as i64,
            }),
            stamp_ns: 0,
        }
    }

    fn state(state: ConnState, ts_ns: i64) -> VenueState {
        VenueState {
            exchange: Exchange::Bybit,
            conn_id: 3,
            state,
            ts_ns,
        }
    }

    /// Issue 6, item 2: a disconnect must reach the core even when the data ring is full
    /// and drops, and after the data that preceded it.
    #[test]
    fn state_events_survive_a_full_data_ring_in_order() {
        let (mut tx, mut rx) = channel(4, 2, FullPolicy::DropNewest, Doorbell::new());
        for n in 0..10 {
            tx.push(quote(n));
        }
        assert_eq!(tx.drops().load(Ordering::Relaxed), 6);
        assert!(tx.push_state(state(ConnState::Disconnected, 100), 0));
        tx.push(quote(10)); // dropped: the ring is still full
        let mut seen = Vec::new();
        while let Some(e) = rx.pop() {
            seen.push(match e.item {
                Event::Quote(q) => q.recv_ts_ns,
                Event::Venue(v) => -v.ts_ns,
                Event::Trade(_) => unreachable!(),
            });
        }
        assert_eq!(seen, [0, 1, 2, 3, -100]);
        // After draining, new data and a reconnect keep their order.
        tx.push(quote(11));
        tx.push_state(state(ConnState::Connected, 200), 0);
        tx.push(quote(12));
        let order: Vec<i64> = std::iter::from_fn(|| rx.pop())
            .map(|e| match e.item {
                Event::Quote(q) => q.recv_ts_ns,
                Event::Venue(v) => -v.ts_ns,
                Event::Trade(_) => unreachable!(),
            })
            .collect();
        assert_eq!(order, [11, -200, 12]);
    }

    #[test]
    fn a_full_lane_waits_for_the_consumer_and_loses_nothing() {
        const N: i64 = if cfg!(miri) { 100 } else { 5_000 };
        let bell = Doorbell::new();
        let (mut tx, mut rx) = channel(8, 2, FullPolicy::DropNewest, Arc::clone(&bell));
        let consumer = std::thread::spawn(move || {
            bell.bind();
            let mut next = 0;
            while next < N {
                match rx.pop() {
                    Some(Envelope {
                        item: Event::Venue(v),
                        ..
                    }) => {
                        assert_eq!(v.ts_ns, next);
                        next += 1;
                    }
                    Some(_) => {}
                    None => bell.sleep(Duration::from_micros(100), || !rx.is_empty()),
                }
            }
        });
        for n in 0..N {
            tx.push(quote(n as u64));
            assert!(tx.push_state(state(ConnState::Connected, n), 0));
        }
        consumer.join().unwrap();
        assert!(tx.lane_waits().load(Ordering::Relaxed) > 0);
    }
}
