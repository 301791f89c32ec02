//! Byte layout of a capture: constants, the record type, and the pure encode/decode
//! functions shared by the writers and the reader.
//!
//! Everything is little-endian. The fixed header is 32 bytes, followed by the metadata
//! block and zero padding up to `header_len`; records follow back to back, each a 24-byte
//! head, the payload, and zero padding to the next multiple of 8.

use std::str::FromStr;

use arb_engine::{Exchange, SymbolRegistry};

use super::error::CaptureError;
use crate::decode::FrameKind;

/// The first 8 bytes of every capture. The `\r\n` catches text-mode transfers.
pub const MAGIC: [u8; 8] = *b"ARBCAP\r\n";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Bytes of the fixed part of the file header (before the metadata).
pub const FIXED_HEADER_BYTES: usize = 32;
/// Bytes of a record head (before the payload).
pub const RECORD_HEADER_BYTES: usize = 24;
/// Alignment of the header end and of every record.
pub const ALIGN_BYTES: usize = 8;
/// Largest payload a record may carry: far above any venue's frame limit, small enough that
/// a corrupt length field is recognised as corrupt rather than as a huge truncated record.
pub const MAX_PAYLOAD_BYTES: usize = 16 << 20;
/// Largest metadata block: about a million listings.
pub const MAX_META_BYTES: usize = 64 << 20;

/// Zero bytes for padding.
pub(crate) const ZEROS: [u8; ALIGN_BYTES] = [0; ALIGN_BYTES];

/// Returns `len` rounded up to a multiple of [`ALIGN_BYTES`].
#[inline]
pub(crate) const fn padded(len: usize) -> usize {
    (len + (ALIGN_BYTES - 1)) & !(ALIGN_BYTES - 1)
}

/// What a record holds: a WebSocket frame of some type, or a connection event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordKind {
    /// UTF-8 text frame.
    Text = 0,
    /// Binary frame (MEXC protobuf, BingX gzip).
    Binary = 1,
    /// WebSocket ping frame; the payload is the ping payload.
    Ping = 2,
    /// WebSocket pong frame.
    Pong = 3,
    /// WebSocket close frame; the payload is the close code and reason as sent.
    Close = 4,
    /// The connection was established; the payload is the endpoint URL (may be empty).
    Connected = 16,
    /// The connection was lost or closed; the payload is a reason text (may be empty).
    Disconnected = 17,
}

impl RecordKind {
    /// Number of kinds; the length of per-kind counter arrays.
    pub const COUNT: usize = 7;

    /// All kinds, in [`RecordKind::index`] order.
    pub const ALL: [RecordKind; Self::COUNT] = [
        RecordKind::Text,
        RecordKind::Binary,
        RecordKind::Ping,
        RecordKind::Pong,
        RecordKind::Close,
        RecordKind::Connected,
        RecordKind::Disconnected,
    ];

    /// Returns the kind of a stored discriminant.
    #[inline]
    pub const fn from_u8(v: u8) -> Option<RecordKind> {
        match v {
            0 => Some(RecordKind::Text),
            1 => Some(RecordKind::Binary),
            2 => Some(RecordKind::Ping),
            3 => Some(RecordKind::Pong),
            4 => Some(RecordKind::Close),
            16 => Some(RecordKind::Connected),
            17 => Some(RecordKind::Disconnected),
            _ => None,
        }
    }

    /// Returns a dense index (`0 .. COUNT`) for per-kind counters.
    #[inline]
    pub const fn index(self) -> usize {
        match self {
            RecordKind::Text => 0,
            RecordKind::Binary => 1,
            RecordKind::Ping => 2,
            RecordKind::Pong => 3,
            RecordKind::Close => 4,
            RecordKind::Connected => 5,
            RecordKind::Disconnected => 6,
        }
    }

    /// Returns the frame type to hand a decoder, or `None` for connection events.
    #[inline]
    pub const fn frame_kind(self) -> Option<FrameKind> {
        match self {
            RecordKind::Text => Some(FrameKind::Text),
            RecordKind::Binary => Some(FrameKind::Binary),
            RecordKind::Ping => Some(FrameKind::Ping),
            RecordKind::Pong => Some(FrameKind::Pong),
            RecordKind::Close => Some(FrameKind::Close),
            RecordKind::Connected | RecordKind::Disconnected => None,
        }
    }

