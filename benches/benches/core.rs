//! The spread core's per-quote update, and the SPSC ring hop between two threads.
//!
//! - `core/on_quote`: [`SpreadCore::on_event`] on 1000 symbols x 8 venues (one history
//!   series per symbol and venue, 300 buckets x 1 s, 256 raw points), every slot
//!   pre-filled, cycling through 8192 precomputed quotes (shuffled symbols and venues,
//!   jittered prices) with receive times 100 µs apart. Each quote computes 7 pair spreads
//!   for signals and the ranking and appends once to its venue's history. Reported per
//!   quote. `core/on_quote_8_symbols` runs the same update on 8 symbols whose state stays
//!   in cache.
//! - `ring_hop/*`: an `rtrb` SPSC ring of `Envelope<Event>` (the engine's ring type)
//!   between two threads, rtrb's `two_threads` pattern: `iter_custom`, a `Barrier` to start
//!   both sides, time from the first start to the last stop, every popped value
//!   `black_box`ed. One iteration is one burst: the producer pushes `burst` envelopes, the
//!   consumer pops them and acknowledges the burst through an atomic, and the producer
//!   waits for that before the next burst (disruptor-rs `spsc` pattern). `burst = 1` is
//!   therefore a round trip: one ring hop there and one cache-line hop back. `base/*` runs
//!   the same loop on one thread: ring and harness cost without any cross-core traffic.
//!
//! NB: the development and CI machines are 2-vCPU VMs whose hypervisor stalls spinning
//! threads for milliseconds. Both ring threads spin (yielding after a while so a
//! descheduled peer can run), the second thread fights criterion's own thread for the two
//! vCPUs, and the numbers are noisy: read the ring hop as an order of magnitude, not a
//! latency claim (`tuning.md` has the procedure for a tuned host).
//!
//! Run: `cargo bench -p arb-benches --profile bench-lto --bench core`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use arb_engine::clock;
use arb_engine::event::{Event, Exchange, Quote, SymbolId};
use arb_engine::ring::{Consumer, Envelope, Producer, RingBuffer};
use arb_engine::{CoreConfig, HistoryConfig, SpreadCore, SymbolRegistry};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_utils::CachePadded;

const SYMBOLS: u32 = 1000;
/// Precomputed quotes; a power of two, more than `SYMBOLS * 8` so every slot recurs.
const QUOTES: usize = 8192;
/// Receive-time step between quotes: 8192 quotes span 0.8 s, well inside the core's 5 s
/// staleness limit, so every other leg stays live.
const STEP_NS: i64 = 100_000;
const T0_NS: i64 = 1_700_000_000_000_000_000;
/// Symbols of the cache-resident variant.
const HOT_SYMBOLS: u32 = 8;

/// xorshift64: deterministic inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn quote(rng: &mut Rng, symbol: u32, exchange: Exchange, ts_ns: i64) -> Quote {
    let base = 0.5 + f64::from(symbol) * 0.37;
    // ±0.2 % between venues: deviations up to 0.4 %, so a few cross the 0.35 % entry.
    let mid = base * (1.0 + (rng.unit() - 0.5) * 0.004);
    Quote {
        symbol: SymbolId(symbol),
        exchange,
        conn_id: 0,
        bid_px: mid * 0.9995,
        bid_qty: 1.0 + rng.unit() * 10.0,
        ask_px: mid * 1.0005,
        ask_qty: 1.0 + rng.unit() * 10.0,
        exch_ts_ns: ts_ns - 1_000_000,
        recv_ts_ns: ts_ns,
    }
}

