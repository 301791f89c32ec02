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
    let v: f64 = fast_float2::parse(text).map_err(|_| ParseError::BadNumber(field))?;
    if !v.is_finite() || v < 0.0 || (v == 0.0 && text[0] == b'-') {
        return Err(ParseError::BadValue(field));
    }
    Ok(v)
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
pub fn parse_ms_fraction_text(text: &[u8], field: &'static str) -> Result<i64, ParseError> {
    let (int, frac) = match text.iter().position(|&c| c == b'.') {
        Some(p) => (&text[..p], &text[p + 1..]),
        None => (text, &[][..]),
    };
    let mut ns = parse_ms_text(int, field)?;
    let mut scale = 100_000_i64;
    for &c in frac {
        if !c.is_ascii_digit() {
            return Err(ParseError::BadNumber(field));
        }
        if scale > 0 {
            ns += i64::from(c - b'0') * scale;
            scale /= 10;
        }
    }
    Ok(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(parse_ms_text(b"12a", "ts").is_err());
        assert!(parse_u64(b"", "x").is_err());
    }
}
