//! The layout-specific fast path: a cursor that matches a venue's exact field layout byte
//! by byte and gives up (returns `None`) on anything it does not expect.
//!
//! A scanner built on [`Cursor`] only accepts a frame when every byte matched a literal
//! or a value token it fully validated, so anything it accepts is valid JSON that the
//! simd-json path decodes to the same result; anything else (other key order, escapes,
//! whitespace, extra fields, numbers where strings were expected) falls back to the
//! validating path. Differential tests hold the two paths to identical output.
#![allow(
    unsafe_code,
    reason = "one from_utf8_unchecked, on bytes checked to be ASCII (scanned string bodies, `ascii_str`)"
)]

use arb_engine::Side;

use crate::num;

/// Byte cursor over one frame.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    bytes: &'a [u8],
    /// Invariant: `pos <= bytes.len()`.
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Starts at the first byte of `bytes`.
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    /// Consumes `lit` exactly.
    ///
    /// NB: always inlined so that the literal folds into word constants: one or two
    /// compares for the usual key prefixes instead of a call and a byte loop
    /// (`benches/decode_instructions.sh`).
    #[inline(always)]
    pub fn lit(&mut self, lit: &[u8]) -> Option<()> {
        if self.peek_lit(lit) {
            self.pos += lit.len();
            Some(())
        } else {
            None
        }
    }

    /// Returns `true` if the next bytes are `lit` (consumes nothing).
    #[inline(always)]
    pub fn peek_lit(&self, lit: &[u8]) -> bool {
        self.bytes
            .get(self.pos..)
            .is_some_and(|rest| starts_with_lit(rest, lit))
    }

    /// Consumes the body of a JSON string up to (and including) its closing quote, the
    /// opening quote having been matched by the caller's literal. Gives up on escapes,
    /// control characters and non-ASCII bytes.
    #[inline]
    pub fn str_body(&mut self) -> Option<&'a str> {
        self.str_bytes().map(|body| {
            // SAFETY: `str_bytes` returns only bodies whose every byte `num::string_stop`
            // checked to be printable ASCII (0x20..=0x7e).
            unsafe { printable_ascii_str(body) }
        })
    }

    /// As [`Cursor::str_body`], but returns the bytes: for values that are parsed, not
    /// kept, so they skip the UTF-8 pass (NB: `from_utf8` was ~19% of the Binance book
    /// ticker fast path in a profile). Always inlined: as a call (`&mut self`) it kept the
    /// caller's cursor in memory.
    #[inline(always)]
    pub fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let stop = num::string_stop(self.bytes, self.pos)?;
        if self.bytes[stop] != b'"' {
            return None;
        }
        let body = &self.bytes[self.pos..stop];
        self.pos = stop + 1;
        Some(body)
    }

    /// Skips a JSON string body and its closing quote, as [`Cursor::str_bytes`].
    #[inline]
    pub fn skip_str(&mut self) -> Option<()> {
        self.str_bytes().map(|_| ())
    }

    /// Consumes a JSON string body holding a non-negative decimal and parses it: plain
    /// decimals in one pass ([`num::plain_decimal_quoted`]), anything else through
    /// [`num::parse_decimal`], which gives the same value for every input both accept.
    #[inline]
    pub fn decimal_str(&mut self) -> Option<f64> {
        let (v, used) = num::quoted_decimal_words(self.bytes, self.pos);
        if used > 0 {
            self.pos += used;
            return Some(v);
        }
        self.decimal_str_slow()
    }

    /// [`Cursor::decimal_str`] with the word parser inlined
    /// ([`num::quoted_decimal_inline`]): for fast paths whose decimals come in a row.
    ///
    /// NB: its fallback takes the bytes and position by value, so that the cursor can
    /// stay in registers (a `&mut self` call, even a cold one, kept it in memory).
    #[inline(always)]
    pub fn decimal_str_inline(&mut self) -> Option<f64> {
        // NB: from the rest of the frame, so that each word load needs one length compare.
        let (mut v, mut used) = num::quoted_decimal_inline(&self.bytes[self.pos..], 0);
        if used == 0 {
            (v, used) = decimal_str_fallback(self.bytes, self.pos)?;
        }
        self.pos += used;
        Some(v)
    }

    #[cold]
    #[inline(never)]
    fn decimal_str_slow(&mut self) -> Option<f64> {
        if let Some((v, used)) = num::plain_decimal_quoted(&self.bytes[self.pos..]) {
            self.pos += used;
            return Some(v);
        }
        num::parse_decimal(self.str_bytes()?, "").ok()
    }

    /// Consumes a JSON string body holding epoch milliseconds, as ns.
    #[inline]
    pub fn ms_str(&mut self) -> Option<i64> {
        let (ms, n) = num::digit_run(self.bytes, self.pos)?;
        let end = self.pos + n;
        if n == 0 || self.bytes.get(end) != Some(&b'"') {
            return None;
        }
        let ns = num::ms_to_ns(ms, "").ok()?;
        self.pos = end + 1;
        Some(ns)
    }

    /// Consumes a JSON string body holding epoch nanoseconds.
    #[inline]
    pub fn ns_str(&mut self) -> Option<i64> {
        let (ns, n) = num::digit_run(self.bytes, self.pos)?;
        let end = self.pos + n;
        if n == 0 || self.bytes.get(end) != Some(&b'"') {
            return None;
        }
        let ns = i64::try_from(ns).ok()?;
        self.pos = end + 1;
        Some(ns)
    }

    /// Consumes a JSON unsigned integer token (no sign, no leading zero, no fraction,
    /// at most 19 digits).
    #[inline]
    pub fn uint(&mut self) -> Option<u64> {
        let (v, len) = num::uint_words(self.bytes, self.pos);
        if len > 0 {
            self.pos += len;
            return Some(v);
        }
        self.uint_slow()
    }

    #[cold]
    #[inline(never)]
    fn uint_slow(&mut self) -> Option<u64> {
        let (v, len) = num::digit_run(self.bytes, self.pos)?;
        if len == 0 || (len > 1 && self.bytes[self.pos] == b'0') {
            return None;
        }
        // A fraction or exponent would make it a float: leave it to the general path.
        if matches!(self.bytes.get(self.pos + len), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.pos += len;
        Some(v)
    }

    /// Consumes a JSON unsigned integer token the caller does not need, as
    /// [`Cursor::uint`] accepts it.
    ///
    /// NB: counts digits without converting them (`benches/decode_instructions.sh`:
    /// ~130 instructions for a 10-digit update id with the value, ~40 without). Always
    /// inlined: as a call it kept the caller's cursor in memory (`&mut self`), and every
    /// later field reloaded it.
    #[inline(always)]
    pub fn skip_uint(&mut self) -> Option<()> {
        let len = num::digit_count(self.bytes, self.pos)?;
        if len == 0 || (len > 1 && self.bytes[self.pos] == b'0') {
            return None;
        }
        if matches!(self.bytes.get(self.pos + len), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.pos += len;
        Some(())
    }

    /// [`Cursor::skip_uint`] followed by `lit`, which must not start with a byte that could
    /// continue a number (`.`, `e`, `E`; digits are all consumed): the literal's match
    /// then stands for [`Cursor::skip_uint`]'s check of the next byte.
    ///
    /// NB: ~8 instructions fewer on Binance's update id (`benches/decode_instructions.sh
    /// binance`).
    #[inline(always)]
    pub fn skip_uint_then(&mut self, lit: &[u8]) -> Option<()> {
        debug_assert!(!matches!(lit.first(), None | Some(b'.' | b'e' | b'E')));
        let len = num::digit_count(self.bytes, self.pos)?;
        if len == 0 || (len > 1 && self.bytes[self.pos] == b'0') {
            return None;
        }
        self.pos += len;
        self.lit(lit)
    }

    /// Consumes epoch milliseconds as a JSON integer, as ns.
    #[inline]
    pub fn ms_uint(&mut self) -> Option<i64> {
        num::ms_to_ns(self.uint()?, "").ok()
    }

    /// Consumes a string body `buy` or `sell` and its closing quote, as
    /// [`Side::from_text`] reads it.
    ///
    /// NB: two word compares instead of a string scan and compares
    /// (`benches/decode_instructions.sh kucoin`).
    #[inline]
    pub fn side_lower(&mut self) -> Option<Side> {
        if self.lit(br#"buy""#).is_some() {
            Some(Side::Buy)
        } else if self.lit(br#"sell""#).is_some() {
            Some(Side::Sell)
        } else {
            None
        }
    }

    /// Consumes `true` or `false`.
    #[inline]
    pub fn boolean(&mut self) -> Option<bool> {
        if self.lit(b"true").is_some() {
            Some(true)
        } else if self.lit(b"false").is_some() {
            Some(false)
        } else {
            None
        }
    }

    /// Returns `true` when every byte has been consumed.
    #[inline]
    pub fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// Succeeds only at the end of the frame.
    #[inline]
    pub fn end(&self) -> Option<()> {
        self.at_end().then_some(())
    }
}

/// [`Cursor::decimal_str_inline`] off its word path: the decimal string body at `pos`
/// (the opening quote matched) and the bytes consumed, as [`Cursor::decimal_str`] takes it.
#[cold]
#[inline(never)]
fn decimal_str_fallback(bytes: &[u8], pos: usize) -> Option<(f64, usize)> {
    let mut c = Cursor { bytes, pos };
    let v = c.decimal_str_slow()?;
    Some((v, c.pos - pos))
}

/// The most items a fast path buffers from one frame (trade batches); a longer batch goes
/// to the validating path.
pub const FAST_BATCH: usize = 8;

/// Items a fast path scanned from one frame, held until the whole frame has matched: a
/// fast path that gives up half way must not have emitted anything, or the validating path
/// would emit the first items again.
///
/// NB: OKX, Bitget and Bybit batch trades; frames of two or three took the validating path
/// at ~5 000 instructions each (`benches/instructions.sh`).
#[derive(Debug, Clone, Copy)]
pub struct Batch<T> {
    items: [Option<T>; FAST_BATCH],
    len: usize,
}

impl<T: Copy> Batch<T> {
    /// An empty batch.
    #[inline]
    pub fn new() -> Self {
        Batch {
            items: [None; FAST_BATCH],
            len: 0,
        }
    }

    /// Appends `item`; `None` when the batch is full.
    #[inline]
    pub fn push(&mut self, item: T) -> Option<()> {
        *self.items.get_mut(self.len)? = Some(item);
        self.len += 1;
        Some(())
    }

    /// The items, in the order pushed.
    #[inline]
    pub fn items(&self) -> impl Iterator<Item = T> + '_ {
        self.items[..self.len].iter().flatten().copied()
    }
}

