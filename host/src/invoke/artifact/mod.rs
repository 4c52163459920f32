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
//! The MAC trails the artifact (wasmtime's ELF reader ignores what follows
//! its sections), so wasmtime maps the checked file itself, through
//! `/proc/self/fd`, rather than a copy: Constant Contact's 1.6 MB artifact
//! loads in 1.2 ms that way against 2.4 ms read, checked and copied (and
//! 0.56 ms with no check at all), on this machine under load.
//!
//! The key is 32 random bytes in `installation.key` inside the cache
//! directory, 0600. The directory (`CONNECTOR_HOST_CACHE_DIR`, default the
//! user cache directory) must belong to this user and not be writable by
//! group or others, else the cache is refused (with a warning) and every
//! load compiles. Every file is opened relative to the checked directory
//! (`openat`), never following a link, so swapping a path component after
//! the check changes nothing.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;
use wasmtime::Engine;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

mod key;

use key::{key, private, random_u64, KEY_FILE};

/// What follows the artifact in its file: the format, then the MAC.
const MAGIC: &[u8; 8] = b"chmac\x00\x02\x00";
const TRAILER: usize = MAGIC.len() + blake3::OUT_LEN;

/// An artifact larger than this is not read (a sane bound, far above any
/// real component's: Constant Contact's is 1.6 MB).
const MAX_ARTIFACT: u64 = 1 << 30;

/// A cache directory that passed the checks, and its key.
pub(crate) struct ArtifactCache {
    dir: PathBuf,
    fd: OwnedFd,
    key: [u8; blake3::KEY_LEN],
}

/// A compiled component: in the cache (its MAC checked) or just compiled.
pub(crate) enum Artifact {
    /// The open cache file; the artifact is all but its trailer.
    Cached(std::fs::File),
    /// What the compiler produced.
    Fresh(Vec<u8>),
}

impl Artifact {
    /// The component.
    ///
    /// # Safety
    ///
    /// The artifact must be this host's compiler's output: fresh from it,
    /// or in the cache under a valid MAC (what [`ArtifactCache::get`] gives).
    pub(crate) unsafe fn deserialize(&self, engine: &Engine) -> wasmtime::Result<Component> {
        match self {
            Artifact::Fresh(bytes) => Component::deserialize(engine, bytes),
            // The file whose MAC was checked, through its open descriptor:
            // whatever its name points to by now.
            Artifact::Cached(file) if Path::new("/proc/self/fd").is_dir() => {
                Component::deserialize_file(engine, format!("/proc/self/fd/{}", file.as_raw_fd()))
            }
            Artifact::Cached(file) => {
                let (mut file, mut bytes) = (file, Vec::new());
                std::io::Seek::rewind(&mut file)?;
                file.read_to_end(&mut bytes)?;
                Component::deserialize(engine, &bytes[..bytes.len().saturating_sub(TRAILER)])
            }
        }
    }
}

/// The name of the record saying which trusted key verified the component
/// with this digest (see [`ArtifactCache::verified`]).
pub(crate) fn verified_name(component_digest: &str) -> String {
    format!("{component_digest}.verified")
}

