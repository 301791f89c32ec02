//! Number parsing for exchange text: correctly rounded decimals and exact timestamps.
//!
//! Prices and sizes go through `fast-float2` (Eisel-Lemire, correctly rounded, no
//! allocation). Timestamps are parsed as integers so that nanosecond values keep every digit.

use crate::error::ParseError;

/// Nanoseconds per millisecond.
pub const NANOS_PER_MILLI: i64 = 1_000_000;

/// Parses a decimal price or size; rejects empty text, trailing garbage, NaN, infinities
/// and negative values.
///
/// # Hot path
/// Allocates never; syscalls none; may block no.
#[inline]
pub fn parse_decimal(text: &[u8], field: &'static str) -> Result<f64, ParseError> {
    if text.is_empty() {
        return Err(ParseError::BadNumber(field));
    }
    // NB: fast-float2 accepts "inf"/"nan" spellings; JSON number text never starts with a
    // letter, so reject those before parsing rather than after.
    if !matches!(text[0], b'0'..=b'9' | b'-' | b'.') {
        return Err(ParseError::BadNumber(field));
    }
    if let Some(v) = plain_decimal(text) {
        return Ok(v);
    }
    let v: f64 = fast_float2::parse(text).map_err(|_| ParseError::BadNumber(field))?;
    if !v.is_finite() || v < 0.0 || (v == 0.0 && text[0] == b'-') {
        return Err(ParseError::BadValue(field));
    }
    Ok(v)
}

