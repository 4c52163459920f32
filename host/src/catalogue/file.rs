//! Reading a component file without being stalled by it.
//!
//! Only regular files are components. A FIFO named `*.wasm` would block
//! whoever opens it until a writer comes, and a device may act on being
//! opened, so the kind is checked from the file's metadata before opening,
//! the file is opened non-blocking, and the kind checked again on the open
//! descriptor (the name may have been swapped in between). The size is
//! bounded before a byte is read.

use std::fs::Metadata;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::time::SystemTime;

use rustix::fs::{FileType, Mode, OFlags};

/// What says a file was replaced or rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    modified: Option<SystemTime>,
    len: u64,
    inode: (u64, u64),
    changed: (i64, i64),
}

impl Fingerprint {
    /// The fingerprint in `meta`.
    pub(crate) fn of(meta: &Metadata) -> Fingerprint {
        Fingerprint {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode: (meta.dev(), meta.ino()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// Why a component file was not read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Not a regular file: what it is instead.
    NotRegular(&'static str),
    /// Larger than the bound: its size.
    TooLarge(u64),
    /// It could not be opened or read.
    Io(std::io::Error),
}

/// What kind of non-regular file `meta` describes, or `None` for a regular one.
pub(crate) fn irregular(meta: &Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    match () {
        () if kind.is_file() => None,
        () if kind.is_dir() => Some("a directory"),
        () if kind.is_fifo() => Some("a FIFO"),
        () if kind.is_socket() => Some("a socket"),
        () if kind.is_block_device() || kind.is_char_device() => Some("a device"),
        () => Some("not a regular file"),
    }
}

/// The bytes of the regular file at `path`, at most `max` of them.
pub(crate) fn read(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if let Some(kind) = irregular(&meta) {
        return Err(ReadError::NotRegular(kind));
    }
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| ReadError::Io(e.into()))?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| ReadError::Io(e.into()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(ReadError::NotRegular("not a regular file"));
    }
    let size = stat.st_size as u64;
    if size > max {
        return Err(ReadError::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // The file may grow while it is read: never past the bound.
    std::fs::File::from(fd)
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_a_directory_and_a_large_file_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.wasm");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, Mode::from_raw_mode(0o600)).unwrap();
        // Opening it for reading in the usual (blocking) way would hang here.
        assert!(matches!(
            read(&fifo, 10),
            Err(ReadError::NotRegular("a FIFO"))
        ));
        assert!(matches!(
            read(dir.path(), 10),
            Err(ReadError::NotRegular("a directory"))
        ));
        let large = dir.path().join("large.wasm");
        std::fs::write(&large, [0u8; 11]).unwrap();
        assert!(matches!(read(&large, 10), Err(ReadError::TooLarge(11))));
        assert_eq!(read(&large, 11).unwrap().len(), 11);
    }
}
