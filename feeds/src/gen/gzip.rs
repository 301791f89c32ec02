//! A small gzip encoder for BingX frames: greedy LZ77 with one hash candidate, coded with
//! the fixed Huffman table of RFC 1951 §3.2.6, wrapped in an RFC 1952 header and trailer.
//!
//! NB: flate2 (miniz_oxide) spends about 12 µs per 170-byte frame with a reused
//! `Compress`, mostly clearing its 128 KiB of tables on every reset, which made BingX the
//! larger part of `arb gen`'s time; this encoder takes about 1.5 µs (release, same machine),
//! allocates nothing after warm-up, and its output depends on no dependency version, so
//! generated captures stay byte-identical. The price is ratio: a 172-byte book ticker becomes
//! 151 bytes here, 129 with zlib level 1. Any inflater reads it (tests use flate2's
//! `GzDecoder`).

/// Bits of the match-finder hash.
const HASH_BITS: u32 = 12;
const HASH_SIZE: usize = 1 << HASH_BITS;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
const MAX_DISTANCE: usize = 32_768;

/// Reusable gzip encoder.
#[derive(Debug)]
pub(crate) struct GzipEncoder {
    /// Hash of 3 bytes → `base + position + 1` of its last occurrence; entries below `base`
    /// belong to earlier inputs and count as empty, so nothing is cleared between frames.
    table: Box<[u32; HASH_SIZE]>,
    /// Offset added to positions of the current input; grows by each input's length.
    base: u32,
}

/// LSB-first bit writer over a byte vector.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits<'_> {
    #[inline]
    fn put(&mut self, value: u32, bits: u32) {
        debug_assert!(bits <= 32 && (bits == 32 || value >> bits == 0));
        self.acc |= u64::from(value) << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn flush(&mut self) {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.acc = 0;
        self.n = 0;
    }
}

/// Reverses the low `len` bits of `code` (Huffman codes are sent most significant bit first).
#[inline]
const fn reverse(code: u32, len: u32) -> u32 {
    code.reverse_bits() >> (32 - len)
}

/// Writes literal/length symbol `sym` (0..=287) with the fixed code.
#[inline]
fn put_litlen(bits: &mut Bits<'_>, sym: u32) {
    let (code, len) = match sym {
        0..=143 => (0x30 + sym, 8),
        144..=255 => (0x190 + sym - 144, 9),
        256..=279 => (sym - 256, 7),
        _ => (0xC0 + sym - 280, 8),
    };
    bits.put(reverse(code, len), len);
}

/// Writes a match length (3..=258): symbol and extra bits.
#[inline]
fn put_length(bits: &mut Bits<'_>, len: usize) {
    debug_assert!((MIN_MATCH..=MAX_MATCH).contains(&len));
    if len == MAX_MATCH {
        put_litlen(bits, 285);
        return;
    }
    let x = (len - 3) as u32;
    if x < 8 {
        put_litlen(bits, 257 + x);
        return;
    }
    let nb = 31 - x.leading_zeros(); // floor(log2 x), 3..=7
    let sym = 257 + 4 * (nb - 1) + ((x >> (nb - 2)) & 3);
    put_litlen(bits, sym);
    bits.put(x & ((1 << (nb - 2)) - 1), nb - 2);
}

/// Writes a distance (1..=32768): fixed 5-bit code and extra bits.
#[inline]
fn put_distance(bits: &mut Bits<'_>, dist: usize) {
    debug_assert!((1..=MAX_DISTANCE).contains(&dist));
    let x = (dist - 1) as u32;
    if x < 4 {
        bits.put(reverse(x, 5), 5);
        return;
    }
    let nb = 31 - x.leading_zeros(); // 2..=14
    let code = 2 * nb + ((x >> (nb - 1)) & 1);
    bits.put(reverse(code, 5), 5);
    bits.put(x & ((1 << (nb - 1)) - 1), nb - 1);
}

