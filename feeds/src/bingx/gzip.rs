//! GZIP framing of BingX server frames: a header parser and a reused raw-deflate inflater
//! that never grows past a bound, plus a compressor for tests and synthetic captures.
//!
//! The 10-byte header (RFC 1952) is parsed here, including the optional FEXTRA, FNAME,
//! FCOMMENT and FHCRC parts, so that inflating needs no allocation: one
//! `flate2::Decompress` in raw-deflate mode is reset per frame and writes into a buffer the
//! decoder owns. The CRC-32 and size trailer are checked.

use std::io::Write as _;

use flate2::{Compression, Decompress, FlushDecompress, Status};

use crate::error::ParseError;

const ID1: u8 = 0x1f;
const ID2: u8 = 0x8b;
const CM_DEFLATE: u8 = 8;
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;
const HEADER_LEN: usize = 10;
const TRAILER_LEN: usize = 8;
/// First capacity of the output buffer; it doubles up to the bound as frames need.
const INITIAL_OUT_BYTES: usize = 4096;

/// Reusable gunzip state for one connection.
#[derive(Debug)]
pub(super) struct Inflater {
    z: Decompress,
    /// Inflated bytes of the last frame; capacity never exceeds `max_out + 1` (once grown
    /// past its initial size).
    out: Vec<u8>,
    max_out: usize,
}

impl Inflater {
    /// Creates an inflater whose output is bounded by `max_out` bytes.
    pub(super) fn new(max_out: usize) -> Self {
        Inflater {
            z: Decompress::new(false),
            out: Vec::with_capacity(INITIAL_OUT_BYTES.min(max_out.saturating_add(1))),
            max_out,
        }
    }

    /// Inflates one gzip member and returns its content.
    ///
    /// # Errors
    /// [`ParseError::Oversize`] if the content (or the compressed frame) exceeds the bound,
    /// [`ParseError::Gzip`] for a bad header, corrupt or truncated data, a CRC or size
    /// mismatch, or trailing bytes.
    ///
    /// # Hot path
    /// Allocates never once the buffer has grown to the largest frame seen.
    pub(super) fn inflate(&mut self, frame: &[u8]) -> Result<&[u8], ParseError> {
        if frame.len() > self.max_out {
            return Err(ParseError::Oversize);
        }
        let start = header_len(frame)?;
        let input = &frame[start..];
        self.z.reset(false);
        self.out.clear();
        loop {
            if self.out.len() == self.out.capacity() {
                // One byte of slack tells "exactly the bound" from "over it".
                if self.out.len() > self.max_out {
                    return Err(ParseError::Oversize);
                }
                let target = (self.out.capacity() * 2)
                    .max(INITIAL_OUT_BYTES)
                    .min(self.max_out.saturating_add(1));
                self.out
                    .reserve_exact(target.saturating_sub(self.out.len()));
            }
            let consumed = self.consumed();
            let written = self.out.len();
            let rest = input.get(consumed..).ok_or(ParseError::Gzip)?;
            // NB: not `Finish`: miniz_oxide treats a first `Finish` call as one-shot and
            // fails it for good when the output buffer is too small to grow into.
            let status = self
                .z
                .decompress_vec(rest, &mut self.out, FlushDecompress::None)
                .map_err(|_| ParseError::Gzip)?;
            match status {
                Status::StreamEnd if self.out.len() > self.max_out => {
                    return Err(ParseError::Oversize);
                }
                Status::StreamEnd => break,
                Status::Ok | Status::BufError => {
                    let stalled = self.consumed() == consumed && self.out.len() == written;
                    if stalled && self.out.len() < self.out.capacity() {
                        // No progress with room to write: the input ended early.
                        return Err(ParseError::Gzip);
                    }
                }
            }
        }
        let trailer = input.get(self.consumed()..).ok_or(ParseError::Gzip)?;
        if trailer.len() != TRAILER_LEN {
            return Err(ParseError::Gzip);
        }
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        // ISIZE is the length modulo 2^32.
        if crc != crc32fast::hash(&self.out) || size != self.out.len() as u32 {
            return Err(ParseError::Gzip);
        }
        Ok(&self.out)
    }

    /// Compressed bytes consumed so far in this frame (bounded by the frame length).
    fn consumed(&self) -> usize {
        usize::try_from(self.z.total_in()).unwrap_or(usize::MAX)
    }
}