    /// Returns the lower-case label used in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecordKind::Text => "text",
            RecordKind::Binary => "binary",
            RecordKind::Ping => "ping",
            RecordKind::Pong => "pong",
            RecordKind::Close => "close",
            RecordKind::Connected => "connected",
            RecordKind::Disconnected => "disconnected",
        }
    }
}

impl From<FrameKind> for RecordKind {
    #[inline]
    fn from(k: FrameKind) -> Self {
        match k {
            FrameKind::Text => RecordKind::Text,
            FrameKind::Binary => RecordKind::Binary,
            FrameKind::Ping => RecordKind::Ping,
            FrameKind::Pong => RecordKind::Pong,
            FrameKind::Close => RecordKind::Close,
        }
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One captured frame or connection event. Reading borrows the payload from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Local receive time, ns since the Unix epoch.
    pub recv_ts_ns: i64,
    /// Venue of the connection.
    pub exchange: Exchange,
    /// Frame type or connection event.
    pub kind: RecordKind,
    /// Connection id within the venue.
    pub conn_id: u16,
    /// Frame bytes exactly as received (still compressed for BingX).
    pub payload: &'a [u8],
}

/// The fixed part of a capture's file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureHeader {
    /// Format version.
    pub version: u16,
    /// Flags; `0` in version 1.
    pub flags: u16,
    /// Bytes before the first record: fixed header, metadata and padding.
    pub header_len: u32,
    /// Wall-clock ns since the epoch when the file was created.
    pub created_ns: i64,
    /// Bytes of the metadata block.
    pub meta_len: u32,
    /// CRC32 of the metadata block.
    pub meta_crc: u32,
}

#[inline]
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

#[inline]
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(v)
}

impl CaptureHeader {
    /// Parses and validates the header at the start of `file`: magic, version, flags,
    /// header length and metadata CRC.
    ///
    /// # Errors
    /// [`CaptureError::TooShort`], [`CaptureError::BadMagic`],
    /// [`CaptureError::UnsupportedVersion`], [`CaptureError::UnsupportedFlags`],
    /// [`CaptureError::BadHeaderLen`], [`CaptureError::MetaCrc`].
    pub fn parse(file: &[u8]) -> Result<CaptureHeader, CaptureError> {
        let file_len = file.len() as u64;
        if file.len() < MAGIC.len() {
            return Err(CaptureError::TooShort { len: file_len });
        }
        if file[..MAGIC.len()] != MAGIC {
            return Err(CaptureError::BadMagic);
        }
        if file.len() < FIXED_HEADER_BYTES {
            return Err(CaptureError::TooShort { len: file_len });
        }
        let h = CaptureHeader {
            version: u16_at(file, 8),
            flags: u16_at(file, 10),
            header_len: u32_at(file, 12),
            created_ns: i64_at(file, 16),
            meta_len: u32_at(file, 24),
            meta_crc: u32_at(file, 28),
        };
        if h.version != VERSION {
            return Err(CaptureError::UnsupportedVersion(h.version));
        }
        if h.flags != 0 {
            return Err(CaptureError::UnsupportedFlags(h.flags));
        }
        let header_len = h.header_len as usize;
        let meta_end = FIXED_HEADER_BYTES as u64 + u64::from(h.meta_len);
        if !header_len.is_multiple_of(ALIGN_BYTES)
            || (header_len as u64) < meta_end
            || header_len > file.len()
        {
            return Err(CaptureError::BadHeaderLen {
                header_len: h.header_len,
                meta_len: h.meta_len,
                file_len,
            });
        }
        let computed = crc32fast::hash(&file[FIXED_HEADER_BYTES..meta_end as usize]);
        if computed != h.meta_crc {
            return Err(CaptureError::MetaCrc {
                stored: h.meta_crc,
                computed,
            });
        }
        Ok(h)
    }
}

/// Returns the complete file header (fixed part, metadata, padding) for `symbols`.
///
/// # Errors
/// [`CaptureError::InvalidSymbol`] for a native symbol with a tab or line break;
/// [`CaptureError::MetadataTooLarge`].
pub(crate) fn encode_header(
    symbols: &SymbolRegistry,
    created_ns: i64,
) -> Result<Vec<u8>, CaptureError> {
    let meta = encode_metadata(symbols)?;
    let header_len = padded(FIXED_HEADER_BYTES + meta.len());
    let meta_len = u32::try_from(meta.len()).map_err(|_| CaptureError::MetadataTooLarge {
        len: meta.len(),
        max: MAX_META_BYTES,
    })?;
    let mut out = Vec::with_capacity(header_len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(header_len)
            .expect("Invariant: header_len <= MAX_META_BYTES + 40 fits u32")
            .to_le_bytes(),
    );
    out.extend_from_slice(&created_ns.to_le_bytes());
    out.extend_from_slice(&meta_len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&meta).to_le_bytes());
    out.extend_from_slice(&meta);
    out.resize(header_len, 0);
    Ok(out)
}

