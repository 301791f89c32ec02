//! The general, validating JSON path: simd-json's tape over reused buffers, plus typed
//! field accessors that turn wrong shapes into [`ParseError`]s.

use simd_json::prelude::*;
use simd_json::tape::{Tape, Value};
use simd_json::{Buffers, INPUT_PADDING};

use crate::error::ParseError;
use crate::num;

/// Largest frame the JSON path accepts by default; larger frames are `Oversize`.
///
/// The biggest legitimate frame is a Bybit trade batch of up to 1024 trades (~150 KiB);
/// 1 MiB leaves room while keeping the scratch buffers bounded.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1 << 20;

/// Reusable simd-json state: a padded input copy, stage buffers and the tape.
///
/// simd-json unescapes strings in place, so the frame is copied into `input` first; all
/// three buffers keep their capacity between frames, so after the first few frames parsing
/// allocates nothing.
pub struct JsonScratch {
    input: Vec<u8>,
    buffers: Buffers,
    /// Always `Some` between calls; `None` only while a parse is in progress.
    tape: Option<Tape<'static>>,
    max_frame_bytes: usize,
}

impl std::fmt::Debug for JsonScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonScratch")
            .field("max_frame_bytes", &self.max_frame_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for JsonScratch {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

impl JsonScratch {
    /// Creates scratch buffers for frames up to `max_frame_bytes`.
    pub fn new(max_frame_bytes: usize) -> Self {
        JsonScratch {
            input: Vec::with_capacity(4096 + INPUT_PADDING),
            buffers: Buffers::new(4096),
            tape: Some(Tape::null()),
            max_frame_bytes,
        }
    }

    /// Parses `frame` and calls `f` with the root value.
    ///
    /// # Errors
    /// [`ParseError::Oversize`] above the size limit, [`ParseError::Json`] for invalid
    /// JSON, or whatever `f` returns.
    ///
    /// # Hot path
    /// Allocates never once the buffers have grown to the largest frame seen.
    pub fn parse<R>(
        &mut self,
        frame: &[u8],
        f: impl FnOnce(Value<'_, '_>) -> Result<R, ParseError>,
    ) -> Result<R, ParseError> {
        if frame.len() > self.max_frame_bytes {
            return Err(ParseError::Oversize);
        }
        self.input.clear();
        self.input.extend_from_slice(frame);
        self.input.resize(frame.len() + INPUT_PADDING, 0);
        let mut tape = self.tape.take().unwrap_or_else(Tape::null).reset();
        let result = match simd_json::fill_tape_padded(
            &mut self.input,
            frame.len(),
            &mut self.buffers,
            &mut tape,
        ) {
            Ok(()) => f(tape.as_value()),
            Err(_) => Err(ParseError::Json),
        };
        self.tape = Some(tape.reset());
        result
    }
}

/// Typed access to fields of a tape object.
pub trait FieldExt<'t, 'i> {
    /// The field, or `MissingField`.
    fn req(&self, key: &'static str) -> Result<Value<'t, 'i>, ParseError>;
    /// A string field, or `MissingField` / `WrongType`.
    fn str_field(&self, key: &'static str) -> Result<&'i str, ParseError>;
    /// A decimal price or size sent as a string or a number.
    fn decimal_field(&self, key: &'static str) -> Result<f64, ParseError>;
    /// An unsigned integer sent as a number or as digit text.
    fn u64_field(&self, key: &'static str) -> Result<u64, ParseError>;
    /// Epoch milliseconds sent as a number or as digit text, converted to ns.
    fn ms_field(&self, key: &'static str) -> Result<i64, ParseError>;
    /// A boolean field.
    fn bool_field(&self, key: &'static str) -> Result<bool, ParseError>;
}

impl<'t, 'i> FieldExt<'t, 'i> for Value<'t, 'i> {
    #[inline]
    fn req(&self, key: &'static str) -> Result<Value<'t, 'i>, ParseError> {
        if !self.is_object() {
            return Err(ParseError::WrongType(key));
        }
        self.get(key).ok_or(ParseError::MissingField(key))
    }

    #[inline]
    fn str_field(&self, key: &'static str) -> Result<&'i str, ParseError> {
        self.req(key)?
            .into_string()
            .ok_or(ParseError::WrongType(key))
    }

    #[inline]
    fn decimal_field(&self, key: &'static str) -> Result<f64, ParseError> {
        decimal_value(self.req(key)?, key)
    }

    #[inline]
    fn u64_field(&self, key: &'static str) -> Result<u64, ParseError> {
        u64_value(self.req(key)?, key)
    }

    #[inline]
    fn ms_field(&self, key: &'static str) -> Result<i64, ParseError> {
        num::ms_to_ns(self.u64_field(key)?, key)
    }

    #[inline]
    fn bool_field(&self, key: &'static str) -> Result<bool, ParseError> {
        self.req(key)?.as_bool().ok_or(ParseError::WrongType(key))
    }
}

/// A decimal price or size sent as a JSON string or a JSON number.
///
/// Numbers are taken as simd-json parsed them (correctly rounded); strings go through
/// [`num::parse_decimal`].
#[inline]
pub fn decimal_value(v: Value<'_, '_>, key: &'static str) -> Result<f64, ParseError> {
    if let Some(s) = v.into_string() {
        return num::parse_decimal(s.as_bytes(), key);
    }
    let x = v.as_f64().ok_or(ParseError::WrongType(key))?;
    if !x.is_finite() || x < 0.0 {
        return Err(ParseError::BadValue(key));
    }
    Ok(x)
}

/// An unsigned integer sent as a JSON number or as digit text.
#[inline]
pub fn u64_value(v: Value<'_, '_>, key: &'static str) -> Result<u64, ParseError> {
    if let Some(s) = v.into_string() {
        return num::parse_u64(s.as_bytes(), key);
    }
    if let Some(n) = v.as_u64() {
        return Ok(n);
    }
    if v.as_i64().is_some() || v.as_f64().is_some() {
        return Err(ParseError::BadValue(key));
    }
    Err(ParseError::WrongType(key))
}

/// A best bid/ask from an item holding `asks` / `bids` arrays of `[px, size, ...]`
/// levels and a `ts` in epoch ms (OKX `bbo-tbt`, Bitget `books1`); the symbol is named
/// by the envelope.
///
/// # Errors
/// [`ParseError::EmptySide`] when either side has no level; shape and number errors.
pub fn top_of_book<'i>(
    item: Value<'_, 'i>,
    native: &'i str,
) -> Result<crate::decode::RawQuote<'i>, ParseError> {
    let ask = first_level(item.req("asks")?, "asks")?;
    let bid = first_level(item.req("bids")?, "bids")?;
    let exch_ts_ns = item.ms_field("ts")?;
    let (Some((bid_px, bid_qty)), Some((ask_px, ask_qty))) = (bid, ask) else {
        return Err(ParseError::EmptySide);
    };
    Ok(crate::decode::RawQuote {
        native,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns,
    })
}

/// A best bid/ask from flat price/size fields and a `ts` in epoch ms (OKX `tickers`,
/// Bitget `ticker`); an empty price (`""`, no order on that side) is an empty side.
///
/// # Errors
/// [`ParseError::EmptySide`] when either price is empty; field and number errors.
pub fn flat_quote<'i>(
    item: Value<'_, 'i>,
    native: &'i str,
    (bid_px_key, bid_qty_key): (&'static str, &'static str),
    (ask_px_key, ask_qty_key): (&'static str, &'static str),
) -> Result<crate::decode::RawQuote<'i>, ParseError> {
    let side =
        |px_key: &'static str, qty_key: &'static str| -> Result<Option<(f64, f64)>, ParseError> {
            let px = item.req(px_key)?;
            if px.into_string() == Some("") {
                return Ok(None);
            }
            Ok(Some((
                decimal_value(px, px_key)?,
                item.decimal_field(qty_key)?,
            )))
        };
    let bid = side(bid_px_key, bid_qty_key)?;
    let ask = side(ask_px_key, ask_qty_key)?;
    let exch_ts_ns = item.ms_field("ts")?;
    let (Some((bid_px, bid_qty)), Some((ask_px, ask_qty))) = (bid, ask) else {
        return Err(ParseError::EmptySide);
    };
    Ok(crate::decode::RawQuote {
        native,
        bid_px,
        bid_qty,
        ask_px,
        ask_qty,
        exch_ts_ns,
    })
}

/// Price and size of the first `[px, size, ...]` level, `None` for an empty side.
///
/// # Errors
/// [`ParseError::WrongType`] for a non-array or a short level; number errors.
pub fn first_level(
    levels: Value<'_, '_>,
    key: &'static str,
) -> Result<Option<(f64, f64)>, ParseError> {
    let levels = levels.as_array().ok_or(ParseError::WrongType(key))?;
    let Some(level) = levels.get(0) else {
        return Ok(None);
    };
    let level = level.as_array().ok_or(ParseError::WrongType(key))?;
    let (Some(px), Some(qty)) = (level.get(0), level.get(1)) else {
        return Err(ParseError::WrongType(key));
    };
    Ok(Some((decimal_value(px, key)?, decimal_value(qty, key)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reuses() {
        let mut s = JsonScratch::default();
        for _ in 0..3 {
            let v = s
                .parse(
                    br#"{"a":"1.5","b":2,"c":"x","d":true,"t":"1652459224956"}"#,
                    |v| {
                        Ok((
                            v.decimal_field("a")?,
                            v.u64_field("b")?,
                            v.str_field("c")?.len(),
                            v.bool_field("d")?,
                            v.ms_field("t")?,
                        ))
                    },
                )
                .unwrap();
            assert_eq!(v, (1.5, 2, 1, true, 1_652_459_224_956_000_000));
        }
        assert_eq!(s.parse(b"{\"a\":", |_| Ok(())), Err(ParseError::Json));
        assert_eq!(
            s.parse(b"{}", |v| v.str_field("a").map(str::len)),
            Err(ParseError::MissingField("a"))
        );
        assert_eq!(
            s.parse(b"{\"a\":1}", |v| v.str_field("a").map(str::len)),
            Err(ParseError::WrongType("a"))
        );
        assert_eq!(
            s.parse(b"[1]", |v| v.str_field("a").map(str::len)),
            Err(ParseError::WrongType("a"))
        );
        assert_eq!(
            s.parse(b"{\"a\":-1}", |v| v.u64_field("a")),
            Err(ParseError::BadValue("a"))
        );
        assert_eq!(
            s.parse(b"{\"a\":-1.5}", |v| v.decimal_field("a")),
            Err(ParseError::BadValue("a"))
        );
        let mut small = JsonScratch::new(4);
        assert_eq!(
            small.parse(b"{\"a\":1}", |_| Ok(())),
            Err(ParseError::Oversize)
        );
    }
}
