//! A minimal protobuf writer for MEXC frames: varints, tags and length-delimited fields,
//! fields written in ascending number order as the official encoders do.

/// Wire type of varint fields.
const VARINT: u32 = 0;
/// Wire type of length-delimited fields (strings, bytes, messages).
const LEN: u32 = 2;

/// Appends a base-128 varint.
#[inline]
pub(crate) fn push_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends a field tag.
#[inline]
fn push_tag(buf: &mut Vec<u8>, field: u32, wire_type: u32) {
    push_varint(buf, u64::from((field << 3) | wire_type));
}

/// Appends a varint field (`int32`/`int64`: negative values as 10-byte two's complement).
#[inline]
pub(crate) fn push_int_field(buf: &mut Vec<u8>, field: u32, v: i64) {
    push_tag(buf, field, VARINT);
    push_varint(buf, v as u64);
}

/// Appends a length-delimited field with `bytes` as its content.
#[inline]
pub(crate) fn push_bytes_field(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    push_tag(buf, field, LEN);
    push_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_spec() {
        let enc = |v| {
            let mut b = Vec::new();
            push_varint(&mut b, v);
            b
        };
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(1), [1]);
        assert_eq!(enc(150), [0x96, 0x01]);
        assert_eq!(enc(300), [0xAC, 0x02]);
        assert_eq!(enc(u64::MAX).len(), 10);
        let mut b = Vec::new();
        push_tag(&mut b, 315, LEN);
        assert_eq!(b, [0xDA, 0x13]);
        b.clear();
        push_tag(&mut b, 314, LEN);
        assert_eq!(b, [0xD2, 0x13]);
    }
}
