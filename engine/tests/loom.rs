//! Loom models of the seqlocks: a reader of a window or of the ranking board never sees a
//! torn copy, whatever the interleaving with the single writer.
//!
//! Run: `RUSTFLAGS="--cfg arb_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom
//! cargo test -p arb-engine --test loom --release` (`ci/loom.sh`). Loom treats SeqCst as
//! AcqRel and skips load buffering: evidence, not proof.
#![cfg(arb_loom)]
#![allow(clippy::unwrap_used)]

use loom::sync::Arc;
use loom::thread;

use arb_engine::SymbolId;
use arb_engine::ranking::RankingBoard;
use arb_engine::window::{WindowConfig, WindowSnapshot, WindowStore};

#[test]
fn window_reader_sees_whole_points_only() {
    loom::model(|| {
        let store = Arc::new(WindowStore::new(
            1,
            WindowConfig {
                buckets: 2,
                bucket_ns: 10,
                raw_points: 2,
            },
        ));
        let writer = {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                // Point k: ts = k, all three values = k.
                store.record(0, 1, 1.0, 1.0, 1.0);
            })
        };
        let mut snap = WindowSnapshot::default();
        if store.read(0, &mut snap).is_ok() {
            for p in &snap.raw {
                assert_eq!(p.dev, p.ts_ns as f32);
                assert_eq!(p.exec_ab, p.dev);
                assert_eq!(p.exec_ba, p.dev);
            }
            if let (Some(b), Some(last)) = (snap.buckets.last(), snap.raw.last()) {
                assert_eq!(
                    b.count as usize,
                    snap.raw.len(),
                    "bucket and raw ring from one moment"
                );
                assert_eq!(b.dev.last, last.dev);
            }
        }
        writer.join().unwrap();
        store.read(0, &mut snap).unwrap();
        assert_eq!(snap.raw.len(), 1);
    });
}

#[test]
fn ranking_reader_sees_one_publication() {
    loom::model(|| {
        let board = Arc::new(RankingBoard::new(2));
        let writer = {
            let board = Arc::clone(&board);
            thread::spawn(move || {
                board.publish(1, &[(SymbolId(1), 1.0), (SymbolId(1), 1.0)]);
            })
        };
        let mut out = Vec::new();
        if let Some(ts) = board.read(&mut out) {
            match ts {
                0 => assert!(out.is_empty()),
                1 => assert_eq!(out, [(SymbolId(1), 1.0), (SymbolId(1), 1.0)]),
                _ => panic!("unknown publication {ts}"),
            }
        }
        writer.join().unwrap();
    });
}