/// Powers of ten that are exact in an `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Clinger's fast path for the plain decimals exchanges send (`"8010.00000000"`,
/// `"0.00006547"`): digits with at most one point, no sign, no exponent. When the digits
/// form an integer `m <= 2^53` and there are `k <= 22` fraction digits, `m` and `10^k` are
/// both exact doubles, so `m / 10^k` is the correctly rounded value (IEEE division rounds
/// once). Anything else returns `None` for the general parser.
///
/// NB: exchange prices are short plain decimals; this skips fast-float2's general
/// machinery for them (see the feeds commit "feeds: parse plain decimals on Clinger's
/// fast path" for the bench).
#[inline]
fn plain_decimal(text: &[u8]) -> Option<f64> {
    let mut m: u64 = 0;
    let mut frac_digits: usize = 0;
    let mut seen_point = false;
    let mut digits = 0u32;
    for &c in text {
        match c {
            b'0'..=b'9' => {
                // Leading zeros do not count towards the 19-digit u64 limit.
                if m != 0 || c != b'0' {
                    digits += 1;
                    if digits > 19 {
                        return None;
                    }
                }
                m = m * 10 + u64::from(c - b'0');
                frac_digits += usize::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    // "." alone, "5." and ".5" are not JSON numbers: let the general parser judge them.
    if text.len() == usize::from(seen_point) || text[0] == b'.' || text[text.len() - 1] == b'.' {
        return None;
    }
    if m > 1 << 53 || frac_digits >= POW10.len() {
        return None;
    }
    Some(m as f64 / POW10[frac_digits])
}

/// Parses a plain decimal that ends at a closing quote (the fast paths' string values):
/// returns the value and the bytes consumed including the quote, or `None` for anything
/// that is not a plain decimal within Clinger's fast path (the caller then falls back to
/// [`parse_decimal`], which gives the same value for every input this accepts).
///
/// Accepts exactly `digit+ ('.' digit+)? '"'` with at most 19 digits, `m <= 2^53` and at
/// most 22 fraction digits; no UTF-8 or escape pass.
///
/// NB: eight bytes at a time ([`digit_run`]): the Binance book ticker fast path
/// (`benches/decode_instructions.sh binance`) spent ~240 instructions per decimal in the
/// byte loop, ~60 with words.
#[inline]
pub fn plain_decimal_quoted(bytes: &[u8]) -> Option<(f64, usize)> {
    match quoted_decimal_words(bytes, 0) {
        (v, used) if used > 0 => Some((v, used)),
        _ => plain_decimal_quoted_general(bytes),
    }
}

/// [`plain_decimal_quoted`] of `bytes[at..]` for the usual shape only: 1..=7 integer
/// digits, then the quote, or a point, 1..=15 fraction digits (within 19 digits and 2^53)
/// and the quote, in a frame of at least eight bytes. Returns the value and the bytes
/// consumed, or consumed `0` for anything else, which the caller hands to the general
/// parser.
///
/// NB: a leaf function (no calls) returning in registers: ~40 fewer instructions per
/// decimal than the general parser inlined (`benches/decode_instructions.sh binance`).
/// The commonest shapes (at most eight fraction digits, both words inside the frame) take
/// a straight line with no callee-saved register: the integer word, then one word at the
/// first fraction digit, whatever the integer's length. That cut a Binance decimal
/// (`"8010.00000000"`) from ~128 instructions to ~70; the rest tail-calls
/// `decimal_words`.
#[inline(never)]
pub fn quoted_decimal_words(bytes: &[u8], at: usize) -> (f64, usize) {
    quoted_decimal_inline(bytes, at)
}

/// [`quoted_decimal_words`] inlined into the caller, for fast paths that parse several
/// decimals in a row: no call, no register saves, the word constants loaded once for
/// all of them.
#[inline(always)]
pub fn quoted_decimal_inline(bytes: &[u8], at: usize) -> (f64, usize) {
    const NO: (f64, usize) = (0.0, 0);
    // NB: every load is relative to `rest`, so that each needs one length compare.
    let Some(rest) = bytes.get(at..) else {
        return NO;
    };
    let Some(w0) = rest.first_chunk::<8>() else {
        return quoted_decimal_words_general(bytes, at);
    };
    let t0 = u64::from_le_bytes(*w0) ^ (b'0' as u64 * ONES);
    // Eight times the leading digits (1..=7); 0 for none and for eight (the flag of a
    // word of digits is past bit 63: `trailing_zeros` is 64).
    let int_bits = leading_digit_flags(t0).trailing_zeros() & 0x38;
    if int_bits == 0 {
        // Eight integer digits (a quantity of a coin priced in millionths) take the word
        // parser's longer path; no digit at all, the caller's general path.
        if (t0 as u8) < 10 {
            return quoted_decimal_words_general(bytes, at);
        }
        return NO;
    }
    // Below 10^7: exact, and room for eight fraction digits within 2^53.
    let int = eight_digits(t0 << (64 - int_bits));
    let n_int = (int_bits / 8) as usize;
    match ((t0 >> int_bits) as u8) ^ b'0' {
        b'.' => {}
        b'"' => return (int as i64 as f64, n_int + 1),
        _ => return NO,
    }
    let frac_at = n_int + 1;
    let Some(w1) = rest.get(frac_at..).and_then(<[u8]>::first_chunk::<8>) else {
        return quoted_decimal_words_general(bytes, at);
    };
    let t1 = u64::from_le_bytes(*w1) ^ (b'0' as u64 * ONES);
    let frac_bits = leading_digit_flags(t1).trailing_zeros();
    if frac_bits == 64 {
        // Eight fraction digits (Binance's): the quote next, or a longer fraction.
        if rest.get(frac_at + 8) != Some(&b'"') {
            return quoted_decimal_more_fraction(bytes, at, n_int, int, eight_digits(t1));
        }
        // Below 10^15: exact.
        let m = int * POW10_U64[8] + eight_digits(t1);
        return (m as i64 as f64 / POW10[8], n_int + 10);
    }
    let frac_bits = frac_bits & 0x38;
    // "1." and "1.5x" are not plain decimals (the general parser gives up on them too).
    if frac_bits == 0 || ((t1 >> frac_bits) as u8) ^ b'0' != b'"' {
        return NO;
    }
    let n_frac = (frac_bits / 8) as usize;
    // At most 7 + 7 digits: below 2^53, so exact.
    let m = int * POW10_U64[n_frac] + eight_digits(t1 << (64 - frac_bits));
    // NB: through i64 (exact below 2^53): one conversion instruction, not the five of
    // u64 to f64.
    (m as i64 as f64 / POW10[n_frac], n_int + n_frac + 2)
}

/// [`quoted_decimal_words`] past eight fraction digits (KuCoin's `"0.000001094"`): a
/// call, not inlined into every decimal of the fast paths.
#[inline(never)]
fn quoted_decimal_more_fraction(
    bytes: &[u8],
    at: usize,
    n_int: usize,
    int: u64,
    frac8: u64,
) -> (f64, usize) {
    quoted_decimal_long_fraction::<true>(bytes, at, 0, n_int, int, frac8)
}

/// [`quoted_decimal_words`] for every shape: near the end of the frame, eight integer
/// digits, more than eight fraction digits.
#[cold]
#[inline(never)]
fn quoted_decimal_words_general(bytes: &[u8], at: usize) -> (f64, usize) {
    decimal_words::<true>(bytes, at, 0)
}

/// [`quoted_decimal_words`] for text that ends at `end` instead of at a quote (protobuf
/// string fields): the value, or `None` for anything outside the usual shape (the caller
/// then hands `bytes[at..end]` to [`parse_decimal`], which gives the same value for every
/// input this accepts). Bytes from `end` on may be read but are never part of the number.
///
/// NB: MEXC's decimals went through [`parse_decimal`]'s byte loop, ~130 instructions
/// each (`benches/decode_instructions.sh mexc`).
#[inline]
pub fn decimal_words_until(bytes: &[u8], at: usize, end: usize) -> Option<f64> {
    match decimal_words_until_leaf(bytes, at, end) {
        (v, used) if used > 0 => Some(v),
        _ => None,
    }
}

#[inline(never)]
fn decimal_words_until_leaf(bytes: &[u8], at: usize, end: usize) -> (f64, usize) {
    decimal_words::<false>(bytes, at, end)
}

/// The shared body of [`quoted_decimal_words`] (`QUOTED`: the text ends at a `"`, which
/// is consumed) and [`decimal_words_until`] (the text ends at `end`).
#[inline(always)]
fn decimal_words<const QUOTED: bool>(bytes: &[u8], at: usize, end: usize) -> (f64, usize) {
    const NO: (f64, usize) = (0.0, 0);
    // Whether the text ends at `at + k`, where `w`'s byte `j` is `bytes[at + k]`.
    let ends = |w: u64, j: usize, k: usize| {
        if QUOTED {
            (w >> (8 * j)) as u8 == b'"'
        } else {
            at + k == end
        }
    };
    let load = |i: usize| word_in_leaf(bytes, i);
    let Some(w0) = load(at) else { return NO };
    let nd0 = non_digits(w0);
    let n_int = (nd0.trailing_zeros() / 8) as usize;
    if n_int == 0 {
        return NO;
    }
    if n_int == 8 {
        return decimal_words_eight_int::<QUOTED>(bytes, at, end, w0);
    }
    let t0 = w0 ^ (b'0' as u64 * ONES);
    if ends(w0, n_int, n_int) {
        // Below 10^7: exact.
        return (eight_digits(t0 << (64 - 8 * n_int)) as f64, n_int + 1);
    }
    if (w0 >> (8 * n_int)) as u8 != b'.' {
        return NO;
    }
    // NB: a decimal of at most seven characters ends in this word ("2045.31", "0.97311"):
    // drop the point and convert all its digits at once, one conversion instead of two
    // (`benches/decode_instructions.sh bybit`).
    let after_point = nd0 & !(0x80 << (8 * n_int));
    if after_point != 0 {
        let close = (after_point.trailing_zeros() / 8) as usize;
        if close == n_int + 1 || !ends(w0, close, close) {
            return NO;
        }
        let below = (1u64 << (8 * n_int)) - 1;
        let digits = (t0 & below) | ((t0 >> 8) & !below);
        let n_frac = close - n_int - 1;
        // At most six digits: exact.
        let m = eight_digits(digits << (64 - 8 * (close - 1)));
        return (m as f64 / POW10[n_frac], close + 1);
    }
    let int = eight_digits(t0 << (64 - 8 * n_int));
    let Some(w1) = load(at + n_int + 1) else {
        return NO;
    };
    let n_frac = leading_digits(w1);
    let t1 = w1 ^ (b'0' as u64 * ONES);
    if n_frac == 8 {
        return quoted_decimal_long_fraction::<QUOTED>(
            bytes,
            at,
            end,
            n_int,
            int,
            eight_digits(t1),
        );
    }
    if n_frac == 0 || !ends(w1, n_frac, n_int + 1 + n_frac) {
        return NO;
    }
    let frac = eight_digits(t1 << (64 - 8 * n_frac));
    // At most 7 + 7 digits: below 2^53, so exact.
    let m = int * POW10_U64[n_frac] + frac;
    (m as f64 / POW10[n_frac], n_int + n_frac + 2)
}

/// [`decimal_words`] of a text whose first word `w0` is eight digits: an integer of
/// eight digits, or eight digits, a point and a fraction, within [`MAX_RUN_DIGITS`] digits
/// and 2^53; anything longer goes to the general parser (consumed `0`).
///
/// NB: MEXC's and Binance's quantities of coins priced in millionths
/// (`"10714180"`, `"27210095.00000000"`) took the general parser: about one MEXC book
/// ticker in ten of a generated capture went to the generic protobuf reader for it
/// (`benches/instructions.sh`).
#[inline(never)]
fn decimal_words_eight_int<const QUOTED: bool>(
    bytes: &[u8],
    at: usize,
    end: usize,
    w0: u64,
) -> (f64, usize) {
    const NO: (f64, usize) = (0.0, 0);
    let ends_at = |i: usize| {
        if QUOTED {
            bytes.get(i) == Some(&b'"')
        } else {
            i == end
        }
    };
    // Below 10^8: exact.
    let int = eight_digits(w0 ^ (b'0' as u64 * ONES));
    let point = at + 8;
    if ends_at(point) {
        return (int as f64, 9);
    }
    if bytes.get(point) != Some(&b'.') {
        return NO;
    }
    let Some(w1) = word_in_leaf(bytes, point + 1) else {
        return NO;
    };
    let n_frac = leading_digits(w1);
    let t1 = w1 ^ (b'0' as u64 * ONES);
    if n_frac == 8 {
        return quoted_decimal_long_fraction::<QUOTED>(bytes, at, end, 8, int, eight_digits(t1));
    }
    if n_frac == 0 || !ends_at(point + 1 + n_frac) {
        return NO;
    }
    // At most 8 + 7 digits: below 2^53, so exact.
    let m = int * POW10_U64[n_frac] + eight_digits(t1 << (64 - 8 * n_frac));
    (m as f64 / POW10[n_frac], 8 + n_frac + 2)
}

/// [`word_at`] without a call, for leaf functions: within the last eight bytes it shifts
/// the frame's last word down (zeros come in past the end). `None` only for a frame
/// shorter than eight bytes.
#[inline(always)]
fn word_in_leaf(bytes: &[u8], at: usize) -> Option<u64> {
    if let Some(w) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        return Some(u64::from_le_bytes(*w));
    }
    let last = bytes.len().checked_sub(8)?;
    let w = u64::from_le_bytes(*bytes.get(last..)?.first_chunk::<8>()?);
    // `at > last` here; at the end or past it, only zeros.
    Some(w.checked_shr(8 * (at - last) as u32).unwrap_or(0))
}

/// [`quoted_decimal_words`] from eight fraction digits on (`frac8`, their value): up to
/// fifteen in all, within [`MAX_RUN_DIGITS`] digits and 2^53.
#[inline(always)]
fn quoted_decimal_long_fraction<const QUOTED: bool>(
    bytes: &[u8],
    at: usize,
    end: usize,
    n_int: usize,
    int: u64,
    frac8: u64,
) -> (f64, usize) {
    const NO: (f64, usize) = (0.0, 0);
    let rest = at + n_int + 9;
    let ends_at = |i: usize| {
        if QUOTED {
            bytes.get(i) == Some(&b'"')
        } else {
            i == end
        }
    };
    let (frac, n_frac) = if ends_at(rest) {
        (frac8, 8)
    } else if bytes.get(rest).is_some_and(u8::is_ascii_digit) {
        let Some(w2) = word_in_leaf(bytes, rest) else {
            return NO;
        };
        let n2 = leading_digits(w2);
        if n2 == 8 || !ends_at(rest + n2) || n_int + 8 + n2 > MAX_RUN_DIGITS {
            return NO;
        }
        let t2 = w2 ^ (b'0' as u64 * ONES);
        (
            frac8 * POW10_U64[n2] + eight_digits(t2 << (64 - 8 * n2)),
            8 + n2,
        )
    } else {
        return NO;
    };
    // At most 19 digits: no overflow.
    let m = int * POW10_U64[n_frac] + frac;
    if m > 1 << 53 {
        return NO;
    }
    (m as f64 / POW10[n_frac], n_int + n_frac + 2)
}

/// A JSON unsigned integer token at `bytes[at..]` of at most 15 digits: its value and
/// length, or length `0` for anything else (no digit, a leading zero, a fraction or
/// exponent next, a longer run, a frame under eight bytes), which the caller hands to the
/// general path.
///
/// NB: a leaf returning in registers, with the leading-zero and next-byte checks read from
/// the words: ~50 instructions for a 13-digit ms timestamp against ~110 through
/// [`digit_run`] (`benches/decode_instructions.sh bybit`).
#[inline(never)]
pub fn uint_words(bytes: &[u8], at: usize) -> (u64, usize) {
    const NO: (u64, usize) = (0, 0);
    let load = |i: usize| word_in_leaf(bytes, i);
    let Some(w0) = load(at) else { return NO };
    let n0 = leading_digits(w0);
    // No digit, or a leading zero of a longer number.
    if n0 == 0 || (w0 as u8 == b'0' && n0 > 1) {
        return NO;
    }
    let t0 = w0 ^ (b'0' as u64 * ONES);
    let (v, len, next) = if n0 < 8 {
        (
            eight_digits(t0 << (64 - 8 * n0)),
            n0,
            (w0 >> (8 * n0)) as u8,
        )
    } else {
        let Some(w1) = load(at + 8) else { return NO };
        let n1 = leading_digits(w1);
        if n1 == 8 {
            return NO;
        }
        let t1 = w1 ^ (b'0' as u64 * ONES);
        let low = if n1 == 0 {
            0
        } else {
            eight_digits(t1 << (64 - 8 * n1))
        };
        (
            eight_digits(t0) * POW10_U64[n1] + low,
            8 + n1,
            (w1 >> (8 * n1)) as u8,
        )
    };
    if matches!(next, b'.' | b'e' | b'E') {
        return NO;
    }
    (v, len)
}

/// [`plain_decimal_quoted`] for any length of integer and fraction.
#[cold]
#[inline(never)]
fn plain_decimal_quoted_general(bytes: &[u8]) -> Option<(f64, usize)> {
    let (int, n_int) = digit_run(bytes, 0)?;
    if n_int == 0 {
        return None;
    }
    let (m, n_frac, end) = match bytes.get(n_int) {
        Some(b'"') => (int, 0, n_int),
        Some(b'.') => {
            let (frac, n_frac) = digit_run(bytes, n_int + 1)?;
            let end = n_int + 1 + n_frac;
            if n_frac == 0 || n_int + n_frac > MAX_RUN_DIGITS || bytes.get(end) != Some(&b'"') {
                return None;
            }
            // At most 19 digits in all: below 10^19, no overflow.
            (int * POW10_U64[n_frac] + frac, n_frac, end)
        }
        _ => return None,
    };
    if m > 1 << 53 || n_frac >= POW10.len() {
        return None;
    }
    Some((m as f64 / POW10[n_frac], end + 1))
}

/// The most digits [`digit_run`] reads: any 19-digit number fits a `u64`.
pub const MAX_RUN_DIGITS: usize = 19;

/// Powers of ten that fit a `u64`, up to `10^19`.
const POW10_U64: [u64; 20] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
    10_000_000_000_000_000_000,
];

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `at` as a little-endian word; past the end of `bytes` the missing
/// bytes read as zero (a byte no scanner accepts, so it behaves like the end).
#[inline(always)]
pub fn word_at(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        Some(w) => u64::from_le_bytes(*w),
        None => word_tail(bytes, at),
    }
}

