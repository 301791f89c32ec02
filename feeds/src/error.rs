//! Decode errors: one small `Copy` enum, so a bad frame costs a counter bump, not an allocation.

/// Why a frame could not be decoded. Counted per venue and per kind, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not valid JSON (or not valid UTF-8 text).
    #[error("malformed json")]
    Json,
    /// A required field is absent.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field has the wrong JSON type.
    #[error("wrong type for field {0}")]
    WrongType(&'static str),
    /// A numeric field does not parse as a number.
    #[error("bad number in field {0}")]
    BadNumber(&'static str),
    /// A price or size is negative, NaN or infinite.
    #[error("non-finite or negative value in field {0}")]
    BadValue(&'static str),
    /// A book side is empty (no level, or an empty price) and no earlier value fills it.
    #[error("empty book side")]
    EmptySide,
    /// The native symbol is not in the registry.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// Well-formed, but not a message type this decoder knows.
    #[error("unknown message")]
    UnknownMessage,
    /// A known message of a kind arb does not consume: other instrument types, deeper
    /// books than L1, retired formats.
    #[error("unsupported message: {0}")]
    Unsupported(&'static str),
    /// The frame is larger than the configured maximum.
    #[error("oversize frame")]
    Oversize,
    /// A compressed frame does not inflate.
    #[error("bad gzip frame")]
    Gzip,
    /// A protobuf frame is malformed.
    #[error("bad protobuf frame")]
    Protobuf,
}

impl ParseError {
    /// Number of distinct kinds; the length of per-kind counter arrays.
    pub const KINDS: usize = 12;

    /// Returns a dense index (`0 .. KINDS`) for per-kind counters.
    pub const fn kind_index(self) -> usize {
        match self {
            ParseError::Json => 0,
            ParseError::MissingField(_) => 1,
            ParseError::WrongType(_) => 2,
            ParseError::BadNumber(_) => 3,
            ParseError::BadValue(_) => 4,
            ParseError::EmptySide => 5,
            ParseError::UnknownSymbol => 6,
            ParseError::UnknownMessage => 7,
            ParseError::Unsupported(_) => 8,
            ParseError::Oversize => 9,
            ParseError::Gzip => 10,
            ParseError::Protobuf => 11,
        }
    }

    /// Returns the short label of a kind index, for metrics and reports.
    pub const fn kind_label(index: usize) -> &'static str {
        match index {
            0 => "json",
            1 => "missing_field",
            2 => "wrong_type",
            3 => "bad_number",
            4 => "bad_value",
            5 => "empty_side",
            6 => "unknown_symbol",
            7 => "unknown_message",
            8 => "unsupported",
            9 => "oversize",
            10 => "gzip",
            _ => "protobuf",
        }
    }
}
