//! Fuzz target: the Bybit decoder returns `Err` or items on any bytes, never panics, and
//! its fast path agrees with its validating path.
#![no_main]

use arb_engine::Exchange;
use arb_feeds::{AnyDecoder, FrameDecoder, FrameKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (kind, frame) = match data.split_first() {
        Some((k, rest)) => (if k & 1 == 0 { FrameKind::Text } else { FrameKind::Binary }, rest),
        None => return,
    };
    let mut fast = Vec::new();
    let mut slow = Vec::new();
    let a = AnyDecoder::new(Exchange::Bybit).decode(kind, frame, &mut |d| fast.push(format!("{d:?}")));
    let b = AnyDecoder::new(Exchange::Bybit).decode_validating(kind, frame, &mut |d| slow.push(format!("{d:?}")));
    assert_eq!(a, b);
    assert_eq!(fast, slow);
});
