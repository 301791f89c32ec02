//! The NATS wire encoding: versioned, compact, little-endian batches of fixed-size event
//! records that collectors publish and engines decode, plus the clock-ping messages.
//!
//! A batch is a 32-byte header (magic `ARBW`, version, batch kind, record count, sequence
//! number, send time, symbol-table epoch, venue) followed by `count` records back to back.
//! Each record starts with its kind byte and has a fixed length per kind
//! ([`record_len`]): quote 55 bytes, trade 49, venue state 12, venue snapshot 36. All
//! integers are little-endian, floats IEEE-754 `f64` little-endian; records are not
//! aligned. The full byte layout, the subject names and the versioning rule are in
//! `engine/WIRE.md`, which is enough to decode the format without arb
//! (`engine/wire_decode.py` does, with the Python standard library only).
//!
//! A batch is applied whole or not at all: [`decode`] validates the header and every
//! record before it returns, so the [`Records`] iterator it hands back cannot fail.
//! Decoding never panics and never allocates, whatever the input; encoding appends to a
//! caller-owned `Vec<u8>` (it grows only when the caller's capacity is short, and never
//! shrinks it).
//!
//! # Examples
//!
//! ```
//! use arb_engine::event::{ConnState, Event, Exchange, VenueState};
//! use arb_engine::wire::{self, BatchWriter, Record};
//!
//! let mut buf = Vec::with_capacity(1024);
//! let mut batch = BatchWriter::data(&mut buf, Exchange::Okx, 7);
//! let state = VenueState { exchange: Exchange::Okx, conn_id: 3, state: ConnState::Connected, ts_ns: 42 };
//! assert!(batch.push_event(&mut buf, &Event::Venue(state)));
//! batch.finish(&mut buf, 1, 1_700_000_000_000_000_000);
//! assert_eq!(buf.len(), wire::HEADER_LEN + wire::VENUE_LEN);
//!
//! let (header, mut records) = wire::decode(&buf).unwrap();
//! assert_eq!((header.seq, header.table_epoch, header.venue), (1, 7, Some(Exchange::Okx)));
//! assert_eq!(records.next(), Some(Record::Event(Event::Venue(state))));
//! assert_eq!(records.next(), None);
//! ```

use std::iter::FusedIterator;
use std::ops::Range;

use crate::event::{
    ConnState, Event, Exchange, MAX_CONNS_PER_VENUE, Quote, Side, SymbolId, Trade, TradeId,
    VenueState,
};

/// First four bytes of every batch.
pub const MAGIC: [u8; 4] = *b"ARBW";
/// The format version this module writes and the only one it reads.
pub const VERSION: u8 = 1;
/// Bytes in a batch header.
pub const HEADER_LEN: usize = 32;
/// Bytes in a quote record.
pub const QUOTE_LEN: usize = 55;
/// Bytes in a trade record.
pub const TRADE_LEN: usize = 49;
/// Bytes in a venue-state record.
pub const VENUE_LEN: usize = 12;
/// Bytes in a venue-snapshot record.
pub const SNAPSHOT_LEN: usize = 36;

/// Record kind byte of a quote.
pub const RECORD_QUOTE: u8 = 1;
/// Record kind byte of a trade.
pub const RECORD_TRADE: u8 = 2;
/// Record kind byte of a venue-state change.
pub const RECORD_VENUE: u8 = 3;
/// Record kind byte of a venue snapshot (heartbeat batches only).
pub const RECORD_SNAPSHOT: u8 = 4;

/// Header venue byte of a heartbeat batch, which spans all venues.
pub const NO_VENUE: u8 = 255;
/// Header byte range that is reserved: written as zero, ignored on read.
pub const RESERVED: Range<usize> = 29..32;

/// Bytes of a ping request (`t0`).
pub const PING_REQUEST_LEN: usize = 8;
/// Bytes of a ping reply (`t0`, `t1`, `t2`).
pub const PING_REPLY_LEN: usize = 24;

/// Bytes of the up-bitmap of a [`VenueSnapshot`]: one bit per possible connection.
pub const UP_BITMAP_LEN: usize = MAX_CONNS_PER_VENUE / 8;

// Header field offsets.
const H_KIND: usize = 5;
const H_COUNT: usize = 6;
const H_SEQ: usize = 8;
const H_SENT: usize = 16;
const H_EPOCH: usize = 24;
const H_VENUE: usize = 28;

/// Returns the length in bytes of a record of kind `kind` (its first byte), or `None` for
/// an unknown kind. Also the "bytes per event" figure of each kind.
#[inline]
pub const fn record_len(kind: u8) -> Option<usize> {
    match kind {
        RECORD_QUOTE => Some(QUOTE_LEN),
        RECORD_TRADE => Some(TRADE_LEN),
        RECORD_VENUE => Some(VENUE_LEN),
        RECORD_SNAPSHOT => Some(SNAPSHOT_LEN),
        _ => None,
    }
}

/// Why bytes are not a valid v1 batch or ping message. Offsets are from the start of the
/// decoded buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer bytes than a batch header.
    #[error("batch of {len} bytes is shorter than the {HEADER_LEN}-byte header")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// The first four bytes are not [`MAGIC`].
    #[error("bad magic {found:02x?} (expected \"ARBW\")")]
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// A version other than [`VERSION`]: a newer (or older) producer.
    #[error("wire version {version} is not supported (this decoder reads version {VERSION})")]
    UnsupportedVersion {
        /// The version byte.
        version: u8,
    },
    /// A batch kind byte other than 0 (data) or 1 (heartbeat).
    #[error("unknown batch kind {kind}")]
    UnknownBatchKind {
        /// The kind byte.
        kind: u8,
    },
    /// A venue byte that is not an `Exchange` discriminant (or, in a heartbeat header, not
    /// [`NO_VENUE`]).
    #[error("bad venue byte {venue} at offset {offset}")]
    BadVenue {
        /// The venue byte.
        venue: u8,
        /// Where it is.
        offset: usize,
    },
    /// A record kind byte that [`record_len`] does not know.
    #[error("unknown record kind {kind} at offset {offset}")]
    UnknownRecordKind {
        /// The kind byte.
        kind: u8,
        /// Where the record starts.
        offset: usize,
    },
    /// A known record kind in the wrong batch kind (a snapshot in a data batch, an event
    /// in a heartbeat).
    #[error("record kind {kind} at offset {offset} is not allowed in a {batch:?} batch")]
    RecordNotAllowed {
        /// The kind byte.
        kind: u8,
        /// Where the record starts.
        offset: usize,
        /// The batch's kind.
        batch: BatchKind,
    },
    /// A record that runs past the end of the input (or a record missing entirely:
    /// `count` says more than there are).
    #[error("record at offset {offset} needs {needed} bytes but only {available} remain")]
    Truncated {
        /// Where the record starts.
        offset: usize,
        /// Its length.
        needed: usize,
        /// Bytes left in the input from `offset`.
        available: usize,
    },
    /// Bytes left after `count` records.
    #[error("{extra} trailing bytes after the last record at offset {offset}")]
    TrailingBytes {
        /// Where the trailing bytes start.
        offset: usize,
        /// How many there are.
        extra: usize,
    },
    /// A trade side byte other than 0 (buy) or 1 (sell).
    #[error("bad trade side {value} in the record at offset {offset}")]
    BadSide {
        /// The side byte.
        value: u8,
        /// Where the record starts.
        offset: usize,
    },
    /// A connection state byte other than 0, 1 or 2.
    #[error("bad connection state {value} in the record at offset {offset}")]
    BadConnState {
        /// The state byte.
        value: u8,
        /// Where the record starts.
        offset: usize,
    },
    /// A trade-id kind byte other than 0 (numeric) or 1 (hashed).
    #[error("bad trade id kind {value} in the record at offset {offset}")]
    BadTradeIdKind {
        /// The kind byte.
        value: u8,
        /// Where the record starts.
        offset: usize,
    },
    /// A connection id at or past [`MAX_CONNS_PER_VENUE`].
    #[error(
        "connection id {conn_id} in the record at offset {offset} is past the limit of {MAX_CONNS_PER_VENUE}"
    )]
    ConnIdOutOfRange {
        /// The id.
        conn_id: u16,
        /// Where the record starts.
        offset: usize,
    },
    /// A snapshot whose `conns_up` is not the number of bits set in its bitmap.
    #[error(
        "snapshot at offset {offset} says {conns_up} connections are up but its bitmap has {bits}"
    )]
    SnapshotCount {
        /// The `conns_up` field.
        conns_up: u16,
        /// Bits set in the bitmap.
        bits: u16,
        /// Where the record starts.
        offset: usize,
    },
    /// A ping message of the wrong length.
    #[error("ping message of {found} bytes (expected {expected})")]
    PingLength {
        /// The message's required length.
        expected: usize,
        /// Bytes received.
        found: usize,
    },
}