/// Returns the metadata block for `symbols`: one line `exchange\tnative\tbase\tquote\n` per
/// listing, in id then venue order.
///
/// # Errors
/// [`CaptureError::InvalidSymbol`] for a native symbol containing a tab or line break;
/// [`CaptureError::MetadataTooLarge`].
pub fn encode_metadata(symbols: &SymbolRegistry) -> Result<Vec<u8>, CaptureError> {
    let mut meta = Vec::with_capacity(symbols.len() * 32);
    for (ex, native, base, quote) in symbols.listings() {
        if native.is_empty() || native.contains(['\t', '\n', '\r']) {
            return Err(CaptureError::InvalidSymbol {
                native: native.to_owned(),
            });
        }
        for (i, field) in [ex.as_str(), native, base, quote].into_iter().enumerate() {
            if i > 0 {
                meta.push(b'\t');
            }
            meta.extend_from_slice(field.as_bytes());
        }
        meta.push(b'\n');
        if meta.len() > MAX_META_BYTES {
            return Err(CaptureError::MetadataTooLarge {
                len: meta.len(),
                max: MAX_META_BYTES,
            });
        }
    }
    Ok(meta)
}

/// Rebuilds a symbol registry from a metadata block. Empty lines and lines starting with
/// `#` are ignored (reserved for comments in later writers).
///
/// # Errors
/// [`CaptureError::BadMetadata`] naming the first bad line: not UTF-8, not four
/// tab-separated fields, an unknown exchange, an invalid asset or a conflicting listing.
pub fn parse_metadata(meta: &[u8]) -> Result<SymbolRegistry, CaptureError> {
    let mut reg = SymbolRegistry::new();
    for (i, line) in meta.split(|&b| b == b'\n').enumerate() {
        let bad = |reason: String| CaptureError::BadMetadata {
            line: i + 1,
            reason,
        };
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let line = std::str::from_utf8(line).map_err(|_| bad("not utf-8".to_owned()))?;
        let mut fields = line.split('\t');
        let (Some(ex), Some(native), Some(base), Some(quote), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(bad(format!(
                "expected 4 tab-separated fields, found {}",
                line.split('\t').count()
            )));
        };
        let ex = Exchange::from_str(ex).map_err(|e| bad(e.to_string()))?;
        if native.is_empty() {
            return Err(bad("empty native symbol".to_owned()));
        }
        reg.insert(ex, native, base, quote)
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(reg)
}

/// Encodes the 24-byte head of `rec`, CRC included.
///
/// # Errors
/// [`CaptureError::PayloadTooLarge`].
///
/// # Hot path
/// Allocates never; syscalls none; may block no.
#[inline]
pub(crate) fn encode_record_head(
    rec: &Record<'_>,
) -> Result<[u8; RECORD_HEADER_BYTES], CaptureError> {
    if rec.payload.len() > MAX_PAYLOAD_BYTES {
        return Err(CaptureError::PayloadTooLarge {
            len: rec.payload.len(),
            max: MAX_PAYLOAD_BYTES,
        });
    }
    let mut head = [0u8; RECORD_HEADER_BYTES];
    head[0..4].copy_from_slice(&(rec.payload.len() as u32).to_le_bytes());
    head[8..16].copy_from_slice(&rec.recv_ts_ns.to_le_bytes());
    head[16] = rec.exchange as u8;
    head[17] = rec.kind as u8;
    head[18..20].copy_from_slice(&rec.conn_id.to_le_bytes());
    // head[20..24]: reserved, zero.
    let crc = record_crc(&head[8..RECORD_HEADER_BYTES], rec.payload);
    head[4..8].copy_from_slice(&crc.to_le_bytes());
    Ok(head)
}

/// CRC32 of the 16 head bytes after the CRC field, then the payload.
#[inline]
pub(crate) fn record_crc(head_tail: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(head_tail);
    h.update(payload);
    h.finalize()
}

/// A record head as stored, before validation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawHead {
    pub(crate) len: u32,
    pub(crate) crc: u32,
    pub(crate) recv_ts_ns: i64,
    pub(crate) exchange: u8,
    pub(crate) kind: u8,
    pub(crate) conn_id: u16,
    pub(crate) reserved: u32,
}

