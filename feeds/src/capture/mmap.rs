//! Memory-mapped capture files: the one place the capture format needs `unsafe`.
#![allow(unsafe_code)] // mapping a file is unsafe by nature: another process may change it.

use std::fs::File;
use std::path::{Path, PathBuf};

use arb_engine::SymbolRegistry;
use memmap2::Mmap;

use super::error::CaptureError;
use super::format::CaptureHeader;
use super::reader::{CaptureReader, CaptureStats, Records, TailStatus};

/// A capture file mapped into memory, header validated. Records borrow the mapping.
#[derive(Debug)]
pub struct CaptureFile {
    map: Mmap,
    header: CaptureHeader,
    path: PathBuf,
}

impl CaptureFile {
    /// Maps `path` read-only and validates its header (magic, version, flags, header length,
    /// metadata CRC). Advises the kernel that access is sequential.
    ///
    /// # Errors
    /// [`CaptureError::Io`] when the file cannot be opened or mapped; header errors as
    /// [`CaptureHeader::parse`].
    ///
    /// # Safety
    /// The file must not be truncated or modified (by this or any other process) while the
    /// returned value or anything borrowed from it lives: a truncation makes later reads of
    /// the mapping raise `SIGBUS`, a modification changes bytes that were already validated.
    /// Captures published by [`CaptureWriter::finish`](super::CaptureWriter::finish) are never
    /// written again, so mapping those is sound as long as nothing else edits them; do not
    /// map a `.partial` file that a writer is still appending to.
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| CaptureError::io("open", &path, e))?;
        // SAFETY: Delegated to the caller: the file is neither truncated nor modified while
        // mapped.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| CaptureError::io("map", &path, e))?;
        #[cfg(unix)]
        {
            // Advice only; failing to give it changes nothing but read-ahead.
            let _ = map.advise(memmap2::Advice::Sequential);
        }
        let header = CaptureHeader::parse(&map)?;
        Ok(CaptureFile { map, header, path })
    }

    /// Returns a reader over the mapped bytes.
    pub fn reader(&self) -> CaptureReader<'_> {
        CaptureReader::from_parts(&self.map, self.header)
    }

    /// Returns the parsed file header.
    pub fn header(&self) -> &CaptureHeader {
        &self.header
    }

    /// Returns the path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the mapped bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.map
    }

    /// Rebuilds the symbol registry; see [`CaptureReader::symbols`].
    ///
    /// # Errors
    /// [`CaptureError::BadMetadata`].
    pub fn symbols(&self) -> Result<SymbolRegistry, CaptureError> {
        self.reader().symbols()
    }

    /// Iterates the records; see [`CaptureReader::records`].
    pub fn records(&self) -> Records<'_> {
        self.reader().records()
    }

    /// Walks the file and returns how it ends; see [`CaptureReader::tail`].
    pub fn tail(&self) -> TailStatus {
        self.reader().tail()
    }

    /// Walks the file and counts records; see [`CaptureReader::scan`].
    pub fn scan(&self) -> CaptureStats {
        self.reader().scan()
    }
}
