//! After warm-up, the feed and core hot paths allocate nothing: a generated capture is
//! replayed through a feed worker, the spread core and the sink on one thread under a
//! counting global allocator; counting is switched on for the third pass only, which
//! includes a disconnect and a reconnect of every connection midway, and that pass must
//! not allocate at all, on any thread.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(
    unsafe_code,
    reason = "a counting global allocator is the instrument of this test"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arb_engine::event::ConnState;
use arb_engine::history::HistoryConfig;
use arb_engine::link;
use arb_engine::live_pairs::LivePairs;
use arb_engine::metrics::stage_channel;
use arb_engine::ring::{Doorbell, FullPolicy, RingBuffer, RingTx};
use arb_engine::worker::{CoreStats, CoreWorker};
use arb_engine::{CoreConfig, SpreadCore};
use arb_feeds::FrameKind;
use arb_feeds::capture::{CaptureReader, RecordKind};
use arb_feeds::feed::{FeedStats, FeedWorker};
use arb_io::sink::{SinkStats, SinkWorker};

struct Counting;

/// Allocations (and reallocations) made while `COUNTING` is on, on any thread.
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

fn count() {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: delegates to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: Delegated to the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: Delegated to the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: Delegated to the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn feed_core_and_sink_allocate_nothing_after_warm_up() {
    let dir = std::env::temp_dir().join(format!("arb-test-alloc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("a.arbcap");
    let out = Command::new(env!("CARGO_BIN_EXE_arb"))
        .args(["gen", "--out"])
        .arg(&cap)
        .args([
            "--symbols",
            "20",
            "--rate",
            "20000",
            "--duration",
            "2",
            "--seed",
            "3",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&cap).unwrap();
    let reader = CaptureReader::new(&bytes).unwrap();
    let registry = Arc::new(reader.symbols().unwrap());

    let bell = Doorbell::new();
    let (tx, rx) = link::channel(4096, 64, FullPolicy::DropNewest, Arc::clone(&bell));
    let (feed_rec, mut feed_col) = stage_channel(1_000_000, 2);
    let mut feed = FeedWorker::new(Arc::clone(&registry), tx, feed_rec, FeedStats::new());
    let config = CoreConfig {
        history: HistoryConfig {
            buckets: 60,
            bucket_ns: 1_000_000_000,
            raw_points: 50,
        },
        ..CoreConfig::default()
    };
    let (out_tx, out_rx) = RingBuffer::new(1 << 15);
    let (core_rec, mut core_col) = stage_channel(1_000_000, 2);
    let mut core = CoreWorker::new(
        SpreadCore::new(&registry, config),
        vec![rx],
        RingTx::new(out_tx, FullPolicy::DropNewest, Arc::clone(&bell)),
        core_rec,
        Arc::new(CoreStats::default()),
    );
    let (sink_rec, mut sink_col) = stage_channel(1_000_000, 2);
    let mut sink = SinkWorker::new(out_rx, sink_rec, Arc::new(SinkStats::default()))
        .with_spreads(LivePairs::new(registry.len(), config.stale_after_ns))
        .with_hash();

    // Every connection of the capture, collected before anything is measured.
    let mut conns: Vec<(arb_engine::Exchange, u16)> =
        reader.records().map(|r| (r.exchange, r.conn_id)).collect();
    conns.sort_unstable();
    conns.dedup();
    let total = reader.records().count() as u64;
    let mut pass = |shift: i64| {
        let mut n = 0u64;
        for rec in reader.records() {
            let ts = rec.recv_ts_ns + shift;
            feed.set_time_shift(shift);
            if n == total / 2 {
                // Every connection drops and comes back: decoders reset in place, the core
                // retires quotes and closes gaps.
                for &(ex, conn) in &conns {
                    feed.on_connection(ex, conn, ConnState::Disconnected, ts)
                        .unwrap();
                }
                for &(ex, conn) in &conns {
                    feed.on_connection(ex, conn, ConnState::Connected, ts + 1)
                        .unwrap();
                }
            }
            match rec.kind {
                RecordKind::Connected => feed
                    .on_connection(rec.exchange, rec.conn_id, ConnState::Connected, ts)
                    .unwrap(),
                RecordKind::Disconnected => feed
                    .on_connection(rec.exchange, rec.conn_id, ConnState::Disconnected, ts)
                    .unwrap(),
                RecordKind::Binary => feed.on_frame(
                    rec.exchange,
                    rec.conn_id,
                    FrameKind::Binary,
                    ts,
                    rec.payload,
                ),
                RecordKind::Ping => {
                    feed.on_frame(rec.exchange, rec.conn_id, FrameKind::Ping, ts, rec.payload)
                }
                RecordKind::Pong => {
                    feed.on_frame(rec.exchange, rec.conn_id, FrameKind::Pong, ts, rec.payload)
                }
                RecordKind::Close => {
                    feed.on_frame(rec.exchange, rec.conn_id, FrameKind::Close, ts, rec.payload)
                }
                RecordKind::Text => {
                    feed.on_frame(rec.exchange, rec.conn_id, FrameKind::Text, ts, rec.payload)
                }
            }
            n += 1;
            if n.is_multiple_of(64) {
                while core.pump() > 0 {}
                while sink.pump() > 0 {}
                feed.maybe_flush(n as i64 * 1_000, 0);
                core.maybe_flush();
                sink.maybe_flush();
            }
        }
        while core.pump() > 0 {}
        while sink.pump() > 0 {}
        n
    };
    let span = 10_000_000_000;
    pass(0);
    pass(span);
    // The collector runs on another thread in the real pipeline; here, between passes.
    feed_col.drain(|_| {});
    core_col.drain(|_| {});
    sink_col.drain(|_| {});
    COUNTING.store(true, Ordering::SeqCst);
    let records = pass(2 * span);
    COUNTING.store(false, Ordering::SeqCst);
    let during = ALLOCS.load(Ordering::SeqCst);
    assert!(records > 10_000);
    assert!(
        core.counters().disconnects >= 3 * conns.len() as u64,
        "each pass dropped every connection"
    );
    assert_eq!(
        during, 0,
        "{during} allocations while replaying {records} records after warm-up"
    );
    assert!(core.counters().spreads > 0);
    let _ = std::fs::remove_dir_all(&dir);
}
