//! Bitget decoding (in progress).

use crate::decode::{Decoded, FrameDecoder, FrameKind};
use crate::error::ParseError;

/// Frame decoder for one Bitget connection.
#[derive(Debug, Default)]
pub struct BitgetDecoder {}

impl BitgetDecoder {
    /// Creates a decoder with its own scratch buffers.
    pub fn new() -> Self {
        Self::default()
    }
}

impl FrameDecoder for BitgetDecoder {
    fn decode<F: FnMut(Decoded<'_>)>(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut F,
    ) -> Result<(), ParseError> {
        self.decode_validating(kind, frame, out)
    }

    fn decode_validating<F: FnMut(Decoded<'_>)>(
        &mut self,
        _kind: FrameKind,
        _frame: &[u8],
        _out: &mut F,
    ) -> Result<(), ParseError> {
        Err(ParseError::Unsupported("decoder not written yet"))
    }
}
