//! After warm-up, decoding a frame allocates nothing: every fixture line of every venue is
//! decoded again and again under a counting global allocator.
#![allow(clippy::unwrap_used)]
#![allow(
    unsafe_code,
    reason = "a counting global allocator is the instrument of this test"
)]

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use arb_engine::Exchange;
use arb_feeds::{AnyDecoder, Decoded, FrameDecoder, FrameKind};
use base64::Engine as _;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: delegates to the system allocator unchanged; only counts calls on this thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: Delegated to the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: Delegated to the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: Delegated to the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

/// Every fixture frame of a venue, as (kind, bytes) the decoder would receive.
fn frames(venue: &str) -> Vec<(FrameKind, Vec<u8>)> {
    let dir = util::data_path(venue, "");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".jsonl") {
            continue;
        }
        for line in util::lines(venue, &name) {
            if let Some(b64) = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| {
                    v.get("wire_b64")
                        .and_then(|w| w.as_str())
                        .map(str::to_owned)
                })
            {
                out.push((
                    FrameKind::Binary,
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .unwrap(),
                ));
            } else {
                out.push((FrameKind::Text, line.into_bytes()));
            }
        }
    }
    if venue == "bingx" {
        // The real wire form: gzip binary frames.
        let gz: Vec<(FrameKind, Vec<u8>)> = out
            .iter()
            .map(|(_, text)| {
                use std::io::Write as _;
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(text).unwrap();
                (FrameKind::Binary, e.finish().unwrap())
            })
            .collect();
        out.extend(gz);
    }
    out
}

#[test]
fn the_counter_counts() {
    let before = allocs();
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(allocs() > before);
    drop(v);
}

#[test]
fn decoding_allocates_nothing_after_warm_up() {
    for ex in Exchange::ALL {
        let frames = frames(ex.as_str());
        assert!(!frames.is_empty(), "{ex}: no fixtures");
        let mut fast = AnyDecoder::new(ex);
        let mut slow = AnyDecoder::new(ex);
        let mut sink = 0.0f64;
        let pass = |fast: &mut AnyDecoder, slow: &mut AnyDecoder, sink: &mut f64| {
            for (kind, f) in &frames {
                let mut add = |d: Decoded<'_>| {
                    if let Decoded::Quote(q) = d {
                        *sink += q.bid_px;
                    }
                };
                let _ = fast.decode(*kind, f, &mut add);
                let _ = slow.decode_validating(*kind, f, &mut add);
            }
        };
        for _ in 0..3 {
            pass(&mut fast, &mut slow, &mut sink);
        }
        let before = allocs();
        for _ in 0..100 {
            pass(&mut fast, &mut slow, &mut sink);
        }
        let during = allocs() - before;
        assert_eq!(
            during,
            0,
            "{ex}: {during} allocations in 100 passes over {} frames after warm-up",
            frames.len()
        );
        assert!(sink.is_finite());
    }
}
