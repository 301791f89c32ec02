//! Writes a synthetic one-hour quote store with the test-only fixture writer, to measure
//! `arb query` and `arb analyze` on a store of production shape (8 venues × N symbols).
//!
//! ```text
//! cargo run --release -p arb-io --features fixtures --example gen_store -- \
//!     /tmp/store [symbols=1000] [quotes/s per (symbol, venue)=1] [hour start, epoch s] \
//!     [row group rows=131072]
//! ```
//!
//! Prices: a random walk per symbol at 100 ms steps; each venue quotes it with a slow
//! mean-reverting offset (so deviations cross zero and now and then pass 0.3–0.5 %) plus
//! tick noise. Quote gaps are uniform in `(0, 2 / rate)`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use arb_io::store::fixture::{FixtureFile, QuoteRow};
use arb_io::store::schema::{Kind, hour_of};

const VENUES: [&str; 8] = [
    "Binance", "BingX", "Bitget", "Bybit", "GateIo", "Kucoin", "MEXC", "OKX",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly standard normal (sum of 4 uniforms, scaled).
    fn normal(&mut self) -> f64 {
        (self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * 1.732
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = PathBuf::from(
        args.first()
            .expect("usage: gen_store ROOT [symbols] [rate] [hour_s] [rg_rows]"),
    );
    let symbols: usize = args.get(1).map_or(1000, |s| s.parse().unwrap());
    let rate: f64 = args.get(2).map_or(1.0, |s| s.parse().unwrap());
    let start_s: i64 = args.get(3).map_or(1_796_180_400, |s| s.parse().unwrap());
    let rg_rows: usize = args.get(4).map_or(131_072, |s| s.parse().unwrap());
    let t0 = start_s * 1_000_000_000;
    let hour = hour_of(t0);
    assert_eq!(
        hour * 3_600_000_000_000,
        t0,
        "hour start must be on the hour"
    );

    let mut file = FixtureFile::create(&root, Kind::Quotes, hour, "gen-0", rg_rows).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let steps = 36_000usize; // 100 ms
    let mut path = vec![0.0f64; steps];
    let mut buf = Vec::new();
    let mut total = 0usize;
    for s in 0..symbols {
        let symbol = format!("S{s:04}_USDT");
        let base = 0.01 + 1000.0 * rng.unit();
        let mut x = 0.0;
        for p in &mut path {
            x += rng.normal() * 0.0002;
            *p = base * (1.0f64 + x).max(0.01);
        }
        buf.clear();
        for venue in VENUES {
            let mut offset = rng.normal() * 0.001;
            let mut t = t0 + (rng.unit() * 2.0 / rate * 1e9) as i64;
            while t < t0 + 3_600_000_000_000 {
                let step = (((t - t0) / 100_000_000) as usize).min(steps - 1);
                // Offset: mean-reverting, ~0.2 % spread, occasional excursions.
                offset = offset * 0.995 + rng.normal() * 0.00025;
                let bid = path[step] * (1.0 + offset + rng.normal() * 0.0002);
                buf.push(QuoteRow {
                    ts_ns: t,
                    exchange: venue.to_owned(),
                    symbol: symbol.clone(),
                    bid,
                    ask: bid * (1.0 + 0.0004 * (1.0 + rng.unit())),
                });
                t += 1 + (rng.unit() * 2.0 / rate * 1e9) as i64;
            }
        }
        total += buf.len();
        file.write_quotes(&buf).unwrap();
    }
    let path = file.finish().unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "gen_store: {total} quotes, {symbols} symbols x 8 venues, {} ({:.1} MiB)",
        path.display(),
        len as f64 / (1024.0 * 1024.0)
    );
}
