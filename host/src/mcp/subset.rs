//! Which tools one MCP client sees: a subset by connection, by activity-name
//! pattern and by read-only flag, so that a platform stays under a client's
//! tool limit (some accept 128 tools per request; three Constant Contact
//! connections make 165).
//!
//! `connector-host mcp` takes it from flags (`--connections`, `--tools`,
//! `--read-only`); `/mcp` on `serve` from the URL's query
//! (`/mcp?connections=acme&tools=list-*&read_only=true`), which rmcp hands
//! every request as its `http::request::Parts`.
//!
//! Invariant: a subset only narrows. Tool names are made from every
//! connection first and filtered afterwards, so a name never changes with the
//! subset, and a call to a tool outside it is refused as an unknown tool: a
//! filter can hide a tool, never reach one the caller could not reach without it.

use crate::name::Name;

/// Patterns and names are short; a longer query is a mistake or an attack.
const MAX_ITEMS: usize = 64;

/// A subset of the tools; the default is every tool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subset {
    /// Only these connections (every one when empty).
    pub connections: Vec<Name>,
    /// Only activities whose name matches one of these globs (`*` any run
    /// of characters, `?` one character); every activity when empty.
    pub tools: Vec<String>,
    /// Only activities the connector flags read-only.
    pub read_only: bool,
}

impl Subset {
    /// Whether (connection, activity) is in the subset.
    pub fn admits(&self, connection: &Name, activity: &str, read_only: bool) -> bool {
        (self.connections.is_empty() || self.connections.contains(connection))
            && (self.tools.is_empty() || self.tools.iter().any(|p| glob(p, activity)))
            && (read_only || !self.read_only)
    }

    /// Whether this is every tool.
    pub fn is_everything(&self) -> bool {
        *self == Subset::default()
    }

    /// The subset a `/mcp` URL's query asks for: `connections` and `tools`
    /// (comma-separated, or repeated), `read_only` (`true` or `false`).
    ///
    /// # Errors
    ///
    /// A sentence naming an unknown parameter, a malformed name or pattern,
    /// or a value that is neither `true` nor `false` (a misspelt filter
    /// would otherwise silently widen to every tool).
    pub fn from_query(query: &str) -> Result<Subset, String> {
        let mut subset = Subset::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "connections" | "connection" => {
                    for item in value.split(',').filter(|s| !s.is_empty()) {
                        subset.connections.push(connection(item)?);
                    }
                }
                "tools" => {
                    for item in value.split(',').filter(|s| !s.is_empty()) {
                        subset.tools.push(pattern(item)?);
                    }
                }
                "read_only" => subset.read_only = flag(&value)?,
                // `serve`'s operator chooses a tenant this way (see serve::space).
                "tenant" => {}
                other => {
                    return Err(format!(
                        "the /mcp URL has an unknown parameter {:?}\nhint: the parameters are connections, tools and read_only, e.g. /mcp?connections=acme&tools=list-*&read_only=true",
                        crate::redact::untrusted(other)
                    ))
                }
            }
            if subset.connections.len() + subset.tools.len() > MAX_ITEMS {
                return Err(format!("the /mcp URL names more than {MAX_ITEMS} connections and patterns\nhint: use a pattern such as list-*"));
            }
        }
        Ok(subset)
    }

    /// The subset in words, for a refusal: `connections acme; tools list-*; read-only`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.connections.is_empty() {
            let names: Vec<&str> = self.connections.iter().map(Name::as_str).collect();
            parts.push(format!("connections {}", names.join(",")));
        }
        if !self.tools.is_empty() {
            parts.push(format!("tools {}", self.tools.join(",")));
        }
        if self.read_only {
            parts.push("read-only".to_owned());
        }
        parts.join("; ")
    }
}

/// A connection name in a filter.
///
/// # Errors
///
/// When `text` is not a [`Name`].
pub fn connection(text: &str) -> Result<Name, String> {
    Name::parse(text, "connection name in the tool filter").map_err(|e| e.to_string())
}

/// An activity-name pattern: the characters of a name, `*` and `?`.
///
/// # Errors
///
/// When `text` has any other character or is too long.
pub fn pattern(text: &str) -> Result<String, String> {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_*?".contains(c);
    if text.is_empty() || text.len() > 128 || !text.chars().all(ok) {
        return Err(format!(
            "the tool pattern {:?} is not an activity-name pattern\nhint: use lowercase letters, digits, -, _ and the wildcards * and ?, e.g. list-*",
            crate::redact::untrusted(text)
        ));
    }
    Ok(text.to_owned())
}

fn flag(value: &str) -> Result<bool, String> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(format!(
            "read_only={:?} in the /mcp URL is neither true nor false",
            crate::redact::untrusted(other)
        )),
    }
}

/// Whether `text` matches `pattern` (`*` any run, `?` one character).
/// Iterative with one backtrack point, so linear-ish and never recursive.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            // Let the last star take one more character.
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::parse(text, "test").unwrap()
    }

    #[test]
    fn globs_match_as_a_shell_does() {
        assert!(glob("list-*", "list-contacts"));
        assert!(glob("*-contact", "create-contact"));
        assert!(!glob("*-contact", "create-contacts"));
        assert!(glob("get-?ccount*", "get-account-details"));
        assert!(glob("*", ""));
        assert!(!glob("list-*", "get-list"));
        assert!(glob("*a*b*", "xxaxxbxx"));
        assert!(!glob("*a*b", "xxaxxbxxc"));
    }

    #[test]
    fn a_query_narrows_by_connection_pattern_and_flag() {
        let subset = Subset::from_query(
            "connections=acme,beta&tools=list-*&tools=get-account*&read_only=true",
        )
        .unwrap();
        assert_eq!(subset.connections, vec![name("acme"), name("beta")]);
        assert_eq!(subset.tools, vec!["list-*", "get-account*"]);
        assert!(subset.read_only);
        assert!(subset.admits(&name("acme"), "list-contacts", true));
        assert!(!subset.admits(&name("acme"), "list-contacts", false));
        assert!(!subset.admits(&name("gamma"), "list-contacts", true));
        assert!(!subset.admits(&name("acme"), "create-contact", true));
        assert!(Subset::from_query("").unwrap().is_everything());
    }

    #[test]
    fn a_misspelt_or_hostile_query_is_refused_not_widened() {
        for query in [
            "tool=list-*",
            "read_only=yes",
            "connections=../x",
            "tools=%2Fetc",
            "tools=LIST",
        ] {
            assert!(Subset::from_query(query).is_err(), "{query}");
        }
        let many = (0..65)
            .map(|i| format!("tools=a{i}"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(Subset::from_query(&many).is_err());
    }
}
