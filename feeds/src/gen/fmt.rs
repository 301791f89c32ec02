//! Allocation-free text formatting for the generator's hot path: decimals from integer
//! mantissas, integers via `itoa`, hex ids, UUIDs and BingX's local-time strings.
//!
//! Prices and sizes are integers in units of `10^-scale` (ticks, lots), so every decimal is
//! printed exactly, without going through `f64`.

use arb_engine::clock::civil_from_days;

/// Powers of ten that fit a `u64`.
pub(crate) const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// How many decimals a venue prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecStyle {
    /// Exactly the instrument's scale: `"4478.30"` (Bybit, Gate, Bitget, BingX, MEXC).
    Exact,
    /// Trailing zeros and a bare point removed: `"30236"`, `"31774.7"` (OKX, KuCoin).
    Trim,
    /// At least this many decimals, zero-padded: `"8010.00000000"` (Binance: 8).
    Pad(u32),
}

/// Appends an unsigned integer.
#[inline]
pub(crate) fn push_u64(buf: &mut Vec<u8>, v: u64) {
    let mut b = itoa::Buffer::new();
    buf.extend_from_slice(b.format(v).as_bytes());
}

/// Appends a signed integer.
#[inline]
pub(crate) fn push_i64(buf: &mut Vec<u8>, v: i64) {
    let mut b = itoa::Buffer::new();
    buf.extend_from_slice(b.format(v).as_bytes());
}

/// Appends `mantissa * 10^-scale` as a decimal in `style`.
///
/// # Hot path
/// Allocates never (beyond `buf` growth); syscalls none; may block no.
#[inline]
pub(crate) fn push_decimal(buf: &mut Vec<u8>, mantissa: u64, scale: u32, style: DecStyle) {
    debug_assert!(scale < 20);
    let (mut mantissa, mut scale) = (mantissa, scale);
    if let DecStyle::Pad(min) = style
        && min > scale
        && min < 20
    {
        let extra = min - scale;
        // Without room to pad, the exact scale is printed.
        if let Some(m) = mantissa.checked_mul(POW10[extra as usize]) {
            mantissa = m;
            scale = min;
        }
    }
    let div = POW10[scale as usize];
    push_u64(buf, mantissa / div);
    if scale == 0 {
        return;
    }
    let mut frac = mantissa % div;
    let mut digits = scale;
    if style == DecStyle::Trim {
        if frac == 0 {
            return;
        }
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
    }
    buf.push(b'.');
    let mut tmp = [b'0'; 20];
    let mut i = digits as usize;
    while i > 0 {
        i -= 1;
        tmp[i] = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    buf.extend_from_slice(&tmp[..digits as usize]);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the low `digits` hex digits of `v` (lower case), most significant first.
#[inline]
pub(crate) fn push_hex(buf: &mut Vec<u8>, v: u64, digits: u32) {
    debug_assert!(digits <= 16);
    for i in (0..digits).rev() {
        buf.push(HEX[((v >> (4 * i)) & 0xF) as usize]);
    }
}

/// Appends a version-4-shaped UUID `8-4-4-4-12` from 128 random bits.
pub(crate) fn push_uuid(buf: &mut Vec<u8>, hi: u64, lo: u64) {
    let hi = (hi & !0xF000) | 0x4000; // version 4
    let lo = (lo & !(0xC << 60)) | (0x8 << 60); // variant 10
    push_hex(buf, hi >> 32, 8);
    buf.push(b'-');
    push_hex(buf, hi >> 16, 4);
    buf.push(b'-');
    push_hex(buf, hi, 4);
    buf.push(b'-');
    push_hex(buf, lo >> 48, 4);
    buf.push(b'-');
    push_hex(buf, lo, 12);
}

fn push_2(buf: &mut Vec<u8>, v: u32) {
    buf.push(b'0' + (v / 10 % 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

/// Appends a time as BingX prints it in heartbeats: local time in UTC+8 with milliseconds,
/// `2026-01-01T08:00:00.323+0800`.
pub(crate) fn push_bingx_time(buf: &mut Vec<u8>, ms_since_epoch: i64) {
    let local_ms = ms_since_epoch + 8 * 3_600_000;
    let days = local_ms.div_euclid(86_400_000);
    let ms_of_day = local_ms.rem_euclid(86_400_000) as u32;
    let (y, m, d) = civil_from_days(days);
    push_i64(buf, y);
    buf.push(b'-');
    push_2(buf, m);
    buf.push(b'-');
    push_2(buf, d);
    buf.push(b'T');
    push_2(buf, ms_of_day / 3_600_000);
    buf.push(b':');
    push_2(buf, ms_of_day / 60_000 % 60);
    buf.push(b':');
    push_2(buf, ms_of_day / 1000 % 60);
    buf.push(b'.');
    let ms = ms_of_day % 1000;
    buf.push(b'0' + (ms / 100) as u8);
    push_2(buf, ms % 100);
    buf.extend_from_slice(b"+0800");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(m: u64, s: u32, style: DecStyle) -> String {
        let mut b = Vec::new();
        push_decimal(&mut b, m, s, style);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn decimals_print_exactly() {
        assert_eq!(dec(447830, 2, DecStyle::Exact), "4478.30");
        assert_eq!(dec(447830, 2, DecStyle::Trim), "4478.3");
        assert_eq!(dec(3023600, 2, DecStyle::Trim), "30236");
        assert_eq!(dec(801000, 2, DecStyle::Pad(8)), "8010.00000000");
        assert_eq!(dec(6547, 8, DecStyle::Pad(8)), "0.00006547");
        assert_eq!(dec(15, 10, DecStyle::Pad(8)), "0.0000000015");
        assert_eq!(dec(5, 0, DecStyle::Exact), "5");
        assert_eq!(dec(5, 0, DecStyle::Pad(8)), "5.00000000");
        assert_eq!(dec(0, 3, DecStyle::Trim), "0");
        assert_eq!(dec(1, 3, DecStyle::Exact), "0.001");
        assert_eq!(dec(u64::MAX, 2, DecStyle::Pad(8)), "184467440737095516.15");
    }

    #[test]
    fn decimals_parse_back_to_the_same_f64() {
        for (m, s) in [(9_338_728u64, 2u32), (6547, 8), (123_456_789, 9), (1, 10)] {
            for style in [DecStyle::Exact, DecStyle::Trim, DecStyle::Pad(8)] {
                let text = dec(m, s, style);
                let v: f64 = text.parse().unwrap();
                assert_eq!(v, m as f64 / POW10[s as usize] as f64, "{text}");
            }
        }
    }

    #[test]
    fn hex_and_uuid_have_the_right_shape() {
        let mut b = Vec::new();
        push_hex(&mut b, 0xABCDEF, 8);
        assert_eq!(b, b"00abcdef");
        b.clear();
        push_uuid(&mut b, u64::MAX, 0);
        let s = String::from_utf8(b).unwrap();
        assert_eq!(s.len(), 36);
        assert_eq!(s.as_bytes()[14], b'4');
        assert_eq!(
            s.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
    }

    #[test]
    fn bingx_time_is_utc_plus_eight() {
        let mut b = Vec::new();
        // 2022-06-07T08:27:36.323Z
        push_bingx_time(&mut b, 1_654_590_456_323);
        assert_eq!(b, b"2022-06-07T16:27:36.323+0800");
        b.clear();
        // 2025-12-31T16:00:00.000Z is midnight in UTC+8.
        push_bingx_time(&mut b, 1_767_196_800_000);
        assert_eq!(b, b"2026-01-01T00:00:00.000+0800");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