/// [`word_at`] within the last eight bytes: zero-padded copy.
#[cold]
#[inline(never)]
fn word_tail(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    let rest = bytes.get(at..).unwrap_or_default();
    let n = rest.len().min(8);
    w[..n].copy_from_slice(&rest[..n]);
    u64::from_le_bytes(w)
}

/// High bit set in each byte of `w` that is not an ASCII digit.
#[inline(always)]
fn non_digits(w: u64) -> u64 {
    let t = w ^ (b'0' as u64 * ONES);
    // Per byte, no carries: (t & 0x7f) + 0x76 reaches 0x80 iff (t & 0x7f) >= 10.
    (((t & !HIGHS) + 0x76 * ONES) | t) & HIGHS
}

/// The number of ASCII digits at the start of `w` (0..=8).
///
/// NB: [`non_digits`] without its `& 0x7f` per byte: a byte of 0x8a and up carries into
/// the next byte, but only ever above the first non-digit, which is all this counts.
#[inline(always)]
fn leading_digits(w: u64) -> usize {
    let flags = leading_digit_flags(w ^ (b'0' as u64 * ONES));
    (flags.trailing_zeros() / 8) as usize
}

/// [`leading_digits`] of a word already XORed with `'0'` in every byte (`t`): the high bit
/// of the first byte that is not a digit is the lowest bit set (and others above it).
#[inline(always)]
fn leading_digit_flags(t: u64) -> u64 {
    (t.wrapping_add(0x76 * ONES) | t) & HIGHS
}

