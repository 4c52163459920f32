//! Names that end up inside paths: a connection's file, a typed secret's
//! file or store path, a route, an MCP tool name.
//!
//! Invariant: a value of these types cannot escape the place it names and
//! cannot be confused with another. Every entry point (the API's routes and
//! bodies, the page, MCP, connection files, a connector's `describe`) turns
//! text into a [`Name`] or an [`AssetName`] before using it, and storage
//! locations are built from them by construction (see
//! [`crate::serve`]'s typed secrets), never by pasting unchecked text.
//!
//! - A [`Name`] names a connection, a connector, a connection field or an
//!   activity: 1 to 64 of `a-z`, `0-9`, `-` and `_`, starting with a letter
//!   or a digit. No separator, no dot, no upper case (a case-insensitive file
//!   system would merge two names), nothing a URL, a shell or a terminal
//!   treats specially.
//! - An [`AssetName`] is a path inside a credential store's data path (an
//!   operator may keep secrets in folders): one or more segments joined by
//!   `/`, each of letters, digits, `-`, `_` and `.`, never starting with a
//!   dot (so never `.` or `..`), at most 256 characters in all.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// The longest [`Name`].
pub const MAX_NAME: usize = 64;
/// The longest [`AssetName`].
pub const MAX_ASSET_NAME: usize = 256;

/// The rule, for error messages.
pub const NAME_RULE: &str =
    "1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit";
/// The asset rule, for error messages.
pub const ASSET_RULE: &str = "segments of letters, digits, `-`, `_` or `.` joined by `/`, none empty or starting with `.`, at most 256 characters";

/// A connection's, connector's, field's or activity's name (see the module docs).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

/// Text that is not a [`Name`] or an [`AssetName`]. The message never
/// quotes the text: it may sit where a secret was pasted by mistake, and the
/// caller knows where it came from (a route, a file's key, a `describe` place).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {what}: use {rule}")]
pub struct NameError {
    /// What the text was meant to name, e.g. `connection name`.
    pub what: &'static str,
    /// The rule it breaks.
    pub rule: &'static str,
}