fn spread_core(c: &mut Criterion) {
    let mut reg = SymbolRegistry::new();
    for s in 0..SYMBOLS {
        for ex in Exchange::ALL {
            reg.insert(ex, &format!("C{s}USDT"), &format!("C{s}"), "USDT")
                .expect("valid symbol");
        }
    }
    let mut core = SpreadCore::new(
        &reg,
        CoreConfig {
            history: HistoryConfig {
                buckets: 300,
                bucket_ns: 1_000_000_000,
                raw_points: 256,
            },
            ..Default::default()
        },
    );

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ts = T0_NS;
    for s in 0..SYMBOLS {
        for ex in Exchange::ALL {
            core.on_event(&Event::Quote(quote(&mut rng, s, ex, ts)), &mut |_| {});
        }
    }

    // Every (symbol, venue) slot once in shuffled order, then random extras.
    let mut slots: Vec<(u32, Exchange)> = (0..SYMBOLS)
        .flat_map(|s| Exchange::ALL.map(|ex| (s, ex)))
        .collect();
    for i in (1..slots.len()).rev() {
        slots.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    while slots.len() < QUOTES {
        let s = (rng.next() % u64::from(SYMBOLS)) as u32;
        slots.push((s, Exchange::ALL[(rng.next() % 8) as usize]));
    }
    let quotes: Vec<Quote> = slots
        .iter()
        .map(|&(s, ex)| quote(&mut rng, s, ex, 0))
        .collect();

    // Setup check: one pass updates 7 pairs per quote and finds no stale leg.
    let before = *core.counters();
    for q in &quotes {
        ts += STEP_NS;
        let q = Quote {
            recv_ts_ns: ts,
            exch_ts_ns: ts - 1_000_000,
            ..*q
        };
        core.on_event(&Event::Quote(q), &mut |_| {});
    }
    let after = *core.counters();
    assert_eq!(after.spreads - before.spreads, 7 * QUOTES as u64);
    assert_eq!(after.stale_legs, 0);

    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function("on_quote", |b| {
        b.iter(|| {
            ts += STEP_NS;
            let q = Quote {
                recv_ts_ns: ts,
                exch_ts_ns: ts - 1_000_000,
                ..quotes[i & (QUOTES - 1)]
            };
            i = i.wrapping_add(1);
            core.on_event(black_box(&Event::Quote(q)), &mut |o| {
                black_box(o);
            });
        });
    });
    assert_eq!(
        core.counters().stale_legs,
        0,
        "legs went stale: raise STEP_NS coverage"
    );

    // The same update with the working set in cache: 8 symbols x 8 venues cycling, so the
    // difference to `on_quote` is the cost of reaching cold history series.
    // Runs last: it lets the other 992 symbols' legs go stale.
    let mut hot: Vec<Quote> = (0..HOT_SYMBOLS)
        .flat_map(|s| Exchange::ALL.map(|ex| (s, ex)))
        .map(|(s, ex)| quote(&mut rng, s, ex, 0))
        .collect();
    for k in (1..hot.len()).rev() {
        hot.swap(k, (rng.next() % (k as u64 + 1)) as usize);
    }
    assert!(hot.len().is_power_of_two());
    let mut j = 0usize;
    group.bench_function("on_quote_8_symbols", |b| {
        b.iter(|| {
            ts += STEP_NS;
            let q = Quote {
                recv_ts_ns: ts,
                exch_ts_ns: ts - 1_000_000,
                ..hot[j & (hot.len() - 1)]
            };
            j = j.wrapping_add(1);
            core.on_event(black_box(&Event::Quote(q)), &mut |o| {
                black_box(o);
            });
        });
    });
    group.finish();
}

type Env = Envelope<Event>;

/// Ring capacity: above the largest burst, so the producer never finds it full.
const RING_SLOTS: usize = 1024;
const BURSTS: [u64; 3] = [1, 16, 256];

fn envelope(i: u64) -> Env {
    let ts = i as i64;
    Envelope {
        item: Event::Quote(Quote {
            symbol: SymbolId((i % 1000) as u32),
            exchange: Exchange::Binance,
            conn_id: 0,
            bid_px: 100.0,
            bid_qty: 1.0,
            ask_px: 100.5,
            ask_qty: 1.0,
            exch_ts_ns: ts,
            recv_ts_ns: ts,
        }),
        stamp_ns: ts,
    }
}

/// Waits for `ready`: spins with a hint, and yields the vCPU every 1024 misses so a
/// descheduled peer on a 2-vCPU machine can run.
#[inline]
fn wait_until(mut ready: impl FnMut() -> bool) {
    let mut misses = 0u32;
    while !ready() {
        misses = misses.wrapping_add(1);
        if misses.is_multiple_of(1024) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

#[inline]
fn push(tx: &mut Producer<Env>, mut item: Env) {
    loop {
        match tx.push(item) {
            Ok(()) => return,
            Err(rtrb::PushError::Full(back)) => {
                item = back;
                std::hint::spin_loop();
            }
        }
    }
}

#[inline]
fn pop(rx: &mut Consumer<Env>) -> Env {
    let mut item = None;
    wait_until(|| {
        item = rx.pop().ok();
        item.is_some()
    });
    match item {
        Some(v) => v,
        None => unreachable!("wait_until returned"),
    }
}

fn elapsed(start_ns: i64, stop_ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(stop_ns - start_ns).unwrap_or(0))
}

/// `iters` bursts of `burst` envelopes through the ring, producer and consumer on one
/// thread: the ring operations and the acknowledgement, without a second core.
fn base(iters: u64, burst: u64) -> Duration {
    let (mut tx, mut rx) = RingBuffer::<Env>::new(RING_SLOTS);
    let acked = CachePadded::new(AtomicU64::new(0));
    let start = clock::mono_ns();
    let mut sent = 0u64;
    for _ in 0..iters {
        for _ in 0..burst {
            push(&mut tx, envelope(sent));
            sent += 1;
        }
        for _ in 0..burst {
            black_box(pop(&mut rx));
        }
        acked.store(sent, Ordering::Release);
        wait_until(|| acked.load(Ordering::Acquire) >= sent);
    }
    elapsed(start, clock::mono_ns())
}

/// `iters` bursts of `burst` envelopes from a producer thread to this thread; each burst
/// waits for the consumer's acknowledgement of the previous one.
fn two_threads(iters: u64, burst: u64) -> Duration {
    let (mut tx, mut rx) = RingBuffer::<Env>::new(RING_SLOTS);
    // Padded: the acknowledgement must not share a line with anything the ring touches.
    let acked = Arc::new(CachePadded::new(AtomicU64::new(0)));
    let barrier = Arc::new(Barrier::new(2));
    let producer = {
        let acked = Arc::clone(&acked);
        let barrier = Arc::clone(&barrier);
        std::thread::Builder::new()
            .name("bench-producer".into())
            .spawn(move || {
                barrier.wait();
                let start = clock::mono_ns();
                let mut sent = 0u64;
                for _ in 0..iters {
                    for _ in 0..burst {
                        push(&mut tx, envelope(sent));
                        sent += 1;
                    }
                    // Acquire pairs with the consumer's Release store of the count.
                    wait_until(|| acked.load(Ordering::Acquire) >= sent);
                }
                (start, clock::mono_ns())
            })
            .expect("spawn producer")
    };
    barrier.wait();
    let start = clock::mono_ns();
    let total = iters * burst;
    let mut got = 0u64;
    while got < total {
        black_box(pop(&mut rx));
        got += 1;
        if got.is_multiple_of(burst) {
            acked.store(got, Ordering::Release);
        }
    }
    let stop = clock::mono_ns();
    let (p_start, p_stop) = producer.join().expect("producer thread");
    elapsed(start.min(p_start), stop.max(p_stop))
}

fn ring_hop(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring_hop");
    // Short: each sample spawns a thread, and long spins invite hypervisor stalls.
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1));
    for burst in BURSTS {
        group.throughput(Throughput::Elements(burst));
        group.bench_with_input(BenchmarkId::new("base", burst), &burst, |b, &burst| {
            b.iter_custom(|iters| base(iters, burst));
        });
        group.bench_with_input(
            BenchmarkId::new("two_threads", burst),
            &burst,
            |b, &burst| {
                b.iter_custom(|iters| two_threads(iters, burst));
            },
        );
    }
    group.finish();
}

criterion_group!(benches, spread_core, ring_hop);
criterion_main!(benches);