/// What a batch carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum BatchKind {
    /// Quotes, trades and venue-state changes of one venue (header byte 0).
    Data = 0,
    /// Venue snapshots of every venue a collector serves (header byte 1).
    Heartbeat = 1,
}

impl BatchKind {
    /// Returns the kind for its header byte, or `None`.
    #[inline]
    pub const fn from_u8(v: u8) -> Option<BatchKind> {
        match v {
            0 => Some(BatchKind::Data),
            1 => Some(BatchKind::Heartbeat),
            _ => None,
        }
    }
}

/// A decoded batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// What the batch carries.
    pub kind: BatchKind,
    /// Records in the batch.
    pub count: u16,
    /// Message sequence number per collector and subject: 1 for the first, +1 per message.
    pub seq: u64,
    /// Collector wall clock (ns since the epoch) when the batch went to the NATS client.
    pub sent_ns: i64,
    /// Id of the collector's symbol table that the records' symbol ids refer to.
    pub table_epoch: u32,
    /// The venue of every record of a data batch; `None` for a heartbeat.
    pub venue: Option<Exchange>,
}

/// Which connections of one venue are up, as a heartbeat reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VenueSnapshot {
    /// Venue.
    pub venue: Exchange,
    /// Connections up: the number of bits set in `up`.
    pub conns_up: u16,
    /// Bit `i % 8` of byte `i / 8` is set when connection id `i` is up.
    pub up: [u8; UP_BITMAP_LEN],
}

impl VenueSnapshot {
    /// Returns a snapshot of `venue` with every connection down.
    #[inline]
    pub const fn new(venue: Exchange) -> VenueSnapshot {
        VenueSnapshot {
            venue,
            conns_up: 0,
            up: [0; UP_BITMAP_LEN],
        }
    }

    /// Returns whether connection `conn_id` is up (`false` past [`MAX_CONNS_PER_VENUE`]).
    #[inline]
    pub fn is_up(&self, conn_id: u16) -> bool {
        let i = usize::from(conn_id);
        self.up.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1)
    }

    /// Marks connection `conn_id` up or down and keeps `conns_up` in step. Ids at or past
    /// [`MAX_CONNS_PER_VENUE`] are ignored: no such connection exists
    /// (`event::conn_slot` refuses them).
    #[inline]
    pub fn set_up(&mut self, conn_id: u16, up: bool) {
        let i = usize::from(conn_id);
        let Some(byte) = self.up.get_mut(i / 8) else {
            return;
        };
        let mask = 1u8 << (i % 8);
        let was = *byte & mask != 0;
        if up && !was {
            *byte |= mask;
            self.conns_up = self.conns_up.saturating_add(1);
        } else if !up && was {
            *byte &= !mask;
            self.conns_up = self.conns_up.saturating_sub(1);
        }
    }

    /// Returns the number of bits set in the bitmap (what `conns_up` must equal).
    #[inline]
    pub fn bits_up(&self) -> u16 {
        // At most 256, which fits.
        self.up.iter().map(|b| b.count_ones() as u16).sum()
    }
}

/// One decoded record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Record {
    /// A quote, trade or venue-state change of a data batch; its `exchange` is the
    /// batch's venue and its symbol the collector's symbol id (see
    /// [`BatchHeader::table_epoch`]).
    Event(Event),
    /// A venue snapshot of a heartbeat batch.
    Snapshot(VenueSnapshot),
}

/// Appends one batch to a caller-owned buffer: the header first (count 0), then records,
/// then [`BatchWriter::finish`] patches count, sequence number and send time.
///
/// The writer remembers where its header starts, so a buffer may hold bytes before the
/// batch (several batches back to back, for instance); the caller must not remove bytes
/// from the buffer between `begin` and `finish`.
#[derive(Debug)]
pub struct BatchWriter {
    start: usize,
    count: u16,
    kind: BatchKind,
    venue: Option<Exchange>,
}

impl BatchWriter {
    /// Starts a batch at the end of `buf`, writing its header with count 0.
    ///
    /// A data batch needs a venue and a heartbeat has none: when `kind` and `venue`
    /// disagree, nothing is written and `None` is returned. [`BatchWriter::data`] and
    /// [`BatchWriter::heartbeat`] cannot fail.
    #[inline]
    pub fn begin(
        buf: &mut Vec<u8>,
        kind: BatchKind,
        venue: Option<Exchange>,
        table_epoch: u32,
    ) -> Option<BatchWriter> {
        match (kind, venue) {
            (BatchKind::Data, Some(_)) | (BatchKind::Heartbeat, None) => {
                Some(BatchWriter::begin_raw(buf, kind, venue, table_epoch))
            }
            _ => None,
        }
    }

    /// Starts a data batch of `venue` at the end of `buf`.
    #[inline]
    pub fn data(buf: &mut Vec<u8>, venue: Exchange, table_epoch: u32) -> BatchWriter {
        BatchWriter::begin_raw(buf, BatchKind::Data, Some(venue), table_epoch)
    }

    /// Starts a heartbeat batch at the end of `buf`.
    #[inline]
    pub fn heartbeat(buf: &mut Vec<u8>, table_epoch: u32) -> BatchWriter {
        BatchWriter::begin_raw(buf, BatchKind::Heartbeat, None, table_epoch)
    }

    /// Writes the header of a batch whose `kind` and `venue` agree.
    #[inline]
    fn begin_raw(
        buf: &mut Vec<u8>,
        kind: BatchKind,
        venue: Option<Exchange>,
        table_epoch: u32,
    ) -> BatchWriter {
        let start = buf.len();
        let mut header = [0u8; HEADER_LEN];
        put(&mut header, 0, &MAGIC);
        put(&mut header, 4, &[VERSION, kind as u8]);
        put(&mut header, H_EPOCH, &table_epoch.to_le_bytes());
        put(&mut header, H_VENUE, &[venue.map_or(NO_VENUE, |v| v as u8)]);
        buf.extend_from_slice(&header);
        BatchWriter {
            start,
            count: 0,
            kind,
            venue,
        }
    }