impl<T: Copy> Default for Batch<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// `bytes` as text when every byte is ASCII, checked a word at a time; `None` when some
/// byte is not (the caller then runs the full UTF-8 check).
///
/// NB: `std::str::from_utf8` cost ~10 instructions per byte on MEXC's short protobuf
/// strings (channel, symbol, decimals): ~600 per frame (`benches/instructions.sh`).
#[inline]
pub fn ascii_str(bytes: &[u8]) -> Option<&str> {
    let n = bytes.len();
    let high = if let Some(last) = bytes.last_chunk::<8>() {
        let (words, _) = bytes.as_chunks::<8>();
        words.iter().fold(u64::from_le_bytes(*last), |acc, w| {
            acc | u64::from_le_bytes(*w)
        })
    } else if let (Some(a), Some(b)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        u64::from(u32::from_le_bytes(*a) | u32::from_le_bytes(*b))
    } else if n > 0 {
        u64::from(bytes[0] | bytes[n / 2] | bytes[n - 1])
    } else {
        0
    };
    if high & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    // SAFETY: every byte of `bytes` was ORed into `high` (whole words, the overlapping
    // last word, or for n < 8 overlapping halves or bytes 0, n/2, n-1, which cover n <= 3),
    // and no high bit is set: all bytes are ASCII.
    Some(unsafe { printable_ascii_str(bytes) })
}

