//! Errors of the capture format: opening, validating, writing.

use std::io;
use std::path::PathBuf;

/// Why a capture could not be written or opened.
///
/// Problems inside the record stream are not errors: reading stops at the first bad record
/// and reports it as a [`TailStatus`](super::TailStatus), so the valid prefix still replays.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// An operating-system call failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was attempted: `create`, `open`, `map`, `write`, `sync`, `rename`.
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is shorter than the fixed header.
    #[error("file too short for a capture header ({len} bytes)")]
    TooShort {
        /// File length in bytes.
        len: u64,
    },
    /// The file does not start with `ARBCAP\r\n`.
    #[error("not a capture file (bad magic)")]
    BadMagic,
    /// The format version is not one this build reads.
    #[error("unsupported capture version {0} (this build reads version 1)")]
    UnsupportedVersion(u16),
    /// Header flags this build does not understand.
    #[error("unsupported capture flags {0:#06x}")]
    UnsupportedFlags(u16),
    /// `header_len` is not a multiple of 8, does not hold the metadata, or exceeds the file.
    #[error("bad header length {header_len} (metadata {meta_len} bytes, file {file_len} bytes)")]
    BadHeaderLen {
        /// Stored header length.
        header_len: u32,
        /// Stored metadata length.
        meta_len: u32,
        /// File length.
        file_len: u64,
    },
    /// The metadata block does not match its CRC.
    #[error("metadata crc mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    MetaCrc {
        /// CRC stored in the header.
        stored: u32,
        /// CRC of the bytes found.
        computed: u32,
    },
    /// A metadata line is malformed or conflicts with an earlier one.
    #[error("bad metadata line {line}: {reason}")]
    BadMetadata {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A symbol cannot be stored: its native text contains a tab or a line break.
    #[error("symbol {native:?} cannot be stored in the capture metadata")]
    InvalidSymbol {
        /// The offending native symbol.
        native: String,
    },
    /// The metadata block exceeds [`MAX_META_BYTES`](super::MAX_META_BYTES).
    #[error("metadata of {len} bytes exceeds the limit of {max} bytes")]
    MetadataTooLarge {
        /// Metadata length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A payload exceeds [`MAX_PAYLOAD_BYTES`](super::MAX_PAYLOAD_BYTES).
    #[error("payload of {len} bytes exceeds the limit of {max} bytes")]
    PayloadTooLarge {
        /// Payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl CaptureError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        CaptureError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