#[inline]
fn hash3(b: &[u8]) -> usize {
    let v = u32::from(b[0]) | (u32::from(b[1]) << 8) | (u32::from(b[2]) << 16);
    (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

impl GzipEncoder {
    pub(crate) fn new() -> Self {
        GzipEncoder {
            table: Box::new([0; HASH_SIZE]),
            base: 0,
        }
    }

    /// Appends the gzip member for `input` to `out`.
    ///
    /// # Hot path
    /// Allocates never after warm-up (beyond `out` growth); syscalls none; may block no.
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        // Header: magic, CM = deflate, no flags, no mtime, no extra flags, OS unknown.
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        if u64::from(self.base) + input.len() as u64 + 1 >= u64::from(u32::MAX) {
            self.table.fill(0);
            self.base = 0;
        }
        let base = self.base;
        let mut bits = Bits { out, acc: 0, n: 0 };
        bits.put(1, 1); // BFINAL
        bits.put(1, 2); // BTYPE = 01, fixed Huffman
        let n = input.len();
        let mut i = 0;
        while i < n {
            let mut best = 0;
            let mut dist = 0;
            if i + MIN_MATCH <= n {
                let h = hash3(&input[i..]);
                let cand = self.table[h];
                self.table[h] = base + i as u32 + 1;
                if cand > base {
                    let j = (cand - base - 1) as usize;
                    if i - j <= MAX_DISTANCE {
                        let max = (n - i).min(MAX_MATCH);
                        let mut l = 0;
                        while l < max && input[j + l] == input[i + l] {
                            l += 1;
                        }
                        if l >= MIN_MATCH {
                            best = l;
                            dist = i - j;
                        }
                    }
                }
            }
            if best > 0 {
                put_length(&mut bits, best);
                put_distance(&mut bits, dist);
                // Index the positions inside the match so later text can refer to them.
                let end = i + best;
                let mut k = i + 1;
                while k < end && k + MIN_MATCH <= n {
                    self.table[hash3(&input[k..])] = base + k as u32 + 1;
                    k += 1;
                }
                i = end;
            } else {
                put_litlen(&mut bits, u32::from(input[i]));
                i += 1;
            }
        }
        put_litlen(&mut bits, 256);
        bits.flush();
        self.base = base + n as u32 + 1;
        out.extend_from_slice(&crc32fast::hash(input).to_le_bytes());
        out.extend_from_slice(&(input.len() as u32).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::r#gen::rng::Rng;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn round_trips_through_flate2() {
        let mut enc = GzipEncoder::new();
        let mut rng = Rng::new(3, 3);
        let mut inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"a".to_vec(),
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            br#"{"code":0,"data":{"A":"3.2145","B":"11.0087","E":1760066516102,"a":"4478.31","b":"4478.30","e":"bookTicker","s":"ETH-USDT"},"dataType":"ETH-USDT@bookTicker","success":true}"#.to_vec(),
            vec![0u8; 1000],
            vec![7u8; 70_000],
        ];
        for len in [1usize, 2, 3, 4, 10, 100, 300, 5000, 40_000] {
            // Random bytes, and low-entropy text with long repeats.
            inputs.push((0..len).map(|_| rng.next_u64() as u8).collect());
            inputs.push(
                (0..len)
                    .map(|_| b"abc{}\":,0123"[rng.below(12) as usize])
                    .collect(),
            );
        }
        let mut out = Vec::new();
        for _round in 0..3 {
            for input in &inputs {
                out.clear();
                enc.compress(input, &mut out);
                assert_eq!(gunzip(&out), *input, "input of {} bytes", input.len());
            }
        }
    }

    #[test]
    fn json_compresses() {
        let mut enc = GzipEncoder::new();
        let json = br#"{"code":0,"data":{"E":1760066130002,"T":1760066129990,"e":"trade","m":false,"p":"4478.31","q":"0.0521","s":"ETH-USDT","t":"98801233"},"dataType":"ETH-USDT@trade","success":true,"timestamp":1760066130002}"#;
        let mut out = Vec::new();
        enc.compress(json, &mut out);
        assert!(out.len() < json.len(), "{} >= {}", out.len(), json.len());
    }

    #[test]
    fn table_wraps_without_corruption() {
        let mut enc = GzipEncoder::new();
        enc.base = u32::MAX - 100;
        let input = b"hello hello hello hello hello hello hello hello hello hello hello hello hello hello hello hello hello hello hello";
        let mut out = Vec::new();
        enc.compress(input, &mut out);
        assert_eq!(gunzip(&out), input);
        assert!(enc.base < 1000);
    }
}
