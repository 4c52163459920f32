//! The sealed file format: one text line of header, then AES-256-GCM
//! ciphertext and tag.
//!
//! ```text
//! connector-host sealed v1 key 1a2b3c4d5e6f7a8b <nonce, hex>\n<ciphertext><tag>
//! connector-host sealed v1 transit <mount> <key> vault:v2:… <nonce, hex>\n<ciphertext><tag>
//! ```
//!
//! The header says which key opens the file (a key file's id, or Transit's
//! mount, key and the data key wrapped by it) and is authenticated with the
//! file's *binding* (its role and place, e.g. `oauth-tokens/1a2b….json`) as
//! associated data: a changed header, a changed byte, or a sealed file moved
//! to another place does not open.
//!
//! Nonces are 96 random bits; a key file's key stays far below the 2^32
//! seals at which random nonces must stop (NIST SP 800-38D §8.3), and a
//! Transit data key seals for a minute at most.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use zeroize::Zeroizing;

/// What every sealed file starts with.
pub const MAGIC: &[u8] = b"connector-host sealed ";

/// The longest header read; longer ones are not ours.
const MAX_HEADER: usize = 4096;

/// A 256-bit key, wiped when dropped.
pub type Key = Zeroizing<[u8; 32]>;

/// Which key seals a file: written in its header, never a key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// A key file's key, by its id ([`key_id`]).
    Key {
        /// 16 hex digits.
        id: String,
    },
    /// A data key from Vault Transit, wrapped by the Transit key.
    Transit {
        /// The Transit engine's mount.
        mount: String,
        /// The Transit key's name.
        key: String,
        /// The data key, encrypted by Transit (`vault:v<version>:…`).
        wrapped: String,
    },
}

impl KeyRef {
    /// The Transit key version that wrapped the data key.
    pub fn transit_version(&self) -> Option<u32> {
        match self {
            KeyRef::Transit { wrapped, .. } => wrapped
                .strip_prefix("vault:v")?
                .split(':')
                .next()?
                .parse()
                .ok(),
            KeyRef::Key { .. } => None,
        }
    }

    fn fields(&self) -> String {
        match self {
            KeyRef::Key { id } => format!("key {id}"),
            KeyRef::Transit {
                mount,
                key,
                wrapped,
            } => format!("transit {mount} {key} {wrapped}"),
        }
    }
}