impl Name {
    /// `text` as a name of `what` (e.g. `"connection name"`, for the error).
    ///
    /// # Errors
    ///
    /// [`NameError`] when `text` breaks the rule.
    pub fn parse(text: &str, what: &'static str) -> Result<Name, NameError> {
        if is_name(text) {
            Ok(Name(text.to_owned()))
        } else {
            Err(NameError {
                what,
                rule: NAME_RULE,
            })
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `text` follows the [`Name`] rule.
pub fn is_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        let text = String::deserialize(deserializer)?;
        Name::parse(&text, "name").map_err(serde::de::Error::custom)
    }
}

/// A path inside a credential store's data path (see the module docs).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AssetName(String);

impl AssetName {
    /// `text` as an asset name of `what` (for the error).
    ///
    /// # Errors
    ///
    /// [`NameError`] when `text` breaks the rule.
    pub fn parse(text: &str, what: &'static str) -> Result<AssetName, NameError> {
        let segment_ok = |s: &str| {
            !s.is_empty()
                && !s.starts_with('.')
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if text.len() <= MAX_ASSET_NAME && text.split('/').all(segment_ok) {
            Ok(AssetName(text.to_owned()))
        } else {
            Err(NameError {
                what,
                rule: ASSET_RULE,
            })
        }
    }

    /// The store path of segments that are each a [`Name`]: built, so it
    /// cannot fail (and two different lists never give the same path, since
    /// no name holds a `/`).
    pub fn join(segments: &[&Name]) -> AssetName {
        let text: Vec<&str> = segments.iter().map(|n| n.as_str()).collect();
        AssetName(text.join("/"))
    }

    /// The asset name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AssetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl std::ops::Deref for AssetName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AssetName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AssetName, D::Error> {
        let text = String::deserialize(deserializer)?;
        AssetName::parse(&text, "asset name").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for good in ["prod", "prod-eu", "client_secret", "0day", &"a".repeat(64)] {
            assert!(Name::parse(good, "name").is_ok(), "{good}");
        }
        for bad in [
            "",
            "-x",
            "_x",
            "Prod",
            "a.b",
            "a/b",
            "..",
            "../x",
            "a b",
            "é",
            "a\u{200b}",
            &"a".repeat(65),
        ] {
            assert!(Name::parse(bad, "name").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn asset_names_may_have_folders_but_never_climb_out() {
        for good in ["cc-app", "team/cc-app", "CC_App.v2", "a/b/c"] {
            assert!(AssetName::parse(good, "asset").is_ok(), "{good}");
        }
        for bad in [
            "",
            "/abs",
            "a/",
            "a//b",
            "..",
            "../elsewhere/x",
            "a/../b",
            ".hidden",
            "a/./b",
            "a\\b",
            "a b",
            "a%2fb",
            &"a".repeat(257),
        ] {
            assert!(AssetName::parse(bad, "asset").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn errors_name_the_rule_but_never_quote_the_text() {
        let error = Name::parse("canary\u{1b}[2J/../y", "connection name").unwrap_err();
        assert_eq!(
            error.to_string(),
            "not a valid connection name: use 1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit"
        );
        let error = AssetName::parse("canary/../y", "asset name").unwrap_err();
        assert!(!error.to_string().contains("canary"), "{error}");
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Whatever the text, an accepted name round-trips, holds no
        /// separator or dot, and joined under a directory stays inside it.
        #[test]
        fn accepted_names_cannot_escape(text in any::<String>()) {
            if let Ok(name) = Name::parse(&text, "name") {
                prop_assert_eq!(name.as_str(), text.as_str());
                prop_assert!(!text.contains(['/', '\\', '.', '%', '\0']));
                let path = std::path::Path::new("/base").join(name.as_str());
                prop_assert_eq!(path.parent(), Some(std::path::Path::new("/base")));
                prop_assert!(path.components().all(|c| matches!(c,
                    std::path::Component::RootDir | std::path::Component::Normal(_))));
            }
        }

        /// The same for the names of the rule's own alphabet, which reach
        /// the accepting branch far more often than arbitrary text.
        #[test]
        fn near_names_cannot_escape(text in "[a-z0-9_./%-]{0,70}") {
            match Name::parse(&text, "name") {
                Ok(name) => {
                    prop_assert!(is_name(&name));
                    prop_assert!(!text.contains(['/', '.', '%']));
                }
                Err(e) => prop_assert!(e.to_string().starts_with("not a valid name")),
            }
        }

        /// An accepted asset name has no empty, `.` or `..` segment, so it
        /// stays below the store's path however the store joins it.
        #[test]
        fn accepted_asset_names_stay_below_the_store_path(text in "[a-zA-Z0-9_./%-]{0,40}") {
            if let Ok(name) = AssetName::parse(&text, "asset") {
                for segment in name.split('/') {
                    prop_assert!(!segment.is_empty() && segment != "." && segment != "..");
                }
                prop_assert!(!name.starts_with('/') && !name.contains('%'));
            }
        }

        /// Joining names gives distinct paths for distinct lists.
        #[test]
        fn joined_names_never_collide(a in "[a-z0-9][a-z0-9_-]{0,8}", b in "[a-z0-9][a-z0-9_-]{0,8}",
                                      c in "[a-z0-9][a-z0-9_-]{0,8}", d in "[a-z0-9][a-z0-9_-]{0,8}") {
            let n = |s: &str| Name::parse(s, "name").unwrap();
            let left = AssetName::join(&[&n(&a), &n(&b)]);
            let right = AssetName::join(&[&n(&c), &n(&d)]);
            prop_assert_eq!(left == right, a == c && b == d);
        }
    }
}