    /// Appends one event record. Returns `false`, writing nothing, when the batch is a
    /// heartbeat, the event's venue is not the batch's, its connection id is at or past
    /// [`MAX_CONNS_PER_VENUE`], or the batch already holds `u16::MAX` records.
    ///
    /// # Hot path
    /// Allocates only when `buf` lacks capacity; may block no.
    #[inline]
    pub fn push_event(&mut self, buf: &mut Vec<u8>, event: &Event) -> bool {
        let (exchange, conn_id) = match event {
            Event::Quote(q) => (q.exchange, q.conn_id),
            Event::Trade(t) => (t.exchange, t.conn_id),
            Event::Venue(v) => (v.exchange, v.conn_id),
        };
        if self.kind != BatchKind::Data
            || self.venue != Some(exchange)
            || self.count == u16::MAX
            || usize::from(conn_id) >= MAX_CONNS_PER_VENUE
        {
            return false;
        }
        match event {
            Event::Quote(q) => {
                buf.reserve(QUOTE_LEN);
                buf.push(RECORD_QUOTE);
                buf.extend_from_slice(&q.conn_id.to_le_bytes());
                buf.extend_from_slice(&q.symbol.0.to_le_bytes());
                buf.extend_from_slice(&q.bid_px.to_le_bytes());
                buf.extend_from_slice(&q.bid_qty.to_le_bytes());
                buf.extend_from_slice(&q.ask_px.to_le_bytes());
                buf.extend_from_slice(&q.ask_qty.to_le_bytes());
                buf.extend_from_slice(&q.exch_ts_ns.to_le_bytes());
                buf.extend_from_slice(&q.recv_ts_ns.to_le_bytes());
            }
            Event::Trade(t) => {
                let (id_kind, id) = match t.trade_id {
                    TradeId::Numeric(v) => (0u8, v),
                    TradeId::Hashed(v) => (1u8, v),
                };
                buf.reserve(TRADE_LEN);
                buf.push(RECORD_TRADE);
                buf.extend_from_slice(&t.conn_id.to_le_bytes());
                buf.extend_from_slice(&t.symbol.0.to_le_bytes());
                buf.push(t.side as u8);
                buf.extend_from_slice(&t.px.to_le_bytes());
                buf.extend_from_slice(&t.qty.to_le_bytes());
                buf.push(id_kind);
                buf.extend_from_slice(&id.to_le_bytes());
                buf.extend_from_slice(&t.exch_ts_ns.to_le_bytes());
                buf.extend_from_slice(&t.recv_ts_ns.to_le_bytes());
            }
            Event::Venue(v) => {
                buf.reserve(VENUE_LEN);
                buf.push(RECORD_VENUE);
                buf.extend_from_slice(&v.conn_id.to_le_bytes());
                buf.push(v.state as u8);
                buf.extend_from_slice(&v.ts_ns.to_le_bytes());
            }
        }
        self.count += 1;
        true
    }

    /// Appends one snapshot record. Returns `false`, writing nothing, when the batch is not
    /// a heartbeat, `snap.conns_up` is not the number of bits set in `snap.up`, or the
    /// batch already holds `u16::MAX` records.
    #[inline]
    pub fn push_snapshot(&mut self, buf: &mut Vec<u8>, snap: &VenueSnapshot) -> bool {
        if self.kind != BatchKind::Heartbeat
            || self.count == u16::MAX
            || snap.conns_up != snap.bits_up()
        {
            return false;
        }
        buf.reserve(SNAPSHOT_LEN);
        buf.push(RECORD_SNAPSHOT);
        buf.push(snap.venue as u8);
        buf.extend_from_slice(&snap.conns_up.to_le_bytes());
        buf.extend_from_slice(&snap.up);
        self.count += 1;
        true
    }

    /// Appends a decoded record: [`BatchWriter::push_event`] or
    /// [`BatchWriter::push_snapshot`].
    #[inline]
    pub fn push(&mut self, buf: &mut Vec<u8>, record: &Record) -> bool {
        match record {
            Record::Event(e) => self.push_event(buf, e),
            Record::Snapshot(s) => self.push_snapshot(buf, s),
        }
    }

    /// Returns the number of records pushed so far.
    #[inline]
    pub fn count(&self) -> u16 {
        self.count
    }

    /// Returns `true` when no record has been pushed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Returns the offset in the buffer where this batch's header starts.
    #[inline]
    pub fn start(&self) -> usize {
        self.start
    }

    /// Completes the batch: writes its record count, `seq` and `sent_ns` into the header.
    /// Returns the batch's byte range in `buf` (for a buffer holding other bytes too).
    #[inline]
    pub fn finish(self, buf: &mut [u8], seq: u64, sent_ns: i64) -> Range<usize> {
        let end = buf.len();
        if let Some(header) = buf.get_mut(self.start..self.start.saturating_add(HEADER_LEN)) {
            put(header, H_COUNT, &self.count.to_le_bytes());
            put(header, H_SEQ, &seq.to_le_bytes());
            put(header, H_SENT, &sent_ns.to_le_bytes());
        }
        self.start..end
    }
}

/// Copies `bytes` into `dst` at `at`; a no-op if they would not fit (callers pass fixed
/// offsets inside a header).
#[inline]
fn put(dst: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(d) = dst.get_mut(at..at.saturating_add(bytes.len())) {
        d.copy_from_slice(bytes);
    }
}

/// Reads `N` bytes of `b` at `at`, if they are there.
#[inline]
fn get<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Reads one byte of `b` at `at`, if it is there.
#[inline]
fn byte(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

#[inline]
fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    get(b, at).map(u16::from_le_bytes)
}

#[inline]
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    get(b, at).map(u32::from_le_bytes)
}

#[inline]
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    get(b, at).map(u64::from_le_bytes)
}

#[inline]
fn i64_at(b: &[u8], at: usize) -> Option<i64> {
    get(b, at).map(i64::from_le_bytes)
}

#[inline]
fn f64_at(b: &[u8], at: usize) -> Option<f64> {
    get(b, at).map(f64::from_le_bytes)
}

/// Decodes a batch header without looking at the records.
///
/// Magic and version are checked before the length, so a message from a newer producer is
/// reported as [`WireError::UnsupportedVersion`] even if its header is shorter.
///
/// # Errors
/// [`WireError::BadMagic`], [`WireError::UnsupportedVersion`], [`WireError::TooShort`],
/// [`WireError::UnknownBatchKind`], [`WireError::BadVenue`].
#[inline]
pub fn decode_header(buf: &[u8]) -> Result<BatchHeader, WireError> {
    let too_short = WireError::TooShort { len: buf.len() };
    if let Some(found) = get::<4>(buf, 0)
        && found != MAGIC
    {
        return Err(WireError::BadMagic { found });
    }
    if let Some(version) = byte(buf, 4)
        && version != VERSION
    {
        return Err(WireError::UnsupportedVersion { version });
    }
    if buf.len() < HEADER_LEN {
        return Err(too_short);
    }
    let kind_byte = byte(buf, H_KIND).ok_or(too_short)?;
    let kind =
        BatchKind::from_u8(kind_byte).ok_or(WireError::UnknownBatchKind { kind: kind_byte })?;
    let venue_byte = byte(buf, H_VENUE).ok_or(too_short)?;
    let bad_venue = WireError::BadVenue {
        venue: venue_byte,
        offset: H_VENUE,
    };
    let venue = match kind {
        BatchKind::Data => Some(Exchange::from_u8(venue_byte).ok_or(bad_venue)?),
        BatchKind::Heartbeat if venue_byte == NO_VENUE => None,
        BatchKind::Heartbeat => return Err(bad_venue),
    };
    Ok(BatchHeader {
        kind,
        count: u16_at(buf, H_COUNT).ok_or(too_short)?,
        seq: u64_at(buf, H_SEQ).ok_or(too_short)?,
        sent_ns: i64_at(buf, H_SENT).ok_or(too_short)?,
        table_epoch: u32_at(buf, H_EPOCH).ok_or(too_short)?,
        venue,
    })
}

