//! Decodes one bench frame many times, for instruction counting under callgrind
//! (`benches/decode_instructions.sh`): instructions are stable on a noisy VM where
//! wall-clock medians are not.
//!
//! Usage: `decode_loop <frame name> <fast|simd_json|serde_json> <iterations>`;
//! `decode_loop --list` prints the frame names.

use std::hint::black_box;
use std::process::ExitCode;

use arb_benches::baseline::Baseline;
use arb_benches::fixtures::{self, BenchFrame};
use arb_feeds::{AnyDecoder, FrameDecoder};

/// The measured loop; callgrind collects only inside it (`--toggle-collect`).
#[inline(never)]
fn measured(
    frame: &BenchFrame,
    path: &str,
    iterations: u64,
    dec: &mut AnyDecoder,
    base: &mut Option<Baseline>,
) -> f64 {
    let mut sum = 0.0;
    let kind = frame.kind();
    for _ in 0..iterations {
        let bytes = black_box(&frame.bytes[..]);
        match path {
            "fast" => {
                let _ = dec.decode(kind, bytes, &mut |d| sum += fixtures::sink_value(&d));
            }
            "simd_json" => {
                let _ =
                    dec.decode_validating(kind, bytes, &mut |d| sum += fixtures::sink_value(&d));
            }
            _ => {
                if let Some(b) = base.as_mut()
                    && let Ok(d) = b.decode(bytes)
                {
                    sum += fixtures::sink_value(&d);
                }
            }
        }
    }
    sum
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frames = match fixtures::frames() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("decode_loop: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.first().map(String::as_str) == Some("--list") {
        for f in &frames {
            println!("{}", f.name());
        }
        return ExitCode::SUCCESS;
    }
    let (Some(name), Some(path), Some(iterations)) = (
        args.first(),
        args.get(1),
        args.get(2).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!(
            "usage: decode_loop <frame name> <fast|simd_json|serde_json> <iterations> | --list"
        );
        return ExitCode::FAILURE;
    };
    let Some(frame) = frames.iter().find(|f| &f.name() == name) else {
        eprintln!("decode_loop: no frame {name:?} (see --list)");
        return ExitCode::FAILURE;
    };
    let mut dec = AnyDecoder::new(frame.venue);
    let mut base = Baseline::for_frame(frame);
    if path == "serde_json" && base.is_none() {
        eprintln!("decode_loop: no serde_json baseline for {name}");
        return ExitCode::FAILURE;
    }
    // Warm-up: buffers grow to size outside the measured loop.
    black_box(measured(frame, path, 16, &mut dec, &mut base));
    black_box(measured(frame, path, iterations, &mut dec, &mut base));
    ExitCode::SUCCESS
}
