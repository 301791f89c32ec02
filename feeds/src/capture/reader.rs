//! Reading a capture from bytes: header validation, the zero-copy record iterator, the
//! tail status, and a whole-file scan.
//!
//! The reader works on any `&[u8]`; [`CaptureFile`](super::CaptureFile) supplies the bytes of
//! a memory-mapped file.

use std::fmt;
use std::iter::FusedIterator;

use arb_engine::{Exchange, SymbolRegistry};

use super::error::CaptureError;
use super::format::{
    CaptureHeader, MAX_PAYLOAD_BYTES, RECORD_HEADER_BYTES, Record, RecordKind, padded,
    parse_metadata, read_head, record_crc,
};

/// Why a record was judged corrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptReason {
    /// The stored CRC does not match the record bytes.
    CrcMismatch,
    /// The length field exceeds [`MAX_PAYLOAD_BYTES`].
    Oversize {
        /// Stored payload length.
        len: u32,
    },
    /// The CRC matches but the exchange byte is not a known venue.
    UnknownExchange(u8),
    /// The CRC matches but the kind byte is not a known kind.
    UnknownKind(u8),
    /// The CRC matches but the reserved field is not zero.
    Reserved(u32),
}

impl fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorruptReason::CrcMismatch => f.write_str("crc mismatch"),
            CorruptReason::Oversize { len } => write!(f, "payload length {len} over the limit"),
            CorruptReason::UnknownExchange(v) => write!(f, "unknown exchange {v}"),
            CorruptReason::UnknownKind(v) => write!(f, "unknown record kind {v}"),
            CorruptReason::Reserved(v) => write!(f, "reserved field is {v:#x}, not zero"),
        }
    }
}

/// How the record stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailStatus {
    /// The last record ends exactly at the end of the file.
    Clean,
    /// The file ends inside a record, as after a crash or while a writer is still appending.
    Truncated {
        /// File offset of the incomplete record.
        offset: u64,
        /// Bytes present from that offset to the end of the file.
        bytes: u64,
    },
    /// A complete record failed validation; nothing from it on is read.
    Corrupt {
        /// File offset of the bad record.
        offset: u64,
        /// What is wrong with it.
        reason: CorruptReason,
    },
}

impl TailStatus {
    /// Returns `true` for [`TailStatus::Clean`].
    pub const fn is_clean(&self) -> bool {
        matches!(self, TailStatus::Clean)
    }

    /// Returns the offset where valid records end, or `None` when clean.
    pub const fn offset(&self) -> Option<u64> {
        match *self {
            TailStatus::Clean => None,
            TailStatus::Truncated { offset, .. } | TailStatus::Corrupt { offset, .. } => {
                Some(offset)
            }
        }
    }
}

impl fmt::Display for TailStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TailStatus::Clean => f.write_str("clean"),
            TailStatus::Truncated { offset, bytes } => {
                write!(
                    f,
                    "truncated record at offset {offset} ({bytes} bytes present)"
                )
            }
            TailStatus::Corrupt { offset, reason } => {
                write!(f, "corrupt record at offset {offset}: {reason}")
            }
        }
    }
}

/// A validated capture in memory: the header is checked, records are read lazily.
#[derive(Debug, Clone, Copy)]
pub struct CaptureReader<'a> {
    bytes: &'a [u8],
    header: CaptureHeader,
}

impl<'a> CaptureReader<'a> {
    /// Validates the header of `bytes` (magic, version, flags, header length, metadata CRC).
    ///
    /// # Errors
    /// As [`CaptureHeader::parse`].
    pub fn new(bytes: &'a [u8]) -> Result<Self, CaptureError> {
        let header = CaptureHeader::parse(bytes)?;
        Ok(CaptureReader { bytes, header })
    }

    /// Wraps bytes whose header was already validated.
    pub(crate) fn from_parts(bytes: &'a [u8], header: CaptureHeader) -> Self {
        debug_assert!(header.header_len as usize <= bytes.len());
        CaptureReader { bytes, header }
    }