/// The value of eight digits held as byte values 0..=9, the first byte most significant
/// (Lemire's `parse_eight_digits_unrolled`).
#[inline(always)]
fn eight_digits(t: u64) -> u64 {
    // Pairs, then quads, then the eight: each step's multiplier fits an immediate.
    let t = (t.wrapping_mul(10).wrapping_add(t >> 8)) & 0x00FF_00FF_00FF_00FF;
    let t = (t.wrapping_mul(100).wrapping_add(t >> 16)) & 0x0000_FFFF_0000_FFFF;
    (t.wrapping_mul(10_000).wrapping_add(t >> 32)) & 0xFFFF_FFFF
}

/// Reads the run of ASCII digits starting at `at`, eight bytes at a time: returns its
/// value and length (`0` when `bytes[at]` is not a digit), or `None` for a run longer than
/// [`MAX_RUN_DIGITS`].
///
/// NB: the first word inline, an eighth digit's successor checked as one byte (fractions
/// of exactly eight digits are the common case), a second word only for longer runs
/// (timestamps, ids).
#[inline(always)]
pub fn digit_run(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let (v, n) = digits_in_word(word_at(bytes, at));
    if n < 8 || !bytes.get(at + 8).is_some_and(u8::is_ascii_digit) {
        return Some((v, n));
    }
    let (v2, n2) = digits_in_word(word_at(bytes, at + 8));
    let v = v * POW10_U64[n2] + v2;
    if n2 < 8 {
        return Some((v, 8 + n2));
    }
    digit_run_long(bytes, at + 16, v)
}

/// The length of the run of ASCII digits starting at `at` (as [`digit_run`], without the
/// value), or `None` for a run longer than [`MAX_RUN_DIGITS`].
#[inline(always)]
pub fn digit_count(bytes: &[u8], at: usize) -> Option<usize> {
    let count = |w: u64| leading_digits(w);
    let n = count(word_at(bytes, at));
    if n < 8 {
        return Some(n);
    }
    let n = 8 + count(word_at(bytes, at + 8));
    if n < 16 {
        return Some(n);
    }
    let n = 16 + count(word_at(bytes, at + 16));
    (n <= MAX_RUN_DIGITS).then_some(n)
}

/// The leading digits of a word: their value and count (0..=8).
#[inline(always)]
fn digits_in_word(w: u64) -> (u64, usize) {
    let n = leading_digits(w);
    let t = w ^ (b'0' as u64 * ONES);
    // The n digits to the top bytes, zero digits below them (none for n = 0).
    let top = t.checked_shl(64 - 8 * n as u32).unwrap_or(0);
    (eight_digits(top), n)
}

/// [`digit_run`] past sixteen digits: at most three more fit.
#[cold]
#[inline(never)]
fn digit_run_long(bytes: &[u8], at: usize, v: u64) -> Option<(u64, usize)> {
    let (v3, n3) = digits_in_word(word_at(bytes, at));
    if 16 + n3 > MAX_RUN_DIGITS {
        return None;
    }
    // v < 10^16 and n3 <= 3: below 10^19, no overflow.
    Some((v * POW10_U64[n3] + v3, 16 + n3))
}

