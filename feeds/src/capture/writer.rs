//! Writing captures: [`CaptureWriter`] to a file (published by rename when complete) and
//! [`CaptureBuf`] to memory, both producing the same bytes.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arb_engine::SymbolRegistry;

use super::error::CaptureError;
use super::format::{
    RECORD_HEADER_BYTES, Record, ZEROS, encode_header, encode_record_head, padded,
};

/// What [`CaptureWriter::finish`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSummary {
    /// Final path of the capture.
    pub path: PathBuf,
    /// Records written.
    pub records: u64,
    /// File length in bytes, header included.
    pub bytes: u64,
}

/// Appends records to a capture file.
///
/// The file is written to `<path>.partial` through a 1 MiB buffer; [`CaptureWriter::finish`]
/// flushes, fsyncs and renames it to `path`, so a file under the final name is always
/// complete. A writer dropped without `finish` (crash, error) leaves only the `.partial`
/// file, whose valid prefix a reader still replays ([`TailStatus::Truncated`] at the end).
///
/// [`TailStatus::Truncated`]: super::TailStatus::Truncated
#[derive(Debug)]
pub struct CaptureWriter {
    out: BufWriter<File>,
    path: PathBuf,
    partial_path: PathBuf,
    records: u64,
    /// Bytes handed to `out` so far, header included.
    bytes: u64,
}

impl CaptureWriter {
    /// Size of the write buffer: large enough that a write syscall moves about a thousand
    /// frames.
    pub const BUFFER_BYTES: usize = 1 << 20;

    /// Creates `<path>.partial` and writes the header with `symbols` and the current
    /// wall-clock time.
    ///
    /// # Errors
    /// [`CaptureError::Io`] when the file cannot be created or written;
    /// [`CaptureError::InvalidSymbol`] / [`CaptureError::MetadataTooLarge`] for the symbol table.
    pub fn create(path: impl AsRef<Path>, symbols: &SymbolRegistry) -> Result<Self, CaptureError> {
        Self::create_at(path, symbols, arb_engine::clock::wall_ns())
    }

    /// As [`CaptureWriter::create`], with an explicit creation time (for reproducible files).
    ///
    /// # Errors
    /// As [`CaptureWriter::create`].
    pub fn create_at(
        path: impl AsRef<Path>,
        symbols: &SymbolRegistry,
        created_ns: i64,
    ) -> Result<Self, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let partial_path = partial_path(&path);
        let header = encode_header(symbols, created_ns)?;
        let file = File::create(&partial_path)
            .map_err(|e| CaptureError::io("create", &partial_path, e))?;
        let mut out = BufWriter::with_capacity(Self::BUFFER_BYTES, file);
        out.write_all(&header)
            .map_err(|e| CaptureError::io("write", &partial_path, e))?;
        Ok(CaptureWriter {
            out,
            path,
            partial_path,
            records: 0,
            bytes: header.len() as u64,
        })
    }

    /// Appends one record.
    ///
    /// # Errors
    /// [`CaptureError::PayloadTooLarge`] (nothing written); [`CaptureError::Io`] on a write
    /// failure, after which the file should be abandoned.
    ///
    /// # Hot path
    /// Allocates never; a `write` syscall once per [`Self::BUFFER_BYTES`]; may block on disk.
    #[inline]
    pub fn append(&mut self, rec: Record<'_>) -> Result<(), CaptureError> {
        let head = encode_record_head(&rec)?;
        let pad = padded(rec.payload.len()) - rec.payload.len();
        let res = self
            .out
            .write_all(&head)
            .and_then(|()| self.out.write_all(rec.payload))
            .and_then(|()| self.out.write_all(&ZEROS[..pad]));
        if let Err(e) = res {
            return Err(CaptureError::io("write", &self.partial_path, e));
        }
        self.records += 1;
        self.bytes += (RECORD_HEADER_BYTES + rec.payload.len() + pad) as u64;
        Ok(())
    }

    /// Returns the number of records appended.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Returns the file length so far (buffered bytes included).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Returns the final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the path written until [`CaptureWriter::finish`].
    pub fn partial_path(&self) -> &Path {
        &self.partial_path
    }

    /// Flushes, fsyncs and renames the file to its final path (replacing any file there),
    /// then fsyncs the directory.
    ///
    /// # Errors
    /// [`CaptureError::Io`]; the `.partial` file is left in place.
    pub fn finish(self) -> Result<CaptureSummary, CaptureError> {
        let CaptureWriter {
            out,
            path,
            partial_path,
            records,
            bytes,
        } = self;
        let file = out
            .into_inner()
            .map_err(|e| CaptureError::io("write", &partial_path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| CaptureError::io("sync", &partial_path, e))?;
        drop(file);
        fs::rename(&partial_path, &path)
            .map_err(|e| CaptureError::io("rename", &partial_path, e))?;
        // NB: the rename is durable only once the directory is synced; some filesystems
        // refuse fsync on a directory, which does not make the capture any less complete.
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(CaptureSummary {
            path,
            records,
            bytes,
        })
    }
}

/// Returns `<path>.partial`.
fn partial_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// A capture built in memory, byte for byte what [`CaptureWriter`] would write. For tests,
/// benches and generators that keep the capture in RAM.
#[derive(Debug, Clone)]
pub struct CaptureBuf {
    bytes: Vec<u8>,
    records: u64,
}

impl CaptureBuf {
    /// Starts a capture with the header for `symbols`.
    ///
    /// # Errors
    /// [`CaptureError::InvalidSymbol`] / [`CaptureError::MetadataTooLarge`].
    pub fn new(symbols: &SymbolRegistry, created_ns: i64) -> Result<Self, CaptureError> {
        Ok(CaptureBuf {
            bytes: encode_header(symbols, created_ns)?,
            records: 0,
        })
    }

    /// Appends one record.
    ///
    /// # Errors
    /// [`CaptureError::PayloadTooLarge`] (nothing appended).
    #[inline]
    pub fn append(&mut self, rec: Record<'_>) -> Result<(), CaptureError> {
        let head = encode_record_head(&rec)?;
        let pad = padded(rec.payload.len()) - rec.payload.len();
        self.bytes.extend_from_slice(&head);
        self.bytes.extend_from_slice(rec.payload);
        self.bytes.extend_from_slice(&ZEROS[..pad]);
        self.records += 1;
        Ok(())
    }

    /// Returns the number of records appended.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Returns the capture so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Returns the capture bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