/// Reads the head at the start of `b` (at least [`RECORD_HEADER_BYTES`] long).
#[inline]
pub(crate) fn read_head(b: &[u8]) -> RawHead {
    RawHead {
        len: u32_at(b, 0),
        crc: u32_at(b, 4),
        recv_ts_ns: i64_at(b, 8),
        exchange: b[16],
        kind: b[17],
        conn_id: u16_at(b, 18),
        reserved: u32_at(b, 20),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_rounds_up_to_eight() {
        assert_eq!(padded(0), 0);
        assert_eq!(padded(1), 8);
        assert_eq!(padded(8), 8);
        assert_eq!(padded(9), 16);
    }

    #[test]
    fn record_kind_round_trips() {
        for k in RecordKind::ALL {
            assert_eq!(RecordKind::from_u8(k as u8), Some(k));
            assert_eq!(RecordKind::ALL[k.index()], k);
        }
        for v in [5u8, 15, 18, 255] {
            assert_eq!(RecordKind::from_u8(v), None);
        }
        for v in 0..=4u8 {
            let fk = FrameKind::from_u8(v).unwrap();
            assert_eq!(RecordKind::from(fk) as u8, v);
            assert_eq!(RecordKind::from(fk).frame_kind(), Some(fk));
        }
    }

    #[test]
    fn header_layout_is_as_documented() {
        let mut reg = SymbolRegistry::new();
        reg.insert(Exchange::Gateio, "BTC_USDT", "BTC", "USDT")
            .unwrap();
        let h = encode_header(&reg, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(&h[..8], b"ARBCAP\r\n");
        assert_eq!(&h[8..12], &[1, 0, 0, 0]);
        let meta = b"gateio\tBTC_USDT\tBTC\tUSDT\n";
        assert_eq!(u32_at(&h, 12) as usize, h.len());
        assert_eq!(h.len(), padded(32 + meta.len()));
        assert_eq!(i64_at(&h, 16), 0x0102_0304_0506_0708);
        assert_eq!(u32_at(&h, 24) as usize, meta.len());
        assert_eq!(u32_at(&h, 28), crc32fast::hash(meta));
        assert_eq!(&h[32..32 + meta.len()], meta);
        assert!(h[32 + meta.len()..].iter().all(|&b| b == 0));
        let parsed = CaptureHeader::parse(&h).unwrap();
        assert_eq!(parsed.header_len as usize, h.len());
    }

    #[test]
    fn metadata_rejects_bad_lines() {
        let err = |m: &[u8]| match parse_metadata(m) {
            Err(CaptureError::BadMetadata { line, .. }) => line,
            other => panic!("expected bad metadata, got {other:?}"),
        };
        assert_eq!(err(b"okx\tBTC-USDT\tBTC\n"), 1);
        assert_eq!(
            err(b"okx\tBTC-USDT\tBTC\tUSDT\nnasdaq\tAAPL\tAAPL\tUSD\n"),
            2
        );
        assert_eq!(err(b"okx\tBTC-USDT\tBTC\tUSDT\tx\n"), 1);
        assert_eq!(err(b"okx\tX\tB-C\tUSDT\n"), 1);
        assert_eq!(err(b"okx\t\tBTC\tUSDT\n"), 1);
        assert_eq!(err(b"okx\tX\tBTC\tUSDT\nokx\tX\tETH\tUSDT\n"), 2);
        assert_eq!(err(b"okx\t\xff\tBTC\tUSDT\n"), 1);
        let reg = parse_metadata(b"# comment\n\nokx\tBTC-USDT\tBTC\tUSDT").unwrap();
        assert_eq!(
            reg.lookup(Exchange::Okx, "BTC-USDT").map(|id| reg.name(id)),
            Some("BTC/USDT")
        );
    }

    #[test]
    fn native_with_tab_cannot_be_written() {
        let mut reg = SymbolRegistry::new();
        reg.insert(Exchange::Okx, "BTC\tUSDT", "BTC", "USDT")
            .unwrap();
        assert!(matches!(
            encode_metadata(&reg),
            Err(CaptureError::InvalidSymbol { .. })
        ));
    }
}