/// Position of the first byte of `bytes[at..]` that ends a plain JSON string body: a
/// quote, a backslash, a control character or a byte outside printable ASCII. `None`
/// when there is none before the end.
///
/// NB: eight bytes at a time; the byte loop cost ~10 instructions per byte on symbols and
/// stream names (`benches/decode_instructions.sh`). On x86-64, sixteen at a time with
/// SSE2 (part of the base instruction set) while sixteen bytes remain: ~10 instructions
/// per sixteen bytes against ~28 per word (the Binance stream name and symbol, ~60 a
/// frame).
#[inline(always)]
pub fn string_stop(bytes: &[u8], at: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut i = at;
        while let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<16>) {
            let stop = string_stop_mask16(chunk);
            if stop != 0 {
                return Some(i + stop.trailing_zeros() as usize);
            }
            i += 16;
        }
        string_stop_words(bytes, i)
    }
    #[cfg(not(target_arch = "x86_64"))]
    string_stop_words(bytes, at)
}

/// One bit per byte of `chunk` that [`string_stop`] stops at (bit `i` for byte `i`).
#[cfg(target_arch = "x86_64")]
#[allow(
    unsafe_code,
    reason = "SSE2 intrinsics (x86-64 always has SSE2) and one unaligned load of a 16-byte array"
)]
#[inline(always)]
fn string_stop_mask16(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: `chunk` is 16 readable bytes and `loadu` has no alignment requirement; the
    // intrinsics need SSE2 only, which is in every x86-64 target's baseline.
    unsafe {
        let x = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
        let slash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
        // Signed: bytes 0x80..=0xff are negative, so this flags them with the controls.
        let low = _mm_cmplt_epi8(x, _mm_set1_epi8(0x20));
        let del = _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f));
        let stop = _mm_or_si128(_mm_or_si128(quote, slash), _mm_or_si128(low, del));
        _mm_movemask_epi8(stop) as u32
    }
}

/// [`string_stop`] a word at a time.
#[inline(always)]
fn string_stop_words(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at;
    loop {
        let w = word_at(bytes, i);
        // Exact per byte, lowest flagged byte first: zero-byte tests only misflag bytes
        // above a real match.
        let quote = w ^ (b'"' as u64 * ONES);
        let slash = w ^ (b'\\' as u64 * ONES);
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
        let control = w.wrapping_sub(0x20 * ONES) & !w & HIGHS;
        let high = (((w & !HIGHS) + ONES) | w) & HIGHS;
        let stop = zero(quote) | zero(slash) | control | high;
        if stop != 0 {
            let p = i + (stop.trailing_zeros() / 8) as usize;
            return (p < bytes.len()).then_some(p);
        }
        i += 8;
    }
}

/// Parses an unsigned decimal integer of at most 19 digits.
#[inline]
pub fn parse_u64(text: &[u8], field: &'static str) -> Result<u64, ParseError> {
    if text.is_empty() || text.len() > 19 {
        return Err(ParseError::BadNumber(field));
    }
    let mut v: u64 = 0;
    for &c in text {
        if !c.is_ascii_digit() {
            return Err(ParseError::BadNumber(field));
        }
        v = v * 10 + u64::from(c - b'0');
    }
    Ok(v)
}

/// Converts epoch milliseconds to nanoseconds, rejecting values past year 2262.
#[inline]
pub fn ms_to_ns(ms: u64, field: &'static str) -> Result<i64, ParseError> {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| ms.checked_mul(NANOS_PER_MILLI))
        .ok_or(ParseError::BadValue(field))
}

/// Parses epoch milliseconds written as text (`"1652459224956"`) into nanoseconds.
#[inline]
pub fn parse_ms_text(text: &[u8], field: &'static str) -> Result<i64, ParseError> {
    ms_to_ns(parse_u64(text, field)?, field)
}

/// Parses epoch nanoseconds written as text (`"1729843222921000000"`).
#[inline]
pub fn parse_ns_text(text: &[u8], field: &'static str) -> Result<i64, ParseError> {
    i64::try_from(parse_u64(text, field)?).map_err(|_| ParseError::BadValue(field))
}

