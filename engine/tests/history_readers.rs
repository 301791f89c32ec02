//! A reader thread copying a series while the core appends to it never sees a torn copy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arb_engine::history::{HistoryConfig, HistoryStore, SeriesCursor, SeriesSnapshot};

const N: i64 = if cfg!(miri) { 1_000 } else { 300_000 };

/// Point k: time k, bid k, ask k + 0.5 (exact in f32 for k < 2^22).
fn px(k: i64) -> (f64, f64) {
    let k = (k % (1 << 22)) as f64;
    (k, k + 0.5)
}

#[test]
fn concurrent_reader_sees_only_consistent_snapshots() {
    let store = Arc::new(HistoryStore::with_series(
        1,
        HistoryConfig {
            buckets: 16,
            bucket_ns: 100,
            raw_points: 64,
        },
    ));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut snap = SeriesSnapshot::default();
            let mut reads = 0u64;
            while !done.load(Ordering::Relaxed) {
                if store.read(0, &mut snap).is_err() {
                    continue;
                }
                reads += 1;
                for w in snap.raw.windows(2) {
                    assert_eq!(w[1].ts_ns, w[0].ts_ns + 1, "raw points contiguous");
                }
                for p in &snap.raw {
                    let (bid, ask) = px(p.ts_ns);
                    assert_eq!((p.bid, p.ask), (bid as f32, ask as f32));
                }
                for b in &snap.buckets {
                    let last = b.bucket_no * 100 + 99;
                    let head = snap.raw.last().map_or(i64::MAX, |p| p.ts_ns);
                    let (bid, _) = px(last.min(head));
                    assert_eq!(b.last_bid, bid as f32, "bucket {} last", b.bucket_no);
                    assert!(b.min_bid <= (b.bucket_no * 100 % (1 << 22)) as f32);
                }
                if let (Some(p), Some(b)) = (snap.raw.last(), snap.buckets.last()) {
                    assert_eq!(
                        b.bucket_no,
                        p.ts_ns / 100,
                        "buckets and raw from one moment"
                    );
                    assert_eq!(b.last_ask, p.ask);
                }
            }
            reads
        })
    };
    let mut cursor = SeriesCursor::default();
    for k in 0..N {
        let (bid, ask) = px(k);
        store.append(0, &mut cursor, k, bid, ask);
    }
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(
        reads > 0,
        "the reader completed at least one consistent read"
    );
}
