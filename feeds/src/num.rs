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
/// One pass over the bytes, no UTF-8 or escape pass: a byte that is not a digit, the one
/// point or the quote ends it with `None`.
#[inline]
pub fn plain_decimal_quoted(bytes: &[u8]) -> Option<(f64, usize)> {
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

        #[test]
        fn prop_long_decimals_match_std(int in "[0-9]{1,25}", frac in "[0-9]{1,30}") {
            let text = format!("{int}.{frac}");
            let want: f64 = text.parse().unwrap();
            prop_assert_eq!(parse_decimal(text.as_bytes(), "p").unwrap().to_bits(), want.to_bits());
        }
    }
}
