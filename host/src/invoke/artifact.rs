//! The cache of compiled components: native code, so it trusts only what
//! this installation wrote.
//!
//! Loading an artifact runs it as native code without any of the checks
//! compiling does, so a file planted in the cache would run in place of the
//! component a connection pins. Every artifact is therefore written with a
//! MAC (keyed BLAKE3) under a per-installation key, over its name (which
//! binds the component's digest and the engine) and its bytes, and the MAC
//! is checked before wasmtime sees a byte. An artifact that fails the check
//! is never loaded: the component is compiled again and the file replaced.
//!
//! The key is 32 random bytes in `installation.key` inside the cache
//! directory, 0600. The directory (`CONNECTOR_HOST_CACHE_DIR`, default the
//! user cache directory) must belong to this user and not be writable by
//! group or others, else the cache is refused (with a warning) and every
//! load compiles. Every file is opened relative to the checked directory
//! (`openat`), never following a link, so swapping a path component after
//! the check changes nothing.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// The key file's name inside the cache directory.
const KEY_FILE: &str = "installation.key";

/// What an artifact file starts with: its format, then its MAC.
const MAGIC: &[u8; 8] = b"chmac\x00\x01\x00";
const HEADER: usize = MAGIC.len() + blake3::OUT_LEN;

/// An artifact larger than this is not read (a sane bound, far above any
/// real component's: Constant Contact's is 1.6 MB).
const MAX_ARTIFACT: u64 = 1 << 30;

/// A cache directory that passed the checks, and its key.
pub(crate) struct ArtifactCache {
    dir: PathBuf,
    fd: OwnedFd,
    key: [u8; blake3::KEY_LEN],
}

/// A compiled component: read from the cache (MAC checked) or just compiled.
pub(crate) struct Artifact {
    bytes: Vec<u8>,
    start: usize,
}

impl Artifact {
    /// What the compiler produced.
    pub(crate) fn fresh(bytes: Vec<u8>) -> Artifact {
        Artifact { bytes, start: 0 }
    }

    /// The serialized component, for `Component::deserialize`.
    pub(crate) fn code(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// The cache file's name: the component's digest and the engine's
/// compatibility hash, so an artifact never meets other bytes or another
/// engine.
pub(crate) fn name(component_digest: &str, compatibility: &str) -> String {
    format!("{component_digest}-{compatibility}.cwasm")
}

impl ArtifactCache {
    /// The cache in `CONNECTOR_HOST_CACHE_DIR` (or the user cache
    /// directory), or `None` with a warning when it is not private.
    pub(crate) fn open() -> Option<ArtifactCache> {
        let dir = std::env::var_os("CONNECTOR_HOST_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs::cache_dir().map(|d| d.join("connector-host")))?;
        match ArtifactCache::open_at(&dir) {
            Ok(cache) => Some(cache),
            Err(reason) => {
                tracing::warn!(
                    dir = %dir.display(),
                    "artifact cache refused, every component is compiled: {reason}\nhint: `chmod 700 {0}` if it is yours, or set CONNECTOR_HOST_CACHE_DIR to a directory only you can write",
                    dir.display()
                );
                None
            }
        }
    }

    fn open_at(dir: &Path) -> Result<ArtifactCache, String> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| format!("cannot create it: {e}"))?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(dir, flags, Mode::empty())
            .map_err(|e| format!("cannot open it: {e}"))?;
        private(&fd, FileType::Directory, 0o022).map_err(|e| format!("the directory {e}"))?;
        let key = key(&fd).map_err(|e| format!("{KEY_FILE}: {e}"))?;
        Ok(ArtifactCache {
            dir: dir.to_owned(),
            fd,
            key,
        })
    }

    /// The artifact named `name`, if this installation wrote it; anything
    /// else there is reported and ignored (the caller compiles again).
    pub(crate) fn get(&self, name: &str) -> Option<Artifact> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return None,
            Err(e) => return self.unusable(name, &format!("cannot open it: {e}")),
        };
        let size = match rustix::fs::fstat(&fd) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile => {
                stat.st_size as u64
            }
            _ => return self.unusable(name, "it is not a regular file"),
        };
        if !(HEADER as u64..=MAX_ARTIFACT).contains(&size) {
            return self.unusable(name, &format!("its size ({size} bytes) is impossible"));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        if let Err(e) = std::fs::File::from(fd)
            .take(MAX_ARTIFACT)
            .read_to_end(&mut bytes)
        {
            return self.unusable(name, &format!("cannot read it: {e}"));
        }
        let (magic, rest) = bytes.split_at(MAGIC.len());
        let (mac, code) = rest.split_at(blake3::OUT_LEN.min(rest.len()));
        // `blake3::Hash` compares in constant time.
        let valid = magic == MAGIC
            && <[u8; blake3::OUT_LEN]>::try_from(mac)
                .is_ok_and(|mac| blake3::Hash::from(mac) == self.mac(name, code));
        if !valid {
            return self.unusable(
                name,
                "it does not carry this installation's MAC (planted, altered, or written by another installation)",
            );
        }
        Some(Artifact {
            bytes,
            start: HEADER,
        })
    }

    /// Stores `artifact` as `name`, atomically: a reader sees the old file
    /// or the whole new one.
    pub(crate) fn put(&self, name: &str, artifact: &[u8]) {
        let temporary = format!(".tmp-{}-{:016x}", std::process::id(), random_u64());
        let written = self.write_new(
            &temporary,
            &[MAGIC, self.mac(name, artifact).as_bytes(), artifact],
        );
        let stored = written.and_then(|()| {
            rustix::fs::renameat(&self.fd, &temporary, &self.fd, name).map_err(Into::into)
        });
        if let Err(e) = stored {
            let _ = rustix::fs::unlinkat(&self.fd, &temporary, AtFlags::empty());
            tracing::warn!(dir = %self.dir.display(), name, "cannot cache the compiled component: {e}");
        }
    }

    /// Writes a new 0600 file `name` holding `parts`, one after another.
    fn write_new(&self, name: &str, parts: &[&[u8]]) -> std::io::Result<()> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(0o600))?;
        let mut file = std::fs::File::from(fd);
        for part in parts {
            file.write_all(part)?;
        }
        Ok(())
    }

    fn mac(&self, name: &str, code: &[u8]) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher
            .update(MAGIC)
            .update(name.as_bytes())
            .update(&[0])
            .update(code);
        hasher.finalize()
    }

    fn unusable(&self, name: &str, why: &str) -> Option<Artifact> {
        tracing::warn!(
            dir = %self.dir.display(),
            name,
            "cached artifact not loaded: {why}; the component is compiled again and the file replaced"
        );
        None
    }
}

