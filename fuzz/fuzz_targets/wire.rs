//! Fuzz target: the NATS wire decoder takes any bytes without panicking; a batch that
//! decodes re-encodes, through `BatchWriter`, to exactly the input bytes with the reserved
//! header bytes zeroed (v1 ignores them on read, so they are the one part a decode does
//! not keep). The ping decoders take the same bytes, and a decoded reply's clock estimate
//! never overflows.
#![no_main]

use arb_engine::wire::{self, BatchWriter, RESERVED};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, records)) = wire::decode(data) {
        assert_eq!(records.len(), usize::from(header.count));
        let mut out = Vec::with_capacity(data.len());
        let mut writer =
            BatchWriter::begin(&mut out, header.kind, header.venue, header.table_epoch)
                .expect("a decoded header has a consistent kind and venue");
        for record in records {
            assert!(
                writer.push(&mut out, &record),
                "decoded record refused: {record:?}"
            );
        }
        assert_eq!(writer.count(), header.count);
        let range = writer.finish(&mut out, header.seq, header.sent_ns);
        assert_eq!(range, 0..data.len());
        let mut expected = data.to_vec();
        expected[RESERVED].fill(0);
        assert_eq!(out, expected, "re-encoding differs");
        assert_eq!(wire::decode(&out).map(|(h, _)| h), Ok(header));
    }
    if let Ok(t0) = wire::decode_ping_request(data) {
        assert_eq!(wire::encode_ping_request(t0).as_slice(), data);
    }
    if let Ok(reply) = wire::decode_ping_reply(data) {
        assert_eq!(
            wire::encode_ping_reply(reply.t0, reply.t1, reply.t2).as_slice(),
            data
        );
        let s = reply.estimate(reply.t0 ^ reply.t2);
        assert!(s.rtt_ns >= 0 && s.delay_ns >= 0 && s.delay_ns <= s.rtt_ns);
    }
});
