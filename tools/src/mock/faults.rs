//! Fault injection for the mock exchange: which venues the faults hit, when a connection
//! is dropped or falls silent, and the malformed and oversize replacements of data frames
//! in each venue's own encoding.

use std::time::Duration;

use arb_engine::Exchange;

use super::venue::gzip;

/// The fault settings of a run.
#[derive(Debug, Clone)]
pub(crate) struct Faults {
    /// Venues that drops, silence, malformed and oversize frames apply to.
    pub(crate) venues: Vec<Exchange>,
    /// Close every connection at each multiple of this since the server started.
    pub(crate) drop_every: Option<Duration>,
    /// Go silent this long after a connection opens.
    pub(crate) silent_after: Option<Duration>,
    /// Every Nth data frame of a connection is malformed.
    pub(crate) malformed_every: Option<u64>,
    /// Every Nth data frame of a connection is oversize.
    pub(crate) oversize_every: Option<u64>,
    /// Size of an oversize frame (BingX: inflated size).
    pub(crate) oversize_bytes: usize,
    /// Topics containing this text, ignoring ASCII case, are rejected (on every venue).
    pub(crate) reject_topic: Option<String>,
}

impl Faults {
    /// Returns `true` when faults apply to `ex`.
    pub(crate) fn hits(&self, ex: Exchange) -> bool {
        self.venues.contains(&ex)
    }

    /// Returns `true` when `topic` is to be rejected: it contains the pattern, ignoring
    /// ASCII case (Binance spells streams in lower case, payloads in upper case).
    pub(crate) fn rejects(&self, topic: &str) -> bool {
        self.reject_topic.as_deref().is_some_and(|p| {
            topic
                .as_bytes()
                .windows(p.len().max(1))
                .any(|w| w.eq_ignore_ascii_case(p.as_bytes()))
        })
    }

    /// Returns the next forced drop after `now` (time since the server started) for a
    /// connection of `ex`, if any: the next multiple of `--drop-every`.
    pub(crate) fn next_drop(&self, ex: Exchange, now: Duration) -> Option<Duration> {
        let every = self.drop_every.filter(|_| self.hits(ex))?;
        let n = (now.as_secs_f64() / every.as_secs_f64()).floor() + 1.0;
        Some(every.mul_f64(n))
    }
}

/// What a data frame turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mutation {
    /// Sent as is.
    None,
    /// Replaced by invalid bytes.
    Malformed,
    /// Padded to the oversize length.
    Oversize,
}

impl Faults {
    /// Returns the mutation of a connection's `n`th data frame (1-based).
    pub(crate) fn mutation(&self, ex: Exchange, n: u64) -> Mutation {
        if !self.hits(ex) {
            return Mutation::None;
        }
        if self.malformed_every.is_some_and(|k| n.is_multiple_of(k)) {
            Mutation::Malformed
        } else if self.oversize_every.is_some_and(|k| n.is_multiple_of(k)) {
            Mutation::Oversize
        } else {
            Mutation::None
        }
    }
}

/// Returns invalid bytes in `ex`'s encoding standing in for `frame`: the first half of the
/// JSON, cut short (text venues, still UTF-8), a protobuf whose length prefix runs past the end
/// (MEXC), a gzip member with a corrupt deflate stream (BingX).
pub(crate) fn malformed(ex: Exchange, frame: &[u8]) -> Vec<u8> {
    match ex {
        Exchange::Mexc => {
            // Field 1 (channel), length 0x7f, then far fewer bytes.
            let mut v = vec![0x0a, 0x7f];
            v.extend_from_slice(&frame[..frame.len().min(16)]);
            v
        }
        Exchange::Bingx => {
            // A gzip header followed by a reserved deflate block type (BTYPE = 11).
            vec![
                0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0x07, 0xde, 0xad, 0xbe, 0xef,
            ]
        }
        _ => {
            let mut cut = frame.len() / 2;
            while cut > 0 && !frame.is_char_boundary_at(cut) {
                cut -= 1;
            }
            frame[..cut].to_vec()
        }
    }
}

/// Byte-slice helper: UTF-8 char boundary test without decoding the whole slice.
trait CharBoundary {
    fn is_char_boundary_at(&self, i: usize) -> bool;
}

impl CharBoundary for [u8] {
    fn is_char_boundary_at(&self, i: usize) -> bool {
        i >= self.len() || (self[i] as i8) >= -0x40
    }
}

/// Returns `frame` padded to about `size` bytes while staying a valid frame of `ex`: an
/// unknown `"pad"` key in JSON, an unknown length-delimited field 999 in protobuf; BingX's
/// padded JSON is gzipped (so `size` is the inflated size). `plain` is BingX's JSON.
pub(crate) fn oversize(ex: Exchange, frame: &[u8], plain: Option<&[u8]>, size: usize) -> Vec<u8> {
    match ex {
        Exchange::Mexc => {
            let mut v = frame.to_vec();
            let pad = size.saturating_sub(frame.len() + 8);
            // Field 999, wire type 2: key varint (999 << 3 | 2), then a length varint.
            let mut key = (999u64 << 3) | 2;
            while key >= 0x80 {
                v.push((key as u8) | 0x80);
                key >>= 7;
            }
            v.push(key as u8);
            let mut len = pad as u64;
            while len >= 0x80 {
                v.push((len as u8) | 0x80);
                len >>= 7;
            }
            v.push(len as u8);
            v.resize(v.len() + pad, b'x');
            v
        }
        Exchange::Bingx => {
            let json = pad_json(plain.unwrap_or(b"{}"), size);
            gzip(&json)
        }
        _ => pad_json(frame, size),
    }
}

/// Inserts `"pad":"xxx…",` after the opening brace of a JSON object.
fn pad_json(frame: &[u8], size: usize) -> Vec<u8> {
    let Some(rest) = frame.strip_prefix(b"{") else {
        return frame.to_vec();
    };
    let pad = size.saturating_sub(frame.len() + 9);
    let mut v = Vec::with_capacity(frame.len() + pad + 9);
    v.extend_from_slice(b"{\"pad\":\"");
    v.resize(v.len() + pad, b'x');
    v.extend_from_slice(b"\",");
    v.extend_from_slice(rest);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_json_stays_json() {
        let v = pad_json(br#"{"a":1}"#, 100);
        let parsed: serde_json::Value = serde_json::from_slice(&v).expect("json");
        assert_eq!(parsed["a"], 1);
        assert!(v.len() >= 95);
    }

    #[test]
    fn drops_line_up_on_multiples() {
        let f = Faults {
            venues: vec![Exchange::Okx],
            drop_every: Some(Duration::from_secs(2)),
            silent_after: None,
            malformed_every: Some(3),
            oversize_every: None,
            oversize_bytes: 10,
            reject_topic: None,
        };
        let at = f.next_drop(Exchange::Okx, Duration::from_millis(2500));
        assert_eq!(at, Some(Duration::from_secs(4)));
        assert_eq!(f.next_drop(Exchange::Binance, Duration::ZERO), None);
        assert_eq!(f.mutation(Exchange::Okx, 3), Mutation::Malformed);
        assert_eq!(f.mutation(Exchange::Okx, 4), Mutation::None);
    }
}
