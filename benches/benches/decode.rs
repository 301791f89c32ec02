//! Decode cost per frame, per venue and message: arb's fast path, its validating simd-json
//! path and a serde_json baseline side by side in one group.
//!
//! Groups are `<venue>/<message>[_gzip|_protobuf]`, functions:
//! - `fast`: [`FrameDecoder::decode`] on a reused decoder (layout-specific scanner, falling
//!   back to simd-json on anything unexpected);
//! - `simd_json`: [`FrameDecoder::decode_validating`], the general validating tape path;
//! - `serde_json`: [`Baseline`], `serde_json::from_slice` into borrowed derive structs and
//!   `str::parse::<f64>()`, what most Rust exchange libraries do.
//!
//! MEXC frames are protobuf: its decoder has one path (`decode_validating` is `decode`) and
//! there is no JSON baseline, so its groups hold `fast` only. BingX frames are measured as
//! the fixture text and as the gzip binary frame the server really sends; on gzip frames
//! the serde_json baseline gunzips with `flate2` too, so all three pay for inflating.
//!
//! Throughput is `Bytes(frame.len())` (the wire bytes: compressed for gzip), so criterion
//! prints MB/s next to the time per frame. Headline budget: Binance `book_ticker` ≤ 100 ns.
//!
//! Run: `cargo bench -p arb-benches --profile bench-lto --bench decode`.

use std::hint::black_box;

use arb_benches::baseline::Baseline;
use arb_benches::fixtures::{self, BenchFrame, Encoding};
use arb_engine::Exchange;
use arb_feeds::binance::BinanceDecoder;
use arb_feeds::bingx::BingxDecoder;
use arb_feeds::bitget::BitgetDecoder;
use arb_feeds::bybit::BybitDecoder;
use arb_feeds::gateio::GateioDecoder;
use arb_feeds::kucoin::KucoinDecoder;
use arb_feeds::mexc::MexcDecoder;
use arb_feeds::okx::OkxDecoder;
use arb_feeds::{Decoded, FrameDecoder};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Decodes `frame` once on a fresh decoder and fails the bench unless it yields exactly one
/// item: a decoder that errors (e.g. `Unsupported("decoder not written yet")`) or emits
/// nothing would otherwise be timed on its error path.
fn check<D: FrameDecoder>(mut dec: D, frame: &BenchFrame, validating: bool) {
    let name = frame.name();
    let mut items = 0;
    let mut sink = |d: Decoded<'_>| {
        assert!(
            !matches!(d, Decoded::Control(_)),
            "{name}: decoded to a control message: {d:?}"
        );
        items += 1;
    };
    let res = if validating {
        dec.decode_validating(frame.kind(), &frame.bytes, &mut sink)
    } else {
        dec.decode(frame.kind(), &frame.bytes, &mut sink)
    };
    if let Err(e) = res {
        panic!("{name}: decoder failed at setup (validating: {validating}): {e}");
    }
    assert_eq!(items, 1, "{name}: expected one item");
}

fn bench_frame<D: FrameDecoder>(c: &mut Criterion, frame: &BenchFrame, new: fn() -> D) {
    // MEXC: protobuf only, one decoding path.
    let validating = frame.encoding != Encoding::Protobuf;
    check(new(), frame, false);
    if validating {
        check(new(), frame, true);
    }

    let kind = frame.kind();
    let bytes = &frame.bytes[..];
    let mut group = c.benchmark_group(frame.name());
    group.throughput(Throughput::Bytes(bytes.len() as u64));

    let mut dec = new();
    group.bench_function("fast", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            let res = dec.decode(kind, black_box(bytes), &mut |d| {
                sum += fixtures::sink_value(&black_box(d));
            });
            black_box(res.is_ok());
            black_box(sum)
        });
    });

    if validating {
        let mut dec = new();
        group.bench_function("simd_json", |b| {
            b.iter(|| {
                let mut sum = 0.0;
                let res = dec.decode_validating(kind, black_box(bytes), &mut |d| {
                    sum += fixtures::sink_value(&black_box(d));
                });
                black_box(res.is_ok());
                black_box(sum)
            });
        });
    }

    if let Some(mut base) = Baseline::for_frame(frame) {
        let expected = base
            .decode(bytes)
            .map(|d| fixtures::sink_value(&d))
            .expect("serde_json baseline decodes its frame");
        let mut check_dec = new();
        let mut arb = 0.0;
        check_dec
            .decode(kind, bytes, &mut |d| arb = fixtures::sink_value(&d))
            .expect("checked above");
        assert_eq!(expected, arb, "{}: baseline disagrees", frame.name());

        group.bench_function("serde_json", |b| {
            b.iter(|| {
                let mut sum = 0.0;
                match base.decode(black_box(bytes)) {
                    Ok(d) => sum += fixtures::sink_value(&black_box(d)),
                    Err(e) => {
                        black_box(e);
                    }
                }
                black_box(sum)
            });
        });
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    let frames = fixtures::frames().expect("fixture frames");
    for frame in &frames {
        match frame.venue {
            Exchange::Binance => bench_frame(c, frame, BinanceDecoder::new),
            Exchange::Bybit => bench_frame(c, frame, BybitDecoder::new),
            Exchange::Mexc => bench_frame(c, frame, MexcDecoder::new),
            Exchange::Gateio => bench_frame(c, frame, GateioDecoder::new),
            Exchange::Kucoin => bench_frame(c, frame, KucoinDecoder::new),
            Exchange::Okx => bench_frame(c, frame, OkxDecoder::new),
            Exchange::Bitget => bench_frame(c, frame, BitgetDecoder::new),
            Exchange::Bingx => bench_frame(c, frame, BingxDecoder::new),
        }
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
