//! The layout-specific fast path: a cursor that matches a venue's exact field layout byte
//! by byte and gives up (returns `None`) on anything it does not expect.
//!
//! A scanner built on [`Cursor`] only accepts a frame when every byte matched a literal
//! or a value token it fully validated, so anything it accepts is valid JSON that the
//! simd-json path decodes to the same result; anything else (other key order, escapes,
//! whitespace, extra fields, numbers where strings were expected) falls back to the
//! validating path. Differential tests hold the two paths to identical output.

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
    #[inline]
    pub fn lit(&mut self, lit: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(lit.len())?;
        let rest = self.bytes.get(self.pos..end)?;
        if eq_short(rest, lit) {
            self.pos = end;
            Some(())
        } else {
            None
        }
    }

    /// Returns `true` if the next bytes are `lit` (consumes nothing).
    #[inline]
    pub fn peek_lit(&self, lit: &[u8]) -> bool {
        self.bytes[self.pos..].starts_with(lit)
    }

    /// Consumes the body of a JSON string up to (and including) its closing quote, the
    /// opening quote having been matched by the caller's literal. Gives up on escapes,
    /// control characters and non-ASCII bytes.
    #[inline]
    pub fn str_body(&mut self) -> Option<&'a str> {
        let body = self.str_bytes()?;
        // ASCII checked by `str_bytes`, so this never fails.
        std::str::from_utf8(body).ok()
    }

    /// As [`Cursor::str_body`], but returns the bytes: for values that are parsed, not
    /// kept, so they skip the UTF-8 pass (NB: `from_utf8` was ~19% of the Binance book
    /// ticker fast path in a profile).
    #[inline]
    pub fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let rest = &self.bytes[self.pos..];
        let mut len = 0;
        loop {
            let c = *rest.get(len)?;
            if c == b'"' {
                break;
            }
            if !(0x20..0x7f).contains(&c) || c == b'\\' {
                return None;
            }
            len += 1;
        }
        self.pos += len + 1;
        Some(&rest[..len])
    }

    /// Consumes a JSON string body holding a non-negative decimal and parses it: plain
    /// decimals in one pass ([`num::plain_decimal_quoted`]), anything else through
    /// [`num::parse_decimal`], which gives the same value for every input both accept.
    #[inline]
    pub fn decimal_str(&mut self) -> Option<f64> {
        if let Some((v, used)) = num::plain_decimal_quoted(&self.bytes[self.pos..]) {
            self.pos += used;
            return Some(v);
        }
        num::parse_decimal(self.str_bytes()?, "").ok()
    }

    /// Consumes a JSON string body holding epoch milliseconds, as ns.
    #[inline]
    pub fn ms_str(&mut self) -> Option<i64> {
        num::parse_ms_text(self.str_bytes()?, "").ok()
    }

    /// Consumes a JSON unsigned integer token (no sign, no leading zero, no fraction,
    /// at most 19 digits).
    #[inline]
    pub fn uint(&mut self) -> Option<u64> {
        let rest = &self.bytes[self.pos..];
        let len = rest
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if len == 0 || len > 19 || (len > 1 && rest[0] == b'0') {
            return None;
        }
        // A fraction or exponent would make it a float: leave it to the general path.
        if matches!(rest.get(len), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let v = num::parse_u64(&rest[..len], "").ok()?;
        self.pos += len;
        Some(v)
    }

    /// Consumes epoch milliseconds as a JSON integer, as ns.
    #[inline]
    pub fn ms_uint(&mut self) -> Option<i64> {
        num::ms_to_ns(self.uint()?, "").ok()
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

/// Equality of two equal-length short byte strings, 8 bytes at a time.
///
/// NB: slice `==` calls libc `memcmp`, whose call overhead dominated the literal checks of
/// the fast paths in profiles (`__memcmp_avx2_movbe`, ~4% of a replay).
#[inline]
fn eq_short(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let x = u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let y = u64::from_le_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        if x != y {
            return false;
        }
    }
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut diff = 0u8;
    for (x, y) in ra.iter().zip(rb) {
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_layout_and_gives_up_on_surprises() {
        let mut c = Cursor::new(br#"{"u":12,"s":"AB","b":"1.5","m":true}"#);
        assert!(c.lit(br#"{"u":"#).is_some());
        assert_eq!(c.uint(), Some(12));
        assert!(c.lit(br#","s":""#).is_some());
        assert_eq!(c.str_body(), Some("AB"));
        assert!(c.lit(br#","b":""#).is_some());
        assert_eq!(c.decimal_str(), Some(1.5));
        assert!(c.lit(br#","m":"#).is_some());
        assert_eq!(c.boolean(), Some(true));
        assert!(c.lit(b"}").is_some());
        assert!(c.at_end());

        assert_eq!(Cursor::new(br#"a\"b""#).str_body(), None);
        assert_eq!(Cursor::new(b"012,").uint(), None);
        assert_eq!(Cursor::new(b"12.5,").uint(), None);
        assert_eq!(Cursor::new(b"").uint(), None);
        assert_eq!(Cursor::new(b"1\x01\"").str_body(), None);
        assert_eq!(Cursor::new(b"abc").str_body(), None);
        for (a, b, eq) in [
            (&b""[..], &b""[..], true),
            (b"abcdefghij", b"abcdefghij", true),
            (b"abcdefghij", b"abcdefghiJ", false),
            (b"abcdefgh", b"abcdefgX", false),
            (b"ab", b"ab", true),
            (b"ab", b"abc", false),
        ] {
            assert_eq!(eq_short(a, b), eq);
        }
    }
}
