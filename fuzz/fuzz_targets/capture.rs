//! Fuzz target: the capture reader takes any bytes without panicking; a file whose header
//! validates yields records that each lie within the input, back to back after the header,
//! and then reports exactly one of Clean, Truncated or Corrupt at a consistent offset.
#![no_main]

use arb_feeds::capture::{
    ALIGN_BYTES, CaptureReader, FIXED_HEADER_BYTES, RECORD_HEADER_BYTES, TailStatus,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = CaptureReader::new(data) else {
        return;
    };
    let len = data.len();
    let base = data.as_ptr() as usize;
    let within = |s: &[u8]| {
        let start = (s.as_ptr() as usize)
            .checked_sub(base)
            .expect("slice starts before the input");
        assert!(start + s.len() <= len, "slice ends past the input");
        start
    };

    let header_len = reader.header().header_len as usize;
    assert!(header_len >= FIXED_HEADER_BYTES && header_len <= len);
    assert_eq!(header_len % ALIGN_BYTES, 0);
    let meta = reader.metadata();
    assert_eq!(within(meta), FIXED_HEADER_BYTES);
    assert!(FIXED_HEADER_BYTES + meta.len() <= header_len);
    // Malformed metadata is an error, never a panic.
    let _ = reader.symbols();

    let mut records = reader.records();
    assert_eq!(records.offset(), header_len as u64);
    let mut count = 0u64;
    let mut payload_bytes = 0u64;
    loop {
        let at = records.offset() as usize;
        assert!(at <= len && at % ALIGN_BYTES == 0);
        let Some(rec) = records.next() else { break };
        count += 1;
        payload_bytes += rec.payload.len() as u64;
        // The payload follows its head at the record's offset, inside the input, and the
        // next record starts after the padded payload.
        assert_eq!(within(rec.payload), at + RECORD_HEADER_BYTES);
        let next = records.offset() as usize;
        assert!(next > at && next <= len);
        assert_eq!(
            next,
            at + RECORD_HEADER_BYTES + rec.payload.len().next_multiple_of(ALIGN_BYTES)
        );
    }
    let tail = records
        .tail()
        .expect("exhausted iterator has a tail status");
    assert!(records.next().is_none(), "iterator must stay exhausted");
    let end = records.offset();
    match tail {
        TailStatus::Clean => assert_eq!(end, len as u64),
        TailStatus::Truncated { offset, bytes } => {
            assert_eq!(offset, end);
            assert_eq!(offset + bytes, len as u64);
            assert!(bytes > 0);
        }
        TailStatus::Corrupt { offset, .. } => {
            assert_eq!(offset, end);
            assert!(offset + RECORD_HEADER_BYTES as u64 <= len as u64);
        }
    }
    assert_eq!(tail.offset().is_none(), tail.is_clean());

    // The whole-file walks agree with the iterator.
    assert_eq!(reader.tail(), tail);
    let stats = reader.scan();
    assert_eq!(stats.records, count);
    assert_eq!(stats.payload_bytes, payload_bytes);
    assert_eq!(stats.tail, tail);
    assert_eq!(stats.valid_len, end);
    assert!(stats.span_ns() >= 0 || stats.ts_regressions > 0);
    let _ = format!("{tail}");
});