/// Decodes and validates a whole batch: the header, every one of its `count` records, and
/// that nothing follows them. On `Ok` every record is valid, so a receiver can apply the
/// batch whole; on `Err` nothing of it should be applied.
///
/// # Errors
/// Any [`WireError`] but [`WireError::PingLength`], with the offset of the first fault.
///
/// # Hot path
/// Allocates never; walks the records twice (here, and again in the iterator).
#[inline]
pub fn decode(buf: &[u8]) -> Result<(BatchHeader, Records<'_>), WireError> {
    let header = decode_header(buf)?;
    let mut at = HEADER_LEN;
    for _ in 0..header.count {
        let (_, len) = parse_record(buf, at, header.kind, header.venue)?;
        at += len;
    }
    if at != buf.len() {
        return Err(WireError::TrailingBytes {
            offset: at,
            extra: buf.len().saturating_sub(at),
        });
    }
    let records = Records {
        buf,
        at: HEADER_LEN,
        left: header.count,
        kind: header.kind,
        venue: header.venue,
    };
    Ok((header, records))
}

/// Parses the record at `at`; returns it and its length.
#[inline]
fn parse_record(
    buf: &[u8],
    at: usize,
    batch: BatchKind,
    venue: Option<Exchange>,
) -> Result<(Record, usize), WireError> {
    let available = buf.len().saturating_sub(at);
    let kind = byte(buf, at).ok_or(WireError::Truncated {
        offset: at,
        needed: 1,
        available,
    })?;
    let len = record_len(kind).ok_or(WireError::UnknownRecordKind { kind, offset: at })?;
    let allowed = match batch {
        BatchKind::Data => kind != RECORD_SNAPSHOT,
        BatchKind::Heartbeat => kind == RECORD_SNAPSHOT,
    };
    if !allowed {
        return Err(WireError::RecordNotAllowed {
            kind,
            offset: at,
            batch,
        });
    }
    let truncated = WireError::Truncated {
        offset: at,
        needed: len,
        available,
    };
    let r = buf.get(at..at.saturating_add(len)).ok_or(truncated)?;
    let record = if kind == RECORD_SNAPSHOT {
        Record::Snapshot(parse_snapshot(r, at).ok_or(truncated)??)
    } else {
        // Data batches always carry a venue (decode_header checked it).
        let exchange = venue.ok_or(WireError::RecordNotAllowed {
            kind,
            offset: at,
            batch,
        })?;
        Record::Event(parse_event(r, at, kind, exchange).ok_or(truncated)??)
    };
    Ok((record, len))
}

/// Parses an event record `r` (exactly its length) starting at `offset` in the batch.
/// `None` only if `r` is shorter than its kind, which the caller has ruled out.
#[inline]
fn parse_event(
    r: &[u8],
    offset: usize,
    kind: u8,
    exchange: Exchange,
) -> Option<Result<Event, WireError>> {
    let conn_id = u16_at(r, 1)?;
    if usize::from(conn_id) >= MAX_CONNS_PER_VENUE {
        return Some(Err(WireError::ConnIdOutOfRange { conn_id, offset }));
    }
    let event = match kind {
        RECORD_QUOTE => Event::Quote(Quote {
            symbol: SymbolId(u32_at(r, 3)?),
            exchange,
            conn_id,
            bid_px: f64_at(r, 7)?,
            bid_qty: f64_at(r, 15)?,
            ask_px: f64_at(r, 23)?,
            ask_qty: f64_at(r, 31)?,
            exch_ts_ns: i64_at(r, 39)?,
            recv_ts_ns: i64_at(r, 47)?,
        }),
        RECORD_TRADE => {
            let side = match byte(r, 7)? {
                0 => Side::Buy,
                1 => Side::Sell,
                value => return Some(Err(WireError::BadSide { value, offset })),
            };
            let id = u64_at(r, 25)?;
            let trade_id = match byte(r, 24)? {
                0 => TradeId::Numeric(id),
                1 => TradeId::Hashed(id),
                value => return Some(Err(WireError::BadTradeIdKind { value, offset })),
            };
            Event::Trade(Trade {
                symbol: SymbolId(u32_at(r, 3)?),
                exchange,
                side,
                conn_id,
                px: f64_at(r, 8)?,
                qty: f64_at(r, 16)?,
                trade_id,
                exch_ts_ns: i64_at(r, 33)?,
                recv_ts_ns: i64_at(r, 41)?,
            })
        }
        _ => {
            let state = match byte(r, 3)? {
                0 => ConnState::Connected,
                1 => ConnState::Disconnected,
                2 => ConnState::Resubscribed,
                value => return Some(Err(WireError::BadConnState { value, offset })),
            };
            Event::Venue(VenueState {
                exchange,
                conn_id,
                state,
                ts_ns: i64_at(r, 4)?,
            })
        }
    };
    Some(Ok(event))
}

/// Parses a snapshot record `r` starting at `offset` in the batch.
#[inline]
fn parse_snapshot(r: &[u8], offset: usize) -> Option<Result<VenueSnapshot, WireError>> {
    let venue_byte = byte(r, 1)?;
    let Some(venue) = Exchange::from_u8(venue_byte) else {
        return Some(Err(WireError::BadVenue {
            venue: venue_byte,
            offset: offset + 1,
        }));
    };
    let snap = VenueSnapshot {
        venue,
        conns_up: u16_at(r, 2)?,
        up: get(r, 4)?,
    };
    let bits = snap.bits_up();
    if bits != snap.conns_up {
        return Some(Err(WireError::SnapshotCount {
            conns_up: snap.conns_up,
            bits,
            offset,
        }));
    }
    Some(Ok(snap))
}

/// The records of a batch that [`decode`] validated, in order.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    buf: &'a [u8],
    at: usize,
    left: u16,
    kind: BatchKind,
    venue: Option<Exchange>,
}

impl Iterator for Records<'_> {
    type Item = Record;

    #[inline]
    fn next(&mut self) -> Option<Record> {
        if self.left == 0 {
            return None;
        }
        // `decode` validated every record, so this cannot fail; if it somehow did, the
        // iteration ends rather than panic.
        match parse_record(self.buf, self.at, self.kind, self.venue) {
            Ok((record, len)) => {
                self.at += len;
                self.left -= 1;
                Some(record)
            }
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.left);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Records<'_> {}
impl FusedIterator for Records<'_> {}

/// A decoded ping reply: the requester's send time echoed, and the responder's receive
/// and send times, all wall-clock ns since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingReply {
    /// Requester's wall clock when it sent the request.
    pub t0: i64,
    /// Responder's wall clock when the request arrived.
    pub t1: i64,
    /// Responder's wall clock when the reply left.
    pub t2: i64,
}

/// One clock comparison between requester and responder, from a ping exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSample {
    /// Responder's clock minus requester's clock, ns (NTP's offset,
    /// `((t1 - t0) + (t2 - t3)) / 2`). Exact only if both directions take equally long;
    /// the error is at most `delay_ns`.
    pub offset_ns: i64,
    /// Estimated one-way network delay, ns: half of `rtt_ns`. Never negative.
    pub delay_ns: i64,
    /// Round trip minus the responder's hold time, ns (NTP's delay,
    /// `(t3 - t0) - (t2 - t1)`). Never negative: clamped at 0 when clock steps make it so.
    pub rtt_ns: i64,
}