    /// Returns the parsed file header.
    pub fn header(&self) -> &CaptureHeader {
        &self.header
    }

    /// Returns the wall-clock time the file was created, ns since the epoch.
    pub fn created_ns(&self) -> i64 {
        self.header.created_ns
    }

    /// Returns the raw metadata block (the symbol table text).
    pub fn metadata(&self) -> &'a [u8] {
        let start = super::format::FIXED_HEADER_BYTES;
        &self.bytes[start..start + self.header.meta_len as usize]
    }

    /// Rebuilds the symbol registry the capture was written with.
    ///
    /// # Errors
    /// [`CaptureError::BadMetadata`] for a malformed line.
    pub fn symbols(&self) -> Result<SymbolRegistry, CaptureError> {
        parse_metadata(self.metadata())
    }

    /// Returns the file length in bytes.
    pub fn len_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Returns the whole file.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Returns an iterator over the records, in file order. It stops at the first truncated
    /// or corrupt record; [`Records::tail`] then says why.
    pub fn records(&self) -> Records<'a> {
        Records {
            bytes: self.bytes,
            offset: self.header.header_len as usize,
            tail: None,
        }
    }

    /// Walks every record and returns how the stream ends.
    pub fn tail(&self) -> TailStatus {
        let mut it = self.records();
        it.by_ref().for_each(drop);
        it.tail()
            .expect("Invariant: an exhausted iterator has a tail status")
    }

    /// Walks every record and counts them per venue and kind.
    pub fn scan(&self) -> CaptureStats {
        let mut stats = CaptureStats {
            header_bytes: u64::from(self.header.header_len),
            ..CaptureStats::default()
        };
        let mut it = self.records();
        for rec in it.by_ref() {
            stats.add(&rec);
        }
        stats.valid_len = it.offset();
        stats.tail = it
            .tail()
            .expect("Invariant: an exhausted iterator has a tail status");
        stats
    }
}

/// Zero-copy iterator over the records of a capture.
///
/// Yields records until the end of the file or the first bad record; afterwards
/// [`Records::tail`] reports [`TailStatus::Clean`], `Truncated` or `Corrupt`.
///
/// # Hot path
/// Allocates never; syscalls none (page faults on a mapped file); may block no. Each record
/// costs one CRC32 over its bytes.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    bytes: &'a [u8],
    /// Offset of the next record; always a multiple of 8 and `<= bytes.len()`.
    offset: usize,
    /// `Some` once the iterator has stopped.
    tail: Option<TailStatus>,
}

impl<'a> Records<'a> {
    /// Returns the tail status once the iterator is exhausted, `None` before.
    pub fn tail(&self) -> Option<TailStatus> {
        self.tail
    }

    /// Returns the file offset of the next record (after exhaustion: the end of the valid
    /// prefix).
    pub fn offset(&self) -> u64 {
        self.offset as u64
    }

