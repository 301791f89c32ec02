//! A reader thread copying a window while the core writes it never sees a torn window.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arb_engine::window::{WindowConfig, WindowSnapshot, WindowStore};

const N: i64 = if cfg!(miri) { 1_000 } else { 300_000 };

#[test]
fn concurrent_reader_sees_only_consistent_snapshots() {
    let store = Arc::new(WindowStore::new(
        1,
        WindowConfig {
            buckets: 16,
            bucket_ns: 100,
            raw_points: 64,
        },
    ));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut snap = WindowSnapshot::default();
            let (mut reads, mut busy) = (0u64, 0u64);
            while !done.load(Ordering::Relaxed) {
                match store.read(0, &mut snap) {
                    Ok(()) => reads += 1,
                    Err(_) => {
                        busy += 1;
                        continue;
                    }
                }
                // Each point was written as (ts = k, dev = ab = ba = k), k increasing.
                for w in snap.raw.windows(2) {
                    assert_eq!(w[1].ts_ns, w[0].ts_ns + 1, "raw points contiguous");
                }
                for p in &snap.raw {
                    assert_eq!(p.dev, p.ts_ns as f32);
                    assert_eq!(p.exec_ab, p.dev);
                    assert_eq!(p.exec_ba, p.dev);
                }
                for b in &snap.buckets {
                    assert_eq!(b.dev.max, b.dev.last, "increasing values: last is max");
                    assert_eq!(
                        b.dev.min, b.start_ns as f32,
                        "first point of a bucket is its start"
                    );
                    assert!(b.count >= 1 && b.count <= 100);
                }
                if let (Some(last_raw), Some(last_bucket)) = (snap.raw.last(), snap.buckets.last())
                {
                    assert_eq!(
                        last_bucket.dev.last, last_raw.dev,
                        "buckets and raw ring from the same moment"
                    );
                }
            }
            (reads, busy)
        })
    };
    for k in 0..N {
        store.record(0, k, k as f64, k as f64, k as f64);
    }
    done.store(true, Ordering::Relaxed);
    let (reads, _busy) = reader.join().unwrap();
    assert!(
        reads > 0,
        "the reader completed at least one consistent read"
    );
}