impl PingReply {
    /// Estimates the responder's clock offset and the network delay from this reply and
    /// `t3`, the requester's wall clock when the reply arrived.
    ///
    /// Saturating: extreme or inconsistent timestamps give clamped values, never a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use arb_engine::wire::PingReply;
    ///
    /// // The responder runs 1 000 ns ahead; 300 ns each way; it holds the request 50 ns.
    /// let reply = PingReply { t0: 10_000, t1: 11_300, t2: 11_350 };
    /// let s = reply.estimate(10_650);
    /// assert_eq!((s.offset_ns, s.delay_ns, s.rtt_ns), (1_000, 300, 600));
    /// ```
    #[inline]
    pub fn estimate(&self, t3: i64) -> ClockSample {
        let (t0, t1, t2, t3) = (
            i128::from(self.t0),
            i128::from(self.t1),
            i128::from(self.t2),
            i128::from(t3),
        );
        let clamp = |v: i128| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
        let rtt = ((t3 - t0) - (t2 - t1)).max(0);
        ClockSample {
            offset_ns: clamp(((t1 - t0) + (t2 - t3)) / 2),
            delay_ns: clamp(rtt / 2),
            rtt_ns: clamp(rtt),
        }
    }
}

/// Encodes a ping request: `t0`, the requester's wall clock, 8 bytes.
#[inline]
pub fn encode_ping_request(t0: i64) -> [u8; PING_REQUEST_LEN] {
    t0.to_le_bytes()
}

/// Decodes a ping request into `t0`.
///
/// # Errors
/// [`WireError::PingLength`] unless `buf` is exactly [`PING_REQUEST_LEN`] bytes.
#[inline]
pub fn decode_ping_request(buf: &[u8]) -> Result<i64, WireError> {
    if buf.len() != PING_REQUEST_LEN {
        return Err(WireError::PingLength {
            expected: PING_REQUEST_LEN,
            found: buf.len(),
        });
    }
    i64_at(buf, 0).ok_or(WireError::PingLength {
        expected: PING_REQUEST_LEN,
        found: buf.len(),
    })
}

/// Encodes a ping reply: `t0` echoed, `t1` when the request arrived, `t2` when the reply
/// leaves, 24 bytes.
#[inline]
pub fn encode_ping_reply(t0: i64, t1: i64, t2: i64) -> [u8; PING_REPLY_LEN] {
    let mut out = [0u8; PING_REPLY_LEN];
    put(&mut out, 0, &t0.to_le_bytes());
    put(&mut out, 8, &t1.to_le_bytes());
    put(&mut out, 16, &t2.to_le_bytes());
    out
}