    #[inline]
    fn stop(&mut self, status: TailStatus) -> Option<Record<'a>> {
        self.tail = Some(status);
        None
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    #[inline]
    fn next(&mut self) -> Option<Record<'a>> {
        if self.tail.is_some() {
            return None;
        }
        let offset = self.offset;
        let rest = &self.bytes[offset..];
        if rest.is_empty() {
            return self.stop(TailStatus::Clean);
        }
        let truncated = TailStatus::Truncated {
            offset: offset as u64,
            bytes: rest.len() as u64,
        };
        if rest.len() < RECORD_HEADER_BYTES {
            return self.stop(truncated);
        }
        let head = read_head(rest);
        let len = head.len as usize;
        if len > MAX_PAYLOAD_BYTES {
            return self.stop(TailStatus::Corrupt {
                offset: offset as u64,
                reason: CorruptReason::Oversize { len: head.len },
            });
        }
        let total = RECORD_HEADER_BYTES + padded(len);
        if rest.len() < total {
            return self.stop(truncated);
        }
        let payload = &rest[RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + len];
        let corrupt = |reason| TailStatus::Corrupt {
            offset: offset as u64,
            reason,
        };
        if record_crc(&rest[8..RECORD_HEADER_BYTES], payload) != head.crc {
            return self.stop(corrupt(CorruptReason::CrcMismatch));
        }
        let Some(exchange) = Exchange::from_u8(head.exchange) else {
            return self.stop(corrupt(CorruptReason::UnknownExchange(head.exchange)));
        };
        let Some(kind) = RecordKind::from_u8(head.kind) else {
            return self.stop(corrupt(CorruptReason::UnknownKind(head.kind)));
        };
        if head.reserved != 0 {
            return self.stop(corrupt(CorruptReason::Reserved(head.reserved)));
        }
        self.offset = offset + total;
        Some(Record {
            recv_ts_ns: head.recv_ts_ns,
            exchange,
            kind,
            conn_id: head.conn_id,
            payload,
        })
    }
}

impl FusedIterator for Records<'_> {}

/// What a full scan of a capture found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureStats {
    /// Valid records.
    pub records: u64,
    /// Payload bytes of the valid records.
    pub payload_bytes: u64,
    /// Records per venue (by [`Exchange::index`]) and kind (by [`RecordKind::index`]).
    pub counts: [[u64; RecordKind::COUNT]; Exchange::COUNT],
    /// Receive time of the first valid record.
    pub first_recv_ts_ns: Option<i64>,
    /// Receive time of the last valid record.
    pub last_recv_ts_ns: Option<i64>,
    /// Records whose receive time is earlier than the one before (clock steps).
    pub ts_regressions: u64,
    /// Bytes of the file header.
    pub header_bytes: u64,
    /// Offset where the valid prefix ends.
    pub valid_len: u64,
    /// How the record stream ends.
    pub tail: TailStatus,
}

impl Default for CaptureStats {
    fn default() -> Self {
        CaptureStats {
            records: 0,
            payload_bytes: 0,
            counts: [[0; RecordKind::COUNT]; Exchange::COUNT],
            first_recv_ts_ns: None,
            last_recv_ts_ns: None,
            ts_regressions: 0,
            header_bytes: 0,
            valid_len: 0,
            tail: TailStatus::Clean,
        }
    }
}

impl CaptureStats {
    /// Counts one record.
    fn add(&mut self, rec: &Record<'_>) {
        self.records += 1;
        self.payload_bytes += rec.payload.len() as u64;
        self.counts[rec.exchange.index()][rec.kind.index()] += 1;
        if self.first_recv_ts_ns.is_none() {
            self.first_recv_ts_ns = Some(rec.recv_ts_ns);
        }
        if let Some(last) = self.last_recv_ts_ns
            && rec.recv_ts_ns < last
        {
            self.ts_regressions += 1;
        }
        self.last_recv_ts_ns = Some(rec.recv_ts_ns);
    }

    /// Returns the number of records of `kind` on `exchange`.
    pub fn count(&self, exchange: Exchange, kind: RecordKind) -> u64 {
        self.counts[exchange.index()][kind.index()]
    }

    /// Returns the number of records of any kind on `exchange`.
    pub fn venue_records(&self, exchange: Exchange) -> u64 {
        self.counts[exchange.index()].iter().sum()
    }

    /// Returns the number of records of `kind` on any venue.
    pub fn kind_records(&self, kind: RecordKind) -> u64 {
        self.counts.iter().map(|v| v[kind.index()]).sum()
    }

    /// Returns the time between the first and last record, in ns (0 when fewer than two).
    pub fn span_ns(&self) -> i64 {
        match (self.first_recv_ts_ns, self.last_recv_ts_ns) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => 0,
        }
    }
}