/// The name of the record of what `describe` returned for the artifact
/// named `artifact`, escaped (see [`super::Runtime::load`]). The number is
/// the version of the escaping ([`crate::redact::escape_strings`]): change
/// it with the escaping, and every record is made again.
pub(crate) fn described_name(artifact: &str) -> String {
    format!("{artifact}.described-1")
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
        if !(TRAILER as u64..=MAX_ARTIFACT).contains(&size) {
            return self.unusable(name, &format!("its size ({size} bytes) is impossible"));
        }
        let valid = match Mapping::of(&fd, size as usize) {
            Ok(mapping) => self.carries_mac(name, mapping.bytes()),
            Err(e) => return self.unusable(name, &format!("cannot read it: {e}")),
        };
        if !valid {
            return self.unusable(
                name,
                "it does not carry this installation's MAC (planted, altered, or written by another installation)",
            );
        }
        Some(Artifact::Cached(fd.into()))
    }

    /// What the small file `name` holds, if this installation wrote it
    /// (with [`ArtifactCache::put`]): a verification record, say.
    pub(crate) fn get_small(&self, name: &str) -> Option<Vec<u8>> {
        let Artifact::Cached(mut file) = self.get(name)? else {
            return None;
        };
        let mut bytes = Vec::new();
        std::io::Seek::rewind(&mut file).ok()?;
        file.read_to_end(&mut bytes).ok()?;
        bytes.truncate(bytes.len().saturating_sub(TRAILER));
        Some(bytes)
    }

    /// Whether `file` (an artifact and its trailer) carries the MAC of `name`.
    fn carries_mac(&self, name: &str, file: &[u8]) -> bool {
        let (code, trailer) = file.split_at(file.len() - TRAILER);
        let (magic, mac) = trailer.split_at(MAGIC.len());
        // `blake3::Hash` compares in constant time.
        magic == MAGIC
            && <[u8; blake3::OUT_LEN]>::try_from(mac)
                .is_ok_and(|mac| blake3::Hash::from(mac) == self.mac(name, code))
    }

    /// Stores `artifact` as `name`, atomically: a reader sees the old file
    /// or the whole new one.
    pub(crate) fn put(&self, name: &str, artifact: &[u8]) {
        let temporary = format!(".tmp-{}-{:016x}", std::process::id(), random_u64());
        let written = self.write_new(
            &temporary,
            &[artifact, MAGIC, self.mac(name, artifact).as_bytes()],
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
            "cached artifact not loaded: {why}; it is made again (compiled, or described) and the file replaced"
        );
        None
    }
}

/// A read-only view of a whole file, for the MAC: what the page cache
/// holds, without copying it.
struct Mapping {
    at: *mut std::ffi::c_void,
    len: usize,
}

impl Mapping {
    fn of(fd: &OwnedFd, len: usize) -> std::io::Result<Mapping> {
        use rustix::mm::{MapFlags, ProtFlags};
        // SAFETY: a fresh private read-only mapping, unmapped on drop and
        // read only through `bytes` while it lives. A file cut short while
        // mapped raises SIGBUS, as wasmtime's own mapping of it would; only
        // this user can write the (checked) directory.
        let at = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::PRIVATE,
                fd,
                0,
            )
        }?;
        Ok(Mapping { at, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `len` readable bytes at `at`, mapped until `self` drops.
        unsafe { std::slice::from_raw_parts(self.at.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `of`, no longer borrowed.
        let _ = unsafe { rustix::mm::munmap(self.at, self.len) };
    }
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
        let Some(Artifact::Cached(mut file)) = cache.get("a.cwasm") else {
            panic!("not read back")
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        assert_eq!(&bytes[..bytes.len() - TRAILER], b"code of a");
        // Another artifact renamed: its MAC binds its own name.
        std::fs::copy(cache.dir.join("a.cwasm"), cache.dir.join("b.cwasm")).unwrap();
        assert!(cache.get("b.cwasm").is_none());
        // One byte changed.
        let mut bytes = std::fs::read(cache.dir.join("a.cwasm")).unwrap();
        bytes[0] ^= 1;
        std::fs::write(cache.dir.join("a.cwasm"), &bytes).unwrap();
        assert!(cache.get("a.cwasm").is_none());
        // A plain artifact with no trailer at all.
        std::fs::write(
            cache.dir.join("c.cwasm"),
            b"\x7fELF plain, longer than a trailer is",
        )
        .unwrap();
        assert!(cache.get("c.cwasm").is_none());
    }

    #[test]
    fn a_small_record_reads_back_only_under_its_own_name() {
        let (_dir, cache) = cache();
        cache.put("d.verified", b"key");
        assert_eq!(cache.get_small("d.verified").unwrap(), b"key");
        std::fs::copy(cache.dir.join("d.verified"), cache.dir.join("e.verified")).unwrap();
        assert!(cache.get_small("e.verified").is_none());
    }

    #[test]
    fn wasmtime_maps_a_cached_artifact_with_its_trailer() {
        let (_dir, cache) = cache();
        let engine = Engine::new(&super::super::engine::config_for(
            super::super::Tier::Optimized,
        ))
        .unwrap();
        let component = wat::parse_str("(component (core module (func (export \"f\"))))").unwrap();
        cache.put("c.cwasm", &engine.precompile_component(&component).unwrap());
        let artifact = cache.get("c.cwasm").unwrap();
        assert!(matches!(artifact, Artifact::Cached(_)));
        // SAFETY: compiled just above, by this engine.
        unsafe { artifact.deserialize(&engine) }.unwrap();
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