/// `bytes` as text, without a UTF-8 pass.
///
/// # Safety
/// Every byte of `bytes` must be ASCII (it then is UTF-8).
///
/// NB: `std::str::from_utf8` cost ~100 instructions per symbol (~10 per byte, short input
/// misses its word loop), and the fast paths take several strings per frame
/// (`benches/decode_instructions.sh`); [`Cursor::str_bytes`] has already checked every byte.
#[inline(always)]
unsafe fn printable_ascii_str(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii());
    // SAFETY: Delegated to the caller (ASCII is UTF-8).
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// Whether `rest` starts with `lit`, in overlapping 8-, 4- or 2-byte words.
///
/// NB: slice `==` calls libc `memcmp`, whose call overhead dominated the literal checks of
/// the fast paths in profiles (`__memcmp_avx2_movbe`, ~4% of a replay); inlined with a
/// literal, the words of `lit` are constants.
#[inline(always)]
fn starts_with_lit(rest: &[u8], lit: &[u8]) -> bool {
    let n = lit.len();
    let Some(head) = rest.get(..n) else {
        return false;
    };
    let w8 = |s: &[u8], i: usize| {
        s.get(i..i + 8)
            .and_then(<[u8]>::first_chunk::<8>)
            .map(|w| u64::from_le_bytes(*w))
    };
    let w4 = |s: &[u8], i: usize| {
        s.get(i..i + 4)
            .and_then(<[u8]>::first_chunk::<4>)
            .map(|w| u32::from_le_bytes(*w))
    };
    let w2 = |s: &[u8], i: usize| {
        s.get(i..i + 2)
            .and_then(<[u8]>::first_chunk::<2>)
            .map(|w| u16::from_le_bytes(*w))
    };
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if w8(head, i) != w8(lit, i) {
                return false;
            }
            i += 8;
        }
        w8(head, n - 8) == w8(lit, n - 8)
    } else if n >= 4 {
        w4(head, 0) == w4(lit, 0) && w4(head, n - 4) == w4(lit, n - 4)
    } else if n >= 2 {
        w2(head, 0) == w2(lit, 0) && w2(head, n - 2) == w2(lit, n - 2)
    } else {
        head == lit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_layout_and_gives_up_on_surprises() {
        let mut c = Cursor::new(br#"{"u":12,"s":"AB","b":"1.5","m":true}"#);
        assert!(c.lit(br#"{"u":"#).is_some());
        assert_eq!(c.clone().skip_uint(), Some(()));
        assert_eq!(c.uint(), Some(12));
        assert!(c.lit(br#","s":""#).is_some());
        assert_eq!(c.str_body(), Some("AB"));
        assert!(c.lit(br#","b":""#).is_some());
        assert_eq!(c.decimal_str(), Some(1.5));
        assert!(c.lit(br#","m":"#).is_some());
        assert_eq!(c.boolean(), Some(true));
        assert!(c.lit(b"}").is_some());
        assert!(c.at_end());

        for (t, want) in [
            (&b"buy\","[..], Some(Side::Buy)),
            (b"sell\"", Some(Side::Sell)),
            (b"Buy\"", None),
            (b"buyer\"", None),
            (b"sel\"", None),
            (b"buy", None),
        ] {
            let mut c = Cursor::new(t);
            let got = c.side_lower();
            assert_eq!(got, want);
            if got.is_some() {
                assert_eq!(
                    got,
                    std::str::from_utf8(&t[..t.len() - usize::from(t.ends_with(b",")) - 1])
                        .ok()
                        .and_then(Side::from_text)
                );
            }
        }

        for n in 0..40 {
            for bad in 0..n {
                let mut b: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                assert_eq!(ascii_str(&b), std::str::from_utf8(&b).ok());
                b[bad] |= 0x80;
                assert_eq!(ascii_str(&b), None, "{n} {bad}");
                b[bad] = 0x7f;
                assert_eq!(ascii_str(&b).map(str::as_bytes), Some(&b[..]));
            }
        }

        let ns = |t: &[u8]| Cursor::new(t).ns_str();
        assert_eq!(
            ns(b"1660608000023000000\""),
            Some(1_660_608_000_023_000_000)
        );
        assert_eq!(ns(b"9223372036854775807\""), Some(i64::MAX));
        assert_eq!(ns(b"9223372036854775808\""), None);
        assert_eq!(ns(b"12345678901234567890\""), None);
        assert_eq!(ns(b"\""), None);
        assert_eq!(ns(b"12x\""), None);
        assert_eq!(ns(b"12"), None);
        let ms = |t: &[u8]| Cursor::new(t).ms_str();
        assert_eq!(ms(b"1652459224956\","), Some(1_652_459_224_956_000_000));
        assert_eq!(ms(b"99999999999999999\""), None);
        assert_eq!(ms(b"1.5\""), None);

        assert_eq!(Cursor::new(br#"a\"b""#).str_body(), None);
        for bad in [
            &b"012,"[..],
            b"12.5,",
            b"",
            b"1e5",
            b"12345678901234567890,",
            b"x",
        ] {
            assert_eq!(Cursor::new(bad).uint(), None);
            assert_eq!(Cursor::new(bad).skip_uint(), None);
        }
        // `skip_uint_then` is `skip_uint` then the literal, on every case above and below.
        for t in [
            &b"0,\"s"[..],
            b"012,\"s",
            b"12.5,\"s",
            b"1e5,\"s",
            b"1E5,\"s",
            b"7,\"s",
            b"1234567890,\"s\":\"",
            b"1234567890123456789,\"s",
            b"12345678901234567890,\"s",
            b",\"s",
            b"12,",
            b"",
        ] {
            let mut a = Cursor::new(t);
            let mut b = Cursor::new(t);
            let want = b.skip_uint().and_then(|()| b.lit(br#","s"#));
            assert_eq!(a.skip_uint_then(br#","s"#), want, "{t:?}");
            if want.is_some() {
                assert_eq!(a.pos, b.pos);
            }
        }
        for good in [&b"0"[..], b"7,", b"1234567890123456789}"] {
            let (mut a, mut b) = (Cursor::new(good), Cursor::new(good));
            assert!(a.uint().is_some() && b.skip_uint().is_some());
            assert_eq!(a.pos, b.pos);
        }
        assert_eq!(Cursor::new(b"1\x01\"").str_body(), None);
        assert_eq!(Cursor::new(b"abc").str_body(), None);
        for (a, b, eq) in [
            (&b""[..], &b""[..], true),
            (b"abcdefghij", b"abcdefghij", true),
            (b"abcdefghij", b"abcdefghiJ", false),
            (b"abcdefgh", b"abcdefgX", false),
            (b"ab", b"ab", true),
            (b"ab", b"abc", false),
            (b"abcdefghijk", b"abcdefghij", true),
            (b"abcdefghijklmnopq", b"abcdefghijklmnoP", false),
            (b"abcdefghijklmnopq", b"abcdefghijklmnop", true),
            (b"abcdefghijklmnopq", b"Abcdefghijklmnop", false),
            (b"abc", b"ab", true),
            (b"abcdef", b"abcde", true),
            (b"abcdef", b"abcdE", false),
            (b"abcdef", b"Abcde", false),
            (b"a", b"a", true),
            (b"ba", b"a", false),
            (b"b", b"", true),
        ] {
            assert_eq!(starts_with_lit(a, b), eq, "{a:?} {b:?}");
            assert_eq!(Cursor::new(a).peek_lit(b), eq);
        }
    }
}
