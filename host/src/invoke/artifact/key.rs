//! The cache directory's checks and the installation's key: a directory
//! and a key file only this user can write, or no cache at all.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// The key file's name inside the cache directory.
pub(super) const KEY_FILE: &str = "installation.key";

/// Checks that `fd` is of `kind`, belongs to this user, and has none of
/// the permission bits in `forbidden`.
pub(super) fn private(fd: &OwnedFd, kind: FileType, forbidden: u32) -> Result<(), String> {
    let stat = rustix::fs::fstat(fd).map_err(|e| format!("cannot be examined: {e}"))?;
    if FileType::from_raw_mode(stat.st_mode) != kind {
        return Err(format!("is not a {kind:?}"));
    }
    crate::ownership::check(stat.st_uid, stat.st_mode, forbidden, false).map_err(|e| e.to_string())
}

/// The installation's key: read, or made once (by whichever process links
/// its new key file into place first).
pub(super) fn key(dir: &OwnedFd) -> Result<[u8; blake3::KEY_LEN], String> {
    for _ in 0..3 {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        match rustix::fs::openat(dir, KEY_FILE, flags, Mode::empty()) {
            Ok(fd) => return read_key(fd),
            Err(Errno::NOENT) => make_key(dir)?,
            Err(e) => return Err(format!("cannot open it: {e}")),
        }
    }
    Err("it keeps disappearing".into())
}

fn read_key(fd: OwnedFd) -> Result<[u8; blake3::KEY_LEN], String> {
    private(&fd, FileType::RegularFile, 0o077)?;
    let mut key = [0u8; blake3::KEY_LEN];
    let mut file = std::fs::File::from(fd);
    file.read_exact(&mut key)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if file.read(&mut [0u8; 1]).map_err(|e| e.to_string())? != 0 {
        return Err(format!("is longer than {} bytes", blake3::KEY_LEN));
    }
    Ok(key)
}

/// Writes a fresh key beside the final name and links it into place; a
/// key another process linked first wins (the link fails, this one goes).
fn make_key(dir: &OwnedFd) -> Result<(), String> {
    let mut key = [0u8; blake3::KEY_LEN];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let temporary = format!(".key-{}-{:016x}", std::process::id(), random_u64());
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let made = rustix::fs::openat(dir, &temporary, flags, Mode::from_raw_mode(0o600))
        .map_err(std::io::Error::from)
        .and_then(|fd| std::fs::File::from(fd).write_all(&key))
        .map_err(|e| format!("cannot write a new key: {e}"));
    let linked = made.and_then(|()| {
        match rustix::fs::linkat(dir, &temporary, dir, KEY_FILE, AtFlags::empty()) {
            Ok(()) | Err(Errno::EXIST) => Ok(()),
            Err(e) => Err(format!("cannot put a new key in place: {e}")),
        }
    });
    let _ = rustix::fs::unlinkat(dir, &temporary, AtFlags::empty());
    linked
}

/// Unique enough for a temporary file name.
pub(super) fn random_u64() -> u64 {
    rand::RngCore::next_u64(&mut rand::rngs::OsRng)
}
