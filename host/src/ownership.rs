//! Whether a file the host trusts (a key, a key file, a directory of
//! compiled code) could be changed, or read, by someone else: its owner
//! and its permission bits. One check for every such file, so each place
//! refuses the same things and only adds its own hint.

use std::fmt;

/// What makes a file someone else's to change or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exposure {
    /// Another user owns it.
    Owner {
        /// Its owner.
        uid: u32,
        /// This process's effective user.
        me: u32,
        /// Whether root would have been accepted as the owner too.
        root_ok: bool,
    },
    /// Group or others hold some of the forbidden permission bits.
    Mode {
        /// Its permission bits.
        mode: u32,
        /// Whether reading is forbidden too, not only writing.
        read: bool,
    },
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Exposure::Owner {
                uid,
                me,
                root_ok: false,
            } => {
                write!(f, "belongs to uid {uid}, not to this user (uid {me})")
            }
            Exposure::Owner {
                uid,
                me,
                root_ok: true,
            } => {
                write!(
                    f,
                    "belongs to uid {uid}, neither this user (uid {me}) nor root"
                )
            }
            Exposure::Mode { mode, read } => write!(
                f,
                "has mode {mode:04o}: others than its owner may {}",
                if read {
                    "read or write it"
                } else {
                    "write to it"
                }
            ),
        }
    }
}

/// Checks a file's owner `uid` and `mode`: it must belong to this user
/// (or root, when `root_ok`) and hold none of the bits in `forbidden`
/// (`0o022`: nobody else may write it; `0o077`: nobody else may use it).
pub(crate) fn check(uid: u32, mode: u32, forbidden: u32, root_ok: bool) -> Result<(), Exposure> {
    let me = rustix::process::geteuid().as_raw();
    if uid != me && !(root_ok && uid == 0) {
        return Err(Exposure::Owner { uid, me, root_ok });
    }
    let mode = mode & 0o7777;
    if mode & forbidden != 0 {
        return Err(Exposure::Mode {
            mode,
            read: forbidden & 0o044 != 0,
        });
    }
    Ok(())
}

/// [`check`] on a file's metadata.
pub(crate) fn check_metadata(
    metadata: &std::fs::Metadata,
    forbidden: u32,
    root_ok: bool,
) -> Result<(), Exposure> {
    use std::os::unix::fs::MetadataExt;
    check(metadata.uid(), metadata.mode(), forbidden, root_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_owner_or_a_forbidden_bit_is_refused() {
        let me = rustix::process::geteuid().as_raw();
        assert_eq!(check(me, 0o100600, 0o077, false), Ok(()));
        assert_eq!(check(me, 0o644, 0o022, false), Ok(()));
        let mode = check(me, 0o644, 0o077, false).unwrap_err();
        assert_eq!(
            mode.to_string(),
            "has mode 0644: others than its owner may read or write it"
        );
        let mode = check(me, 0o777, 0o022, false).unwrap_err();
        assert_eq!(
            mode.to_string(),
            "has mode 0777: others than its owner may write to it"
        );
        let other = me.wrapping_add(1).max(1);
        assert!(matches!(
            check(other, 0o600, 0o077, false),
            Err(Exposure::Owner { .. })
        ));
        assert!(check(0, 0o644, 0o022, true).is_ok());
    }
}