/// Returns the length of the gzip header at the start of `frame`.
fn header_len(frame: &[u8]) -> Result<usize, ParseError> {
    let fixed = frame.get(..HEADER_LEN).ok_or(ParseError::Gzip)?;
    let flags = fixed[3];
    if fixed[0] != ID1 || fixed[1] != ID2 || fixed[2] != CM_DEFLATE || flags & FRESERVED != 0 {
        return Err(ParseError::Gzip);
    }
    let mut pos = HEADER_LEN;
    if flags & FEXTRA != 0 {
        let xlen = frame.get(pos..pos + 2).ok_or(ParseError::Gzip)?;
        pos += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = frame.get(pos..).ok_or(ParseError::Gzip)?;
            let nul = rest.iter().position(|&b| b == 0).ok_or(ParseError::Gzip)?;
            pos += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        let crc16 = frame.get(pos..pos + 2).ok_or(ParseError::Gzip)?;
        let expected = (crc32fast::hash(&frame[..pos]) & 0xffff) as u16;
        if u16::from_le_bytes([crc16[0], crc16[1]]) != expected {
            return Err(ParseError::Gzip);
        }
        pos += 2;
    }
    if pos > frame.len() {
        return Err(ParseError::Gzip);
    }
    Ok(pos)
}

/// Appends `data` gzip-compressed (a plain 10-byte header, as BingX sends) to `out`.
///
/// For tests, the mock exchange and synthetic captures; not a hot-path function (the
/// encoder allocates its state per call).
pub fn gzip_compress(data: &[u8], out: &mut Vec<u8>) {
    let mut enc = flate2::write::GzEncoder::new(out, Compression::fast());
    // NB: writing into a Vec cannot fail, so neither can the encoder.
    enc.write_all(data)
        .expect("Invariant: writing into a Vec never fails");
    enc.finish()
        .expect("Invariant: writing into a Vec never fails");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        gzip_compress(data, &mut out);
        out
    }

    #[test]
    fn round_trips_and_reuses_the_buffer() {
        let mut inf = Inflater::new(1 << 20);
        for text in [&b"{\"ping\":\"x\"}"[..], b"", b"Ping"] {
            assert_eq!(inf.inflate(&gz(text)).unwrap(), text);
        }
        let big: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(inf.inflate(&gz(&big)).unwrap(), &big[..]);
        let cap = inf.out.capacity();
        assert_eq!(inf.inflate(&gz(&big)).unwrap(), &big[..]);
        assert_eq!(inf.out.capacity(), cap);
    }

    #[test]
    fn optional_header_parts_are_skipped() {
        let body = gz(b"hello");
        let deflate = &body[HEADER_LEN..];
        let mut header = vec![ID1, ID2, CM_DEFLATE, FEXTRA | FNAME | FCOMMENT | FHCRC];
        header.extend_from_slice(&[0, 0, 0, 0, 0, 255]);
        header.extend_from_slice(&[3, 0, b'a', b'b', b'c']);
        header.extend_from_slice(b"name.json\0");
        header.extend_from_slice(b"a comment\0");
        let crc = (crc32fast::hash(&header) & 0xffff) as u16;
        header.extend_from_slice(&crc.to_le_bytes());
        let mut frame = header.clone();
        frame.extend_from_slice(deflate);
        let mut inf = Inflater::new(1 << 20);
        assert_eq!(inf.inflate(&frame).unwrap(), b"hello");
        // A wrong header CRC is refused.
        let n = header.len();
        frame[n - 1] ^= 1;
        assert_eq!(inf.inflate(&frame), Err(ParseError::Gzip));
    }

    #[test]
    fn bad_frames_are_errors() {
        let mut inf = Inflater::new(64);
        let good = gz(b"{\"a\":1}");
        assert_eq!(inf.inflate(&good).unwrap(), b"{\"a\":1}");
        for cut in 0..good.len() {
            assert_eq!(
                inf.inflate(&good[..cut]),
                Err(ParseError::Gzip),
                "cut {cut}"
            );
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(inf.inflate(&trailing), Err(ParseError::Gzip));
        let mut bad_crc = good.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        assert_eq!(inf.inflate(&bad_crc), Err(ParseError::Gzip));
        let mut reserved = good.clone();
        reserved[3] = 0x80;
        assert_eq!(inf.inflate(&reserved), Err(ParseError::Gzip));
        assert_eq!(inf.inflate(&gz(&[b'x'; 65])), Err(ParseError::Oversize));
        assert_eq!(inf.inflate(&[0; 65]), Err(ParseError::Oversize));
        assert_eq!(inf.inflate(&gz(&[b'x'; 64])).unwrap(), &[b'x'; 64][..]);
    }
}