/// Decodes a ping reply.
///
/// # Errors
/// [`WireError::PingLength`] unless `buf` is exactly [`PING_REPLY_LEN`] bytes.
#[inline]
pub fn decode_ping_reply(buf: &[u8]) -> Result<PingReply, WireError> {
    let err = WireError::PingLength {
        expected: PING_REPLY_LEN,
        found: buf.len(),
    };
    if buf.len() != PING_REPLY_LEN {
        return Err(err);
    }
    Ok(PingReply {
        t0: i64_at(buf, 0).ok_or(err)?,
        t1: i64_at(buf, 8).ok_or(err)?,
        t2: i64_at(buf, 16).ok_or(err)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: i64 = 1_700_000_000_000_000_000;

    fn quote(exchange: Exchange, conn_id: u16) -> Quote {
        Quote {
            symbol: SymbolId(42),
            exchange,
            conn_id,
            bid_px: 65_000.5,
            bid_qty: 0.25,
            ask_px: 65_001.0,
            ask_qty: 1.5,
            exch_ts_ns: T,
            recv_ts_ns: T + 250_000,
        }
    }

    fn trade(exchange: Exchange, trade_id: TradeId) -> Trade {
        Trade {
            symbol: SymbolId(7),
            exchange,
            side: Side::Sell,
            conn_id: 255,
            px: 0.000_012_34,
            qty: 1e9,
            trade_id,
            exch_ts_ns: 0,
            recv_ts_ns: T,
        }
    }

    fn state(exchange: Exchange, conn_id: u16, state: ConnState) -> VenueState {
        VenueState {
            exchange,
            conn_id,
            state,
            ts_ns: -1,
        }
    }

    /// The worked example of `WIRE.md`: one Binance quote, seq 1, epoch 3.
    fn example_batch() -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = BatchWriter::data(&mut buf, Exchange::Binance, 3);
        assert!(w.push_event(&mut buf, &Event::Quote(quote(Exchange::Binance, 1))));
        w.finish(&mut buf, 1, T + 300_000);
        buf
    }

    /// A data batch with every event kind, and the events.
    fn mixed_batch() -> (Vec<u8>, Vec<Event>) {
        let ex = Exchange::Kucoin;
        let events = vec![
            Event::Quote(quote(ex, 0)),
            Event::Trade(trade(ex, TradeId::Numeric(u64::MAX))),
            Event::Trade(trade(ex, TradeId::Hashed(0xdead_beef))),
            Event::Venue(state(ex, 3, ConnState::Disconnected)),
            Event::Venue(state(ex, 3, ConnState::Resubscribed)),
        ];
        let mut buf = Vec::new();
        let mut w = BatchWriter::data(&mut buf, ex, 9);
        for e in &events {
            assert!(w.push_event(&mut buf, e));
        }
        w.finish(&mut buf, 77, T);
        (buf, events)
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Compares records bit for bit (NaN payloads included).
    fn same(a: &Record, b: &Record) -> bool {
        fn fb(v: &[f64]) -> Vec<u64> {
            v.iter().map(|x| x.to_bits()).collect()
        }
        match (a, b) {
            (Record::Event(Event::Quote(x)), Record::Event(Event::Quote(y))) => {
                fb(&[x.bid_px, x.bid_qty, x.ask_px, x.ask_qty])
                    == fb(&[y.bid_px, y.bid_qty, y.ask_px, y.ask_qty])
                    && (x.symbol, x.exchange, x.conn_id, x.exch_ts_ns, x.recv_ts_ns)
                        == (y.symbol, y.exchange, y.conn_id, y.exch_ts_ns, y.recv_ts_ns)
            }
            (Record::Event(Event::Trade(x)), Record::Event(Event::Trade(y))) => {
                fb(&[x.px, x.qty]) == fb(&[y.px, y.qty])
                    && (x.symbol, x.exchange, x.side, x.conn_id, x.trade_id)
                        == (y.symbol, y.exchange, y.side, y.conn_id, y.trade_id)
                    && (x.exch_ts_ns, x.recv_ts_ns) == (y.exch_ts_ns, y.recv_ts_ns)
            }
            _ => a == b,
        }
    }

    #[test]
    fn record_lengths_match_the_spec() {
        assert_eq!(HEADER_LEN, 32);
        assert_eq!(record_len(RECORD_QUOTE), Some(55));
        assert_eq!(record_len(RECORD_TRADE), Some(49));
        assert_eq!(record_len(RECORD_VENUE), Some(12));
        assert_eq!(record_len(RECORD_SNAPSHOT), Some(36));
        assert_eq!(record_len(0), None);
        assert_eq!(record_len(5), None);
        let (buf, events) = mixed_batch();
        assert_eq!(
            buf.len(),
            HEADER_LEN + QUOTE_LEN + 2 * TRADE_LEN + 2 * VENUE_LEN
        );
        assert_eq!(events.len(), 5);
    }

    #[test]
    fn mixed_batch_round_trips() {
        let (buf, events) = mixed_batch();
        let (h, records) = decode(&buf).unwrap();
        assert_eq!(
            h,
            BatchHeader {
                kind: BatchKind::Data,
                count: 5,
                seq: 77,
                sent_ns: T,
                table_epoch: 9,
                venue: Some(Exchange::Kucoin),
            }
        );
        assert_eq!(records.len(), 5);
        let got: Vec<Record> = records.collect();
        let want: Vec<Record> = events.into_iter().map(Record::Event).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn heartbeat_round_trips() {
        let mut a = VenueSnapshot::new(Exchange::Bingx);
        for c in [0, 7, 8, 200, 255] {
            a.set_up(c, true);
        }
        a.set_up(7, false);
        a.set_up(7, false);
        a.set_up(256, true);
        assert_eq!(a.conns_up, 4);
        assert!(a.is_up(0) && a.is_up(8) && a.is_up(255) && !a.is_up(7) && !a.is_up(256));
        assert_eq!(a.up[25], 1 << 0);
        assert_eq!(a.up[31], 1 << 7);
        let b = VenueSnapshot::new(Exchange::Binance);
        let mut buf = vec![0xaa; 3]; // bytes before the batch stay untouched
        let mut w = BatchWriter::heartbeat(&mut buf, 5);
        assert!(w.push_snapshot(&mut buf, &a));
        assert!(w.push_snapshot(&mut buf, &b));
        assert!(!w.push_event(&mut buf, &Event::Quote(quote(Exchange::Bingx, 0))));
        let range = w.finish(&mut buf, 2, 3);
        assert_eq!(range, 3..3 + HEADER_LEN + 2 * SNAPSHOT_LEN);
        assert_eq!(&buf[..3], &[0xaa; 3]);
        let (h, records) = decode(&buf[range]).unwrap();
        assert_eq!(
            (h.kind, h.venue, h.count, h.seq, h.sent_ns),
            (BatchKind::Heartbeat, None, 2, 2, 3)
        );
        let got: Vec<Record> = records.collect();
        assert_eq!(got, vec![Record::Snapshot(a), Record::Snapshot(b)]);
    }

    #[test]
    fn writer_refuses_what_the_decoder_would_reject() {
        let mut buf = Vec::new();
        assert!(BatchWriter::begin(&mut buf, BatchKind::Data, None, 0).is_none());
        assert!(
            BatchWriter::begin(&mut buf, BatchKind::Heartbeat, Some(Exchange::Okx), 0).is_none()
        );
        assert!(buf.is_empty());
        let mut w = BatchWriter::begin(&mut buf, BatchKind::Data, Some(Exchange::Okx), 0).unwrap();
        assert!(w.is_empty());
        // Wrong venue, connection id past the limit, snapshot in a data batch.
        assert!(!w.push_event(&mut buf, &Event::Quote(quote(Exchange::Bybit, 0))));
        assert!(!w.push_event(&mut buf, &Event::Quote(quote(Exchange::Okx, 256))));
        assert!(!w.push_snapshot(&mut buf, &VenueSnapshot::new(Exchange::Okx)));
        assert_eq!(buf.len(), HEADER_LEN);
        // Up to u16::MAX records, not one more.
        let v = Event::Venue(state(Exchange::Okx, 1, ConnState::Connected));
        for _ in 0..u16::MAX {
            assert!(w.push_event(&mut buf, &v));
        }
        assert!(!w.push_event(&mut buf, &v));
        assert_eq!(w.count(), u16::MAX);
        w.finish(&mut buf, 1, 0);
        let (h, records) = decode(&buf).unwrap();
        assert_eq!(h.count, u16::MAX);
        assert_eq!(records.count(), usize::from(u16::MAX));
        // Inconsistent snapshot count.
        let mut buf = Vec::new();
        let mut w = BatchWriter::heartbeat(&mut buf, 0);
        let mut s = VenueSnapshot::new(Exchange::Okx);
        s.conns_up = 1;
        assert!(!w.push_snapshot(&mut buf, &s));
        assert_eq!(buf.len(), HEADER_LEN);
    }

    #[test]
    fn writer_keeps_capacity_and_appends() {
        let mut buf = Vec::with_capacity(4096);
        let cap = buf.capacity();
        for seq in 1..=3 {
            let mut w = BatchWriter::data(&mut buf, Exchange::Mexc, 1);
            w.push_event(&mut buf, &Event::Quote(quote(Exchange::Mexc, 2)));
            w.finish(&mut buf, seq, 0);
        }
        assert_eq!(buf.capacity(), cap);
        let one = HEADER_LEN + QUOTE_LEN;
        assert_eq!(buf.len(), 3 * one);
        for (i, chunk) in buf.chunks(one).enumerate() {
            assert_eq!(decode(chunk).unwrap().0.seq, i as u64 + 1);
        }
        buf.clear();
        assert_eq!(buf.capacity(), cap);
    }

    /// Extracts the hex bytes of the fenced block after `marker` in `WIRE.md`: on each
    /// line, the text before `|`.
    fn doc_hex(marker: &str) -> String {
        let doc = include_str!("../WIRE.md");
        let start = doc.find(marker).expect("marker in WIRE.md");
        let block = doc[start..].split("```").nth(1).expect("fenced block");
        block
            .lines()
            .skip(1) // the info string
            .flat_map(|l| l.split('|').next().unwrap_or("").split_whitespace())
            .collect()
    }

    #[test]
    fn doc_example_matches_the_encoder() {
        let buf = example_batch();
        assert_eq!(doc_hex("<!-- example: quote batch -->"), hex(&buf));
        assert_eq!(
            hex(&buf),
            concat!(
                "41524257010001000100000000000000e0932e36fe9c97170300000000000000",
                "0101002a0000000000000010bdef40000000000000d03f0000000020bdef40",
                "000000000000f83f00002a36fe9c971790d02d36fe9c9717",
            ),
            "the encoding changed: update WIRE.md and this literal"
        );
        let req = encode_ping_request(T);
        let reply = encode_ping_reply(T, T + 1_000, T + 2_000);
        assert_eq!(doc_hex("<!-- example: ping request -->"), hex(&req));
        assert_eq!(doc_hex("<!-- example: ping reply -->"), hex(&reply));
    }

    fn corrupt(buf: &[u8], at: usize, v: u8) -> Vec<u8> {
        let mut b = buf.to_vec();
        b[at] = v;
        b
    }

    #[test]
    fn header_faults_are_rejected() {
        let buf = example_batch();
        assert_eq!(decode(&[]).unwrap_err(), WireError::TooShort { len: 0 });
        assert_eq!(
            decode(&buf[..31]).unwrap_err(),
            WireError::TooShort { len: 31 }
        );
        assert_eq!(
            decode(&corrupt(&buf, 0, b'X')).unwrap_err(),
            WireError::BadMagic { found: *b"XRBW" }
        );
        assert_eq!(
            decode(b"ARX").unwrap_err(),
            WireError::TooShort { len: 3 },
            "too short to tell the magic"
        );
        assert_eq!(
            decode(&corrupt(&buf, 4, 2)).unwrap_err(),
            WireError::UnsupportedVersion { version: 2 }
        );
        // A newer version is named as such even when its header is shorter than v1's.
        assert_eq!(
            decode(b"ARBW\x02").unwrap_err(),
            WireError::UnsupportedVersion { version: 2 }
        );
        assert_eq!(
            decode(&corrupt(&buf, 4, 0)).unwrap_err(),
            WireError::UnsupportedVersion { version: 0 }
        );
        assert_eq!(
            decode(&corrupt(&buf, 5, 2)).unwrap_err(),
            WireError::UnknownBatchKind { kind: 2 }
        );
        assert_eq!(
            decode(&corrupt(&buf, 28, 8)).unwrap_err(),
            WireError::BadVenue {
                venue: 8,
                offset: 28
            }
        );
        assert_eq!(
            decode(&corrupt(&buf, 28, NO_VENUE)).unwrap_err(),
            WireError::BadVenue {
                venue: 255,
                offset: 28
            }
        );
        let mut hb = Vec::new();
        BatchWriter::heartbeat(&mut hb, 0).finish(&mut hb, 1, 0);
        assert!(decode(&hb).is_ok());
        assert_eq!(
            decode(&corrupt(&hb, 28, 0)).unwrap_err(),
            WireError::BadVenue {
                venue: 0,
                offset: 28
            }
        );
        // Reserved bytes are ignored.
        let mut r = buf.clone();
        r[RESERVED].copy_from_slice(&[1, 2, 3]);
        assert_eq!(decode(&r).unwrap().0, decode(&buf).unwrap().0);
    }

    #[test]
    fn record_faults_are_rejected() {
        let (buf, _) = mixed_batch();
        let q = HEADER_LEN; // quote
        let t = q + QUOTE_LEN; // numeric trade
        let v = t + 2 * TRADE_LEN; // first venue state
        assert_eq!(
            decode(&corrupt(&buf, q, 9)).unwrap_err(),
            WireError::UnknownRecordKind { kind: 9, offset: q }
        );
        assert_eq!(
            decode(&corrupt(&buf, q, 0)).unwrap_err(),
            WireError::UnknownRecordKind { kind: 0, offset: q }
        );
        assert_eq!(
            decode(&corrupt(&buf, q, RECORD_SNAPSHOT)).unwrap_err(),
            WireError::RecordNotAllowed {
                kind: 4,
                offset: q,
                batch: BatchKind::Data
            }
        );
        assert_eq!(
            decode(&corrupt(&buf, t + 7, 2)).unwrap_err(),
            WireError::BadSide {
                value: 2,
                offset: t
            }
        );
        assert_eq!(
            decode(&corrupt(&buf, t + 24, 2)).unwrap_err(),
            WireError::BadTradeIdKind {
                value: 2,
                offset: t
            }
        );
        assert_eq!(
            decode(&corrupt(&buf, v + 3, 3)).unwrap_err(),
            WireError::BadConnState {
                value: 3,
                offset: v
            }
        );
        // conn_id 256 (0x0100 LE) in each record kind.
        for at in [q, t, v] {
            assert_eq!(
                decode(&corrupt(&buf, at + 2, 1)).unwrap_err(),
                WireError::ConnIdOutOfRange {
                    conn_id: 256 + u16::from(buf[at + 1]),
                    offset: at
                }
            );
        }
        // Count larger than the records present: the missing record runs past the end.
        let end = buf.len();
        assert_eq!(
            decode(&corrupt(&buf, H_COUNT, 6)).unwrap_err(),
            WireError::Truncated {
                offset: end,
                needed: 1,
                available: 0
            }
        );
        // Count smaller: the last record is trailing bytes.
        assert_eq!(
            decode(&corrupt(&buf, H_COUNT, 4)).unwrap_err(),
            WireError::TrailingBytes {
                offset: end - VENUE_LEN,
                extra: VENUE_LEN
            }
        );
        // A record running past the end.
        assert_eq!(
            decode(&buf[..end - 1]).unwrap_err(),
            WireError::Truncated {
                offset: end - VENUE_LEN,
                needed: VENUE_LEN,
                available: VENUE_LEN - 1
            }
        );
    }

    #[test]
    fn snapshot_faults_are_rejected() {
        let mut buf = Vec::new();
        let mut w = BatchWriter::heartbeat(&mut buf, 0);
        let mut s = VenueSnapshot::new(Exchange::Okx);
        s.set_up(3, true);
        w.push_snapshot(&mut buf, &s);
        w.finish(&mut buf, 1, 0);
        let at = HEADER_LEN;
        assert!(decode(&buf).is_ok());
        assert_eq!(
            decode(&corrupt(&buf, at + 1, 8)).unwrap_err(),
            WireError::BadVenue {
                venue: 8,
                offset: at + 1
            }
        );
        assert_eq!(
            decode(&corrupt(&buf, at + 2, 2)).unwrap_err(),
            WireError::SnapshotCount {
                conns_up: 2,
                bits: 1,
                offset: at
            }
        );
        assert_eq!(
            decode(&corrupt(&buf, at, RECORD_QUOTE)).unwrap_err(),
            WireError::RecordNotAllowed {
                kind: 1,
                offset: at,
                batch: BatchKind::Heartbeat
            }
        );
    }

    #[test]
    fn every_truncation_and_every_extension_is_rejected() {
        let (mixed, _) = mixed_batch();
        for buf in [mixed, example_batch()] {
            assert!(decode(&buf).is_ok());
            for len in 0..buf.len() {
                assert!(
                    decode(&buf[..len]).is_err(),
                    "prefix of {len} bytes accepted"
                );
            }
            for garbage in [&[0u8][..], &[1], &[RECORD_VENUE; VENUE_LEN], &[0xff; 100]] {
                let mut b = buf.clone();
                b.extend_from_slice(garbage);
                assert!(matches!(
                    decode(&b).unwrap_err(),
                    WireError::TrailingBytes { offset, extra } if offset == buf.len() && extra == garbage.len()
                ));
            }
        }
    }

    #[test]
    fn ping_messages_round_trip() {
        assert_eq!(decode_ping_request(&encode_ping_request(-5)).unwrap(), -5);
        assert_eq!(
            decode_ping_request(&[0; 7]).unwrap_err(),
            WireError::PingLength {
                expected: 8,
                found: 7
            }
        );
        assert_eq!(
            decode_ping_request(&[0; 9]).unwrap_err(),
            WireError::PingLength {
                expected: 8,
                found: 9
            }
        );
        let r = decode_ping_reply(&encode_ping_reply(1, i64::MIN, i64::MAX)).unwrap();
        assert_eq!(
            r,
            PingReply {
                t0: 1,
                t1: i64::MIN,
                t2: i64::MAX
            }
        );
        assert_eq!(
            decode_ping_reply(&[0; 23]).unwrap_err(),
            WireError::PingLength {
                expected: 24,
                found: 23
            }
        );
        assert!(decode_ping_reply(&[0; 25]).is_err());
    }

    #[test]
    fn clock_estimate_follows_ntp() {
        // Responder 5 ms behind, 2 ms each way, 1 ms hold.
        let t0 = T;
        let t1 = t0 + 2_000_000 - 5_000_000;
        let t2 = t1 + 1_000_000;
        let t3 = t0 + 2_000_000 + 1_000_000 + 2_000_000;
        let s = PingReply { t0, t1, t2 }.estimate(t3);
        assert_eq!(
            s,
            ClockSample {
                offset_ns: -5_000_000,
                delay_ns: 2_000_000,
                rtt_ns: 4_000_000
            }
        );
        // Asymmetric paths (1 ms out, 3 ms back) put the error into the offset, bounded by
        // the delay.
        let t1 = t0 + 1_000_000;
        let t2 = t1;
        let t3 = t2 + 3_000_000;
        let s = PingReply { t0, t1, t2 }.estimate(t3);
        assert_eq!(
            (s.offset_ns, s.delay_ns, s.rtt_ns),
            (-1_000_000, 2_000_000, 4_000_000)
        );
        assert!(s.offset_ns.abs() <= s.delay_ns);
        // A requester clock stepping back mid-ping cannot make the delay negative.
        let s = PingReply {
            t0,
            t1: t0,
            t2: t0 + 10,
        }
        .estimate(t0 - 100);
        assert_eq!((s.delay_ns, s.rtt_ns), (0, 0));
        // Extremes saturate instead of overflowing.
        let s = PingReply {
            t0: i64::MIN,
            t1: i64::MAX,
            t2: i64::MAX,
        }
        .estimate(i64::MIN);
        assert_eq!(s.offset_ns, i64::MAX);
        // rtt is 2^64 - 1 ns: it and its half clamp to i64::MAX.
        let s = PingReply {
            t0: i64::MIN,
            t1: 0,
            t2: 0,
        }
        .estimate(i64::MAX);
        assert_eq!((s.rtt_ns, s.delay_ns), (i64::MAX, i64::MAX));
        assert_eq!(s.offset_ns, 0);
    }

    fn f64_any() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            Just(f64::NAN),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::MIN_POSITIVE),
            any::<f64>(),
        ]
    }

    fn ts() -> impl Strategy<Value = i64> {
        prop_oneof![
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0),
            Just(T)
        ]
    }

    fn event(ex: Exchange) -> impl Strategy<Value = Event> {
        let conn = 0u16..256;
        prop_oneof![
            (
                conn.clone(),
                any::<u32>(),
                [f64_any(), f64_any(), f64_any(), f64_any()],
                ts(),
                ts()
            )
                .prop_map(
                    move |(
                        conn_id,
                        s,
                        [bid_px, bid_qty, ask_px, ask_qty],
                        exch_ts_ns,
                        recv_ts_ns,
                    )| {
                        Event::Quote(Quote {
                            symbol: SymbolId(s),
                            exchange: ex,
                            conn_id,
                            bid_px,
                            bid_qty,
                            ask_px,
                            ask_qty,
                            exch_ts_ns,
                            recv_ts_ns,
                        })
                    }
                ),
            (
                conn.clone(),
                any::<u32>(),
                any::<bool>(),
                f64_any(),
                f64_any(),
                any::<bool>(),
                any::<u64>(),
                ts(),
                ts()
            )
                .prop_map(
                    move |(conn_id, s, sell, px, qty, hashed, id, exch_ts_ns, recv_ts_ns)| {
                        Event::Trade(Trade {
                            symbol: SymbolId(s),
                            exchange: ex,
                            side: if sell { Side::Sell } else { Side::Buy },
                            conn_id,
                            px,
                            qty,
                            trade_id: if hashed {
                                TradeId::Hashed(id)
                            } else {
                                TradeId::Numeric(id)
                            },
                            exch_ts_ns,
                            recv_ts_ns,
                        })
                    }
                ),
            (conn, 0u8..3, ts()).prop_map(move |(conn_id, st, ts_ns)| {
                let state = [
                    ConnState::Connected,
                    ConnState::Disconnected,
                    ConnState::Resubscribed,
                ][usize::from(st)];
                Event::Venue(VenueState {
                    exchange: ex,
                    conn_id,
                    state,
                    ts_ns,
                })
            }),
        ]
    }

    fn data_batch() -> impl Strategy<Value = (Exchange, Vec<Event>, u64, i64, u32)> {
        (0u8..8)
            .prop_flat_map(|v| {
                let ex = Exchange::from_u8(v).unwrap_or(Exchange::Binance);
                (Just(ex), prop::collection::vec(event(ex), 0..40))
            })
            .prop_flat_map(|(ex, events)| {
                (Just(ex), Just(events), any::<u64>(), ts(), any::<u32>())
            })
    }

    fn snapshot() -> impl Strategy<Value = VenueSnapshot> {
        (0u8..8, any::<[u8; UP_BITMAP_LEN]>()).prop_map(|(v, up)| {
            let mut s = VenueSnapshot::new(Exchange::from_u8(v).unwrap_or(Exchange::Okx));
            s.up = up;
            s.conns_up = s.bits_up();
            s
        })
    }

    proptest! {
        #[test]
        fn data_batches_round_trip_bit_exactly((ex, events, seq, sent_ns, epoch) in data_batch()) {
            let mut buf = Vec::new();
            let mut w = BatchWriter::data(&mut buf, ex, epoch);
            for e in &events {
                prop_assert!(w.push_event(&mut buf, e));
            }
            w.finish(&mut buf, seq, sent_ns);
            let expected_len: usize = HEADER_LEN + events.iter().map(|e| match e {
                Event::Quote(_) => QUOTE_LEN,
                Event::Trade(_) => TRADE_LEN,
                Event::Venue(_) => VENUE_LEN,
            }).sum::<usize>();
            prop_assert_eq!(buf.len(), expected_len);
            let (h, records) = decode(&buf).unwrap();
            prop_assert_eq!(h, BatchHeader {
                kind: BatchKind::Data,
                count: events.len() as u16,
                seq,
                sent_ns,
                table_epoch: epoch,
                venue: Some(ex),
            });
            prop_assert_eq!(records.len(), events.len());
            for (got, want) in records.zip(&events) {
                prop_assert!(same(&got, &Record::Event(*want)), "{got:?} != {want:?}");
            }
        }

        #[test]
        fn heartbeats_round_trip(snaps in prop::collection::vec(snapshot(), 0..10), seq in any::<u64>()) {
            let mut buf = Vec::new();
            let mut w = BatchWriter::heartbeat(&mut buf, 1);
            for s in &snaps {
                prop_assert!(w.push_snapshot(&mut buf, s));
            }
            w.finish(&mut buf, seq, 0);
            let (h, records) = decode(&buf).unwrap();
            prop_assert_eq!(h.seq, seq);
            let got: Vec<Record> = records.collect();
            let want: Vec<Record> = snaps.into_iter().map(Record::Snapshot).collect();
            prop_assert_eq!(got, want);
        }

        /// Any byte flip of a valid batch is either rejected or decodes to something that
        /// re-encodes to the same bytes (reserved bytes aside); never a panic.
        #[test]
        fn mutations_never_panic_and_reencode((ex, events, seq, sent_ns, epoch) in data_batch(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
            let mut buf = Vec::new();
            let mut w = BatchWriter::data(&mut buf, ex, epoch);
            for e in &events {
                w.push_event(&mut buf, e);
            }
            w.finish(&mut buf, seq, sent_ns);
            for (i, v) in flips {
                let at = i.index(buf.len());
                buf[at] = v;
            }
            if let Ok((h, records)) = decode(&buf) {
                let mut out = Vec::new();
                let mut w = BatchWriter::begin(&mut out, h.kind, h.venue, h.table_epoch).unwrap();
                for r in records {
                    prop_assert!(w.push(&mut out, &r));
                }
                w.finish(&mut out, h.seq, h.sent_ns);
                buf[RESERVED].fill(0);
                prop_assert_eq!(out, buf);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), header in any::<bool>()) {
            let mut b = bytes;
            if header && b.len() >= 6 {
                b[..5].copy_from_slice(b"ARBW\x01");
                b[5] &= 1;
            }
            let _ = decode(&b).map(|(_, r)| r.count());
            let _ = decode_ping_request(&b);
            let _ = decode_ping_reply(&b);
        }
    }
}