/// Checks that `fd` is of `kind`, belongs to this user, and has none of
/// the permission bits in `forbidden`.
fn private(fd: &OwnedFd, kind: FileType, forbidden: u32) -> Result<(), String> {
    let stat = rustix::fs::fstat(fd).map_err(|e| format!("cannot be examined: {e}"))?;
    let me = rustix::process::geteuid().as_raw();
    let mode = stat.st_mode & 0o7777;
    if FileType::from_raw_mode(stat.st_mode) != kind {
        return Err(format!("is not a {kind:?}"));
    }
    if stat.st_uid != me {
        return Err(format!(
            "belongs to uid {}, not to this user (uid {me})",
            stat.st_uid
        ));
    }
    if mode & forbidden != 0 {
        return Err(format!(
            "has mode {mode:04o}: others than its owner may {}",
            if forbidden == 0o022 {
                "write to it"
            } else {
                "use it"
            }
        ));
    }
    Ok(())
}

/// The installation's key: read, or made once (by whichever process links
/// its new key file into place first).
fn key(dir: &OwnedFd) -> Result<[u8; blake3::KEY_LEN], String> {
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
fn random_u64() -> u64 {
    rand::RngCore::next_u64(&mut rand::rngs::OsRng)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> (tempfile::TempDir, ArtifactCache) {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open_at(&dir.path().join("cache")).unwrap();
        (dir, cache)
    }

    #[test]
    fn an_artifact_reads_back_only_under_its_own_name_and_unaltered() {
        let (_dir, cache) = cache();
        cache.put("a.cwasm", b"code of a");
        assert_eq!(cache.get("a.cwasm").unwrap().code(), b"code of a");
        // Another artifact renamed: its MAC binds its own name.
        std::fs::copy(cache.dir.join("a.cwasm"), cache.dir.join("b.cwasm")).unwrap();
        assert!(cache.get("b.cwasm").is_none());
        // One byte changed.
        let mut bytes = std::fs::read(cache.dir.join("a.cwasm")).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(cache.dir.join("a.cwasm"), &bytes).unwrap();
        assert!(cache.get("a.cwasm").is_none());
        // A plain artifact with no header at all.
        std::fs::write(cache.dir.join("c.cwasm"), b"\x7fELF plain").unwrap();
        assert!(cache.get("c.cwasm").is_none());
    }

    #[test]
    fn another_installation_key_makes_every_artifact_invalid() {
        let (dir, cache) = cache();
        cache.put("a.cwasm", b"code");
        drop(cache);
        std::fs::remove_file(dir.path().join("cache").join(KEY_FILE)).unwrap();
        let cache = ArtifactCache::open_at(&dir.path().join("cache")).unwrap();
        assert!(cache.get("a.cwasm").is_none());
    }

    #[test]
    fn a_directory_or_key_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, cache) = cache();
        drop(cache);
        let path = dir.path().join("cache");
        let chmod = |p: &Path, mode| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        chmod(&path, 0o777);
        let refused = ArtifactCache::open_at(&path).err().unwrap();
        assert!(refused.contains("mode 0777"), "{refused}");
        chmod(&path, 0o755);
        chmod(&path.join(KEY_FILE), 0o644);
        let refused = ArtifactCache::open_at(&path).err().unwrap();
        assert!(
            refused.starts_with(KEY_FILE) && refused.contains("0644"),
            "{refused}"
        );
        chmod(&path.join(KEY_FILE), 0o600);
        assert!(ArtifactCache::open_at(&path).is_ok());
    }

    #[test]
    fn a_linked_key_or_artifact_is_not_followed() {
        let (dir, cache) = cache();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, b"x").unwrap();
        std::os::unix::fs::symlink(&elsewhere, cache.dir.join("a.cwasm")).unwrap();
        assert!(cache.get("a.cwasm").is_none());
        drop(cache);
        let path = dir.path().join("cache");
        std::fs::remove_file(path.join(KEY_FILE)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, path.join(KEY_FILE)).unwrap();
        assert!(ArtifactCache::open_at(&path).is_err());
    }
}