/// Parses epoch milliseconds with a decimal fraction (`"1606292218213.4578"`, Gate's
/// `create_time_ms`) into nanoseconds, exactly: the fraction's first six digits are kept,
/// the rest truncated.
///
/// # Errors
/// [`ParseError::BadNumber`] for anything but digits with at most one point;
/// [`ParseError::BadValue`] when the instant does not fit an `i64` of ns (past 2262).
pub fn parse_ms_fraction_text(text: &[u8], field: &'static str) -> Result<i64, ParseError> {
    let (int, frac) = match text.iter().position(|&c| c == b'.') {
        Some(p) => (&text[..p], &text[p + 1..]),
        None => (text, &[][..]),
    };
    let ns = parse_ms_text(int, field)?;
    // At most six digits of at most 9 times 10^5 .. 10^0: below 10^6, no overflow.
    let mut frac_ns = 0_i64;
    let mut scale = 100_000_i64;
    for &c in frac {
        if !c.is_ascii_digit() {
            return Err(ParseError::BadNumber(field));
        }
        if scale > 0 {
            frac_ns += i64::from(c - b'0') * scale;
            scale /= 10;
        }
    }
    // NB: the whole milliseconds can fit while the fraction pushes the sum past i64::MAX
    // ("9223372036854.9"); that must be an error, not a wrapped negative time.
    ns.checked_add(frac_ns).ok_or(ParseError::BadValue(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_std_on_edge_cases() {
        for t in [
            "0",
            "0.0",
            "1",
            "10",
            "0.1",
            "0.2",
            "0.3",
            "8010.00000000",
            "0.00006547",
            "0.0000000001",
            "9007199254740992",
            "9007199254740993",
            "0.9007199254740993",
            "123456789012345678",
            "1234567890123456789",
            "00000000000000000000001.5",
            "1.00000000000000000000001",
            "72377.25",
            "121342.22",
            "0.00000001",
            "4478.31",
            "999999999999999.9",
        ] {
            let want: f64 = t.parse().unwrap();
            assert_eq!(
                parse_decimal(t.as_bytes(), "p").unwrap().to_bits(),
                want.to_bits(),
                "{t}"
            );
        }
        assert_eq!(
            plain_decimal_quoted(b"8010.00000000\","),
            Some((8010.0, 14))
        );
        assert_eq!(
            plain_decimal_quoted(b"0.00006547\""),
            Some((0.00006547, 11))
        );
        assert_eq!(plain_decimal_quoted(b"\""), None);
        assert_eq!(plain_decimal_quoted(b"1.\""), None);
        assert_eq!(plain_decimal_quoted(b".5\""), None);
        assert_eq!(plain_decimal_quoted(b"1e5\""), None);
        assert_eq!(plain_decimal_quoted(b"12"), None);
        assert_eq!(plain_decimal_quoted(b"99999999999999999\""), None);
        assert_eq!(plain_decimal(b"1.5e3"), None);
        assert_eq!(plain_decimal(b"1."), None);
        assert_eq!(plain_decimal(b".5"), None);
        assert_eq!(plain_decimal(b"1.2.3"), None);
        assert_eq!(
            parse_decimal(b"5.", "p").is_ok(),
            "5.".parse::<f64>().is_ok()
        );
    }

    /// The word leaf's shapes and their edges, each against std (or given up on, for the
    /// general parser), anywhere in a frame and at its very end.
    #[test]
    fn quoted_decimal_words_edges() {
        let accepted = [
            "8010.00000000",
            "0.03120100",
            "0.00000001",
            "1234567.12345678",
            "9999999.99999999",
            "0000001.50000000",
            "0000000.00000000",
            "1234567",
            "0",
            "007",
            "1.5",
            "2045.31",
            "0.97311",
            "123456.1234567",
            "1.1234567",
        ];
        for text in accepted {
            let want: f64 = text.parse().unwrap();
            for (prefix, suffix) in [("", r#""}}"#), (r#"{"b":""#, r#"","B":"1"}"#), ("xx", "\"")] {
                let frame = format!("{prefix}{text}{suffix}");
                let at = prefix.len();
                let (v, used) = quoted_decimal_words(frame.as_bytes(), at);
                // Near the end of the frame (no word past the first fraction digit) the
                // leaf may leave it to the general parser.
                if used > 0 || frame.len() >= at + text.len() + 9 {
                    assert_eq!(
                        (v.to_bits(), used),
                        (want.to_bits(), text.len() + 1),
                        "{frame}"
                    );
                }
                assert_eq!(
                    plain_decimal_quoted(&frame.as_bytes()[at..]).map(|(v, n)| (v.to_bits(), n)),
                    Some((want.to_bits(), text.len() + 1)),
                    "{frame}"
                );
            }
        }
        // Left to the general parsers: longer runs, and the end of a short frame.
        for (text, general) in [
            ("12345678.5", Some(12345678.5)),
            ("12345678", Some(12345678.0)),
            ("1.123456789", Some(1.123456789)),
            ("1.123456789012345", Some(1.123456789012345)),
            ("1.1234567890123456", None),
            ("1.", None),
            (".5", None),
            ("1.5x", None),
            ("1e5", None),
            ("", None),
            ("-1.5", None),
        ] {
            let frame = format!(r#"{text}","B":"1"}}"#);
            let (v, used) = quoted_decimal_words(frame.as_bytes(), 0);
            let got = (used > 0).then_some(v);
            let full = plain_decimal_quoted(frame.as_bytes()).map(|(v, _)| v);
            assert_eq!(full, general, "{frame}");
            assert!(got.is_none() || got == general, "{frame}");
        }
        // Short frames: at the end, and a frame shorter than a word.
        for frame in [&b"1.5\""[..], b"0.03120100\"", b"7\"", b"12345.5\""] {
            let text = std::str::from_utf8(&frame[..frame.len() - 1]).unwrap();
            let want: f64 = text.parse().unwrap();
            let (v, used) = quoted_decimal_words(frame, 0);
            assert!(
                used == 0 || (v.to_bits(), used) == (want.to_bits(), frame.len()),
                "{text}"
            );
            assert_eq!(
                plain_decimal_quoted(frame),
                Some((want, frame.len())),
                "{text}"
            );
        }
    }

    #[test]
    fn decimals_are_correctly_rounded() {
        assert_eq!(parse_decimal(b"0.00006547", "p").unwrap(), 0.00006547);
        assert_eq!(parse_decimal(b"8010.00000000", "p").unwrap(), 8010.0);
        assert_eq!(parse_decimal(b"0.1", "p").unwrap(), 0.1);
        assert_eq!(parse_decimal(b"1e-9", "p").unwrap(), 1e-9);
        assert_eq!(parse_decimal(b"1.5E3", "p").unwrap(), 1500.0);
        assert_eq!(parse_decimal(b"0", "p").unwrap(), 0.0);
        // 17+ significant digits round correctly.
        assert_eq!(
            parse_decimal(b"0.30000000000000004441", "p").unwrap(),
            0.30000000000000004
        );
        assert_eq!(
            parse_decimal(b"121342.2200000000000000000001", "p").unwrap(),
            121342.22
        );
        assert_eq!(
            parse_decimal(b"2.2250738585072011e-308", "p").unwrap(),
            "2.2250738585072011e-308".parse::<f64>().unwrap()
        );
    }

    #[test]
    fn bad_decimals_are_errors() {
        for bad in [
            &b""[..],
            b"abc",
            b"1.2.3",
            b"12x",
            b"inf",
            b"NaN",
            b" 1",
            b"1 ",
        ] {
            assert_eq!(
                parse_decimal(bad, "p"),
                Err(ParseError::BadNumber("p")),
                "{:?}",
                std::str::from_utf8(bad)
            );
        }
        assert_eq!(parse_decimal(b"-1", "p"), Err(ParseError::BadValue("p")));
        assert_eq!(parse_decimal(b"-0", "p"), Err(ParseError::BadValue("p")));
        assert_eq!(parse_decimal(b"1e400", "p"), Err(ParseError::BadValue("p")));
    }

    #[test]
    fn timestamps_keep_every_digit() {
        assert_eq!(
            parse_ms_text(b"1652459224956", "ts").unwrap(),
            1_652_459_224_956_000_000
        );
        assert_eq!(
            parse_ns_text(b"1729843222921000000", "ts").unwrap(),
            1_729_843_222_921_000_000
        );
        assert_eq!(
            parse_ms_fraction_text(b"1606292218213.4578", "ts").unwrap(),
            1_606_292_218_213_457_800
        );
        assert_eq!(
            parse_ms_fraction_text(b"1682689046123.0", "ts").unwrap(),
            1_682_689_046_123_000_000
        );
        assert_eq!(
            parse_ms_fraction_text(b"1682689046123", "ts").unwrap(),
            1_682_689_046_123_000_000
        );
        assert_eq!(
            parse_ms_fraction_text(b"1619093543708.26421234", "ts").unwrap(),
            1_619_093_543_708_264_212
        );
        assert!(parse_ms_text(b"99999999999999999", "ts").is_err());
        assert_eq!(
            parse_ms_fraction_text(b"9223372036854.775807", "ts"),
            Ok(i64::MAX)
        );
        assert!(parse_ms_text(b"12a", "ts").is_err());
        assert!(parse_u64(b"", "x").is_err());
    }

    #[test]
    fn ms_fraction_past_i64_is_bad_value_not_wrapped() {
        for bad in [
            &b"9223372036854.9"[..],
            b"9223372036854.775808",
            b"9223372036854.999999999",
            b"9223372036855",
            b"9223372036855.0",
        ] {
            assert_eq!(
                parse_ms_fraction_text(bad, "create_time_ms"),
                Err(ParseError::BadValue("create_time_ms")),
                "{:?}",
                std::str::from_utf8(bad)
            );
        }
        // A bad character after an overflowing fraction digit is still a bad number.
        assert_eq!(
            parse_ms_fraction_text(b"9223372036854.9x", "t"),
            Err(ParseError::BadNumber("t"))
        );
    }
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use super::*;

    /// The byte-at-a-time `plain_decimal_quoted` the word version replaced: the reference.
    fn plain_decimal_quoted_bytewise(bytes: &[u8]) -> Option<(f64, usize)> {
        let mut m: u64 = 0;
        let mut frac_digits: usize = 0;
        let mut seen_point = false;
        let mut i = 0;
        loop {
            let c = *bytes.get(i)?;
            let d = c.wrapping_sub(b'0');
            if d < 10 {
                m = m * 10 + u64::from(d);
                if m > 1 << 53 {
                    return None;
                }
                frac_digits += usize::from(seen_point);
            } else if c == b'.' && !seen_point && i > 0 {
                seen_point = true;
            } else if c == b'"' {
                break;
            } else {
                return None;
            }
            i += 1;
        }
        if i == 0 || bytes[i - 1] == b'.' || frac_digits >= POW10.len() {
            return None;
        }
        Some((m as f64 / POW10[frac_digits], i + 1))
    }

    fn string_stop_bytewise(bytes: &[u8], at: usize) -> Option<usize> {
        (at..bytes.len()).find(|&i| {
            let c = bytes[i];
            c == b'"' || c == b'\\' || !(0x20..0x7f).contains(&c)
        })
    }

    /// Decimal-looking text: digits, points, quotes and a few other bytes.
    fn decimalish() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                8 => b'0'..=b'9',
                2 => Just(b'.'),
                2 => Just(b'"'),
                1 => Just(b'e'),
                1 => Just(b'/'),
                1 => Just(b':'),
                1 => any::<u8>(),
            ],
            0..40,
        )
    }

    proptest! {
        /// Every plain decimal parses to exactly what std's correctly rounded parser gives.
        #[test]
        fn prop_decimal_matches_std(int in "[0-9]{1,12}", frac in "[0-9]{0,14}") {
            let text = if frac.is_empty() { int } else { format!("{int}.{frac}") };
            let want: f64 = text.parse().unwrap();
            prop_assert_eq!(parse_decimal(text.as_bytes(), "p").unwrap().to_bits(), want.to_bits());
            let quoted = format!("{text}\"");
            if let Some((v, n)) = plain_decimal_quoted(quoted.as_bytes()) {
                prop_assert_eq!(v.to_bits(), want.to_bits());
                prop_assert_eq!(n, quoted.len());
            }
        }

        /// The word-at-a-time parser accepts exactly what the byte loop accepted, with the
        /// same value and length, where the byte loop is exact (a byte loop that gives up
        /// on m > 2^53 midway and the word parser agree on every input).
        #[test]
        fn prop_quoted_decimal_matches_bytewise(bytes in decimalish()) {
            let got = plain_decimal_quoted(&bytes).map(|(v, n)| (v.to_bits(), n));
            let want = plain_decimal_quoted_bytewise(&bytes).map(|(v, n)| (v.to_bits(), n));
            // The word parser also gives up past 19 digits; the byte loop only past 2^53,
            // which leading zeros can postpone.
            if got.is_some() || want.is_none() {
                prop_assert_eq!(got, want);
            } else {
                prop_assert!(bytes.iter().take_while(|&&c| c != b'"').filter(|c| c.is_ascii_digit()).count() > MAX_RUN_DIGITS);
            }
        }

        /// The word leaf, at any offset in a frame: whatever it accepts is what the byte
        /// loop gives, and it accepts the usual shapes whenever a word follows.
        #[test]
        fn prop_quoted_decimal_words_at_offsets(
            head in prop::collection::vec(any::<u8>(), 0..12),
            int in "[0-9]{1,8}",
            frac in "[0-9]{0,10}",
            tail in prop::collection::vec(prop_oneof![4 => Just(b'"'), 1 => any::<u8>()], 0..12),
        ) {
            let text = if frac.is_empty() { int.clone() } else { format!("{int}.{frac}") };
            let mut bytes = head.clone();
            bytes.extend_from_slice(text.as_bytes());
            bytes.extend_from_slice(&tail);
            let at = head.len();
            let (v, used) = quoted_decimal_words(&bytes, at);
            let want = plain_decimal_quoted_bytewise(&bytes[at..]).map(|(v, n)| (v.to_bits(), n));
            if used > 0 {
                prop_assert_eq!(Some((v.to_bits(), used)), want);
            }
            let usual = int.len() <= 7 && frac.len() <= 8 && tail.first() == Some(&b'"');
            if usual && bytes.len() >= at + text.len() + 9 {
                prop_assert!(used > 0, "{:?}", String::from_utf8_lossy(&bytes));
            }
            let full = plain_decimal_quoted(&bytes[at..]).map(|(v, n)| (v.to_bits(), n));
            if full.is_some() || want.is_none() {
                prop_assert_eq!(full, want);
            }
        }

        #[test]
        fn prop_quoted_plain_decimals_parse(int in "[0-9]{1,10}", frac in "[0-9]{0,9}", tail in "[\"]?[},]{0,9}") {
            let text = if frac.is_empty() { int } else { format!("{int}.{frac}") };
            let quoted = format!("{text}{tail}");
            let got = plain_decimal_quoted(quoted.as_bytes()).map(|(v, n)| (v.to_bits(), n));
            let want = plain_decimal_quoted_bytewise(quoted.as_bytes()).map(|(v, n)| (v.to_bits(), n));
            prop_assert_eq!(got, want);
        }

        /// Text ending at `end` (protobuf strings): whatever the word parser accepts,
        /// `parse_decimal` of the same text gives bit for bit, whatever follows `end`.
        #[test]
        fn prop_decimal_words_until_matches_parse_decimal(
            bytes in decimalish(),
            at in 0usize..8,
            len in 0usize..30,
        ) {
            let at = at.min(bytes.len());
            let end = (at + len).min(bytes.len());
            if let Some(v) = decimal_words_until(&bytes, at, end) {
                let want = parse_decimal(&bytes[at..end], "p").map(f64::to_bits);
                prop_assert_eq!(Ok(v.to_bits()), want);
            }
        }

        #[test]
        fn prop_decimal_words_until_takes_plain_decimals(
            int in "[0-9]{1,7}",
            frac in "[0-9]{0,8}",
            tail in prop::collection::vec(any::<u8>(), 0..10),
        ) {
            let text = if frac.is_empty() { int } else { format!("{int}.{frac}") };
            let mut bytes = text.clone().into_bytes();
            bytes.extend_from_slice(&tail);
            let got = decimal_words_until(&bytes, 0, text.len());
            let want: f64 = text.parse().unwrap();
            // Given up only where the next byte continues the number, or in a short buffer.
            if let Some(v) = got {
                prop_assert_eq!(v.to_bits(), want.to_bits());
            } else {
                prop_assert!(bytes.len() < 8 || bytes.get(text.len()).is_some_and(|c| c.is_ascii_digit() || *c == b'.'));
            }
        }

        /// Eight integer digits, with or without a fraction (quantities of coins priced in
        /// millionths): the word parsers take them, quoted or ending at `end`.
        #[test]
        fn prop_eight_digit_integers_take_the_word_path(
            int in "[0-9]{8}",
            frac in "[0-9]{0,7}",
            tail in prop::collection::vec(any::<u8>(), 0..10),
        ) {
            let text = if frac.is_empty() { int } else { format!("{int}.{frac}") };
            let want: f64 = text.parse().unwrap();
            let mut quoted = format!("{text}\"").into_bytes();
            quoted.extend_from_slice(&tail);
            let (v, used) = quoted_decimal_words(&quoted, 0);
            prop_assert_eq!((v.to_bits(), used), (want.to_bits(), text.len() + 1));
            let mut until = text.clone().into_bytes();
            until.extend_from_slice(&tail);
            let got = decimal_words_until(&until, 0, text.len());
            if let Some(v) = got {
                prop_assert_eq!(v.to_bits(), want.to_bits());
            } else {
                prop_assert!(until.get(text.len()).is_some_and(|c| c.is_ascii_digit() || *c == b'.'));
            }
        }

        #[test]
        fn prop_digit_run_matches_bytewise(bytes in decimalish(), at in 0usize..8) {
            let at = at.min(bytes.len());
            let n = bytes[at..].iter().take_while(|c| c.is_ascii_digit()).count();
            let want = (n <= MAX_RUN_DIGITS).then(|| {
                let v = bytes[at..at + n].iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'));
                (v, n)
            });
            prop_assert_eq!(digit_run(&bytes, at), want);
        }

        #[test]
        fn prop_digit_count_matches_digit_run(bytes in decimalish(), at in 0usize..8) {
            let at = at.min(bytes.len());
            prop_assert_eq!(digit_count(&bytes, at), digit_run(&bytes, at).map(|(_, n)| n));
        }

        #[test]
        fn prop_uint_words_agrees_with_digit_run(bytes in decimalish(), at in 0usize..8) {
            let at = at.min(bytes.len());
            let (v, n) = uint_words(&bytes, at);
            if n > 0 {
                prop_assert_eq!(digit_run(&bytes, at), Some((v, n)));
                prop_assert!(n == 1 || bytes[at] != b'0');
                prop_assert!(!matches!(bytes.get(at + n), Some(b'.' | b'e' | b'E')));
            }
        }

        #[test]
        fn prop_uint_words_takes_plain_ints(v in 1u64..1_000_000_000_000_000, tail in "[,}\\]][,}\"]{7}") {
            let text = format!("{v}{tail}");
            prop_assert_eq!(uint_words(text.as_bytes(), 0), (v, v.to_string().len()));
        }

        #[test]
        fn prop_word_in_leaf_matches_word_at(bytes in prop::collection::vec(any::<u8>(), 8..24), at in 0usize..30) {
            prop_assert_eq!(word_in_leaf(&bytes, at), Some(word_at(&bytes, at)));
        }

        #[test]
        fn prop_leading_digits_counts(bytes in prop::collection::vec(prop_oneof![4 => b'0'..=b'9', 1 => any::<u8>()], 8)) {
            let w = u64::from_le_bytes(bytes[..8].try_into().unwrap());
            prop_assert_eq!(leading_digits(w), bytes.iter().take_while(|c| c.is_ascii_digit()).count());
            prop_assert_eq!(leading_digits(w), (non_digits(w).trailing_zeros() / 8) as usize);
        }

        #[test]
        fn prop_string_stop_matches_bytewise(
            bytes in prop::collection::vec(prop_oneof![6 => 0x20u8..0x7f, 1 => any::<u8>()], 0..40),
            at in 0usize..8,
        ) {
            let at = at.min(bytes.len());
            prop_assert_eq!(string_stop(&bytes, at), string_stop_bytewise(&bytes, at));
        }

        /// Long string bodies (the 16-byte loop, its word tail), stops anywhere.
        #[test]
        fn prop_long_string_stop_matches_bytewise(
            len in 0usize..80,
            stop_at in 0usize..80,
            stop in prop_oneof![Just(b'"'), Just(b'\\'), Just(0x7fu8), 0u8..0x20, 0x80u8..=0xff],
            at in 0usize..20,
        ) {
            let mut bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            if let Some(b) = bytes.get_mut(stop_at) {
                *b = stop;
            }
            let at = at.min(bytes.len());
            prop_assert_eq!(string_stop(&bytes, at), string_stop_bytewise(&bytes, at));
        }

        #[test]
        fn prop_long_decimals_match_std(int in "[0-9]{1,25}", frac in "[0-9]{1,30}") {
            let text = format!("{int}.{frac}");
            let want: f64 = text.parse().unwrap();
            prop_assert_eq!(parse_decimal(text.as_bytes(), "p").unwrap().to_bits(), want.to_bits());
        }
    }
}
