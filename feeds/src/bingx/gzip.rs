//! GZIP framing of BingX server frames: a header parser and a reused whole-buffer
//! inflater that never grows past a bound, plus a compressor for tests and synthetic
//! captures.
//!
//! The 10-byte header (RFC 1952) is parsed here, including the optional FEXTRA, FNAME,
//! FCOMMENT and FHCRC parts (the header CRC is checked), then [`super::inflate`] inflates
//! the DEFLATE stream, which must end exactly where the 8-byte trailer starts, into a
//! buffer the decoder owns, and the content is checked against the trailer's CRC-32 and
//! size.
//!
//! NB: an inflater of arb's own rather than libdeflate (`libdeflater`, used before) or the
//! streaming flate2/zlib-rs `Decompress` (before that): BingX frames are one small
//! dynamic-Huffman block each, so setting up the block's decode tables dominates.
//! Instructions per book-ticker frame, decode included (`benches/decode_instructions.sh
//! bingx`): zlib-rs ~22 100, libdeflate ~12 700 (~6 000 of it building its tables: it
//! walks all 288 + 32 code lengths twice and widens a litlen table of up to 11 bits),
//! [`super::inflate`] ~9 200 (~10 900 before its tables took per-block widths and were
//! filled without sorting). No libdeflate fallback for larger blocks: its faster decode
//! loop was not measured against this one on large frames, and BingX frames are a few
//! hundred bytes. Unlike libdeflate's path, a frame with bytes between the deflate
//! stream's end and the trailer is refused.

use std::io::Write as _;

use flate2::Compression;

use super::inflate::{Inflate, InflateError};
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
/// First size of the output buffer; it doubles up to the bound as frames need.
const INITIAL_OUT_BYTES: usize = 4096;
/// Room left after a frame's announced size, so that its matches are copied by words.
const OUT_SLACK: usize = 64;

/// Reusable gunzip state for one connection.
pub(super) struct Inflater {
    z: Box<Inflate>,
    /// Output buffer, always at its full length (zero-filled once, when it grows); a
    /// frame's content is a prefix. Never longer than `max_out`.
    out: Vec<u8>,
    max_out: usize,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("out_bytes", &self.out.len())
            .field("max_out", &self.max_out)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// Creates an inflater whose output is bounded by `max_out` bytes.
    pub(super) fn new(max_out: usize) -> Self {
        Inflater {
            z: Inflate::new(),
            out: vec![0; INITIAL_OUT_BYTES.min(max_out)],
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
        let trailer_at = frame
            .len()
            .checked_sub(TRAILER_LEN)
            .filter(|&t| t >= start)
            .ok_or(ParseError::Gzip)?;
        let trailer = &frame[trailer_at..];
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        // ISIZE only sizes the buffer here (a wrong one costs a retry or a larger buffer,
        // never more than the bound); the content is checked against it below.
        let hint = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .saturating_add(OUT_SLACK)
            .min(self.max_out);
        if hint > self.out.len() {
            self.grow_to(hint);
        }
        let len = loop {
            match self.z.inflate(frame, start, trailer_at, &mut self.out) {
                Ok(n) => break n,
                Err(InflateError::Data) => return Err(ParseError::Gzip),
                Err(InflateError::Space) => {
                    if self.out.len() >= self.max_out {
                        return Err(ParseError::Oversize);
                    }
                    let target = (self.out.len() * 2)
                        .max(INITIAL_OUT_BYTES)
                        .min(self.max_out);
                    self.grow_to(target);
                }
            }
        };
        let content = &self.out[..len];
        if size != len as u32 || crc != crc32fast::hash(content) {
            return Err(ParseError::Gzip);
        }
        Ok(content)
    }

    /// Grows the output buffer to `n` bytes (at most the bound).
    #[cold]
    fn grow_to(&mut self, n: usize) {
        self.out.resize(n.min(self.max_out), 0);
    }
}

/// Returns the length of the gzip header at the start of `frame`.
pub(super) fn header_len(frame: &[u8]) -> Result<usize, ParseError> {
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
        // Smaller frames after a large one reuse the buffer too.
        assert_eq!(inf.inflate(&gz(b"Ping")).unwrap(), b"Ping");
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