impl std::fmt::Display for KeyRef {
    /// For people: which key, never the wrapped data key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRef::Key { id } => write!(f, "key file key {id}"),
            KeyRef::Transit { mount, key, .. } => {
                write!(f, "Vault Transit key {mount}/{key}")?;
                match self.transit_version() {
                    Some(v) => write!(f, " version {v}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A key's id: not the key, and not usable to find it (a keyed BLAKE3 derivation).
pub fn key_id(key: &[u8; 32]) -> String {
    hex::encode(&blake3::derive_key("connector-host at-rest key id v1", key)[..8])
}

/// Whether `bytes` are a sealed file (rather than a plain one from before).
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// A parsed header and where the ciphertext starts.
#[derive(Debug)]
pub struct Header {
    /// The key that opens the file.
    pub key_ref: KeyRef,
    nonce: [u8; NONCE_LEN],
    /// Length of the header line, newline included.
    len: usize,
}

/// Seals `plain` under `key` for `binding`.
pub fn seal(key: &[u8; 32], key_ref: &KeyRef, binding: &str, plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    let header = format!(
        "connector-host sealed v1 {} {}\n",
        key_ref.fields(),
        hex::encode(nonce)
    );
    let mut out = Vec::with_capacity(header.len() + plain.len() + 16);
    out.extend_from_slice(header.as_bytes());
    let mut body = plain.to_vec();
    cipher(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(header.as_bytes(), binding)),
            &mut body,
        )
        .expect("a sealed file is far below AES-GCM's length limit");
    out.extend_from_slice(&body);
    out
}

/// Reads the header of a sealed file; `None` when it is not one of ours.
pub fn header(bytes: &[u8]) -> Option<Header> {
    let end = bytes.iter().take(MAX_HEADER).position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&bytes[..end]).ok()?;
    let words: Vec<&str> = line.split(' ').collect();
    let (key_ref, nonce) = match words.as_slice() {
        ["connector-host", "sealed", "v1", "key", id, nonce] => (
            KeyRef::Key {
                id: (*id).to_owned(),
            },
            nonce,
        ),
        ["connector-host", "sealed", "v1", "transit", mount, key, wrapped, nonce] => (
            KeyRef::Transit {
                mount: (*mount).to_owned(),
                key: (*key).to_owned(),
                wrapped: (*wrapped).to_owned(),
            },
            nonce,
        ),
        _ => return None,
    };
    let nonce = hex::decode(nonce).ok()?.try_into().ok()?;
    Some(Header {
        key_ref,
        nonce,
        len: end + 1,
    })
}

/// Opens a sealed file whose header is `header`; `None` when the key is
/// not this file's, or the file was changed or moved to another binding.
pub fn open(
    key: &[u8; 32],
    header: &Header,
    binding: &str,
    bytes: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let mut body = Zeroizing::new(bytes.get(header.len..)?.to_vec());
    let plain_len = cipher(key)
        .open_in_place(
            Nonce::assume_unique_for_key(header.nonce),
            Aad::from(aad(&bytes[..header.len], binding)),
            &mut body,
        )
        .ok()?
        .len();
    body.truncate(plain_len);
    Some(body)
}

/// The associated data: the header line (it ends in a newline, so the
/// binding after it cannot be confused with it) and the binding.
fn aad(header: &[u8], binding: &str) -> Vec<u8> {
    [header, binding.as_bytes()].concat()
}

fn cipher(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("32 bytes is an AES-256 key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> [u8; 32] {
        [byte; 32]
    }

    fn file_ref(k: &[u8; 32]) -> KeyRef {
        KeyRef::Key { id: key_id(k) }
    }

    #[test]
    fn a_sealed_file_opens_with_its_key_and_binding() {
        let sealed = seal(
            &key(1),
            &file_ref(&key(1)),
            "tokens/a.json",
            b"CANARY-plain",
        );
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(6).any(|w| w == b"CANARY"));
        let header = header(&sealed).unwrap();
        assert_eq!(header.key_ref, file_ref(&key(1)));
        let plain = open(&key(1), &header, "tokens/a.json", &sealed).unwrap();
        assert_eq!(plain.as_slice(), b"CANARY-plain");
    }

    #[test]
    fn a_wrong_key_a_changed_byte_or_another_place_does_not_open() {
        let sealed = seal(&key(1), &file_ref(&key(1)), "tokens/a.json", b"secret");
        let h = header(&sealed).unwrap();
        assert!(open(&key(2), &h, "tokens/a.json", &sealed).is_none());
        assert!(open(&key(1), &h, "tokens/b.json", &sealed).is_none());
        for at in [h.len, sealed.len() - 1, 30] {
            let mut changed = sealed.clone();
            changed[at] ^= 1;
            let opened =
                header(&changed).and_then(|h| open(&key(1), &h, "tokens/a.json", &changed));
            assert!(opened.is_none(), "byte {at} changed");
        }
        assert!(open(&key(1), &h, "tokens/a.json", &sealed[..sealed.len() - 1]).is_none());
    }

    #[test]
    fn plain_files_are_told_apart() {
        assert!(!is_sealed(b"{\"access_token\": \"x\"}"));
        assert!(header(b"connector-host sealed v9 key 00 00\n").is_none());
        assert!(header(b"connector-host sealed v1 key 00").is_none());
    }

    #[test]
    fn the_transit_version_is_read_from_the_header() {
        let transit = KeyRef::Transit {
            mount: "transit".into(),
            key: "connector-host".into(),
            wrapped: "vault:v3:QUJD".into(),
        };
        let sealed = seal(&key(1), &transit, "r", b"x");
        let h = header(&sealed).unwrap();
        assert_eq!(h.key_ref.transit_version(), Some(3));
        assert_eq!(
            h.key_ref.to_string(),
            "Vault Transit key transit/connector-host version 3"
        );
    }
}
